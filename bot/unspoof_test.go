package bot

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/k8flex/k8flex/internal/fakeslack"
	"github.com/k8flex/k8flex/investigate"
)

// spoofChars are every character Unspoof removes.
var spoofChars = []rune{0x202A, 0x202B, 0x202C, 0x202D, 0x202E, 0x2066, 0x2067, 0x2068, 0x2069,
	0x200E, 0x200F, 0x061C, 0x200B, 0x200C, 0x200D, 0x2060, 0xFEFF}

// firstSpoof returns the first spoofing character in s as U+XXXX, or "".
func firstSpoof(s string) string {
	for _, r := range s {
		for _, c := range spoofChars {
			if r == c {
				return fmt.Sprintf("U+%04X", r)
			}
		}
	}
	return ""
}

// spoofed wraps s in every spoofing character, with a right-to-left
// override in its middle (so "kube-system" would read "metsys-ebuk").
func spoofed(s string) string {
	mid := len(s) / 2
	return "\u2066\u200B" + s[:mid] + "\u202E\u200D" + s[mid:] + "\u202C\u2069\uFEFF\u200E\u200F\u061C\u2060\u200C\u202A\u202B\u202D\u2067\u2068"
}

func TestUnspoof(t *testing.T) {
	for _, tt := range []struct{ in, want string }{
		{"", ""},
		{"plain ascii", "plain ascii"},
		{"naïve café — “quoted” ✅ 👩‍💻", "naïve café — “quoted” ✅ 👩💻"}, // a ZWJ sequence falls apart, harmlessly
		{"invoice\u202Efdp.exe", "invoicefdp.exe"},
		{spoofed("kube-system"), "kube-system"},
		{"עברית\u200F (RLM) and العربية\u061C", "עברית (RLM) and العربية"},
		{"\u2028line separator stays", "\u2028line separator stays"},
		{"\u00ADsoft hyphen stays visible to Slack", "\u00ADsoft hyphen stays visible to Slack"},
	} {
		got := Unspoof(tt.in)
		if got != tt.want {
			t.Errorf("Unspoof(%q) = %q, want %q", tt.in, got, tt.want)
		}
		if s := firstSpoof(got); s != "" {
			t.Errorf("Unspoof(%q) kept %s", tt.in, s)
		}
	}
	for _, r := range spoofChars {
		if got := Unspoof("a" + string(r) + "b"); got != "ab" {
			t.Errorf("U+%04X kept: %q", r, got)
		}
	}
}

// TestUnspoofTransport: form values, JSON bodies and query strings are
// cleaned on their way out; the rest of the request is untouched.
func TestUnspoofTransport(t *testing.T) {
	type seen struct {
		body, query, ctype string
		length             int64
	}
	got := make(chan seen, 1)
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		b, _ := io.ReadAll(r.Body)
		got <- seen{body: string(b), query: r.URL.RawQuery, ctype: r.Header.Get("Content-Type"), length: r.ContentLength}
	}))
	defer srv.Close()
	client := &http.Client{Transport: unspoofTransport{next: http.DefaultTransport}}
	for _, tt := range []struct {
		name, ctype, body, query string
		wantBody, wantQuery      string
	}{
		{name: "form", ctype: "application/x-www-form-urlencoded",
			body:     url.Values{"text": {spoofed("pod/web-0")}, "blocks": {`[{"text":"` + spoofed("x") + `"}]`}}.Encode(),
			wantBody: url.Values{"text": {"pod/web-0"}, "blocks": {`[{"text":"x"}]`}}.Encode()},
		{name: "json", ctype: "application/json; charset=utf-8", body: `{"view":{"text":"` + spoofed("shop") + `"}}`,
			wantBody: `{"view":{"text":"shop"}}`},
		{name: "query", ctype: "application/x-www-form-urlencoded", query: url.Values{"q": {spoofed("db")}}.Encode(),
			wantQuery: "q=db"},
		{name: "clean form unchanged", ctype: "application/x-www-form-urlencoded", body: "z=1&a=%E2%9C%85", wantBody: "z=1&a=%E2%9C%85"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			u := srv.URL + "/api/chat.postMessage"
			if tt.query != "" {
				u += "?" + tt.query
			}
			req, _ := http.NewRequest(http.MethodPost, u, strings.NewReader(tt.body))
			req.Header.Set("Content-Type", tt.ctype)
			resp, err := client.Do(req)
			if err != nil {
				t.Fatal(err)
			}
			resp.Body.Close()
			s := <-got
			if s.body != tt.wantBody || s.query != tt.wantQuery || s.ctype != tt.ctype || s.length != int64(len(s.body)) {
				t.Errorf("sent body %q query %q (%s, %d bytes); want body %q query %q", s.body, s.query, s.ctype, s.length,
					tt.wantBody, tt.wantQuery)
			}
		})
	}
	req, _ := http.NewRequest(http.MethodPost, srv.URL, strings.NewReader("--x\r\n"))
	req.Header.Set("Content-Type", "multipart/form-data; boundary=x")
	if _, err := client.Do(req); err == nil {
		t.Error("a multipart body was sent without being checked")
	}
}

