package main

import (
	"go/ast"
	"go/token"
	"go/types"
	"sort"
	"strconv"
	"strings"
)

// val is one string an expression can take, and the file where it entered
// the code that uses it (the caller that passed it, not the constant's
// declaration).
type val struct {
	s  string // "*" stands for a part computed at run time
	at *file
}

// frame is where an expression sits: its file and enclosing function
// (nil at package level).
type frame struct {
	f  *file
	fn *ast.FuncDecl
}

// dynamic is an expression the resolver could not turn into strings.
type dynamic struct {
	pos  string // file:line
	file string
	expr string
}

// resolver turns expressions into the strings they can take by syntax
// alone: literals, constants (across packages), errors.New sentinels,
// local assignments, and parameters, whose values it reads at the call
// sites of the function (scope bounds where it looks for them).
type resolver struct {
	src     *source
	callers map[string][]callSite // by called name
	values  map[string][]valueRef // functions passed as values, by name
	unknown []dynamic
	active  map[paramKey]bool
}

type callSite struct {
	fr   frame
	call *ast.CallExpr
}

// valueRef is a function or method passed as argument arg of a call
// (nodestatus.MemoryPressureCondition(..., kl.recordNodeStatusEvent)).
type valueRef struct {
	callSite
	arg int
}

type paramKey struct {
	fn  *ast.FuncDecl
	idx int
}

// maxDepth bounds how many calls up a parameter is followed.
const maxDepth = 6

func newResolver(src *source, scope []*pkg) *resolver {
	r := &resolver{src: src, callers: map[string][]callSite{}, values: map[string][]valueRef{}, active: map[paramKey]bool{}}
	for _, p := range scope {
		for _, f := range p.files {
			for _, d := range f.ast.Decls {
				fd, ok := d.(*ast.FuncDecl)
				if !ok || fd.Body == nil {
					continue
				}
				ast.Inspect(fd.Body, func(n ast.Node) bool {
					c, ok := n.(*ast.CallExpr)
					if !ok {
						return true
					}
					cs := callSite{frame{f, fd}, c}
					if name := typeName(c.Fun); name != "" {
						r.callers[name] = append(r.callers[name], cs)
					}
					for i, a := range c.Args {
						if name := typeName(a); name != "" {
							r.values[name] = append(r.values[name], valueRef{cs, i})
						}
					}
					return true
				})
			}
		}
	}
	return r
}

func exprString(e ast.Expr) string { return types.ExprString(e) }

// note records an unresolved expression.
func (r *resolver) note(fr frame, e ast.Expr) {
	r.unknown = append(r.unknown, dynamic{pos: r.src.pos(fr.f, e), file: fr.f.rel, expr: exprString(e)})
}

// resolve returns the strings e can take. Parts it cannot resolve are
// recorded with note; a value that is only partly known carries "*".
func (r *resolver) resolve(fr frame, e ast.Expr, depth int) []val {
	vs, ok := r.try(fr, e, depth)
	if !ok {
		r.note(fr, e)
	}
	return vs
}

// try is resolve without recording the expression itself as unresolved
// when it fails (its unresolved parts below are recorded).
func (r *resolver) try(fr frame, e ast.Expr, depth int) ([]val, bool) {
	switch e := e.(type) {
	case *ast.ParenExpr:
		return r.try(fr, e.X, depth)
	case *ast.BasicLit:
		if e.Kind != token.STRING {
			return nil, false
		}
		s, err := strconv.Unquote(e.Value)
		if err != nil {
			return nil, false
		}
		return []val{{s, fr.f}}, true
	case *ast.Ident:
		return r.ident(fr, e, depth)
	case *ast.SelectorExpr:
		if x, ok := e.X.(*ast.Ident); ok {
			if path, ok := fr.f.imports[x.Name]; ok && !r.shadowed(fr, x) {
				return r.pkgValue(fr, path, e.Sel.Name, depth)
			}
		}
		return nil, false
	case *ast.CallExpr:
		return r.call(fr, e, depth)
	case *ast.BinaryExpr:
		if e.Op != token.ADD {
			return nil, false
		}
		l, lok := r.try(fr, e.X, depth)
		rt, rok := r.try(fr, e.Y, depth)
		if !lok && !rok {
			return nil, false
		}
		if !lok {
			l = []val{{"*", fr.f}}
		}
		if !rok {
			rt = []val{{"*", fr.f}}
		}
		var out []val
		for _, a := range l {
			for _, b := range rt {
				out = append(out, val{a.s + b.s, a.at})
			}
		}
		return out, true
	}
	return nil, false
}

