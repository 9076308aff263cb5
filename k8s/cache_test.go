package k8s

import (
	"context"
	"errors"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"k8s.io/apimachinery/pkg/runtime"

	"github.com/k8flex/k8flex/investigate"
)

func TestSharedCacheFreshnessBound(t *testing.T) {
	now := time.Date(2026, 1, 1, 12, 0, 0, 0, time.UTC)
	c := newSharedCache(3*time.Second, 0, time.Second)
	c.now = func() time.Time { return now }
	var calls int
	fetch := func(context.Context) (any, error) { calls++; return calls, nil }
	for _, tt := range []struct {
		name        string
		advance     time.Duration
		want        int
		wantFetched bool
	}{
		{"first read fetches", 0, 1, true},
		{"within the bound is served from the cache", 2900 * time.Millisecond, 1, false},
		{"at the bound fetches again", 100 * time.Millisecond, 2, true},
		{"fresh again", time.Second, 2, false},
	} {
		t.Run(tt.name, func(t *testing.T) {
			now = now.Add(tt.advance)
			v, fetched, err := c.get(context.Background(), "pods/shop", fetch)
			if err != nil || v.(int) != tt.want || fetched != tt.wantFetched {
				t.Errorf("get = %v, fetched %t, %v; want %d, fetched %t", v, fetched, err, tt.want, tt.wantFetched)
			}
		})
	}
	if s := c.stats(); s.Fetches != 2 || s.Hits != 2 {
		t.Errorf("stats = %+v, want 2 fetches and 2 hits", s)
	}
}

func TestSharedCacheSharesOneFetchAndNeverCachesErrors(t *testing.T) {
	c := newSharedCache(time.Minute, 0, time.Second)
	var calls atomic.Int32
	release := make(chan struct{})
	var wg sync.WaitGroup
	var fetchedBy atomic.Int32
	for range 20 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			_, fetched, err := c.get(context.Background(), "nodes", func(context.Context) (any, error) {
				calls.Add(1)
				<-release
				return "nodes", nil
			})
			if err != nil {
				t.Error(err)
			}
			if fetched {
				fetchedBy.Add(1)
			}
		}()
	}
	time.Sleep(50 * time.Millisecond) // let the readers pile up on the fetch in flight
	close(release)
	wg.Wait()
	if calls.Load() != 1 || fetchedBy.Load() != 1 {
		t.Errorf("20 concurrent readers made %d fetches (%d counted); want 1", calls.Load(), fetchedBy.Load())
	}

	boom := errors.New("boom")
	for i := range 2 {
		_, fetched, err := c.get(context.Background(), "events/shop", func(context.Context) (any, error) { return nil, boom })
		if !errors.Is(err, boom) || !fetched {
			t.Errorf("read %d: err %v, fetched %t; want the error and a counted request (errors are not cached)", i, err, fetched)
		}
	}
}

func TestSharedCacheIsBounded(t *testing.T) {
	c := newSharedCache(time.Minute, 2, time.Second)
	for _, k := range []string{"a", "b", "c", "d"} {
		if _, _, err := c.get(context.Background(), k, func(context.Context) (any, error) { return k, nil }); err != nil {
			t.Fatal(err)
		}
	}
	if s := c.stats(); s.Entries != 2 || s.Evicted != 2 {
		t.Errorf("stats = %+v, want 2 entries and 2 evicted", s)
	}
}

// countingLogs serves empty logs and counts the reads (a log read is an
// API request to the kubelet through the API server).
type countingLogs struct{ n atomic.Int64 }

func (c *countingLogs) Logs(context.Context, string, string, string, bool, int) (string, error) {
	c.n.Add(1)
	return "", nil
}

