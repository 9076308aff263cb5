package k8s

import (
	"encoding/json"
	"fmt"
	"math"
	"regexp"
	"sort"
	"strings"
	"time"

	appsv1 "k8s.io/api/apps/v1"
	autoscalingv2 "k8s.io/api/autoscaling/v2"
	batchv1 "k8s.io/api/batch/v1"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/k8flex/k8flex/investigate"
)

// The rules of this file read the workload controllers' own status: a
// Deployment whose rollout exceeded its progress deadline, a workload
// scaled to zero (and who scaled it), an HPA held at its maxReplicas or
// unable to compute a replica count, a Job that failed.

// diagnoseWorkloads reports workloads scaled to zero, stuck rollouts,
// autoscalers that cannot follow the load, and failed Jobs.
func diagnoseWorkloads(d *diag) []investigate.Finding {
	var out []investigate.Finding
	for i := range d.s.Deployments {
		x := &d.s.Deployments[i]
		if f, ok := d.scaledToZero("Deployment", &x.ObjectMeta, x.Spec.Replicas, &x.Spec.Template); ok {
			out = append(out, f)
		}
		if f, ok := d.rolloutStuck(x); ok {
			out = append(out, f)
		}
	}
	for i := range d.s.StatefulSets {
		x := &d.s.StatefulSets[i]
		if f, ok := d.scaledToZero("StatefulSet", &x.ObjectMeta, x.Spec.Replicas, &x.Spec.Template); ok {
			out = append(out, f)
		}
	}
	for i := range d.s.ReplicaSets {
		x := &d.s.ReplicaSets[i]
		if metav1.GetControllerOf(x) != nil {
			continue // a Deployment's ReplicaSet follows the Deployment
		}
		if f, ok := d.scaledToZero("ReplicaSet", &x.ObjectMeta, x.Spec.Replicas, &x.Spec.Template); ok {
			out = append(out, f)
		}
	}
	for i := range d.s.HorizontalPodAutoscalers {
		out = append(out, d.autoscaler(&d.s.HorizontalPodAutoscalers[i])...)
	}
	out = append(out, d.failedJobs()...)
	return out
}

// --- scaled to zero ---------------------------------------------------------

var scaledDownTo0 = regexp.MustCompile(`Scaled down replica set (\S+) from (\d+) to 0`)

