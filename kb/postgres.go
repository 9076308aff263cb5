package kb

import (
	"bufio"
	"cmp"
	"context"
	"embed"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"slices"
	"sort"
	"strconv"
	"strings"
	"sync/atomic"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/pgvector/pgvector-go"
	pgxvec "github.com/pgvector/pgvector-go/pgx"
	"github.com/rs/zerolog"

	"github.com/k8flex/k8flex/investigate"
	"github.com/k8flex/k8flex/redact"
)

//go:embed migrations/*.sql
var migrations embed.FS

// migrationLock is the pg_advisory_lock key serialising migrations and
// dimension changes across replicas ("k8flexkb").
const migrationLock int64 = 0x6b38666c65786b62

// PostgresConfig configures the PostgreSQL backend.
type PostgresConfig struct {
	// URL is a libpq connection URL or DSN.
	URL string
	// Dimensions is the embedding dimension of the configured embedder.
	Dimensions int
	// MaxConns caps the pool (pgx default when 0).
	MaxConns int32
	// WorkspaceURL (e.g. "https://acme.slack.com") turns Slack threads into
	// https permalinks in FindSimilar; empty gives slack:// references.
	WorkspaceURL string
	// MaxAttempts bounds how often a case is claimed (DefaultMaxAttempts when 0).
	MaxAttempts int
	// AllowDimensionChange opens a database recorded with another dimension
	// (for `k8flex kb reembed` only).
	AllowDimensionChange bool
}

// Validate reports the first invalid field, naming its config key.
func (c PostgresConfig) Validate() error {
	switch {
	case c.URL == "":
		return errors.New("kb.database_url is required for the postgres backend")
	case c.Dimensions <= 0:
		return fmt.Errorf("kb.dimensions must be positive (got %d)", c.Dimensions)
	case c.MaxConns < 0:
		return fmt.Errorf("kb.max_conns must not be negative (got %d)", c.MaxConns)
	case c.MaxAttempts < 0:
		return fmt.Errorf("kb.max_attempts must not be negative (got %d)", c.MaxAttempts)
	}
	return nil
}

// Postgres is the knowledge base and queue on PostgreSQL + pgvector,
// shared safely by many replicas. Safe for concurrent use.
type Postgres struct {
	pool     *pgxpool.Pool
	log      zerolog.Logger
	cfg      PostgresConfig
	dims     atomic.Int64
	maxTries int
	// opens counts OpenIncidents calls; every 64th forgets expired ones.
	opens atomic.Uint64
}

var (
	_ investigate.CaseStore = (*Postgres)(nil)
	_ investigate.Queue     = (*Postgres)(nil)
)

// OpenPostgres connects, applies the embedded migrations under an advisory
// lock, and checks (or records, on first start) the embedding dimension.
func OpenPostgres(ctx context.Context, cfg PostgresConfig, log zerolog.Logger) (*Postgres, error) {
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	pcfg, err := pgxpool.ParseConfig(cfg.URL)
	if err != nil {
		return nil, fmt.Errorf("parse kb.database_url: %s", redact.String(err.Error()))
	}
	if cfg.MaxConns > 0 {
		pcfg.MaxConns = cfg.MaxConns
	}
	s := &Postgres{log: log, cfg: cfg, maxTries: cmp.Or(cfg.MaxAttempts, DefaultMaxAttempts)}
	dims, err := migrate(ctx, pcfg.ConnConfig, cfg)
	if err != nil {
		return nil, err
	}
	s.dims.Store(int64(dims))
	pcfg.AfterConnect = func(ctx context.Context, conn *pgx.Conn) error {
		return pgxvec.RegisterTypes(ctx, conn)
	}
	pool, err := pgxpool.NewWithConfig(ctx, pcfg)
	if err != nil {
		return nil, fmt.Errorf("open postgres pool: %w", err)
	}
	s.pool = pool
	log.Info().Str("database", pcfg.ConnConfig.Database).Int("dimensions", dims).Msg("postgres knowledge base open")
	return s, nil
}

// migrate applies pending migrations and the embedding dimension on one
// connection holding the advisory lock; it returns the store's dimension.
func migrate(ctx context.Context, cc *pgx.ConnConfig, cfg PostgresConfig) (int, error) {
	conn, err := pgx.ConnectConfig(ctx, cc)
	if err != nil {
		return 0, fmt.Errorf("connect to postgres %s:%d/%s: %w", cc.Host, cc.Port, cc.Database, err)
	}
	defer conn.Close(context.WithoutCancel(ctx))
	if _, err := conn.Exec(ctx, "SELECT pg_advisory_lock($1)", migrationLock); err != nil {
		return 0, fmt.Errorf("take migration lock: %w", err)
	}
	defer func() { _, _ = conn.Exec(context.WithoutCancel(ctx), "SELECT pg_advisory_unlock($1)", migrationLock) }()
	if _, err := conn.Exec(ctx, `CREATE TABLE IF NOT EXISTS kb_migrations (version INT PRIMARY KEY, applied_at TIMESTAMPTZ NOT NULL DEFAULT now())`); err != nil {
		return 0, fmt.Errorf("create kb_migrations: %w", err)
	}
	names, err := fs.Glob(migrations, "migrations/*.sql")
	if err != nil {
		return 0, fmt.Errorf("list migrations: %w", err)
	}
	sort.Strings(names)
	for _, name := range names {
		base := strings.TrimPrefix(name, "migrations/")
		num, _, _ := strings.Cut(base, "_")
		version, err := strconv.Atoi(num)
		if err != nil {
			return 0, fmt.Errorf("migration %s: name must start with a number: %w", base, err)
		}
		var done bool
		if err := conn.QueryRow(ctx, "SELECT EXISTS (SELECT 1 FROM kb_migrations WHERE version = $1)", version).Scan(&done); err != nil {
			return 0, fmt.Errorf("check migration %s: %w", base, err)
		}
		if done {
			continue
		}
		sql, err := migrations.ReadFile(name)
		if err != nil {
			return 0, fmt.Errorf("read migration %s: %w", base, err)
		}
		err = pgx.BeginFunc(ctx, conn, func(tx pgx.Tx) error {
			if _, err := tx.Exec(ctx, string(sql)); err != nil {
				return err
			}
			_, err := tx.Exec(ctx, "INSERT INTO kb_migrations (version) VALUES ($1)", version)
			return err
		})
		if err != nil {
			return 0, fmt.Errorf("apply migration %s: %w", base, err)
		}
	}
	var stored string
	err = conn.QueryRow(ctx, "SELECT value FROM kb_meta WHERE key = 'dimensions'").Scan(&stored)
	switch {
	case errors.Is(err, pgx.ErrNoRows):
		if err := setDimensions(ctx, conn, cfg.Dimensions); err != nil {
			return 0, err
		}
		return cfg.Dimensions, nil
	case err != nil:
		return 0, fmt.Errorf("read kb dimensions: %w", err)
	}
	dims, err := strconv.Atoi(stored)
	if err != nil {
		return 0, fmt.Errorf("read kb dimensions %q: %w", stored, err)
	}
	if dims != cfg.Dimensions && !cfg.AllowDimensionChange {
		return 0, dimensionError(dims, cfg.Dimensions)
	}
	return dims, nil
}

