package bot

import (
	"net/url"
	"regexp"
	"strings"
	"unicode/utf8"

	"github.com/k8flex/k8flex/redact"
)

// Slack's limits that rendering respects.
const (
	MaxSectionChars   = 3000 // text of a section block
	MaxFieldChars     = 2000 // one section field
	MaxHeaderChars    = 150  // plain_text of a header block
	MaxContextChars   = 2000 // text of a context element
	MaxMessageBlocks  = 50   // blocks in one message
	MaxHomeViewBlocks = 100  // blocks in a Home tab view
	MaxFallbackChars  = 3000 // the notification text we send alongside blocks
)

var escaper = strings.NewReplacer("&", "&amp;", "<", "&lt;", ">", "&gt;")

// broadcast words Slack may turn into mentions even without brackets; a
// full-width at sign (＠, visible, never a mention) keeps them readable and
// inert.
var broadcast = regexp.MustCompile(`(?i)@(channel|here|everyone)\b`)

// Escape makes untrusted text inert in mrkdwn: &, < and > are escaped (no
// <!channel>, <@U…>, <!subteam^…> or <http://x|disguised> links), bare
// @channel/@here/@everyone are defused, and bidirectional controls and
// zero-width characters are removed (Unspoof). It does not redact.
func Escape(s string) string {
	s = escaper.Replace(Unspoof(s))
	if strings.IndexByte(s, '@') < 0 {
		return s
	}
	return broadcast.ReplaceAllString(s, "\uFF20$1")
}

// Safe redacts secrets from untrusted text and escapes it for mrkdwn.
func Safe(s string) string { return Escape(redact.String(s)) }

// maxLinkURL bounds a linked address, so that a link always fits in the
// text of a context element (MaxContextChars) and is never cut in two.
const maxLinkURL = 1800

// SafeURL returns u when it is an absolute http(s) URL that can sit inside
// a Slack link (<u|text>), with the characters that would break out of the
// link percent-encoded, or "" otherwise (also when it holds a
// bidirectional control or a zero-width character: such a link is a
// disguise), or when it is longer than maxLinkURL.
func SafeURL(u string) string {
	u = strings.TrimSpace(u)
	if hasSpoof(u) || len(u) > maxLinkURL {
		return ""
	}
	p, err := url.Parse(u)
	if err != nil || (p.Scheme != "http" && p.Scheme != "https") || p.Host == "" {
		return ""
	}
	s := p.String()
	return strings.NewReplacer("|", "%7C", "<", "%3C", ">", "%3E", " ", "%20", "&", "&amp;").Replace(s)
}

// Link renders a Slack link to an untrusted URL with untrusted text; when
// the URL is not safe it renders only the text.
func Link(u, text string) string {
	su := SafeURL(u)
	if su == "" {
		return Safe(text)
	}
	return "<" + su + "|" + Safe(text) + ">"
}

var (
	headingRe = regexp.MustCompile(`^\s{0,3}(#{1,6})\s+(.*?)\s*#*\s*$`)
	bulletRe  = regexp.MustCompile(`^(\s*)[-*+]\s+(.*)$`)
	boldRe    = regexp.MustCompile(`\*\*(\S(?:.*?\S)?)\*\*|__(\S(?:.*?\S)?)__`)
	italicRe  = regexp.MustCompile(`(^|[^*\w])\*([^*\s](?:[^*]*?[^*\s])?)\*($|[^*\w])`)
	strikeRe  = regexp.MustCompile(`~~(\S(?:.*?\S)?)~~`)
	mdLinkRe  = regexp.MustCompile(`\[([^\]]+)\]\(([^)\s]+)\)`)
	ruleRe    = regexp.MustCompile(`^\s*([-*_])(\s*[-*_]){2,}\s*$`)
)

// ToMrkdwn converts the markdown an analyser writes (## headings, **bold**,
// *italic*, ~~strike~~, lists, [links](url), `code` and ``` fences) to
// Slack mrkdwn, redacting and escaping every piece of it. Links are shown
// with their real address, never disguised.
func ToMrkdwn(md string) string {
	md = redact.String(md)
	lines := strings.Split(md, "\n")
	out := make([]string, 0, len(lines))
	inFence := false
	for _, line := range lines {
		trimmed := strings.TrimSpace(line)
		if strings.HasPrefix(trimmed, "```") {
			if !inFence {
				inFence = true
				out = append(out, "```")
				if rest := strings.TrimSpace(strings.Trim(trimmed, "`")); rest != "" && strings.Count(trimmed, "```") > 1 {
					// ```one-liner```
					out[len(out)-1] = "```" + Escape(rest) + "```"
					inFence = false
				}
				continue
			}
			inFence = false
			out = append(out, "```")
			continue
		}
		if inFence {
			out = append(out, Escape(line))
			continue
		}
		first := byte(0)
		if trimmed != "" {
			first = trimmed[0]
		}
		if (first == '-' || first == '*' || first == '_') && ruleRe.MatchString(line) {
			out = append(out, "───")
			continue
		}
		if first == '#' {
			if m := headingRe.FindStringSubmatch(line); m != nil {
				h := strings.Trim(inline(m[2]), "*")
				out = append(out, "*"+h+"*")
				continue
			}
		}
		if first == '-' || first == '*' || first == '+' {
			if m := bulletRe.FindStringSubmatch(line); m != nil {
				out = append(out, m[1]+"• "+inline(m[2]))
				continue
			}
		}
		out = append(out, inline(line))
	}
	if inFence {
		out = append(out, "```")
	}
	return strings.Join(out, "\n")
}

