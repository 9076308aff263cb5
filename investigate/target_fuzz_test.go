package investigate_test

import (
	"strings"
	"testing"

	"github.com/k8flex/k8flex/investigate"
)

// FuzzParseTarget types arbitrary text as /k8flex investigate's argument:
// ParseTarget never panics, accepts only known kinds and valid Kubernetes
// names (a namespace for every namespaced kind, none for a node), keeps
// every other word as the question, and what it accepted prints
// (Target.String) as a target it parses back to the same one.
func FuzzParseTarget(f *testing.F) {
	for _, s := range []string{"pod/web-0 -n shop", "deploy/api --namespace shop why so slow?", "svc/api -n=shop",
		"node/worker-1", "shop/web-0", "sts/db", "ds/agent -n kube-system", "job/backup --namespace=batch", "ns/shop",
		"no/x -n shop", "pod/x -n", "PoD/Web", "a/b/c", "pod/" + strings.Repeat("a", 254), "-n shop pod/web-0 extra words",
		"pod/web-0 -n shop -n other", "pod/\u202eweb", "nodes/worker-1 why NotReady?", "default/x -n other"} {
		f.Add(s)
	}
	kinds := map[investigate.Kind]bool{investigate.KindPod: true, investigate.KindDeployment: true, investigate.KindStatefulSet: true,
		investigate.KindDaemonSet: true, investigate.KindJob: true, investigate.KindService: true, investigate.KindNode: true,
		investigate.KindNamespace: true}
	f.Fuzz(func(t *testing.T, s string) {
		tg, question, err := investigate.ParseTarget(s)
		if err != nil {
			if !tg.IsZero() || question != "" {
				t.Fatalf("error %v with target %+v question %q", err, tg, question)
			}
			return
		}
		if !kinds[tg.Kind] || !investigate.ValidName(tg.Name) {
			t.Fatalf("accepted kind %q name %q", tg.Kind, tg.Name)
		}
		switch tg.Kind {
		case investigate.KindNode:
			if tg.Namespace != "" || tg.Node != tg.Name {
				t.Fatalf("node target %+v", tg)
			}
		case investigate.KindNamespace:
			if tg.Namespace != tg.Name {
				t.Fatalf("namespace target %+v", tg)
			}
		default:
			if !investigate.ValidName(tg.Namespace) {
				t.Fatalf("namespaced target %+v without a valid namespace", tg)
			}
		}
		if question != strings.Join(strings.Fields(question), " ") || len(question) > len(s) {
			t.Fatalf("question %q from %q", question, s)
		}
		back, q2, err := investigate.ParseTarget(tg.String())
		if err != nil || q2 != "" || back.Kind != tg.Kind || back.Name != tg.Name || back.Namespace != tg.Namespace {
			t.Fatalf("%q parsed to %+v, printed %q, which parses to %+v %q (%v)", s, tg, tg.String(), back, q2, err)
		}
	})
}
