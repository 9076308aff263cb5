package llm

import (
	"context"
	"fmt"
	"slices"
	"strings"

	"github.com/k8flex/k8flex/investigate"
	"github.com/k8flex/k8flex/redact"
)

// BuiltinName is the name of the built-in analyser.
const BuiltinName = "builtin"

// Builtin writes an analysis from the deterministic findings and evidence
// alone, with no model: deterministic, fast, and always available. It is
// the default analyser and the fallback when a model fails.
type Builtin struct {
	// Related is how many further findings the Root cause section lists
	// after the top one.
	related int
}

// BuiltinOption configures a Builtin.
type BuiltinOption func(*Builtin)

// WithRelated sets how many related findings (after the top one) the Root
// cause section names (default 3).
func WithRelated(n int) BuiltinOption { return func(b *Builtin) { b.related = max(n, 0) } }

// NewBuiltin returns the built-in analyser.
func NewBuiltin(opts ...BuiltinOption) *Builtin {
	b := &Builtin{related: 3}
	for _, o := range opts {
		o(b)
	}
	return b
}

// Name returns "builtin".
func (b *Builtin) Name() string { return BuiltinName }

var _ investigate.Analyzer = (*Builtin)(nil)

// Analyze writes the five-section markdown analysis, emitting it line by
// line. Every line passes through redact.String. It stops with ctx's error
// when ctx is done; the text emitted so far is returned with it.
func (b *Builtin) Analyze(ctx context.Context, in *investigate.AnalysisInput, emit func(string)) (investigate.Analysis, error) {
	var sb strings.Builder
	a := investigate.Analysis{Analyzer: BuiltinName}
	for _, line := range b.lines(in) {
		if err := ctx.Err(); err != nil {
			a.Text = sb.String()
			return a, fmt.Errorf("builtin analysis: %w", err)
		}
		chunk := redact.String(line) + "\n"
		sb.WriteString(chunk)
		if emit != nil {
			emit(chunk)
		}
	}
	a.Text = sb.String()
	a.Usage = investigate.Usage{InputTokens: in.Prompt.Tokens, OutputTokens: investigate.EstimateTokens(a.Text), Estimated: true}
	return a, nil
}

// lines renders the analysis: its five sections, each under its heading,
// then the similar past cases.
func (b *Builtin) lines(in *investigate.AnalysisInput) []string {
	var out []string
	section := func(h string, body []string) {
		if len(out) > 0 {
			out = append(out, "")
		}
		out = append(out, "## "+h)
		out = append(out, body...)
	}
	section(investigate.HeadingRootCause, b.rootCauseLines(in))
	section(investigate.HeadingEvidence, evidenceLines(in))
	section(investigate.HeadingImpact, impactLines(in))
	section(investigate.HeadingActions, actionLines(in))
	section(investigate.HeadingPrevent, preventionLines(in))
	return append(out, similarCaseLines(in)...)
}

// rootCauseLines states the top finding (summary and detail) and up to
// b.related further findings scoring 40 or more; with no finding, that no
// rule identified a cause and which scopes were checked.
func (b *Builtin) rootCauseLines(in *investigate.AnalysisInput) []string {
	var out []string
	add := func(s ...string) { out = append(out, s...) }
	fs := in.Findings
	if len(fs) == 0 {
		add(fmt.Sprintf("No deterministic rule identified a root cause for %s (category %s).", targetName(in), in.Categorization.Category))
		add("Checked: " + checkedScopes(in) + ". None of them showed a failing container, a scheduling failure, a missing object, a node condition, an empty Service or a blocking policy.")
	} else {
		top := fs[0]
		add(top.Summary)
		if top.Detail != "" {
			add("")
			add(top.Detail)
		}
		var rel []investigate.Finding
		for _, f := range fs[1:] {
			if len(rel) >= b.related || f.Score < 40 {
				break
			}
			rel = append(rel, f)
		}
		if len(rel) > 0 {
			add("")
			add("Related findings (ranked):")
			for _, f := range rel {
				add("- " + f.Summary)
			}
		}
	}
	return out
}

