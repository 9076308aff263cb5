package investigate_test

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"hash/fnv"
	"sort"
	"strings"
	"testing"
	"time"
	"unicode/utf8"

	"github.com/k8flex/k8flex/investigate"
)

func TestParseWebhookRealPayloads(t *testing.T) {
	for _, tt := range []struct {
		file        string
		status      string
		alerts      int
		alertname   string
		fingerprint string
		startsAt    string
		resolved    bool
	}{
		{"001-firing.json", "firing", 1, "KubePodCrashLooping", "6009ae20867e2891", "2026-11-27T00:14:49Z", false},
		{"002-resolved.json", "resolved", 1, "KubePodCrashLooping", "6009ae20867e2891", "2026-11-27T00:14:49Z", true},
		{"003-firing.json", "firing", 2, "KubePodNotReady", "9861ab05f0757602", "2026-11-27T00:14:56Z", false},
		{"prometheus-001-firing.json", "firing", 1, "DemoTargetDown", "967f438334abe4f5", "2026-11-27T00:15:14.568Z", false},
		{"prometheus-002-resolved.json", "resolved", 1, "DemoTargetDown", "967f438334abe4f5", "2026-11-27T00:15:14.568Z", true},
	} {
		t.Run(tt.file, func(t *testing.T) {
			body := testdataPayloads(t)[tt.file]
			if body == nil {
				t.Fatalf("testdata/alertmanager/%s missing", tt.file)
			}
			m, err := investigate.ParseWebhook(body)
			if err != nil {
				t.Fatalf("ParseWebhook: %v", err)
			}
			if m.Version != "4" || m.Status != tt.status || len(m.Alerts) != tt.alerts || m.Receiver != "k8s-bot" {
				t.Fatalf("got version %q status %q %d alerts receiver %q", m.Version, m.Status, len(m.Alerts), m.Receiver)
			}
			a := m.Alerts[0]
			if a.Name() != tt.alertname || a.Fingerprint != tt.fingerprint || a.Status != tt.status {
				t.Errorf("alert 0 = %s fp %s status %s", a.Name(), a.Fingerprint, a.Status)
			}
			want, _ := time.Parse(time.RFC3339Nano, tt.startsAt)
			if !a.StartsAt.Equal(want) {
				t.Errorf("StartsAt = %v, want %v", a.StartsAt, want)
			}
			if tt.resolved == a.EndsAt.IsZero() {
				t.Errorf("EndsAt = %v; resolved alert must carry an end time, a firing one the zero time", a.EndsAt)
			}
			if m.GroupLabels["alertname"] != tt.alertname || m.CommonLabels["alertname"] != tt.alertname {
				t.Errorf("group/common labels = %v / %v", m.GroupLabels, m.CommonLabels)
			}
			if !strings.HasPrefix(m.GroupKey, "{}:{alertname=") || m.ExternalURL == "" {
				t.Errorf("groupKey %q externalURL %q", m.GroupKey, m.ExternalURL)
			}
		})
	}
	// Details that only the real bodies carry: \u0026 in a URL and annotations.
	m, err := investigate.ParseWebhook(testdataPayloads(t)["prometheus-001-firing.json"])
	if err != nil {
		t.Fatal(err)
	}
	if g := m.Alerts[0].GeneratorURL; !strings.Contains(g, "&g0.tab=1") {
		t.Errorf("GeneratorURL %q: \\u0026 not decoded", g)
	}
	if s := m.Alerts[0].Summary(); s != "shop/api-0 is down" {
		t.Errorf("Summary = %q", s)
	}
}

