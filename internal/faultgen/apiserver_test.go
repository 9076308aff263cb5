package faultgen

import (
	"path/filepath"
	"testing"

	"github.com/k8flex/k8flex/internal/apiservertest"
)

// TestSampleLoadsIntoRealAPIServer loads a sample of generated scenarios
// (one per kind of cluster shape: Deployment rollout, StatefulSet with
// volumes, DaemonSet, node failure, policies and Ingress, HPA, PDB)
// into a real kube-apiserver: every object must pass the server's own
// validation, statuses included. One server per scenario, as the
// scenarios share namespace and object names.
//
// Jobs are left out: a Job as `kubectl get -o yaml` prints it carries the
// selector and controller-uid labels generated from its old UID, which
// apiservertest.Load does not yet strip, so the server refuses it
// ("selector not auto-generated") — a loader limitation, not a defect of
// the generated Job.
func TestSampleLoadsIntoRealAPIServer(t *testing.T) {
	if testing.Short() {
		t.Skip("-short: starts a kube-apiserver per scenario")
	}
	apiservertest.RequireBinaries(t)
	sample := []string{"missing-secret", "volume-node-affinity-conflict", "hostport-conflict",
		"node-notready-cni", "egress-policy-blocks-dns", "ingress-backend-service-missing", "hpa-missing-cpu-request", "pdb-blocks-drain"}
	scs, err := Generate(Options{Seed: 1, Classes: sample})
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	if err := Write(dir, scs); err != nil {
		t.Fatal(err)
	}
	for i, sc := range scs {
		if i%2 == 1 {
			continue // one variant per class keeps the test short
		}
		t.Run(sc.Name, func(t *testing.T) {
			s := apiservertest.Start(t)
			res := s.LoadScenario(t, filepath.Join(dir, sc.Name))
			if len(res.Skipped) > 0 {
				t.Errorf("skipped: %v", res.Skipped)
			}
			if len(res.AddedNodes) > 0 {
				t.Errorf("pods bound to nodes the scenario lacks: %v", res.AddedNodes)
			}
			t.Logf("created %v", res.Created)
		})
	}
}
