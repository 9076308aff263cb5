package redact

import (
	"regexp"
	"strings"
)

// rule is one redaction rule applied to a single line. It runs only on
// lines whose lowered text contains one of its triggers.
type rule struct {
	name     string
	triggers []string
	apply    func(line string) string
}

// ruleSet is a bit set of indexes into rules.
type ruleSet uint64

// The rules, in the order they run on a line. Specific token shapes run
// before the generic key=value rule, so the latter sees their Mask and
// leaves it alone. Two pseudo-rules (pemBlockRule, secretDataRule) only
// switch on the multi-line handling in redactLines.
var rules = []rule{
	{name: "pem-block", triggers: []string{"private key"}},
	{name: "secret-data", triggers: []string{"secret"}},
	{name: "pem-inline", triggers: []string{"private key"}, apply: redactInlinePEM},
	tokenRule("aws-access-key-id",
		[]string{"akia", "asia", "agpa", "aida", "aroa", "aipa", "anpa", "anva", "abia", "acca", "a3t"},
		`\b(?:A3T[A-Z0-9]|AKIA|ASIA|AGPA|AIDA|AROA|AIPA|ANPA|ANVA|ABIA|ACCA)[A-Z0-9]{16,}\b`, nil),
	tokenRule("gcp-api-key", []string{"aiza"}, `\bAIza[0-9A-Za-z_-]{30,}`, nil),
	tokenRule("jwt", []string{"eyj"}, `\beyJ[A-Za-z0-9_-]{4,}\.eyJ[A-Za-z0-9_-]{4,}\.[A-Za-z0-9_-]*`, nil),
	tokenRule("slack-token", []string{"xox", "xapp-"}, `\b(?:xox[abposrcde]|xapp)-[A-Za-z0-9-]{10,}`, nil),
	prefixRule("slack-webhook", []string{"hooks.slack.com"},
		`(https?://hooks\.slack\.com/(?:services|workflows|triggers)/)[A-Za-z0-9/_-]+`),
	tokenRule("github-token", []string{"ghp_", "gho_", "ghu_", "ghs_", "ghr_", "github_pat_"},
		`\b(?:gh[pousr]_[A-Za-z0-9]{30,}|github_pat_[A-Za-z0-9_]{22,})`, nil),
	tokenRule("gitlab-token", []string{"glpat-", "gldt-", "glrt-", "glptt-", "glft-", "glsoat-", "glcbt-"},
		`\bgl(?:pat|dt|rt|ptt|ft|soat|cbt)-[A-Za-z0-9_-]{20,}`, nil),
	tokenRule("openai-anthropic-key", []string{"sk-"}, `\bsk-[A-Za-z0-9_-]{20,}`, mixedCase),
	tokenRule("stripe-key", []string{"sk_live_", "sk_test_", "rk_live_", "rk_test_", "whsec_"},
		`\b(?:(?:sk|rk)_(?:live|test)_[A-Za-z0-9]{10,}|whsec_[A-Za-z0-9+/=]{20,})`, nil),
	tokenRule("npm-token", []string{"npm_"}, `\bnpm_[A-Za-z0-9]{36,}`, nil),
	tokenRule("huggingface-token", []string{"hf_"}, `\bhf_[A-Za-z0-9]{30,}`, mixedCase),
	tokenRule("sendgrid-key", []string{"sg."}, `\bSG\.[A-Za-z0-9_-]{16,}\.[A-Za-z0-9_-]{16,}`, nil),
	tokenRule("google-oauth-token", []string{"ya29."}, `\bya29\.[A-Za-z0-9_-]{20,}`, nil),
	{name: "url-credentials", triggers: []string{"://"}, apply: redactURLCredentials},
	{name: "go-mysql-dsn", triggers: []string{"@tcp(", "@unix("}, apply: redactGoDSN},
	{name: "authorization-header", triggers: []string{"authorization"}, apply: redactAuthorization},
	{name: "bearer", triggers: []string{"bearer"}, apply: redactBearer},
	{name: "cli-flag", triggers: []string{"-pass", "-pwd", "-token", "-secret", "-api", "-access", "-credential", "-auth"}, apply: redactCLIFlag},
	{name: "mysql-p", triggers: []string{" -p"}, apply: redactMySQLP},
	{name: "secret-json", triggers: []string{`"secret"`}, apply: redactSecretJSON},
	{name: "env-json", triggers: []string{`"value"`}, apply: redactEnvJSON},
	{name: "assignment", triggers: []string{"pass", "pwd", "secret", "token", "key", "signature", "credential", "auth", "sig="}, apply: redactAssignments},
}

