package demo

import (
	"bytes"
	"io/fs"
	"path"
	"strings"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/client-go/kubernetes/scheme"
	metricsscheme "k8s.io/metrics/pkg/client/clientset/versioned/scheme"
	"sigs.k8s.io/yaml"

	"github.com/k8flex/k8flex/investigate"
	"github.com/k8flex/k8flex/redact"
)

type expectation struct {
	Category       string     `json:"category"`
	AlsoAccept     []string   `json:"also_accept"`
	RootCause      [][]string `json:"root_cause"`
	Evidence       [][]string `json:"evidence"`
	MustNotContain []string   `json:"must_not_contain"`
	Summary        string     `json:"summary"`
}

type objKey struct{ kind, ns, name string }

// parsedScenario is one scenario as this test parses it.
type parsedScenario struct {
	name    string
	msg     *investigate.WebhookMessage
	objects map[objKey]any
	pods    map[objKey]*corev1.Pod
	events  []*corev1.Event
	logs    []string // paths under logs/
	expect  expectation
}

func load(t *testing.T, name string) *parsedScenario {
	t.Helper()
	fsys := FS()
	s := &parsedScenario{name: name, objects: map[objKey]any{}, pods: map[objKey]*corev1.Pod{}}

	body, err := fs.ReadFile(fsys, path.Join(name, "alert.json"))
	if err != nil {
		t.Fatalf("alert.json: %v", err)
	}
	if s.msg, err = investigate.ParseWebhook(body); err != nil {
		t.Fatalf("alert.json is not an Alertmanager v4 payload: %v", err)
	}

	raw, err := fs.ReadFile(fsys, path.Join(name, "cluster.yaml"))
	if err != nil {
		t.Fatalf("cluster.yaml: %v", err)
	}
	for i, doc := range bytes.Split(raw, []byte("\n---\n")) {
		if len(bytes.TrimSpace(doc)) == 0 {
			continue
		}
		var tm struct {
			APIVersion string `json:"apiVersion"`
			Kind       string `json:"kind"`
			Metadata   struct {
				Name      string `json:"name"`
				Namespace string `json:"namespace"`
			} `json:"metadata"`
		}
		if err := yaml.Unmarshal(doc, &tm); err != nil {
			t.Fatalf("cluster.yaml document %d: %v", i, err)
		}
		if tm.APIVersion == "" || tm.Kind == "" || tm.Metadata.Name == "" {
			t.Fatalf("cluster.yaml document %d lacks apiVersion, kind or metadata.name", i)
		}
		gv, err := schema.ParseGroupVersion(tm.APIVersion)
		if err != nil {
			t.Fatalf("document %d: %v", i, err)
		}
		gvk := gv.WithKind(tm.Kind)
		obj, err := scheme.Scheme.New(gvk)
		if err != nil {
			obj, err = metricsscheme.Scheme.New(gvk)
		}
		if err != nil {
			t.Fatalf("document %d: unknown kind %s: %v", i, gvk, err)
		}
		if err := yaml.UnmarshalStrict(doc, obj); err != nil {
			t.Fatalf("document %d (%s %s): not a valid typed object: %v", i, tm.Kind, tm.Metadata.Name, err)
		}
		key := objKey{tm.Kind, tm.Metadata.Namespace, tm.Metadata.Name}
		if _, dup := s.objects[key]; dup {
			t.Fatalf("duplicate object %v", key)
		}
		s.objects[key] = obj
		switch o := obj.(type) {
		case *corev1.Pod:
			s.pods[key] = o
		case *corev1.Event:
			s.events = append(s.events, o)
		case *corev1.Secret:
			if len(o.Data) > 0 || len(o.StringData) > 0 {
				t.Errorf("Secret %s/%s carries data; scenarios never do", o.Namespace, o.Name)
			}
		}
	}

	err = fs.WalkDir(fsys, path.Join(name, "logs"), func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if !d.IsDir() {
			s.logs = append(s.logs, strings.TrimPrefix(p, name+"/logs/"))
		}
		return nil
	})
	if err != nil {
		t.Fatalf("logs: %v", err)
	}

	raw, err = fs.ReadFile(fsys, path.Join(name, "expect.yaml"))
	if err != nil {
		t.Fatalf("expect.yaml: %v", err)
	}
	if err := yaml.UnmarshalStrict(raw, &s.expect); err != nil {
		t.Fatalf("expect.yaml: %v", err)
	}
	return s
}

