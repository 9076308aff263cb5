package bot

import (
	"context"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"
)

// sender delivers the durable messages of threads (root posts, final
// analyses, notes on a root): what a reporter records and hands over, and
// what the Outbox gives back from stopped processes. Per message only the
// latest version waits (an earlier one not yet sent is never sent); a
// case's messages go in order, its root first, since replies need the
// root's ts. While Slack does not answer, every delivery waits with
// back-off (sendBackoffMin doubling to sendBackoffMax) and then tries
// again, in this process: nothing is given up until Slack refuses it.
type sender struct {
	b *Bot

	mu      sync.Mutex
	pending map[string]map[string]pendingEffect // case -> key -> latest version
	queue   []string                            // cases with pending messages, oldest first
	queued  map[string]bool
	busy    map[string]bool
	idle    map[string][]chan struct{} // closed once the case has nothing pending
	posted  map[string]postedMsg       // case/key -> the message a post created
	seq     uint64
	backoff time.Duration
	down    time.Time // no delivery before this (Slack unreachable)

	wake chan struct{}

	startOnce sync.Once
	stopOnce  sync.Once
	cancel    context.CancelFunc
	wg        sync.WaitGroup
}

type pendingEffect struct {
	e       Effect
	seq     uint64
	claimed bool // from the Outbox: left by a stopped process
}

type postedMsg struct {
	ts string
	at time.Time
}

const (
	sendWorkers    = 4
	sendBackoffMin = 500 * time.Millisecond
	sendBackoffMax = 10 * time.Second
	// postedMemory is how long the ts of a posted message is kept to turn
	// a later version of it into an update.
	postedMemory = time.Hour
	// claimBelow: claim from the Outbox only while fewer messages wait here.
	claimBelow = 200
)

func newSender(b *Bot) *sender {
	return &sender{b: b, pending: map[string]map[string]pendingEffect{}, queued: map[string]bool{},
		busy: map[string]bool{}, idle: map[string][]chan struct{}{}, posted: map[string]postedMsg{},
		wake: make(chan struct{}, 1)}
}

// start runs the workers (and, with an Outbox, the renewal of this
// process's hold and the claims of what stopped processes left) until
// stop. Calling it again does nothing.
func (s *sender) start() {
	s.startOnce.Do(func() {
		ctx, cancel := context.WithCancel(context.Background())
		s.mu.Lock()
		s.cancel = cancel
		s.mu.Unlock()
		for range sendWorkers {
			s.wg.Go(func() { s.work(ctx) })
		}
		if s.b.deps.Outbox != nil {
			s.wg.Go(func() { s.renew(ctx) })
			s.wg.Go(func() { s.claim(ctx) })
		}
	})
}

// stop ends the workers; what they did not deliver stays in the Outbox.
func (s *sender) stop() {
	s.stopOnce.Do(func() {
		s.startOnce.Do(func() {}) // never start after a stop
		s.mu.Lock()
		cancel := s.cancel
		s.mu.Unlock()
		if cancel != nil {
			cancel()
		}
		s.wg.Wait()
	})
}

func (s *sender) signal() {
	select {
	case s.wake <- struct{}{}:
	default:
	}
}

// fill completes an effect with what this process posted: the ts of its
// own message and of its thread's root.
func (s *sender) fill(e Effect) Effect {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.fillLocked(e)
}

func (s *sender) fillLocked(e Effect) Effect {
	if e.TS == "" {
		e.TS = s.posted[e.CaseRef+"/"+e.Key].ts
	}
	if e.TS == "" && e.ThreadTS == "" && e.Key != keyRoot {
		e.ThreadTS = s.posted[e.CaseRef+"/"+keyRoot].ts
	}
	return e
}

// remember records the ts of a message posted for the case's key.
func (s *sender) remember(caseRef, key, ts string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.rememberLocked(caseRef, key, ts)
}

func (s *sender) rememberLocked(caseRef, key, ts string) {
	now := time.Now()
	if len(s.posted) > 4096 {
		for k, p := range s.posted {
			if now.Sub(p.at) > postedMemory {
				delete(s.posted, k)
			}
		}
	}
	s.posted[caseRef+"/"+key] = postedMsg{ts: ts, at: now}
}

