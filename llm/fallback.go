package llm

import (
	"context"
	"fmt"
	"strings"
	"sync/atomic"

	"github.com/rs/zerolog"

	"github.com/k8flex/k8flex/investigate"
	"github.com/k8flex/k8flex/redact"
)

// RestartSeparator is emitted before the fallback analysis when the primary
// analyzer had already streamed part of its answer: a Reporter that sees it
// knows the text before it is abandoned (it may replace what it showed
// with what follows, or keep both, separated by a rule).
const RestartSeparator = "\n\n---\n"

// FallbackMarker starts the first line of every fallback analysis, e.g.
// "_(LLM openai/gpt-4o unavailable: <reason>; built-in analysis)_".
const FallbackMarker = "_(LLM "

// Fallback is an Analyzer that writes the fallback's analysis when the
// primary fails (provider down, 5xx after retries, timeout, quota, malformed
// stream). It is safe for concurrent use.
type Fallback struct {
	primary, fallback investigate.Analyzer
	log               zerolog.Logger
	fallbacks         atomic.Int64
}

var _ investigate.Analyzer = (*Fallback)(nil)

// WithFallback returns an Analyzer that asks primary and, when primary
// fails for any reason but the caller's own cancellation, writes fallback's
// analysis instead: its text starts with a line marked FallbackMarker naming
// the provider and the (redacted) reason, preceded by RestartSeparator when
// primary had already emitted chunks; Analysis.FallbackReason is set. The
// returned Text is everything emitted, in order. Failures are logged
// (redacted) and counted (Fallbacks).
func WithFallback(primary, fallback investigate.Analyzer, log zerolog.Logger) *Fallback {
	return &Fallback{primary: primary, fallback: fallback, log: log.With().Str("component", "llm-fallback").Logger()}
}

// Name returns the primary analyzer's name.
func (f *Fallback) Name() string { return f.primary.Name() }

// Fallbacks returns how many analyses the fallback wrote.
func (f *Fallback) Fallbacks() int64 { return f.fallbacks.Load() }

// Analyze implements investigate.Analyzer.
func (f *Fallback) Analyze(ctx context.Context, in *investigate.AnalysisInput, emit func(chunk string)) (investigate.Analysis, error) {
	var sent strings.Builder
	an, err := f.primary.Analyze(ctx, in, func(c string) {
		sent.WriteString(c)
		emit(c)
	})
	if err == nil {
		return an, nil
	}
	if ctx.Err() != nil {
		return an, err // the caller gave up: nothing left to write to
	}
	reason := oneLine(redact.String(err.Error()), 300)
	who := f.primary.Name()
	if m, ok := f.primary.(interface{ Model() string }); ok && m.Model() != "" {
		who += "/" + m.Model()
	}
	f.fallbacks.Add(1)
	f.log.Warn().Str("analyzer", who).Str("reason", reason).Bool("partial", sent.Len() > 0).
		Msg("llm analysis failed; writing the built-in analysis")

	head := fmt.Sprintf("%s%s unavailable: %s; built-in analysis)_\n\n", FallbackMarker, who, reason)
	if sent.Len() > 0 {
		head = RestartSeparator + head
	}
	emit(head)
	fb, ferr := f.fallback.Analyze(ctx, in, emit)
	fb.Text = sent.String() + head + fb.Text
	fb.FallbackReason = reason
	if ferr != nil {
		return fb, fmt.Errorf("fallback analysis after %s failed: %w", who, ferr)
	}
	return fb, nil
}

// oneLine flattens s to one line of at most n bytes (cut on a rune boundary).
func oneLine(s string, n int) string {
	s = strings.Join(strings.Fields(s), " ")
	if len(s) <= n {
		return s
	}
	cut := n
	for cut > 0 && (s[cut]&0xC0) == 0x80 {
		cut--
	}
	return s[:cut] + "…"
}
