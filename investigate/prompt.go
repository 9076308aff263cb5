package investigate

import (
	"fmt"
	"sort"
	"strconv"
	"strings"
	"unicode/utf8"

	"github.com/k8flex/k8flex/redact"
)

// EstimateTokens estimates the tokens of s for budget and usage purposes
// (≈4 characters per token, the usual figure for English and logs).
func EstimateTokens(s string) int { return (len(s) + 3) / 4 }

// systemPrompt is the model's role. It asks for the five sections.
const systemPrompt = `You are K8flex, a senior Kubernetes site reliability engineer investigating a production alert.
You receive the alert, deterministic findings computed from the cluster state, and the raw evidence
(object descriptions, events, logs). Work only from this evidence; when something is unknown, say so.
Name the concrete objects (pods, nodes, ConfigMaps, Services, NetworkPolicies, images) and quote the
lines that prove your conclusion. Be brief and precise: an on-call engineer reads this on a phone.

Answer in markdown with exactly these five sections, in this order:
## Root cause
One or two sentences: what broke and why, naming the objects.
## Evidence
Bullet points quoting the proving lines (events, log lines, status fields).
## Impact
Who or what is affected, and how badly.
## Recommended actions
Numbered, concrete steps (kubectl commands or changes), most urgent first.
## Prevention
How to keep it from happening again.`

// PromptInput is what BuildPrompt assembles.
type PromptInput struct {
	Request        *Request
	Target         Target
	Categorization Categorization
	Similar        []SimilarCase
	Feedback       []PastFeedback
	Findings       []Finding
	Evidence       Evidence
	// MaxTokens bounds the whole prompt; evidence sections are dropped or cut,
	// lowest priority first, to fit. Findings are never dropped. 0 = no limit.
	MaxTokens int
}

// BuildPrompt builds the analysis prompt: system role, the alert, similar
// past cases, past feedback, findings, evidence (already redacted), and the
// request for the five sections, trimmed to in.MaxTokens.
func BuildPrompt(in PromptInput) Prompt {
	var head strings.Builder
	writeAlert(&head, in)
	writeSimilar(&head, in.Similar)
	writeFeedback(&head, in.Feedback)
	writeFindings(&head, in.Findings)
	if len(in.Evidence.Gaps) > 0 {
		head.WriteString("\n# Evidence that could not be gathered\n")
		for _, g := range in.Evidence.Gaps {
			fmt.Fprintf(&head, "- %s: %s\n", g.Collector, g.Reason)
		}
	}
	headText := redact.String(head.String())
	const tail = "\nWrite the analysis now, with the five sections: Root cause, Evidence, Impact, Recommended actions, Prevention.\n"

	sections, trimmed := fitSections(in.Evidence.Sections, in.MaxTokens,
		EstimateTokens(systemPrompt)+EstimateTokens(headText)+EstimateTokens(tail)+16)
	var user strings.Builder
	user.WriteString(headText)
	if len(sections) > 0 {
		user.WriteString("\n# Evidence\n")
		for _, s := range sections {
			fmt.Fprintf(&user, "\n## %s\n%s\n", s.Title, strings.TrimRight(s.Body, "\n"))
		}
	}
	user.WriteString(tail)
	p := Prompt{System: systemPrompt, User: user.String(), TrimmedSections: trimmed}
	p.Chars = len(p.System) + len(p.User)
	p.Tokens = EstimateTokens(p.System) + EstimateTokens(p.User)
	return p
}

func writeAlert(b *strings.Builder, in PromptInput) {
	r := in.Request
	b.WriteString("# Alert\n")
	if a := r.Alert; a != nil {
		fmt.Fprintf(b, "Name: %s\nSeverity: %s\nStatus: %s since %s\n", a.Name(), a.Severity(), a.Status,
			a.StartsAt.UTC().Format("2006-01-02T15:04:05Z"))
		if s := a.Annotations["summary"]; s != "" {
			fmt.Fprintf(b, "Summary: %s\n", oneLine(s))
		}
		if d := a.Description(); d != "" && d != a.Annotations["summary"] {
			fmt.Fprintf(b, "Description: %s\n", oneLine(d))
		}
		keys := make([]string, 0, len(a.Labels))
		for k := range a.Labels {
			if k != "alertname" && k != "severity" {
				keys = append(keys, k)
			}
		}
		sort.Strings(keys)
		if len(keys) > 0 {
			b.WriteString("Labels:")
			for _, k := range keys {
				fmt.Fprintf(b, " %s=%s", k, a.Labels[k])
			}
			b.WriteString("\n")
		}
		writeValues(b, a)
		if n := len(r.Related); n > 0 {
			fmt.Fprintf(b, "Also firing for the same problem: %d more alert(s)\n", n)
		}
	} else {
		fmt.Fprintf(b, "Manual investigation requested by %s\n", orNone(r.RequestedBy))
	}
	if r.Question != "" {
		fmt.Fprintf(b, "Question: %s\n", oneLine(r.Question))
	}
	fmt.Fprintf(b, "Target: %s\nCategory: %s (decided by %s: %s)\n", in.Target, in.Categorization.Category,
		in.Categorization.DecidedBy, in.Categorization.Reason)
}

