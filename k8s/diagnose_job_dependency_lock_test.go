package k8s

import (
	"strings"
	"testing"
	"time"

	batchv1 "k8s.io/api/batch/v1"
	corev1 "k8s.io/api/core/v1"
)

// A Job whose pods were deleted by its deadline left no log: the lock wait
// its database logged during the run says what it waited for.
func TestDiagnoseJobDeadlineDependencyLock(t *testing.T) {
	start := time.Date(2026, 11, 1, 2, 0, 0, 0, time.UTC)
	withDBURL := func(j batchv1.Job, url string) batchv1.Job {
		j.Spec.Template.Spec.Containers = []corev1.Container{{Name: "app", Env: []corev1.EnvVar{{Name: "DATABASE_URL", Value: url}}}}
		return j
	}
	runRuleCases(t, []string{"job-deadline"}, []ruleCase{
		{name: "PostgreSQL logs the job's session waiting, and the holder", rule: "job-deadline-exceeded",
			snap: func() *Snapshot {
				j := withDBURL(deadlineJob("etl", "nightly-load", 1800, "DeadlineExceeded", start, 30*time.Minute), "postgres://loader:x@pg.db.svc:5432/dw")
				return &Snapshot{Jobs: []batchv1.Job{j}, Logs: []ContainerLog{{Namespace: "db", Pod: "pg-0", Container: "postgres", Lines: []string{
					"2026-11-01 01:50:00.000 UTC [900] report@dw LOG:  duration: 1618.442 ms  statement: SELECT 1",
					"2026-11-01 02:00:05.000 UTC [950] other@dw LOG:  process 950 still waiting for ShareLock on transaction 7 after 1000.0 ms",
					"2026-11-01 02:00:06.000 UTC [951] loader@dw LOG:  process 951 still waiting for AccessExclusiveLock on relation 16438 of database 16384 after 1000.0 ms",
					"2026-11-01 02:00:06.000 UTC [951] loader@dw DETAIL:  Process holding the lock: 900. Wait queue: 951.",
				}}}}
			},
			summary: []string{"activeDeadlineSeconds: 1800", "db/pg-0", "loader@dw", "AccessExclusiveLock", "held by process 900", "report@dw"}},
		{name: "MySQL lock wait timeout in the dependency's log", rule: "job-deadline-exceeded",
			snap: func() *Snapshot {
				j := withDBURL(deadlineJob("shop", "reprice", 600, "DeadlineExceeded", start, 10*time.Minute), "mysql://pricing@mysql.shop.svc:3306/shop")
				return &Snapshot{Jobs: []batchv1.Job{j}, Logs: []ContainerLog{{Namespace: "shop", Pod: "mysql-0", Container: "mysql", Lines: []string{
					"2026-11-01T02:04:00.000000Z 88 [Note] Aborted: Lock wait timeout exceeded; try restarting transaction",
				}}}}
			},
			summary: []string{"shop/mysql-0", "Lock wait timeout exceeded"}},
		{name: "a lock wait before the job started is not its", rule: "job-deadline-exceeded",
			snap: func() *Snapshot {
				j := withDBURL(deadlineJob("etl", "nightly-load", 1800, "DeadlineExceeded", start, 30*time.Minute), "postgres://loader:x@pg.db.svc:5432/dw")
				return &Snapshot{Jobs: []batchv1.Job{j}, Logs: []ContainerLog{{Namespace: "db", Pod: "pg-0", Container: "postgres", Lines: []string{
					"2026-10-31 02:00:06.000 UTC [951] loader@dw LOG:  process 951 still waiting for AccessExclusiveLock on relation 1 after 1000.0 ms",
				}}}}
			},
			summary: []string{"activeDeadlineSeconds: 1800"}},
	})
	s := &Snapshot{Jobs: []batchv1.Job{withDBURL(deadlineJob("etl", "nightly-load", 1800, "DeadlineExceeded", start, 30*time.Minute), "postgres://loader:x@pg.db.svc:5432/dw")},
		Logs: []ContainerLog{{Namespace: "db", Pod: "pg-0", Container: "postgres", Lines: []string{
			"2026-10-31 02:00:06.000 UTC [951] loader@dw LOG:  process 951 still waiting for AccessExclusiveLock on relation 1 after 1000.0 ms"}}}}
	for _, f := range s.Diagnose() {
		if f.Rule == "job-deadline-exceeded" && strings.Contains(f.Summary, "lock") {
			t.Errorf("a lock wait outside the job's run was blamed: %s", f.Summary)
		}
	}
}
