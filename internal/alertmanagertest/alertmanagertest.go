package alertmanagertest

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"sigs.k8s.io/yaml"
)

// Default paths of the Debian binaries (package prometheus-alertmanager);
// the environment variables K8FLEX_TEST_ALERTMANAGER and K8FLEX_TEST_AMTOOL
// (set by scripts/test.sh) override them.
const (
	AlertmanagerBin = "/usr/bin/prometheus-alertmanager"
	AmtoolBin       = "/usr/bin/amtool"
)

// binaries returns the Alertmanager and amtool paths to run.
func binaries() (alertmanager, amtool string) {
	alertmanager, amtool = AlertmanagerBin, AmtoolBin
	if p := os.Getenv("K8FLEX_TEST_ALERTMANAGER"); p != "" {
		alertmanager = p
	}
	if p := os.Getenv("K8FLEX_TEST_AMTOOL"); p != "" {
		amtool = p
	}
	return alertmanager, amtool
}

// installHint is what a developer (or CI) must run when a binary is missing.
const installHint = "run scripts/install-deps.sh (installs Debian's prometheus-alertmanager, which ships amtool)"

// Config is the Alertmanager to start.
type Config struct {
	// WebhookURL is where the only receiver posts (required).
	WebhookURL string
	// Token is sent as "Authorization: Bearer <Token>"; empty sends none.
	Token string
	// GroupBy are the route's group_by labels (default alertname, namespace).
	GroupBy []string
	// GroupWait, GroupInterval and RepeatInterval are the route's timers
	// (defaults 1s, 1s and 1h).
	GroupWait, GroupInterval, RepeatInterval time.Duration
	// MaxAlerts bounds the alerts of one notification (0 = all).
	MaxAlerts int
}

// Alertmanager is a running Alertmanager process.
type Alertmanager struct {
	// URL is its base URL, e.g. http://127.0.0.1:40123.
	URL string
	// Dir holds its configuration (am.yml), storage and log.
	Dir string

	cmd     *exec.Cmd
	logPath string
	done    chan struct{}
	mu      sync.Mutex
	waitErr error
}

// Alert is an alert to fire or resolve with amtool.
type Alert struct {
	// Labels must include alertname.
	Labels      map[string]string
	Annotations map[string]string
	// StartsAt is when the alert started; Fire sets it to now when zero.
	// Alertmanager keeps whole seconds of it.
	StartsAt time.Time
}

// Name returns the alert's alertname label.
func (a Alert) Name() string { return a.Labels["alertname"] }

// requireBinaries skips (or, under CI, fails) the test when Alertmanager or
// amtool is not installed.
func requireBinaries(t testing.TB) {
	t.Helper()
	am, amtool := binaries()
	for _, p := range []string{am, amtool} {
		if _, err := os.Stat(p); err != nil {
			if os.Getenv("CI") != "" {
				t.Fatalf("%s is missing (%v): %s", p, err, installHint)
			}
			t.Skipf("%s is missing: %s", p, installHint)
		}
	}
}

// Start runs an Alertmanager configured by cfg on a free loopback port and
// waits until it is ready. The process is killed when the test ends.
func Start(t testing.TB, cfg Config) *Alertmanager {
	t.Helper()
	requireBinaries(t)
	if cfg.WebhookURL == "" {
		t.Fatal("alertmanagertest: Config.WebhookURL is required")
	}
	dir := t.TempDir()
	conf, err := renderConfig(cfg)
	if err != nil {
		t.Fatalf("alertmanagertest: %v", err)
	}
	confPath := filepath.Join(dir, "am.yml")
	if err := os.WriteFile(confPath, conf, 0o600); err != nil {
		t.Fatalf("alertmanagertest: write config: %v", err)
	}
	// A port found free may be taken before Alertmanager binds it: retry.
	var lastErr error
	for attempt := 0; attempt < 3; attempt++ {
		am, err := start(dir, confPath, attempt)
		if err == nil {
			t.Cleanup(am.stop)
			return am
		}
		lastErr = err
	}
	t.Fatalf("alertmanagertest: %v", lastErr)
	return nil
}

