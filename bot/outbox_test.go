package bot

import (
	"context"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/k8flex/k8flex/internal/fakeslack"
)

// memOutbox is an Outbox in memory for one process: every effect it was
// given back by Claim is "held"; Put effects are held from the start.
type memOutbox struct {
	mu       sync.Mutex
	effects  map[string]Effect // case/key
	held     map[string]bool
	done     []Effect
	released int
}

func newMemOutbox() *memOutbox {
	return &memOutbox{effects: map[string]Effect{}, held: map[string]bool{}}
}

func (o *memOutbox) Put(_ context.Context, effects []Effect) ([]Effect, error) {
	o.mu.Lock()
	defer o.mu.Unlock()
	out := make([]Effect, len(effects))
	for i, e := range effects {
		k := e.CaseRef + "/" + e.Key
		e.Version = o.effects[k].Version + 1
		o.effects[k], o.held[k], out[i] = e, true, e
	}
	return out, nil
}

func (o *memOutbox) Claim(_ context.Context, n int) ([]Effect, error) {
	o.mu.Lock()
	defer o.mu.Unlock()
	var out []Effect
	for k, e := range o.effects {
		if len(out) < n && !o.held[k] {
			o.held[k] = true
			out = append(out, e)
		}
	}
	return out, nil
}

func (o *memOutbox) Done(_ context.Context, e Effect, ts string) error {
	o.mu.Lock()
	defer o.mu.Unlock()
	k := e.CaseRef + "/" + e.Key
	if cur, ok := o.effects[k]; ok && cur.Version == e.Version {
		delete(o.effects, k)
		delete(o.held, k)
	}
	e.TS = ts
	o.done = append(o.done, e)
	return nil
}

func (o *memOutbox) Renew(context.Context) error { return nil }

func (o *memOutbox) Release(context.Context) error {
	o.mu.Lock()
	defer o.mu.Unlock()
	o.held = map[string]bool{}
	o.released++
	return nil
}

func (o *memOutbox) pending() int {
	o.mu.Lock()
	defer o.mu.Unlock()
	return len(o.effects)
}

// TestOutboxFinalThread: a reporter records its final thread in the
// outbox before sending it and marks it delivered once Slack took it.
func TestOutboxFinalThread(t *testing.T) {
	fs := fakeslack.New(fakeslack.Options{})
	t.Cleanup(fs.Close)
	ob := newMemOutbox()
	b := startBot(t, fs, testConfig(fs), Deps{Outbox: ob})
	inv := testInvestigation("case-ob", testAlert("KubePodCrashLooping"))
	r := b.Reporter("")
	ctx := context.Background()
	if err := r.Started(ctx, inv); err != nil {
		t.Fatal(err)
	}
	r.Chunk(ctx, sampleAnalysis)
	_ = r.Finished(ctx, testResult(inv, sampleAnalysis))
	finish(t, 10*time.Second, r)
	if n := ob.pending(); n != 0 {
		t.Errorf("%d effects left in the outbox after the thread became final", n)
	}
	keys := map[string]bool{}
	for _, e := range ob.done {
		keys[e.Key] = true
		if e.Key == "page/0" && e.TS == "" {
			t.Error("the analysis page was marked delivered without its ts")
		}
	}
	if !keys["root"] || !keys["page/0"] {
		t.Errorf("delivered %v, want root and page/0", keys)
	}
}

