package main

import (
	"sort"
	"strings"
	"testing"

	"github.com/k8flex/k8flex/internal/faultgen"
)

// faultgenFloor is how many of the generated corpus's scenarios (seed 1,
// two variants per class) the built-in analyser passed when the floor was
// last measured (`go run ./cmd/faultgen -out DIR && k8flex eval
// --scenarios DIR`). Raise it as rules improve; the issue's goal is 95%.
const faultgenFloor = 166

// TestEvalFaultgenFloor generates the fault-injection corpus into a temp
// dir and runs `k8flex eval` over it: every scenario loads and runs, no
// planted credential leaks, and at least faultgenFloor pass. The classes
// that fail are logged so rule authors see what is left.
func TestEvalFaultgenFloor(t *testing.T) {
	if testing.Short() {
		t.Skip("-short: generates and evaluates the whole corpus")
	}
	scs, err := faultgen.Generate(faultgen.Options{Seed: 1})
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	if err := faultgen.Write(dir, scs); err != nil {
		t.Fatal(err)
	}
	s := runEvalJSON(t, dir)
	if s.Scenarios != len(scs) {
		t.Fatalf("eval ran %d scenarios, the generator wrote %d", s.Scenarios, len(scs))
	}
	failed := map[string][]string{}
	for _, r := range s.Results {
		if r.Error != "" {
			t.Errorf("%s: %s", r.Name, r.Error)
		}
		if !r.Passed {
			class := r.Name[:strings.LastIndex(r.Name, "-")]
			why := "category " + r.Category
			if r.CategoryCorrect {
				why = "root cause lacks " + strings.Join(r.Missing, "; ")
			}
			failed[class] = append(failed[class], r.Name+": "+why)
		}
	}
	classes := make([]string, 0, len(failed))
	for c := range failed {
		classes = append(classes, c)
	}
	sort.Strings(classes)
	for _, c := range classes {
		t.Logf("FAIL %s", strings.Join(failed[c], " | "))
	}
	t.Logf("faultgen corpus: %d/%d passed (%d category, %d root cause), %d/%d prompts hold the cause, %d leaks",
		s.Passed, s.Scenarios, s.CategoryCorrect, s.RootCauseCorrect, s.PromptHasCause, s.Scenarios, s.Leaks)
	if s.Leaks != 0 {
		t.Errorf("%d planted credentials leaked", s.Leaks)
	}
	if s.Passed < faultgenFloor {
		t.Errorf("faultgen corpus: %d/%d passed, floor is %d", s.Passed, s.Scenarios, faultgenFloor)
	}
}
