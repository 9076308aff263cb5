package llmtest

import (
	"bytes"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"net/http"
	"net/url"
	"strings"

	"github.com/aws/aws-sdk-go-v2/aws/protocol/eventstream"
)

// NewBedrock returns a fake of the Bedrock runtime as langchaingo's bedrock
// client calls it: POST /model/{modelId}/invoke-with-response-stream for
// Anthropic models (an application/vnd.amazon.eventstream of "chunk" events
// whose payload {"bytes": base64} holds Anthropic Messages events), and
// POST /model/{modelId}/invoke for Amazon Titan embeddings
// ({"inputText"} → {"embedding"}). The credential checked is the SigV4
// access key id.
func NewBedrock(o Options) *Fake { return newFake("bedrock", o, serveBedrock) }

const bedrockError = `{"message":"fake failure %d"}`

func serveBedrock(f *Fake, w http.ResponseWriter, r *http.Request) {
	body, ok := readBody(f, w, r)
	if !ok {
		return
	}
	rest, found := strings.CutPrefix(r.URL.EscapedPath(), "/model/")
	escModel, op, _ := strings.Cut(rest, "/")
	model, err := url.PathUnescape(escModel)
	if r.Method != http.MethodPost || !found || err != nil {
		http.Error(w, fmt.Sprintf(bedrockError, 404), http.StatusNotFound)
		return
	}
	auth := r.Header.Get("Authorization")
	if _, cred, ok := strings.Cut(auth, "Credential="); ok {
		auth, _, _ = strings.Cut(cred, "/")
	} else {
		f.problem("%s: request is not SigV4-signed", r.URL.Path)
	}
	failStatus := func(x Failure) bool {
		if x.Status == http.StatusTooManyRequests {
			w.Header().Set("X-Amzn-ErrorType", "ThrottlingException")
		} else if x.Status >= 500 {
			w.Header().Set("X-Amzn-ErrorType", "InternalServerException")
		}
		return f.fail(w, r, x, bedrockError)
	}
	switch op {
	case "invoke":
		var req struct {
			InputText string `json:"inputText"`
		}
		if err := json.Unmarshal(body, &req); err != nil || req.InputText == "" {
			f.problem("invoke: only Titan embedding requests are faked (got %.100s)", body)
			http.Error(w, fmt.Sprintf(bedrockError, 400), http.StatusBadRequest)
			return
		}
		f.record(Request{Path: r.URL.Path, Model: model, Auth: auth, Body: string(body), Inputs: []string{req.InputText}})
		if x, ok := f.nextFailure(); ok && failStatus(x) {
			return
		}
		writeJSON(w, map[string]any{"embedding": f.opts.Embedding(req.InputText), "inputTextTokenCount": 8})
	case "invoke-with-response-stream":
		var req anthropicRequest
		if err := json.Unmarshal(body, &req); err != nil {
			f.problem("stream: decode request: %v", err)
			http.Error(w, fmt.Sprintf(bedrockError, 400), http.StatusBadRequest)
			return
		}
		f.record(Request{Path: r.URL.Path, Model: model, System: string(req.System), User: req.user(),
			Auth: auth, Stream: true, Body: string(body)})
		x, failing := f.nextFailure()
		if failing && failStatus(x) {
			return
		}
		w.Header().Set("Content-Type", "application/vnd.amazon.eventstream")
		w.Header().Set("X-Amzn-Bedrock-Content-Type", "application/json")
		enc := eventstream.NewEncoder()
		broken := false
		WriteAnthropicEvents(func(_ string, data []byte) {
			if broken {
				return
			}
			if !json.Valid(data) {
				// A frame whose checksum does not match its bytes.
				var buf bytes.Buffer
				_ = enc.Encode(&buf, chunkMessage(data))
				b := buf.Bytes()
				b[len(b)-1] ^= 0xff
				w.Write(b)
				flush(w)
				broken = true
				return
			}
			if err := enc.Encode(w, chunkMessage(data)); err != nil {
				f.problem("stream: encode: %v", err)
			}
			flush(w)
		}, model, f.opts, failing && x.Malformed)
	default:
		http.Error(w, fmt.Sprintf(bedrockError, 404), http.StatusNotFound)
	}
}

func chunkMessage(event []byte) eventstream.Message {
	payload, _ := json.Marshal(map[string]string{"bytes": base64.StdEncoding.EncodeToString(event)})
	return eventstream.Message{
		Headers: eventstream.Headers{
			{Name: ":event-type", Value: eventstream.StringValue("chunk")},
			{Name: ":content-type", Value: eventstream.StringValue("application/json")},
			{Name: ":message-type", Value: eventstream.StringValue("event")},
		},
		Payload: payload,
	}
}
