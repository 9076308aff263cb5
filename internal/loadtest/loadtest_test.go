package loadtest

import (
	"context"
	"errors"
	"net/http"
	"net/http/httptest"
	"os"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/rs/zerolog"

	"github.com/k8flex/k8flex/handlers"
	"github.com/k8flex/k8flex/investigate"
)

// memQueue is an in-memory handlers.Queue that deduplicates on Alert.Key
// like the durable queue, and records what it was given.
type memQueue struct {
	mu   sync.Mutex
	ids  map[string]string
	reqs []investigate.Request
	full bool
}

func newMemQueue() *memQueue { return &memQueue{ids: map[string]string{}} }

func (q *memQueue) Enqueue(_ context.Context, reqs []investigate.Request) ([]investigate.Enqueued, error) {
	q.mu.Lock()
	defer q.mu.Unlock()
	if q.full {
		return nil, investigate.ErrQueueFull
	}
	out := make([]investigate.Enqueued, len(reqs))
	for i := range reqs {
		key := reqs[i].Alert.Key()
		id, dup := q.ids[key]
		if !dup {
			id = key
			q.ids[key] = id
			q.reqs = append(q.reqs, reqs[i])
		}
		out[i] = investigate.Enqueued{ID: id, Duplicate: dup}
	}
	return out, nil
}

func (q *memQueue) len() int {
	q.mu.Lock()
	defer q.mu.Unlock()
	return len(q.reqs)
}

var _ investigate.Enqueuer = (*memQueue)(nil)

func webhookServer(t *testing.T, q investigate.Enqueuer, token string) *httptest.Server {
	t.Helper()
	h := handlers.NewWebhook(handlers.WebhookConfig{Token: token}, q, handlers.NewMetrics(nil), zerolog.Nop())
	srv := httptest.NewServer(h)
	t.Cleanup(srv.Close)
	return srv
}

func TestStormPayloads(t *testing.T) {
	for _, tt := range []struct {
		name         string
		storm        Storm
		wantPayloads int // -1: only bounds checked
		wantErr      string
	}{
		{name: "one alert per payload", storm: Storm{Alerts: 25, RunID: "a1"}, wantPayloads: 25},
		{name: "up to 10 per payload", storm: Storm{Alerts: 1000, MaxPerPayload: 10, Seed: 7, RunID: "b2"}, wantPayloads: -1},
		{name: "zero alerts", storm: Storm{Alerts: 0}, wantErr: "alerts = 0"},
		{name: "too many", storm: Storm{Alerts: MaxAlerts + 1}, wantErr: "want 1..100000"},
		{name: "run id not a name", storm: Storm{Alerts: 1, RunID: "Bad_ID"}, wantErr: "lowercase"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			ps, err := tt.storm.Payloads()
			if tt.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
					t.Fatalf("err = %v, want %q", err, tt.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if tt.wantPayloads >= 0 && len(ps) != tt.wantPayloads {
				t.Errorf("%d payloads, want %d", len(ps), tt.wantPayloads)
			}
			keys := map[string]bool{}
			sizes := map[int]bool{}
			for _, p := range ps {
				msg, err := investigate.ParseWebhook(p.Body)
				if err != nil {
					t.Fatalf("payload rejected by the webhook parser: %v", err)
				}
				k := max(tt.storm.MaxPerPayload, 1)
				if n := len(msg.Alerts); n < 1 || n > k || n != len(p.Keys) {
					t.Fatalf("payload of %d alerts (%d keys), want 1..%d", n, len(p.Keys), k)
				}
				sizes[len(msg.Alerts)] = true
				for i, a := range msg.Alerts {
					if a.Name() != "KubePodCrashLooping" || a.Labels["namespace"] != msg.GroupLabels["namespace"] {
						t.Fatalf("alert %v not in its group %v", a.Labels, msg.GroupLabels)
					}
					if !strings.Contains(a.Labels["pod"], "-"+tt.storm.RunID+"-") {
						t.Errorf("pod %q lacks the run id", a.Labels["pod"])
					}
					if a.Key() != p.Keys[i] {
						t.Errorf("key %q, want %q", p.Keys[i], a.Key())
					}
					if c := investigate.CategorizeByRules(&a); c.Category.NeedsNamespace() && a.Labels["namespace"] == "" {
						t.Errorf("alert lacks the labels its category needs: %v", a.Labels)
					}
					keys[a.Key()] = true
				}
			}
			if len(keys) != tt.storm.Alerts {
				t.Errorf("%d distinct alerts, want %d", len(keys), tt.storm.Alerts)
			}
			if tt.storm.MaxPerPayload > 2 && len(sizes) < 2 {
				t.Errorf("payload sizes %v do not vary", sizes)
			}
		})
	}
}

