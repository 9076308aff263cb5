package bot

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"path"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"
	"unicode/utf8"

	"github.com/slack-go/slack"

	"github.com/k8flex/k8flex/investigate"
	"github.com/k8flex/k8flex/redact"
)

// blockKitViolations lists what in a blocks JSON document Slack would
// refuse (limits) or act on (mentions, links to anything but http(s)),
// and any spoofing character.
func blockKitViolations(blocksJSON string, maxBlocks int) []string {
	var bad []string
	add := func(format string, a ...any) { bad = append(bad, fmt.Sprintf(format, a...)) }
	if !utf8.ValidString(blocksJSON) {
		add("blocks are not UTF-8")
	}
	if s := firstSpoof(blocksJSON); s != "" {
		add("blocks carry %s", s)
	}
	var blocks []map[string]any
	if err := json.Unmarshal([]byte(blocksJSON), &blocks); err != nil {
		return append(bad, "blocks are not a JSON array: "+err.Error())
	}
	if len(blocks) > maxBlocks {
		add("%d blocks, Slack allows %d", len(blocks), maxBlocks)
	}
	text := func(where string, obj any, max int) {
		o, ok := obj.(map[string]any)
		if !ok {
			return
		}
		s, _ := o["text"].(string)
		if n := utf8.RuneCountInString(s); n > max {
			add("%s: %d chars, Slack allows %d", where, n, max)
		}
		if o["type"] == "mrkdwn" {
			bad = append(bad, mrkdwnViolations(where, s)...)
		}
	}
	for i, b := range blocks {
		where := fmt.Sprintf("block %d (%v)", i, b["type"])
		if id, _ := b["block_id"].(string); len(id) > 255 {
			add("%s: block_id of %d chars", where, len(id))
		}
		switch b["type"] {
		case "header":
			text(where, b["text"], MaxHeaderChars)
		case "section":
			text(where, b["text"], MaxSectionChars)
			fields, _ := b["fields"].([]any)
			if len(fields) > 10 {
				add("%s: %d fields", where, len(fields))
			}
			for j, fl := range fields {
				text(fmt.Sprintf("%s field %d", where, j), fl, MaxFieldChars)
			}
		case "context":
			els, _ := b["elements"].([]any)
			if len(els) > 10 {
				add("%s: %d elements", where, len(els))
			}
			for j, e := range els {
				text(fmt.Sprintf("%s element %d", where, j), e, MaxContextChars)
			}
		case "actions":
			els, _ := b["elements"].([]any)
			for j, e := range els {
				if v, _ := e.(map[string]any)["value"].(string); len(v) > 2000 {
					add("%s element %d: value of %d chars", where, j, len(v))
				}
			}
		}
	}
	return bad
}

// linkTargets matches the address part of a link, which Slack does not
// scan for mentions.
var linkTargets = regexp.MustCompile(`<[^|>]*`)

// mrkdwnViolations checks one mrkdwn text: every "<" opens a link to an
// http(s) address whose label holds no markup, so no mention (<!channel>,
// <@U…>, <!subteam^…>), channel link or other scheme can be in it, and no
// bare @channel/@here/@everyone.
func mrkdwnViolations(where, s string) []string {
	var bad []string
	for rest := s; ; {
		i := strings.IndexByte(rest, '<')
		if i < 0 {
			break
		}
		rest = rest[i+1:]
		end := strings.IndexByte(rest, '>')
		if end < 0 {
			bad = append(bad, fmt.Sprintf("%s: unclosed < in %q", where, s))
			break
		}
		link := rest[:end]
		target, label, _ := strings.Cut(link, "|")
		if u, err := url.Parse(target); err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" ||
			strings.ContainsAny(target, " <") || strings.Contains(label, "<") {
			bad = append(bad, fmt.Sprintf("%s: active markup <%s>", where, link))
		}
		rest = rest[end+1:]
	}
	if broadcast.MatchString(linkTargets.ReplaceAllString(s, "<")) {
		bad = append(bad, fmt.Sprintf("%s: bare broadcast mention in %q", where, s))
	}
	return bad
}

