package k8s

import (
	"fmt"
	"net"
	"strconv"
	"strings"

	corev1 "k8s.io/api/core/v1"
	networkingv1 "k8s.io/api/networking/v1"
	"k8s.io/apimachinery/pkg/util/intstr"

	"github.com/k8flex/k8flex/investigate"
)

// egressDest is a destination a pod's log says it cannot reach.
type egressDest struct {
	ip   string // the address dialled, when the log names one
	port int
	svc  *corev1.Service // the Service behind it, when known
	line string
}

// diagnoseEgressDestinations audits the egress side of the policies that
// select a failing caller: for each destination its log times out on
// (an IP, or a Service and the pods behind it), it checks every egress
// rule of every policy selecting the caller — peers (ipBlock CIDR and
// except, pod and namespace selectors) together with ports — and reports
// the destinations no rule admits, naming the policies and what they do
// admit. DNS has its own rule (netpol-egress-dns).
func diagnoseEgressDestinations(d *diag) []investigate.Finding {
	var out []investigate.Finding
	for _, p := range d.pods {
		if !d.target[podKey(p)] || p.Status.Phase != corev1.PodRunning {
			continue
		}
		var pols []*networkingv1.NetworkPolicy
		for i := range d.s.NetworkPolicies {
			np := &d.s.NetworkPolicies[i]
			if np.Namespace != p.Namespace || !hasPolicyType(np, networkingv1.PolicyTypeEgress) {
				continue
			}
			if ok, known := selectorMatches(&np.Spec.PodSelector, p.Labels); ok && known {
				pols = append(pols, np)
			}
		}
		if len(pols) == 0 {
			continue
		}
		for _, dst := range d.timedOutDestinations(p) {
			admitted, known := egressAdmits(pols, p.Namespace, dst, d)
			if admitted || !known {
				continue
			}
			target := fmt.Sprintf("%s:%d", dst.ip, dst.port)
			if dst.svc != nil {
				target = fmt.Sprintf("Service %s/%s (%s)", dst.svc.Namespace, dst.svc.Name, target)
			}
			var allowed []string
			for _, np := range pols {
				for _, r := range np.Spec.Egress {
					to := strings.TrimPrefix(describePeers(r.To), "from ")
					allowed = append(allowed, fmt.Sprintf("%s: to %s %s", np.Name, to, describePorts(r.Ports)))
				}
			}
			sum := fmt.Sprintf("Egress NetworkPolicies %s select pod %s and admit no traffic to %s, so its connections there time out; the egress rules allow only: %s",
				joinNames(egressPolicyNames(pols)), p.Name, target, strings.Join(allowed, "; "))
			out = append(out, investigate.Finding{
				Rule: "netpol-egress-destination", Severity: investigate.FindingCritical, Score: scoreRootCause,
				Summary: sum + ".", Objects: append(policyRefs(p.Namespace, pols), podRef(p)),
				Proof:  []string{p.Name + " log: " + clip(dst.line, 300)},
				Detail: "A pod selected by any policy with policyType Egress may open only the connections some egress rule admits (peer AND port); everything else is dropped, so the caller sees timeouts, not refusals.",
				Actions: []string{
					fmt.Sprintf("kubectl get networkpolicy -n %s %s -o yaml", p.Namespace, strings.Join(egressPolicyNames(pols), " ")),
					fmt.Sprintf("Add an egress rule admitting %s (an ipBlock covering %s, or a podSelector/namespaceSelector for its pods) on port %d.", target, dst.ip, dst.port),
				},
				Prevention: "Derive egress allow-lists from the destinations' Services or labels rather than fixed CIDRs, and test connectivity after moving a dependency.",
				Impact:     fmt.Sprintf("Calls of %s to %s fail.", workloadOrPod(p), target),
			})
		}
	}
	return out
}

func egressPolicyNames(nps []*networkingv1.NetworkPolicy) []string {
	var out []string
	for _, np := range nps {
		out = append(out, np.Name)
	}
	return out
}

