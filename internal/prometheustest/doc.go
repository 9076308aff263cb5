// Package prometheustest starts a real Prometheus (Debian's prometheus
// package) for tests, its TSDB backfilled from OpenMetrics text with
// promtool tsdb create-blocks-from openmetrics, listening on loopback.
// Production code never imports it.
package prometheustest