// Indexes of the pseudo-rules that switch on block handling.
const (
	pemBlockRule   = 0
	secretDataRule = 1
)

// assignmentRule is the index of the generic key=value rule; the env
// name/value pair handling in redactLines runs when it is a candidate.
var assignmentRule = len(rules) - 1

// triggers is the scanner over all rules' triggers.
var triggers = newScanner(rules)

// candidates returns the rules whose triggers occur in s.
func candidates(s string) ruleSet { return triggers.scan(s) }

// tokenRule masks every match of pattern; when keep is set, a match it
// rejects stays.
func tokenRule(name string, triggers []string, pattern string, accept func(string) bool) rule {
	re := regexp.MustCompile(pattern)
	return rule{name: name, triggers: triggers, apply: func(line string) string {
		return replaceMatches(re, line, func(m []int) string {
			if accept != nil && !accept(line[m[0]:m[1]]) {
				return line[m[0]:m[1]]
			}
			return Mask
		})
	}}
}

// prefixRule keeps the pattern's first group and masks the rest of each
// match.
func prefixRule(name string, triggers []string, pattern string) rule {
	re := regexp.MustCompile(pattern)
	return rule{name: name, triggers: triggers, apply: func(line string) string {
		return replaceMatches(re, line, func(m []int) string {
			return line[m[2]:m[3]] + Mask
		})
	}}
}

// replaceMatches replaces every match of re in s with what repl returns for
// its submatch indexes. It returns s itself when nothing matched.
func replaceMatches(re *regexp.Regexp, s string, repl func(m []int) string) string {
	ms := re.FindAllStringSubmatchIndex(s, -1)
	if len(ms) == 0 {
		return s
	}
	var b strings.Builder
	b.Grow(len(s))
	last := 0
	for _, m := range ms {
		b.WriteString(s[last:m[0]])
		b.WriteString(repl(m))
		last = m[1]
	}
	b.WriteString(s[last:])
	return b.String()
}

// mixedCase reports whether s has both upper- and lower-case letters and a
// digit: API keys do, Kubernetes object names (lower-case only) do not.
func mixedCase(s string) bool {
	var up, low, digit bool
	for i := 0; i < len(s); i++ {
		c := s[i]
		switch {
		case 'A' <= c && c <= 'Z':
			up = true
		case 'a' <= c && c <= 'z':
			low = true
		case '0' <= c && c <= '9':
			digit = true
		}
	}
	return up && low && digit
}

var (
	urlCredRe = regexp.MustCompile(`\b([A-Za-z][A-Za-z0-9+.-]*://)([^:@/\s"'<>\[\]]*):([^/\s"'<>]+)@`)
	goDSNRe   = regexp.MustCompile(`\b([A-Za-z0-9_.-]+):([^@\s"'/]+)@((?:tcp|unix)\()`)
	authRe    = regexp.MustCompile(`(?i)\b((?:proxy-)?authorization\\?["']?[ \t]*[:=][ \t]*\\?["'\[]?)((?:bearer|basic|digest|token|negotiate|apikey|sso-key|aws4-hmac-sha256)[ \t]+)?([^\s"'\\\]]+)`)
	bearerRe  = regexp.MustCompile(`(?i)\b(bearer[ \t]+)([A-Za-z0-9._~+/-]+=*)`)
	cliFlagRe = regexp.MustCompile(`(?i)((?:^|\s)--?[a-z0-9-]*(?:password|passwd|pwd|token|secret|api-?key|access-key|secret-key|credentials?|auth-key)[ \t]+)([^\s-]\S*)`)
	mysqlCtx  = regexp.MustCompile(`(?i)\b(?:mysql|mysqldump|mysqladmin|mariadb|mariadb-dump)\b|\s-u\s?\S`)
	mysqlPRe  = regexp.MustCompile(`(\s-p)(\S+)`)
	pemRe     = regexp.MustCompile(`(-----BEGIN [A-Z0-9 ]*PRIVATE KEY(?: BLOCK)?-----)(.*?)(-----END [A-Z0-9 ]*PRIVATE KEY(?: BLOCK)?-----|$)`)
	secretRe  = regexp.MustCompile(`"kind"\s*:\s*"Secret"`)
	dataObjRe = regexp.MustCompile(`("(?:data|stringData)"\s*:\s*\{)([^{}]*)\}`)
	jsonKVRe  = regexp.MustCompile(`("[^"]*"\s*:\s*)"((?:[^"\\]|\\.)*)"`)
	envJSONRe = regexp.MustCompile(`("name"\s*:\s*"([^"]+)"\s*,\s*"value"\s*:\s*)"((?:[^"\\]|\\.)*)"`)
)

