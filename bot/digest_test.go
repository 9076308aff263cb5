package bot

import (
	"context"
	"fmt"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/k8flex/k8flex/internal/fakeslack"
	"github.com/k8flex/k8flex/investigate"
)

// memDigests is a DigestStore in memory, counting each case once.
type memDigests struct {
	mu      sync.Mutex
	digests map[string]*Digest
	members map[string]bool
	posted  int
}

func newMemDigests() *memDigests {
	return &memDigests{digests: map[string]*Digest{}, members: map[string]bool{}}
}

func (m *memDigests) AddToDigest(_ context.Context, channel, group string, window time.Duration, mb DigestMember) (Digest, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	k := channel + "/" + group
	now := time.Now()
	d := m.digests[k]
	if d == nil || now.Sub(d.Updated) >= window {
		d = &Digest{Channel: channel, Group: group, CaseRef: mb.CaseRef, ByWorkload: map[string]int{}, Started: now}
		m.digests[k] = d
	}
	if !m.members[k+"/"+mb.CaseRef] {
		m.members[k+"/"+mb.CaseRef] = true
		d.Alerts++
		d.ByWorkload[mb.Workload]++
		if len(d.Samples) < 5 {
			d.Samples = append(d.Samples, mb.Target)
		}
	}
	d.Updated = now
	out := *d
	out.ByWorkload = map[string]int{}
	for w, n := range d.ByWorkload {
		out.ByWorkload[w] = n
	}
	out.Samples = append([]string(nil), d.Samples...)
	return out, nil
}

func (m *memDigests) DigestPosted(_ context.Context, channel, group, ts string) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	d := m.digests[channel+"/"+group]
	if d == nil {
		return fmt.Errorf("no digest %s/%s", channel, group)
	}
	d.TS = ts
	m.posted++
	return nil
}

// stormAlert is the i-th alert of a storm in namespace ns: a pod of a
// Deployment whose name implies none (a replaced pod).
func stormAlert(ns string, i int) *investigate.Alert {
	a := testAlert("KubePodCrashLooping")
	a.Labels = map[string]string{"alertname": "KubePodCrashLooping", "severity": "warning", "namespace": ns,
		"pod": fmt.Sprintf("checkout-old-%05d", i), "container": []string{"checkout", "cart"}[i/2%2]}
	a.Fingerprint = fmt.Sprintf("fp-%s-%d", ns, i)
	return a
}

// investigateOne runs one investigation through an incident reporter:
// gone reports a target that no longer exists.
func investigateOne(t *testing.T, b *Bot, id string, a *investigate.Alert, gone bool) *Reporter {
	t.Helper()
	ctx := context.Background()
	inv := testInvestigation(id, a)
	r := b.IncidentReporter("", Incident{AlertName: a.Labels["alertname"], Namespace: a.Labels["namespace"]})
	if err := r.Started(ctx, inv); err != nil {
		t.Fatal(err)
	}
	text := sampleAnalysis
	res := testResult(inv, text)
	if gone {
		text = "The pod no longer exists."
		res = testResult(inv, text)
		res.Evidence.TargetGone = true
	} else {
		res.Findings = []investigate.Finding{{Rule: "a", Summary: "a"}, {Rule: "b", Summary: "b"}}
	}
	r.Chunk(ctx, text)
	if err := r.Finished(ctx, res); err != nil {
		t.Fatal(err)
	}
	return r
}

// topLevel returns the channel's top-level messages.
func topLevel(fs *fakeslack.Server) []fakeslack.Message {
	var out []fakeslack.Message
	for _, m := range fs.Messages() {
		if m.Channel == testChannel && m.ThreadTS == "" {
			out = append(out, m)
		}
	}
	return out
}

