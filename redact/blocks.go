package redact

import (
	"regexp"
	"strings"
)

var (
	pemBeginRe  = regexp.MustCompile(`-----BEGIN [A-Z0-9 ]*PRIVATE KEY(?: BLOCK)?-----`)
	kindSecret  = regexp.MustCompile(`^\s*(?:-\s+)?kind:\s*["']?Secret["']?\s*$|"kind"\s*:\s*"Secret"`)
	yamlDataRe  = regexp.MustCompile(`^(\s*(?:-\s+)?)(?:data|stringData):\s*$`)
	jsonDataRe  = regexp.MustCompile(`^\s*"(?:data|stringData)"\s*:\s*\{\s*$`)
	yamlChildRe = regexp.MustCompile(`^(\s*["']?[A-Za-z0-9_.-]+["']?:)(\s*)(.*)$`)
	envNameRe   = regexp.MustCompile(`^\s*(?:-\s+)?name:\s*["']?([A-Za-z0-9_.-]+)["']?\s*$`)
	envValueRe  = regexp.MustCompile(`^(\s*value:\s*)(.*?)\s*$`)
)

// redactLines applies the candidate rules to each line, tracking the
// blocks that span lines: PEM private keys, the data of Kubernetes
// Secrets, and container env vars whose name names a credential. With
// collapse, the body lines of a PEM block become one Mask line; without,
// every body line becomes Mask so the line count stays. cand holds the
// rules triggered anywhere in lines. lines is modified in place.
func redactLines(lines []string, cand ruleSet, collapse bool) ([]string, bool) {
	out := lines[:0]
	changed := false
	var secretDoc []bool
	if cand&(1<<secretDataRule) != 0 {
		secretDoc = secretDocuments(lines)
	}
	doPEM := cand&(1<<pemBlockRule) != 0
	doEnv := cand&(1<<uint(assignmentRule)) != 0
	var (
		inPEM      bool
		pemMasked  bool
		dataIndent = -1 // indentation of a Secret's data: key, -1 outside
		inJSONData bool
		envName    string
	)
	emit := func(orig, s string) {
		if s != orig {
			changed = true
		}
		out = append(out, s)
	}
	for i := range lines {
		line := lines[i]

		if inPEM {
			t := strings.TrimSpace(line)
			switch {
			case strings.Contains(t, "-----END "):
				inPEM = false
			case t == "":
				emit(line, line)
				continue
			case pemBody(t):
				changed = true
				if !collapse || !pemMasked {
					out = append(out, Mask)
					pemMasked = true
				}
				continue
			default:
				inPEM = false
			}
		}

		if secretDoc != nil && secretDoc[i] {
			if s, ok := secretData(line, &dataIndent, &inJSONData); ok {
				emit(line, s)
				continue
			}
		} else {
			dataIndent, inJSONData = -1, false
		}

		orig := line
		if envName != "" {
			if m := envValueRe.FindStringSubmatchIndex(line); m != nil && maskValueFor(envName, strings.Trim(line[m[4]:m[5]], `"'`)) {
				v := line[m[4]:m[5]]
				q := ""
				if len(v) > 1 && (v[0] == '"' || v[0] == '\'') && v[len(v)-1] == v[0] {
					q = v[:1]
				}
				line = line[:m[4]] + q + Mask + q + line[m[5]:]
			}
			envName = ""
		}
		if doEnv && strings.Contains(line, "name:") {
			if m := envNameRe.FindStringSubmatch(line); m != nil && keyTier(m[1]) != tierNone {
				envName = m[1]
			}
		}

		if lineSet := candidates(line) & cand; lineSet != 0 {
			for r := range rules {
				if lineSet&(1<<uint(r)) != 0 && rules[r].apply != nil {
					line = rules[r].apply(line)
				}
			}
		}

		if doPEM && pemStarts(line) {
			inPEM, pemMasked = true, false
		}
		emit(orig, line)
	}
	return out, changed
}

// pemStarts reports whether line opens a private key block whose body
// follows on the next lines.
func pemStarts(line string) bool {
	loc := pemBeginRe.FindStringIndex(line)
	return loc != nil && strings.TrimSpace(line[loc[1]:]) == ""
}

// pemBody reports whether a trimmed line is part of a PEM body: base64 or
// an RFC 1421/4880 header.
func pemBody(t string) bool {
	for _, h := range []string{"Proc-Type:", "DEK-Info:", "Version:", "Comment:"} {
		if strings.HasPrefix(t, h) {
			return true
		}
	}
	for i := 0; i < len(t); i++ {
		c := t[i]
		if !('A' <= c && c <= 'Z' || 'a' <= c && c <= 'z' || '0' <= c && c <= '9' || c == '+' || c == '/' || c == '=') {
			return false
		}
	}
	return true
}

// secretDocuments marks the lines of every YAML document (between "---"
// lines) or JSON object list that declares kind Secret.
func secretDocuments(lines []string) []bool {
	marks := make([]bool, len(lines))
	any := false
	start := 0
	flush := func(end int) {
		for j := start; j < end; j++ {
			if strings.Contains(lines[j], "kind") && kindSecret.MatchString(lines[j]) {
				for k := start; k < end; k++ {
					marks[k] = true
				}
				any = true
				return
			}
		}
	}
	for i, l := range lines {
		if t := strings.TrimSpace(l); t == "---" || strings.HasPrefix(t, "--- ") {
			flush(i)
			start = i + 1
		}
	}
	flush(len(lines))
	if !any {
		return nil
	}
	return marks
}

// secretData handles one line of a Secret document: it opens and closes
// data/stringData blocks and masks their values. ok is false when the
// line is outside such a block and must go through the ordinary rules.
func secretData(line string, dataIndent *int, inJSON *bool) (string, bool) {
	if *inJSON {
		if strings.HasPrefix(strings.TrimSpace(line), "}") {
			*inJSON = false
			return line, true
		}
		return maskJSONValues(line), true
	}
	if *dataIndent >= 0 {
		t := strings.TrimSpace(line)
		if t == "" {
			return line, true
		}
		ind := len(line) - len(strings.TrimLeft(line, " \t"))
		if ind > *dataIndent {
			if m := yamlChildRe.FindStringSubmatch(line); m != nil {
				v := m[3]
				if v == "" || strings.HasPrefix(v, Mask) || v == "|" || v == ">" || v == "|-" || v == ">-" {
					return line, true
				}
				sp := m[2]
				if sp == "" {
					sp = " "
				}
				return m[1] + sp + Mask, true
			}
			return line[:ind] + Mask, true
		}
		*dataIndent = -1
	}
	if m := yamlDataRe.FindStringSubmatch(line); m != nil {
		*dataIndent = len(m[1])
		return line, true
	}
	if jsonDataRe.MatchString(line) {
		*inJSON = true
		return line, true
	}
	return "", false
}
