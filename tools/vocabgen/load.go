package main

import (
	"fmt"
	"go/ast"
	"go/parser"
	"go/token"
	"os"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
)

// Module is a Go module whose source the extraction reads.
type Module struct {
	Path string // module path, e.g. k8s.io/kubernetes
	Dir  string // its source directory (in the module cache)
}

// source parses the packages of a set of modules lazily, by import path,
// and indexes what the resolver needs: package-level values and functions.
type source struct {
	main string // files of this module are shown by their path inside it, others with their module path in front
	fset *token.FileSet
	mods []Module // longest path first
	pkgs map[string]*pkg
}

type pkg struct {
	path   string
	dir    string
	files  []*file
	values map[string]valueDecl       // package-level const and var initialisers
	funcs  map[string][]*ast.FuncDecl // functions and methods by name
	fileOf map[*ast.FuncDecl]*file
}

type valueDecl struct {
	expr ast.Expr
	file *file
}

type file struct {
	pkg     *pkg
	ast     *ast.File
	rel     string            // module-relative name shown in the output
	imports map[string]string // local name -> import path
}

// newSource reads mods; the first is the main one (see source.main).
func newSource(mods []Module) *source {
	ms := append([]Module(nil), mods...)
	sort.SliceStable(ms, func(i, j int) bool { return len(ms[i].Path) > len(ms[j].Path) })
	return &source{main: mods[0].Path, fset: token.NewFileSet(), mods: ms, pkgs: map[string]*pkg{}}
}

// dirOf maps an import path to its directory and the name its files are
// shown by, or ok=false when no known module holds it.
func (s *source) dirOf(importPath string) (dir, shown string, ok bool) {
	for _, m := range s.mods {
		if importPath == m.Path || strings.HasPrefix(importPath, m.Path+"/") {
			rel := strings.TrimPrefix(strings.TrimPrefix(importPath, m.Path), "/")
			shown = rel
			if m.Path != s.main {
				shown = strings.TrimSuffix(m.Path+"/"+rel, "/")
			}
			return filepath.Join(m.Dir, filepath.FromSlash(rel)), shown, true
		}
	}
	return "", "", false
}

// load returns the parsed package at importPath (nil when it is not in a
// known module or has no Go files). Test files are left out.
func (s *source) load(importPath string) (*pkg, error) {
	if p, ok := s.pkgs[importPath]; ok {
		return p, nil
	}
	dir, shown, ok := s.dirOf(importPath)
	if !ok {
		s.pkgs[importPath] = nil
		return nil, nil
	}
	entries, err := os.ReadDir(dir)
	if err != nil {
		if os.IsNotExist(err) {
			s.pkgs[importPath] = nil
			return nil, nil
		}
		return nil, fmt.Errorf("read package %s: %w", importPath, err)
	}
	p := &pkg{path: importPath, dir: dir, values: map[string]valueDecl{}, funcs: map[string][]*ast.FuncDecl{}, fileOf: map[*ast.FuncDecl]*file{}}
	var parsed []*ast.File
	var names []string
	count := map[string]int{}
	for _, e := range entries {
		n := e.Name()
		if e.IsDir() || !strings.HasSuffix(n, ".go") || strings.HasSuffix(n, "_test.go") {
			continue
		}
		af, err := parser.ParseFile(s.fset, filepath.Join(dir, n), nil, parser.SkipObjectResolution)
		if err != nil {
			return nil, fmt.Errorf("parse %s: %w", filepath.Join(dir, n), err)
		}
		parsed, names = append(parsed, af), append(names, n)
		count[af.Name.Name]++
	}
	// The package is the most common package name; a generator (package
	// main) beside a library is left out.
	name := ""
	for n, c := range count {
		if name == "" || (n != "main" && (name == "main" || c > count[name] || c == count[name] && n < name)) {
			name = n
		}
	}
	for i, af := range parsed {
		if af.Name.Name != name {
			continue
		}
		f := &file{pkg: p, ast: af, rel: strings.TrimPrefix(shown+"/"+names[i], "/"), imports: map[string]string{}}
		for _, im := range af.Imports {
			path, _ := strconv.Unquote(im.Path.Value)
			local := path[strings.LastIndex(path, "/")+1:]
			if im.Name != nil {
				local = im.Name.Name
			}
			f.imports[local] = path
		}
		p.files = append(p.files, f)
		for _, d := range af.Decls {
			switch d := d.(type) {
			case *ast.GenDecl:
				if d.Tok != token.CONST && d.Tok != token.VAR {
					continue
				}
				for _, sp := range d.Specs {
					vs := sp.(*ast.ValueSpec)
					if len(vs.Values) != len(vs.Names) {
						continue
					}
					for i, id := range vs.Names {
						p.values[id.Name] = valueDecl{expr: vs.Values[i], file: f}
					}
				}
			case *ast.FuncDecl:
				p.funcs[d.Name.Name] = append(p.funcs[d.Name.Name], d)
				p.fileOf[d] = f
			}
		}
	}
	if len(p.files) == 0 {
		p = nil
	}
	s.pkgs[importPath] = p
	return p, nil
}

// tree loads every package under importPath (itself included), skipping
// test helpers (testing, testutil, fake directories) and testdata.
func (s *source) tree(importPath string) ([]*pkg, error) {
	root, _, ok := s.dirOf(importPath)
	if !ok {
		return nil, fmt.Errorf("no module holds %s", importPath)
	}
	if _, err := os.Stat(root); err != nil {
		return nil, fmt.Errorf("package %s: %w", importPath, err)
	}
	var out []*pkg
	err := filepath.WalkDir(root, func(path string, d os.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if !d.IsDir() {
			return nil
		}
		switch d.Name() {
		case "testdata", "testing", "testutil", "fake", "vendor":
			return filepath.SkipDir
		}
		rel, err := filepath.Rel(root, path)
		if err != nil {
			return err
		}
		ip := importPath
		if rel != "." {
			ip += "/" + filepath.ToSlash(rel)
		}
		p, err := s.load(ip)
		if err != nil {
			return err
		}
		if p != nil {
			out = append(out, p)
		}
		return nil
	})
	return out, err
}

// pos renders a node's position as file:line with the module-relative name.
func (s *source) pos(f *file, n ast.Node) string {
	return fmt.Sprintf("%s:%d", f.rel, s.fset.Position(n.Pos()).Line)
}
