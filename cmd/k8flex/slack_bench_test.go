package main

// Benchmarks of Slack delivery through `k8flex serve` and the fake Slack
// enforcing Slack's documented post limit (one chat.postMessage per
// second per channel, short bursts). Their figures are the reported
// metrics, not ns/op: each iteration is one whole scenario.
//
//	go test -run '^$' -bench Slack -benchtime 1x ./cmd/k8flex/

import (
	"fmt"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/k8flex/k8flex/internal/fakeslack"
	"github.com/k8flex/k8flex/investigate"
)

// slackCalls counts the Web API calls that write messages.
func slackCalls(fs *fakeslack.Server) int {
	n := 0
	for _, c := range fs.Calls() {
		if strings.HasPrefix(c.Method, "chat.") {
			n++
		}
	}
	return n
}

// BenchmarkSlackOutageRecovery: Slack is unreachable while 50 alerts
// (50 incidents) arrive and are analysed; then it answers again, at its
// own pace. Reported: seconds from Slack's recovery to the last thread
// being final, and Slack calls per alert.
func BenchmarkSlackOutageRecovery(b *testing.B) {
	const alerts = 50
	for range b.N {
		fs := fakeslack.New(fakeslack.Options{})
		fs.LimitPosts(time.Second, 3)
		dir := b.TempDir()
		cfg := serveConfig{Token: "bench-outage", Workers: 4, DataDir: filepath.Join(dir, "data"), Slack: fs}
		srv := startInProcess(b, cfg.write(b, dir))
		waitSocket(b, fs, 1)
		fs.SetUnreachable(true)
		a := scenarioAlert(b)
		batch := distinctAlerts(a, "OutageAlert", alerts)
		postAlerts(b, srv.URL, cfg.Token, batch...)
		srv.waitLog(b, 5*time.Minute, "all investigations finished", func(logLine) bool {
			n := 0
			for _, l := range parseLogLines(srv.stderr.Bytes()) {
				if l.Message == "investigation finished" {
					n++
				}
			}
			return n == alerts
		})
		before := slackCalls(fs)
		fs.SetUnreachable(false)
		recovered := time.Now()
		deadline := recovered.Add(10 * time.Minute)
		for {
			if _, final := finalThreads(b, fs); final == alerts {
				break
			}
			if time.Now().After(deadline) {
				b.Fatalf("threads not final within %s of Slack's recovery", time.Since(recovered))
			}
			time.Sleep(100 * time.Millisecond)
		}
		took := time.Since(recovered)
		b.ReportMetric(took.Seconds(), "s-recovery-to-final")
		b.ReportMetric(float64(slackCalls(fs)-before)/alerts, "calls/alert")
		srv.stop(b)
		fs.Close()
	}
}

// BenchmarkSlackStormCalls: 200 alerts of 5 incidents (40 pods of one
// Deployment each) reach serve at once, Slack at its limits with 30% of
// chat.update answered 429. Reported: Slack calls per concluded alert
// and seconds until every thread is final.
func BenchmarkSlackStormCalls(b *testing.B) {
	const incidents, perIncident = 5, 40
	const alerts = incidents * perIncident
	const alphabet = "bcdfghjklmnpqrstvwxz2456789"
	for range b.N {
		fs := fakeslack.New(fakeslack.Options{})
		fs.LimitPosts(time.Second, 3)
		fs.RejectUpdates(0.3)
		dir := b.TempDir()
		cfg := serveConfig{Token: "bench-storm", Workers: 4, DataDir: filepath.Join(dir, "data"), Slack: fs}
		srv := startInProcess(b, cfg.write(b, dir))
		waitSocket(b, fs, 1)
		a := scenarioAlert(b)
		var batch []investigate.Alert
		for i := range alerts {
			labels := map[string]string{}
			for k, v := range a.Labels {
				labels[k] = v
			}
			labels["alertname"] = fmt.Sprintf("StormAlert%d", i%incidents)
			j := i / incidents
			labels["pod"] = "checkout-66d9c8b7f4-" + string([]byte{alphabet[j%len(alphabet)], alphabet[j/len(alphabet)], 'b', 'c', 'd'})
			batch = append(batch, investigate.Alert{Status: investigate.StatusFiring, Labels: labels,
				Annotations: a.Annotations, StartsAt: time.Now().UTC().Truncate(time.Second)})
		}
		start := time.Now()
		postAlerts(b, srv.URL, cfg.Token, batch...)
		deadline := start.Add(10 * time.Minute)
		for {
			threads, final := finalThreads(b, fs)
			if final == threads && threads > 0 && metric(b, srv.URL, "k8flex_queue_depth") == 0 &&
				metric(b, srv.URL, "k8flex_slack_outbox_depth") == 0 {
				break
			}
			if time.Now().After(deadline) {
				b.Fatalf("storm not concluded within %s: %d threads, %d final", time.Since(start), threads, final)
			}
			time.Sleep(200 * time.Millisecond)
		}
		took := time.Since(start)
		// Folded alerts are shown on their incident's root within a few
		// seconds (coalesced); wait for those notes, then count.
		time.Sleep(6 * time.Second)
		threads, _ := finalThreads(b, fs)
		b.ReportMetric(float64(slackCalls(fs))/alerts, "calls/alert")
		b.ReportMetric(float64(threads), "threads")
		b.ReportMetric(took.Seconds(), "s-to-final")
		srv.stop(b)
		fs.Close()
	}
}

// BenchmarkSlackStorm: the storm end to end of TestServeSlackStorm
// (real Alertmanager, the k8flex binary killed with -9 in the middle and
// restarted, Slack at its limits with 30% of chat.update answered 429),
// 2,000 alerts about pods that no longer exist. Reported: seconds from
// the last alert to every message final, to the last accepted chat.*
// call, Slack calls per concluded alert, and the channel's messages.
func BenchmarkSlackStorm(b *testing.B) {
	for range b.N {
		f := runSlackStorm(b, 2000, 15*time.Minute)
		b.ReportMetric(f.toFinal.Seconds(), "s-last-alert-to-final")
		b.ReportMetric(f.lastWrite.Seconds(), "s-last-alert-to-last-write")
		b.ReportMetric(float64(f.calls)/float64(f.alerts), "calls/alert")
		b.ReportMetric(float64(f.messages), "messages")
		b.ReportMetric(float64(f.posts429), "posts-429")
	}
}
