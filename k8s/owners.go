package k8s

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"sort"
	"strconv"

	appsv1 "k8s.io/api/apps/v1"
	batchv1 "k8s.io/api/batch/v1"
	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
)

// maxReplicaSetsPerDeployment bounds the rollout history kept per Deployment.
const maxReplicaSetsPerDeployment = 3

// collectOwners reads the controllers of the pods: ReplicaSet → Deployment
// (with the Deployment's recent ReplicaSets, for the rollout state),
// StatefulSet, DaemonSet, Job. Owners already read while resolving the
// target are not read again.
func collectOwners(ctx context.Context, r *run) error {
	pods, related := r.podsSnapshot()
	type ref struct{ ns, kind, name string }
	var refs []ref
	seen := map[ref]bool{}
	for _, p := range append(pods, related...) {
		if o := controllerOf(&p); o != nil {
			k := ref{p.Namespace, o.Kind, o.Name}
			if !seen[k] {
				seen[k] = true
				refs = append(refs, k)
			}
		}
	}
	r.mu.Lock()
	have := map[ref]bool{}
	for _, d := range r.snap.Deployments {
		have[ref{d.Namespace, "Deployment", d.Name}] = true
	}
	for _, x := range r.snap.StatefulSets {
		have[ref{x.Namespace, "StatefulSet", x.Name}] = true
	}
	for _, x := range r.snap.DaemonSets {
		have[ref{x.Namespace, "DaemonSet", x.Name}] = true
	}
	for _, x := range r.snap.Jobs {
		have[ref{x.Namespace, "Job", x.Name}] = true
	}
	r.mu.Unlock()

	var errs []error
	keep := func(err error) {
		if err != nil && !apierrors.IsNotFound(err) {
			errs = append(errs, err)
		}
	}
	var deployments []ref
	for _, o := range refs {
		if have[o] {
			continue
		}
		switch o.kind {
		case "ReplicaSet":
			list, err := r.listReplicaSets(ctx, o.ns)
			if err != nil {
				keep(err)
				continue
			}
			for _, rs := range list {
				if rs.Name != o.name {
					continue
				}
				if d := metav1.GetControllerOf(&rs); d != nil && d.Kind == "Deployment" {
					k := ref{o.ns, "Deployment", d.Name}
					if !slices.Contains(deployments, k) {
						deployments = append(deployments, k)
					}
				} else {
					r.mu.Lock()
					r.snap.ReplicaSets = append(r.snap.ReplicaSets, rs)
					r.mu.Unlock()
				}
			}
		case "StatefulSet":
			r.count(1)
			x, err := readOne[appsv1.StatefulSet](ctx, r.g.api, resStatefulSets, o.ns, o.name)
			keep(wrapGet("statefulset", o.ns, o.name, err))
			if err == nil {
				r.mu.Lock()
				r.snap.StatefulSets = append(r.snap.StatefulSets, *x)
				r.mu.Unlock()
			}
		case "DaemonSet":
			r.count(1)
			x, err := readOne[appsv1.DaemonSet](ctx, r.g.api, resDaemonSets, o.ns, o.name)
			keep(wrapGet("daemonset", o.ns, o.name, err))
			if err == nil {
				r.mu.Lock()
				r.snap.DaemonSets = append(r.snap.DaemonSets, *x)
				r.mu.Unlock()
			}
		case "Job":
			r.count(1)
			x, err := readOne[batchv1.Job](ctx, r.g.api, resJobs, o.ns, o.name)
			keep(wrapGet("job", o.ns, o.name, err))
			if err == nil {
				r.mu.Lock()
				r.snap.Jobs = append(r.snap.Jobs, *x)
				r.mu.Unlock()
			}
		}
	}
	// Deployments read while resolving still need their ReplicaSets.
	r.mu.Lock()
	for _, d := range r.snap.Deployments {
		k := ref{d.Namespace, "Deployment", d.Name}
		if !slices.Contains(deployments, k) {
			deployments = append(deployments, k)
		}
	}
	r.mu.Unlock()
	for _, d := range deployments {
		if !have[d] {
			r.count(1)
			dep, err := readOne[appsv1.Deployment](ctx, r.g.api, resDeployments, d.ns, d.name)
			keep(wrapGet("deployment", d.ns, d.name, err))
			if err == nil {
				r.mu.Lock()
				r.snap.Deployments = append(r.snap.Deployments, *dep)
				r.mu.Unlock()
			}
		}
		list, err := r.listReplicaSets(ctx, d.ns)
		if err != nil {
			keep(err)
			continue
		}
		owned := ownedReplicaSets(list, d.name)
		r.mu.Lock()
		r.snap.ReplicaSets = append(r.snap.ReplicaSets, owned...)
		r.mu.Unlock()
	}
	return errors.Join(errs...)
}

