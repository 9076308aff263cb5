// Package llm holds K8flex's analysis and embedding adapters: model-backed
// analysers and categorisers (langchaingo: Ollama, OpenAI and compatible,
// Anthropic, Gemini, Bedrock), the built-in analyser that writes the
// five-section analysis from deterministic findings with no model, and the
// built-in local embedder. Each satisfies a port of package investigate.
package llm
