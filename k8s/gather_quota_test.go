package k8s

import (
	"strings"
	"testing"

	appsv1 "k8s.io/api/apps/v1"
	batchv1 "k8s.io/api/batch/v1"
	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/resource"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"

	"github.com/k8flex/k8flex/investigate"
)

func quotaOf(ns, name string, hardUsed ...string) *corev1.ResourceQuota {
	q := &corev1.ResourceQuota{ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: name},
		Status: corev1.ResourceQuotaStatus{Hard: corev1.ResourceList{}, Used: corev1.ResourceList{}}}
	for i := 0; i+2 < len(hardUsed); i += 3 {
		n := corev1.ResourceName(hardUsed[i])
		q.Status.Hard[n], q.Status.Used[n] = resource.MustParse(hardUsed[i+1]), resource.MustParse(hardUsed[i+2])
	}
	return q
}

func withRequests(cpu, mem string) podOpt {
	return func(p *corev1.Pod) {
		p.Spec.Containers[0].Resources.Requests = corev1.ResourceList{corev1.ResourceCPU: resource.MustParse(cpu), corev1.ResourceMemory: resource.MustParse(mem)}
	}
}

func batchJob(ns, name string, parallelism, active int32, cpu, mem string) *batchv1.Job {
	j := &batchv1.Job{ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: name},
		Spec:   batchv1.JobSpec{Parallelism: &parallelism},
		Status: batchv1.JobStatus{Active: active}}
	j.Spec.Template.Spec.Containers = []corev1.Container{{Name: "work", Resources: corev1.ResourceRequirements{
		Requests: corev1.ResourceList{corev1.ResourceCPU: resource.MustParse(cpu), corev1.ResourceMemory: resource.MustParse(mem)}}}}
	return j
}

// A Deployment refused by an exhausted quota leads to the workloads that
// hold the quota: a Job running many pods at once, of which only one pod
// is live in the cluster read, is counted from its status.active.
func TestGatherQuotaConsumers(t *testing.T) {
	ns := "analytics"
	dep := newDeployment(ns, "api", map[string]string{"app": "api"})
	rs := newReplicaSet(ns, "api-7c9d8f6b5", "api")
	rs.Status.Replicas = 2
	rs.Spec.Template.Spec.Containers = []corev1.Container{{Name: "app"}}
	api1 := newPod(ns, "api-7c9d8f6b5-aaaaa", ownedByRS("api-7c9d8f6b5"), withLabels("app", "api"), withRequests("1", "2Gi"))
	api2 := newPod(ns, "api-7c9d8f6b5-bbbbb", ownedByRS("api-7c9d8f6b5"), withLabels("app", "api"), withRequests("1", "2Gi"))
	job := batchJob(ns, "rebuild-index", 8, 8, "2", "4Gi")
	jp := newPod(ns, "rebuild-index-3-xk2p9", controlledBy("Job", "rebuild-index"), withRequests("2", "4Gi"))
	done := newPod(ns, "rebuild-index-0-q8m2z", controlledBy("Job", "rebuild-index"), withRequests("2", "4Gi"))
	done.Status.Phase = corev1.PodSucceeded
	small := batchJob(ns, "tiny", 1, 1, "100m", "64Mi")
	q := quotaOf(ns, "compute", "requests.cpu", "20", "19", "requests.memory", "40Gi", "36Gi", "limits.memory", "100Gi", "10Gi")
	s := gatherWith(t, []runtime.Object{dep, rs, api1, api2, job, jp, done, small, q}, mapLogs{},
		investigate.Target{Kind: investigate.KindDeployment, Namespace: ns, Name: "api", Workload: investigate.Ref{Kind: investigate.KindDeployment, Name: "api"}}, investigate.PodPending)
	if len(s.QuotaConsumers) < 2 {
		t.Fatalf("quota consumers: %+v", s.QuotaConsumers)
	}
	top := s.QuotaConsumers[0]
	if top.Kind != "Job" || top.Name != "rebuild-index" || top.Pods != 8 || top.Parallelism != 8 {
		t.Errorf("top consumer %+v, want Job rebuild-index with 8 pods", top)
	}
	if cpu := top.Holds["requests.cpu"]; cpu.Cmp(resource.MustParse("16")) != 0 {
		t.Errorf("top consumer holds requests.cpu %s, want 16", cpu.String())
	}
	if _, ok := top.Holds["limits.memory"]; ok {
		t.Error("limits.memory is far from its hard limit and should not be ranked")
	}
	if s.QuotaConsumers[1].Kind != "Deployment" || s.QuotaConsumers[1].Name != "api" || s.QuotaConsumers[1].Pods != 2 {
		t.Errorf("second consumer %+v, want Deployment api with 2 pods", s.QuotaConsumers[1])
	}
	if !strings.Contains(section(t, s, "resources/limits"), "held by Job rebuild-index (8 active pods, parallelism 8") {
		t.Error("the consumers are not in the evidence")
	}
}

