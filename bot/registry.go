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
	finals map[string]*finalEntry // by case ref
}

type rootEntry struct {
	channel, ts string
	state       *rootState // guarded by registry.mu
	created     time.Time

	sendMu  sync.Mutex // serialises updates of this message
	sent    string
	lastEnd time.Time
}

type finalEntry struct {
	channel, ts, threadTS string
	blocks                []slack.Block
	streamed              bool
	created               time.Time
}

func newRegistry() *registry {
	return &registry{roots: map[string]*rootEntry{}, finals: map[string]*finalEntry{}}
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
	for k, f := range r.finals {
		if now.Sub(f.created) > registryTTL {
			delete(r.finals, k)
		}
	}
}