// scaledToZero reports a workload whose spec.replicas is 0, with what the
// evidence says about who set it: the field manager that last wrote
// spec.replicas, the replicas of the last kubectl apply, the controller's
// scale-down event, and the HPAs that target it.
func (d *diag) scaledToZero(kind string, m *metav1.ObjectMeta, replicas *int32, tpl *corev1.PodTemplateSpec) (investigate.Finding, bool) {
	if replicas == nil || *replicas != 0 {
		return investigate.Finding{}, false
	}
	ns, name := m.Namespace, m.Name
	lower := strings.ToLower(kind)
	proof := []string{fmt.Sprintf("%s %s/%s spec.replicas: 0", lower, ns, name)}
	sum := fmt.Sprintf("%s %s/%s is scaled to zero (spec.replicas: 0), so it runs no pods", kind, ns, name)
	var who []string
	if mf := replicasManager(m); mf != nil {
		s := fmt.Sprintf("field manager %q last set spec.replicas", mf.Manager)
		if mf.Subresource != "" {
			s += " through the " + mf.Subresource + " subresource"
			if strings.HasPrefix(mf.Manager, "kubectl") && mf.Subresource == "scale" {
				s += " (kubectl scale)"
			}
		}
		if mf.Time != nil {
			s += " at " + mf.Time.UTC().Format(time.RFC3339)
		}
		who = append(who, s)
		proof = append(proof, fmt.Sprintf("%s %s managedFields: manager=%s operation=%s subresource=%s time=%s owns spec.replicas", lower, name, mf.Manager, mf.Operation, mf.Subresource, tsPtr(mf.Time)))
	}
	if n, ok := lastAppliedReplicas(m); ok && n != 0 {
		who = append(who, fmt.Sprintf("the last kubectl apply set replicas: %d, so it was changed outside the applied manifest", n))
		proof = append(proof, fmt.Sprintf("%s %s annotation kubectl.kubernetes.io/last-applied-configuration: replicas %d", lower, name, n))
	}
	from := ""
	if kind == "Deployment" {
		for _, e := range d.events[objKey{"Deployment", ns, name}] {
			if mm := scaledDownTo0.FindStringSubmatch(e.Message); mm != nil {
				from = mm[2]
				proof = appendUnique(proof, fmt.Sprintf("deployment %s: %s %s: %s (%s)", name, e.Type, e.Reason, e.Message, eventTime(e).UTC().Format(time.RFC3339)))
			}
		}
	}
	if from != "" {
		sum = fmt.Sprintf("%s %s/%s was scaled from %s to 0 replicas (spec.replicas: 0), so it runs no pods", kind, ns, name, from)
	}
	var hpaNote string
	var hpaMin int32
	for i := range d.s.HorizontalPodAutoscalers {
		h := &d.s.HorizontalPodAutoscalers[i]
		if h.Namespace != ns || h.Spec.ScaleTargetRef.Kind != kind || h.Spec.ScaleTargetRef.Name != name {
			continue
		}
		minR := int32(1)
		if h.Spec.MinReplicas != nil {
			minR = *h.Spec.MinReplicas
		}
		hpaMin = minR
		hpaNote = fmt.Sprintf("HorizontalPodAutoscaler %s (minReplicas %d) did not do it and will not undo it: an HPA never scales below minReplicas, and it disables itself while its target is at zero", h.Name, minR)
		for _, c := range h.Status.Conditions {
			if c.Type == autoscalingv2.ScalingActive && c.Status == corev1.ConditionFalse {
				proof = append(proof, fmt.Sprintf("horizontalpodautoscaler %s condition ScalingActive=False %s: %s", h.Name, c.Reason, c.Message))
			}
		}
	}
	score := scoreCause
	impact := "Everything served by it is down."
	for i := range d.s.Services {
		svc := &d.s.Services[i]
		if svc.Namespace != ns || tpl == nil || !selects(svc.Spec.Selector, tpl.Labels) {
			continue
		}
		sum += fmt.Sprintf("; Service %s selects its pods and has no endpoints", svc.Name)
		impact = fmt.Sprintf("Service %s/%s has no endpoints: every request to it fails (connection refused or no route).", ns, svc.Name)
		score = scoreRootCause - 5
		break
	}
	if t := d.s.Target; strings.EqualFold(string(t.Kind), kind) && t.Name == name {
		score = scoreRootCause - 5
	}
	if len(who) > 0 {
		sum += "; " + strings.Join(who, "; ")
	}
	detail := "A workload at zero replicas is not broken: its controller does exactly what spec.replicas says. Find who set it (a person with kubectl scale, a script or CronJob, an operator, KEDA) before scaling back up, or it will happen again."
	if hpaNote != "" {
		detail = hpaNote + ". " + detail
	}
	// Scale back to what it ran with: the scale-down event's count, the
	// last applied manifest's, the HPA's minimum, else one replica.
	want, wantNote := "1", "   # then raise it to the count it needs"
	switch n, ok := lastAppliedReplicas(m); {
	case from != "":
		want, wantNote = from, ""
	case ok && n > 0:
		want, wantNote = fmt.Sprint(n), ""
	case hpaMin > 0:
		want, wantNote = fmt.Sprint(hpaMin), "   # the HPA's minReplicas; it takes over from there"
	}
	return investigate.Finding{
		Rule: "scaled-to-zero", Severity: investigate.FindingCritical, Score: score,
		Summary: sum + ".", Detail: detail,
		Objects: []string{lower + "/" + ns + "/" + name},
		Proof:   proof,
		Actions: []string{
			fmt.Sprintf("kubectl scale -n %s %s/%s --replicas=%s%s", ns, lower, name, want, wantNote),
			fmt.Sprintf("kubectl get %s -n %s %s --show-managed-fields -o yaml   # which manager set spec.replicas, and when", lower, ns, name),
		},
		Impact:     impact,
		Prevention: "Manage replicas in one place (the manifest in Git or an autoscaler, not both) and alert when a serving workload has zero desired replicas.",
	}, true
}

// replicasManager returns the newest managedFields entry that owns
// spec.replicas, nil when none does (or managedFields were stripped).
func replicasManager(m *metav1.ObjectMeta) *metav1.ManagedFieldsEntry {
	var best *metav1.ManagedFieldsEntry
	for i := range m.ManagedFields {
		e := &m.ManagedFields[i]
		if e.FieldsV1 == nil {
			continue
		}
		var f map[string]map[string]json.RawMessage
		if json.Unmarshal(e.FieldsV1.Raw, &f) != nil {
			continue
		}
		if _, ok := f["f:spec"]["f:replicas"]; !ok {
			continue
		}
		if best == nil || (e.Time != nil && (best.Time == nil || e.Time.After(best.Time.Time))) {
			best = e
		}
	}
	return best
}

