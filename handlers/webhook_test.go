package handlers

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"

	"github.com/prometheus/client_golang/prometheus/testutil"
	"github.com/rs/zerolog"

	"github.com/k8flex/k8flex/investigate"
)

// recordQueue is a hand-written Enqueuer that records what it is given and
// deduplicates on Alert.Key like the real one.
type recordQueue struct {
	mu    sync.Mutex
	seen  map[string]string
	reqs  []investigate.Request
	err   error
	calls int
	// thread, when set, is the Slack thread of every existing case.
	thread string
}

func (q *recordQueue) Enqueue(_ context.Context, reqs []investigate.Request) ([]investigate.Enqueued, error) {
	q.mu.Lock()
	defer q.mu.Unlock()
	q.calls++
	if q.err != nil {
		return nil, q.err
	}
	if q.seen == nil {
		q.seen = map[string]string{}
	}
	out := make([]investigate.Enqueued, len(reqs))
	for i, r := range reqs {
		key := r.Alert.Key()
		id, dup := q.seen[key]
		if !dup {
			id = fmt.Sprintf("case-%d", len(q.seen)+1)
			q.seen[key] = id
			q.reqs = append(q.reqs, r)
		}
		out[i] = investigate.Enqueued{ID: id, Duplicate: dup && r.Alert.Status == investigate.StatusFiring,
			Resolved: r.Alert.Status == investigate.StatusResolved}
		if dup {
			out[i].Channel, out[i].ThreadTS = "C1", q.thread
		}
	}
	return out, nil
}

var _ investigate.Enqueuer = (*recordQueue)(nil)

func payload(t *testing.T, name string) []byte {
	t.Helper()
	b, err := os.ReadFile(filepath.Join("testdata", name))
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func post(h http.Handler, body []byte, token string) *httptest.ResponseRecorder {
	r := httptest.NewRequest(http.MethodPost, "/webhook", bytes.NewReader(body))
	if token != "" {
		r.Header.Set("Authorization", "Bearer "+token)
	}
	w := httptest.NewRecorder()
	h.ServeHTTP(w, r)
	return w
}

func decodeReply(t *testing.T, w *httptest.ResponseRecorder) webhookReply {
	t.Helper()
	var rep webhookReply
	if err := json.Unmarshal(w.Body.Bytes(), &rep); err != nil {
		t.Fatalf("reply is not JSON: %q", w.Body.String())
	}
	return rep
}

func TestWebhookRealPayloads(t *testing.T) {
	files, _ := filepath.Glob("testdata/*.json")
	if len(files) < 3 {
		t.Fatalf("expected the real Alertmanager payloads in testdata, found %d", len(files))
	}
	for _, f := range files {
		t.Run(filepath.Base(f), func(t *testing.T) {
			q := &recordQueue{}
			h := NewWebhook(WebhookConfig{Token: "s3cret"}, q, NewMetrics(nil), zerolog.Nop())
			body := payload(t, filepath.Base(f))
			w := post(h, body, "s3cret")
			if w.Code != http.StatusOK {
				t.Fatalf("status %d: %s", w.Code, w.Body)
			}
			msg, _ := investigate.ParseWebhook(body)
			rep := decodeReply(t, w)
			if len(rep.Cases) != len(msg.Alerts) || len(q.reqs) != len(msg.Alerts) {
				t.Fatalf("cases %d, queued %d, want %d", len(rep.Cases), len(q.reqs), len(msg.Alerts))
			}
			for _, r := range q.reqs {
				if r.Source != investigate.SourceAlertmanager || r.Alert == nil || r.Alert.Name() == "" {
					t.Errorf("bad request queued: %+v", r)
				}
			}
		})
	}
}

func TestWebhookRejects(t *testing.T) {
	good := payload(t, "001-firing.json")
	for _, tt := range []struct {
		name    string
		method  string
		body    []byte
		token   string
		want    int
		inError string
	}{
		{name: "missing token", body: good, want: http.StatusUnauthorized, inError: "token"},
		{name: "wrong token", body: good, token: "nope", want: http.StatusUnauthorized, inError: "token"},
		{name: "GET", method: http.MethodGet, token: "s3cret", want: http.StatusMethodNotAllowed},
		{name: "malformed json", body: []byte(`{"version":"4","alerts":[`), token: "s3cret", want: http.StatusBadRequest, inError: "decode json"},
		{name: "wrong version", body: bytes.Replace(good, []byte(`"version":"4"`), []byte(`"version":"3"`), 1),
			token: "s3cret", want: http.StatusBadRequest, inError: `version "3"`},
		{name: "too large", body: append(bytes.Repeat([]byte(" "), 2<<20), good...), token: "s3cret",
			want: http.StatusRequestEntityTooLarge, inError: "larger than"},
		{name: "invalid utf-8", body: []byte("{\"version\":\"4\",\"x\":\"\xff\"}"), token: "s3cret", want: http.StatusBadRequest, inError: "UTF-8"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			q := &recordQueue{}
			h := NewWebhook(WebhookConfig{Token: "s3cret", MaxBodyBytes: 1 << 20}, q, nil, zerolog.Nop())
			method := tt.method
			if method == "" {
				method = http.MethodPost
			}
			r := httptest.NewRequest(method, "/webhook", bytes.NewReader(tt.body))
			if tt.token != "" {
				r.Header.Set("Authorization", "Bearer "+tt.token)
			}
			w := httptest.NewRecorder()
			h.ServeHTTP(w, r)
			if w.Code != tt.want {
				t.Fatalf("status %d, want %d: %s", w.Code, tt.want, w.Body)
			}
			if rep := decodeReply(t, w); !strings.Contains(rep.Error, tt.inError) {
				t.Errorf("error %q does not mention %q", rep.Error, tt.inError)
			}
			if q.calls != 0 {
				t.Errorf("a rejected request reached the queue")
			}
		})
	}
}