// TestOutboxDeliversLeftEffects: effects a stopped process left behind
// are delivered: the missing analysis reply is posted in its thread (and
// linked to its case), the root updated.
func TestOutboxDeliversLeftEffects(t *testing.T) {
	fs := fakeslack.New(fakeslack.Options{})
	t.Cleanup(fs.Close)
	cfg := testConfig(fs)
	// The root message a previous process posted.
	api := startBot(t, fs, cfg, Deps{})
	rootTS, err := api.post(context.Background(), testChannel, "", nil, "🔄 Analysis in progress…")
	if err != nil {
		t.Fatal(err)
	}
	ob := newMemOutbox()
	links := NewMessageIndex()
	ob.effects["case-left/root"] = Effect{CaseRef: "case-left", Key: "root", Channel: testChannel, TS: rootTS,
		Blocks: `[{"type":"section","text":{"type":"mrkdwn","text":"done: bad image"}}]`, Text: "done", Version: 1}
	// A message Slack no longer has is dropped, not retried forever.
	ob.effects["case-gone/root"] = Effect{CaseRef: "case-gone", Key: "root", Channel: testChannel, TS: "1600000000.000001",
		Blocks: `[]`, Text: "gone", Version: 1}
	ob.effects["case-left/page/0"] = Effect{CaseRef: "case-left", Key: "page/0", Channel: testChannel, ThreadTS: rootTS,
		Blocks: `[{"type":"section","text":{"type":"mrkdwn","text":"the analysis"}}]`, Text: "analysis", Version: 3}
	startBot(t, fs, cfg, Deps{Outbox: ob, Links: links, Cases: links})
	eventually(t, 10*time.Second, "the outbox delivered", func() bool { return ob.pending() == 0 })

	var dropped bool
	for _, e := range ob.done {
		dropped = dropped || e.CaseRef == "case-gone"
	}
	if !dropped {
		t.Error("the effect of a message Slack does not have was not dropped")
	}
	root, _ := fs.Message(testChannel, rootTS)
	if !strings.Contains(root.Blocks, "done: bad image") {
		t.Errorf("root = %s, want the final blocks", root.Blocks)
	}
	var reply fakeslack.Message
	for _, m := range fs.Messages() {
		if m.ThreadTS == rootTS {
			reply = m
		}
	}
	if !strings.Contains(reply.Blocks, "the analysis") {
		t.Fatalf("no analysis reply posted in the thread: %+v", fs.Messages())
	}
	if m, ok, _ := links.CaseByMessage(context.Background(), testChannel, reply.TS); !ok || m.CaseRef != "case-left" {
		t.Errorf("the posted reply is not linked to its case: %+v", m)
	}
}

// TestThreadPostedWhenSlackReturns: an investigation that starts and
// ends while Slack is unreachable is not lost: once Slack answers, its
// root is posted (already showing the outcome, one post, no update of a
// stale text) and the final analysis replies in its thread; the outbox
// is empty then.
func TestThreadPostedWhenSlackReturns(t *testing.T) {
	fs := fakeslack.New(fakeslack.Options{})
	t.Cleanup(fs.Close)
	ob := newMemOutbox()
	b := startBot(t, fs, testConfig(fs), Deps{Outbox: ob})
	fs.SetUnreachable(true)
	ctx := context.Background()
	inv := testInvestigation("case-down", testAlert("KubePodCrashLooping"))
	r := b.Reporter("")
	if err := r.Started(ctx, inv); err != nil {
		t.Fatalf("Started while Slack is unreachable: %v", err)
	}
	r.Chunk(ctx, sampleAnalysis)
	if err := r.Finished(ctx, testResult(inv, sampleAnalysis)); err != nil {
		t.Fatalf("Finished while Slack is unreachable: %v", err)
	}
	// Deliveries fail and back off meanwhile (the reporter's attempt,
	// then the delivery's, again and again).
	eventually(t, 20*time.Second, "delivery attempts while down", func() bool {
		n := 0
		for _, c := range fs.Calls("chat.postMessage") {
			if c.Status == 0 {
				n++
			}
		}
		return n >= 3
	})
	select {
	case <-r.Done():
		t.Fatal("the thread is reported final although Slack never took it")
	default:
	}
	fs.SetUnreachable(false)
	finish(t, 30*time.Second, r)

	var roots, replies []fakeslack.Message
	for _, m := range fs.Messages() {
		if m.ThreadTS == "" {
			roots = append(roots, m)
		} else {
			replies = append(replies, m)
		}
	}
	if len(roots) != 1 || len(replies) != 1 {
		t.Fatalf("%d roots and %d replies posted, want one each: %+v", len(roots), len(replies), fs.Messages())
	}
	if s := texts(t, roots[0].Blocks); !strings.Contains(s, "Root cause:* ConfigMap shop/app-settings") {
		t.Errorf("root is not final:\n%s", s)
	}
	if replies[0].ThreadTS != roots[0].TS || !strings.Contains(texts(t, replies[0].Blocks), "Analysis complete") {
		t.Errorf("reply %+v is not the final analysis in the root's thread %s", replies[0], roots[0].TS)
	}
	if _, ts := r.Thread(); ts != roots[0].TS {
		t.Errorf("reporter's thread = %q, want the posted root %s", ts, roots[0].TS)
	}
	if n := ob.pending(); n != 0 {
		t.Errorf("%d effects left in the outbox", n)
	}
}

