package k8s

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	metricsv1beta1 "k8s.io/metrics/pkg/apis/metrics/v1beta1"
)

// errNoMetrics is the gap reason when no metrics API is configured.
var errNoMetrics = errors.New("metrics API (metrics.k8s.io) not available")

// collectResources reads the namespace's LimitRanges and ResourceQuotas
// (through the shared cache).
func collectResources(ctx context.Context, r *run) error {
	if r.ns == "" {
		return nil
	}
	var errs []error
	lr, err := listNamespace(ctx, r, resLimitRanges, r.ns, func(l *corev1.LimitRangeList) []corev1.LimitRange { return l.Items })
	if err != nil {
		errs = append(errs, err)
	}
	rq, qerr := listNamespace(ctx, r, resQuotas, r.ns, func(l *corev1.ResourceQuotaList) []corev1.ResourceQuota { return l.Items })
	if qerr != nil {
		errs = append(errs, qerr)
	}
	r.mu.Lock()
	r.snap.LimitRanges = append(r.snap.LimitRanges, lr...)
	r.snap.ResourceQuotas = append(r.snap.ResourceQuotas, rq...)
	r.mu.Unlock()
	return errors.Join(errs...)
}

// collectUsage reads, when the category looks at usage (resource, service
// and node categories), the usage of the investigated pods and their nodes
// from metrics.k8s.io. It runs after the Services, whose selected pods are
// the investigated ones of a Service target. Without a metrics API the
// usage is a Gap ("metrics").
func collectUsage(ctx context.Context, r *run) error {
	if r.g.metrics == nil {
		r.gap("metrics", errNoMetrics)
		return nil
	}
	if err := collectMetrics(ctx, r); err != nil {
		r.gap("metrics", err)
	}
	return nil
}

// collectMetrics reads PodMetrics of the investigated (and, for a node,
// the node's) pods and NodeMetrics of their nodes.
func collectMetrics(ctx context.Context, r *run) error {
	pods, related := r.podsSnapshot()
	want := map[string]bool{}
	nodes := map[string]bool{}
	for _, p := range pods {
		want[podKey(&p)] = true
		nodes[p.Spec.NodeName] = true
	}
	if r.node != "" {
		nodes[r.node] = true
		for _, p := range related {
			want[podKey(&p)] = true
		}
	}
	if len(want) == 0 && len(nodes) == 0 {
		return nil
	}
	var namespaces []string
	for k := range want {
		ns, _, _ := strings.Cut(k, "/")
		if !slices.Contains(namespaces, ns) {
			namespaces = append(namespaces, ns)
		}
	}
	if r.node != "" && len(namespaces) > 1 {
		namespaces = []string{""}
	}
	slices.Sort(namespaces)
	var pm []metricsv1beta1.PodMetrics
	for _, ns := range namespaces {
		r.count(1)
		l, err := readList[metricsv1beta1.PodMetricsList](ctx, r.g.metrics, resPodMetrics, ns, metav1.ListOptions{})
		if err != nil {
			return metricsErr("list pod metrics in "+nsName(ns), err)
		}
		for _, m := range l.Items {
			if want[m.Namespace+"/"+m.Name] {
				pm = append(pm, m)
			}
		}
	}
	var nm []metricsv1beta1.NodeMetrics
	if len(nodes) > 0 {
		r.count(1)
		l, err := readList[metricsv1beta1.NodeMetricsList](ctx, r.g.metrics, resNodeMetrics, "", metav1.ListOptions{})
		if err != nil {
			return metricsErr("list node metrics", err)
		}
		for _, m := range l.Items {
			if nodes[m.Name] {
				nm = append(nm, m)
			}
		}
	}
	r.mu.Lock()
	r.snap.PodMetrics = append(r.snap.PodMetrics, pm...)
	r.snap.NodeMetrics = append(r.snap.NodeMetrics, nm...)
	r.mu.Unlock()
	return nil
}

// metricsErr explains a metrics API failure; a 404 means no metrics-server.
func metricsErr(what string, err error) error {
	if apierrors.IsNotFound(err) {
		return fmt.Errorf("%s: %w (is metrics-server installed?)", what, errNoMetrics)
	}
	return fmt.Errorf("%s: %w", what, err)
}

// containerUsage returns the usage of one container from PodMetrics.
func containerUsage(pm []metricsv1beta1.PodMetrics, p *corev1.Pod, container string) (corev1.ResourceList, bool) {
	for _, m := range pm {
		if m.Namespace != p.Namespace || m.Name != p.Name {
			continue
		}
		for _, c := range m.Containers {
			if c.Name == container {
				return c.Usage, true
			}
		}
	}
	return nil, false
}
