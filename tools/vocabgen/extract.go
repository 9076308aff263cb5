package main

import (
	"fmt"
	"go/ast"
	"path"
	"regexp"
	"slices"
	"sort"
	"strings"
)

// Kinds of reasons: where in the API a reason appears.
const (
	kindEvent      = "event"                // Event.reason
	kindWaiting    = "container-waiting"    // containerStatuses[].state.waiting.reason
	kindTerminated = "container-terminated" // containerStatuses[].state.terminated.reason
	kindPodStatus  = "pod-status"           // pod.status.reason
)

// Component is a part of Kubernetes whose reasons are extracted: the
// packages under its roots (import paths), and its single packages, emit
// them.
type Component struct {
	Name     string
	Roots    []string
	Packages []string
}

// Entry is one reason of the vocabulary.
type Entry struct {
	Kind      string
	Reason    string   // "*" stands for a part computed at run time (OutOf*)
	Component string   // the component whose code puts it there
	Type      string   // for events: Normal, Warning, or Normal|Warning; "?" when computed
	Files     []string // where the reason enters the component's code
}

// KnownDynamic is an expression the extraction cannot resolve by syntax,
// acknowledged with the reason why its values are still covered (or not
// part of the vocabulary).
type KnownDynamic struct {
	File string // module-relative file, as shown in the output
	Expr string // the expression's source text
	Why  string
	// From, when set, names the reasons that reach this expression: a
	// ReasonSet, or "admission" for the kubelet's admission reasons (the
	// pod-status reasons of PodAdmitResult and PredicateFailureError).
	From string
}

// ReasonSet is a set of reasons the syntax-only resolver cannot follow to
// where they are used, collected where they are made instead. Exactly one
// of its three forms is set.
type ReasonSet struct {
	Name string
	// Calls of function Func whose first argument names one of First:
	// their argument Arg.
	Func  string
	First []string
	Arg   int
	// Methods named Method whose receiver type's name ends with
	// ReceiverSuffix: the values they return.
	Method, ReceiverSuffix string
	// Composite literals of type Type: the value of their field Field.
	Type, Field string
}

// RuntimeReason is a container-terminated reason set by the container
// runtime (containerd, CRI-O) rather than by Kubernetes: the Kubernetes
// source only compares against it. It is kept when Ref, a file of the
// Kubernetes module, still holds it as a string literal.
type RuntimeReason struct {
	Reason string
	Ref    string
}

// Config is what to extract.
type Config struct {
	Components []Component
	// Container and pod status reasons are read from these roots only
	// (the kubelet, and controllers that set pod.status.reason).
	StatusRoots []string
	Runtime     []RuntimeReason
	Known       []KnownDynamic
	Sets        []ReasonSet
	RuntimeName string // component name of Runtime reasons
}

// Result is the extracted vocabulary and what could not be resolved.
type Result struct {
	Entries []Entry
	// Unresolved lists expressions that are neither resolved nor known:
	// a source change the configuration must acknowledge.
	Unresolved []string
}

var reasonWord = regexp.MustCompile(`^[A-Z][A-Za-z0-9]+$`)

// Extract reads the components' source and returns their vocabulary.
func Extract(src *source, cfg Config) (*Result, error) {
	x := &extraction{src: src, cfg: cfg, entries: map[entryKey]*Entry{}, compOf: map[*pkg]string{}}
	// A package under two roots belongs to the component of the longer one.
	rootLen := map[*pkg]int{}
	var scope []*pkg
	for _, c := range cfg.Components {
		for _, root := range append(append([]string(nil), c.Roots...), c.Packages...) {
			var ps []*pkg
			var err error
			if slices.Contains(c.Packages, root) {
				var p *pkg
				if p, err = src.load(root); p == nil && err == nil {
					err = fmt.Errorf("no Go files in %s", root)
				}
				ps = []*pkg{p}
			} else {
				ps, err = src.tree(root)
			}
			if err != nil {
				return nil, fmt.Errorf("component %s: %w", c.Name, err)
			}
			for _, p := range ps {
				if _, seen := rootLen[p]; !seen {
					scope = append(scope, p)
				} else if rootLen[p] >= len(root) {
					continue
				}
				rootLen[p], x.compOf[p] = len(root), c.Name
			}
		}
	}
	x.r = newResolver(src, scope)
	x.scope = scope
	x.events()
	var status []*pkg
	for _, p := range scope {
		for _, root := range cfg.StatusRoots {
			if p.path == root || strings.HasPrefix(p.path, root+"/") {
				status = append(status, p)
				break
			}
		}
	}
	x.statusReasons(status)
	if err := x.runtimeReasons(); err != nil {
		return nil, err
	}
	if err := x.copyKnown(); err != nil {
		return nil, err
	}
	return x.result(), nil
}

