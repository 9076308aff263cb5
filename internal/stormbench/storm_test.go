package stormbench

import (
	"context"
	"fmt"
	"testing"
	"time"

	"github.com/rs/zerolog"
	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/client-go/kubernetes"

	"github.com/k8flex/k8flex/internal/apiservertest"
	"github.com/k8flex/k8flex/investigate"
	"github.com/k8flex/k8flex/llm"
	"github.com/k8flex/k8flex/llm/llmtest"
)

const stormAlerts = 2000

// BenchmarkStormGonePods posts 2,000 distinct firing alerts for pods that
// do not exist, as fast as the webhook answers, to the in-process serving
// stack (4 workers, built-in analyser) on a real kube-apiserver, and waits
// until every case is concluded. Targets: all concluded in < 60 s, ≤ 3 API
// requests per alert on average (counted at the HTTP transport).
//
// It runs with client-go's limiter at the former defaults (kube.qps 50,
// kube.burst 100) and at the current ones (100, 200): one request per
// gone pod makes the limiter the bound of the drain time.
//
//	go test -run '^$' -bench BenchmarkStormGonePods -benchtime 1x ./internal/stormbench/
func BenchmarkStormGonePods(b *testing.B) {
	srv := apiservertest.Start(b)
	iter := 0
	for _, lim := range []struct {
		qps   float32
		burst int
	}{{50, 100}, {100, 200}} {
		b.Run(fmt.Sprintf("qps=%g/burst=%d", lim.qps, lim.burst), func(b *testing.B) {
			for b.Loop() {
				iter++
				stormGonePods(b, srv, fmt.Sprintf("gone-%d", iter), lim.qps, lim.burst)
			}
		})
	}
}

func stormGonePods(b *testing.B, srv *apiservertest.Server, ns string, qps float32, burst int) {
	{
		srv.CreateNamespace(b, ns)
		cs, served := investigationClient(b, srv.Config, qps, burst)
		s := newStack(b, stackConfig{client: cs, analyzer: llm.NewBuiltin(), workers: 4})
		startsAt := time.Now().UTC().Truncate(time.Second)
		alerts := make([]investigate.Alert, stormAlerts)
		for i := range alerts {
			alerts[i] = crashAlert(ns, fmt.Sprintf("orphan-%04d-x", i), "app", startsAt)
		}
		payloads := alertPayloads(b, alerts, 10)

		start := time.Now()
		post(b, s.url, payloads, 8)
		accepted := time.Since(start)
		s.waitDrained(b, 5*time.Minute)
		took := time.Since(start)

		total, by := s.concluded(b)
		if total != stormAlerts {
			b.Fatalf("%d of %d cases concluded (by analyser: %v)", total, stormAlerts, by)
		}
		reported, gone := 0, 0
		s.mu.Lock()
		for _, r := range s.results {
			reported += r.Evidence.APIRequests
			if r.Evidence.TargetGone {
				gone++
			}
		}
		s.mu.Unlock()
		if gone != stormAlerts {
			b.Errorf("%d of %d investigations report the target gone", gone, stormAlerts)
		}
		cache := s.gatherer.CacheStats()
		b.ReportMetric(float64(served.Load())/stormAlerts, "api-req/alert")
		b.ReportMetric(float64(reported)/stormAlerts, "reported-api-req/alert")
		b.ReportMetric(float64(cache.Hits+cache.Joined)/stormAlerts, "cache-hits/alert")
		b.ReportMetric(accepted.Seconds(), "s-accept-all")
		b.ReportMetric(took.Seconds(), "s-conclude-all")
		b.Logf("%d alerts: accepted in %s, all concluded in %s; %d API requests (%d reported by the investigations); cache %+v",
			stormAlerts, accepted.Round(time.Millisecond), took.Round(time.Millisecond), served.Load(), reported, cache)
	}
}

