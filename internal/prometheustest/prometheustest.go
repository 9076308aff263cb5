package prometheustest

import (
	"bytes"
	"context"
	"fmt"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"testing"
	"time"
)

// Default paths of the Debian binaries; K8FLEX_TEST_PROMETHEUS and
// K8FLEX_TEST_PROMTOOL override them.
const (
	PrometheusBin = "/usr/bin/prometheus"
	PromtoolBin   = "/usr/bin/promtool"
)

const installHint = "run scripts/install-deps.sh (installs Debian's prometheus, which ships promtool)"

// Prometheus is a running Prometheus process.
type Prometheus struct {
	// URL is its base URL, e.g. http://127.0.0.1:40123.
	URL string
	// Dir holds its configuration, TSDB and log.
	Dir string
}

func binaries() (prom, promtool string) {
	prom, promtool = PrometheusBin, PromtoolBin
	if p := os.Getenv("K8FLEX_TEST_PROMETHEUS"); p != "" {
		prom = p
	}
	if p := os.Getenv("K8FLEX_TEST_PROMTOOL"); p != "" {
		promtool = p
	}
	return prom, promtool
}

// Start backfills om (OpenMetrics text, every sample timestamped, ending
// with # EOF) into a new TSDB and starts Prometheus on it, on a loopback
// port, for the test's lifetime. It skips the test when the binaries are
// missing, and fails it instead under CI (CI set).
func Start(t testing.TB, om []byte) *Prometheus {
	t.Helper()
	prom, promtool := binaries()
	for _, p := range []string{prom, promtool} {
		if _, err := os.Stat(p); err != nil {
			if os.Getenv("CI") != "" {
				t.Fatalf("%s is missing under CI: %s", p, installHint)
			}
			t.Skipf("%s is missing: %s", p, installHint)
		}
	}
	dir := t.TempDir()
	data := filepath.Join(dir, "data")
	src := filepath.Join(dir, "metrics.om")
	if err := os.WriteFile(src, om, 0o600); err != nil {
		t.Fatal(err)
	}
	if out, err := exec.Command(promtool, "tsdb", "create-blocks-from", "openmetrics", src, data).CombinedOutput(); err != nil {
		t.Fatalf("promtool tsdb create-blocks-from openmetrics: %v\n%s", err, out)
	}
	cfg := filepath.Join(dir, "prometheus.yml")
	if err := os.WriteFile(cfg, []byte("global:\n  evaluation_interval: 1h\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	port, err := freePort()
	if err != nil {
		t.Fatal(err)
	}
	addr := fmt.Sprintf("127.0.0.1:%d", port)
	logf, err := os.Create(filepath.Join(dir, "prometheus.log"))
	if err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command(prom, "--config.file="+cfg, "--storage.tsdb.path="+data, "--web.listen-address="+addr,
		"--storage.tsdb.retention.time=100y", "--log.level=warn")
	cmd.Stdout, cmd.Stderr = logf, logf
	if err := cmd.Start(); err != nil {
		t.Fatalf("start prometheus: %v", err)
	}
	done := make(chan struct{})
	go func() { _ = cmd.Wait(); close(done) }()
	t.Cleanup(func() {
		_ = cmd.Process.Signal(os.Interrupt)
		select {
		case <-done:
		case <-time.After(10 * time.Second):
			_ = cmd.Process.Kill()
			<-done
		}
		_ = logf.Close()
	})
	p := &Prometheus{URL: "http://" + addr, Dir: dir}
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	for {
		req, _ := http.NewRequestWithContext(ctx, http.MethodGet, p.URL+"/-/ready", nil)
		if resp, err := http.DefaultClient.Do(req); err == nil {
			resp.Body.Close()
			if resp.StatusCode == http.StatusOK {
				return p
			}
		}
		select {
		case <-done:
			log, _ := os.ReadFile(filepath.Join(dir, "prometheus.log"))
			t.Fatalf("prometheus exited at start:\n%s", bytes.TrimSpace(log))
		case <-ctx.Done():
			t.Fatalf("prometheus not ready after 60s")
		case <-time.After(100 * time.Millisecond):
		}
	}
}

func freePort() (int, error) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return 0, err
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port, nil
}