// shadowed reports whether the identifier names a local variable or
// parameter (so it is not the import of that name).
func (r *resolver) shadowed(fr frame, id *ast.Ident) bool {
	if fr.fn == nil {
		return false
	}
	if _, ok := paramIndex(fr.fn, id.Name); ok {
		return true
	}
	_, declared := localAssigns(fr.fn, id.Name, id.Pos())
	return declared
}

// pkgValue resolves the package-level name in the package at path.
func (r *resolver) pkgValue(fr frame, path, name string, depth int) ([]val, bool) {
	p, err := r.src.load(path)
	if err != nil || p == nil {
		return nil, false
	}
	d, ok := p.values[name]
	if !ok {
		return nil, false
	}
	vs, ok := r.try(frame{f: d.file}, d.expr, depth)
	return reenter(vs, fr.f), ok
}

// reenter moves values found in a declaration to the file that used it.
func reenter(vs []val, at *file) []val {
	out := make([]val, len(vs))
	for i, v := range vs {
		out[i] = val{v.s, at}
	}
	return out
}

func (r *resolver) ident(fr frame, id *ast.Ident, depth int) ([]val, bool) {
	if fr.fn != nil {
		assigns, declared := localAssigns(fr.fn, id.Name, id.Pos())
		idx, isParam := paramIndex(fr.fn, id.Name)
		isParam = isParam && !declared
		if isParam || declared {
			// Every way the variable gets a value; what cannot be
			// followed is recorded here, so the caller need not.
			var out []val
			for _, a := range assigns {
				if a == nil {
					r.note(fr, id) // assigned from a multi-value call or a range
					continue
				}
				out = append(out, r.resolve(fr, a, depth)...)
			}
			if isParam {
				vs, ok := r.param(fr, idx, depth)
				if !ok {
					r.note(fr, id)
				}
				out = append(out, vs...)
			}
			return out, true
		}
	}
	d, ok := fr.f.pkg.values[id.Name]
	if !ok {
		return nil, false
	}
	vs, ok := r.try(frame{f: d.file}, d.expr, depth)
	return reenter(vs, fr.f), ok
}

// param resolves parameter idx of the frame's function from its call sites.
func (r *resolver) param(fr frame, idx, depth int) ([]val, bool) {
	k := paramKey{fr.fn, idx}
	if depth >= maxDepth || r.active[k] {
		return nil, false
	}
	r.active[k] = true
	defer delete(r.active, k)
	sites := r.argSites(fr)
	var out []val
	for _, s := range sites {
		if idx < len(s.args) {
			out = append(out, r.resolve(s.fr, s.args[idx], depth+1)...)
		}
	}
	return out, len(sites) > 0
}

// argSite is a place the frame's function is called from, with the
// arguments it gets there.
type argSite struct {
	fr   frame
	args []ast.Expr
}

// argSites returns the calls of the frame's function: direct calls, and
// calls of a parameter the function was passed to as a value.
func (r *resolver) argSites(fr frame) []argSite {
	n, variadic := paramCount(fr.fn)
	var out []argSite
	for _, cs := range r.callers[fr.fn.Name.Name] {
		if !r.calls(cs, fr) {
			continue
		}
		args := cs.call.Args
		if len(args) != n && !(variadic && len(args) >= n-1) {
			continue
		}
		if cs.call.Ellipsis.IsValid() {
			args = args[:len(args)-1] // the spread slice is not one value
		}
		out = append(out, argSite{cs.fr, args})
	}
	for _, ref := range r.values[fr.fn.Name.Name] {
		if !r.refers(ref, fr) {
			continue
		}
		callee, cf := r.callee(ref.callSite)
		if callee == nil {
			continue
		}
		pname := paramName(callee, ref.arg)
		if pname == "" {
			continue
		}
		ast.Inspect(callee.Body, func(nd ast.Node) bool {
			c, ok := nd.(*ast.CallExpr)
			if !ok {
				return true
			}
			if id, ok := c.Fun.(*ast.Ident); ok && id.Name == pname && len(c.Args) == n {
				out = append(out, argSite{frame{cf, callee}, c.Args})
			}
			return true
		})
	}
	return out
}

