package k8s

import (
	"slices"
	"testing"
	"time"

	appsv1 "k8s.io/api/apps/v1"
	autoscalingv2 "k8s.io/api/autoscaling/v2"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"

	"github.com/k8flex/k8flex/investigate"
)

func withEnv(kv ...string) podOpt {
	return func(p *corev1.Pod) {
		for i := 0; i+1 < len(kv); i += 2 {
			p.Spec.Containers[0].Env = append(p.Spec.Containers[0].Env, corev1.EnvVar{Name: kv[i], Value: kv[i+1]})
		}
	}
}

func withConfigVolume(cm string) podOpt {
	return func(p *corev1.Pod) {
		p.Spec.Volumes = append(p.Spec.Volumes, corev1.Volume{Name: "config", VolumeSource: corev1.VolumeSource{
			ConfigMap: &corev1.ConfigMapVolumeSource{LocalObjectReference: corev1.LocalObjectReference{Name: cm}}}})
	}
}

func notReady() podOpt {
	return func(p *corev1.Pod) {
		p.Status.Conditions = []corev1.PodCondition{{Type: corev1.PodReady, Status: corev1.ConditionFalse}}
	}
}

// dbSnap: three replicas of deployment "orders" (pool of 40 each)
// calling Service "orders-db" in namespace "shop", whose pod mounts a
// ConfigMap setting max_connections = 100.
func dbSnap(dbOpts []podOpt, callerLog, dbLog string) *Snapshot {
	var pods []corev1.Pod
	for _, n := range []string{"a1b2c", "d3e4f", "g5h6i"} {
		pods = append(pods, *newPod("shop", "orders-7f9c8d6b5d-"+n, withLabels("app", "orders", "pod-template-hash", "7f9c8d6b5d"), ownedByRS("orders-7f9c8d6b5d"),
			withEnv("DATABASE_URL", "postgres://orders-db.shop.svc.cluster.local:5432/orders", "DB_POOL_MAX", "40")))
	}
	db := newPod("shop", "orders-db-0", append([]podOpt{withLabels("app", "orders-db"), controlledBy("StatefulSet", "orders-db"), withConfigVolume("orders-db-config")}, dbOpts...)...)
	dep := newDeployment("shop", "orders", map[string]string{"app": "orders"})
	dep.Status.Replicas = 3
	hpa := autoscalingv2.HorizontalPodAutoscaler{ObjectMeta: metav1.ObjectMeta{Namespace: "shop", Name: "orders"},
		Spec: autoscalingv2.HorizontalPodAutoscalerSpec{ScaleTargetRef: autoscalingv2.CrossVersionObjectReference{Kind: "Deployment", Name: "orders"}, MaxReplicas: 6}}
	ev := newEvent("shop", "orders.1", "HorizontalPodAutoscaler", "shop", "orders", "SuccessfulRescale", time.Date(2026, 5, 1, 9, 0, 0, 0, time.UTC))
	ev.Message = "New size: 3; reason: cpu resource utilization (percentage of request) above target"
	ev.Type = "Normal"
	s := &Snapshot{Pods: pods, RelatedPods: []corev1.Pod{*db},
		Services: []corev1.Service{
			{ObjectMeta: metav1.ObjectMeta{Namespace: "shop", Name: "orders"}, Spec: corev1.ServiceSpec{Selector: map[string]string{"app": "orders"}}},
			{ObjectMeta: metav1.ObjectMeta{Namespace: "shop", Name: "orders-db"}, Spec: corev1.ServiceSpec{Selector: map[string]string{"app": "orders-db"}}}},
		ConfigMaps: []corev1.ConfigMap{{ObjectMeta: metav1.ObjectMeta{Namespace: "shop", Name: "orders-db-config"},
			Data: map[string]string{"server.conf": "# max_connections = 20 (old)\nmax_connections = 100\nshared_buffers = 1GB\n"}}},
		Deployments:              []appsv1.Deployment{*dep},
		HorizontalPodAutoscalers: []autoscalingv2.HorizontalPodAutoscaler{hpa},
		Events:                   []corev1.Event{*ev},
		Logs:                     []ContainerLog{{Namespace: "shop", Pod: "orders-7f9c8d6b5d-g5h6i", Container: "app", Lines: []string{"INFO start", callerLog}}},
	}
	if dbLog != "" {
		s.Logs = append(s.Logs, ContainerLog{Namespace: "shop", Pod: "orders-db-0", Container: "app", Lines: []string{"LOG ready", dbLog}})
	}
	return s
}