// TestStormDigest: while the backlog is above what Slack carries in a
// minute, 200 alerts whose targets are gone (two namespaces) become two
// digest messages showing their counts, each posted once and edited; the
// 6 incidents with a live target get their thread, posted whole and
// final; an investigation made again (after a crash) is not counted
// twice.
func TestStormDigest(t *testing.T) {
	fs := fakeslack.New(fakeslack.Options{})
	t.Cleanup(fs.Close)
	ob, dg := newMemOutbox(), newMemDigests()
	cfg := testConfig(fs)
	var backlog atomic.Int64
	backlog.Store(100_000) // well above 6000 posts a minute at the test's pace
	b := startBot(t, fs, cfg, Deps{Outbox: ob, Digests: dg,
		Backlog: func(context.Context) (int, error) { return int(backlog.Load()), nil }})
	var reps []*Reporter
	var mu sync.Mutex
	var wg sync.WaitGroup
	for w := range 4 {
		wg.Go(func() {
			for i := w; i < 200; i += 4 {
				r := investigateOne(t, b, fmt.Sprintf("case-%03d", i), stormAlert([]string{"shop", "payments"}[i%2], i), true)
				mu.Lock()
				reps = append(reps, r)
				mu.Unlock()
			}
		})
	}
	for i := range 6 {
		r := investigateOne(t, b, fmt.Sprintf("live-%d", i), stormAlert("shop", 1000+i), false)
		mu.Lock()
		reps = append(reps, r)
		mu.Unlock()
	}
	wg.Wait()
	// Investigated again after a crash: still counted once.
	investigateOne(t, b, "case-000", stormAlert("shop", 0), true)
	for _, r := range reps {
		finish(t, 20*time.Second, r)
	}
	eventually(t, 20*time.Second, "digests showing 100 alerts each", func() bool {
		n := 0
		for _, m := range topLevel(fs) {
			if strings.Contains(texts(t, m.Blocks), "100 alerts whose target no longer exists") {
				n++
			}
		}
		return n == 2
	})
	eventually(t, 10*time.Second, "an empty outbox", func() bool { return ob.pending() == 0 })
	top := topLevel(fs)
	if len(top) != 2+6 {
		t.Fatalf("%d top-level messages, want 2 digests and 6 threads", len(top))
	}
	final := 0
	for _, m := range top {
		txt := texts(t, m.Blocks)
		if strings.Contains(txt, "in progress") {
			t.Errorf("message %s still says in progress: %s", m.TS, txt)
		}
		if strings.Contains(txt, "Alert storm") {
			checkLimits(t, "digest", m.Blocks, 50)
			for _, want := range []string{"KubePodCrashLooping", "By workload:", "checkout 50", "cart 50", "and 95 more"} {
				if !strings.Contains(txt, want) {
					t.Errorf("digest %s lacks %q: %s", m.TS, want, txt)
				}
			}
			continue
		}
		for _, r := range fs.Messages() {
			if r.ThreadTS == m.TS && strings.Contains(r.Blocks, "k8flex_verdict_correct") {
				final++
			}
		}
	}
	if final != 6 {
		t.Errorf("%d live incidents have a final analysis in their thread, want 6", final)
	}
	// Two digests posted once each, six roots and six analyses: nothing
	// else was posted, and the digests' ts were recorded.
	if n := len(fs.Calls("chat.postMessage")); n != 2+12 {
		t.Errorf("%d chat.postMessage calls, want 14", n)
	}
	dg.mu.Lock()
	posted := dg.posted
	dg.mu.Unlock()
	if posted != 2 {
		t.Errorf("%d digest messages recorded as posted, want 2", posted)
	}
	t.Logf("%d chat.update calls for 201 alerts", len(fs.Calls("chat.update")))

	// Below the limit again (after stormHold), alerts get threads again.
	backlog.Store(0)
	b.digests.mu.Lock()
	b.digests.stormUntil = map[string]time.Time{}
	b.digests.backlogAt = time.Time{}
	b.digests.mu.Unlock()
	r := investigateOne(t, b, "after", stormAlert("shop", 5000), true)
	finish(t, 10*time.Second, r)
	if ch, ts := r.Thread(); ch != testChannel || ts == "" {
		t.Errorf("after the storm a gone target got no thread of its own (%q %q)", ch, ts)
	}
}

// TestStormDigestAfterRestart: a second process (same outbox and digest
// store) goes on editing the digest message the first posted, and its
// count goes on from the first's.
func TestStormDigestAfterRestart(t *testing.T) {
	fs := fakeslack.New(fakeslack.Options{})
	t.Cleanup(fs.Close)
	ob, dg := newMemOutbox(), newMemDigests()
	deps := Deps{Outbox: ob, Digests: dg, Backlog: func(context.Context) (int, error) { return 100_000, nil }}
	b1, err := New(testConfig(fs), deps, zerologNop())
	if err != nil {
		t.Fatal(err)
	}
	for i := range 5 {
		investigateOne(t, b1, fmt.Sprintf("case-%d", i), stormAlert("shop", i), true)
	}
	b1.send.start()
	eventually(t, 10*time.Second, "the first digest", func() bool {
		dg.mu.Lock()
		defer dg.mu.Unlock()
		return ob.pending() == 0 && dg.posted == 1
	})
	cctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	if err := b1.Close(cctx); err != nil {
		t.Fatal(err)
	}
	b2 := startBot(t, fs, testConfig(fs), deps)
	for i := 5; i < 12; i++ {
		investigateOne(t, b2, fmt.Sprintf("case-%d", i), stormAlert("shop", i), true)
	}
	eventually(t, 10*time.Second, "the digest showing 12 alerts", func() bool {
		top := topLevel(fs)
		return len(top) == 1 && strings.Contains(texts(t, top[0].Blocks), "12 alerts whose target")
	})
	if n := len(fs.Calls("chat.postMessage")); n != 1 {
		t.Errorf("%d chat.postMessage calls, want 1 (the digest, edited after the restart)", n)
	}
}