// refers reports whether a function value reference can denote the
// frame's function (same rules as calls).
func (r *resolver) refers(ref valueRef, fr frame) bool {
	a := ref.call.Args[ref.arg]
	switch a := a.(type) {
	case *ast.Ident:
		return fr.fn.Recv == nil && ref.fr.f.pkg == fr.f.pkg
	case *ast.SelectorExpr:
		if x, ok := a.X.(*ast.Ident); ok {
			if path, ok := ref.fr.f.imports[x.Name]; ok && !r.shadowed(ref.fr, x) {
				return fr.fn.Recv == nil && path == fr.f.pkg.path
			}
		}
		return fr.fn.Recv != nil && (ast.IsExported(fr.fn.Name.Name) || ref.fr.f.pkg == fr.f.pkg)
	}
	return false
}

// callee returns the declaration of the function a call calls, when it
// is a package function (by name in the caller's package, or pkg.Func).
func (r *resolver) callee(cs callSite) (*ast.FuncDecl, *file) {
	var p *pkg
	var name string
	switch fun := cs.call.Fun.(type) {
	case *ast.Ident:
		p, name = cs.fr.f.pkg, fun.Name
	case *ast.SelectorExpr:
		x, ok := fun.X.(*ast.Ident)
		if !ok {
			return nil, nil
		}
		path, ok := cs.fr.f.imports[x.Name]
		if !ok || r.shadowed(cs.fr, x) {
			return nil, nil
		}
		lp, err := r.src.load(path)
		if err != nil || lp == nil {
			return nil, nil
		}
		p, name = lp, fun.Sel.Name
	default:
		return nil, nil
	}
	for _, fd := range p.funcs[name] {
		if fd.Recv == nil && fd.Body != nil {
			return fd, p.fileOf[fd]
		}
	}
	return nil, nil
}

// paramName returns the name of parameter i.
func paramName(fn *ast.FuncDecl, i int) string {
	k := 0
	for _, fl := range fn.Type.Params.List {
		if len(fl.Names) == 0 {
			k++
			continue
		}
		for _, n := range fl.Names {
			if k == i {
				return n.Name
			}
			k++
		}
	}
	return ""
}

// calls reports whether the call site can call the frame's function:
// same package for a function called by name, an import of its package
// for pkg.Func, any package for a method (the resolver has no types).
func (r *resolver) calls(cs callSite, fr frame) bool {
	switch fun := cs.call.Fun.(type) {
	case *ast.Ident:
		return fr.fn.Recv == nil && cs.fr.f.pkg == fr.f.pkg
	case *ast.SelectorExpr:
		if x, ok := fun.X.(*ast.Ident); ok {
			if path, ok := cs.fr.f.imports[x.Name]; ok && !r.shadowed(cs.fr, x) {
				return fr.fn.Recv == nil && path == fr.f.pkg.path
			}
		}
		// A method: by name alone, but an unexported one only from its
		// own package.
		return fr.fn.Recv != nil && (ast.IsExported(fr.fn.Name.Name) || cs.fr.f.pkg == fr.f.pkg)
	}
	return false
}

// call resolves conversions, sentinel errors and formatted strings.
func (r *resolver) call(fr frame, c *ast.CallExpr, depth int) ([]val, bool) {
	switch fun := c.Fun.(type) {
	case *ast.Ident:
		if fun.Name == "string" && len(c.Args) == 1 {
			return r.try(fr, c.Args[0], depth)
		}
	case *ast.SelectorExpr:
		if x, ok := fun.X.(*ast.Ident); ok {
			switch fr.f.imports[x.Name] + "." + fun.Sel.Name {
			case "errors.New":
				if len(c.Args) == 1 {
					return r.try(fr, c.Args[0], depth)
				}
			case "fmt.Sprintf", "fmt.Errorf":
				return r.sprintf(fr, c, depth)
			}
		}
		// cases.Title(language.English).String(x), strings.Title(x)
		if isTitle(fr, fun) && len(c.Args) == 1 {
			vs, ok := r.try(fr, c.Args[0], depth)
			for i := range vs {
				if vs[i].s != "" {
					vs[i].s = strings.ToUpper(vs[i].s[:1]) + vs[i].s[1:]
				}
			}
			return vs, ok
		}
		// sentinel.Error()
		if fun.Sel.Name == "Error" && len(c.Args) == 0 {
			return r.try(fr, fun.X, depth)
		}
		// A conversion to a named string type: corev1.PodConditionType(x).
		if len(c.Args) == 1 && ast.IsExported(fun.Sel.Name) && strings.HasSuffix(fun.Sel.Name, "Type") {
			return r.try(fr, c.Args[0], depth)
		}
	}
	return nil, false
}

