package k8s_test

import (
	"context"
	"encoding/json"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"sigs.k8s.io/yaml"

	"github.com/k8flex/k8flex/internal/apiservertest"
	"github.com/k8flex/k8flex/internal/sharedtest"
	"github.com/k8flex/k8flex/investigate"
	"github.com/k8flex/k8flex/k8s"
)

// TestGathererOnRealAPIServer loads recorded incidents into a real
// kube-apiserver (objects created, statuses written through the status
// subresource, events recorded, logs served by a fake kubelet through
// pods/log), installs the shipped manifests, and runs the collectors as
// K8flex's ServiceAccount with a real token. Every collector must be allowed
// by the shipped ClusterRole, and the evidence must support the diagnosis a
// correct investigation reaches.
func TestGathererOnRealAPIServer(t *testing.T) {
	for _, tt := range []struct {
		scenario string
		scope    string
		// rule is the diagnosis rule the gathered evidence must produce.
		rule string
		// wantLogs are container logs (ns/pod/container, "+previous" for the
		// previous instance) the collectors must have fetched through pods/log.
		wantLogs []string
		// wantKinds are snapshot fields that must not be empty.
		wantKinds []string
	}{
		{
			scenario: "crashloop-missing-configmap", scope: "pod", rule: "missing-config",
			wantLogs:  []string{"shop/inventory-api-5d8f9c7b64-xk2vq/inventory-api+previous"},
			wantKinds: []string{"pods", "events", "replicasets", "deployments"},
		},
		{
			scenario: "service-selector-mismatch", scope: "service", rule: "service-selector",
			wantKinds: []string{"services", "events"},
		},
		{
			scenario: "node-not-ready-kubelet-down", scope: "node", rule: "node-not-ready",
			wantKinds: []string{"nodes"},
		},
		{
			scenario: "dns-coredns-crashloop", scope: "dns", rule: "dns-",
			wantLogs:  []string{"kube-system/coredns-7c65d6cfc9-4wz7m/coredns+previous"},
			wantKinds: []string{"pods"},
		},
		{
			scenario: "networkpolicy-default-deny", scope: "network", rule: "netpol-ingress-deny",
			wantKinds: []string{"networkpolicies", "services", "pods"},
		},
	} {
		t.Run(tt.scope+"/"+tt.scenario, func(t *testing.T) {
			dir := sharedtest.Dir(t, "scenarios", tt.scenario)
			target, category := scenarioAlert(t, dir)

			s := apiservertest.Start(t)
			s.ApplyKustomization(t, "../manifests/base")
			loaded := s.LoadScenario(t, dir)
			t.Logf("loaded %v (skipped %v)", loaded.Created, loaded.Skipped)

			cfg := s.ServiceAccountConfig(t, "k8flex", "k8flex")
			api, err := k8s.NewCluster(cfg)
			if err != nil {
				t.Fatal(err)
			}
			ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
			defer cancel()
			apiservertest.WaitAuthorized(t, func() error {
				return api.List(ctx, corev1.SchemeGroupVersion.WithResource("pods"), "", metav1.ListOptions{Limit: 1}, &corev1.PodList{})
			})

			g := k8s.NewGatherer(api, k8s.Options{CollectorTimeout: 30 * time.Second})
			got, err := g.Gather(ctx, target, category)
			if err != nil {
				t.Fatalf("gather %s for %s: %v", category, target, err)
			}
			snap, ok := got.(*k8s.Snapshot)
			if !ok {
				t.Fatalf("Gather returned %T, want *k8s.Snapshot", got)
			}
			for _, gap := range snap.Gaps {
				switch {
				case strings.Contains(gap.Reason, "forbidden"):
					t.Errorf("collector %s was refused by the shipped ClusterRole: %s", gap.Collector, gap.Reason)
				case gap.Collector == "metrics":
					// No metrics-server runs here.
				case strings.Contains(gap.Reason, "logs of") && !strings.Contains(gap.Reason, "not found"):
					// The recording has no such log: the fake kubelet answers
					// 400 as a real one does for a container that never ran.
					// (A missing pod or node would be "not found".)
				default:
					t.Errorf("collector %s failed: %s", gap.Collector, gap.Reason)
				}
			}
			if snap.APIRequests == 0 {
				t.Error("no API request counted")
			}
			for _, kind := range tt.wantKinds {
				if n := count(t, snap, kind); n == 0 {
					t.Errorf("no %s gathered", kind)
				}
			}
			for _, want := range tt.wantLogs {
				ref, previous := strings.CutSuffix(want, "+previous")
				parts := strings.Split(ref, "/")
				logs := snap.Logs
				if snap.DNS != nil {
					logs = append(slices.Clip(logs), snap.DNS.Logs...)
				}
				i := slices.IndexFunc(logs, func(l k8s.ContainerLog) bool {
					return l.Namespace == parts[0] && l.Pod == parts[1] && l.Container == parts[2] && l.Previous == previous
				})
				if i < 0 {
					t.Errorf("log %s not gathered; kubelet saw %q", want, s.Kubelet.Requests())
					continue
				}
				if len(logs[i].Lines) == 0 {
					t.Errorf("log %s gathered empty", want)
				}
				path := "/containerLogs/" + ref + "?"
				if !slices.ContainsFunc(s.Kubelet.Requests(), func(r string) bool {
					return strings.HasPrefix(r, path) && strings.Contains(r, "previous=true") == previous
				}) {
					t.Errorf("log %s did not come from the kubelet through pods/log; kubelet saw %q", want, s.Kubelet.Requests())
				}
			}

			findings := snap.Diagnose()
			var rules []string
			for _, f := range findings {
				rules = append(rules, f.Rule)
			}
			if !slices.ContainsFunc(rules, func(r string) bool { return strings.HasPrefix(r, tt.rule) }) {
				t.Errorf("findings %v lack %s", rules, tt.rule)
			}
			ev := snap.Evidence()
			if len(ev.Sections) == 0 {
				t.Error("no evidence sections rendered")
			}
		})
	}
}

