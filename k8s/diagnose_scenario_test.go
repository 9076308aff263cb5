package k8s

import (
	"bytes"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"

	appsv1 "k8s.io/api/apps/v1"
	batchv1 "k8s.io/api/batch/v1"
	corev1 "k8s.io/api/core/v1"
	discoveryv1 "k8s.io/api/discovery/v1"
	networkingv1 "k8s.io/api/networking/v1"
	storagev1 "k8s.io/api/storage/v1"
	metricsv1beta1 "k8s.io/metrics/pkg/apis/metrics/v1beta1"
	"sigs.k8s.io/yaml"

	"github.com/k8flex/k8flex/internal/sharedtest"
)

// loadScenarioSnapshot builds a Snapshot holding every object and log of a
// scenario directory (format: ../shared/scenarios/README.md), with all pods
// as targets. It exercises the rules on recorded incidents without the
// collectors' filtering.
func loadScenarioSnapshot(tb testing.TB, dir string) *Snapshot {
	tb.Helper()
	raw, err := os.ReadFile(filepath.Join(dir, "cluster.yaml"))
	if err != nil {
		tb.Fatalf("scenario %s: %v", dir, err)
	}
	s := &Snapshot{}
	for _, doc := range bytes.Split(raw, []byte("\n---")) {
		if len(bytes.TrimSpace(doc)) == 0 {
			continue
		}
		var meta struct{ Kind string }
		if err := yaml.Unmarshal(doc, &meta); err != nil {
			tb.Fatalf("%s: %v", dir, err)
		}
		dec := func(v any) {
			if err := yaml.Unmarshal(doc, v); err != nil {
				tb.Fatalf("%s %s: %v", dir, meta.Kind, err)
			}
		}
		switch meta.Kind {
		case "Pod":
			var x corev1.Pod
			dec(&x)
			s.Pods = append(s.Pods, x)
		case "Event":
			var x corev1.Event
			dec(&x)
			s.Events = append(s.Events, x)
		case "Node":
			var x corev1.Node
			dec(&x)
			s.Nodes = append(s.Nodes, x)
		case "Service":
			var x corev1.Service
			dec(&x)
			s.Services = append(s.Services, x)
		case "Endpoints":
			var x corev1.Endpoints
			dec(&x)
			s.Endpoints = append(s.Endpoints, x)
		case "EndpointSlice":
			var x discoveryv1.EndpointSlice
			dec(&x)
			s.EndpointSlices = append(s.EndpointSlices, x)
		case "NetworkPolicy":
			var x networkingv1.NetworkPolicy
			dec(&x)
			s.NetworkPolicies = append(s.NetworkPolicies, x)
		case "ConfigMap":
			var x corev1.ConfigMap
			dec(&x)
			s.ConfigMaps = append(s.ConfigMaps, x)
		case "Deployment":
			var x appsv1.Deployment
			dec(&x)
			s.Deployments = append(s.Deployments, x)
		case "StatefulSet":
			var x appsv1.StatefulSet
			dec(&x)
			s.StatefulSets = append(s.StatefulSets, x)
		case "ReplicaSet":
			var x appsv1.ReplicaSet
			dec(&x)
			s.ReplicaSets = append(s.ReplicaSets, x)
		case "Job":
			var x batchv1.Job
			dec(&x)
			s.Jobs = append(s.Jobs, x)
		case "PersistentVolumeClaim":
			var x corev1.PersistentVolumeClaim
			dec(&x)
			s.PVCs = append(s.PVCs, x)
		case "PersistentVolume":
			var x corev1.PersistentVolume
			dec(&x)
			s.PVs = append(s.PVs, x)
		case "StorageClass":
			var x storagev1.StorageClass
			dec(&x)
			s.StorageClasses = append(s.StorageClasses, x)
		case "LimitRange":
			var x corev1.LimitRange
			dec(&x)
			s.LimitRanges = append(s.LimitRanges, x)
		case "PodMetrics":
			var x metricsv1beta1.PodMetrics
			dec(&x)
			s.PodMetrics = append(s.PodMetrics, x)
		case "NodeMetrics":
			var x metricsv1beta1.NodeMetrics
			dec(&x)
			s.NodeMetrics = append(s.NodeMetrics, x)
		}
	}
	// Objects referenced by volumes but absent from the scenario.
	cms := map[string]bool{}
	for _, c := range s.ConfigMaps {
		cms[c.Namespace+"/"+c.Name] = true
	}
	for _, p := range s.Pods {
		for _, v := range p.Spec.Volumes {
			if v.ConfigMap != nil && !cms[p.Namespace+"/"+v.ConfigMap.Name] {
				opt := v.ConfigMap.Optional != nil && *v.ConfigMap.Optional
				s.MissingRefs = append(s.MissingRefs, missingRefEntry("configmap", p.Namespace, v.ConfigMap.Name, opt))
			}
		}
	}
	_ = filepath.WalkDir(filepath.Join(dir, "logs"), func(path string, de os.DirEntry, err error) error {
		if err != nil || de.IsDir() || !strings.HasSuffix(path, ".log") {
			return nil
		}
		rel, _ := filepath.Rel(filepath.Join(dir, "logs"), path)
		parts := strings.Split(rel, string(filepath.Separator))
		if len(parts) != 3 {
			return nil
		}
		b, _ := os.ReadFile(path)
		name := strings.TrimSuffix(parts[2], ".log")
		prev := strings.HasSuffix(name, ".previous")
		s.Logs = append(s.Logs, ContainerLog{Namespace: parts[0], Pod: parts[1], Container: strings.TrimSuffix(name, ".previous"),
			Previous: prev, Lines: strings.Split(strings.TrimRight(string(b), "\n"), "\n")})
		return nil
	})
	return s
}

