package k8s

import (
	"fmt"
	"sort"
	"strings"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/util/intstr"

	"github.com/k8flex/k8flex/investigate"
)

// endpointCounts returns the ready and not-ready endpoint addresses of a
// Service (EndpointSlices when gathered, else Endpoints) and whether any
// endpoint object was seen at all.
func (d *diag) endpointCounts(ns, name string) (ready, notReady int, seen bool) {
	for _, es := range d.s.EndpointSlices {
		if es.Namespace != ns || es.Labels["kubernetes.io/service-name"] != name {
			continue
		}
		seen = true
		for _, e := range es.Endpoints {
			if e.Conditions.Ready == nil || *e.Conditions.Ready {
				ready += len(e.Addresses)
			} else {
				notReady += len(e.Addresses)
			}
		}
	}
	if seen {
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
		for _, es := range d.s.DNS.Endpoints {
			seen = true
			for _, e := range es.Endpoints {
				if e.Conditions.Ready == nil || *e.Conditions.Ready {
					ready += len(e.Addresses)
				} else {
					notReady += len(e.Addresses)
				}
			}
		}
	}
	return ready, notReady, seen
}

func fmtSelector(sel map[string]string) string {
	var kv []string
	for k, v := range sel {
		kv = append(kv, k+"="+v)
	}
	sort.Strings(kv)
	return strings.Join(kv, ",")
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
		sel := fmtSelector(svc.Spec.Selector)
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
				Rule: "endpoints-not-ready", Severity: investigate.FindingCritical, Score: scoreMechanism + 5,
				Summary: fmt.Sprintf("Service %s/%s has no ready endpoints: all %d endpoints are not ready (ready: false), so it serves no traffic", svc.Namespace, svc.Name, notReady),
				Objects: []string{ref}, Proof: []string{fmt.Sprintf("endpoints of %s/%s: 0 ready, %d not ready", svc.Namespace, svc.Name, notReady)},
				Actions: []string{fmt.Sprintf("kubectl get endpointslices -n %s -l kubernetes.io/service-name=%s -o wide", svc.Namespace, svc.Name)},
				Impact:  fmt.Sprintf("Requests to %s.%s fail: no pod behind it is ready.", svc.Name, svc.Namespace),
			})
		}
		// targetPort that no selected container exposes.
		for _, sp := range svc.Spec.Ports {
			if len(pods) == 0 || sp.TargetPort.Type != intstr.String || sp.TargetPort.StrVal == "" {
				continue
			}
			exposed := false
			for _, p := range pods {
				for _, c := range p.Spec.Containers {
					for _, cp := range c.Ports {
						if cp.Name == sp.TargetPort.StrVal {
							exposed = true
						}
					}
				}
			}
			if !exposed {
				out = append(out, investigate.Finding{
					Rule: "service-target-port", Severity: investigate.FindingCritical, Score: scoreRootCause - 10,
					Summary: fmt.Sprintf("Service %s/%s port %d targets the named port %q, which no container of its pods declares, so it has no usable endpoints on that port", svc.Namespace, svc.Name, sp.Port, sp.TargetPort.StrVal),
					Objects: []string{ref},
					Proof:   []string{fmt.Sprintf("service %s/%s port %s targetPort: %s", svc.Namespace, svc.Name, sp.Name, sp.TargetPort.StrVal)},
					Actions: []string{"Name the container port as the Service expects, or set targetPort to the container's port number."},
				})
			}
		}
	}
	return out
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

// similar reports whether two label values are close (one edit apart, or
// one contains the other).
func similar(a, b string) bool {
	if strings.Contains(a, b) || strings.Contains(b, a) {
		return true
	}
	if abs(len(a)-len(b)) > 2 {
		return false
	}
	return levenshtein(a, b) <= 2
}

func abs(x int) int {
	if x < 0 {
		return -x
	}
	return x
}

func levenshtein(a, b string) int {
	prev := make([]int, len(b)+1)
	cur := make([]int, len(b)+1)
	for j := range prev {
		prev[j] = j
	}
	for i := 1; i <= len(a); i++ {
		cur[0] = i
		for j := 1; j <= len(b); j++ {
			cost := 1
			if a[i-1] == b[j-1] {
				cost = 0
			}
			cur[j] = min(prev[j]+1, cur[j-1]+1, prev[j-1]+cost)
		}
		prev, cur = cur, prev
	}
	return prev[len(b)]
}
