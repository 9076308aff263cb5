package k8s

import (
	"strings"
	"testing"
	"time"

	autoscalingv2 "k8s.io/api/autoscaling/v2"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"

	"github.com/k8flex/k8flex/investigate"
)

func newHPA(ns, name, kind, target string, minR, maxR int32) *autoscalingv2.HorizontalPodAutoscaler {
	return &autoscalingv2.HorizontalPodAutoscaler{
		ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: name},
		Spec: autoscalingv2.HorizontalPodAutoscalerSpec{
			ScaleTargetRef: autoscalingv2.CrossVersionObjectReference{APIVersion: "apps/v1", Kind: kind, Name: target},
			MinReplicas:    &minR, MaxReplicas: maxR,
		},
	}
}

// An HPA whose scale target is the workload of the alerting pod is read
// with its events and rendered with bounds, metrics and the conditions
// that explain why it does not scale; one scaling another workload is not.
func TestCollectAutoscalers(t *testing.T) {
	now := time.Date(2026, 3, 1, 10, 0, 0, 0, time.UTC)
	util := func(v int32) *int32 { return &v }
	hpa := newHPA("shop", "web", "Deployment", "web", 2, 5)
	hpa.Spec.Metrics = []autoscalingv2.MetricSpec{{Type: autoscalingv2.ResourceMetricSourceType, Resource: &autoscalingv2.ResourceMetricSource{
		Name: corev1.ResourceCPU, Target: autoscalingv2.MetricTarget{Type: autoscalingv2.UtilizationMetricType, AverageUtilization: util(80)}}}}
	hpa.Status = autoscalingv2.HorizontalPodAutoscalerStatus{CurrentReplicas: 5, DesiredReplicas: 5,
		CurrentMetrics: []autoscalingv2.MetricStatus{{Type: autoscalingv2.ResourceMetricSourceType, Resource: &autoscalingv2.ResourceMetricStatus{
			Name: corev1.ResourceCPU, Current: autoscalingv2.MetricValueStatus{AverageUtilization: util(190)}}}},
		Conditions: []autoscalingv2.HorizontalPodAutoscalerCondition{
			{Type: autoscalingv2.AbleToScale, Status: corev1.ConditionTrue, Reason: "ReadyForNewScale"},
			{Type: autoscalingv2.ScalingLimited, Status: corev1.ConditionTrue, Reason: "TooManyReplicas", Message: "the desired replica count is more than the maximum replica count"},
		}}
	objs := []runtime.Object{
		newDeployment("shop", "web", map[string]string{"app": "web"}),
		newDeployment("shop", "api", map[string]string{"app": "api"}),
		newReplicaSet("shop", "web-6f8d9c7b5d", "web"),
		newPod("shop", "web-6f8d9c7b5d-pt7wz", withLabels("app", "web"), ownedByRS("web-6f8d9c7b5d"), crashLooping(3)),
		hpa,
		newHPA("shop", "api", "Deployment", "api", 1, 3),
		newEvent("shop", "web-hpa.1", "HorizontalPodAutoscaler", "shop", "web", "FailedGetResourceMetric", now),
	}
	s := gatherWith(t, objs, mapLogs{}, investigate.Target{Kind: investigate.KindPod, Name: "web-6f8d9c7b5d-pt7wz", Namespace: "shop", Pod: "web-6f8d9c7b5d-pt7wz"}, investigate.PodCrash)
	if len(s.HorizontalPodAutoscalers) != 1 || s.HorizontalPodAutoscalers[0].Name != "web" {
		t.Fatalf("HPAs = %v, want only the one scaling Deployment web", s.HorizontalPodAutoscalers)
	}
	if !involvedEvent(s, "HorizontalPodAutoscaler", "web") {
		t.Error("the HPA's events are not among the events of the objects involved")
	}
	containsAll(t, "scaling section", section(t, s, "scaling"),
		"HorizontalPodAutoscaler shop/web scales Deployment/web: min 2, max 5, current 5, desired 5",
		"Metric resource cpu: target 80% average utilization, current 190% average utilization",
		"ScalingLimited=True TooManyReplicas")
	if body := section(t, s, "scaling"); strings.Contains(body, "ReadyForNewScale") {
		t.Errorf("a True condition other than ScalingLimited is rendered:\n%s", body)
	}
}