// execer is a connection or transaction.
type execer interface {
	Exec(ctx context.Context, sql string, args ...any) (pgconn.CommandTag, error)
}

// setDimensions types the embedding column as vector(dims) and (re)builds
// its HNSW cosine index. Existing embeddings must already fit (or be NULL).
func setDimensions(ctx context.Context, db execer, dims int) error {
	for _, q := range []string{
		"DROP INDEX IF EXISTS alert_cases_embedding",
		fmt.Sprintf("ALTER TABLE alert_cases ALTER COLUMN embedding TYPE vector(%d)", dims),
		"CREATE INDEX alert_cases_embedding ON alert_cases USING hnsw (embedding vector_cosine_ops)",
		fmt.Sprintf("INSERT INTO kb_meta (key, value) VALUES ('dimensions', '%d') ON CONFLICT (key) DO UPDATE SET value = EXCLUDED.value", dims),
	} {
		if _, err := db.Exec(ctx, q); err != nil {
			return fmt.Errorf("set embedding dimension %d: %w", dims, err)
		}
	}
	return nil
}

// Close closes the pool.
func (s *Postgres) Close() error {
	s.pool.Close()
	return nil
}

// Dimensions returns the embedding dimension the store holds.
func (s *Postgres) Dimensions() int { return int(s.dims.Load()) }

// Ping checks the database is reachable (for /ready).
func (s *Postgres) Ping(ctx context.Context) error {
	return s.pool.Ping(ctx)
}

// caseCols are every column but the embedding, in the order caseArgs and
// scanCase use.
const caseCols = `id, alert_name, severity, category, namespace, target, fingerprint, starts_at, labels, summary,
 analysis, root_cause, findings, evidence, analyzer, model, usage, error, channel, thread_ts, status, attempts,
 lease_owner, lease_until, created_at, updated_at, validated_at, resolved_at, voted_at, verdict, validated,
 correct_votes, incorrect_votes, request`

func nullTime(t time.Time) any {
	if t.IsZero() {
		return nil
	}
	return t.UTC()
}

func jsonArg(v any, empty bool) (any, error) {
	if empty {
		return nil, nil
	}
	b, err := json.Marshal(v)
	if err != nil {
		return nil, err
	}
	return string(b), nil
}

func caseArgs(c *Case) ([]any, error) {
	labels, err := jsonArg(c.Labels, len(c.Labels) == 0)
	if err != nil {
		return nil, fmt.Errorf("encode labels: %w", err)
	}
	findings, err := jsonArg(c.Findings, len(c.Findings) == 0)
	if err != nil {
		return nil, fmt.Errorf("encode findings: %w", err)
	}
	evidence, err := jsonArg(c.Evidence, len(c.Evidence.Sections) == 0 && len(c.Evidence.Gaps) == 0 && c.Evidence.Target.IsZero())
	if err != nil {
		return nil, fmt.Errorf("encode evidence: %w", err)
	}
	usage, err := jsonArg(c.Usage, c.Usage == investigate.Usage{})
	if err != nil {
		return nil, fmt.Errorf("encode usage: %w", err)
	}
	request, err := jsonArg(c.Request, c.Request == nil)
	if err != nil {
		return nil, fmt.Errorf("encode request: %w", err)
	}
	return []any{c.ID, c.AlertName, c.Severity, string(c.Category), c.Namespace, c.Target, c.Fingerprint, nullTime(c.StartsAt),
		labels, c.Summary, c.Analysis, c.RootCause, findings, evidence, c.Analyzer, c.Model, usage, c.Error, c.Channel,
		c.ThreadTS, string(c.Status), c.Attempts, c.LeaseOwner, nullTime(c.LeaseUntil), c.CreatedAt.UTC(), c.UpdatedAt.UTC(),
		nullTime(c.ValidatedAt), nullTime(c.ResolvedAt), nullTime(c.VotedAt), string(c.Verdict), c.Validated, c.Correct,
		c.Incorrect, request}, nil
}

