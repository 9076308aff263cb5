package investigate

import "strings"

// The five sections every analysis has, in order. Analyzers write each as a
// markdown heading line "## <name>"; models are asked for the same shape.
const (
	HeadingRootCause = "Root cause"
	HeadingEvidence  = "Evidence"
	HeadingImpact    = "Impact"
	HeadingActions   = "Recommended actions"
	HeadingPrevent   = "Prevention"
)

// Headings returns the five analysis headings in order.
func Headings() []string {
	return []string{HeadingRootCause, HeadingEvidence, HeadingImpact, HeadingActions, HeadingPrevent}
}

// RootCauseLine returns the first non-empty line of the analysis' Root cause
// section, without markdown emphasis, or "" when there is none. It accepts
// the heading written as "## Root cause", "**Root cause**", "Root cause:".
func RootCauseLine(analysis string) string {
	in := false
	for _, line := range strings.Split(analysis, "\n") {
		l := strings.TrimSpace(line)
		if h, ok := headingOf(l); ok {
			if in {
				return ""
			}
			if strings.EqualFold(h, HeadingRootCause) {
				in = true
				// "Root cause: text" on the same line.
				if _, rest, ok := strings.Cut(l, ":"); ok && strings.TrimSpace(strings.Trim(rest, "*")) != "" {
					return cleanLine(rest)
				}
			}
			continue
		}
		if in && l != "" {
			return cleanLine(l)
		}
	}
	return ""
}

// SectionText returns the body of the analysis' section under heading (one of
// Headings), from the line after its heading up to the next heading, or ""
// when the analysis has no such section. Headings are recognised as by
// RootCauseLine; text on the heading line after a colon belongs to the
// section.
func SectionText(analysis, heading string) string {
	var b strings.Builder
	in := false
	for _, line := range strings.Split(analysis, "\n") {
		l := strings.TrimSpace(line)
		if h, ok := headingOf(l); ok {
			if in {
				break
			}
			if strings.EqualFold(h, heading) {
				in = true
				if _, rest, ok := strings.Cut(l, ":"); ok && strings.TrimSpace(strings.Trim(rest, "*")) != "" {
					b.WriteString(cleanLine(rest) + "\n")
				}
			}
			continue
		}
		if in {
			b.WriteString(line + "\n")
		}
	}
	return b.String()
}

func headingOf(l string) (string, bool) {
	t := strings.TrimLeft(l, "#")
	isHash := len(t) < len(l)
	t = strings.TrimSpace(strings.Trim(strings.TrimSpace(t), "*_"))
	name, _, _ := strings.Cut(t, ":")
	name = strings.TrimSpace(strings.Trim(name, "*_ "))
	for _, h := range Headings() {
		if strings.EqualFold(name, h) && (isHash || strings.HasPrefix(l, "*") || strings.Contains(l, ":") || strings.EqualFold(t, h)) {
			return h, true
		}
	}
	return "", false
}

func cleanLine(s string) string {
	s = strings.TrimSpace(s)
	s = strings.TrimLeft(s, "-*• ")
	s = strings.ReplaceAll(s, "**", "")
	return strings.TrimSpace(s)
}
