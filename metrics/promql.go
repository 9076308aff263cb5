package metrics

import (
	"errors"
	"fmt"
	"math"
	"regexp"
	"slices"
	"sort"
	"strconv"
	"strings"
	"time"
	"unicode"
)

// This file holds the small PromQL evaluator File answers queries with:
// the query shapes K8flex generates and those alert expressions commonly
// take (selectors with = != =~ !~ matchers, ranges and offset; rate,
// increase, delta, irate, abs and the *_over_time functions; sum, min,
// max, avg and count by/without; arithmetic, comparison (with bool) and
// and/or/unless with on/ignoring, one-to-one). Anything else is an
// error naming what is unsupported, which the Source reports as a gap.

// node is a parsed expression.
type node interface{}

type numberLit struct{ v float64 }

type labelMatcher struct {
	name, op, value string
	re              *regexp.Regexp
}

func (m labelMatcher) matches(v string) bool {
	switch m.op {
	case "=":
		return v == m.value
	case "!=":
		return v != m.value
	case "=~":
		return m.re.MatchString(v)
	default: // !~
		return !m.re.MatchString(v)
	}
}

type selector struct {
	matchers []labelMatcher
	rng      time.Duration // > 0 for a range selector
	offset   time.Duration
}

type call struct {
	fn   string
	args []node
}

type aggregate struct {
	op      string
	param   float64 // k of topk and bottomk
	without bool
	labels  []string
	expr    node
}

type binary struct {
	op         string
	lhs, rhs   node
	returnBool bool
	on         bool // on(labels) rather than ignoring(labels)
	matching   bool // an on/ignoring clause was given
	labels     []string
	// card is "left" or "right" for group_left/group_right (many-to-one),
	// "" for one-to-one; include are the labels copied from the one side.
	card    string
	include []string
}

type unaryMinus struct{ expr node }

// parseExpr parses a PromQL expression of the supported subset.
func parseExpr(s string) (node, error) {
	p := &parser{s: s}
	n, err := p.expr(0)
	if err != nil {
		return nil, err
	}
	p.space()
	if p.i < len(p.s) {
		return nil, fmt.Errorf("unexpected %q at %d", p.rest(12), p.i)
	}
	return n, nil
}

type parser struct {
	s string
	i int
}

func (p *parser) space() {
	for p.i < len(p.s) && unicode.IsSpace(rune(p.s[p.i])) {
		p.i++
	}
}

func (p *parser) rest(n int) string {
	r := p.s[p.i:]
	if len(r) > n {
		r = r[:n]
	}
	return r
}

// accept consumes tok when the input continues with it.
func (p *parser) accept(tok string) bool {
	p.space()
	if strings.HasPrefix(p.s[p.i:], tok) {
		p.i += len(tok)
		return true
	}
	return false
}

func (p *parser) expect(tok string) error {
	if !p.accept(tok) {
		return fmt.Errorf("expected %q at %d, found %q", tok, p.i, p.rest(12))
	}
	return nil
}

