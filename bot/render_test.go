package bot

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/k8flex/k8flex/investigate"
)

var hostile = []string{
	"<!channel> pod is down",
	"<!here|here> wake up",
	"<!everyone>",
	"ping <@U0ADMIN> now",
	"<!subteam^S0ONCALL|@oncall> look",
	"<http://evil.example/steal|click to fix>",
	"@channel @here @everyone",
	"&lt;!channel&gt; pre-escaped",
	"<mailto:x@evil.example|mail>",
}

// mentionsOrLinks reports markup Slack would act on.
func activeMarkup(s string) []string {
	var bad []string
	for _, m := range []string{"<!channel", "<!here", "<!everyone", "<@U0ADMIN", "<!subteam", "<http://evil", "<mailto:", "@channel", "@here", "@everyone"} {
		if strings.Contains(s, m) {
			bad = append(bad, m)
		}
	}
	return bad
}

func TestEscapeHostileText(t *testing.T) {
	for _, h := range hostile {
		t.Run(h, func(t *testing.T) {
			for name, got := range map[string]string{"Escape": Escape(h), "Safe": Safe(h), "ToMrkdwn": ToMrkdwn(h), "ToMrkdwn code": ToMrkdwn("`" + h + "`"),
				"ToMrkdwn fence": ToMrkdwn("```\n" + h + "\n```"), "ToMrkdwn heading": ToMrkdwn("## " + h), "ToMrkdwn link": ToMrkdwn("[" + h + "](http://evil.example)")} {
				if bad := activeMarkup(got); len(bad) > 0 {
					t.Errorf("%s(%q) = %q keeps %v", name, h, got, bad)
				}
			}
		})
	}
}

func TestToMrkdwn(t *testing.T) {
	for _, tt := range []struct{ name, in, want string }{
		{"heading", "## Root cause", "*Root cause*"},
		{"bold heading", "### **Impact**", "*Impact*"},
		{"bold", "the **pod** died", "the *pod* died"},
		{"italic", "it *may* recover", "it _may_ recover"},
		{"strike", "~~wrong~~", "~wrong~"},
		{"bullets", "- one\n  * two", "• one\n  • two"},
		{"numbered kept", "1. first", "1. first"},
		{"code span untouched", "run `kubectl get **pods**`", "run `kubectl get **pods**`"},
		{"fence", "```yaml\na: <b>\n```", "```\na: &lt;b&gt;\n```"},
		{"unclosed fence closed", "```\nlog", "```\nlog\n```"},
		{"link shows its address", "see [docs](https://k8s.io/docs)", "see docs (https://k8s.io/docs)"},
		{"ampersand", "a & b", "a &amp; b"},
		{"redacted", "key AKIAABCDEFGHIJKLMNOP leaked", "key [REDACTED] leaked"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			if got := ToMrkdwn(tt.in); got != tt.want {
				t.Errorf("ToMrkdwn(%q) = %q, want %q", tt.in, got, tt.want)
			}
		})
	}
}

func TestSafeURL(t *testing.T) {
	for _, tt := range []struct{ name, in, want string }{
		{"plain", "https://x.example/a", "https://x.example/a"},
		{"query amp", "http://p.example/graph?a=1&b=2", "http://p.example/graph?a=1&amp;b=2"},
		{"pipe breaks out", "https://x.example/a|evil", "https://x.example/a%7Cevil"},
		{"javascript", "javascript:alert(1)", ""},
		{"relative", "/graph", ""},
		{"angle", "https://x.example/<!channel>", "https://x.example/%3C%21channel%3E"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			got := SafeURL(tt.in)
			if tt.want == "" && got != "" || tt.want != "" && !strings.Contains(got, strings.TrimPrefix(tt.want, "")) && got != tt.want {
				t.Errorf("SafeURL(%q) = %q, want %q", tt.in, got, tt.want)
			}
			if strings.ContainsAny(got, "<>| ") {
				t.Errorf("SafeURL(%q) = %q can break out of a link", tt.in, got)
			}
		})
	}
}

