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
// collapsed into their last occurrence marked "(×N)", repeating blocks of
// 2–4 lines likewise marked "(block of K lines ×N)", and, when still too
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

// collapseRepeats folds runs of equivalent lines into the run's last line,
// then repeating blocks of 2–4 lines (collapseBlocks).
func collapseRepeats(lines []string) []string {
	return collapseBlocks(collapseLines(lines))
}

// repeatKey is what two log lines must share to count as repeats: the
// line with timestamps and numbers (ids, counters, durations) masked.
func repeatKey(l string) string {
	return logNumber.ReplaceAllString(logTimestamp.ReplaceAllString(l, "T"), "#")
}

// maxBlockLines is the longest block of lines collapseBlocks folds.
const maxBlockLines = 4

// collapseBlocks folds consecutive repetitions of a block of 2–4 lines
// (a probe's WARNING/ERROR/INFO cycle, a retry loop's attempt/fail pair)
// into the block's last occurrence, whose last line is marked
// "(block of K lines ×N)". Lines outside repetitions, and so the tail, are
// kept as they are; a block that is one line repeated is left to
// collapseLines.
// keys[i] is repeatKey(lines[i]).
func collapseBlocks(lines, keys []string) []string {
	if len(lines) < 4 {
		return lines
	}
	same := func(a, b, k int) bool { // lines[a:a+k] repeats lines[b:b+k]
		for j := range k {
			if keys[a+j] != keys[b+j] {
				return false
			}
		}
		return true
	}
	out := make([]string, 0, len(lines))
	for i := 0; i < len(lines); {
		bestK, bestReps := 0, 1
		for k := 2; k <= maxBlockLines && i+2*k <= len(lines); k++ {
			if !foldable(keys[i : i+k]) {
				continue
			}
			reps := 1
			for i+(reps+1)*k <= len(lines) && same(i, i+reps*k, k) {
				reps++
			}
			// Prefer the fold that covers most lines; on a tie the shorter block.
			if reps > 1 && reps*k > bestReps*bestK {
				bestK, bestReps = k, reps
			}
		}
		if bestK == 0 {
			out = append(out, lines[i])
			i++
			continue
		}
		last := i + (bestReps-1)*bestK
		out = append(out, lines[last:last+bestK]...)
		out[len(out)-1] += fmt.Sprintf(" (block of %d lines ×%d)", bestK, bestReps)
		i += bestReps * bestK
	}
	return out
}

// foldable reports whether a candidate block holds at least two different
// lines and is not blank.
func foldable(keys []string) bool {
	distinct, blank := false, true
	for _, k := range keys {
		distinct = distinct || k != keys[0]
		blank = blank && strings.TrimSpace(k) == ""
	}
	return distinct && !blank
}

// collapseLines folds runs of equivalent lines into the run's last line.
func collapseLines(lines []string) (out, keys []string) {
	out = make([]string, 0, len(lines))
	keys = make([]string, 0, len(lines))
	run := 0
	flush := func() {
		if run > 1 {
			out[len(out)-1] += fmt.Sprintf(" (×%d)", run)
			keys[len(keys)-1] += " (×#)" // repeatKey of the marked line
		}
	}
	for _, l := range lines {
		l = strings.TrimRight(l, " \t\r")
		key := repeatKey(l)
		if run > 0 && key == keys[len(keys)-1] && strings.TrimSpace(l) != "" {
			out[len(out)-1] = l
			run++
			continue
		}
		flush()
		out = append(out, l)
		keys = append(keys, key)
		run = 1
	}
	flush()
	return out, keys
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
