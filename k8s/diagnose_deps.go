package k8s

import (
	"fmt"
	"regexp"
	"slices"
	"strings"

	corev1 "k8s.io/api/core/v1"

	"github.com/k8flex/k8flex/investigate"
)

// Failure classes of calls to dependencies, as logs show them.
const (
	depRefused    = "connection refused"
	depUnresolved = "host name does not resolve"
	depTimeout    = "connection timed out"
)

var (
	reDepRefused    = regexp.MustCompile(`(?i)connection refused|econnrefused|errno 111|connect call failed`)
	reDepUnresolved = regexp.MustCompile(`(?i)no such host|nxdomain|name or service not known|could not resolve host|temporary failure in name resolution|unknownhostexception|server can't find|getaddrinfo enotfound`)
	reDepTimeout    = regexp.MustCompile(`(?i)i/o timeout|timed out|connect(?:ion)? ?timeout|timeout (?:while )?connecting|deadline exceeded`)
	reSvcHost       = regexp.MustCompile(`\b([a-z0-9](?:[-a-z0-9]*[a-z0-9])?)\.([a-z0-9](?:[-a-z0-9]*[a-z0-9])?)\.svc(?:\.cluster\.local)?\b`)
	reURLHost       = regexp.MustCompile(`[a-z]+://(?:[^@/\s"]*@)?([a-zA-Z0-9.-]+)(?::(\d+))?`)
	reHostPort      = regexp.MustCompile(`\b([a-z0-9-]*[a-z][-a-z0-9]*(?:\.[-a-z0-9]+)*|\d{1,3}\.\d{1,3}\.\d{1,3}\.\d{1,3}):(\d{2,5})\b`)
	reIP            = regexp.MustCompile(`\b(\d{1,3}\.\d{1,3}\.\d{1,3}\.\d{1,3})\b`)
	reSourceFile    = regexp.MustCompile(`\.(go|py|java|js|ts|rb|rs|c|cc|cpp|kt|scala|php|cs)$`)
	rePort          = regexp.MustCompile(`(?i)^\S*?:(\d{2,5})\b|^[^a-z]{0,40}port (\d{2,5})|^'?,\s*(\d{2,5})\)`)
)

type depFailure struct {
	class   string
	host    string // as written in the log
	port    string
	svcNS   string
	svcName string
	pods    []string
	refs    []string
	proof   []string
	// containers are the containers whose logs show the failure.
	containers []string
}

// diagnoseDependencies reports calls to other services that fail in the
// investigated pods' logs (refused, unresolvable, timed out) and follows
// the host to its Service, endpoints and backing pods when they are known.
func diagnoseDependencies(d *diag) []investigate.Finding {
	var order []string
	fails := map[string]*depFailure{}
	for _, l := range d.s.Logs {
		if !d.target[l.Namespace+"/"+l.Pod] {
			continue
		}
		for _, line := range l.Lines {
			if !mayBeDepFailure(line) {
				continue
			}
			class := ""
			switch {
			case strings.Contains(line, "lookup ") && reClientDNS.MatchString(line):
				continue // DNS server trouble: the DNS rule reports it
			case reDepUnresolved.MatchString(line):
				class = depUnresolved
			case reDepRefused.MatchString(line):
				class = depRefused
			case reDepTimeout.MatchString(line):
				class = depTimeout
			default:
				continue
			}
			host, port, ns, name := d.dependencyOf(line, l.Namespace)
			if class == depUnresolved && name == "" {
				// A name the pod's DNS search path would make a Service
				// of its own namespace (name, name.ns).
				if h := unresolvedHost(line); h != "" {
					if a, b, ok := strings.Cut(h, "."); !ok {
						host, ns, name = h, l.Namespace, h
					} else if !strings.Contains(b, ".") {
						host, ns, name = h, b, a
					}
				}
			}
			if host == "" {
				continue
			}
			key := class + "|" + ns + "/" + name + "|" + host
			if name == "" {
				key = class + "|" + host
			}
			f := fails[key]
			if f == nil {
				f = &depFailure{class: class, host: host, port: port, svcNS: ns, svcName: name}
				fails[key] = f
				order = append(order, key)
			}
			if f.port == "" {
				f.port = port
			}
			f.pods = appendUnique(f.pods, l.Pod)
			f.containers = appendUnique(f.containers, l.Container)
			f.refs = appendUnique(f.refs, "pod/"+l.Namespace+"/"+l.Pod)
			if len(f.proof) < 2 {
				f.proof = appendUnique(f.proof, l.Pod+": "+clip(strings.TrimSpace(line), 400))
			}
		}
	}
	var out []investigate.Finding
	for _, k := range order {
		out = append(out, d.dependencyFinding(fails[k]))
	}
	return out
}

