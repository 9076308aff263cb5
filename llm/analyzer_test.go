package llm

import (
	"context"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/rs/zerolog"

	"github.com/k8flex/k8flex/investigate"
	"github.com/k8flex/k8flex/llm/llmtest"
)

// plantedSecret is an AWS access key id: redact.String must remove it.
const plantedSecret = "AKIAIOSFODNN7EXAMPLE"

const testKey = "sk-test-key-123"

// providerCase starts one provider's fake and the config pointing at it.
type providerCase struct {
	name  string
	model string
	fake  func(llmtest.Options) *llmtest.Fake
	key   string // the credential the fake checks
	// libraryDetectsMalformed: the client library reports malformed streams
	// itself (we do not wrap them in ErrMalformedStream).
	libraryDetectsMalformed bool
}

func providerCases() []providerCase {
	return []providerCase{
		{name: ProviderOpenAI, model: "gpt-4o-mini", fake: llmtest.NewOpenAI, key: testKey},
		{name: ProviderOllama, model: "llama3.2", fake: llmtest.NewOllama},
		{name: ProviderAnthropic, model: "claude-3-5-haiku-latest", fake: llmtest.NewAnthropic, key: testKey},
		{name: ProviderGemini, model: "gemini-2.0-flash", fake: llmtest.NewGemini, key: testKey, libraryDetectsMalformed: true},
		{name: ProviderBedrock, model: "anthropic.claude-3-haiku-20240307-v1:0", fake: llmtest.NewBedrock, key: "AKIDFAKEBEDROCK", libraryDetectsMalformed: true},
	}
}

// setup starts pc's fake and returns it with an analyzer pointed at it.
func setup(t *testing.T, pc providerCase, opts llmtest.Options, mod func(*Config)) (*llmtest.Fake, *Analyzer) {
	t.Helper()
	if pc.name == ProviderBedrock {
		t.Setenv("AWS_EC2_METADATA_DISABLED", "true")
		t.Setenv("AWS_ACCESS_KEY_ID", pc.key)
		t.Setenv("AWS_SECRET_ACCESS_KEY", "fake-secret")
		t.Setenv("AWS_CONFIG_FILE", t.TempDir()+"/none")
		t.Setenv("AWS_SHARED_CREDENTIALS_FILE", t.TempDir()+"/none")
	}
	opts.Model = pc.model
	opts.APIKey = pc.key
	opts.Forbidden = append(opts.Forbidden, plantedSecret)
	fake := pc.fake(opts)
	cfg := DefaultConfig()
	cfg.Provider, cfg.Model, cfg.BaseURL = pc.name, pc.model, fake.Start(t)
	if pc.name != ProviderBedrock {
		cfg.APIKey = pc.key
	}
	cfg.Timeout = 10 * time.Second
	if mod != nil {
		mod(&cfg)
	}
	a, err := NewAnalyzer(cfg, zerolog.Nop())
	if err != nil {
		t.Fatalf("NewAnalyzer(%s): %v", pc.name, err)
	}
	a.rt.baseDelay = 5 * time.Millisecond
	t.Cleanup(func() {
		for _, p := range fake.Problems() {
			t.Errorf("fake saw: %s", p)
		}
	})
	return fake, a
}

func testInput() *investigate.AnalysisInput {
	return &investigate.AnalysisInput{
		Prompt: investigate.Prompt{
			System: "You are K8flex, a Kubernetes incident analyst.",
			User:   "Alert KubePodCrashLooping for pod shop/web-0.\nFinding: container app exits with code 1.",
		},
		Findings: []investigate.Finding{{Rule: "crashloop", Summary: "pod shop/web-0 is crash looping"}},
	}
}

// collector records emitted chunks.
type collector struct{ chunks []string }

func (c *collector) emit(s string) { c.chunks = append(c.chunks, s) }
func (c *collector) text() string  { return strings.Join(c.chunks, "") }

// stubBuiltin stands in for the built-in analyser (llm.NewBuiltin is
// written separately): it writes one line from the top finding.
type stubBuiltin struct{}

func (stubBuiltin) Name() string { return "builtin" }
func (stubBuiltin) Analyze(_ context.Context, in *investigate.AnalysisInput, emit func(string)) (investigate.Analysis, error) {
	text := "## Root cause\n" + in.Findings[0].Summary + "\n"
	emit(text)
	return investigate.Analysis{Text: text, Analyzer: "builtin"}, nil
}

