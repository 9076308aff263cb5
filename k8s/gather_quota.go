package k8s

import (
	"context"
	"errors"
	"fmt"
	"sort"
	"strings"

	appsv1 "k8s.io/api/apps/v1"
	batchv1 "k8s.io/api/batch/v1"
	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/resource"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
)

const (
	// quotaTight is the used/hard ratio from which a quota resource counts
	// as exhausted for the search of its consumers.
	quotaTight = 0.9
	// maxQuotaConsumers is how many consumers are kept per quota.
	maxQuotaConsumers = 3
)

// QuotaConsumer is a workload of a namespace that holds part of a
// ResourceQuota's exhausted resources: its active pods times what each
// counts against the quota.
type QuotaConsumer struct {
	// Quota is the ResourceQuota ("ns/name").
	Quota string
	// Kind and Name are the top-level controller (Deployment, StatefulSet,
	// Job, ReplicaSet, DaemonSet, ...) or "Pod" for a bare pod.
	Kind, Name string
	// Pods is the number of active (non-terminal) pods counted.
	Pods int32
	// Parallelism is the Job's spec.parallelism (0 for other kinds).
	Parallelism int32
	// Holds is what the pods count against each exhausted resource of the
	// quota (its keys: "requests.cpu", "limits.memory", "pods", ...).
	Holds corev1.ResourceList
}

// String renders the consumer for evidence and findings.
func (c QuotaConsumer) String() string {
	var parts []string
	for _, k := range sortedResourceNames(c.Holds) {
		q := c.Holds[k]
		parts = append(parts, fmt.Sprintf("%s %s", k, q.String()))
	}
	who := fmt.Sprintf("%s %s (%d active pod%s", c.Kind, c.Name, c.Pods, plural(int(c.Pods), "", "s"))
	if c.Kind == "Job" && c.Parallelism > 0 {
		who += fmt.Sprintf(", parallelism %d", c.Parallelism)
	}
	return who + ": " + strings.Join(parts, ", ") + ")"
}

// collectQuotaConsumers follows an exhausted ResourceQuota to what holds
// it. Quota admission refuses a pod of the alerting workload because the
// namespace's other workloads already use the quota, and nothing links
// those to the alert: when a quota of the graph uses at least 90% of a
// pod resource (requests.*, limits.*, cpu, memory, pods), the namespace's
// ReplicaSets, StatefulSets, Jobs and pods are read and each controller's
// share is computed as its active pods (status.replicas, status.active)
// times what one pod counts against the quota (a live pod's spec, which
// carries LimitRange defaults, else the template). The largest consumers
// are kept in Snapshot.QuotaConsumers.
func collectQuotaConsumers(ctx context.Context, r *run) error {
	r.mu.Lock()
	type tight struct {
		q   corev1.ResourceQuota
		res []corev1.ResourceName
	}
	var quotas []tight
	for _, q := range r.snap.ResourceQuotas {
		if res := tightResources(&q); len(res) > 0 {
			quotas = append(quotas, tight{q, res})
		}
	}
	r.mu.Unlock()
	if len(quotas) == 0 {
		return nil
	}
	var errs []error
	var found []QuotaConsumer
	for _, t := range quotas {
		ns := t.q.Namespace
		pods, err := r.listPods(ctx, ns)
		if err != nil {
			errs = append(errs, err)
			continue
		}
		rsets, err := r.listReplicaSets(ctx, ns)
		if err != nil {
			errs = append(errs, err)
		}
		sets, err := listNamespace(ctx, r, resStatefulSets, ns, func(l *appsv1.StatefulSetList) []appsv1.StatefulSet { return l.Items })
		if err != nil {
			errs = append(errs, err)
		}
		jobs, err := listNamespace(ctx, r, resJobs, ns, func(l *batchv1.JobList) []batchv1.Job { return l.Items })
		if err != nil {
			errs = append(errs, err)
		}
		found = append(found, quotaConsumers(ns+"/"+t.q.Name, t.res, pods, rsets, sets, jobs)...)
	}
	r.mu.Lock()
	r.snap.QuotaConsumers = append(r.snap.QuotaConsumers, found...)
	r.mu.Unlock()
	return errors.Join(errs...)
}

// tightResources returns the pod resources of the quota whose usage is
// at least quotaTight of the hard limit, tightest first.
func tightResources(q *corev1.ResourceQuota) []corev1.ResourceName {
	type rt struct {
		n     corev1.ResourceName
		ratio float64
	}
	var out []rt
	for n, hard := range q.Status.Hard {
		used, ok := q.Status.Used[n]
		if !ok || !podQuotaResource(n) || hard.IsZero() {
			continue
		}
		if ratio := used.AsApproximateFloat64() / hard.AsApproximateFloat64(); ratio >= quotaTight {
			out = append(out, rt{n, ratio})
		}
	}
	sort.Slice(out, func(i, j int) bool {
		if out[i].ratio != out[j].ratio {
			return out[i].ratio > out[j].ratio
		}
		return out[i].n < out[j].n
	})
	names := make([]corev1.ResourceName, len(out))
	for i, x := range out {
		names[i] = x.n
	}
	return names
}

