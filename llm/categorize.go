package llm

import (
	"context"
	"errors"
	"fmt"
	"sort"
	"strings"

	"github.com/rs/zerolog"

	"github.com/k8flex/k8flex/investigate"
	"github.com/k8flex/k8flex/redact"
)

// Categorizer asks a model for the category of an alert the engine's rules
// are unsure about, with a short constrained prompt. It is safe for
// concurrent use.
type Categorizer struct {
	a *Analyzer
}

var _ investigate.Categorizer = (*Categorizer)(nil)

// NewCategorizer returns a categorizer over cfg's provider with its own
// limits; provider builtin gives ErrBuiltinProvider. Use
// (*Analyzer).Categorizer to share one provider's limits and counters.
func NewCategorizer(cfg Config, log zerolog.Logger) (*Categorizer, error) {
	a, err := NewAnalyzer(cfg, log)
	if err != nil {
		return nil, err
	}
	return a.Categorizer(), nil
}

// Categorizer returns a categorizer sharing a's client, limits and counters.
func (a *Analyzer) Categorizer() *Categorizer { return &Categorizer{a: a} }

// categorizeMaxTokens bounds the answer: one category name.
const categorizeMaxTokens = 16

// Categorize asks the model to pick one of candidates for the alert (its
// name, labels and annotations, redacted). The answer is accepted when it
// names a candidate, ignoring case, surrounding whitespace, quotes, markdown
// emphasis and a trailing period; anything else is an error.
func (c *Categorizer) Categorize(ctx context.Context, al *investigate.Alert, candidates []investigate.Category) (investigate.Category, error) {
	if al == nil {
		return "", errors.New("categorize: no alert")
	}
	if len(candidates) == 0 {
		return "", errors.New("categorize: no candidate categories")
	}
	system, user := CategorizePrompt(al, candidates)
	answer, _, err := c.a.generate(ctx, system, user, categorizeMaxTokens, func(string) {})
	if err != nil {
		return "", fmt.Errorf("categorize: %w", err)
	}
	cat, ok := MatchCategory(answer, candidates)
	if !ok {
		return "", fmt.Errorf("categorize: answer %q is not one of the candidates", oneLine(redact.String(answer), 80))
	}
	return cat, nil
}

// CategorizePrompt returns the system and user messages asking for one of
// candidates. Labels and annotations pass through redact.Map, which also
// masks values by their key's name (db_password=hunter2).
func CategorizePrompt(al *investigate.Alert, candidates []investigate.Category) (system, user string) {
	names := make([]string, len(candidates))
	for i, c := range candidates {
		names[i] = string(c)
	}
	system = "You classify Kubernetes alerts. Reply with exactly one category name from this list and nothing else: " +
		strings.Join(names, ", ") + "."
	var b strings.Builder
	fmt.Fprintf(&b, "Alert: %s\nSeverity: %s\n", redact.String(al.Name()), redact.String(al.Severity()))
	writeMap(&b, "Labels", redact.Map(al.Labels))
	writeMap(&b, "Annotations", redact.Map(al.Annotations))
	b.WriteString("Category:")
	return system, b.String()
}

func writeMap(b *strings.Builder, title string, m map[string]string) {
	if len(m) == 0 {
		return
	}
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	fmt.Fprintf(b, "%s:\n", title)
	for _, k := range keys {
		fmt.Fprintf(b, "  %s: %s\n", k, oneLine(m[k], 400))
	}
}

// MatchCategory returns the candidate the answer names, tolerating case,
// whitespace, quotes, backticks, markdown emphasis and a trailing period.
func MatchCategory(answer string, candidates []investigate.Category) (investigate.Category, bool) {
	s := strings.TrimSpace(answer)
	s = strings.TrimSuffix(s, ".")
	s = strings.Trim(s, " \t\r\n\"'`*_")
	s = strings.TrimSuffix(s, ".")
	s = strings.ToLower(strings.TrimSpace(s))
	for _, c := range candidates {
		if s == strings.ToLower(string(c)) {
			return c, true
		}
	}
	return "", false
}
