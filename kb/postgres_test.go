package kb

import (
	"context"
	"encoding/hex"
	"net/url"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/rs/zerolog"

	"github.com/k8flex/k8flex/internal/pgtest"
	"github.com/k8flex/k8flex/investigate"
)

func openTestPostgres(t testing.TB, dbURL string, dims int, allow bool) (*Postgres, error) {
	return OpenPostgres(context.Background(), PostgresConfig{URL: dbURL, Dimensions: dims, MaxConns: 8,
		WorkspaceURL: "https://acme.slack.com", AllowDimensionChange: allow}, zerolog.Nop())
}

func postgresHarness() harness {
	return harness{remote: true, open: func(t *testing.T, dims int) (backend, func(int, bool) (backend, error)) {
		dbURL := pgtest.Database(t, "t")
		s, err := openTestPostgres(t, dbURL, dims, false)
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { _ = s.Close() })
		return s, func(dims int, allow bool) (backend, error) {
			s, err := openTestPostgres(t, dbURL, dims, allow)
			if err != nil {
				return nil, err
			}
			return s, nil
		}
	}}
}

// maybePostgres returns the PostgreSQL harness when a test server is
// configured, for cross-backend tests run from the embedded suite.
func maybePostgres(t *testing.T) *harness {
	if os.Getenv("K8FLEX_TEST_DATABASE_URL") == "" {
		return nil
	}
	h := postgresHarness()
	return &h
}

func TestPostgresConformance(t *testing.T) {
	pgtest.URL(t)
	runConformance(t, postgresHarness())
}

func TestPostgresDown(t *testing.T) {
	for _, tt := range []struct {
		name string
		url  string
	}{
		{"nothing listening", "postgres://postgres:s3cret-pw@127.0.0.1:1/k8flex?sslmode=disable&connect_timeout=2"},
		{"unknown database", ""},
	} {
		t.Run(tt.name, func(t *testing.T) {
			u := tt.url
			if u == "" {
				base, err := url.Parse(pgtest.URL(t))
				if err != nil {
					t.Fatal(err)
				}
				base.Path = "/no_such_database_k8flex"
				u = base.String()
			}
			_, err := OpenPostgres(context.Background(), PostgresConfig{URL: u, Dimensions: 4}, zerolog.Nop())
			if err == nil || !strings.Contains(err.Error(), "connect to postgres") {
				t.Fatalf("open = %v, want a connect error", err)
			}
			if strings.Contains(err.Error(), "s3cret-pw") {
				t.Fatalf("error leaks the password: %v", err)
			}
		})
	}
}

// TestPostgresLostMidRun terminates the store's connections server-side:
// operations must fail loudly (never drop a vote silently) and work again
// once connections can be re-established.
func TestPostgresLostMidRun(t *testing.T) {
	dbURL := pgtest.Database(t, "t")
	s, err := openTestPostgres(t, dbURL, testDims, false)
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	ctx := context.Background()
	id := recordCase(t, s, "Lost", "lost-1", investigate.PodCrash, "rc")
	name := strings.TrimPrefix(mustParse(t, dbURL).Path, "/")
	admin, err := pgx.Connect(ctx, pgtest.URL(t))
	if err != nil {
		t.Fatal(err)
	}
	defer admin.Close(ctx)
	// Forbid new connections, then kill the existing ones.
	if _, err := admin.Exec(ctx, "ALTER DATABASE "+name+" WITH ALLOW_CONNECTIONS false"); err != nil {
		t.Fatal(err)
	}
	if _, err := admin.Exec(ctx, "SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = $1", name); err != nil {
		t.Fatal(err)
	}
	vctx, cancel := context.WithTimeout(ctx, 5*time.Second)
	defer cancel()
	if _, err := s.RecordFeedback(vctx, Vote{CaseID: id, User: "U1", Correct: true}, vec(0, 0)); err == nil {
		t.Fatal("vote reported success while the database was unreachable")
	}
	if _, err := admin.Exec(ctx, "ALTER DATABASE "+name+" WITH ALLOW_CONNECTIONS true"); err != nil {
		t.Fatal(err)
	}
	v, err := s.RecordFeedback(ctx, Vote{CaseID: id, User: "U1", Correct: true}, vec(0, 0))
	if err != nil || !v.Validated {
		t.Fatalf("vote after the database came back = %+v, %v", v, err)
	}
}