var depKeywords = []string{"refused", "errno 111", "connect call failed", "no such host", "nxdomain", "not known",
	"resolve", "unknownhost", "can't find", "enotfound", "timeout", "timed out", "deadline exceeded"}

// mayBeDepFailure is a cheap filter before the failure regexps.
func mayBeDepFailure(line string) bool {
	l := strings.ToLower(line)
	for _, k := range depKeywords {
		if strings.Contains(l, k) {
			return true
		}
	}
	return false
}

// dependencyOf extracts the called host from a failure line and maps it to
// a Service: by cluster DNS name, by bare name in the pod's namespace, or by
// ClusterIP.
func (d *diag) dependencyOf(line, podNS string) (host, port, ns, name string) {
	portAfter := func(end int) string {
		if m := rePort.FindStringSubmatch(line[end:]); m != nil {
			return m[1] + m[2] + m[3]
		}
		return ""
	}
	if loc := reSvcHost.FindStringSubmatchIndex(line); loc != nil {
		return line[loc[0]:loc[1]], portAfter(loc[1]), line[loc[4]:loc[5]], line[loc[2]:loc[3]]
	}
	if m := reURLHost.FindStringSubmatch(line); m != nil && !strings.HasPrefix(m[1], "127.") {
		host = m[1]
		if m[2] != "" {
			port = m[2]
		}
	} else if m := reHostPort.FindStringSubmatch(line); m != nil && !reSourceFile.MatchString(m[1]) {
		host, port = m[1], m[2]
	} else if loc := reIP.FindStringSubmatchIndex(line); loc != nil {
		host, port = line[loc[2]:loc[3]], portAfter(loc[1])
	}
	if host == "" {
		return "", "", "", ""
	}
	for _, svc := range d.s.Services {
		if svc.Spec.ClusterIP == host || (svc.Namespace == podNS && (svc.Name == host || strings.HasPrefix(host, svc.Name+"."+svc.Namespace))) {
			return host, port, svc.Namespace, svc.Name
		}
	}
	if ip := reIP.FindString(line); ip != "" {
		for _, svc := range d.s.Services {
			if svc.Spec.ClusterIP == ip {
				return host, port, svc.Namespace, svc.Name
			}
		}
	}
	return host, port, "", ""
}