// scanCase reads caseCols (plus the embedding when withEmb).
func scanCase(row pgx.Row, withEmb bool) (*Case, error) {
	var (
		c                                                  Case
		category, status, verdict                          string
		startsAt, leaseUntil, validatedAt, resolved, voted *time.Time
		labels, findings, evidence, usage, request         []byte
		emb                                                *pgvector.Vector
	)
	dst := []any{&c.ID, &c.AlertName, &c.Severity, &category, &c.Namespace, &c.Target, &c.Fingerprint, &startsAt,
		&labels, &c.Summary, &c.Analysis, &c.RootCause, &findings, &evidence, &c.Analyzer, &c.Model, &usage, &c.Error,
		&c.Channel, &c.ThreadTS, &status, &c.Attempts, &c.LeaseOwner, &leaseUntil, &c.CreatedAt, &c.UpdatedAt,
		&validatedAt, &resolved, &voted, &verdict, &c.Validated, &c.Correct, &c.Incorrect, &request}
	if withEmb {
		dst = append(dst, &emb)
	}
	if err := row.Scan(dst...); err != nil {
		return nil, err
	}
	c.Category, c.Status, c.Verdict = investigate.Category(category), Status(status), Verdict(verdict)
	for _, t := range []struct {
		src *time.Time
		dst *time.Time
	}{{startsAt, &c.StartsAt}, {leaseUntil, &c.LeaseUntil}, {validatedAt, &c.ValidatedAt}, {resolved, &c.ResolvedAt}, {voted, &c.VotedAt}} {
		if t.src != nil {
			*t.dst = t.src.UTC()
		}
	}
	c.CreatedAt, c.UpdatedAt = c.CreatedAt.UTC(), c.UpdatedAt.UTC()
	for _, j := range []struct {
		src []byte
		dst any
	}{{labels, &c.Labels}, {findings, &c.Findings}, {evidence, &c.Evidence}, {usage, &c.Usage}, {request, &c.Request}} {
		if len(j.src) > 0 {
			if err := json.Unmarshal(j.src, j.dst); err != nil {
				return nil, fmt.Errorf("decode case %s: %w", c.ID, err)
			}
		}
	}
	if emb != nil {
		c.Embedding = emb.Slice()
	}
	return &c, nil
}

// upsertSQL writes every column but the embedding.
var upsertSQL = func() string {
	cols := strings.Split(strings.ReplaceAll(caseCols, "\n", ""), ",")
	var ph, set []string
	for i, col := range cols {
		col = strings.TrimSpace(col)
		ph = append(ph, fmt.Sprintf("$%d", i+1))
		if col != "id" {
			set = append(set, col+" = EXCLUDED."+col)
		}
	}
	return "INSERT INTO alert_cases (" + caseCols + ") VALUES (" + strings.Join(ph, ", ") +
		") ON CONFLICT (id) DO UPDATE SET " + strings.Join(set, ", ")
}()

func upsertCase(ctx context.Context, db execer, c *Case) error {
	args, err := caseArgs(c)
	if err != nil {
		return fmt.Errorf("case %s: %w", c.ID, err)
	}
	if _, err := db.Exec(ctx, upsertSQL, args...); err != nil {
		return fmt.Errorf("write case %s: %w", c.ID, err)
	}
	return nil
}

func getCaseTx(ctx context.Context, tx pgx.Tx, id string, lock bool) (*Case, error) {
	q := "SELECT " + caseCols + ", embedding FROM alert_cases WHERE id = $1"
	if lock {
		q += " FOR UPDATE"
	}
	c, err := scanCase(tx.QueryRow(ctx, q, id), true)
	if errors.Is(err, pgx.ErrNoRows) {
		return nil, fmt.Errorf("case %s: %w", id, ErrNotFound)
	}
	if err != nil {
		return nil, fmt.Errorf("read case %s: %w", id, err)
	}
	return c, nil
}

// RecordInvestigation stores the outcome of an investigation: it updates
// the case r.ID (a queued or claimed one) or creates it, sets its status to
// done (failed when there is no analysis and an error; resolved when its
// alert already resolved) and releases its lease. It is the one write of a
// result: Complete calls it for a claimed case; a command that runs the
// engine outside the queue (k8flex demo) calls it itself.
func (s *Postgres) RecordInvestigation(ctx context.Context, r *investigate.Result) error {
	if r.ID == "" {
		return errors.New("record investigation: result has no id")
	}
	err := pgx.BeginFunc(ctx, s.pool, func(tx pgx.Tx) error {
		old, err := getCaseTx(ctx, tx, r.ID, true)
		if err != nil && !errors.Is(err, ErrNotFound) {
			return err
		}
		c := &Case{}
		if old != nil {
			c = old
		}
		applyResult(c, r, time.Now().UTC())
		if old == nil && c.Fingerprint != "" {
			var taken bool
			if err := tx.QueryRow(ctx, "SELECT EXISTS (SELECT 1 FROM alert_cases WHERE fingerprint = $1 AND starts_at = $2)",
				c.Fingerprint, nullTime(c.StartsAt)).Scan(&taken); err != nil {
				return fmt.Errorf("check alert key: %w", err)
			}
			if taken {
				c.Fingerprint = "" // the alert's own (queued) case keeps the alert key
			}
		}
		return upsertCase(ctx, tx, c)
	})
	if err != nil {
		return fmt.Errorf("record investigation %s: %w", r.ID, err)
	}
	return nil
}

// Case returns the case id with all its fields (ErrNotFound if none).
func (s *Postgres) Case(ctx context.Context, id string) (*Case, error) {
	c, err := scanCase(s.pool.QueryRow(ctx, "SELECT "+caseCols+", embedding FROM alert_cases WHERE id = $1", id), true)
	if errors.Is(err, pgx.ErrNoRows) {
		return nil, fmt.Errorf("case %s: %w", id, ErrNotFound)
	}
	if err != nil {
		return nil, fmt.Errorf("read case %s: %w", id, err)
	}
	return c, nil
}

// CaseByThread returns the case whose Slack thread is channel/ts.
func (s *Postgres) CaseByThread(ctx context.Context, channel, ts string) (*Case, error) {
	c, err := scanCase(s.pool.QueryRow(ctx, "SELECT "+caseCols+", embedding FROM alert_cases WHERE channel = $1 AND thread_ts = $2 ORDER BY created_at DESC LIMIT 1", channel, ts), true)
	if errors.Is(err, pgx.ErrNoRows) {
		return nil, fmt.Errorf("thread %s/%s: %w", channel, ts, ErrNotFound)
	}
	if err != nil {
		return nil, fmt.Errorf("read case of thread %s/%s: %w", channel, ts, err)
	}
	return c, nil
}