func TestSplitText(t *testing.T) {
	long := strings.Repeat("x", 7000)
	for _, tt := range []struct {
		name string
		in   string
	}{
		{"lines", strings.Repeat("a line of text\n", 600)},
		{"one long line", long},
		{"entities", strings.Repeat("&amp;", 1500)},
		{"fence spans pieces", "```\n" + strings.Repeat("log line\n", 800) + "```\nafter"},
		{"multibyte", strings.Repeat("🔥é", 4000)},
	} {
		t.Run(tt.name, func(t *testing.T) {
			parts := SplitText(tt.in, MaxSectionChars)
			if len(parts) < 2 {
				t.Fatalf("%d parts", len(parts))
			}
			for i, p := range parts {
				if n := len([]rune(p)); n > MaxSectionChars {
					t.Errorf("part %d has %d chars", i, n)
				}
				if strings.Count(p, "```")%2 != 0 {
					t.Errorf("part %d leaves a fence open", i)
				}
				if strings.HasSuffix(p, "&am") || strings.HasSuffix(p, "&") {
					t.Errorf("part %d splits an entity", i)
				}
			}
		})
	}
}

// TestSplitPagesStable: pages already full never change as text grows.
func TestSplitPagesStable(t *testing.T) {
	text := bigAnalysis(40 << 10)
	var prev []string
	for n := 1000; n <= len(text); n += 777 {
		pages := splitPages(text[:n], 5000)
		for i := 0; i < len(prev)-1; i++ {
			if pages[i] != prev[i] {
				t.Fatalf("page %d changed when the text grew to %d", i, n)
			}
		}
		for i, p := range pages {
			if len(p) > 5000+8 {
				t.Fatalf("page %d has %d bytes", i, len(p))
			}
		}
		prev = pages
	}
	if got := strings.Join(splitPages(text, 5000), ""); got != text {
		t.Error("pages do not add up to the text")
	}
}

// TestBlockLimits renders extreme content and checks Slack's limits.
func TestBlockLimits(t *testing.T) {
	huge := strings.Repeat("<"+strings.Repeat("&", 50)+">\n", 3000) + strings.Repeat("y", 20000)
	a := testAlert(strings.Repeat("A", 400))
	a.Annotations["summary"] = strings.Repeat("<!channel>", 1000)
	a.Annotations["description"] = strings.Repeat("d", 10000)
	inv := testInvestigation("case-x", a)
	for i := 0; i < 30; i++ {
		inv.Similar = append(inv.Similar, inv.Similar[0])
	}
	res := testResult(inv, huge)
	res.Analysis.FallbackReason = strings.Repeat("f", 5000)
	st := &rootState{inv: inv, phase: phaseDone, rootCause: strings.Repeat("r", 5000)}
	checkLimits(t, "root", mustJSON(rootBlocks(st)), MaxMessageBlocks)
	if s := texts(t, mustJSON(rootBlocks(st))); len(activeMarkup(s)) > 0 {
		t.Errorf("root keeps active markup %v", activeMarkup(s))
	}
	for i, p := range splitPages(huge, DefaultConfig().MaxMessageChars) {
		v := pageView{index: i, text: p, last: true, final: true, result: res, caseRef: "case-x"}
		js := mustJSON(pageBlocks(v))
		checkLimits(t, fmt.Sprintf("page %d", i), js, MaxMessageBlocks)
		if !strings.Contains(js, actionCorrect) {
			t.Errorf("page %d lost its buttons to truncation", i)
		}
	}

	kb := newFakeKB()
	for i := 0; i < 500; i++ {
		id := fmt.Sprintf("c%03d", i)
		kb.add(CaseSummary{ID: id, AlertName: strings.Repeat("N", 300), Category: investigate.Categories()[i%11],
			RootCause: strings.Repeat("<!here> ", 400), ThreadURL: "https://slack.example/t", CreatedAt: time.Now()})
		kb.verdicts[id] = Verdict{Correct: true}
	}
	b := &Bot{cfg: Config{HomePageSize: 20}, deps: Deps{Knowledge: kb}}
	js := mustJSON(b.homeBlocks(context.Background(), homeState{Offset: 20}))
	checkLimits(t, "home", js, MaxHomeViewBlocks)
	s := texts(t, js)
	if len(activeMarkup(s)) > 0 {
		t.Errorf("home keeps active markup %v", activeMarkup(s))
	}
	for _, want := range []string{"500* investigations", "accuracy *100%*", "showing 21–40", "Previous", "Next"} {
		if !strings.Contains(s, want) {
			t.Errorf("home lacks %q", want)
		}
	}
}

