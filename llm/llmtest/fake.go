// Package llmtest holds faithful fakes of the model providers K8flex talks
// to (OpenAI and compatible servers, Ollama, Anthropic, Gemini, Bedrock),
// speaking their real wire formats over HTTP. Each fake answers with a
// canned text split into chunks, can inject failures (429 with Retry-After,
// 500, a hang, a malformed stream), and records and checks what it received:
// the model, the system and user messages, the credentials, and that no
// forbidden string (a planted secret) reached it.
package llmtest

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"time"
)

// Failure is one injected failure, consumed by one request.
type Failure struct {
	// Status answers with this HTTP status (e.g. 429, 500) and an error body.
	Status int
	// RetryAfter is sent as the Retry-After header when set (e.g. "1").
	RetryAfter string
	// Hang holds the request open without answering until the client gives up.
	Hang bool
	// Malformed starts a 200 stream whose second event is not valid for the
	// provider's format and which never ends properly.
	Malformed bool
}

// Options configure a fake.
type Options struct {
	// Chunks is the canned answer, streamed one element per event.
	// Default: DefaultAnswer split into lines.
	Chunks []string
	// InputTokens and OutputTokens are the usage the fake reports
	// (defaults 120 and 80); NoUsage reports none.
	InputTokens, OutputTokens int
	NoUsage                   bool
	// Model, when set, is the model every request must name.
	Model string
	// APIKey, when set, is the credential every request must carry
	// (Authorization: Bearer for OpenAI, x-api-key for Anthropic,
	// x-goog-api-key or ?key= for Gemini; for Bedrock the access key id
	// in the SigV4 Authorization header).
	APIKey string
	// Forbidden are strings that must never reach the provider.
	Forbidden []string
	// Embedding returns the vector for one text (default: a small
	// deterministic vector of Dimensions floats).
	Embedding  func(text string) []float32
	Dimensions int
}

// DefaultAnswer is the canned analysis fakes stream when Options.Chunks is
// empty: the five sections K8flex asks for.
const DefaultAnswer = "## Root cause\nThe fake model names the top finding of the evidence as the root cause.\n\n" +
	"## Evidence\n- canned answer from llmtest\n\n## Impact\nThe workload is degraded.\n\n" +
	"## Recommended actions\n1. Follow the findings' actions.\n\n## Prevention\nAdd an alert earlier in the chain.\n"

// Request is what a fake received in one request.
type Request struct {
	Path   string
	Model  string
	System string
	User   string
	// Auth is the credential as the provider's header carries it.
	Auth   string
	Stream bool
	Body   string
	// Inputs are the texts of an embeddings request.
	Inputs []string
}

// Fake is one fake provider; it is an http.Handler. Start it with Start
// (tests) or Serve (a command).
type Fake struct {
	kind string
	opts Options
	// decode extracts model/messages/auth from a request.
	serve func(f *Fake, w http.ResponseWriter, r *http.Request)

	mu       sync.Mutex
	failures []Failure
	requests []Request
	problems []string
}

func newFake(kind string, o Options, serve func(*Fake, http.ResponseWriter, *http.Request)) *Fake {
	if len(o.Chunks) == 0 {
		o.Chunks = SplitChunks(DefaultAnswer)
	}
	if o.InputTokens == 0 {
		o.InputTokens = 120
	}
	if o.OutputTokens == 0 {
		o.OutputTokens = 80
	}
	if o.Dimensions == 0 {
		o.Dimensions = 8
	}
	if o.Embedding == nil {
		dims := o.Dimensions
		o.Embedding = func(text string) []float32 { return hashVector(text, dims) }
	}
	return &Fake{kind: kind, opts: o, serve: serve}
}

// SplitChunks splits s after every newline and space-run of about 16
// bytes, the way models stream: the chunks concatenate to s.
func SplitChunks(s string) []string {
	var out []string
	for len(s) > 0 {
		n := min(len(s), 16)
		if i := strings.IndexAny(s[:n], "\n"); i >= 0 {
			n = i + 1
		}
		out = append(out, s[:n])
		s = s[n:]
	}
	return out
}

// Answer returns the concatenated canned answer.
func (f *Fake) Answer() string { return strings.Join(f.opts.Chunks, "") }

