package k8s

import (
	"testing"
	"time"

	appsv1 "k8s.io/api/apps/v1"
	batchv1 "k8s.io/api/batch/v1"
	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/resource"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
)

var t0 = time.Date(2026, 5, 14, 16, 20, 0, 0, time.UTC)

// createEvent is an event of a controller about creating a pod.
func createEvent(kind, ns, name, reason, msg string, count int32, at time.Time) corev1.Event {
	e := newEvent(ns, name+"."+reason+at.Format("150405"), kind, ns, name, reason, at)
	e.Message, e.Count = msg, count
	if reason == "SuccessfulCreate" {
		e.Type = "Normal"
	}
	return *e
}

func withDeployment(ns, name string) func(*Snapshot) {
	return func(s *Snapshot) {
		s.Deployments = append(s.Deployments, *newDeployment(ns, name, map[string]string{"app": name}))
	}
}

func snapWith(evs []corev1.Event, opts ...func(*Snapshot)) func() *Snapshot {
	return func() *Snapshot {
		s := &Snapshot{Events: evs}
		for _, o := range opts {
			o(s)
		}
		return s
	}
}

func TestDiagnoseFailedCreate(t *testing.T) {
	quotaMsg := `Error creating: pods "thumbs-5f8b7c9d64-9mzvb" is forbidden: exceeded quota: media-quota, requested: requests.memory=2Gi, used: requests.memory=11Gi, limited: requests.memory=12Gi`
	quota := corev1.ResourceQuota{ObjectMeta: metav1.ObjectMeta{Namespace: "media", Name: "media-quota"},
		Status: corev1.ResourceQuotaStatus{
			Hard: corev1.ResourceList{corev1.ResourceRequestsMemory: resource.MustParse("12Gi")},
			Used: corev1.ResourceList{corev1.ResourceRequestsMemory: resource.MustParse("11Gi")}}}
	psa := `create Pod broker-2 in StatefulSet broker failed error: pods "broker-2" is forbidden: violates PodSecurity "restricted:latest": allowPrivilegeEscalation != false (container "broker" must set securityContext.allowPrivilegeEscalation=false), unrestricted capabilities (container "broker" must set securityContext.capabilities.drop=["ALL"]), runAsNonRoot != true (pod or container "broker" must set securityContext.runAsNonRoot=true)`
	ds := func(s *Snapshot) {
		s.DaemonSets = append(s.DaemonSets, appsv1.DaemonSet{ObjectMeta: metav1.ObjectMeta{Namespace: "obs", Name: "agent"},
			Spec: appsv1.DaemonSetSpec{Template: corev1.PodTemplateSpec{Spec: corev1.PodSpec{Containers: []corev1.Container{
				{Name: "collector", Resources: corev1.ResourceRequirements{Limits: corev1.ResourceList{corev1.ResourceMemory: resource.MustParse("2Gi")}}}}}}}})
		s.LimitRanges = append(s.LimitRanges, corev1.LimitRange{ObjectMeta: metav1.ObjectMeta{Namespace: "obs", Name: "obs-limits"}})
	}
	sts := func(s *Snapshot) {
		s.StatefulSets = append(s.StatefulSets, appsv1.StatefulSet{ObjectMeta: metav1.ObjectMeta{Namespace: "md", Name: "broker"}})
	}
	runRuleCases(t, []string{"failedcreate"}, []ruleCase{
		{name: "ReplicaSet of a Deployment exceeds a ResourceQuota", rule: "failedcreate-quota",
			snap: snapWith([]corev1.Event{createEvent("ReplicaSet", "media", "thumbs-5f8b7c9d64", "FailedCreate", quotaMsg, 24, t0)},
				withDeployment("media", "thumbs"), func(s *Snapshot) { s.ResourceQuotas = []corev1.ResourceQuota{quota} }),
			summary: []string{"ResourceQuota media-quota", "requests.memory used 11Gi of 12Gi", "asks 2Gi", "Deployment thumbs", "×24"},
			objects: []string{"replicaset/media/thumbs-5f8b7c9d64", "resourcequota/media/media-quota"},
			proof:   []string{"requests.memory 11Gi/12Gi"}},
		{name: "Job pods refused by a quota on pod count", rule: "failedcreate-quota",
			snap: snapWith([]corev1.Event{createEvent("Job", "etl", "nightly", "FailedCreate",
				`Error creating: pods "nightly-x7k2p" is forbidden: exceeded quota: etl-pods, requested: pods=1, used: pods=10, limited: pods=10`, 3, t0)},
				func(s *Snapshot) {
					s.Jobs = []batchv1.Job{{ObjectMeta: metav1.ObjectMeta{Namespace: "etl", Name: "nightly"}}}
				}),
			summary: []string{"ResourceQuota etl-pods", "pods used 10 of 10", "Job etl/nightly"}},
		{name: "quota that needs limits the template lacks", rule: "failedcreate-quota",
			snap: snapWith([]corev1.Event{createEvent("ReplicaSet", "media", "thumbs-5f8b7c9d64", "FailedCreate",
				`Error creating: pods "thumbs-5f8b7c9d64-9mzvb" is forbidden: failed quota: media-quota: must specify limits.cpu for: thumbs; limits.memory for: thumbs`, 5, t0)},
				withDeployment("media", "thumbs")),
			summary: []string{"ResourceQuota media-quota", "must specify limits.cpu"}},
		{name: "StatefulSet refused by PodSecurity restricted", rule: "failedcreate-podsecurity",
			snap:    snapWith([]corev1.Event{createEvent("StatefulSet", "md", "broker", "FailedCreate", psa, 23, t0)}, sts),
			summary: []string{"PodSecurity", `"restricted:latest"`, "StatefulSet md/broker", `allowPrivilegeEscalation != false (container "broker")`, "runAsNonRoot != true"}},
		{name: "DaemonSet refused by a LimitRange maximum", rule: "failedcreate-limitrange",
			snap: snapWith([]corev1.Event{createEvent("DaemonSet", "obs", "agent", "FailedCreate",
				`Error creating: pods "agent-q8r4z" is forbidden: maximum memory usage per Container is 1Gi, but limit is 2Gi`, 27, t0)}, ds),
			summary: []string{"LimitRange obs-limits", "maximum memory per Container is 1Gi, but the limit is 2Gi (container collector)", "DaemonSet obs/agent"},
			objects: []string{"limitrange/obs/obs-limits"}},
		{name: "limit to request ratio", rule: "failedcreate-limitrange",
			snap: snapWith([]corev1.Event{createEvent("DaemonSet", "obs", "agent", "FailedCreate",
				`Error creating: pods "agent-q8r4z" is forbidden: memory max limit to request ratio per Container is 2, but provided ratio is 4.000000`, 2, t0)}, ds),
			summary: []string{"memory limit/request ratio per Container may be at most 2, but it is 4"}},
		{name: "webhook denies", rule: "failedcreate-webhook",
			snap: snapWith([]corev1.Event{createEvent("ReplicaSet", "media", "thumbs-5f8b7c9d64", "FailedCreate",
				`Error creating: admission webhook "validate.policy.example" denied the request: image registry not allowed`, 4, t0)}, withDeployment("media", "thumbs")),
			summary: []string{`"validate.policy.example"`, "image registry not allowed"}},
		{name: "webhook unreachable", rule: "failedcreate-webhook",
			snap: snapWith([]corev1.Event{createEvent("ReplicaSet", "media", "thumbs-5f8b7c9d64", "FailedCreate",
				`Error creating: Internal error occurred: failed calling webhook "inject.mesh.example": Post "https://mesh.svc:443/inject": dial tcp 10.0.0.9:443: connect: connection refused`, 4, t0)}, withDeployment("media", "thumbs")),
			summary: []string{`"inject.mesh.example" cannot be called`, "connection refused"}},
		{name: "missing ServiceAccount", rule: "failedcreate-serviceaccount",
			snap: snapWith([]corev1.Event{createEvent("ReplicaSet", "media", "thumbs-5f8b7c9d64", "FailedCreate",
				`Error creating: pods "thumbs-5f8b7c9d64-" is forbidden: error looking up service account media/thumbs-sa: serviceaccount "thumbs-sa" not found`, 4, t0)}, withDeployment("media", "thumbs")),
			summary: []string{"ServiceAccount media/thumbs-sa does not exist"},
			objects: []string{"serviceaccount/media/thumbs-sa"}},
		{name: "ReplicaFailure condition when the events expired", rule: "failedcreate-quota",
			snap: func() *Snapshot {
				d := newDeployment("media", "thumbs", nil)
				d.Status.Conditions = []appsv1.DeploymentCondition{{Type: appsv1.DeploymentReplicaFailure, Status: corev1.ConditionTrue, Reason: "FailedCreate",
					Message: `pods "thumbs-5f8b7c9d64-9mzvb" is forbidden: exceeded quota: media-quota, requested: requests.cpu=1, used: requests.cpu=15, limited: requests.cpu=16`}}
				return &Snapshot{Deployments: []appsv1.Deployment{*d}}
			},
			summary: []string{"requests.cpu used 15 of 16"}},
		{name: "a controller outside the investigation is ignored", rule: "",
			snap: snapWith([]corev1.Event{createEvent("ReplicaSet", "media", "other-5f8b7c9d64", "FailedCreate", quotaMsg, 3, t0)}, withDeployment("media", "thumbs"))},
	})
}

