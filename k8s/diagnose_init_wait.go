package k8s

import (
	"fmt"
	"regexp"
	"slices"
	"strings"
	"time"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/k8flex/k8flex/investigate"
)

// Hosts an init container's command waits on: the forms of nc/telnet,
// nslookup/getent/dig/host, pg_isready/redis-cli/mysqladmin (-h HOST),
// wait-for-it style HOST:PORT, bash's /dev/tcp/HOST/PORT and URLs of
// curl/wget. Each yields the host and, when written, the port.
var (
	reWaitNC       = regexp.MustCompile(`\b(?:nc|ncat|netcat|telnet)\s+(?:-[a-zA-Z]+\s+(?:\d+\s+)?)*([a-zA-Z0-9][-a-zA-Z0-9.]*)\s+(\d{1,5})\b`)
	reWaitLookup   = regexp.MustCompile(`\b(?:nslookup|getent\s+(?:hosts|ahosts)|dig(?:\s+\+\S+)*|host)\s+([a-zA-Z][-a-zA-Z0-9.]*)`)
	reWaitHostOpt  = regexp.MustCompile(`(?:^|\s)(?:-h|--host(?:name)?)(?:\s+|=)([a-zA-Z][-a-zA-Z0-9.]*)(?:.*?(?:-p|--port)(?:\s+|=)(\d{1,5}))?`)
	reWaitDevTCP   = regexp.MustCompile(`/dev/tcp/([a-zA-Z0-9][-a-zA-Z0-9.]*)/(\d{1,5})`)
	reWaitNextPort = regexp.MustCompile(`^\s+(\d{2,5})\b`)
	reWaitLoop     = regexp.MustCompile(`(?i)\b(until|while)\b.*\bdo\b|\bwait[-_]?for|\bsleep\b|\bretry|\bnc\s|nslookup|pg_isready|/dev/tcp/|\bping\b`)
)

// waitTarget is a host an init container's command waits on.
type waitTarget struct {
	host, port string
}

// initWaitTargets returns the hosts the command of an init container
// polls for, first the certain cluster-DNS names. Only a command that
// loops, retries or calls a connectivity tool counts as waiting.
func initWaitTargets(c *corev1.Container) []waitTarget {
	cmd := strings.Join(append(append([]string{}, c.Command...), c.Args...), " ")
	if cmd == "" || !reWaitLoop.MatchString(cmd) {
		return nil
	}
	var out []waitTarget
	add := func(host, port string) {
		host = strings.TrimSuffix(strings.ToLower(host), ".")
		if host == "" || host == "localhost" || strings.HasPrefix(host, "127.") {
			return
		}
		for i := range out {
			if out[i].host == host {
				if out[i].port == "" {
					out[i].port = port
				}
				return
			}
		}
		out = append(out, waitTarget{host, port})
	}
	for _, loc := range reSvcHost.FindAllStringIndex(cmd, -1) {
		port := ""
		if m := rePort.FindStringSubmatch(cmd[loc[1]:]); m != nil {
			port = m[1] + m[2] + m[3]
		} else if m := reWaitNextPort.FindStringSubmatch(cmd[loc[1]:]); m != nil {
			port = m[1]
		}
		add(cmd[loc[0]:loc[1]], port)
	}
	for _, re := range []*regexp.Regexp{reWaitNC, reWaitDevTCP, reWaitHostOpt} {
		for _, m := range re.FindAllStringSubmatch(cmd, -1) {
			add(m[1], m[2])
		}
	}
	for _, m := range reWaitLookup.FindAllStringSubmatch(cmd, -1) {
		add(m[1], "")
	}
	for _, m := range reURLHost.FindAllStringSubmatch(cmd, -1) {
		add(m[1], m[2])
	}
	for _, m := range reHostPort.FindAllStringSubmatch(cmd, -1) {
		if !reSourceFile.MatchString(m[1]) {
			add(m[1], m[2])
		}
	}
	return out
}