func TestParseWebhookScenarioAlerts(t *testing.T) {
	for _, sc := range loadScenarios(t) {
		t.Run(sc.Name, func(t *testing.T) {
			m := sc.Message
			if m.Status != investigate.StatusFiring || len(m.Alerts) == 0 {
				t.Fatalf("status %q with %d alerts; every scenario fires", m.Status, len(m.Alerts))
			}
			for i, a := range m.Alerts {
				if a.Status != investigate.StatusFiring || a.Name() == "" || a.StartsAt.IsZero() || a.Fingerprint == "" {
					t.Errorf("alert %d: status %q name %q startsAt %v fingerprint %q", i, a.Status, a.Name(), a.StartsAt, a.Fingerprint)
				}
				if a.Summary() == "" {
					t.Errorf("alert %d has no summary/description", i)
				}
			}
			// The decoded message holds everything the body said: re-encoding
			// and decoding both give the same struct.
			again := roundTrip(t, m)
			if !bytes.Equal(mustJSON(t, again), mustJSON(t, m)) {
				t.Errorf("round trip changed the message")
			}
		})
	}
}

func TestParseWebhookRejects(t *testing.T) {
	valid := func(mut func(m map[string]any)) []byte {
		m := map[string]any{
			"version": "4", "status": "firing", "receiver": "k8flex",
			"alerts": []any{map[string]any{
				"status": "firing", "labels": map[string]any{"alertname": "KubePodCrashLooping", "namespace": "shop", "pod": "web-0"},
				"annotations": map[string]any{"summary": "crash"}, "startsAt": "2026-01-02T03:04:05Z",
				"endsAt": "0001-01-01T00:00:00Z", "fingerprint": "abc",
			}},
		}
		if mut != nil {
			mut(m)
		}
		b, err := json.Marshal(m)
		if err != nil {
			panic(err)
		}
		return b
	}
	alert := func(m map[string]any) map[string]any { return m["alerts"].([]any)[0].(map[string]any) }
	invalidUTF8 := bytes.Replace(valid(nil), []byte(`web-0`), []byte("web-\xff0"), 1)

	for _, tt := range []struct {
		name   string
		body   []byte
		reason string // substring of the error naming what is wrong
	}{
		{"empty body", nil, "decode json"},
		{"malformed json", []byte(`{"version":"4","alerts":[`), "decode json"},
		{"not an object", []byte(`[1,2,3]`), "decode json"},
		{"json null", []byte(`null`), "version"},
		{"wrong type for alerts", []byte(`{"version":"4","alerts":{}}`), "decode json"},
		{"wrong version", valid(func(m map[string]any) { m["version"] = "3" }), `version "3"`},
		{"missing version", valid(func(m map[string]any) { delete(m, "version") }), `version ""`},
		{"no alerts", valid(func(m map[string]any) { m["alerts"] = []any{} }), "no alerts"},
		{"alerts null", valid(func(m map[string]any) { m["alerts"] = nil }), "no alerts"},
		{"no alertname", valid(func(m map[string]any) { delete(alert(m)["labels"].(map[string]any), "alertname") }), "no alertname"},
		{"empty alertname", valid(func(m map[string]any) { alert(m)["labels"].(map[string]any)["alertname"] = "" }), "no alertname"},
		{"no labels at all", valid(func(m map[string]any) { delete(alert(m), "labels") }), "no alertname"},
		{"invalid utf-8", invalidUTF8, "UTF-8"},
		{"trailing object", append(valid(nil), []byte(`{}`)...), "trailing data"},
		{"trailing garbage", append(valid(nil), []byte(` x`)...), "trailing data"},
		{"second message", append(valid(nil), valid(nil)...), "trailing data"},
		{"bad status", valid(func(m map[string]any) { alert(m)["status"] = "pending" }), `status "pending"`},
		{"missing status", valid(func(m map[string]any) { delete(alert(m), "status") }), `status ""`},
		{"status case", valid(func(m map[string]any) { alert(m)["status"] = "Firing" }), `status "Firing"`},
		{"bad second alert", valid(func(m map[string]any) {
			m["alerts"] = append(m["alerts"].([]any), map[string]any{"status": "firing", "labels": map[string]any{}})
		}), "alert 1: no alertname"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			m, err := investigate.ParseWebhook(tt.body)
			if err == nil {
				t.Fatalf("accepted: %+v", m)
			}
			if m != nil {
				t.Errorf("returned a message with the error")
			}
			if !errors.Is(err, investigate.ErrInvalidPayload) {
				t.Errorf("error %q does not wrap ErrInvalidPayload", err)
			}
			if !strings.Contains(err.Error(), tt.reason) {
				t.Errorf("error %q does not name the reason %q", err, tt.reason)
			}
		})
	}
}

