package k8s

import (
	"fmt"
	"regexp"
	"strings"

	corev1 "k8s.io/api/core/v1"

	"github.com/k8flex/k8flex/investigate"
)

// reEnvoyNoFilterChain is an Envoy access-log line of a connection that no
// listener filter chain accepted (response flag NR, details
// filter_chain_not_found). Istio's inbound listener of a workload whose
// mutual TLS mode is STRICT only has filter chains for mTLS, so a
// plaintext connection from a caller without a sidecar ends this way (the
// caller sees its connection reset).
var reEnvoyNoFilterChain = regexp.MustCompile(`\bNR filter_chain_not_found\b`)

// reAddrPort is an IPv4 address:port.
var reAddrPort = regexp.MustCompile(`\b(\d{1,3}(?:\.\d{1,3}){3}):(\d+)\b`)

// sidecarContainer is the container name Istio injects.
const sidecarContainer = "istio-proxy"

// hasSidecar reports whether the pod runs Istio's proxy (as a container or
// a native sidecar init container).
func hasSidecar(p *corev1.Pod) bool {
	for _, c := range append(append([]corev1.Container{}, p.Spec.InitContainers...), p.Spec.Containers...) {
		if c.Name == sidecarContainer {
			return true
		}
	}
	return false
}

// diagnoseMeshMTLS reports pods of the investigation whose Istio sidecar
// refuses inbound connections for want of a filter chain: the workload
// requires mutual TLS (STRICT) and the callers, whose address the access
// log gives, connect in plaintext — a caller pod known to the snapshot is
// checked for a sidecar.
func diagnoseMeshMTLS(d *diag) []investigate.Finding {
	var out []investigate.Finding
	seen := map[string]bool{}
	for _, p := range d.pods {
		if !hasSidecar(p) || seen[workloadOrPod(p)] {
			continue
		}
		var proof, peers []string
		port := ""
		for _, l := range d.logs(p.Namespace, p.Name, sidecarContainer, false) {
			if !strings.Contains(l, "filter_chain_not_found") || !reEnvoyNoFilterChain.MatchString(l) {
				continue
			}
			addrs := reAddrPort.FindAllStringSubmatch(l, -1)
			if len(addrs) < 2 {
				continue
			}
			local, remote := addrs[len(addrs)-2], addrs[len(addrs)-1]
			if local[1] != p.Status.PodIP && p.Status.PodIP != "" {
				continue // not an inbound connection to this pod
			}
			port = local[2]
			peers = appendUnique(peers, remote[1])
			if len(proof) < 2 {
				proof = append(proof, p.Name+" "+sidecarContainer+": "+strings.TrimSpace(l))
			}
		}
		if len(peers) == 0 {
			continue
		}
		seen[workloadOrPod(p)] = true
		var callers []string
		plaintext := false
		for _, ip := range peers {
			c := d.podByIP(ip)
			switch {
			case c == nil:
				callers = append(callers, ip)
			case hasSidecar(c):
				callers = append(callers, fmt.Sprintf("pod %s/%s (%s, with a sidecar)", c.Namespace, c.Name, ip))
			default:
				plaintext = true
				callers = append(callers, fmt.Sprintf("pod %s/%s (%s, no %s sidecar)", c.Namespace, c.Name, ip, sidecarContainer))
			}
		}
		sum := fmt.Sprintf("The Istio sidecar of %s refuses inbound connections on port %s from %s with no matching filter chain (NR filter_chain_not_found): the workload's mutual TLS mode is STRICT (a PeerAuthentication for it or namespace %s, or the mesh-wide one), so only mTLS from mesh sidecars is accepted and these callers connect in plaintext",
			workloadOrPod(p), port, strings.Join(callers, ", "), p.Namespace)
		if plaintext {
			sum += " because they have no sidecar"
		}
		out = append(out, investigate.Finding{
			Rule: "mesh-mtls-strict-plaintext", Severity: investigate.FindingCritical, Score: scoreRootCause,
			Summary: sum + "; the callers see their connections reset by peer.",
			Detail:  "Envoy closes a connection that no filter chain of the inbound listener matches; with PeerAuthentication mode STRICT the inbound listener only matches TLS with Istio's ALPN, so a plaintext client is reset before any request is logged.",
			Objects: []string{"pod/" + p.Namespace + "/" + p.Name},
			Proof:   proof,
			Actions: []string{
				"kubectl get peerauthentication -A   # the STRICT policy that applies to " + p.Namespace,
				fmt.Sprintf("kubectl label namespace CALLER_NAMESPACE istio-injection=enabled && kubectl rollout restart deployment -n CALLER_NAMESPACE   # give the callers a sidecar, or set a PERMISSIVE portLevelMtls for port %s while they migrate", port),
			},
			Impact:     "Every call from the callers without a sidecar fails: their requests never reach the application.",
			Prevention: "Before switching a namespace to STRICT, check that no caller outside the mesh remains (istioctl x describe, the istio_requests_total connection_security_policy label).",
		})
	}
	return out
}

// podByIP returns the pod of the snapshot with IP ip, or nil.
func (d *diag) podByIP(ip string) *corev1.Pod {
	for _, p := range d.pods {
		if p.Status.PodIP == ip && !p.Spec.HostNetwork {
			return p
		}
	}
	return nil
}