func TestGatherSharesNamespaceReadsAcrossInvestigations(t *testing.T) {
	objs := []runtime.Object{
		newDeployment("shop", "web", map[string]string{"app": "web"}),
		newPod("shop", "web-7f9c6d8b5c-aaaaa", withLabels("app", "web"), ownedByRS("web-7f9c6d8b5c"), crashLooping(3)),
		newPod("shop", "web-7f9c6d8b5c-bbbbb", withLabels("app", "web"), ownedByRS("web-7f9c6d8b5c"), crashLooping(2)),
		newNode("node-1", "10.0.0.1"),
	}
	target := func(pod string) investigate.Target {
		return investigate.Target{Kind: investigate.KindPod, Name: pod, Namespace: "shop", Pod: pod}
	}
	count := func(ttl time.Duration) (first, second int, served int64) {
		api := newRecordingReader(t, objs...)
		logs := &countingLogs{}
		g := NewGatherer(api, Options{Logs: logs, CacheTTL: ttl})
		defer func() { served += logs.n.Load() }()
		for i, pod := range []string{"web-7f9c6d8b5c-aaaaa", "web-7f9c6d8b5c-bbbbb"} {
			s, err := g.Gather(context.Background(), target(pod), investigate.PodCrash)
			if err != nil {
				t.Fatal(err)
			}
			if i == 0 {
				first = s.Evidence().APIRequests
			} else {
				second = s.Evidence().APIRequests
			}
		}
		return first, second, api.served()
	}
	f1, s1, served1 := count(time.Minute)
	f0, s0, served0 := count(-1)
	if f1 != f0 {
		t.Errorf("first investigation: %d requests with the cache, %d without; want equal", f1, f0)
	}
	if s1 >= s0 {
		t.Errorf("second investigation: %d requests with the cache, %d without; want fewer", s1, s0)
	}
	// Honest counting: what the investigations report is what the server served.
	if int64(f1+s1) != served1 || int64(f0+s0) != served0 {
		t.Errorf("reported %d+%d and %d+%d requests, the server served %d and %d", f1, s1, f0, s0, served1, served0)
	}
}

// Pods of one workload on one node: within the freshness bound, the second
// investigation reads neither the node nor the namespace's ReplicaSets again.
func TestGatherSharesNodeAndReplicaSetReads(t *testing.T) {
	api := newRecordingReader(t,
		newDeployment("shop", "web", map[string]string{"app": "web"}),
		newPod("shop", "web-7f9c6d8b5c-aaaaa", withLabels("app", "web"), ownedByRS("web-7f9c6d8b5c"), crashLooping(3)),
		newPod("shop", "web-7f9c6d8b5c-bbbbb", withLabels("app", "web"), ownedByRS("web-7f9c6d8b5c"), crashLooping(2)),
		newNode("node-1", "10.0.0.1"),
	)
	g := NewGatherer(api, Options{Logs: mapLogs{}, CacheTTL: time.Minute})
	reads := func(pod string) (nodeGets, rsLists int) {
		before := len(api.recorded())
		if _, err := g.Gather(context.Background(), investigate.Target{Kind: investigate.KindPod, Name: pod, Namespace: "shop", Pod: pod}, investigate.PodCrash); err != nil {
			t.Fatal(err)
		}
		for _, q := range api.recorded()[before:] {
			switch {
			case q.verb == "get" && q.resource == resNodes:
				nodeGets++
			case q.verb == "list" && q.resource == resReplicaSets:
				rsLists++
			}
		}
		return nodeGets, rsLists
	}
	if n, rs := reads("web-7f9c6d8b5c-aaaaa"); n != 1 || rs != 1 {
		t.Fatalf("first investigation: %d node gets, %d replicaset lists; want 1 and 1", n, rs)
	}
	if n, rs := reads("web-7f9c6d8b5c-bbbbb"); n != 0 || rs != 0 {
		t.Errorf("second investigation: %d node gets, %d replicaset lists; want both served by the cache", n, rs)
	}
}

