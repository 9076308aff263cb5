package investigate_test

import (
	"strings"
	"testing"

	"github.com/k8flex/k8flex/investigate"
)

// rulesCannotDecide lists the scenarios whose correct category the rules
// cannot see in the alert: the engine must correct them from the evidence.
// FrontendUpstreamErrors says "5xx from upstream"; only the NetworkPolicy
// found in the cluster says why.
var rulesCannotDecide = map[string]bool{
	"networkpolicy-default-deny": true,
}

func TestCategorizeByRulesScenarios(t *testing.T) {
	for _, sc := range loadScenarios(t) {
		t.Run(sc.Name, func(t *testing.T) {
			if _, ok := investigate.ParseCategory(sc.Expect.Category); !ok {
				t.Fatalf("expect.yaml category %q is not a category", sc.Expect.Category)
			}
			for i := range sc.Message.Alerts {
				a := &sc.Message.Alerts[i]
				got := investigate.CategorizeByRules(a)
				if got.DecidedBy != investigate.DecidedByRules || got.Reason == "" || got.Confidence <= 0 || got.Confidence > 1 {
					t.Errorf("alert %d: %+v: rules must say why, with a confidence in (0,1]", i, got)
				}
				if rulesCannotDecide[sc.Name] {
					// The rules may guess, but must not be confident in a
					// category they cannot know, or evidence could not correct it.
					if !sc.Expect.accepts(got.Category) && got.Confidence >= investigate.ConfidentRule {
						t.Errorf("alert %d: rules chose %s with confidence %.2f ≥ ConfidentRule; evidence could not correct it to %s",
							i, got.Category, got.Confidence, sc.Expect.Category)
					}
					t.Logf("rules alone: %s (%.2f, %s); expected %s from the evidence", got.Category, got.Confidence, got.Reason, sc.Expect.Category)
					continue
				}
				if !sc.Expect.accepts(got.Category) {
					t.Errorf("alert %d (%s): rules chose %s (%.2f: %s), want %s or %v",
						i, a.Name(), got.Category, got.Confidence, got.Reason, sc.Expect.Category, sc.Expect.AlsoAccept)
				}
				if string(got.Category) != sc.Expect.Category {
					t.Logf("alert %d: rules chose %s, an also_accept of %s", i, got.Category, sc.Expect.Category)
				}
			}
		})
	}
}

func TestCategorizeByRulesKnownAlerts(t *testing.T) {
	for _, tt := range []struct {
		name   string
		labels map[string]string
		annot  map[string]string
		want   investigate.Category
	}{
		{"KubePodCrashLooping", nil, nil, investigate.PodCrash},
		{"KubePodNotReady", nil, nil, investigate.PodPending},
		{"KubeDeploymentReplicasMismatch", nil, nil, investigate.PodPending},
		{"KubeStatefulSetReplicasMismatch", nil, nil, investigate.PodPending},
		{"KubeContainerWaiting", nil, nil, investigate.PodPending},
		{"KubeJobFailed", nil, nil, investigate.PodCrash},
		{"CPUThrottlingHigh", nil, nil, investigate.CPUThrottling},
		{"KubeNodeNotReady", nil, nil, investigate.NodeNotReady},
		{"KubeNodeUnreachable", nil, nil, investigate.NodeNotReady},
		{"KubeletDown", nil, nil, investigate.NodeNotReady},
		{"KubePersistentVolumeFillingUp", nil, nil, investigate.DiskPressure},
		{"NodeFilesystemSpaceFillingUp", nil, nil, investigate.DiskPressure},
		{"NodeFilesystemAlmostOutOfFiles", nil, nil, investigate.DiskPressure},
		{"CoreDNSDown", nil, nil, investigate.DNSIssues},
		{"CoreDNSErrorsHigh", nil, nil, investigate.DNSIssues},
		{"TargetDown", nil, nil, investigate.ServiceDown},
		{"BlackboxProbeFailed", nil, nil, investigate.ServiceDown},
		{"KubeServiceNoEndpoints", nil, nil, investigate.EndpointMissing},
		// A known name refined by its reason label.
		{"KubePodCrashLooping", map[string]string{"reason": "OOMKilled"}, nil, investigate.OOMKilled},
		{"KubePodNotReady", map[string]string{"reason": "CrashLoopBackOff"}, nil, investigate.PodCrash},
		{"KubeContainerWaiting", map[string]string{"reason": "CreateContainerConfigError"}, nil, investigate.PodCrash},
		{"KubeContainerWaiting", map[string]string{"reason": "ImagePullBackOff"}, nil, investigate.PodPending},
		{"KubeContainerWaiting", map[string]string{"reason": "ErrImagePull"}, nil, investigate.PodPending},
		{"KubeContainerOOMKilled", map[string]string{"reason": "CrashLoopBackOff"}, nil, investigate.OOMKilled},
		// A node condition alert refined by its condition label.
		{"KubeNodePressure", map[string]string{"condition": "MemoryPressure"}, nil, investigate.OOMKilled},
		{"KubeNodePressure", map[string]string{"condition": "DiskPressure"}, nil, investigate.DiskPressure},
		{"KubeNodePressure", map[string]string{"condition": "PIDPressure"}, nil, investigate.NodeNotReady},
		// The name decides even when the text mentions something else.
		{"KubeNodeNotReady", nil, map[string]string{"description": "pods on it are Pending; DNS fails"}, investigate.NodeNotReady},
	} {
		t.Run(tt.name+"/"+tt.labels["reason"]+tt.labels["condition"], func(t *testing.T) {
			l := map[string]string{"alertname": tt.name}
			for k, v := range tt.labels {
				l[k] = v
			}
			got := investigate.CategorizeByRules(&investigate.Alert{Labels: l, Annotations: tt.annot})
			if got.Category != tt.want {
				t.Errorf("category %s (%s), want %s", got.Category, got.Reason, tt.want)
			}
			if got.Confidence < investigate.ConfidentRule {
				t.Errorf("confidence %.2f for a known kube-prometheus-stack alert is below ConfidentRule", got.Confidence)
			}
			if !strings.Contains(got.Reason, tt.name) {
				t.Errorf("reason %q does not name the alert", got.Reason)
			}
		})
	}
}

