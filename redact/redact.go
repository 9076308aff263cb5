// Package redact removes secrets from text before it leaves the process
// (prompts, Slack messages, logs, eval output).
package redact

import "regexp"

// PLACEHOLDER rules: the full rule set and its tests are being written.
var rules = []*regexp.Regexp{
	regexp.MustCompile(`AKIA[0-9A-Z]{16}`),
}

// Mask replaces what a rule removed.
const Mask = "[REDACTED]"

// String returns s with every secret it recognises replaced by Mask.
func String(s string) string {
	for _, r := range rules {
		s = r.ReplaceAllString(s, Mask)
	}
	return s
}
