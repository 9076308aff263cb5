package alertmanagertest

import (
	"context"
	"io"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/k8flex/k8flex/investigate"
)

// delivery is one webhook call Alertmanager made.
type delivery struct {
	auth string
	msg  *investigate.WebhookMessage
	err  error
}

// receiver is an httptest webhook receiver that records every call and
// answers with status.
type receiver struct {
	srv    *httptest.Server
	status int

	mu   sync.Mutex
	got  []delivery
	wake chan struct{}
}

func newReceiver(t *testing.T, status int) *receiver {
	r := &receiver{status: status, wake: make(chan struct{}, 1)}
	r.srv = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, req *http.Request) {
		body, err := io.ReadAll(req.Body)
		d := delivery{auth: req.Header.Get("Authorization"), err: err}
		if err == nil {
			d.msg, d.err = investigate.ParseWebhook(body)
		}
		r.mu.Lock()
		r.got = append(r.got, d)
		r.mu.Unlock()
		select {
		case r.wake <- struct{}{}:
		default:
		}
		w.WriteHeader(r.status)
	}))
	t.Cleanup(r.srv.Close)
	return r
}

// waitFor returns the first delivery whose payload
// has the given status, failing the test after timeout.
func (r *receiver) waitFor(t *testing.T, status string, timeout time.Duration) delivery {
	t.Helper()
	deadline := time.After(timeout)
	for {
		r.mu.Lock()
		for _, d := range r.got {
			if d.err != nil {
				r.mu.Unlock()
				t.Fatalf("alertmanager sent a payload our parser rejects: %v", d.err)
			}
			if d.msg.Status == status {
				r.mu.Unlock()
				return d
			}
		}
		r.mu.Unlock()
		select {
		case <-r.wake:
		case <-deadline:
			t.Fatalf("no %s notification within %s", status, timeout)
		}
	}
}

func (r *receiver) count() int {
	r.mu.Lock()
	defer r.mu.Unlock()
	return len(r.got)
}

func crashLoop(pod string) Alert {
	return Alert{
		Labels: map[string]string{"alertname": "KubePodCrashLooping", "namespace": "shop", "pod": pod,
			"container": "app", "severity": "warning"},
		Annotations: map[string]string{"summary": "Pod shop/" + pod + " (app) is in waiting state (reason: CrashLoopBackOff)."},
	}
}

func TestFireAndResolveReachTheWebhook(t *testing.T) {
	for _, tt := range []struct {
		name     string
		token    string
		wantAuth string
	}{
		{name: "bearer token", token: "s3cret-token", wantAuth: "Bearer s3cret-token"},
		{name: "no token", token: "", wantAuth: ""},
	} {
		t.Run(tt.name, func(t *testing.T) {
			rcv := newReceiver(t, http.StatusOK)
			am := Start(t, Config{WebhookURL: rcv.srv.URL, Token: tt.token})

			fired := am.Fire(t, crashLoop("checkout-7d9f"))
			d := rcv.waitFor(t, investigate.StatusFiring, 20*time.Second)
			if d.auth != tt.wantAuth {
				t.Errorf("Authorization = %q, want %q", d.auth, tt.wantAuth)
			}
			if d.msg.Receiver != ReceiverName || len(d.msg.Alerts) != 1 {
				t.Fatalf("payload receiver %q with %d alerts, want %q with 1", d.msg.Receiver, len(d.msg.Alerts), ReceiverName)
			}
			a := d.msg.Alerts[0]
			if a.Labels["pod"] != "checkout-7d9f" || a.Name() != "KubePodCrashLooping" {
				t.Errorf("labels = %v", a.Labels)
			}
			if !a.StartsAt.Equal(fired.StartsAt) {
				t.Errorf("startsAt = %s, want %s (Fire's)", a.StartsAt, fired.StartsAt)
			}
			if !strings.Contains(a.Annotations["summary"], "CrashLoopBackOff") {
				t.Errorf("annotation with spaces lost: %v", a.Annotations)
			}
			if a.Fingerprint == "" {
				t.Error("no fingerprint")
			}

			am.Resolve(t, fired)
			r := rcv.waitFor(t, investigate.StatusResolved, 20*time.Second)
			ra := r.msg.Alerts[0]
			if ra.Status != investigate.StatusResolved || ra.EndsAt.IsZero() {
				t.Errorf("resolved alert status %q endsAt %s", ra.Status, ra.EndsAt)
			}
			if ra.Key() != a.Key() {
				t.Errorf("resolved key %q differs from firing key %q: dedup could not match them", ra.Key(), a.Key())
			}
		})
	}
}

