package bot

import (
	"bytes"
	"fmt"
	"io"
	"mime"
	"net/http"
	"net/url"
	"strings"
	"unicode/utf8"
)

// spoofRune reports whether r changes how text reads without being seen:
// the bidirectional controls (embeddings and overrides U+202A–U+202E,
// isolates U+2066–U+2069, the marks U+200E, U+200F and U+061C) and the
// zero-width characters (U+200B–U+200D, U+2060, U+FEFF). A label holding
// U+202E can make "gpj.exe" read as "exe.jpg"; a zero-width space can
// make two different names look equal.
func spoofRune(r rune) bool {
	switch {
	case r >= 0x200B && r <= 0x200F, r >= 0x202A && r <= 0x202E, r >= 0x2066 && r <= 0x2069:
		return true
	}
	return r == 0x2060 || r == 0xFEFF || r == 0x061C
}

// mayHoldSpoof is a fast pre-check: every spoofRune encodes in UTF-8
// starting with one of these bytes.
func mayHoldSpoof(s string) bool {
	return strings.IndexByte(s, 0xE2) >= 0 || strings.IndexByte(s, 0xEF) >= 0 || strings.IndexByte(s, 0xD8) >= 0
}

// Unspoof returns s without bidirectional controls and zero-width
// characters (see spoofRune), so Slack shows text in the order it really
// has and names that look equal are equal. Text without them is returned
// as is. Every text that reaches Slack is unspoofed: the renderers call it
// through Escape and redactPlain (so Slack's length limits apply to what
// is sent), and unspoofTransport applies it to every Web API request.
func Unspoof(s string) string {
	if !mayHoldSpoof(s) {
		return s
	}
	found := false
	for _, r := range s {
		if spoofRune(r) {
			found = true
			break
		}
	}
	if !found {
		return s
	}
	var b strings.Builder
	b.Grow(len(s))
	for _, r := range s {
		if !spoofRune(r) {
			b.WriteRune(r)
		}
	}
	return b.String()
}

// hasSpoof reports whether s holds a spoofRune.
func hasSpoof(s string) bool { return Unspoof(s) != s }

// unspoofTransport is the one place every Slack Web API request passes:
// it removes spoofRunes from form values, JSON bodies and query strings
// before the request leaves the process, whatever built it.
type unspoofTransport struct{ next http.RoundTripper }

func (u unspoofTransport) RoundTrip(r *http.Request) (*http.Response, error) {
	out := r
	if q := r.URL.RawQuery; q != "" {
		if clean, err := unspoofForm(q); err == nil && clean != q {
			out = r.Clone(r.Context())
			out.URL.RawQuery = clean
		}
	}
	if r.Body == nil || r.Body == http.NoBody {
		return u.next.RoundTrip(out)
	}
	body, err := io.ReadAll(r.Body)
	_ = r.Body.Close()
	if err != nil {
		return nil, fmt.Errorf("read slack request body: %w", err)
	}
	clean, err := unspoofBody(r.Header.Get("Content-Type"), body)
	if err != nil {
		return nil, fmt.Errorf("slack %s: %w", r.URL.Path, err)
	}
	if out == r {
		out = r.Clone(r.Context())
	}
	out.Body = io.NopCloser(bytes.NewReader(clean))
	out.ContentLength = int64(len(clean))
	out.GetBody = func() (io.ReadCloser, error) { return io.NopCloser(bytes.NewReader(clean)), nil }
	return u.next.RoundTrip(out)
}

// unspoofBody cleans a request body: each value of a form, and the text
// of anything else (JSON: spoofRunes can only sit inside its strings).
func unspoofBody(contentType string, body []byte) ([]byte, error) {
	mt, _, _ := mime.ParseMediaType(contentType)
	switch {
	case mt == "application/x-www-form-urlencoded":
		clean, err := unspoofForm(string(body))
		if err != nil {
			return nil, fmt.Errorf("form body: %w", err)
		}
		return []byte(clean), nil
	case mt == "multipart/form-data":
		return uploadBody(contentType, body)
	case strings.HasPrefix(mt, "multipart/"):
		return nil, fmt.Errorf("%s bodies are not sent by k8flex", mt)
	case !utf8.Valid(body):
		return nil, fmt.Errorf("%s body is not UTF-8", mt)
	}
	return []byte(Unspoof(string(body))), nil
}

// unspoofForm cleans every key and value of a URL-encoded form; a form
// without spoofRunes is returned unchanged.
func unspoofForm(form string) (string, error) {
	vals, err := url.ParseQuery(form)
	if err != nil {
		return "", err
	}
	changed := false
	clean := make(url.Values, len(vals))
	for k, vs := range vals {
		ck := Unspoof(k)
		changed = changed || ck != k
		for _, v := range vs {
			cv := Unspoof(v)
			changed = changed || cv != v
			clean[ck] = append(clean[ck], cv)
		}
	}
	if !changed {
		return form, nil
	}
	return clean.Encode(), nil
}
