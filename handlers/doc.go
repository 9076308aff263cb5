// Package handlers is K8flex's HTTP edge: the Alertmanager webhook
// (POST /webhook) and Grafana's webhook contact point
// (POST /webhook/grafana), liveness (/health), readiness (/ready) and Prometheus
// metrics (/metrics). Handlers parse and check; the work is handed to the
// durable queue they are given (investigate.Enqueuer), and nothing is
// acknowledged before it is recorded there.
package handlers
