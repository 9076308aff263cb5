package handlers

import (
	"context"
	"encoding/json"
	"net/http"
	"sync/atomic"
	"time"
)

// ReadyCheck is one readiness check: Fn returns nil when a dependency
// of intake (the store alerts are recorded in) is usable.
type ReadyCheck struct {
	Name string
	Fn   func(ctx context.Context) error
}

// Detail is state /health reports without failing on it: a link the
// process keeps trying on its own (Slack), which must not take it out of
// service. Fn returns a short word ("connected").
type Detail struct {
	Name string
	Fn   func() string
}

// Health serves /health (liveness: the process answers, with its
// details) and /ready (not shutting down and every check passes within a
// second).
type Health struct {
	checks   []ReadyCheck
	details  []Detail
	stopping atomic.Bool
}

// NewHealth returns the health handlers with the given readiness checks.
func NewHealth(checks ...ReadyCheck) *Health { return &Health{checks: checks} }

// ShuttingDown makes /ready fail from now on, so load balancers stop
// sending work before the process stops.
func (h *Health) ShuttingDown() { h.stopping.Store(true) }

// WithDetails adds details to /health's answer; call it before serving.
func (h *Health) WithDetails(d ...Detail) *Health {
	h.details = append(h.details, d...)
	return h
}

// Live answers 200 while the process serves HTTP, with "status": "ok"
// and each detail by name.
func (h *Health) Live(w http.ResponseWriter, _ *http.Request) {
	body := map[string]string{"status": "ok"}
	for _, d := range h.details {
		body[d.Name] = d.Fn()
	}
	writeJSON(w, http.StatusOK, body)
}

// Ready answers 200 when ready, else 503 naming what is not.
func (h *Health) Ready(w http.ResponseWriter, r *http.Request) {
	if h.stopping.Load() {
		writeJSON(w, http.StatusServiceUnavailable, map[string]string{"status": "shutting down"})
		return
	}
	ctx, cancel := context.WithTimeout(r.Context(), time.Second)
	defer cancel()
	failed := map[string]string{}
	for _, c := range h.checks {
		if err := c.Fn(ctx); err != nil {
			failed[c.Name] = err.Error()
		}
	}
	if len(failed) > 0 {
		writeJSON(w, http.StatusServiceUnavailable, map[string]any{"status": "not ready", "failed": failed})
		return
	}
	writeJSON(w, http.StatusOK, map[string]string{"status": "ready"})
}

func writeJSON(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(v)
}

// Mux returns the HTTP routes: POST /webhook (Alertmanager), POST
// /webhook/grafana (Grafana, wh.Grafana()), /health, /ready, /metrics.
func Mux(wh *Webhook, h *Health, m *Metrics) *http.ServeMux {
	mux := http.NewServeMux()
	mux.Handle("/webhook", wh)
	mux.Handle("/webhook/grafana", wh.Grafana())
	mux.HandleFunc("/health", h.Live)
	mux.HandleFunc("/ready", h.Ready)
	if m != nil {
		mux.Handle("/metrics", m.Handler())
	}
	return mux
}
