package llmtest

import (
	"encoding/json"
	"fmt"
	"net/http"
	"time"
)

// NewOllama returns a fake Ollama server: POST /api/chat (NDJSON lines,
// application/x-ndjson, the last with "done": true and prompt_eval_count /
// eval_count; one JSON object when "stream" is false) and POST /api/embed.
func NewOllama(o Options) *Fake { return newFake("ollama", o, serveOllama) }

func serveOllama(f *Fake, w http.ResponseWriter, r *http.Request) {
	body, ok := readBody(f, w, r)
	if !ok {
		return
	}
	switch {
	case r.Method == http.MethodPost && r.URL.Path == "/api/embed":
		var req struct {
			Model string          `json:"model"`
			Input json.RawMessage `json:"input"`
		}
		if err := json.Unmarshal(body, &req); err != nil {
			f.problem("embed: decode request: %v", err)
			http.Error(w, `{"error":"bad request"}`, http.StatusBadRequest)
			return
		}
		var inputs []string
		if err := json.Unmarshal(req.Input, &inputs); err != nil {
			var one string
			if err := json.Unmarshal(req.Input, &one); err != nil {
				f.problem("embed: input is neither a string nor a list")
			}
			inputs = []string{one}
		}
		f.record(Request{Path: r.URL.Path, Model: req.Model, Body: string(body), Inputs: inputs})
		if x, ok := f.nextFailure(); ok && f.fail(w, r, x, `{"error":"fake failure %d"}`) {
			return
		}
		vecs := make([][]float32, len(inputs))
		for i, t := range inputs {
			vecs[i] = f.opts.Embedding(t)
		}
		writeJSON(w, map[string]any{"model": req.Model, "embeddings": vecs})
	case r.Method == http.MethodPost && r.URL.Path == "/api/chat":
		var req struct {
			Model    string `json:"model"`
			Stream   bool   `json:"stream"`
			Messages []struct {
				Role    string `json:"role"`
				Content string `json:"content"`
			} `json:"messages"`
		}
		if err := json.Unmarshal(body, &req); err != nil {
			f.problem("chat: decode request: %v", err)
			http.Error(w, `{"error":"bad request"}`, http.StatusBadRequest)
			return
		}
		rec := Request{Path: r.URL.Path, Model: req.Model, Stream: req.Stream, Body: string(body)}
		for _, m := range req.Messages {
			switch m.Role {
			case "system":
				rec.System += m.Content
			case "user":
				rec.User += m.Content
			}
		}
		f.record(rec)
		x, failing := f.nextFailure()
		if failing && f.fail(w, r, x, `{"error":"fake failure %d"}`) {
			return
		}
		now := time.Now().UTC().Format(time.RFC3339Nano)
		final := map[string]any{"model": req.Model, "created_at": now,
			"message": map[string]string{"role": "assistant", "content": ""}, "done": true, "done_reason": "stop",
			"total_duration": 1000000, "load_duration": 1000}
		if !f.opts.NoUsage {
			final["prompt_eval_count"] = f.opts.InputTokens
			final["eval_count"] = f.opts.OutputTokens
		}
		if !req.Stream {
			final["message"] = map[string]string{"role": "assistant", "content": f.Answer()}
			writeJSON(w, final)
			return
		}
		w.Header().Set("Content-Type", "application/x-ndjson")
		enc := json.NewEncoder(w)
		for i, c := range f.opts.Chunks {
			if failing && x.Malformed && i == 1 {
				fmt.Fprint(w, "{\"model\":\"x\",\"message\":{\"role\":\"assistant\",\"content\n")
				flush(w)
				return
			}
			_ = enc.Encode(map[string]any{"model": req.Model, "created_at": now,
				"message": map[string]string{"role": "assistant", "content": c}, "done": false})
			flush(w)
		}
		_ = enc.Encode(final)
		flush(w)
	default:
		http.Error(w, `{"error":"not found"}`, http.StatusNotFound)
	}
}