// TestPostAlertsOneNotification: alerts posted through the API in one
// request, one of them with a value far longer than a command line holds,
// reach the webhook in one notification, which Alertmanager's own metrics
// count once.
func TestPostAlertsOneNotification(t *testing.T) {
	rcv := newReceiver(t, http.StatusOK)
	am := Start(t, Config{WebhookURL: rcv.srv.URL, GroupBy: []string{"alertname"}})
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	long := strings.Repeat("x", 200<<10)
	alerts := []Alert{crashLoop("a-0"), crashLoop("a-1"), crashLoop("a-2")}
	alerts[1].Annotations["description"] = long
	posted, err := am.PostAlerts(ctx, alerts)
	if err != nil {
		t.Fatal(err)
	}
	d := rcv.waitFor(t, investigate.StatusFiring, 20*time.Second)
	if len(d.msg.Alerts) != 3 {
		t.Fatalf("notification with %d alerts, want 3", len(d.msg.Alerts))
	}
	for _, a := range d.msg.Alerts {
		if !a.StartsAt.Equal(posted[0].StartsAt) {
			t.Errorf("alert %s starts %s, want %s (PostAlerts')", a.Labels["pod"], a.StartsAt, posted[0].StartsAt)
		}
	}
	if n, err := am.Metric(ctx, `alertmanager_notifications_total{integration="webhook"}`); err != nil || n != 1 {
		t.Errorf("alertmanager_notifications_total = %v (%v), want 1", n, err)
	}
	if n, err := am.Metric(ctx, "alertmanager_no_such_metric"); err != nil || n != -1 {
		t.Errorf("a missing metric reads %v (%v), want -1", n, err)
	}
	if _, err := am.PostAlerts(ctx, []Alert{{Labels: map[string]string{"pod": "x"}}}); err == nil {
		t.Error("an alert without alertname was posted")
	}
	if rcv.count() != 1 {
		t.Errorf("%d notifications, want 1", rcv.count())
	}
}

func TestRejectedNotificationIsLogged(t *testing.T) {
	rcv := newReceiver(t, http.StatusUnauthorized)
	am := Start(t, Config{WebhookURL: rcv.srv.URL, Token: "wrong"})
	am.Fire(t, crashLoop("api-1"))
	line := am.WaitForLog(t, 20*time.Second, "Notify for alerts failed", "unexpected status code 401")
	if !strings.Contains(line, "level=error") {
		t.Errorf("401 logged below error level: %s", line)
	}
	// A 4xx is final for this notification: no retry with backoff (the
	// group is notified again only at its next group_interval).
	if !strings.Contains(line, "unrecoverable error after 1 attempts") {
		t.Errorf("401 was retried: %s", line)
	}
}

func TestWaitForLogFindsStartupLine(t *testing.T) {
	rcv := newReceiver(t, http.StatusOK)
	am := Start(t, Config{WebhookURL: rcv.srv.URL})
	if line := am.WaitForLog(t, 5*time.Second, "Listening on", am.URL[len("http://"):]); line == "" {
		t.Fatal("empty line")
	}
}

func TestRenderConfig(t *testing.T) {
	for _, tt := range []struct {
		name    string
		cfg     Config
		want    []string
		notWant []string
	}{
		{name: "defaults", cfg: Config{WebhookURL: "http://127.0.0.1:1/webhook"},
			want: []string{"group_wait: 1000ms", "group_interval: 1000ms", "repeat_interval: 3600000ms",
				"send_resolved: true", "- alertname", "- namespace", "url: http://127.0.0.1:1/webhook"},
			notWant: []string{"authorization", "max_alerts"}},
		{name: "token and timers", cfg: Config{WebhookURL: "http://x/", Token: "t: ok", GroupBy: []string{"cluster"},
			GroupWait: 200 * time.Millisecond, MaxAlerts: 5},
			want:    []string{"type: Bearer", "credentials: 't: ok'", "group_wait: 200ms", "- cluster", "max_alerts: 5"},
			notWant: []string{"- namespace"}},
	} {
		t.Run(tt.name, func(t *testing.T) {
			b, err := renderConfig(tt.cfg)
			if err != nil {
				t.Fatal(err)
			}
			for _, w := range tt.want {
				if !strings.Contains(string(b), w) {
					t.Errorf("config lacks %q:\n%s", w, b)
				}
			}
			for _, w := range tt.notWant {
				if strings.Contains(string(b), w) {
					t.Errorf("config has %q:\n%s", w, b)
				}
			}
		})
	}
}

func TestMissingBinarySkipsOutsideCI(t *testing.T) {
	reached := false
	t.Run("missing", func(t *testing.T) {
		t.Setenv("CI", "")
		t.Setenv("K8FLEX_TEST_ALERTMANAGER", filepath.Join(t.TempDir(), "no-alertmanager"))
		Start(t, Config{WebhookURL: "http://127.0.0.1:1/"})
		reached = true
	})
	if reached {
		t.Error("Start went on without the Alertmanager binary instead of skipping")
	}
}
