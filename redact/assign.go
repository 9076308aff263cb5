package redact

import (
	"math"
	"strings"
)

// Key tiers.
const (
	tierNone = iota
	// tierEntropy keys (ENCRYPTION_SALT_KEY, cacheKey) hold a secret only
	// when the value looks random.
	tierEntropy
	// tierSecret keys (password, token, client_secret) always hold one.
	tierSecret
)

// secretSuffixes end the names of keys whose value is a credential, once
// separators are removed and the name is lower-cased.
var secretSuffixes = []string{
	"password", "passwd", "passphrase", "secret", "token", "apikey", "accesskey",
	"secretkey", "privatekey", "privatekeyid", "accountkey", "sharedaccesskey",
	"sharedaccesssignature", "credential", "credentials", "signature", "signingkey",
	"encryptionkey", "masterkey", "sessionkey", "authkey", "authorization",
}

// keyTier classifies a key name.
func keyTier(key string) int {
	k := strings.TrimLeft(key, "-")
	var buf [64]byte
	n := 0
	for i := 0; i < len(k); i++ {
		c := k[i]
		switch c {
		case '_', '-', '.':
			continue
		}
		if n == len(buf) {
			return tierNone
		}
		buf[n] = lowerByte(c)
		n++
	}
	norm := buf[:n]
	switch string(norm) {
	case "", "pwd", "oldpwd", "key", "keyid":
		return tierNone
	case "auth", "pass", "cookie", "sig":
		return tierSecret
	}
	for _, s := range secretSuffixes {
		if len(norm) >= len(s) && string(norm[len(norm)-len(s):]) == s {
			return tierSecret
		}
	}
	if hasSuffixFold(k, "pwd") || hasSuffixFold(k, "_pass") || hasSuffixFold(k, "-pass") || hasSuffixFold(k, ".pass") {
		return tierSecret
	}
	if len(k) > 3 && hasSuffixFold(k, "key") {
		if c := k[len(k)-4]; c == '_' || c == '-' || c == '.' || (k[len(k)-3] == 'K' && 'a' <= c && c <= 'z') {
			return tierEntropy
		}
	}
	return tierNone
}

func hasSuffixFold(s, t string) bool {
	return len(s) >= len(t) && hasPrefixFold(s[len(s)-len(t):], t)
}

func isKeyByte(c byte) bool {
	return 'a' <= c && c <= 'z' || 'A' <= c && c <= 'Z' || '0' <= c && c <= '9' || c == '_' || c == '.' || c == '-'
}

// sensitiveKey reports whether a key (label name, env var name, YAML key)
// names a credential.
func sensitiveKey(key string) bool { return keyTier(key) == tierSecret }

// maskValueFor reports whether the value v assigned to key should go.
func maskValueFor(key, v string) bool {
	switch keyTier(key) {
	case tierSecret:
		return maskable(v)
	case tierEntropy:
		return maskable(v) && highEntropy(v)
	}
	return false
}

// maskable reports whether v can hold a secret at all: not empty, not
// already masked, not a boolean, number, null or template reference.
func maskable(v string) bool {
	if v == "" || strings.HasPrefix(v, Mask) || allDigits(v) {
		return false
	}
	switch strings.ToLower(v) {
	case "true", "false", "null", "nil", "none", "yes", "no", "~", "[]", "{}", `""`, "''":
		return false
	}
	for _, p := range []string{"${", "$(", "{{", "%{"} {
		if strings.HasPrefix(v, p) {
			return false
		}
	}
	return strings.Trim(v, "*x") != ""
}

// secretShaped reports whether an unquoted value after "key:" in running
// text looks like a credential rather than a word ("invalid token: expired").
func secretShaped(v string) bool {
	if len(v) < 6 {
		return false
	}
	var up, low, digit, sym bool
	for i := 0; i < len(v); i++ {
		c := v[i]
		switch {
		case 'A' <= c && c <= 'Z':
			up = true
		case 'a' <= c && c <= 'z':
			low = true
		case '0' <= c && c <= '9':
			digit = true
		default:
			sym = true
		}
	}
	return digit || sym || (up && low && len(v) >= 12)
}

// highEntropy reports whether v looks like random key material.
func highEntropy(v string) bool {
	if len(v) < 16 {
		return false
	}
	var letter, digit bool
	var counts [256]int
	for i := 0; i < len(v); i++ {
		c := v[i]
		switch {
		case 'a' <= c && c <= 'z', 'A' <= c && c <= 'Z':
			letter = true
		case '0' <= c && c <= '9':
			digit = true
		case c == '+' || c == '/' || c == '=' || c == '_' || c == '-':
		default:
			return false
		}
		counts[c]++
	}
	if !letter || !digit {
		return false
	}
	h := 0.0
	n := float64(len(v))
	for _, c := range counts {
		if c > 0 {
			p := float64(c) / n
			h -= p * math.Log2(p)
		}
	}
	return h >= 3.0
}