func TestWebhookQueueUnavailable(t *testing.T) {
	for _, tt := range []struct {
		name string
		err  error
		msg  string
	}{
		{"full", fmt.Errorf("enqueue: %w", investigate.ErrQueueFull), "queue full"},
		{"store down", errors.New("dial tcp 127.0.0.1:5432: connection refused"), "could not record"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			h := NewWebhook(WebhookConfig{}, &recordQueue{err: tt.err}, nil, zerolog.Nop())
			w := post(h, payload(t, "001-firing.json"), "")
			if w.Code != http.StatusServiceUnavailable {
				t.Fatalf("status %d, want 503 so Alertmanager retries", w.Code)
			}
			if w.Header().Get("Retry-After") == "" {
				t.Error("no Retry-After")
			}
			if rep := decodeReply(t, w); !strings.Contains(rep.Error, tt.msg) || strings.Contains(rep.Error, "5432") {
				t.Errorf("error %q: want %q and no internals", rep.Error, tt.msg)
			}
		})
	}
}

func TestWebhookDedupAndResolve(t *testing.T) {
	q := &recordQueue{}
	h := NewWebhook(WebhookConfig{}, q, nil, zerolog.Nop())
	firing := payload(t, "001-firing.json")
	if rep := decodeReply(t, post(h, firing, "")); rep.Accepted != 1 {
		t.Fatalf("first post: %+v", rep)
	}
	rep := decodeReply(t, post(h, firing, ""))
	if rep.Accepted != 0 || rep.Duplicates != 1 {
		t.Fatalf("re-sent alert: %+v, want one duplicate", rep)
	}
	if len(q.reqs) != 1 {
		t.Fatalf("queued %d requests, want 1", len(q.reqs))
	}
}

// TestWebhookTellsKnownAlertsWithAThread: a repeated notification of an
// alert whose case has a thread is handed to Known (to be noted there);
// a new alert, or a repeat of a case without a thread yet, is not.
func TestWebhookTellsKnownAlertsWithAThread(t *testing.T) {
	q := &recordQueue{}
	var known []investigate.Enqueued
	h := NewWebhook(WebhookConfig{Known: func(e investigate.Enqueued, a *investigate.Alert) {
		if a == nil || a.Fingerprint == "" {
			t.Errorf("Known without the alert: %+v", a)
		}
		known = append(known, e)
	}}, q, nil, zerolog.Nop())
	firing := payload(t, "001-firing.json")
	decodeReply(t, post(h, firing, ""))
	decodeReply(t, post(h, firing, "")) // a repeat before the case has a thread
	if len(known) != 0 {
		t.Fatalf("Known called %d times before the case had a thread", len(known))
	}
	q.thread = "1700000000.000100"
	decodeReply(t, post(h, firing, ""))
	if len(known) != 1 || !known[0].Duplicate || known[0].ThreadTS != q.thread || known[0].ID != "case-1" {
		t.Fatalf("Known got %+v, want the repeat of case-1 with its thread", known)
	}
}

