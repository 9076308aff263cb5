package metrics_test

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"net/http/httputil"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	v1 "github.com/prometheus/client_golang/api/prometheus/v1"

	"github.com/k8flex/k8flex/internal/prometheustest"
	"github.com/k8flex/k8flex/investigate"
	"github.com/k8flex/k8flex/metrics"
)

// throttlingDir is a recorded CPU-throttling incident whose cluster has no
// metrics.k8s.io, only Prometheus series.
var throttlingDir = filepath.Join("..", "scenario", "testdata", "cpu-throttling-prometheus")

func throttlingIncident(t testing.TB) ([]byte, investigate.MetricsQuery) {
	t.Helper()
	om, err := os.ReadFile(filepath.Join(throttlingDir, "metrics.om"))
	if err != nil {
		t.Fatal(err)
	}
	body, err := os.ReadFile(filepath.Join(throttlingDir, "alert.json"))
	if err != nil {
		t.Fatal(err)
	}
	var msg investigate.WebhookMessage
	if err := json.Unmarshal(body, &msg); err != nil {
		t.Fatal(err)
	}
	a := &msg.Alerts[0]
	return om, investigate.MetricsQuery{Alert: a, Target: investigate.TargetFromAlert(a), Category: investigate.CPUThrottling}
}

func source(t testing.TB, cfg metrics.Config) *metrics.Source {
	t.Helper()
	if err := cfg.Validate(); err != nil {
		t.Fatal(err)
	}
	p, err := metrics.NewPrometheus(cfg)
	if err != nil {
		t.Fatal(err)
	}
	return metrics.NewSource(p, cfg, nil)
}

func config(url string) metrics.Config {
	c := metrics.DefaultConfig()
	c.URL = url
	return c
}

func findRule(fs []investigate.Finding, rule string) *investigate.Finding {
	for i := range fs {
		if fs[i].Rule == rule {
			return &fs[i]
		}
	}
	return nil
}

