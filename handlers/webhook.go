package handlers

import (
	"crypto/subtle"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"strings"

	"github.com/rs/zerolog"

	"github.com/k8flex/k8flex/investigate"
	"github.com/k8flex/k8flex/redact"
)

// WebhookConfig configures the webhook.
type WebhookConfig struct {
	// Token is the bearer token Alertmanager must send; empty = no check
	// (only allowed with Insecure, or when listening on loopback).
	Token string
	// MaxBodyBytes bounds a request body (default 32 MiB, some 30,000
	// alerts); larger → 413.
	MaxBodyBytes int64
	// Known, when set, is told about each alert whose case already has a
	// Slack thread: a repeated notification of a firing alert (Duplicate)
	// or its resolution (Resolved), to be shown on that thread. It is
	// called after the alerts were recorded and must not block for long.
	Known func(e investigate.Enqueued, a *investigate.Alert)
}

// Webhook is the alert webhook handler: Alertmanager's payload, or, for
// the handler Grafana returns, Grafana's webhook contact point.
type Webhook struct {
	cfg     WebhookConfig
	queue   investigate.Enqueuer
	metrics *Metrics
	log     zerolog.Logger
	// parse decodes a body; source and sender name where it came from.
	parse  func([]byte) (*investigate.WebhookMessage, error)
	source investigate.Source
}

// NewWebhook returns the POST /webhook handler; it records alerts in q
// (deduplicated and resolved there, see investigate.Enqueuer).
func NewWebhook(cfg WebhookConfig, q investigate.Enqueuer, m *Metrics, log zerolog.Logger) *Webhook {
	if cfg.MaxBodyBytes <= 0 {
		cfg.MaxBodyBytes = DefaultMaxBodyBytes
	}
	return &Webhook{cfg: cfg, queue: q, metrics: m, log: log,
		parse: investigate.ParseWebhook, source: investigate.SourceAlertmanager}
}

// Grafana returns the POST /webhook/grafana handler: the same token, body
// limit, queue (so the same deduplication and durability) and answers as
// h, for the body of Grafana's webhook contact point (unified alerting,
// investigate.ParseGrafanaWebhook).
func (h *Webhook) Grafana() *Webhook {
	g := *h
	g.parse, g.source = investigate.ParseGrafanaWebhook, investigate.SourceGrafana
	g.log = h.log.With().Str("sender", string(investigate.SourceGrafana)).Logger()
	return &g
}

// DefaultMaxBodyBytes bounds a webhook body when the configuration does
// not: room for a group of some 30,000 alerts, so that Alertmanager's
// max_alerts: 0 (no limit) loses none.
const DefaultMaxBodyBytes = 32 << 20

// webhookReply is the JSON body of every webhook answer.
// Every field is always present (zero, "" or []), whatever the outcome, so
// that clients can rely on one schema.
type webhookReply struct {
	Status     string `json:"status"`
	Error      string `json:"error"`
	Accepted   int    `json:"accepted"`
	Duplicates int    `json:"duplicates"`
	Resolved   int    `json:"resolved"`
	// Truncated counts labels and annotations cut to the size limits.
	Truncated int      `json:"truncated"`
	Cases     []string `json:"cases"`
	// Warnings name alerts accepted without the labels their category needs.
	Warnings []string `json:"warnings"`
}