func start(dir, confPath string, attempt int) (*Alertmanager, error) {
	port, err := freePort()
	if err != nil {
		return nil, err
	}
	url := fmt.Sprintf("http://127.0.0.1:%d", port)
	logPath := filepath.Join(dir, fmt.Sprintf("alertmanager-%d.log", attempt))
	logFile, err := os.Create(logPath)
	if err != nil {
		return nil, fmt.Errorf("create log: %w", err)
	}
	bin, _ := binaries()
	cmd := exec.Command(bin,
		"--config.file="+confPath,
		"--storage.path="+filepath.Join(dir, "data"),
		fmt.Sprintf("--web.listen-address=127.0.0.1:%d", port),
		"--cluster.listen-address=",
		"--web.external-url="+url,
		"--log.level=debug",
	)
	cmd.Stdout, cmd.Stderr = logFile, logFile
	cmd.Dir = dir
	cmd.SysProcAttr = &syscall.SysProcAttr{Pdeathsig: syscall.SIGKILL}
	if err := cmd.Start(); err != nil {
		_ = logFile.Close()
		return nil, fmt.Errorf("start %s: %w", bin, err)
	}
	am := &Alertmanager{URL: url, Dir: dir, cmd: cmd, logPath: logPath, done: make(chan struct{})}
	go func() {
		err := cmd.Wait()
		_ = logFile.Close()
		am.mu.Lock()
		am.waitErr = err
		am.mu.Unlock()
		close(am.done)
	}()
	if err := am.waitReady(15 * time.Second); err != nil {
		am.stop()
		return nil, err
	}
	return am, nil
}

func freePort() (int, error) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return 0, fmt.Errorf("find a free port: %w", err)
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port, nil
}

func (am *Alertmanager) waitReady(timeout time.Duration) error {
	deadline := time.Now().Add(timeout)
	client := &http.Client{Timeout: time.Second}
	for time.Now().Before(deadline) {
		select {
		case <-am.done:
			return fmt.Errorf("alertmanager exited before it was ready (%v); log:\n%s", am.exitErr(), am.Log())
		default:
		}
		resp, err := client.Get(am.URL + "/-/ready")
		if err == nil {
			_ = resp.Body.Close()
			if resp.StatusCode == http.StatusOK {
				return nil
			}
		}
		time.Sleep(50 * time.Millisecond)
	}
	return fmt.Errorf("alertmanager not ready within %s; log:\n%s", timeout, am.Log())
}

func (am *Alertmanager) exitErr() error {
	am.mu.Lock()
	defer am.mu.Unlock()
	return am.waitErr
}

// stop kills the process and waits for it.
func (am *Alertmanager) stop() {
	select {
	case <-am.done:
		return
	default:
	}
	_ = am.cmd.Process.Signal(syscall.SIGTERM)
	select {
	case <-am.done:
	case <-time.After(5 * time.Second):
		_ = am.cmd.Process.Kill()
		<-am.done
	}
}

// Log returns everything Alertmanager logged so far (logfmt, debug level).
func (am *Alertmanager) Log() string {
	b, err := os.ReadFile(am.logPath)
	if err != nil {
		return "(no log: " + err.Error() + ")"
	}
	return string(b)
}

// WaitForLog waits until a line of Alertmanager's log contains every one
// of substrs, and returns that line; it fails the test after timeout.
func (am *Alertmanager) WaitForLog(t testing.TB, timeout time.Duration, substrs ...string) string {
	t.Helper()
	deadline := time.Now().Add(timeout)
	for {
		if line, ok := findLine(am.Log(), substrs); ok {
			return line
		}
		if time.Now().After(deadline) {
			t.Fatalf("alertmanager logged no line containing %q within %s; log:\n%s", substrs, timeout, tail(am.Log(), 40))
			return ""
		}
		time.Sleep(50 * time.Millisecond)
	}
}

func findLine(log string, substrs []string) (string, bool) {
	for _, line := range strings.Split(log, "\n") {
		all := true
		for _, s := range substrs {
			if !strings.Contains(line, s) {
				all = false
				break
			}
		}
		if all && line != "" {
			return line, true
		}
	}
	return "", false
}

