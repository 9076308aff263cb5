package faultgen

import (
	"fmt"
	"time"

	autoscalingv2 "k8s.io/api/autoscaling/v2"
	batchv1 "k8s.io/api/batch/v1"
	corev1 "k8s.io/api/core/v1"
	networkingv1 "k8s.io/api/networking/v1"
	policyv1 "k8s.io/api/policy/v1"
	"k8s.io/apimachinery/pkg/api/resource"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/util/intstr"
)

// hpa adds a CPU-utilisation HPA for the app's Deployment with the given
// bounds, current replicas and current utilisation (percent, 0 = unknown).
func (w *world) hpa(a *app, minR, maxR, current int32, target, utilisation int32) *autoscalingv2.HorizontalPodAutoscaler {
	h := &autoscalingv2.HorizontalPodAutoscaler{TypeMeta: metav1.TypeMeta{APIVersion: "autoscaling/v2", Kind: "HorizontalPodAutoscaler"},
		ObjectMeta: w.meta(a.spec.ns, a.spec.name, copyLabels(a.selector), w.between(30*24*time.Hour, 200*24*time.Hour)),
		Spec: autoscalingv2.HorizontalPodAutoscalerSpec{
			ScaleTargetRef: autoscalingv2.CrossVersionObjectReference{APIVersion: "apps/v1", Kind: "Deployment", Name: a.spec.name},
			MinReplicas:    ptr(minR), MaxReplicas: maxR,
			Metrics: []autoscalingv2.MetricSpec{{Type: autoscalingv2.ResourceMetricSourceType, Resource: &autoscalingv2.ResourceMetricSource{
				Name: corev1.ResourceCPU, Target: autoscalingv2.MetricTarget{Type: autoscalingv2.UtilizationMetricType, AverageUtilization: ptr(target)}}}},
		},
		Status: autoscalingv2.HorizontalPodAutoscalerStatus{CurrentReplicas: current, DesiredReplicas: current, LastScaleTime: ptr(w.ago(w.between(20*time.Minute, 2*time.Hour)))},
	}
	if utilisation > 0 {
		cpu := resource.MustParse(a.spec.cpuReq)
		avg := resource.NewMilliQuantity(cpu.MilliValue()*int64(utilisation)/100, resource.DecimalSI)
		h.Status.CurrentMetrics = []autoscalingv2.MetricStatus{{Type: autoscalingv2.ResourceMetricSourceType, Resource: &autoscalingv2.ResourceMetricStatus{
			Name: corev1.ResourceCPU, Current: autoscalingv2.MetricValueStatus{AverageUtilization: ptr(utilisation), AverageValue: avg}}}}
	}
	w.add(h)
	return h
}

// hpaConditions sets the three HPA conditions.
func (w *world) hpaConditions(h *autoscalingv2.HorizontalPodAutoscaler, since time.Duration, able, active, limited [3]string) {
	cond := func(t autoscalingv2.HorizontalPodAutoscalerConditionType, c [3]string) autoscalingv2.HorizontalPodAutoscalerCondition {
		return autoscalingv2.HorizontalPodAutoscalerCondition{Type: t, Status: corev1.ConditionStatus(c[0]), Reason: c[1], Message: c[2], LastTransitionTime: w.ago(since)}
	}
	h.Status.Conditions = []autoscalingv2.HorizontalPodAutoscalerCondition{cond(autoscalingv2.AbleToScale, able), cond(autoscalingv2.ScalingActive, active), cond(autoscalingv2.ScalingLimited, limited)}
}

