package scenario_test

import (
	"context"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"text/tabwriter"
	"time"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/k8flex/k8flex/internal/apiservertest"
	"github.com/k8flex/k8flex/internal/sharedtest"
	"github.com/k8flex/k8flex/investigate"
	"github.com/k8flex/k8flex/k8s"
	"github.com/k8flex/k8flex/llm"
	"github.com/k8flex/k8flex/scenario"
)

// TestParityWithRealAPIServer replays every shared and external scenario
// into one real kube-apiserver (objects created, statuses written through
// the status subresource, logs served through pods/log by the fake
// kubelet), investigates it through k8s.Cluster as K8flex's ServiceAccount
// under the shipped RBAC, and requires the verdict of the file-backed run
// (scenario.Scenario.Gatherer over k8s.Memory): the same category, the same
// root-cause groups matched in the Root cause section (scored as k8flex
// eval scores), and no leak. The file-backed run must pass, or there is no
// verdict to compare. The real run must gather everything but usage: any
// other gap means the replay, the shipped RBAC or a collector falls short
// of a cluster.
//
// The server is what a cluster without metrics-server is: metrics.k8s.io is
// not served, so usage must not be needed for a verdict the alert itself
// supports. One server serves every scenario, emptied in between
// (apiservertest.Unload). Collectors get 30s, not the default 5s: a loaded
// CI machine under -race must not turn into a gap. K8FLEX_PARITY_DUMP=DIR
// writes each run's prompt and analysis to DIR, to diff the evidence.
func TestParityWithRealAPIServer(t *testing.T) {
	sets := []struct{ name, dir string }{
		{"shared", sharedtest.Dir(t, "scenarios")},
		{"holmesgpt", sharedtest.Dir(t, "external-scenarios", "holmesgpt")},
	}
	srv := apiservertest.Start(t)
	srv.ApplyKustomization(t, "../manifests/base")
	cluster, err := k8s.NewCluster(srv.ServiceAccountConfig(t, "k8flex", "k8flex"))
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
	defer cancel()
	apiservertest.WaitAuthorized(t, func() error {
		return cluster.List(ctx, corev1.SchemeGroupVersion.WithResource("pods"), "", metav1.ListOptions{Limit: 1}, &corev1.PodList{})
	})

	var table []parityRow
	for _, set := range sets {
		entries, err := os.ReadDir(set.dir)
		if err != nil {
			t.Fatal(err)
		}
		for _, e := range entries {
			dir := filepath.Join(set.dir, e.Name())
			if _, err := os.Stat(filepath.Join(dir, scenario.AlertFile)); err != nil {
				continue
			}
			t.Run(set.name+"/"+e.Name(), func(t *testing.T) {
				row := parityRow{name: set.name + "/" + e.Name()}
				defer func() { table = append(table, row) }()
				sc, err := scenario.Load(dir)
				if err != nil {
					t.Fatal(err)
				}
				if !sc.HasExpect {
					t.Fatal("no expect.yaml: a shared scenario must say what it concludes")
				}
				file := investigateScenario(ctx, t, sc, "file", sc.Gatherer(k8s.Options{CollectorTimeout: 30 * time.Second}))

				t0 := time.Now()
				loaded := srv.LoadScenario(t, dir)
				defer srv.Unload(t, loaded)
				row.load = time.Since(t0)
				// What the product wires in serve: the cluster reads metrics
				// and logs itself (server/cluster.go).
				live := investigateScenario(ctx, t, sc, "real", k8s.NewGatherer(cluster,
					k8s.Options{Metrics: cluster, CollectorTimeout: 30 * time.Second}))
				row.file, row.live = file, live

				// Both failing alike would be parity of nothing.
				if !file.Passed {
					t.Errorf("the file-backed run fails this scenario (category %s, root cause groups %q, leaks %q): see k8flex eval",
						file.Category, file.RootCause, file.Leaks)
				}
				if live.Category != file.Category {
					t.Errorf("category: real cluster %s, file %s", live.Category, file.Category)
				}
				if !slices.Equal(live.RootCause, file.RootCause) {
					t.Errorf("root-cause groups matched in the Root cause section: real cluster %q, file %q", live.RootCause, file.RootCause)
				}
				if len(live.Leaks) > 0 || len(file.Leaks) > 0 {
					t.Errorf("leaks: real cluster %q, file %q", live.Leaks, file.Leaks)
				}
				for _, g := range live.Gaps {
					if g.Collector != "metrics" {
						t.Errorf("real cluster gap: %s: %s", g.Collector, g.Reason)
					}
				}
				if !slices.Equal(live.Rules, file.Rules) {
					// Not a verdict: reported, so that a rule that needs
					// what a real cluster lacks is noticed.
					t.Logf("findings differ: real cluster %v, file %v", live.Rules, file.Rules)
				}
				if t.Failed() {
					t.Logf("file root cause:\n%s\nreal root cause:\n%s", file.Section, live.Section)
				}
			})
		}
	}
	t.Log("\n" + parityTable(table))
}