type entryKey struct{ kind, reason, component string }

type extraction struct {
	src     *source
	cfg     Config
	r       *resolver
	scope   []*pkg
	compOf  map[*pkg]string
	entries map[entryKey]*Entry
	// admission holds the kubelet's admission reasons (see KnownDynamic.From).
	admission []val
	// copies are known dynamic expressions that receive another extraction's reasons.
	copies []copySite
}

type copySite struct {
	kind, typ string
	at        *file
	from      string
}

func (x *extraction) add(kind, typ string, v val, fallback *file) {
	at := v.at
	if at == nil || x.compOf[at.pkg] == "" {
		at = fallback
	}
	comp := x.compOf[at.pkg]
	k := entryKey{kind, v.s, comp}
	e := x.entries[k]
	if e == nil {
		e = &Entry{Kind: kind, Reason: v.s, Component: comp}
		x.entries[k] = e
	}
	e.Type = mergeType(e.Type, typ)
	if !slices.Contains(e.Files, at.rel) {
		e.Files = append(e.Files, at.rel)
	}
}

func mergeType(a, b string) string {
	switch {
	case a == "" || a == b:
		return b
	case b == "":
		return a
	case a == "?" || b == "?":
		return "?"
	}
	return "Normal|Warning"
}

// each calls f for every node of every function (and package-level
// initialiser) of the packages, with its frame.
func each(ps []*pkg, f func(fr frame, n ast.Node)) {
	for _, p := range ps {
		for _, file := range p.files {
			for _, d := range file.ast.Decls {
				fd, _ := d.(*ast.FuncDecl)
				fr := frame{f: file, fn: fd}
				ast.Inspect(d, func(n ast.Node) bool {
					if n != nil {
						f(fr, n)
					}
					return true
				})
			}
		}
	}
}

// recorderMethods are the methods of client-go's event recorders
// (tools/record and tools/events) and of wrappers with the same shape.
var recorderMethods = map[string]bool{"Event": true, "Eventf": true, "AnnotatedEventf": true}

// events extracts the reasons passed to event recorders.
func (x *extraction) events() {
	each(x.scope, func(fr frame, n ast.Node) {
		c, ok := n.(*ast.CallExpr)
		if !ok {
			return
		}
		sel, ok := c.Fun.(*ast.SelectorExpr)
		if !ok || !recorderMethods[sel.Sel.Name] || len(c.Args) < 4 {
			return
		}
		ti := eventTypeArg(sel.Sel.Name, c.Args)
		if ti < 0 || ti+1 >= len(c.Args) {
			return
		}
		reason := c.Args[ti+1]
		// A wrapper that forwards its own reason parameter: its callers
		// are the emitters, found as emitters themselves.
		if fr.fn != nil && recorderMethods[fr.fn.Name.Name] {
			if id, ok := reason.(*ast.Ident); ok {
				if _, isParam := paramIndex(fr.fn, id.Name); isParam {
					return
				}
			}
		}
		for _, tv := range x.typedReasons(fr, c.Args[ti], reason, 0) {
			x.add(kindEvent, tv.typ, tv.v, fr.f)
		}
	})
}

type typedVal struct {
	typ string
	v   val
}