// lastAppliedReplicas reads spec.replicas from the
// kubectl.kubernetes.io/last-applied-configuration annotation.
func lastAppliedReplicas(m *metav1.ObjectMeta) (int32, bool) {
	raw := m.Annotations[corev1.LastAppliedConfigAnnotation]
	if raw == "" {
		return 0, false
	}
	var cfg struct {
		Spec struct {
			Replicas *int32 `json:"replicas"`
		} `json:"spec"`
	}
	if json.Unmarshal([]byte(raw), &cfg) != nil || cfg.Spec.Replicas == nil {
		return 0, false
	}
	return *cfg.Spec.Replicas, true
}

// --- rollouts -----------------------------------------------------------------

var timedOutRS = regexp.MustCompile(`ReplicaSet "([^"]+)" has timed out progressing`)

// rolloutStuck reports a Deployment whose Progressing condition is False
// with ProgressDeadlineExceeded: which ReplicaSet is new, what its pods
// do, and which old ReplicaSet still serves. It is the symptom of what
// keeps the new pods from becoming available, so it ranks below the
// rules that explain those pods; the category follows the new pods'
// state.
func (d *diag) rolloutStuck(dep *appsv1.Deployment) (investigate.Finding, bool) {
	var cond *appsv1.DeploymentCondition
	for i := range dep.Status.Conditions {
		c := &dep.Status.Conditions[i]
		if c.Type == appsv1.DeploymentProgressing && c.Status == corev1.ConditionFalse && c.Reason == "ProgressDeadlineExceeded" {
			cond = c
		}
	}
	if cond == nil {
		return investigate.Finding{}, false
	}
	ns := dep.Namespace
	newName := ""
	if m := timedOutRS.FindStringSubmatch(cond.Message); m != nil {
		newName = m[1]
	}
	var newRS *appsv1.ReplicaSet
	var old []*appsv1.ReplicaSet
	rev := dep.Annotations["deployment.kubernetes.io/revision"]
	for i := range d.s.ReplicaSets {
		rs := &d.s.ReplicaSets[i]
		o := metav1.GetControllerOf(rs)
		if rs.Namespace != ns || o == nil || o.Kind != "Deployment" || o.Name != dep.Name {
			continue
		}
		switch {
		case rs.Name == newName, newName == "" && rev != "" && rs.Annotations["deployment.kubernetes.io/revision"] == rev:
			newRS = rs
			newName = rs.Name
		case rs.Status.Replicas > 0:
			old = append(old, rs)
		}
	}
	proof := []string{fmt.Sprintf("deployment %s condition Progressing=False ProgressDeadlineExceeded: %s", dep.Name, cond.Message)}
	deadline := int32(600)
	if dep.Spec.ProgressDeadlineSeconds != nil {
		deadline = *dep.Spec.ProgressDeadlineSeconds
	}
	sum := fmt.Sprintf("The rollout of Deployment %s/%s is stuck (Progressing=False, ProgressDeadlineExceeded after %ds)", ns, dep.Name, deadline)
	var pods []*corev1.Pod
	for _, p := range d.pods {
		if o := controllerOf(p); p.Namespace == ns && o != nil && o.Kind == "ReplicaSet" && o.Name == newName && newName != "" {
			pods = append(pods, p)
		}
	}
	category := investigate.PodPending
	if newName != "" {
		what := "the new ReplicaSet " + newName
		if newRS != nil {
			var imgs []string
			for _, c := range newRS.Spec.Template.Spec.Containers {
				imgs = append(imgs, c.Image)
			}
			what += fmt.Sprintf(" (revision %s, %s)", newRS.Annotations["deployment.kubernetes.io/revision"], strings.Join(imgs, ", "))
			want := int32(0)
			if newRS.Spec.Replicas != nil {
				want = *newRS.Spec.Replicas
			}
			what += fmt.Sprintf(" has %d of %d pods available", newRS.Status.AvailableReplicas, want)
			proof = append(proof, fmt.Sprintf("replicaset %s (new): replicas %d, ready %d, available %d", newRS.Name, newRS.Status.Replicas, newRS.Status.ReadyReplicas, newRS.Status.AvailableReplicas))
		}
		sum += ": " + what
		if st, cat := newPodsState(pods); st != "" {
			sum += "; " + st
			category = cat
		} else if len(pods) == 0 {
			sum += "; none of its pods exists"
		}
	}
	for _, rs := range old {
		sum += fmt.Sprintf("; the old ReplicaSet %s still runs %d (%d ready)", rs.Name, rs.Status.Replicas, rs.Status.ReadyReplicas)
		proof = append(proof, fmt.Sprintf("replicaset %s (old, revision %s): replicas %d, ready %d", rs.Name, rs.Annotations["deployment.kubernetes.io/revision"], rs.Status.Replicas, rs.Status.ReadyReplicas))
	}
	if ru := dep.Spec.Strategy.RollingUpdate; ru != nil && ru.MaxUnavailable != nil && ru.MaxUnavailable.String() == "0" && len(old) > 0 {
		sum += " (maxUnavailable 0: the old pods keep serving until new ones are available)"
	}
	objs := []string{"deployment/" + ns + "/" + dep.Name}
	if newName != "" {
		objs = append(objs, "replicaset/"+ns+"/"+newName)
	}
	return investigate.Finding{
		Rule: "rollout-stuck", Severity: investigate.FindingWarning, Score: scoreSymptom - 2, Category: category,
		Summary: sum + ".",
		Detail:  "A stuck rollout is a symptom: the new ReplicaSet's pods do not become available (not created, not scheduled, crashing or never ready); their own state says why.",
		Objects: objs, Proof: proof,
		Actions: []string{
			fmt.Sprintf("kubectl rollout status -n %s deployment/%s; kubectl describe rs -n %s %s", ns, dep.Name, ns, newName),
			fmt.Sprintf("kubectl rollout undo -n %s deployment/%s   # return to the previous revision while the new one is fixed", ns, dep.Name),
		},
		Impact:     "The new version is not serving; the Deployment runs the old revision (or fewer pods) until the rollout is fixed or undone.",
		Prevention: "Gate rollouts on the new pods' readiness in a canary or staging environment and alert on ProgressDeadlineExceeded.",
	}, true
}

