package main

// Crash safety and replicas of `k8flex serve`, against the real binary:
// kill -9 while cases are queued and running, restart, every case
// completes exactly once; two processes on one PostgreSQL analyse each
// alert exactly once. Helpers shared with serve_e2e_test.go live here.

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/k8flex/k8flex/config"
	"github.com/k8flex/k8flex/internal/fakeslack"
	"github.com/k8flex/k8flex/internal/loadtest"
	"github.com/k8flex/k8flex/internal/pgtest"
	"github.com/k8flex/k8flex/investigate"
	"github.com/k8flex/k8flex/kb"
)

// e2eScenario is the recorded cluster the served engine investigates
// against (no live cluster in tests): alerts about its pod get a real
// analysis, alerts about other pods an analysis with gaps.
const e2eScenario = "../../demo/scenarios/liveness-timeout-slow-redis"

// builtBinary is the k8flex binary built once for this test binary, in a
// directory TestMain removes.
var builtBinary struct {
	once sync.Once
	dir  string
	path string
	err  error
}

func TestMain(m *testing.M) {
	code := m.Run()
	if builtBinary.dir != "" {
		_ = os.RemoveAll(builtBinary.dir)
	}
	os.Exit(code)
}

// k8flexBinary builds ./cmd/k8flex (without -race: it is measured and
// killed like the shipped binary) once per test run.
func k8flexBinary(t testing.TB) string {
	t.Helper()
	b := &builtBinary
	b.once.Do(func() {
		b.dir, b.err = os.MkdirTemp("", "k8flex-e2e-")
		if b.err != nil {
			return
		}
		goBin := filepath.Join(runtime.GOROOT(), "bin", "go")
		if _, err := os.Stat(goBin); err != nil {
			goBin = "go"
		}
		b.path = filepath.Join(b.dir, "k8flex")
		cmd := exec.Command(goBin, "build", "-o", b.path, ".")
		out, err := cmd.CombinedOutput()
		if err != nil {
			b.err = fmt.Errorf("go build ./cmd/k8flex: %w\n%s", err, out)
		}
	})
	if b.err != nil {
		t.Fatal(b.err)
	}
	return b.path
}

// serveConfig is the configuration file the tests give `k8flex serve`.
type serveConfig struct {
	Token       string
	DataDir     string
	DatabaseURL string
	Workers     int
	// Lease is the claim lease (server.lease), when the configuration
	// knows that key.
	Lease time.Duration
	// Slack, when set, reports to this fake Slack in slackChannel;
	// SlackYAML adds keys under slack: (indented lines).
	Slack     *fakeslack.Server
	SlackYAML string
}

// useStore points the config at the knowledge base of backend: the
// embedded store under dir, or a fresh PostgreSQL database named db.
func (c *serveConfig) useStore(tb testing.TB, backend, dir, db string) {
	tb.Helper()
	if backend == "embedded" {
		c.DataDir = filepath.Join(dir, "data")
	} else {
		c.DatabaseURL = pgtest.Database(tb, db)
	}
}

// slackChannel is the channel the served bot reports to in tests.
const slackChannel = "C0ALERTS"

// write writes the configuration as YAML into dir and returns its path.
func (c serveConfig) write(t testing.TB, dir string) string {
	t.Helper()
	var b strings.Builder
	b.WriteString("log:\n  level: info\n  format: json\n")
	fmt.Fprintf(&b, "server:\n  webhook_token: %q\n  workers: %d\n  shutdown_grace: 5s\n", c.Token, max(c.Workers, 1))
	if _, ok := config.Keys()["server.lease"]; ok && c.Lease > 0 {
		fmt.Fprintf(&b, "  lease: %s\n", c.Lease)
	}
	b.WriteString("kb:\n")
	if c.DataDir != "" {
		fmt.Fprintf(&b, "  data_dir: %q\n", c.DataDir)
	}
	if c.DatabaseURL != "" {
		fmt.Fprintf(&b, "  database_url: %q\n", c.DatabaseURL)
	}
	if c.Slack != nil {
		fmt.Fprintf(&b, "slack:\n  bot_token: %q\n  app_token: %q\n  channel: %q\n  api_url: %q\n",
			c.Slack.BotToken(), c.Slack.AppToken(), slackChannel, c.Slack.APIURL())
		b.WriteString(c.SlackYAML)
	}
	p := filepath.Join(dir, fmt.Sprintf("k8flex-%d.yaml", time.Now().UnixNano()))
	if err := os.WriteFile(p, []byte(b.String()), 0o600); err != nil {
		t.Fatal(err)
	}
	return p
}