// pdb adds a PodDisruptionBudget over the app's pods.
func (w *world) pdb(a *app, minAvailable intstr.IntOrString, healthy, allowed int32) *policyv1.PodDisruptionBudget {
	p := &policyv1.PodDisruptionBudget{TypeMeta: metav1.TypeMeta{APIVersion: "policy/v1", Kind: "PodDisruptionBudget"},
		ObjectMeta: w.meta(a.spec.ns, a.spec.name+"-pdb", copyLabels(a.selector), w.between(30*24*time.Hour, 200*24*time.Hour)),
		Spec:       policyv1.PodDisruptionBudgetSpec{MinAvailable: &minAvailable, Selector: &metav1.LabelSelector{MatchLabels: a.selector}},
	}
	p.Generation = 1
	want, _ := intstr.GetScaledValueFromIntOrPercent(&minAvailable, len(a.pods), true)
	p.Status = policyv1.PodDisruptionBudgetStatus{ObservedGeneration: 1, DisruptionsAllowed: allowed, CurrentHealthy: healthy, DesiredHealthy: int32(want), ExpectedPods: int32(len(a.pods)),
		Conditions: []metav1.Condition{{Type: policyv1.DisruptionAllowedCondition, Status: metav1.ConditionFalse, Reason: policyv1.InsufficientPodsReason, ObservedGeneration: 1,
			LastTransitionTime: w.ago(w.between(2*time.Hour, 24*time.Hour))}}}
	if allowed > 0 {
		p.Status.Conditions[0].Status, p.Status.Conditions[0].Reason = metav1.ConditionTrue, policyv1.SufficientPodsReason
	}
	w.add(p)
	return p
}

// ingress adds an Ingress routing host/ to service:port.
func (w *world) ingress(ns, name, host, service string, port int32) *networkingv1.Ingress {
	ing := &networkingv1.Ingress{TypeMeta: metav1.TypeMeta{APIVersion: "networking.k8s.io/v1", Kind: "Ingress"},
		ObjectMeta: w.meta(ns, name, nil, w.between(time.Hour, 100*24*time.Hour)),
		Spec: networkingv1.IngressSpec{IngressClassName: ptr("nginx"), TLS: []networkingv1.IngressTLS{{Hosts: []string{host}, SecretName: name + "-tls"}},
			Rules: []networkingv1.IngressRule{{Host: host, IngressRuleValue: networkingv1.IngressRuleValue{HTTP: &networkingv1.HTTPIngressRuleValue{
				Paths: []networkingv1.HTTPIngressPath{{Path: "/", PathType: ptr(networkingv1.PathTypePrefix), Backend: networkingv1.IngressBackend{
					Service: &networkingv1.IngressServiceBackend{Name: service, Port: networkingv1.ServiceBackendPort{Number: port}}}}}}}}}},
		Status: networkingv1.IngressStatus{LoadBalancer: networkingv1.IngressLoadBalancerStatus{Ingress: []networkingv1.IngressLoadBalancerIngress{{Hostname: "k8s-ingressn-ingressn-" + w.hex(10) + ".elb.amazonaws.com"}}}},
	}
	ing.Annotations = map[string]string{"cert-manager.io/cluster-issuer": "letsencrypt-prod"}
	w.add(ing)
	return ing
}

// netpol adds a NetworkPolicy.
func (w *world) netpol(ns, name string, podSelector map[string]string, types []networkingv1.PolicyType, ingress []networkingv1.NetworkPolicyIngressRule, egress []networkingv1.NetworkPolicyEgressRule, age time.Duration) *networkingv1.NetworkPolicy {
	np := &networkingv1.NetworkPolicy{TypeMeta: metav1.TypeMeta{APIVersion: "networking.k8s.io/v1", Kind: "NetworkPolicy"},
		ObjectMeta: w.meta(ns, name, nil, age),
		Spec:       networkingv1.NetworkPolicySpec{PodSelector: metav1.LabelSelector{MatchLabels: podSelector}, PolicyTypes: types, Ingress: ingress, Egress: egress}}
	np.Generation = 1
	w.add(np)
	return np
}

func tcpPort(n int32) networkingv1.NetworkPolicyPort {
	return networkingv1.NetworkPolicyPort{Protocol: ptr(corev1.ProtocolTCP), Port: ptr(intstr.FromInt32(n))}
}

// job describes a Job run (optionally by a CronJob).
type jobRun struct {
	ns, name, image, sa string
	command             []string
	backoffLimit        int32
	deadline            int64 // activeDeadlineSeconds, 0 = none
	cron                string
}

