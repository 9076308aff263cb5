package bot

import (
	"context"
	"fmt"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/slack-go/slack"

	"github.com/k8flex/k8flex/investigate"
	"github.com/k8flex/k8flex/redact"
)

const helpText = "*K8flex* — Kubernetes root-cause analysis in Slack\n" +
	"• `/k8flex investigate &lt;target&gt; [question]` — investigate now, e.g. `pod/web-0 -n shop`, `deploy/api -n shop why so slow?`, `svc/api -n shop`, `node/worker-1`, `shop/web-0`\n" +
	"• `/k8flex kb &lt;text&gt;` — similar cases people confirmed before\n" +
	"• `/k8flex stats` — how often K8flex was right, per category\n" +
	"• `/k8flex help` — this help\n" +
	"React ✅ or ❌ on an analysis (or use its buttons) to teach K8flex. The App Home browses the knowledge base."

// ephemeralReply is the response payload of a slash command ack: Slack
// shows it only to the person who typed the command.
type ephemeralReply struct {
	ResponseType string `json:"response_type"`
	Text         string `json:"text"`
}

// reply is the ack's answer; acks travel over the Socket Mode link, not
// through unspoofTransport, so the text is unspoofed here.
func reply(text string) *ephemeralReply {
	return &ephemeralReply{ResponseType: "ephemeral", Text: Unspoof(text)}
}

// slashCommand decides, without any I/O, what to answer in the ack and
// what work (if any) to hand to the pool. What the user typed is redacted
// before anything reads it, so no echo (the ack, a question shown in the
// channel, a knowledge-base search and its embedding, a log line) carries
// a credential pasted into it.
func (b *Bot) slashCommand(cmd slack.SlashCommand) (*ephemeralReply, func(context.Context)) {
	cmd.Text = redact.String(cmd.Text)
	sub, rest, _ := strings.Cut(strings.TrimSpace(cmd.Text), " ")
	rest = strings.TrimSpace(rest)
	switch strings.ToLower(sub) {
	case "investigate", "inv", "i":
		return b.slashInvestigate(cmd, rest)
	case "kb", "search":
		if rest == "" {
			return reply("Usage: `/k8flex kb &lt;text&gt;`, e.g. `/k8flex kb CrashLoopBackOff missing configmap`"), nil
		}
		return nil, func(ctx context.Context) { b.slashKB(ctx, cmd, rest) }
	case "stats":
		return nil, func(ctx context.Context) { b.slashStats(ctx, cmd) }
	case "", "help":
		return reply(helpText), nil
	}
	return reply(fmt.Sprintf("Unknown command `%s`.\n\n%s", Safe(truncate(sub, 40)), helpText)), nil
}

func (b *Bot) slashInvestigate(cmd slack.SlashCommand, args string) (*ephemeralReply, func(context.Context)) {
	if b.deps.Queue == nil {
		return reply("⚠️ Investigations are not enabled on this K8flex."), nil
	}
	target, question, err := investigate.ParseTarget(args)
	if err != nil {
		return reply(UserText(err) + "\nUsage: `/k8flex investigate &lt;target&gt; [question]`"), nil
	}
	if why := b.refuseStatic(cmd.ChannelID, cmd.UserID, target); why != "" {
		return reply("🚫 " + why), nil
	}
	job := func(ctx context.Context) {
		if why := b.refuseGroups(ctx, cmd.UserID); why != "" {
			b.ephemeral(ctx, cmd.ChannelID, cmd.UserID, "🚫 "+why)
			return
		}
		req := investigate.Request{Target: target, Question: question, RequestedBy: cmd.UserID, Source: investigate.SourceSlack,
			ReplyTo: investigate.ReplyTo{Channel: cmd.ChannelID, User: cmd.UserID, Team: cmd.TeamID}}
		if _, err := b.deps.Queue.Enqueue(ctx, []investigate.Request{req}); err != nil {
			b.log.Error().Err(err).Str("target", target.String()).Msg("queue investigation")
			b.ephemeral(ctx, cmd.ChannelID, cmd.UserID, "The investigation could not start. "+UserText(err))
		}
	}
	return reply("🔍 Investigating `" + Safe(target.String()) + "`… the analysis will appear in a thread here."), job
}

// ReporterFor returns the Reporter of a queued request: in the channel it
// asks to be reported in (a /k8flex investigation: the asker's channel,
// streamed to the asker when slack.native_streaming is on), else in the
// configured channel.
func (b *Bot) ReporterFor(req *investigate.Request) investigate.Reporter {
	var st *streamTarget
	if rt := req.ReplyTo; b.cfg.NativeStreaming && rt.Channel != "" && rt.User != "" {
		st = &streamTarget{user: rt.User, team: rt.Team}
	}
	return b.newReporter(req.ReplyTo.Channel, st)
}

