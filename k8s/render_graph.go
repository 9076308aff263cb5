package k8s

import (
	"fmt"
	"strings"

	autoscalingv2 "k8s.io/api/autoscaling/v2"
	corev1 "k8s.io/api/core/v1"
	networkingv1 "k8s.io/api/networking/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/k8flex/k8flex/investigate"
)

// tsPtr renders an optional time like ts ("-" when unset).
func tsPtr(t *metav1.Time) string {
	if t == nil {
		return "-"
	}
	return ts(*t)
}

// renderIngresses renders the Ingresses routing to the Services: class,
// each rule's host/path → service:port, and whether that Service exists.
// A route to a missing Service raises the section's priority.
func (s *Snapshot) renderIngresses(add addFunc) {
	if len(s.Ingresses) == 0 {
		return
	}
	var w strings.Builder
	dangling := false
	route := func(ns, host, path string, b *networkingv1.IngressBackend) {
		if b == nil {
			return
		}
		if host == "" {
			host = "*"
		}
		dst := "(resource backend)"
		if b.Service != nil {
			port := b.Service.Port.Name
			if port == "" {
				port = fmt.Sprint(b.Service.Port.Number)
			}
			state := "Service exists"
			if s.hasMissingRef("service/" + ns + "/" + b.Service.Name) {
				state, dangling = "Service does not exist", true
			}
			dst = fmt.Sprintf("service %s:%s (%s)", b.Service.Name, port, state)
		}
		fmt.Fprintf(&w, "  %s%s -> %s\n", host, path, dst)
	}
	for i := range s.Ingresses {
		ing := &s.Ingresses[i]
		class := "<default>"
		if ing.Spec.IngressClassName != nil {
			class = *ing.Spec.IngressClassName
		}
		fmt.Fprintf(&w, "Ingress %s/%s class %s\n", ing.Namespace, ing.Name, class)
		route(ing.Namespace, "", "(default backend)", ing.Spec.DefaultBackend)
		for _, rule := range ing.Spec.Rules {
			if rule.HTTP == nil {
				continue
			}
			for j := range rule.HTTP.Paths {
				p := &rule.HTTP.Paths[j]
				path := p.Path
				if path == "" {
					path = "/"
				}
				route(ing.Namespace, rule.Host, path, &p.Backend)
			}
		}
	}
	prio := prioMedium
	if dangling {
		prio = prioHigh
	}
	add("ingresses", "Ingresses routing to the Services", prio, w.String(), false)
}

// hasMissingRef reports whether MissingRefs records the object ref
// ("kind/ns/name"), optional or not.
func (s *Snapshot) hasMissingRef(want string) bool {
	for _, e := range s.MissingRefs {
		if ref, _ := parseMissingRef(e); strings.EqualFold(ref, want) {
			return true
		}
	}
	return false
}

// renderScaling renders the HorizontalPodAutoscalers and the
// PodDisruptionBudgets of the workloads in one section.
func (s *Snapshot) renderScaling(add addFunc) {
	if len(s.HorizontalPodAutoscalers)+len(s.PodDisruptionBudgets) == 0 {
		return
	}
	var w strings.Builder
	for i := range s.HorizontalPodAutoscalers {
		describeHPA(&w, &s.HorizontalPodAutoscalers[i])
	}
	for _, b := range s.PodDisruptionBudgets {
		var budget []string
		if b.Spec.MinAvailable != nil {
			budget = append(budget, "minAvailable "+b.Spec.MinAvailable.String())
		}
		if b.Spec.MaxUnavailable != nil {
			budget = append(budget, "maxUnavailable "+b.Spec.MaxUnavailable.String())
		}
		if len(budget) == 0 {
			budget = append(budget, "no budget set")
		}
		st := b.Status
		fmt.Fprintf(&w, "PodDisruptionBudget %s/%s selects pods %s: %s; %d healthy of %d desired healthy, %d expected pods, disruptions allowed %d\n",
			b.Namespace, b.Name, selectorString(b.Spec.Selector), strings.Join(budget, ", "), st.CurrentHealthy, st.DesiredHealthy, st.ExpectedPods, st.DisruptionsAllowed)
		for _, c := range st.Conditions {
			if c.Status == metav1.ConditionFalse {
				fmt.Fprintf(&w, "  Condition %s=%s %s: %s (since %s)\n", c.Type, c.Status, c.Reason, c.Message, ts(c.LastTransitionTime))
			}
		}
	}
	add("scaling", "Autoscalers and disruption budgets", prioMedium, w.String(), false)
}