// typedReasons resolves an event's type and reason together: when both
// are parameters of the function (a wrapper such as
// recordContainerEvent), each call site pairs its own type with its own
// reason.
func (x *extraction) typedReasons(fr frame, typ, reason ast.Expr, depth int) []typedVal {
	ti, tok := x.plainParam(fr, typ)
	ri, rok := x.plainParam(fr, reason)
	if tok && rok && depth < maxDepth {
		if sites := x.r.argSites(fr); len(sites) > 0 {
			var out []typedVal
			for _, s := range sites {
				if ti < len(s.args) && ri < len(s.args) {
					out = append(out, x.typedReasons(s.fr, s.args[ti], s.args[ri], depth+1)...)
				}
			}
			return out
		}
	}
	t := x.eventType(fr, typ)
	var out []typedVal
	for _, v := range x.resolve(fr, reason, kindEvent, t) {
		out = append(out, typedVal{t, v})
	}
	return out
}

// plainParam reports whether e is a parameter of the frame's function
// that the function never reassigns, and its index.
func (x *extraction) plainParam(fr frame, e ast.Expr) (int, bool) {
	id, ok := e.(*ast.Ident)
	if !ok || fr.fn == nil {
		return 0, false
	}
	i, ok := paramIndex(fr.fn, id.Name)
	if !ok {
		return 0, false
	}
	assigns, declared := localAssigns(fr.fn, id.Name, id.Pos())
	return i, !declared && len(assigns) == 0
}

// eventTypeArg returns the index of the event type argument: the one
// naming EventTypeNormal/EventTypeWarning (or "Normal"/"Warning"), else
// the position the recorder's signature gives it.
func eventTypeArg(method string, args []ast.Expr) int {
	for i, a := range args {
		if i == 0 {
			continue
		}
		switch a := a.(type) {
		case *ast.SelectorExpr:
			if a.Sel.Name == "EventTypeNormal" || a.Sel.Name == "EventTypeWarning" {
				return i
			}
		case *ast.BasicLit:
			if a.Value == `"Normal"` || a.Value == `"Warning"` {
				return i
			}
		}
	}
	switch {
	case method == "AnnotatedEventf":
		return 2 // (object, annotations, type, reason, ...)
	case isNil(args[1]) && len(args) >= 6:
		return 2 // tools/events: (regarding, related, type, reason, action, note, ...)
	}
	return 1 // tools/record: (object, type, reason, message...)
}

func isNil(e ast.Expr) bool {
	id, ok := e.(*ast.Ident)
	return ok && id.Name == "nil"
}

// eventType resolves the event type argument to Normal, Warning, both, or "?".
func (x *extraction) eventType(fr frame, e ast.Expr) string {
	if s, ok := e.(*ast.SelectorExpr); ok {
		switch s.Sel.Name {
		case "EventTypeNormal":
			return "Normal"
		case "EventTypeWarning":
			return "Warning"
		}
	}
	saved := len(x.r.unknown)
	vs := x.r.resolve(fr, e, 0)
	x.r.unknown = x.r.unknown[:saved] // an unknown type is shown as "?", not reported
	t := ""
	for _, v := range vs {
		switch v.s {
		case "Normal", "Warning":
			t = mergeType(t, v.s)
		default:
			return "?"
		}
	}
	if t == "" {
		return "?"
	}
	return t
}

// resolve resolves a reason expression, keeping only values that look like
// reasons and handing acknowledged dynamic expressions to copyKnown.
func (x *extraction) resolve(fr frame, e ast.Expr, kind, typ string) []val {
	saved := len(x.r.unknown)
	vs := x.r.resolve(fr, e, 0)
	kept := x.r.unknown[:saved]
	for _, d := range x.r.unknown[saved:] {
		if k := x.known(d); k != nil {
			if k.From != "" {
				x.copies = append(x.copies, copySite{kind: kind, typ: typ, at: fr.f, from: k.From})
			}
			continue
		}
		kept = append(kept, d)
	}
	x.r.unknown = kept
	var out []val
	for _, v := range vs {
		if reasonWord.MatchString(strings.ReplaceAll(strings.ReplaceAll(v.s, "*", "X"), "-", "")) {
			out = append(out, v)
		} else {
			x.r.unknown = append(x.r.unknown, dynamic{pos: x.src.pos(fr.f, e), file: fr.f.rel, expr: fmt.Sprintf("%s = %q (not a reason word)", exprString(e), v.s)})
		}
	}
	return out
}

