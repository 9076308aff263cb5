package llm

import (
	"context"
	"fmt"

	"github.com/k8flex/k8flex/redact"
)

// Ping asks the model for a one-token answer, without retries beyond the
// configured ones: it returns nil when the model answered, else why not
// (unreachable, refused credentials, unknown model, empty answer). Used by
// `k8flex doctor`.
func (a *Analyzer) Ping(ctx context.Context) error {
	_, _, err := a.generate(ctx, "", "Reply with the single word: ok", 1, func(string) {})
	return err
}

// ProbeDimensions embeds one short text and returns the length of the
// vector the server answered with, whatever embedder.dimensions says
// (Embed refuses a vector of another length). Used by `k8flex doctor`.
func (e *RemoteEmbedder) ProbeDimensions(ctx context.Context) (int, error) {
	vecs, err := e.client.CreateEmbedding(ctx, []string{"k8flex doctor: pod crash looping in namespace shop"})
	if err != nil {
		return 0, &callError{msg: redact.String(fmt.Sprintf("embed with %s/%s: %v", e.cfg.Provider, e.cfg.Model, err)), err: err}
	}
	if len(vecs) != 1 {
		return 0, fmt.Errorf("embed with %s/%s: %d vectors for 1 text", e.cfg.Provider, e.cfg.Model, len(vecs))
	}
	return len(vecs[0]), nil
}
