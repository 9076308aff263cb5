package faultgen

import (
	"bytes"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"sort"
	"strings"

	"k8s.io/apimachinery/pkg/runtime"
	"sigs.k8s.io/yaml"

	"github.com/k8flex/k8flex/investigate"
	"github.com/k8flex/k8flex/scenario"
)

// Scenario is one generated incident.
type Scenario struct {
	// Name is the folder name: "<class>-<variant>".
	Name string
	// Class is the fault class injected.
	Class string
	// Objects are the cluster's objects, statuses included, in creation order.
	Objects []runtime.Object
	// Message is the Alertmanager webhook payload.
	Message investigate.WebhookMessage
	// Logs maps "ns/pod/container" (plus ".previous" for the previous
	// instance) to the container's log text.
	Logs map[string]string
	// Expect is the verdict known by construction.
	Expect scenario.Expect
}

// Options select what Generate produces.
type Options struct {
	// Seed makes the corpus reproducible; different seeds draw different
	// names, namespaces, images, ports and noise.
	Seed int64
	// Variants per class (at least 2 when 0).
	Variants int
	// Classes restricts generation to these class names (all when empty).
	Classes []string
}

// variant tells a fault builder which variant it builds: builders switch
// workload kind, mechanism detail and noise on it.
type variant struct {
	n int // 0-based variant number
}

// result is what a fault builder returns besides the world's objects.
type result struct {
	alerts []alertDef
	expect scenario.Expect
	// target is the namespace the noise keeps out of (the fault's own).
	ns string
}

// faultClass is one kind of fault the generator injects.
type faultClass struct {
	name  string
	build func(w *world, v variant) result
}

// Classes returns the names of the fault classes, sorted.
func Classes() []string {
	var out []string
	for _, c := range registry() {
		out = append(out, c.name)
	}
	sort.Strings(out)
	return out
}

// Generate builds Variants scenarios for every class.
func Generate(opts Options) ([]Scenario, error) {
	if opts.Variants <= 0 {
		opts.Variants = 2
	}
	want := map[string]bool{}
	for _, c := range opts.Classes {
		want[c] = true
	}
	var out []Scenario
	for ci, c := range registry() {
		if len(want) > 0 && !want[c.name] {
			continue
		}
		for v := 0; v < opts.Variants; v++ {
			sc, err := generateOne(c, v, opts.Seed*7919+int64(ci)*104729+int64(v)*15485863)
			if err != nil {
				return nil, fmt.Errorf("generate %s variant %d: %w", c.name, v+1, err)
			}
			out = append(out, sc)
		}
	}
	return out, nil
}

func generateOne(c faultClass, v int, seed int64) (Scenario, error) {
	w := newWorld(seed)
	w.base()
	res := c.build(w, variant{n: v})
	w.noise(res.ns, v)
	for _, f := range w.finals {
		f()
	}
	w.namespaces()
	if len(res.alerts) == 0 {
		return Scenario{}, fmt.Errorf("no alert")
	}
	sc := Scenario{Name: fmt.Sprintf("%s-%d", c.name, v+1), Class: c.name, Objects: w.objs, Logs: w.logs, Expect: res.expect}
	var alerts []investigate.Alert
	for _, d := range res.alerts {
		alerts = append(alerts, w.alert(d))
	}
	first := alerts[0].Labels
	group := map[string]string{"alertname": first["alertname"]}
	if ns := first["namespace"]; ns != "" {
		group["namespace"] = ns
	}
	common := map[string]string{}
	for k, v := range first {
		same := true
		for _, a := range alerts[1:] {
			if a.Labels[k] != v {
				same = false
			}
		}
		if same {
			common[k] = v
		}
	}
	commonAnn := map[string]string{}
	if len(alerts) == 1 {
		commonAnn = alerts[0].Annotations
	}
	var gk []string
	for _, k := range sortedKeys(group) {
		gk = append(gk, fmt.Sprintf("%s=%q", k, group[k]))
	}
	sc.Message = investigate.WebhookMessage{Version: "4", Receiver: pick(w.r, []string{"default", "oncall-" + strings.SplitN(res.ns+"-x", "-", 2)[0], "platform-pager", "slack-alerts"}),
		Status: investigate.StatusFiring, Alerts: alerts, GroupLabels: group, CommonLabels: common, CommonAnnotations: commonAnn,
		ExternalURL: "https://alertmanager." + w.domain,
		GroupKey:    `{}/{severity=~"warning|critical|info"}:{` + strings.Join(gk, ", ") + `}`}
	return sc, nil
}

// Write writes the scenarios into dir, one folder each (created; existing
// files of the same names are replaced).
func Write(dir string, scs []Scenario) error {
	for _, sc := range scs {
		if err := sc.write(filepath.Join(dir, sc.Name)); err != nil {
			return fmt.Errorf("write scenario %s: %w", sc.Name, err)
		}
	}
	return nil
}

func (sc Scenario) write(dir string) error {
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return err
	}
	alert, err := json.MarshalIndent(sc.Message, "", "  ")
	if err != nil {
		return err
	}
	if err := os.WriteFile(filepath.Join(dir, scenario.AlertFile), append(alert, '\n'), 0o644); err != nil {
		return err
	}
	cluster, err := MarshalObjects(sc.Objects)
	if err != nil {
		return err
	}
	if err := os.WriteFile(filepath.Join(dir, scenario.ClusterFile), cluster, 0o644); err != nil {
		return err
	}
	exp, err := yaml.Marshal(sc.Expect)
	if err != nil {
		return err
	}
	header := fmt.Sprintf("# generated by internal/faultgen: class %s\n", sc.Class)
	if err := os.WriteFile(filepath.Join(dir, scenario.ExpectFile), append([]byte(header), exp...), 0o644); err != nil {
		return err
	}
	for _, k := range sortedKeys(sc.Logs) {
		parts := strings.SplitN(k, "/", 3)
		p := filepath.Join(dir, scenario.LogsDir, parts[0], parts[1], parts[2]+".log")
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			return err
		}
		if err := os.WriteFile(p, []byte(sc.Logs[k]), 0o644); err != nil {
			return err
		}
	}
	return nil
}

// MarshalObjects renders objects as a multi-document YAML the way
// `kubectl get -o yaml` prints each (fields sorted, status included).
func MarshalObjects(objs []runtime.Object) ([]byte, error) {
	var b bytes.Buffer
	for i, o := range objs {
		y, err := yaml.Marshal(o)
		if err != nil {
			return nil, fmt.Errorf("object %d: %w", i, err)
		}
		if i > 0 {
			b.WriteString("---\n")
		}
		b.Write(y)
	}
	return b.Bytes(), nil
}
