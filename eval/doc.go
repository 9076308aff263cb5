// Package eval runs the engine over a directory of recorded incidents and
// scores it, as `k8flex eval` prints: one row per scenario (category,
// root cause, evidence, leaks, prompt size, stage timings), the stage
// medians and a summary line, or the same as one JSON Summary. The
// scoring itself is package scenario's; the engine is built as server
// builds it.
package eval
