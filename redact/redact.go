package redact

import (
	"strings"
)

// Mask replaces what a rule removed.
const Mask = "[REDACTED]"

// String returns s with every secret it recognises replaced by Mask.
// Multi-line private key blocks collapse to a single Mask line between
// their BEGIN and END lines. String is idempotent: String(String(s)) ==
// String(s). When nothing is found, s itself is returned.
func String(s string) string {
	if s == "" {
		return s
	}
	cand := candidates(s)
	if cand == 0 {
		return s
	}
	out, changed := redactLines(strings.Split(s, "\n"), cand, true)
	if !changed {
		return s
	}
	return strings.Join(out, "\n")
}

// Lines returns a copy of lines with secrets replaced by Mask, one output
// element per input element (each line of a multi-line private key block
// becomes Mask). Blocks that span elements (PEM keys, Kubernetes Secret
// data) are recognised across elements. An element holding several lines
// is redacted as String does.
func Lines(lines []string) []string {
	if lines == nil {
		return nil
	}
	out := make([]string, len(lines))
	copy(out, lines)
	for i, l := range out {
		if strings.Contains(l, "\n") {
			out[i] = String(l)
		}
	}
	var cand ruleSet
	for _, l := range out {
		cand |= candidates(l)
	}
	if cand == 0 {
		return out
	}
	res, _ := redactLines(out, cand, false)
	return res
}

// Map returns a copy of m (typically alert labels or annotations) in which
// the value of every key that names a credential (password, token, secret,
// apikey, authorization, ...) is Mask and every other value is redacted
// with String. Keys are kept. A nil map gives nil.
func Map(m map[string]string) map[string]string {
	if m == nil {
		return nil
	}
	out := make(map[string]string, len(m))
	for k, v := range m {
		if v != "" && sensitiveKey(k) {
			out[k] = Mask
			continue
		}
		out[k] = String(v)
	}
	return out
}
