package llm

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math/rand/v2"
	"net/http"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"
)

// ErrMalformedStream is wrapped by the error of a call whose streamed answer
// broke the provider's wire format (invalid JSON, a stream that ends before
// its end marker).
var ErrMalformedStream = errors.New("malformed stream")

// counters are the live counts behind Stats.
type counters struct {
	calls, failures, timeouts, retries, malformed atomic.Int64
	inputTokens, outputTokens                     atomic.Int64
}

// Stats are cumulative counts of one provider's calls, for metrics.
type Stats struct {
	// Calls counts model calls (analyses and categorisations).
	Calls int64
	// Failures counts calls that returned an error (timeouts included).
	Failures int64
	// Timeouts counts calls that hit llm.timeout.
	Timeouts int64
	// Retries counts HTTP requests repeated after a 429 or 5xx answer.
	Retries int64
	// MalformedStreams counts answers that broke the wire format.
	MalformedStreams int64
	// InputTokens and OutputTokens sum the usage of successful calls.
	InputTokens, OutputTokens int64
}

func (c *counters) snapshot() Stats {
	return Stats{
		Calls: c.calls.Load(), Failures: c.failures.Load(), Timeouts: c.timeouts.Load(),
		Retries: c.retries.Load(), MalformedStreams: c.malformed.Load(),
		InputTokens: c.inputTokens.Load(), OutputTokens: c.outputTokens.Load(),
	}
}

// retryTransport repeats a request answered with 429 or 5xx, honouring
// Retry-After, with exponential backoff and jitter otherwise. It decides
// before any body reaches the caller, so a streamed answer is never
// repeated. Successful streaming answers are wrapped in a checker that turns
// a broken wire format into a read error.
type retryTransport struct {
	next       http.RoundTripper
	maxRetries int
	baseDelay  time.Duration
	maxDelay   time.Duration
	// setHeaders adds provider headers (e.g. gemini's API key); may be nil.
	setHeaders func(h http.Header)
	// check returns a fresh checker for a streamed answer of the given
	// content type, or nil when there is nothing to check (not a stream, or
	// the provider's library detects malformed streams itself).
	check func(contentType string) streamCheck
	stats *counters
}

func (t *retryTransport) RoundTrip(req *http.Request) (*http.Response, error) {
	var body []byte
	if req.Body != nil && req.Body != http.NoBody {
		b, err := io.ReadAll(req.Body)
		_ = req.Body.Close()
		if err != nil {
			return nil, fmt.Errorf("read request body: %w", err)
		}
		body = b
	}
	ctx := req.Context()
	for attempt := 0; ; attempt++ {
		r := req.Clone(ctx)
		if body != nil {
			r.Body = io.NopCloser(bytes.NewReader(body))
			r.GetBody = func() (io.ReadCloser, error) { return io.NopCloser(bytes.NewReader(body)), nil }
			r.ContentLength = int64(len(body))
		}
		if t.setHeaders != nil {
			t.setHeaders(r.Header)
		}
		resp, err := t.next.RoundTrip(r)
		if err != nil {
			return nil, err
		}
		if resp.StatusCode == http.StatusOK && t.check != nil {
			if c := t.check(resp.Header.Get("Content-Type")); c != nil {
				resp.Body = &checkedBody{rc: resp.Body, chk: c, stats: t.stats, state: streamStateOf(ctx)}
			}
			return resp, nil
		}
		if !retryable(resp.StatusCode) || attempt >= t.maxRetries {
			return resp, nil
		}
		delay, ok := retryAfter(resp.Header.Get("Retry-After"), time.Now())
		if !ok {
			delay = t.backoff(attempt)
		}
		if dl, has := ctx.Deadline(); has && time.Until(dl) < delay {
			// The wait would outlast the call: give the answer back now.
			return resp, nil
		}
		_, _ = io.Copy(io.Discard, io.LimitReader(resp.Body, 64<<10))
		_ = resp.Body.Close()
		t.stats.retries.Add(1)
		timer := time.NewTimer(delay)
		select {
		case <-ctx.Done():
			timer.Stop()
			return nil, context.Cause(ctx)
		case <-timer.C:
		}
	}
}

func retryable(status int) bool {
	return status == http.StatusTooManyRequests || status >= 500 && status != http.StatusNotImplemented
}

// backoff returns the wait before retry attempt+1: base·2^attempt capped at
// maxDelay, with "equal jitter" (half fixed, half random).
func (t *retryTransport) backoff(attempt int) time.Duration {
	d := t.baseDelay << min(attempt, 16)
	if d <= 0 || d > t.maxDelay {
		d = t.maxDelay
	}
	return d/2 + rand.N(d/2+1)
}

// retryAfter parses a Retry-After value: delta seconds or an HTTP date.
func retryAfter(v string, now time.Time) (time.Duration, bool) {
	if v == "" {
		return 0, false
	}
	if s, err := strconv.Atoi(v); err == nil && s >= 0 {
		return time.Duration(s) * time.Second, true
	}
	if at, err := http.ParseTime(v); err == nil {
		return max(at.Sub(now), 0), true
	}
	return 0, false
}