func TestDiagnoseSaturation(t *testing.T) {
	runRuleCases(t, []string{"dependency-saturated"}, []ruleCase{
		{name: "database refuses clients beyond max_connections after a scale-up", rule: "dependency-saturated",
			snap: func() *Snapshot {
				return dbSnap(nil, "ERROR pool: connection add failed: FATAL: sorry, too many clients already", "FATAL:  sorry, too many clients already")
			},
			summary: []string{"Service shop/orders-db is up", "max_connections = 100 (ConfigMap shop/orders-db-config, key server.conf)",
				"deployment/orders runs 3 replicas × a pool of 40 connections (env DB_POOL_MAX=40) = 120 connections, above the limit of 100",
				"HorizontalPodAutoscaler orders rescaled deployment/orders", "New size: 3"},
			objects: []string{"service/shop/orders-db", "pod/shop/orders-db-0", "deployment/orders"},
			proof:   []string{"orders-db-0: FATAL:  sorry, too many clients already"}},
		{name: "cache at maxclients (args), only the callers say so", rule: "dependency-saturated",
			snap: func() *Snapshot {
				s := dbSnap(nil, "redis: ERR max number of clients reached", "")
				s.RelatedPods[0].Spec.Containers[0].Args = []string{"--maxclients", "64"}
				s.ConfigMaps = nil
				return s
			},
			summary: []string{"maxclients = 64 (args of container app)", "= 120 connections, above the limit of 64", `The callers log: "redis: ERR max number of clients reached"`}},
		{name: "dependency down is not saturation", rule: "",
			snap: func() *Snapshot {
				return dbSnap([]podOpt{notReady()}, "FATAL: sorry, too many clients already", "FATAL:  sorry, too many clients already")
			}},
		{name: "caller errors of another kind", rule: "",
			snap: func() *Snapshot {
				return dbSnap(nil, "ERROR dial tcp 10.0.0.9:5432: connect: connection refused", "LOG checkpoint complete")
			}},
		{name: "pool error with two configured dependencies and no word from either", rule: "",
			snap: func() *Snapshot {
				s := dbSnap(nil, "HikariPool-1 - Connection is not available, request timed out after 30000ms", "")
				for i := range s.Pods {
					s.Pods[i].Spec.Containers[0].Env = append(s.Pods[i].Spec.Containers[0].Env, corev1.EnvVar{Name: "CACHE_URL", Value: "redis://sessions.shop.svc.cluster.local:6379"})
				}
				s.RelatedPods = append(s.RelatedPods, *newPod("shop", "sessions-0", withLabels("app", "sessions")))
				s.Services = append(s.Services, corev1.Service{ObjectMeta: metav1.ObjectMeta{Namespace: "shop", Name: "sessions"}, Spec: corev1.ServiceSpec{Selector: map[string]string{"app": "sessions"}}})
				return s
			}},
	})
}

// When the callers' errors say a dependency refuses more work, its pod's
// log and mounted ConfigMaps are read; otherwise they are not.
func TestCollectDependencyPodOnSaturation(t *testing.T) {
	objs := func() []runtime.Object {
		return []runtime.Object{
			newPod("shop", "orders-0", withLabels("app", "orders"), withEnv("DATABASE_URL", "postgres://orders-db.shop.svc.cluster.local:5432/orders")),
			newPod("shop", "orders-db-0", withLabels("app", "orders-db"), withConfigVolume("orders-db-config")),
			&corev1.Service{ObjectMeta: metav1.ObjectMeta{Namespace: "shop", Name: "orders-db"}, Spec: corev1.ServiceSpec{Selector: map[string]string{"app": "orders-db"}}},
			&corev1.ConfigMap{ObjectMeta: metav1.ObjectMeta{Namespace: "shop", Name: "orders-db-config"}, Data: map[string]string{"server.conf": "max_connections = 100"}},
		}
	}
	target := investigate.Target{Kind: investigate.KindPod, Name: "orders-0", Namespace: "shop", Pod: "orders-0"}
	logs := mapLogs{"shop/orders-0/app": "ERROR FATAL: sorry, too many clients already", "shop/orders-db-0/app": "FATAL: too many clients"}
	s := gatherWith(t, objs(), logs, target, investigate.ServiceDown)
	if !slices.ContainsFunc(s.Logs, func(l ContainerLog) bool { return l.Pod == "orders-db-0" }) {
		t.Error("the saturated dependency's log was not read")
	}
	if !slices.ContainsFunc(s.ConfigMaps, func(c corev1.ConfigMap) bool { return c.Name == "orders-db-config" }) {
		t.Error("the saturated dependency's ConfigMap was not read")
	}
	logs["shop/orders-0/app"] = "ERROR request failed: upstream returned 500"
	s = gatherWith(t, objs(), logs, target, investigate.ServiceDown)
	if slices.ContainsFunc(s.Logs, func(l ContainerLog) bool { return l.Pod == "orders-db-0" }) {
		t.Error("a dependency's log was read without a saturation error")
	}
}

// Healthy-looking pods: the newest pod's log is read besides the first
// ones; troubled pods keep their order.
func TestLogPodsPrefersTheNewestHealthyPod(t *testing.T) {
	base := time.Date(2026, 5, 1, 9, 0, 0, 0, time.UTC)
	mk := func(name string, age int, opts ...podOpt) corev1.Pod {
		p := newPod("shop", name, opts...)
		p.CreationTimestamp = metav1.NewTime(base.Add(-time.Duration(age) * time.Hour))
		return *p
	}
	healthy := []corev1.Pod{mk("a", 9), mk("b", 8), mk("c", 7), mk("d", 0), mk("e", 5)}
	if got := podNames(logPods(healthy)); !slices.Equal(got, []string{"a", "b", "d"}) {
		t.Errorf("healthy: logs of %v, want a, b and the newest d", got)
	}
	troubled := []corev1.Pod{mk("a", 9, crashLooping(3)), mk("b", 8), mk("c", 7), mk("d", 0)}
	if got := podNames(logPods(troubled)); !slices.Equal(got, []string{"a", "b", "c"}) {
		t.Errorf("troubled: logs of %v, want the first three", got)
	}
}
