package server

import (
	"context"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"time"

	"github.com/rs/zerolog"

	"github.com/k8flex/k8flex/config"
	"github.com/k8flex/k8flex/investigate"
	"github.com/k8flex/k8flex/kb"
	"github.com/k8flex/k8flex/llm"
)

// Store is the knowledge base as the commands use it; both kb backends
// satisfy it.
type Store interface {
	investigate.CaseStore
	investigate.Queue
	// RecordInvestigation stores a result run outside the queue (demo).
	RecordInvestigation(ctx context.Context, r *investigate.Result) error
	QueueDepth(ctx context.Context) (int, error)
	OpenIncidents(ctx context.Context, keys, caseIDs []string, window time.Duration) (leaders []string, opened []time.Time, err error)
	RecordFeedback(ctx context.Context, v kb.Vote, embedding []float32) (kb.CaseVerdict, error)
	Case(ctx context.Context, id string) (*kb.Case, error)
	CaseByThread(ctx context.Context, channel, ts string) (*kb.Case, error)
	SetThread(ctx context.Context, id, channel, ts string) error
	LinkMessage(ctx context.Context, id, channel, ts string) error
	CaseByMessage(ctx context.Context, channel, ts string) (*kb.Case, error)
	PutSlackEffects(ctx context.Context, owner string, lease time.Duration, effects []kb.SlackEffect) ([]kb.SlackEffect, error)
	ClaimSlackEffects(ctx context.Context, owner string, lease time.Duration, n int) ([]kb.SlackEffect, error)
	SlackEffectDone(ctx context.Context, caseID, key string, version int64, ts string) error
	RenewSlackEffects(ctx context.Context, owner string, lease time.Duration) error
	ReleaseSlackEffects(ctx context.Context, owner string) error
	SlackOutbox(ctx context.Context) (depth int, oldest time.Time, err error)
	PutSlackBudget(ctx context.Context, owner string, scopes []kb.SlackBudget) error
	SlackBudgets(ctx context.Context, since time.Time) ([]kb.SlackBudget, error)
	AddToSlackDigest(ctx context.Context, channel, group string, window time.Duration, m kb.SlackDigestMember) (kb.SlackDigest, error)
	SlackDigestPosted(ctx context.Context, channel, group, ts string) error
	ListCases(ctx context.Context, f kb.Filter) ([]kb.Case, error)
	Stats(ctx context.Context, since time.Time) (kb.Stats, error)
	Export(ctx context.Context, w io.Writer) error
	Import(ctx context.Context, r io.Reader) (int, error)
	ImportLegacyFeedback(ctx context.Context, r io.Reader) (int, error)
	Reembed(ctx context.Context, embed func(ctx context.Context, texts []string) ([][]float32, error), dims int) error
	Close() error
}

var _ Store = (*kb.Embedded)(nil)

// EmbeddedFile is the embedded store's file inside kb.data_dir.
const EmbeddedFile = "k8flex.db"

// OpenKnowledge builds the configured embedder and opens the knowledge
// base for its dimension.
func OpenKnowledge(ctx context.Context, cfg config.Config, log zerolog.Logger) (investigate.Embedder, Store, error) {
	emb, err := llm.NewEmbedder(cfg.Embedder)
	if err != nil {
		return nil, nil, fmt.Errorf("embedder: %w", err)
	}
	st, err := OpenStore(ctx, cfg.KB, emb.Dimensions(), false, log)
	if err != nil {
		return nil, nil, err
	}
	return emb, st, nil
}

// OpenStore opens PostgreSQL when kb.database_url is set, else the
// embedded store in kb.data_dir, for embeddings of dims dimensions.
// reembed opens a store recorded with another dimension (only for
// `k8flex kb reembed`).
func OpenStore(ctx context.Context, c config.KBConfig, dims int, reembed bool, log zerolog.Logger) (Store, error) {
	if c.DatabaseURL != "" {
		return openPostgres(ctx, c, dims, reembed, log)
	}
	if err := os.MkdirAll(c.DataDir, 0o750); err != nil {
		return nil, fmt.Errorf("kb.data_dir %s: %w", c.DataDir, err)
	}
	s, err := kb.OpenEmbedded(filepath.Join(c.DataDir, EmbeddedFile), kb.EmbeddedConfig{Dimensions: dims,
		WorkspaceURL: c.SlackWorkspaceURL, AllowDimensionChange: reembed}, log)
	if err != nil {
		return nil, fmt.Errorf("open embedded knowledge base in kb.data_dir %s: %w", c.DataDir, err)
	}
	return s, nil
}
