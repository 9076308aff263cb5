package k8s

import (
	"fmt"
	"sort"
	"strings"

	corev1 "k8s.io/api/core/v1"
	networkingv1 "k8s.io/api/networking/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/k8flex/k8flex/investigate"
)

func hasPolicyType(np *networkingv1.NetworkPolicy, t networkingv1.PolicyType) bool {
	if len(np.Spec.PolicyTypes) == 0 {
		// Default: Ingress always; Egress when egress rules exist.
		return t == networkingv1.PolicyTypeIngress || len(np.Spec.Egress) > 0
	}
	for _, x := range np.Spec.PolicyTypes {
		if x == t {
			return true
		}
	}
	return false
}

func selectorMatches(sel *metav1.LabelSelector, l map[string]string) (bool, bool) {
	if sel == nil {
		return true, true
	}
	s, err := metav1.LabelSelectorAsSelector(sel)
	if err != nil {
		return false, false
	}
	return s.Matches(labelSet(l)), true
}

type labelSet map[string]string

func (l labelSet) Has(k string) bool              { _, ok := l[k]; return ok }
func (l labelSet) Get(k string) string            { return l[k] }
func (l labelSet) Lookup(k string) (string, bool) { v, ok := l[k]; return v, ok }

// peerAllows reports whether a policy peer admits pod q (from a policy in
// namespace ns). known is false when it depends on labels not in the
// snapshot (namespace labels other than the name, IP blocks).
func peerAllows(peer networkingv1.NetworkPolicyPeer, ns string, q *corev1.Pod) (allowed, known bool) {
	if peer.IPBlock != nil {
		return false, false
	}
	nsOK := q.Namespace == ns
	if peer.NamespaceSelector != nil {
		nsOK, known = selectorMatches(peer.NamespaceSelector, map[string]string{"kubernetes.io/metadata.name": q.Namespace})
		if !known {
			return false, false
		}
		// Only the automatic name label is known for namespaces.
		for k := range peer.NamespaceSelector.MatchLabels {
			if k != "kubernetes.io/metadata.name" {
				return false, false
			}
		}
	}
	if !nsOK {
		return false, true
	}
	if peer.PodSelector != nil {
		m, _ := selectorMatches(peer.PodSelector, q.Labels)
		return m, true
	}
	return true, true
}

func describePeers(peers []networkingv1.NetworkPolicyPeer) string {
	if len(peers) == 0 {
		return "from anywhere"
	}
	var out []string
	for _, p := range peers {
		var parts []string
		if p.NamespaceSelector != nil {
			if n := p.NamespaceSelector.MatchLabels["kubernetes.io/metadata.name"]; n != "" {
				parts = append(parts, "namespace "+n)
			} else {
				parts = append(parts, "namespaces labelled "+metav1.FormatLabelSelector(p.NamespaceSelector))
			}
		}
		if p.PodSelector != nil {
			parts = append(parts, "pods "+metav1.FormatLabelSelector(p.PodSelector))
		}
		if p.IPBlock != nil {
			parts = append(parts, "IP block "+p.IPBlock.CIDR)
		}
		out = append(out, strings.Join(parts, " / "))
	}
	return "from " + strings.Join(out, " or ")
}

func describePorts(ports []networkingv1.NetworkPolicyPort) string {
	if len(ports) == 0 {
		return "on all ports"
	}
	var out []string
	for _, p := range ports {
		s := "any"
		if p.Port != nil {
			s = p.Port.String()
		}
		if p.Protocol != nil {
			s += "/" + string(*p.Protocol)
		}
		out = append(out, s)
	}
	return "on port " + strings.Join(out, ", ")
}