// A quota with room left is not followed.
func TestGatherQuotaConsumersOnlyWhenTight(t *testing.T) {
	ns := "analytics"
	job := batchJob(ns, "rebuild-index", 8, 8, "2", "4Gi")
	p := newPod(ns, "web-0", withRequests("1", "1Gi"), crashLooping(2))
	q := quotaOf(ns, "compute", "requests.cpu", "40", "17")
	s := gatherWith(t, []runtime.Object{job, p, q}, mapLogs{}, investigate.Target{Kind: investigate.KindPod, Namespace: ns, Name: "web-0", Pod: "web-0"}, investigate.PodCrash)
	if len(s.QuotaConsumers) != 0 {
		t.Errorf("consumers of a quota with room: %+v", s.QuotaConsumers)
	}
}

func TestDiagnoseQuotaHolders(t *testing.T) {
	held := func(cs ...QuotaConsumer) func(*Snapshot) {
		return func(s *Snapshot) { s.QuotaConsumers = cs }
	}
	cpu := func(v string) corev1.ResourceList { return corev1.ResourceList{"requests.cpu": resource.MustParse(v)} }
	runRuleCases(t, []string{"failedcreate"}, []ruleCase{
		{name: "a parallel Job holds the quota the Deployment needs", rule: "failedcreate-quota",
			snap: snapWith([]corev1.Event{createEvent("ReplicaSet", "data", "api-6d5f7c8b9", "FailedCreate",
				`Error creating: pods "api-6d5f7c8b9-x2x2x" is forbidden: exceeded quota: team, requested: requests.cpu=1, used: requests.cpu=29500m, limited: requests.cpu=30`, 5, t0)},
				withDeployment("data", "api"), held(QuotaConsumer{Quota: "data/team", Kind: "Job", Name: "etl", Pods: 10, Parallelism: 10, Holds: cpu("25")})),
			summary: []string{"held mostly by Job etl (10 active pods, parallelism 10: requests.cpu 25)"}, objects: []string{"job/data/etl"}},
		{name: "a StatefulSet refused while another StatefulSet holds the pod count", rule: "failedcreate-quota",
			snap: snapWith([]corev1.Event{createEvent("StatefulSet", "db", "pg", "FailedCreate",
				`create Pod pg-2 in StatefulSet pg failed error: pods "pg-2" is forbidden: exceeded quota: db-pods, requested: pods=1, used: pods=6, limited: pods=6`, 3, t0)},
				func(s *Snapshot) {
					s.StatefulSets = []appsv1.StatefulSet{{ObjectMeta: metav1.ObjectMeta{Namespace: "db", Name: "pg"}}}
				},
				held(QuotaConsumer{Quota: "db/db-pods", Kind: "StatefulSet", Name: "cache", Pods: 4, Holds: corev1.ResourceList{"pods": resource.MustParse("4")}})),
			summary: []string{"held mostly by StatefulSet cache (4 active pods: pods 4)"}},
	})
	// Consumers of another quota are not blamed.
	s := snapWith([]corev1.Event{createEvent("ReplicaSet", "data", "api-6d5f7c8b9", "FailedCreate",
		`Error creating: pods "api-6d5f7c8b9-x2x2x" is forbidden: exceeded quota: team, requested: requests.cpu=1, used: requests.cpu=29500m, limited: requests.cpu=30`, 5, t0)},
		held(QuotaConsumer{Quota: "data/other", Kind: "Job", Name: "etl", Pods: 10, Holds: cpu("25")}))()
	for _, f := range s.Diagnose() {
		if strings.Contains(f.Summary, "held mostly") {
			t.Errorf("consumer of another quota named: %s", f.Summary)
		}
	}
}