// redactAssignments masks the values of credential keys in key=value,
// key: value, "key": "value", key := value and key => value forms,
// keeping the key. It finds the operators and reads the key backwards, so
// ordinary lines cost one pass and no regular expression.
func redactAssignments(line string) string {
	var b strings.Builder
	last := 0
	for i := 0; i < len(line); i++ {
		c := line[i]
		if c != '=' && c != ':' {
			continue
		}
		opEnd, ok := assignOp(line, i)
		if !ok {
			i = opEnd - 1
			continue
		}
		ks, ke, pre, keyQuoted := assignKey(line, i, last)
		if ks == ke {
			continue
		}
		tier := keyTier(line[ks:ke])
		if tier == tierNone || hasSuffixFold(line[ks:ke], "authorization") { // headers: redactAuthorization
			i = opEnd - 1
			continue
		}
		lineStart := strings.Trim(line[last:pre], " \t-#") == "" && last == 0
		colon := c == ':' && opEnd == i+1
		vs, ve, quoted, skip := assignValue(line, opEnd, colon && lineStart && !keyQuoted)
		if skip >= 0 {
			i = skip
			continue
		}
		v := line[vs:ve]
		i = opEnd - 1
		if !maskable(v) ||
			(tier == tierEntropy && !highEntropy(v)) ||
			(tier == tierSecret && colon && !quoted && !keyQuoted && !lineStart && !secretShaped(v)) {
			continue
		}
		b.WriteString(line[last:vs])
		b.WriteString(Mask)
		last = ve
		i = ve - 1
	}
	if last == 0 {
		return line
	}
	b.WriteString(line[last:])
	return b.String()
}

// assignOp reads the operator at line[i], an '=' or a ':', and returns
// where it ends (after ":=" and "=>" too). ok is false when it is not an
// assignment but a comparison ("==", "!=", "<=", ">="); the scan then
// resumes at opEnd.
func assignOp(line string, i int) (opEnd int, ok bool) {
	c := line[i]
	opEnd = i + 1
	switch {
	case c == ':' && opEnd < len(line) && line[opEnd] == '=':
		return opEnd + 1, true
	case c == '=' && opEnd < len(line) && line[opEnd] == '>':
		return opEnd + 1, true
	case c == '=' && opEnd < len(line) && line[opEnd] == '=':
		return opEnd + 1, false // "==": a comparison
	case c == '=' && i > 0 && strings.IndexByte("!<>=", line[i-1]) >= 0:
		return opEnd, false
	}
	return opEnd, true
}

// assignKey reads the key of the operator at line[i] backwards, never
// before last: blanks, an optional (escaped) quote, then key bytes. It
// returns the key's span [ks, ke) (empty when there is none), pre, where
// the key begins with its quotes, and whether it was quoted.
func assignKey(line string, i, last int) (ks, ke, pre int, quoted bool) {
	ke = i
	for ke > last && (line[ke-1] == ' ' || line[ke-1] == '\t') {
		ke--
	}
	if ke > last && (line[ke-1] == '"' || line[ke-1] == '\'') {
		quoted = true
		ke--
		if ke > last && line[ke-1] == '\\' {
			ke--
		}
	}
	ks = ke
	for ks > last && isKeyByte(line[ks-1]) {
		ks--
	}
	pre = ks
	if quoted {
		for pre > last && (line[pre-1] == '"' || line[pre-1] == '\'' || line[pre-1] == '\\') {
			pre--
		}
	}
	return ks, ke, pre, quoted
}

// assignValue finds the value after an operator that ends at opEnd: past
// blanks and an optional quote (", ' or \"), up to the closing quote (or
// the end of the line); unquoted, up to the first delimiter, or, when
// block (a YAML-like "key: value" that starts the line), to the end of the
// line less a " #" comment. skip is -1, or, when there is no value to
// mask — another '=' follows, or the value is masked already — the index
// the scan resumes after.
func assignValue(line string, opEnd int, block bool) (vs, ve int, quoted bool, skip int) {
	pos := opEnd
	for pos < len(line) && (line[pos] == ' ' || line[pos] == '\t') {
		pos++
	}
	if pos < len(line) && line[pos] == '=' {
		return 0, 0, false, pos
	}
	quote := ""
	rest := line[pos:]
	switch {
	case strings.HasPrefix(rest, `\"`):
		quote = `\"`
	case strings.HasPrefix(rest, `"`):
		quote = `"`
	case strings.HasPrefix(rest, `'`):
		quote = `'`
	}
	vs = pos + len(quote)
	if strings.HasPrefix(line[vs:], Mask) {
		return 0, 0, false, vs + len(Mask) - 1
	}
	switch {
	case quote != "":
		if j := strings.Index(line[vs:], quote); j >= 0 {
			ve = vs + j
		} else {
			ve = len(line)
		}
	case block:
		ve = len(strings.TrimRight(line, " \t\r"))
		if j := strings.Index(line[vs:], " #"); j >= 0 {
			ve = vs + j
		}
		if ve < vs {
			ve = vs
		}
	default:
		ve = vs
		for ve < len(line) && strings.IndexByte(" \t\r,;&)}]\"'<>`", line[ve]) < 0 {
			ve++
		}
	}
	return vs, ve, quote != "", -1
}