func redactURLCredentials(line string) string {
	return replaceMatches(urlCredRe, line, func(m []int) string {
		if line[m[6]:m[7]] == Mask {
			return line[m[0]:m[1]]
		}
		return line[m[2]:m[5]] + ":" + Mask + "@"
	})
}

func redactGoDSN(line string) string {
	return replaceMatches(goDSNRe, line, func(m []int) string {
		return line[m[2]:m[3]] + ":" + Mask + "@" + line[m[6]:m[7]]
	})
}

func redactAuthorization(line string) string {
	return replaceMatches(authRe, line, func(m []int) string {
		v := line[m[6]:m[7]]
		if strings.HasPrefix(Mask, v) {
			return line[m[0]:m[1]] // already redacted (the value stops before "]")
		}
		if m[4] < 0 && !secretShaped(v) {
			return line[m[0]:m[1]]
		}
		return line[m[0]:m[6]] + Mask
	})
}

func redactBearer(line string) string {
	return replaceMatches(bearerRe, line, func(m []int) string {
		v := line[m[4]:m[5]]
		if len(v) < 12 || !(hasDigit(v) || mixedCase(v)) {
			return line[m[0]:m[1]]
		}
		return line[m[2]:m[3]] + Mask
	})
}

func redactCLIFlag(line string) string {
	return replaceMatches(cliFlagRe, line, func(m []int) string {
		if strings.HasPrefix(line[m[4]:m[5]], Mask) {
			return line[m[0]:m[1]]
		}
		return line[m[2]:m[3]] + Mask
	})
}

func redactMySQLP(line string) string {
	if !mysqlCtx.MatchString(line) {
		return line
	}
	return replaceMatches(mysqlPRe, line, func(m []int) string {
		v := line[m[4]:m[5]]
		if strings.HasPrefix(v, Mask) || allDigits(v) {
			return line[m[0]:m[1]]
		}
		return line[m[2]:m[3]] + Mask
	})
}

// redactInlinePEM masks private key material that follows a BEGIN line on
// the same line (JSON-escaped keys, truncated keys). A BEGIN line with
// nothing after it is left to the multi-line handling.
func redactInlinePEM(line string) string {
	return replaceMatches(pemRe, line, func(m []int) string {
		body := line[m[4]:m[5]]
		if strings.TrimSpace(body) == "" && m[6] == m[7] {
			return line[m[0]:m[1]]
		}
		return line[m[2]:m[3]] + Mask + line[m[6]:m[7]]
	})
}

// redactSecretJSON masks the values of a Kubernetes Secret's data and
// stringData printed as one-line JSON (kubectl -o json | jq -c, the
// last-applied-configuration annotation).
func redactSecretJSON(line string) string {
	if !secretRe.MatchString(line) {
		return line
	}
	return replaceMatches(dataObjRe, line, func(m []int) string {
		return line[m[2]:m[3]] + maskJSONValues(line[m[4]:m[5]]) + "}"
	})
}

func maskJSONValues(s string) string {
	return replaceMatches(jsonKVRe, s, func(m []int) string {
		return s[m[2]:m[3]] + `"` + Mask + `"`
	})
}

// redactEnvJSON masks the value of a container env var whose name names a
// credential, written as JSON: {"name":"DB_PASSWORD","value":"..."}.
func redactEnvJSON(line string) string {
	return replaceMatches(envJSONRe, line, func(m []int) string {
		name, v := line[m[4]:m[5]], line[m[6]:m[7]]
		if !maskValueFor(name, v) {
			return line[m[0]:m[1]]
		}
		return line[m[2]:m[3]] + `"` + Mask + `"`
	})
}

func hasDigit(s string) bool {
	for i := 0; i < len(s); i++ {
		if '0' <= s[i] && s[i] <= '9' {
			return true
		}
	}
	return false
}

func allDigits(s string) bool {
	for i := 0; i < len(s); i++ {
		if s[i] < '0' || s[i] > '9' {
			return false
		}
	}
	return s != ""
}
