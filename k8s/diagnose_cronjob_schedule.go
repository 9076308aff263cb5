package k8s

import (
	"fmt"
	"strings"

	batchv1 "k8s.io/api/batch/v1"

	"github.com/k8flex/k8flex/investigate"
)

// cronScheduleRefusals are the CronJob controller's Warning reasons for a
// schedule or time zone it cannot use: it creates no Job at all.
var cronScheduleRefusals = map[string]bool{
	"InvalidSchedule": true, "UnparseableSchedule": true, "UnParseableCronJobSchedule": true, "UnknownTimeZone": true,
}

// diagnoseCronJobSchedules reports CronJobs the controller does not start:
// a schedule or timeZone it cannot parse (InvalidSchedule,
// UnparseableSchedule, UnknownTimeZone), or start times it missed
// (MissSchedule, TooManyMissedTimes) because startingDeadlineSeconds is
// shorter than the delay or a still-active Job blocks the run under
// concurrencyPolicy Forbid. The finding names the CronJob, the schedule and
// time zone, and what holds the runs back.
func diagnoseCronJobSchedules(d *diag) []investigate.Finding {
	var out []investigate.Finding
	for i := range d.s.CronJobs {
		cj := &d.s.CronJobs[i]
		evs := d.events[objKey{"CronJob", cj.Namespace, cj.Name}]
		var refusal, missed []string
		var refusalMsg, missedReason string
		for _, e := range evs {
			switch {
			case cronScheduleRefusals[e.Reason]:
				refusal = appendUnique(refusal, "cronjob "+cj.Name+": "+evProof(e))
				refusalMsg = e.Reason + ": " + strings.TrimSpace(e.Message)
			case e.Reason == "MissSchedule" || e.Reason == "TooManyMissedTimes":
				missed = appendUnique(missed, "cronjob "+cj.Name+": "+evProof(e))
				missedReason = e.Reason
			}
		}
		ref := "cronjob/" + cj.Namespace + "/" + cj.Name
		sched := fmt.Sprintf("schedule %q", cj.Spec.Schedule)
		if cj.Spec.TimeZone != nil {
			sched += fmt.Sprintf(" timeZone %q", *cj.Spec.TimeZone)
		}
		last := "never"
		if t := cj.Status.LastScheduleTime; t != nil {
			last = t.UTC().Format("2006-01-02T15:04:05Z")
		}
		spec := fmt.Sprintf("cronjob %s/%s spec: %s, concurrencyPolicy %s, status.lastScheduleTime %s", cj.Namespace, cj.Name, sched, cj.Spec.ConcurrencyPolicy, last)
		switch {
		case len(refusal) > 0:
			out = append(out, investigate.Finding{
				Rule: "cronjob-schedule", Severity: investigate.FindingCritical, Score: scoreCause,
				Summary: fmt.Sprintf("CronJob %s/%s never starts a Job: the CronJob controller cannot use its %s (%s); its last run was %s.",
					cj.Namespace, cj.Name, sched, clip(refusalMsg, 300), last),
				Detail:  "The CronJob controller computes the next run from spec.schedule in spec.timeZone; when either cannot be parsed (or the zone is not in the controller's time-zone database) it records a Warning and schedules nothing.",
				Objects: []string{ref}, Proof: append([]string{spec}, refusal...),
				Actions: []string{fmt.Sprintf("kubectl get cronjob -n %s %s -o jsonpath='{.spec.schedule} {.spec.timeZone}'   # a five-field cron expression and an IANA zone name", cj.Namespace, cj.Name)},
				Impact:  "The scheduled work (backups, reports, clean-ups) silently stops running.",
			})
		case len(missed) > 0:
			why := missedCause(cj)
			out = append(out, investigate.Finding{
				Rule: "cronjob-schedule", Severity: investigate.FindingCritical, Score: scoreCause,
				Summary: fmt.Sprintf("CronJob %s/%s misses its scheduled runs (%s, %s)%s; its last run was %s.",
					cj.Namespace, cj.Name, missedReason, sched, why, last),
				Detail:  "The controller starts a run only within startingDeadlineSeconds of its scheduled time; a run that cannot start in that window (the controller was behind, or concurrencyPolicy Forbid while a Job is still active) is skipped, and after 100 missed times it stops catching up.",
				Objects: []string{ref}, Proof: append([]string{spec}, missed...),
				Actions: []string{fmt.Sprintf("kubectl get cronjob -n %s %s -o yaml   # startingDeadlineSeconds, concurrencyPolicy, status.active", cj.Namespace, cj.Name)},
				Impact:  "Scheduled runs are skipped.",
			})
		}
	}
	return out
}

// missedCause explains missed start times from the CronJob's spec and
// status.
func missedCause(cj *batchv1.CronJob) string {
	var why []string
	if cj.Spec.ConcurrencyPolicy == batchv1.ForbidConcurrent && len(cj.Status.Active) > 0 {
		why = append(why, fmt.Sprintf("concurrencyPolicy Forbid while Job %s is still active", cj.Status.Active[0].Name))
	}
	if s := cj.Spec.StartingDeadlineSeconds; s != nil {
		why = append(why, fmt.Sprintf("startingDeadlineSeconds %d leaves that little time to start each run", *s))
	}
	if len(why) == 0 {
		return ""
	}
	return ": " + strings.Join(why, "; ")
}