// buildJob adds the CronJob (when cron is set), the Job and its pods, all
// failed per failures (one pod each); it returns the Job, its pods and
// the CronJob (nil without cron).
func (w *world) buildJob(j jobRun, failures int, since time.Duration) (*batchv1.Job, []*corev1.Pod, *batchv1.CronJob) {
	labels := map[string]string{"app.kubernetes.io/name": j.name}
	ctr := corev1.Container{Name: j.name, Image: j.image, Command: j.command, ImagePullPolicy: corev1.PullIfNotPresent,
		TerminationMessagePath: "/dev/termination-log", TerminationMessagePolicy: corev1.TerminationMessageReadFile,
		Resources: corev1.ResourceRequirements{Requests: corev1.ResourceList{corev1.ResourceCPU: resource.MustParse("100m"), corev1.ResourceMemory: resource.MustParse("256Mi")},
			Limits: corev1.ResourceList{corev1.ResourceMemory: resource.MustParse("256Mi")}}}
	spec := corev1.PodSpec{Containers: []corev1.Container{ctr}, RestartPolicy: corev1.RestartPolicyNever, DNSPolicy: corev1.DNSClusterFirst,
		SchedulerName: corev1.DefaultSchedulerName, SecurityContext: &corev1.PodSecurityContext{}, TerminationGracePeriodSeconds: ptr[int64](30),
		ServiceAccountName: j.sa, DeprecatedServiceAccount: j.sa}
	if j.sa != "" && j.sa != "default" {
		w.serviceAccount(j.ns, j.sa)
	}
	var cj *batchv1.CronJob
	jobName := j.name
	if j.cron != "" {
		cj = &batchv1.CronJob{TypeMeta: metav1.TypeMeta{APIVersion: "batch/v1", Kind: "CronJob"},
			ObjectMeta: w.meta(j.ns, j.name, copyLabels(labels), w.between(20*24*time.Hour, 200*24*time.Hour)),
			Spec: batchv1.CronJobSpec{Schedule: j.cron, ConcurrencyPolicy: batchv1.ForbidConcurrent, Suspend: ptr(false),
				SuccessfulJobsHistoryLimit: ptr[int32](3), FailedJobsHistoryLimit: ptr[int32](1),
				JobTemplate: batchv1.JobTemplateSpec{Spec: batchv1.JobSpec{BackoffLimit: ptr(j.backoffLimit),
					Template: corev1.PodTemplateSpec{ObjectMeta: metav1.ObjectMeta{Labels: copyLabels(labels)}, Spec: spec}}}},
			Status: batchv1.CronJobStatus{LastScheduleTime: ptr(w.ago(since))}}
		if j.deadline > 0 {
			cj.Spec.JobTemplate.Spec.ActiveDeadlineSeconds = ptr(j.deadline)
		}
		cj.Generation = 1
		w.add(cj)
		jobName = fmt.Sprintf("%s-%d", j.name, w.now.Add(-since).Unix()/60)
	}
	jl := copyLabels(labels, "batch.kubernetes.io/job-name", jobName, "job-name", jobName)
	job := &batchv1.Job{TypeMeta: metav1.TypeMeta{APIVersion: "batch/v1", Kind: "Job"}, ObjectMeta: w.meta(j.ns, jobName, jl, since),
		Spec: batchv1.JobSpec{BackoffLimit: ptr(j.backoffLimit), Completions: ptr[int32](1), Parallelism: ptr[int32](1),
			CompletionMode: ptr(batchv1.NonIndexedCompletion), Suspend: ptr(false), PodReplacementPolicy: ptr(batchv1.TerminatingOrFailed),
			ManualSelector: ptr(false), Selector: &metav1.LabelSelector{MatchLabels: map[string]string{"batch.kubernetes.io/controller-uid": ""}}}}
	job.Spec.Selector.MatchLabels["batch.kubernetes.io/controller-uid"] = string(job.UID)
	if j.deadline > 0 {
		job.Spec.ActiveDeadlineSeconds = ptr(j.deadline)
	}
	pl := copyLabels(jl, "batch.kubernetes.io/controller-uid", string(job.UID), "controller-uid", string(job.UID))
	job.Spec.Template = corev1.PodTemplateSpec{ObjectMeta: metav1.ObjectMeta{Labels: pl}, Spec: spec}
	job.Generation = 1
	if cj != nil {
		job.OwnerReferences = []metav1.OwnerReference{ownerRef("batch/v1", "CronJob", cj.ObjectMeta)}
		job.Annotations = map[string]string{"batch.kubernetes.io/cronjob-scheduled-timestamp": w.ago(since).UTC().Format(time.RFC3339)}
		w.event(cj, ev{typ: corev1.EventTypeNormal, reason: "SuccessfulCreate", component: "cronjob-controller", last: since, message: "Created job " + jobName})
	}
	w.add(job)
	var pods []*corev1.Pod
	step := since / time.Duration(failures+1)
	for i := 0; i < failures; i++ {
		age := since - time.Duration(i)*step
		p := w.pod(j.ns, jobName+"-"+w.alnum(5), job.Spec.Template, pick(w.r, w.nodes), age)
		p.GenerateName = jobName + "-"
		p.OwnerReferences = []metav1.OwnerReference{ownerRef("batch/v1", "Job", job.ObjectMeta)}
		p.Annotations = map[string]string{"batch.kubernetes.io/job-tracking": ""}
		p.Finalizers = nil
		w.event(job, ev{typ: corev1.EventTypeNormal, reason: "SuccessfulCreate", component: "job-controller", last: age, message: "Created pod: " + p.Name})
		pods = append(pods, p)
	}
	return job, pods, cj
}

