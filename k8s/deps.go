package k8s

import (
	"context"
	"errors"
	"fmt"
	"regexp"
	"slices"
	"sort"
	"strings"

	batchv1 "k8s.io/api/batch/v1"
	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
)

// maxDependencies bounds the Services followed from logs and environment.
const maxDependencies = 3

var (
	// svcDNS matches a cluster DNS name: name.namespace.svc[.cluster.local].
	svcDNS = regexp.MustCompile(`\b([a-z0-9](?:[-a-z0-9]*[a-z0-9])?)\.([a-z0-9](?:[-a-z0-9]*[a-z0-9])?)\.svc\b`)
	// hostPort matches host:port, and URL hosts.
	hostPort = regexp.MustCompile(`(?:^|[\s/@"'=(])([a-z0-9](?:[-a-z0-9]*[a-z0-9])?)(?::\d{2,5}\b|/)`)
)

// dependency is a Service the investigated pods talk to.
type dependency struct {
	ns, name string
	// certain is true for a name.ns.svc reference: it can only be a
	// Service.
	certain bool
	// inError is true when an error-looking log line names it.
	inError bool
}

// dependencyTexts gathers the text where the pods name their dependencies:
// environment values, commands and arguments, the data of the ConfigMaps
// they reference, and their logs (error lines flagged).
func dependencyTexts(pods []corev1.Pod, cms []corev1.ConfigMap, logs []ContainerLog) (texts, errorLines []string) {
	for _, p := range pods {
		for _, c := range append(append([]corev1.Container{}, p.Spec.InitContainers...), p.Spec.Containers...) {
			for _, e := range c.Env {
				if e.Value != "" {
					texts = append(texts, e.Value)
				}
			}
			texts = append(texts, strings.Join(c.Args, " "), strings.Join(c.Command, " "))
		}
	}
	for _, cm := range cms {
		keys := make([]string, 0, len(cm.Data))
		for k := range cm.Data {
			keys = append(keys, k)
		}
		sort.Strings(keys)
		for _, k := range keys {
			texts = append(texts, strings.Split(cm.Data[k], "\n")...)
		}
	}
	for _, l := range logs {
		for _, line := range l.Lines {
			texts = append(texts, line)
			if errorLine.MatchString(line) {
				errorLines = append(errorLines, line)
			}
		}
	}
	return texts, errorLines
}

// findDependencies extracts the Services named in the texts (other than
// the pods' own Services): name.ns.svc anywhere, and names of known
// Services of the namespace as host:port, URL host or a bare value.
func findDependencies(ns string, texts, errorLines []string, own, known []corev1.Service) []dependency {
	found := map[[2]string]*dependency{}
	isOwn := func(dns, name string) bool {
		return slices.ContainsFunc(own, func(s corev1.Service) bool { return s.Namespace == dns && s.Name == name })
	}
	add := func(dns, name string, certain bool) {
		if isOwn(dns, name) {
			return
		}
		k := [2]string{dns, name}
		if d, ok := found[k]; ok {
			d.certain = d.certain || certain
			return
		}
		found[k] = &dependency{ns: dns, name: name, certain: certain}
	}
	isKnown := func(name string) bool {
		return slices.ContainsFunc(known, func(s corev1.Service) bool { return s.Name == name })
	}
	for _, t := range texts {
		for _, m := range svcDNS.FindAllStringSubmatch(t, -1) {
			add(m[2], m[1], true)
		}
		for _, m := range hostPort.FindAllStringSubmatch(t, -1) {
			if isKnown(m[1]) {
				add(ns, m[1], false)
			}
		}
		if isKnown(t) {
			add(ns, t, false)
		}
	}
	for _, d := range found {
		for _, l := range errorLines {
			if strings.Contains(l, d.name+"."+d.ns) || (d.ns == ns && hostPortMentions(l, d.name)) {
				d.inError = true
				break
			}
		}
	}
	out := make([]dependency, 0, len(found))
	for _, d := range found {
		out = append(out, *d)
	}
	sortDependencies(out)
	return out
}

// hostPortMentions reports whether a line names host as host:port or URL host.
func hostPortMentions(line, host string) bool {
	for _, m := range hostPort.FindAllStringSubmatch(line, -1) {
		if m[1] == host {
			return true
		}
	}
	return false
}

// sortDependencies puts the ones named in errors first, then certain ones.
func sortDependencies(ds []dependency) {
	sort.Slice(ds, func(i, j int) bool {
		if ds[i].inError != ds[j].inError {
			return ds[i].inError
		}
		if ds[i].certain != ds[j].certain {
			return ds[i].certain
		}
		if ds[i].ns != ds[j].ns {
			return ds[i].ns < ds[j].ns
		}
		return ds[i].name < ds[j].name
	})
}

