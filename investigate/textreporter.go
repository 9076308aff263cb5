package investigate

import (
	"context"
	"fmt"
	"strings"
	"sync"
)

// TextReporter is a Reporter that keeps, as text, everything an
// investigation reported: a line naming the alert, target and category
// when it started, then every streamed chunk. Evaluations search it for
// planted secrets. It is safe for concurrent use.
type TextReporter struct {
	mu  sync.Mutex
	buf strings.Builder
}

var _ Reporter = (*TextReporter)(nil)

// Started records the start line.
func (r *TextReporter) Started(_ context.Context, inv *Investigation) error {
	r.mu.Lock()
	defer r.mu.Unlock()
	fmt.Fprintf(&r.buf, "%s %s %s\n", inv.Request.AlertName(), inv.Target, inv.Categorization.Category)
	return nil
}

// Chunk records a streamed chunk.
func (r *TextReporter) Chunk(_ context.Context, s string) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.buf.WriteString(s)
}

// Finished records nothing: the result holds it.
func (r *TextReporter) Finished(context.Context, *Result) error { return nil }

// Text returns everything recorded so far.
func (r *TextReporter) Text() string {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.buf.String()
}