func TestParseWebhookAccepts(t *testing.T) {
	base := `{"version":"4","status":"firing","alerts":[{"status":"%s","labels":{"alertname":"A","pod":"%s"}%s}]%s}`
	for _, tt := range []struct {
		name string
		body string
	}{
		{"minimal", fmt.Sprintf(base, "firing", "p", "", "")},
		{"resolved", fmt.Sprintf(base, "resolved", "p", "", "")},
		{"trailing whitespace", fmt.Sprintf(base, "firing", "p", "", "") + " \n\t\r\n"},
		{"unknown fields kept for forward compatibility", fmt.Sprintf(base, "firing", "p", `,"newField":1`, `,"another":{"x":[1]}`)},
		{"label value at the limit", fmt.Sprintf(base, "firing", strings.Repeat("a", investigate.MaxLabelValueBytes-len("pod")), "", "")},
		{"unicode values", fmt.Sprintf(base, "firing", "Ünïcødé ✓ 日本", "", "")},
		{"escaped unicode", fmt.Sprintf(base, "firing", `\u00fc\ud83d\ude00`, "", "")},
	} {
		t.Run(tt.name, func(t *testing.T) {
			m, err := investigate.ParseWebhook([]byte(tt.body))
			if err != nil {
				t.Fatalf("rejected: %v", err)
			}
			if m.Alerts[0].Name() != "A" {
				t.Errorf("alertname %q", m.Alerts[0].Name())
			}
		})
	}
	t.Run("a group of 12,000 alerts is accepted whole", func(t *testing.T) {
		var b bytes.Buffer
		b.WriteString(`{"version":"4","status":"firing","alerts":[`)
		for i := range 12000 {
			if i > 0 {
				b.WriteByte(',')
			}
			fmt.Fprintf(&b, `{"status":"firing","labels":{"alertname":"A%d"}}`, i)
		}
		b.WriteString(`]}`)
		m, err := investigate.ParseWebhook(b.Bytes())
		if err != nil {
			t.Fatalf("rejected: %v", err)
		}
		if len(m.Alerts) != 12000 || m.Truncated != 0 {
			t.Errorf("%d alerts, %d truncated", len(m.Alerts), m.Truncated)
		}
	})
}