// collectDependencies follows the Services the pods' environment and logs
// name: the Service, its EndpointSlices and Endpoints, and the pods behind
// it (RelatedPods) — a crash loop is often a dependency that is down. A
// name.ns.svc that does not exist is recorded in MissingRefs.
func collectDependencies(ctx context.Context, r *run) error {
	pods, _ := r.podsSnapshot()
	r.mu.Lock()
	for _, j := range r.snap.Jobs {
		// A Job's pods may be gone (deleted by its deadline): its
		// template names the same dependencies.
		pods = append(pods, corev1.Pod{ObjectMeta: metav1.ObjectMeta{Namespace: j.Namespace, Name: j.Name}, Spec: j.Spec.Template.Spec})
	}
	r.mu.Unlock()
	if len(pods) == 0 {
		return nil
	}
	known, err := r.listServices(ctx, r.ns)
	if err != nil {
		return err
	}
	r.mu.Lock()
	own := slices.Clone(r.snap.Services)
	logs := slices.Clone(r.snap.Logs)
	cms := slices.Clone(r.snap.ConfigMaps)
	r.mu.Unlock()
	texts, errorLines := dependencyTexts(pods, cms, logs)
	deps := findDependencies(r.ns, texts, errorLines, own, known)
	// Read the Services of the namespaces named (a few), and flag those
	// whose ClusterIP an error line names (nginx logs upstream IPs).
	var errs []error
	svcsByNS := map[string][]corev1.Service{}
	for _, d := range deps {
		if _, ok := svcsByNS[d.ns]; ok || len(svcsByNS) >= maxEventNamespaces {
			continue
		}
		svcs, err := r.listServices(ctx, d.ns)
		if err != nil {
			errs = append(errs, err)
		}
		svcsByNS[d.ns] = svcs
	}
	for i := range deps {
		for _, s := range svcsByNS[deps[i].ns] {
			if s.Name == deps[i].name && s.Spec.ClusterIP != "" && s.Spec.ClusterIP != "None" {
				for _, l := range errorLines {
					if strings.Contains(l, s.Spec.ClusterIP) {
						deps[i].inError = true
					}
				}
			}
		}
	}
	sortDependencies(deps)
	if err := r.followUnresolved(ctx, errorLines, known); err != nil {
		errs = append(errs, err)
	}
	followed, readDeps := 0, 0
	saturated := slices.ContainsFunc(errorLines, func(l string) bool { return reSaturation.MatchString(l) })
	// A Job stopped by its deadline waited on something: what its
	// dependencies logged during its run (a lock, a slow query) says what.
	saturated = saturated || r.jobDeadlineExceeded()
	resetByPeer := slices.ContainsFunc(errorLines, func(l string) bool { return strings.Contains(strings.ToLower(l), "connection reset by peer") })
	for _, d := range deps {
		if followed == maxDependencies {
			break
		}
		svcs, ok := svcsByNS[d.ns]
		if !ok {
			continue
		}
		i := slices.IndexFunc(svcs, func(s corev1.Service) bool { return s.Name == d.name })
		if i < 0 {
			// Only a name the pods fail to reach is worth reporting: a
			// reference alone may be optional or unused.
			if d.certain && d.inError {
				r.mu.Lock()
				r.snap.MissingRefs = append(r.snap.MissingRefs, "service/"+d.ns+"/"+d.name)
				r.mu.Unlock()
			} else if d.certain && saturated && readDeps < maxSaturatedDeps {
				// No Service of that name is visible (a headless or
				// differently named one): the workload named like it
				// serves the address.
				backing, err := r.listPods(ctx, d.ns)
				if err != nil {
					errs = append(errs, err)
				}
				if p := firstRunning(podsNamedFor(backing, d.name)); p != nil {
					readDeps++
					r.addRelated(*p)
					if err := r.readDependencyPod(ctx, p); err != nil {
						errs = append(errs, err)
					}
				}
			}
			continue
		}
		svc := svcs[i]
		followed++
		r.mu.Lock()
		r.deps = append(r.deps, d.ns+"/"+d.name)
		r.mu.Unlock()
		slicesFor, eps, err := r.endpointsOf(ctx, d.ns, []corev1.Service{svc}, true)
		if err != nil {
			errs = append(errs, err)
		}
		backing, err := r.listPods(ctx, d.ns)
		if err != nil {
			errs = append(errs, err)
		}
		var selected []corev1.Pod
		for _, p := range backing {
			if selects(svc.Spec.Selector, p.Labels) {
				selected = append(selected, p)
			}
		}
		sortByTrouble(selected)
		if len(selected) > maxPrimaryPods {
			selected = selected[:maxPrimaryPods]
		}
		r.addRelated(selected...)
		if saturated && readDeps < maxSaturatedDeps {
			// The callers' errors say a dependency refuses more work:
			// its own log and configuration hold the limit.
			if p := firstRunning(selected); p != nil {
				readDeps++
				if err := r.readDependencyPod(ctx, p); err != nil {
					errs = append(errs, err)
				}
			}
		} else if p := firstRunning(selected); p != nil && hasSidecar(p) && resetByPeer && readDeps < maxSaturatedDeps {
			// The callers' connections are reset and the dependency runs
			// a mesh proxy: the proxy's access log says what it refused.
			readDeps++
			logs := r.readLogs(ctx, "dependencies", []logRequest{{ns: p.Namespace, pod: p.Name, container: sidecarContainer}})
			r.mu.Lock()
			r.snap.Logs = append(r.snap.Logs, logs...)
			r.mu.Unlock()
		} else if d.inError && readDeps < maxSaturatedDeps {
			// The callers fail to reach it and its pod restarts: the
			// dependency's own (previous) log says why it stops.
			if p := firstRestarting(selected); p != nil {
				readDeps++
				if err := r.readDependencyPod(ctx, p); err != nil {
					errs = append(errs, err)
				}
			}
		}
		r.mu.Lock()
		if !slices.ContainsFunc(r.snap.Services, func(x corev1.Service) bool { return x.Namespace == svc.Namespace && x.Name == svc.Name }) {
			r.snap.Services = append(r.snap.Services, svc)
			r.snap.EndpointSlices = append(r.snap.EndpointSlices, slicesFor...)
			r.snap.Endpoints = append(r.snap.Endpoints, eps...)
		}
		r.mu.Unlock()
	}
	return errors.Join(errs...)
}

