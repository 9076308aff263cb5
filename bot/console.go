package bot

import (
	"context"
	"fmt"
	"io"
	"strings"
	"sync"
	"time"

	"github.com/k8flex/k8flex/investigate"
	"github.com/k8flex/k8flex/redact"
)

// consoleReporter writes an investigation as plain text.
type consoleReporter struct {
	mu      sync.Mutex
	w       io.Writer
	pending string // the current, incomplete line of analysis
	inFence bool
}

// ConsoleReporter returns a Reporter that renders an investigation as
// plain text on w, for a terminal: the alert header, the analysis
// streamed line by line (redacted, markdown headings made plain), then
// the root cause, the findings with their proof, similar cases and what
// wrote the analysis. It is used when Slack is not configured.
func ConsoleReporter(w io.Writer) investigate.Reporter { return &consoleReporter{w: w} }

const rule = "────────────────────────────────────────────────────────────"

func (c *consoleReporter) printf(format string, a ...any) { fmt.Fprintf(c.w, format, a...) }

// Started prints the header of the investigation.
func (c *consoleReporter) Started(_ context.Context, inv *investigate.Investigation) error {
	c.mu.Lock()
	defer c.mu.Unlock()
	req := inv.Request
	if req == nil {
		req = &investigate.Request{}
	}
	sev := severity(inv)
	c.printf("%s\n%s %s\n%s\n", rule, severityEmoji(sev), redact.String(title(inv)), rule)
	row := func(k, v string) {
		if strings.TrimSpace(v) != "" {
			c.printf("  %-13s %s\n", k+":", redact.String(v))
		}
	}
	row("Severity", sev)
	row("Target", inv.Target.String())
	row("Category", fmt.Sprintf("%s (%s)", inv.Categorization.Category, decidedBy(inv.Categorization)))
	if a := req.Alert; a != nil {
		row("Summary", a.Summary())
		if d := a.Description(); d != a.Summary() {
			row("Description", d)
		}
		row("Runbook", plainURL(a.Annotations["runbook_url"]))
		row("Graph", plainURL(a.GeneratorURL))
		if !a.StartsAt.IsZero() {
			row("Firing since", a.StartsAt.UTC().Format("2006-01-02 15:04:05 UTC"))
		}
	}
	if req.Alert == nil || req.Source == investigate.SourceSlack {
		row("Requested by", req.RequestedBy)
	}
	row("Question", req.Question)
	if len(inv.Similar) > 0 {
		c.printf("  Similar past cases:\n")
		for _, s := range inv.Similar {
			c.printf("    • %s (%.0f%%) %s\n", redact.String(s.AlertName), s.Similarity*100, redact.String(s.RootCause))
		}
	}
	c.printf("\n🔄 Analysis in progress…\n\n")
	return nil
}

// Chunk prints complete lines of analysis as they arrive.
func (c *consoleReporter) Chunk(_ context.Context, text string) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.pending += text
	for {
		i := strings.IndexByte(c.pending, '\n')
		if i < 0 {
			return
		}
		c.line(c.pending[:i])
		c.pending = c.pending[i+1:]
	}
}

// line prints one analysis line, with markdown headings made plain.
func (c *consoleReporter) line(l string) {
	l = redact.String(l)
	t := strings.TrimSpace(l)
	if strings.HasPrefix(t, "```") {
		c.inFence = !c.inFence
		return
	}
	if c.inFence {
		c.printf("    %s\n", l)
		return
	}
	if m := headingRe.FindStringSubmatch(l); m != nil {
		c.printf("\n▌ %s\n", strings.ToUpper(strings.ReplaceAll(m[2], "**", "")))
		return
	}
	c.printf("%s\n", strings.ReplaceAll(l, "**", ""))
}

// Finished prints the rest of the analysis and the summary.
func (c *consoleReporter) Finished(_ context.Context, r *investigate.Result) error {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.pending != "" {
		c.line(c.pending)
		c.pending = ""
	}
	c.printf("\n%s\n", rule)
	if r.Err != "" {
		c.printf("⚠️  Analysis failed: %s\n", redact.String(r.Err))
	} else {
		c.printf("✅ Analysis complete\n")
	}
	if rc := r.RootCause(); rc != "" {
		c.printf("\nRoot cause: %s\n", redact.String(rc))
	}
	if len(r.Findings) > 0 {
		c.printf("\nFindings:\n")
		for _, f := range r.Findings {
			c.printf("  [%s] %s\n", f.Severity, redact.String(f.Summary))
			for i, p := range f.Proof {
				if i == 3 {
					c.printf("        … %d more\n", len(f.Proof)-3)
					break
				}
				c.printf("        > %s\n", redact.String(truncate(p, 200)))
			}
		}
	}
	if len(r.Evidence.Gaps) > 0 {
		c.printf("\nEvidence gaps:\n")
		for _, g := range r.Evidence.Gaps {
			c.printf("  - %s: %s\n", g.Collector, redact.String(g.Reason))
		}
	}
	var parts []string
	parts = append(parts, "analyser "+r.Analysis.Analyzer)
	if r.Analysis.Model != "" {
		parts = append(parts, "model "+r.Analysis.Model)
	}
	if u := r.Analysis.Usage; u.InputTokens+u.OutputTokens > 0 {
		parts = append(parts, fmt.Sprintf("%d in / %d out tokens", u.InputTokens, u.OutputTokens))
	}
	if !r.Finished.IsZero() && !r.StartedAt.IsZero() {
		parts = append(parts, "took "+r.Finished.Sub(r.StartedAt).Round(time.Millisecond).String())
	}
	if r.Analysis.FallbackReason != "" {
		parts = append(parts, "fallback: "+redact.String(r.Analysis.FallbackReason))
	}
	c.printf("\n%s\n%s\n", strings.Join(parts, " · "), rule)
	return nil
}

// plainURL returns u when it is an absolute http(s) URL, else "".
func plainURL(u string) string {
	if SafeURL(u) == "" {
		return ""
	}
	return strings.TrimSpace(u)
}