// newPodsState describes what the new ReplicaSet's pods do, and the
// category that state implies.
func newPodsState(pods []*corev1.Pod) (string, investigate.Category) {
	var pending, crashing, unready []string
	for _, p := range pods {
		switch {
		case p.Status.Phase == corev1.PodPending && p.Spec.NodeName == "":
			pending = append(pending, p.Name)
		case podCrashing(p):
			crashing = append(crashing, p.Name)
		case p.Status.Phase == corev1.PodRunning && !podReady(p):
			unready = append(unready, p.Name)
		}
	}
	switch {
	case len(crashing) > 0:
		return fmt.Sprintf("%s %s crash-looping", joinNames(crashing), plural(len(crashing), "is", "are")), investigate.PodCrash
	case len(unready) > 0:
		return fmt.Sprintf("%s %s Running but never becomes Ready", joinNames(unready), plural(len(unready), "is", "are")), investigate.EndpointMissing
	case len(pending) > 0:
		return fmt.Sprintf("%s %s Pending, not scheduled", joinNames(pending), plural(len(pending), "is", "are")), investigate.PodPending
	}
	return "", ""
}

// --- autoscalers ----------------------------------------------------------------

// hpaMetricFailures are the reasons with which the HPA controller reports
// that it cannot compute a replica count from its metrics.
var hpaMetricFailures = map[string]bool{
	"FailedGetResourceMetric": true, "FailedGetContainerResourceMetric": true, "FailedGetPodsMetric": true,
	"FailedGetObjectMetric": true, "FailedGetExternalMetric": true, "FailedComputeMetricsReplicas": true,
	"InvalidMetricSourceType": true, "InvalidSelector": true, "AmbiguousSelector": true,
}

var missingRequest = regexp.MustCompile(`missing request for (\S+?)(?: in container (\S+) of Pod (\S+))?(?:\s|$|,)`)

