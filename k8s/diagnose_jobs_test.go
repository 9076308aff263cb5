package k8s

import (
	"testing"
	"time"

	batchv1 "k8s.io/api/batch/v1"
	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/resource"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
)

func deadlineJob(ns, name string, deadline int64, reason string, start time.Time, ran time.Duration) batchv1.Job {
	j := batchv1.Job{ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: name}}
	j.Spec.ActiveDeadlineSeconds = &deadline
	j.Status.StartTime = &metav1.Time{Time: start}
	j.Status.Conditions = []batchv1.JobCondition{{Type: batchv1.JobFailed, Status: corev1.ConditionTrue, Reason: reason,
		Message: "Job was active longer than specified deadline", LastTransitionTime: metav1.NewTime(start.Add(ran))}}
	return j
}

// killedJobPod is a pod of job whose container was terminated after ran.
func killedJobPod(ns, job string, start time.Time, ran time.Duration) *corev1.Pod {
	return newPod(ns, job+"-abcde", withLabels("job-name", job), func(p *corev1.Pod) {
		p.Status.Phase = corev1.PodFailed
		p.Status.ContainerStatuses = []corev1.ContainerStatus{{Name: "app", State: corev1.ContainerState{Terminated: &corev1.ContainerStateTerminated{
			ExitCode: 143, Reason: "Error", StartedAt: metav1.NewTime(start), FinishedAt: metav1.NewTime(start.Add(ran))}}}}
	})
}

func TestDiagnoseJobDeadlines(t *testing.T) {
	start := time.Date(2026, 11, 1, 2, 0, 0, 0, time.UTC)
	runRuleCases(t, []string{"job-deadline", "job-failed"}, []ruleCase{
		{name: "progress too slow for the deadline", rule: "job-deadline-exceeded",
			snap: func() *Snapshot {
				p := killedJobPod("data", "reindex", start, 20*time.Minute)
				return &Snapshot{Pods: []corev1.Pod{*p}, Jobs: []batchv1.Job{deadlineJob("data", "reindex", 1200, "DeadlineExceeded", start, 20*time.Minute)},
					Logs: []ContainerLog{{Namespace: "data", Pod: p.Name, Container: "app", Lines: []string{
						`{"level":"info","msg":"progress","processed":5000,"total":100000}`,
						`{"level":"info","msg":"progress","processed":10000,"total":100000} (×4)`}}}}
			},
			summary: []string{"activeDeadlineSeconds: 1200 (20m)", "it ran 20m", "10000 of 100000 (10%)", "about 3h20m"},
			objects: []string{"job/data/reindex", "pod/data/reindex-abcde"},
			proof:   []string{"reason=DeadlineExceeded", "exitCode=143"}},
		{name: "a lock wait names its holder", rule: "job-deadline-exceeded",
			snap: func() *Snapshot {
				p := killedJobPod("billing", "month-close-2911", start, time.Hour)
				j := deadlineJob("billing", "month-close-2911", 3600, "DeadlineExceeded", start, time.Hour)
				j.OwnerReferences = []metav1.OwnerReference{{Kind: "CronJob", Name: "month-close"}}
				return &Snapshot{Pods: []corev1.Pod{*p}, Jobs: []batchv1.Job{j},
					Logs: []ContainerLog{{Namespace: "billing", Pod: p.Name, Container: "app", Lines: []string{
						"02:00:01 starting close for 2026-10",
						"02:00:03 WARN still waiting for table lock on invoices, blocked by pid 4121 (vacuum full)"}}}}
			},
			summary: []string{"activeDeadlineSeconds: 3600 (1h)", "CronJob billing/month-close", "waiting on a lock held by pid 4121", "invoices"}},
		{name: "a bare pod past its own deadline, timing out on a dependency", rule: "job-deadline-exceeded",
			snap: func() *Snapshot {
				d := int64(600)
				p := newPod("ops", "backup-once", func(p *corev1.Pod) {
					p.Spec.ActiveDeadlineSeconds = &d
					p.Status.Phase, p.Status.Reason = corev1.PodFailed, "DeadlineExceeded"
					p.Status.Message = "Pod was active on the node longer than the specified deadline"
				})
				return &Snapshot{Pods: []corev1.Pod{*p}, Logs: []ContainerLog{{Namespace: "ops", Pod: "backup-once", Container: "app", Lines: []string{
					"ERROR upload failed: dial tcp minio.storage.svc.cluster.local:9000: i/o timeout, retrying"}}}}
			},
			summary: []string{"activeDeadlineSeconds: 600 (10m)", "timing out on minio.storage.svc.cluster.local:9000"},
			objects: []string{"pod/ops/backup-once"}},
		{name: "a backoff limit is no deadline", rule: "job-failed",
			snap: func() *Snapshot {
				p := killedJobPod("data", "import", start, time.Minute)
				j := deadlineJob("data", "import", 3600, "BackoffLimitExceeded", start, time.Minute)
				j.Status.Conditions[0].Message = "Job has reached the specified backoff limit"
				return &Snapshot{Pods: []corev1.Pod{*p}, Jobs: []batchv1.Job{j}}
			},
			summary: []string{"BackoffLimitExceeded"}},
	})
	// Neither fires for a Job that completed.
	runRuleCases(t, []string{"job-deadline"}, []ruleCase{{name: "completed job",
		snap: func() *Snapshot {
			j := deadlineJob("data", "ok", 60, "DeadlineExceeded", start, time.Minute)
			j.Status.Conditions[0].Type = batchv1.JobComplete
			return &Snapshot{Jobs: []batchv1.Job{j}}
		}}})
}

func TestJobFailedDefersToThePodsCause(t *testing.T) {
	start := time.Date(2026, 11, 1, 2, 0, 0, 0, time.UTC)
	j := deadlineJob("data", "import", 3600, "BackoffLimitExceeded", start, time.Minute)
	j.Status.Conditions[0].Message = "Job has reached the specified backoff limit"
	p := newPod("data", "import-x", withLabels("job-name", "import"), func(p *corev1.Pod) {
		p.Status.Phase = corev1.PodFailed
		p.Status.ContainerStatuses = []corev1.ContainerStatus{{Name: "app", State: corev1.ContainerState{Terminated: &corev1.ContainerStateTerminated{ExitCode: 137, Reason: "OOMKilled"}}}}
		p.Spec.Containers[0].Resources.Limits = corev1.ResourceList{corev1.ResourceMemory: resource.MustParse("128Mi")}
	})
	fs := (&Snapshot{Pods: []corev1.Pod{*p}, Jobs: []batchv1.Job{j}}).Diagnose()
	if len(fs) == 0 || fs[0].Rule == "job-failed" {
		t.Fatalf("the pod's own cause must outrank job-failed; got %+v", fs)
	}
}
