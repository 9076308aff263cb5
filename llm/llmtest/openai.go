package llmtest

import (
	"encoding/json"
	"fmt"
	"net/http"
	"strings"
	"time"
)

// NewOpenAI returns a fake of the OpenAI API as OpenAI-compatible servers
// serve it: POST /v1/chat/completions (SSE when "stream" is true: "data: "
// events, a usage chunk when stream_options.include_usage, "data: [DONE]")
// and POST /v1/embeddings. Point a client at Start's URL + "/v1".
func NewOpenAI(o Options) *Fake { return newFake("openai", o, serveOpenAI) }

// openAIContent is a message content: a string or a list of parts.
type openAIContent string

func (c *openAIContent) UnmarshalJSON(b []byte) error {
	var s string
	if err := json.Unmarshal(b, &s); err == nil {
		*c = openAIContent(s)
		return nil
	}
	var parts []struct {
		Type string `json:"type"`
		Text string `json:"text"`
	}
	if err := json.Unmarshal(b, &parts); err != nil {
		return err
	}
	var sb strings.Builder
	for _, p := range parts {
		sb.WriteString(p.Text)
	}
	*c = openAIContent(sb.String())
	return nil
}

func serveOpenAI(f *Fake, w http.ResponseWriter, r *http.Request) {
	body, ok := readBody(f, w, r)
	if !ok {
		return
	}
	auth := strings.TrimPrefix(r.Header.Get("Authorization"), "Bearer ")
	switch {
	case r.Method == http.MethodPost && strings.HasSuffix(r.URL.Path, "/v1/embeddings"):
		var req struct {
			Model string   `json:"model"`
			Input []string `json:"input"`
		}
		if err := json.Unmarshal(body, &req); err != nil {
			f.problem("embeddings: decode request: %v", err)
			http.Error(w, `{"error":{"message":"bad request"}}`, http.StatusBadRequest)
			return
		}
		f.record(Request{Path: r.URL.Path, Model: req.Model, Auth: auth, Body: string(body), Inputs: req.Input})
		if x, ok := f.nextFailure(); ok && f.fail(w, r, x, openAIError) {
			return
		}
		type item struct {
			Object    string    `json:"object"`
			Embedding []float32 `json:"embedding"`
			Index     int       `json:"index"`
		}
		data := make([]item, len(req.Input))
		for i, t := range req.Input {
			data[i] = item{Object: "embedding", Embedding: f.opts.Embedding(t), Index: i}
		}
		writeJSON(w, map[string]any{"object": "list", "data": data, "model": req.Model,
			"usage": map[string]int{"prompt_tokens": len(req.Input) * 8, "total_tokens": len(req.Input) * 8}})
	case r.Method == http.MethodPost && strings.HasSuffix(r.URL.Path, "/v1/chat/completions"):
		var req struct {
			Model    string `json:"model"`
			Stream   bool   `json:"stream"`
			Messages []struct {
				Role    string        `json:"role"`
				Content openAIContent `json:"content"`
			} `json:"messages"`
			StreamOptions *struct {
				IncludeUsage bool `json:"include_usage"`
			} `json:"stream_options"`
		}
		if err := json.Unmarshal(body, &req); err != nil {
			f.problem("chat: decode request: %v", err)
			http.Error(w, `{"error":{"message":"bad request"}}`, http.StatusBadRequest)
			return
		}
		rec := Request{Path: r.URL.Path, Model: req.Model, Auth: auth, Stream: req.Stream, Body: string(body)}
		for _, m := range req.Messages {
			switch m.Role {
			case "system":
				rec.System += string(m.Content)
			case "user":
				rec.User += string(m.Content)
			}
		}
		f.record(rec)
		x, failing := f.nextFailure()
		if failing && f.fail(w, r, x, openAIError) {
			return
		}
		usage := map[string]int{"prompt_tokens": f.opts.InputTokens, "completion_tokens": f.opts.OutputTokens,
			"total_tokens": f.opts.InputTokens + f.opts.OutputTokens}
		if !req.Stream {
			resp := map[string]any{"id": "chatcmpl-fake", "object": "chat.completion", "created": time.Now().Unix(),
				"model": req.Model, "choices": []any{map[string]any{"index": 0, "finish_reason": "stop",
					"message": map[string]string{"role": "assistant", "content": f.Answer()}}}}
			if !f.opts.NoUsage {
				resp["usage"] = usage
			}
			writeJSON(w, resp)
			return
		}
		w.Header().Set("Content-Type", "text/event-stream")
		w.Header().Set("Cache-Control", "no-cache")
		chunk := func(delta map[string]any, finish any) string {
			b, _ := json.Marshal(map[string]any{"id": "chatcmpl-fake", "object": "chat.completion.chunk",
				"created": 1700000000, "model": req.Model,
				"choices": []any{map[string]any{"index": 0, "delta": delta, "finish_reason": finish}}})
			return string(b)
		}
		fmt.Fprintf(w, "data: %s\n\n", chunk(map[string]any{"role": "assistant", "content": ""}, nil))
		flush(w)
		for i, c := range f.opts.Chunks {
			if failing && x.Malformed && i == 1 {
				fmt.Fprint(w, "data: {\"id\":\"chatcmpl-fake\",\"choices\":[{\"delta\":{\"content\":\n\n")
				flush(w)
				return
			}
			fmt.Fprintf(w, "data: %s\n\n", chunk(map[string]any{"content": c}, nil))
			flush(w)
		}
		fmt.Fprintf(w, "data: %s\n\n", chunk(map[string]any{}, "stop"))
		if req.StreamOptions != nil && req.StreamOptions.IncludeUsage && !f.opts.NoUsage {
			b, _ := json.Marshal(map[string]any{"id": "chatcmpl-fake", "object": "chat.completion.chunk",
				"created": 1700000000, "model": req.Model, "choices": []any{}, "usage": usage})
			fmt.Fprintf(w, "data: %s\n\n", b)
		}
		fmt.Fprint(w, "data: [DONE]\n\n")
		flush(w)
	default:
		http.Error(w, `{"error":{"message":"not found"}}`, http.StatusNotFound)
	}
}

const openAIError = `{"error":{"message":"fake failure %d","type":"server_error","code":null}}`