func TestCategorizeByRulesTeamAlerts(t *testing.T) {
	for _, tt := range []struct {
		name  string
		annot map[string]string
		want  investigate.Category
		sure  bool // at or above ConfidentRule
	}{
		{"PaymentsPodOOM", nil, investigate.OOMKilled, false},
		{"JavaOutOfMemory", nil, investigate.OOMKilled, false},
		{"HighCPUThrottling", nil, investigate.CPUThrottling, false},
		{"AppCrashLoop", nil, investigate.PodCrash, false},
		{"worker_crashed", nil, investigate.PodCrash, false},
		{"ImagePullErrors", nil, investigate.PodPending, false},
		{"PodsPending", nil, investigate.PodPending, false},
		{"ContainerRestartingFrequently", nil, investigate.PodRestart, false},
		{"DNSResolutionFailures", nil, investigate.DNSIssues, false},
		{"NetworkPolicyDenied", nil, investigate.NetworkPolicy, false},
		{"RootDiskAlmostFull", nil, investigate.DiskPressure, false},
		{"ephemeral-storage-high", nil, investigate.DiskPressure, false},
		{"NodeIsDown", nil, investigate.NodeNotReady, false},
		{"node.not.ready", nil, investigate.NodeNotReady, false},
		{"ServiceNoReadyEndpoints", nil, investigate.EndpointMissing, false},
		{"CheckoutHTTP5xx", nil, investigate.ServiceDown, false},
		{"OrdersAPIUnavailable", nil, investigate.ServiceDown, false},
		{"HighMemoryUsage", nil, investigate.OOMKilled, false},
		{"WorkerCPUHigh", nil, investigate.CPUThrottling, false},
		// Names that say nothing: the text decides, with less confidence.
		{"CheckoutSLOBurn", map[string]string{"description": "Container api was OOMKilled twice"}, investigate.OOMKilled, false},
		{"CheckoutSLOBurn", map[string]string{"summary": "NXDOMAIN for payments.internal"}, investigate.DNSIssues, false},
		{"CheckoutSLOBurn", map[string]string{"message": "0/3 nodes available: FailedScheduling"}, investigate.PodPending, false},
		{"CheckoutSLOBurn", map[string]string{"summary": "connection refused by orders"}, investigate.ServiceDown, false},
	} {
		t.Run(tt.name, func(t *testing.T) {
			got := investigate.CategorizeByRules(&investigate.Alert{Labels: map[string]string{"alertname": tt.name}, Annotations: tt.annot})
			if got.Category != tt.want {
				t.Errorf("category %s (%s), want %s", got.Category, got.Reason, tt.want)
			}
			if sure := got.Confidence >= investigate.ConfidentRule; sure != tt.sure {
				t.Errorf("confidence %.2f: confident = %v, want %v (keyword rules must leave room for the model)", got.Confidence, sure, tt.sure)
			}
		})
	}
}