// FailNext queues failures: each is consumed by one later request.
func (f *Fake) FailNext(fs ...Failure) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.failures = append(f.failures, fs...)
}

// Requests returns what the fake received, in order.
func (f *Fake) Requests() []Request {
	f.mu.Lock()
	defer f.mu.Unlock()
	return append([]Request(nil), f.requests...)
}

// Problems returns every check that failed: wrong model, wrong or missing
// credentials, a forbidden string in a request, an unparsable request.
func (f *Fake) Problems() []string {
	f.mu.Lock()
	defer f.mu.Unlock()
	return append([]string(nil), f.problems...)
}

func (f *Fake) problem(format string, args ...any) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.problems = append(f.problems, fmt.Sprintf(f.kind+": "+format, args...))
}

// record stores req and checks it against the options.
func (f *Fake) record(req Request) {
	if f.opts.Model != "" && req.Model != f.opts.Model {
		f.problem("%s: model %q, want %q", req.Path, req.Model, f.opts.Model)
	}
	if f.opts.APIKey != "" && req.Auth != f.opts.APIKey {
		f.problem("%s: credential %q, want the configured key", req.Path, req.Auth)
	}
	for _, s := range f.opts.Forbidden {
		if s != "" && strings.Contains(req.Body, s) {
			f.problem("%s: forbidden string %q reached the provider", req.Path, s)
		}
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	f.requests = append(f.requests, req)
}

// nextFailure pops the next queued failure.
func (f *Fake) nextFailure() (Failure, bool) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if len(f.failures) == 0 {
		return Failure{}, false
	}
	x := f.failures[0]
	f.failures = f.failures[1:]
	return x, true
}

// ServeHTTP implements http.Handler.
func (f *Fake) ServeHTTP(w http.ResponseWriter, r *http.Request) { f.serve(f, w, r) }

// fail applies a status or hang failure; it reports whether it answered.
// Malformed failures are left to the provider's stream writer.
func (f *Fake) fail(w http.ResponseWriter, r *http.Request, x Failure, errBody string) bool {
	switch {
	case x.Hang:
		select {
		case <-r.Context().Done():
		case <-time.After(time.Minute):
		}
		return true
	case x.Status != 0:
		if x.RetryAfter != "" {
			w.Header().Set("Retry-After", x.RetryAfter)
		}
		w.Header().Set("Content-Type", "application/json")
		w.WriteHeader(x.Status)
		fmt.Fprint(w, strings.ReplaceAll(errBody, "%d", fmt.Sprint(x.Status)))
		return true
	}
	return false
}

// Start serves the fake on a local port until the test ends; it returns
// the base URL (no path).
func (f *Fake) Start(tb interface {
	Helper()
	Cleanup(func())
}) string {
	tb.Helper()
	s := httptest.NewServer(f)
	tb.Cleanup(s.Close)
	return s.URL
}

// Serve serves the fake on addr (e.g. "127.0.0.1:8090") until ctx is done,
// for commands such as `k8flex eval --llm openai --llm-base-url <fake>`.
// ready, when not nil, receives the base URL once listening.
func (f *Fake) Serve(ctx context.Context, addr string, ready func(baseURL string)) error {
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		return fmt.Errorf("listen on %s: %w", addr, err)
	}
	srv := &http.Server{Handler: f, ReadHeaderTimeout: 10 * time.Second}
	if ready != nil {
		ready("http://" + ln.Addr().String())
	}
	errc := make(chan error, 1)
	go func() { errc <- srv.Serve(ln) }()
	select {
	case <-ctx.Done():
		sctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		_ = srv.Shutdown(sctx)
		return nil
	case err := <-errc:
		if errors.Is(err, http.ErrServerClosed) {
			return nil
		}
		return fmt.Errorf("serve fake %s: %w", f.kind, err)
	}
}

func flush(w http.ResponseWriter) {
	if fl, ok := w.(http.Flusher); ok {
		fl.Flush()
	}
}

// hashVector is a deterministic unit-length-ish vector for a text.
func hashVector(text string, dims int) []float32 {
	v := make([]float32, dims)
	var h uint32 = 2166136261
	for i := 0; i < len(text); i++ {
		h ^= uint32(text[i])
		h *= 16777619
		v[h%uint32(dims)] += 0.1
	}
	return v
}