// FuzzRenderBlocks renders an investigation from arbitrary alert labels,
// annotations, links, analysis text and past root causes — the root
// message in every phase, each analysis page while streaming and final,
// the verdict, the streamed text, the App Home — and checks every Block
// Kit document against Slack's limits, mrkdwn and mention escaping, and
// spoofing characters.
func FuzzRenderBlocks(f *testing.F) {
	f.Add("KubePodCrashLooping", "shop", "web-0", "Pod shop/web-0 is crash looping", "restarted 5 times",
		"https://runbooks.example/crash", sampleAnalysis, "ConfigMap missing", uint16(11000))
	for _, h := range hostile {
		f.Add(h, h, h, h, h, "http://evil.example/|"+h, "## "+h+"\n- "+h+"\n```\n"+h+"\n```\n["+h+"](http://x)", h, uint16(500))
	}
	f.Add(spoofed("KubePodCrashLooping"), spoofed("kube-system"), spoofed("web-0"), spoofed("summary"), spoofed("desc"),
		"https://runbooks.example/"+spoofed("x"), spoofed(sampleAnalysis), spoofed("root"), uint16(600))
	f.Add(strings.Repeat("A", 400), strings.Repeat("n", 300), strings.Repeat("<", 3000), strings.Repeat("&", 4000),
		strings.Repeat("*_~`", 2000), "https://"+strings.Repeat("h", 3000)+".example", strings.Repeat("<&>\n", 3500)+
			strings.Repeat("```\n", 50), strings.Repeat("r", 6000), uint16(12000))

	f.Fuzz(func(t *testing.T, name, ns, pod, summary, description, link, analysis, rootCause string, pageChars uint16) {
		a := &investigate.Alert{Status: investigate.StatusFiring,
			Labels:      map[string]string{"alertname": name, "severity": summary, "namespace": ns, "pod": pod},
			Annotations: map[string]string{"summary": summary, "description": description, "runbook_url": link, "dashboard_url": link},
			StartsAt:    time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC), GeneratorURL: link}
		inv := testInvestigation(pod, a)
		inv.Target = investigate.Target{Kind: investigate.KindPod, Name: pod, Namespace: ns}
		inv.Request.Question = description
		inv.Request.RequestedBy = name
		inv.Request.Source = investigate.SourceSlack
		inv.Categorization.Reason = rootCause
		inv.Similar = append(inv.Similar, investigate.SimilarCase{ID: pod, AlertName: name, RootCause: rootCause, ThreadURL: link,
			Category: investigate.Category(ns), Similarity: 0.8})
		res := testResult(inv, analysis)
		res.Analysis.FallbackReason, res.Analysis.Model, res.Analysis.Analyzer = rootCause, name, ns
		res.Evidence.Gaps = []investigate.Gap{{Collector: name, Reason: rootCause}}

		check := func(what string, blocks []slack.Block, max int) {
			t.Helper()
			for _, v := range blockKitViolations(mustJSON(blocks), max) {
				t.Errorf("%s: %s", what, v)
			}
		}
		for _, st := range []rootState{
			{inv: inv, phase: phaseRunning, repeats: 3, lastRepeat: time.Now(), folded: 2},
			{inv: inv, phase: phaseDone, rootCause: rootCause, resolvedAt: time.Now()},
			{inv: inv, phase: phaseFailed},
		} {
			check(fmt.Sprintf("root (phase %d)", st.phase), rootBlocks(&st), MaxMessageBlocks)
			if fb := rootFallback(&st); firstSpoof(fb) != "" || utf8.RuneCountInString(fb) > MaxFallbackChars {
				t.Errorf("root fallback %q", fb)
			}
		}
		max := min(max(int(pageChars), 500), 12000)
		pages := splitPages(analysis, max)
		for i, p := range pages {
			for _, final := range []bool{false, true} {
				v := pageView{index: i, text: p, last: i == len(pages)-1, final: final, result: res, caseRef: "case-fuzz"}
				blocks := pageBlocks(v)
				check(fmt.Sprintf("page %d (final %v)", i, final), blocks, MaxMessageBlocks)
				if v.final && v.last {
					check("verdict", verdictBlocks(blocks, Verdict{User: name, Correct: true, At: time.Now()}), MaxMessageBlocks)
				}
				if fb := pageFallback(v); firstSpoof(fb) != "" || utf8.RuneCountInString(fb) > MaxFallbackChars {
					t.Errorf("page fallback %q", fb)
				}
			}
			for _, complete := range []bool{false, true} {
				if s := streamText(p, complete); firstSpoof(s) != "" || len(mrkdwnViolations("stream", s)) > 0 {
					t.Errorf("streamed text %q: %v %s", s, mrkdwnViolations("stream", s), firstSpoof(s))
				}
			}
		}
		for _, piece := range SplitText(ToMrkdwn(analysis), MaxSectionChars) {
			if n := utf8.RuneCountInString(piece); n > MaxSectionChars {
				t.Errorf("SplitText piece of %d chars", n)
			}
		}

		kb := newFakeKB()
		kb.add(CaseSummary{ID: pod, AlertName: name, Category: investigate.Category(ns), Namespace: ns, RootCause: rootCause,
			ThreadURL: link, CreatedAt: time.Now()})
		kb.verdicts[pod] = Verdict{Correct: true}
		b := &Bot{cfg: Config{HomePageSize: 20}, deps: Deps{Knowledge: kb}}
		check("home", b.homeBlocks(context.Background(), homeState{Category: ns, Query: ""}), MaxHomeViewBlocks)
	})
}