// handOver queues effects for delivery, each replacing what waits for
// the same message. A claimed effect (fromOutbox) does not replace a
// newer version already waiting.
func (s *sender) handOver(effects []Effect, fromOutbox bool) {
	if len(effects) == 0 {
		return
	}
	s.start()
	s.mu.Lock()
	for _, e := range effects {
		e = s.fillLocked(e)
		m := s.pending[e.CaseRef]
		if m == nil {
			m = map[string]pendingEffect{}
			s.pending[e.CaseRef] = m
		}
		if old, ok := m[e.Key]; ok && fromOutbox && old.e.Version >= e.Version {
			continue
		}
		s.seq++
		m[e.Key] = pendingEffect{e: e, seq: s.seq, claimed: fromOutbox}
		if !s.queued[e.CaseRef] && !s.busy[e.CaseRef] {
			s.queued[e.CaseRef] = true
			s.queue = append(s.queue, e.CaseRef)
		}
	}
	s.mu.Unlock()
	s.signal()
}

// delivered returns a channel closed once nothing of the case waits.
func (s *sender) delivered(caseRef string) <-chan struct{} {
	ch := make(chan struct{})
	s.mu.Lock()
	defer s.mu.Unlock()
	if len(s.pending[caseRef]) == 0 && !s.busy[caseRef] {
		close(ch)
		return ch
	}
	s.idle[caseRef] = append(s.idle[caseRef], ch)
	return ch
}

// waiting returns how many messages wait in this process.
func (s *sender) waiting() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	n := 0
	for _, m := range s.pending {
		n += len(m)
	}
	return n
}

// next takes the oldest case nobody delivers, once Slack may be called.
func (s *sender) next(ctx context.Context) (string, []pendingEffect, bool) {
	for ctx.Err() == nil {
		s.mu.Lock()
		wait := time.Until(s.down)
		var ref string
		if wait <= 0 && len(s.queue) > 0 {
			ref, s.queue = s.queue[0], s.queue[1:]
			delete(s.queued, ref)
			s.busy[ref] = true
		}
		more := len(s.queue) > 0
		var list []pendingEffect
		for _, pe := range s.pending[ref] {
			list = append(list, pe)
		}
		s.mu.Unlock()
		if ref != "" {
			if more {
				s.signal() // another worker may take the next case
			}
			slices.SortFunc(list, func(a, b pendingEffect) int { return effectOrder(a.e, b.e) })
			return ref, list, true
		}
		var t *time.Timer
		var timer <-chan time.Time
		if wait > 0 {
			t = time.NewTimer(wait)
			timer = t.C
		}
		select {
		case <-ctx.Done():
		case <-s.wake:
		case <-timer:
		}
		if t != nil {
			t.Stop()
		}
	}
	return "", nil, false
}

// effectOrder sorts a thread's messages: a root still to be posted (the
// replies need its ts), the analysis pages in order, the rest, and an
// update of the root last (the analysis is what people wait for).
func effectOrder(a, b Effect) int {
	rank := func(e Effect) (int, int) {
		switch n, page := strings.CutPrefix(e.Key, "page/"); {
		case e.Key == keyRoot && e.TS == "":
			return 0, 0
		case page:
			i, _ := strconv.Atoi(n)
			return 1, i
		case e.Key == keyRoot:
			return 3, 0
		}
		return 2, 0
	}
	ra, ia := rank(a)
	rb, ib := rank(b)
	if ra != rb {
		return ra - rb
	}
	if ia != ib {
		return ia - ib
	}
	return strings.Compare(a.Key, b.Key)
}

func (s *sender) work(ctx context.Context) {
	for {
		ref, list, ok := s.next(ctx)
		if !ok {
			return
		}
		s.deliverCase(ctx, ref, list)
		s.mu.Lock()
		delete(s.busy, ref)
		if len(s.pending[ref]) > 0 {
			if !s.queued[ref] {
				s.queued[ref] = true
				s.queue = append(s.queue, ref)
			}
		} else {
			delete(s.pending, ref)
			for _, ch := range s.idle[ref] {
				close(ch)
			}
			delete(s.idle, ref)
		}
		s.mu.Unlock()
		s.signal()
	}
}

