package stormbench

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/rs/zerolog"
	"k8s.io/client-go/rest"

	"github.com/k8flex/k8flex/dispatch"
	"github.com/k8flex/k8flex/fold"
	"github.com/k8flex/k8flex/handlers"
	"github.com/k8flex/k8flex/investigate"
	"github.com/k8flex/k8flex/k8s"
	"github.com/k8flex/k8flex/kb"
	"github.com/k8flex/k8flex/llm"
)

// countingTransport counts the HTTP requests that reach the API server:
// the server-side truth the investigations' own counts are checked against.
type countingTransport struct {
	rt http.RoundTripper
	n  *atomic.Int64
}

func (c countingTransport) RoundTrip(r *http.Request) (*http.Response, error) {
	c.n.Add(1)
	return c.rt.RoundTrip(r)
}

// investigationClient returns a client as `k8flex serve` configures it
// (its limiter at qps and burst; kube.qps 100, kube.burst 200 by
// default) that counts its requests.
func investigationClient(tb testing.TB, base *rest.Config, qps float32, burst int) (*k8s.Cluster, *atomic.Int64) {
	tb.Helper()
	rc := rest.CopyConfig(base)
	rc.QPS, rc.Burst = qps, burst
	n := &atomic.Int64{}
	rc.Wrap(func(rt http.RoundTripper) http.RoundTripper { return countingTransport{rt: rt, n: n} })
	c, err := k8s.NewCluster(rc)
	if err != nil {
		tb.Fatal(err)
	}
	return c, n
}

// stack is the serving path of `k8flex serve`, in process.
type stack struct {
	url      string
	store    *kb.Embedded
	dbPath   string
	fold     *fold.Queue
	gatherer *k8s.Gatherer

	mu         sync.Mutex
	results    []*investigate.Result
	firstChunk time.Time
}

type stackConfig struct {
	client   *k8s.Cluster
	analyzer investigate.Analyzer
	cat      investigate.Categorizer
	workers  int
}

func newStack(tb testing.TB, cfg stackConfig) *stack {
	tb.Helper()
	log := zerolog.Nop()
	emb, err := llm.NewEmbedder(llm.DefaultEmbedderConfig())
	if err != nil {
		tb.Fatal(err)
	}
	dbPath := filepath.Join(tb.TempDir(), "kb.db")
	st, err := kb.OpenEmbedded(dbPath, kb.EmbeddedConfig{Dimensions: emb.Dimensions()}, log)
	if err != nil {
		tb.Fatal(err)
	}
	tb.Cleanup(func() { _ = st.Close() })
	s := &stack{store: st, dbPath: dbPath, gatherer: k8s.NewGatherer(cfg.client, k8s.Options{Log: log})}
	eng, err := investigate.New(investigate.Options{Gatherer: s.gatherer, Analyzer: cfg.analyzer, Categorizer: cfg.cat,
		Embedder: emb, Store: st, Log: log})
	if err != nil {
		tb.Fatal(err)
	}
	s.fold, err = fold.NewQueue(st, fold.Config{}, nil, log)
	if err != nil {
		tb.Fatal(err)
	}
	metrics := handlers.NewMetrics(nil)
	reporter := func(context.Context, investigate.Claimed) investigate.Reporter { return (*firstChunk)(s) }
	pool := dispatch.New(dispatch.Config{Workers: cfg.workers, Poll: 100 * time.Millisecond}, s.fold, eng, reporter,
		func(r *investigate.Result) {
			metrics.ObserveInvestigation(r)
			s.mu.Lock()
			s.results = append(s.results, r)
			s.mu.Unlock()
		}, log)
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() { defer close(done); pool.Run(ctx) }()
	tb.Cleanup(func() {
		cancel()
		<-done
		_ = s.fold.ReleaseKept(context.Background())
	})
	srv := httptest.NewServer(handlers.Mux(handlers.NewWebhook(handlers.WebhookConfig{Token: "storm"}, pool, metrics, log),
		handlers.NewHealth(), metrics))
	tb.Cleanup(srv.Close)
	s.url = srv.URL
	return s
}

// firstChunk is the reporter: it notes when the first analysis text of
// the storm was posted.
type firstChunk stack

