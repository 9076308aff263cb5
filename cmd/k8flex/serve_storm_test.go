package main

// The storm end to end (issue 13): the real Alertmanager → `k8flex serve`
// as built (the binary) → the fake Slack at Slack's limits (one
// chat.postMessage per second per channel, bursts of 3; 30% of
// chat.update answered 429). 2,000 alerts about pods that no longer
// exist, a kill -9 of serve in the middle, a restart: every message in
// the channel ends final, no post beyond the channel's limit, nothing
// abandoned.

import (
	"context"
	"fmt"
	"net"
	"net/http"
	"net/http/httputil"
	"net/url"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/k8flex/k8flex/internal/alertmanagertest"
	"github.com/k8flex/k8flex/internal/fakeslack"
)

// stormFigures is what one storm run measured.
type stormFigures struct {
	alerts int
	// toFinal: from the last alert handed to Alertmanager to every
	// message in the channel final (outbox empty, queue drained).
	toFinal time.Duration
	// lastWrite: from the last alert to the last chat.* call Slack
	// accepted (the last message made final).
	lastWrite time.Duration
	calls     int // chat.* calls, answered or not
	posts     int
	posts429  int // chat.postMessage beyond the channel's limit
	updates   int
	messages  int // top-level messages in the channel
	digests   int
	threads   int
	counted   int // alerts shown: digest counts plus threads
	// unfinished counts the channel's messages still "in progress".
	unfinished int
}

// backend forwards to the serve process of the moment: the Service in
// front of serve's pods, so Alertmanager keeps one URL across a restart
// (and gets 502 while no process serves, which it retries).
type backend struct{ target atomic.Pointer[url.URL] }

func (b *backend) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	t := b.target.Load()
	if t == nil {
		http.Error(w, "no serve process", http.StatusBadGateway)
		return
	}
	httputil.NewSingleHostReverseProxy(t).ServeHTTP(w, r)
}

func (b *backend) point(t testing.TB, raw string) {
	u, err := url.Parse(raw)
	if err != nil {
		t.Fatal(err)
	}
	b.target.Store(u)
}

var digestCount = regexp.MustCompile(`Alert storm: .*?: (\d+) alerts? whose target`)

// runSlackStorm runs the storm once and checks its outcome; it fails tb
// when a message is not final within deadline of the last alert.
func runSlackStorm(tb testing.TB, alerts int, deadline time.Duration) stormFigures {
	tb.Helper()
	bin := k8flexBinary(tb)
	fs := fakeslack.New(fakeslack.Options{})
	tb.Cleanup(fs.Close)
	fs.LimitPosts(time.Second, 3)
	fs.RejectUpdates(0.3)
	dir := tb.TempDir()
	cfg := serveConfig{Token: "storm-token", Workers: 4, DataDir: filepath.Join(dir, "data"), Lease: 3 * time.Second, Slack: fs}
	cfgPath := cfg.write(tb, dir)

	var svc backend
	front := &http.Server{Handler: &svc, ReadHeaderTimeout: 10 * time.Second}
	ln := listenLoopback(tb)
	go func() { _ = front.Serve(ln) }()
	tb.Cleanup(func() { _ = front.Close() })

	first := startServeProc(tb, bin, cfgPath, dir, "first")
	svc.point(tb, first.URL)
	waitSocket(tb, fs, 1)
	am := alertmanagertest.Start(tb, alertmanagertest.Config{WebhookURL: "http://" + ln.Addr().String() + "/webhook", Token: cfg.Token,
		GroupWait: time.Second, GroupInterval: time.Second, RepeatInterval: time.Hour})

	// Pods replaced by a rollout: names that imply no workload, in five
	// namespaces, none of them in the recorded cluster.
	namespaces := []string{"shop", "payments", "search", "identity", "ingest"}
	workloads := []string{"checkout", "cart", "api", "worker", "frontend", "indexer", "auth", "billing"}
	batch := make([]alertmanagertest.Alert, alerts)
	for i := range batch {
		ns, wl := namespaces[i%len(namespaces)], workloads[i/len(namespaces)%len(workloads)]
		pod := fmt.Sprintf("%s-old-%05d", wl, i)
		batch[i] = alertmanagertest.Alert{
			Labels: map[string]string{"alertname": "KubePodCrashLooping", "namespace": ns, "pod": pod, "container": wl,
				"severity": "warning", "job": "kube-state-metrics"},
			Annotations: map[string]string{"summary": "Pod is crash looping.",
				"description": fmt.Sprintf("Pod %s/%s (%s) is in waiting state (reason: \"CrashLoopBackOff\").", ns, pod, wl)},
		}
	}
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	if _, err := am.PostAlerts(ctx, batch); err != nil {
		tb.Fatal(err)
	}
	lastAlert := time.Now()

	// kill -9 once every alert is recorded and some are concluded.
	waitFor(tb, time.Minute, "2,000 alerts accepted by the first process", func() bool {
		return metric(tb, first.URL, `k8flex_alerts_received_total{status="accepted"}`) == float64(alerts)
	})
	waitFor(tb, time.Minute, "investigations concluded before the kill", func() bool {
		return len(finishedPerCase(tb, first.logPath)) >= alerts/10
	})
	first.kill()
	if d := len(finishedPerCase(tb, first.logPath)); d >= alerts {
		tb.Fatalf("every alert concluded before the kill (%d): the kill proved nothing", d)
	}
	svc.target.Store(nil)
	second := startServeProc(tb, bin, cfgPath, dir, "second")
	svc.point(tb, second.URL)

	var f stormFigures
	f.alerts = alerts
	logged := time.Now()
	for {
		if metric(tb, second.URL, "k8flex_queue_depth") == 0 && metric(tb, second.URL, "k8flex_slack_outbox_depth") == 0 {
			if f = slackStormState(fs, alerts); f.messages > 0 && f.final() {
				break
			}
		}
		if time.Since(lastAlert) > deadline {
			f = slackStormState(fs, alerts)
			tb.Fatalf("messages not final %s after the last alert: %+v\n%s", time.Since(lastAlert).Round(time.Second), f, tailFile(second.logPath, 20))
		}
		if time.Since(logged) > 30*time.Second {
			logged = time.Now()
			s := slackStormState(fs, alerts)
			tb.Logf("%s after the last alert: %+v; queue %v, outbox %v", time.Since(lastAlert).Round(time.Second), s,
				metric(tb, second.URL, "k8flex_queue_depth"), metric(tb, second.URL, "k8flex_slack_outbox_depth"))
			for _, m := range fs.Messages() {
				if m.ThreadTS == "" {
					tb.Logf("  %s %.300s", m.TS, unescapeJSON(m.Blocks))
				}
			}
		}
		time.Sleep(250 * time.Millisecond)
	}
	f.toFinal = time.Since(lastAlert)
	var last time.Time
	for _, c := range fs.Calls() {
		if strings.HasPrefix(c.Method, "chat.") && c.Status == http.StatusOK && c.At.After(last) {
			last = c.At
		}
	}
	f.lastWrite = last.Sub(lastAlert)

	// Nothing abandoned: no message dropped, none refused.
	for _, p := range []*serveProc{first, second} {
		for _, l := range readLogLines(tb, p.logPath) {
			if strings.Contains(l.Message, "dropping it") {
				tb.Errorf("%s: %s (%s)", p.logPath, l.Message, l.Case)
			}
		}
	}
	if n := metric(tb, second.URL, `k8flex_slack_deliveries_total{method="chat.postMessage",outcome="refused"}`); n > 0 {
		tb.Errorf("%v posts refused", n)
	}
	second.stop(tb, 30*time.Second)
	return f
}

