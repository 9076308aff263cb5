package llm

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"net/http"
	"testing"

	"github.com/rs/zerolog"
	"github.com/tmc/langchaingo/llms"
	"github.com/tmc/langchaingo/llms/openai"

	"github.com/k8flex/k8flex/llm/llmtest"
)

// benchChunks returns n chunks of about 12 bytes.
func benchChunks(n int) []string {
	c := make([]string, n)
	for i := range c {
		c[i] = fmt.Sprintf("token%06d ", i)
	}
	return c
}

// BenchmarkAnalyzeOverhead compares one investigation's model call through
// K8flex's Analyzer (limits, retrying transport, stream checker, chunk
// emission, usage) with the bare langchaingo client, against the same
// zero-latency OpenAI fake. The difference per op is what K8flex adds per
// investigation; divided by the chunk count, per chunk.
func BenchmarkAnalyzeOverhead(b *testing.B) {
	for _, n := range []int{10, 500} {
		fake := llmtest.NewOpenAI(llmtest.Options{Chunks: benchChunks(n)})
		url := fake.Start(b)
		in := testInput()
		b.Run(fmt.Sprintf("k8flex/chunks=%d", n), func(b *testing.B) {
			cfg := DefaultConfig()
			cfg.Provider, cfg.Model, cfg.BaseURL, cfg.APIKey = ProviderOpenAI, "m", url, "k"
			a, err := NewAnalyzer(cfg, zerolog.Nop())
			if err != nil {
				b.Fatal(err)
			}
			b.ReportAllocs()
			for b.Loop() {
				var got int
				if _, err := a.Analyze(context.Background(), in, func(c string) { got += len(c) }); err != nil || got == 0 {
					b.Fatal(err)
				}
			}
			b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N)/float64(n), "ns/chunk")
		})
		b.Run(fmt.Sprintf("langchaingo/chunks=%d", n), func(b *testing.B) {
			m, err := openai.New(openai.WithToken("k"), openai.WithModel("m"), openai.WithBaseURL(url+"/v1"),
				openai.WithHTTPClient(&http.Client{Transport: http.DefaultTransport.(*http.Transport).Clone()}))
			if err != nil {
				b.Fatal(err)
			}
			msgs := []llms.MessageContent{llms.TextParts(llms.ChatMessageTypeSystem, in.Prompt.System),
				llms.TextParts(llms.ChatMessageTypeHuman, in.Prompt.User)}
			b.ReportAllocs()
			for b.Loop() {
				var got int
				_, err := m.GenerateContent(context.Background(), msgs, llms.WithStreamingFunc(func(_ context.Context, c []byte) error {
					got += len(c)
					return nil
				}))
				if err != nil || got == 0 {
					b.Fatal(err)
				}
			}
			b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N)/float64(n), "ns/chunk")
		})
	}
}

// BenchmarkStreamCheck measures the stream checker alone per SSE event.
func BenchmarkStreamCheck(b *testing.B) {
	var sse bytes.Buffer
	const n = 1000
	for i := range n {
		fmt.Fprintf(&sse, "data: {\"choices\":[{\"index\":0,\"delta\":{\"content\":\"token%06d \"}}]}\n\n", i)
	}
	sse.WriteString("data: [DONE]\n\n")
	raw := sse.Bytes()
	b.SetBytes(int64(len(raw)))
	b.ReportAllocs()
	for b.Loop() {
		body := &checkedBody{rc: io.NopCloser(bytes.NewReader(raw)), chk: openAICheck("text/event-stream"), stats: &counters{}}
		if _, err := io.Copy(io.Discard, body); err != nil {
			b.Fatal(err)
		}
	}
	b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N)/n, "ns/chunk")
}