// maxSaturatedDeps bounds the dependencies whose own log and ConfigMaps
// are read when the callers' errors say a dependency refuses more work.
const maxSaturatedDeps = 2

func firstRunning(pods []corev1.Pod) *corev1.Pod {
	for i := range pods {
		if pods[i].Status.Phase == corev1.PodRunning {
			return &pods[i]
		}
	}
	return nil
}

// firstRestarting returns the first pod with a container that has
// restarted (a crash loop), or nil.
func firstRestarting(pods []corev1.Pod) *corev1.Pod {
	for i := range pods {
		for _, cs := range pods[i].Status.ContainerStatuses {
			if cs.RestartCount > 0 && !cs.Ready {
				return &pods[i]
			}
		}
	}
	return nil
}

// readDependencyPod reads the log of a dependency's pod and the
// ConfigMaps it takes configuration from (where a connection limit is
// set).
func (r *run) readDependencyPod(ctx context.Context, p *corev1.Pod) error {
	reqs := logRequests(p)
	if len(reqs) > 2 {
		reqs = reqs[:2]
	}
	logs := r.readLogs(ctx, "dependencies", reqs)
	var errs []error
	var cms []corev1.ConfigMap
	for _, ref := range configMapRefs(p) {
		cm, err := r.getConfigMap(ctx, ref.ns, ref.name)
		switch {
		case err == nil:
			cms = append(cms, *cm)
		case !apierrors.IsNotFound(err):
			errs = append(errs, wrapGet("configmap", ref.ns, ref.name, err))
		}
	}
	r.mu.Lock()
	r.snap.Logs = append(r.snap.Logs, logs...)
	for _, cm := range cms {
		if !slices.ContainsFunc(r.snap.ConfigMaps, func(x corev1.ConfigMap) bool { return x.Namespace == cm.Namespace && x.Name == cm.Name }) {
			r.snap.ConfigMaps = append(r.snap.ConfigMaps, cm)
		}
	}
	r.mu.Unlock()
	return errors.Join(errs...)
}

// maxUnresolved bounds the unresolvable Service names followed per run.
const maxUnresolved = 3