// TestNoSpoofReachesSlack drives hostile text from every source — an
// alert's labels, annotations and links, the model's analysis, stored
// cases, slash-command text, a search typed in the App Home — through the
// real rendering into the fake Slack, and checks that no bidirectional
// control or zero-width character is in any Web API call or ack, while
// the text itself arrives readable.
func TestNoSpoofReachesSlack(t *testing.T) {
	fs := fakeslack.New(fakeslack.Options{})
	defer fs.Close()
	kb := newFakeKB()
	analysis := "## " + spoofed("Root cause") + "\nConfigMap **" + spoofed("app-settings") + "** is missing.\n" +
		"- log: `" + spoofed("invoice.pdf") + "`\n```\n" + spoofed("panic: nil map") + "\n```\n[" + spoofed("runbook") +
		"](https://runbooks.example/" + spoofed("x") + ")\n"
	inv := &fakeInvestigator{analysis: analysis, kb: kb}
	cfg := testConfig(fs)
	b := startBot(t, fs, cfg, Deps{Queue: inv, Feedback: kb, Knowledge: kb})
	ctx := context.Background()

	// An alert thread (posted messages and updates).
	a := testAlert(spoofed("KubePodCrashLooping"))
	a.Labels["namespace"] = spoofed("shop")
	a.Labels["pod"] = spoofed("web-0")
	a.Labels["severity"] = spoofed("critical")
	a.Annotations["summary"] = spoofed("Pod shop/web-0 is crash looping")
	a.Annotations["description"] = spoofed("restarted 5 times")
	a.Annotations["runbook_url"] = "https://runbooks.example/" + spoofed("crash")
	a.GeneratorURL = "http://prometheus.example/graph?g0.expr=" + spoofed("up")
	alertInv := testInvestigation("case-alert", a)
	alertInv.Similar[0].RootCause = spoofed("ConfigMap app-settings missing")
	alertInv.Similar[0].AlertName = spoofed("KubePodCrashLooping")
	kb.add(CaseSummary{ID: "case-alert", AlertName: spoofed("KubePodCrashLooping"), Category: investigate.PodCrash,
		Namespace: spoofed("shop"), RootCause: spoofed("memory limit too low"), CreatedAt: time.Now()})
	kb.verdicts["case-alert"] = Verdict{Correct: true}
	r := b.Reporter("")
	if err := r.Started(ctx, alertInv); err != nil {
		t.Fatal(err)
	}
	r.Chunk(ctx, analysis)
	res := testResult(alertInv, analysis)
	res.Analysis.FallbackReason = spoofed("model timed out")
	res.Analysis.Model = spoofed("gpt")
	if err := r.Finished(ctx, res); err != nil {
		t.Fatal(err)
	}
	select {
	case <-r.Done():
	case <-time.After(10 * time.Second):
		t.Fatal("reporter did not finish")
	}
	_, rootTS := r.Thread()
	if err := b.NoteDuplicate(ctx, testChannel, rootTS, nil, 2, time.Now()); err != nil {
		t.Fatal(err)
	}
	if err := b.MarkResolved(ctx, testChannel, rootTS, nil, time.Now()); err != nil {
		t.Fatal(err)
	}

	// Slash commands: a streamed investigation with a hostile question,
	// an unknown command, a knowledge-base search, stats.
	var acks []string
	for _, text := range []string{"investigate pod/web-0 -n shop " + spoofed("why is it slow?"), spoofed("frobnicate"),
		"kb " + spoofed("memory"), "stats", "investigate " + spoofed("pod/web-0")} {
		env, err := fs.PushSlashCommand(fakeslack.SlashCommand{UserID: "U0DAVE", ChannelID: testChannel, Text: text})
		if err != nil {
			t.Fatal(err)
		}
		acks = append(acks, env)
	}
	eventually(t, 10*time.Second, "the slash investigation's stream", func() bool { return len(fs.Calls("chat.stopStream")) == 1 })
	eventually(t, 5*time.Second, "kb and stats answers", func() bool { return len(fs.Calls("chat.postEphemeral")) >= 2 })

	// The App Home, and a search typed into it.
	if _, err := fs.PushEvent(map[string]any{"type": "app_home_opened", "user": "U0DAVE", "tab": "home", "channel": "D1"}); err != nil {
		t.Fatal(err)
	}
	eventually(t, 5*time.Second, "home", func() bool { return len(fs.Calls("views.publish")) >= 1 })
	if _, err := fs.PushInteractive(map[string]any{"type": "view_submission", "user": map[string]any{"id": "U0DAVE"},
		"team": map[string]any{"id": fakeslack.TeamID},
		"view": map[string]any{"callback_id": callbackSearch, "private_metadata": `{"c":"` + spoofed("pod-crash") + `"}`,
			"state": map[string]any{"values": map[string]any{blockSearchInput: map[string]any{actionSearchInput: map[string]any{
				"type": "plain_text_input", "value": spoofed("memory")}}}}}}); err != nil {
		t.Fatal(err)
	}
	eventually(t, 5*time.Second, "home after the search", func() bool { return len(fs.Calls("views.publish")) >= 2 })
	for _, env := range acks {
		eventually(t, 5*time.Second, "ack "+env, func() bool { _, ok := fs.AckFor(env); return ok })
	}

	// Nothing spoofing left the process ...
	calls := fs.Calls()
	var sent strings.Builder
	for _, c := range calls {
		for k, vs := range c.Args {
			for _, v := range append([]string{k}, vs...) {
				if s := firstSpoof(v); s != "" {
					t.Errorf("%s %s carries %s: %q", c.Method, k, s, v)
				}
				sent.WriteString(v + "\n")
			}
		}
	}
	for _, ack := range fs.Acks() {
		if s := firstSpoof(string(ack.Payload)); s != "" {
			t.Errorf("ack %s carries %s: %s", ack.EnvelopeID, s, ack.Payload)
		}
		sent.Write(ack.Payload)
	}
	// ... yet every hostile text arrived, readable.
	all := sent.String()
	var decoded strings.Builder
	decoded.WriteString(all)
	for _, c := range calls {
		decoded.WriteString(texts(t, c.Args.Get("blocks")))
		if v := c.Args.Get("view"); v != "" {
			var view struct{ Blocks json.RawMessage }
			if json.Unmarshal([]byte(v), &view) == nil {
				decoded.WriteString(texts(t, string(view.Blocks)))
			}
		}
	}
	for _, want := range []string{"KubePodCrashLooping", "Pod shop/web-0 is crash looping", "restarted 5 times", "app-settings",
		"invoice.pdf", "panic: nil map", "ConfigMap app-settings missing", "model timed out", "why is it slow?",
		"frobnicate", "memory limit too low", "Resolved", "Notified again"} {
		if !strings.Contains(decoded.String(), want) {
			t.Errorf("%q never reached Slack", want)
		}
	}
	// A link whose address holds a spoofing character is shown as text only.
	if strings.Contains(all, "runbooks.example/crash") {
		t.Error("a spoofed runbook URL was linked")
	}
	if n := len(calls); n < 10 {
		t.Errorf("only %d Web API calls were made; the test exercised less than it claims", n)
	}
}