// TestDiagnoseScenarios runs the rules on the shared recorded incidents and
// checks the top findings state the cause that the scenario's ground truth
// names (rule and words of the summary).
func TestDiagnoseScenarios(t *testing.T) {
	root := sharedtest.Dir(t, "scenarios")
	for _, tt := range []struct {
		name     string
		topRules []string // the top finding's rule must be one of these
		words    []string // all must occur in the top three summaries
	}{
		{"crashloop-db-connection-refused", []string{"failed-scheduling"}, []string{"postgres-0", "volume node affinity", "cordoned", "Connection refused"}},
		{"crashloop-missing-configmap", []string{"missing-config"}, []string{"inventory-api-config", "not found"}},
		{"crashloop-secret-in-logs", []string{"crashloop"}, []string{"AccessDenied", "PutObject", "exit code 1"}},
		{"cpu-throttling-low-limit", []string{"cpu-throttling"}, []string{"100m", "media-defaults", "throttled"}},
		{"disk-pressure-eviction", []string{"node-disk-pressure"}, []string{"worker-1", "ledger-sync-debug", "DiskPressure"}},
		{"dns-coredns-crashloop", []string{"dns-loop"}, []string{"CoreDNS", "loop", "forward . /etc/resolv.conf"}},
		{"imagepull-bad-tag", []string{"image-pull"}, []string{"v2.3.1", "does not exist"}},
		{"liveness-probe-restarts", []string{"liveness-probe"}, []string{"/actuator/health", "loyalty-redis", "143"}},
		{"networkpolicy-default-deny", []string{"netpol-ingress-deny", "netpol-ingress-caller"}, []string{"default-deny-ingress", "frontend", "monitoring"}},
		{"node-not-ready-kubelet-down", []string{"node-not-ready"}, []string{"worker-2", "Kubelet stopped posting"}},
		{"oomkilled-memory-limit", []string{"oom-killed"}, []string{"OOMKilled", "256Mi"}},
		{"pending-insufficient-cpu", []string{"failed-scheduling"}, []string{"insufficient cpu", "pricing-engine", "4000m"}},
		{"pending-unbound-pvc", []string{"failed-scheduling"}, []string{"fast-ssd", "StorageClass", "data-rabbitmq-0"}},
		{"readiness-no-endpoints", []string{"readiness-probe", "dependency-host-name-does-not-resolve", "endpoints-not-ready"}, []string{"readiness", "FEATURE_FLAGS_URL"}},
		{"service-selector-mismatch", []string{"service-selector"}, []string{"selector", "app=payment-api", "payments-api"}},
	} {
		t.Run(tt.name, func(t *testing.T) {
			s := loadScenarioSnapshot(t, filepath.Join(root, tt.name))
			fs := s.Diagnose()
			if len(fs) == 0 {
				t.Fatal("no findings")
			}
			ok := false
			for _, r := range tt.topRules {
				ok = ok || fs[0].Rule == r
			}
			var top []string
			for i := 0; i < len(fs) && i < 3; i++ {
				top = append(top, fs[i].Summary)
			}
			text := strings.Join(top, "\n")
			t.Logf("top findings:\n%s", text)
			if !ok {
				j, _ := json.MarshalIndent(fs, "", " ")
				t.Errorf("top rule %q, want one of %v\n%s", fs[0].Rule, tt.topRules, j)
			}
			for _, w := range tt.words {
				if !strings.Contains(strings.ToLower(text), strings.ToLower(w)) {
					t.Errorf("top summaries lack %q:\n%s", w, text)
				}
			}
		})
	}
}

// BenchmarkDiagnoseScenarios measures Diagnose on each shared scenario.
func BenchmarkDiagnoseScenarios(b *testing.B) {
	root := sharedtest.Dir(b, "scenarios")
	dirs, err := os.ReadDir(root)
	if err != nil {
		b.Fatal(err)
	}
	for _, de := range dirs {
		if !de.IsDir() {
			continue
		}
		s := loadScenarioSnapshot(b, filepath.Join(root, de.Name()))
		b.Run(de.Name(), func(b *testing.B) {
			for b.Loop() {
				s.Diagnose()
			}
		})
	}
}
