package bot

import (
	"context"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/rs/zerolog"

	"github.com/k8flex/k8flex/internal/fakeslack"
)

// TestOnAPICallObservesEveryCall: the metrics hook sees each Web API call
// with its method and whether Slack rate-limited it.
func TestOnAPICallObservesEveryCall(t *testing.T) {
	fs := fakeslack.New(fakeslack.Options{})
	t.Cleanup(fs.Close)
	var mu sync.Mutex
	var seen []string
	b, err := New(testConfig(fs), Deps{OnAPICall: func(method, result string) {
		mu.Lock()
		defer mu.Unlock()
		seen = append(seen, method+" "+result)
	}}, zerolog.Nop())
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	if err := b.CheckAuth(ctx); err != nil {
		t.Fatal(err)
	}
	fs.RateLimit("chat.postMessage", 10*time.Millisecond)
	if _, err := b.post(ctx, testChannel, "", nil, "hello"); err != nil {
		t.Fatal(err)
	}
	mu.Lock()
	defer mu.Unlock()
	for _, want := range []string{"auth.test ok", "chat.postMessage rate_limited", "chat.postMessage ok"} {
		if !slices.Contains(seen, want) {
			t.Errorf("observed %v, missing %q", seen, want)
		}
	}
}