// TestParseWebhookTruncates checks that oversized labels and annotations
// cost no alert: they are cut with a marker, on a rune boundary, and
// counted.
func TestParseWebhookTruncates(t *testing.T) {
	msg := func(labels, annotations map[string]string) []byte {
		b, err := json.Marshal(map[string]any{"version": "4", "status": "firing",
			"alerts": []any{map[string]any{"status": "firing", "labels": labels, "annotations": annotations}}})
		if err != nil {
			t.Fatal(err)
		}
		return b
	}
	trace := strings.Repeat("goroutine 1 [running]: main.crash() ✗\n", 4000) // 64 KiB+, multi-byte runes
	many := map[string]string{"alertname": "Many"}
	for i := range investigate.MaxLabels + 10 {
		many[fmt.Sprintf("l%03d", i)] = "v"
	}
	for _, tt := range []struct {
		name      string
		body      []byte
		truncated int
		check     func(t *testing.T, a *investigate.Alert)
	}{
		{"64 KiB annotation", msg(map[string]string{"alertname": "Trace", "pod": "web-0"}, map[string]string{"description": trace, "summary": "crash"}), 1,
			func(t *testing.T, a *investigate.Alert) {
				d := a.Annotations["description"]
				if len(d)+len("description") > investigate.MaxLabelValueBytes || !utf8.ValidString(d) || !strings.Contains(d, "[truncated by k8flex:") {
					t.Errorf("description %d bytes, valid %v, tail %q", len(d), utf8.ValidString(d), d[max(0, len(d)-60):])
				}
				if !strings.HasPrefix(d, "goroutine 1") || a.Annotations["summary"] != "crash" || a.Labels["pod"] != "web-0" {
					t.Errorf("kept values changed: %q…", d[:40])
				}
			}},
		{"huge label name", msg(map[string]string{"alertname": "X", strings.Repeat("k", investigate.MaxLabelValueBytes): "v"}, nil), 1,
			func(t *testing.T, a *investigate.Alert) {
				for k, v := range a.Labels {
					if len(k)+len(v) > investigate.MaxLabelValueBytes {
						t.Errorf("label %d+%d bytes", len(k), len(v))
					}
				}
			}},
		{"too many labels keeps alertname", msg(many, nil), 11,
			func(t *testing.T, a *investigate.Alert) {
				if len(a.Labels) != investigate.MaxLabels || a.Name() != "Many" {
					t.Errorf("%d labels, alertname %q", len(a.Labels), a.Name())
				}
			}},
	} {
		t.Run(tt.name, func(t *testing.T) {
			m, err := investigate.ParseWebhook(tt.body)
			if err != nil {
				t.Fatalf("rejected: %v", err)
			}
			if m.Truncated != tt.truncated {
				t.Errorf("Truncated = %d, want %d", m.Truncated, tt.truncated)
			}
			tt.check(t, &m.Alerts[0])
		})
	}
}

func FuzzParseWebhook(f *testing.F) {
	for _, b := range testdataPayloads(f) {
		f.Add(b)
	}
	f.Add([]byte(`{"version":"4","status":"firing","alerts":[{"status":"firing","labels":{"alertname":"A"}}]}`))
	f.Add([]byte(`{"version":"4","alerts":[{"status":"resolved","labels":{"alertname":"\u0000"},"startsAt":"2026-01-01T00:00:00+14:00"}]} `))
	f.Add([]byte(`{"version":"4","alerts":[]}`))
	f.Add([]byte("\xff"))
	f.Fuzz(func(t *testing.T, body []byte) {
		m, err := investigate.ParseWebhook(body)
		if err != nil {
			if m != nil {
				t.Fatalf("message returned with error %v", err)
			}
			if !errors.Is(err, investigate.ErrInvalidPayload) {
				t.Fatalf("error %v does not wrap ErrInvalidPayload", err)
			}
			return
		}
		// An accepted payload satisfies what ParseWebhook promises ...
		if m.Version != "4" || len(m.Alerts) == 0 {
			t.Fatalf("accepted version %q with %d alerts", m.Version, len(m.Alerts))
		}
		for i, a := range m.Alerts {
			if a.Name() == "" || (a.Status != investigate.StatusFiring && a.Status != investigate.StatusResolved) {
				t.Fatalf("accepted alert %d: name %q status %q", i, a.Name(), a.Status)
			}
			if len(a.Labels) > investigate.MaxLabels || len(a.Annotations) > investigate.MaxLabels {
				t.Fatalf("accepted alert %d with %d labels, %d annotations", i, len(a.Labels), len(a.Annotations))
			}
			for _, kv := range []map[string]string{a.Labels, a.Annotations} {
				for k, v := range kv {
					if len(k)+len(v) > investigate.MaxLabelValueBytes {
						t.Fatalf("accepted alert %d with a %d-byte entry", i, len(k)+len(v))
					}
				}
			}
			_ = a.Key()
			_ = investigate.TargetFromAlert(&m.Alerts[i])
			_ = investigate.CategorizeByRules(&m.Alerts[i])
		}
		// ... and re-marshals into a body that is accepted again, unchanged.
		b1, err := json.Marshal(m)
		if err != nil {
			t.Fatalf("accepted payload does not re-marshal: %v", err)
		}
		m2, err := investigate.ParseWebhook(b1)
		if err != nil {
			t.Fatalf("re-marshalled payload rejected: %v\n%s", err, b1)
		}
		b2, err := json.Marshal(m2)
		if err != nil {
			t.Fatal(err)
		}
		if !bytes.Equal(b1, b2) {
			t.Fatalf("round trip changed the payload:\n%s\n%s", b1, b2)
		}
	})
}

