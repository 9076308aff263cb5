package k8s

import (
	"context"
	"fmt"
	"sort"

	batchv1 "k8s.io/api/batch/v1"
	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/k8flex/k8flex/investigate"
)

// resolveCronJob resolves a CronJob target (an alert labelled cronjob=…
// without a Job): the CronJob itself, and the newest of its Jobs with the
// pods of the newest run that still has pods. The owners collector then
// adds its other recent runs. A CronJob that created no Job (suspended,
// never scheduled) is still read, so its spec and status reach the rules.
func (r *run) resolveCronJob(ctx context.Context, name string) error {
	cj, err := cachedRead(ctx, r, "cronjob/"+r.ns+"/"+name, func(ctx context.Context) (*batchv1.CronJob, error) {
		return readOne[batchv1.CronJob](ctx, r.g.api, resCronJobs, r.ns, name)
	})
	if apierrors.IsNotFound(err) {
		r.snap.TargetGone = true
		r.snap.NotFound = append(r.snap.NotFound, "cronjob/"+r.ns+"/"+name)
		return nil
	}
	if err != nil {
		return wrapGet("cronjob", r.ns, name, err)
	}
	jobs, err := listNamespace(ctx, r, resJobs, r.ns, func(l *batchv1.JobList) []batchv1.Job { return l.Items })
	if err != nil {
		return fmt.Errorf("list jobs of cronjob %s/%s: %w", r.ns, name, err)
	}
	var runs []batchv1.Job
	for _, j := range jobs {
		if o := metav1.GetControllerOf(&j); o != nil && o.Kind == "CronJob" && o.Name == name {
			runs = append(runs, j)
		}
	}
	sort.SliceStable(runs, func(i, j int) bool { return runs[j].CreationTimestamp.Before(&runs[i].CreationTimestamp) })
	if len(runs) == 0 {
		// No Job links to it: the owners collector will not read it.
		r.snap.CronJobs = append(r.snap.CronJobs, *cj.DeepCopy())
		return nil
	}
	all, err := r.listPods(ctx, r.ns)
	if err != nil {
		return err
	}
	r.snap.Jobs = append(r.snap.Jobs, runs[0])
	for i := range runs {
		var mine []corev1.Pod
		for _, p := range all {
			if ownedBy(&p, investigate.KindJob, runs[i].Name) {
				mine = append(mine, p)
			}
		}
		if len(mine) > 0 {
			if i > 0 {
				r.snap.Jobs = append(r.snap.Jobs, runs[i])
			}
			r.snap.Pods, r.snap.RelatedPods = splitByHealth(mine, true)
			break
		}
	}
	return nil
}