// SetThread records the Slack thread (channel, message ts) of case id.
func (s *Postgres) SetThread(ctx context.Context, id, channel, ts string) error {
	tag, err := s.pool.Exec(ctx, "UPDATE alert_cases SET channel = $2, thread_ts = $3, updated_at = now() WHERE id = $1", id, channel, ts)
	if err != nil {
		return fmt.Errorf("set thread of %s: %w", id, err)
	}
	if tag.RowsAffected() == 0 {
		return fmt.Errorf("case %s: %w", id, ErrNotFound)
	}
	return nil
}

// LinkMessage records that the Slack message channel/ts (a reply in its
// thread, such as the analysis) belongs to case id, so that CaseByMessage
// finds the case after a restart. Linking a message again replaces its
// case. ErrNotFound when the case does not exist.
func (s *Postgres) LinkMessage(ctx context.Context, id, channel, ts string) error {
	tag, err := s.pool.Exec(ctx, `INSERT INTO slack_messages (channel, ts, case_id)
		SELECT $1, $2, id FROM alert_cases WHERE id = $3
		ON CONFLICT (channel, ts) DO UPDATE SET case_id = EXCLUDED.case_id`, channel, ts, id)
	if err != nil {
		return fmt.Errorf("link message %s/%s to case %s: %w", channel, ts, id, err)
	}
	if tag.RowsAffected() == 0 {
		return fmt.Errorf("case %s: %w", id, ErrNotFound)
	}
	return nil
}

// CaseByMessage returns the case the Slack message channel/ts belongs to:
// one linked with LinkMessage, else the root of its thread (SetThread).
// ErrNotFound for any other message.
func (s *Postgres) CaseByMessage(ctx context.Context, channel, ts string) (*Case, error) {
	c, err := scanCase(s.pool.QueryRow(ctx, "SELECT "+caseCols+", embedding FROM alert_cases WHERE id = "+
		"(SELECT case_id FROM slack_messages WHERE channel = $1 AND ts = $2)", channel, ts), true)
	if errors.Is(err, pgx.ErrNoRows) {
		c, err = s.CaseByThread(ctx, channel, ts)
		if errors.Is(err, ErrNotFound) {
			return nil, fmt.Errorf("message %s/%s: %w", channel, ts, ErrNotFound)
		}
		return c, err
	}
	if err != nil {
		return nil, fmt.Errorf("read case of message %s/%s: %w", channel, ts, err)
	}
	return c, nil
}

// FindSimilar returns up to topN validated cases whose cosine similarity to
// embedding is at least threshold, most similar first (HNSW index).
func (s *Postgres) FindSimilar(ctx context.Context, embedding []float32, threshold float64, topN int) ([]investigate.SimilarCase, error) {
	if err := checkDims(embedding, s.Dimensions()); err != nil {
		return nil, fmt.Errorf("find similar: %w", err)
	}
	if topN <= 0 {
		return nil, nil
	}
	rows, err := s.pool.Query(ctx, `SELECT id, alert_name, category, namespace, target, root_cause, analysis, channel, thread_ts, created_at,
 1 - (embedding <=> $1) FROM alert_cases WHERE embedding IS NOT NULL ORDER BY embedding <=> $1 LIMIT $2`, pgvector.NewVector(embedding), topN)
	if err != nil {
		return nil, fmt.Errorf("find similar: %w", err)
	}
	defer rows.Close()
	var out []investigate.SimilarCase
	for rows.Next() {
		var c Case
		var cat string
		var sim float64
		if err := rows.Scan(&c.ID, &c.AlertName, &cat, &c.Namespace, &c.Target, &c.RootCause, &c.Analysis, &c.Channel, &c.ThreadTS, &c.CreatedAt, &sim); err != nil {
			return nil, fmt.Errorf("find similar: %w", err)
		}
		if sim < threshold {
			break // ordered by distance: the rest are less similar
		}
		c.Category, c.CreatedAt = investigate.Category(cat), c.CreatedAt.UTC()
		out = append(out, similarOf(&c, sim, s.cfg.WorkspaceURL))
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("find similar: %w", err)
	}
	return out, nil
}

// PastFeedback returns up to limit verdicts on cases of alertName or of
// category c, cases of the same alert name first, most recent vote first.
func (s *Postgres) PastFeedback(ctx context.Context, c investigate.Category, alertName string, limit int) ([]investigate.PastFeedback, error) {
	if limit <= 0 {
		limit = 1000
	}
	rows, err := s.pool.Query(ctx, `SELECT alert_name, category, verdict, root_cause, voted_at FROM alert_cases
 WHERE verdict <> '' AND (alert_name = $1 OR ($2 <> '' AND category = $2))
 ORDER BY (alert_name = $1) DESC, voted_at DESC NULLS LAST, id LIMIT $3`, alertName, string(c), limit)
	if err != nil {
		return nil, fmt.Errorf("past feedback: %w", err)
	}
	defer rows.Close()
	var out []investigate.PastFeedback
	for rows.Next() {
		var f investigate.PastFeedback
		var cat, verdict string
		var at *time.Time
		if err := rows.Scan(&f.AlertName, &cat, &verdict, &f.RootCause, &at); err != nil {
			return nil, fmt.Errorf("past feedback: %w", err)
		}
		f.Category, f.Correct = investigate.Category(cat), verdict == string(VerdictCorrect)
		if at != nil {
			f.At = at.UTC()
		}
		out = append(out, f)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("past feedback: %w", err)
	}
	return out, nil
}

