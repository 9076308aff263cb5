package k8s

import (
	"fmt"
	"sort"
	"strconv"
	"strings"

	corev1 "k8s.io/api/core/v1"
	networkingv1 "k8s.io/api/networking/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/k8flex/k8flex/investigate"
)

// A flow is a connection a caller pod's log shows failing (refused or
// timed out) to a Service whose backing pods are known.
type flow struct {
	caller *corev1.Pod
	svc    *corev1.Service
	sp     *corev1.ServicePort // the Service port called; nil when unknown
	dst    []*corev1.Pod       // the Service's pods
	class  string
	proof  string
}

// failedFlows returns the failing connections the gathered logs show,
// one per caller workload and Service (first line kept as proof).
func (d *diag) failedFlows() []flow {
	var out []flow
	seen := map[string]bool{}
	for _, l := range d.s.Logs {
		caller := d.pod(l.Namespace, l.Pod)
		if caller == nil {
			continue
		}
		wk := workloadKey(caller)
		var known []string // Services this workload already has a flow to
		for _, line := range l.Lines {
			if !mayBeDepFailure(line) || mentionsAny(line, known) {
				continue
			}
			class := ""
			switch {
			case reDepRefused.MatchString(line):
				class = depRefused
			case reDepTimeout.MatchString(line):
				class = depTimeout
			default:
				continue
			}
			_, port, ns, name := d.dependencyOf(line, l.Namespace)
			if name == "" {
				continue
			}
			svc := d.service(ns, name)
			if svc == nil || len(svc.Spec.Selector) == 0 {
				continue
			}
			key := wk + "|" + ns + "/" + name
			known = append(known, name)
			if seen[key] {
				continue
			}
			seen[key] = true
			out = append(out, flow{caller: caller, svc: svc, sp: servicePortCalled(svc, port),
				dst: d.selectedPods(ns, svc.Spec.Selector), class: class, proof: l.Pod + ": " + clip(line, 300)})
		}
	}
	return out
}

func mentionsAny(line string, names []string) bool {
	for _, n := range names {
		if strings.Contains(line, n) {
			return true
		}
	}
	return false
}

// workloadKey groups the pods of one workload: the owner, else the pod.
func workloadKey(p *corev1.Pod) string {
	if o := ownerName(p); o != "" {
		return p.Namespace + "/" + o
	}
	return podKey(p)
}

func (d *diag) pod(ns, name string) *corev1.Pod {
	for _, p := range d.pods {
		if p.Namespace == ns && p.Name == name {
			return p
		}
	}
	return nil
}

// servicePortCalled returns the port of svc a caller used: the one whose
// port number the log names, else the only port.
func servicePortCalled(svc *corev1.Service, port string) *corev1.ServicePort {
	for i := range svc.Spec.Ports {
		if port != "" && strconv.Itoa(int(svc.Spec.Ports[i].Port)) == port {
			return &svc.Spec.Ports[i]
		}
	}
	if len(svc.Spec.Ports) == 1 {
		return &svc.Spec.Ports[0]
	}
	return nil
}

// podPort resolves a Service port's targetPort on a pod: its number and
// the container port's name ("" when unnamed); 0 when it cannot be
// resolved.
func podPort(sp *corev1.ServicePort, p *corev1.Pod) (int32, string) {
	if sp == nil {
		return 0, ""
	}
	tp := sp.TargetPort
	for _, c := range p.Spec.Containers {
		for _, cp := range c.Ports {
			if (tp.Type == 1 && cp.Name == tp.StrVal) || (tp.Type == 0 && tp.IntVal != 0 && cp.ContainerPort == tp.IntVal) || (tp.Type == 0 && tp.IntVal == 0 && cp.ContainerPort == sp.Port) {
				return cp.ContainerPort, cp.Name
			}
		}
	}
	switch {
	case tp.Type == 0 && tp.IntVal != 0:
		return tp.IntVal, ""
	case tp.Type == 0:
		return sp.Port, ""
	}
	return 0, ""
}

// policyPortAdmits reports whether a rule's ports admit the destination
// port (number num, container port name, protocol); an empty list admits
// every port. known is false when the port could not be resolved.
func policyPortAdmits(ports []networkingv1.NetworkPolicyPort, num int32, name string, proto corev1.Protocol) (admits, known bool) {
	if len(ports) == 0 {
		return true, true
	}
	if proto == "" {
		proto = corev1.ProtocolTCP
	}
	for _, p := range ports {
		pp := corev1.ProtocolTCP
		if p.Protocol != nil {
			pp = *p.Protocol
		}
		if pp != proto {
			continue
		}
		if p.Port == nil {
			return true, true
		}
		if p.Port.Type == 1 {
			if name != "" && p.Port.StrVal == name {
				return true, true
			}
			continue
		}
		if num == 0 {
			return false, false
		}
		end := p.Port.IntVal
		if p.EndPort != nil {
			end = *p.EndPort
		}
		if num >= p.Port.IntVal && num <= end {
			return true, true
		}
	}
	return false, num != 0
}

