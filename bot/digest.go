package bot

import (
	"context"
	"fmt"
	"sort"
	"strings"
	"sync"
	"time"

	"github.com/slack-go/slack"

	"github.com/k8flex/k8flex/investigate"
)

// Storm digests. When more alerts wait for a channel than Slack lets the
// bot post there in a minute (Config.PostInterval, Config.PostBurst), a
// thread per alert would reach the channel long after the storm, one
// post a second. The bot then stops opening a thread when an
// investigation starts: it decides when the investigation finished. An
// investigation whose target no longer exists (the storm's usual bulk:
// alerts about pods already replaced) is counted in ONE digest message
// per channel, alert name and namespace, edited as the storm goes on
// (counts by workload, a few of the gone targets by name); only the
// incidents that get an analysis of a live target open a thread, posted
// whole once final. Alerts arrive grouped by alert name and namespace
// (Alertmanager's default grouping), and their targets are gone for one
// cause (a rollout, a node lost), so that is the grouping a reader can
// act on; fold's incident key (which adds the workload) already made one
// investigation per workload.
//
// A digest's counts live in the DigestStore (each case counted once,
// also when investigated again after a crash) and its message in the
// Outbox like a thread's root: only the latest text is sent, across 429s,
// outages and restarts.

// DigestStore keeps storm digests: AddToDigest counts one alert (its
// case) in the digest of channel and group, once per case, and returns
// the digest as it is then; a digest not added to for window is over
// and the next add starts a new one. DigestPosted records the ts of the
// digest's message.
type DigestStore interface {
	AddToDigest(ctx context.Context, channel, group string, window time.Duration, m DigestMember) (Digest, error)
	DigestPosted(ctx context.Context, channel, group, ts string) error
}

// Digest is a storm digest as the DigestStore keeps it.
type Digest struct {
	Channel, Group string
	// CaseRef is the case whose Outbox effects carry the message.
	CaseRef string
	// TS is the message once posted.
	TS         string
	Alerts     int
	ByWorkload map[string]int
	// Samples name the targets of the first few alerts.
	Samples          []string
	Started, Updated time.Time
}

// DigestMember is one alert counted in a digest.
type DigestMember struct {
	CaseRef, Workload, Target string
}

// Incident is what the wiring knows of the incident an investigation
// leads (fold's incident key): its alert name, namespace and workload
// ("Deployment/checkout"; empty when the target names none).
type Incident struct {
	AlertName, Namespace, Workload string
}

const (
	// stormHold is how long a channel stays in storm mode after its
	// backlog was last above what Slack carries in a minute.
	stormHold = time.Minute
	// digestWindow: a digest not added to for this long is over.
	digestWindow = 30 * time.Minute
	// backlogEvery bounds how often Deps.Backlog is asked.
	backlogEvery = time.Second
	// blockDigest prefixes the block_id of a digest's first block,
	// followed by its group, so that its delivery (also by a later
	// process, from the Outbox) records the message's ts.
	blockDigest        = "k8flex_digest|"
	digestTopWorkloads = 8
)

// digester decides storm mode per channel and keeps the digests' order.
type digester struct {
	b *Bot

	mu         sync.Mutex
	stormUntil map[string]time.Time
	backlog    int
	backlogAt  time.Time
	locks      map[string]*sync.Mutex // per channel and group
}

func newDigester(b *Bot) *digester {
	return &digester{b: b, stormUntil: map[string]time.Time{}, locks: map[string]*sync.Mutex{}}
}

// perMinute is how many posts Slack takes in a channel in a minute at
// the configured pace (0: no limit).
func (d *digester) perMinute() int {
	if d.b.cfg.PostInterval <= 0 {
		return 0
	}
	return int(time.Minute/d.b.cfg.PostInterval) + d.b.cfg.PostBurst
}