// refuseStatic applies the access rules that need no Slack call (see
// policy.go); it returns why the request is refused, or "".
func (b *Bot) refuseStatic(channel, user string, t investigate.Target) string {
	c := b.cfg
	if len(c.AllowedChannels) > 0 && !slices.Contains(c.AllowedChannels, channel) {
		return "Investigations can't be started from this channel. Ask your K8flex admin which channels are allowed (slack.allowed_channels)."
	}
	if len(c.AllowedUsers) > 0 && len(c.AllowedUserGroups) == 0 && !slices.Contains(c.AllowedUsers, user) {
		return "You are not allowed to start investigations (slack.allowed_users)."
	}
	return c.refuseTarget(t)
}

// refuseGroups checks the user groups (a Slack call, cached).
func (b *Bot) refuseGroups(ctx context.Context, user string) string {
	c := b.cfg
	if len(c.AllowedUserGroups) == 0 || slices.Contains(c.AllowedUsers, user) {
		return ""
	}
	for _, g := range c.AllowedUserGroups {
		members, err := b.groups.members(ctx, g)
		if err != nil {
			b.log.Warn().Err(err).Str("usergroup", g).Msg("list user group members")
			continue
		}
		if slices.Contains(members, user) {
			return ""
		}
	}
	return "You are not in a user group allowed to start investigations (slack.allowed_user_groups)."
}

func (b *Bot) slashKB(ctx context.Context, cmd slack.SlashCommand, text string) {
	if b.deps.Knowledge == nil {
		b.ephemeral(ctx, cmd.ChannelID, cmd.UserID, "⚠️ The knowledge base is not enabled on this K8flex.")
		return
	}
	page, err := b.deps.Knowledge.Cases(ctx, CaseQuery{Text: text, Limit: 5})
	if err != nil {
		b.log.Error().Err(err).Msg("search knowledge base")
		b.ephemeral(ctx, cmd.ChannelID, cmd.UserID, "⚠️ The knowledge base could not be searched right now.")
		return
	}
	blocks := []slack.Block{section("*Validated cases similar to* “" + Safe(truncate(text, 200)) + "”")}
	if len(page.Cases) == 0 {
		blocks = append(blocks, section("_No validated case is similar yet. Confirm analyses with ✅ to build the knowledge base._"))
	}
	for _, c := range page.Cases {
		blocks = append(blocks, caseBlock(c))
	}
	b.ephemeralBlocks(ctx, cmd.ChannelID, cmd.UserID, fitBlocks(blocks, MaxMessageBlocks), "Similar validated cases")
}

func (b *Bot) slashStats(ctx context.Context, cmd slack.SlashCommand) {
	if b.deps.Knowledge == nil {
		b.ephemeral(ctx, cmd.ChannelID, cmd.UserID, "⚠️ The knowledge base is not enabled on this K8flex.")
		return
	}
	st, err := b.deps.Knowledge.Stats(ctx)
	if err != nil {
		b.log.Error().Err(err).Msg("knowledge base stats")
		b.ephemeral(ctx, cmd.ChannelID, cmd.UserID, "⚠️ The statistics could not be read right now.")
		return
	}
	b.ephemeralBlocks(ctx, cmd.ChannelID, cmd.UserID, statsBlocks(st), "K8flex accuracy")
}

// groupCache caches user group members for ttl.
type groupCache struct {
	api *slack.Client
	ttl time.Duration

	mu sync.Mutex
	m  map[string]groupEntry
}

type groupEntry struct {
	members []string
	at      time.Time
}

func newGroupCache(api *slack.Client, ttl time.Duration) *groupCache {
	return &groupCache{api: api, ttl: ttl, m: map[string]groupEntry{}}
}

func (g *groupCache) members(ctx context.Context, group string) ([]string, error) {
	g.mu.Lock()
	e, ok := g.m[group]
	g.mu.Unlock()
	if ok && time.Since(e.at) < g.ttl {
		return e.members, nil
	}
	members, err := g.api.GetUserGroupMembersContext(ctx, group)
	if err != nil {
		return nil, fmt.Errorf("usergroups.users.list %s: %w", group, err)
	}
	g.mu.Lock()
	g.m[group] = groupEntry{members: members, at: time.Now()}
	g.mu.Unlock()
	return members, nil
}