// peerAdmits reports whether a policy peer (of a policy in namespace ns)
// matches pod q, under the API's rules: podSelector alone selects pods of
// ns; namespaceSelector alone every pod of the selected namespaces; both
// together the selected pods of the selected namespaces. known is false
// when the answer depends on what the snapshot lacks (namespace labels
// other than kubernetes.io/metadata.name, IP blocks).
func peerAdmits(peer networkingv1.NetworkPolicyPeer, ns string, q *corev1.Pod) (admits, known bool) {
	if peer.IPBlock != nil {
		return false, false
	}
	nsOK := q.Namespace == ns
	if peer.NamespaceSelector != nil {
		for k := range peer.NamespaceSelector.MatchLabels {
			if k != corev1.LabelMetadataName {
				return false, false
			}
		}
		for _, e := range peer.NamespaceSelector.MatchExpressions {
			if e.Key != corev1.LabelMetadataName {
				return false, false
			}
		}
		m, ok := selectorMatches(peer.NamespaceSelector, map[string]string{corev1.LabelMetadataName: q.Namespace})
		if !ok {
			return false, false
		}
		nsOK = m
	}
	if !nsOK {
		return false, true
	}
	if peer.PodSelector != nil {
		m, ok := selectorMatches(peer.PodSelector, q.Labels)
		return m, ok
	}
	return true, true
}