// TestCutNeverSplitsALink: text cut to a limit ends before a link that
// does not fit rather than inside it, and an address too long to fit a
// context element is not linked at all.
func TestCutNeverSplitsALink(t *testing.T) {
	link := Link("https://runbooks.example/"+strings.Repeat("p", 100), "Runbook")
	s := "see " + link + " now"
	for n := 5; n < len(s); n += 7 {
		got := truncate(s, n)
		if strings.Count(got, "<") != strings.Count(got, ">") {
			t.Errorf("truncate(%d) = %q splits the link", n, got)
		}
	}
	if got := Link("https://x.example/"+strings.Repeat("y", maxLinkURL), "Graph"); got != "Graph" {
		t.Errorf("an address of %d chars was linked: %.80q", maxLinkURL+18, got)
	}
	for _, piece := range SplitText(strings.Repeat(link+" ", 100), 1000) {
		if strings.Count(piece, "<") != strings.Count(piece, ">") {
			t.Errorf("SplitText piece splits a link: %.80q…", piece)
		}
	}
}

// recordingInvestigator records requests and reports nothing.
type recordingInvestigator struct {
	mu   sync.Mutex
	reqs []*investigate.Request
}

func (r *recordingInvestigator) Enqueue(_ context.Context, reqs []investigate.Request) ([]investigate.Enqueued, error) {
	r.mu.Lock()
	defer r.mu.Unlock()
	out := make([]investigate.Enqueued, len(reqs))
	for i := range reqs {
		req := reqs[i]
		r.reqs = append(r.reqs, &req)
		out[i] = investigate.Enqueued{ID: fmt.Sprintf("case-%d", len(r.reqs))}
	}
	return out, nil
}

// bodySink is a Slack Web API stand-in that answers ok and keeps the
// bodies it was sent.
type bodySink struct {
	srv    *httptest.Server
	mu     sync.Mutex
	bodies []url.Values
}

func newBodySink() *bodySink {
	s := &bodySink{}
	s.srv = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		b, _ := io.ReadAll(r.Body)
		v, _ := url.ParseQuery(string(b))
		s.mu.Lock()
		s.bodies = append(s.bodies, v)
		s.mu.Unlock()
		w.Header().Set("Content-Type", "application/json")
		_, _ = io.WriteString(w, `{"ok":true,"channel":"C1","ts":"1.1","message_ts":"1.1"}`)
	}))
	return s
}