// failPod marks a Job pod Failed after its container exited.
func (w *world) failPod(p *corev1.Pod, exitCode int32, reason string, ran time.Duration) {
	cs := &p.Status.ContainerStatuses[0]
	start := p.Status.StartTime.Time
	cs.State = corev1.ContainerState{Terminated: &corev1.ContainerStateTerminated{ExitCode: exitCode, Reason: reason,
		StartedAt: metav1.NewTime(start), FinishedAt: metav1.NewTime(start.Add(ran)), ContainerID: cs.ContainerID}}
	cs.Ready, cs.Started = false, ptr(false)
	p.Status.Phase = corev1.PodFailed
	w.setReady(p, false, w.now.Sub(start.Add(ran)), cs.Name)
	for i := range p.Status.Conditions {
		if p.Status.Conditions[i].Type == corev1.PodReady || p.Status.Conditions[i].Type == corev1.ContainersReady {
			p.Status.Conditions[i].Reason = "PodFailed"
			p.Status.Conditions[i].Message = ""
		}
		if p.Status.Conditions[i].Type == "PodReadyToStartContainers" {
			p.Status.Conditions[i].Status = corev1.ConditionFalse
		}
	}
}

// jobFailedStatus sets the Job's Failed condition.
func (w *world) jobFailedStatus(job *batchv1.Job, pods []*corev1.Pod, reason, message string, ago time.Duration) {
	job.Status = batchv1.JobStatus{StartTime: ptr(job.CreationTimestamp), Failed: int32(len(pods)), Ready: ptr[int32](0), Terminating: ptr[int32](0),
		UncountedTerminatedPods: &batchv1.UncountedTerminatedPods{},
		Conditions: []batchv1.JobCondition{
			{Type: batchv1.JobFailureTarget, Status: corev1.ConditionTrue, Reason: reason, Message: message, LastProbeTime: w.ago(ago), LastTransitionTime: w.ago(ago)},
			{Type: batchv1.JobFailed, Status: corev1.ConditionTrue, Reason: reason, Message: message, LastProbeTime: w.ago(ago), LastTransitionTime: w.ago(ago)}}}
	w.event(job, ev{reason: reason, component: "job-controller", last: ago, message: message})
}
