package kb

import (
	"context"
	"fmt"
	"math/rand/v2"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/pgvector/pgvector-go"
	"github.com/rs/zerolog"

	"github.com/k8flex/k8flex/internal/pgtest"
	"github.com/k8flex/k8flex/investigate"
)

// benchDims is the dimension of the built-in embedder's vectors.
const benchDims = 384

// timed runs fn b.N times and reports the median and 99th percentile
// latency besides Go's mean ns/op.
func timed(b *testing.B, fn func(i int)) {
	b.Helper()
	durs := make([]time.Duration, 0, b.N)
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		start := time.Now()
		fn(i)
		durs = append(durs, time.Since(start))
	}
	b.StopTimer()
	slices.Sort(durs)
	b.ReportMetric(float64(durs[len(durs)/2].Microseconds())/1000, "p50-ms")
	b.ReportMetric(float64(durs[len(durs)*99/100].Microseconds())/1000, "p99-ms")
}

func randomVector(r *rand.Rand, dims int) []float32 {
	v := make([]float32, dims)
	for i := range v {
		v[i] = float32(r.NormFloat64())
	}
	return v
}

// nearby returns v plus a little noise: a query with real matches.
func nearby(r *rand.Rand, v []float32) []float32 {
	out := make([]float32, len(v))
	for i := range v {
		out[i] = v[i] + 0.3*float32(r.NormFloat64())
	}
	return out
}

// validatedRecords builds n validated cases with random embeddings.
func validatedRecords(r *rand.Rand, n int) []Record {
	recs := make([]Record, n)
	at := time.Now().Add(-time.Duration(n) * time.Second).UTC()
	for i := range recs {
		id := fmt.Sprintf("bench-%07d", i)
		ts := at.Add(time.Duration(i) * time.Second)
		recs[i] = Record{
			Case: Case{ID: id, AlertName: fmt.Sprintf("Alert%d", i%50), Category: investigate.Categories()[i%11],
				RootCause: "root cause " + id, Analysis: "## Root cause\nroot cause " + id, Status: StatusDone,
				CreatedAt: ts, UpdatedAt: ts, Embedding: randomVector(r, benchDims)},
			Votes: []Vote{{CaseID: id, User: "U1", Correct: true, Source: SourceReaction, At: ts}},
		}
	}
	return recs
}

func BenchmarkFindSimilar(b *testing.B) {
	for _, n := range []int{10_000, 100_000} {
		r := rand.New(rand.NewPCG(1, uint64(n)))
		recs := validatedRecords(r, n)
		queries := make([][]float32, 256)
		for i := range queries {
			queries[i] = nearby(r, recs[r.IntN(n)].Case.Embedding)
		}
		b.Run(fmt.Sprintf("embedded/%dk", n/1000), func(b *testing.B) {
			s := openBenchEmbedded(b)
			for start := 0; start < n; start += 1000 {
				batch := slices.Clone(recs[start:min(start+1000, n)])
				for i := range batch {
					if err := normalizeRecord(&batch[i], benchDims); err != nil {
						b.Fatal(err)
					}
				}
				if err := s.importRecords(context.Background(), batch); err != nil {
					b.Fatal(err)
				}
			}
			benchFind(b, s, queries)
		})
		b.Run(fmt.Sprintf("postgres/%dk", n/1000), func(b *testing.B) {
			s := openBenchPostgres(b)
			copyValidated(b, s, recs)
			benchFind(b, s, queries)
		})
	}
}

func benchFind(b *testing.B, s investigate.CaseStore, queries [][]float32) {
	ctx := context.Background()
	found := 0
	timed(b, func(i int) {
		got, err := s.FindSimilar(ctx, queries[i%len(queries)], 0.75, 5)
		if err != nil {
			b.Fatal(err)
		}
		found += len(got)
	})
	if found == 0 {
		b.Fatal("no query found its near neighbour")
	}
}

func openBenchEmbedded(b *testing.B) *Embedded {
	b.Helper()
	s, err := OpenEmbedded(filepath.Join(b.TempDir(), "kb.db"), EmbeddedConfig{Dimensions: benchDims}, zerolog.Nop())
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { _ = s.Close() })
	return s
}

func openBenchPostgres(b *testing.B) *Postgres {
	b.Helper()
	s, err := openTestPostgres(b, pgtest.Database(b, "t"), benchDims, false)
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { _ = s.Close() })
	return s
}