// storming reports whether channel is in storm mode: its backlog (the
// alerts waiting to be investigated, plus posts waiting here) is above
// what Slack carries in a minute, or was within stormHold.
func (d *digester) storming(ctx context.Context, channel string) bool {
	limit := d.perMinute()
	if limit == 0 || d.b.deps.Digests == nil {
		return false
	}
	now := time.Now()
	n := d.queued(ctx, now) + d.b.send.postsWaiting(channel)
	d.mu.Lock()
	defer d.mu.Unlock()
	if n > limit {
		if now.After(d.stormUntil[channel]) {
			d.b.log.Info().Str("channel", channel).Int("backlog", n).Int("posts_per_minute", limit).
				Msg("alert storm: digests instead of a thread per alert")
		}
		d.stormUntil[channel] = now.Add(stormHold)
	}
	return now.Before(d.stormUntil[channel])
}

// queued returns Deps.Backlog, asked at most every backlogEvery.
func (d *digester) queued(ctx context.Context, now time.Time) int {
	if d.b.deps.Backlog == nil {
		return 0
	}
	d.mu.Lock()
	if now.Sub(d.backlogAt) < backlogEvery {
		n := d.backlog
		d.mu.Unlock()
		return n
	}
	d.backlogAt = now
	d.mu.Unlock()
	n, err := d.b.deps.Backlog(ctx)
	if err != nil {
		d.b.log.Debug().Err(err).Msg("alert backlog unknown")
		return 0
	}
	d.mu.Lock()
	d.backlog = n
	d.mu.Unlock()
	return n
}

func (d *digester) lock(key string) *sync.Mutex {
	d.mu.Lock()
	defer d.mu.Unlock()
	m := d.locks[key]
	if m == nil {
		m = &sync.Mutex{}
		d.locks[key] = m
	}
	return m
}

// goneGroup is the digest group of alerts whose targets are gone.
func goneGroup(alertName, namespace string) string {
	return "gone|" + alertName + "|" + namespace
}

// count adds a finished investigation whose target is gone to its
// digest and records the digest's new text in the Outbox. Adds to one
// digest are serialised here, so the latest text recorded is the latest
// count.
func (d *digester) count(ctx context.Context, channel string, inc Incident, res *investigate.Result) error {
	group := goneGroup(inc.AlertName, inc.Namespace)
	m := DigestMember{CaseRef: res.ID, Workload: inc.Workload, Target: res.Target.String()}
	if m.Workload == "" {
		// A pod whose name implies no workload: count it by container,
		// which kube-state-metrics' pod alerts carry.
		m.Workload = res.Target.Container
	}
	mu := d.lock(channel + "/" + group)
	mu.Lock()
	defer mu.Unlock()
	dg, err := d.b.deps.Digests.AddToDigest(ctx, channel, group, digestWindow, m)
	if err != nil {
		return fmt.Errorf("count alert in the storm digest: %w", err)
	}
	blocks := digestBlocks(dg, inc, d.perMinute())
	d.b.deliverThread(ctx, []Effect{{CaseRef: dg.CaseRef, Key: keyRoot, Channel: channel, TS: dg.TS,
		Blocks: mustJSON(blocks), Text: digestFallback(dg, inc)}})
	return nil
}

// posted records the ts of a digest message the sender posted.
func (d *digester) posted(ctx context.Context, channel, group, ts string) {
	if d.b.deps.Digests == nil {
		return
	}
	if err := d.b.deps.Digests.DigestPosted(context.WithoutCancel(ctx), channel, group, ts); err != nil {
		d.b.log.Warn().Err(err).Str("channel", channel).Msg("record the storm digest's message; its next count posts another")
	}
}

// digestGroupOf returns the group of a digest message's blocks.
func digestGroupOf(blocks []slack.Block) (string, bool) {
	if len(blocks) == 0 {
		return "", false
	}
	return strings.CutPrefix(blockID(blocks[0]), blockDigest)
}

