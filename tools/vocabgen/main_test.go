package main

import (
	"bytes"
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// testConfig extracts the synthetic module in testdata/mod, which uses
// each way Kubernetes hands a reason to an event or a status.
func testConfig() Config {
	return Config{
		Components: []Component{
			{Name: "kubelet", Roots: []string{"example.com/kube/kubelet"}},
			{Name: "scheduler", Roots: []string{"example.com/kube/controller"}},
		},
		StatusRoots: []string{"example.com/kube/kubelet"},
	}
}

func extractTestdata(t *testing.T, cfg Config) *Result {
	t.Helper()
	dir, err := filepath.Abs("testdata/mod")
	if err != nil {
		t.Fatal(err)
	}
	res, err := Extract(newSource([]Module{{Path: "example.com/kube", Dir: dir}}), cfg)
	if err != nil {
		t.Fatalf("Extract: %v", err)
	}
	return res
}

func rows(entries []Entry) string {
	var b strings.Builder
	for _, e := range entries {
		b.WriteString(strings.Join([]string{e.Kind, e.Reason, e.Component, e.Type, strings.Join(e.Files, ",")}, " ") + "\n")
	}
	return b.String()
}

func TestExtractFollowsReasonsToTheirValues(t *testing.T) {
	res := extractTestdata(t, testConfig())
	want := `event FailedCreate kubelet Warning kubelet/kubelet.go
event FailedDelete kubelet Warning kubelet/kubelet.go
event FailedScheduling scheduler Warning controller/controller.go
event Literal kubelet Warning kubelet/kubelet.go
event NodeReady kubelet Normal kubelet/status/setters.go
event Pulling kubelet Normal kubelet/kubelet.go
event Recovered kubelet Normal kubelet/kubelet.go
event Synced kubelet Normal kubelet/kubelet.go
event SyncedMany kubelet Normal kubelet/kubelet.go
event Unhealthy kubelet Warning kubelet/kubelet.go
container-waiting ContainerCreating kubelet  kubelet/kubelet.go
container-waiting StartFailure kubelet  kubelet/kubelet.go
container-terminated Completed kubelet  kubelet/kubelet.go
pod-status Evicted kubelet  kubelet/kubelet.go
pod-status Unschedulable kubelet  kubelet/kubelet.go
`
	if got := rows(res.Entries); got != want {
		t.Errorf("entries:\n%s\nwant:\n%s", got, want)
	}
	if len(res.Unresolved) != 1 || !strings.HasSuffix(res.Unresolved[0], ": ev.Reason") || !strings.HasPrefix(res.Unresolved[0], "kubelet/kubelet.go:") {
		t.Errorf("unresolved = %q, want the field read ev.Reason only", res.Unresolved)
	}
}

func TestExtractTakesAcknowledgedReasonsFromTheirSet(t *testing.T) {
	cfg := testConfig()
	cfg.Known = []KnownDynamic{{File: "kubelet/kubelet.go", Expr: "ev.Reason", Why: "built events", From: "built"}}
	cfg.Sets = []ReasonSet{{Name: "built", Type: "builtEvent", Field: "Reason"}}
	res := extractTestdata(t, cfg)
	if len(res.Unresolved) != 0 {
		t.Errorf("unresolved = %q, want none once acknowledged", res.Unresolved)
	}
	if got := rows(res.Entries); !strings.Contains(got, "event Built kubelet Warning kubelet/kubelet.go\n") {
		t.Errorf("the set's reason Built is missing from the events:\n%s", got)
	}

	// A set that no longer receives anything, or finds nothing, is stale.
	cfg.Sets = append(cfg.Sets, ReasonSet{Name: "unused", Func: "nothingCallsThis", Arg: 0})
	dir, _ := filepath.Abs("testdata/mod")
	if _, err := Extract(newSource([]Module{{Path: "example.com/kube", Dir: dir}}), cfg); err == nil || !strings.Contains(err.Error(), "unused") {
		t.Errorf("Extract with a stale set: err = %v, want it named", err)
	}
}

func TestExtractChecksRuntimeReasonsAreStillReferenced(t *testing.T) {
	cfg := testConfig()
	cfg.RuntimeName = "container-runtime"
	cfg.Runtime = []RuntimeReason{{Reason: "Completed", Ref: "kubelet/kubelet.go"}}
	res := extractTestdata(t, cfg)
	if got := rows(res.Entries); !strings.Contains(got, "container-terminated Completed container-runtime  kubelet/kubelet.go\n") {
		t.Errorf("runtime reason missing:\n%s", got)
	}
	cfg.Runtime = []RuntimeReason{{Reason: "OOMKilled", Ref: "kubelet/kubelet.go"}}
	dir, _ := filepath.Abs("testdata/mod")
	if _, err := Extract(newSource([]Module{{Path: "example.com/kube", Dir: dir}}), cfg); err == nil || !strings.Contains(err.Error(), "OOMKilled") {
		t.Errorf("a runtime reason the source no longer names: err = %v, want an error naming it", err)
	}
}

// TestVocabularyIsCurrent regenerates k8s/vocabulary.tsv from the
// Kubernetes source in tools/apiserver's module cache and compares.
func TestVocabularyIsCurrent(t *testing.T) {
	if testing.Short() {
		t.Skip("reads the Kubernetes source (a few seconds); skipped with -short")
	}
	if _, _, err := findModules(context.Background(), "../apiserver", sourceModules...); err != nil {
		msg := "the Kubernetes source is not in the module cache (scripts/build-apiserver.sh downloads it): " + err.Error()
		if os.Getenv("CI") != "" {
			t.Fatal(msg) // CI builds the API server first, so the source is there
		}
		t.Skip(msg)
	}
	got, err := generate(context.Background(), "../apiserver")
	if err != nil {
		t.Fatalf("generate: %v", err)
	}
	want, err := os.ReadFile("../../k8s/vocabulary.tsv")
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(got, want) {
		t.Errorf("k8s/vocabulary.tsv is not what the generator makes of the Kubernetes source: run go generate ./k8s")
	}
}
