package llm

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"strings"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	awsconfig "github.com/aws/aws-sdk-go-v2/config"
	"github.com/aws/aws-sdk-go-v2/service/bedrockruntime"
	"github.com/rs/zerolog"
	"github.com/tmc/langchaingo/llms"
	"github.com/tmc/langchaingo/llms/anthropic"
	"github.com/tmc/langchaingo/llms/bedrock"
	"github.com/tmc/langchaingo/llms/googleai"
	"github.com/tmc/langchaingo/llms/ollama"
	"github.com/tmc/langchaingo/llms/openai"
	"google.golang.org/api/option"

	"github.com/k8flex/k8flex/investigate"
	"github.com/k8flex/k8flex/redact"
)

// ErrTimeout is wrapped by the error of a call that hit llm.timeout.
var ErrTimeout = errors.New("llm call timed out")

// ErrBuiltinProvider is returned by NewAnalyzer and NewCategorizer for
// provider builtin: the built-in analyser needs no model and is built with
// NewBuiltin; there is no model to categorise with.
var ErrBuiltinProvider = errors.New("llm.provider builtin calls no model")

// Analyzer writes analyses with a model through langchaingo. It streams
// every non-empty chunk to emit as it arrives; the concatenation of the
// emitted chunks is the returned text. Calls are bounded by llm.timeout,
// llm.max_concurrency and the rate limits; 429 and 5xx answers are retried
// before anything is streamed. It is safe for concurrent use.
type Analyzer struct {
	cfg   Config
	model llms.Model
	rt    *retryTransport
	lim   *limiter
	stats *counters
	log   zerolog.Logger
}

var _ investigate.Analyzer = (*Analyzer)(nil)

// NewAnalyzer returns the analyzer of cfg's provider (ollama, openai,
// anthropic, gemini or bedrock). cfg must be valid; provider builtin gives
// ErrBuiltinProvider. Bedrock takes its credentials from the AWS default
// chain (environment, shared config, IRSA), not from llm.api_key.
func NewAnalyzer(cfg Config, log zerolog.Logger) (*Analyzer, error) {
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	if !cfg.UsesModel() {
		return nil, ErrBuiltinProvider
	}
	key, err := cfg.Key()
	if err != nil {
		return nil, err
	}
	st := &counters{}
	rt := &retryTransport{
		next:       http.DefaultTransport.(*http.Transport).Clone(),
		maxRetries: cfg.MaxRetries,
		baseDelay:  500 * time.Millisecond,
		maxDelay:   20 * time.Second,
		stats:      st,
	}
	m, err := newModel(context.Background(), cfg.Provider, cfg.Model, cfg.BaseURL, key, cfg.Region, rt, modelOpts{
		maxTokens: cfg.MaxOutputTokens, temperature: cfg.Temperature,
	})
	if err != nil {
		return nil, fmt.Errorf("llm.provider %s: %w", cfg.Provider, err)
	}
	return &Analyzer{
		cfg: cfg, model: m, rt: rt, lim: newLimiter(cfg), stats: st,
		log: log.With().Str("component", "llm").Str("provider", cfg.Provider).Str("model", cfg.Model).Logger(),
	}, nil
}

type modelOpts struct {
	maxTokens      int
	temperature    float64
	embeddingModel string
	dimensions     int
}