// streamCheck validates a streamed answer line by line.
type streamCheck interface {
	// line checks one line (without its newline); an error ends the stream.
	line(l []byte) error
	// complete reports whether the end marker was seen.
	complete() bool
}

// checkedBody passes a response body through a streamCheck. It hands the
// caller only complete, validated lines, so a broken line never reaches the
// provider's parser: the caller sees a read error wrapping
// ErrMalformedStream instead. The error is also stored in the call's
// streamState, because some clients (ollama) ignore read errors.
type checkedBody struct {
	rc      io.ReadCloser
	chk     streamCheck
	pending []byte // read, not yet a complete line
	out     []byte // validated, not yet handed out
	buf     []byte
	err     error // after out is drained
	state   *streamState
	stats   *counters
}

func (b *checkedBody) Read(p []byte) (int, error) {
	for len(b.out) == 0 && b.err == nil {
		if b.buf == nil {
			b.buf = make([]byte, 16<<10)
		}
		n, err := b.rc.Read(b.buf)
		b.pending = append(b.pending, b.buf[:n]...)
		for {
			i := bytes.IndexByte(b.pending, '\n')
			if i < 0 {
				break
			}
			if cerr := b.chk.line(bytes.TrimRight(b.pending[:i], "\r")); cerr != nil {
				b.fail(cerr)
				break
			}
			b.out = append(b.out, b.pending[:i+1]...)
			b.pending = b.pending[i+1:]
		}
		switch {
		case b.err != nil:
		case errors.Is(err, io.EOF):
			if len(bytes.TrimSpace(b.pending)) > 0 {
				if cerr := b.chk.line(b.pending); cerr != nil {
					b.fail(cerr)
					break
				}
				b.out = append(b.out, b.pending...)
				b.pending = nil
			}
			if !b.chk.complete() {
				b.fail(errors.New("the stream ended before its end marker"))
				break
			}
			b.err = io.EOF
		case err != nil:
			b.err = err
		}
	}
	n := copy(p, b.out)
	b.out = b.out[n:]
	if len(b.out) == 0 && b.err != nil {
		return n, b.err
	}
	return n, nil
}

func (b *checkedBody) fail(err error) {
	b.err = fmt.Errorf("%w: %w", ErrMalformedStream, err)
	b.stats.malformed.Add(1)
	b.state.set(b.err)
}

func (b *checkedBody) Close() error { return b.rc.Close() }

// streamState carries a stream failure from the transport back to the call
// that made the request, through the request's context.
type streamState struct {
	mu  sync.Mutex
	err error
}

type streamStateKey struct{}

func withStreamState(ctx context.Context) (context.Context, *streamState) {
	s := &streamState{}
	return context.WithValue(ctx, streamStateKey{}, s), s
}

func streamStateOf(ctx context.Context) *streamState {
	s, _ := ctx.Value(streamStateKey{}).(*streamState)
	return s
}

func (s *streamState) set(err error) {
	if s == nil {
		return
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.err == nil {
		s.err = err
	}
}

func (s *streamState) failure() error {
	if s == nil {
		return nil
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.err
}

// sseCheck validates Server-Sent Events whose data lines are JSON; done is
// set by the line that ends the stream.
type sseCheck struct {
	done   bool
	isDone func(data []byte) bool
}

func (c *sseCheck) line(l []byte) error {
	data, ok := bytes.CutPrefix(l, []byte("data:"))
	if !ok {
		return nil // event:, id:, comments and blank lines
	}
	data = bytes.TrimSpace(data)
	if c.isDone(data) {
		c.done = true
		return nil
	}
	if !json.Valid(data) {
		return fmt.Errorf("data line is not JSON: %.80q", data)
	}
	return nil
}

func (c *sseCheck) complete() bool { return c.done }

// openAICheck: an SSE stream ends with "data: [DONE]".
func openAICheck(ct string) streamCheck {
	if !strings.HasPrefix(ct, "text/event-stream") {
		return nil
	}
	return &sseCheck{isDone: func(d []byte) bool { return string(d) == "[DONE]" }}
}

// anthropicCheck: an SSE stream ends with a message_stop event.
func anthropicCheck(ct string) streamCheck {
	if !strings.HasPrefix(ct, "text/event-stream") {
		return nil
	}
	return &sseCheck{isDone: func(d []byte) bool {
		return bytes.Contains(d, []byte(`"message_stop"`)) && json.Valid(d)
	}}
}

// ndjsonCheck validates Ollama's NDJSON: every line is a JSON object and the
// last one has "done": true.
type ndjsonCheck struct{ done bool }

func (c *ndjsonCheck) line(l []byte) error {
	l = bytes.TrimSpace(l)
	if len(l) == 0 {
		return nil
	}
	var v struct {
		Done bool `json:"done"`
	}
	if err := json.Unmarshal(l, &v); err != nil {
		return fmt.Errorf("line is not a JSON object: %.80q", l)
	}
	if v.Done {
		c.done = true
	}
	return nil
}

func (c *ndjsonCheck) complete() bool { return c.done }

// ollamaCheck: an NDJSON stream ends with a line whose done is true.
func ollamaCheck(ct string) streamCheck {
	if !strings.HasPrefix(ct, "application/x-ndjson") {
		return nil
	}
	return &ndjsonCheck{}
}