func (x *extraction) known(d dynamic) *KnownDynamic {
	for i, k := range x.cfg.Known {
		if k.File == d.file && k.Expr == d.expr {
			return &x.cfg.Known[i]
		}
	}
	return nil
}

// statusReasons extracts container waiting/terminated and pod status
// reasons set by the packages.
func (x *extraction) statusReasons(ps []*pkg) {
	each(ps, func(fr frame, n ast.Node) {
		switch n := n.(type) {
		case *ast.CompositeLit:
			kind, field, pos := "", "", -1
			switch typeName(n.Type) {
			case "ContainerStateWaiting":
				kind, field = kindWaiting, "Reason"
			case "ContainerStateTerminated":
				kind, field = kindTerminated, "Reason"
			case "PodStatus", "ShouldEvictResponse":
				kind, field = kindPodStatus, "Reason"
			case "PodAdmitResult":
				kind, field = "admission", "Reason"
			case "PredicateFailureError":
				kind, field, pos = "admission", "PredicateName", 0
			default:
				return
			}
			for i, el := range n.Elts {
				var v ast.Expr
				if kv, ok := el.(*ast.KeyValueExpr); ok {
					if id, ok := kv.Key.(*ast.Ident); ok && id.Name == field {
						v = kv.Value
					}
				} else if i == pos {
					v = el
				}
				if v == nil || isCopy(v) {
					continue
				}
				for _, r := range x.resolve(fr, v, kind, "") {
					if kind == "admission" {
						x.admission = append(x.admission, r)
						x.add(kindPodStatus, "", r, fr.f)
					} else {
						x.add(kind, "", r, fr.f)
					}
				}
			}
		case *ast.AssignStmt:
			// status.Reason = X, pod.Status.Reason = X
			if len(n.Lhs) != len(n.Rhs) {
				return
			}
			for i, l := range n.Lhs {
				sel, ok := l.(*ast.SelectorExpr)
				if !ok || sel.Sel.Name != "Reason" || !isPodStatus(sel.X) || isCopy(n.Rhs[i]) {
					continue
				}
				for _, r := range x.resolve(fr, n.Rhs[i], kindPodStatus, "") {
					x.add(kindPodStatus, "", r, fr.f)
				}
			}
		}
	})
	x.sentinels(ps)
}

func typeName(e ast.Expr) string {
	switch e := e.(type) {
	case *ast.Ident:
		return e.Name
	case *ast.SelectorExpr:
		return e.Sel.Name
	}
	return ""
}

// isPodStatus reports whether e names a pod status by its variable:
// status, podStatus, pod.Status (not condition or container statuses).
func isPodStatus(e ast.Expr) bool {
	switch e := e.(type) {
	case *ast.Ident:
		return e.Name == "status" || e.Name == "podStatus"
	case *ast.SelectorExpr:
		return e.Sel.Name == "Status"
	}
	return false
}

// isCopy reports whether v copies another object's reason (x.Reason).
func isCopy(v ast.Expr) bool {
	sel, ok := v.(*ast.SelectorExpr)
	return ok && sel.Sel.Name == "Reason"
}

