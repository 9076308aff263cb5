package k8s

import (
	"bufio"
	"fmt"
	"go/ast"
	"go/parser"
	"go/token"
	"os"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"testing"
)

// vocabKey identifies a reason of the vocabulary.
type vocabKey struct{ kind, reason, component string }

func (k vocabKey) String() string { return k.kind + " " + k.reason + " (" + k.component + ")" }

// coverageRow is one row of coverage.tsv.
type coverageRow struct {
	line    int
	key     vocabKey
	verdict string
	rules   []string
	note    string
}

// readTSV returns the rows of a tab-separated file after its comment lines
// and its header, which must be header; each row's line number is kept.
func readTSV(t *testing.T, path string, header ...string) (rows [][]string, lines []int) {
	t.Helper()
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	n, seenHeader := 0, false
	for sc.Scan() {
		n++
		l := sc.Text()
		if l == "" || strings.HasPrefix(l, "#") {
			continue
		}
		cols := strings.Split(l, "\t")
		if !seenHeader {
			if strings.Join(cols, ",") != strings.Join(header, ",") {
				t.Fatalf("%s:%d: header %q, want %q", path, n, cols, header)
			}
			seenHeader = true
			continue
		}
		if len(cols) != len(header) {
			t.Errorf("%s:%d: %d columns, want %d (%s)", path, n, len(cols), len(header), strings.Join(header, ", "))
			continue
		}
		rows, lines = append(rows, cols), append(lines, n)
	}
	if err := sc.Err(); err != nil {
		t.Fatal(err)
	}
	if !seenHeader {
		t.Fatalf("%s: no header", path)
	}
	return rows, lines
}

func readVocabulary(t *testing.T) map[vocabKey]bool {
	t.Helper()
	rows, _ := readTSV(t, "vocabulary.tsv", "kind", "reason", "component", "type", "files")
	out := map[vocabKey]bool{}
	for _, r := range rows {
		out[vocabKey{r[0], r[1], r[2]}] = true
	}
	if len(out) == 0 {
		t.Fatal("vocabulary.tsv lists no reasons")
	}
	return out
}

func readCoverage(t *testing.T) []coverageRow {
	t.Helper()
	rows, lines := readTSV(t, "coverage.tsv", "kind", "reason", "component", "verdict", "rules", "note")
	out := make([]coverageRow, 0, len(rows))
	for i, r := range rows {
		c := coverageRow{line: lines[i], key: vocabKey{r[0], r[1], r[2]}, verdict: r[3], note: strings.TrimSpace(r[5])}
		for _, name := range strings.Split(r[4], ",") {
			if name = strings.TrimSpace(name); name != "" {
				c.rules = append(c.rules, name)
			}
		}
		out = append(out, c)
	}
	return out
}

// ruleNames derives the names of the diagnosis rules from the package's
// source: every string a finding's Rule field is set to (in a composite
// literal or an assignment). A literal prefix joined to a computed part
// ("dependency-" + class) names a family, returned with a trailing "*".
func ruleNames(t *testing.T) map[string]bool {
	t.Helper()
	files, err := filepath.Glob("*.go")
	if err != nil {
		t.Fatal(err)
	}
	names := map[string]bool{}
	add := func(e ast.Expr) {
		switch e := e.(type) {
		case *ast.BasicLit:
			if s, err := strconv.Unquote(e.Value); err == nil && e.Kind == token.STRING {
				names[s] = true
			}
		case *ast.BinaryExpr:
			if l, ok := e.X.(*ast.BasicLit); ok && e.Op == token.ADD && l.Kind == token.STRING {
				if s, err := strconv.Unquote(l.Value); err == nil {
					names[s+"*"] = true
				}
			}
		}
	}
	fset := token.NewFileSet()
	for _, name := range files {
		if strings.HasSuffix(name, "_test.go") {
			continue
		}
		f, err := parser.ParseFile(fset, name, nil, parser.SkipObjectResolution)
		if err != nil {
			t.Fatal(err)
		}
		ast.Inspect(f, func(n ast.Node) bool {
			switch n := n.(type) {
			case *ast.KeyValueExpr:
				if id, ok := n.Key.(*ast.Ident); ok && id.Name == "Rule" {
					add(n.Value)
				}
			case *ast.AssignStmt:
				for i, l := range n.Lhs {
					if sel, ok := l.(*ast.SelectorExpr); ok && sel.Sel.Name == "Rule" && len(n.Lhs) == len(n.Rhs) {
						add(n.Rhs[i])
					}
				}
			}
			return true
		})
	}
	if len(names) == 0 {
		t.Fatal("no rule names found in the package: has the way findings name their rule (Finding.Rule) changed?")
	}
	return names
}

// ruleExists reports whether name is a rule, or a member of a family.
func ruleExists(rules map[string]bool, name string) bool {
	if rules[name] {
		return true
	}
	for r := range rules {
		if p, ok := strings.CutSuffix(r, "*"); ok && strings.HasPrefix(name, p) && len(name) > len(p) {
			return true
		}
	}
	return false
}

// TestCoverageTableMatchesVocabularyAndRules fails when coverage.tsv and
// the generated vocabulary.tsv disagree, or when coverage.tsv names a rule
// that no finding of this package carries (a rule renamed or removed).
func TestCoverageTableMatchesVocabularyAndRules(t *testing.T) {
	vocab := readVocabulary(t)
	cov := readCoverage(t)
	rules := ruleNames(t)

	seen := map[vocabKey]int{}
	for _, c := range cov {
		at := fmt.Sprintf("coverage.tsv:%d: %s", c.line, c.key)
		if prev, dup := seen[c.key]; dup {
			t.Errorf("%s: listed again (first on line %d)", at, prev)
		}
		seen[c.key] = c.line
		if !vocab[c.key] {
			t.Errorf("%s: not in vocabulary.tsv (Kubernetes no longer emits it, or it was renamed): remove or fix the row", at)
		}
		switch c.verdict {
		case "rule", "partial":
			if len(c.rules) == 0 {
				t.Errorf("%s: verdict %s names no rule", at, c.verdict)
			}
			for _, r := range c.rules {
				if !ruleExists(rules, r) {
					t.Errorf("%s: rule %q does not exist (no finding carries it); rules: %s", at, r, strings.Join(sortedSetKeys(rules), ", "))
				}
			}
			if c.verdict == "partial" && c.note == "" {
				t.Errorf("%s: a partial verdict needs a note saying what is left unhandled", at)
			}
		case "ignored", "unhandled":
			if len(c.rules) > 0 {
				t.Errorf("%s: verdict %s lists rules %v; use rule or partial", at, c.verdict, c.rules)
			}
			if c.note == "" {
				t.Errorf("%s: verdict %s needs a note (why it is ignored, or what a rule would have to do)", at, c.verdict)
			}
		default:
			t.Errorf("%s: verdict %q, want rule, partial, ignored or unhandled", at, c.verdict)
		}
	}
	var missing []string
	for k := range vocab {
		if _, ok := seen[k]; !ok {
			missing = append(missing, k.kind+"\t"+k.reason+"\t"+k.component)
		}
	}
	if len(missing) > 0 {
		sort.Strings(missing)
		t.Errorf("%d reasons of vocabulary.tsv are missing from coverage.tsv; add a row for each (verdict rule, partial, ignored or unhandled):\n%s",
			len(missing), strings.Join(missing, "\n"))
	}
}

func sortedSetKeys(m map[string]bool) []string {
	out := make([]string, 0, len(m))
	for k := range m {
		out = append(out, k)
	}
	sort.Strings(out)
	return out
}
