package llmtest

import (
	"context"
	"io"
	"net/http"
	"strings"
	"testing"
)

func TestServeAnswersUntilCancelled(t *testing.T) {
	f := NewOpenAI(Options{Chunks: []string{"hello ", "world"}, APIKey: "k"})
	ctx, cancel := context.WithCancel(context.Background())
	urls := make(chan string, 1)
	done := make(chan error, 1)
	go func() { done <- f.Serve(ctx, "127.0.0.1:0", func(u string) { urls <- u }) }()
	u := <-urls
	req, _ := http.NewRequest(http.MethodPost, u+"/v1/chat/completions",
		strings.NewReader(`{"model":"m","stream":true,"messages":[{"role":"user","content":"hi"}]}`))
	req.Header.Set("Authorization", "Bearer k")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	for _, want := range []string{`"content":"hello "`, `"content":"world"`, "data: [DONE]"} {
		if !strings.Contains(string(body), want) {
			t.Errorf("stream lacks %s:\n%s", want, body)
		}
	}
	if got := f.Requests(); len(got) != 1 || got[0].User != "hi" || len(f.Problems()) != 0 {
		t.Errorf("requests %+v problems %v", got, f.Problems())
	}
	cancel()
	if err := <-done; err != nil {
		t.Errorf("Serve: %v", err)
	}
}

func TestSplitChunksConcatenates(t *testing.T) {
	for _, s := range []string{"", "a", DefaultAnswer, strings.Repeat("x", 100)} {
		if got := strings.Join(SplitChunks(s), ""); got != s {
			t.Errorf("SplitChunks(%q) joins to %q", s, got)
		}
	}
}
