package scenario

import (
	"context"
	"os"
	"slices"
	"strings"
	"testing"
	"testing/fstest"

	"github.com/k8flex/k8flex/internal/sharedtest"
	"github.com/k8flex/k8flex/investigate"
	"github.com/k8flex/k8flex/k8s"
)

func loadShared(t testing.TB) []*Scenario {
	t.Helper()
	var all []*Scenario
	for _, root := range []string{sharedtest.Dir(t, "scenarios"), sharedtest.Dir(t, "external-scenarios", "holmesgpt")} {
		ss, err := LoadAll(os.DirFS(root), ".")
		if err != nil {
			t.Fatalf("load %s: %v", root, err)
		}
		all = append(all, ss...)
	}
	return all
}

func TestLoadAllSharedScenarios(t *testing.T) {
	all := loadShared(t)
	if len(all) != 28 {
		t.Fatalf("loaded %d scenarios, want 28", len(all))
	}
	for _, s := range all {
		t.Run(s.Name, func(t *testing.T) {
			if !s.HasExpect || s.Expect.Category == "" || len(s.Expect.RootCause) == 0 {
				t.Errorf("expect.yaml not loaded: %+v", s.Expect)
			}
			if len(s.Objects) == 0 {
				t.Error("no objects decoded from cluster.yaml")
			}
			if s.Alert().Name() == "" {
				t.Error("alert has no name")
			}
		})
	}
}

// TestGatherSharedScenarios runs the collectors over every scenario with
// the category the scenario expects: evidence must be non-empty, name the
// pods of the target, and carry no gap.
func TestGatherSharedScenarios(t *testing.T) {
	for _, s := range loadShared(t) {
		t.Run(s.Name, func(t *testing.T) {
			g := s.Gatherer(k8s.Options{})
			target := investigate.TargetFromLabels(s.Alert().Labels)
			snap, err := g.Gather(context.Background(), target, s.Expect.Category)
			if err != nil {
				t.Fatalf("gather: %v", err)
			}
			ev := snap.Evidence()
			if len(ev.Sections) == 0 || ev.Size() == 0 {
				t.Fatal("no evidence")
			}
			if len(ev.Gaps) > 0 {
				t.Errorf("unexpected gaps: %+v", ev.Gaps)
			}
			if ev.APIRequests == 0 {
				t.Error("APIRequests not counted")
			}
			if ev.Size() > k8s.DefaultBudget.TotalBytes {
				t.Errorf("evidence %d bytes exceeds budget %d", ev.Size(), k8s.DefaultBudget.TotalBytes)
			}
			for _, bad := range s.Expect.MustNotContain {
				for _, sec := range ev.Sections {
					if strings.Contains(sec.Body, bad) {
						t.Errorf("section %s leaks %q", sec.Name, bad)
					}
				}
			}
			if testing.Verbose() && os.Getenv("K8FLEX_PRINT_EVIDENCE") != "" {
				for _, sec := range ev.Sections {
					t.Logf("== %s [%d] %s\n%s", sec.Name, sec.Priority, sec.Title, sec.Body)
				}
				t.Logf("target %+v requests %d", ev.Target, ev.APIRequests)
			}
		})
	}
}

func TestLoadFSErrors(t *testing.T) {
	alert := `{"version":"4","status":"firing","alerts":[{"status":"firing","labels":{"alertname":"X","namespace":"a","pod":"p"}}]}`
	pod := "apiVersion: v1\nkind: Pod\nmetadata:\n  name: p\n  namespace: a\n"
	for _, tt := range []struct {
		name  string
		files map[string]string
		want  string
	}{
		{"no alert", map[string]string{"s/cluster.yaml": pod}, "alert.json"},
		{"bad alert", map[string]string{"s/alert.json": `{"version":"3"}`, "s/cluster.yaml": pod}, "version"},
		{"unknown kind", map[string]string{"s/alert.json": alert, "s/cluster.yaml": "apiVersion: v1\nkind: Potato\nmetadata:\n  name: x\n"}, "Potato"},
		{"unknown field", map[string]string{"s/alert.json": alert, "s/cluster.yaml": pod + "spec:\n  nodeNmae: n\n"}, "nodeNmae"},
		{"bad category", map[string]string{"s/alert.json": alert, "s/cluster.yaml": pod, "s/expect.yaml": "category: pod-crashing\n"}, "pod-crashing"},
		{"duplicate object", map[string]string{"s/alert.json": alert, "s/cluster.yaml": pod + "---\n" + pod}, "already exists"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			fsys := fstest.MapFS{}
			for n, c := range tt.files {
				fsys[n] = &fstest.MapFile{Data: []byte(c)}
			}
			_, err := LoadFS(fsys, "s")
			if err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Fatalf("LoadFS error = %v, want one mentioning %q", err, tt.want)
			}
		})
	}
}

