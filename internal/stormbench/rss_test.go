package stormbench

import (
	"bufio"
	"context"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/k8flex/k8flex/internal/apiservertest"
	"github.com/k8flex/k8flex/internal/loadtest"
	"github.com/k8flex/k8flex/investigate"
)

// BenchmarkStormServeRSS runs the real `k8flex serve` binary (embedded
// store, built-in analyser, console reporter to /dev/null) against a real
// kube-apiserver, posts 10,000 distinct firing alerts for pods that do not
// exist, and samples the process's memory (VmHWM and VmRSS from
// /proc/PID/status every 10 ms) until every case is concluded (queue depth
// 0 on /metrics). Target: peak RSS < 100 MiB.
//
//	go test -run '^$' -bench BenchmarkStormServeRSS -benchtime 1x ./internal/stormbench/
func BenchmarkStormServeRSS(b *testing.B) {
	const alerts = 10_000
	srv := apiservertest.Start(b)
	dir := b.TempDir()
	bin := filepath.Join(dir, "k8flex")
	build := exec.Command("go", "build", "-o", bin, "./cmd/k8flex")
	build.Dir = "../.."
	if out, err := build.CombinedOutput(); err != nil {
		b.Fatalf("build k8flex: %v\n%s", err, out)
	}
	iter := 0
	for b.Loop() {
		iter++
		ns := fmt.Sprintf("rss-%d", iter)
		srv.CreateNamespace(b, ns)
		addr := freeAddr(b)
		cmd := exec.Command(bin, "serve")
		cmd.Env = append(os.Environ(),
			"K8FLEX_KUBE_KUBECONFIG="+srv.Kubeconfig,
			"K8FLEX_KB_DATA_DIR="+filepath.Join(dir, fmt.Sprintf("data-%d", iter)),
			"K8FLEX_SERVER_LISTEN="+addr,
			"K8FLEX_SERVER_WEBHOOK_TOKEN=storm",
			"K8FLEX_LOG_LEVEL=warn",
		)
		cmd.Stdout = io.Discard
		stderr, err := os.Create(filepath.Join(dir, fmt.Sprintf("serve-%d.log", iter)))
		if err != nil {
			b.Fatal(err)
		}
		cmd.Stderr = stderr
		if err := cmd.Start(); err != nil {
			b.Fatal(err)
		}
		stopped := false
		stop := func() {
			if !stopped {
				stopped = true
				_ = cmd.Process.Signal(os.Interrupt)
				_ = cmd.Wait()
			}
		}
		b.Cleanup(stop)
		url := "http://" + addr
		waitReady(b, url)
		base, err := loadtest.ReadMemory(cmd.Process.Pid)
		if err != nil {
			b.Fatal(err)
		}
		idleMaps, err := loadtest.ReadMappings(cmd.Process.Pid)
		if err != nil {
			b.Fatal(err)
		}
		ctx, cancel := context.WithCancel(context.Background())
		sampler := loadtest.Sample(ctx, cmd.Process.Pid, 10*time.Millisecond)

		startsAt := time.Now().UTC().Truncate(time.Second)
		list := make([]investigate.Alert, alerts)
		for i := range list {
			list[i] = crashAlert(ns, fmt.Sprintf("orphan-%05d-x", i), "app", startsAt)
		}
		start := time.Now()
		post(b, url, alertPayloads(b, list, 10), 8)
		accepted := time.Since(start)
		if err := waitQueueEmpty(url, 10*time.Minute); err != nil {
			b.Error(err)
		}
		took := time.Since(start)
		endMaps, err := loadtest.ReadMappings(cmd.Process.Pid)
		if err != nil {
			b.Fatal(err)
		}
		cancel()
		peak, err := sampler.Stop()
		if err != nil {
			b.Fatal(err)
		}
		stop()
		b.ReportMetric(loadtest.MiB(peak.Peak), "MiB-peak-rss")
		b.ReportMetric(loadtest.MiB(base.Current), "MiB-idle-rss")
		b.ReportMetric(loadtest.MiB(peak.PeakAnon), "MiB-peak-anon")
		b.ReportMetric(loadtest.MiB(mapped(endMaps, bin)), "MiB-binary-end")
		b.ReportMetric(loadtest.MiB(mapped(endMaps, "k8flex.db")), "MiB-store-end")
		b.Logf("resident by mapping, idle: %s", mappings(idleMaps))
		b.Logf("resident by mapping, all concluded: %s", mappings(endMaps))
		b.ReportMetric(accepted.Seconds(), "s-accept-all")
		b.ReportMetric(took.Seconds(), "s-conclude-all")
		b.Logf("%d alerts: accepted in %s, concluded in %s; RSS idle %.1f MiB, peak %.1f MiB (anon peak %.1f MiB)",
			alerts, accepted.Round(time.Millisecond), took.Round(time.Millisecond),
			loadtest.MiB(base.Current), loadtest.MiB(peak.Peak), loadtest.MiB(peak.PeakAnon))
		if loadtest.MiB(peak.Peak) >= 100 {
			b.Errorf("peak RSS %.1f MiB, want < 100 MiB", loadtest.MiB(peak.Peak))
		}
	}
}

func freeAddr(tb testing.TB) string {
	tb.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		tb.Fatal(err)
	}
	defer ln.Close()
	return ln.Addr().String()
}

func waitReady(tb testing.TB, url string) {
	tb.Helper()
	deadline := time.Now().Add(30 * time.Second)
	for time.Now().Before(deadline) {
		resp, err := http.Get(url + "/health")
		if err == nil {
			_ = resp.Body.Close()
			if resp.StatusCode == http.StatusOK {
				return
			}
		}
		time.Sleep(50 * time.Millisecond)
	}
	tb.Fatalf("k8flex serve not healthy at %s after 30s", url)
}

// waitQueueEmpty polls k8flex_queue_depth on /metrics until it reads 0.
func waitQueueEmpty(url string, limit time.Duration) error {
	deadline := time.Now().Add(limit)
	last := -1.0
	for time.Now().Before(deadline) {
		if d, err := queueDepth(url); err == nil {
			last = d
			if d == 0 {
				return nil
			}
		}
		time.Sleep(100 * time.Millisecond)
	}
	return fmt.Errorf("queue depth still %g after %s", last, limit)
}

func queueDepth(url string) (float64, error) {
	resp, err := http.Get(url + "/metrics")
	if err != nil {
		return 0, err
	}
	defer resp.Body.Close()
	sc := bufio.NewScanner(resp.Body)
	for sc.Scan() {
		if v, ok := strings.CutPrefix(sc.Text(), "k8flex_queue_depth "); ok {
			return strconv.ParseFloat(strings.TrimSpace(v), 64)
		}
	}
	return 0, fmt.Errorf("no k8flex_queue_depth on /metrics")
}

// mapped returns the resident bytes of the mappings whose path ends with suffix.
func mapped(ms []loadtest.Mapping, suffix string) uint64 {
	var n uint64
	for _, m := range ms {
		if strings.HasSuffix(m.Path, suffix) {
			n += m.Rss
		}
	}
	return n
}

func mappings(ms []loadtest.Mapping) string {
	var b strings.Builder
	for i, m := range ms {
		if m.Rss < 1<<20 {
			continue
		}
		if i > 0 {
			b.WriteString(", ")
		}
		fmt.Fprintf(&b, "%s %.1f MiB", filepath.Base(m.Path), loadtest.MiB(m.Rss))
	}
	return b.String()
}