func (d *diag) dependencyFinding(f *depFailure) investigate.Finding {
	target := f.host
	if f.port != "" && !strings.Contains(target, ":") {
		target += ":" + f.port
	}
	sum := fmt.Sprintf("Pod %s cannot reach %s (%s)", joinNames(f.pods), target, f.class)
	score := scoreDependency
	var why []string
	proof := f.proof
	objects := f.refs
	if f.svcName != "" {
		objects = append(objects, "service/"+f.svcNS+"/"+f.svcName)
		svc := d.service(f.svcNS, f.svcName)
		switch {
		case svc == nil:
			if other := d.servicesNamed(f.svcName, f.svcNS); len(other) > 0 {
				score = scoreCause + 5
				if !strings.Contains(f.host, ".") {
					why = append(why, fmt.Sprintf("Service %s does not exist in namespace %s, but a Service %s exists in namespace %s: the short name %q is resolved only in the pod's own namespace (its DNS search path), so the address must be namespace-qualified, e.g. %s.%s.svc.cluster.local",
						f.svcName, f.svcNS, f.svcName, strings.Join(other, ", "), f.host, f.svcName, other[0]))
				} else {
					why = append(why, fmt.Sprintf("Service %s does not exist in namespace %s, but a Service %s exists in namespace %s: the configured address points at the wrong namespace", f.svcName, f.svcNS, f.svcName, strings.Join(other, ", ")))
				}
			} else if d.missingRef("service", f.svcNS, f.svcName) {
				score = scoreCause
				why = append(why, fmt.Sprintf("Service %s/%s does not exist", f.svcNS, f.svcName))
				if sim := d.similarServices(f.svcNS, f.svcName); len(sim) > 0 {
					why = append(why, fmt.Sprintf("the namespace has %s %s: a misspelled host name?", plural(len(sim), "Service", "Services"), joinNames(sim)))
				}
			}
		case svc.Spec.Type == corev1.ServiceTypeExternalName:
			why = append(why, fmt.Sprintf("Service %s/%s is an ExternalName for %s, outside the cluster: that server is down or not listening on port %s", f.svcNS, f.svcName, svc.Spec.ExternalName, orUnknown(f.port)))
			proof = append(proof, fmt.Sprintf("service %s/%s: type ExternalName, externalName %s", f.svcNS, f.svcName, svc.Spec.ExternalName))
		default:
			ready, notReady, seen := d.endpointCounts(f.svcNS, f.svcName)
			backing := d.selectedPods(f.svcNS, svc.Spec.Selector)
			if seen && ready == 0 {
				why = append(why, fmt.Sprintf("Service %s/%s has no ready endpoints (%d ready, %d not ready)", f.svcNS, f.svcName, ready, notReady))
				proof = append(proof, fmt.Sprintf("endpoints %s/%s: %d ready, %d not ready addresses", f.svcNS, f.svcName, ready, notReady))
			}
			if len(backing) == 0 && len(svc.Spec.Selector) > 0 && (seen && ready == 0) {
				why = append(why, fmt.Sprintf("its selector %s matches no pods", kv(svc.Spec.Selector)))
			}
			for _, p := range backing {
				if st := podProblem(p); st != "" {
					why = append(why, fmt.Sprintf("its backing pod %s is %s", p.Name, st))
					objects = append(objects, podRef(p))
				}
			}
			if seen && ready > 0 && len(why) == 0 {
				score = scoreContext + 15
				why = append(why, fmt.Sprintf("Service %s/%s has %d ready endpoints, so the backends run: the traffic is dropped or refused on the way (NetworkPolicy, wrong port, overloaded backend)", f.svcNS, f.svcName, ready))
			}
		}
	}
	if why2, proof2 := d.loopbackSibling(f); why2 != "" {
		// The pod calls itself: a sibling container that is down
		// explains the failure, and its own finding is the cause.
		score = scoreContext + 15
		why = append(why, why2)
		proof = append(proof, proof2...)
	}
	if src := configSourceOf(d, f); src != "" {
		why = append(why, "the address comes from "+src)
		proof = append(proof, src)
	}
	if len(why) > 0 {
		sum += ": " + strings.Join(why, "; ")
	}
	act := []string{}
	if f.svcName != "" {
		act = append(act, fmt.Sprintf("kubectl get svc,endpointslices -n %s -l kubernetes.io/service-name=%s -o wide; kubectl get svc -n %s %s -o yaml", f.svcNS, f.svcName, f.svcNS, f.svcName))
	}
	if f.class == depUnresolved {
		act = append(act, fmt.Sprintf("kubectl get svc -A | grep %s   # where does the service live now? fix the configured host", firstLabel(f.host)))
	} else {
		act = append(act, "Restore the dependency (start its pods / fix its endpoints), then the callers recover on their next retry.")
	}
	// Callers that crash because of the failing call are a pod-crash; a
	// caller that keeps running implies no category of its own.
	var cat investigate.Category
	for _, p := range d.pods {
		if slices.Contains(f.pods, p.Name) && d.target[podKey(p)] && podCrashing(p) {
			cat = investigate.PodCrash
		}
	}
	return investigate.Finding{
		Rule: "dependency-" + strings.ReplaceAll(f.class, " ", "-"), Severity: investigate.FindingWarning, Score: score, Category: cat,
		Summary: sum + ".", Objects: objects, Proof: proof, Actions: act,
		Prevention: "Alert on the dependency itself (endpoints, availability) so its failure is seen before its callers crash; make callers retry with backoff instead of exiting.",
		Impact:     fmt.Sprintf("Requests of %s that need %s fail.", joinNames(f.pods), f.host),
	}
}

func orUnknown(s string) string {
	if s == "" {
		return "(unknown)"
	}
	return s
}

func firstLabel(host string) string {
	h, _, _ := strings.Cut(host, ".")
	return h
}

// servicesNamed returns the namespaces other than ns that hold a Service
// named name.
func (d *diag) servicesNamed(name, ns string) []string {
	var out []string
	for _, s := range d.s.Services {
		if s.Name == name && s.Namespace != ns {
			out = append(out, s.Namespace)
		}
	}
	return out
}

