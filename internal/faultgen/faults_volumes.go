package faultgen

import (
	"fmt"
	"time"

	"github.com/k8flex/k8flex/investigate"
)

// pvcFullENOSPC fills a StatefulSet replica's PersistentVolumeClaim: the
// program's writes fail with ENOSPC and it exits, so the pod crash-loops.
// Variant 0 prints a path relative to its data directory (as databases
// do), variant 1 an absolute path under the claim's mount; what the path
// is (a write-ahead log, a binary log, segment files) differs per draw.
func pvcFullENOSPC(w *world, v variant) result {
	s := w.spec(v, kindStatefulSet)
	s.kind = kindStatefulSet
	a := w.buildApp(s)
	since := w.between(20*time.Minute, 80*time.Minute)
	victim := a.pods[0]
	claim := "data-" + victim.Name
	mount := "/var/lib/" + s.name
	n := 100 + w.r.Intn(900)
	var line, what string
	if v.n%2 == 0 {
		line = fmt.Sprintf(`%s [%d] PANIC:  could not write to file "pg_wal/xlogtemp.%d": No space left on device`, w.now.Add(-2*time.Minute).UTC().Format("2006-01-02 15:04:05.000 UTC"), n, n)
		what = "wal"
	} else {
		kinds := []struct{ file, what string }{{"binlog/mysql-bin.%06d", "binary log"}, {"wal/%08d.wal", "wal"}, {"journal/segment-%d.log", "journal"}}
		k := kinds[w.r.Intn(len(kinds))]
		line = fmt.Sprintf(`{"level":"fatal","ts":"%s","msg":"append failed","error":"write %s/%s: no space left on device"}`, ts(w.now.Add(-2*time.Minute)), mount, fmt.Sprintf(k.file, n))
		what = k.what
	}
	w.crashLoop(victim, mainContainer(victim), restart{exitCode: 1, reason: "Error", ran: 3 * time.Second, count: int32(5 + w.r.Intn(10)), since: since})
	w.log(victim.Namespace, victim.Name, mainContainer(victim), true,
		fmt.Sprintf(`{"level":"info","ts":"%s","msg":"starting %s","version":"%s"}`, ts(w.now.Add(-2*time.Minute-300*time.Millisecond)), s.name, s.version), line)
	e := expect(investigate.PodCrash, crashCat,
		fmt.Sprintf("%s %s/%s: pod %s crash-loops because its PVC %s is full (No space left on device writing its %s).", s.kind, s.ns, s.name, victim.Name, claim, what),
		g(claim), g("no space left", "is full", "volume full"))
	return result{ns: s.ns, alerts: []alertDef{w.crashAlert(v, a, victim)}, expect: e}
}