func TestScenarios(t *testing.T) {
	names := Names()
	if len(names) < 9 {
		t.Errorf("Names() = %d scenarios, want at least 9 (7 incidents and the recall pair)", len(names))
	}
	categories := map[investigate.Category]bool{}
	planted := 0
	for _, name := range names {
		t.Run(name, func(t *testing.T) {
			s := load(t, name)
			checkAlert(t, s)
			checkEvents(t, s)
			checkLogs(t, s)
			c := checkExpect(t, s)
			categories[c] = true
			if len(s.expect.MustNotContain) > 0 {
				planted++
				checkPlanted(t, s)
			}
		})
	}
	if len(categories) < 6 {
		t.Errorf("scenarios cover %d categories, want at least 6: %v", len(categories), categories)
	}
	if planted == 0 {
		t.Error("no scenario plants a secret (must_not_contain)")
	}
}

func checkAlert(t *testing.T, s *parsedScenario) {
	t.Helper()
	for _, a := range s.msg.Alerts {
		if a.Status != investigate.StatusFiring {
			t.Errorf("alert %s is %s, want firing", a.Name(), a.Status)
		}
		if a.StartsAt.IsZero() || a.Fingerprint == "" || a.GeneratorURL == "" {
			t.Errorf("alert %s lacks startsAt, fingerprint or generatorURL", a.Name())
		}
		if a.Summary() == "" {
			t.Errorf("alert %s has no summary or description", a.Name())
		}
		l := a.Labels
		if n := l["node"]; n != "" && s.objects[objKey{"Node", "", n}] == nil {
			t.Errorf("alert names node %s, not in cluster.yaml", n)
		}
		if d := l["deployment"]; d != "" && s.objects[objKey{"Deployment", l["namespace"], d}] == nil {
			t.Errorf("alert names deployment %s/%s, not in cluster.yaml", l["namespace"], d)
		}
		// kube-state-metrics' own pod label rides on node and deployment
		// alerts; only a pod of the alerted workload must exist.
		if p := l["pod"]; p != "" && l["node"] == "" && l["deployment"] == "" && s.pods[objKey{"Pod", l["namespace"], p}] == nil {
			t.Errorf("alert names pod %s/%s, not in cluster.yaml", l["namespace"], p)
		}
		if d := l["service"]; d != "" && !strings.HasPrefix(d, "kube-prometheus-stack") && s.objects[objKey{"Service", l["namespace"], d}] == nil {
			t.Errorf("alert names service %s/%s, not in cluster.yaml", l["namespace"], d)
		}
		// The alert fires after the first sign of trouble in the cluster.
		first := time.Time{}
		for _, e := range s.events {
			if e.Type == corev1.EventTypeWarning && (first.IsZero() || e.FirstTimestamp.Time.Before(first)) {
				first = e.FirstTimestamp.Time
			}
		}
		if !first.IsZero() && a.StartsAt.Before(first) {
			t.Errorf("alert starts at %s, before the first warning event at %s", a.StartsAt, first)
		}
	}
}

func checkEvents(t *testing.T, s *parsedScenario) {
	t.Helper()
	if len(s.events) == 0 {
		t.Error("cluster.yaml has no events")
	}
	for _, e := range s.events {
		io := e.InvolvedObject
		if s.objects[objKey{io.Kind, io.Namespace, io.Name}] == nil {
			t.Errorf("event %s refers to %s %s/%s, not in cluster.yaml", e.Name, io.Kind, io.Namespace, io.Name)
		}
		if e.Reason == "" || e.Message == "" || e.Type == "" || e.Count < 1 {
			t.Errorf("event %s lacks reason, message, type or count", e.Name)
		}
		if e.FirstTimestamp.IsZero() || e.LastTimestamp.Time.Before(e.FirstTimestamp.Time) {
			t.Errorf("event %s: lastTimestamp %s before firstTimestamp %s", e.Name, e.LastTimestamp, e.FirstTimestamp)
		}
	}
}

