// Package loadtest drives K8flex's Alertmanager webhook for load
// benchmarks: it posts N distinct firing alerts (realistic
// KubePodCrashLooping payloads of 1..k alerts each, shaped as Alertmanager
// sends them) at a bounded concurrency to a webhook on the loopback
// interface, bounded in count and in time, and reports accepted alerts per
// second, latency percentiles and answers by HTTP status. It also reads a
// process's resident memory (peak and current) from /proc, and splits it
// by mapping (executable, memory-mapped store, anonymous), to bound the
// memory a storm costs and tell where it goes.
//
// It never targets anything but loopback: Run refuses other hosts.
package loadtest