func TestStormIsReproducible(t *testing.T) {
	at := time.Date(2026, 11, 27, 1, 0, 0, 0, time.UTC)
	a, err := Storm{Alerts: 300, MaxPerPayload: 5, Seed: 3, RunID: "x", StartsAt: at}.Payloads()
	if err != nil {
		t.Fatal(err)
	}
	b, _ := Storm{Alerts: 300, MaxPerPayload: 5, Seed: 3, RunID: "x", StartsAt: at}.Payloads()
	c, _ := Storm{Alerts: 300, MaxPerPayload: 5, Seed: 3, RunID: "y", StartsAt: at}.Payloads()
	if len(a) != len(b) || string(a[0].Body) != string(b[0].Body) {
		t.Error("same storm gave different payloads")
	}
	if a[0].Keys[0] == c[0].Keys[0] {
		t.Error("two run ids gave the same alert key: runs against one store would be deduplicated")
	}
}

func TestRunAgainstTheWebhook(t *testing.T) {
	q := newMemQueue()
	srv := webhookServer(t, q, "tok")
	rep, err := Run(context.Background(), Config{URL: srv.URL, Token: "tok", Concurrency: 4,
		Storm: Storm{Alerts: 500, MaxPerPayload: 4, Seed: 1, RunID: "r1"}})
	if err != nil {
		t.Fatal(err)
	}
	t.Log(rep)
	if rep.Accepted != 500 || rep.ServerAccepted != 500 || rep.ServerDuplicates != 0 || rep.Unsent != 0 {
		t.Errorf("report %v: want 500 accepted by both counts, none unsent", rep)
	}
	if q.len() != 500 {
		t.Errorf("queue holds %d cases, want 500", q.len())
	}
	if rep.Status[http.StatusOK] != rep.Payloads || len(rep.Status) != 1 {
		t.Errorf("status counts %v, want %d × 200", rep.Status, rep.Payloads)
	}
	if rep.P50 <= 0 || rep.P99 < rep.P50 || rep.Max < rep.P99 || rep.AcceptedPerSecond <= 0 {
		t.Errorf("latencies p50 %s p99 %s max %s, rate %f", rep.P50, rep.P99, rep.Max, rep.AcceptedPerSecond)
	}
	if len(rep.AcceptedKeys) != 500 {
		t.Errorf("%d accepted keys, want 500", len(rep.AcceptedKeys))
	}

	// The same storm again: every alert is a duplicate, nothing is queued.
	again, err := Run(context.Background(), Config{URL: srv.URL, Token: "tok",
		Storm: Storm{Alerts: 500, MaxPerPayload: 4, Seed: 1, RunID: "r1", StartsAt: startOf(t, q)}})
	if err != nil {
		t.Fatal(err)
	}
	if again.ServerDuplicates != 500 || again.ServerAccepted != 0 || q.len() != 500 {
		t.Errorf("re-sent storm: %d duplicates, %d accepted, queue %d; want 500, 0, 500",
			again.ServerDuplicates, again.ServerAccepted, q.len())
	}
}

func startOf(t *testing.T, q *memQueue) time.Time {
	t.Helper()
	q.mu.Lock()
	defer q.mu.Unlock()
	return q.reqs[0].Alert.StartsAt
}

