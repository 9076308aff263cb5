package k8s

import (
	"fmt"
	"regexp"
	"strings"
	"time"

	batchv1 "k8s.io/api/batch/v1"
)

var (
	// reLockHolder finds the session that holds a lock in a database's
	// log ("Process holding the lock: 4711", "blocked by process 88").
	reLockHolder = regexp.MustCompile(`(?i)(?:holding the lock|held by|blocked by|blocking)\s*(?:process|pid|session|transaction)?\s*:?\s*(\d+)`)
	// reDBUser finds "user@db" in a database log line prefix.
	reDBUser = regexp.MustCompile(`\b([A-Za-z_][\w.-]*@[A-Za-z_][\w.-]*)\b`)
	// reURLUser finds the user of a connection URL (scheme://user:…@ or
	// scheme://user@).
	reURLUser = regexp.MustCompile(`[a-z][a-z0-9+.-]*://([A-Za-z_][\w.-]*)[:@]`)
)

// dependencyLockWait finds, in the logs of the pods a Job depends on (not
// the Job's own), a lock wait logged during the Job's run, preferring the
// lines of the Job's own database user: what the Job waited for when its
// pods left no log. It returns the description and the proving lines.
func (d *diag) dependencyLockWait(j *batchv1.Job, from, to time.Time) (string, []string) {
	user := ""
	for _, c := range j.Spec.Template.Spec.Containers {
		for _, e := range c.Env {
			if m := reURLUser.FindStringSubmatch(e.Value); m != nil {
				user = m[1]
			}
		}
	}
	for _, l := range d.s.Logs {
		if l.Namespace == j.Namespace && strings.HasPrefix(l.Pod, j.Name) {
			continue
		}
		best, at := "", -1
		for i, line := range l.Lines {
			if !reJobLockWait.MatchString(line) {
				continue
			}
			if ts, ok := logLineTime(line); ok && (ts.Before(from.Add(-time.Minute)) || (!to.IsZero() && ts.After(to))) {
				continue
			}
			if best == "" || (user != "" && strings.Contains(line, user+"@") && !strings.Contains(best, user+"@")) {
				best, at = line, i
			}
		}
		if best == "" {
			continue
		}
		proof := []string{l.Pod + " log: " + clip(strings.TrimSpace(best), 300)}
		s := fmt.Sprintf("during its run its dependency %s/%s logged a session waiting for a lock: %s", l.Namespace, l.Pod, clip(strings.TrimSpace(best), 250))
		for _, next := range l.Lines[at+1 : min(len(l.Lines), at+4)] {
			m := reLockHolder.FindStringSubmatch(next)
			if m == nil {
				continue
			}
			proof = append(proof, l.Pod+" log: "+clip(strings.TrimSpace(next), 200))
			s += "; the lock is held by process " + m[1]
			for _, h := range l.Lines {
				if strings.Contains(h, "["+m[1]+"]") || strings.Contains(h, " "+m[1]+" ") && !strings.Contains(h, "holding") {
					if u := reDBUser.FindString(h); u != "" {
						s += " (session " + u + ")"
						proof = append(proof, fmt.Sprintf("%s log: process %s is session %s", l.Pod, m[1], u))
						break
					}
				}
			}
			break
		}
		return s, proof
	}
	return "", nil
}

// logLineTime parses the timestamp a log line starts with (RFC 3339, or
// "2006-01-02 15:04:05" as databases write it).
func logLineTime(line string) (time.Time, bool) {
	line = strings.TrimSpace(line)
	if len(line) < 19 {
		return time.Time{}, false
	}
	head := strings.Replace(line[:19], " ", "T", 1)
	t, err := time.Parse("2006-01-02T15:04:05", head)
	return t, err == nil
}
