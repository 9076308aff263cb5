package llmtest

import (
	"encoding/json"
	"fmt"
	"net/http"
	"strings"
)

// NewGemini returns a fake of the Gemini API (generativelanguage v1beta, as
// the REST client of google/generative-ai-go calls it):
// POST /v1beta/models/{model}:streamGenerateContent answers one JSON array
// of GenerateContentResponse objects, streamed element by element;
// :generateContent answers one object; :batchEmbedContents embeds.
// Credentials come in x-goog-api-key (or ?key=).
func NewGemini(o Options) *Fake { return newFake("gemini", o, serveGemini) }

type geminiContent struct {
	Role  string `json:"role"`
	Parts []struct {
		Text string `json:"text"`
	} `json:"parts"`
}

func (c geminiContent) text() string {
	var sb strings.Builder
	for _, p := range c.Parts {
		sb.WriteString(p.Text)
	}
	return sb.String()
}

const geminiError = `{"error":{"code":%d,"message":"fake failure","status":"UNAVAILABLE"}}`

func serveGemini(f *Fake, w http.ResponseWriter, r *http.Request) {
	body, ok := readBody(f, w, r)
	if !ok {
		return
	}
	auth := r.Header.Get("x-goog-api-key")
	if auth == "" {
		auth = r.URL.Query().Get("key")
	}
	path, method, _ := strings.Cut(r.URL.Path, ":")
	model := strings.TrimPrefix(path, "/v1beta/")
	if r.Method != http.MethodPost || !strings.HasPrefix(path, "/v1beta/models/") {
		http.Error(w, fmt.Sprintf(geminiError, 404), http.StatusNotFound)
		return
	}
	if method == "batchEmbedContents" {
		var req struct {
			Requests []struct {
				Content geminiContent `json:"content"`
			} `json:"requests"`
		}
		if err := json.Unmarshal(body, &req); err != nil {
			f.problem("embed: decode request: %v", err)
		}
		rec := Request{Path: r.URL.Path, Model: strings.TrimPrefix(model, "models/"), Auth: auth, Body: string(body)}
		for _, q := range req.Requests {
			rec.Inputs = append(rec.Inputs, q.Content.text())
		}
		f.record(rec)
		if x, ok := f.nextFailure(); ok && f.fail(w, r, x, geminiError) {
			return
		}
		embs := make([]any, len(rec.Inputs))
		for i, t := range rec.Inputs {
			embs[i] = map[string]any{"values": f.opts.Embedding(t)}
		}
		writeJSON(w, map[string]any{"embeddings": embs})
		return
	}
	var req struct {
		Contents          []geminiContent `json:"contents"`
		SystemInstruction *geminiContent  `json:"systemInstruction"`
	}
	if err := json.Unmarshal(body, &req); err != nil {
		f.problem("generate: decode request: %v", err)
		http.Error(w, fmt.Sprintf(geminiError, 400), http.StatusBadRequest)
		return
	}
	rec := Request{Path: r.URL.Path, Model: strings.TrimPrefix(model, "models/"), Auth: auth,
		Stream: method == "streamGenerateContent", Body: string(body)}
	if req.SystemInstruction != nil {
		rec.System = req.SystemInstruction.text()
	}
	for _, c := range req.Contents {
		if c.Role == "user" || c.Role == "" {
			rec.User += c.text()
		}
	}
	f.record(rec)
	x, failing := f.nextFailure()
	if failing && f.fail(w, r, x, geminiError) {
		return
	}
	// Like the real API, every chunk reports usage: the prompt's count and
	// the candidates' count so far.
	resp := func(text string, i, n int) map[string]any {
		last := i == n-1
		cand := map[string]any{"content": map[string]any{"role": "model", "parts": []any{map[string]string{"text": text}}}, "index": 0}
		if last {
			cand["finishReason"] = 1 // STOP
		}
		m := map[string]any{"candidates": []any{cand}, "modelVersion": rec.Model}
		if !f.opts.NoUsage {
			out := f.opts.OutputTokens * (i + 1) / n
			m["usageMetadata"] = map[string]int{"promptTokenCount": f.opts.InputTokens,
				"candidatesTokenCount": out, "totalTokenCount": f.opts.InputTokens + out}
		}
		return m
	}
	if method == "generateContent" {
		writeJSON(w, resp(f.Answer(), 0, 1))
		return
	}
	w.Header().Set("Content-Type", "application/json; charset=UTF-8")
	fmt.Fprint(w, "[")
	for i, c := range f.opts.Chunks {
		if i > 0 {
			fmt.Fprint(w, ",\r\n")
		}
		if failing && x.Malformed && i == 1 {
			fmt.Fprint(w, `{"candidates": [{"content": {"parts": [{"text": `)
			flush(w)
			return
		}
		b, _ := json.Marshal(resp(c, i, len(f.opts.Chunks)))
		w.Write(b)
		flush(w)
	}
	fmt.Fprint(w, "]")
	flush(w)
}