// followUnresolved looks up the in-cluster names that the pods' error
// lines fail to resolve ("no such host", NXDOMAIN ...): a name the pods'
// DNS search path turns into a Service of their own namespace (a bare
// name, name.ns, name.ns.svc...) that does not exist is recorded in
// MissingRefs, and Services of the same name in other namespaces (one
// list across namespaces by name) join the snapshot as the likely target.
func (r *run) followUnresolved(ctx context.Context, errorLines []string, known []corev1.Service) error {
	type name struct{ ns, name string }
	var names []name
	for _, l := range errorLines {
		if !reDepUnresolved.MatchString(l) {
			continue
		}
		host := unresolvedHost(l)
		if host == "" {
			continue
		}
		n := name{r.ns, host}
		if m := svcDNS.FindStringSubmatch(host); m != nil {
			n = name{m[2], m[1]}
		} else if a, b, ok := strings.Cut(host, "."); ok && !strings.Contains(b, ".") {
			n = name{b, a} // name.namespace
		} else if ok {
			continue // an external name: not a Service
		}
		if !slices.Contains(names, n) && len(names) < maxUnresolved {
			names = append(names, n)
		}
	}
	var errs []error
	for _, n := range names {
		if n.ns == r.ns && slices.ContainsFunc(known, func(s corev1.Service) bool { return s.Name == n.name }) {
			continue
		}
		if n.ns != r.ns {
			svcs, err := r.listServices(ctx, n.ns)
			if err != nil {
				errs = append(errs, err)
				continue
			}
			if slices.ContainsFunc(svcs, func(s corev1.Service) bool { return s.Name == n.name }) {
				continue
			}
		}
		elsewhere, err := cachedList(ctx, r, "services/name="+n.name, func(ctx context.Context) ([]corev1.Service, error) {
			l, err := readList[corev1.ServiceList](ctx, r.g.api, resServices, "", metav1.ListOptions{FieldSelector: "metadata.name=" + n.name})
			if err != nil {
				return nil, fmt.Errorf("find services named %s: %w", n.name, err)
			}
			return l.Items, nil
		})
		if err != nil {
			errs = append(errs, err)
		}
		// Same-namespace Services one typo away are the likely target.
		if n.ns == r.ns {
			for _, svc := range known {
				if svc.Name != n.name && editDistance(svc.Name, n.name) <= 2 {
					elsewhere = append(elsewhere, svc)
				}
			}
		}
		r.mu.Lock()
		r.snap.MissingRefs = append(r.snap.MissingRefs, "service/"+n.ns+"/"+n.name)
		for _, svc := range elsewhere {
			if !slices.ContainsFunc(r.snap.Services, func(x corev1.Service) bool { return x.Namespace == svc.Namespace && x.Name == svc.Name }) {
				r.snap.Services = append(r.snap.Services, svc)
			}
		}
		r.mu.Unlock()
	}
	return errors.Join(errs...)
}

// reUnresolvedHost finds the host in a name-resolution failure, as Go,
// Node.js, Python, Java, curl and resolvers print it.
var reUnresolvedHost = regexp.MustCompile(`(?i)(?:lookup|enotfound|resolve(?: host)?:?|host|unknownhostexception:?|can't find|resolving)\s+'?"?([a-z0-9](?:[-a-z0-9]*[a-z0-9])?(?:\.[a-z0-9](?:[-a-z0-9]*[a-z0-9])?)*)'?"?(?:[:\s'"(]|$)`)

// unresolvedHost returns the lower-case host a resolution failure names,
// without a trailing port, or "".
func unresolvedHost(line string) string {
	for _, m := range reUnresolvedHost.FindAllStringSubmatch(line, -1) {
		h := strings.ToLower(strings.TrimSuffix(m[1], "."))
		switch h {
		case "", "host", "to", "the", "name", "for", "on", "udp", "tcp":
			continue
		}
		if reIP.MatchString(h) {
			continue
		}
		return h
	}
	// The failure and the host apart ("Name or service not known (GET
	// http://host:port/...)"): a cluster DNS name, else a URL's host.
	if m := svcDNS.FindString(line); m != "" {
		if loc := reSvcHost.FindString(line); loc != "" {
			return strings.ToLower(loc)
		}
		return strings.ToLower(m)
	}
	if m := reURLHost.FindStringSubmatch(line); m != nil && !reIP.MatchString(m[1]) {
		return strings.ToLower(m[1])
	}
	return ""
}

// jobDeadlineExceeded reports whether a Job of the snapshot failed with
// DeadlineExceeded.
func (r *run) jobDeadlineExceeded() bool {
	r.mu.Lock()
	defer r.mu.Unlock()
	for _, j := range r.snap.Jobs {
		for _, c := range j.Status.Conditions {
			if c.Type == batchv1.JobFailed && c.Status == corev1.ConditionTrue && c.Reason == batchv1.JobReasonDeadlineExceeded {
				return true
			}
		}
	}
	return false
}

// podsNamedFor returns the pods that belong to the workload a Service name
// names: their StatefulSet, or their app.kubernetes.io/instance or app
// label, carries the name.
func podsNamedFor(pods []corev1.Pod, name string) []corev1.Pod {
	var out []corev1.Pod
	for _, p := range pods {
		owned := slices.ContainsFunc(p.OwnerReferences, func(o metav1.OwnerReference) bool { return o.Kind == "StatefulSet" && o.Name == name })
		if owned || p.Labels["app.kubernetes.io/instance"] == name || p.Labels["app"] == name {
			out = append(out, p)
		}
	}
	return out
}
