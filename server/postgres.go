package server

import (
	"context"
	"fmt"

	"github.com/rs/zerolog"

	"github.com/k8flex/k8flex/config"
	"github.com/k8flex/k8flex/kb"
)

var _ Store = (*kb.Postgres)(nil)

// openPostgres opens the PostgreSQL + pgvector knowledge base (migrations
// applied under an advisory lock, so replicas may start together).
func openPostgres(ctx context.Context, c config.KBConfig, dims int, reembed bool, log zerolog.Logger) (Store, error) {
	s, err := kb.OpenPostgres(ctx, kb.PostgresConfig{URL: c.DatabaseURL, Dimensions: dims, MaxConns: c.MaxConns,
		WorkspaceURL: c.SlackWorkspaceURL, AllowDimensionChange: reembed}, log)
	if err != nil {
		return nil, fmt.Errorf("open knowledge base at kb.database_url: %w", err)
	}
	return s, nil
}