// clone copies what the outbox holds, free for anyone to claim: the
// store as a process killed with -9 leaves it.
func (o *memOutbox) clone() *memOutbox {
	o.mu.Lock()
	defer o.mu.Unlock()
	c := newMemOutbox()
	for k, e := range o.effects {
		c.effects[k] = e
	}
	return c
}

// TestFinishedRecordsTheFinalThreadBeforeItReturns: the worker completes
// a case only after its reporter's Finished returned (dispatch), so a
// kill -9 right after that must find the final thread in the outbox,
// although Slack took nothing of it yet. The next process delivers it:
// the streamed reply (posted "in progress") and the root are updated in
// place, nothing is left in progress, and no second root appears. A
// re-run of the case (killed before it was completed) reports into the
// same thread.
func TestFinishedRecordsTheFinalThreadBeforeItReturns(t *testing.T) {
	fs := fakeslack.New(fakeslack.Options{})
	t.Cleanup(fs.Close)
	cfg := testConfig(fs)
	first := newMemOutbox()
	a := startBot(t, fs, cfg, Deps{Outbox: first})
	ctx := context.Background()
	inv := testInvestigation("case-kill", testAlert("KubePodCrashLooping"))
	r := a.Reporter("")
	if err := r.Started(ctx, inv); err != nil {
		t.Fatal(err)
	}
	r.Chunk(ctx, sampleAnalysis[:len(sampleAnalysis)/2])
	eventually(t, 10*time.Second, "the analysis streamed in progress", func() bool {
		for _, m := range fs.Messages() {
			if m.ThreadTS != "" && strings.Contains(m.Blocks, "in progress") {
				return true
			}
		}
		return false
	})
	// Slack stops answering: nothing of the final thread reaches it
	// before the kill.
	fs.SetUnreachable(true)
	if err := r.Finished(ctx, testResult(inv, sampleAnalysis)); err != nil {
		t.Fatal(err)
	}
	left := first.clone() // kill -9 now
	for _, key := range []string{"case-kill/root", "case-kill/page/0"} {
		if e, ok := left.effects[key]; !ok || e.TS == "" {
			t.Errorf("after Finished the outbox holds %s = %+v; want the final message with its ts", key, e)
		}
	}
	cctx, cancel := context.WithTimeout(ctx, time.Second)
	_ = a.Close(cctx) // the killed process sends nothing more
	cancel()

	fs.SetUnreachable(false)
	b := startBot(t, fs, cfg, Deps{Outbox: left})
	eventually(t, 20*time.Second, "the left final thread delivered", func() bool { return left.pending() == 0 })
	var roots []fakeslack.Message
	for _, m := range fs.Messages() {
		if strings.Contains(m.Blocks, "in progress") {
			t.Errorf("message %s still in progress: %.200s", m.TS, m.Blocks)
		}
		if m.ThreadTS == "" {
			roots = append(roots, m)
		}
	}
	if len(roots) != 1 || !strings.Contains(texts(t, roots[0].Blocks), "Root cause:") {
		t.Fatalf("roots %+v: want one, final", roots)
	}

	// The case ran again (it was not completed): same thread.
	again := b.Reporter("").InThread(testChannel, roots[0].TS)
	if err := again.Started(ctx, inv); err != nil {
		t.Fatal(err)
	}
	again.Chunk(ctx, sampleAnalysis)
	if err := again.Finished(ctx, testResult(inv, sampleAnalysis)); err != nil {
		t.Fatal(err)
	}
	finish(t, 20*time.Second, again)
	n := 0
	for _, m := range fs.Messages() {
		if m.ThreadTS == "" {
			n++
		}
		if strings.Contains(m.Blocks, "in progress") {
			t.Errorf("after the re-run, message %s is in progress", m.TS)
		}
	}
	if n != 1 {
		t.Errorf("%d roots after the re-run, want the one thread", n)
	}
}
