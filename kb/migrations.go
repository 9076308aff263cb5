package kb

import (
	"context"
	"fmt"
	"io/fs"
	"sort"
	"strconv"
	"strings"

	"github.com/jackc/pgx/v5"

	"github.com/k8flex/k8flex/redact"
)

// MigrationStatus is how far a PostgreSQL knowledge base's schema is.
type MigrationStatus struct {
	// Known are the versions of the migrations this build carries.
	Known []int
	// Applied are the versions recorded in the database.
	Applied []int
}

// Pending returns the known versions the database has not applied.
func (m MigrationStatus) Pending() []int {
	done := map[int]bool{}
	for _, v := range m.Applied {
		done[v] = true
	}
	var out []int
	for _, v := range m.Known {
		if !done[v] {
			out = append(out, v)
		}
	}
	return out
}

// PostgresMigrations connects to the database at url and reports which of
// this build's migrations it has applied, without applying any or taking
// the migration lock (OpenPostgres applies them).
func PostgresMigrations(ctx context.Context, url string) (MigrationStatus, error) {
	var st MigrationStatus
	names, err := fs.Glob(migrations, "migrations/*.sql")
	if err != nil {
		return st, fmt.Errorf("list migrations: %w", err)
	}
	for _, name := range names {
		num, _, _ := strings.Cut(strings.TrimPrefix(name, "migrations/"), "_")
		v, err := strconv.Atoi(num)
		if err != nil {
			return st, fmt.Errorf("migration %s: %w", name, err)
		}
		st.Known = append(st.Known, v)
	}
	sort.Ints(st.Known)
	cc, err := pgx.ParseConfig(url)
	if err != nil {
		return st, fmt.Errorf("parse kb.database_url: %s", redact.String(err.Error()))
	}
	conn, err := pgx.ConnectConfig(ctx, cc)
	if err != nil {
		return st, fmt.Errorf("connect to postgres %s:%d/%s: %w", cc.Host, cc.Port, cc.Database, err)
	}
	defer conn.Close(context.WithoutCancel(ctx))
	var exists bool
	if err := conn.QueryRow(ctx, "SELECT to_regclass('kb_migrations') IS NOT NULL").Scan(&exists); err != nil {
		return st, fmt.Errorf("look for kb_migrations: %w", err)
	}
	if !exists {
		return st, nil
	}
	rows, err := conn.Query(ctx, "SELECT version FROM kb_migrations ORDER BY version")
	if err != nil {
		return st, fmt.Errorf("read kb_migrations: %w", err)
	}
	st.Applied, err = pgx.CollectRows(rows, pgx.RowTo[int])
	if err != nil {
		return st, fmt.Errorf("read kb_migrations: %w", err)
	}
	return st, nil
}