// hostService maps a host as a pod in podNS would resolve it (name,
// name.ns, name.ns.svc, name.ns.svc.cluster.local) to a Service name and
// namespace; ok is false for a host that cannot name a Service.
func hostService(host, podNS string) (ns, name string, ok bool) {
	parts := strings.Split(strings.TrimSuffix(host, "."), ".")
	switch {
	case len(parts) == 1:
		return podNS, parts[0], investigate.ValidName(parts[0])
	case len(parts) == 2:
		return parts[1], parts[0], investigate.ValidName(parts[0]) && investigate.ValidName(parts[1])
	case parts[2] == "svc":
		return parts[1], parts[0], true
	}
	return "", "", false
}

// diagnoseInitWaits reports pods held in Init by an init container that
// polls a dependency (running, or restarting after giving up), and
// explains the wait from the Service the host names: missing, scaled to
// zero, without ready endpoints and why its pods are not ready.
func diagnoseInitWaits(d *diag) []investigate.Finding {
	var out []investigate.Finding
	type key struct{ workload, container, host string }
	seen := map[key]int{}
	for _, p := range d.pods {
		if !d.target[podKey(p)] || p.Status.Phase != corev1.PodPending && p.Status.Phase != corev1.PodRunning {
			continue
		}
		for i := range p.Status.InitContainerStatuses {
			cs := &p.Status.InitContainerStatuses[i]
			c := containerSpec(p, cs.Name)
			if c == nil || c.RestartPolicy != nil && *c.RestartPolicy == corev1.ContainerRestartPolicyAlways {
				continue // a sidecar runs for the pod's life
			}
			running := cs.State.Running != nil
			failing := !running && cs.State.Terminated == nil && lastTermination(cs) != nil && lastTermination(cs).ExitCode != 0
			if !running && !failing {
				continue
			}
			for _, wt := range initWaitTargets(c) {
				f, ok := d.initWaitFinding(p, cs, c, wt, running)
				if !ok {
					continue
				}
				k := key{workloadOrPod(p), cs.Name, wt.host}
				if j, dup := seen[k]; dup {
					out[j].Objects = appendUnique(out[j].Objects, podRef(p))
					continue
				}
				seen[k] = len(out)
				out = append(out, f)
				break
			}
		}
	}
	return out
}

