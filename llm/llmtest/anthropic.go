package llmtest

import (
	"encoding/json"
	"fmt"
	"net/http"
	"strings"
)

// NewAnthropic returns a fake of Anthropic's Messages API: POST
// /v1/messages, streamed as SSE ("event: <type>" then "data: <json>", with
// usage.input_tokens in message_start and usage.output_tokens in
// message_delta, ending with message_stop), or one JSON message when
// "stream" is false. Credentials come in x-api-key.
func NewAnthropic(o Options) *Fake { return newFake("anthropic", o, serveAnthropic) }

// anthropicText is a content or system field: a string or text blocks.
type anthropicText string

func (c *anthropicText) UnmarshalJSON(b []byte) error {
	var s string
	if err := json.Unmarshal(b, &s); err == nil {
		*c = anthropicText(s)
		return nil
	}
	var blocks []struct {
		Text string `json:"text"`
	}
	if err := json.Unmarshal(b, &blocks); err != nil {
		return err
	}
	var sb strings.Builder
	for _, p := range blocks {
		sb.WriteString(p.Text)
	}
	*c = anthropicText(sb.String())
	return nil
}

type anthropicRequest struct {
	Model     string        `json:"model"`
	Stream    bool          `json:"stream"`
	System    anthropicText `json:"system"`
	MaxTokens int           `json:"max_tokens"`
	Messages  []struct {
		Role    string        `json:"role"`
		Content anthropicText `json:"content"`
	} `json:"messages"`
}

func (a anthropicRequest) user() string {
	var sb strings.Builder
	for _, m := range a.Messages {
		if m.Role == "user" {
			sb.WriteString(string(m.Content))
		}
	}
	return sb.String()
}

const anthropicError = `{"type":"error","error":{"type":"api_error","message":"fake failure %d"}}`

func serveAnthropic(f *Fake, w http.ResponseWriter, r *http.Request) {
	body, ok := readBody(f, w, r)
	if !ok {
		return
	}
	if r.Method != http.MethodPost || r.URL.Path != "/v1/messages" {
		http.Error(w, anthropicError, http.StatusNotFound)
		return
	}
	var req anthropicRequest
	if err := json.Unmarshal(body, &req); err != nil {
		f.problem("messages: decode request: %v", err)
		http.Error(w, anthropicError, http.StatusBadRequest)
		return
	}
	if r.Header.Get("anthropic-version") == "" {
		f.problem("messages: no anthropic-version header")
	}
	if req.MaxTokens <= 0 {
		f.problem("messages: max_tokens is required")
	}
	f.record(Request{Path: r.URL.Path, Model: req.Model, System: string(req.System), User: req.user(),
		Auth: r.Header.Get("x-api-key"), Stream: req.Stream, Body: string(body)})
	x, failing := f.nextFailure()
	if failing && f.fail(w, r, x, anthropicError) {
		return
	}
	if !req.Stream {
		writeJSON(w, map[string]any{"id": "msg_fake", "type": "message", "role": "assistant", "model": req.Model,
			"content":     []any{map[string]string{"type": "text", "text": f.Answer()}},
			"stop_reason": "end_turn", "usage": map[string]int{"input_tokens": f.opts.InputTokens, "output_tokens": f.opts.OutputTokens}})
		return
	}
	w.Header().Set("Content-Type", "text/event-stream")
	WriteAnthropicEvents(func(typ string, data []byte) {
		fmt.Fprintf(w, "event: %s\ndata: %s\n\n", typ, data)
		flush(w)
	}, req.Model, f.opts, failing && x.Malformed)
}

// WriteAnthropicEvents produces the Messages stream events of a canned
// answer (also used inside the Bedrock fake). A malformed stream breaks its
// second text delta and stops without message_stop.
func WriteAnthropicEvents(write func(typ string, data []byte), model string, o Options, malformed bool) {
	ev := func(v map[string]any) {
		b, _ := json.Marshal(v)
		write(v["type"].(string), b)
	}
	ev(map[string]any{"type": "message_start", "message": map[string]any{"id": "msg_fake", "type": "message",
		"role": "assistant", "content": []any{}, "model": model, "stop_reason": nil, "stop_sequence": nil,
		"usage": map[string]int{"input_tokens": o.InputTokens, "output_tokens": 1}}})
	ev(map[string]any{"type": "content_block_start", "index": 0, "content_block": map[string]string{"type": "text", "text": ""}})
	ev(map[string]any{"type": "ping"})
	for i, c := range o.Chunks {
		if malformed && i == 1 {
			write("content_block_delta", []byte(`{"type":"content_block_delta","index":0,"delta":{"type":"text_delta","text":`))
			return
		}
		ev(map[string]any{"type": "content_block_delta", "index": 0, "delta": map[string]string{"type": "text_delta", "text": c}})
	}
	ev(map[string]any{"type": "content_block_stop", "index": 0})
	ev(map[string]any{"type": "message_delta", "delta": map[string]any{"stop_reason": "end_turn", "stop_sequence": nil},
		"usage": map[string]int{"output_tokens": o.OutputTokens}})
	ev(map[string]any{"type": "message_stop"})
}