// writeValues writes the query results a Grafana alert carries.
func writeValues(b *strings.Builder, a *Alert) {
	if len(a.Values) > 0 {
		refs := make([]string, 0, len(a.Values))
		for k := range a.Values {
			refs = append(refs, k)
		}
		sort.Strings(refs)
		b.WriteString("Values:")
		for _, k := range refs {
			fmt.Fprintf(b, " %s=%s", k, strconv.FormatFloat(a.Values[k], 'g', 6, 64))
		}
		b.WriteString("\n")
	} else if v := strings.TrimSpace(a.ValueString); v != "" {
		fmt.Fprintf(b, "Values: %s\n", oneLine(v))
	}
}

func writeSimilar(b *strings.Builder, cases []SimilarCase) {
	if len(cases) == 0 {
		return
	}
	b.WriteString("\n# Similar past incidents confirmed correct by engineers\n")
	for _, c := range cases {
		fmt.Fprintf(b, "- %s (%s, similarity %.0f%%, %s): %s\n", c.AlertName, c.Category, c.Similarity*100,
			c.CreatedAt.UTC().Format("2006-01-02"), oneLine(c.RootCause))
	}
	b.WriteString("Use them only where the current evidence supports the same cause.\n")
}

func writeFeedback(b *strings.Builder, fb []PastFeedback) {
	if len(fb) == 0 {
		return
	}
	b.WriteString("\n# Feedback on earlier analyses of this kind of alert\n")
	for _, f := range fb {
		verdict := "judged WRONG"
		if f.Correct {
			verdict = "judged correct"
		}
		fmt.Fprintf(b, "- %s (%s) %s: %s\n", f.AlertName, f.At.UTC().Format("2006-01-02"), verdict, oneLine(f.RootCause))
	}
}

func writeFindings(b *strings.Builder, fs []Finding) {
	b.WriteString("\n# Findings (deterministic checks, strongest root-cause candidate first)\n")
	if len(fs) == 0 {
		b.WriteString("None: no rule matched; reason from the evidence.\n")
		return
	}
	for i, f := range fs {
		fmt.Fprintf(b, "%d. [%s] %s\n", i+1, f.Severity, f.Summary)
		if f.Detail != "" {
			fmt.Fprintf(b, "   %s\n", oneLine(f.Detail))
		}
		for _, p := range f.Proof {
			fmt.Fprintf(b, "   > %s\n", oneLine(p))
		}
	}
}

// fitSections keeps sections in priority order within the token budget
// left after fixed tokens; a section that does not fit whole is cut to the
// remaining budget (keeping its tail, where logs end) when that leaves a
// useful amount, else dropped. Kept sections stay in their original order.
func fitSections(all []Section, maxTokens, fixed int) ([]Section, []string) {
	if maxTokens <= 0 {
		return all, nil
	}
	budget := maxTokens - fixed
	order := make([]int, len(all))
	for i := range order {
		order[i] = i
	}
	sort.SliceStable(order, func(a, b int) bool { return all[order[a]].Priority < all[order[b]].Priority })
	keep := make(map[int]Section, len(all))
	var trimmed []string
	for _, i := range order {
		s := all[i]
		cost := EstimateTokens(s.Title) + EstimateTokens(s.Body) + 4
		switch {
		case cost <= budget:
			keep[i] = s
			budget -= cost
		case budget-EstimateTokens(s.Title)-8 >= 64:
			keepChars := (budget - EstimateTokens(s.Title) - 8) * 4
			if keepChars > len(s.Body) {
				keepChars = len(s.Body)
			}
			tail := s.Body[len(s.Body)-keepChars:]
			for len(tail) > 0 && !utf8.RuneStart(tail[0]) {
				tail = tail[1:]
			}
			s.Body = "… (cut to fit the prompt budget)\n" + cutToLineStart(tail)
			s.Truncated = true
			keep[i] = s
			budget = 0
			trimmed = append(trimmed, s.Name+" (cut)")
		default:
			trimmed = append(trimmed, s.Name)
		}
	}
	out := make([]Section, 0, len(keep))
	for i := range all {
		if s, ok := keep[i]; ok {
			out = append(out, s)
		}
	}
	return out, trimmed
}

func cutToLineStart(s string) string {
	if i := strings.IndexByte(s, '\n'); i >= 0 && i < len(s)-1 {
		return s[i+1:]
	}
	return s
}

func oneLine(s string) string {
	return strings.Join(strings.Fields(s), " ")
}