func TestConfigValidate(t *testing.T) {
	ok := DefaultConfig()
	ok.BotToken, ok.AppToken, ok.Channel = "xoxb-1", "xapp-1", "C1"
	for _, tt := range []struct {
		name string
		mod  func(*Config)
		want string // "" = valid
	}{
		{"valid", func(*Config) {}, ""},
		{"console mode", func(c *Config) { c.BotToken, c.AppToken, c.Channel = "", "", "" }, ""},
		{"missing bot token", func(c *Config) { c.BotToken = "" }, "slack.bot_token is required"},
		{"user token", func(c *Config) { c.BotToken = "xoxp-1" }, "slack.bot_token must be a bot token"},
		{"missing app token", func(c *Config) { c.AppToken = "" }, "slack.app_token is required"},
		{"bot token as app token", func(c *Config) { c.AppToken = "xoxb-2" }, "slack.app_token must be an app-level token"},
		{"missing channel", func(c *Config) { c.Channel = "" }, "slack.channel is required"},
		{"channel name", func(c *Config) { c.Channel = "#alerts" }, "slack.channel must be a channel id"},
		{"api url without slash", func(c *Config) { c.APIURL = "http://x" }, "slack.api_url must end with /"},
		{"bad namespace pattern", func(c *Config) { c.DeniedNamespaces = []string{"["} }, "slack.allowed_namespaces/slack.denied_namespaces"},
		{"too long messages", func(c *Config) { c.MaxMessageChars = 50000 }, "slack.max_message_chars"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			c := ok
			tt.mod(&c)
			err := c.Validate()
			if tt.want == "" && err != nil || tt.want != "" && (err == nil || !strings.Contains(err.Error(), tt.want)) {
				t.Errorf("Validate() = %v, want %q", err, tt.want)
			}
		})
	}
	if _, err := New(Config{}, Deps{}, zerologNop()); err == nil || !strings.Contains(err.Error(), "not configured") {
		t.Errorf("New without tokens = %v, want a 'not configured' error", err)
	}
}

func TestConsoleReporter(t *testing.T) {
	var buf bytes.Buffer
	r := ConsoleReporter(&buf)
	inv := testInvestigation("case-c", testAlert("KubePodCrashLooping"))
	ctx := context.Background()
	if err := r.Started(ctx, inv); err != nil {
		t.Fatal(err)
	}
	analysis := sampleAnalysis + "token AKIAABCDEFGHIJKLMNOP in env\n"
	for _, c := range chunksOf(analysis, 7) {
		r.Chunk(ctx, c)
	}
	res := testResult(inv, analysis)
	res.Findings = []investigate.Finding{{Rule: "missing-configmap", Severity: investigate.FindingCritical,
		Summary: "ConfigMap shop/app-settings does not exist", Proof: []string{"MountVolume.SetUp failed"}}}
	if err := r.Finished(ctx, res); err != nil {
		t.Fatal(err)
	}
	out := buf.String()
	for _, want := range []string{"KubePodCrashLooping", "pod/web-0 -n shop", "pod-crash (rules, 90%)", "Runbook:", "https://runbooks.example/KubePodCrashLooping",
		"▌ ROOT CAUSE", "ConfigMap shop/app-settings mounted", "    kubectl -n shop apply", "Root cause: ConfigMap shop/app-settings",
		"[critical] ConfigMap shop/app-settings does not exist", "> MountVolume.SetUp failed", "analyser builtin", "1200 in / 340 out tokens", "[REDACTED]"} {
		if !strings.Contains(out, want) {
			t.Errorf("console output lacks %q:\n%s", want, out)
		}
	}
	if strings.Contains(out, "AKIAABCDEFGHIJKLMNOP") || strings.Contains(out, "**") {
		t.Errorf("console output leaks a secret or raw markdown:\n%s", out)
	}
}

var _ = json.Marshal

// BenchmarkPageBlocks measures rendering one full analysis message, done
// at most once per update interval per message.
func BenchmarkPageBlocks(b *testing.B) {
	text := splitPages(bigAnalysis(20<<10), DefaultConfig().MaxMessageChars)[0]
	v := pageView{text: text, last: true}
	b.ReportAllocs()
	for b.Loop() {
		_ = mustJSON(pageBlocks(v))
	}
}
