package k8s

import (
	"fmt"
	"strings"

	corev1 "k8s.io/api/core/v1"

	"github.com/k8flex/k8flex/investigate"
)

// diagnoseLifecycleHooks reports containers whose lifecycle hooks fail.
// The kubelet runs a postStart hook right after it starts the container,
// concurrently with its entrypoint; when the hook fails (an exec command
// exits non-zero, an HTTP call is refused or returns an error) it records
// FailedPostStartHook, kills the container (a Killing event with message
// FailedPostStartHook) and the container restarts into CrashLoopBackOff
// (waiting reason PostStartHookError, with the hook's error as message)
// however healthy its own process is. A failing preStop hook (event
// FailedPreStopHook) does not stop the container from being stopped: it is
// killed without the drain the hook was meant to do. The finding names the
// container, the hook as the pod spec declares it and the kubelet's error.
func diagnoseLifecycleHooks(d *diag) []investigate.Finding {
	var out []investigate.Finding
	seen := map[string]bool{} // owner|container|hook: one finding per workload
	for _, p := range d.pods {
		if !d.target[podKey(p)] {
			continue
		}
		for i := range p.Spec.Containers {
			c := &p.Spec.Containers[i]
			if c.Lifecycle == nil {
				continue
			}
			for _, hook := range []string{"postStart", "preStop"} {
				h := c.Lifecycle.PostStart
				if hook == "preStop" {
					h = c.Lifecycle.PreStop
				}
				if h == nil {
					continue
				}
				msg, proof := d.hookFailure(p, c.Name, hook)
				if len(proof) == 0 {
					continue
				}
				key := p.Namespace + "|" + ownerName(p) + "|" + c.Name + "|" + hook
				if ownerName(p) == "" {
					key += "|" + p.Name
				}
				if seen[key] {
					continue
				}
				seen[key] = true
				out = append(out, hookFinding(p, c, hook, h, msg, proof))
			}
		}
	}
	return out
}

// hookFailure returns the kubelet's account of a failed hook of the
// container: the detailed error (from the PostStartHookError waiting
// state, when present) and the proof lines; no proof when it did not fail.
func (d *diag) hookFailure(p *corev1.Pod, container, hook string) (msg string, proof []string) {
	reason, kill := "FailedPreStopHook", ""
	if hook == "postStart" {
		reason, kill = "FailedPostStartHook", "FailedPostStartHook"
		for _, cs := range p.Status.ContainerStatuses {
			if cs.Name == container && cs.State.Waiting != nil && cs.State.Waiting.Reason == "PostStartHookError" {
				msg = strings.TrimSpace(cs.State.Waiting.Message)
				proof = append(proof, fmt.Sprintf("pod %s container %s: waiting reason=PostStartHookError: %s (restarts %d)", p.Name, container, clip(msg, 300), cs.RestartCount))
			}
		}
	}
	fieldPath := "spec.containers{" + container + "}"
	for _, e := range d.podEvents(p) {
		if e.InvolvedObject.FieldPath != "" && e.InvolvedObject.FieldPath != fieldPath {
			continue
		}
		switch {
		case e.Reason == reason:
			proof = appendUnique(proof, "pod "+p.Name+": "+evProof(e))
			if msg == "" && strings.Contains(e.Message, "lifecycle hook") {
				msg = strings.TrimSpace(e.Message)
			}
		case kill != "" && e.Reason == "Killing" && strings.Contains(e.Message, kill):
			proof = appendUnique(proof, "pod "+p.Name+": "+evProof(e))
		}
	}
	return msg, proof
}