func TestAnalyzeStreamsInOrder(t *testing.T) {
	for _, pc := range providerCases() {
		t.Run(pc.name, func(t *testing.T) {
			fake, a := setup(t, pc, llmtest.Options{}, nil)
			var c collector
			an, err := a.Analyze(context.Background(), testInput(), c.emit)
			if err != nil {
				t.Fatalf("Analyze: %v", err)
			}
			if an.Text != fake.Answer() || c.text() != an.Text {
				t.Fatalf("text mismatch:\nreturned %q\nemitted  %q\nwant     %q", an.Text, c.text(), fake.Answer())
			}
			if want := len(llmtest.SplitChunks(llmtest.DefaultAnswer)); len(c.chunks) != want {
				t.Errorf("emitted %d chunks, want %d (one per streamed event)", len(c.chunks), want)
			}
			for i, ch := range c.chunks {
				if ch == "" {
					t.Errorf("chunk %d is empty", i)
				}
			}
			if an.Analyzer != pc.name || an.Model != pc.model {
				t.Errorf("analysis names %s/%s, want %s/%s", an.Analyzer, an.Model, pc.name, pc.model)
			}
			want := investigate.Usage{InputTokens: 120, OutputTokens: 80}
			if pc.name == ProviderGemini {
				// see generate: genai keeps the first chunk's usage
				want = investigate.Usage{InputTokens: 120, OutputTokens: (len(an.Text) + 3) / 4, Estimated: true}
			}
			if an.Usage != want {
				t.Errorf("usage %+v, want %+v", an.Usage, want)
			}
			reqs := fake.Requests()
			if len(reqs) != 1 {
				t.Fatalf("fake got %d requests, want 1", len(reqs))
			}
			in := testInput()
			if reqs[0].System != in.Prompt.System || reqs[0].User != in.Prompt.User || !reqs[0].Stream {
				t.Errorf("fake got system %q user %q stream %v", reqs[0].System, reqs[0].User, reqs[0].Stream)
			}
		})
	}
}

func TestAnalyzeEstimatesUsageWhenNotReported(t *testing.T) {
	for _, pc := range providerCases() {
		if pc.name == ProviderAnthropic || pc.name == ProviderBedrock {
			continue // the Messages API always reports usage
		}
		t.Run(pc.name, func(t *testing.T) {
			_, a := setup(t, pc, llmtest.Options{NoUsage: true}, nil)
			an, err := a.Analyze(context.Background(), testInput(), func(string) {})
			if err != nil {
				t.Fatal(err)
			}
			in := testInput()
			want := investigate.Usage{InputTokens: (len(in.Prompt.System) + len(in.Prompt.User) + 3) / 4,
				OutputTokens: (len(an.Text) + 3) / 4, Estimated: true}
			if an.Usage != want {
				t.Errorf("usage %+v, want estimate %+v", an.Usage, want)
			}
		})
	}
}

func TestAnalyzeRetries429WithRetryAfter(t *testing.T) {
	for _, pc := range providerCases() {
		t.Run(pc.name, func(t *testing.T) {
			fake, a := setup(t, pc, llmtest.Options{}, nil)
			fake.FailNext(llmtest.Failure{Status: 429, RetryAfter: "1"})
			start := time.Now()
			var c collector
			an, err := a.Analyze(context.Background(), testInput(), c.emit)
			if err != nil {
				t.Fatalf("Analyze after one 429: %v", err)
			}
			if time.Since(start) < 900*time.Millisecond {
				t.Errorf("retried after %s, before Retry-After: 1", time.Since(start))
			}
			if an.Text != fake.Answer() || c.text() != fake.Answer() {
				t.Errorf("answer after retry: %q", an.Text)
			}
			if n := len(fake.Requests()); n != 2 {
				t.Errorf("fake got %d requests, want 2", n)
			}
			if s := a.Stats(); s.Retries != 1 || s.Failures != 0 {
				t.Errorf("stats %+v, want 1 retry and no failure", s)
			}
		})
	}
}