// labelNearMiss describes how a pod selector almost matches labels: a
// key with another value, or a value the pod carries under another key
// (a label renamed); "" when the selector matches or shares nothing.
func labelNearMiss(sel *metav1.LabelSelector, lbls map[string]string) string {
	if sel == nil || len(sel.MatchLabels) == 0 {
		return ""
	}
	var miss []string
	hits := 0
	keys := make([]string, 0, len(sel.MatchLabels))
	for k := range sel.MatchLabels {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	for _, k := range keys {
		v := sel.MatchLabels[k]
		got, ok := lbls[k]
		switch {
		case ok && got == v:
			hits++
		case ok:
			hits++
			miss = append(miss, fmt.Sprintf("wants %s=%s where the pods have %s=%s", k, v, k, got))
		default:
			var under []string
			for k2, v2 := range lbls {
				if v2 == v {
					under = append(under, k2+"="+v2)
				}
			}
			sort.Strings(under)
			if len(under) > 0 {
				hits++
				miss = append(miss, fmt.Sprintf("wants %s=%s but the pods have no %s label, only %s", k, v, k, strings.Join(under, ", ")))
			} else {
				miss = append(miss, fmt.Sprintf("wants %s=%s, a label the pods lack", k, v))
			}
		}
	}
	if hits == 0 || len(miss) == 0 {
		return ""
	}
	return strings.Join(miss, "; ")
}

// ingressPolicies returns the policies of ns that select pod p for
// ingress (p is then isolated for ingress).
func (d *diag) ingressPolicies(p *corev1.Pod) []*networkingv1.NetworkPolicy {
	var out []*networkingv1.NetworkPolicy
	for i := range d.s.NetworkPolicies {
		np := &d.s.NetworkPolicies[i]
		if np.Namespace != p.Namespace || !hasPolicyType(np, networkingv1.PolicyTypeIngress) {
			continue
		}
		if m, _ := selectorMatches(&np.Spec.PodSelector, p.Labels); m {
			out = append(out, np)
		}
	}
	return out
}

// diagnoseIngressCallers audits, for every failing flow a caller's log
// shows, the ingress NetworkPolicies that isolate the destination pods:
// a caller no rule admits on the called port is dropped by the policies.
// When some rule's pod selector almost matches the caller's labels, both
// label sets are named: the usual cause is a relabelled caller or a typo.
func diagnoseIngressCallers(d *diag) []investigate.Finding {
	if len(d.s.NetworkPolicies) == 0 {
		return nil
	}
	var out []investigate.Finding
	for _, f := range d.failedFlows() {
		if len(f.dst) == 0 {
			continue
		}
		dst := f.dst[0]
		nps := d.ingressPolicies(dst)
		if len(nps) == 0 {
			continue
		}
		num, pname := podPort(f.sp, dst)
		proto := corev1.ProtocolTCP
		if f.sp != nil && f.sp.Protocol != "" {
			proto = f.sp.Protocol
		}
		admitted, unknown := false, false
		type near struct {
			np   *networkingv1.NetworkPolicy
			peer string
			why  string
		}
		var nearest *near
		var rules []string
		for _, np := range nps {
			for _, r := range np.Spec.Ingress {
				rules = append(rules, fmt.Sprintf("%s allows %s %s", np.Name, describePeers(r.From), describePorts(r.Ports)))
				portOK, portKnown := policyPortAdmits(r.Ports, num, pname, proto)
				if !portKnown {
					unknown = true
				}
				if len(r.From) == 0 && portOK {
					admitted = true
				}
				for _, peer := range r.From {
					ok, known := peerAdmits(peer, np.Namespace, f.caller)
					if !known {
						unknown = true
					}
					if ok && portOK {
						admitted = true
					}
					if !ok && known && portOK && nearest == nil && peer.PodSelector != nil {
						nsOK, _ := peerAdmits(networkingv1.NetworkPolicyPeer{NamespaceSelector: peer.NamespaceSelector}, np.Namespace, f.caller)
						if w := labelNearMiss(peer.PodSelector, f.caller.Labels); w != "" && (nsOK || peer.NamespaceSelector == nil && f.caller.Namespace == np.Namespace) {
							nearest = &near{np: np, peer: metav1.FormatLabelSelector(peer.PodSelector), why: w}
						}
					}
				}
			}
		}
		if admitted || (unknown && nearest == nil) {
			continue
		}
		callerName := ownerName(f.caller)
		if callerName == "" {
			callerName = "pod/" + f.caller.Name
		}
		port := "its port"
		if num != 0 {
			port = "port " + strconv.Itoa(int(num))
			if pname != "" {
				port += " (" + pname + ")"
			}
		}
		objects := append(policyRefs(dst.Namespace, nps), podRef(f.caller), "service/"+f.svc.Namespace+"/"+f.svc.Name)
		proof := []string{f.proof, fmt.Sprintf("pod %s/%s labels: %s", f.caller.Namespace, f.caller.Name, kv(withoutHash(f.caller.Labels)))}
		for _, r := range rules {
			proof = append(proof, "networkpolicy "+dst.Namespace+"/"+r)
		}
		var sum string
		if nearest != nil {
			sum = fmt.Sprintf("NetworkPolicy %s/%s admits ingress to the pods of Service %s/%s only from pods %s, but the caller %s (namespace %s) is labelled %s: the selector %s. No policy selecting %s admits the caller on %s, so its connections are dropped (%s)",
				nearest.np.Namespace, nearest.np.Name, f.svc.Namespace, f.svc.Name, nearest.peer, callerName, f.caller.Namespace, kv(withoutHash(f.caller.Labels)), nearest.why, dst.Name, port, f.class)
		} else {
			allowed := "nothing"
			if len(rules) > 0 {
				allowed = strings.Join(rules, "; ")
			}
			sum = fmt.Sprintf("NetworkPolicies %s in namespace %s isolate the pods of Service %s for ingress and none admits %s (namespace %s, labels %s) on %s, so its connections are dropped (%s); the rules allow only: %s",
				policyNames(nps), dst.Namespace, f.svc.Name, callerName, f.caller.Namespace, kv(withoutHash(f.caller.Labels)), port, f.class, allowed)
		}
		fix := fmt.Sprintf("Make a rule of a policy in %s admit the caller: add a from-peer matching its labels (%s) on %s, or restore the label the policy expects on the caller's pod template.", dst.Namespace, kv(withoutHash(f.caller.Labels)), port)
		out = append(out, investigate.Finding{
			Rule: "netpol-ingress-caller", Severity: investigate.FindingCritical, Score: scoreRootCause + 5,
			Summary: sum + ".",
			Detail:  "A pod selected by any policy with policyType Ingress accepts only connections some ingress rule admits (from-peer AND port); the backend stays Running and Ready, so the caller sees timeouts, not errors.",
			Objects: objects, Proof: proof,
			Actions: []string{fix,
				fmt.Sprintf("kubectl get networkpolicy -n %s -o yaml; kubectl get pod -n %s %s --show-labels", dst.Namespace, f.caller.Namespace, f.caller.Name)},
			Prevention: "Select callers in NetworkPolicies by labels the platform guarantees (a stable app.kubernetes.io/name or a dedicated access label), and test caller connectivity when charts or labels change.",
			Impact:     fmt.Sprintf("Every request of %s that needs %s fails.", callerName, f.svc.Name),
		})
	}
	return out
}

// policyNames lists policies, marking those without ingress rules as
// denying all ingress.
func policyNames(nps []*networkingv1.NetworkPolicy) string {
	n := make([]string, 0, len(nps))
	for _, np := range nps {
		if len(np.Spec.Ingress) == 0 {
			n = append(n, np.Name+" (deny all ingress)")
			continue
		}
		n = append(n, np.Name)
	}
	return joinNames(n)
}

// withoutHash drops the labels controllers add to every pod.
func withoutHash(l map[string]string) map[string]string {
	out := map[string]string{}
	for k, v := range l {
		if k == "pod-template-hash" || k == "controller-revision-hash" || k == "pod-template-generation" || strings.HasPrefix(k, "batch.kubernetes.io/") || k == "controller-uid" || k == "job-name" || strings.HasPrefix(k, "statefulset.kubernetes.io/") || strings.HasPrefix(k, "apps.kubernetes.io/") {
			continue
		}
		out[k] = v
	}
	if len(out) == 0 {
		return l
	}
	return out
}