func (s *bodySink) take() []url.Values {
	s.mu.Lock()
	defer s.mu.Unlock()
	out := s.bodies
	s.bodies = nil
	return out
}

// FuzzSlashCommand types arbitrary text after /k8flex under an access
// policy and checks: the ack is ephemeral, bounded, spoof-free and holds
// no active markup; an investigation starts only for a valid target the
// policy allows, with a redacted question; every answer a job posts is
// Block Kit within limits.
func FuzzSlashCommand(f *testing.F) {
	for _, s := range []string{"", "help", "stats", "kb memory", "kb " + strings.Repeat("<!channel> ", 100),
		"investigate pod/web-0 -n shop why?", "inv deploy/api -n team-a", "i node/worker-1", "investigate ns/kube-system",
		"investigate shop/web-0 password=hunter2 ghp_R4nd0mPl4nt3dT0k3nF0rK8fl3xT3st1ng00", "investigate pod/" + strings.Repeat("x", 300),
		"investigate pod/web-0 -n", "frobnicate <@U0ADMIN>", spoofed("investigate pod/web-0 -n shop"), "INVESTIGATE svc/a --namespace=shop"} {
		f.Add(s)
	}
	sink := newBodySink()
	f.Cleanup(sink.srv.Close)
	cfg := DefaultConfig()
	cfg.BotToken, cfg.AppToken, cfg.Channel, cfg.APIURL = "xoxb-fuzz", "xapp-fuzz", testChannel, sink.srv.URL+"/"
	cfg.AllowedNamespaces, cfg.DeniedNamespaces = []string{"shop", "team-*"}, []string{"team-secret"}
	inv := &recordingInvestigator{}
	b, err := New(cfg, Deps{Queue: inv, Knowledge: newFakeKB()}, zerologNop())
	if err != nil {
		f.Fatal(err)
	}

	f.Fuzz(func(t *testing.T, text string) {
		inv.mu.Lock()
		inv.reqs = nil
		inv.mu.Unlock()
		ack, job := b.slashCommand(slack.SlashCommand{UserID: "U0OPS", ChannelID: testChannel, TeamID: "T1", Text: text})
		if ack != nil {
			if ack.ResponseType != "ephemeral" {
				t.Errorf("ack response_type %q", ack.ResponseType)
			}
			if n := utf8.RuneCountInString(ack.Text); n > MaxSectionChars {
				t.Errorf("ack of %d chars", n)
			}
			if s := firstSpoof(ack.Text); s != "" {
				t.Errorf("ack carries %s: %q", s, ack.Text)
			}
			for _, v := range mrkdwnViolations("ack", ack.Text) {
				t.Error(v)
			}
		}
		if ack == nil && job == nil {
			t.Fatal("neither an answer nor work")
		}
		if job != nil {
			ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
			job(ctx)
			cancel()
		}
		for _, body := range sink.take() {
			if blocks := body.Get("blocks"); blocks != "" {
				for _, v := range blockKitViolations(blocks, MaxMessageBlocks) {
					t.Errorf("answer: %s", v)
				}
			}
			if s := firstSpoof(body.Get("text")); s != "" {
				t.Errorf("answer text carries %s", s)
			}
		}
		inv.mu.Lock()
		reqs := inv.reqs
		inv.mu.Unlock()
		for _, r := range reqs {
			tg := r.Target
			if clusterScoped(tg) || !investigate.ValidName(tg.Name) || !investigate.ValidName(tg.Namespace) {
				t.Fatalf("investigation of %+v started: cluster-scoped or invalid", tg)
			}
			allowed := false
			for _, p := range cfg.AllowedNamespaces {
				if ok, _ := path.Match(p, tg.Namespace); ok {
					allowed = true
				}
			}
			if !allowed || tg.Namespace == "team-secret" {
				t.Fatalf("investigation in namespace %q started against the policy", tg.Namespace)
			}
			if redact.String(r.Question) != r.Question {
				t.Fatalf("question not redacted: %q", r.Question)
			}
		}
	})
}