// deliverCase sends a case's waiting messages in order; it stops at the
// first that Slack did not answer.
func (s *sender) deliverCase(ctx context.Context, ref string, list []pendingEffect) {
	b := s.b
	for _, pe := range list {
		e := s.fill(pe.e)
		if e.TS == "" && e.ThreadTS == "" && e.Key != keyRoot {
			s.mu.Lock()
			_, rootWaits := s.pending[ref][keyRoot]
			if !rootWaits {
				s.forgetLocked(ref, pe)
			}
			s.mu.Unlock()
			if !rootWaits {
				b.log.Error().Str("case", ref).Str("key", e.Key).Msg("a reply of a thread whose root is unknown; dropping it")
			}
			return
		}
		ts, err := b.deliver(ctx, e)
		switch {
		case err == nil:
			b.delivered(effectMethod(e), outcomeDelivered)
			s.sent(ctx, ref, pe, e, ts)
		case ctx.Err() != nil:
			return
		case refused(err):
			// Slack answered with an error (the message or channel is
			// gone): sending it again cannot help.
			b.log.Error().Err(err).Str("case", ref).Str("key", e.Key).Msg("Slack refused a message of a thread; dropping it")
			b.delivered(effectMethod(e), outcomeRefused)
			s.mu.Lock()
			s.forgetLocked(ref, pe)
			s.mu.Unlock()
			b.effectDone(ctx, e, "")
		default:
			b.retried(effectMethod(e), retryUnreachable)
			d := s.failed()
			b.log.Warn().Err(err).Str("case", ref).Str("key", e.Key).Dur("retry_in", d).Msg("Slack unreachable; the thread is sent when it answers")
			return
		}
	}
}

// forgetLocked drops a delivered (or refused) version unless a newer one
// arrived meanwhile.
func (s *sender) forgetLocked(ref string, pe pendingEffect) {
	if cur, ok := s.pending[ref][pe.e.Key]; ok && cur.seq == pe.seq {
		delete(s.pending[ref], pe.e.Key)
	}
}

// sent records a delivery: the Outbox forgets the version, a posted
// message's ts goes to the newer versions of it (and a root's to its
// replies), and Slack is known to answer again.
func (s *sender) sent(ctx context.Context, ref string, pe pendingEffect, e Effect, ts string) {
	s.mu.Lock()
	s.forgetLocked(ref, pe)
	s.backoff, s.down = 0, time.Time{}
	if ts != "" {
		s.rememberLocked(ref, e.Key, ts)
		for k, cur := range s.pending[ref] {
			cur.e = s.fillLocked(cur.e)
			s.pending[ref][k] = cur
		}
	}
	s.mu.Unlock()
	s.b.effectDone(ctx, e, ts)
	if pe.claimed {
		s.b.log.Info().Str("case", ref).Str("key", e.Key).Str("channel", e.Channel).Msg("delivered from the slack outbox")
	}
}

// failed starts or lengthens the pause of every delivery and returns it.
func (s *sender) failed() time.Duration {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.backoff = min(max(s.backoff*2, sendBackoffMin), sendBackoffMax)
	s.down = time.Now().Add(s.backoff)
	return s.backoff
}

// renew extends this process's hold on its effects every
// outboxRenewEvery.
func (s *sender) renew(ctx context.Context) {
	t := time.NewTicker(outboxRenewEvery)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
			if err := s.b.deps.Outbox.Renew(ctx); err != nil && ctx.Err() == nil {
				s.b.log.Warn().Err(err).Msg("renew hold on the slack outbox")
			}
		}
	}
}

// claim takes the effects nobody holds (left by stopped processes) every
// outboxPollEvery, while Slack answers and little waits here.
func (s *sender) claim(ctx context.Context) {
	t := time.NewTimer(0)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
		next := outboxPollEvery
		s.mu.Lock()
		ok := time.Now().After(s.down)
		s.mu.Unlock()
		if ok && s.waiting() < claimBelow {
			effects, err := s.b.deps.Outbox.Claim(ctx, outboxBatch)
			if err != nil && ctx.Err() == nil {
				s.b.log.Warn().Err(err).Msg("claim from the slack outbox")
			}
			s.handOver(effects, true)
			if len(effects) == outboxBatch {
				next = 0 // more are waiting
			}
		}
		t.Reset(next)
	}
}