// describeHook renders a hook as the pod spec declares it.
func describeHook(h *corev1.LifecycleHandler) string {
	switch {
	case h.Exec != nil:
		return fmt.Sprintf("exec %q", strings.Join(h.Exec.Command, " "))
	case h.HTTPGet != nil:
		scheme := strings.ToLower(string(h.HTTPGet.Scheme))
		if scheme == "" {
			scheme = "http"
		}
		host := h.HTTPGet.Host
		if host == "" {
			host = "<pod IP>"
		}
		return fmt.Sprintf("httpGet %s://%s:%s%s", scheme, host, h.HTTPGet.Port.String(), h.HTTPGet.Path)
	case h.Sleep != nil:
		return fmt.Sprintf("sleep %ds", h.Sleep.Seconds)
	}
	return "handler"
}

func hookFinding(p *corev1.Pod, c *corev1.Container, hook string, h *corev1.LifecycleHandler, msg string, proof []string) investigate.Finding {
	where := "pod " + p.Namespace + "/" + p.Name
	objs := []string{"pod/" + p.Namespace + "/" + p.Name}
	if o := ownerName(p); o != "" {
		kind, name, _ := strings.Cut(o, "/")
		where = fmt.Sprintf("%s %s/%s", ownerKindTitle(o), p.Namespace, name)
		objs = append([]string{kind + "/" + p.Namespace + "/" + name}, objs...)
	}
	desc := describeHook(h)
	why := ""
	switch {
	case msg == "":
	case strings.Contains(msg, "connection refused"):
		why = ": the hook calls the container before its process listens (postStart runs concurrently with the entrypoint, not after it is ready)"
	case strings.Contains(msg, "executable file not found") || strings.Contains(msg, "no such file or directory"):
		why = ": the command does not exist in the container's image"
	case strings.Contains(msg, "exit code") || strings.Contains(msg, "exited with"):
		why = ": the command exits non-zero"
	}
	proof = append([]string{fmt.Sprintf("pod %s container %s lifecycle.%s: %s", p.Name, c.Name, hook, desc)}, proof...)
	f := investigate.Finding{Rule: "lifecycle-hook", Objects: objs, Proof: proof,
		Actions: []string{fmt.Sprintf("kubectl get pod -n %s %s -o jsonpath='{.spec.containers[?(@.name==\"%s\")].lifecycle}'", p.Namespace, p.Name, c.Name),
			fmt.Sprintf("kubectl describe pod -n %s %s   # the hook's events and the container's last state", p.Namespace, p.Name)},
	}
	detail := ""
	if msg != "" {
		detail = " The kubelet reports: " + clip(msg, 300) + "."
	}
	if hook == "postStart" {
		f.Severity, f.Score, f.Category = investigate.FindingCritical, scoreCause, investigate.PodCrash
		f.Summary = fmt.Sprintf("The postStart hook of container %s in %s fails (%s)%s, so the kubelet kills the container after every start and it restarts (FailedPostStartHook).%s",
			c.Name, where, desc, why, detail)
		f.Detail = "A postStart hook runs right after the container is created, at the same time as its entrypoint; if it fails the kubelet kills the container, however healthy its process is, and the restarts back off into CrashLoopBackOff."
		f.Actions = append(f.Actions, "Fix the hook (make it wait for the process, or tolerate its failure with `|| true`) or move its work into the entrypoint or an init container.")
		f.Impact = fmt.Sprintf("Container %s never stays up: %s serves nothing from the affected pods.", c.Name, where)
		f.Prevention = "Keep postStart hooks idempotent and tolerant of a process that is still starting; test them in the image's CI."
		return f
	}
	f.Severity, f.Score = investigate.FindingWarning, scoreMechanism
	f.Summary = fmt.Sprintf("The preStop hook of container %s in %s fails (%s)%s (FailedPreStopHook), so the container is stopped without the drain the hook should do.%s",
		c.Name, where, desc, why, detail)
	f.Detail = "The kubelet runs preStop before sending SIGTERM; when it fails the kubelet goes on stopping the container, so in-flight requests are cut and endpoints may still route to it."
	f.Impact = "Requests in flight fail during rollouts, scale-downs and node drains."
	f.Prevention = "Test the preStop command in the image; prefer a sleep hook plus graceful SIGTERM handling."
	return f
}
