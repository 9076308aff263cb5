package k8s

import (
	"slices"
	"testing"
	"time"

	batchv1 "k8s.io/api/batch/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/types"

	"github.com/k8flex/k8flex/investigate"
)

// A Job whose pods are gone is investigated through the pods (and logs)
// of the newest other run of its CronJob that still has pods; a Job
// without a CronJob, or whose own pods remain, is investigated alone.
func TestResolveJobWithoutPodsUsesNewestCronJobRun(t *testing.T) {
	yes := true
	base := time.Date(2026, 3, 1, 2, 0, 0, 0, time.UTC)
	job := func(name, cron string, age int) *batchv1.Job {
		j := &batchv1.Job{ObjectMeta: metav1.ObjectMeta{Namespace: "ops", Name: name, UID: types.UID("uid-" + name),
			CreationTimestamp: metav1.NewTime(base.Add(-time.Duration(age) * time.Hour))},
			Status: batchv1.JobStatus{Failed: 3}}
		if cron != "" {
			j.OwnerReferences = []metav1.OwnerReference{{APIVersion: "batch/v1", Kind: "CronJob", Name: cron, Controller: &yes}}
		}
		return j
	}
	cron := &batchv1.CronJob{ObjectMeta: metav1.ObjectMeta{Namespace: "ops", Name: "sync"}, Spec: batchv1.CronJobSpec{Schedule: "*/15 * * * *"}}
	objs := func(extra ...runtime.Object) []runtime.Object {
		return append([]runtime.Object{cron,
			job("sync-100", "sync", 3), job("sync-115", "sync", 2), job("sync-130", "sync", 1), job("sync-145", "sync", 0),
			job("other-1", "other", 0),
			newPod("ops", "sync-130-abcde", controlledBy("Job", "sync-130"), crashLooping(0)),
			newPod("ops", "sync-115-fghij", controlledBy("Job", "sync-115"), crashLooping(0)),
			newPod("ops", "other-1-klmno", controlledBy("Job", "other-1"), crashLooping(0)),
		}, extra...)
	}
	logs := mapLogs{"ops/sync-130-abcde/app": "ERROR lookup catalog: no such host"}
	target := func(name string) investigate.Target {
		return investigate.Target{Kind: investigate.KindJob, Name: name, Namespace: "ops", Workload: investigate.Ref{Kind: investigate.KindJob, Name: name}}
	}

	s := gatherWith(t, objs(), logs, target("sync-100"), investigate.PodCrash)
	if got := podNames(s.Pods); !slices.Equal(got, []string{"sync-130-abcde"}) {
		t.Errorf("pods = %v, want the pods of the newest run that has pods (sync-130)", got)
	}
	if len(s.Logs) == 0 || s.Logs[0].Pod != "sync-130-abcde" {
		t.Errorf("logs = %+v, want the stand-in run's log", s.Logs)
	}
	var jobs []string
	for _, j := range s.Jobs {
		jobs = append(jobs, j.Name)
	}
	if !slices.Contains(jobs, "sync-100") || !slices.Contains(jobs, "sync-130") {
		t.Errorf("jobs = %v, want the alerting Job and its stand-in", jobs)
	}

	// The Job's own pods win.
	s = gatherWith(t, objs(), logs, target("sync-115"), investigate.PodCrash)
	if got := podNames(s.Pods); !slices.Equal(got, []string{"sync-115-fghij"}) {
		t.Errorf("pods = %v, want the Job's own pod", got)
	}

	// A Job that no CronJob owns has no stand-in.
	s = gatherWith(t, append(objs(), job("once", "", 5)), logs, target("once"), investigate.PodCrash)
	if len(s.Pods) != 0 {
		t.Errorf("pods = %v, want none for a Job without a CronJob", podNames(s.Pods))
	}
}