func TestCategorizeByRulesConfidenceOrder(t *testing.T) {
	conf := func(name string, annot map[string]string, labels map[string]string) float64 {
		l := map[string]string{"alertname": name}
		for k, v := range labels {
			l[k] = v
		}
		return investigate.CategorizeByRules(&investigate.Alert{Labels: l, Annotations: annot}).Confidence
	}
	known := conf("KubePodCrashLooping", nil, nil)
	keyword := conf("AppCrashLoop", nil, nil)
	text := conf("SLOBurn", map[string]string{"summary": "OOMKilled"}, nil)
	guess := conf("SLOBurn", map[string]string{"summary": "something happened"}, nil)
	if !(known > keyword && keyword > text && text > guess) {
		t.Errorf("confidences known %.2f > keyword %.2f > text %.2f > guess %.2f do not hold", known, keyword, text, guess)
	}
	for _, tt := range []struct {
		name   string
		labels map[string]string
		want   investigate.Category
	}{
		{"no target", nil, investigate.PodCrash},
		{"node target", map[string]string{"node": "worker-1"}, investigate.NodeNotReady},
		{"service target", map[string]string{"namespace": "shop", "service": "api"}, investigate.ServiceDown},
	} {
		t.Run("guess from "+tt.name, func(t *testing.T) {
			l := map[string]string{"alertname": "SLOBurn"}
			for k, v := range tt.labels {
				l[k] = v
			}
			got := investigate.CategorizeByRules(&investigate.Alert{Labels: l})
			if got.Category != tt.want || got.Confidence >= investigate.ConfidentRule {
				t.Errorf("got %s (%.2f), want an unsure %s", got.Category, got.Confidence, tt.want)
			}
		})
	}
}

// Keywords are matched as substrings of the normalised name, so a keyword
// inside an unrelated word decides the category: "Zoom" contains "oom",
// "CDNSlow" contains "dns". These team alerts are about a service being
// down or slow, not about memory or DNS.
func TestCategorizeByRulesKeywordInsideWord(t *testing.T) {
	for _, tt := range []struct {
		name string
		want investigate.Category
	}{
		{"ZoomIntegrationDown", investigate.ServiceDown},
		{"RoomBookingServiceDown", investigate.ServiceDown},
		{"CDNSlowResponsesDown", investigate.ServiceDown},
	} {
		t.Run(tt.name, func(t *testing.T) {
			got := investigate.CategorizeByRules(&investigate.Alert{Labels: map[string]string{"alertname": tt.name}})
			if got.Category != tt.want {
				t.Errorf("category %s (%s), want %s", got.Category, got.Reason, tt.want)
			}
		})
	}
}

func TestParseCategory(t *testing.T) {
	want := []string{"pod-crash", "pod-restart", "pod-pending", "service-down", "endpoint-missing", "node-not-ready",
		"disk-pressure", "network-policy", "dns-issues", "oom-killed", "cpu-throttling"}
	cats := investigate.Categories()
	if len(cats) != len(want) {
		t.Fatalf("Categories() = %v, want exactly %v", cats, want)
	}
	for i, s := range want {
		if string(cats[i]) != s {
			t.Errorf("Categories()[%d] = %s, want %s", i, cats[i], s)
		}
		c, ok := investigate.ParseCategory(s)
		if !ok || c != cats[i] {
			t.Errorf("ParseCategory(%q) = %q, %v", s, c, ok)
		}
		if len(c.Scopes()) == 0 {
			t.Errorf("%s has no evidence scopes", c)
		}
	}
	for _, s := range []string{"", "Pod-Crash", "pod_crash", "pod-crash ", "crash", "oomkilled"} {
		if c, ok := investigate.ParseCategory(s); ok {
			t.Errorf("ParseCategory(%q) accepted as %s", s, c)
		}
	}
	for c, want := range map[investigate.Category]bool{
		investigate.NodeNotReady: false, investigate.DiskPressure: false, investigate.DNSIssues: false,
		investigate.PodCrash: true, investigate.ServiceDown: true, investigate.NetworkPolicy: true,
	} {
		if got := c.NeedsNamespace(); got != want {
			t.Errorf("%s.NeedsNamespace() = %v, want %v", c, got, want)
		}
	}
}

// TestSymptomAlertsYieldToEvidence checks that alerts naming a symptom of
// many causes leave the last word to the diagnosis, while alerts naming a
// cause keep theirs.
func TestSymptomAlertsYieldToEvidence(t *testing.T) {
	for name, correctable := range map[string]bool{
		"KubeDeploymentReplicasMismatch": true, "KubeJobFailed": true, "BlackboxProbeFailed": true, "KubeNodePressure": true,
		"KubePodCrashLooping": false, "KubeNodeNotReady": false, "CPUThrottlingHigh": false, "KubeContainerOOMKilled": false,
	} {
		c := investigate.CategorizeByRules(&investigate.Alert{Labels: map[string]string{"alertname": name}})
		if c.Provisional != correctable || c.Confidence < investigate.ConfidentRule {
			t.Errorf("%s: provisional = %v (confidence %.2f), want provisional %v and no model asked", name, c.Provisional, c.Confidence, correctable)
		}
	}
	// A reason label that names the cause makes it certain again.
	c := investigate.CategorizeByRules(&investigate.Alert{Labels: map[string]string{"alertname": "KubeContainerWaiting", "reason": "ImagePullBackOff"}})
	if c.Provisional {
		t.Errorf("KubeContainerWaiting with reason ImagePullBackOff is provisional: %+v", c)
	}
}
