package k8s

import (
	"fmt"
	"strconv"
	"strings"

	corev1 "k8s.io/api/core/v1"
	networkingv1 "k8s.io/api/networking/v1"

	"github.com/k8flex/k8flex/investigate"
)

// ingressRoute is one backend of an Ingress: the default backend or a
// rule's host and path.
type ingressRoute struct {
	ing     *networkingv1.Ingress
	host    string
	path    *networkingv1.HTTPIngressPath // nil for the default backend
	backend *networkingv1.IngressServiceBackend
}

func (rt ingressRoute) where() string {
	if rt.path == nil {
		return "its default backend"
	}
	p := rt.path.Path
	if p == "" {
		p = "/"
	}
	if rt.host == "" {
		return "path " + p
	}
	return rt.host + p
}

func (rt ingressRoute) port() string {
	if rt.backend.Port.Name != "" {
		return rt.backend.Port.Name
	}
	return strconv.Itoa(int(rt.backend.Port.Number))
}

func ingressRoutes(ing *networkingv1.Ingress) []ingressRoute {
	var out []ingressRoute
	if b := ing.Spec.DefaultBackend; b != nil && b.Service != nil {
		out = append(out, ingressRoute{ing: ing, backend: b.Service})
	}
	for _, r := range ing.Spec.Rules {
		if r.HTTP == nil {
			continue
		}
		for i := range r.HTTP.Paths {
			if b := r.HTTP.Paths[i].Backend.Service; b != nil {
				out = append(out, ingressRoute{ing: ing, host: r.Host, path: &r.HTTP.Paths[i], backend: b})
			}
		}
	}
	return out
}

// alerted reports whether the alert is about this route: it names the
// backend Service, or probes the route's host and path.
func (d *diag) alerted(rt ingressRoute) bool {
	t := d.s.Target
	if t.Namespace == rt.ing.Namespace && (t.Service == rt.backend.Name || (t.Kind == investigate.KindService && t.Name == rt.backend.Name)) {
		return true
	}
	if t.Host == "" || rt.path == nil || hostMatch(rt.host, t.Host) == 0 {
		return false
	}
	return ingressPathMatch(*rt.path, t.Path) >= 0
}

// diagnoseIngresses audits the Ingresses of the snapshot: every backend
// Service must exist (a missing one is reported with the namespace's
// Services of a similar name: a rename or a typo) and expose the port the
// route names. Ingress controllers answer such routes with 503.
func diagnoseIngresses(d *diag) []investigate.Finding {
	var out []investigate.Finding
	for i := range d.s.Ingresses {
		ing := &d.s.Ingresses[i]
		for _, rt := range ingressRoutes(ing) {
			ns, name := ing.Namespace, rt.backend.Name
			score := scoreContext + 10
			if d.alerted(rt) {
				score = scoreRootCause
			}
			ref := "ingress/" + ns + "/" + ing.Name
			svc := d.service(ns, name)
			switch {
			case svc == nil && (d.missingRef("service", ns, name) || d.notFound("service", ns, name)):
				out = append(out, d.ingressMissingService(rt, score))
			case svc != nil && !serviceHasPort(svc, rt.backend.Port):
				var ports []string
				for _, p := range svc.Spec.Ports {
					ports = append(ports, servicePortString(p))
				}
				out = append(out, investigate.Finding{
					Rule: "ingress-backend-port", Severity: investigate.FindingCritical, Score: score,
					Summary: fmt.Sprintf("Ingress %s/%s routes %s to port %s of Service %s, but the Service has no such port (its ports: %s), so the ingress controller has no upstream for the route and answers 503",
						ns, ing.Name, rt.where(), rt.port(), name, strings.Join(ports, ", ")) + ".",
					Objects: []string{ref, "service/" + ns + "/" + name},
					Proof: []string{fmt.Sprintf("ingress %s/%s: %s -> service %s port %s", ns, ing.Name, rt.where(), name, rt.port()),
						fmt.Sprintf("service %s/%s ports: %s", ns, name, strings.Join(ports, ", "))},
					Actions: []string{fmt.Sprintf("Point the Ingress backend at a port the Service exposes (kubectl edit ingress -n %s %s), or add the port to Service %s.", ns, ing.Name, name),
						fmt.Sprintf("kubectl get svc -n %s %s -o yaml", ns, name)},
					Prevention: "Render Ingress backends from the same chart values as the Service (port names, not numbers), and lint that every Ingress backend port exists.",
					Impact:     fmt.Sprintf("Every request to %s fails with 503.", rt.where()),
				})
			}
		}
	}
	return out
}

