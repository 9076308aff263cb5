package k8s

import (
	"context"
	"slices"
	"strings"

	corev1 "k8s.io/api/core/v1"
	networkingv1 "k8s.io/api/networking/v1"
)

// maxControllerLines bounds the lines kept from one controller's log: only
// lines that name the object the controller failed on are kept.
const maxControllerLines = 12

// controllerQuery is an out-of-namespace controller whose log may say why
// it has not done its part for an object of the investigation: hints are
// words its pod's name carries (the ingress class, the readiness gate's
// API domain), keys the strings a relevant log line contains (the
// object's name, "ns/name").
type controllerQuery struct {
	hints []string
	keys  []string
}

// controllerQueries lists what the investigated objects wait for from a
// controller outside the namespace: a readiness gate whose condition is
// unset or False (set by the controller of the gate's API domain), and an
// Ingress with spec.tls (the ingress controller loads the Secret).
func controllerQueries(pods []corev1.Pod, ings []networkingv1.Ingress) []controllerQuery {
	var out []controllerQuery
	for i := range pods {
		for _, g := range unmetReadinessGates(&pods[i]) {
			domain, name, _ := strings.Cut(g.gate, "/")
			q := controllerQuery{hints: domainWords(domain)}
			if name != "" {
				q.keys = append(q.keys, name)
			}
			q.keys = append(q.keys, pods[i].Name)
			out = append(out, q)
		}
	}
	for i := range ings {
		ing := &ings[i]
		if len(ing.Spec.TLS) == 0 {
			continue
		}
		q := controllerQuery{hints: []string{"ingress"}, keys: []string{ing.Namespace + "/" + ing.Name}}
		if c := ingressClass(ing); c != "" {
			q.hints = append(q.hints, c)
		}
		for _, t := range ing.Spec.TLS {
			if t.SecretName != "" {
				q.keys = append(q.keys, ing.Namespace+"/"+t.SecretName, t.SecretName)
			}
		}
		out = append(out, q)
	}
	return out
}

// ingressClass returns the Ingress's class name (spec or the legacy
// annotation), or "".
func ingressClass(ing *networkingv1.Ingress) string {
	if ing.Spec.IngressClassName != nil {
		return *ing.Spec.IngressClassName
	}
	return ing.Annotations["kubernetes.io/ingress.class"]
}

// domainWords splits an API domain (target-health.elbv2.k8s.aws) into the
// words that can name its controller, leaving out the generic ones.
func domainWords(domain string) []string {
	var out []string
	for _, w := range strings.FieldsFunc(domain, func(r rune) bool { return r == '.' || r == '-' }) {
		switch w {
		case "k8s", "io", "com", "org", "net", "x", "kubernetes", "target", "health", "ready", "readiness", "gate", "status":
			continue
		}
		if len(w) >= 3 {
			out = append(out, w)
		}
	}
	return out
}

// collectControllerLogs reads, for each controller query, the log of the
// pod that matches it (a running pod whose name carries the hints, in any
// namespace) and keeps only the
// lines naming the object: what the controller says about it.
func collectControllerLogs(ctx context.Context, r *run) error {
	pods, related := r.podsSnapshot()
	r.mu.Lock()
	ings := slices.Clone(r.snap.Ingresses)
	r.mu.Unlock()
	qs := controllerQueries(append(pods, related...), ings)
	if len(qs) == 0 || r.g.logs == nil {
		return nil
	}
	all, err := r.listPods(ctx, "")
	if err != nil {
		return err
	}
	read := map[string]bool{}
	for _, q := range qs {
		p := controllerPod(all, q.hints)
		if p == nil || read[podKey(p)] || len(read) == 2 {
			continue
		}
		read[podKey(p)] = true
		for _, c := range p.Spec.Containers {
			r.count(1)
			raw, err := r.g.logs.Logs(ctx, p.Namespace, p.Name, c.Name, false, r.g.budget.LogLines)
			if err != nil {
				r.gap("controller-logs", err)
				continue
			}
			var keep []string
			for _, l := range strings.Split(raw, "\n") {
				if slices.ContainsFunc(q.keys, func(k string) bool { return k != "" && strings.Contains(l, k) }) {
					keep = append(keep, l)
				}
			}
			if len(keep) == 0 {
				continue
			}
			if len(keep) > maxControllerLines {
				keep = keep[len(keep)-maxControllerLines:]
			}
			lines := CompactLog(strings.Join(keep, "\n"), r.g.budget.SectionBytes)
			r.mu.Lock()
			r.snap.Logs = append(r.snap.Logs, ContainerLog{Namespace: p.Namespace, Pod: p.Name, Container: c.Name, Lines: lines})
			r.mu.Unlock()
			break
		}
	}
	return nil
}

// controllerPod picks the running pod whose name carries the most hints
// ("ingress-nginx-controller-…" for class nginx, "traefik-…" for class
// traefik), a controller's name first, or nil.
func controllerPod(all []corev1.Pod, hints []string) *corev1.Pod {
	var best *corev1.Pod
	bestScore := 0
	for i := range all {
		p := &all[i]
		if p.Status.Phase != corev1.PodRunning {
			continue
		}
		score := 0
		for _, h := range hints {
			if h != "" && strings.Contains(p.Name, h) {
				score += 2
			}
		}
		if score == 0 {
			continue
		}
		if strings.Contains(p.Name, "controller") {
			score++
		}
		if score > bestScore {
			best, bestScore = p, score
		}
	}
	return best
}