// final reports whether the channel shows every alert in a final
// message and no message in progress. A case is completed only after its
// reporter recorded the final report (dispatch), so a kill -9 leaves
// nothing concluded but unreported: no alert may be missing.
func (f stormFigures) final() bool { return f.unfinished == 0 && f.counted >= f.alerts }

// slackStormState reads the channel: digests and their counts, threads
// whose root is final with a final analysis, and the calls so far.
func slackStormState(fs *fakeslack.Server, alerts int) stormFigures {
	f := stormFigures{alerts: alerts}
	msgs := fs.Messages()
	done := map[string]bool{}
	for _, m := range msgs {
		if m.ThreadTS != "" && strings.Contains(m.Blocks, buttonCorrect) {
			done[m.ThreadTS] = true
		}
	}
	for _, m := range msgs {
		if m.Channel != slackChannel || m.ThreadTS != "" {
			continue
		}
		f.messages++
		if strings.Contains(m.Blocks, "in progress") {
			f.unfinished++
			continue
		}
		if mm := digestCount.FindStringSubmatch(unescapeJSON(m.Blocks)); mm != nil {
			n, _ := strconv.Atoi(mm[1])
			f.digests++
			f.counted += n
			continue
		}
		if done[m.TS] {
			f.threads++
			f.counted++
		}
	}
	for _, c := range fs.Calls() {
		if !strings.HasPrefix(c.Method, "chat.") {
			continue
		}
		f.calls++
		switch c.Method {
		case "chat.postMessage":
			f.posts++
			if c.Status == http.StatusTooManyRequests {
				f.posts429++
			}
		case "chat.update":
			f.updates++
		}
	}
	return f
}

// waitFor polls cond until timeout, failing tb then.
func waitFor(tb testing.TB, timeout time.Duration, what string, cond func() bool) {
	tb.Helper()
	deadline := time.Now().Add(timeout)
	for !cond() {
		if time.Now().After(deadline) {
			tb.Fatalf("timed out after %s waiting for %s", timeout, what)
		}
		time.Sleep(100 * time.Millisecond)
	}
}

// TestServeSlackStorm: 2,000 alerts through the real Alertmanager, serve
// killed with -9 in the middle and restarted, Slack at its limits. Every
// message in the channel ends final (each alert counted in a digest or
// concluded in its thread, none "in progress"), no chat.postMessage
// beyond the channel's limit, nothing abandoned, and the channel holds a
// handful of messages, not a thread per alert. The time it takes is
// measured by BenchmarkSlackStorm; the deadline here fails only a run
// far beyond the 5 minutes the issue asks for.
func TestServeSlackStorm(t *testing.T) {
	if testing.Short() {
		t.Skip("2,000 alerts through Alertmanager and the k8flex binary, killed and restarted; not in -short")
	}
	const alerts = 2000
	f := runSlackStorm(t, alerts, 15*time.Minute)
	t.Logf("storm: %+v", f)
	if f.counted < alerts || f.unfinished > 0 {
		t.Errorf("%d alerts concluded but not shown, %d messages in progress: want 0 and 0", alerts-f.counted, f.unfinished)
	}
	if f.posts429 != 0 {
		t.Errorf("%d chat.postMessage calls beyond the channel's limit (answered 429)", f.posts429)
	}
	if f.counted > alerts+8 {
		t.Errorf("the channel counts %d alerts for %d sent: alerts counted twice", f.counted, alerts)
	}
	if f.messages > 40 {
		t.Errorf("%d messages in the channel for a storm of %d alerts; want a handful (digests)", f.messages, alerts)
	}
}

// listenLoopback listens on a free loopback port until the test ends.
func listenLoopback(tb testing.TB) net.Listener {
	tb.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		tb.Fatal(err)
	}
	tb.Cleanup(func() { _ = ln.Close() })
	return ln
}
