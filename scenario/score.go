package scenario

import (
	"regexp"
	"slices"
	"strings"

	"github.com/k8flex/k8flex/investigate"
)

// Score is how one investigation fares against a scenario's expectations,
// as /work/shared/scenarios/README.md defines it.
type Score struct {
	// CategoryOK: the chosen category is Expect.Category or in AlsoAccept.
	CategoryOK bool `json:"category_correct"`
	// RootCauseOK: every root_cause group matched the analysis' Root cause
	// section (a cause named only under Evidence or Actions does not count).
	RootCauseOK bool `json:"root_cause_correct"`
	// MissingRootCause and MissingEvidence list the unmatched groups, each
	// rendered as its phrases joined by " | ".
	MissingRootCause []string `json:"missing_root_cause,omitempty"`
	MissingEvidence  []string `json:"missing_evidence,omitempty"`
	EvidenceHits     int      `json:"evidence_hits"`
	EvidenceTotal    int      `json:"evidence_total"`
	// Leaks are must_not_contain strings found in any output.
	Leaks []string `json:"leaks,omitempty"`
}

// Passed reports whether the scenario passes: right category, every root
// cause group matched, and nothing leaked.
func (s Score) Passed() bool { return s.CategoryOK && s.RootCauseOK && len(s.Leaks) == 0 }

// Evaluate scores an investigation: category is the chosen category,
// analysis the analysis text (root cause groups are matched against its
// Root cause section, evidence groups against all of it), and outputs everything the investigation produced (prompt,
// analysis, rendered messages), searched for leaks.
func Evaluate(exp Expect, category, analysis string, outputs ...string) Score {
	var s Score
	s.CategoryOK = string(exp.Category) == category
	for _, c := range exp.AlsoAccept {
		if string(c) == category {
			s.CategoryOK = true
		}
	}
	text := strings.ToLower(analysis)
	// A cause counts only where the analysis states it as the cause.
	s.MissingRootCause = unmatched(exp.RootCause, strings.ToLower(investigate.SectionText(analysis, investigate.HeadingRootCause)))
	s.RootCauseOK = len(s.MissingRootCause) == 0
	s.MissingEvidence = unmatched(exp.Evidence, text)
	s.EvidenceTotal = len(exp.Evidence)
	s.EvidenceHits = s.EvidenceTotal - len(s.MissingEvidence)
	for _, secret := range exp.MustNotContain {
		for _, o := range append([]string{analysis}, outputs...) {
			if secret != "" && strings.Contains(o, secret) {
				s.Leaks = append(s.Leaks, secret)
				break
			}
		}
	}
	return s
}

// unmatched returns the groups none of whose phrases occur in text
// (case-insensitive substring).
func unmatched(groups [][]string, lowerText string) []string {
	var out []string
	for _, g := range groups {
		hit := false
		for _, p := range g {
			if p != "" && strings.Contains(lowerText, strings.ToLower(p)) {
				hit = true
				break
			}
		}
		if !hit {
			out = append(out, strings.Join(g, " | "))
		}
	}
	return out
}

// CauseInPrompt returns the root_cause groups that do not occur in the
// prompt a model receives (system and user text): a model can only name a
// cause whose facts it was given, whatever the rules concluded. Empty
// means the prompt holds every fact of the expected root cause.
func CauseInPrompt(exp Expect, prompt string) []string {
	return unmatched(exp.RootCause, strings.ToLower(prompt))
}

// rePlaceholder finds template placeholders such as <node> or <name> in an
// analysis; "<none>" is kubectl's own word for an empty value.
var rePlaceholder = regexp.MustCompile(`<[a-z][a-z _-]{0,30}>`)

// Placeholders returns the template placeholders an analysis contains. An
// analysis names the objects and values the evidence holds; a placeholder
// where the value is known is a defect the eval reports.
func Placeholders(analysis string) []string {
	var out []string
	for _, m := range rePlaceholder.FindAllString(analysis, -1) {
		if m != "<none>" && !slices.Contains(out, m) {
			out = append(out, m)
		}
	}
	return out
}
