// Package alertmanagertest runs the real Alertmanager for tests: Debian's
// /usr/bin/prometheus-alertmanager (0.25; K8FLEX_TEST_ALERTMANAGER and
// K8FLEX_TEST_AMTOOL override the paths) with a generated configuration
// whose only receiver posts to a webhook URL the test gives, with a bearer
// token and send_resolved, plus helpers that fire and resolve alerts with
// the real /usr/bin/amtool, post many alerts at once through Alertmanager's
// API (PostAlerts), and read Alertmanager's log and metrics.
//
// Each Alertmanager listens on a free loopback port, keeps its state in a
// test temp dir, runs without clustering, and is killed when the test ends
// (and by the kernel if the test binary dies).
//
// When the binaries are missing, Start skips the test with the command that
// installs them (scripts/install-deps.sh), or fails it when the CI
// environment variable is set, so CI never silently skips.
package alertmanagertest
