package k8s

import (
	"encoding/json"
	"fmt"
	"regexp"
	"strconv"
	"strings"
	"time"

	batchv1 "k8s.io/api/batch/v1"
	corev1 "k8s.io/api/core/v1"

	"github.com/k8flex/k8flex/investigate"
)

// What a job's log shows it was doing when its deadline killed it.
var (
	reJobLockWait = regexp.MustCompile(`(?i)lock wait|waiting for \w*lock\b|waiting for (?:an? |the )?(?:\w+ )?lock|lock(?:s)? (?:not available|timeout|held)|deadlock|could not obtain lock|locknotavailable|metadata lock|blocked by|held by|waiting for transaction`)
	reJobSlow     = regexp.MustCompile(`(?i)slow query|statement timeout|canceling statement|query (?:took|running for|is slow)|long[- ]running (?:query|transaction)`)
	reJobTimeout  = regexp.MustCompile(`(?i)timed? ?out|deadline exceeded|i/o timeout|context canceled|retrying|retry \d|backing off`)
	// reJobBlocker names who holds what the job waits for ("held by pid
	// 4121", "blocked by process 88", "blocking pid: 77", "by session X").
	reJobBlocker = regexp.MustCompile(`(?i)(?:held by|blocked by|blocking (?:pid|process|session|query|transaction)s?:?|waits? for (?:pid|process|transaction))\s*[:=]?\s*("[^"]+"|'[^']+'|[^\s,;)]+(?:\s+\d+)?)`)
	// reJobProgress finds "N of M", "N/M" progress in plain text.
	reJobProgress = regexp.MustCompile(`(?i)\b(\d[\d,]*)\s*(?:of|/)\s*(\d[\d,]*)\b`)
)

// progressDone and progressTotal are the JSON fields structured logs
// write progress with.
var (
	progressDone  = []string{"done", "processed", "completed", "count", "current", "rows_done", "items_done", "progress"}
	progressTotal = []string{"total", "of", "rows_total", "items_total", "expected"}
)

// diagnoseJobDeadlines reports Jobs (and bare pods) that Kubernetes
// stopped because they ran past activeDeadlineSeconds: the deadline, how
// long they ran, and what the pod was doing then, from its log (a lock
// wait and who holds it, a slow query, timeouts, or progress too slow for
// the deadline).
func diagnoseJobDeadlines(d *diag) []investigate.Finding {
	var out []investigate.Finding
	for i := range d.s.Jobs {
		j := &d.s.Jobs[i]
		for _, c := range j.Status.Conditions {
			if c.Type == batchv1.JobFailed && c.Status == corev1.ConditionTrue && c.Reason == batchv1.JobReasonDeadlineExceeded {
				out = append(out, d.jobDeadlineFinding(j, c))
				break
			}
		}
	}
	for _, p := range d.pods {
		if !d.target[podKey(p)] || p.Status.Phase != corev1.PodFailed || p.Status.Reason != "DeadlineExceeded" || p.Spec.ActiveDeadlineSeconds == nil {
			continue
		}
		if jobName(p) != "" && d.job(p.Namespace, jobName(p)) != nil {
			continue // the Job's finding covers it
		}
		limit := time.Duration(*p.Spec.ActiveDeadlineSeconds) * time.Second
		ran := ""
		if p.Status.StartTime != nil {
			if at := d.latestEvidenceTime(); at.After(p.Status.StartTime.Time) {
				ran = fmt.Sprintf(" (started %s)", p.Status.StartTime.UTC().Format(time.RFC3339))
			}
		}
		doing, proof := d.podActivity(p, limit)
		proof = append([]string{fmt.Sprintf("pod %s status.reason=DeadlineExceeded: %s; spec.activeDeadlineSeconds: %d", podKey(p), p.Status.Message, *p.Spec.ActiveDeadlineSeconds)}, proof...)
		sum := fmt.Sprintf("Pod %s was stopped by the kubelet after its activeDeadlineSeconds: %d (%s)%s", podKey(p), *p.Spec.ActiveDeadlineSeconds, shortDuration(limit), ran)
		if doing != "" {
			sum += "; " + doing
		}
		out = append(out, investigate.Finding{
			Rule: "job-deadline-exceeded", Severity: investigate.FindingCritical, Score: scoreCause + 5,
			Summary: sum + ".", Objects: []string{podRef(p)}, Proof: proof,
			Actions: []string{fmt.Sprintf("kubectl logs -n %s %s", p.Namespace, p.Name),
				"Remove what blocks the work, or raise spec.activeDeadlineSeconds to what the work needs."},
			Impact: "The pod's work was cut off before it finished.",
		})
	}
	return out
}

func (d *diag) job(ns, name string) *batchv1.Job {
	for i := range d.s.Jobs {
		if d.s.Jobs[i].Namespace == ns && d.s.Jobs[i].Name == name {
			return &d.s.Jobs[i]
		}
	}
	return nil
}

