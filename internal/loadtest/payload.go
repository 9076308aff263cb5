package loadtest

import (
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"fmt"
	mrand "math/rand/v2"
	"time"

	"github.com/k8flex/k8flex/investigate"
)

// Storm describes the distinct firing alerts a load run posts.
type Storm struct {
	// Alerts is how many distinct alerts to post (1..MaxAlerts).
	Alerts int
	// MinPerPayload and MaxPerPayload bound the alerts of one payload:
	// sizes are drawn uniformly from MinPerPayload..MaxPerPayload with
	// Seed (defaults 1 and MinPerPayload: one alert per payload). The last
	// payload may be smaller.
	MinPerPayload, MaxPerPayload int
	// Seed makes the payload sizes reproducible.
	Seed uint64
	// RunID is part of every pod name, so the alerts of two runs against
	// the same store are distinct (default: random). Lowercase letters and
	// digits only.
	RunID string
	// StartsAt is every alert's start (default: now, in whole seconds).
	StartsAt time.Time
}

// MaxAlerts bounds one run: payloads are built before the clock starts.
const MaxAlerts = 100_000

// Payload is one webhook body and the alerts it carries.
type Payload struct {
	Body []byte
	// Keys are the alerts' dedup keys (investigate.Alert.Key), in order.
	Keys []string
}

// namespaces and deployments the generated pods belong to: an alert storm
// spans a few namespaces, each payload one (Alertmanager groups by
// alertname and namespace).
var (
	namespaces  = []string{"shop", "payments", "search", "identity", "ingest"}
	deployments = []string{"checkout", "cart", "api", "worker", "frontend", "indexer", "auth", "billing"}
)

// Payloads builds the storm's webhook bodies, as Alertmanager would post
// them for a receiver named "k8flex".
func (s Storm) Payloads() ([]Payload, error) {
	if s.Alerts < 1 || s.Alerts > MaxAlerts {
		return nil, fmt.Errorf("alerts = %d, want 1..%d", s.Alerts, MaxAlerts)
	}
	lo := max(s.MinPerPayload, 1)
	hi := max(s.MaxPerPayload, lo)
	runID := s.RunID
	if runID == "" {
		var b [3]byte
		_, _ = rand.Read(b[:])
		runID = hex.EncodeToString(b[:])
	}
	for _, r := range runID {
		if (r < 'a' || r > 'z') && (r < '0' || r > '9') {
			return nil, fmt.Errorf("run id %q: want lowercase letters and digits only", runID)
		}
	}
	startsAt := s.StartsAt
	if startsAt.IsZero() {
		startsAt = time.Now()
	}
	startsAt = startsAt.UTC().Truncate(time.Second)
	rng := mrand.New(mrand.NewPCG(s.Seed, s.Seed^0x9e3779b97f4a7c15))

	var out []Payload
	for next := 0; next < s.Alerts; {
		n := min(lo+rng.IntN(hi-lo+1), s.Alerts-next)
		ns := namespaces[len(out)%len(namespaces)]
		alerts := make([]investigate.Alert, n)
		keys := make([]string, n)
		for j := range alerts {
			alerts[j] = crashLooping(ns, runID, next+j, startsAt)
			keys[j] = alerts[j].Key()
		}
		next += n
		msg := investigate.WebhookMessage{
			Version:     "4",
			GroupKey:    fmt.Sprintf(`{}:{alertname="KubePodCrashLooping", namespace=%q}`, ns),
			Receiver:    "k8flex",
			Status:      investigate.StatusFiring,
			Alerts:      alerts,
			GroupLabels: map[string]string{"alertname": "KubePodCrashLooping", "namespace": ns},
			CommonLabels: map[string]string{"alertname": "KubePodCrashLooping", "namespace": ns,
				"severity": "warning", "job": "kube-state-metrics"},
			CommonAnnotations: map[string]string{"runbook_url": runbook},
			ExternalURL:       "http://alertmanager.monitoring:9093",
		}
		body, err := json.Marshal(msg)
		if err != nil {
			return nil, fmt.Errorf("marshal payload: %w", err)
		}
		out = append(out, Payload{Body: body, Keys: keys})
	}
	return out, nil
}

const runbook = "https://runbooks.prometheus-operator.dev/runbooks/kubernetes/kubepodcrashlooping"

// crashLooping returns the i-th alert of a storm: a KubePodCrashLooping
// alert as kube-prometheus's rule raises it from kube-state-metrics.
func crashLooping(ns, runID string, i int, startsAt time.Time) investigate.Alert {
	deploy := deployments[i%len(deployments)]
	pod := fmt.Sprintf("%s-%s-%05d", deploy, runID, i)
	labels := map[string]string{
		"alertname":  "KubePodCrashLooping",
		"container":  deploy,
		"endpoint":   "http",
		"instance":   fmt.Sprintf("10.42.%d.%d:8080", i/250%250, i%250+1),
		"job":        "kube-state-metrics",
		"namespace":  ns,
		"pod":        pod,
		"prometheus": "monitoring/k8s",
		"reason":     "CrashLoopBackOff",
		"service":    "kube-state-metrics",
		"severity":   "warning",
		"uid":        fmt.Sprintf("%08x-77d2-4c1e-9a4b-%012x", i, i*7919),
	}
	return investigate.Alert{
		Status: investigate.StatusFiring,
		Labels: labels,
		Annotations: map[string]string{
			"description": fmt.Sprintf("Pod %s/%s (%s) is in waiting state (reason: \"CrashLoopBackOff\").", ns, pod, deploy),
			"runbook_url": runbook,
			"summary":     "Pod is crash looping.",
		},
		StartsAt: startsAt,
		GeneratorURL: "http://prometheus-k8s.monitoring:9090/graph?g0.expr=max_over_time%28kube_pod_container_status_waiting_reason" +
			"%7Breason%3D%22CrashLoopBackOff%22%2Cjob%3D%22kube-state-metrics%22%7D%5B5m%5D%29+%3E%3D+1&g0.tab=1",
		Fingerprint: investigate.LabelsFingerprint(labels),
	}
}