// ownedReplicaSets returns the Deployment's newest ReplicaSets (by
// revision), skipping empty old ones unless they are all there is.
func ownedReplicaSets(all []appsv1.ReplicaSet, deployment string) []appsv1.ReplicaSet {
	var out []appsv1.ReplicaSet
	for _, rs := range all {
		if o := metav1.GetControllerOf(&rs); o != nil && o.Kind == "Deployment" && o.Name == deployment {
			out = append(out, rs)
		}
	}
	sort.SliceStable(out, func(i, j int) bool { return revision(&out[i]) > revision(&out[j]) })
	if len(out) > maxReplicaSetsPerDeployment {
		out = out[:maxReplicaSetsPerDeployment]
	}
	return out
}

func revision(rs *appsv1.ReplicaSet) int {
	n, _ := strconv.Atoi(rs.Annotations["deployment.kubernetes.io/revision"])
	return n
}

// wrapGet adds context to a failed get; nil stays nil.
func wrapGet(kind, ns, name string, err error) error {
	if err == nil {
		return nil
	}
	if ns == "" {
		return fmt.Errorf("get %s %s: %w", kind, name, err)
	}
	return fmt.Errorf("get %s %s/%s: %w", kind, ns, name, err)
}

// podsOf returns the pods (of list) whose namespace is ns.
func podsOf(list []corev1.Pod, ns string) []corev1.Pod {
	var out []corev1.Pod
	for _, p := range list {
		if p.Namespace == ns {
			out = append(out, p)
		}
	}
	return out
}

// maxJobsPerCronJob bounds the Jobs of a CronJob kept besides the ones
// already in the snapshot (its newest runs).
const maxJobsPerCronJob = 3

// collectCronJobs follows the Jobs of the snapshot up to the CronJobs that
// own them, and down again to each CronJob's newest Jobs (its run
// history: did the previous runs fail the same way?). It runs after the
// owners are read.
func collectCronJobs(ctx context.Context, r *run) error {
	r.mu.Lock()
	type ref struct{ ns, name string }
	var crons []ref
	have := map[ref]bool{}
	for _, j := range r.snap.Jobs {
		have[ref{j.Namespace, j.Name}] = true
		if o := metav1.GetControllerOf(&j); o != nil && o.Kind == "CronJob" && !slices.Contains(crons, ref{j.Namespace, o.Name}) {
			crons = append(crons, ref{j.Namespace, o.Name})
		}
	}
	r.mu.Unlock()
	var errs []error
	for _, c := range crons {
		cj, err := cachedRead(ctx, r, "cronjob/"+c.ns+"/"+c.name, func(ctx context.Context) (*batchv1.CronJob, error) {
			return readOne[batchv1.CronJob](ctx, r.g.api, resCronJobs, c.ns, c.name)
		})
		if err != nil {
			if !apierrors.IsNotFound(err) {
				errs = append(errs, wrapGet("cronjob", c.ns, c.name, err))
			}
			continue
		}
		jobs, err := listNamespace(ctx, r, resJobs, c.ns, func(l *batchv1.JobList) []batchv1.Job { return l.Items })
		if err != nil {
			errs = append(errs, err)
		}
		var runs []batchv1.Job
		for _, j := range jobs {
			if o := metav1.GetControllerOf(&j); o != nil && o.Kind == "CronJob" && o.Name == c.name && !have[ref{j.Namespace, j.Name}] {
				runs = append(runs, j)
			}
		}
		sort.SliceStable(runs, func(i, j int) bool {
			return runs[j].CreationTimestamp.Before(&runs[i].CreationTimestamp)
		})
		if len(runs) > maxJobsPerCronJob {
			runs = runs[:maxJobsPerCronJob]
		}
		r.mu.Lock()
		r.snap.CronJobs = append(r.snap.CronJobs, *cj.DeepCopy())
		r.snap.Jobs = append(r.snap.Jobs, runs...)
		r.mu.Unlock()
	}
	return errors.Join(errs...)
}
