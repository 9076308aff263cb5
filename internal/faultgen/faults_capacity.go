package faultgen

import (
	"fmt"
	"time"

	appsv1 "k8s.io/api/apps/v1"
	batchv1 "k8s.io/api/batch/v1"
	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/resource"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/k8flex/k8flex/investigate"
)

// cronJobStale is the alert on a CronJob whose last successful run is too
// old: it carries the cronjob label and no job_name.
func (w *world) cronJobStale(ns, cron string, age time.Duration) alertDef {
	return alertDef{labels: w.ksm("alertname", "CronJobRunOverdue", "severity", "warning", "namespace", ns, "cronjob", cron),
		summary:     "CronJob has not completed a run recently.",
		description: fmt.Sprintf("CronJob %s/%s last completed a run %s ago.", ns, cron, age.Round(time.Hour)),
		expr:        `time() - kube_cronjob_status_last_successful_time > 93600`}
}

// cronJobStopped: a CronJob stops producing Jobs. Variant 0 is suspended
// (spec.suspend true after a successful run); variant 1 keeps a hung Job
// active under concurrencyPolicy Forbid, so every later run is skipped.
func cronJobStopped(w *world, v variant) result {
	ns := w.namespace()
	name := pick(w.r, []string{"ledger-export", "usage-rollup", "cert-audit", "orders-archive", "metrics-compact"})
	since := w.between(26*time.Hour, 60*time.Hour)
	j := jobRun{ns: ns, name: name, image: w.image(ns, name, w.version()), sa: name, backoffLimit: 2,
		cron: pick(w.r, []string{"0 3 * * *", "45 2 * * *", "10 0 * * *"})}
	job, pods, cj := w.buildJob(j, 1, since)
	p := pods[0]
	if v.n == 0 {
		done := since - w.between(5*time.Minute, 20*time.Minute)
		w.failPod(p, 0, "Completed", since-done)
		p.Status.Phase = corev1.PodSucceeded
		job.Status = batchv1.JobStatus{Succeeded: 1, StartTime: ptr(w.ago(since)), CompletionTime: ptr(w.ago(done)),
			Conditions: []batchv1.JobCondition{{Type: batchv1.JobComplete, Status: corev1.ConditionTrue, Reason: "CompletionsReached", Message: "Reached expected number of succeeded pods", LastTransitionTime: w.ago(done)}}}
		cj.Spec.Suspend = ptr(true)
		cj.Status.LastSuccessfulTime = ptr(w.ago(done))
		return result{ns: ns, alerts: []alertDef{w.cronJobStale(ns, name, done)},
			expect: expect(investigate.PodPending, cats{investigate.PodCrash},
				fmt.Sprintf("CronJob %s/%s is suspended (spec.suspend: true): the controller creates no Job; the last run completed %s ago.", ns, name, done.Round(time.Hour)),
				g("suspend"), g(name))}
	}
	// The run hangs: Running, no activeDeadlineSeconds, still active.
	job.Status = batchv1.JobStatus{Active: 1, Ready: ptr[int32](1), StartTime: ptr(w.ago(since))}
	cj.Status.Active = []corev1.ObjectReference{{Kind: "Job", Namespace: ns, Name: job.Name, UID: job.UID, APIVersion: "batch/v1"}}
	w.log(ns, p.Name, name, false, fmt.Sprintf("%s INFO waiting for upstream batch marker", w.now.Add(-since+time.Minute).Format("2006-01-02 15:04:05,000")))
	return result{ns: ns, alerts: []alertDef{w.cronJobStale(ns, name, since)},
		expect: expect(investigate.PodPending, cats{investigate.PodCrash},
			fmt.Sprintf("CronJob %s/%s skips every run: under concurrencyPolicy Forbid its Job %s has been active for %s.", ns, name, job.Name, since.Round(time.Hour)),
			g("forbid"), g(job.Name), g("still active", "active"))}
}