// inline converts one line outside code fences, leaving `code spans`
// escaped but otherwise untouched.
func inline(line string) string {
	var b strings.Builder
	for {
		i := strings.IndexByte(line, '`')
		if i < 0 {
			b.WriteString(inlineText(line))
			return b.String()
		}
		j := strings.IndexByte(line[i+1:], '`')
		if j < 0 {
			b.WriteString(inlineText(line))
			return b.String()
		}
		b.WriteString(inlineText(line[:i]))
		b.WriteString("`" + Escape(line[i+1:i+1+j]) + "`")
		line = line[i+2+j:]
	}
}

func inlineText(s string) string {
	if strings.Contains(s, "](") {
		s = mdLinkRe.ReplaceAllStringFunc(s, func(m string) string {
			sm := mdLinkRe.FindStringSubmatch(m)
			return sm[1] + " (" + sm[2] + ")"
		})
	}
	s = Escape(s)
	if strings.IndexByte(s, '*') >= 0 {
		s = italicRe.ReplaceAllString(s, "${1}_${2}_${3}")
	}
	if strings.Contains(s, "**") || strings.Contains(s, "__") {
		s = boldRe.ReplaceAllStringFunc(s, func(m string) string {
			sm := boldRe.FindStringSubmatch(m)
			return "*" + sm[1] + sm[2] + "*"
		})
	}
	if strings.Contains(s, "~~") {
		s = strikeRe.ReplaceAllString(s, "~$1~")
	}
	return s
}

// SplitText splits mrkdwn into pieces of at most max characters, at line
// boundaries where possible, never inside an &entity; and closing and
// reopening a ``` fence that spans two pieces.
func SplitText(s string, max int) []string {
	if max < 16 {
		max = 16
	}
	if utf8.RuneCountInString(s) <= max {
		return []string{s}
	}
	const fence = "```"
	var parts []string
	var cur strings.Builder
	curLen := 0
	inFence := false
	flush := func() {
		t := cur.String()
		if inFence {
			t += "\n" + fence
		}
		if strings.TrimSpace(t) != "" {
			parts = append(parts, t)
		}
		cur.Reset()
		curLen = 0
		if inFence {
			cur.WriteString(fence + "\n")
			curLen = len(fence) + 1
		}
	}
	budget := max - len(fence) - 1 // room to close a fence
	for _, line := range strings.Split(s, "\n") {
		for {
			n := utf8.RuneCountInString(line)
			sep := 0
			if curLen > 0 {
				sep = 1
			}
			if curLen+sep+n <= budget {
				if sep == 1 {
					cur.WriteByte('\n')
				}
				cur.WriteString(line)
				curLen += sep + n
				break
			}
			if curLen > 0 && !(inFence && curLen == len(fence)+1) {
				flush()
				continue
			}
			// One line longer than a piece: cut it.
			head, tail := cutRunes(line, budget-curLen)
			cur.WriteString(head)
			curLen += utf8.RuneCountInString(head)
			line = tail
			flush()
		}
		if strings.HasPrefix(strings.TrimSpace(line), fence) && strings.Count(strings.TrimSpace(line), fence) == 1 {
			inFence = !inFence
		}
	}
	t := cur.String()
	if strings.TrimSpace(t) != "" && t != fence+"\n" {
		parts = append(parts, t)
	}
	return parts
}

// cutRunes cuts s after at most n runes, backing off so an &entity; or a
// <link|text> is not split (a link cut in two would show as broken markup);
// a link that starts s is cut all the same, so the head is never empty.
func cutRunes(s string, n int) (string, string) {
	if n < 1 {
		n = 1
	}
	i, count := 0, 0
	for i < len(s) && count < n {
		_, w := utf8.DecodeRuneInString(s[i:])
		i += w
		count++
	}
	if i == len(s) {
		return s, ""
	}
	if lt := strings.LastIndexByte(s[:i], '<'); lt > 0 && lt > strings.LastIndexByte(s[:i], '>') {
		i = lt
	}
	if amp := strings.LastIndexByte(s[:i], '&'); amp >= 0 && amp > i-6 && !strings.Contains(s[amp:i], ";") && amp > 0 {
		i = amp
	}
	return s[:i], s[i:]
}

// truncate shortens s to at most n runes, ending with "…" when cut.
func truncate(s string, n int) string {
	if utf8.RuneCountInString(s) <= n {
		return s
	}
	head, _ := cutRunes(s, n-1)
	return head + "…"
}