// autoscaler reports an HPA that cannot follow the load: held at
// maxReplicas while its metric is above target, unable to read or compute
// its metrics, or unable to scale its target.
func (d *diag) autoscaler(h *autoscalingv2.HorizontalPodAutoscaler) []investigate.Finding {
	var out []investigate.Finding
	ref := h.Spec.ScaleTargetRef
	target := ref.Kind + " " + h.Namespace + "/" + ref.Name
	hpaRef := "horizontalpodautoscaler/" + h.Namespace + "/" + h.Name
	objs := []string{hpaRef, strings.ToLower(ref.Kind) + "/" + h.Namespace + "/" + ref.Name}
	cond := func(t autoscalingv2.HorizontalPodAutoscalerConditionType) *autoscalingv2.HorizontalPodAutoscalerCondition {
		for i := range h.Status.Conditions {
			if h.Status.Conditions[i].Type == t {
				return &h.Status.Conditions[i]
			}
		}
		return nil
	}
	condProof := func(c *autoscalingv2.HorizontalPodAutoscalerCondition) string {
		return fmt.Sprintf("horizontalpodautoscaler %s condition %s=%s %s: %s", h.Name, c.Type, c.Status, c.Reason, c.Message)
	}

	// Unable to compute a replica count.
	active := cond(autoscalingv2.ScalingActive)
	var failMsg, failReason string
	var proof []string
	if active != nil && active.Status == corev1.ConditionFalse && active.Reason != "ScalingDisabled" {
		failMsg, failReason = active.Message, active.Reason
		proof = append(proof, condProof(active))
	}
	for _, e := range d.events[objKey{"HorizontalPodAutoscaler", h.Namespace, h.Name}] {
		if e.Type == corev1.EventTypeWarning && hpaMetricFailures[e.Reason] {
			proof = appendUnique(proof, "horizontalpodautoscaler "+h.Name+": "+evProof(e))
			if failMsg == "" {
				failMsg, failReason = e.Message, e.Reason
			}
		}
	}
	if failMsg != "" {
		out = append(out, d.hpaMetricsFinding(h, target, objs, failReason, failMsg, proof))
	}

	// Unable to scale the target.
	if able := cond(autoscalingv2.AbleToScale); able != nil && able.Status == corev1.ConditionFalse && strings.HasPrefix(able.Reason, "Failed") {
		out = append(out, investigate.Finding{
			Rule: "hpa-cannot-scale", Severity: investigate.FindingCritical, Score: scoreCause,
			Summary: fmt.Sprintf("HorizontalPodAutoscaler %s/%s cannot scale %s (AbleToScale=False, %s): %s.", h.Namespace, h.Name, target, able.Reason, clip(able.Message, 300)),
			Objects: objs, Proof: []string{condProof(able)},
			Actions: []string{fmt.Sprintf("kubectl describe hpa -n %s %s   # check scaleTargetRef (kind, name, apiVersion) and the controller's RBAC on the scale subresource", h.Namespace, h.Name)},
			Impact:  "The workload's replicas do not follow the load.",
		})
	}

	// Held at maxReplicas.
	limited := cond(autoscalingv2.ScalingLimited)
	atMax := h.Status.CurrentReplicas >= h.Spec.MaxReplicas && h.Spec.MaxReplicas > 0
	tooMany := limited != nil && limited.Status == corev1.ConditionTrue && limited.Reason == "TooManyReplicas"
	if !atMax && !tooMany {
		return out
	}
	above, want, cat := hpaAboveTarget(h)
	if len(above) == 0 && !tooMany {
		return out
	}
	proof = []string{fmt.Sprintf("horizontalpodautoscaler %s: currentReplicas %d, desiredReplicas %d, maxReplicas %d", h.Name, h.Status.CurrentReplicas, h.Status.DesiredReplicas, h.Spec.MaxReplicas)}
	if limited != nil && limited.Status == corev1.ConditionTrue {
		proof = append(proof, condProof(limited))
	}
	sum := fmt.Sprintf("HorizontalPodAutoscaler %s/%s is at its maxReplicas of %d", h.Namespace, h.Name, h.Spec.MaxReplicas)
	if tooMany {
		sum += " (ScalingLimited=True, TooManyReplicas)"
	}
	if len(above) > 0 {
		sum += " while " + strings.Join(above, " and ")
		proof = append(proof, "metrics: "+strings.Join(above, "; "))
	}
	sum += fmt.Sprintf(": it needs more pods of %s than it may run", target)
	if want > h.Spec.MaxReplicas {
		sum += fmt.Sprintf(" (about %d for the target)", want)
	}
	out = append(out, investigate.Finding{
		Rule: "hpa-max-replicas", Severity: investigate.FindingCritical, Score: scoreCause, Category: cat,
		Summary: sum + ".",
		Detail:  "The autoscaler works, but its ceiling is below the load: each pod runs above the target, so latency grows, probes time out and queues back up until the load drops or the ceiling is raised.",
		Objects: objs, Proof: proof,
		Actions: []string{
			fmt.Sprintf("kubectl patch hpa -n %s %s -p '{\"spec\":{\"maxReplicas\":%d}}'   # raise the ceiling (check quota and node capacity first)", h.Namespace, h.Name, max(want, h.Spec.MaxReplicas+h.Spec.MaxReplicas/2+1)),
			fmt.Sprintf("kubectl describe hpa -n %s %s", h.Namespace, h.Name),
			"If the load is unexpected, find its source (a new client, a retry storm) before adding capacity.",
		},
		Impact:     fmt.Sprintf("%s runs saturated at %d replicas: requests slow down or fail while the load stays above what %d pods can serve.", target, h.Status.CurrentReplicas, h.Spec.MaxReplicas),
		Prevention: "Alert on HPAs at maxReplicas (kube_horizontalpodautoscaler_status_current_replicas == spec_max_replicas) and size maxReplicas from load tests and peak traffic.",
	})
	return out
}