// copyValidated bulk-loads validated cases with CopyFrom, then builds the
// HNSW index once (as a restore would).
func copyValidated(b *testing.B, s *Postgres, recs []Record) {
	b.Helper()
	ctx := context.Background()
	if _, err := s.pool.Exec(ctx, "DROP INDEX alert_cases_embedding"); err != nil {
		b.Fatal(err)
	}
	rows := make([][]any, len(recs))
	for i, r := range recs {
		c := r.Case
		rows[i] = []any{c.ID, c.AlertName, string(c.Category), c.RootCause, c.Analysis, string(StatusDone), c.CreatedAt, c.UpdatedAt,
			string(VerdictCorrect), true, 1, c.CreatedAt, pgvector.NewVector(c.Embedding)}
	}
	cols := []string{"id", "alert_name", "category", "root_cause", "analysis", "status", "created_at", "updated_at",
		"verdict", "validated", "correct_votes", "validated_at", "embedding"}
	if _, err := s.pool.CopyFrom(ctx, pgx.Identifier{"alert_cases"}, cols, pgx.CopyFromRows(rows)); err != nil {
		b.Fatal(err)
	}
	if _, err := s.pool.Exec(ctx, "CREATE INDEX alert_cases_embedding ON alert_cases USING hnsw (embedding vector_cosine_ops)"); err != nil {
		b.Fatal(err)
	}
	if _, err := s.pool.Exec(ctx, "ANALYZE alert_cases"); err != nil {
		b.Fatal(err)
	}
}

// benchResult is a realistic investigation: 12 evidence sections, ~24 KB.
func benchResult(id string) *investigate.Result {
	req := alertReq("KubePodCrashLooping", id, time.Now(), nil)
	res := resultFor(id, req, investigate.PodCrash, "ConfigMap shop/app-settings mounted by web-0 does not exist")
	res.Evidence.Sections = nil
	for i := range 12 {
		res.Evidence.Sections = append(res.Evidence.Sections, investigate.Section{Name: fmt.Sprintf("s%d", i), Title: "Section",
			Body: strings.Repeat("2026-01-04T10:00:00Z level=error msg=\"connection refused\" pod=web-0\n", 28)})
	}
	res.Analysis.Text += "\n" + strings.Repeat("The pod web-0 fails because its ConfigMap is missing. ", 40)
	return res
}

func BenchmarkRecordInvestigation(b *testing.B) {
	b.Run("embedded", func(b *testing.B) {
		s := openBenchEmbedded(b)
		benchRecord(b, s)
	})
	b.Run("postgres", func(b *testing.B) {
		benchRecord(b, openBenchPostgres(b))
	})
}

func benchRecord(b *testing.B, s interface {
	RecordInvestigation(ctx context.Context, r *investigate.Result) error
}) {
	ctx := context.Background()
	results := make([]*investigate.Result, b.N)
	for i := range results {
		results[i] = benchResult(fmt.Sprintf("rec-%d", i))
	}
	timed(b, func(i int) {
		if err := s.RecordInvestigation(ctx, results[i]); err != nil {
			b.Fatal(err)
		}
	})
}

// BenchmarkEnqueue measures accepted alerts per second for payloads of 10
// alerts (one webhook request each) from 8 goroutines per CPU, as
// concurrent webhook requests arrive.
func BenchmarkEnqueue(b *testing.B) {
	type enqueuer interface {
		Enqueue(ctx context.Context, reqs []investigate.Request) ([]investigate.Enqueued, error)
	}
	run := func(b *testing.B, s enqueuer) {
		const per = 10
		starts := time.Now().Truncate(time.Millisecond)
		b.ReportAllocs()
		b.SetParallelism(8)
		b.ResetTimer()
		b.RunParallel(func(pb *testing.PB) {
			r := rand.New(rand.NewPCG(rand.Uint64(), 0))
			for pb.Next() {
				reqs := make([]investigate.Request, per)
				for i := range reqs {
					reqs[i] = alertReq("Storm", fmt.Sprintf("%016x", r.Uint64()), starts, nil)
				}
				if _, err := s.Enqueue(context.Background(), reqs); err != nil {
					b.Fatal(err)
				}
			}
		})
		b.ReportMetric(float64(b.N*per)/b.Elapsed().Seconds(), "alerts/s")
	}
	b.Run("embedded", func(b *testing.B) { run(b, openBenchEmbedded(b)) })
	b.Run("postgres", func(b *testing.B) { run(b, openBenchPostgres(b)) })
}