func (d *diag) initWaitFinding(p *corev1.Pod, cs *corev1.ContainerStatus, c *corev1.Container, wt waitTarget, running bool) (investigate.Finding, bool) {
	ns, name, ok := hostService(wt.host, p.Namespace)
	if !ok {
		return investigate.Finding{}, false
	}
	svc := d.service(ns, name)
	missing := svc == nil && d.missingRef("service", ns, name)
	if svc == nil && !missing {
		return investigate.Finding{}, false // an external host, or a Service not gathered
	}
	cmd := strings.Join(append(append([]string{}, c.Command...), c.Args...), " ")
	target := wt.host
	if wt.port != "" {
		target += ":" + wt.port
	}
	state := "has been running"
	if running && !cs.State.Running.StartedAt.IsZero() {
		if at := d.latestEvidenceTime(); at.After(cs.State.Running.StartedAt.Time) {
			state += " for " + shortDuration(at.Sub(cs.State.Running.StartedAt.Time))
		}
		state += " since " + cs.State.Running.StartedAt.UTC().Format(time.RFC3339)
	}
	if !running {
		state = fmt.Sprintf("keeps failing (exit code %d, %d restarts)", lastTermination(cs).ExitCode, cs.RestartCount)
	}
	proof := []string{fmt.Sprintf("init container %s %s; command: %s", cs.Name, state, clip(cmd, 300))}
	if l := lastLines(d.logs(p.Namespace, p.Name, cs.Name, false), 1); len(l) > 0 {
		proof = append(proof, cs.Name+" log: "+clip(l[0], 200))
	}
	for _, cond := range p.Status.Conditions {
		if cond.Type == corev1.PodInitialized && cond.Status == corev1.ConditionFalse {
			proof = append(proof, fmt.Sprintf("pod condition Initialized=False (%s: %s)", cond.Reason, cond.Message))
		}
	}
	objects := []string{podRef(p), "service/" + ns + "/" + name}
	var why []string
	score := scoreCause + 5
	act := []string{fmt.Sprintf("kubectl get svc,endpointslices -n %s -l kubernetes.io/service-name=%s -o wide", ns, name)}
	switch {
	case missing:
		why = append(why, fmt.Sprintf("Service %s/%s does not exist, so the name never resolves", ns, name))
		if other := d.servicesNamed(name, ns); len(other) > 0 {
			why = append(why, fmt.Sprintf("a Service %s exists in namespace %s: the host must name that namespace", name, strings.Join(other, ", ")))
		}
		act = append(act, fmt.Sprintf("Create Service %s/%s or fix the host in the init container %s of %s.", ns, name, cs.Name, workloadOrPod(p)))
	case svc.Spec.Type == corev1.ServiceTypeExternalName:
		why = append(why, fmt.Sprintf("Service %s/%s is an ExternalName for %s, which does not answer", ns, name, svc.Spec.ExternalName))
		score = scoreDependency
	default:
		ready, notReady, seen := d.endpointCounts(ns, name)
		switch {
		case seen && ready > 0:
			why = append(why, fmt.Sprintf("Service %s/%s has %d ready endpoints, so the wait fails on the way (the port %s, a NetworkPolicy, DNS)", ns, name, ready, orUnknown(wt.port)))
			score = scoreMechanism
		case seen || len(svc.Spec.Selector) > 0:
			why = append(why, fmt.Sprintf("Service %s/%s has no ready endpoints (%d ready, %d not ready)", ns, name, ready, notReady))
			proof = append(proof, fmt.Sprintf("endpoints of %s/%s: %d ready, %d not ready", ns, name, ready, notReady))
		}
		if seen && ready > 0 {
			break
		}
		if w := d.scaledToZeroBehind(svc); w != "" {
			why = append(why, w)
			proof = append(proof, w)
			act = append(act, fmt.Sprintf("Scale the workload behind Service %s/%s back up; the init container then completes on its next poll.", ns, name))
			break
		}
		backing := d.selectedPods(ns, svc.Spec.Selector)
		if len(backing) == 0 && len(svc.Spec.Selector) > 0 {
			why = append(why, fmt.Sprintf("its selector %s matches no pod", kv(svc.Spec.Selector)))
		}
		for _, bp := range backing {
			if st := podProblem(bp); st != "" {
				why = append(why, fmt.Sprintf("its backing pod %s is %s", bp.Name, st))
				objects = append(objects, podRef(bp))
				if len(objects) > 5 {
					break
				}
			}
		}
		act = append(act, fmt.Sprintf("Restore Service %s/%s's pods (see why they are not ready); the init container then completes on its next poll.", ns, name))
	}
	sum := fmt.Sprintf("Pod %s is stuck in Init: init container %s %s waiting for %s", podKey(p), cs.Name, state, target)
	if !running {
		sum = fmt.Sprintf("Pod %s is stuck in Init: init container %s, which waits for %s, %s", podKey(p), cs.Name, target, state)
	}
	sum += ", and " + strings.Join(why, "; ") + "; the pod's app containers never start (PodInitializing)"
	act = append(act, fmt.Sprintf("kubectl logs -n %s %s -c %s", p.Namespace, p.Name, cs.Name),
		"Consider a timeout in the wait loop so the pod fails visibly instead of waiting forever.")
	return investigate.Finding{
		Rule: "init-container-waiting", Severity: investigate.FindingCritical, Score: score,
		Summary: sum + ".", Objects: objects, Proof: proof, Actions: act,
		Detail:     "Init containers run to completion one after another before the app containers start; an init container that polls a dependency holds the pod in Init (phase Pending) until the dependency answers.",
		Impact:     fmt.Sprintf("%s never becomes ready while %s is unavailable.", workloadOrPod(p), target),
		Prevention: "Alert on the dependency itself; bound wait-for loops with a timeout; prefer retrying in the application over init-time waits.",
	}, true
}