// hpaAboveTarget renders the HPA's metrics whose current value exceeds the
// target, the replica count the ratio asks for, and the category a
// saturated resource implies (cpu → cpu-throttling, memory → oom-killed).
func hpaAboveTarget(h *autoscalingv2.HorizontalPodAutoscaler) (above []string, want int32, cat investigate.Category) {
	for _, m := range h.Spec.Metrics {
		name, target := metricSpec(m)
		for _, c := range h.Status.CurrentMetrics {
			n, current := metricStatus(c)
			if n != name {
				continue
			}
			ratio, ok := metricRatio(m, c)
			if !ok || ratio <= 1 {
				continue
			}
			above = append(above, fmt.Sprintf("%s is %s against a target of %s", name, current, target))
			if w := int32(math.Ceil(float64(h.Status.CurrentReplicas) * ratio)); w > want {
				want = w
			}
			if cat == "" {
				switch {
				case m.Resource != nil && m.Resource.Name == corev1.ResourceCPU, m.ContainerResource != nil && m.ContainerResource.Name == corev1.ResourceCPU:
					cat = investigate.CPUThrottling
				case m.Resource != nil && m.Resource.Name == corev1.ResourceMemory, m.ContainerResource != nil && m.ContainerResource.Name == corev1.ResourceMemory:
					cat = investigate.OOMKilled
				}
			}
		}
	}
	return above, want, cat
}

// metricRatio is current/target of one metric, ok=false when either is unknown.
func metricRatio(spec autoscalingv2.MetricSpec, st autoscalingv2.MetricStatus) (float64, bool) {
	var t autoscalingv2.MetricTarget
	var c autoscalingv2.MetricValueStatus
	switch {
	case spec.Resource != nil && st.Resource != nil:
		t, c = spec.Resource.Target, st.Resource.Current
	case spec.ContainerResource != nil && st.ContainerResource != nil:
		t, c = spec.ContainerResource.Target, st.ContainerResource.Current
	case spec.Pods != nil && st.Pods != nil:
		t, c = spec.Pods.Target, st.Pods.Current
	case spec.Object != nil && st.Object != nil:
		t, c = spec.Object.Target, st.Object.Current
	case spec.External != nil && st.External != nil:
		t, c = spec.External.Target, st.External.Current
	default:
		return 0, false
	}
	switch {
	case t.AverageUtilization != nil && c.AverageUtilization != nil && *t.AverageUtilization > 0:
		return float64(*c.AverageUtilization) / float64(*t.AverageUtilization), true
	case t.AverageValue != nil && c.AverageValue != nil && !t.AverageValue.IsZero():
		return c.AverageValue.AsApproximateFloat64() / t.AverageValue.AsApproximateFloat64(), true
	case t.Value != nil && c.Value != nil && !t.Value.IsZero():
		return c.Value.AsApproximateFloat64() / t.Value.AsApproximateFloat64(), true
	}
	return 0, false
}

