package k8s

import (
	"slices"
	"testing"
	"time"

	appsv1 "k8s.io/api/apps/v1"
	batchv1 "k8s.io/api/batch/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/types"

	"github.com/k8flex/k8flex/investigate"
)

func TestCollectOwners(t *testing.T) {
	yes := true
	rs := func(name, rev string) *appsv1.ReplicaSet {
		return &appsv1.ReplicaSet{ObjectMeta: metav1.ObjectMeta{Namespace: "web", Name: name, Annotations: map[string]string{"deployment.kubernetes.io/revision": rev},
			OwnerReferences: []metav1.OwnerReference{{Kind: "Deployment", Name: "store", Controller: &yes}}}}
	}
	objs := []runtime.Object{
		newDeployment("web", "store", map[string]string{"app": "store"}),
		rs("store-6f8d9c7b5d", "4"), rs("store-7c5f8b9d6d", "3"), rs("store-5a5a5a5a5a", "2"), rs("store-4b4b4b4b4b", "1"),
		newPod("web", "store-6f8d9c7b5d-pt7wz", withLabels("app", "store"), ownedByRS("store-6f8d9c7b5d"), crashLooping(1)),
	}
	s := gatherWith(t, objs, mapLogs{}, investigate.Target{Kind: investigate.KindPod, Name: "store-6f8d9c7b5d-pt7wz", Namespace: "web", Pod: "store-6f8d9c7b5d-pt7wz"}, investigate.PodCrash)
	if len(s.Deployments) != 1 || s.Deployments[0].Name != "store" {
		t.Errorf("deployments = %v, want store (through its ReplicaSet)", s.Deployments)
	}
	var names []string
	for _, r := range s.ReplicaSets {
		names = append(names, r.Name)
	}
	want := []string{"store-5a5a5a5a5a", "store-6f8d9c7b5d", "store-7c5f8b9d6d"} // newest 3 revisions, sorted
	if !slices.Equal(names, want) {
		t.Errorf("replicasets = %v, want %v", names, want)
	}
}

// A Job pod leads up to its Job and the CronJob that owns it (with the
// CronJob's events), and down again to the CronJob's newest other runs.
func TestCollectCronJobs(t *testing.T) {
	yes := true
	base := time.Date(2026, 3, 1, 2, 0, 0, 0, time.UTC)
	job := func(name string, age int) *batchv1.Job {
		return &batchv1.Job{ObjectMeta: metav1.ObjectMeta{Namespace: "ops", Name: name, UID: types.UID("uid-" + name),
			CreationTimestamp: metav1.NewTime(base.Add(-time.Duration(age) * 24 * time.Hour)),
			OwnerReferences:   []metav1.OwnerReference{{APIVersion: "batch/v1", Kind: "CronJob", Name: "backup", Controller: &yes}}},
			Status: batchv1.JobStatus{Failed: 1}}
	}
	cron := &batchv1.CronJob{ObjectMeta: metav1.ObjectMeta{Namespace: "ops", Name: "backup"}, Spec: batchv1.CronJobSpec{Schedule: "0 2 * * *", ConcurrencyPolicy: batchv1.ForbidConcurrent}}
	unrelated := &batchv1.Job{ObjectMeta: metav1.ObjectMeta{Namespace: "ops", Name: "migrate"}}
	objs := []runtime.Object{cron, unrelated,
		job("backup-29000000", 0), job("backup-28990000", 1), job("backup-28980000", 2), job("backup-28970000", 3), job("backup-28960000", 4),
		newPod("ops", "backup-29000000-x7k2p", controlledBy("Job", "backup-29000000"), crashLooping(0)),
		newEvent("ops", "backup.1", "CronJob", "ops", "backup", "SawCompletedJob", base),
	}
	s := gatherWith(t, objs, mapLogs{}, investigate.Target{Kind: investigate.KindPod, Name: "backup-29000000-x7k2p", Namespace: "ops", Pod: "backup-29000000-x7k2p"}, investigate.PodCrash)
	if len(s.CronJobs) != 1 || s.CronJobs[0].Name != "backup" {
		t.Fatalf("cronjobs = %v, want backup", s.CronJobs)
	}
	var jobs []string
	for _, j := range s.Jobs {
		jobs = append(jobs, j.Name)
	}
	slices.Sort(jobs)
	if want := []string{"backup-28970000", "backup-28980000", "backup-28990000", "backup-29000000"}; !slices.Equal(jobs, want) {
		t.Errorf("jobs = %v, want the pod's Job and the CronJob's 3 newest other runs %v", jobs, want)
	}
	if !involvedEvent(s, "CronJob", "backup") {
		t.Error("the CronJob's events are not among the events of the objects involved")
	}
	containsAll(t, "owners section", section(t, s, "owners"),
		`CronJob ops/backup: schedule "0 2 * * *", suspended false, concurrency Forbid`,
		"Created by CronJob backup")
}
