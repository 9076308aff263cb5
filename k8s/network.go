package k8s

import (
	"context"
	"errors"
	"slices"
	"strings"

	corev1 "k8s.io/api/core/v1"
	networkingv1 "k8s.io/api/networking/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/labels"
)

// dnsNamespace, dnsService and dnsConfigMap locate the cluster DNS.
const (
	dnsNamespace = "kube-system"
	dnsService   = "kube-dns"
	dnsConfigMap = "coredns"
	maxDNSPods   = 3
)

// isDNSPod reports whether a kube-system pod is a cluster DNS server.
func isDNSPod(p *corev1.Pod) bool {
	return p.Labels["k8s-app"] == "kube-dns" || strings.HasPrefix(p.Name, "coredns-")
}

// collectDNS reads the cluster DNS: the CoreDNS pods in kube-system (with
// their logs, previous instances included), the kube-dns Service and its
// EndpointSlices, and the Corefile of the coredns ConfigMap.
func collectDNS(ctx context.Context, r *run) error {
	var errs []error
	dns := &DNSState{}
	all, err := r.listPods(ctx, dnsNamespace)
	if err != nil {
		errs = append(errs, err)
	}
	for _, p := range all {
		if isDNSPod(&p) {
			dns.Pods = append(dns.Pods, p)
		}
	}
	sortByTrouble(dns.Pods)
	svc, err := r.getService(ctx, dnsNamespace, dnsService) // shared cache, counted there
	switch {
	case err == nil:
		dns.Service = svc
		sl, _, err := r.endpointsOf(ctx, dnsNamespace, []corev1.Service{*svc}, false)
		if err != nil {
			errs = append(errs, err)
		}
		dns.Endpoints = sl
	case !apierrors.IsNotFound(err):
		errs = append(errs, wrapGet("service", dnsNamespace, dnsService, err))
	}
	cm, err := r.getConfigMap(ctx, dnsNamespace, dnsConfigMap) // shared cache, counted there
	switch {
	case err == nil:
		dns.Corefile = cm.Data["Corefile"]
	case !apierrors.IsNotFound(err):
		errs = append(errs, wrapGet("configmap", dnsNamespace, dnsConfigMap, err))
	}
	var reqs []logRequest
	for i := range dns.Pods {
		if i == maxDNSPods {
			break
		}
		reqs = append(reqs, logRequests(&dns.Pods[i])...)
	}
	dns.Logs = r.readLogs(ctx, "dns", reqs)
	r.mu.Lock()
	r.snap.DNS = dns
	r.mu.Unlock()
	return errors.Join(errs...)
}

// collectNetworkPolicies reads the NetworkPolicies (ingress and egress)
// that select the investigated pods and the pods of the Services they
// depend on, through the shared cache.
func collectNetworkPolicies(ctx context.Context, r *run) error {
	pods, related := r.podsSnapshot()
	r.mu.Lock()
	deps := slices.Clone(r.deps)
	r.mu.Unlock()
	// Pods behind dependency Services are related pods in those namespaces.
	var subjects []corev1.Pod
	subjects = append(subjects, pods...)
	for _, p := range related {
		for _, d := range deps {
			if ns, _, _ := strings.Cut(d, "/"); ns == p.Namespace {
				subjects = append(subjects, p)
				break
			}
		}
	}
	var namespaces []string
	for _, p := range subjects {
		if !slices.Contains(namespaces, p.Namespace) {
			namespaces = append(namespaces, p.Namespace)
		}
	}
	if r.ns != "" && !slices.Contains(namespaces, r.ns) {
		namespaces = append(namespaces, r.ns)
	}
	slices.Sort(namespaces)
	var errs []error
	var keep []networkingv1.NetworkPolicy
	for _, ns := range namespaces {
		l, err := listNamespace(ctx, r, resNetPolicies, ns, func(l *networkingv1.NetworkPolicyList) []networkingv1.NetworkPolicy { return l.Items })
		if err != nil {
			errs = append(errs, err)
			continue
		}
		for _, np := range l {
			sel, err := metav1.LabelSelectorAsSelector(&np.Spec.PodSelector)
			if err != nil {
				continue
			}
			in := podsOf(subjects, ns)
			if len(in) == 0 || slices.ContainsFunc(in, func(p corev1.Pod) bool { return sel.Matches(labels.Set(p.Labels)) }) {
				keep = append(keep, np)
			}
		}
	}
	r.mu.Lock()
	r.snap.NetworkPolicies = append(r.snap.NetworkPolicies, keep...)
	r.mu.Unlock()
	return errors.Join(errs...)
}
