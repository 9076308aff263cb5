package llm

import (
	"context"
	"fmt"
	"net/http"
	"time"

	lcbedrock "github.com/tmc/langchaingo/embeddings/bedrock"
	"github.com/tmc/langchaingo/llms"

	"github.com/k8flex/k8flex/investigate"
	"github.com/k8flex/k8flex/redact"
)

// NewEmbedder returns the embedder cfg names: the built-in LocalEmbedder for
// provider builtin, else a RemoteEmbedder. cfg must be valid.
func NewEmbedder(cfg EmbedderConfig) (investigate.Embedder, error) {
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	if cfg.Provider == ProviderBuiltin || cfg.Provider == "" {
		return NewLocalEmbedder(cfg.dimensions()), nil
	}
	return NewRemoteEmbedder(cfg)
}

type embeddingClient interface {
	CreateEmbedding(ctx context.Context, texts []string) ([][]float32, error)
}

// RemoteEmbedder embeds texts with a provider's embedding model (openai,
// ollama via /api/embed, gemini, bedrock). 429 and 5xx answers are retried.
// It is safe for concurrent use.
type RemoteEmbedder struct {
	cfg    EmbedderConfig
	dims   int
	client embeddingClient
	stats  *counters
}

var _ investigate.Embedder = (*RemoteEmbedder)(nil)

// NewRemoteEmbedder returns the embedder of cfg's provider.
func NewRemoteEmbedder(cfg EmbedderConfig) (*RemoteEmbedder, error) {
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	key, err := cfg.Key()
	if err != nil {
		return nil, err
	}
	st := &counters{}
	rt := &retryTransport{
		next:       http.DefaultTransport.(*http.Transport).Clone(),
		maxRetries: 3,
		baseDelay:  500 * time.Millisecond,
		maxDelay:   10 * time.Second,
		stats:      st,
	}
	dims := cfg.dimensions()
	var client embeddingClient
	switch cfg.Provider {
	case ProviderBedrock:
		client, err = newBedrockEmbedder(cfg, rt)
	default:
		var m llms.Model
		m, err = newModel(context.Background(), cfg.Provider, cfg.Model, cfg.BaseURL, key, cfg.Region, rt,
			modelOpts{embeddingModel: cfg.Model, dimensions: dims})
		if err == nil {
			c, ok := m.(embeddingClient)
			if !ok {
				return nil, fmt.Errorf("embedder.provider %s: the client has no embeddings", cfg.Provider)
			}
			client = c
		}
	}
	if err != nil {
		return nil, fmt.Errorf("embedder.provider %s: %w", cfg.Provider, err)
	}
	return &RemoteEmbedder{cfg: cfg, dims: dims, client: client, stats: st}, nil
}

// Dimensions returns the vector size (embedder.dimensions, or the known size
// of the model).
func (e *RemoteEmbedder) Dimensions() int { return e.dims }

// Embed returns one vector per text, in order. A vector of another size
// than Dimensions() is an error naming embedder.dimensions.
func (e *RemoteEmbedder) Embed(ctx context.Context, texts []string) ([][]float32, error) {
	if len(texts) == 0 {
		return nil, nil
	}
	timeout := e.cfg.Timeout
	if timeout <= 0 {
		timeout = 30 * time.Second
	}
	ctx, cancel := context.WithTimeoutCause(ctx, timeout,
		fmt.Errorf("%w: embedder %s/%s gave no answer within %s", ErrTimeout, e.cfg.Provider, e.cfg.Model, timeout))
	defer cancel()
	e.stats.calls.Add(1)
	vecs, err := e.client.CreateEmbedding(ctx, texts)
	if err != nil {
		e.stats.failures.Add(1)
		if ctx.Err() != nil {
			err = context.Cause(ctx)
		}
		return nil, &callError{msg: redact.String(fmt.Sprintf("embed with %s/%s: %v", e.cfg.Provider, e.cfg.Model, err)), err: err}
	}
	if len(vecs) != len(texts) {
		e.stats.failures.Add(1)
		return nil, fmt.Errorf("embed with %s/%s: %d vectors for %d texts", e.cfg.Provider, e.cfg.Model, len(vecs), len(texts))
	}
	for i, v := range vecs {
		if len(v) != e.dims {
			e.stats.failures.Add(1)
			return nil, fmt.Errorf("embed with %s/%s: vector %d has %d dimensions, embedder.dimensions is %d",
				e.cfg.Provider, e.cfg.Model, i, len(v), e.dims)
		}
	}
	return vecs, nil
}

// Stats returns the cumulative counts of this embedder's calls.
func (e *RemoteEmbedder) Stats() Stats { return e.stats.snapshot() }

// bedrockEmbedder adapts langchaingo's Bedrock embeddings (Amazon Titan,
// Cohere) to embeddingClient.
type bedrockEmbedder struct{ b *lcbedrock.Bedrock }

func newBedrockEmbedder(cfg EmbedderConfig, rt *retryTransport) (*bedrockEmbedder, error) {
	client, err := newBedrockClient(context.Background(), cfg.BaseURL, cfg.Region, &http.Client{Transport: rt})
	if err != nil {
		return nil, err
	}
	b, err := lcbedrock.NewBedrock(lcbedrock.WithClient(client), lcbedrock.WithModel(cfg.Model))
	if err != nil {
		return nil, err
	}
	return &bedrockEmbedder{b: b}, nil
}

func (e *bedrockEmbedder) CreateEmbedding(ctx context.Context, texts []string) ([][]float32, error) {
	return e.b.EmbedDocuments(ctx, texts)
}
