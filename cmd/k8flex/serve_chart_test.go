package main

import (
	"bytes"
	"image/png"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/k8flex/k8flex/internal/fakeslack"
	"github.com/k8flex/k8flex/investigate"
)

// chartScenario is a demo incident whose root cause comes from its
// metrics.om: the working set climbing to the limit before each OOM kill.
const chartScenario = "../../demo/scenarios/jvm-heap-above-limit-oomkilled"

// TestServeSlackChartInThread: an alert of a demo incident diagnosed from
// its metrics gets, through the whole server, the chart of the working
// set against the limit uploaded into its thread as a valid PNG.
func TestServeSlackChartInThread(t *testing.T) {
	fs := fakeslack.New(fakeslack.Options{})
	t.Cleanup(fs.Close)
	dir := t.TempDir()
	cfg := serveConfig{Token: "chart-token", Workers: 1, DataDir: filepath.Join(dir, "data"), Slack: fs}
	srv := startInProcessOn(t, cfg.write(t, dir), chartScenario)
	waitSocket(t, fs, 1)

	body, err := os.ReadFile(filepath.Join(chartScenario, "alert.json"))
	if err != nil {
		t.Fatal(err)
	}
	msg, err := investigate.ParseWebhook(body)
	if err != nil {
		t.Fatal(err)
	}
	postAlerts(t, srv.URL, cfg.Token, msg.Alerts[0])

	root, analysis := finalThread(t, fs, 30*time.Second)
	if !strings.Contains(unescapeJSON(analysis.Blocks), "Prometheus shows the memory working set") {
		t.Errorf("the analysis does not draw on the metrics:\n%s", analysis.Blocks)
	}
	waitSlack(t, "the chart in the thread", func() bool { return len(fs.Uploads()) > 0 })
	ups := fs.Uploads()
	if len(ups) != 1 {
		t.Errorf("%d uploads, want the one chart of the one metric finding", len(ups))
	}
	up := ups[0]
	if up.Channel != slackChannel || up.ThreadTS != root.TS {
		t.Errorf("chart shared in %s thread %q, want %s thread %s", up.Channel, up.ThreadTS, slackChannel, root.TS)
	}
	if !strings.HasPrefix(up.Filename, "memory-recommender-") || !strings.HasSuffix(up.Filename, ".png") ||
		!strings.Contains(up.AltText, "alert fired at") {
		t.Errorf("upload %s, alt text %q", up.Filename, up.AltText)
	}
	img, err := png.Decode(bytes.NewReader(up.Data))
	if err != nil {
		t.Fatalf("the uploaded chart is not a PNG: %v", err)
	}
	if b := img.Bounds(); b.Dx() < 600 || b.Dy() < 300 {
		t.Errorf("chart of %v, too small to read", b.Size())
	}
	waitSlack(t, "the chart's delivery counted", func() bool {
		return metric(t, srv.URL, `k8flex_slack_deliveries_total{method="files.completeUploadExternal",outcome="delivered"}`) == 1
	})
}