// TestRealPrometheus runs K8flex's queries against a real Prometheus holding
// the recorded series, and checks the file replay answers them alike.
func TestRealPrometheus(t *testing.T) {
	om, q := throttlingIncident(t)
	prom := prometheustest.Start(t, om)
	ctx := context.Background()

	t.Run("queries and window", func(t *testing.T) {
		src := source(t, config(prom.URL))
		w := src.Window(q)
		if !w.Fired.Equal(q.Alert.StartsAt.UTC()) || w.End.Sub(w.Fired) != 15*time.Minute || w.Fired.Sub(w.Start) < time.Hour || w.Step != 75*time.Second {
			t.Errorf("window %+v", w)
		}
		got, err := src.Metrics(ctx, q)
		if err != nil {
			t.Fatal(err)
		}
		if len(got.Gaps) != 0 || len(got.Sections) != 1 {
			t.Fatalf("gaps %v, %d sections", got.Gaps, len(got.Sections))
		}
		body := got.Sections[0].Body
		for _, want := range []string{"alert expr `sum without", "pod=image-resizer-6d4b8f7c59-8kzvt", "cpu throttled {container=image-resizer", "cpu limit {container=image-resizer,pod=image-resizer-6d4b8f7c59-8kzvt}: 100m"} {
			if !strings.Contains(body, want) {
				t.Errorf("section lacks %q:\n%s", want, body)
			}
		}
		if tok := investigate.EstimateTokens(body); tok > 450 {
			t.Errorf("section is %d tokens, over its share of the 600-token budget", tok)
		}
		f := findRule(got.Findings, "metrics-cpu-throttling")
		if f == nil || f.Category != investigate.CPUThrottling || !strings.Contains(f.Summary, "of its 100m CPU limit") {
			t.Fatalf("no throttling finding from the real series: %+v", got.Findings)
		}

		// The file replay answers the same queries with the same conclusion.
		file, err := metrics.ParseOpenMetrics(om)
		if err != nil {
			t.Fatal(err)
		}
		fromFile, err := metrics.NewSource(file, config(""), nil).Metrics(ctx, q)
		if err != nil {
			t.Fatal(err)
		}
		ff := findRule(fromFile.Findings, "metrics-cpu-throttling")
		if ff == nil {
			t.Fatalf("the file replay found no throttling: %+v", fromFile)
		}
		if share(t, f.Summary) < 75 || abs(share(t, f.Summary)-share(t, ff.Summary)) > 5 {
			t.Errorf("throttled share: Prometheus %q, file %q", f.Summary, ff.Summary)
		}
	})

	t.Run("empty result", func(t *testing.T) {
		q2 := q
		q2.Target.Pod = "image-resizer-gone"
		q2.Alert = &investigate.Alert{StartsAt: q.Alert.StartsAt, Labels: q.Alert.Labels}
		got, err := source(t, config(prom.URL)).Metrics(ctx, q2)
		if err != nil {
			t.Fatal(err)
		}
		if len(got.Findings) != 0 || !strings.Contains(got.Sections[0].Body, "cpu throttled: no series in the window") {
			t.Errorf("findings %v, section:\n%s", got.Findings, got.Sections[0].Body)
		}
	})

	t.Run("window without data", func(t *testing.T) {
		q2 := q
		a := *q.Alert
		a.StartsAt = a.StartsAt.Add(-48 * time.Hour)
		q2.Alert = &a
		got, err := source(t, config(prom.URL)).Metrics(ctx, q2)
		if err != nil {
			t.Fatal(err)
		}
		if len(got.Findings) != 0 || strings.Count(got.Sections[0].Body, "no series in the window") != 4 {
			t.Errorf("findings %v, section:\n%s", got.Findings, got.Sections[0].Body)
		}
	})

	t.Run("query error", func(t *testing.T) {
		p, err := metrics.NewPrometheus(config(prom.URL))
		if err != nil {
			t.Fatal(err)
		}
		_, err = p.QueryRange(ctx, `sum(rate(x[5m])`, v1.Range{Start: q.Alert.StartsAt.Add(-time.Hour), End: q.Alert.StartsAt, Step: time.Minute})
		if err == nil || !strings.Contains(err.Error(), "bad_data") {
			t.Fatalf("a malformed query: %v", err)
		}
		// Through the source, the failed query is a gap; the others answer.
		a := *q.Alert
		a.GeneratorURL = "http://prometheus:9090/graph?g0.expr=" + url.QueryEscape("sum(rate(x[5m])")
		q2 := q
		q2.Alert = &a
		got, err := source(t, config(prom.URL)).Metrics(ctx, q2)
		if err != nil {
			t.Fatal(err)
		}
		if len(got.Gaps) != 1 || !strings.Contains(got.Gaps[0].Reason, "query alert failed") || findRule(got.Findings, "metrics-cpu-throttling") == nil {
			t.Errorf("gaps %v, findings %v", got.Gaps, got.Findings)
		}
	})

	t.Run("auth", func(t *testing.T) {
		target, _ := url.Parse(prom.URL)
		proxy := httputil.NewSingleHostReverseProxy(target)
		srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			user, pass, basic := r.BasicAuth()
			if r.Header.Get("Authorization") != "Bearer s3cr3t-token" && !(basic && user == "k8flex" && pass == "pa55") {
				http.Error(w, "unauthorized", http.StatusUnauthorized)
				return
			}
			proxy.ServeHTTP(w, r)
		}))
		defer srv.Close()
		tokenFile := filepath.Join(t.TempDir(), "token")
		if err := os.WriteFile(tokenFile, []byte("s3cr3t-token\n"), 0o600); err != nil {
			t.Fatal(err)
		}
		for _, tt := range []struct {
			name string
			set  func(*metrics.Config)
			ok   bool
		}{
			{"bearer token", func(c *metrics.Config) { c.BearerToken = "s3cr3t-token" }, true},
			{"bearer token file", func(c *metrics.Config) { c.BearerTokenFile = tokenFile }, true},
			{"basic auth", func(c *metrics.Config) { c.Username, c.Password = "k8flex", "pa55" }, true},
			{"wrong token", func(c *metrics.Config) { c.BearerToken = "nope" }, false},
			{"no credentials", func(*metrics.Config) {}, false},
		} {
			t.Run(tt.name, func(t *testing.T) {
				cfg := config(srv.URL)
				tt.set(&cfg)
				got, err := source(t, cfg).Metrics(ctx, q)
				if tt.ok && (err != nil || findRule(got.Findings, "metrics-cpu-throttling") == nil) {
					t.Fatalf("authenticated: %v %+v", err, got)
				}
				if !tt.ok && (err == nil || !strings.Contains(err.Error(), "401")) {
					t.Fatalf("refused credentials: err %v", err)
				}
			})
		}
	})

	t.Run("timeout", func(t *testing.T) {
		target, _ := url.Parse(prom.URL)
		proxy := httputil.NewSingleHostReverseProxy(target)
		srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			select {
			case <-time.After(500 * time.Millisecond):
			case <-r.Context().Done():
				return
			}
			proxy.ServeHTTP(w, r)
		}))
		defer srv.Close()
		cfg := config(srv.URL)
		cfg.Timeout = 100 * time.Millisecond
		t0 := time.Now()
		_, err := source(t, cfg).Metrics(ctx, q)
		if err == nil || !strings.Contains(err.Error(), "prometheus.timeout 100ms exceeded") {
			t.Fatalf("a slow Prometheus: %v", err)
		}
		if d := time.Since(t0); d > time.Second {
			t.Errorf("the budget of 100ms held for %v", d)
		}
	})

	t.Run("unreachable", func(t *testing.T) {
		l := httptest.NewServer(http.NotFoundHandler())
		addr := l.URL
		l.Close() // nothing listens there any more
		_, err := source(t, config(addr)).Metrics(ctx, q)
		if err == nil || !strings.Contains(err.Error(), "connection refused") {
			t.Fatalf("an unreachable Prometheus: %v", err)
		}
	})
}

// share extracts the first "NN%" of a finding summary.
func share(t *testing.T, s string) float64 {
	t.Helper()
	i := strings.Index(s, "% of its CFS")
	j := strings.LastIndex(s[:max(i, 0)], " ")
	if i < 0 || j < 0 {
		t.Fatalf("no share in %q", s)
	}
	var v float64
	if _, err := fmt.Sscan(s[j+1:i], &v); err != nil {
		t.Fatalf("share in %q: %v", s, err)
	}
	return v
}

func abs(x float64) float64 {
	if x < 0 {
		return -x
	}
	return x
}