// sentinels extracts the kubelet's start-failure errors, whose text the
// kubelet shows as the waiting reason of a container that failed to start
// (its reason cache keeps only StartContainer failures): package-level
// errors.New("CamelCase") values that are used other than as the error of
// a sync result for another action (KillContainer, CreatePodSandbox...).
func (x *extraction) sentinels(ps []*pkg) {
	type sentinel struct {
		p    *pkg
		name string
		v    val
	}
	var all []sentinel
	for _, p := range ps {
		for name, d := range p.values {
			c, ok := d.expr.(*ast.CallExpr)
			if !ok {
				continue
			}
			if s, ok := c.Fun.(*ast.SelectorExpr); !ok || s.Sel.Name != "New" || d.file.imports[typeName(s.X)] != "errors" {
				continue
			}
			vs, ok := x.r.try(frame{f: d.file}, d.expr, 0)
			if !ok || len(vs) != 1 || !reasonWord.MatchString(vs[0].s) {
				continue
			}
			all = append(all, sentinel{p, name, vs[0]})
		}
	}
	sort.Slice(all, func(i, j int) bool { return all[i].v.s < all[j].v.s })
	for _, s := range all {
		uses, other := 0, 0
		each(ps, func(fr frame, n ast.Node) {
			c, ok := n.(*ast.CallExpr)
			if !ok {
				return
			}
			for i, a := range c.Args {
				if !x.refersTo(fr, a, s.p, s.name) {
					continue
				}
				uses++
				if i == 0 && isFailOfOtherAction(fr, c) {
					other++
				}
			}
		})
		each(ps, func(fr frame, n ast.Node) {
			ret, ok := n.(*ast.ReturnStmt)
			if !ok {
				return
			}
			for _, a := range ret.Results {
				if x.refersTo(fr, a, s.p, s.name) {
					uses++
				}
			}
		})
		if uses > other {
			x.add(kindWaiting, "", s.v, s.v.at)
		}
	}
}

// refersTo reports whether e names the package-level value name of p.
func (x *extraction) refersTo(fr frame, e ast.Expr, p *pkg, name string) bool {
	switch e := e.(type) {
	case *ast.Ident:
		return e.Name == name && fr.f.pkg == p
	case *ast.SelectorExpr:
		id, ok := e.X.(*ast.Ident)
		return ok && e.Sel.Name == name && fr.f.imports[id.Name] == p.path
	}
	return false
}

// isFailOfOtherAction reports whether c is r.Fail(err, msg) on a sync
// result created in the same function for an action other than
// StartContainer.
func isFailOfOtherAction(fr frame, c *ast.CallExpr) bool {
	sel, ok := c.Fun.(*ast.SelectorExpr)
	if !ok || sel.Sel.Name != "Fail" || fr.fn == nil {
		return false
	}
	recv, ok := sel.X.(*ast.Ident)
	if !ok {
		return false
	}
	assigns, _ := localAssigns(fr.fn, recv.Name, recv.Pos())
	for _, a := range assigns {
		nc, ok := a.(*ast.CallExpr)
		if !ok || typeName(nc.Fun) != "NewSyncResult" || len(nc.Args) == 0 {
			continue
		}
		return typeName(nc.Args[0]) != "StartContainer"
	}
	return false
}

// runtimeReasons adds the container runtime's terminated reasons that the
// Kubernetes source still refers to.
func (x *extraction) runtimeReasons() error {
	for _, rr := range x.cfg.Runtime {
		p, err := x.src.load(x.src.main + "/" + path.Dir(rr.Ref))
		if err != nil {
			return fmt.Errorf("runtime reason %s: %w", rr.Reason, err)
		}
		found := false
		if p != nil {
			for _, f := range p.files {
				if f.rel != rr.Ref {
					continue
				}
				ast.Inspect(f.ast, func(n ast.Node) bool {
					if bl, ok := n.(*ast.BasicLit); ok && bl.Value == `"`+rr.Reason+`"` {
						found = true
					}
					return !found
				})
			}
		}
		if !found {
			return fmt.Errorf("runtime reason %s: no longer a string literal in %s; update the list", rr.Reason, rr.Ref)
		}
		k := entryKey{kindTerminated, rr.Reason, x.cfg.RuntimeName}
		if x.entries[k] == nil {
			x.entries[k] = &Entry{Kind: kindTerminated, Reason: rr.Reason, Component: x.cfg.RuntimeName}
		}
		x.entries[k].Files = append(x.entries[k].Files, rr.Ref)
	}
	return nil
}

