package investigate_test

import (
	"os"
	"path/filepath"
	"sort"
	"testing"

	"sigs.k8s.io/yaml"

	"github.com/k8flex/k8flex/internal/sharedtest"
	"github.com/k8flex/k8flex/investigate"
)

// scenario is one recorded incident: its parsed alert.json and expect.yaml.
type scenario struct {
	Name    string // directory name, e.g. "crashloop-missing-configmap"
	Dir     string
	Body    []byte // alert.json as recorded
	Message *investigate.WebhookMessage
	Expect  expectation
}

// expectation is the part of expect.yaml these tests use.
type expectation struct {
	Category   string   `json:"category"`
	AlsoAccept []string `json:"also_accept"`
	Summary    string   `json:"summary"`
}

// accepts reports whether c is the expected category or an also_accept one.
func (e expectation) accepts(c investigate.Category) bool {
	if string(c) == e.Category {
		return true
	}
	for _, a := range e.AlsoAccept {
		if string(c) == a {
			return true
		}
	}
	return false
}

// loadScenarios reads every scenario of the shared sets (see
// ../shared/scenarios/README.md); sharedtest.Dir skips or fails the test
// when they are absent.
func loadScenarios(t testing.TB) []scenario {
	t.Helper()
	var out []scenario
	roots := []string{sharedtest.Dir(t, "scenarios"), sharedtest.Dir(t, "external-scenarios", "holmesgpt")}
	for _, root := range roots {
		entries, err := os.ReadDir(root)
		if err != nil {
			t.Fatalf("read %s: %v", root, err)
		}
		for _, e := range entries {
			if !e.IsDir() {
				continue // LICENSE, README.md
			}
			dir := filepath.Join(root, e.Name())
			body, err := os.ReadFile(filepath.Join(dir, "alert.json"))
			if err != nil {
				t.Fatalf("read %s: %v", dir, err)
			}
			raw, err := os.ReadFile(filepath.Join(dir, "expect.yaml"))
			if err != nil {
				t.Fatalf("read %s/expect.yaml: %v", dir, err)
			}
			var exp expectation
			if err := yaml.Unmarshal(raw, &exp); err != nil {
				t.Fatalf("parse %s/expect.yaml: %v", dir, err)
			}
			msg, err := investigate.ParseWebhook(body)
			if err != nil {
				t.Fatalf("ParseWebhook(%s/alert.json): %v", dir, err)
			}
			out = append(out, scenario{Name: e.Name(), Dir: dir, Body: body, Message: msg, Expect: exp})
		}
	}
	if len(out) < 25 {
		t.Fatalf("found %d scenarios under %v, want the 15 shared and 13 external ones", len(out), roots)
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Name < out[j].Name })
	return out
}

// testdataPayloads returns the real Alertmanager bodies kept in testdata.
func testdataPayloads(t testing.TB) map[string][]byte {
	t.Helper()
	files, err := filepath.Glob("testdata/alertmanager/*.json")
	if err != nil || len(files) == 0 {
		t.Fatalf("no payloads in testdata/alertmanager: %v", err)
	}
	out := make(map[string][]byte, len(files))
	for _, f := range files {
		b, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		out[filepath.Base(f)] = b
	}
	return out
}
