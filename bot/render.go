package bot

import (
	"fmt"
	"regexp"
	"strings"
	"time"

	"github.com/slack-go/slack"

	"github.com/k8flex/k8flex/investigate"
	"github.com/k8flex/k8flex/redact"
)

// Block and action ids the bot renders and handles.
const (
	blockFeedback   = "k8flex_feedback"
	actionCorrect   = "k8flex_verdict_correct"
	actionIncorrect = "k8flex_verdict_incorrect"
)

// phase is where an investigation's thread stands.
type phase int

const (
	phaseRunning phase = iota
	phaseDone
	phaseFailed
)

// rootState is everything the root message of a thread shows.
type rootState struct {
	inv        *investigate.Investigation
	phase      phase
	rootCause  string
	resolvedAt time.Time
	repeats    int
	lastRepeat time.Time
	// folded counts further alerts of the same incident (same alert name
	// and workload) folded into this investigation.
	folded int
}

var userIDRe = regexp.MustCompile(`^[UW][A-Z0-9]{2,20}$`)

// mention renders a Slack user id as a mention, and anything else as
// escaped text.
func mention(user string) string {
	if userIDRe.MatchString(user) {
		return "<@" + user + ">"
	}
	return Safe(user)
}

// severityEmoji maps an alert severity to the emoji shown with it.
func severityEmoji(sev string) string {
	switch strings.ToLower(sev) {
	case "critical", "error", "page":
		return "🔴"
	case "warning", "warn":
		return "🟠"
	case "info", "informational", "none":
		return "🔵"
	}
	return "⚪"
}

func mrkdwn(s string) *slack.TextBlockObject {
	return slack.NewTextBlockObject(slack.MarkdownType, s, false, false)
}

func plain(s string) *slack.TextBlockObject {
	return slack.NewTextBlockObject(slack.PlainTextType, s, true, false)
}

func section(s string) *slack.SectionBlock {
	return slack.NewSectionBlock(mrkdwn(truncate(s, MaxSectionChars)), nil, nil)
}

func contextBlock(parts ...string) *slack.ContextBlock {
	els := make([]slack.MixedElement, 0, len(parts))
	for _, p := range parts {
		if p != "" {
			els = append(els, mrkdwn(truncate(p, MaxContextChars)))
		}
	}
	return slack.NewContextBlock("", els...)
}

// title is the one-line name of an investigation.
func title(inv *investigate.Investigation) string {
	if inv.Request != nil && inv.Request.Alert != nil {
		return inv.Request.Alert.Name()
	}
	return "Investigation of " + inv.Target.String()
}

func severity(inv *investigate.Investigation) string {
	if inv.Request != nil && inv.Request.Alert != nil {
		return inv.Request.Alert.Severity()
	}
	return "info"
}

func decidedBy(c investigate.Categorization) string {
	s := string(c.DecidedBy)
	if s == "" {
		s = "rules"
	}
	if c.Confidence > 0 {
		s += fmt.Sprintf(", %.0f%%", c.Confidence*100)
	}
	return s
}

// statusLine is the root message's status.
func (st *rootState) statusLine() string {
	var parts []string
	switch st.phase {
	case phaseRunning:
		parts = append(parts, "🔄 Analysis in progress…")
	case phaseDone:
		s := "✅ Analysis complete (see thread)"
		if st.rootCause != "" {
			s = "✅ *Root cause:* " + Safe(truncate(st.rootCause, 500))
		}
		parts = append(parts, s)
	case phaseFailed:
		parts = append(parts, "⚠️ Analysis failed (see thread)")
	}
	if !st.resolvedAt.IsZero() {
		s := "✔️ *Resolved*"
		if start := st.started(); !start.IsZero() && st.resolvedAt.After(start) {
			s += " after " + humanDuration(st.resolvedAt.Sub(start))
		}
		parts = append(parts, s)
	} else if st.inv.Request != nil && st.inv.Request.Alert != nil {
		parts = append(parts, "🔥 Firing")
	}
	if st.repeats > 0 {
		parts = append(parts, fmt.Sprintf("🔁 Notified again %d× (last %s UTC)", st.repeats, st.lastRepeat.UTC().Format("15:04")))
	}
	if st.folded > 0 {
		parts = append(parts, fmt.Sprintf("📎 %d more %s of this incident folded in", st.folded, pluralWord(st.folded, "alert", "alerts")))
	}
	return strings.Join(parts, "  ·  ")
}