// podPreempted: pods of a workload are preempted by a pod of a higher
// PriorityClass in another namespace; their replacements stay Pending.
func podPreempted(w *world, v variant) result {
	s := w.spec(v, kindDeployment, kindStatefulSet)
	s.replicas = 3
	a := w.buildApp(s)
	node := a.pods[len(a.pods)-1].Spec.NodeName
	since := w.between(15*time.Minute, 60*time.Minute)
	n := len(w.nodes)
	msg := fmt.Sprintf("0/%d nodes are available: %d Insufficient memory. %s", n, n, preemption(n, true))
	// The preemptor: a Job of a high PriorityClass.
	bns := w.namespace()
	bname := pick(w.r, []string{"model-train", "sim-batch", "render-farm", "etl-burst"})
	pc := pick(w.r, []string{"batch-critical", "urgent-jobs", "tier0-batch"})
	prio := int32(100000 + w.r.Intn(900000))
	_, bpods, _ := w.buildJob(jobRun{ns: bns, name: bname, image: w.image(bns, bname, w.version()), sa: "default", backoffLimit: 1}, 1, since)
	pre := bpods[0]
	pre.Spec.PriorityClassName, pre.Spec.Priority = pc, ptr(prio)
	for _, nd := range w.nodes {
		if nd.Name == node {
			pre.Spec.NodeName = nd.Name
		}
	}
	victims := a.pods[1:]
	for _, p := range victims {
		waiting := p
		if a.rs != nil {
			// The victim terminates (DisruptionTarget) and its
			// ReplicaSet creates a replacement that cannot be placed.
			p.DeletionTimestamp = ptr(w.ago(since))
			p.DeletionGracePeriodSeconds = ptr[int64](30)
			p.Status.Conditions = append(p.Status.Conditions, corev1.PodCondition{Type: corev1.DisruptionTarget, Status: corev1.ConditionTrue,
				Reason: "PreemptionByScheduler", Message: "default-scheduler: preempting to accommodate a higher priority pod", LastTransitionTime: w.ago(since)})
			waiting = a.addPod(a.rs.Name+"-"+w.alnum(5), a.rs.Spec.Template, "apps/v1", "ReplicaSet", a.rs.ObjectMeta, w.nodes[0], since-time.Second)
		}
		p.Spec.Priority = ptr[int32](0)
		e := w.event(p, ev{typ: corev1.EventTypeNormal, reason: "Preempted", component: "default-scheduler", first: since, last: since,
			message: fmt.Sprintf("Preempted by pod %s on node %s", pre.UID, node)})
		e.Related = &corev1.ObjectReference{APIVersion: "v1", Kind: "Pod", Namespace: bns, Name: pre.Name, UID: pre.UID}
		e.Action = "Preempting"
		waiting.Spec.Priority = ptr[int32](0)
		w.unschedulable(waiting, msg, since-time.Second)
	}
	return result{ns: s.ns, alerts: []alertDef{w.workloadAlert(a, false)},
		expect: expect(investigate.PodPending, pendingCats,
			fmt.Sprintf("Pods of %s %s/%s were preempted on node %s by pod %s/%s (PriorityClass %s, priority %d); their replacements stay Pending for lack of memory.", s.kind, s.ns, s.name, node, bns, pre.Name, pc, prio),
			g("preempt"), g(pc, pre.Name, bname))}
}

// extendedResourceUnadvertised: pods request an extended resource that no
// node advertises, because the device plugin DaemonSet runs on no node
// (variant 0: its nodeSelector matches no node) or is not ready (variant
// 1: it crashes on every node, so nothing registers the resource).
func extendedResourceUnadvertised(w *world, v variant) result {
	s := w.spec(v, kindDeployment, kindStatefulSet)
	vendor := pick(w.r, []string{"accel.example.com", "fpga.vendor.io", "npu.example.org"})
	res := corev1.ResourceName(vendor + "/" + pick(w.r, []string{"card", "device", "slice"}))
	n := len(w.nodes)
	a, pods := w.pendingApp(s, func(s *appSpec) {}, fmt.Sprintf("0/%d nodes are available: %d Insufficient %s. %s", n, n, res, preemption(n, false)))
	qty := resource.MustParse(fmt.Sprint(1 + w.r.Intn(2)))
	for _, p := range pods {
		c := &p.Spec.Containers[0]
		if c.Resources.Requests == nil {
			c.Resources.Requests = corev1.ResourceList{}
		}
		if c.Resources.Limits == nil {
			c.Resources.Limits = corev1.ResourceList{}
		}
		c.Resources.Requests[res], c.Resources.Limits[res] = qty, qty
	}
	pname := pick(w.r, []string{"device-plugin", "accel-device-plugin", "card-plugin"})
	sel := map[string]string{"app.kubernetes.io/name": pname}
	ds := &appsv1.DaemonSet{TypeMeta: metav1.TypeMeta{APIVersion: "apps/v1", Kind: "DaemonSet"},
		ObjectMeta: w.meta("kube-system", pname, copyLabels(sel), w.between(30*24*time.Hour, 300*24*time.Hour)),
		Spec: appsv1.DaemonSetSpec{Selector: &metav1.LabelSelector{MatchLabels: sel},
			Template: corev1.PodTemplateSpec{ObjectMeta: metav1.ObjectMeta{Labels: copyLabels(sel)}, Spec: corev1.PodSpec{
				Containers: []corev1.Container{{Name: "plugin", Image: w.image("kube-system", pname, w.version()),
					VolumeMounts: []corev1.VolumeMount{{Name: "device-plugin", MountPath: "/var/lib/kubelet/device-plugins"}}}},
				Volumes: []corev1.Volume{{Name: "device-plugin", VolumeSource: corev1.VolumeSource{HostPath: &corev1.HostPathVolumeSource{Path: "/var/lib/kubelet/device-plugins"}}}}}}}}
	why := ""
	if v.n == 0 {
		key := pick(w.r, []string{"hardware/accelerator", "node.example/card", "devices/present"})
		ds.Spec.Template.Spec.NodeSelector = map[string]string{key: "true"}
		why = fmt.Sprintf("its nodeSelector %s=true matches no node", key)
	} else {
		ds.Status = appsv1.DaemonSetStatus{DesiredNumberScheduled: int32(n), CurrentNumberScheduled: int32(n), NumberReady: 0, NumberUnavailable: int32(n)}
		why = "it is not ready on any node"
	}
	ds.Generation = 1
	w.add(ds)
	return result{ns: s.ns, alerts: []alertDef{w.pendingAlert(v, a, pods[0])},
		expect: expect(investigate.PodPending, pendingCats,
			fmt.Sprintf("%s %s/%s requests the extended resource %s, which no node advertises: device plugin DaemonSet kube-system/%s runs nowhere (%s).", s.kind, s.ns, s.name, res, pname, why),
			g(string(res)), g("no node advertises", "advertis", "device plugin"), g(pname))}
}
