package redact

// scanner finds rule triggers in text in one pass, ASCII case-insensitively,
// without lowering a copy of the text. It is built once from rules and
// never modified.
type scanner struct {
	// pair marks the first two bytes of some trigger (lower-case).
	pair [1 << 16]bool
	// byFirst lists the triggers starting with a byte, with their rule.
	byFirst [256][]trigger
}

type trigger struct {
	text string
	rule int
}

func newScanner(rs []rule) *scanner {
	sc := &scanner{}
	for i, r := range rs {
		for _, t := range r.triggers {
			sc.byFirst[t[0]] = append(sc.byFirst[t[0]], trigger{text: t, rule: i})
			if len(t) > 1 {
				sc.pair[int(t[0])<<8|int(t[1])] = true
			}
		}
	}
	return sc
}

func lowerByte(c byte) byte {
	if 'A' <= c && c <= 'Z' {
		return c + 'a' - 'A'
	}
	return c
}

// hasPrefixFold reports whether s starts with the lower-case ASCII t,
// ignoring ASCII case in s.
func hasPrefixFold(s, t string) bool {
	if len(s) < len(t) {
		return false
	}
	for i := 0; i < len(t); i++ {
		if lowerByte(s[i]) != t[i] {
			return false
		}
	}
	return true
}

// scan returns the rules triggered anywhere in s.
func (sc *scanner) scan(s string) ruleSet {
	var set ruleSet
	for i := 0; i+1 < len(s); i++ {
		c := lowerByte(s[i])
		if !sc.pair[int(c)<<8|int(lowerByte(s[i+1]))] {
			continue
		}
		for _, t := range sc.byFirst[c] {
			if set&(1<<uint(t.rule)) == 0 && hasPrefixFold(s[i:], t.text) {
				set |= 1 << uint(t.rule)
			}
		}
	}
	return set
}
