package bot

import (
	"context"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/k8flex/k8flex/internal/fakeslack"
	"github.com/k8flex/k8flex/redact"
)

// queryRecorder is a KnowledgeBrowser that records the search texts it
// was asked for.
type queryRecorder struct {
	*fakeKB
	mu      sync.Mutex
	queries []string
}

func (q *queryRecorder) Cases(ctx context.Context, cq CaseQuery) (CasePage, error) {
	q.mu.Lock()
	q.queries = append(q.queries, cq.Text)
	q.mu.Unlock()
	return q.fakeKB.Cases(ctx, cq)
}

func (q *queryRecorder) searched() []string {
	q.mu.Lock()
	defer q.mu.Unlock()
	return append([]string(nil), q.queries...)
}

// TestNothingTypedIsEchoedUnredacted plants credentials in everything a
// user can type — /k8flex kb, an unknown subcommand, an investigation's
// question, an App Home search — and checks that none reaches Slack (acks,
// ephemeral answers, the thread's root message, the App Home view and its
// private_metadata), the knowledge-base search or the investigation
// request, while the redacted echo does arrive.
func TestNothingTypedIsEchoedUnredacted(t *testing.T) {
	const (
		githubToken = "ghp_R4nd0mPl4nt3dT0k3nF0rK8fl3xT3st1ng00"
		slackToken  = "xoxb-1234567890-0987654321-PlantedSlackBotToken"
		password    = "hunter2-planted-pw"
	)
	secrets := []string{githubToken, slackToken, password}
	for _, s := range secrets {
		if strings.Contains(redact.String("x "+s+" x"), s) && s != password {
			t.Fatalf("redact does not recognise the planted %q; the test would prove nothing", s)
		}
	}
	fs := fakeslack.New(fakeslack.Options{})
	defer fs.Close()
	kb := &queryRecorder{fakeKB: newFakeKB()}
	inv := &fakeInvestigator{analysis: "## Root cause\nnothing\n"}
	startBot(t, fs, testConfig(fs), Deps{Queue: inv, Feedback: kb.fakeKB, Knowledge: kb})

	// A token straddling the 200 characters the kb answer echoes: cut
	// before redaction, its first characters would escape the rule.
	long := strings.Repeat("a", 190) + " " + githubToken
	var envs []string
	for _, text := range []string{
		"kb checkout fails with " + githubToken,
		"kb " + long,
		slackToken,
		"investigate pod/web-0 -n shop why does password=" + password + " fail with " + githubToken,
	} {
		env, err := fs.PushSlashCommand(fakeslack.SlashCommand{UserID: "U0DAVE", ChannelID: testChannel, Text: text})
		if err != nil {
			t.Fatal(err)
		}
		envs = append(envs, env)
	}
	if _, err := fs.PushInteractive(map[string]any{"type": "view_submission", "user": map[string]any{"id": "U0DAVE"},
		"team": map[string]any{"id": fakeslack.TeamID},
		"view": map[string]any{"callback_id": callbackSearch, "private_metadata": `{"q":"` + slackToken + `"}`,
			"state": map[string]any{"values": map[string]any{blockSearchInput: map[string]any{actionSearchInput: map[string]any{
				"type": "plain_text_input", "value": "OOM after deploy " + githubToken}}}}}}); err != nil {
		t.Fatal(err)
	}
	eventually(t, 10*time.Second, "both kb answers", func() bool { return len(fs.Calls("chat.postEphemeral")) >= 2 })
	eventually(t, 10*time.Second, "the investigation's stream", func() bool { return len(fs.Calls("chat.stopStream")) == 1 })
	eventually(t, 5*time.Second, "the searched App Home", func() bool { return len(fs.Calls("views.publish")) >= 1 })
	for _, env := range envs {
		eventually(t, 5*time.Second, "ack", func() bool { _, ok := fs.AckFor(env); return ok })
	}

	var sent strings.Builder
	for _, c := range fs.Calls() {
		for _, vs := range c.Args {
			for _, v := range vs {
				sent.WriteString(c.Method + ": " + v + "\n")
			}
		}
	}
	for _, a := range fs.Acks() {
		sent.WriteString("ack: " + string(a.Payload) + "\n")
	}
	for _, r := range inv.requests() {
		sent.WriteString("request question: " + r.Question + "\n")
	}
	for _, q := range kb.searched() {
		sent.WriteString("kb search: " + q + "\n")
	}
	all := sent.String()
	for _, s := range secrets {
		for _, piece := range []string{s, s[:12]} {
			if strings.Contains(all, piece) {
				t.Errorf("planted %q reached Slack, the knowledge base or the engine:\n%s", piece, lineWith(all, piece))
			}
		}
	}
	// The echoes happened, redacted.
	for _, want := range []string{"ack: ", "Unknown command", "Validated cases similar to", "kb search: checkout fails with",
		"request question: why does password=", "chat.postMessage"} {
		if !strings.Contains(all, want) {
			t.Errorf("no %q in what was sent; the test exercised less than it claims", want)
		}
	}
	if n := strings.Count(all, redact.Mask); n < 5 {
		t.Errorf("%s appears %d times in what was sent, want the echoes to carry it", redact.Mask, n)
	}
}

// lineWith returns the lines of s containing sub.
func lineWith(s, sub string) string {
	var out []string
	for _, l := range strings.Split(s, "\n") {
		if strings.Contains(l, sub) {
			out = append(out, l)
		}
	}
	return strings.Join(out, "\n")
}