func (st *rootState) started() time.Time {
	if st.inv.Request != nil && st.inv.Request.Alert != nil && !st.inv.Request.Alert.StartsAt.IsZero() {
		return st.inv.Request.Alert.StartsAt
	}
	return st.inv.StartedAt
}

func humanDuration(d time.Duration) string {
	d = d.Round(time.Second)
	switch {
	case d < time.Minute:
		return d.String()
	case d < time.Hour:
		return fmt.Sprintf("%dm", int(d.Minutes()))
	default:
		return fmt.Sprintf("%dh%02dm", int(d.Hours()), int(d.Minutes())%60)
	}
}

// rootBlocks renders the root message of an investigation's thread.
func rootBlocks(st *rootState) []slack.Block {
	inv := st.inv
	req := inv.Request
	if req == nil {
		req = &investigate.Request{}
	}
	sev := severity(inv)
	head := severityEmoji(sev) + " " + redactPlain(title(inv))
	blocks := []slack.Block{slack.NewHeaderBlock(plain(truncate(head, MaxHeaderChars)))}

	t := inv.Target
	ns := t.Namespace
	if ns == "" {
		ns = "—"
	}
	fields := []*slack.TextBlockObject{
		mrkdwn("*Severity*\n" + Safe(sev)),
		mrkdwn("*Namespace*\n" + Safe(ns)),
		mrkdwn("*Target*\n`" + Safe(t.String()) + "`"),
		mrkdwn("*Category*\n" + Safe(string(inv.Categorization.Category)) + " _(" + Safe(decidedBy(inv.Categorization)) + ")_"),
	}
	if req.Source == investigate.SourceSlack || req.Alert == nil {
		fields = append(fields, mrkdwn("*Requested by*\n"+mention(req.RequestedBy)))
	}
	for i := range fields {
		fields[i].Text = truncate(fields[i].Text, MaxFieldChars)
	}
	blocks = append(blocks, slack.NewSectionBlock(nil, fields, nil))

	if a := req.Alert; a != nil {
		if s := a.Summary(); s != "" {
			text := "*Summary:* " + Safe(s)
			if d := a.Description(); d != "" && d != s {
				text += "\n" + Safe(d)
			}
			blocks = append(blocks, section(text))
		}
		var links []string
		if u := a.Annotations["runbook_url"]; SafeURL(u) != "" {
			links = append(links, "📖 "+Link(u, "Runbook"))
		}
		if SafeURL(a.GeneratorURL) != "" {
			links = append(links, "📈 "+Link(a.GeneratorURL, generatorName(req)))
		}
		if u := a.Annotations["dashboard_url"]; SafeURL(u) != "" {
			links = append(links, "📊 "+Link(u, "Dashboard"))
		} else if SafeURL(a.DashboardURL) != "" {
			links = append(links, "📊 "+Link(a.DashboardURL, "Dashboard"))
		}
		if SafeURL(a.PanelURL) != "" {
			links = append(links, "📉 "+Link(a.PanelURL, "Panel"))
		}
		if SafeURL(a.SilenceURL) != "" {
			links = append(links, "🔕 "+Link(a.SilenceURL, "Silence"))
		}
		if len(links) > 0 {
			blocks = append(blocks, contextBlock(strings.Join(links, "  ·  ")))
		}
		if n := len(req.Related); n > 0 {
			blocks = append(blocks, contextBlock(fmt.Sprintf("➕ %d related alert(s) folded into this investigation", n)))
		}
	}
	if q := strings.TrimSpace(req.Question); q != "" {
		blocks = append(blocks, section("*Question:* "+Safe(q)))
	}
	blocks = append(blocks, contextBlock(st.statusLine()))
	return blocks
}

