package k8s

import (
	"cmp"
	"fmt"
	"slices"
	"sort"
	"strings"

	corev1 "k8s.io/api/core/v1"
	discoveryv1 "k8s.io/api/discovery/v1"
	"k8s.io/apimachinery/pkg/util/intstr"

	"github.com/k8flex/k8flex/investigate"
)

// endpointCounts returns the ready and not-ready endpoints of a Service
// (EndpointSlices when gathered, else Endpoints' addresses) and whether any
// endpoint object was seen at all.
func (d *diag) endpointCounts(ns, name string) (ready, notReady int, seen bool) {
	var own []discoveryv1.EndpointSlice
	for _, es := range d.s.EndpointSlices {
		if es.Namespace == ns && es.Labels["kubernetes.io/service-name"] == name {
			own = append(own, es)
		}
	}
	if len(own) > 0 {
		ready, notReady = readyEndpoints(own)
		return ready, notReady, true
	}
	for _, ep := range d.s.Endpoints {
		if ep.Namespace != ns || ep.Name != name {
			continue
		}
		seen = true
		for _, s := range ep.Subsets {
			ready += len(s.Addresses)
			notReady += len(s.NotReadyAddresses)
		}
	}
	if d.s.DNS != nil && d.s.DNS.Service != nil && d.s.DNS.Service.Namespace == ns && d.s.DNS.Service.Name == name {
		if len(d.s.DNS.Endpoints) > 0 {
			r, n := readyEndpoints(d.s.DNS.Endpoints)
			ready, notReady, seen = ready+r, notReady+n, true
		}
	}
	return ready, notReady, seen
}

// diagnoseServices reports Services whose selector matches no pod (naming
// the near-miss pods), whose targetPort no selected container exposes, or
// whose endpoints are all not ready.
func diagnoseServices(d *diag) []investigate.Finding {
	var out []investigate.Finding
	for i := range d.s.Services {
		svc := &d.s.Services[i]
		if svc.Spec.Type == corev1.ServiceTypeExternalName || len(svc.Spec.Selector) == 0 {
			continue
		}
		ready, notReady, seen := d.endpointCounts(svc.Namespace, svc.Name)
		sel := kv(svc.Spec.Selector)
		pods := d.selectedPods(svc.Namespace, svc.Spec.Selector)
		ref := "service/" + svc.Namespace + "/" + svc.Name
		switch {
		case len(pods) == 0 && (seen && ready+notReady == 0 || !seen):
			near := d.nearMissPods(svc)
			if len(near) == 0 && !seen {
				continue // nothing known about pods of this namespace
			}
			if len(near) == 0 && ready+notReady == 0 && !d.namespaceHasPods(svc.Namespace) {
				continue
			}
			sum := fmt.Sprintf("Service %s/%s has no endpoints: its selector %s matches no pods", svc.Namespace, svc.Name, sel)
			detail := ""
			proof := []string{fmt.Sprintf("service %s/%s spec.selector: %s", svc.Namespace, svc.Name, sel)}
			if seen {
				proof = append(proof, fmt.Sprintf("endpoints %s/%s: 0 ready, 0 not ready addresses", svc.Namespace, svc.Name))
			}
			var act []string
			if len(near) > 0 {
				sum += fmt.Sprintf("; the pods that were probably meant (%s) carry %s", joinNames(near[0].pods), near[0].labels)
				detail = fmt.Sprintf("Selector %s versus pod labels %s: the label values differ, so the endpoints controller selects nothing although those pods are Running.", sel, near[0].labels)
				for _, n := range near {
					proof = append(proof, fmt.Sprintf("pods %s labels: %s", strings.Join(n.pods, ", "), n.labels))
				}
				act = append(act, fmt.Sprintf("kubectl patch service -n %s %s -p '{\"spec\":{\"selector\":%s}}'   # select the running pods' labels", svc.Namespace, svc.Name, near[0].patch))
			}
			act = append(act,
				fmt.Sprintf("kubectl get pods -n %s -l %s   # returns nothing", svc.Namespace, sel),
				fmt.Sprintf("kubectl get pods -n %s --show-labels", svc.Namespace))
			out = append(out, investigate.Finding{
				Rule: "service-selector", Severity: investigate.FindingCritical, Score: scoreRootCause - 5,
				Summary: sum + ".", Detail: detail, Objects: []string{ref}, Proof: proof, Actions: act,
				Prevention: "Render the Service and its workload from the same labels (one chart/kustomization, shared selector labels) and test that every Service has endpoints after deploy.",
				Impact:     fmt.Sprintf("Every client of %s.%s gets connection refused/503: the Service has no backends.", svc.Name, svc.Namespace),
			})
		case len(pods) > 0 && seen && ready == 0 && notReady > 0:
			out = append(out, investigate.Finding{
				Rule: "endpoints-not-ready", Severity: investigate.FindingCritical, Score: scoreSymptom + 5,
				Summary: fmt.Sprintf("Service %s/%s has no ready endpoints: all %d endpoints are not ready (ready: false), so it serves no traffic", svc.Namespace, svc.Name, notReady),
				Objects: []string{ref}, Proof: []string{fmt.Sprintf("endpoints of %s/%s: 0 ready, %d not ready", svc.Namespace, svc.Name, notReady)},
				Actions: []string{fmt.Sprintf("kubectl get endpointslices -n %s -l kubernetes.io/service-name=%s -o wide", svc.Namespace, svc.Name)},
				Impact:  fmt.Sprintf("Requests to %s.%s fail: no pod behind it is ready.", svc.Name, svc.Namespace),
			})
		}
		// targetPort that no selected container exposes.
		for _, sp := range svc.Spec.Ports {
			if len(pods) == 0 {
				continue
			}
			if sp.TargetPort.Type == intstr.String && sp.TargetPort.StrVal != "" {
				if f, ok := d.targetPortFinding(svc, sp, pods, ready, notReady, seen); ok {
					out = append(out, f)
				}
				continue
			}
			if f, ok := numericTargetPortFinding(svc, sp, pods, ready); ok {
				out = append(out, f)
			}
		}
	}
	return out
}

