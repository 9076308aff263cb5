package faultgen

import (
	"bytes"
	"os"
	"path/filepath"
	"strings"
	"testing"

	corev1 "k8s.io/api/core/v1"

	"github.com/k8flex/k8flex/scenario"
)

// TestCorpusLoads writes the whole corpus and loads every scenario with
// the scenario loader: strict decoding of every object (unknown fields and
// kinds are errors), a valid alert and expect.yaml, no skipped kinds.
func TestCorpusLoads(t *testing.T) {
	scs, err := Generate(Options{Seed: 1})
	if err != nil {
		t.Fatal(err)
	}
	if n := len(Classes()); n < minClasses {
		t.Errorf("%d fault classes, want at least %d", n, minClasses)
	}
	if len(scs) != 2*len(Classes()) {
		t.Errorf("%d scenarios for %d classes, want 2 variants each", len(scs), len(Classes()))
	}
	dir := t.TempDir()
	if err := Write(dir, scs); err != nil {
		t.Fatal(err)
	}
	summaries := map[string]string{}
	for _, sc := range scs {
		// The variants of a class differ in names and shape.
		if prev, ok := summaries[sc.Class]; ok && prev == sc.Expect.Summary {
			t.Errorf("%s: variants share the summary %q", sc.Class, prev)
		}
		summaries[sc.Class] = sc.Expect.Summary
		loaded, err := scenario.Load(filepath.Join(dir, sc.Name))
		if err != nil {
			t.Errorf("%s: %v", sc.Name, err)
			continue
		}
		if len(loaded.Skipped) > 0 {
			t.Errorf("%s: kinds skipped by the loader: %v", sc.Name, loaded.Skipped)
		}
		if !loaded.HasExpect || len(loaded.Expect.RootCause) == 0 {
			t.Errorf("%s: no root-cause groups", sc.Name)
		}
		checkConsistent(t, sc)
	}
}

// minClasses is the size of the corpus the issue asks for.
const minClasses = 20

// checkConsistent checks the links the generator promises: owner
// references resolve to objects of the scenario, pods are bound to nodes
// that exist, events name objects that exist, log files name pods that
// exist.
func checkConsistent(t *testing.T, sc Scenario) {
	t.Helper()
	uids := map[string]string{}
	pods := map[string]*corev1.Pod{}
	nodes := map[string]bool{}
	for _, o := range sc.Objects {
		m, apiVersion, kind := objectRef(o)
		if m.Name == "" || m.UID == "" {
			t.Errorf("%s: %s without name or uid", sc.Name, kind)
		}
		if _, dup := uids[string(m.UID)]; dup {
			t.Errorf("%s: duplicate uid %s", sc.Name, m.UID)
		}
		uids[string(m.UID)] = apiVersion + "/" + kind + "/" + m.Namespace + "/" + m.Name
		switch x := o.(type) {
		case *corev1.Pod:
			pods[x.Namespace+"/"+x.Name] = x
		case *corev1.Node:
			nodes[x.Name] = true
		}
	}
	for _, o := range sc.Objects {
		switch x := o.(type) {
		case *corev1.Pod:
			if x.Spec.NodeName != "" && !nodes[x.Spec.NodeName] {
				t.Errorf("%s: pod %s on unknown node %s", sc.Name, x.Name, x.Spec.NodeName)
			}
			for _, ref := range x.OwnerReferences {
				if got := uids[string(ref.UID)]; !strings.HasSuffix(got, "/"+ref.Kind+"/"+x.Namespace+"/"+ref.Name) {
					t.Errorf("%s: pod %s owner %s/%s uid %s resolves to %q", sc.Name, x.Name, ref.Kind, ref.Name, ref.UID, got)
				}
			}
		case *corev1.Event:
			io := x.InvolvedObject
			if io.Kind == "Node" {
				if !nodes[io.Name] {
					t.Errorf("%s: event %s about unknown node %s", sc.Name, x.Reason, io.Name)
				}
				continue
			}
			if got := uids[string(io.UID)]; !strings.HasSuffix(got, "/"+io.Kind+"/"+io.Namespace+"/"+io.Name) {
				t.Errorf("%s: event %s about %s %s/%s resolves to %q", sc.Name, x.Reason, io.Kind, io.Namespace, io.Name, got)
			}
		}
	}
	for k := range sc.Logs {
		parts := strings.SplitN(k, "/", 3)
		p := pods[parts[0]+"/"+parts[1]]
		if p == nil {
			t.Errorf("%s: log %s of unknown pod", sc.Name, k)
			continue
		}
		c := strings.TrimSuffix(parts[2], ".previous")
		found := false
		for _, x := range append(append([]corev1.Container{}, p.Spec.InitContainers...), p.Spec.Containers...) {
			found = found || x.Name == c
		}
		if !found {
			t.Errorf("%s: log of unknown container %s", sc.Name, k)
		}
	}
}

// TestDeterministic: the same seed writes the same corpus; another seed
// draws other names.
func TestDeterministic(t *testing.T) {
	render := func(seed int64) []byte {
		scs, err := Generate(Options{Seed: seed, Classes: []string{"oomkilled", "selector-mismatch"}})
		if err != nil {
			t.Fatal(err)
		}
		var b bytes.Buffer
		for _, sc := range scs {
			y, err := MarshalObjects(sc.Objects)
			if err != nil {
				t.Fatal(err)
			}
			b.Write(y)
		}
		return b.Bytes()
	}
	a, b, c := render(7), render(7), render(8)
	if !bytes.Equal(a, b) {
		t.Error("seed 7 rendered two different corpora")
	}
	if bytes.Equal(a, c) {
		t.Error("seeds 7 and 8 rendered the same corpus")
	}
}

// TestWriteLayout: a written scenario has the shared format's files.
func TestWriteLayout(t *testing.T) {
	scs, err := Generate(Options{Seed: 2, Classes: []string{"crashloop-missing-env"}, Variants: 1})
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	if err := Write(dir, scs); err != nil {
		t.Fatal(err)
	}
	root := filepath.Join(dir, scs[0].Name)
	for _, f := range []string{scenario.AlertFile, scenario.ClusterFile, scenario.ExpectFile} {
		if _, err := os.Stat(filepath.Join(root, f)); err != nil {
			t.Error(err)
		}
	}
	var logs int
	_ = filepath.WalkDir(filepath.Join(root, scenario.LogsDir), func(p string, d os.DirEntry, err error) error {
		if err == nil && !d.IsDir() && strings.HasSuffix(p, ".previous.log") {
			logs++
		}
		return nil
	})
	if logs == 0 {
		t.Error("a crash-looping scenario without any previous log")
	}
}