// RecordFeedback records one person's vote (replacing their earlier vote
// on the case unless that one is newer), recounts the case under a row
// lock and validates or invalidates it. A case becoming (or staying)
// validated stores embedding when one is given; an invalidated case leaves
// search. Errors (database lost) are returned: a vote is never dropped
// silently.
func (s *Postgres) RecordFeedback(ctx context.Context, v Vote, embedding []float32) (CaseVerdict, error) {
	if err := validateVote(&v); err != nil {
		return CaseVerdict{}, err
	}
	if len(embedding) > 0 {
		if err := checkDims(embedding, s.Dimensions()); err != nil {
			return CaseVerdict{}, fmt.Errorf("record feedback: %w", err)
		}
	}
	var out CaseVerdict
	err := pgx.BeginFunc(ctx, s.pool, func(tx pgx.Tx) error {
		var was bool
		err := tx.QueryRow(ctx, "SELECT validated FROM alert_cases WHERE id = $1 FOR UPDATE", v.CaseID).Scan(&was)
		if errors.Is(err, pgx.ErrNoRows) {
			return fmt.Errorf("case %s: %w", v.CaseID, ErrNotFound)
		}
		if err != nil {
			return err
		}
		if v.Withdraw {
			if _, err := tx.Exec(ctx, `DELETE FROM feedback_votes WHERE case_id = $1 AND user_id = $2 AND correct = $3 AND at <= $4`,
				v.CaseID, v.User, v.Correct, v.At); err != nil {
				return fmt.Errorf("withdraw vote: %w", err)
			}
		} else if _, err := tx.Exec(ctx, `INSERT INTO feedback_votes (case_id, user_id, correct, source, at) VALUES ($1, $2, $3, $4, $5)
 ON CONFLICT (case_id, user_id) DO UPDATE SET correct = EXCLUDED.correct, source = EXCLUDED.source, at = EXCLUDED.at
 WHERE feedback_votes.at <= EXCLUDED.at`, v.CaseID, v.User, v.Correct, string(v.Source), v.At); err != nil {
			return fmt.Errorf("write vote: %w", err)
		}
		var correct, incorrect int
		var lastVote *time.Time // NULL once the last vote was withdrawn
		if err := tx.QueryRow(ctx, `SELECT count(*) FILTER (WHERE correct), count(*) FILTER (WHERE NOT correct), max(at)
 FROM feedback_votes WHERE case_id = $1`, v.CaseID).Scan(&correct, &incorrect, &lastVote); err != nil {
			return fmt.Errorf("count votes: %w", err)
		}
		var last time.Time
		if lastVote != nil {
			last = *lastVote
		}
		verdict, validated := verdictOf(correct, incorrect)
		var emb any
		if len(embedding) > 0 {
			emb = pgvector.NewVector(embedding)
		}
		if _, err := tx.Exec(ctx, `UPDATE alert_cases SET correct_votes = $2, incorrect_votes = $3, verdict = $4, validated = $5,
 voted_at = $6, updated_at = now(),
 validated_at = CASE WHEN NOT $5 THEN NULL WHEN validated_at IS NULL THEN $7 ELSE validated_at END,
 embedding = CASE WHEN NOT $5 THEN NULL WHEN $8::vector IS NOT NULL THEN $8::vector ELSE embedding END
 WHERE id = $1`, v.CaseID, correct, incorrect, string(verdict), validated, nullTime(last), v.At, emb); err != nil {
			return fmt.Errorf("update verdict: %w", err)
		}
		out = CaseVerdict{CaseID: v.CaseID, Correct: correct, Incorrect: incorrect, Validated: validated, Verdict: verdict, Changed: was != validated}
		return nil
	})
	if err != nil {
		return CaseVerdict{}, fmt.Errorf("record feedback on %s: %w", v.CaseID, err)
	}
	return out, nil
}