func TestGatherGoneTargets(t *testing.T) {
	objs := []runtime.Object{
		newDeployment("shop", "web", map[string]string{"app": "web"}),
		newDeployment("shop", "idle", map[string]string{"app": "idle"}),
		newPod("shop", "web-7f9c6d8b5c-aaaaa", withLabels("app", "web"), ownedByRS("web-7f9c6d8b5c"), crashLooping(3)),
		newEvent("shop", "e1", "Pod", "shop", "batch-x2k4p", "Evicted", time.Date(2026, 1, 1, 12, 0, 0, 0, time.UTC)),
	}
	pod := func(name string) investigate.Target {
		return investigate.Target{Kind: investigate.KindPod, Name: name, Namespace: "shop", Pod: name}
	}
	for _, tt := range []struct {
		name      string
		target    investigate.Target
		wantGone  bool
		wantInSum string
		wantProof string
		wantDeps  []string
	}{
		{name: "pod without owner", target: pod("debug-shell"), wantGone: true, wantInSum: "implies no owner"},
		{name: "pod of a deleted deployment", target: pod("api-6d4b8f7c59-wxq2l"), wantGone: true, wantInSum: "deployment/api"},
		{name: "its last events are kept", target: pod("batch-x2k4p"), wantGone: true, wantProof: "Evicted"},
		{name: "pod of a live deployment without pods", target: pod("idle-6d4b8f7c59-wxq2l"), wantDeps: []string{"idle"}},
	} {
		t.Run(tt.name, func(t *testing.T) {
			g := NewGatherer(newRecordingReader(t, objs...), Options{Logs: mapLogs{}})
			snap, err := g.Gather(context.Background(), tt.target, investigate.PodCrash)
			if err != nil {
				t.Fatal(err)
			}
			ev := snap.Evidence()
			gs, gone := snap.(*goneSnapshot)
			if gone != tt.wantGone || ev.TargetGone != true {
				t.Fatalf("gone snapshot = %t, TargetGone = %t; want %t and true", gone, ev.TargetGone, tt.wantGone)
			}
			if !gone {
				if got := snap.(*Snapshot).Deployments; len(got) != 1 || got[0].Name != tt.wantDeps[0] {
					t.Errorf("deployments = %v, want %v investigated", got, tt.wantDeps)
				}
				return
			}
			if len(ev.Sections) != 1 || ev.Sections[0].Name != "target/gone" {
				t.Fatalf("sections = %+v, want the one target/gone section", ev.Sections)
			}
			fs := gs.Diagnose()
			if len(fs) != 1 || fs[0].Rule != "target-gone" || !strings.Contains(fs[0].Summary, tt.wantInSum) {
				t.Errorf("findings = %+v, want one target-gone finding mentioning %q", fs, tt.wantInSum)
			}
			if tt.wantProof != "" && (len(fs[0].Proof) == 0 || !strings.Contains(fs[0].Proof[0], tt.wantProof)) {
				t.Errorf("proof = %v, want the pod's %s event", fs[0].Proof, tt.wantProof)
			}
			if strings.Contains(ev.Sections[0].Body, "not found") {
				t.Errorf("gone evidence lists not-found objects: %q", ev.Sections[0].Body)
			}
		})
	}
}

func TestGoneStormCostsOneRequestPerAlert(t *testing.T) {
	api := newRecordingReader(t, newNode("node-1", "10.0.0.1"))
	g := NewGatherer(api, Options{Logs: mapLogs{}})
	const alerts = 200
	var wg sync.WaitGroup
	var reported atomic.Int64
	for i := range alerts {
		wg.Add(1)
		go func() {
			defer wg.Done()
			name := "ghost-" + strings.Repeat("a", 1+i%7) + "-" + string(rune('a'+i%26)) + string(rune('a'+i/26))
			s, err := g.Gather(context.Background(), investigate.Target{Kind: investigate.KindPod, Name: name, Namespace: "shop", Pod: name}, investigate.PodCrash)
			if err != nil {
				t.Error(err)
				return
			}
			reported.Add(int64(s.Evidence().APIRequests))
		}()
	}
	wg.Wait()
	// One GET per alert, plus the namespace's pod and event lists once.
	if n := api.served(); n > alerts+2*2 {
		t.Errorf("%d gone-pod alerts cost %d requests, want at most %d", alerts, n, alerts+4)
	}
	if reported.Load() != api.served() {
		t.Errorf("investigations reported %d requests, the server served %d", reported.Load(), api.served())
	}
}