func (f *firstChunk) Started(context.Context, *investigate.Investigation) error { return nil }
func (f *firstChunk) Chunk(context.Context, string) {
	f.mu.Lock()
	if f.firstChunk.IsZero() {
		f.firstChunk = time.Now()
	}
	f.mu.Unlock()
}
func (f *firstChunk) Finished(context.Context, *investigate.Result) error { return nil }

// post sends the payloads with conc concurrent clients, as fast as the
// webhook answers; every answer must be 200.
func post(tb testing.TB, url string, payloads [][]byte, conc int) {
	tb.Helper()
	var next atomic.Int64
	var wg sync.WaitGroup
	errs := make(chan error, conc)
	client := &http.Client{Timeout: 30 * time.Second}
	for range conc {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for {
				i := int(next.Add(1)) - 1
				if i >= len(payloads) {
					return
				}
				req, _ := http.NewRequest(http.MethodPost, url+"/webhook", bytes.NewReader(payloads[i]))
				req.Header.Set("Authorization", "Bearer storm")
				resp, err := client.Do(req)
				if err != nil {
					errs <- err
					return
				}
				_ = resp.Body.Close()
				if resp.StatusCode != http.StatusOK {
					errs <- fmt.Errorf("payload %d: HTTP %d", i, resp.StatusCode)
					return
				}
			}
		}()
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		tb.Fatal(err)
	}
}

// waitDrained waits until every case left the queue (analysed or folded).
func (s *stack) waitDrained(tb testing.TB, limit time.Duration) {
	tb.Helper()
	deadline := time.Now().Add(limit)
	for {
		n, err := s.store.QueueDepth(context.Background())
		if err != nil {
			tb.Fatal(err)
		}
		if n == 0 {
			return
		}
		if time.Now().After(deadline) {
			tb.Fatalf("%d cases still queued or running after %s", n, limit)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// concluded counts the cases recorded with an analysis, by analyzer.
func (s *stack) concluded(tb testing.TB) (total int, byAnalyzer map[string]int) {
	tb.Helper()
	byAnalyzer = map[string]int{}
	for off := 0; ; off += 500 { // ListCases pages by at most 500
		cases, err := s.store.ListCases(context.Background(), kb.Filter{Status: kb.StatusDone, Limit: 500, Offset: off})
		if err != nil {
			tb.Fatal(err)
		}
		for _, c := range cases {
			total++
			byAnalyzer[c.Analyzer]++
		}
		if len(cases) < 500 {
			return total, byAnalyzer
		}
	}
}

// alertPayloads groups alerts into webhook bodies of per alerts each, as
// Alertmanager groups by alertname and namespace.
func alertPayloads(tb testing.TB, alerts []investigate.Alert, per int) [][]byte {
	tb.Helper()
	var out [][]byte
	for i := 0; i < len(alerts); i += per {
		group := alerts[i:min(i+per, len(alerts))]
		msg := investigate.WebhookMessage{Version: "4", Receiver: "k8flex", Status: investigate.StatusFiring,
			GroupKey: `{}:{alertname="KubePodCrashLooping"}`, Alerts: group,
			GroupLabels:  map[string]string{"alertname": "KubePodCrashLooping", "namespace": group[0].Labels["namespace"]},
			CommonLabels: map[string]string{"alertname": "KubePodCrashLooping"}}
		b, err := json.Marshal(msg)
		if err != nil {
			tb.Fatal(err)
		}
		out = append(out, b)
	}
	return out
}

func crashAlert(ns, pod, container string, startsAt time.Time) investigate.Alert {
	return investigate.Alert{Status: investigate.StatusFiring, StartsAt: startsAt,
		Labels: map[string]string{"alertname": "KubePodCrashLooping", "namespace": ns, "pod": pod, "container": container,
			"severity": "warning", "job": "kube-state-metrics", "service": "kube-state-metrics", "reason": "CrashLoopBackOff"},
		Annotations: map[string]string{"summary": "Pod is crash looping.",
			"description": fmt.Sprintf("Pod %s/%s (%s) is in waiting state (reason: \"CrashLoopBackOff\").", ns, pod, container)}}
}