// serveProc is a `k8flex serve` subprocess. Its JSON log goes to logPath,
// its console reports to outPath.
type serveProc struct {
	cmd     *exec.Cmd
	URL     string
	logPath string
	outPath string
	done    chan struct{}
	waitErr error
}

// startServeProc starts the binary with `serve --config cfgPath --listen
// 127.0.0.1:0 --scenario e2eScenario` and waits until it serves.
func startServeProc(t testing.TB, bin, cfgPath, dir, name string) *serveProc {
	t.Helper()
	scenario, err := filepath.Abs(e2eScenario)
	if err != nil {
		t.Fatal(err)
	}
	p := &serveProc{logPath: filepath.Join(dir, name+".log"), outPath: filepath.Join(dir, name+".out"),
		done: make(chan struct{})}
	logFile, err := os.Create(p.logPath)
	if err != nil {
		t.Fatal(err)
	}
	outFile, err := os.Create(p.outPath)
	if err != nil {
		t.Fatal(err)
	}
	p.cmd = exec.Command(bin, "serve", "--config", cfgPath, "--listen", "127.0.0.1:0", "--scenario", scenario)
	p.cmd.Stdout, p.cmd.Stderr = outFile, logFile
	p.cmd.Env = cleanEnv()
	p.cmd.SysProcAttr = &syscall.SysProcAttr{Pdeathsig: syscall.SIGKILL}
	if err := p.cmd.Start(); err != nil {
		t.Fatalf("start k8flex serve: %v", err)
	}
	go func() {
		p.waitErr = p.cmd.Wait()
		_ = logFile.Close()
		_ = outFile.Close()
		close(p.done)
	}()
	t.Cleanup(p.kill)
	deadline := time.Now().Add(20 * time.Second)
	for time.Now().Before(deadline) {
		select {
		case <-p.done:
			t.Fatalf("k8flex serve (%s) exited before serving: %v\n%s", name, p.waitErr, tailFile(p.logPath, 30))
		default:
		}
		for _, l := range readLogLines(t, p.logPath) {
			if l.Message == "k8flex serving" {
				p.URL = "http://" + l.Listen
				return p
			}
		}
		time.Sleep(20 * time.Millisecond)
	}
	t.Fatalf("k8flex serve (%s) did not start serving within 20s:\n%s", name, tailFile(p.logPath, 30))
	return nil
}

// cleanEnv is the test's environment without K8FLEX_* variables (a
// developer's settings must not change what the test runs).
func cleanEnv() []string {
	var env []string
	for _, kv := range os.Environ() {
		if !strings.HasPrefix(kv, "K8FLEX_") {
			env = append(env, kv)
		}
	}
	return env
}

func (p *serveProc) pid() int { return p.cmd.Process.Pid }

// kill kills the process with SIGKILL (kill -9) and waits for it.
func (p *serveProc) kill() {
	select {
	case <-p.done:
		return
	default:
	}
	_ = p.cmd.Process.Signal(syscall.SIGKILL)
	<-p.done
}

// stop asks the process to shut down (SIGTERM) and waits; it fails the
// test if the process does not exit cleanly within timeout.
func (p *serveProc) stop(t testing.TB, timeout time.Duration) {
	t.Helper()
	_ = p.cmd.Process.Signal(syscall.SIGTERM)
	select {
	case <-p.done:
		if p.waitErr != nil {
			t.Errorf("k8flex serve exited with %v after SIGTERM:\n%s", p.waitErr, tailFile(p.logPath, 20))
		}
	case <-time.After(timeout):
		p.kill()
		t.Errorf("k8flex serve did not stop within %s of SIGTERM", timeout)
	}
}