func TestWebhookWarnsAboutMissingNamespace(t *testing.T) {
	body := []byte(`{"version":"4","status":"firing","receiver":"r","alerts":[{"status":"firing",
		"labels":{"alertname":"KubePodCrashLooping","pod":"web-0"},"annotations":{},
		"startsAt":"2026-11-27T00:00:00Z","endsAt":"0001-01-01T00:00:00Z","fingerprint":"ab"}]}`)
	q := &recordQueue{}
	rep := decodeReply(t, post(NewWebhook(WebhookConfig{}, q, nil, zerolog.Nop()), body, ""))
	if rep.Accepted != 1 || len(q.reqs) != 1 {
		t.Fatalf("alert without namespace must be accepted, got %+v", rep)
	}
	if len(rep.Warnings) != 1 || !strings.Contains(rep.Warnings[0], "namespace") {
		t.Fatalf("warnings = %v, want one about the namespace", rep.Warnings)
	}
}

func TestHealthAndMetrics(t *testing.T) {
	var broken error
	h := NewHealth(ReadyCheck{Name: "store", Fn: func(context.Context) error { return broken }})
	m := NewMetrics(func() float64 { return 7 })
	mux := Mux(NewWebhook(WebhookConfig{}, &recordQueue{}, m, zerolog.Nop()), h, m)
	get := func(path string) *httptest.ResponseRecorder {
		w := httptest.NewRecorder()
		mux.ServeHTTP(w, httptest.NewRequest(http.MethodGet, path, nil))
		return w
	}
	if w := get("/ready"); w.Code != http.StatusOK {
		t.Fatalf("/ready = %d", w.Code)
	}
	broken = errors.New("connection refused")
	if w := get("/ready"); w.Code != http.StatusServiceUnavailable || !strings.Contains(w.Body.String(), "store") {
		t.Fatalf("/ready with a broken store = %d %s", w.Code, w.Body)
	}
	broken = nil
	h.ShuttingDown()
	if w := get("/ready"); w.Code != http.StatusServiceUnavailable {
		t.Fatalf("/ready while shutting down = %d", w.Code)
	}
	if w := get("/health"); w.Code != http.StatusOK {
		t.Fatalf("/health = %d", w.Code)
	}
	w := httptest.NewRecorder()
	mux.ServeHTTP(w, httptest.NewRequest(http.MethodPost, "/webhook", bytes.NewReader(payload(t, "001-firing.json"))))
	body := get("/metrics").Body.String()
	for _, want := range []string{`k8flex_alerts_received_total{status="accepted"} 1`, "k8flex_queue_depth 7"} {
		if !strings.Contains(body, want) {
			t.Errorf("/metrics lacks %q", want)
		}
	}
}

// TestWebhookTruncatesInsteadOfRefusing posts a group whose first alert
// carries a 64 KiB annotation: every alert is recorded, the annotation is
// cut, and the answer says so in the same schema as every other answer.
func TestWebhookTruncatesInsteadOfRefusing(t *testing.T) {
	body := []byte(`{"version":"4","status":"firing","receiver":"k8flex","alerts":[` +
		`{"status":"firing","labels":{"alertname":"KubePodCrashLooping","namespace":"shop","pod":"web-0"},"annotations":{"description":"` +
		strings.Repeat("at com.example.Foo.bar(Foo.java:42) ", 1900) + `"},"startsAt":"2026-01-01T00:00:00Z"},` +
		`{"status":"firing","labels":{"alertname":"KubePodCrashLooping","namespace":"shop","pod":"web-1"},"startsAt":"2026-01-01T00:00:00Z"}]}`)
	q := &recordQueue{}
	m := NewMetrics(nil)
	h := NewWebhook(WebhookConfig{}, q, m, zerolog.Nop())
	w := post(h, body, "")
	if w.Code != http.StatusOK {
		t.Fatalf("status %d: %s", w.Code, w.Body)
	}
	var raw map[string]any
	if err := json.Unmarshal(w.Body.Bytes(), &raw); err != nil {
		t.Fatal(err)
	}
	for _, k := range []string{"status", "error", "accepted", "duplicates", "resolved", "truncated", "cases", "warnings"} {
		if _, ok := raw[k]; !ok {
			t.Errorf("answer lacks %q: %s", k, w.Body)
		}
	}
	if raw["accepted"] != float64(2) || raw["truncated"] != float64(1) {
		t.Errorf("answer %s", w.Body)
	}
	if len(q.reqs) != 2 || len(q.reqs[0].Alert.Annotations["description"]) > 16<<10 {
		t.Errorf("recorded %d alerts", len(q.reqs))
	}
	if got := testutil.ToFloat64(m.truncated); got != 1 {
		t.Errorf("k8flex_webhook_values_truncated_total = %v", got)
	}
	// An error answer has the same fields.
	w = post(h, []byte(`{"version":"3"}`), "")
	raw = nil
	_ = json.Unmarshal(w.Body.Bytes(), &raw)
	if _, ok := raw["cases"]; !ok || w.Code != http.StatusBadRequest {
		t.Errorf("error answer %d %s", w.Code, w.Body)
	}
}
