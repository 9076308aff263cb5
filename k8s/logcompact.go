package k8s

import (
	"fmt"
	"regexp"
	"strings"

	"github.com/k8flex/k8flex/redact"
)

// maxLineBytes caps one log line; longer lines keep their start.
const maxLineBytes = 1000

var (
	ansiCodes = regexp.MustCompile(`\x1b\[[0-9;?]*[A-Za-z]`)
	// timestamps and numbers are ignored when deciding that lines repeat.
	logTimestamp = regexp.MustCompile(`\d{4}-\d{2}-\d{2}[T ]\d{2}:\d{2}:\d{2}(?:[.,]\d+)?(?:Z|[+-]\d{2}:?\d{2})?|\d{2}:\d{2}:\d{2}(?:[.,]\d+)?`)
	logNumber    = regexp.MustCompile(`\b0x[0-9a-fA-F]+\b|\b[0-9a-f]{8,}\b|\d+`)
	// errorLine recognises lines worth keeping when the middle is cut.
	errorLine = regexp.MustCompile(`(?i)\b(error|err|fatal|panic|exception|traceback|fail(ed|ure)?|refused|denied|forbidden|killed|oom|timeout|timed out|cannot|can't|unable|invalid|not found|no such|unreachable|exit(ed)? (code|status)|segfault|abort)`)
)

// CompactLog turns a raw container log into lines fit for evidence, within
// maxBytes: secrets redacted, ANSI colour codes stripped, consecutive lines
// that repeat (also when they differ only in timestamps or numbers)
// collapsed into their last occurrence marked "(×N)", and, when still too
// long, the middle cut — the first lines and the lines around errors are
// kept, the tail never is cut. maxBytes <= 0 means no size limit.
func CompactLog(raw string, maxBytes int) []string {
	raw = redact.String(raw)
	raw = ansiCodes.ReplaceAllString(raw, "")
	raw = strings.ReplaceAll(raw, "\r\n", "\n")
	lines := strings.Split(raw, "\n")
	for len(lines) > 0 && strings.TrimSpace(lines[len(lines)-1]) == "" {
		lines = lines[:len(lines)-1]
	}
	lines = collapseRepeats(lines)
	for i, l := range lines {
		if len(l) > maxLineBytes {
			lines[i] = truncateUTF8(l, maxLineBytes) + "…"
		}
	}
	if maxBytes <= 0 || size(lines) <= maxBytes {
		return lines
	}
	return cutMiddle(lines, maxBytes)
}

// collapseRepeats folds runs of equivalent lines into the run's last line.
// TODO: also fold repeating blocks of 2-4 lines (a WARNING/ERROR/INFO cycle
// repeated every probe period), which today survive as separate lines.
func collapseRepeats(lines []string) []string {
	out := make([]string, 0, len(lines))
	prevKey, run := "", 0
	flush := func() {
		if run > 1 {
			out[len(out)-1] += fmt.Sprintf(" (×%d)", run)
		}
	}
	for _, l := range lines {
		l = strings.TrimRight(l, " \t\r")
		key := logNumber.ReplaceAllString(logTimestamp.ReplaceAllString(l, "T"), "#")
		if run > 0 && key == prevKey && strings.TrimSpace(l) != "" {
			out[len(out)-1] = l
			run++
			continue
		}
		flush()
		out = append(out, l)
		prevKey, run = key, 1
	}
	flush()
	return out
}

// cutMiddle keeps the tail (half the budget), the first lines and the
// lines around errors, marking what was omitted.
func cutMiddle(lines []string, maxBytes int) []string {
	keep := make([]bool, len(lines))
	used := 0
	// The tail first: it holds the last error before the exit.
	tailStart := len(lines)
	for i := len(lines) - 1; i >= 0; i-- {
		if used+len(lines[i])+1 > maxBytes/2 && tailStart < len(lines) {
			break
		}
		keep[i] = true
		used += len(lines[i]) + 1
		tailStart = i
	}
	// Then a few head lines (versions, configuration printed at start-up).
	for i := 0; i < 3 && i < tailStart; i++ {
		if used+len(lines[i])+1 > maxBytes*5/8 {
			break
		}
		keep[i] = true
		used += len(lines[i]) + 1
	}
	// Then error lines of the middle with one line of context each side.
	const marker = 40 // room for the omission markers
	for i := 3; i < tailStart; i++ {
		if !errorLine.MatchString(lines[i]) {
			continue
		}
		for j := max(i-1, 0); j <= min(i+1, tailStart-1); j++ {
			if keep[j] {
				continue
			}
			if used+len(lines[j])+1+marker > maxBytes {
				break
			}
			keep[j] = true
			used += len(lines[j]) + 1
		}
	}
	out := make([]string, 0, len(lines))
	omitted := 0
	for i, l := range lines {
		if !keep[i] {
			omitted++
			continue
		}
		if omitted > 0 {
			out = append(out, fmt.Sprintf("… %d lines omitted …", omitted))
			omitted = 0
		}
		out = append(out, l)
	}
	return out
}

func size(lines []string) int {
	n := 0
	for _, l := range lines {
		n += len(l) + 1
	}
	return n
}

// truncateUTF8 cuts s to at most n bytes without splitting a rune.
func truncateUTF8(s string, n int) string {
	if len(s) <= n {
		return s
	}
	for n > 0 && n < len(s) && s[n]&0xC0 == 0x80 {
		n--
	}
	return s[:n]
}