// BenchmarkStormCrashLoopingWorkloads posts 2,000 alerts from 20
// crash-looping Deployments of 100 pods each (pods that exist, with
// crash-looping statuses, on a real kube-apiserver) to the in-process
// stack with an OpenAI-compatible model (the llmtest fake). Targets: ≤ 20
// model calls (one per folded incident); first analysis posted < 5 s after
// the first alert was sent.
//
//	go test -run '^$' -bench BenchmarkStormCrashLoopingWorkloads -benchtime 1x ./internal/stormbench/
func BenchmarkStormCrashLoopingWorkloads(b *testing.B) {
	const workloads, perWorkload = 20, 100
	srv := apiservertest.Start(b)
	srv.AddNode(b, "node-1")
	ns := "crash"
	srv.CreateNamespace(b, ns)
	admin := srv.Client(b)
	pods := createCrashLoopingWorkloads(b, admin, srv, ns, workloads, perWorkload)

	fake := llmtest.NewOpenAI(llmtest.Options{})
	url := fake.Start(b)
	cfg := llm.DefaultConfig()
	cfg.Provider, cfg.Model, cfg.BaseURL, cfg.APIKey = llm.ProviderOpenAI, "gpt-4o-mini", url, "sk-storm"
	model, err := llm.NewAnalyzer(cfg, zerolog.Nop())
	if err != nil {
		b.Fatal(err)
	}
	analyzer := llm.WithFallback(model, llm.NewBuiltin(), zerolog.Nop())

	for b.Loop() {
		cs, served := investigationClient(b, srv.Config, 50, 100)
		s := newStack(b, stackConfig{client: cs, analyzer: analyzer, cat: model.Categorizer(), workers: 4})
		startsAt := time.Now().UTC().Truncate(time.Second).Add(time.Duration(len(fake.Requests())) * time.Millisecond)
		alerts := make([]investigate.Alert, 0, len(pods))
		for _, p := range pods { // interleaved: every payload holds pods of several workloads
			alerts = append(alerts, crashAlert(ns, p, "app", startsAt))
		}
		payloads := alertPayloads(b, alerts, 10)
		before := len(fake.Requests())

		start := time.Now()
		post(b, s.url, payloads, 8)
		accepted := time.Since(start)
		s.waitDrained(b, 5*time.Minute)
		took := time.Since(start)

		calls := len(fake.Requests()) - before
		total, by := s.concluded(b)
		if total != len(alerts) {
			b.Fatalf("%d of %d cases concluded (by analyser: %v)", total, len(alerts), by)
		}
		s.mu.Lock()
		first := s.firstChunk.Sub(start)
		investigated := len(s.results)
		reported := 0
		for _, r := range s.results {
			reported += r.Evidence.APIRequests
		}
		s.mu.Unlock()
		if calls > workloads {
			b.Errorf("%d model calls for %d workloads, want at most %d", calls, workloads, workloads)
		}
		if p := fake.Problems(); len(p) > 0 {
			b.Errorf("the model fake saw problems: %v", p)
		}
		b.ReportMetric(float64(calls), "model-calls")
		b.ReportMetric(float64(investigated), "investigations")
		b.ReportMetric(first.Seconds(), "s-first-analysis")
		b.ReportMetric(took.Seconds(), "s-conclude-all")
		b.ReportMetric(float64(served.Load())/float64(len(alerts)), "api-req/alert")
		b.Logf("%d alerts: accepted in %s, concluded in %s; %d investigations, %d model calls, first analysis after %s; "+
			"%d API requests (%d reported); fold %+v; by analyser %v",
			len(alerts), accepted.Round(time.Millisecond), took.Round(time.Millisecond), investigated, calls,
			first.Round(time.Millisecond), served.Load(), reported, s.fold.Stats(), by)
	}
}