// verdict is what one investigation concluded, as the scenario README
// scores it.
type verdict struct {
	Category string
	// RootCause are the expect.yaml root_cause groups matched inside the
	// Root cause section, in order (unmatched ones as "-").
	RootCause []string
	Passed    bool
	Leaks     []string
	Rules     []string
	Gaps      []investigate.Gap
	Section   string
	Took      time.Duration
}

// investigateScenario runs the engine with the built-in analyser on the
// scenario's first alert (the others folded in as related alerts), as
// `k8flex eval` does, and scores it.
func investigateScenario(ctx context.Context, t *testing.T, sc *scenario.Scenario, run string, g investigate.Gatherer) verdict {
	t.Helper()
	builtin := llm.NewBuiltin()
	eng, err := investigate.New(investigate.Options{Gatherer: g, Analyzer: builtin, Builtin: builtin})
	if err != nil {
		t.Fatal(err)
	}
	alerts := sc.Message.Alerts
	req := &investigate.Request{Alert: &alerts[0], Source: investigate.SourceCLI, RequestedBy: "parity", Related: alerts[1:]}
	rep := &investigate.TextReporter{}
	t0 := time.Now()
	res, err := eng.Run(ctx, req, rep)
	took := time.Since(t0)
	if err != nil {
		t.Fatalf("investigate: %v", err)
	}
	evidence, _ := json.Marshal(res.Evidence)
	findings, _ := json.Marshal(res.Findings)
	// Scored as k8flex eval scores: root-cause groups inside the Root cause
	// section only.
	score := scenario.Evaluate(sc.Expect, string(res.Categorization.Category), res.Analysis.Text,
		res.Prompt.System, res.Prompt.User, rep.Text(), string(evidence), string(findings), res.Err)
	section := strings.TrimSpace(investigate.SectionText(res.Analysis.Text, investigate.HeadingRootCause))
	if dir := os.Getenv("K8FLEX_PARITY_DUMP"); dir != "" {
		dumpRun(t, dir, sc.Name+"."+run, res)
	}
	v := verdict{Category: string(res.Categorization.Category), Leaks: score.Leaks, Gaps: res.Evidence.Gaps,
		Section: section, Took: took, Passed: score.Passed()}
	for _, g := range sc.Expect.RootCause {
		m := "-"
		if !slices.Contains(score.MissingRootCause, strings.Join(g, " | ")) {
			m = g[0]
		}
		v.RootCause = append(v.RootCause, m)
	}
	for _, f := range res.Findings {
		v.Rules = append(v.Rules, f.Rule)
	}
	return v
}

// dumpRun writes the prompt and analysis of one run to dir/<name>.txt,
// for diffing the two runs' evidence by hand:
// K8FLEX_PARITY_DUMP=/tmp/parity go test -run Parity ./scenario/
func dumpRun(t *testing.T, dir, name string, res *investigate.Result) {
	t.Helper()
	if err := os.MkdirAll(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	text := res.Prompt.User + "\n===== analysis\n" + res.Analysis.Text
	if err := os.WriteFile(filepath.Join(dir, name+".txt"), []byte(text), 0o644); err != nil {
		t.Fatal(err)
	}
}

type parityRow struct {
	name       string
	file, live verdict
	load       time.Duration
}

func parityTable(rows []parityRow) string {
	var b strings.Builder
	tw := tabwriter.NewWriter(&b, 0, 0, 2, ' ', 0)
	fmt.Fprintln(tw, "SCENARIO\tPARITY\tFILE\tREAL\tCATEGORY\tROOT CAUSE (file | real)\tFINDINGS\tREAL GAPS\tLOAD\tREAL RUN")
	for _, r := range rows {
		parity := "same"
		if r.file.Category != r.live.Category || !slices.Equal(r.file.RootCause, r.live.RootCause) ||
			len(r.file.Leaks)+len(r.live.Leaks) > 0 {
			parity = "DIFF"
		}
		var gaps []string
		for _, g := range r.live.Gaps {
			gaps = append(gaps, g.Collector)
		}
		findings := "same"
		if !slices.Equal(r.file.Rules, r.live.Rules) {
			findings = "differ"
		}
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\t%s | %s\t%s\t%s\t%s\t%s\n", r.name, parity, passed(r.file.Passed), passed(r.live.Passed),
			r.live.Category, strings.Join(r.file.RootCause, ","), strings.Join(r.live.RootCause, ","), findings, strings.Join(gaps, ","),
			r.load.Round(time.Millisecond), r.live.Took.Round(time.Millisecond))
	}
	_ = tw.Flush()
	return b.String()
}

func passed(ok bool) string {
	if ok {
		return "pass"
	}
	return "FAIL"
}
