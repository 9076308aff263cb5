package handlers

import (
	"bytes"
	"errors"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/prometheus/client_golang/prometheus/testutil"
	"github.com/rs/zerolog"

	"github.com/k8flex/k8flex/investigate"
)

// grafanaBody reads a body shaped as Grafana documents its webhook
// contact point (kept with the parser's tests in investigate/testdata).
func grafanaBody(t *testing.T, name string) []byte {
	t.Helper()
	b, err := os.ReadFile(filepath.Join("..", "investigate", "testdata", "grafana", name))
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func postTo(h http.Handler, path string, body []byte, token string) *httptest.ResponseRecorder {
	r := httptest.NewRequest(http.MethodPost, path, bytes.NewReader(body))
	if token != "" {
		r.Header.Set("Authorization", "Bearer "+token)
	}
	w := httptest.NewRecorder()
	h.ServeHTTP(w, r)
	return w
}

// TestGrafanaWebhook drives POST /webhook/grafana through the routes serve
// uses: Grafana's alerts are recorded as Grafana's, with the same token,
// deduplication, resolution, size limit and answers as Alertmanager's.
func TestGrafanaWebhook(t *testing.T) {
	q := &recordQueue{}
	m := NewMetrics(nil)
	mux := Mux(NewWebhook(WebhookConfig{Token: "s3cret", MaxBodyBytes: 64 << 10}, q, m, zerolog.Nop()), NewHealth(), m)

	w := postTo(mux, "/webhook/grafana", grafanaBody(t, "firing.json"), "s3cret")
	if w.Code != http.StatusOK {
		t.Fatalf("firing: status %d: %s", w.Code, w.Body)
	}
	if rep := decodeReply(t, w); rep.Accepted != 2 || len(rep.Cases) != 2 || len(rep.Warnings) != 0 {
		t.Fatalf("firing: %+v, want 2 accepted", rep)
	}
	if len(q.reqs) != 2 {
		t.Fatalf("queued %d, want 2", len(q.reqs))
	}
	r := q.reqs[0]
	if r.Source != investigate.SourceGrafana || r.RequestedBy != "grafana/k8flex" || r.Alert.PanelURL == "" || r.Alert.Values["A"] != 4 {
		t.Errorf("queued request: source %q by %q alert %+v", r.Source, r.RequestedBy, r.Alert)
	}

	// Grafana repeats a notification (group_interval, HA peers): no second case.
	if rep := decodeReply(t, postTo(mux, "/webhook/grafana", grafanaBody(t, "firing.json"), "s3cret")); rep.Duplicates != 2 || rep.Accepted != 0 {
		t.Errorf("repeat: %+v, want 2 duplicates", rep)
	}
	if rep := decodeReply(t, postTo(mux, "/webhook/grafana", grafanaBody(t, "resolved.json"), "s3cret")); rep.Resolved != 1 || rep.Cases[0] != "case-1" {
		t.Errorf("resolved: %+v, want case-1 resolved", rep)
	}
	if len(q.reqs) != 2 {
		t.Errorf("queued %d after repeat and resolve, want still 2", len(q.reqs))
	}

	for _, tt := range []struct {
		name   string
		path   string
		body   []byte
		token  string
		status int
		want   string
	}{
		{"wrong token", "/webhook/grafana", grafanaBody(t, "firing.json"), "nope", http.StatusUnauthorized, "bearer token"},
		{"no token", "/webhook/grafana", grafanaBody(t, "firing.json"), "", http.StatusUnauthorized, "bearer token"},
		{"too large", "/webhook/grafana", bytes.Repeat([]byte(" "), 65<<10), "s3cret", http.StatusRequestEntityTooLarge, "larger than"},
		{"legacy alerting", "/webhook/grafana", grafanaBody(t, "legacy.json"), "s3cret", http.StatusBadRequest, "legacy Grafana alerting"},
		{"alertmanager body", "/webhook/grafana", payload(t, "001-firing.json"), "s3cret", http.StatusBadRequest, "post it to /webhook"},
		{"grafana body on /webhook", "/webhook", grafanaBody(t, "firing.json"), "s3cret", http.StatusBadRequest, "/webhook/grafana"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			w := postTo(mux, tt.path, tt.body, tt.token)
			if w.Code != tt.status {
				t.Fatalf("status %d, want %d: %s", w.Code, tt.status, w.Body)
			}
			if rep := decodeReply(t, w); !strings.Contains(rep.Error, tt.want) || strings.Contains(rep.Error, "s3cret") {
				t.Errorf("error %q, want it to mention %q", rep.Error, tt.want)
			}
		})
	}
	if len(q.reqs) != 2 {
		t.Errorf("refused bodies queued something: %d requests", len(q.reqs))
	}
	if got := testutil.ToFloat64(m.alerts.WithLabelValues("unauthorized")); got != 2 {
		t.Errorf("unauthorized count = %v, want 2", got)
	}
}

// TestGrafanaWebhookUnavailable: nothing recorded means 503 with
// Retry-After, as for Alertmanager.
func TestGrafanaWebhookUnavailable(t *testing.T) {
	h := NewWebhook(WebhookConfig{}, &recordQueue{err: errors.New("store down")}, nil, zerolog.Nop()).Grafana()
	w := postTo(h, "/webhook/grafana", grafanaBody(t, "firing.json"), "")
	if w.Code != http.StatusServiceUnavailable || w.Header().Get("Retry-After") == "" {
		t.Fatalf("status %d Retry-After %q, want 503 with Retry-After", w.Code, w.Header().Get("Retry-After"))
	}
}