// podQuotaResource reports whether pods count against the quota resource.
func podQuotaResource(n corev1.ResourceName) bool {
	s := string(n)
	switch s {
	case "cpu", "memory", "pods", "count/pods", "ephemeral-storage":
		return true
	}
	return strings.HasPrefix(s, "requests.") && s != "requests.storage" || strings.HasPrefix(s, "limits.")
}

// podQuotaUsage is what one pod with spec counts against quota resource n.
func podQuotaUsage(spec *corev1.PodSpec, n corev1.ResourceName) resource.Quantity {
	s := string(n)
	if s == "pods" || s == "count/pods" {
		return *resource.NewQuantity(1, resource.DecimalSI)
	}
	limits := strings.HasPrefix(s, "limits.")
	name := corev1.ResourceName(strings.TrimPrefix(strings.TrimPrefix(s, "limits."), "requests."))
	var sum resource.Quantity
	for _, c := range spec.Containers {
		l := c.Resources.Requests
		if limits {
			l = c.Resources.Limits
		}
		if v, ok := l[name]; ok {
			sum.Add(v)
		}
	}
	for _, c := range spec.InitContainers {
		l := c.Resources.Requests
		if limits {
			l = c.Resources.Limits
		}
		if v, ok := l[name]; ok && v.Cmp(sum) > 0 {
			sum = v.DeepCopy()
		}
	}
	return sum
}

// quotaConsumers computes each controller's share of the quota's tight
// resources and returns the largest (by the tightest resource) first.
func quotaConsumers(quota string, res []corev1.ResourceName, pods []corev1.Pod, rsets []appsv1.ReplicaSet, sets []appsv1.StatefulSet, jobs []batchv1.Job) []QuotaConsumer {
	ns, _, _ := strings.Cut(quota, "/")
	// The live pods of each controller: their spec carries the LimitRange
	// defaults admission applied.
	byOwner := map[string][]*corev1.Pod{}
	var bare []*corev1.Pod
	for i := range pods {
		p := &pods[i]
		if p.Namespace != ns || p.Status.Phase == corev1.PodSucceeded || p.Status.Phase == corev1.PodFailed {
			continue
		}
		if ref := controllerOf(p); ref != nil {
			byOwner[ref.Kind+"/"+ref.Name] = append(byOwner[ref.Kind+"/"+ref.Name], p)
		} else {
			bare = append(bare, p)
		}
	}
	var out []QuotaConsumer
	add := func(kind, name, ownerKey string, n int32, tmpl *corev1.PodSpec, parallelism int32) {
		live := byOwner[ownerKey]
		delete(byOwner, ownerKey)
		if int32(len(live)) > n {
			n = int32(len(live))
		}
		if n <= 0 {
			return
		}
		spec := tmpl
		if len(live) > 0 {
			spec = &live[0].Spec
		}
		c := QuotaConsumer{Quota: quota, Kind: kind, Name: name, Pods: n, Parallelism: parallelism, Holds: corev1.ResourceList{}}
		for _, r := range res {
			per := podQuotaUsage(spec, r)
			per.Mul(int64(n))
			c.Holds[r] = per
		}
		out = append(out, c)
	}
	for i := range rsets {
		x := &rsets[i]
		kind, name := "ReplicaSet", x.Name
		if ref := metav1.GetControllerOf(x); ref != nil && ref.Kind == "Deployment" {
			kind, name = "Deployment", ref.Name
		}
		add(kind, name, "ReplicaSet/"+x.Name, x.Status.Replicas, &x.Spec.Template.Spec, 0)
	}
	for i := range sets {
		x := &sets[i]
		add("StatefulSet", x.Name, "StatefulSet/"+x.Name, x.Status.Replicas, &x.Spec.Template.Spec, 0)
	}
	for i := range jobs {
		x := &jobs[i]
		var par int32
		if x.Spec.Parallelism != nil {
			par = *x.Spec.Parallelism
		}
		add("Job", x.Name, "Job/"+x.Name, x.Status.Active, &x.Spec.Template.Spec, par)
	}
	owners := make([]string, 0, len(byOwner))
	for k := range byOwner {
		owners = append(owners, k)
	}
	sort.Strings(owners)
	for _, k := range owners {
		kind, name, _ := strings.Cut(k, "/")
		add(kind, name, k, 0, &byOwner[k][0].Spec, 0)
	}
	for _, p := range bare {
		add("Pod", p.Name, "", 1, &p.Spec, 0)
	}
	// Merge the ReplicaSets of one Deployment (a rollout in progress).
	merged := out[:0]
	idx := map[string]int{}
	for _, c := range out {
		k := c.Kind + "/" + c.Name
		if i, ok := idx[k]; ok {
			merged[i].Pods += c.Pods
			for r, v := range c.Holds {
				q := merged[i].Holds[r]
				q.Add(v)
				merged[i].Holds[r] = q
			}
			continue
		}
		idx[k] = len(merged)
		merged = append(merged, c)
	}
	out = merged
	first := res[0]
	sort.SliceStable(out, func(i, j int) bool {
		a, b := out[i].Holds[first], out[j].Holds[first]
		return a.Cmp(b) > 0
	})
	var kept []QuotaConsumer
	for _, c := range out {
		if q := c.Holds[first]; q.IsZero() || len(kept) == maxQuotaConsumers {
			continue
		}
		kept = append(kept, c)
	}
	return kept
}
