package bot

import (
	"sync"
	"time"

	"github.com/slack-go/slack"
)

// registryTTL is how long the bot remembers the messages it posted.
const registryTTL = 72 * time.Hour

// registry remembers the root and final messages this process posted, to
// re-render them (status, verdict). It forgets them after registryTTL.
type registry struct {
	mu     sync.Mutex
	roots  map[string]*rootEntry
	byCase map[string]*rootEntry  // roots of this process's reporters, posted or not
	finals map[string]*finalEntry // by case ref
}

type rootEntry struct {
	channel, ts string     // ts guarded by registry.mu ("" until posted)
	caseRef     string     // "" for a root another process posted
	state       *rootState // guarded by registry.mu
	created     time.Time

	sendMu  sync.Mutex // serialises updates of this message
	sent    string
	lastEnd time.Time
}

type finalEntry struct {
	channel, ts, threadTS string // ts guarded by registry.mu ("" until posted)
	key                   string // its Effect.Key
	blocks                []slack.Block
	streamed              bool
	created               time.Time
}

func newRegistry() *registry {
	return &registry{roots: map[string]*rootEntry{}, byCase: map[string]*rootEntry{}, finals: map[string]*finalEntry{}}
}

// newRoot registers the root of a case this process reports, before it
// is posted.
func (r *registry) newRoot(channel, caseRef string, st *rootState) *rootEntry {
	r.mu.Lock()
	defer r.mu.Unlock()
	now := time.Now()
	r.evictLocked(now)
	e := &rootEntry{channel: channel, caseRef: caseRef, state: st, created: now, lastEnd: now}
	if caseRef != "" {
		r.byCase[caseRef] = e
	}
	return e
}

// posted records the ts of a root its reporter posted, and what it shows.
func (r *registry) posted(e *rootEntry, ts, sent string) {
	e.sendMu.Lock()
	e.sent = sent
	e.sendMu.Unlock()
	r.mu.Lock()
	defer r.mu.Unlock()
	e.ts = ts
	r.roots[e.channel+"/"+ts] = e
}

// rootPosted records the ts of a case's root once it is posted.
func (r *registry) rootPosted(caseRef, ts string) {
	r.mu.Lock()
	defer r.mu.Unlock()
	e := r.byCase[caseRef]
	if e == nil || e.ts != "" {
		return
	}
	e.ts = ts
	r.roots[e.channel+"/"+ts] = e
}

// finalPosted records the ts of a case's final message once it is
// posted (key: its Effect.Key).
func (r *registry) finalPosted(caseRef, key, ts string) {
	r.mu.Lock()
	defer r.mu.Unlock()
	if f := r.finals[caseRef]; f != nil && f.key == key && f.ts == "" {
		f.ts = ts
	}
}

func (r *registry) putRoot(channel, ts string, st *rootState, sent string) *rootEntry {
	r.mu.Lock()
	defer r.mu.Unlock()
	now := time.Now()
	r.evictLocked(now)
	e := &rootEntry{channel: channel, ts: ts, state: st, created: now, sent: sent, lastEnd: now}
	r.roots[channel+"/"+ts] = e
	return e
}

func (r *registry) root(channel, ts string) *rootEntry {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.roots[channel+"/"+ts]
}

func (r *registry) putFinal(caseRef string, f *finalEntry) {
	if caseRef == "" {
		return
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	f.created = time.Now()
	r.finals[caseRef] = f
}

func (r *registry) final(caseRef string) *finalEntry {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.finals[caseRef]
}

func (r *registry) evictLocked(now time.Time) {
	for k, e := range r.roots {
		if now.Sub(e.created) > registryTTL {
			delete(r.roots, k)
		}
	}
	for k, e := range r.byCase {
		if now.Sub(e.created) > registryTTL {
			delete(r.byCase, k)
		}
	}
	for k, f := range r.finals {
		if now.Sub(f.created) > registryTTL {
			delete(r.finals, k)
		}
	}
}
