// Package metrics is K8flex's Prometheus adapter: it reads the time series
// behind an investigation from the Prometheus (or any server speaking the
// Prometheus HTTP API: Thanos, Mimir, VictoriaMetrics) that computed the
// alert. Source asks, within a time budget and over a window around the
// alert's start, for the alert's own expression (generatorURL's g0.expr)
// and for the series that explain its category (CFS throttling, working
// set against the limit, restarts, volume and node filesystem use, CoreDNS
// answers), renders them as one compact evidence section (min, max, last,
// trend per series) and draws findings from them, which the engine merges
// into the diagnosis. Prometheus queries a live server; File answers the
// same queries from a scenario's recorded metrics.om. Source satisfies
// investigate.MetricsSource.
package metrics