// logLine is the part of a zerolog JSON line the tests read.
type logLine struct {
	Level         string `json:"level"`
	Message       string `json:"message"`
	Listen        string `json:"listen"`
	Investigation string `json:"investigation"`
	Case          string `json:"case"`
	Status        string `json:"status"`
	Duplicate     bool   `json:"duplicate"`
	AlertName     string `json:"alertname"`
	Fingerprint   string `json:"fingerprint"`
	Error         string `json:"error"`
	User          string `json:"user"`
	Source        string `json:"source"`
}

// readLogLines parses the JSON lines of a log file (other lines are skipped).
func readLogLines(t testing.TB, path string) []logLine {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	return parseLogLines(b)
}

func parseLogLines(b []byte) []logLine {
	var out []logLine
	sc := bufio.NewScanner(bytes.NewReader(b))
	sc.Buffer(make([]byte, 0, 64<<10), 4<<20)
	for sc.Scan() {
		var l logLine
		if json.Unmarshal(sc.Bytes(), &l) == nil && l.Message != "" {
			out = append(out, l)
		}
	}
	return out
}

func tailFile(path string, n int) string {
	b, err := os.ReadFile(path)
	if err != nil {
		return "(" + err.Error() + ")"
	}
	lines := strings.Split(strings.TrimSpace(string(b)), "\n")
	if len(lines) > n {
		lines = lines[len(lines)-n:]
	}
	return strings.Join(lines, "\n")
}

// finishedPerCase counts "investigation finished" log lines per case id
// over the given logs.
func finishedPerCase(t testing.TB, logPaths ...string) map[string]int {
	t.Helper()
	n := map[string]int{}
	for _, p := range logPaths {
		for _, l := range readLogLines(t, p) {
			if l.Message == "investigation finished" {
				n[l.Investigation]++
			}
		}
	}
	return n
}