// isTitle reports whether fun is strings.Title or cases.Title(...).String.
func isTitle(fr frame, fun *ast.SelectorExpr) bool {
	if x, ok := fun.X.(*ast.Ident); ok {
		return fun.Sel.Name == "Title" && fr.f.imports[x.Name] == "strings"
	}
	if c, ok := fun.X.(*ast.CallExpr); ok && fun.Sel.Name == "String" {
		if s, ok := c.Fun.(*ast.SelectorExpr); ok && s.Sel.Name == "Title" {
			x, ok := s.X.(*ast.Ident)
			return ok && fr.f.imports[x.Name] == "golang.org/x/text/cases"
		}
	}
	return false
}

// maxValues bounds how many strings one formatted expression expands to.
const maxValues = 64

// sprintf renders fmt.Sprintf with every combination of its resolvable
// arguments' values; a verb whose argument is not resolvable becomes "*".
func (r *resolver) sprintf(fr frame, c *ast.CallExpr, depth int) ([]val, bool) {
	if len(c.Args) == 0 {
		return nil, false
	}
	fs, ok := r.try(fr, c.Args[0], depth)
	if !ok || len(fs) != 1 {
		return nil, false
	}
	format, args := fs[0].s, c.Args[1:]
	outs := []string{""}
	appendAll := func(subs ...string) {
		var next []string
		for _, o := range outs {
			for _, s := range subs {
				if len(next) < maxValues {
					next = append(next, o+s)
				}
			}
		}
		outs = next
	}
	for i := 0; i < len(format); i++ {
		if format[i] != '%' {
			appendAll(format[i : i+1])
			continue
		}
		j := i + 1
		for j < len(format) && strings.IndexByte("+-# 0123456789.", format[j]) >= 0 {
			j++
		}
		if j >= len(format) {
			break
		}
		i = j
		if format[j] == '%' {
			appendAll("%")
			continue
		}
		subs := []string{"*"}
		if len(args) > 0 {
			if vs, ok := r.try(fr, args[0], depth); ok && len(vs) > 0 {
				subs = subs[:0]
				for _, v := range vs {
					subs = append(subs, v.s)
				}
			}
			args = args[1:]
		}
		appendAll(subs...)
	}
	var out []val
	for _, o := range outs {
		if o != "*" {
			out = append(out, val{o, fr.f})
		}
	}
	return out, len(out) > 0
}

// paramIndex returns the position of the named parameter.
func paramIndex(fn *ast.FuncDecl, name string) (int, bool) {
	i := 0
	for _, fl := range fn.Type.Params.List {
		if len(fl.Names) == 0 {
			i++
			continue
		}
		for _, n := range fl.Names {
			if n.Name == name {
				return i, true
			}
			i++
		}
	}
	return 0, false
}

func paramCount(fn *ast.FuncDecl) (n int, variadic bool) {
	for _, fl := range fn.Type.Params.List {
		k := len(fl.Names)
		if k == 0 {
			k = 1
		}
		n += k
		if _, ok := fl.Type.(*ast.Ellipsis); ok {
			variadic = true
		}
	}
	return n, variadic
}

// localDef is a declaration of a local variable: where it is visible,
// and its initial value (nil when it cannot be followed: a multi-value
// call, a range or type switch variable, a closure parameter).
type localDef struct {
	pos        token.Pos
	start, end token.Pos // the scope it is visible in
	expr       ast.Expr
	zero       bool // var x T: no value of its own
}

