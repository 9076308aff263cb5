package doctor

import (
	"context"
	"fmt"
)

// Model checks that the configured model answers a one-token request
// (ping); describe names it ("openai/gpt-4o-mini at http://…"). A nil
// ping means the built-in analyser, which needs no model.
func Model(describe string, ping func(ctx context.Context) error) Check {
	return Check{Name: "model: answers", Run: func(ctx context.Context) Result {
		if ping == nil {
			return OK("built-in analyser (llm.provider builtin): no model to reach")
		}
		if err := ping(ctx); err != nil {
			return Failed("check llm.base_url (K8FLEX_LLM_BASE_URL), llm.model, and the API key (llm.api_key or llm.api_key_file); "+
				"the model server must be reachable from here", "%s: %v", describe, err)
		}
		return OK("%s answered a one-token request", describe)
	}}
}

// Embeddings checks that the embedder answers and that its vectors have
// the configured dimension; probe embeds one short text and returns the
// length of the vector it got.
func Embeddings(describe string, dims int, probe func(ctx context.Context) (int, error)) Check {
	return Check{Name: "embedder: dimension", Run: func(ctx context.Context) Result {
		got, err := probe(ctx)
		if err != nil {
			return Failed("check embedder.base_url, embedder.model and the embedder's API key; the server must be reachable from here",
				"%s: %v", describe, err)
		}
		if got != dims {
			return Failed(fmt.Sprintf("set embedder.dimensions (K8FLEX_EMBEDDER_DIMENSIONS) to %d, the model's dimension, "+
				"then run 'k8flex kb reembed' if the knowledge base holds embeddings of the old one", got),
				"%s returns %d dimensions, embedder.dimensions is %d", describe, got, dims)
		}
		return OK("%s returns %d dimensions, as configured", describe, dims)
	}}
}