func isIdent(c byte, first bool) bool {
	return c == '_' || c == ':' || (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (!first && c >= '0' && c <= '9')
}

func (p *parser) ident() string {
	p.space()
	j := p.i
	for j < len(p.s) && isIdent(p.s[j], j == p.i) {
		j++
	}
	id := p.s[p.i:j]
	p.i = j
	return id
}

func (p *parser) peekIdent() string {
	save := p.i
	id := p.ident()
	p.i = save
	return id
}

// binary operator precedence, lowest first.
var precedence = [][]string{{"or"}, {"and", "unless"}, {"==", "!=", ">=", "<=", ">", "<"}, {"+", "-"}, {"*", "/", "%"}, {"^"}}

func (p *parser) peekOp(level int) string {
	p.space()
	for _, op := range precedence[level] {
		if !strings.HasPrefix(p.s[p.i:], op) {
			continue
		}
		if op[0] >= 'a' && op[0] <= 'z' {
			if p.peekIdent() != op {
				continue
			}
		}
		if (op == ">" || op == "<") && strings.HasPrefix(p.s[p.i+1:], "=") {
			continue
		}
		return op
	}
	return ""
}

func (p *parser) expr(level int) (node, error) {
	if level == len(precedence) {
		return p.unary()
	}
	lhs, err := p.expr(level + 1)
	if err != nil {
		return nil, err
	}
	for {
		op := p.peekOp(level)
		if op == "" {
			return lhs, nil
		}
		p.i += len(op)
		b := &binary{op: op, lhs: lhs}
		if p.peekIdent() == "bool" {
			p.ident()
			b.returnBool = true
		}
		switch p.peekIdent() {
		case "on", "ignoring":
			b.on = p.ident() == "on"
			b.matching = true
			if b.labels, err = p.labelList(); err != nil {
				return nil, err
			}
		}
		if id := p.peekIdent(); id == "group_left" || id == "group_right" {
			p.ident()
			b.card = strings.TrimPrefix(id, "group_")
			if p.peekParen() {
				if b.include, err = p.labelList(); err != nil {
					return nil, err
				}
			}
		}
		next := level + 1
		if op == "^" {
			next = level // right-associative
		}
		if b.rhs, err = p.expr(next); err != nil {
			return nil, err
		}
		lhs = b
	}
}

func (p *parser) unary() (node, error) {
	if p.accept("-") {
		n, err := p.unary()
		if err != nil {
			return nil, err
		}
		if lit, ok := n.(numberLit); ok {
			return numberLit{-lit.v}, nil
		}
		return unaryMinus{n}, nil
	}
	p.accept("+")
	return p.primary()
}

var aggregations = map[string]bool{"sum": true, "min": true, "max": true, "avg": true, "count": true, "topk": true, "bottomk": true}

var functions = map[string]bool{"rate": true, "increase": true, "irate": true, "delta": true, "abs": true,
	"min_over_time": true, "max_over_time": true, "avg_over_time": true, "last_over_time": true, "sum_over_time": true, "count_over_time": true}

func (p *parser) primary() (node, error) {
	p.space()
	if p.i >= len(p.s) {
		return nil, errors.New("unexpected end of expression")
	}
	c := p.s[p.i]
	switch {
	case c == '(':
		p.i++
		n, err := p.expr(0)
		if err != nil {
			return nil, err
		}
		if err := p.expect(")"); err != nil {
			return nil, err
		}
		return p.postfix(n)
	case c == '{':
		return p.selector("")
	case c >= '0' && c <= '9' || c == '.':
		j := p.i
		for j < len(p.s) && (strings.IndexByte("0123456789.eE", p.s[j]) >= 0 || (p.s[j] == '-' || p.s[j] == '+') && j > p.i && (p.s[j-1] == 'e' || p.s[j-1] == 'E')) {
			j++
		}
		v, err := strconv.ParseFloat(p.s[p.i:j], 64)
		if err != nil {
			return nil, fmt.Errorf("number %q: %w", p.s[p.i:j], err)
		}
		p.i = j
		return numberLit{v}, nil
	}
	id := p.ident()
	if id == "" {
		return nil, fmt.Errorf("unexpected %q at %d", p.rest(12), p.i)
	}
	switch lid := strings.ToLower(id); {
	case aggregations[lid]:
		return p.aggregate(lid)
	case p.peekParen():
		if !functions[id] {
			return nil, fmt.Errorf("function %s is not supported", id)
		}
		p.accept("(")
		var args []node
		for !p.accept(")") {
			if len(args) > 0 {
				if err := p.expect(","); err != nil {
					return nil, err
				}
			}
			a, err := p.expr(0)
			if err != nil {
				return nil, err
			}
			args = append(args, a)
		}
		if len(args) != 1 {
			return nil, fmt.Errorf("%s takes one argument, got %d", id, len(args))
		}
		return &call{fn: id, args: args}, nil
	case lid == "inf" || lid == "nan":
		v, _ := strconv.ParseFloat(id, 64)
		return numberLit{v}, nil
	}
	return p.selector(id)
}

func (p *parser) peekParen() bool {
	p.space()
	return p.i < len(p.s) && p.s[p.i] == '('
}

func (p *parser) aggregate(op string) (node, error) {
	a := &aggregate{op: op}
	var err error
	clause := func() error {
		switch p.peekIdent() {
		case "by", "without":
			a.without = p.ident() == "without"
			a.labels, err = p.labelList()
		}
		return err
	}
	if err := clause(); err != nil {
		return nil, err
	}
	if err := p.expect("("); err != nil {
		return nil, err
	}
	if a.expr, err = p.expr(0); err != nil {
		return nil, err
	}
	if p.accept(",") {
		k, ok := a.expr.(numberLit)
		if !ok || (op != "topk" && op != "bottomk") {
			return nil, fmt.Errorf("%s with this parameter is not supported", op)
		}
		a.param = k.v
		if a.expr, err = p.expr(0); err != nil {
			return nil, err
		}
	} else if op == "topk" || op == "bottomk" {
		return nil, fmt.Errorf("%s needs a parameter", op)
	}
	if err := p.expect(")"); err != nil {
		return nil, err
	}
	if a.labels == nil && !a.without {
		if err := clause(); err != nil {
			return nil, err
		}
	}
	return a, nil
}

func (p *parser) labelList() ([]string, error) {
	if err := p.expect("("); err != nil {
		return nil, err
	}
	out := []string{}
	for !p.accept(")") {
		if len(out) > 0 {
			if err := p.expect(","); err != nil {
				return nil, err
			}
			if p.accept(")") {
				break
			}
		}
		id := p.ident()
		if id == "" {
			return nil, fmt.Errorf("expected a label name at %d", p.i)
		}
		out = append(out, id)
	}
	return out, nil
}

func (p *parser) selector(name string) (node, error) {
	s := &selector{}
	if name != "" {
		s.matchers = append(s.matchers, labelMatcher{name: "__name__", op: "=", value: name})
	}
	if p.accept("{") {
		for !p.accept("}") {
			if len(s.matchers) > 0 && (name == "" || len(s.matchers) > 1) {
				if err := p.expect(","); err != nil {
					return nil, err
				}
				if p.accept("}") {
					break
				}
			}
			l := p.ident()
			if l == "" {
				return nil, fmt.Errorf("expected a label name at %d", p.i)
			}
			var op string
			for _, o := range []string{"=~", "!~", "!=", "="} {
				if p.accept(o) {
					op = o
					break
				}
			}
			if op == "" {
				return nil, fmt.Errorf("expected a matcher operator after %s", l)
			}
			v, err := p.str()
			if err != nil {
				return nil, err
			}
			m := labelMatcher{name: l, op: op, value: v}
			if op == "=~" || op == "!~" {
				if m.re, err = regexp.Compile("^(?:" + v + ")$"); err != nil {
					return nil, fmt.Errorf("matcher %s%s%q: %w", l, op, v, err)
				}
			}
			s.matchers = append(s.matchers, m)
		}
	}
	if len(s.matchers) == 0 {
		return nil, errors.New("a selector needs a metric name or a matcher")
	}
	if p.accept("[") {
		d, err := p.duration("]")
		if err != nil {
			return nil, err
		}
		s.rng = d
	}
	return p.postfix(s)
}

// postfix parses an optional offset.
func (p *parser) postfix(n node) (node, error) {
	if p.peekIdent() != "offset" {
		return n, nil
	}
	p.ident()
	s, ok := n.(*selector)
	if !ok {
		return nil, errors.New("offset applies to a selector only")
	}
	d, err := p.duration("")
	if err != nil {
		return nil, err
	}
	s.offset = d
	return s, nil
}

func (p *parser) duration(end string) (time.Duration, error) {
	p.space()
	j := p.i
	for j < len(p.s) && (p.s[j] >= '0' && p.s[j] <= '9' || strings.IndexByte("smhdwy", p.s[j]) >= 0) {
		j++
	}
	raw := p.s[p.i:j]
	p.i = j
	if end != "" {
		if p.accept(":") {
			return 0, errors.New("subqueries are not supported")
		}
		if err := p.expect(end); err != nil {
			return 0, err
		}
	}
	return parseDuration(raw)
}

// parseDuration parses a Prometheus duration: 5m, 1h30m, 2d, 1w.
func parseDuration(s string) (time.Duration, error) {
	if s == "" {
		return 0, errors.New("empty duration")
	}
	units := map[byte]time.Duration{'s': time.Second, 'm': time.Minute, 'h': time.Hour, 'd': 24 * time.Hour, 'w': 7 * 24 * time.Hour, 'y': 365 * 24 * time.Hour}
	var total time.Duration
	for s != "" {
		j := 0
		for j < len(s) && s[j] >= '0' && s[j] <= '9' {
			j++
		}
		if j == 0 || j == len(s) {
			return 0, fmt.Errorf("bad duration %q", s)
		}
		n, _ := strconv.Atoi(s[:j])
		u := units[s[j]]
		k := j + 1
		if s[j] == 'm' && k < len(s) && s[k] == 's' {
			u, k = time.Millisecond, k+1
		}
		if u == 0 {
			return 0, fmt.Errorf("bad duration unit in %q", s)
		}
		total += time.Duration(n) * u
		s = s[k:]
	}
	return total, nil
}

func (p *parser) str() (string, error) {
	p.space()
	if p.i >= len(p.s) || (p.s[p.i] != '"' && p.s[p.i] != '\'' && p.s[p.i] != '`') {
		return "", fmt.Errorf("expected a string at %d", p.i)
	}
	q := p.s[p.i]
	j := p.i + 1
	for j < len(p.s) && p.s[j] != q {
		if p.s[j] == '\\' && q != '`' {
			j++
		}
		j++
	}
	if j >= len(p.s) {
		return "", errors.New("unterminated string")
	}
	raw := p.s[p.i : j+1]
	p.i = j + 1
	if q == '`' {
		return raw[1 : len(raw)-1], nil
	}
	if q == '\'' {
		raw = `"` + strings.ReplaceAll(strings.ReplaceAll(raw[1:len(raw)-1], `\'`, `'`), `"`, `\"`) + `"`
	}
	return strconv.Unquote(raw)
}

// ---- evaluation ----

// sample is one element of an instant vector.
type sample struct {
	labels map[string]string
	v      float64
}

// value is a scalar (isScalar) or an instant vector.
type value struct {
	isScalar bool
	scalar   float64
	vec      []sample
}

// lookback is how far back an instant selector looks for a sample.
const lookback = 5 * time.Minute

func (f *File) eval(n node, t int64) (value, error) {
	switch n := n.(type) {
	case numberLit:
		return value{isScalar: true, scalar: n.v}, nil
	case unaryMinus:
		v, err := f.eval(n.expr, t)
		if err != nil {
			return v, err
		}
		if v.isScalar {
			v.scalar = -v.scalar
			return v, nil
		}
		for i := range v.vec {
			v.vec[i] = sample{dropName(v.vec[i].labels), -v.vec[i].v}
		}
		return v, nil
	case *selector:
		if n.rng > 0 {
			return value{}, errors.New("a range selector must be the argument of a function")
		}
		var out []sample
		at := t - n.offset.Milliseconds()
		for _, s := range f.match(n.matchers) {
			if v, ok := s.at(at, at-lookback.Milliseconds()); ok {
				out = append(out, sample{s.labels, v})
			}
		}
		return value{vec: out}, nil
	case *call:
		return f.evalCall(n, t)
	case *aggregate:
		return f.evalAggregate(n, t)
	case *binary:
		return f.evalBinary(n, t)
	}
	return value{}, fmt.Errorf("unsupported expression %T", n)
}

func (f *File) evalCall(c *call, t int64) (value, error) {
	if c.fn == "abs" {
		v, err := f.eval(c.args[0], t)
		if err != nil || v.isScalar {
			v.scalar = math.Abs(v.scalar)
			return v, err
		}
		for i := range v.vec {
			v.vec[i] = sample{dropName(v.vec[i].labels), math.Abs(v.vec[i].v)}
		}
		return v, nil
	}
	sel, ok := c.args[0].(*selector)
	if !ok || sel.rng == 0 {
		return value{}, fmt.Errorf("%s needs a range selector argument", c.fn)
	}
	end := t - sel.offset.Milliseconds()
	start := end - sel.rng.Milliseconds()
	var out []sample
	for _, s := range f.match(sel.matchers) {
		ts, vs := s.window(start, end)
		if len(vs) == 0 {
			continue
		}
		var r float64
		switch c.fn {
		case "rate", "increase", "irate", "delta":
			if len(vs) < 2 {
				continue
			}
			if c.fn == "irate" {
				ts, vs = ts[len(ts)-2:], vs[len(vs)-2:]
			}
			d := vs[len(vs)-1] - vs[0]
			if c.fn != "delta" {
				for i := 1; i < len(vs); i++ {
					if vs[i] < vs[i-1] { // counter reset
						d += vs[i-1]
					}
				}
			}
			perSec := d / (float64(ts[len(ts)-1]-ts[0]) / 1000)
			switch c.fn {
			case "rate", "irate":
				r = perSec
			default:
				r = perSec * sel.rng.Seconds()
			}
		case "min_over_time":
			r = vs[0]
			for _, v := range vs {
				r = math.Min(r, v)
			}
		case "max_over_time":
			r = vs[0]
			for _, v := range vs {
				r = math.Max(r, v)
			}
		case "avg_over_time", "sum_over_time":
			for _, v := range vs {
				r += v
			}
			if c.fn == "avg_over_time" {
				r /= float64(len(vs))
			}
		case "count_over_time":
			r = float64(len(vs))
		case "last_over_time":
			r = vs[len(vs)-1]
		}
		out = append(out, sample{dropName(s.labels), r})
	}
	return value{vec: out}, nil
}

func (f *File) evalAggregate(a *aggregate, t int64) (value, error) {
	v, err := f.eval(a.expr, t)
	if err != nil {
		return v, err
	}
	if v.isScalar {
		return value{}, fmt.Errorf("%s over a scalar", a.op)
	}
	type group struct {
		labels  map[string]string
		vals    []float64
		samples []sample
	}
	groups := map[string]*group{}
	var order []string
	for _, s := range v.vec {
		l := map[string]string{}
		if a.without {
			for k, val := range s.labels {
				if k != "__name__" && !slices.Contains(a.labels, k) {
					l[k] = val
				}
			}
		} else {
			for _, k := range a.labels {
				if val, ok := s.labels[k]; ok {
					l[k] = val
				}
			}
		}
		key := signature(l)
		g := groups[key]
		if g == nil {
			g = &group{labels: l}
			groups[key] = g
			order = append(order, key)
		}
		g.vals = append(g.vals, s.v)
		g.samples = append(g.samples, s)
	}
	out := make([]sample, 0, len(groups))
	for _, k := range order {
		g := groups[k]
		if a.op == "topk" || a.op == "bottomk" {
			sort.SliceStable(g.samples, func(i, j int) bool {
				if a.op == "topk" {
					return g.samples[i].v > g.samples[j].v
				}
				return g.samples[i].v < g.samples[j].v
			})
			out = append(out, g.samples[:min(int(a.param), len(g.samples))]...)
			continue
		}
		r := g.vals[0]
		switch a.op {
		case "sum", "avg":
			r = 0
			for _, x := range g.vals {
				r += x
			}
			if a.op == "avg" {
				r /= float64(len(g.vals))
			}
		case "min":
			for _, x := range g.vals {
				r = math.Min(r, x)
			}
		case "max":
			for _, x := range g.vals {
				r = math.Max(r, x)
			}
		case "count":
			r = float64(len(g.vals))
		}
		out = append(out, sample{g.labels, r})
	}
	return value{vec: out}, nil
}

func (f *File) evalBinary(b *binary, t int64) (value, error) {
	l, err := f.eval(b.lhs, t)
	if err != nil {
		return l, err
	}
	r, err := f.eval(b.rhs, t)
	if err != nil {
		return r, err
	}
	cmp := isComparison(b.op)
	switch {
	case b.op == "and" || b.op == "or" || b.op == "unless":
		if l.isScalar || r.isScalar {
			return value{}, fmt.Errorf("%s needs vectors on both sides", b.op)
		}
		return value{vec: setOp(b, l.vec, r.vec)}, nil
	case l.isScalar && r.isScalar:
		v, keep := apply(b.op, l.scalar, r.scalar)
		if cmp && !b.returnBool {
			return value{}, errors.New("comparisons between scalars need bool")
		}
		if cmp {
			v = boolValue(keep)
		}
		return value{isScalar: true, scalar: v}, nil
	case l.isScalar || r.isScalar:
		vec, sc, scalarLeft := r.vec, l.scalar, true
		if r.isScalar {
			vec, sc, scalarLeft = l.vec, r.scalar, false
		}
		var out []sample
		for _, s := range vec {
			x, y := s.v, sc
			if scalarLeft {
				x, y = sc, s.v
			}
			v, keep := apply(b.op, x, y)
			switch {
			case cmp && b.returnBool:
				out = append(out, sample{dropName(s.labels), boolValue(keep)})
			case cmp:
				if keep {
					out = append(out, s)
				}
			default:
				out = append(out, sample{dropName(s.labels), v})
			}
		}
		return value{vec: out}, nil
	}
	many, one := l.vec, r.vec
	if b.card == "right" {
		many, one = r.vec, l.vec
	}
	ones := map[string]sample{}
	for _, s := range one {
		k := b.sig(s.labels)
		if _, dup := ones[k]; dup {
			return value{}, fmt.Errorf("many-to-many matching for %s is not supported", b.op)
		}
		ones[k] = s
	}
	seen := map[string]bool{}
	var out []sample
	for _, s := range many {
		k := b.sig(s.labels)
		os, ok := ones[k]
		if !ok {
			continue
		}
		if b.card == "" {
			if seen[k] {
				return value{}, fmt.Errorf("many-to-one matching for %s needs group_left or group_right", b.op)
			}
			seen[k] = true
		}
		x, y := s.v, os.v
		if b.card == "right" {
			x, y = os.v, s.v
		}
		v, keep := apply(b.op, x, y)
		switch {
		case cmp && !b.returnBool:
			if keep {
				out = append(out, sample{b.manyLabels(s.labels, os.labels, false), x})
			}
		case cmp:
			out = append(out, sample{b.manyLabels(s.labels, os.labels, true), boolValue(keep)})
		default:
			out = append(out, sample{b.manyLabels(s.labels, os.labels, true), v})
		}
	}
	return value{vec: out}, nil
}

// sig is the matching signature of labels for b.
func (b *binary) sig(l map[string]string) string {
	m := map[string]string{}
	for k, v := range l {
		if k == "__name__" {
			continue
		}
		if b.matching && b.on != slices.Contains(b.labels, k) {
			continue
		}
		m[k] = v
	}
	return signature(m)
}

// resultLabels are the labels of a one-to-one arithmetic result: the
// left side's without the metric name; with on(...) only those labels,
// with ignoring(...) without them.
func (b *binary) resultLabels(l map[string]string) map[string]string {
	out := map[string]string{}
	for k, v := range l {
		if k == "__name__" {
			continue
		}
		if b.matching && b.on != slices.Contains(b.labels, k) {
			continue
		}
		out[k] = v
	}
	return out
}

// manyLabels are the labels of a vector-vector result: one-to-one, those
// of resultLabels (or the left side's as they are, for a filtering
// comparison); many-to-one, the many side's plus the included labels of
// the one side.
func (b *binary) manyLabels(many, one map[string]string, drop bool) map[string]string {
	if b.card == "" {
		if !drop {
			return many
		}
		return b.resultLabels(many)
	}
	out := map[string]string{}
	for k, v := range many {
		if k != "__name__" || !drop {
			out[k] = v
		}
	}
	for _, k := range b.include {
		if v, ok := one[k]; ok {
			out[k] = v
		} else {
			delete(out, k)
		}
	}
	return out
}

func setOp(b *binary, l, r []sample) []sample {
	sig := func(s sample) string {
		if b.matching {
			return b.sig(s.labels)
		}
		return signature(dropName(s.labels))
	}
	in := map[string]bool{}
	for _, s := range r {
		in[sig(s)] = true
	}
	var out []sample
	switch b.op {
	case "and", "unless":
		for _, s := range l {
			if in[sig(s)] == (b.op == "and") {
				out = append(out, s)
			}
		}
	case "or":
		left := map[string]bool{}
		for _, s := range l {
			left[sig(s)] = true
			out = append(out, s)
		}
		for _, s := range r {
			if !left[sig(s)] {
				out = append(out, s)
			}
		}
	}
	return out
}

func isComparison(op string) bool {
	switch op {
	case "==", "!=", ">", "<", ">=", "<=":
		return true
	}
	return false
}

func apply(op string, x, y float64) (float64, bool) {
	switch op {
	case "+":
		return x + y, true
	case "-":
		return x - y, true
	case "*":
		return x * y, true
	case "/":
		return x / y, true
	case "%":
		return math.Mod(x, y), true
	case "^":
		return math.Pow(x, y), true
	case "==":
		return x, x == y
	case "!=":
		return x, x != y
	case ">":
		return x, x > y
	case "<":
		return x, x < y
	case ">=":
		return x, x >= y
	case "<=":
		return x, x <= y
	}
	return 0, false
}

func boolValue(b bool) float64 {
	if b {
		return 1
	}
	return 0
}

func dropName(l map[string]string) map[string]string {
	if _, ok := l["__name__"]; !ok {
		return l
	}
	out := make(map[string]string, len(l))
	for k, v := range l {
		if k != "__name__" {
			out[k] = v
		}
	}
	return out
}

// signature is a canonical string of a label set.
func signature(l map[string]string) string {
	keys := make([]string, 0, len(l))
	for k := range l {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	var b strings.Builder
	for _, k := range keys {
		b.WriteString(k)
		b.WriteByte(0)
		b.WriteString(l[k])
		b.WriteByte(0)
	}
	return b.String()
}