// targetPortFinding reports a Service port whose named targetPort no
// container of the selected pods declares: the endpoints controller then
// publishes no endpoint for it although the pods may be Ready.
func (d *diag) targetPortFinding(svc *corev1.Service, sp corev1.ServicePort, pods []*corev1.Pod, ready, notReady int, seen bool) (investigate.Finding, bool) {
	want := sp.TargetPort.StrVal
	var declared []string // "http 8080/TCP"
	var names []string
	readyPods := 0
	for _, p := range pods {
		if podReady(p) {
			readyPods++
		}
		for _, c := range p.Spec.Containers {
			for _, cp := range c.Ports {
				if cp.Name == want {
					return investigate.Finding{}, false
				}
				declared = appendUnique(declared, fmt.Sprintf("%s %d/%s", cmp.Or(cp.Name, "(unnamed)"), cp.ContainerPort, cmp.Or(cp.Protocol, corev1.ProtocolTCP)))
				if cp.Name != "" {
					names = appendUnique(names, cp.Name)
				}
			}
		}
	}
	ref := "service/" + svc.Namespace + "/" + svc.Name
	portName := fmt.Sprint(sp.Port)
	if sp.Name != "" {
		portName += " (" + sp.Name + ")"
	}
	sum := fmt.Sprintf("Service %s/%s port %s targets the named port %q, but the containers of its %d selected %s declare ", svc.Namespace, svc.Name, portName, want, len(pods), plural(len(pods), "pod", "pods"))
	if len(declared) == 0 {
		sum += "no ports at all"
	} else {
		sum += "only " + joinNames(declared)
	}
	sum += ": no endpoint is published for that port"
	proof := []string{fmt.Sprintf("service %s/%s port %s targetPort: %s", svc.Namespace, svc.Name, portName, want)}
	if len(declared) > 0 {
		proof = append(proof, fmt.Sprintf("selected pods' container ports: %s", strings.Join(declared, ", ")))
	}
	if seen {
		proof = append(proof, fmt.Sprintf("endpoints of %s/%s: %d ready, %d not ready", svc.Namespace, svc.Name, ready, notReady))
		switch {
		case ready+notReady > 0:
		case readyPods == len(pods):
			sum += fmt.Sprintf(", so the Service has no endpoints although %s Running and Ready", plural(readyPods, "its pod is", fmt.Sprintf("all %d pods are", readyPods)))
		case readyPods > 0:
			sum += fmt.Sprintf(", so the Service has no endpoints although %d of its %d pods %s Running and Ready", readyPods, len(pods), plural(readyPods, "is", "are"))
		default:
			sum += ", so the Service has no endpoints"
		}
	}
	// The likely intended port: the container port named like the
	// Service port, else the only named one.
	fix := ""
	switch {
	case slices.Contains(names, sp.Name):
		fix = sp.Name
	case len(names) == 1:
		fix = names[0]
	}
	var act []string
	if fix != "" {
		i := slices.IndexFunc(svc.Spec.Ports, func(x corev1.ServicePort) bool { return x.Name == sp.Name && x.Port == sp.Port })
		act = append(act, fmt.Sprintf("kubectl patch service -n %s %s --type=json -p '[{\"op\":\"replace\",\"path\":\"/spec/ports/%d/targetPort\",\"value\":\"%s\"}]'   # target the port the containers declare", svc.Namespace, svc.Name, i, fix))
	}
	act = append(act,
		fmt.Sprintf("Or name the container port %q in the workload's pod template, so the Service and the pods agree again.", want),
		fmt.Sprintf("kubectl get endpointslices -n %s -l kubernetes.io/service-name=%s -o wide   # ports and endpoints after the fix", svc.Namespace, svc.Name))
	return investigate.Finding{
		Rule: "service-target-port", Severity: investigate.FindingCritical, Score: scoreRootCause - 10,
		Summary: sum + ".", Objects: append([]string{ref}, podRefsOf(pods)...), Proof: proof, Actions: act,
		Detail:     "A named targetPort resolves per pod to the container port with that name; a pod without it gets no endpoint for the Service port, whatever its readiness.",
		Prevention: "Render the Service and the pod template from the same chart values (one port name), and test after deploy that every Service has endpoints on each of its ports.",
		Impact:     fmt.Sprintf("Clients of %s.%s on port %d reach no backend: connections fail, and a proxy or ingress in front of it answers 503.", svc.Name, svc.Namespace, sp.Port),
	}, true
}