// createCrashLoopingWorkloads creates n Deployments (with their ReplicaSet)
// of per crash-looping pods each on node-1, with logs on the fake kubelet,
// and returns the pod names interleaved across workloads.
func createCrashLoopingWorkloads(tb testing.TB, cs kubernetes.Interface, srv *apiservertest.Server, ns string, n, per int) []string {
	tb.Helper()
	ctx := context.Background()
	const hash = "7d9f8b6c5d"
	names := make([][]string, n)
	for w := range n {
		name := fmt.Sprintf("svc%02d", w)
		labels := map[string]string{"app": name}
		replicas := int32(per)
		dep := &appsv1.Deployment{ObjectMeta: metav1.ObjectMeta{Name: name, Namespace: ns},
			Spec: appsv1.DeploymentSpec{Replicas: &replicas, Selector: &metav1.LabelSelector{MatchLabels: labels},
				Template: corev1.PodTemplateSpec{ObjectMeta: metav1.ObjectMeta{Labels: labels},
					Spec: corev1.PodSpec{Containers: []corev1.Container{{Name: "app", Image: "registry.example/" + name + ":1.4.2"}}}}}}
		dep, err := cs.AppsV1().Deployments(ns).Create(ctx, dep, metav1.CreateOptions{})
		if err != nil {
			tb.Fatal(err)
		}
		ctrl := true
		rs := &appsv1.ReplicaSet{ObjectMeta: metav1.ObjectMeta{Name: name + "-" + hash, Namespace: ns, Labels: labels,
			OwnerReferences: []metav1.OwnerReference{{APIVersion: "apps/v1", Kind: "Deployment", Name: name, UID: dep.UID, Controller: &ctrl}}},
			Spec: appsv1.ReplicaSetSpec{Replicas: &replicas, Selector: dep.Spec.Selector, Template: dep.Spec.Template}}
		rs, err = cs.AppsV1().ReplicaSets(ns).Create(ctx, rs, metav1.CreateOptions{})
		if err != nil {
			tb.Fatal(err)
		}
		for p := range per {
			pod := fmt.Sprintf("%s-%s-%s", name, hash, suffix(p))
			names[w] = append(names[w], pod)
			createCrashLoopingPod(tb, cs, ns, pod, labels, rs.Name, rs.UID, dep.Spec.Template.Spec)
			srv.Kubelet.SetLog(ns, pod, "app", true, fmt.Sprintf("2026-01-01T12:00:00Z INFO starting %s\n"+
				"2026-01-01T12:00:01Z ERROR dial tcp 10.96.0.12:5432: connect: connection refused\n"+
				"2026-01-01T12:00:01Z FATAL cannot reach the database, exiting", name))
		}
	}
	var out []string
	for p := range per {
		for w := range n {
			out = append(out, names[w][p])
		}
	}
	return out
}

func createCrashLoopingPod(tb testing.TB, cs kubernetes.Interface, ns, name string, labels map[string]string, rs string, uid types.UID, spec corev1.PodSpec) {
	tb.Helper()
	ctx := context.Background()
	ctrl := true
	spec.NodeName = "node-1"
	pod := &corev1.Pod{ObjectMeta: metav1.ObjectMeta{Name: name, Namespace: ns, Labels: labels,
		OwnerReferences: []metav1.OwnerReference{{APIVersion: "apps/v1", Kind: "ReplicaSet", Name: rs, UID: uid, Controller: &ctrl}}},
		Spec: spec}
	pod, err := cs.CoreV1().Pods(ns).Create(ctx, pod, metav1.CreateOptions{})
	if err != nil {
		tb.Fatal(err)
	}
	now := metav1.Now()
	pod.Status = corev1.PodStatus{Phase: corev1.PodRunning, StartTime: &now,
		Conditions: []corev1.PodCondition{{Type: corev1.PodReady, Status: corev1.ConditionFalse, LastTransitionTime: now}},
		ContainerStatuses: []corev1.ContainerStatus{{Name: "app", Image: spec.Containers[0].Image, RestartCount: 7,
			State: corev1.ContainerState{Waiting: &corev1.ContainerStateWaiting{Reason: "CrashLoopBackOff",
				Message: "back-off 5m0s restarting failed container=app"}},
			LastTerminationState: corev1.ContainerState{Terminated: &corev1.ContainerStateTerminated{Reason: "Error", ExitCode: 1,
				StartedAt: now, FinishedAt: now}}}}}
	if _, err := cs.CoreV1().Pods(ns).UpdateStatus(ctx, pod, metav1.UpdateOptions{}); err != nil {
		tb.Fatal(err)
	}
}

// suffix returns a distinct 5-character suffix of Kubernetes' generated-name alphabet.
func suffix(i int) string {
	const chars = "bcdfghjklmnpqrstvwxz2456789"
	b := []byte("bbbbb")
	for j := 4; j >= 0 && i > 0; j-- {
		b[j] = chars[i%len(chars)]
		i /= len(chars)
	}
	return string(b)
}