func (d *diag) notFound(kind, ns, name string) bool {
	want := kind + "/" + ns + "/" + name
	for _, n := range d.s.NotFound {
		if strings.EqualFold(n, want) {
			return true
		}
	}
	return false
}

func serviceHasPort(svc *corev1.Service, p networkingv1.ServiceBackendPort) bool {
	for _, sp := range svc.Spec.Ports {
		if (p.Name != "" && sp.Name == p.Name) || (p.Name == "" && sp.Port == p.Number) {
			return true
		}
	}
	return false
}

func servicePortString(p corev1.ServicePort) string {
	if p.Name != "" {
		return fmt.Sprintf("%s %d", p.Name, p.Port)
	}
	return strconv.Itoa(int(p.Port))
}

func (d *diag) ingressMissingService(rt ingressRoute, score int) investigate.Finding {
	ing := rt.ing
	ns, name := ing.Namespace, rt.backend.Name
	sum := fmt.Sprintf("Ingress %s/%s routes %s to Service %s port %s, but Service %s/%s does not exist, so the ingress controller has no endpoints for the route and answers 503",
		ns, ing.Name, rt.where(), name, rt.port(), ns, name)
	proof := []string{fmt.Sprintf("ingress %s/%s: %s -> service %s port %s (Service does not exist)", ns, ing.Name, rt.where(), name, rt.port())}
	objects := []string{"ingress/" + ns + "/" + ing.Name, "service/" + ns + "/" + name}
	var near []string
	for _, s := range d.s.Services {
		if s.Namespace == ns && similarServiceName(s.Name, name) {
			desc := s.Name
			var ports []string
			for _, p := range s.Spec.Ports {
				ports = append(ports, servicePortString(p))
			}
			if len(ports) > 0 {
				desc += " (port " + strings.Join(ports, ", ") + ")"
			}
			near = append(near, desc)
			objects = append(objects, "service/"+ns+"/"+s.Name)
			proof = append(proof, fmt.Sprintf("service %s/%s exists: ports %s, selector %s", ns, s.Name, strings.Join(ports, ", "), kv(s.Spec.Selector)))
		}
	}
	if len(near) > 0 {
		sum += fmt.Sprintf("; the namespace has %s %s: the backend was renamed or misspelled", plural(len(near), "Service", "Services"), joinNames(near))
	}
	// The workload that served the old name going away dates the change.
	for _, e := range d.s.Events {
		o := e.InvolvedObject
		if o.Namespace == ns && strings.HasPrefix(o.Name, name+"-") && (e.Reason == "SuccessfulDelete" || e.Reason == "Killing") && o.Kind != "Pod" {
			proof = append(proof, fmt.Sprintf("%s %s %s/%s: %s", e.LastTimestamp.UTC().Format("2006-01-02T15:04:05Z"), e.Reason, strings.ToLower(o.Kind), o.Name, strings.TrimSpace(e.Message)))
			break
		}
	}
	act := []string{fmt.Sprintf("Point the Ingress backend at the Service that serves it (kubectl edit ingress -n %s %s), or restore Service %s.", ns, ing.Name, name),
		fmt.Sprintf("kubectl get svc -n %s; kubectl describe ingress -n %s %s", ns, ns, ing.Name)}
	if len(near) > 0 {
		act[0] = fmt.Sprintf("Point the backend of %s in Ingress %s/%s at Service %s (kubectl edit ingress -n %s %s), or restore Service %s.", rt.where(), ns, ing.Name, strings.Fields(near[0])[0], ns, ing.Name, name)
	}
	return investigate.Finding{
		Rule: "ingress-backend-missing", Severity: investigate.FindingCritical, Score: score,
		Summary: sum + ".", Objects: objects, Proof: proof, Actions: act,
		Prevention: "Rename Services together with the Ingresses that route to them (same chart or release), and alert on Ingress backends that reference no Service.",
		Impact:     fmt.Sprintf("Every request to %s fails with 503.", rt.where()),
	}
}