// scaledToZeroBehind names the Deployment or StatefulSet whose pod
// template the Service selects and which is scaled to 0, with who scaled
// it when its managedFields or annotations say; "" when none is.
func (d *diag) scaledToZeroBehind(svc *corev1.Service) string {
	if len(svc.Spec.Selector) == 0 {
		return ""
	}
	check := func(kind string, meta *metav1.ObjectMeta, tmpl map[string]string, replicas *int32) string {
		if meta.Namespace != svc.Namespace || replicas == nil || *replicas != 0 || !selects(svc.Spec.Selector, tmpl) {
			return ""
		}
		s := fmt.Sprintf("%s %s/%s behind it is scaled to 0 replicas (spec.replicas: 0)", kind, meta.Namespace, meta.Name)
		if who := whoScaled(meta); who != "" {
			s += ", " + who
		}
		return s
	}
	for i := range d.s.Deployments {
		x := &d.s.Deployments[i]
		if s := check("Deployment", &x.ObjectMeta, x.Spec.Template.Labels, x.Spec.Replicas); s != "" {
			return s
		}
	}
	for i := range d.s.StatefulSets {
		x := &d.s.StatefulSets[i]
		if s := check("StatefulSet", &x.ObjectMeta, x.Spec.Template.Labels, x.Spec.Replicas); s != "" {
			return s
		}
	}
	return ""
}

// whoScaled names the last writer of spec.replicas from the object's
// managedFields (manager, operation, time), or an annotation about
// scaling; "" when neither says.
func whoScaled(meta *metav1.ObjectMeta) string {
	var best *metav1.ManagedFieldsEntry
	for i := range meta.ManagedFields {
		mf := &meta.ManagedFields[i]
		if mf.FieldsV1 == nil || !strings.Contains(string(mf.FieldsV1.Raw), `"f:replicas"`) || mf.Subresource == "status" {
			continue
		}
		if best == nil || mf.Time != nil && (best.Time == nil || mf.Time.After(best.Time.Time)) {
			best = mf
		}
	}
	var parts []string
	if best != nil {
		s := "last set by " + best.Manager
		if best.Subresource != "" {
			s += " (" + best.Subresource + " subresource)"
		}
		if best.Time != nil {
			s += " at " + best.Time.UTC().Format(time.RFC3339)
		}
		parts = append(parts, s)
	}
	keys := make([]string, 0, len(meta.Annotations))
	for k := range meta.Annotations {
		if strings.Contains(strings.ToLower(k), "scale") && !strings.Contains(k, "last-applied") {
			keys = append(keys, k)
		}
	}
	slices.Sort(keys)
	for _, k := range keys {
		parts = append(parts, fmt.Sprintf("annotation %s=%s", k, clip(meta.Annotations[k], 80)))
	}
	return strings.Join(parts, ", ")
}

// latestEvidenceTime is the newest time the evidence states (the alert's
// start, event timestamps, container state changes), standing for "now" in
// durations; zero when none is known.
func (d *diag) latestEvidenceTime() time.Time {
	var t time.Time
	later := func(x time.Time) {
		if x.After(t) {
			t = x
		}
	}
	if d.s.Alert != nil {
		later(d.s.Alert.StartsAt)
	}
	for i := range d.s.Events {
		later(d.s.Events[i].LastTimestamp.Time)
		later(d.s.Events[i].EventTime.Time)
	}
	return t
}