func TestAnalyzeFallsBack(t *testing.T) {
	for _, pc := range providerCases() {
		for _, tt := range []struct {
			name     string
			failures []llmtest.Failure
			reason   string
			check    func(t *testing.T, s Stats)
		}{
			{name: "timeout", failures: []llmtest.Failure{{Hang: true}}, reason: "no complete answer within",
				check: func(t *testing.T, s Stats) {
					if s.Timeouts != 1 {
						t.Errorf("stats %+v, want 1 timeout", s)
					}
				}},
			{name: "500 after retries", failures: []llmtest.Failure{{Status: 500}, {Status: 500}}, reason: "500",
				check: func(t *testing.T, s Stats) {
					if s.Retries != 1 || s.Failures != 1 {
						t.Errorf("stats %+v, want 1 retry, 1 failure", s)
					}
				}},
		} {
			t.Run(pc.name+"/"+tt.name, func(t *testing.T) {
				fake, a := setup(t, pc, llmtest.Options{}, func(c *Config) {
					c.Timeout = 400 * time.Millisecond
					c.MaxRetries = 1
				})
				fake.FailNext(tt.failures...)
				fb := WithFallback(a, stubBuiltin{}, zerolog.Nop())
				var c collector
				an, err := fb.Analyze(context.Background(), testInput(), c.emit)
				if err != nil {
					t.Fatalf("fallback Analyze: %v", err)
				}
				if !strings.Contains(an.FallbackReason, tt.reason) {
					t.Errorf("FallbackReason %q does not mention %q", an.FallbackReason, tt.reason)
				}
				wantHead := FallbackMarker + pc.name + "/" + pc.model + " unavailable: "
				if !strings.HasPrefix(an.Text, wantHead) || !strings.Contains(an.Text, "pod shop/web-0 is crash looping") {
					t.Errorf("fallback text %q, want it to start with %q and hold the built-in analysis", an.Text, wantHead)
				}
				if c.text() != an.Text {
					t.Errorf("emitted %q, returned %q", c.text(), an.Text)
				}
				if fb.Fallbacks() != 1 {
					t.Errorf("Fallbacks() = %d, want 1", fb.Fallbacks())
				}
				tt.check(t, a.Stats())
			})
		}
	}
}

func TestAnalyzeMalformedStream(t *testing.T) {
	for _, pc := range providerCases() {
		t.Run(pc.name, func(t *testing.T) {
			fake, a := setup(t, pc, llmtest.Options{}, nil)
			fake.FailNext(llmtest.Failure{Malformed: true})
			var c collector
			_, err := a.Analyze(context.Background(), testInput(), c.emit)
			if err == nil {
				t.Fatal("Analyze of a malformed stream succeeded")
			}
			if !pc.libraryDetectsMalformed && !errors.Is(err, ErrMalformedStream) || !errors.Is(err, ErrMalformedStream) && a.Stats().MalformedStreams > 0 {
				t.Errorf("error %q does not wrap ErrMalformedStream", err)
			}
			if !strings.HasPrefix(err.Error(), pc.name+"/"+pc.model+": ") {
				t.Errorf("error %q does not name the provider and model", err)
			}
			t.Logf("error: %v", err)

			// Behind WithFallback the partial answer is abandoned visibly.
			fake.FailNext(llmtest.Failure{Malformed: true})
			var c2 collector
			an, err := WithFallback(a, stubBuiltin{}, zerolog.Nop()).Analyze(context.Background(), testInput(), c2.emit)
			if err != nil {
				t.Fatal(err)
			}
			// Whether any text came before the malformed frame depends on
			// how the client's reads split the stream: either the fallback
			// starts the answer, or the partial text ends with the separator.
			if !strings.HasPrefix(an.Text, FallbackMarker) && !strings.Contains(an.Text, RestartSeparator+FallbackMarker) {
				t.Errorf("partial answer not followed by the restart separator: %q", an.Text)
			}
			if c2.text() != an.Text {
				t.Errorf("emitted %q, returned %q", c2.text(), an.Text)
			}
		})
	}
}

func TestFallbackDoesNotRunWhenCallerCancels(t *testing.T) {
	pc := providerCases()[0]
	fake, a := setup(t, pc, llmtest.Options{}, nil)
	fake.FailNext(llmtest.Failure{Hang: true})
	ctx, cancel := context.WithTimeout(context.Background(), 200*time.Millisecond)
	defer cancel()
	fb := WithFallback(a, stubBuiltin{}, zerolog.Nop())
	if _, err := fb.Analyze(ctx, testInput(), func(string) {}); err == nil {
		t.Fatal("Analyze succeeded after the caller's context ended")
	}
	if fb.Fallbacks() != 0 {
		t.Errorf("fallback ran for a cancelled caller")
	}
}