func (d *diag) namespaceHasPods(ns string) bool {
	for _, p := range d.pods {
		if p.Namespace == ns {
			return true
		}
	}
	return false
}

type selectorNearMiss struct {
	pods   []string
	labels string
	patch  string
	score  int
}

// nearMissPods finds Running pods in the Service's namespace whose labels
// share the selector's keys but differ in value (or share values under
// other keys): the pods the selector was probably meant to match.
func (d *diag) nearMissPods(svc *corev1.Service) []selectorNearMiss {
	byLabels := map[string]*selectorNearMiss{}
	var order []string
	for _, p := range d.pods {
		if p.Namespace != svc.Namespace || p.Status.Phase != corev1.PodRunning {
			continue
		}
		score := 0
		var shown []string
		patch := map[string]string{}
		for k, v := range svc.Spec.Selector {
			pv, ok := p.Labels[k]
			switch {
			case ok && pv == v:
				score += 2
				shown = append(shown, k+"="+pv)
				patch[k] = pv
			case ok && similar(pv, v):
				score += 3
				shown = append(shown, k+"="+pv)
				patch[k] = pv
			case ok:
				score++
				shown = append(shown, k+"="+pv)
				patch[k] = pv
			}
		}
		if score < 3 || len(patch) != len(svc.Spec.Selector) {
			continue
		}
		sort.Strings(shown)
		key := strings.Join(shown, ",")
		if byLabels[key] == nil {
			var kv []string
			for k, v := range patch {
				kv = append(kv, fmt.Sprintf("%q:%q", k, v))
			}
			sort.Strings(kv)
			byLabels[key] = &selectorNearMiss{labels: key, patch: "{" + strings.Join(kv, ",") + "}", score: score}
			order = append(order, key)
		}
		byLabels[key].pods = append(byLabels[key].pods, p.Name)
	}
	var out []selectorNearMiss
	for _, k := range order {
		out = append(out, *byLabels[k])
	}
	sort.SliceStable(out, func(i, j int) bool { return out[i].score > out[j].score })
	return out
}

// similar reports whether two label values are close (at most two edits
// apart, or one contains the other).
func similar(a, b string) bool {
	if strings.Contains(a, b) || strings.Contains(b, a) {
		return true
	}
	if len(a)-len(b) > 2 || len(b)-len(a) > 2 {
		return false
	}
	return editDistance(a, b) <= 2
}