// diagnoseNetworkPolicies reports pods isolated by NetworkPolicies: a
// default deny, who IS allowed, which known pods are blocked, and egress
// policies that block DNS.
func diagnoseNetworkPolicies(d *diag) []investigate.Finding {
	var out []investigate.Finding
	byNS := map[string][]*networkingv1.NetworkPolicy{}
	var nss []string
	for i := range d.s.NetworkPolicies {
		np := &d.s.NetworkPolicies[i]
		if byNS[np.Namespace] == nil {
			nss = append(nss, np.Namespace)
		}
		byNS[np.Namespace] = append(byNS[np.Namespace], np)
	}
	sort.Strings(nss)
	for _, ns := range nss {
		nps := byNS[ns]
		// Ingress isolation.
		var isolated []*corev1.Pod
		var policies []*networkingv1.NetworkPolicy
		for _, p := range d.pods {
			if p.Namespace != ns || p.Status.Phase != corev1.PodRunning {
				continue
			}
			sel := false
			for _, np := range nps {
				if m, _ := selectorMatches(&np.Spec.PodSelector, p.Labels); m && hasPolicyType(np, networkingv1.PolicyTypeIngress) {
					sel = true
					policies = appendPolicy(policies, np)
				}
			}
			if sel {
				isolated = append(isolated, p)
			}
		}
		if len(isolated) > 0 {
			if f, ok := d.ingressFinding(ns, isolated, policies); ok {
				out = append(out, f)
			}
		}
		// Egress isolation, DNS in particular.
		for _, np := range nps {
			if !hasPolicyType(np, networkingv1.PolicyTypeEgress) {
				continue
			}
			var sel []*corev1.Pod
			for _, p := range d.pods {
				if m, _ := selectorMatches(&np.Spec.PodSelector, p.Labels); m && p.Namespace == ns {
					sel = append(sel, p)
				}
			}
			if len(sel) == 0 || egressAllowsDNS(nps, sel[0], d.dnsPods()) {
				continue
			}
			names := make([]string, 0, len(sel))
			for _, p := range sel {
				names = append(names, p.Name)
			}
			out = append(out, investigate.Finding{
				Rule: "netpol-egress-dns", Severity: investigate.FindingCritical, Score: scoreRootCause,
				Summary: fmt.Sprintf("NetworkPolicy %s/%s restricts egress of pods %s and no egress rule allows DNS (port 53 UDP/TCP to kube-dns), so every name lookup from them times out", ns, np.Name, joinNames(names)),
				Objects: []string{"networkpolicy/" + ns + "/" + np.Name},
				Proof:   []string{fmt.Sprintf("networkpolicy %s/%s policyTypes: %v, egress rules: %d", ns, np.Name, np.Spec.PolicyTypes, len(np.Spec.Egress))},
				Actions: []string{fmt.Sprintf("Add an egress rule to %s/%s allowing UDP and TCP port 53 to namespace kube-system pods k8s-app=kube-dns.", ns, np.Name),
					fmt.Sprintf("kubectl describe networkpolicy -n %s %s", ns, np.Name)},
				Prevention: "Ship a standard allow-dns egress policy with every default-deny egress policy, and test connectivity after policy changes.",
				Impact:     "The selected pods cannot resolve any name, so all their outgoing calls fail.",
			})
		}
	}
	return out
}

func appendPolicy(xs []*networkingv1.NetworkPolicy, np *networkingv1.NetworkPolicy) []*networkingv1.NetworkPolicy {
	for _, x := range xs {
		if x == np {
			return xs
		}
	}
	return append(xs, np)
}

func (d *diag) ingressFinding(ns string, isolated []*corev1.Pod, policies []*networkingv1.NetworkPolicy) (investigate.Finding, bool) {
	var deny, allow []string
	var proof []string
	for _, np := range policies {
		if len(np.Spec.Ingress) == 0 {
			deny = append(deny, np.Name)
			proof = append(proof, fmt.Sprintf("networkpolicy %s/%s: podSelector %s, policyTypes Ingress, no ingress rules (deny all ingress)", ns, np.Name, metav1.FormatLabelSelector(&np.Spec.PodSelector)))
			continue
		}
		for _, r := range np.Spec.Ingress {
			a := fmt.Sprintf("%s allows %s %s", np.Name, describePeers(r.From), describePorts(r.Ports))
			allow = append(allow, a)
			proof = append(proof, "networkpolicy "+ns+"/"+a)
		}
	}
	// Known pods elsewhere that the policies do not admit.
	var blocked, blockedNS []string
	for _, q := range d.pods {
		if q.Namespace == ns && containsPodPtr(isolated, q) || q.Status.Phase != corev1.PodRunning || q.Namespace == "kube-system" {
			continue
		}
		admitted, unknown := false, false
		for _, np := range policies {
			for _, r := range np.Spec.Ingress {
				if len(r.From) == 0 {
					admitted = true
				}
				for _, peer := range r.From {
					ok, known := peerAllows(peer, ns, q)
					admitted = admitted || ok
					unknown = unknown || !known
				}
			}
		}
		if !admitted && !unknown {
			blocked = append(blocked, fmt.Sprintf("%s (namespace %s)", q.Name, q.Namespace))
			blockedNS = appendUnique(blockedNS, q.Namespace)
		}
	}
	if len(deny) == 0 && len(blocked) == 0 {
		return investigate.Finding{}, false
	}
	names := make([]string, 0, len(isolated))
	for _, p := range isolated {
		names = append(names, p.Name)
	}
	var sum string
	if len(deny) > 0 {
		sum = fmt.Sprintf("NetworkPolicy %s in namespace %s denies all ingress to pods %s (default deny)", strings.Join(deny, ", "), ns, joinNames(names))
	} else {
		sum = fmt.Sprintf("NetworkPolicies in namespace %s isolate pods %s for ingress", ns, joinNames(names))
	}
	if len(allow) > 0 {
		sum += "; the only traffic allowed in: " + strings.Join(allow, "; ")
	} else {
		sum += " and no policy allows any traffic in"
	}
	if len(blocked) > 0 {
		sum += fmt.Sprintf(". Connections from %s are dropped", joinNames(blocked))
	}
	score := scoreCause
	if len(blocked) > 0 {
		score = scoreRootCause
	}
	newest := policies[0]
	for _, np := range policies {
		if np.CreationTimestamp.After(newest.CreationTimestamp.Time) {
			newest = np
		}
	}
	detail := fmt.Sprintf("A pod selected by any policy with policyType Ingress accepts only what some policy's ingress rules allow; the pods themselves stay Running and Ready, so clients see timeouts rather than errors. Newest policy: %s, created %s.",
		newest.Name, newest.CreationTimestamp.UTC().Format("2006-01-02T15:04:05Z"))
	return investigate.Finding{
		Rule: "netpol-ingress-deny", Severity: investigate.FindingCritical, Score: score,
		Summary: sum + ".", Detail: detail, Objects: policyRefs(ns, policies), Proof: proof,
		Actions: []string{
			fmt.Sprintf("kubectl get networkpolicy -n %s -o yaml", ns),
			allowAction(ns, blockedNS),
		},
		Prevention: "Roll out default-deny policies together with the allow policies for every known client (derive them from observed flows), and test client connectivity in staging first.",
		Impact:     fmt.Sprintf("Clients of %s outside the allowed sources time out.", joinNames(names)),
	}, true
}