// configSourceOf names where the failing pods are configured with the
// host: an env value, a key of a ConfigMap they take env from (env
// valueFrom, envFrom), or a key of a ConfigMap mounted as a volume; "" when
// none is known.
func configSourceOf(d *diag, f *depFailure) string {
	host := strings.TrimSuffix(f.host, ".")
	inCM := func(ns, name, key string) (string, bool) {
		for _, cm := range d.s.ConfigMaps {
			if cm.Namespace != ns || cm.Name != name {
				continue
			}
			keys := make([]string, 0, len(cm.Data))
			for k := range cm.Data {
				keys = append(keys, k)
			}
			slices.Sort(keys)
			for _, k := range keys {
				if (key == "" || k == key) && strings.Contains(cm.Data[k], host) {
					return k, true
				}
			}
		}
		return "", false
	}
	for _, p := range d.pods {
		if !d.target[podKey(p)] {
			continue
		}
		for _, c := range append(append([]corev1.Container{}, p.Spec.InitContainers...), p.Spec.Containers...) {
			for _, e := range c.Env {
				if e.Value != "" && strings.Contains(e.Value, host) {
					return fmt.Sprintf("env %s=%s of container %s", e.Name, e.Value, c.Name)
				}
				if e.ValueFrom != nil && e.ValueFrom.ConfigMapKeyRef != nil {
					r := e.ValueFrom.ConfigMapKeyRef
					if _, ok := inCM(p.Namespace, r.Name, r.Key); ok {
						return fmt.Sprintf("key %s of ConfigMap %s/%s (env %s of container %s)", r.Key, p.Namespace, r.Name, e.Name, c.Name)
					}
				}
			}
			for _, ef := range c.EnvFrom {
				if ef.ConfigMapRef != nil {
					if k, ok := inCM(p.Namespace, ef.ConfigMapRef.Name, ""); ok {
						return fmt.Sprintf("key %s of ConfigMap %s/%s (envFrom of container %s)", k, p.Namespace, ef.ConfigMapRef.Name, c.Name)
					}
				}
			}
		}
		for _, v := range p.Spec.Volumes {
			if v.ConfigMap != nil {
				if k, ok := inCM(p.Namespace, v.ConfigMap.Name, ""); ok {
					return fmt.Sprintf("key %s of ConfigMap %s/%s (volume %s)", k, p.Namespace, v.ConfigMap.Name, v.Name)
				}
			}
		}
	}
	return ""
}

// similarServices returns the known Services of ns whose names are at most
// two edits from name.
func (d *diag) similarServices(ns, name string) []string {
	var out []string
	for _, s := range d.s.Services {
		if s.Namespace == ns && s.Name != name && editDistance(s.Name, name) <= 2 {
			out = appendUnique(out, s.Name)
		}
	}
	return out
}

// podProblem describes why a pod cannot serve, or "" when it runs ready.
func podProblem(p *corev1.Pod) string {
	if p.DeletionTimestamp != nil {
		return "Terminating"
	}
	switch p.Status.Phase {
	case corev1.PodPending:
		for _, c := range p.Status.Conditions {
			if c.Type == corev1.PodScheduled && c.Status == corev1.ConditionFalse {
				return "Pending (not scheduled: " + c.Message + ")"
			}
		}
		return "Pending"
	case corev1.PodFailed:
		return "Failed (" + p.Status.Reason + ")"
	case corev1.PodSucceeded:
		return "Completed"
	}
	for _, cs := range p.Status.ContainerStatuses {
		if cs.State.Waiting != nil && cs.State.Waiting.Reason != "" {
			return "not running (" + cs.State.Waiting.Reason + ")"
		}
	}
	if !podReady(p) {
		return "not ready"
	}
	return ""
}

// podCrashing reports whether a container of p is crash-looping or last
// terminated in error and not running again.
func podCrashing(p *corev1.Pod) bool {
	for i := range p.Status.ContainerStatuses {
		if containerFailing(&p.Status.ContainerStatuses[i]) {
			return true
		}
	}
	return p.Status.Phase == corev1.PodFailed
}

// isLoopback reports whether host is the pod's own network namespace.
func isLoopback(host string) bool {
	return host == "localhost" || host == "::1" || strings.HasPrefix(host, "127.")
}

// loopbackSibling explains a failed call to the pod's own loopback address
// by a sibling container of the same pod (a sidecar) that is not running
// or not ready: containers of a pod share one network namespace, so
// 127.0.0.1:port is served by whichever container listens on that port.
// "" when the host is not loopback or no sibling is down.
func (d *diag) loopbackSibling(f *depFailure) (string, []string) {
	if !isLoopback(f.host) {
		return "", nil
	}
	for _, ref := range f.refs {
		for _, p := range d.pods {
			if podRef(p) != ref {
				continue
			}
			for i := range p.Status.ContainerStatuses {
				cs := &p.Status.ContainerStatuses[i]
				if slices.Contains(f.containers, cs.Name) || cs.Ready {
					continue
				}
				declares := false
				if c := containerSpec(p, cs.Name); c != nil && f.port != "" {
					for _, cp := range c.Ports {
						declares = declares || fmt.Sprint(cp.ContainerPort) == f.port
					}
				}
				if !declares && !containerFailing(cs) {
					continue
				}
				state := "not ready"
				if w := cs.State.Waiting; w != nil && w.Reason != "" {
					state = w.Reason
				}
				return fmt.Sprintf("%s is the pod's own network namespace, shared by its containers, and container %s of the same pod, which should listen there, is %s: that container's failure is the cause, the refused calls its symptom", f.host, cs.Name, state),
					[]string{fmt.Sprintf("%s container %s: %s (restartCount=%d)", p.Name, cs.Name, state, cs.RestartCount)}
			}
		}
	}
	return "", nil
}