func TestAlertKey(t *testing.T) {
	t0 := time.Date(2026, 11, 27, 0, 14, 49, 0, time.UTC)
	labels := map[string]string{"alertname": "KubePodCrashLooping", "namespace": "shop", "pod": "web-0"}
	mk := func(fp string, starts time.Time, status string, l map[string]string) *investigate.Alert {
		return &investigate.Alert{Fingerprint: fp, StartsAt: starts, Status: status, Labels: l}
	}
	base := mk("6009ae20867e2891", t0, "firing", labels)
	for _, tt := range []struct {
		name string
		a    *investigate.Alert
		same bool
	}{
		{"identical re-send", mk("6009ae20867e2891", t0, "firing", labels), true},
		{"resolved notice of the same firing", mk("6009ae20867e2891", t0, "resolved", labels), true},
		{"same instant in another zone", mk("6009ae20867e2891", t0.In(time.FixedZone("CET", 3600)), "firing", labels), true},
		{"annotations changed between sends", func() *investigate.Alert {
			a := mk("6009ae20867e2891", t0, "firing", labels)
			a.Annotations = map[string]string{"description": "restarted 12 times"}
			return a
		}(), true},
		{"new firing of the same alert", mk("6009ae20867e2891", t0.Add(time.Hour), "firing", labels), false},
		{"other alert at the same instant", mk("9861ab05f0757602", t0, "firing", labels), false},
		{"one nanosecond later", mk("6009ae20867e2891", t0.Add(time.Nanosecond), "firing", labels), false},
	} {
		t.Run(tt.name, func(t *testing.T) {
			if got := tt.a.Key() == base.Key(); got != tt.same {
				t.Errorf("Key %q vs %q: same = %v, want %v", tt.a.Key(), base.Key(), got, tt.same)
			}
		})
	}

	t.Run("without fingerprint: derived from labels", func(t *testing.T) {
		a := mk("", t0, "firing", labels)
		b := mk("", t0, "firing", map[string]string{"pod": "web-0", "alertname": "KubePodCrashLooping", "namespace": "shop"})
		c := mk("", t0, "firing", map[string]string{"alertname": "KubePodCrashLooping", "namespace": "shop", "pod": "web-1"})
		if a.Key() != b.Key() {
			t.Errorf("same labels, different keys %q %q", a.Key(), b.Key())
		}
		if a.Key() == c.Key() {
			t.Errorf("different pods share key %q", a.Key())
		}
		if !strings.HasPrefix(a.Key(), investigate.LabelsFingerprint(labels)+"@") {
			t.Errorf("Key %q does not use the labels fingerprint", a.Key())
		}
	})

	t.Run("real firing and resolved payloads share the key", func(t *testing.T) {
		p := testdataPayloads(t)
		for _, pair := range [][2]string{{"001-firing.json", "002-resolved.json"}, {"prometheus-001-firing.json", "prometheus-002-resolved.json"}} {
			f, err1 := investigate.ParseWebhook(p[pair[0]])
			r, err2 := investigate.ParseWebhook(p[pair[1]])
			if err1 != nil || err2 != nil {
				t.Fatal(err1, err2)
			}
			if f.Alerts[0].Key() != r.Alerts[0].Key() {
				t.Errorf("%s and %s: keys %q and %q differ", pair[0], pair[1], f.Alerts[0].Key(), r.Alerts[0].Key())
			}
		}
		m, _ := investigate.ParseWebhook(p["003-firing.json"])
		if m.Alerts[0].Key() == m.Alerts[1].Key() {
			t.Errorf("the two alerts of 003-firing.json share key %q", m.Alerts[0].Key())
		}
	})
}