// digestBlocks renders a digest: what the storm is, how many alerts it
// counted and since when, the gone targets in one line, the counts by
// workload.
func digestBlocks(d Digest, inc Incident, perMinute int) []slack.Block {
	head := section(fmt.Sprintf("🌪️ *Alert storm: %s in %s*: %d %s whose target no longer exists, since %s",
		Safe(inc.AlertName), Safe(inc.Namespace), d.Alerts, pluralWord(d.Alerts, "alert", "alerts"),
		d.Started.UTC().Format("15:04 UTC")))
	head.BlockID = truncate(blockDigest+d.Group, 255)
	blocks := []slack.Block{head}
	if len(d.Samples) > 0 {
		names := make([]string, len(d.Samples))
		for i, s := range d.Samples {
			names[i] = Safe(s)
		}
		line := "*Gone:* " + strings.Join(names, ", ")
		if more := d.Alerts - len(d.Samples); more > 0 {
			line += fmt.Sprintf(" and %d more", more)
		}
		blocks = append(blocks, section(line))
	}
	if len(d.ByWorkload) > 0 {
		type wc struct {
			w string
			n int
		}
		var ws []wc
		for w, n := range d.ByWorkload {
			ws = append(ws, wc{w, n})
		}
		sort.Slice(ws, func(i, j int) bool {
			if ws[i].n != ws[j].n {
				return ws[i].n > ws[j].n
			}
			return ws[i].w < ws[j].w
		})
		var parts []string
		for i, x := range ws {
			if i == digestTopWorkloads {
				rest := 0
				for _, y := range ws[i:] {
					rest += y.n
				}
				parts = append(parts, fmt.Sprintf("%d in %d others", rest, len(ws)-i))
				break
			}
			name := x.w
			if name == "" {
				name = "unnamed"
			}
			parts = append(parts, fmt.Sprintf("%s %d", Safe(name), x.n))
		}
		blocks = append(blocks, section("*By workload:* "+strings.Join(parts, " · ")))
	}
	blocks = append(blocks, contextBlock(fmt.Sprintf("One message for this storm instead of a thread per alert (Slack takes about %d posts a minute in a channel); "+
		"incidents whose target exists get their own thread. Updated %s.", perMinute, d.Updated.UTC().Format("15:04:05 UTC"))))
	return blocks
}

func digestFallback(d Digest, inc Incident) string {
	return fmt.Sprintf("Alert storm: %s in %s, %d %s whose target no longer exists", redactPlain(inc.AlertName),
		redactPlain(inc.Namespace), d.Alerts, pluralWord(d.Alerts, "alert", "alerts"))
}

// postsWaiting counts the posts (messages without a ts) waiting in
// channel.
func (s *sender) postsWaiting(channel string) int {
	s.mu.Lock()
	defer s.mu.Unlock()
	n := 0
	for _, m := range s.pending {
		for _, pe := range m {
			if pe.e.Channel == channel && pe.e.TS == "" {
				n++
			}
		}
	}
	return n
}

// IncidentReporter returns a Reporter for the investigation leading
// incident inc, in channel (slack.channel when empty): in a storm it
// reports to a digest or opens its thread once final (see digest.go).
func (b *Bot) IncidentReporter(channel string, inc Incident) *Reporter {
	r := b.newReporter(channel, nil)
	r.incident = &inc
	return r
}

// deferStart reports whether the thread of an investigation starting
// now waits for its end (the channel is in a storm); the Reporter keeps
// inv until then.
func (r *Reporter) deferStart(ctx context.Context, inv *investigate.Investigation) bool {
	if r.incident == nil || !r.b.digests.storming(ctx, r.channel) {
		return false
	}
	r.mu.Lock()
	r.deferred = inv
	r.mu.Unlock()
	return true
}

// finishDeferred ends an investigation whose thread waited for its end:
// a gone target is counted in its digest (true: nothing else to do);
// otherwise the thread is opened now, posted whole by the delivery.
func (r *Reporter) finishDeferred(ctx context.Context, res *investigate.Result) bool {
	r.mu.Lock()
	inv := r.deferred
	r.deferred = nil
	r.mu.Unlock()
	if inv == nil {
		return false
	}
	if res != nil && res.Evidence.TargetGone && len(res.Findings) <= 1 {
		err := r.b.digests.count(ctx, r.channel, *r.incident, res)
		if err == nil {
			r.mu.Lock()
			r.finished = true
			r.mu.Unlock()
			close(r.done)
			return true
		}
		r.log.Warn().Err(err).Str("case", res.ID).Msg("storm digest; the alert gets its own thread")
	}
	if err := r.open(ctx, inv, false); err != nil {
		r.log.Warn().Err(err).Msg("open the thread of a finished investigation")
	}
	return false
}
