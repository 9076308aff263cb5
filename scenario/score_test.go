package scenario

import (
	"reflect"
	"testing"
)

func TestEvaluate(t *testing.T) {
	exp := Expect{
		Category:       "pod-crash",
		AlsoAccept:     []string{"pod-restart"},
		RootCause:      [][]string{{"configmap", "config map"}, {"app-settings"}},
		Evidence:       [][]string{{"exit code 1"}, {"FailedMount"}},
		MustNotContain: []string{"AKIAIOSFODNN7EXAMPLE"},
	}
	for _, tt := range []struct {
		name      string
		category  string
		analysis  string
		outputs   []string
		pass      bool
		missingRC []string
		hits      int
		leaks     int
	}{
		{name: "all matched, case-insensitive", category: "pod-crash",
			analysis: "## Root cause\nThe Config Map APP-SETTINGS was deleted. Exit code 1.", pass: true, hits: 1},
		{name: "also_accept category", category: "pod-restart",
			analysis: "## Root cause\nconfigmap app-settings missing; failedmount", pass: true, hits: 1},
		{name: "wrong category", category: "oom-killed",
			analysis: "## Root cause\nconfigmap app-settings missing", pass: false},
		{name: "missing group", category: "pod-crash", analysis: "## Root cause\nthe configmap is missing",
			pass: false, missingRC: []string{"app-settings"}},
		{name: "cause named only outside the Root cause section", category: "pod-crash",
			analysis: "## Root cause\nThe pod crashes.\n\n## Evidence\n- configmap app-settings not found\n## Recommended actions\n1. recreate the config map",
			pass:     false, missingRC: []string{"configmap | config map", "app-settings"}},
		{name: "no Root cause section", category: "pod-crash", analysis: "configmap app-settings missing",
			pass: false, missingRC: []string{"configmap | config map", "app-settings"}},
		{name: "bold heading with text on its line", category: "pod-crash",
			analysis: "**Root cause:** ConfigMap app-settings was deleted.\n**Evidence:** exit code 1", pass: true, hits: 1},
		{name: "leak in prompt fails", category: "pod-crash", analysis: "## Root cause\nconfigmap app-settings",
			outputs: []string{"prompt with AKIAIOSFODNN7EXAMPLE"}, pass: false, leaks: 1},
	} {
		t.Run(tt.name, func(t *testing.T) {
			s := Evaluate(exp, tt.category, tt.analysis, tt.outputs...)
			if s.Passed() != tt.pass {
				t.Fatalf("Passed() = %v, want %v (%+v)", s.Passed(), tt.pass, s)
			}
			if tt.missingRC != nil && !reflect.DeepEqual(s.MissingRootCause, tt.missingRC) {
				t.Errorf("MissingRootCause = %v, want %v", s.MissingRootCause, tt.missingRC)
			}
			if tt.pass && s.EvidenceHits != tt.hits {
				t.Errorf("EvidenceHits = %d, want %d", s.EvidenceHits, tt.hits)
			}
			if len(s.Leaks) != tt.leaks {
				t.Errorf("Leaks = %v, want %d", s.Leaks, tt.leaks)
			}
			if s.EvidenceTotal != 2 {
				t.Errorf("EvidenceTotal = %d, want 2", s.EvidenceTotal)
			}
		})
	}
}

func TestCauseInPrompt(t *testing.T) {
	exp := Expect{RootCause: [][]string{{"resourcequota", "resource quota"}, {"team-quota"}}}
	if got := CauseInPrompt(exp, "Events:\n FailedCreate: exceeded quota: team-quota, requested: pods=1 (Resource Quota)"); len(got) != 0 {
		t.Errorf("prompt holds both groups, missing %v", got)
	}
	if got := CauseInPrompt(exp, "ReplicaSet web-5d: 2/3 replicas"); !reflect.DeepEqual(got, []string{"resourcequota | resource quota", "team-quota"}) {
		t.Errorf("missing = %v", got)
	}
}

func TestPlaceholders(t *testing.T) {
	got := Placeholders("kubectl uncordon <node>; kubectl describe pod web-0; node: <none>; taint <node> x-; a < b > c; <client ns>")
	if !reflect.DeepEqual(got, []string{"<node>", "<client ns>"}) {
		t.Errorf("Placeholders = %q", got)
	}
}