// timedOutDestinations returns the destinations p's logs time out on,
// each once: host:port with an IP or a known Service.
func (d *diag) timedOutDestinations(p *corev1.Pod) []egressDest {
	var out []egressDest
	seen := map[string]bool{}
	for _, c := range p.Spec.Containers {
		lines := append(d.logs(p.Namespace, p.Name, c.Name, true), d.logs(p.Namespace, p.Name, c.Name, false)...)
		for _, l := range lines {
			if !reDepTimeout.MatchString(l) || strings.Contains(l, ":53") {
				continue
			}
			host, port, ns, name := d.dependencyOf(l, p.Namespace)
			pn, err := strconv.Atoi(port)
			if host == "" || err != nil {
				continue
			}
			dst := egressDest{port: pn, line: strings.TrimSpace(l)}
			if name != "" {
				dst.svc = d.service(ns, name)
			}
			switch {
			case net.ParseIP(host) != nil:
				dst.ip = host
			case dst.svc != nil:
				dst.ip = dst.svc.Spec.ClusterIP
			case reIP.MatchString(l):
				// A name dialled, its resolved address logged beside it.
				dst.ip = reIP.FindString(l)
			default:
				continue
			}
			if k := dst.ip + ":" + port; !seen[k] && len(out) < 3 {
				seen[k] = true
				out = append(out, dst)
			}
		}
	}
	return out
}

// egressAdmits reports whether some egress rule of the policies admits the
// destination; known is false when that depends on what the snapshot does
// not hold (namespace labels, named ports, a Service with no known pods
// behind a selector peer).
func egressAdmits(pols []*networkingv1.NetworkPolicy, ns string, dst egressDest, d *diag) (admitted, known bool) {
	known = true
	var backends []*corev1.Pod
	if dst.svc != nil {
		backends = d.selectedPods(dst.svc.Namespace, dst.svc.Spec.Selector)
	}
	// The port a rule sees is the backend's (targetPort) for a Service.
	ports := []int{dst.port}
	if dst.svc != nil {
		for _, sp := range dst.svc.Spec.Ports {
			if int(sp.Port) == dst.port && sp.TargetPort.IntVal != 0 {
				ports = append(ports, int(sp.TargetPort.IntVal))
			}
		}
	}
	for _, np := range pols {
		for _, r := range np.Spec.Egress {
			portOK := len(r.Ports) == 0
			for _, rp := range r.Ports {
				switch {
				case rp.Port == nil:
					portOK = true
				case rp.Port.Type == intstr.String: // a named port: not judged
					known = false
				default:
					for _, pn := range ports {
						end := int(rp.Port.IntVal)
						if rp.EndPort != nil {
							end = int(*rp.EndPort)
						}
						if pn >= int(rp.Port.IntVal) && pn <= end {
							portOK = true
						}
					}
				}
			}
			if !portOK {
				continue
			}
			if len(r.To) == 0 {
				return true, true
			}
			for _, peer := range r.To {
				if peer.IPBlock != nil {
					if cidrHas(peer.IPBlock.CIDR, peer.IPBlock.Except, dst.ip) {
						return true, true
					}
					for _, b := range backends {
						if cidrHas(peer.IPBlock.CIDR, peer.IPBlock.Except, b.Status.PodIP) {
							return true, true
						}
					}
					continue
				}
				if len(backends) == 0 {
					known = false // a selector peer and no pods to judge it by
					continue
				}
				for _, b := range backends {
					ok, k := peerAllows(peer, ns, b)
					if ok {
						return true, true
					}
					known = known && k
				}
			}
		}
	}
	return false, known
}

// cidrHas reports whether ip lies in cidr and in none of except.
func cidrHas(cidr string, except []string, ip string) bool {
	a := net.ParseIP(ip)
	_, n, err := net.ParseCIDR(cidr)
	if a == nil || err != nil || !n.Contains(a) {
		return false
	}
	for _, e := range except {
		if _, x, err := net.ParseCIDR(e); err == nil && x.Contains(a) {
			return false
		}
	}
	return true
}
