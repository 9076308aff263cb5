package loadtest

import (
	"bytes"
	"context"
	"fmt"
	"net/http"
	"net/http/httptest"
	"sync/atomic"
	"testing"

	"github.com/rs/zerolog"

	"github.com/k8flex/k8flex/handlers"
)

// BenchmarkWebhookHandler measures the webhook handler alone (token check,
// body read, parse, validation, categorisation, answer) against an
// in-memory queue, without the network or a store: the ceiling the intake
// of `k8flex serve` can reach. Every iteration posts a distinct payload
// (distinct alerts) while the pool lasts; past it, payloads repeat and the
// queue answers duplicates, which costs it the same map lookup.
//
//	go test -run '^$' -bench BenchmarkWebhookHandler -benchmem ./internal/loadtest/
func BenchmarkWebhookHandler(b *testing.B) {
	for _, k := range []int{1, 10, 100} {
		b.Run(fmt.Sprintf("alerts_per_payload=%d", k), func(b *testing.B) {
			fixed, err := Storm{Alerts: 20_000, MinPerPayload: k, MaxPerPayload: k, Seed: 1, RunID: "bench"}.Payloads()
			if err != nil {
				b.Fatal(err)
			}
			h := handlers.NewWebhook(handlers.WebhookConfig{Token: "bench-token"}, newMemQueue(),
				handlers.NewMetrics(nil), zerolog.Nop())
			var next atomic.Int64
			var failed atomic.Int64
			b.ReportAllocs()
			b.SetBytes(int64(len(fixed[0].Body)))
			b.ResetTimer()
			b.RunParallel(func(pb *testing.PB) {
				for pb.Next() {
					p := fixed[int(next.Add(1))%len(fixed)]
					r := httptest.NewRequestWithContext(context.Background(), http.MethodPost, "/webhook", bytes.NewReader(p.Body))
					r.Header.Set("Authorization", "Bearer bench-token")
					w := httptest.NewRecorder()
					h.ServeHTTP(w, r)
					if w.Code != http.StatusOK {
						failed.Add(1)
					}
				}
			})
			b.StopTimer()
			if n := failed.Load(); n > 0 {
				b.Fatalf("%d requests not answered 200", n)
			}
			b.ReportMetric(float64(b.N*k)/b.Elapsed().Seconds(), "alerts/s")
		})
	}
}
