package main

// Hostile-but-real input from the real Alertmanager: what a production
// Alertmanager may send must be recorded whole, answered once, and never
// re-sent.

import (
	"context"
	"fmt"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/k8flex/k8flex/internal/alertmanagertest"
	"github.com/k8flex/k8flex/kb"
)

// stackTrace returns a Java-like stack trace of n bytes, as people paste
// into an alert's description.
func stackTrace(n int) string {
	var b strings.Builder
	b.WriteString("java.lang.IllegalStateException: connection pool exhausted\n")
	for i := 0; b.Len() < n; i++ {
		fmt.Fprintf(&b, "\tat com.example.checkout.pool.Pool.acquire(Pool.java:%d)\n", 100+i)
	}
	return b.String()[:n]
}

// amMetric reads one of Alertmanager's own metrics, failing the test when
// it cannot.
func amMetric(t *testing.T, am *alertmanagertest.Alertmanager, series string) float64 {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	v, err := am.Metric(ctx, series)
	if err != nil {
		t.Fatal(err)
	}
	return v
}

// waitMetric waits until the metric series of p reaches want, failing
// after timeout.
func (p *serveProc) waitMetric(t *testing.T, timeout time.Duration, series string, want float64) {
	t.Helper()
	deadline := time.Now().Add(timeout)
	for {
		got := metric(t, p.URL, series)
		if got == want {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("%s = %v after %s, want %v:\n%s", series, got, timeout, want, tailFile(p.logPath, 20))
		}
		time.Sleep(100 * time.Millisecond)
	}
}

// waitLog waits for a JSON log line of p matching ok, failing after
// timeout.
func (p *serveProc) waitLog(t *testing.T, timeout time.Duration, what string, ok func(l logLine) bool) logLine {
	t.Helper()
	deadline := time.Now().Add(timeout)
	for {
		for _, l := range readLogLines(t, p.logPath) {
			if ok(l) {
				return l
			}
		}
		if time.Now().After(deadline) {
			t.Fatalf("k8flex logged no %s within %s:\n%s", what, timeout, tailFile(p.logPath, 30))
		}
		time.Sleep(100 * time.Millisecond)
	}
}

