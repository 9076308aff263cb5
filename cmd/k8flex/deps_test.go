package main

import (
	"os/exec"
	"strings"
	"testing"
)

// The serving binary reads a dozen resources through k8s.Cluster. Linking
// client-go's generated clientset (or its fakes) would initialise every
// built-in API group at start: about 40 MB more executable and 15 MiB more
// resident memory (BENCHMARKS.md §2.3).
func TestBinaryDoesNotLinkGeneratedClientsets(t *testing.T) {
	if testing.Short() {
		t.Skip("-short: runs go list over the module")
	}
	out, err := exec.Command("go", "list", "-deps", ".").CombinedOutput()
	if err != nil {
		t.Fatalf("go list -deps: %v\n%s", err, out)
	}
	for _, pkg := range strings.Fields(string(out)) {
		switch {
		case pkg == "k8s.io/client-go/kubernetes",
			strings.HasPrefix(pkg, "k8s.io/client-go/kubernetes/"),
			strings.HasPrefix(pkg, "k8s.io/client-go/testing"),
			strings.HasPrefix(pkg, "k8s.io/metrics/pkg/client/"):
			t.Errorf("k8flex links %s", pkg)
		}
	}
}