func mustParse(t *testing.T, s string) *url.URL {
	t.Helper()
	u, err := url.Parse(s)
	if err != nil {
		t.Fatal(err)
	}
	return u
}

// TestPostgresReplicasShareQueue runs two stores (two replicas) on one
// database: every case is claimed exactly once across both.
func TestPostgresReplicasShareQueue(t *testing.T) {
	dbURL := pgtest.Database(t, "t")
	ctx := context.Background()
	var stores [2]*Postgres
	for i := range stores {
		s, err := openTestPostgres(t, dbURL, testDims, false)
		if err != nil {
			t.Fatal(err)
		}
		defer s.Close()
		stores[i] = s
	}
	const total = 200
	reqs := make([]investigate.Request, total)
	for i := range reqs {
		reqs[i] = alertReq("Storm", "rep-"+strings.Repeat("x", i%3)+string(rune('a'+i%26))+hex.EncodeToString([]byte{byte(i)}), time.Now().Truncate(time.Millisecond), nil)
	}
	// Both replicas receive the same payload (two Alertmanagers): one case each.
	r0, err := stores[0].Enqueue(ctx, reqs)
	if err != nil {
		t.Fatal(err)
	}
	r1, err := stores[1].Enqueue(ctx, reqs)
	if err != nil {
		t.Fatal(err)
	}
	for i := range r1 {
		if !r1[i].Duplicate || r1[i].ID != r0[i].ID {
			t.Fatalf("replica 2 re-enqueue %d = %+v", i, r1[i])
		}
	}
	seen := make(chan string, total*2)
	errs := make(chan error, 8)
	done := make(chan struct{})
	for w := range 8 {
		go func() {
			defer func() { done <- struct{}{} }()
			s := stores[w%2]
			for {
				cs, err := s.Claim(ctx, "w", time.Minute, 4)
				if err != nil {
					errs <- err
					return
				}
				if len(cs) == 0 {
					return
				}
				for _, c := range cs {
					seen <- c.ID
					if err := s.Complete(ctx, c.ID, nil); err != nil {
						errs <- err
						return
					}
				}
			}
		}()
	}
	for range 8 {
		<-done
	}
	close(seen)
	close(errs)
	for err := range errs {
		t.Fatal(err)
	}
	count := map[string]int{}
	for id := range seen {
		count[id]++
	}
	if len(count) != total {
		t.Fatalf("%d distinct cases claimed, want %d", len(count), total)
	}
	for id, n := range count {
		if n != 1 {
			t.Fatalf("case %s claimed %d times", id, n)
		}
	}
}

func TestPostgresConfigValidate(t *testing.T) {
	for _, tt := range []struct {
		name string
		cfg  PostgresConfig
		want string
	}{
		{"ok", PostgresConfig{URL: "postgres://x", Dimensions: 384}, ""},
		{"no url", PostgresConfig{Dimensions: 384}, "kb.database_url"},
		{"no dimensions", PostgresConfig{URL: "postgres://x"}, "kb.dimensions"},
		{"negative conns", PostgresConfig{URL: "postgres://x", Dimensions: 1, MaxConns: -1}, "kb.max_conns"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			err := tt.cfg.Validate()
			if (err == nil) != (tt.want == "") || (err != nil && !strings.Contains(err.Error(), tt.want)) {
				t.Fatalf("Validate() = %v, want error naming %q", err, tt.want)
			}
		})
	}
}
