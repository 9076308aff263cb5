package handlers

import (
	"encoding/json"
	"fmt"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/rs/zerolog"

	"github.com/k8flex/k8flex/investigate"
)

// fuzzMaxBody keeps the fuzzed bodies' 413 path reachable.
const fuzzMaxBody = 256 << 10

// FuzzWebhook posts arbitrary bodies to the webhook and checks its
// contract: it answers 200 exactly when the payload is one a real
// Alertmanager may send (ParseWebhook accepts it) and then records every
// alert, 400 for a malformed payload and 413 for an oversized body —
// never another status, never a panic — always with the one reply schema,
// and nothing is recorded from a refused body.
func FuzzWebhook(f *testing.F) {
	files, _ := filepath.Glob("testdata/*.json")
	for _, p := range files {
		b, err := os.ReadFile(p)
		if err != nil {
			f.Fatal(err)
		}
		f.Add(b)
	}
	big := fmt.Sprintf(`{"version":"4","status":"firing","alerts":[{"status":"firing","labels":{"alertname":"Big","pod":"web-0"},`+
		`"annotations":{"description":%q}}]}`, strings.Repeat("at x.y(Z.java:1)\n", 4000))
	f.Add([]byte(big))
	f.Add([]byte("{\"version\":\"4\",\"alerts\":[{\"status\":\"firing\",\"labels\":{\"alertname\":\"A\u202e\u200b\",\"namespace\":\"<!channel>\"}}]}"))
	f.Add([]byte(`{"version":"4","alerts":[{"status":"firing","labels":{"alertname":"A"}},{"status":"resolved","labels":{"alertname":"A"}}]}`))
	f.Add([]byte(`{"version":"4","alerts":[]}`))
	f.Add([]byte(`{"version":"3","alerts":[{"status":"firing","labels":{"alertname":"A"}}]}`))
	f.Add([]byte("\xff\xfe"))
	f.Add([]byte(strings.Repeat("[", fuzzMaxBody+1)))

	f.Fuzz(func(t *testing.T, body []byte) {
		q := &recordQueue{}
		h := NewWebhook(WebhookConfig{Token: "t", MaxBodyBytes: fuzzMaxBody}, q, nil, zerolog.Nop())
		w := post(h, body, "t")

		var fields map[string]json.RawMessage
		if err := json.Unmarshal(w.Body.Bytes(), &fields); err != nil {
			t.Fatalf("status %d with a reply that is not a JSON object: %q", w.Code, w.Body)
		}
		for _, k := range []string{"status", "error", "accepted", "duplicates", "resolved", "truncated", "cases", "warnings"} {
			if _, ok := fields[k]; !ok {
				t.Fatalf("status %d reply lacks %q: %s", w.Code, k, w.Body)
			}
		}
		rep := decodeReply(t, w)
		if rep.Cases == nil || rep.Warnings == nil {
			t.Fatalf("cases or warnings is null: %s", w.Body)
		}

		msg, parseErr := investigate.ParseWebhook(body)
		switch {
		case len(body) > fuzzMaxBody:
			if w.Code != http.StatusRequestEntityTooLarge {
				t.Fatalf("a %d-byte body answered %d, want 413", len(body), w.Code)
			}
		case parseErr != nil:
			if w.Code != http.StatusBadRequest || rep.Error == "" {
				t.Fatalf("malformed payload (%v) answered %d %q, want 400 with the reason", parseErr, w.Code, rep.Error)
			}
		default:
			if w.Code != http.StatusOK {
				t.Fatalf("a payload ParseWebhook accepts answered %d: %s", w.Code, w.Body)
			}
			if rep.Status != "ok" || rep.Error != "" || len(rep.Cases) != len(msg.Alerts) ||
				rep.Accepted+rep.Duplicates+rep.Resolved != len(msg.Alerts) || rep.Truncated != msg.Truncated {
				t.Fatalf("%d alerts (%d values cut) answered %s", len(msg.Alerts), msg.Truncated, w.Body)
			}
			for _, r := range q.reqs {
				if r.Alert == nil || r.Alert.Name() == "" || r.Source != investigate.SourceAlertmanager {
					t.Fatalf("recorded request without an alert name: %+v", r)
				}
			}
			return
		}
		if rep.Status != "error" || q.calls != 0 {
			t.Fatalf("refused body: status %q, %d enqueue calls", rep.Status, q.calls)
		}
	})
}