// fnvOfLabels is FNV-1a over "k 0xff v 0xff ..." in sorted key order, written
// with the standard library's hash/fnv: the digest LabelsFingerprint promises.
func fnvOfLabels(labels map[string]string) string {
	keys := make([]string, 0, len(labels))
	for k := range labels {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	h := fnv.New64a()
	for _, k := range keys {
		h.Write([]byte(k))
		h.Write([]byte{0xff})
		h.Write([]byte(labels[k]))
		h.Write([]byte{0xff})
	}
	return fmt.Sprintf("%016x", h.Sum64())
}

func TestLabelsFingerprint(t *testing.T) {
	for _, tt := range []struct {
		name string
		a, b map[string]string
		same bool
	}{
		{"nil and empty", nil, map[string]string{}, true},
		{"same labels", map[string]string{"a": "1", "b": "2"}, map[string]string{"b": "2", "a": "1"}, true},
		{"value moved into key", map[string]string{"a": "bc"}, map[string]string{"ab": "c"}, false},
		{"empty value vs absent label", map[string]string{"a": ""}, map[string]string{}, false},
		{"key and value swapped", map[string]string{"a": "b"}, map[string]string{"b": "a"}, false},
		{"two labels vs one joined", map[string]string{"a": "", "b": ""}, map[string]string{"ab": ""}, false},
		{"one value differs", map[string]string{"alertname": "X", "pod": "web-0"}, map[string]string{"alertname": "X", "pod": "web-1"}, false},
	} {
		t.Run(tt.name, func(t *testing.T) {
			fa, fb := investigate.LabelsFingerprint(tt.a), investigate.LabelsFingerprint(tt.b)
			if (fa == fb) != tt.same {
				t.Errorf("fingerprints %s %s: same = %v, want %v", fa, fb, fa == fb, tt.same)
			}
			if len(fa) != 16 || strings.Trim(fa, "0123456789abcdef") != "" {
				t.Errorf("fingerprint %q is not 16 hex digits", fa)
			}
			if want := fnvOfLabels(tt.a); fa != want {
				t.Errorf("LabelsFingerprint = %s, FNV-1a of the sorted labels = %s", fa, want)
			}
		})
	}
	t.Run("stable across calls and map orders", func(t *testing.T) {
		l := map[string]string{}
		for i := range 200 {
			l[fmt.Sprintf("label_%03d", i)] = fmt.Sprintf("value-%d", i*7)
		}
		first := investigate.LabelsFingerprint(l)
		for range 50 { // map iteration order is randomised on every range
			c := make(map[string]string, len(l))
			for k, v := range l {
				c[k] = v
			}
			if got := investigate.LabelsFingerprint(c); got != first {
				t.Fatalf("fingerprint changed: %s then %s", first, got)
			}
		}
	})
	t.Run("pinned value", func(t *testing.T) {
		// Keys derived from it may be stored (dedup across restarts): the
		// digest of a label set must not change between releases.
		got := investigate.LabelsFingerprint(map[string]string{"alertname": "KubePodCrashLooping", "namespace": "shop", "pod": "web-0"})
		if want := "52fe9743cb4cef2c"; got != want {
			t.Errorf("LabelsFingerprint = %s, pinned %s", got, want)
		}
	})
}

func roundTrip(t *testing.T, m *investigate.WebhookMessage) *investigate.WebhookMessage {
	t.Helper()
	again, err := investigate.ParseWebhook(mustJSON(t, m))
	if err != nil {
		t.Fatalf("re-parse: %v", err)
	}
	return again
}

func mustJSON(t testing.TB, v any) []byte {
	t.Helper()
	b, err := json.Marshal(v)
	if err != nil {
		t.Fatal(err)
	}
	return b
}