// evidenceLines cites how the target was found, then up to 12 distinct
// proving lines of the findings; when the findings quote none, the objects
// they involve (or that nothing fails). Then the gaps, and whether the
// target is gone.
func evidenceLines(in *investigate.AnalysisInput) []string {
	var out []string
	add := func(s ...string) { out = append(out, s...) }
	fs := in.Findings
	// Findings about one failure share proving lines: cite each once.
	var cited []string
	for _, f := range fs {
		for _, p := range f.Proof {
			if len(cited) < 12 {
				cited = builtinAppendNew(cited, flatLine(p))
			}
		}
	}
	n := len(cited)
	for _, s := range in.Evidence.Sections {
		// No label named the target: say how it was found.
		if s.Name == "target/resolution" {
			add("- " + flatLine(s.Body))
		}
	}
	for _, p := range cited {
		add("- `" + strings.ReplaceAll(p, "`", "'") + "`")
	}
	switch {
	case n == 0 && len(fs) > 0:
		// The findings rest on object state rather than quotable lines:
		// name the objects, never claim the evidence is clean.
		var objs []string
		for _, f := range fs {
			objs = builtinAppendNew(objs, f.Objects...)
		}
		if len(objs) > 8 {
			objs = append(objs[:8], fmt.Sprintf("%d more", len(objs)-8))
		}
		if len(objs) > 0 {
			add("- Objects involved: " + strings.Join(objs, ", "))
		}
	case n == 0:
		add("- No proving lines: the evidence holds no failing state.")
	}
	for _, g := range in.Evidence.Gaps {
		add(fmt.Sprintf("- Gap: %s could not be gathered (%s)", g.Collector, g.Reason))
	}
	if in.Evidence.TargetGone {
		add("- The alert's target no longer exists.")
	}
	return out
}

// impactLines gives the impact of up to two findings, else the alert's
// summary, else that it was not determined.
func impactLines(in *investigate.AnalysisInput) []string {
	var out []string
	add := func(s ...string) { out = append(out, s...) }
	fs := in.Findings
	var impacts []string
	for _, f := range fs {
		if len(impacts) < 2 {
			impacts = builtinAppendNew(impacts, f.Impact)
		}
	}
	imp := len(impacts)
	for _, i := range impacts {
		add("- " + i)
	}
	if imp == 0 {
		if a := in.Request; a != nil && a.Alert != nil && a.Alert.Summary() != "" {
			add("- As alerted: " + a.Alert.Summary())
		} else {
			add("- Not determined from the evidence.")
		}
	}
	return out
}

// actionLines numbers up to 8 distinct actions of the top three findings,
// or a generic inspection of the target when they name none.
func actionLines(in *investigate.AnalysisInput) []string {
	var out []string
	add := func(s ...string) { out = append(out, s...) }
	fs := in.Findings
	var acts []string
	for i, f := range fs {
		if i >= 3 {
			break
		}
		acts = builtinAppendNew(acts, f.Actions...)
	}
	if len(acts) == 0 {
		acts = append(acts, fmt.Sprintf("Inspect %s directly: kubectl describe and kubectl logs --previous, and the namespace's recent events.", targetName(in)))
	}
	for i, a := range acts {
		if i >= 8 {
			break
		}
		add(fmt.Sprintf("%d. %s", i+1, a))
	}
	return out
}

// preventionLines gives the distinct preventions of the top three
// findings, or a generic one when they name none.
func preventionLines(in *investigate.AnalysisInput) []string {
	var out []string
	add := func(s ...string) { out = append(out, s...) }
	fs := in.Findings
	var prev []string
	for i, f := range fs {
		if i >= 3 {
			break
		}
		if f.Prevention != "" {
			prev = builtinAppendNew(prev, f.Prevention)
		}
	}
	if len(prev) == 0 {
		prev = append(prev, "Add an alert or rule for this kind of failure once its cause is known, and record the cause in the thread (✅/❌) so the next investigation recalls it.")
	}
	for _, p := range prev {
		add("- " + p)
	}
	return out
}

// similarCaseLines lists up to three similar past cases with their root
// cause and thread, after a blank line; none when there are none.
func similarCaseLines(in *investigate.AnalysisInput) []string {
	var out []string
	add := func(s ...string) { out = append(out, s...) }
	if len(in.Similar) > 0 {
		add("")
		add("Similar past cases:")
		for i, c := range in.Similar {
			if i >= 3 {
				break
			}
			s := fmt.Sprintf("- %s (%s, similarity %.2f): %s", c.AlertName, c.Category, c.Similarity, flatLine(c.RootCause))
			if c.ThreadURL != "" {
				s += " — " + c.ThreadURL
			}
			add(s)
		}
	}
	return out
}

func targetName(in *investigate.AnalysisInput) string {
	if !in.Target.IsZero() {
		return in.Target.String()
	}
	if in.Request != nil {
		return in.Request.AlertName()
	}
	return "the target"
}

func checkedScopes(in *investigate.AnalysisInput) string {
	var names []string
	for _, s := range in.Evidence.Sections {
		names = append(names, s.Title)
	}
	if len(names) == 0 {
		return "no evidence could be gathered"
	}
	if len(names) > 8 {
		names = append(names[:8], fmt.Sprintf("%d more", len(names)-8))
	}
	return strings.Join(names, ", ")
}

func flatLine(s string) string {
	return strings.Join(strings.Fields(s), " ")
}

func builtinAppendNew(dst []string, xs ...string) []string {
	for _, x := range xs {
		if x != "" && !slices.Contains(dst, x) {
			dst = append(dst, x)
		}
	}
	return dst
}
