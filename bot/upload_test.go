package bot

import (
	"bytes"
	"context"
	"image"
	"image/color"
	"image/png"
	"mime/multipart"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/k8flex/k8flex/internal/fakeslack"
	"github.com/k8flex/k8flex/investigate"
)

// testPNG is a small valid PNG.
func testPNG(t *testing.T) []byte {
	t.Helper()
	img := image.NewRGBA(image.Rect(0, 0, 40, 20))
	for x := range 40 {
		img.Set(x, 10, color.RGBA{R: 0xd6, G: 0x27, B: 0x28, A: 0xff})
	}
	var buf bytes.Buffer
	if err := png.Encode(&buf, img); err != nil {
		t.Fatal(err)
	}
	return buf.Bytes()
}

// outcomes records Deps.OnDelivery and Deps.OnRetry.
type outcomes struct {
	mu               sync.Mutex
	delivered, retry []string
}

func (o *outcomes) deps(d Deps) Deps {
	d.OnDelivery = func(m, out string) { o.mu.Lock(); o.delivered = append(o.delivered, m+" "+out); o.mu.Unlock() }
	d.OnRetry = func(m, r string) { o.mu.Lock(); o.retry = append(o.retry, m+" "+r); o.mu.Unlock() }
	return d
}

func (o *outcomes) has(list *[]string, s string) bool {
	o.mu.Lock()
	defer o.mu.Unlock()
	return slices.Contains(*list, s)
}

// runThread reports one finished investigation with charts and returns
// the thread's root ts.
func runThread(t *testing.T, b *Bot, charts []investigate.Chart) string {
	t.Helper()
	ctx := context.Background()
	inv := testInvestigation("case-chart", testAlert("KubeContainerOOMKilled"))
	rep := b.Reporter("")
	if err := rep.Started(ctx, inv); err != nil {
		t.Fatal(err)
	}
	rep.Chunk(ctx, "## Root cause\nThe working set reached the limit.\n")
	res := testResult(inv, "## Root cause\nThe working set reached the limit.\n")
	res.Charts = charts
	if err := rep.Finished(ctx, res); err != nil {
		t.Fatal(err)
	}
	select {
	case <-rep.Done():
	case <-time.After(10 * time.Second):
		t.Fatal("thread not final")
	}
	_, ts := rep.Thread()
	return ts
}

func TestChartsAreSharedInTheThread(t *testing.T) {
	fs := fakeslack.New(fakeslack.Options{})
	t.Cleanup(fs.Close)
	var o outcomes
	b := startBot(t, fs, testConfig(fs), o.deps(Deps{}))
	// The first reservation is answered 429: the upload waits and goes on.
	fs.RateLimit("files.getUploadURLExternal", time.Second)
	data := testPNG(t)
	ts := runThread(t, b, []investigate.Chart{{Name: "memory-web-0", Filename: "memory-web-0.png", Title: "Memory working set of web-0", PNG: data}})
	eventually(t, 10*time.Second, "the chart upload", func() bool { return len(fs.Uploads()) == 1 })
	up := fs.Uploads()[0]
	if up.Channel != testChannel || up.ThreadTS != ts || up.Filename != "memory-web-0.png" || up.Title != "Memory working set of web-0" {
		t.Errorf("upload %+v: want memory-web-0.png in thread %s of %s", up, ts, testChannel)
	}
	if !bytes.Equal(up.Data, data) {
		t.Fatalf("uploaded %d bytes, not the chart's %d", len(up.Data), len(data))
	}
	if _, err := png.Decode(bytes.NewReader(up.Data)); err != nil {
		t.Errorf("uploaded chart is not a PNG: %v", err)
	}
	eventually(t, 5*time.Second, "the upload counted", func() bool { return o.has(&o.delivered, methodUpload+" delivered") })
	if !o.has(&o.retry, methodUpload+" rate_limited") {
		t.Errorf("the 429 was not counted as a retry: %v", o.retry)
	}
}

func TestChartRefusedIsCountedAndTheThreadStands(t *testing.T) {
	fs := fakeslack.New(fakeslack.Options{Scopes: []string{"chat:write", "commands", "reactions:read"}})
	t.Cleanup(fs.Close)
	var o outcomes
	b := startBot(t, fs, testConfig(fs), o.deps(Deps{}))
	ts := runThread(t, b, []investigate.Chart{{Name: "c", Filename: "c.png", Title: "c", PNG: testPNG(t)}})
	eventually(t, 5*time.Second, "the refusal counted", func() bool { return o.has(&o.delivered, methodUpload+" refused") })
	if n := len(fs.Uploads()); n != 0 {
		t.Errorf("%d uploads without the files:write scope", n)
	}
	if len(fs.Calls("files.getUploadURLExternal")) != 1 {
		t.Errorf("a refused upload was tried again: %d calls", len(fs.Calls("files.getUploadURLExternal")))
	}
	replies := 0
	for _, m := range fs.Messages() {
		if m.ThreadTS == ts {
			replies++
		}
	}
	if replies == 0 {
		t.Error("the thread lost its analysis")
	}
}

func TestChartUploadRetriesWhileSlackIsUnreachable(t *testing.T) {
	fs := fakeslack.New(fakeslack.Options{})
	t.Cleanup(fs.Close)
	var o outcomes
	b := startBot(t, fs, testConfig(fs), o.deps(Deps{}))
	ts := runThread(t, b, nil)
	fs.SetUnreachable(true)
	errc := make(chan error, 1)
	go func() {
		errc <- b.uploadChart(context.Background(), testChannel, ts, investigate.Chart{Filename: "c.png", Title: "c", PNG: testPNG(t)})
	}()
	eventually(t, 5*time.Second, "a failed try", func() bool { return o.has(&o.retry, methodUpload+" unreachable") })
	fs.SetUnreachable(false)
	select {
	case err := <-errc:
		if err != nil {
			t.Fatal(err)
		}
	case <-time.After(15 * time.Second):
		t.Fatal("upload not finished once Slack answered")
	}
	if len(fs.Uploads()) != 1 {
		t.Errorf("%d uploads, want 1", len(fs.Uploads()))
	}
}

func TestUploadBodyIsCheckedAndPassedUnchanged(t *testing.T) {
	form := func(write func(w *multipart.Writer)) (string, []byte) {
		var buf bytes.Buffer
		w := multipart.NewWriter(&buf)
		write(w)
		_ = w.Close()
		return w.FormDataContentType(), buf.Bytes()
	}
	data := testPNG(t)
	for _, tt := range []struct {
		name  string
		write func(w *multipart.Writer)
		ok    bool
	}{
		{"one file", func(w *multipart.Writer) { f, _ := w.CreateFormFile("file", "c.png"); _, _ = f.Write(data) }, true},
		{"a text field", func(w *multipart.Writer) { _ = w.WriteField("initial_comment", "hi") }, false},
		{"a spoofed file name", func(w *multipart.Writer) { _, _ = w.CreateFormFile("file", "c\u202egnp.exe") }, false},
		{"two files", func(w *multipart.Writer) {
			_, _ = w.CreateFormFile("file", "a.png")
			_, _ = w.CreateFormFile("file", "b.png")
		}, false},
	} {
		t.Run(tt.name, func(t *testing.T) {
			ct, body := form(tt.write)
			got, err := unspoofBody(ct, body)
			if (err == nil) != tt.ok {
				t.Fatalf("err = %v, want ok %v", err, tt.ok)
			}
			if tt.ok && !bytes.Equal(got, body) {
				t.Error("the upload's bytes were changed")
			}
		})
	}
}