// newModel builds the langchaingo client of a provider whose HTTP traffic
// goes through rt (it also sets rt's stream checker and headers).
func newModel(ctx context.Context, provider, model, baseURL, key, region string, rt *retryTransport, o modelOpts) (llms.Model, error) {
	hc := &http.Client{Transport: rt}
	switch provider {
	case ProviderOpenAI:
		rt.check = openAICheck
		if key == "" {
			key = "unused" // OpenAI-compatible servers without authentication
		}
		opts := []openai.Option{openai.WithToken(key), openai.WithModel(model), openai.WithHTTPClient(hc)}
		if u := endpoint(baseURL); u != "" {
			opts = append(opts, openai.WithBaseURL(u))
		}
		if o.embeddingModel != "" {
			opts = append(opts, openai.WithEmbeddingModel(o.embeddingModel))
			if o.dimensions > 0 && strings.HasPrefix(o.embeddingModel, "text-embedding-3") {
				opts = append(opts, openai.WithEmbeddingDimensions(o.dimensions))
			}
		}
		return openai.New(opts...)
	case ProviderOllama:
		rt.check = ollamaCheck
		opts := []ollama.Option{ollama.WithModel(model), ollama.WithHTTPClient(hc)}
		if baseURL != "" {
			opts = append(opts, ollama.WithServerURL(strings.TrimRight(baseURL, "/")))
		}
		return ollama.New(opts...)
	case ProviderAnthropic:
		rt.check = anthropicCheck
		opts := []anthropic.Option{anthropic.WithToken(key), anthropic.WithModel(model), anthropic.WithHTTPClient(hc)}
		if u := endpoint(baseURL); u != "" {
			opts = append(opts, anthropic.WithBaseURL(u))
		}
		return anthropic.New(opts...)
	case ProviderGemini:
		// With a custom HTTP client the Google client adds no credentials:
		// the transport sends the key.
		rt.setHeaders = func(h http.Header) { h.Set("x-goog-api-key", key) }
		opts := []googleai.Option{
			googleai.WithAPIKey(key), googleai.WithHTTPClient(hc),
			googleai.WithDefaultModel(model), googleai.WithDefaultEmbeddingModel(o.embeddingModel),
			googleai.WithDefaultMaxTokens(max(o.maxTokens, 1)), googleai.WithDefaultTemperature(o.temperature),
		}
		if baseURL != "" {
			opts = append(opts, func(g *googleai.Options) {
				g.ClientOptions = append(g.ClientOptions, option.WithEndpoint(strings.TrimRight(baseURL, "/")))
			})
		}
		return googleai.New(ctx, opts...)
	case ProviderBedrock:
		client, err := newBedrockClient(ctx, baseURL, region, hc)
		if err != nil {
			return nil, err
		}
		return bedrock.New(bedrock.WithClient(client), bedrock.WithModel(model))
	}
	return nil, fmt.Errorf("provider %q has no model client", provider)
}

// newBedrockClient returns a Bedrock runtime client with credentials from
// the AWS default chain, no SDK retries (rt retries) and an optional
// endpoint override.
func newBedrockClient(ctx context.Context, baseURL, region string, hc *http.Client) (*bedrockruntime.Client, error) {
	if region == "" {
		region = "us-east-1"
	}
	awsCfg, err := awsconfig.LoadDefaultConfig(ctx, awsconfig.WithRegion(region), awsconfig.WithRetryMaxAttempts(1))
	if err != nil {
		return nil, fmt.Errorf("load aws config: %w", err)
	}
	return bedrockruntime.NewFromConfig(awsCfg, func(bo *bedrockruntime.Options) {
		bo.HTTPClient = hc
		if baseURL != "" {
			bo.BaseEndpoint = aws.String(strings.TrimRight(baseURL, "/"))
		}
	}), nil
}

// Name returns the provider's name (e.g. "openai").
func (a *Analyzer) Name() string { return a.cfg.Provider }

// Model returns the configured model name.
func (a *Analyzer) Model() string { return a.cfg.Model }

// Stats returns the cumulative counts of this provider's calls.
func (a *Analyzer) Stats() Stats { return a.stats.snapshot() }

// Analyze sends in.Prompt (System as the system message, User as the human
// message) and streams the answer to emit. Usage is the provider's when it
// reports it, else estimated at 4 characters per token. On error the
// returned Analysis holds the text emitted so far.
func (a *Analyzer) Analyze(ctx context.Context, in *investigate.AnalysisInput, emit func(chunk string)) (investigate.Analysis, error) {
	text, usage, err := a.generate(ctx, in.Prompt.System, in.Prompt.User, a.cfg.MaxOutputTokens, emit)
	an := investigate.Analysis{Text: text, Analyzer: a.cfg.Provider, Model: a.cfg.Model, Usage: usage}
	if err != nil {
		return an, err
	}
	a.log.Debug().Int("input_tokens", usage.InputTokens).Int("output_tokens", usage.OutputTokens).
		Bool("estimated", usage.Estimated).Msg("analysis written")
	return an, nil
}