// hpaMetricsFinding explains an HPA that cannot compute a replica count:
// a container without the request its Utilization target is a percentage
// of, or the metrics API that does not answer.
func (d *diag) hpaMetricsFinding(h *autoscalingv2.HorizontalPodAutoscaler, target string, objs []string, reason, msg string, proof []string) investigate.Finding {
	ref := h.Spec.ScaleTargetRef
	tpl := d.template(ref.Kind, h.Namespace, ref.Name)
	cause := ""
	var cat investigate.Category
	var actions []string
	// The resource metrics whose Utilization target needs a request.
	var missing []string
	if m := missingRequest.FindStringSubmatch(msg); m != nil && m[2] != "" {
		missing = append(missing, fmt.Sprintf("container %s sets no %s request", m[2], m[1]))
		proof = append(proof, fmt.Sprintf("pod %s container %s: resources.requests.%s not set", m[3], m[2], m[1]))
		cat = resourceCategory(corev1.ResourceName(m[1]))
	} else if tpl != nil {
		for _, ms := range h.Spec.Metrics {
			if ms.Resource == nil || ms.Resource.Target.AverageUtilization == nil {
				continue
			}
			for _, c := range tpl.Spec.Containers {
				if _, ok := c.Resources.Requests[ms.Resource.Name]; !ok {
					missing = append(missing, fmt.Sprintf("container %s sets no %s request", c.Name, ms.Resource.Name))
					cat = resourceCategory(ms.Resource.Name)
				}
			}
		}
	}
	if cat == "" {
		// The load the HPA cannot follow is that of its resource metric.
		for _, ms := range h.Spec.Metrics {
			if ms.Resource != nil {
				cat = resourceCategory(ms.Resource.Name)
				break
			}
		}
	}
	switch {
	case len(missing) > 0:
		cause = fmt.Sprintf(": in the pod template of %s %s, and a Utilization target is a percentage of the request of every container", target, strings.Join(missing, ", "))
		actions = append(actions, fmt.Sprintf("Set resources.requests for every container of %s (sidecars included), or use a ContainerResource metric for the main container only.", target))
	case strings.Contains(msg, "metrics.k8s.io") || strings.Contains(msg, "unable to fetch metrics") || strings.Contains(msg, "no metrics returned"):
		cause = ": the resource metrics API (metrics-server) returns no metrics: " + clip(msg, 250)
		actions = append(actions, "kubectl get apiservices v1beta1.metrics.k8s.io; kubectl -n kube-system get pods -l k8s-app=metrics-server   # is metrics-server running and registered?")
	default:
		cause = ": " + clip(msg, 300)
	}
	cur := h.Status.CurrentReplicas
	actions = append(actions, fmt.Sprintf("kubectl describe hpa -n %s %s", h.Namespace, h.Name))
	return investigate.Finding{
		Rule: "hpa-metrics-unavailable", Severity: investigate.FindingCritical, Score: scoreCause, Category: cat,
		Summary: fmt.Sprintf("HorizontalPodAutoscaler %s/%s cannot compute a replica count (ScalingActive=False, %s)%s; it holds %s at %d replicas whatever the load.",
			h.Namespace, h.Name, reason, cause, target, cur),
		Detail:  "When a metric cannot be read the HPA does not scale on it; with its only metric invalid it stops scaling altogether, so load spikes saturate the current pods.",
		Objects: objs, Proof: proof, Actions: actions,
		Impact:     fmt.Sprintf("%s does not scale out under load: its %d pods saturate and requests slow down or fail.", target, cur),
		Prevention: "Require resource requests on every container (a LimitRange default or an admission policy) and alert on HPA ScalingActive=False.",
	}
}

func resourceCategory(r corev1.ResourceName) investigate.Category {
	switch r {
	case corev1.ResourceCPU:
		return investigate.CPUThrottling
	case corev1.ResourceMemory:
		return investigate.OOMKilled
	}
	return ""
}

// --- jobs -------------------------------------------------------------------------

// jobRun is a failed Job and its Failed condition.
type jobRun struct {
	j    *batchv1.Job
	cond batchv1.JobCondition
}

// failedJobs reports failed Jobs, one finding per CronJob (its failed
// runs together) or per Job without one. A Job failure is the symptom of
// what its pods did: when the pods (its own, or those of a newer run of
// the same CronJob when its own are gone) show an error, the finding
// quotes it and ranks below the rules that explain the pods.
func (d *diag) failedJobs() []investigate.Finding {
	groups := map[string][]jobRun{}
	var order []string
	for i := range d.s.Jobs {
		j := &d.s.Jobs[i]
		for _, c := range j.Status.Conditions {
			if c.Type != batchv1.JobFailed || c.Status != corev1.ConditionTrue || c.Reason == batchv1.JobReasonDeadlineExceeded {
				continue // a deadline: diagnoseJobDeadlines explains it
			}
			key := "job/" + j.Namespace + "/" + j.Name
			if o := metav1.GetControllerOf(j); o != nil && o.Kind == "CronJob" {
				key = "cronjob/" + j.Namespace + "/" + o.Name
			}
			if _, ok := groups[key]; !ok {
				order = append(order, key)
			}
			groups[key] = append(groups[key], jobRun{j, c})
		}
	}
	var out []investigate.Finding
	for _, key := range order {
		runs := groups[key]
		sort.SliceStable(runs, func(a, b int) bool { return runs[b].j.CreationTimestamp.Before(&runs[a].j.CreationTimestamp) })
		newest := runs[0].j.Name
		// The target Job first, else the newest.
		for i, r := range runs {
			if t := d.s.Target; r.j.Name == t.Name || r.j.Name == t.Workload.Name {
				runs[0], runs[i] = runs[i], runs[0]
			}
		}
		j, c := runs[0].j, runs[0].cond
		proof := []string{}
		var names []string
		for _, r := range runs {
			names = append(names, r.j.Name)
			proof = append(proof, fmt.Sprintf("job %s/%s condition Failed reason=%s: %s", r.j.Namespace, r.j.Name, r.cond.Reason, r.cond.Message))
		}
		errs, pproof, from := d.jobPodErrors(j)
		proof = append(proof, pproof...)
		limit := int32(6)
		if j.Spec.BackoffLimit != nil {
			limit = *j.Spec.BackoffLimit
		}
		why := c.Reason
		switch c.Reason {
		case "BackoffLimitExceeded":
			why = fmt.Sprintf("BackoffLimitExceeded: its pods failed %d times, backoffLimit %d", limit+1, limit)
		case "DeadlineExceeded":
			why = "DeadlineExceeded: it ran longer than activeDeadlineSeconds"
			if j.Spec.ActiveDeadlineSeconds != nil {
				why += fmt.Sprintf(" (%ds)", *j.Spec.ActiveDeadlineSeconds)
			}
		case "":
			why = c.Message
		}
		sum := fmt.Sprintf("Job %s/%s failed (%s)", j.Namespace, j.Name, why)
		if strings.HasPrefix(key, "cronjob/") && len(runs) > 1 {
			sum = fmt.Sprintf("%d runs of CronJob %s failed (%s): %s", len(runs), strings.TrimPrefix(key, "cronjob/"), why, joinNames(names))
			if runs[0].j.Name != newest {
				sum = fmt.Sprintf("Job %s/%s failed (%s), as did %d other runs of CronJob %s", j.Namespace, j.Name, why, len(runs)-1, strings.TrimPrefix(key, "cronjob/"))
			}
		}
		score := scoreCause
		if len(errs) > 0 {
			sum += "; its pods fail with: " + clip(errs[len(errs)-1], 300)
			if from != "" && from != j.Name {
				sum += fmt.Sprintf(" (from the pods of %s; the pods of %s are gone)", from, j.Name)
			}
			score = scoreMechanism
		}
		objs := []string{"job/" + j.Namespace + "/" + j.Name}
		if strings.HasPrefix(key, "cronjob/") {
			objs = append(objs, key)
		}
		out = append(out, investigate.Finding{
			Rule: "job-failed", Severity: investigate.FindingCritical, Score: score,
			Summary: sum + ".", Objects: objs, Proof: proof,
			Detail: "A failed Job is the symptom; what its pods logged and how their containers ended is the cause.",
			Actions: []string{fmt.Sprintf("kubectl logs -n %s job/%s", j.Namespace, j.Name), fmt.Sprintf("kubectl describe job -n %s %s", j.Namespace, j.Name),
				rerunAction(j)},
			Prevention: "Test the job's command in CI with the same image and configuration; alert on failed Jobs.",
			Impact:     "The job's work did not happen.",
		})
	}
	return out
}