func TestFileLogs(t *testing.T) {
	fsys := fstest.MapFS{
		"s/logs/ns/p/c.log":          {Data: []byte("one\ntwo\nthree\n")},
		"s/logs/ns/p/c.previous.log": {Data: []byte("old\n")},
	}
	l := &FileLogs{fsys: fsys, dir: "s/logs"}
	for _, tt := range []struct {
		name      string
		container string
		previous  bool
		tail      int
		want      string
		wantErr   bool
	}{
		{"all", "c", false, 0, "one\ntwo\nthree\n", false},
		{"tail 2", "c", false, 2, "two\nthree\n", false},
		{"tail more than lines", "c", false, 10, "one\ntwo\nthree\n", false},
		{"previous", "c", true, 5, "old\n", false},
		{"not recorded", "d", false, 5, "", false},
		{"path escape", "..", false, 5, "", true},
	} {
		t.Run(tt.name, func(t *testing.T) {
			got, err := l.Logs(context.Background(), "ns", "p", tt.container, tt.previous, tt.tail)
			if (err != nil) != tt.wantErr {
				t.Fatalf("err = %v, wantErr %v", err, tt.wantErr)
			}
			if got != tt.want {
				t.Errorf("got %q, want %q", got, tt.want)
			}
		})
	}
}

// Kinds K8flex never reads are left out of a scenario and named, not an
// error; a mistyped field of a kind it reads still is.
func TestDecodeObjectsSkipsKindsNotRead(t *testing.T) {
	doc := `apiVersion: admissionregistration.k8s.io/v1
kind: ValidatingWebhookConfiguration
metadata: {name: web}
---
apiVersion: autoscaling/v1
kind: HorizontalPodAutoscaler
metadata: {name: web, namespace: shop}
---
apiVersion: v1
kind: Pod
metadata: {name: web-0, namespace: shop}
`
	objs, skipped, err := DecodeObjects([]byte(doc))
	if err != nil {
		t.Fatal(err)
	}
	want := []string{"admissionregistration.k8s.io/v1/ValidatingWebhookConfiguration", "autoscaling/v1/HorizontalPodAutoscaler"}
	if len(objs) != 1 || !slices.Equal(skipped, want) {
		t.Fatalf("objects %d, skipped %v; want the Pod decoded and %v skipped", len(objs), skipped, want)
	}
	if _, _, err := DecodeObjects([]byte("apiVersion: v1\nkind: Pod\nmetadata: {name: x}\nspec: {nodeNmae: n}\n")); err == nil {
		t.Fatal("a mistyped Pod field decoded without error")
	}
}

// The kinds of the evidence graph that recordings hold beside pods and
// workloads (HPAs, PDBs, Ingresses, CronJobs, ServiceAccounts) are loaded
// and served, not skipped.
func TestDecodeObjectsLoadsGraphKinds(t *testing.T) {
	doc := `apiVersion: autoscaling/v2
kind: HorizontalPodAutoscaler
metadata: {name: web, namespace: shop}
spec:
  scaleTargetRef: {apiVersion: apps/v1, kind: Deployment, name: web}
  maxReplicas: 5
---
apiVersion: policy/v1
kind: PodDisruptionBudget
metadata: {name: web, namespace: shop}
spec: {minAvailable: 2, selector: {matchLabels: {app: web}}}
---
apiVersion: networking.k8s.io/v1
kind: Ingress
metadata: {name: web, namespace: shop}
spec:
  defaultBackend: {service: {name: web, port: {number: 80}}}
---
apiVersion: batch/v1
kind: CronJob
metadata: {name: nightly, namespace: shop}
spec:
  schedule: "0 2 * * *"
  jobTemplate: {spec: {template: {spec: {restartPolicy: Never, containers: [{name: job, image: job:1}]}}}}
---
apiVersion: v1
kind: ServiceAccount
metadata: {name: web, namespace: shop}
`
	objs, skipped, err := DecodeObjects([]byte(doc))
	if err != nil {
		t.Fatal(err)
	}
	if len(objs) != 5 || len(skipped) != 0 {
		t.Fatalf("objects %d, skipped %v; want all 5 decoded", len(objs), skipped)
	}
	if _, err := k8s.NewMemory(objs...); err != nil {
		t.Fatalf("a Memory cannot hold them: %v", err)
	}
}