// rootFallback is the notification text of the root message.
func rootFallback(st *rootState) string {
	return truncate(redactPlain(fmt.Sprintf("%s %s — %s", severityEmoji(severity(st.inv)), title(st.inv), st.inv.Target.String())), 300)
}

// redactPlain redacts and unspoofs text for plain_text fields, which Slack
// never parses for mentions or links.
func redactPlain(s string) string { return strings.TrimSpace(Unspoof(redact.String(s))) }

// pageView is one message of a streamed analysis.
type pageView struct {
	index    int    // 0-based
	text     string // the raw markdown of this page
	last     bool   // the last page (so far)
	final    bool   // the investigation finished
	result   *investigate.Result
	caseRef  string
	waitNote string // shown before any text arrived
}

// pageBlocks renders one analysis message.
func pageBlocks(p pageView) []slack.Block {
	var blocks []slack.Block
	switch {
	case p.index > 0:
		blocks = append(blocks, contextBlock(fmt.Sprintf("_(continued, part %d)_", p.index+1)))
	case p.final && p.result != nil && p.result.Err != "":
		blocks = append(blocks, contextBlock("⚠️ *Analysis failed:* "+Safe(truncate(p.result.Err, 500))))
	case p.final:
		blocks = append(blocks, contextBlock("✅ *Analysis complete*"))
	default:
		blocks = append(blocks, contextBlock("🔄 *Analysis in progress…*"))
	}
	body := ToMrkdwn(p.text)
	if strings.TrimSpace(body) == "" && !p.final {
		body = p.waitNote
		if body == "" {
			body = "_Gathering evidence and writing the analysis…_"
		}
	}
	room := MaxMessageBlocks - 6 // header, similar, context, prompt, actions, spare
	for i, s := range SplitText(body, MaxSectionChars) {
		if i == room-1 {
			blocks = append(blocks, section("_(analysis truncated to fit the message)_"))
			break
		}
		blocks = append(blocks, section(s))
	}
	if p.final && p.last {
		blocks = append(blocks, finalBlocks(p.result, p.caseRef)...)
	}
	return fitBlocks(blocks, MaxMessageBlocks)
}

// finalBlocks closes the last analysis message: similar cases, who wrote
// it and the ✅/❌ buttons.
func finalBlocks(r *investigate.Result, caseRef string) []slack.Block {
	var blocks []slack.Block
	if r == nil {
		return nil
	}
	if s := similarText(r.Similar); s != "" {
		blocks = append(blocks, slack.NewDividerBlock(), section(s))
	}
	blocks = append(blocks, contextBlock(usageText(r)))
	if r.Err == "" && caseRef != "" {
		blocks = append(blocks, feedbackBlocks(caseRef)...)
	}
	return blocks
}

func feedbackBlocks(caseRef string) []slack.Block {
	yes := slack.NewButtonBlockElement(actionCorrect, caseRef, plain("✅ Correct"))
	yes.Style = slack.StylePrimary
	no := slack.NewButtonBlockElement(actionIncorrect, caseRef, plain("❌ Incorrect"))
	no.Style = slack.StyleDanger
	prompt := contextBlock("Was this analysis right? Click, or react ✅ / ❌ — confirmed analyses teach K8flex.")
	prompt.BlockID = blockFeedback + "_prompt"
	return []slack.Block{prompt, slack.NewActionBlock(blockFeedback, yes, no)}
}

// similarText lists similar past cases, linked to their threads.
func similarText(cases []investigate.SimilarCase) string {
	if len(cases) == 0 {
		return ""
	}
	var b strings.Builder
	b.WriteString("*Similar past cases*")
	for i, c := range cases {
		if i == 5 {
			break
		}
		name := c.AlertName
		if name == "" {
			name = c.ID
		}
		fmt.Fprintf(&b, "\n• %s (%.0f%% similar, %s", Link(c.ThreadURL, name), c.Similarity*100, Safe(string(c.Category)))
		if !c.CreatedAt.IsZero() {
			b.WriteString(", " + c.CreatedAt.UTC().Format("2006-01-02"))
		}
		b.WriteString(")")
		if c.RootCause != "" {
			b.WriteString(" — " + Safe(truncate(c.RootCause, 300)))
		}
	}
	return b.String()
}