// scenarioAlert returns the target of a scenario's first alert (as the
// engine derives it from the labels) and its expected category.
func scenarioAlert(t *testing.T, dir string) (investigate.Target, investigate.Category) {
	t.Helper()
	raw, err := os.ReadFile(filepath.Join(dir, "alert.json"))
	if err != nil {
		t.Fatal(err)
	}
	var payload struct {
		Alerts []struct {
			Labels map[string]string `json:"labels"`
		} `json:"alerts"`
	}
	if err := json.Unmarshal(raw, &payload); err != nil || len(payload.Alerts) == 0 {
		t.Fatalf("alert.json: %v (%d alerts)", err, len(payload.Alerts))
	}
	raw, err = os.ReadFile(filepath.Join(dir, "expect.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	var expect struct {
		Category string `json:"category"`
	}
	if err := yaml.Unmarshal(raw, &expect); err != nil {
		t.Fatalf("expect.yaml: %v", err)
	}
	c, ok := investigate.ParseCategory(expect.Category)
	if !ok {
		t.Fatalf("expect.yaml: unknown category %q", expect.Category)
	}
	return investigate.TargetFromLabels(payload.Alerts[0].Labels), c
}

func count(t *testing.T, s *k8s.Snapshot, kind string) int {
	t.Helper()
	switch kind {
	case "pods":
		n := len(s.Pods) + len(s.RelatedPods)
		if s.DNS != nil {
			n += len(s.DNS.Pods)
		}
		return n
	case "events":
		return len(s.Events)
	case "replicasets":
		return len(s.ReplicaSets)
	case "deployments":
		return len(s.Deployments)
	case "services":
		return len(s.Services)
	case "nodes":
		return len(s.Nodes)
	case "networkpolicies":
		return len(s.NetworkPolicies)
	}
	t.Fatalf("count: unknown kind %q", kind)
	return 0
}