func checkLogs(t *testing.T, s *parsedScenario) {
	t.Helper()
	if len(s.logs) == 0 {
		t.Error("no logs")
	}
	for _, p := range s.logs {
		parts := strings.Split(p, "/")
		if len(parts) != 3 || !strings.HasSuffix(parts[2], ".log") {
			t.Errorf("log %s is not <namespace>/<pod>/<container>[.previous].log", p)
			continue
		}
		pod := s.pods[objKey{"Pod", parts[0], parts[1]}]
		if pod == nil {
			t.Errorf("log %s belongs to no pod in cluster.yaml", p)
			continue
		}
		container := strings.TrimSuffix(strings.TrimSuffix(parts[2], ".log"), ".previous")
		found := false
		for _, c := range append(append([]corev1.Container{}, pod.Spec.InitContainers...), pod.Spec.Containers...) {
			found = found || c.Name == container
		}
		if !found {
			t.Errorf("log %s: pod has no container %s", p, container)
		}
	}
}

func checkExpect(t *testing.T, s *parsedScenario) investigate.Category {
	t.Helper()
	c, ok := investigate.ParseCategory(s.expect.Category)
	if !ok {
		t.Errorf("expect.yaml: unknown category %q", s.expect.Category)
	}
	for _, a := range s.expect.AlsoAccept {
		if _, ok := investigate.ParseCategory(a); !ok {
			t.Errorf("expect.yaml: unknown also_accept category %q", a)
		}
	}
	if len(s.expect.RootCause) == 0 || strings.TrimSpace(s.expect.Summary) == "" {
		t.Error("expect.yaml needs root_cause groups and a summary")
	}
	for _, g := range append(s.expect.RootCause, s.expect.Evidence...) {
		if len(g) == 0 {
			t.Error("expect.yaml has an empty keyword group")
		}
	}
	return c
}

// checkPlanted makes sure the planted secrets are really in the scenario's
// logs (else the leak check proves nothing) and that the redactor removes them.
func checkPlanted(t *testing.T, s *parsedScenario) {
	t.Helper()
	var all strings.Builder
	for _, p := range s.logs {
		b, err := fs.ReadFile(FS(), path.Join(s.name, "logs", p))
		if err != nil {
			t.Fatal(err)
		}
		all.Write(b)
	}
	text := all.String()
	red := redact.String(text)
	for _, secret := range s.expect.MustNotContain {
		if !strings.Contains(text, secret) {
			t.Errorf("must_not_contain %q is not planted in any log", secret)
		}
		if strings.Contains(red, secret) {
			t.Errorf("redact.String leaves %q in the logs", secret)
		}
	}
}

func TestRecallPair(t *testing.T) {
	first, second := RecallPair()
	names := Names()
	if len(names) < 2 || names[len(names)-2] != first || names[len(names)-1] != second {
		t.Fatalf("Names() must end with the recall pair %s, %s: %v", first, second, names)
	}
	a, b := load(t, first), load(t, second)
	if a.expect.Category != b.expect.Category {
		t.Errorf("recall pair categories differ: %s vs %s", a.expect.Category, b.expect.Category)
	}
	fa, fb := a.msg.Alerts[0], b.msg.Alerts[0]
	if fa.Name() != fb.Name() {
		t.Errorf("recall pair alert names differ: %s vs %s", fa.Name(), fb.Name())
	}
	if fa.Labels["pod"] == fb.Labels["pod"] {
		t.Errorf("recall pair is about the same pod %s", fa.Labels["pod"])
	}
	if !fa.StartsAt.Before(fb.StartsAt) {
		t.Errorf("the first incident (%s) must come before the second (%s)", fa.StartsAt, fb.StartsAt)
	}
}

func TestFSIsReadOnlyView(t *testing.T) {
	for _, n := range Names() {
		if _, err := fs.Stat(FS(), path.Join(n, "expect.yaml")); err != nil {
			t.Errorf("%s: %v", n, err)
		}
	}
	if _, err := fs.Stat(FS(), "scenarios"); err == nil {
		t.Error("FS() root should be the scenarios directory itself")
	}
}