// ListCases returns one page of the cases passing f, newest first.
func (s *Postgres) ListCases(ctx context.Context, f Filter) ([]Case, error) {
	var where []string
	var args []any
	add := func(cond string, v any) {
		args = append(args, v)
		where = append(where, strings.ReplaceAll(cond, "?", fmt.Sprintf("$%d", len(args))))
	}
	if f.Category != "" {
		add("category = ?", string(f.Category))
	}
	if f.AlertName != "" {
		add("alert_name = ?", f.AlertName)
	}
	if f.Status != "" {
		add("status = ?", string(f.Status))
	}
	if f.Validated != nil {
		add("validated = ?", *f.Validated)
	}
	if !f.Since.IsZero() {
		add("created_at >= ?", f.Since.UTC())
	}
	if f.Query != "" {
		q := "%" + strings.NewReplacer(`\`, `\\`, "%", `\%`, "_", `\_`).Replace(f.Query) + "%"
		add("(alert_name ILIKE ? OR namespace ILIKE ? OR target ILIKE ? OR root_cause ILIKE ? OR analysis ILIKE ?)", q)
	}
	sql := "SELECT " + caseCols + " FROM alert_cases"
	if len(where) > 0 {
		sql += " WHERE " + strings.Join(where, " AND ")
	}
	args = append(args, f.limit(), max(f.Offset, 0))
	sql += fmt.Sprintf(" ORDER BY created_at DESC, id DESC LIMIT $%d OFFSET $%d", len(args)-1, len(args))
	rows, err := s.pool.Query(ctx, sql, args...)
	if err != nil {
		return nil, fmt.Errorf("list cases: %w", err)
	}
	defer rows.Close()
	var out []Case
	for rows.Next() {
		c, err := scanCase(rows, false)
		if err != nil {
			return nil, fmt.Errorf("list cases: %w", err)
		}
		out = append(out, *c)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("list cases: %w", err)
	}
	return out, nil
}

// Stats returns the accuracy of the cases created at or after since (all
// cases for the zero time), overall, by category and by alert name.
func (s *Postgres) Stats(ctx context.Context, since time.Time) (Stats, error) {
	rows, err := s.pool.Query(ctx, `SELECT category, alert_name, verdict, count(*), sum(correct_votes + incorrect_votes)
 FROM alert_cases WHERE created_at >= $1 GROUP BY category, alert_name, verdict`, since.UTC())
	if err != nil {
		return Stats{}, fmt.Errorf("stats: %w", err)
	}
	defer rows.Close()
	st := newStats(since)
	for rows.Next() {
		var cat, name, verdict string
		var n, votes int
		if err := rows.Scan(&cat, &name, &verdict, &n, &votes); err != nil {
			return Stats{}, fmt.Errorf("stats: %w", err)
		}
		c := Case{Category: investigate.Category(cat), AlertName: name, Verdict: Verdict(verdict)}
		for range n {
			st.add(&c)
		}
		st.Votes += votes
	}
	if err := rows.Err(); err != nil {
		return Stats{}, fmt.Errorf("stats: %w", err)
	}
	st.finish()
	return st, nil
}

// Enqueue records every request as a queued case in one transaction: all
// or none. A firing alert whose Key already has a case (also one another
// replica is inserting right now) is a Duplicate; a resolved alert marks
// its case resolved and queues nothing.
func (s *Postgres) Enqueue(ctx context.Context, reqs []investigate.Request) ([]investigate.Enqueued, error) {
	out := make([]investigate.Enqueued, len(reqs))
	err := pgx.BeginFunc(ctx, s.pool, func(tx pgx.Tx) error {
		now := time.Now().UTC()
		for i := range reqs {
			r := &reqs[i]
			_, fp, startsAt := alertKey(r)
			if r.Alert != nil && r.Alert.Status == investigate.StatusResolved {
				res, err := s.resolveTx(ctx, tx, fp, startsAt, r.Alert, now)
				if err != nil {
					return err
				}
				out[i] = res
				continue
			}
			c := caseFromRequest(newID(), r, now)
			args, err := caseArgs(c)
			if err != nil {
				return err
			}
			sql := "INSERT INTO alert_cases (" + caseCols + ") VALUES (" + placeholders(len(args)) + ")"
			if fp != "" {
				sql += " ON CONFLICT (fingerprint, starts_at) WHERE fingerprint <> '' DO NOTHING"
			}
			tag, err := tx.Exec(ctx, sql, args...)
			if err != nil {
				return fmt.Errorf("insert case: %w", err)
			}
			if tag.RowsAffected() == 1 {
				out[i] = resultOf(c, false, false)
				continue
			}
			res, err := scanEnqueueResult(tx.QueryRow(ctx, "SELECT "+enqueueResultCols+" FROM alert_cases WHERE fingerprint = $1 AND starts_at = $2", fp, startsAt))
			if err != nil {
				return fmt.Errorf("read duplicate of %s: %w", fp, err)
			}
			res.Duplicate = true
			out[i] = res
		}
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("enqueue %d requests: %w", len(reqs), err)
	}
	return out, nil
}

func placeholders(n int) string {
	ph := make([]string, n)
	for i := range ph {
		ph[i] = fmt.Sprintf("$%d", i+1)
	}
	return strings.Join(ph, ", ")
}

// resolveTx marks the case of a resolved alert as the embedded store's
// resolve does, in one statement that returns only what the result needs:
// resolved_at is set once (to the alert's endsAt when that is not in the
// future, else now), a done or failed case becomes resolved.
func (s *Postgres) resolveTx(ctx context.Context, tx pgx.Tx, fp string, startsAt time.Time, a *investigate.Alert, now time.Time) (investigate.Enqueued, error) {
	var endsAt *time.Time
	if !a.EndsAt.IsZero() {
		e := a.EndsAt.UTC()
		endsAt = &e
	}
	res, err := scanEnqueueResult(tx.QueryRow(ctx, `UPDATE alert_cases SET
  resolved_at = COALESCE(resolved_at, CASE WHEN $3::timestamptz IS NOT NULL AND $3 <= $4 THEN $3 ELSE $4 END),
  status = CASE WHEN status IN ('done', 'failed') THEN 'resolved' ELSE status END,
  updated_at = $4
WHERE fingerprint = $1 AND starts_at = $2
RETURNING `+enqueueResultCols, fp, startsAt, endsAt, now))
	if errors.Is(err, pgx.ErrNoRows) {
		return investigate.Enqueued{Resolved: true}, nil
	}
	if err != nil {
		return investigate.Enqueued{}, fmt.Errorf("resolve case of alert %s: %w", fp, err)
	}
	res.Resolved = true
	return res, nil
}

// enqueueResultCols are the columns scanEnqueueResult reads.
const enqueueResultCols = "id, channel, thread_ts, starts_at, resolved_at"

func scanEnqueueResult(row pgx.Row) (investigate.Enqueued, error) {
	var r investigate.Enqueued
	var startsAt, resolvedAt *time.Time
	if err := row.Scan(&r.ID, &r.Channel, &r.ThreadTS, &startsAt, &resolvedAt); err != nil {
		return investigate.Enqueued{}, err
	}
	if startsAt != nil {
		r.StartsAt = startsAt.UTC()
	}
	if resolvedAt != nil {
		r.ResolvedAt = resolvedAt.UTC()
	}
	return r, nil
}

// Claim leases up to n cases to worker for lease, oldest first: queued
// cases and running cases whose lease expired (their worker died), using
// FOR UPDATE SKIP LOCKED so replicas never claim the same case. A case
// already claimed MaxAttempts times is marked failed instead.
func (s *Postgres) Claim(ctx context.Context, worker string, lease time.Duration, n int) ([]investigate.Claimed, error) {
	if n <= 0 {
		return nil, nil
	}
	var out []investigate.Claimed
	err := pgx.BeginFunc(ctx, s.pool, func(tx pgx.Tx) error {
		out = out[:0]
		tag, err := tx.Exec(ctx, `UPDATE alert_cases SET
 status = CASE WHEN resolved_at IS NULL THEN 'failed' ELSE 'resolved' END,
 error = 'abandoned after ' || attempts || ' attempts whose workers did not finish',
 lease_owner = '', lease_until = NULL, updated_at = clock_timestamp()
 WHERE id IN (SELECT id FROM alert_cases WHERE status = 'running' AND lease_until < clock_timestamp() AND attempts >= $1
   FOR UPDATE SKIP LOCKED)`, s.maxTries)
		if err != nil {
			return fmt.Errorf("abandon cases: %w", err)
		}
		if tag.RowsAffected() > 0 {
			s.log.Warn().Int64("cases", tag.RowsAffected()).Msg("cases abandoned after repeated claims")
		}
		rows, err := tx.Query(ctx, `UPDATE alert_cases SET status = 'running', lease_owner = $1,
 lease_until = clock_timestamp() + $2 * interval '1 microsecond', attempts = attempts + 1, updated_at = clock_timestamp()
 WHERE id IN (SELECT id FROM alert_cases
   WHERE status = 'queued' OR (status = 'running' AND lease_until < clock_timestamp())
   ORDER BY created_at LIMIT $3 FOR UPDATE SKIP LOCKED)
 RETURNING id, request, attempts, channel, thread_ts, created_at`, worker, lease.Microseconds(), n)
		if err != nil {
			return fmt.Errorf("claim cases: %w", err)
		}
		defer rows.Close()
		type row struct {
			cc investigate.Claimed
			at time.Time
		}
		var got []row
		for rows.Next() {
			var r row
			var req []byte
			if err := rows.Scan(&r.cc.ID, &req, &r.cc.Attempt, &r.cc.Channel, &r.cc.ThreadTS, &r.at); err != nil {
				return fmt.Errorf("claim cases: %w", err)
			}
			if len(req) > 0 {
				if err := json.Unmarshal(req, &r.cc.Request); err != nil {
					return fmt.Errorf("decode request of %s: %w", r.cc.ID, err)
				}
			}
			r.cc.Request.ID = r.cc.ID
			got = append(got, r)
		}
		if err := rows.Err(); err != nil {
			return fmt.Errorf("claim cases: %w", err)
		}
		slices.SortFunc(got, func(a, b row) int { return cmp.Or(a.at.Compare(b.at), cmp.Compare(a.cc.ID, b.cc.ID)) })
		for _, r := range got {
			out = append(out, r.cc)
		}
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("claim: %w", err)
	}
	return out, nil
}

// Complete records the result of claimed case id (as RecordInvestigation:
// the result and the end of the lease in one transaction) and ends its
// lease. A nil result only marks the case done.
func (s *Postgres) Complete(ctx context.Context, id string, r *investigate.Result) error {
	if r != nil {
		rr := *r
		rr.ID = id
		return s.RecordInvestigation(ctx, &rr)
	}
	return s.finish(ctx, id, StatusDone, "")
}

// Fail marks case id failed with the (redacted) error and ends its lease.
func (s *Postgres) Fail(ctx context.Context, id string, cause error) error {
	msg := "unknown error"
	if cause != nil {
		msg = redact.String(cause.Error())
	}
	return s.finish(ctx, id, StatusFailed, msg)
}

func (s *Postgres) finish(ctx context.Context, id string, st Status, msg string) error {
	tag, err := s.pool.Exec(ctx, `UPDATE alert_cases SET status = CASE WHEN resolved_at IS NULL THEN $2 ELSE 'resolved' END,
 error = CASE WHEN $3 = '' THEN error ELSE $3 END, lease_owner = '', lease_until = NULL, updated_at = now() WHERE id = $1`,
		id, string(st), msg)
	if err != nil {
		return fmt.Errorf("finish case %s: %w", id, err)
	}
	if tag.RowsAffected() == 0 {
		return fmt.Errorf("case %s: %w", id, ErrNotFound)
	}
	return nil
}

// Release puts running case id back in the queue (graceful shutdown), so
// another worker or the next start picks it up.
func (s *Postgres) Release(ctx context.Context, id string) error {
	_, err := s.pool.Exec(ctx, `UPDATE alert_cases SET status = 'queued', lease_owner = '', lease_until = NULL,
 attempts = greatest(attempts - 1, 0), updated_at = now() WHERE id = $1 AND status = 'running'`, id)
	if err != nil {
		return fmt.Errorf("release case %s: %w", id, err)
	}
	return nil
}

// Renew extends worker's lease on running case id to lease from now (a
// heartbeat for long analyses). It returns ErrLeaseLost when worker no
// longer holds the lease, ErrNotFound for an unknown case.
func (s *Postgres) Renew(ctx context.Context, id, worker string, lease time.Duration) error {
	var renewed, exists bool
	err := s.pool.QueryRow(ctx, `WITH upd AS (
  UPDATE alert_cases SET lease_until = clock_timestamp() + $3 * interval '1 microsecond', updated_at = clock_timestamp()
  WHERE id = $1 AND status = 'running' AND lease_owner = $2 AND lease_until > clock_timestamp() RETURNING 1)
SELECT EXISTS (SELECT 1 FROM upd), EXISTS (SELECT 1 FROM alert_cases WHERE id = $1)`, id, worker, lease.Microseconds()).Scan(&renewed, &exists)
	switch {
	case err != nil:
		return fmt.Errorf("renew case %s: %w", id, err)
	case !exists:
		return fmt.Errorf("case %s: %w", id, ErrNotFound)
	case !renewed:
		return fmt.Errorf("renew case %s for %s: %w", id, worker, ErrLeaseLost)
	}
	return nil
}

// QueueDepth returns how many cases wait to be claimed or are running.
func (s *Postgres) QueueDepth(ctx context.Context) (int, error) {
	var n int
	if err := s.pool.QueryRow(ctx, "SELECT count(*) FROM alert_cases WHERE status IN ('queued', 'running')").Scan(&n); err != nil {
		return 0, fmt.Errorf("queue depth: %w", err)
	}
	return n, nil
}

// Export writes every case (with its votes, and its embedding when
// validated) to w as JSONL, oldest first.
func (s *Postgres) Export(ctx context.Context, w io.Writer) error {
	votes := map[string][]Vote{}
	rows, err := s.pool.Query(ctx, "SELECT case_id, user_id, correct, source, at FROM feedback_votes ORDER BY case_id, user_id")
	if err != nil {
		return fmt.Errorf("export votes: %w", err)
	}
	for rows.Next() {
		var v Vote
		var src string
		if err := rows.Scan(&v.CaseID, &v.User, &v.Correct, &src, &v.At); err != nil {
			rows.Close()
			return fmt.Errorf("export votes: %w", err)
		}
		v.Source, v.At = VoteSource(src), v.At.UTC()
		votes[v.CaseID] = append(votes[v.CaseID], v)
	}
	rows.Close()
	if err := rows.Err(); err != nil {
		return fmt.Errorf("export votes: %w", err)
	}
	rows, err = s.pool.Query(ctx, "SELECT "+caseCols+", embedding FROM alert_cases ORDER BY created_at, id")
	if err != nil {
		return fmt.Errorf("export cases: %w", err)
	}
	defer rows.Close()
	bw := bufio.NewWriter(w)
	enc := json.NewEncoder(bw)
	for rows.Next() {
		c, err := scanCase(rows, true)
		if err != nil {
			return fmt.Errorf("export cases: %w", err)
		}
		if err := enc.Encode(&Record{Case: *c, Votes: votes[c.ID]}); err != nil {
			return fmt.Errorf("write case %s: %w", c.ID, err)
		}
	}
	if err := rows.Err(); err != nil {
		return fmt.Errorf("export cases: %w", err)
	}
	return bw.Flush()
}

// Import reads JSONL records (as Export writes them) and upserts each case
// with its votes, replacing a case of the same id. It returns how many
// cases it imported. Records are applied in batches; a bad record stops the
// import with an error naming its line (earlier batches stay imported).
func (s *Postgres) Import(ctx context.Context, r io.Reader) (int, error) {
	return importJSONL(ctx, r, s.Dimensions(), s.importRecords)
}

// ImportLegacyFeedback imports the original design's feedback.json: each
// record becomes a finished case with one vote. Re-importing is harmless.
func (s *Postgres) ImportLegacyFeedback(ctx context.Context, r io.Reader) (int, error) {
	return importLegacyFeedback(ctx, r, s.Dimensions(), s.importRecords)
}

func (s *Postgres) importRecords(ctx context.Context, recs []Record) error {
	if len(recs) == 0 {
		return nil
	}
	return pgx.BeginFunc(ctx, s.pool, func(tx pgx.Tx) error {
		for i := range recs {
			c := &recs[i].Case
			if c.Fingerprint != "" {
				// Another case holding this alert key yields to the imported one.
				if _, err := tx.Exec(ctx, "UPDATE alert_cases SET fingerprint = '' WHERE fingerprint = $1 AND starts_at IS NOT DISTINCT FROM $2 AND id <> $3",
					c.Fingerprint, nullTime(c.StartsAt), c.ID); err != nil {
					return fmt.Errorf("free alert key of %s: %w", c.ID, err)
				}
			}
			if err := upsertCase(ctx, tx, c); err != nil {
				return err
			}
			var emb any
			if len(c.Embedding) > 0 {
				emb = pgvector.NewVector(c.Embedding)
			}
			if _, err := tx.Exec(ctx, "UPDATE alert_cases SET embedding = $2 WHERE id = $1", c.ID, emb); err != nil {
				return fmt.Errorf("store embedding of %s: %w", c.ID, err)
			}
			if _, err := tx.Exec(ctx, "DELETE FROM feedback_votes WHERE case_id = $1", c.ID); err != nil {
				return fmt.Errorf("replace votes of %s: %w", c.ID, err)
			}
			for _, v := range recs[i].Votes {
				if _, err := tx.Exec(ctx, "INSERT INTO feedback_votes (case_id, user_id, correct, source, at) VALUES ($1, $2, $3, $4, $5)",
					c.ID, v.User, v.Correct, string(v.Source), v.At); err != nil {
					return fmt.Errorf("write vote on %s: %w", c.ID, err)
				}
			}
		}
		return nil
	})
}

// Reembed re-embeds every validated case with embed (texts from
// EmbeddingText, in batches), retypes the embedding column to dims and
// rebuilds the HNSW index, all in one transaction under the migration lock.
// Run it on a store opened with AllowDimensionChange.
func (s *Postgres) Reembed(ctx context.Context, embed func(ctx context.Context, texts []string) ([][]float32, error), dims int) error {
	if dims <= 0 {
		return fmt.Errorf("reembed: dimensions must be positive (got %d)", dims)
	}
	rows, err := s.pool.Query(ctx, "SELECT "+caseCols+" FROM alert_cases WHERE validated ORDER BY created_at, id")
	if err != nil {
		return fmt.Errorf("reembed: %w", err)
	}
	var validated []*Case
	for rows.Next() {
		c, err := scanCase(rows, false)
		if err != nil {
			rows.Close()
			return fmt.Errorf("reembed: %w", err)
		}
		validated = append(validated, c)
	}
	rows.Close()
	if err := rows.Err(); err != nil {
		return fmt.Errorf("reembed: %w", err)
	}
	vecs, err := embedAll(ctx, embed, validated, dims)
	if err != nil {
		return fmt.Errorf("reembed: %w", err)
	}
	err = pgx.BeginFunc(ctx, s.pool, func(tx pgx.Tx) error {
		if _, err := tx.Exec(ctx, "SELECT pg_advisory_xact_lock($1)", migrationLock); err != nil {
			return fmt.Errorf("take migration lock: %w", err)
		}
		if _, err := tx.Exec(ctx, "DROP INDEX IF EXISTS alert_cases_embedding"); err != nil {
			return err
		}
		if _, err := tx.Exec(ctx, "UPDATE alert_cases SET embedding = NULL WHERE embedding IS NOT NULL"); err != nil {
			return fmt.Errorf("clear embeddings: %w", err)
		}
		if _, err := tx.Exec(ctx, fmt.Sprintf("ALTER TABLE alert_cases ALTER COLUMN embedding TYPE vector(%d)", dims)); err != nil {
			return fmt.Errorf("retype embedding: %w", err)
		}
		for i, c := range validated {
			if _, err := tx.Exec(ctx, "UPDATE alert_cases SET embedding = $2 WHERE id = $1", c.ID, pgvector.NewVector(vecs[i])); err != nil {
				return fmt.Errorf("store embedding of %s: %w", c.ID, err)
			}
		}
		return setDimensions(ctx, tx, dims)
	})
	if err != nil {
		return fmt.Errorf("reembed: %w", err)
	}
	s.dims.Store(int64(dims))
	s.log.Info().Int("cases", len(validated)).Int("dimensions", dims).Msg("knowledge base re-embedded")
	return nil
}