// numericTargetPortFinding reports a Service port whose numeric targetPort
// (the port itself when unset) is none of the container ports its
// selected pods declare. The endpoints controller publishes numeric ports
// without checking them, so the endpoints look ready while connections
// land on a port nothing listens on. Pods that declare no ports at all
// prove nothing and are not reported.
func numericTargetPortFinding(svc *corev1.Service, sp corev1.ServicePort, pods []*corev1.Pod, ready int) (investigate.Finding, bool) {
	target := sp.TargetPort.IntVal
	if sp.TargetPort.Type == intstr.String || target == 0 {
		target = sp.Port
	}
	proto := cmp.Or(sp.Protocol, corev1.ProtocolTCP)
	var declared []string
	var candidates []int32
	for _, p := range pods {
		for _, c := range p.Spec.Containers {
			for _, cp := range c.Ports {
				if cp.ContainerPort == target && cmp.Or(cp.Protocol, corev1.ProtocolTCP) == proto {
					return investigate.Finding{}, false
				}
				declared = appendUnique(declared, fmt.Sprintf("%s %d/%s", cmp.Or(cp.Name, "(unnamed)"), cp.ContainerPort, cmp.Or(cp.Protocol, corev1.ProtocolTCP)))
				if cmp.Or(cp.Protocol, corev1.ProtocolTCP) == proto && !slices.Contains(candidates, cp.ContainerPort) {
					candidates = append(candidates, cp.ContainerPort)
				}
			}
		}
	}
	if len(declared) == 0 {
		return investigate.Finding{}, false
	}
	ref := "service/" + svc.Namespace + "/" + svc.Name
	portName := fmt.Sprint(sp.Port)
	if sp.Name != "" {
		portName += " (" + sp.Name + ")"
	}
	sum := fmt.Sprintf("Service %s/%s port %s sends traffic to targetPort %d, but the containers of its %d selected %s declare only %s: nothing is known to listen on %d",
		svc.Namespace, svc.Name, portName, target, len(pods), plural(len(pods), "pod", "pods"), joinNames(declared), target)
	if ready > 0 {
		sum += fmt.Sprintf(", so its %d ready %s accept no connections on that port and clients get connection refused", ready, plural(ready, "endpoint", "endpoints"))
	}
	var act []string
	if len(candidates) == 1 {
		i := slices.IndexFunc(svc.Spec.Ports, func(x corev1.ServicePort) bool { return x.Name == sp.Name && x.Port == sp.Port })
		act = append(act, fmt.Sprintf("kubectl patch service -n %s %s --type=json -p '[{\"op\":\"replace\",\"path\":\"/spec/ports/%d/targetPort\",\"value\":%d}]'   # the port the containers declare", svc.Namespace, svc.Name, i, candidates[0]))
	} else {
		act = append(act, fmt.Sprintf("Set targetPort of %s port %s to the container port the application serves on (declared: %s), preferably by name.", ref, portName, joinNames(declared)))
	}
	act = append(act, fmt.Sprintf("kubectl get endpointslices -n %s -l kubernetes.io/service-name=%s -o wide   # the port published after the fix", svc.Namespace, svc.Name))
	return investigate.Finding{
		Rule: "service-target-port", Severity: investigate.FindingCritical, Score: scoreRootCause - 10,
		Summary: sum + ".", Objects: append([]string{ref}, podRefsOf(pods)...),
		Proof: []string{
			fmt.Sprintf("service %s/%s port %s targetPort: %d", svc.Namespace, svc.Name, portName, target),
			fmt.Sprintf("selected pods' container ports: %s", strings.Join(declared, ", ")),
		},
		Actions:    act,
		Detail:     "A numeric targetPort is copied into the endpoints as it is: the pods stay Ready (their probes use their own ports) while every connection through the Service hits a closed port.",
		Prevention: "Target container ports by name in Services, render Service and pod template from one set of values, and smoke-test each Service port after a release that changes ports.",
		Impact:     fmt.Sprintf("Clients of %s.%s on port %d are refused although the pods run; a proxy or ingress in front of it answers 502/503.", svc.Name, svc.Namespace, sp.Port),
	}, true
}