// usageText says who wrote the analysis and what it cost.
func usageText(r *investigate.Result) string {
	a := r.Analysis
	var parts []string
	name := a.Analyzer
	if name == "" {
		name = "analyser"
	}
	s := "🤖 " + Safe(name)
	if a.Model != "" {
		s += " · " + Safe(a.Model)
	}
	parts = append(parts, s)
	if u := a.Usage; u.InputTokens+u.OutputTokens > 0 {
		t := fmt.Sprintf("%d in / %d out tokens", u.InputTokens, u.OutputTokens)
		if u.Estimated {
			t += " (estimated)"
		}
		parts = append(parts, t)
	}
	if !r.Finished.IsZero() && !r.StartedAt.IsZero() {
		parts = append(parts, "⏱ "+humanDuration(r.Finished.Sub(r.StartedAt)))
	}
	if a.FallbackReason != "" {
		parts = append(parts, "⚠️ fallback: "+Safe(truncate(a.FallbackReason, 200)))
	}
	if n := len(r.Evidence.Gaps); n > 0 {
		parts = append(parts, fmt.Sprintf("%d evidence gap(s)", n))
	}
	return strings.Join(parts, "  ·  ")
}

// verdictBlocks replaces the feedback prompt and buttons of a final
// message with who judged it and how.
func verdictBlocks(blocks []slack.Block, v Verdict) []slack.Block {
	out := make([]slack.Block, 0, len(blocks))
	for _, b := range blocks {
		if id := blockID(b); id == blockFeedback || id == blockFeedback+"_prompt" || id == blockFeedback+"_verdict" {
			continue
		}
		out = append(out, b)
	}
	out = append(out, verdictBlock(v))
	return fitBlocks(out, MaxMessageBlocks)
}

func verdictBlock(v Verdict) slack.Block {
	s := "✅ Confirmed correct by " + mention(v.User) + " — this case is now knowledge for future incidents"
	switch {
	case v.Withdrawn && v.Correct:
		s = "↩️ " + mention(v.User) + " withdrew their ✅"
	case v.Withdrawn:
		s = "↩️ " + mention(v.User) + " withdrew their ❌"
	case !v.Correct:
		s = "❌ Marked incorrect by " + mention(v.User) + " — it will not be used as knowledge"
	}
	if !v.At.IsZero() {
		s += " · " + v.At.UTC().Format("2006-01-02 15:04 UTC")
	}
	c := contextBlock(s)
	c.BlockID = blockFeedback + "_verdict"
	return c
}

func blockID(b slack.Block) string {
	switch x := b.(type) {
	case *slack.ActionBlock:
		return x.BlockID
	case *slack.ContextBlock:
		return x.BlockID
	case *slack.SectionBlock:
		return x.BlockID
	}
	return ""
}

// fitBlocks keeps at most max blocks, replacing the overflow with a note.
func fitBlocks(blocks []slack.Block, max int) []slack.Block {
	if len(blocks) <= max {
		return blocks
	}
	out := append([]slack.Block(nil), blocks[:max-1]...)
	return append(out, contextBlock("_(more not shown: Slack allows "+fmt.Sprint(max)+" blocks)_"))
}

func pluralWord(n int, one, many string) string {
	if n == 1 {
		return one
	}
	return many
}

// generatorName names what an alert's generatorURL opens: the Grafana
// alert rule for Grafana's alerts, else the Prometheus graph.
func generatorName(req *investigate.Request) string {
	if req.Source == investigate.SourceGrafana {
		return "Alert rule"
	}
	return "Prometheus graph"
}