// describeHPA renders one HorizontalPodAutoscaler: its target and replica
// bounds, each metric's target against its current value, and the
// conditions that explain why it does not scale (False ones, and
// ScalingLimited).
func describeHPA(w *strings.Builder, h *autoscalingv2.HorizontalPodAutoscaler) {
	minR := int32(1)
	if h.Spec.MinReplicas != nil {
		minR = *h.Spec.MinReplicas
	}
	ref := h.Spec.ScaleTargetRef
	fmt.Fprintf(w, "HorizontalPodAutoscaler %s/%s scales %s/%s: min %d, max %d, current %d, desired %d replicas (last scaled %s)\n",
		h.Namespace, h.Name, ref.Kind, ref.Name, minR, h.Spec.MaxReplicas, h.Status.CurrentReplicas, h.Status.DesiredReplicas, tsPtr(h.Status.LastScaleTime))
	for _, m := range h.Spec.Metrics {
		name, target := metricSpec(m)
		current := "unknown"
		for _, c := range h.Status.CurrentMetrics {
			if n, v := metricStatus(c); n == name {
				current = v
				break
			}
		}
		fmt.Fprintf(w, "  Metric %s: target %s, current %s\n", name, target, current)
	}
	for _, c := range h.Status.Conditions {
		if c.Status == corev1.ConditionFalse || (c.Type == autoscalingv2.ScalingLimited && c.Status == corev1.ConditionTrue) {
			fmt.Fprintf(w, "  Condition %s=%s %s: %s (since %s)\n", c.Type, c.Status, c.Reason, c.Message, ts(c.LastTransitionTime))
		}
	}
}

// metricSpec names an HPA metric and renders its target.
func metricSpec(m autoscalingv2.MetricSpec) (name, target string) {
	switch {
	case m.Resource != nil:
		return "resource " + string(m.Resource.Name), metricTarget(m.Resource.Target)
	case m.ContainerResource != nil:
		return "container " + m.ContainerResource.Container + " resource " + string(m.ContainerResource.Name), metricTarget(m.ContainerResource.Target)
	case m.Pods != nil:
		return "pods " + m.Pods.Metric.Name, metricTarget(m.Pods.Target)
	case m.Object != nil:
		return "object " + m.Object.DescribedObject.Kind + "/" + m.Object.DescribedObject.Name + " " + m.Object.Metric.Name, metricTarget(m.Object.Target)
	case m.External != nil:
		return "external " + m.External.Metric.Name, metricTarget(m.External.Target)
	}
	return string(m.Type), "?"
}

// metricStatus names an HPA's current metric as metricSpec does and
// renders its value.
func metricStatus(m autoscalingv2.MetricStatus) (name, current string) {
	switch {
	case m.Resource != nil:
		return "resource " + string(m.Resource.Name), metricValue(m.Resource.Current)
	case m.ContainerResource != nil:
		return "container " + m.ContainerResource.Container + " resource " + string(m.ContainerResource.Name), metricValue(m.ContainerResource.Current)
	case m.Pods != nil:
		return "pods " + m.Pods.Metric.Name, metricValue(m.Pods.Current)
	case m.Object != nil:
		return "object " + m.Object.DescribedObject.Kind + "/" + m.Object.DescribedObject.Name + " " + m.Object.Metric.Name, metricValue(m.Object.Current)
	case m.External != nil:
		return "external " + m.External.Metric.Name, metricValue(m.External.Current)
	}
	return string(m.Type), "unknown"
}

func metricTarget(t autoscalingv2.MetricTarget) string {
	switch {
	case t.AverageUtilization != nil:
		return fmt.Sprintf("%d%% average utilization", *t.AverageUtilization)
	case t.AverageValue != nil:
		return t.AverageValue.String() + " average"
	case t.Value != nil:
		return t.Value.String()
	}
	return "?"
}

func metricValue(v autoscalingv2.MetricValueStatus) string {
	var parts []string
	if v.AverageUtilization != nil {
		parts = append(parts, fmt.Sprintf("%d%% average utilization", *v.AverageUtilization))
	}
	if v.AverageValue != nil {
		parts = append(parts, v.AverageValue.String()+" average")
	}
	if v.Value != nil {
		parts = append(parts, v.Value.String())
	}
	if len(parts) == 0 {
		return "unknown"
	}
	return strings.Join(parts, ", ")
}

// nodeCategory reports whether the category investigates a node.
func nodeCategory(c investigate.Category) bool {
	for _, sc := range c.Scopes() {
		if sc == investigate.ScopeNode {
			return true
		}
	}
	return false
}
