package k8s

import (
	"fmt"
	"sort"
	"strings"
	"unicode/utf8"

	corev1 "k8s.io/api/core/v1"

	"github.com/k8flex/k8flex/investigate"
)

// routineWarnings are Warning reasons that only repeat a failure other
// evidence states better (the crash-loop back-off, probe failures, the
// scheduler's and the image puller's messages, which rules of their own
// explain), or that say nothing about a cause. Other reasons, "Failed"
// included, stay: a rule that explains one cites its message, and cited
// messages are skipped.
var routineWarnings = map[string]bool{
	"BackOff": true, "Unhealthy": true, "FailedScheduling": true, "ProbeWarning": true, "DNSConfigForming": true,
}

// diagnoseWarningEvents turns the Warning events of the objects under
// investigation that no other finding cites into findings of their own:
// the kubelet's and the controllers' messages are Kubernetes' own account
// of what failed (a sandbox without an IP, a volume attached elsewhere, a
// hook that failed), and where no rule knows the reason, the message is
// the best evidence there is. They rank above the generic symptoms
// (crash loop, no ready endpoints) and below any rule that explains a
// cause, and are never more than three.
func diagnoseWarningEvents(d *diag, cited []investigate.Finding) []investigate.Finding {
	citedText := ""
	for _, f := range cited {
		citedText += f.Summary + "\n" + strings.Join(f.Proof, "\n") + "\n"
	}
	type cand struct {
		e      *corev1.Event
		weight int64
	}
	var cands []cand
	n := min(d.s.InvolvedEvents, len(d.s.Events))
	if d.s.InvolvedEvents == 0 {
		n = len(d.s.Events) // a snapshot built without the collectors
	}
	seen := map[string]bool{}
	for i := range n {
		e := &d.s.Events[i]
		if e.Type != corev1.EventTypeWarning || routineWarnings[e.Reason] || strings.TrimSpace(e.Message) == "" {
			continue
		}
		if !d.eventConcernsTarget(e) && !graphKinds[e.InvolvedObject.Kind] {
			continue
		}
		msg := strings.TrimSpace(e.Message)
		if strings.Contains(citedText, cutUTF8Prefix(msg, 120)) {
			continue
		}
		key := e.Reason + "|" + repeatKey(msg)
		if seen[key] {
			continue
		}
		seen[key] = true
		w := int64(max(e.Count, 1))
		if !e.LastTimestamp.IsZero() {
			w += e.LastTimestamp.Unix() / 3600 // newer first among equals
		}
		cands = append(cands, cand{e, w})
	}
	sort.SliceStable(cands, func(i, j int) bool { return cands[i].weight > cands[j].weight })
	var out []investigate.Finding
	for i, c := range cands {
		if i == 3 {
			break
		}
		e := c.e
		obj := strings.ToLower(e.InvolvedObject.Kind) + "/"
		if e.InvolvedObject.Namespace != "" {
			obj += e.InvolvedObject.Namespace + "/"
		}
		obj += e.InvolvedObject.Name
		sum := fmt.Sprintf("%s %s reports %s", e.InvolvedObject.Kind, qualified(e.InvolvedObject.Namespace, e.InvolvedObject.Name), e.Reason)
		if e.Count > 1 {
			sum += fmt.Sprintf(" (%d times)", e.Count)
		}
		sum += ": " + clip(strings.TrimSpace(e.Message), 400)
		if src := e.Source.Component; src != "" {
			sum += " (from " + src + ")"
		}
		out = append(out, investigate.Finding{
			Rule: "warning-event", Severity: investigate.FindingWarning, Score: scoreSymptom + 8 - i,
			Summary: strings.TrimSuffix(sum, ".") + ".", Objects: []string{obj}, Proof: []string{evProof(e)},
			Actions: []string{fmt.Sprintf("kubectl describe %s -n %s %s   # the full event history", strings.ToLower(e.InvolvedObject.Kind), e.InvolvedObject.Namespace, e.InvolvedObject.Name)},
		})
	}
	return out
}

// graphKinds are the kinds whose involved events (those the collectors
// kept because the object is in the target's graph: the HPA scaling the
// workload, its CronJob, a PDB or Service selecting its pods, an Ingress
// routing to them) concern the investigation whatever pod they name.
var graphKinds = map[string]bool{
	"HorizontalPodAutoscaler": true, "CronJob": true, "PodDisruptionBudget": true, "Service": true,
	"Ingress": true, "PersistentVolume": true, "StatefulSet": true, "DaemonSet": true, "Deployment": true,
}

// eventConcernsTarget reports whether an event is about a pod under
// investigation, the workload or claim behind one, or the node one runs on.
func (d *diag) eventConcernsTarget(e *corev1.Event) bool {
	io := e.InvolvedObject
	for _, p := range d.pods {
		if !d.target[podKey(p)] {
			continue
		}
		switch io.Kind {
		case "Pod":
			if io.Namespace == p.Namespace && io.Name == p.Name {
				return true
			}
		case "Node":
			if io.Name != "" && io.Name == p.Spec.NodeName {
				return true
			}
		case "PersistentVolumeClaim":
			for _, v := range p.Spec.Volumes {
				if v.PersistentVolumeClaim != nil && io.Namespace == p.Namespace && v.PersistentVolumeClaim.ClaimName == io.Name {
					return true
				}
			}
		default:
			if io.Namespace != p.Namespace {
				continue
			}
			for _, o := range p.OwnerReferences {
				if o.Kind == io.Kind && o.Name == io.Name {
					return true
				}
			}
			if owner := ownerName(p); owner == strings.ToLower(io.Kind)+"/"+io.Name {
				return true
			}
		}
	}
	// A workload investigated with no pod at all (it cannot create them).
	return len(d.target) == 0 && io.Kind != "Node"
}

func qualified(ns, name string) string {
	if ns == "" {
		return name
	}
	return ns + "/" + name
}

// cutUTF8Prefix returns at most the first n bytes of s, ending on a rune
// boundary and without an ellipsis (for substring tests).
func cutUTF8Prefix(s string, n int) string {
	if len(s) <= n {
		return s
	}
	for n > 0 && !utf8.RuneStart(s[n]) {
		n--
	}
	return s[:n]
}