// jobName returns the Job that owns the pod, from its labels or owner.
func jobName(p *corev1.Pod) string {
	if n := p.Labels["batch.kubernetes.io/job-name"]; n != "" {
		return n
	}
	if n := p.Labels["job-name"]; n != "" {
		return n
	}
	for _, o := range p.OwnerReferences {
		if o.Kind == "Job" {
			return o.Name
		}
	}
	return ""
}

func (d *diag) jobPods(j *batchv1.Job) []*corev1.Pod {
	var out []*corev1.Pod
	for _, p := range d.pods {
		if p.Namespace == j.Namespace && jobName(p) == j.Name {
			out = append(out, p)
		}
	}
	return out
}

func (d *diag) jobDeadlineFinding(j *batchv1.Job, c batchv1.JobCondition) investigate.Finding {
	ref := j.Namespace + "/" + j.Name
	proof := []string{fmt.Sprintf("job %s condition Failed reason=%s: %s", ref, c.Reason, c.Message)}
	var limit time.Duration
	sum := fmt.Sprintf("Job %s was stopped by the Job controller for running past its deadline (DeadlineExceeded)", ref)
	if j.Spec.ActiveDeadlineSeconds != nil {
		limit = time.Duration(*j.Spec.ActiveDeadlineSeconds) * time.Second
		sum = fmt.Sprintf("Job %s ran past its spec.activeDeadlineSeconds: %d (%s), so the Job controller terminated its pods and marked it Failed (DeadlineExceeded)", ref, *j.Spec.ActiveDeadlineSeconds, shortDuration(limit))
		proof = append(proof, fmt.Sprintf("job %s spec.activeDeadlineSeconds: %d", ref, *j.Spec.ActiveDeadlineSeconds))
	}
	if j.Status.StartTime != nil && !c.LastTransitionTime.IsZero() {
		ran := c.LastTransitionTime.Sub(j.Status.StartTime.Time)
		sum += fmt.Sprintf("; it ran %s, from %s to %s", shortDuration(ran), j.Status.StartTime.UTC().Format(time.RFC3339), c.LastTransitionTime.UTC().Format(time.RFC3339))
	}
	if cj := cronJobOf(j); cj != "" {
		sum += " (created by CronJob " + j.Namespace + "/" + cj + ")"
	}
	objects := []string{"job/" + ref}
	var doing string
	for _, p := range d.jobPods(j) {
		objects = append(objects, podRef(p))
		for _, cs := range p.Status.ContainerStatuses {
			if t := cs.State.Terminated; t != nil {
				s := fmt.Sprintf("%s %s: exitCode=%d reason=%s", p.Name, cs.Name, t.ExitCode, t.Reason)
				if t.ExitCode == 143 || t.ExitCode == 137 {
					s += " (killed by the deadline: SIGTERM/SIGKILL)"
				}
				proof = appendUnique(proof, s)
			}
		}
		if doing == "" {
			var more []string
			doing, more = d.podActivity(p, limit)
			proof = appendUnique(proof, more...)
		}
	}
	for _, e := range d.events[objKey{"Job", j.Namespace, j.Name}] {
		if e.Reason == "DeadlineExceeded" {
			proof = appendUnique(proof, evProof(e))
		}
	}
	if doing == "" && j.Status.StartTime != nil {
		var more []string
		doing, more = d.dependencyLockWait(j, j.Status.StartTime.Time, c.LastTransitionTime.Time)
		proof = appendUnique(proof, more...)
	}
	if doing != "" {
		sum += "; " + doing
	}
	act := []string{fmt.Sprintf("kubectl logs -n %s job/%s", j.Namespace, j.Name),
		fmt.Sprintf("kubectl describe job -n %s %s", j.Namespace, j.Name)}
	switch {
	case strings.Contains(doing, "lock"):
		act = append(act, "Release or end the session that holds the lock (or schedule the job away from the competing work), then re-run the job.")
	case strings.Contains(doing, "progress"):
		act = append(act, "Raise spec.activeDeadlineSeconds to what the work needs (or split the work / make it resumable), then re-run the job.")
	default:
		act = append(act, "Find what the job waited on (the log above), fix it, then re-run; raise activeDeadlineSeconds only if the work legitimately needs longer.")
	}
	return investigate.Finding{
		Rule: "job-deadline-exceeded", Severity: investigate.FindingCritical, Score: scoreCause + 5,
		Summary: sum + ".", Objects: objects, Proof: proof, Actions: act,
		Detail:     "activeDeadlineSeconds bounds a Job's whole run, retries included: when it passes, the Job controller deletes the running pods (SIGTERM, exit code 143) and marks the Job Failed with reason DeadlineExceeded, whatever backoffLimit says.",
		Impact:     "The job's work was cut off before it finished.",
		Prevention: "Size activeDeadlineSeconds from measured run times with headroom, log progress, and alert on jobs that approach their deadline.",
	}
}