// jobPodErrors returns the error lines and terminations of the failed
// Job's pods; when they are gone, those of the newest other run of the
// same CronJob whose pods are in the snapshot (from names that Job).
func (d *diag) jobPodErrors(j *batchv1.Job) (errs, proof []string, from string) {
	podsOf := func(job *batchv1.Job) []*corev1.Pod {
		var out []*corev1.Pod
		for _, p := range d.pods {
			if p.Namespace != job.Namespace {
				continue
			}
			if o := controllerOf(p); (o != nil && o.Kind == "Job" && o.Name == job.Name) || p.Labels["job-name"] == job.Name || p.Labels["batch.kubernetes.io/job-name"] == job.Name {
				out = append(out, p)
			}
		}
		return out
	}
	pods := podsOf(j)
	from = j.Name
	if len(pods) == 0 {
		if o := metav1.GetControllerOf(j); o != nil && o.Kind == "CronJob" {
			// The CronJob's other runs, failed or not, newest first.
			var sibs []*batchv1.Job
			for i := range d.s.Jobs {
				x := &d.s.Jobs[i]
				if xo := metav1.GetControllerOf(x); x.Namespace == j.Namespace && x.Name != j.Name && xo != nil && xo.Kind == "CronJob" && xo.Name == o.Name {
					sibs = append(sibs, x)
				}
			}
			sort.SliceStable(sibs, func(a, b int) bool { return sibs[b].CreationTimestamp.Before(&sibs[a].CreationTimestamp) })
			for _, s := range sibs {
				if ps := podsOf(s); len(ps) > 0 {
					pods, from = ps, s.Name
					break
				}
			}
		}
	}
	for _, p := range pods {
		statuses := append(append([]corev1.ContainerStatus{}, p.Status.InitContainerStatuses...), p.Status.ContainerStatuses...)
		for i := range statuses {
			cs := &statuses[i]
			lines, _ := d.crashLogs(p, cs.Name)
			if e := lastErrorLine(lines); e != "" {
				errs = appendUnique(errs, e)
				proof = appendUnique(proof, p.Name+" log: "+e)
			}
			if t := lastTermination(cs); t != nil {
				proof = appendUnique(proof, fmt.Sprintf("%s %s: exitCode=%d reason=%s", p.Name, cs.Name, t.ExitCode, t.Reason))
			}
		}
	}
	return errs, proof, from
}
