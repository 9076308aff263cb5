package k8s

import (
	"testing"
	"time"

	batchv1 "k8s.io/api/batch/v1"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
)

func TestDiagnoseCronJobsStopped(t *testing.T) {
	at := time.Date(2026, 3, 4, 5, 0, 0, 0, time.UTC)
	yes, no := true, false
	cron := func(ns, name string, suspend *bool, policy batchv1.ConcurrencyPolicy) batchv1.CronJob {
		return batchv1.CronJob{ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: name},
			Spec: batchv1.CronJobSpec{Schedule: "30 1 * * *", Suspend: suspend, ConcurrencyPolicy: policy},
			Status: batchv1.CronJobStatus{LastScheduleTime: &metav1.Time{Time: at.Add(-50 * time.Hour)},
				LastSuccessfulTime: &metav1.Time{Time: at.Add(-49 * time.Hour)}}}
	}
	runRuleCases(t, []string{"cronjob-suspended", "cronjob-blocked"}, []ruleCase{
		{
			name: "suspended nightly export",
			snap: func() *Snapshot {
				return &Snapshot{CronJobs: []batchv1.CronJob{cron("billing", "invoice-sync", &yes, batchv1.AllowConcurrent)}}
			},
			rule:    "cronjob-suspended",
			summary: []string{"CronJob billing/invoice-sync is suspended (spec.suspend: true)", `schedule "30 1 * * *"`, "status.lastScheduleTime 2026-03-02T03:00:00Z"},
			objects: []string{"cronjob/billing/invoice-sync"},
			proof:   []string{"spec.suspend: true"},
		},
		{
			name: "suspended with Forbid and an old completed run",
			snap: func() *Snapshot {
				return &Snapshot{CronJobs: []batchv1.CronJob{cron("ops", "vacuum", &yes, batchv1.ForbidConcurrent)}}
			},
			rule:    "cronjob-suspended",
			summary: []string{"CronJob ops/vacuum is suspended"},
		},
		{
			name: "a hung Job blocks the schedule under Forbid",
			snap: func() *Snapshot {
				cj := cron("ops", "vacuum", &no, batchv1.ForbidConcurrent)
				cj.Status.Active = []corev1.ObjectReference{{Kind: "Job", Namespace: "ops", Name: "vacuum-29500000"}}
				job := batchv1.Job{ObjectMeta: metav1.ObjectMeta{Namespace: "ops", Name: "vacuum-29500000"},
					Status: batchv1.JobStatus{Active: 1, StartTime: &metav1.Time{Time: at.Add(-48 * time.Hour)}}}
				return &Snapshot{CronJobs: []batchv1.CronJob{cj}, Jobs: []batchv1.Job{job}}
			},
			rule:    "cronjob-blocked",
			summary: []string{"under concurrencyPolicy Forbid its Job vacuum-29500000 is still active since 2026-03-02T05:00:00Z with no activeDeadlineSeconds"},
			objects: []string{"job/ops/vacuum-29500000"},
		},
		{
			name: "a running CronJob allowed to overlap",
			snap: func() *Snapshot {
				cj := cron("ops", "vacuum", &no, batchv1.AllowConcurrent)
				cj.Status.Active = []corev1.ObjectReference{{Kind: "Job", Namespace: "ops", Name: "vacuum-29500000"}}
				return &Snapshot{CronJobs: []batchv1.CronJob{cj}}
			},
		},
		{
			name: "missed runs are left to cronjob-schedule",
			snap: func() *Snapshot {
				cj := cron("ops", "vacuum", nil, batchv1.ForbidConcurrent)
				cj.Status.Active = []corev1.ObjectReference{{Kind: "Job", Namespace: "ops", Name: "vacuum-29500000"}}
				e := newEvent("ops", "vacuum.1", "CronJob", "ops", "vacuum", "MissSchedule", at)
				return &Snapshot{CronJobs: []batchv1.CronJob{cj}, Events: []corev1.Event{*e}}
			},
		},
	})
}
