package kb

import (
	"context"
	"fmt"
	"os"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	bolt "go.etcd.io/bbolt"

	"github.com/k8flex/k8flex/investigate"
)

// stormAlert is the i-th alert of a storm as kube-prometheus raises it
// (KubePodCrashLooping from kube-state-metrics: 12 labels, 3 annotations).
func stormAlert(run string, i int, startsAt time.Time) investigate.Request {
	pod := fmt.Sprintf("checkout-%s-%05d", run, i)
	labels := map[string]string{
		"alertname": "KubePodCrashLooping", "container": "checkout", "endpoint": "http",
		"instance": fmt.Sprintf("10.42.%d.%d:8080", i/250%250, i%250+1), "job": "kube-state-metrics",
		"namespace": "shop", "pod": pod, "prometheus": "monitoring/k8s", "reason": "CrashLoopBackOff",
		"service": "kube-state-metrics", "severity": "warning", "uid": fmt.Sprintf("%08x-77d2-4c1e-9a4b-%012x", i, i*7919),
	}
	a := &investigate.Alert{Status: investigate.StatusFiring, Labels: labels, StartsAt: startsAt,
		Annotations: map[string]string{
			"description": fmt.Sprintf("Pod shop/%s (checkout) is in waiting state (reason: \"CrashLoopBackOff\").", pod),
			"runbook_url": "https://runbooks.prometheus-operator.dev/runbooks/kubernetes/kubepodcrashlooping",
			"summary":     "Pod is crash looping.",
		},
		GeneratorURL: "http://prometheus-k8s.monitoring:9090/graph?g0.expr=max_over_time%28kube_pod_container_status_waiting_reason" +
			"%7Breason%3D%22CrashLoopBackOff%22%2Cjob%3D%22kube-state-metrics%22%7D%5B5m%5D%29+%3E%3D+1&g0.tab=1",
		Fingerprint: investigate.LabelsFingerprint(labels)}
	return investigate.Request{Alert: a, Source: investigate.SourceAlertmanager, RequestedBy: "alertmanager"}
}

// goneResult is what the built-in analyser concludes for a pod that no
// longer exists: one short section, one finding, a short analysis.
func goneResult(id string, req investigate.Request) *investigate.Result {
	t := req.EffectiveTarget()
	return &investigate.Result{
		Investigation: investigate.Investigation{ID: id, Request: &req, Target: t,
			Categorization: investigate.Categorization{Category: investigate.PodCrash, DecidedBy: investigate.DecidedByRules},
			StartedAt:      time.Now()},
		Evidence: investigate.Evidence{Target: t, TargetGone: true, APIRequests: 1, Sections: []investigate.Section{{
			Name: "target/gone", Title: "Target gone",
			Body: fmt.Sprintf("pod %s/%s: not found (404). No pod of its owner is left in the namespace; the namespace's last events name none of it.", t.Namespace, t.Pod)}}},
		Findings: []investigate.Finding{{Rule: "target-gone", Severity: investigate.FindingWarning, Category: investigate.PodCrash,
			Summary: "The pod no longer exists", Detail: "Pod " + t.Pod + " was deleted before the investigation started."}},
		Analysis: investigate.Analysis{Analyzer: "builtin", Text: "## Root cause\nThe pod " + t.Pod + " no longer exists: it was deleted or replaced " +
			"before the investigation started, so there is nothing left to inspect.\n## Evidence\n- GET pod: 404\n## Next steps\n" +
			strings.Repeat("Check the owner's rollout history and recent events. ", 3)},
		Finished: time.Now(),
	}
}

// BenchmarkEmbeddedStorm is the embedded store's share of a 10,000-alert
// storm, as `k8flex serve` drives it: 16 webhook requests of one alert in
// flight, while 4 workers claim (64 at a time, as storm folding does) and
// complete every case with a short "target gone" result. It reports the
// accepted and concluded rates and the file size per case, which bounds the
// store's share of the resident memory (bbolt maps the file).
//
//	go test -run '^$' -bench BenchmarkEmbeddedStorm -benchtime 1x ./kb/
func BenchmarkEmbeddedStorm(b *testing.B) {
	const alerts, producers, workers = 10_000, 16, 4
	for b.Loop() {
		s := openBenchEmbedded(b)
		ctx := context.Background()
		starts := time.Now().UTC().Truncate(time.Second)
		run := fmt.Sprintf("r%d", time.Now().UnixNano()%100000)
		var next, accepted, concluded atomic.Int64
		start := time.Now()
		var acceptedIn time.Duration
		var wg, pw sync.WaitGroup
		for range producers {
			pw.Add(1)
			go func() {
				defer pw.Done()
				for i := int(next.Add(1)) - 1; i < alerts; i = int(next.Add(1)) - 1 {
					if _, err := s.Enqueue(ctx, []investigate.Request{stormAlert(run, i, starts)}); err != nil {
						b.Error(err)
						return
					}
					accepted.Add(1)
				}
			}()
		}
		go func() { pw.Wait(); acceptedIn = time.Since(start) }()
		for w := range workers {
			wg.Add(1)
			go func() {
				defer wg.Done()
				for concluded.Load() < alerts {
					cs, err := s.Claim(ctx, fmt.Sprintf("w%d", w), time.Minute, 16)
					if err != nil {
						b.Error(err)
						return
					}
					if len(cs) == 0 {
						time.Sleep(time.Millisecond)
						continue
					}
					for _, c := range cs {
						if err := s.Complete(ctx, c.ID, goneResult(c.ID, c.Request)); err != nil {
							b.Error(err)
							return
						}
						concluded.Add(1)
					}
				}
			}()
		}
		wg.Wait()
		pw.Wait()
		took := time.Since(start)
		fi, err := os.Stat(s.db.Path())
		if err != nil {
			b.Fatal(err)
		}
		logFootprint(b, s)
		b.ReportMetric(float64(alerts)/acceptedIn.Seconds(), "accepted/s")
		b.ReportMetric(float64(alerts)/took.Seconds(), "concluded/s")
		b.ReportMetric(float64(fi.Size())/(1<<20), "file-MiB")
		b.ReportMetric(float64(fi.Size())/alerts, "file-B/case")
	}
}

// logFootprint logs where the file's pages go: each bucket's pages and
// how full they are, and the free pages.
func logFootprint(b *testing.B, s *Embedded) {
	b.Helper()
	err := s.db.View(func(tx *bolt.Tx) error {
		ps := int64(s.db.Info().PageSize)
		for _, name := range [][]byte{bCases, bBodies, bCreated, bQueue, bKeys} {
			st := tx.Bucket(name).Stats()
			pages := int64(st.LeafPageN + st.LeafOverflowN + st.BranchPageN + st.BranchOverflowN)
			fill := 0.0
			if pages > 0 {
				fill = float64(st.LeafInuse+st.BranchInuse) / float64(pages*ps)
			}
			b.Logf("bucket %-8s %6d keys %6d pages (%5.1f MiB, %3.0f%% used)", name, st.KeyN, pages, float64(pages*ps)/(1<<20), 100*fill)
		}
		b.Logf("free pages %d (%.1f MiB)", s.db.Stats().FreePageN, float64(int64(s.db.Stats().FreePageN)*ps)/(1<<20))
		return nil
	})
	if err != nil {
		b.Fatal(err)
	}
}
