package k8s

import (
	"testing"
	"time"

	batchv1 "k8s.io/api/batch/v1"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
)

func TestDiagnoseCronJobSchedules(t *testing.T) {
	at := time.Date(2026, 11, 1, 10, 0, 0, 0, time.UTC)
	cron := func(sched string, tz *string) batchv1.CronJob {
		return batchv1.CronJob{ObjectMeta: metav1.ObjectMeta{Namespace: "ops", Name: "backup"},
			Spec: batchv1.CronJobSpec{Schedule: sched, TimeZone: tz, ConcurrencyPolicy: batchv1.ForbidConcurrent}}
	}
	cev := func(reason, msg string) corev1.Event {
		e := newEvent("ops", "backup."+reason, "CronJob", "ops", "backup", reason, at)
		e.Message = msg
		return *e
	}
	tz := "Europe/Paris "
	runRuleCases(t, []string{"cronjob-schedule"}, []ruleCase{
		{
			name: "unknown time zone",
			snap: func() *Snapshot {
				return &Snapshot{CronJobs: []batchv1.CronJob{cron("0 2 * * *", &tz)},
					Events: []corev1.Event{cev("UnknownTimeZone", `invalid timeZone: "Europe/Paris ": unknown time zone Europe/Paris `)}}
			},
			rule:    "cronjob-schedule",
			summary: []string{"CronJob ops/backup never starts a Job", `timeZone "Europe/Paris "`, "UnknownTimeZone", "last run was never"},
			objects: []string{"cronjob/ops/backup"},
		},
		{
			name: "missed runs behind an active job under Forbid",
			snap: func() *Snapshot {
				cj := cron("*/10 * * * *", nil)
				sd := int64(60)
				cj.Spec.StartingDeadlineSeconds = &sd
				cj.Status.Active = []corev1.ObjectReference{{Kind: "Job", Namespace: "ops", Name: "backup-29401230"}}
				cj.Status.LastScheduleTime = &metav1.Time{Time: at.Add(-3 * time.Hour)}
				return &Snapshot{CronJobs: []batchv1.CronJob{cj},
					Events: []corev1.Event{cev("MissSchedule", "Missed scheduled time to start a job: Sun, 01 Nov 2026 09:50:00 +0000")}}
			},
			rule:    "cronjob-schedule",
			summary: []string{"misses its scheduled runs (MissSchedule", "concurrencyPolicy Forbid while Job backup-29401230 is still active", "startingDeadlineSeconds 60"},
			proof:   []string{"Warning MissSchedule"},
		},
		{
			name: "a CronJob that runs normally",
			snap: func() *Snapshot {
				e := cev("SuccessfulCreate", "Created job backup-29401230")
				e.Type = "Normal"
				return &Snapshot{CronJobs: []batchv1.CronJob{cron("0 2 * * *", nil)}, Events: []corev1.Event{e}}
			},
		},
	})
}