// TestServeRecordsHugeGroupsFromRealAlertmanager: the real Alertmanager
// (max_alerts 0, as the README recommends) notifies `k8flex serve` of a
// group whose one alert carries a 64 KiB annotation, then of one group of
// 12,000 alerts. Each notification succeeds at the first request (no
// retry, nothing re-sent at the next flush), every alert becomes exactly
// one case, the long value is cut with a marker and counted, and the
// alert carrying it is investigated. `k8flex serve` is the binary as
// shipped (no race detector, which makes recording 12,000 alerts ten
// times slower than production).
func TestServeRecordsHugeGroupsFromRealAlertmanager(t *testing.T) {
	const stormSize = 12_000
	bin := k8flexBinary(t)
	dir := t.TempDir()
	cfg := serveConfig{Token: "am-hostile-token", Workers: 1, DataDir: filepath.Join(dir, "data")}
	srv := startServeProc(t, bin, cfg.write(t, dir), dir, "serve")
	// group_wait leaves Alertmanager time to take in all 12,000 alerts
	// before the group's first flush; group_interval bounds a notification
	// (Alertmanager's timeout is the larger of it and 10s). No group
	// changes after its first flush, so any later notification would be a
	// re-send.
	const groupInterval = 15 * time.Second
	am := alertmanagertest.Start(t, alertmanagertest.Config{WebhookURL: srv.URL + "/webhook", Token: cfg.Token,
		GroupBy: []string{"alertname"}, GroupWait: 5 * time.Second, GroupInterval: groupInterval, RepeatInterval: time.Hour})
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()
	const webhook = `{integration="webhook"}`

	// One alert whose description is a 64 KiB stack trace, and one group
	// of 12,000 alerts, all posted to Alertmanager at once.
	big := scenarioAlert(t)
	big.Annotations["description"] = stackTrace(64 << 10)
	storm := make([]alertmanagertest.Alert, stormSize)
	for i := range storm {
		pod := fmt.Sprintf("checkout-66d9c8b7f4-s%05d", i)
		storm[i] = alertmanagertest.Alert{
			Labels: map[string]string{"alertname": "KubePodCrashLooping", "namespace": "storefront", "pod": pod,
				"container": "checkout", "severity": "warning"},
			Annotations: map[string]string{"summary": "Pod storefront/" + pod + " (checkout) is in waiting state (reason: CrashLoopBackOff)."},
		}
	}
	start := time.Now()
	posted, err := am.PostAlerts(ctx, append([]alertmanagertest.Alert{big}, storm...))
	if err != nil {
		t.Fatal(err)
	}
	big = posted[0]
	t.Logf("Alertmanager took in %d alerts in %s", len(posted), time.Since(start).Round(time.Millisecond))
	srv.waitMetric(t, 90*time.Second, `k8flex_alerts_received_total{status="accepted"}`, stormSize+1)
	recorded := time.Now()
	t.Logf("both groups notified and recorded %s after posting", recorded.Sub(start).Round(time.Millisecond))

	done := srv.waitLog(t, 60*time.Second, "investigation of the alert with a 64 KiB annotation", func(l logLine) bool {
		return l.Message == "investigation finished" && l.AlertName == big.Name()
	})
	if done.Level != "info" {
		t.Errorf("investigation finished at level %s (error %q)", done.Level, done.Error)
	}
	// The description is cut, in the alert and in the group's common
	// annotations (the same value, as a one-alert group has it).
	if n := metric(t, srv.URL, "k8flex_webhook_values_truncated_total"); n != 1 {
		t.Errorf("k8flex_webhook_values_truncated_total = %v, want 1 (the description, counted in its alert only)", n)
	}

	// Nothing re-sent: one notification per group, each answered at its
	// first request, and still so after the next flush of both groups.
	time.Sleep(time.Until(recorded.Add(groupInterval + time.Second)))
	for series, want := range map[string]float64{
		"alertmanager_notifications_total" + webhook:                2,
		"alertmanager_notifications_failed_total" + webhook:         0,
		"alertmanager_notification_requests_total" + webhook:        2,
		"alertmanager_notification_requests_failed_total" + webhook: 0,
	} {
		if got := amMetric(t, am, series); got != want {
			t.Errorf("%s = %v, want %v", series, got, want)
		}
	}
	for status, want := range map[string]float64{"duplicate": 0, "invalid": 0, "too_large": 0, "unavailable": 0, "unauthorized": 0} {
		if got := metric(t, srv.URL, fmt.Sprintf(`k8flex_alerts_received_total{status=%q}`, status)); got != want {
			t.Errorf("k8flex_alerts_received_total{status=%q} = %v, want %v", status, got, want)
		}
	}
	if t.Failed() {
		for _, l := range strings.Split(am.Log(), "\n") {
			if strings.Contains(l, "Notify") {
				t.Log(l)
			}
		}
	}
	srv.stop(t, 30*time.Second)

	// Nothing lost: every alert is exactly one case, labels intact.
	cases := exportCases(t, bin, cfg, dir)
	byName := map[string][]kb.Case{}
	for _, c := range cases {
		byName[c.AlertName] = append(byName[c.AlertName], c)
	}
	if len(cases) != stormSize+1 {
		t.Errorf("%d cases recorded, want %d", len(cases), stormSize+1)
	}
	if got := byName[big.Name()]; len(got) != 1 || got[0].ID != done.Investigation || got[0].Status != kb.StatusDone {
		t.Errorf("the alert with a 64 KiB annotation: %d cases %+v, want 1 done case %s", len(got), got, done.Investigation)
	} else if !got[0].StartsAt.Equal(big.StartsAt) || got[0].Labels["pod"] != big.Labels["pod"] {
		t.Errorf("its case starts %s with labels %v; want %s, %v", got[0].StartsAt, got[0].Labels, big.StartsAt, big.Labels)
	}
	pods := map[string]bool{}
	for _, c := range byName["KubePodCrashLooping"] {
		pods[c.Labels["pod"]] = true
		if c.Fingerprint == "" || c.Namespace != "storefront" {
			t.Errorf("case %s: fingerprint %q namespace %q", c.ID, c.Fingerprint, c.Namespace)
			break
		}
	}
	if len(pods) != stormSize {
		t.Errorf("the 12,000-alert group left %d distinct cases (%d in all), want %d", len(pods), len(byName["KubePodCrashLooping"]), stormSize)
	}
	// The single worker went on from the first group to the second.
	n := statusCounts(cases)
	if n[kb.StatusFailed] != 0 || n[kb.StatusDone] < 2 {
		t.Errorf("cases by status: %v; want none failed, the 12,000-alert group's being concluded", n)
	}
	t.Logf("cases by status when stopped: %v", n)
}