// cronJobOf returns the CronJob that owns the Job, or "".
func cronJobOf(j *batchv1.Job) string {
	for _, o := range j.OwnerReferences {
		if o.Kind == "CronJob" {
			return o.Name
		}
	}
	return ""
}

// podActivity says what a pod stopped by a deadline was doing, from the
// log of its main container: a lock wait (and who holds it), a slow
// query, timeouts or retries against a dependency, or progress too slow
// for the deadline; with the lines that show it.
func (d *diag) podActivity(p *corev1.Pod, limit time.Duration) (string, []string) {
	for _, cs := range p.Status.ContainerStatuses {
		lines, _ := d.crashLogs(p, cs.Name)
		if len(lines) == 0 {
			continue
		}
		var lock, slow, timeout string
		for i := len(lines) - 1; i >= 0 && i >= len(lines)-200; i-- {
			l := strings.TrimSpace(lines[i])
			switch {
			case lock == "" && reJobLockWait.MatchString(l):
				lock = l
			case slow == "" && reJobSlow.MatchString(l):
				slow = l
			case timeout == "" && reJobTimeout.MatchString(l) && errorWord.MatchString(l):
				timeout = l
			}
		}
		switch {
		case lock != "":
			s := "it was waiting on a lock"
			if m := reJobBlocker.FindStringSubmatch(lock); m != nil {
				s += " held by " + strings.Trim(m[1], `"'`)
			}
			return s + ": " + clip(lock, 250), []string{cs.Name + " log: " + lock}
		case slow != "":
			return "it was stuck in a slow query: " + clip(slow, 250), []string{cs.Name + " log: " + slow}
		case timeout != "":
			s := "it was timing out"
			if host, port, _, _ := d.dependencyOf(timeout, p.Namespace); host != "" {
				s += " on " + host
				if port != "" {
					s += ":" + port
				}
			}
			return s + ": " + clip(timeout, 250), []string{cs.Name + " log: " + timeout}
		}
		if s, line := progressOf(lines, p, limit); s != "" {
			return s, []string{cs.Name + " log: " + line}
		}
		if last := lastLines(lines, 1); len(last) > 0 {
			return "its last log line: " + clip(last[0], 200), []string{cs.Name + " log: " + last[0]}
		}
	}
	return "", nil
}

// progressOf reads the last progress line of a log ("done" and "total"
// fields, or "N of M") and, when the pod's run time is known, estimates
// how long the whole work needs at that rate.
func progressOf(lines []string, p *corev1.Pod, limit time.Duration) (string, string) {
	for i := len(lines) - 1; i >= 0 && i >= len(lines)-50; i-- {
		l := strings.TrimSpace(lines[i])
		done, total := jsonProgress(l)
		if total == 0 {
			if m := reJobProgress.FindStringSubmatch(l); m != nil && reProgressWord.MatchString(l) {
				done, _ = strconv.ParseFloat(strings.ReplaceAll(m[1], ",", ""), 64)
				total, _ = strconv.ParseFloat(strings.ReplaceAll(m[2], ",", ""), 64)
			}
		}
		if total <= 0 || done < 0 || done > total {
			continue
		}
		s := fmt.Sprintf("it was still making progress, %.0f of %.0f (%.0f%%) done when stopped", done, total, 100*done/total)
		if ran := podRunTime(p); ran > 0 && done > 0 {
			need := time.Duration(float64(ran) * total / done)
			s += fmt.Sprintf(": at that rate the whole run needs about %s", shortDuration(need.Round(time.Minute)))
			if limit > 0 && need > limit {
				s += fmt.Sprintf(", far more than the %s deadline allows", shortDuration(limit))
			}
		}
		return s, l
	}
	return "", ""
}

var reProgressWord = regexp.MustCompile(`(?i)progress|process|done|complet|row|item|record|batch`)

// reCompactMark is the repeat marker log compaction appends.
var reCompactMark = regexp.MustCompile(`\s+\((?:block of \d+ lines )?×\d+\)$`)

func jsonProgress(l string) (done, total float64) {
	l = reCompactMark.ReplaceAllString(l, "")
	i := strings.IndexByte(l, '{')
	if i < 0 || !strings.HasSuffix(l, "}") {
		return 0, 0
	}
	var m map[string]any
	if json.Unmarshal([]byte(l[i:]), &m) != nil {
		return 0, 0
	}
	num := func(keys []string) float64 {
		for _, k := range keys {
			if v, ok := m[k].(float64); ok {
				return v
			}
		}
		return 0
	}
	return num(progressDone), num(progressTotal)
}

// podRunTime is how long the pod's main container ran (start to
// termination), or 0 when unknown.
func podRunTime(p *corev1.Pod) time.Duration {
	for _, cs := range p.Status.ContainerStatuses {
		if t := cs.State.Terminated; t != nil && !t.StartedAt.IsZero() && !t.FinishedAt.IsZero() {
			return t.FinishedAt.Sub(t.StartedAt.Time)
		}
	}
	return 0
}