// generate makes one bounded, streamed model call.
func (a *Analyzer) generate(ctx context.Context, system, user string, maxTokens int, emit func(string)) (string, investigate.Usage, error) {
	a.stats.calls.Add(1)
	ctx, cancel := context.WithTimeoutCause(ctx, a.cfg.Timeout,
		fmt.Errorf("%w: %s/%s gave no complete answer within %s", ErrTimeout, a.cfg.Provider, a.cfg.Model, a.cfg.Timeout))
	defer cancel()
	ctx, state := withStreamState(ctx)
	var sb strings.Builder
	fail := func(err error) (string, investigate.Usage, error) {
		a.stats.failures.Add(1)
		if cause := context.Cause(ctx); ctx.Err() != nil && errors.Is(cause, ErrTimeout) {
			a.stats.timeouts.Add(1)
			err = cause
		}
		return sb.String(), investigate.Usage{}, &callError{
			msg: redact.String(fmt.Sprintf("%s/%s: %v", a.cfg.Provider, a.cfg.Model, err)), err: err,
		}
	}
	release, err := a.lim.acquire(ctx, investigate.EstimateTokens(system)+investigate.EstimateTokens(user)+maxTokens)
	if err != nil {
		return fail(err)
	}
	defer release()

	msgs := make([]llms.MessageContent, 0, 2)
	if system != "" {
		msgs = append(msgs, llms.TextParts(llms.ChatMessageTypeSystem, system))
	}
	msgs = append(msgs, llms.TextParts(llms.ChatMessageTypeHuman, user))
	stream := func(_ context.Context, chunk []byte) error {
		if len(chunk) == 0 {
			return nil
		}
		s := string(chunk)
		sb.WriteString(s)
		emit(s)
		return nil
	}
	resp, err := a.model.GenerateContent(ctx, msgs, llms.WithStreamingFunc(stream),
		llms.WithTemperature(a.cfg.Temperature), llms.WithMaxTokens(maxTokens))
	if serr := state.failure(); serr != nil && (err == nil || !errors.Is(err, ErrMalformedStream)) {
		err = serr // some clients (ollama) ignore read errors
	}
	if err == nil && ctx.Err() != nil {
		err = ctx.Err() // some clients stop quietly when the context ends
	}
	if err != nil {
		return fail(err)
	}
	if sb.Len() == 0 && resp != nil && len(resp.Choices) > 0 && resp.Choices[0].Content != "" {
		// A model the library cannot stream (e.g. non-Anthropic Bedrock
		// models) answers in one piece.
		stream(ctx, []byte(resp.Choices[0].Content))
	}
	if strings.TrimSpace(sb.String()) == "" {
		return fail(errors.New("the model returned an empty answer"))
	}
	u := usageOf(resp, len(system)+len(user), sb.Len())
	if a.cfg.Provider == ProviderGemini && !u.Estimated {
		// generative-ai-go v0.15.1 merges a stream keeping the FIRST chunk's
		// usageMetadata, so the output count it reports is that of the first
		// chunk only: keep the prompt count, estimate the output.
		u.OutputTokens, u.Estimated = investigate.EstimateTokens(sb.String()), true
	}
	a.stats.inputTokens.Add(int64(u.InputTokens))
	a.stats.outputTokens.Add(int64(u.OutputTokens))
	return sb.String(), u, nil
}

// usageOf reads the token usage langchaingo reports per provider
// (openai, ollama, gemini: PromptTokens/CompletionTokens; anthropic:
// InputTokens/OutputTokens; bedrock: input_tokens/output_tokens), else
// estimates it at 4 characters per token.
func usageOf(resp *llms.ContentResponse, promptChars, answerChars int) investigate.Usage {
	if resp != nil && len(resp.Choices) > 0 {
		gi := resp.Choices[0].GenerationInfo
		in := firstInt(gi, "PromptTokens", "InputTokens", "input_tokens")
		out := firstInt(gi, "CompletionTokens", "OutputTokens", "output_tokens")
		if in > 0 || out > 0 {
			return investigate.Usage{InputTokens: in, OutputTokens: out}
		}
	}
	return investigate.Usage{InputTokens: (promptChars + 3) / 4, OutputTokens: (answerChars + 3) / 4, Estimated: true}
}

func firstInt(m map[string]any, keys ...string) int {
	for _, k := range keys {
		switch v := m[k].(type) {
		case int:
			return v
		case int32:
			return int(v)
		case int64:
			return int(v)
		case float64:
			return int(v)
		}
	}
	return 0
}

// callError is a failed model call: its message is redacted (provider
// errors may echo keys or prompt text), the original error stays
// reachable through errors.Is/As.
type callError struct {
	msg string
	err error
}

func (e *callError) Error() string { return e.msg }
func (e *callError) Unwrap() error { return e.err }