// copyKnown adds the reasons of a set where a known dynamic expression
// receives them: sets first (they may feed the admission reasons), then
// the admission reasons.
func (x *extraction) copyKnown() error {
	sets := map[string][]val{}
	for _, set := range x.cfg.Sets {
		vs := x.reasonSet(set)
		if len(vs) == 0 {
			return fmt.Errorf("reason set %s: no reasons found; update config.go", set.Name)
		}
		sets[set.Name] = vs
	}
	used := map[string]bool{}
	for _, c := range x.copies {
		if c.from == "admission" {
			continue
		}
		vs, ok := sets[c.from]
		if !ok {
			return fmt.Errorf("%s: known expression refers to reason set %q, which config.go does not define", c.at.rel, c.from)
		}
		used[c.from] = true
		for _, v := range vs {
			// The component that receives the reason emits it; the file
			// where it is made is kept when that component holds it.
			if x.compOf[v.at.pkg] != x.compOf[c.at.pkg] {
				v.at = c.at
			}
			if c.kind == "admission" {
				x.admission = append(x.admission, v)
				x.add(kindPodStatus, "", v, c.at)
				continue
			}
			x.add(c.kind, c.typ, v, c.at)
		}
	}
	for _, c := range x.copies {
		if c.from != "admission" {
			continue
		}
		for _, v := range x.admission {
			x.add(c.kind, c.typ, val{v.s, c.at}, c.at)
		}
	}
	for _, set := range x.cfg.Sets {
		if !used[set.Name] {
			return fmt.Errorf("reason set %s: no known expression receives it any more; update config.go", set.Name)
		}
	}
	return nil
}

// reasonSet collects the reasons of a set from the components' packages.
func (x *extraction) reasonSet(set ReasonSet) []val {
	var out []val
	each(x.scope, func(fr frame, n ast.Node) {
		switch n := n.(type) {
		case *ast.CallExpr:
			if set.Func == "" || typeName(n.Fun) != set.Func || len(n.Args) <= set.Arg {
				return
			}
			if len(set.First) > 0 && !slices.Contains(set.First, typeName(n.Args[0])) {
				return
			}
			if !isCopy(n.Args[set.Arg]) {
				out = append(out, x.resolve(fr, n.Args[set.Arg], "", "")...)
			}
		case *ast.CompositeLit:
			if set.Type == "" || typeName(n.Type) != set.Type {
				return
			}
			for _, el := range n.Elts {
				if kv, ok := el.(*ast.KeyValueExpr); ok && typeName(kv.Key) == set.Field && !isCopy(kv.Value) {
					out = append(out, x.resolve(fr, kv.Value, "", "")...)
				}
			}
		case *ast.FuncDecl:
			if set.Method == "" || n.Name.Name != set.Method || n.Recv == nil || n.Body == nil || len(n.Type.Params.List) > 0 {
				return
			}
			recv := n.Recv.List[0].Type
			if st, ok := recv.(*ast.StarExpr); ok {
				recv = st.X
			}
			if !strings.HasSuffix(typeName(recv), set.ReceiverSuffix) {
				return
			}
			for _, st := range n.Body.List {
				if ret, ok := st.(*ast.ReturnStmt); ok && len(ret.Results) == 1 {
					out = append(out, x.resolve(fr, ret.Results[0], "", "")...)
				}
			}
		}
	})
	return out
}

func (x *extraction) result() *Result {
	res := &Result{}
	for _, e := range x.entries {
		sort.Strings(e.Files)
		res.Entries = append(res.Entries, *e)
	}
	kindOrder := map[string]int{kindEvent: 0, kindWaiting: 1, kindTerminated: 2, kindPodStatus: 3}
	sort.Slice(res.Entries, func(i, j int) bool {
		a, b := res.Entries[i], res.Entries[j]
		if a.Kind != b.Kind {
			return kindOrder[a.Kind] < kindOrder[b.Kind]
		}
		if a.Reason != b.Reason {
			return a.Reason < b.Reason
		}
		return a.Component < b.Component
	})
	for _, d := range x.r.sortedDynamic() {
		res.Unresolved = append(res.Unresolved, fmt.Sprintf("%s: %s", d.pos, d.expr))
	}
	return res
}