// metric returns the value of the first sample of /metrics whose line
// starts with prefix (name and labels), or -1 when there is none.
func metric(t testing.TB, baseURL, prefix string) float64 {
	t.Helper()
	resp, err := http.Get(baseURL + "/metrics")
	if err != nil {
		t.Fatalf("scrape metrics: %v", err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatalf("scrape metrics: %v", err)
	}
	for _, line := range strings.Split(string(b), "\n") {
		if strings.HasPrefix(line, prefix+" ") {
			v, err := strconv.ParseFloat(strings.TrimSpace(line[len(prefix):]), 64)
			if err != nil {
				t.Fatalf("metric line %q: %v", line, err)
			}
			return v
		}
	}
	return -1
}

// waitDrained waits until every serving process reports an empty queue
// (k8flex_queue_depth 0); after timeout it returns an error naming the
// depth left.
func waitDrained(t testing.TB, timeout time.Duration, procs ...*serveProc) error {
	t.Helper()
	deadline := time.Now().Add(timeout)
	for {
		depth := 0.0
		for _, p := range procs {
			depth = max(depth, metric(t, p.URL, "k8flex_queue_depth"))
		}
		if depth == 0 {
			return nil
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("queue depth still %v after %s", depth, timeout)
		}
		time.Sleep(100 * time.Millisecond)
	}
}

// waitInvestigating waits until p has started an investigation it has not
// finished (so a kill interrupts running work), failing after timeout.
func waitInvestigating(t testing.TB, p *serveProc, timeout time.Duration) {
	t.Helper()
	deadline := time.Now().Add(timeout)
	for time.Now().Before(deadline) {
		open := map[string]bool{}
		for _, l := range readLogLines(t, p.logPath) {
			switch l.Message {
			case "investigation started":
				open[l.Investigation] = true
			case "investigation finished":
				delete(open, l.Investigation)
			}
		}
		if len(open) > 0 {
			return
		}
		time.Sleep(5 * time.Millisecond)
	}
	t.Fatalf("no investigation running within %s:\n%s", timeout, tailFile(p.logPath, 20))
}

// exportCases runs `k8flex kb export` against the store (the serving
// process must have exited for the embedded store) and returns its cases.
func exportCases(t testing.TB, bin string, c serveConfig, dir string) []kb.Case {
	t.Helper()
	cfgPath := c.write(t, dir)
	cmd := exec.Command(bin, "kb", "export", "--config", cfgPath)
	cmd.Env = cleanEnv()
	var out, errOut bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &errOut
	if err := cmd.Run(); err != nil {
		t.Fatalf("k8flex kb export: %v\n%s", err, errOut.String())
	}
	return decodeExport(t, out.Bytes())
}

func decodeExport(t testing.TB, b []byte) []kb.Case {
	t.Helper()
	var cases []kb.Case
	dec := json.NewDecoder(bytes.NewReader(b))
	for dec.More() {
		var r kb.Record
		if err := dec.Decode(&r); err != nil {
			t.Fatalf("decode export: %v", err)
		}
		cases = append(cases, r.Case)
	}
	return cases
}

func statusCounts(cases []kb.Case) map[kb.Status]int {
	n := map[kb.Status]int{}
	for _, c := range cases {
		n[c.Status]++
	}
	return n
}

// caseKey is a case's dedup key, as investigate.Alert.Key forms it.
func caseKey(c kb.Case) string {
	return c.Fingerprint + "@" + c.StartsAt.UTC().Format(time.RFC3339Nano)
}

// checkExactlyOnce asserts that the store holds exactly one finished case
// per accepted alert and that no case was analysed twice; at most
// maxUnlogged cases may lack a "finished" line (killed between recording
// the result and logging it).
func checkExactlyOnce(t *testing.T, cases []kb.Case, accepted []string, finished map[string]int, maxUnlogged int) {
	t.Helper()
	byKey := map[string][]kb.Case{}
	for _, c := range cases {
		byKey[caseKey(c)] = append(byKey[caseKey(c)], c)
	}
	missing, dups := 0, 0
	for _, k := range accepted {
		switch n := len(byKey[k]); {
		case n == 0:
			missing++
		case n > 1:
			dups++
		}
	}
	if missing > 0 || dups > 0 || len(cases) != len(accepted) {
		t.Errorf("%d accepted alerts, %d cases: %d alerts lost, %d with several cases", len(accepted), len(cases), missing, dups)
	}
	if st := statusCounts(cases); st[kb.StatusDone] != len(cases) {
		var stuck []string
		for _, c := range cases {
			if c.Status != kb.StatusDone && len(stuck) < 5 {
				stuck = append(stuck, fmt.Sprintf("%s %s attempts=%d lease_until=%s error=%q", c.ID, c.Status, c.Attempts,
					c.LeaseUntil.Format(time.RFC3339), c.Error))
			}
		}
		t.Errorf("case statuses %v, want all %d done; e.g.\n%s", st, len(cases), strings.Join(stuck, "\n"))
	}
	twice, unlogged := 0, 0
	for _, c := range cases {
		switch finished[c.ID] {
		case 0:
			unlogged++
		case 1:
		default:
			twice++
			if twice <= 3 {
				t.Errorf("case %s analysed %d times", c.ID, finished[c.ID])
			}
		}
	}
	if twice > 0 {
		t.Errorf("%d cases analysed more than once", twice)
	}
	if unlogged > maxUnlogged {
		t.Errorf("%d cases done without an analysis logged (at most %d may have been killed between recording and logging)",
			unlogged, maxUnlogged)
	}
}

// TestServeCrashSafety posts a storm, kills the serving process with
// SIGKILL while cases are still queued and running, restarts it on the
// same store, and checks that every accepted alert ends as exactly one
// finished case, analysed once.
func TestServeCrashSafety(t *testing.T) {
	if testing.Short() {
		t.Skip("builds and kills the k8flex binary; not in -short")
	}
	bin := k8flexBinary(t)
	for _, backend := range []string{"embedded", "postgres"} {
		t.Run(backend, func(t *testing.T) {
			dir := t.TempDir()
			const workers = 4
			cfg := serveConfig{Token: "crash-token", Workers: workers, Lease: 3 * time.Second}
			cfg.useStore(t, backend, dir, "e2e")
			cfgPath := cfg.write(t, dir)

			first := startServeProc(t, bin, cfgPath, dir, "first")
			rep, err := loadtest.Run(context.Background(), loadtest.Config{URL: first.URL + "/webhook", Token: cfg.Token,
				Concurrency: 8, Timeout: 20 * time.Second,
				Storm: loadtest.Storm{Alerts: 300, MaxPerPayload: 5, Seed: 42, RunID: "crash"}})
			if err != nil {
				t.Fatal(err)
			}
			t.Logf("before the kill: %v", rep)
			if rep.Accepted != rep.Alerts {
				t.Fatalf("only %d of %d alerts accepted before the kill: %v (%s)", rep.Accepted, rep.Alerts, rep.Status, rep.FirstError)
			}
			waitInvestigating(t, first, 10*time.Second)
			first.kill() // SIGKILL: no shutdown, no release of running cases

			before := exportCases(t, bin, cfg, dir)
			st := statusCounts(before)
			t.Logf("at the kill: %d cases %v", len(before), st)
			if st[kb.StatusQueued]+st[kb.StatusRunning] == 0 {
				t.Fatalf("every case finished before the kill (%v): the test proved nothing; post a bigger storm", st)
			}

			second := startServeProc(t, bin, cfgPath, dir, "second")
			if err := waitDrained(t, 30*time.Second, second); err != nil {
				t.Errorf("after the restart: %v (the cases left are listed below)", err)
			}
			second.stop(t, 15*time.Second)

			after := exportCases(t, bin, cfg, dir)
			finished := finishedPerCase(t, first.logPath, second.logPath)
			checkExactlyOnce(t, after, rep.AcceptedKeys, finished, workers)
			resumed := 0
			for _, c := range after {
				if c.Attempts > 1 {
					resumed++
				}
			}
			t.Logf("after the restart: %d cases %v; %d interrupted cases resumed", len(after), statusCounts(after), resumed)
		})
	}
}

// TestServeTwoReplicasOnePostgres runs two `k8flex serve` processes on one
// PostgreSQL and sends the same 500 alerts to both (as two Alertmanager
// replicas do): each alert becomes one case, analysed exactly once, and
// both replicas share the work.
func TestServeTwoReplicasOnePostgres(t *testing.T) {
	if testing.Short() {
		t.Skip("builds and runs the k8flex binary twice; not in -short")
	}
	dbURL := pgtest.Database(t, "e2e")
	bin := k8flexBinary(t)
	dir := t.TempDir()
	// One worker each: with four, the replica that records each alert first
	// (and so wakes its own workers) drained the 500 cases within the other's
	// 2 s poll, leaving it nothing to claim from the shared queue.
	cfg := serveConfig{Token: "replica-token", Workers: 1, DatabaseURL: dbURL, Lease: 30 * time.Second}
	cfgPath := cfg.write(t, dir)
	a := startServeProc(t, bin, cfgPath, dir, "replica-a")
	b := startServeProc(t, bin, cfgPath, dir, "replica-b")

	storm := loadtest.Storm{Alerts: 500, MaxPerPayload: 5, Seed: 7, RunID: "replicas", StartsAt: time.Now()}
	reps := make([]*loadtest.Report, 2)
	var wg sync.WaitGroup
	for i, p := range []*serveProc{a, b} {
		wg.Add(1)
		go func() {
			defer wg.Done()
			r, err := loadtest.Run(context.Background(), loadtest.Config{URL: p.URL + "/webhook", Token: cfg.Token,
				Concurrency: 4, Timeout: 20 * time.Second, Storm: storm})
			if err != nil {
				t.Error(err)
				return
			}
			reps[i] = r
		}()
	}
	wg.Wait()
	if t.Failed() {
		return
	}
	t.Logf("replica a: %v", reps[0])
	t.Logf("replica b: %v", reps[1])
	for i, r := range reps {
		if r.Accepted != 500 {
			t.Fatalf("replica %d accepted %d of 500 alerts: %v (%s)", i, r.Accepted, r.Status, r.FirstError)
		}
	}
	if n, d := reps[0].ServerAccepted+reps[1].ServerAccepted, reps[0].ServerDuplicates+reps[1].ServerDuplicates; n != 500 || d != 500 {
		t.Errorf("replicas queued %d new cases and saw %d duplicates, want 500 and 500", n, d)
	}

	if err := waitDrained(t, 30*time.Second, a, b); err != nil {
		t.Errorf("%v (the cases left are listed below)", err)
	}

	// A storm of 3 Deployments' pods, each alert sent to one replica or
	// the other: the replicas share the open incidents through PostgreSQL,
	// so each Deployment gets one investigation and its other alerts fold
	// into it, whichever replica claims them.
	const foldNS, workloads, pods = "fold-replicas", 3, 12
	for i := range workloads * pods {
		// Generated-name suffixes draw from Kubernetes' alphabet (no vowels).
		pod := fmt.Sprintf("shop%d-7d9f8b6c5d-%cbcdf", i%workloads, "bcdfghjklmnp"[i/workloads])
		postAlerts(t, []*serveProc{a, b}[i%2].URL, cfg.Token, investigate.Alert{
			Status:   investigate.StatusFiring,
			Labels:   map[string]string{"alertname": "KubePodCrashLooping", "namespace": foldNS, "pod": pod},
			StartsAt: time.Now().UTC(),
		})
	}
	if err := waitDrained(t, 30*time.Second, a, b); err != nil {
		t.Errorf("fold storm: %v", err)
	}
	a.stop(t, 15*time.Second)
	b.stop(t, 15*time.Second)

	all := exportCases(t, bin, cfg, dir)
	var cases []kb.Case
	leaders, folded := 0, 0
	for _, c := range all {
		if c.Namespace != foldNS {
			cases = append(cases, c)
			continue
		}
		if c.Status != kb.StatusDone {
			t.Errorf("fold storm case %s is %s, want done", c.ID, c.Status)
		}
		if c.Analyzer == "fold" {
			folded++
		} else {
			leaders++
		}
	}
	if leaders != workloads || folded != workloads*(pods-1) {
		t.Errorf("fold storm over two replicas: %d investigations and %d folded cases, want %d and %d",
			leaders, folded, workloads, workloads*(pods-1))
	}
	finished := finishedPerCase(t, a.logPath, b.logPath)
	checkExactlyOnce(t, cases, reps[0].AcceptedKeys, finished, 0)
	perReplica := map[string]int{}
	for name, p := range map[string]*serveProc{"a": a, "b": b} {
		for _, l := range readLogLines(t, p.logPath) {
			if l.Message == "investigation finished" {
				perReplica[name]++
			}
		}
	}
	t.Logf("analyses per replica: %v", perReplica)
	if perReplica["a"] == 0 || perReplica["b"] == 0 {
		t.Errorf("one replica did all the work (%v): the queue was not shared", perReplica)
	}
}

// postAlerts sends one webhook payload holding alerts to a serve process.
func postAlerts(t testing.TB, baseURL, token string, alerts ...investigate.Alert) {
	t.Helper()
	body, err := json.Marshal(investigate.WebhookMessage{Version: "4", GroupKey: "{}:{}", Receiver: "k8flex",
		Status: investigate.StatusFiring, Alerts: alerts})
	if err != nil {
		t.Fatal(err)
	}
	req, err := http.NewRequest(http.MethodPost, baseURL+"/webhook", bytes.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Authorization", "Bearer "+token)
	req.Header.Set("Content-Type", "application/json")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatalf("post alerts: %v", err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		msg, _ := io.ReadAll(resp.Body)
		t.Fatalf("post alerts: %s: %s", resp.Status, msg)
	}
}