func TestDiagnoseFailedCreateRecovered(t *testing.T) {
	quotaMsg := `Error creating: pods "thumbs-5f8b7c9d64-9mzvb" is forbidden: exceeded quota: media-quota, requested: requests.memory=2Gi, used: requests.memory=11Gi, limited: requests.memory=12Gi`
	s := &Snapshot{Events: []corev1.Event{
		createEvent("ReplicaSet", "media", "thumbs-5f8b7c9d64", "FailedCreate", quotaMsg, 2, t0),
		createEvent("ReplicaSet", "media", "thumbs-5f8b7c9d64", "SuccessfulCreate", "Created pod: thumbs-5f8b7c9d64-abcde", 1, t0.Add(time.Minute)),
	}}
	withDeployment("media", "thumbs")(s)
	s.Pods = []corev1.Pod{*newPod("media", "web-1", withLabels("app", "web"))}
	found := false
	for _, f := range s.Diagnose() {
		if f.Rule != "failedcreate-quota" {
			continue
		}
		found = true
		if f.Score > scoreContext {
			t.Errorf("a refusal followed by a successful create still ranks as a cause: %+v", f)
		}
	}
	if !found {
		t.Error("the earlier refusal is not reported at all")
	}
}

// A refusal the failedcreate rules explain is not repeated as a bare
// warning event.
func TestDiagnoseFailedCreateNotRepeated(t *testing.T) {
	s := &Snapshot{Events: []corev1.Event{createEvent("ReplicaSet", "media", "thumbs-5f8b7c9d64", "FailedCreate",
		`Error creating: Internal error occurred: failed calling webhook "validate.policy.example.com": context deadline exceeded`, 7, t0)}}
	withDeployment("media", "thumbs")(s)
	s.Pods = []corev1.Pod{*newPod("media", "thumbs-5f8b7c9d64-abcde", ownedByRS("thumbs-5f8b7c9d64"), withLabels("pod-template-hash", "5f8b7c9d64"))}
	rules := map[string]bool{}
	for _, f := range s.Diagnose() {
		rules[f.Rule] = true
	}
	if !rules["failedcreate-webhook"] || rules["warning-event"] {
		t.Errorf("rules %v: want failedcreate-webhook and no warning-event", rules)
	}
}