// ServeHTTP accepts an Alertmanager v4 payload (Grafana's, for the handler
// Grafana returns): 401 for a wrong token, 405
// for a method other than POST, 413 for an oversized body, 400 for a
// malformed payload (with the reason), 503 when the queue cannot record it
// (Alertmanager retries), 200 once every alert is recorded.
func (h *Webhook) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if r.Method != http.MethodPost {
		w.Header().Set("Allow", http.MethodPost)
		h.reply(w, http.StatusMethodNotAllowed, webhookReply{Status: "error", Error: "use POST"})
		return
	}
	if !h.authorized(r) {
		h.metrics.alertsReceived("unauthorized", 1)
		h.log.Warn().Str("remote", r.RemoteAddr).Msg("webhook: wrong or missing bearer token")
		w.Header().Set("WWW-Authenticate", `Bearer realm="k8flex"`)
		h.reply(w, http.StatusUnauthorized, webhookReply{Status: "error", Error: "wrong or missing bearer token"})
		return
	}
	body, err := io.ReadAll(http.MaxBytesReader(w, r.Body, h.cfg.MaxBodyBytes))
	if err != nil {
		var tooBig *http.MaxBytesError
		if errors.As(err, &tooBig) {
			h.metrics.alertsReceived("too_large", 1)
			h.reply(w, http.StatusRequestEntityTooLarge, webhookReply{Status: "error",
				Error: fmt.Sprintf("body larger than %d bytes", h.cfg.MaxBodyBytes)})
			return
		}
		h.reply(w, http.StatusBadRequest, webhookReply{Status: "error", Error: "read body: " + err.Error()})
		return
	}
	msg, err := h.parse(body)
	if err != nil {
		h.metrics.alertsReceived("invalid", 1)
		h.log.Warn().Str("error", redact.String(err.Error())).Msg("webhook: invalid payload")
		h.reply(w, http.StatusBadRequest, webhookReply{Status: "error", Error: redact.String(err.Error())})
		return
	}
	if msg.Truncated > 0 {
		h.metrics.valuesTruncated(msg.Truncated)
		h.log.Warn().Int("values", msg.Truncated).Int("alerts", len(msg.Alerts)).Msg("webhook: oversized labels or annotations truncated")
	}
	reqs, warnings := requestsFromMessage(msg, h.source)
	res, err := h.queue.Enqueue(r.Context(), reqs)
	if err != nil {
		status := http.StatusServiceUnavailable
		h.metrics.alertsReceived("unavailable", len(reqs))
		h.log.Error().Err(err).Int("alerts", len(reqs)).Msg("webhook: could not record alerts; Alertmanager will retry")
		reason := "could not record the alerts; retry later"
		if errors.Is(err, investigate.ErrQueueFull) {
			reason = "queue full; retry later"
		}
		w.Header().Set("Retry-After", "10")
		h.reply(w, status, webhookReply{Status: "error", Error: reason})
		return
	}
	rep := webhookReply{Status: "ok", Warnings: warnings, Truncated: msg.Truncated}
	for i, e := range res {
		rep.Cases = append(rep.Cases, e.ID)
		switch {
		case e.Resolved:
			rep.Resolved++
		case e.Duplicate:
			rep.Duplicates++
		default:
			rep.Accepted++
		}
		a := reqs[i].Alert
		h.log.Info().Str("alertname", a.Name()).Str("status", a.Status).Str("namespace", a.Labels["namespace"]).
			Str("fingerprint", a.Fingerprint).Str("case", e.ID).Bool("duplicate", e.Duplicate).Msg("alert recorded")
		if (e.Duplicate || e.Resolved) && e.ThreadTS != "" && h.cfg.Known != nil {
			h.cfg.Known(e, a)
		}
	}
	h.metrics.alertsReceived("accepted", rep.Accepted)
	h.metrics.alertsReceived("duplicate", rep.Duplicates)
	h.metrics.alertsReceived("resolved", rep.Resolved)
	h.reply(w, http.StatusOK, rep)
}

// requestsFromMessage makes one request per alert, and a warning for each
// alert whose category needs a namespace its labels do not give.
func requestsFromMessage(msg *investigate.WebhookMessage, src investigate.Source) ([]investigate.Request, []string) {
	reqs := make([]investigate.Request, len(msg.Alerts))
	var warnings []string
	for i := range msg.Alerts {
		a := msg.Alerts[i]
		reqs[i] = investigate.Request{Alert: &a, Source: src, RequestedBy: string(src) + "/" + msg.Receiver}
		if a.Status != investigate.StatusFiring {
			continue
		}
		c := investigate.CategorizeByRules(&a)
		if t := investigate.TargetFromAlert(&a); c.Category.NeedsNamespace() && t.Namespace == "" {
			warnings = append(warnings, fmt.Sprintf("alert %d (%s): no namespace label; %s evidence will be limited",
				i, a.Name(), c.Category))
		}
	}
	return reqs, warnings
}

func (h *Webhook) authorized(r *http.Request) bool {
	if h.cfg.Token == "" {
		return true
	}
	auth := r.Header.Get("Authorization")
	scheme, token, ok := strings.Cut(auth, " ")
	if !ok || !strings.EqualFold(scheme, "Bearer") {
		return false
	}
	return subtle.ConstantTimeCompare([]byte(strings.TrimSpace(token)), []byte(h.cfg.Token)) == 1
}

func (h *Webhook) reply(w http.ResponseWriter, status int, body webhookReply) {
	if body.Cases == nil {
		body.Cases = []string{}
	}
	if body.Warnings == nil {
		body.Warnings = []string{}
	}
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(body)
}