func containsPodPtr(ps []*corev1.Pod, p *corev1.Pod) bool {
	for _, q := range ps {
		if q == p {
			return true
		}
	}
	return false
}

func policyRefs(ns string, nps []*networkingv1.NetworkPolicy) []string {
	var out []string
	for _, np := range nps {
		out = append(out, "networkpolicy/"+ns+"/"+np.Name)
	}
	return out
}

// egressAllowsDNS reports whether the egress policies selecting p let it
// reach port 53 (UDP): a rule whose ports admit 53 and whose peers (when
// it has any) admit a cluster DNS pod — the snapshot's kube-dns pods, or
// a stand-in labelled k8s-app=kube-dns in kube-system. A peer that
// depends on what the snapshot lacks (namespace labels, IP blocks) is
// taken to allow it.
func egressAllowsDNS(nps []*networkingv1.NetworkPolicy, p *corev1.Pod, dnsPods []*corev1.Pod) bool {
	if len(dnsPods) == 0 {
		dnsPods = []*corev1.Pod{{ObjectMeta: metav1.ObjectMeta{Namespace: dnsNamespace, Name: "coredns", Labels: map[string]string{"k8s-app": "kube-dns"}}}}
	}
	for _, np := range nps {
		if m, _ := selectorMatches(&np.Spec.PodSelector, p.Labels); !m || !hasPolicyType(np, networkingv1.PolicyTypeEgress) {
			continue
		}
		for _, r := range np.Spec.Egress {
			if !egressPortsAdmitDNS(r.Ports) {
				continue
			}
			if len(r.To) == 0 {
				return true
			}
			for _, peer := range r.To {
				for _, q := range dnsPods {
					if ok, known := peerAdmits(peer, np.Namespace, q); ok || !known {
						return true
					}
				}
			}
		}
	}
	return false
}

func egressPortsAdmitDNS(ports []networkingv1.NetworkPolicyPort) bool {
	if len(ports) == 0 {
		return true
	}
	for _, port := range ports {
		if port.Protocol != nil && *port.Protocol != corev1.ProtocolUDP {
			continue
		}
		if port.Port == nil || port.Port.IntValue() == 53 || port.Port.String() == "dns" {
			return true
		}
		if port.EndPort != nil && port.Port.IntValue() <= 53 && int(*port.EndPort) >= 53 {
			return true
		}
	}
	return false
}

// allowAction is the next step for clients a default deny blocks: a policy
// admitting the blocked clients' namespaces when they are known.
func allowAction(ns string, clientNS []string) string {
	if len(clientNS) == 0 {
		return fmt.Sprintf("Add a NetworkPolicy in %s allowing ingress from the clients' namespaces and pods to the application port (a namespaceSelector on kubernetes.io/metadata.name plus a podSelector), or remove the deny until one exists.", ns)
	}
	return fmt.Sprintf("Add a NetworkPolicy in %s allowing ingress to the application port from namespace %s (namespaceSelector kubernetes.io/metadata.name in (%s) plus a podSelector for the calling pods), or remove the deny until one exists.",
		ns, joinNames(clientNS), strings.Join(clientNS, ", "))
}