func tail(s string, n int) string {
	lines := strings.Split(strings.TrimSpace(s), "\n")
	if len(lines) > n {
		lines = lines[len(lines)-n:]
	}
	return strings.Join(lines, "\n")
}

// Fire adds a firing alert with amtool and returns it with its StartsAt
// (now, in whole seconds, when a.StartsAt was zero).
func (am *Alertmanager) Fire(t testing.TB, a Alert) Alert {
	t.Helper()
	if a.StartsAt.IsZero() {
		a.StartsAt = time.Now()
	}
	a.StartsAt = a.StartsAt.UTC().Truncate(time.Second)
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	if err := am.Add(ctx, a, time.Time{}); err != nil {
		t.Fatalf("fire %s: %v", a.Name(), err)
	}
	return a
}

// Resolve re-adds a fired alert (same labels and StartsAt) with amtool,
// ending now, so Alertmanager sends it as resolved.
func (am *Alertmanager) Resolve(t testing.TB, a Alert) {
	t.Helper()
	if a.StartsAt.IsZero() {
		t.Fatalf("resolve %s: the alert has no StartsAt (pass the Alert Fire returned)", a.Name())
	}
	end := time.Now().UTC().Truncate(time.Second)
	if end.Before(a.StartsAt) {
		end = a.StartsAt
	}
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	if err := am.Add(ctx, a, end); err != nil {
		t.Fatalf("resolve %s: %v", a.Name(), err)
	}
}

// Add runs `amtool alert add` for a (ending at end, unless end is zero).
func (am *Alertmanager) Add(ctx context.Context, a Alert, end time.Time) error {
	if a.Name() == "" {
		return errors.New("alert has no alertname label")
	}
	args := []string{"--alertmanager.url=" + am.URL, "alert", "add"}
	if !a.StartsAt.IsZero() {
		args = append(args, "--start="+a.StartsAt.UTC().Format(time.RFC3339))
	}
	if !end.IsZero() {
		args = append(args, "--end="+end.UTC().Format(time.RFC3339))
	}
	for _, k := range sortedKeys(a.Annotations) {
		args = append(args, "--annotation="+k+"="+a.Annotations[k])
	}
	// alertname first: amtool's documented form.
	args = append(args, "alertname="+a.Name())
	for _, k := range sortedKeys(a.Labels) {
		if k != "alertname" {
			args = append(args, k+"="+a.Labels[k])
		}
	}
	_, amtool := binaries()
	cmd := exec.CommandContext(ctx, amtool, args...)
	var out bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &out
	if err := cmd.Run(); err != nil {
		return fmt.Errorf("amtool alert add: %w: %s", err, strings.TrimSpace(out.String()))
	}
	return nil
}

// postableAlert is one element of the body of Alertmanager's
// POST /api/v2/alerts (its PostableAlert).
type postableAlert struct {
	Labels      map[string]string `json:"labels"`
	Annotations map[string]string `json:"annotations,omitempty"`
	StartsAt    string            `json:"startsAt,omitempty"`
}

// PostAlerts adds firing alerts through Alertmanager's own API
// (POST /api/v2/alerts, what Prometheus calls) in one request: the way to
// fire thousands at once, or values longer than a command line holds.
// Alerts with a zero StartsAt start now; the alerts are returned with the
// StartsAt Alertmanager keeps (whole seconds).
func (am *Alertmanager) PostAlerts(ctx context.Context, alerts []Alert) ([]Alert, error) {
	now := time.Now().UTC().Truncate(time.Second)
	out := make([]Alert, len(alerts))
	body := make([]postableAlert, len(alerts))
	for i, a := range alerts {
		if a.Name() == "" {
			return nil, fmt.Errorf("alert %d has no alertname label", i)
		}
		if a.StartsAt.IsZero() {
			a.StartsAt = now
		}
		a.StartsAt = a.StartsAt.UTC().Truncate(time.Second)
		out[i] = a
		body[i] = postableAlert{Labels: a.Labels, Annotations: a.Annotations, StartsAt: a.StartsAt.Format(time.RFC3339)}
	}
	b, err := json.Marshal(body)
	if err != nil {
		return nil, fmt.Errorf("encode alerts: %w", err)
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, am.URL+"/api/v2/alerts", bytes.NewReader(b))
	if err != nil {
		return nil, fmt.Errorf("post alerts: %w", err)
	}
	req.Header.Set("Content-Type", "application/json")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return nil, fmt.Errorf("post alerts: %w", err)
	}
	defer resp.Body.Close()
	msg, _ := io.ReadAll(io.LimitReader(resp.Body, 4<<10))
	if resp.StatusCode != http.StatusOK {
		return nil, fmt.Errorf("post %d alerts: alertmanager answered %s: %s", len(alerts), resp.Status, bytes.TrimSpace(msg))
	}
	return out, nil
}