func TestRunCountsRefusals(t *testing.T) {
	for _, tt := range []struct {
		name       string
		token      string
		full       bool
		wantStatus int
	}{
		{name: "wrong token", token: "wrong", wantStatus: http.StatusUnauthorized},
		{name: "queue full", token: "tok", full: true, wantStatus: http.StatusServiceUnavailable},
	} {
		t.Run(tt.name, func(t *testing.T) {
			q := newMemQueue()
			q.full = tt.full
			srv := webhookServer(t, q, "tok")
			rep, err := Run(context.Background(), Config{URL: srv.URL, Token: tt.token, Storm: Storm{Alerts: 20}})
			if err != nil {
				t.Fatal(err)
			}
			if rep.Accepted != 0 || rep.Status[tt.wantStatus] != 20 || q.len() != 0 {
				t.Errorf("report %v, queue %d: want 20 × %d, nothing accepted", rep, q.len(), tt.wantStatus)
			}
		})
	}
}

func TestRunIsBoundedInTime(t *testing.T) {
	release := make(chan struct{})
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		select {
		case <-release:
		case <-r.Context().Done():
		}
	}))
	t.Cleanup(srv.Close)
	t.Cleanup(func() { close(release) })
	start := time.Now()
	rep, err := Run(context.Background(), Config{URL: srv.URL, Concurrency: 2, Timeout: 300 * time.Millisecond,
		Storm: Storm{Alerts: 50}})
	if err != nil {
		t.Fatal(err)
	}
	if d := time.Since(start); d > 5*time.Second {
		t.Errorf("run took %s despite a 300ms timeout", d)
	}
	if rep.Unsent != 50 || rep.Accepted != 0 {
		t.Errorf("report %v: want all 50 unsent", rep)
	}
}

func TestRunRefusesBadConfig(t *testing.T) {
	for _, tt := range []struct {
		name string
		cfg  Config
		want string
	}{
		{name: "remote host", cfg: Config{URL: "http://10.1.2.3:8080/webhook", Storm: Storm{Alerts: 1}}, want: "loopback"},
		{name: "named host", cfg: Config{URL: "http://k8flex.example:8080/webhook", Storm: Storm{Alerts: 1}}, want: "loopback"},
		{name: "not a url", cfg: Config{URL: "127.0.0.1:8080", Storm: Storm{Alerts: 1}}, want: "http(s) URL"},
		{name: "no alerts", cfg: Config{URL: "http://127.0.0.1:1/", Storm: Storm{}}, want: "storm.alerts"},
		{name: "too concurrent", cfg: Config{URL: "http://[::1]:1/", Concurrency: 10000, Storm: Storm{Alerts: 1}}, want: "concurrency"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			_, err := Run(context.Background(), tt.cfg)
			if err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Fatalf("err = %v, want %q", err, tt.want)
			}
		})
	}
}

func TestRunReportsTransportErrors(t *testing.T) {
	srv := httptest.NewServer(http.NotFoundHandler())
	u := srv.URL
	srv.Close() // nothing listens there any more
	rep, err := Run(context.Background(), Config{URL: u, Storm: Storm{Alerts: 3}})
	if err != nil {
		t.Fatal(err)
	}
	if rep.Status[0] != 3 || rep.FirstError == "" || rep.Unsent != 0 {
		t.Errorf("report %v (%q): want 3 transport errors", rep, rep.FirstError)
	}
}

func TestReadMemory(t *testing.T) {
	m, err := ReadMemory(os.Getpid())
	if err != nil {
		t.Fatal(err)
	}
	if m.Current == 0 || m.Peak < m.Current || m.Anon == 0 || m.Anon+m.File > m.Current {
		t.Errorf("memory %+v: want 0 < current <= peak, 0 < anon + file <= current", m)
	}
	if _, err := ReadMemory(1 << 30); err == nil {
		t.Error("no error for a pid that does not exist")
	}
}