type localAssign struct {
	pos  token.Pos
	expr ast.Expr // nil when it cannot be followed
}

// localAssigns returns the expressions the variable name, as seen at use,
// can hold inside fn: the value of the declaration in scope there and
// every later assignment to that same variable (nil entries for values the
// resolver cannot follow). declared is false when no local declaration is
// in scope; the expressions are then assignments to a parameter.
func localAssigns(fn *ast.FuncDecl, name string, use token.Pos) (exprs []ast.Expr, declared bool) {
	if fn.Body == nil {
		return nil, false
	}
	var defs []localDef
	var assigns []localAssign
	var stack []ast.Node
	scope := func() ast.Node {
		for i := len(stack) - 1; i >= 0; i-- {
			switch stack[i].(type) {
			case *ast.BlockStmt, *ast.IfStmt, *ast.ForStmt, *ast.RangeStmt, *ast.SwitchStmt,
				*ast.TypeSwitchStmt, *ast.CaseClause, *ast.CommClause, *ast.FuncLit, *ast.SelectStmt:
				return stack[i]
			}
		}
		return fn.Body
	}
	def := func(id *ast.Ident, sc ast.Node, expr ast.Expr, zero bool) {
		defs = append(defs, localDef{pos: id.Pos(), start: sc.Pos(), end: sc.End(), expr: expr, zero: zero})
	}
	ast.Inspect(fn.Body, func(n ast.Node) bool {
		if n == nil {
			stack = stack[:len(stack)-1]
			return true
		}
		switch n := n.(type) {
		case *ast.AssignStmt:
			for i, l := range n.Lhs {
				id, ok := l.(*ast.Ident)
				if !ok || id.Name != name {
					continue
				}
				var e ast.Expr
				if len(n.Lhs) == len(n.Rhs) {
					e = n.Rhs[i]
				}
				if n.Tok == token.DEFINE {
					def(id, scope(), e, false)
				} else if n.Tok == token.ASSIGN {
					assigns = append(assigns, localAssign{id.Pos(), e})
				}
			}
		case *ast.ValueSpec:
			for i, id := range n.Names {
				if id.Name != name {
					continue
				}
				switch {
				case len(n.Values) == len(n.Names):
					def(id, scope(), n.Values[i], false)
				case len(n.Values) == 0:
					def(id, scope(), nil, true)
				default:
					def(id, scope(), nil, false)
				}
			}
		case *ast.RangeStmt:
			for _, x := range []ast.Expr{n.Key, n.Value} {
				if id, ok := x.(*ast.Ident); ok && id.Name == name && n.Tok == token.DEFINE {
					def(id, n, nil, false)
				}
			}
		case *ast.TypeSwitchStmt:
			if a, ok := n.Assign.(*ast.AssignStmt); ok {
				if id, ok := a.Lhs[0].(*ast.Ident); ok && id.Name == name {
					def(id, n, nil, false)
				}
			}
		case *ast.FuncLit:
			for _, fl := range n.Type.Params.List {
				for _, id := range fl.Names {
					if id.Name == name {
						def(id, n, nil, false)
					}
				}
			}
		}
		stack = append(stack, n)
		return true
	})
	// govern returns the declaration in scope at p (nil: none, a parameter).
	govern := func(p token.Pos) *localDef {
		var best *localDef
		for i := range defs {
			d := &defs[i]
			if d.start > p || p >= d.end || d.pos > p {
				continue
			}
			if best == nil || d.end-d.start < best.end-best.start || d.end-d.start == best.end-best.start && d.pos > best.pos {
				best = d
			}
		}
		return best
	}
	g := govern(use)
	if g != nil && !g.zero {
		exprs = append(exprs, g.expr)
	}
	for _, a := range assigns {
		if govern(a.pos) == g {
			exprs = append(exprs, a.expr)
		}
	}
	return exprs, g != nil
}

// sortedDynamic returns the unresolved expressions, deduplicated.
func (r *resolver) sortedDynamic() []dynamic {
	seen := map[dynamic]bool{}
	var out []dynamic
	for _, d := range r.unknown {
		if !seen[d] {
			seen[d] = true
			out = append(out, d)
		}
	}
	sort.Slice(out, func(i, j int) bool { return out[i].pos < out[j].pos })
	return out
}