// Metric returns the value of the sample of Alertmanager's /metrics whose
// name and labels are exactly series (e.g.
// `alertmanager_notifications_total{integration="webhook"}`), or -1 when
// Alertmanager exposes no such sample.
func (am *Alertmanager) Metric(ctx context.Context, series string) (float64, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, am.URL+"/metrics", nil)
	if err != nil {
		return 0, fmt.Errorf("scrape alertmanager: %w", err)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return 0, fmt.Errorf("scrape alertmanager: %w", err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		return 0, fmt.Errorf("scrape alertmanager: %w", err)
	}
	for _, line := range strings.Split(string(b), "\n") {
		if rest, ok := strings.CutPrefix(line, series+" "); ok {
			v, err := strconv.ParseFloat(strings.TrimSpace(rest), 64)
			if err != nil {
				return 0, fmt.Errorf("alertmanager metric line %q: %w", line, err)
			}
			return v, nil
		}
	}
	return -1, nil
}

func sortedKeys(m map[string]string) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	return keys
}

// config mirrors the part of Alertmanager's configuration file written here.
type config struct {
	Route     route        `json:"route"`
	Receivers []amReceiver `json:"receivers"`
}

type route struct {
	Receiver       string   `json:"receiver"`
	GroupBy        []string `json:"group_by"`
	GroupWait      string   `json:"group_wait"`
	GroupInterval  string   `json:"group_interval"`
	RepeatInterval string   `json:"repeat_interval"`
}

type amReceiver struct {
	Name           string          `json:"name"`
	WebhookConfigs []webhookConfig `json:"webhook_configs"`
}

type webhookConfig struct {
	URL          string      `json:"url"`
	SendResolved bool        `json:"send_resolved"`
	MaxAlerts    int         `json:"max_alerts,omitempty"`
	HTTPConfig   *httpConfig `json:"http_config,omitempty"`
}

type httpConfig struct {
	Authorization authorization `json:"authorization"`
}

type authorization struct {
	Type        string `json:"type"`
	Credentials string `json:"credentials"`
}

// ReceiverName is the name of the generated configuration's receiver, as
// it appears in webhook payloads ("receiver").
const ReceiverName = "k8flex"

// renderConfig returns the Alertmanager configuration file for cfg.
func renderConfig(cfg Config) ([]byte, error) {
	or := func(d, def time.Duration) string {
		if d <= 0 {
			d = def
		}
		return fmt.Sprintf("%dms", d.Milliseconds())
	}
	groupBy := cfg.GroupBy
	if len(groupBy) == 0 {
		groupBy = []string{"alertname", "namespace"}
	}
	wh := webhookConfig{URL: cfg.WebhookURL, SendResolved: true, MaxAlerts: cfg.MaxAlerts}
	if cfg.Token != "" {
		wh.HTTPConfig = &httpConfig{Authorization: authorization{Type: "Bearer", Credentials: cfg.Token}}
	}
	c := config{
		Route: route{Receiver: ReceiverName, GroupBy: groupBy,
			GroupWait: or(cfg.GroupWait, time.Second), GroupInterval: or(cfg.GroupInterval, time.Second),
			RepeatInterval: or(cfg.RepeatInterval, time.Hour)},
		Receivers: []amReceiver{{Name: ReceiverName, WebhookConfigs: []webhookConfig{wh}}},
	}
	b, err := yaml.Marshal(c)
	if err != nil {
		return nil, fmt.Errorf("render config: %w", err)
	}
	return b, nil
}
