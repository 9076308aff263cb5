package k8s

import (
	"fmt"
	"strings"
	"time"

	batchv1 "k8s.io/api/batch/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/k8flex/k8flex/investigate"
)

// diagnoseCronJobsStopped reports CronJobs that stopped creating Jobs
// although the controller can read their schedule: spec.suspend is true
// (the controller skips every scheduled time until it is unset), or, under
// concurrencyPolicy Forbid, a Job that never finishes holds the only slot
// (status.active names it) so every later run is skipped. Missed start
// times the controller reports as events (MissSchedule) are left to
// diagnoseCronJobSchedules.
func diagnoseCronJobsStopped(d *diag) []investigate.Finding {
	var out []investigate.Finding
	for i := range d.s.CronJobs {
		cj := &d.s.CronJobs[i]
		ref := "cronjob/" + cj.Namespace + "/" + cj.Name
		key := cj.Namespace + "/" + cj.Name
		sched := fmt.Sprintf("schedule %q", cj.Spec.Schedule)
		if cj.Spec.TimeZone != nil {
			sched += fmt.Sprintf(" (timeZone %s)", *cj.Spec.TimeZone)
		}
		last := "status.lastScheduleTime " + stamp(cj.Status.LastScheduleTime)
		if cj.Status.LastSuccessfulTime != nil {
			last += ", status.lastSuccessfulTime " + stamp(cj.Status.LastSuccessfulTime)
		}
		switch {
		case cj.Spec.Suspend != nil && *cj.Spec.Suspend:
			proof := fmt.Sprintf("cronjob %s spec.suspend: true, %s, %s", key, sched, last)
			out = append(out, investigate.Finding{
				Rule: "cronjob-suspended", Severity: investigate.FindingCritical, Score: scoreRootCause,
				Summary: fmt.Sprintf("CronJob %s is suspended (spec.suspend: true): the CronJob controller creates no Job for its %s, so no run has started since its last scheduled run (%s).",
					key, sched, last),
				Detail:  "While spec.suspend is true the CronJob controller skips every scheduled time (Jobs already running are not stopped); nothing fails, so no pod, Job or event shows an error — the work silently stops. Unsuspending it starts the next scheduled run; times missed while suspended count as missed runs (startingDeadlineSeconds decides whether one is caught up).",
				Objects: []string{ref}, Proof: []string{proof},
				Actions: []string{
					fmt.Sprintf("kubectl get cronjob -n %s %s -o jsonpath='{.spec.suspend} {.status.lastScheduleTime}'", cj.Namespace, cj.Name),
					fmt.Sprintf("If the pause is no longer wanted: kubectl patch cronjob -n %s %s -p '{\"spec\":{\"suspend\":false}}'", cj.Namespace, cj.Name),
					fmt.Sprintf("Run the missed work once by hand: kubectl create job -n %s --from=cronjob/%s %s-manual", cj.Namespace, cj.Name, clip(cj.Name, 40)),
				},
				Impact:     fmt.Sprintf("The scheduled work of CronJob %s does not run; whatever consumes its output goes stale.", key),
				Prevention: "Record who suspends a CronJob and why (an annotation, a change ticket), and alert on kube_cronjob_spec_suspend together with the last successful run's age.",
			})
		case cj.Spec.ConcurrencyPolicy == batchv1.ForbidConcurrent && len(cj.Status.Active) > 0 && !d.hasCronEvent(cj, "MissSchedule", "TooManyMissedTimes"):
			active := cj.Status.Active[0].Name
			since := ""
			for j := range d.s.Jobs {
				job := &d.s.Jobs[j]
				if job.Namespace == cj.Namespace && job.Name == active && job.Status.StartTime != nil {
					since = " since " + stamp(job.Status.StartTime)
					if job.Spec.ActiveDeadlineSeconds == nil {
						since += " with no activeDeadlineSeconds"
					}
				}
			}
			proof := fmt.Sprintf("cronjob %s concurrencyPolicy Forbid, status.active %s, %s, %s", key, active, sched, last)
			out = append(out, investigate.Finding{
				Rule: "cronjob-blocked", Severity: investigate.FindingCritical, Score: scoreCause,
				Summary: fmt.Sprintf("CronJob %s starts no new runs: under concurrencyPolicy Forbid its Job %s is still active%s, so the controller skips every scheduled time of its %s (%s).",
					key, active, since, sched, last),
				Detail:  "With concurrencyPolicy Forbid the CronJob controller does not start a run while one of its Jobs is active; a Job that hangs (a stuck process, a pod that cannot finish) blocks every later run until it completes, fails or is deleted.",
				Objects: []string{ref, "job/" + cj.Namespace + "/" + active}, Proof: []string{proof},
				Actions: []string{
					fmt.Sprintf("kubectl describe job -n %s %s   # why it does not finish", cj.Namespace, active),
					fmt.Sprintf("kubectl logs -n %s job/%s", cj.Namespace, active),
					"Set activeDeadlineSeconds on the job template so a hung run is stopped, then delete the stuck Job to let the schedule resume.",
				},
				Impact:     fmt.Sprintf("The scheduled work of CronJob %s does not run while %s hangs.", key, active),
				Prevention: "Give CronJob job templates an activeDeadlineSeconds shorter than the schedule's period, and alert on Jobs running longer than expected.",
			})
		}
	}
	return out
}

// hasCronEvent reports whether the CronJob has an event with one of reasons.
func (d *diag) hasCronEvent(cj *batchv1.CronJob, reasons ...string) bool {
	for _, e := range d.events[objKey{"CronJob", cj.Namespace, cj.Name}] {
		for _, r := range reasons {
			if strings.EqualFold(e.Reason, r) {
				return true
			}
		}
	}
	return false
}

// stamp renders a status time in UTC, "never" when unset.
func stamp(t *metav1.Time) string {
	if t == nil || t.IsZero() {
		return "never"
	}
	return t.UTC().Format(time.RFC3339)
}