func TestParseStatus(t *testing.T) {
	for _, tt := range []struct {
		name    string
		in      string
		want    Memory
		wantErr bool
	}{
		{name: "linux status", in: "Name:\tk8flex\nVmPeak:\t  900000 kB\nVmHWM:\t   40960 kB\nVmRSS:\t   20480 kB\n" +
			"RssAnon:\t   12288 kB\nRssFile:\t    8192 kB\nRssShmem:\t       0 kB\n",
			want: Memory{Peak: 40 << 20, Current: 20 << 20, Anon: 12 << 20, File: 8 << 20}},
		{name: "kernel thread", in: "Name:\tkthreadd\nState:\tS\n", wantErr: true},
		{name: "garbage", in: "VmHWM:\tlots\nVmRSS:\t1 kB\n", wantErr: true},
	} {
		t.Run(tt.name, func(t *testing.T) {
			got, err := parseStatus([]byte(tt.in))
			if (err != nil) != tt.wantErr || got != tt.want {
				t.Fatalf("parseStatus = %+v, %v; want %+v, error %v", got, err, tt.want, tt.wantErr)
			}
		})
	}
}

func TestSamplerSeesGrowth(t *testing.T) {
	s := Sample(context.Background(), os.Getpid(), 5*time.Millisecond)
	before, _ := ReadMemory(os.Getpid())
	buf := make([]byte, 64<<20)
	for i := 0; i < len(buf); i += 4096 {
		buf[i] = 1 // touch every page so it becomes resident
	}
	time.Sleep(30 * time.Millisecond)
	m, err := s.Stop()
	if err != nil {
		t.Fatal(err)
	}
	if m.PeakAnon < before.Anon+32<<20 {
		t.Errorf("peak anonymous %.1f MiB, want at least 32 MiB above %.1f MiB", MiB(m.PeakAnon), MiB(before.Anon))
	}
	if m.Peak < before.Current+32<<20 {
		t.Errorf("peak %.1f MiB, want at least 32 MiB above %.1f MiB", MiB(m.Peak), MiB(before.Current))
	}
	_ = buf[len(buf)-1]

	dead := Sample(context.Background(), 1<<30, time.Millisecond)
	if _, err := dead.Stop(); err == nil || !errors.Is(err, os.ErrNotExist) {
		t.Errorf("sampling a missing pid: err = %v, want not-exist", err)
	}
}

func TestParseSmaps(t *testing.T) {
	const smaps = `00400000-02994000 r-xp 00000000 08:01 1234 /usr/bin/k8flex
Size:              38476 kB
Rss:               30000 kB
Pss:               30000 kB
02994000-0596a000 r--p 02594000 08:01 1234 /usr/bin/k8flex
Size:              49000 kB
Rss:               20000 kB
c000000000-c004000000 rw-p 00000000 00:00 0 
Size:              65536 kB
Rss:               12000 kB
7f0000000000-7f0002000000 r--s 00000000 08:01 99 /data/k8flex.db
Size:              32768 kB
Rss:                8000 kB
7ffd00000000-7ffd00021000 rw-p 00000000 00:00 0                          [stack]
Size:                132 kB
Rss:                  40 kB
`
	got, err := parseSmaps([]byte(smaps))
	if err != nil {
		t.Fatal(err)
	}
	want := []Mapping{{"/usr/bin/k8flex", 50000 << 10}, {"[anon]", 12040 << 10}, {"/data/k8flex.db", 8000 << 10}}
	if len(got) != len(want) {
		t.Fatalf("mappings = %+v, want %+v", got, want)
	}
	for i := range want {
		if got[i] != want[i] {
			t.Errorf("mapping %d = %+v, want %+v", i, got[i], want[i])
		}
	}
	if _, err := parseSmaps([]byte("00400000-00401000 r-xp 00000000 08:01 1 /bin/x\nRss: lots\n")); err == nil {
		t.Error("a malformed Rss line parsed")
	}
}

func TestReadMappingsOfThisProcess(t *testing.T) {
	ms, err := ReadMappings(os.Getpid())
	if err != nil {
		t.Fatal(err)
	}
	exe, err := os.Executable()
	if err != nil {
		t.Fatal(err)
	}
	for _, m := range ms {
		if m.Path == exe && m.Rss > 0 {
			return
		}
	}
	t.Errorf("no resident pages of the test binary %s in %+v", exe, ms)
}
