package investigate_test

import (
	"testing"

	"github.com/k8flex/k8flex/investigate"
)

func TestRootCauseLine(t *testing.T) {
	const want = "ConfigMap shop/app-settings was deleted; inventory-api cannot start."
	for _, tt := range []struct {
		name     string
		analysis string
		want     string
	}{
		{"markdown h2", "## Root cause\n" + want + "\n\n## Evidence\n- x\n", want},
		{"markdown h3, title case", "### Root Cause\n\n" + want + "\n", want},
		{"h1 with trailing spaces", "#   Root cause   \n" + want, want},
		{"bold heading", "**Root cause**\n" + want + "\n**Evidence**\n- x", want},
		{"bold heading with colon inside", "**Root cause:**\n" + want, want},
		{"bold heading, text on the same line", "**Root cause:** " + want + "\n\n**Evidence:** ...", want},
		{"plain heading with colon", "Root cause:\n" + want, want},
		{"plain heading, text on the same line", "Root cause: " + want + "\nEvidence: the events", want},
		{"plain heading alone", "Root cause\n" + want, want},
		{"h2 with colon, text on the same line", "## Root cause: " + want, want},
		{"bullet with emphasis", "## Root cause\n\n- **ConfigMap shop/app-settings** was deleted; inventory-api cannot start.", want},
		{"bullet dot", "## Root cause\n• " + want, want},
		{"CRLF line endings", "## Root cause\r\n\r\n" + want + "\r\n## Evidence\r\n", want},
		{"after a preamble", "Here is the analysis.\n\n## Root cause\n" + want, want},
		{"first line only", "## Root cause\n" + want + "\nSecond sentence on its own line.", want},
		{"line starting with another heading word is text", "## Root cause\nEvidence shows " + want, "Evidence shows " + want},
		{"empty section", "## Root cause\n\n## Evidence\n- x\n", ""},
		{"no root cause section", "## Evidence\n- x\n## Impact\nall users", ""},
		{"mention in prose is not a heading", "The root cause is unknown.\n" + want, ""},
		{"empty", "", ""},
		{"heading at the end", "## Evidence\n- x\n## Root cause", ""},
		{"only emphasis after the colon", "**Root cause:**\n" + want, want},
	} {
		t.Run(tt.name, func(t *testing.T) {
			if got := investigate.RootCauseLine(tt.analysis); got != tt.want {
				t.Errorf("RootCauseLine(%q) = %q, want %q", tt.analysis, got, tt.want)
			}
		})
	}
}

func TestResultRootCause(t *testing.T) {
	f := []investigate.Finding{{Summary: "Node worker-2 is NotReady: kubelet stopped posting status"}}
	for _, tt := range []struct {
		name string
		r    investigate.Result
		want string
	}{
		{"from the analysis", investigate.Result{Analysis: investigate.Analysis{Text: "## Root cause\nDisk full on worker-2."}, Findings: f}, "Disk full on worker-2."},
		{"analysis without the section: top finding", investigate.Result{Analysis: investigate.Analysis{Text: "model rambled"}, Findings: f}, f[0].Summary},
		{"nothing", investigate.Result{}, ""},
	} {
		t.Run(tt.name, func(t *testing.T) {
			if got := tt.r.RootCause(); got != tt.want {
				t.Errorf("RootCause() = %q, want %q", got, tt.want)
			}
		})
	}
}

func TestResultDuration(t *testing.T) {
	r := investigate.Result{Timings: []investigate.StageTiming{{Stage: investigate.StageGather, Duration: 7}, {Stage: investigate.StageAnalyze, Duration: 9}}}
	if r.Duration(investigate.StageGather) != 7 || r.Duration(investigate.StageAnalyze) != 9 || r.Duration(investigate.StageRecord) != 0 {
		t.Errorf("Duration: %v", r.Timings)
	}
}

func TestRequestDefaults(t *testing.T) {
	manual := &investigate.Request{Target: investigate.Target{Kind: investigate.KindNode, Name: "worker-1"}}
	if manual.AlertName() != "ManualInvestigation" || manual.EffectiveTarget() != manual.Target {
		t.Errorf("manual request: %q %v", manual.AlertName(), manual.EffectiveTarget())
	}
	a := promptAlert()
	fromAlert := &investigate.Request{Alert: a}
	if fromAlert.AlertName() != "KubePodCrashLooping" || fromAlert.EffectiveTarget() != investigate.TargetFromAlert(a) {
		t.Errorf("alert request: %q %v", fromAlert.AlertName(), fromAlert.EffectiveTarget())
	}
	override := &investigate.Request{Alert: a, Target: investigate.Target{Kind: investigate.KindNode, Name: "worker-1"}}
	if override.EffectiveTarget() != override.Target {
		t.Errorf("explicit target not used: %v", override.EffectiveTarget())
	}
	if (&investigate.Request{}).EffectiveTarget() != (investigate.Target{}) {
		t.Errorf("empty request has a target")
	}
	if a.Severity() != "warning" || (&investigate.Alert{}).Severity() != "unknown" {
		t.Errorf("Severity")
	}
}
