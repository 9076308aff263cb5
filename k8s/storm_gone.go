package k8s

import (
	"context"
	"fmt"
	"strings"

	corev1 "k8s.io/api/core/v1"

	"github.com/k8flex/k8flex/investigate"
	"github.com/k8flex/k8flex/redact"
)

// maxGoneEvents bounds the events of a vanished target that are kept.
const maxGoneEvents = 10

// goneTarget is an alert's target that no longer exists and left nothing
// to investigate: no pod of its owner, no owner.
type goneTarget struct {
	kind  investigate.Kind
	name  string
	owner investigate.Ref // the owner its labels or name implied (may be zero)
}

// goneSnapshot is what a Gatherer returns for a gone target: one short
// statement ("target gone") and the target's last events, instead of the
// collectors' sections (which would be a string of "not found" evidence
// that a model can only guess about). A storm of alerts for pods that no
// longer exist costs one API request per alert (the 404), plus reads from
// the shared cache.
type goneSnapshot struct {
	target   investigate.Target
	gone     goneTarget
	events   []corev1.Event
	gaps     []investigate.Gap
	requests int
	budget   Budget
}

var _ investigate.Snapshot = (*goneSnapshot)(nil)

// goneSnapshot builds the snapshot of a gone target; the target's own
// events (which outlive it) come from the namespace's event list in the
// shared cache.
func (r *run) goneSnapshot(ctx context.Context) *goneSnapshot {
	g := &goneSnapshot{target: r.snap.Target, gone: *r.gone, budget: r.g.budget}
	if r.ns != "" {
		cctx, cancel := context.WithTimeout(ctx, r.g.timeout)
		list, err := r.listEvents(cctx, r.ns)
		cancel()
		if err != nil {
			r.gap("events", err)
		}
		kind := kindName(g.gone.kind)
		for _, e := range list {
			if e.InvolvedObject.Name == g.gone.name && e.InvolvedObject.Kind == kind {
				g.events = append(g.events, e)
			}
		}
		sortEvents(g.events)
		if len(g.events) > maxGoneEvents {
			g.events = g.events[len(g.events)-maxGoneEvents:]
		}
	}
	g.gaps = r.snap.Gaps
	g.requests = int(r.requests.Load())
	return g
}

// kindName returns the API kind of a target kind ("pod" -> "Pod").
func kindName(k investigate.Kind) string {
	switch k {
	case investigate.KindStatefulSet:
		return "StatefulSet"
	case investigate.KindDaemonSet:
		return "DaemonSet"
	}
	s := string(k)
	if s == "" {
		return ""
	}
	return strings.ToUpper(s[:1]) + s[1:]
}

func (g *goneSnapshot) object() string {
	if g.target.Namespace == "" {
		return string(g.gone.kind) + "/" + g.gone.name
	}
	return string(g.gone.kind) + "/" + g.target.Namespace + "/" + g.gone.name
}

// summary is the one statement the snapshot makes.
func (g *goneSnapshot) summary() string {
	s := fmt.Sprintf("Target gone: %s no longer exists", g.object())
	switch {
	case !g.gone.owner.IsZero():
		s += fmt.Sprintf(", and neither its owner %s/%s nor any of its pods exist", g.gone.owner.Kind, g.gone.owner.Name)
	case g.gone.kind == investigate.KindPod:
		s += " and its name implies no owner"
	default:
		s += " and no pod of it remains"
	}
	return s + "; the alert describes something that is no longer running."
}

func (g *goneSnapshot) eventLines() []string {
	out := make([]string, 0, len(g.events))
	for i := range g.events {
		out = append(out, renderEvent(&g.events[i]))
	}
	return out
}

// Diagnose returns one finding: the target is gone (with its last events as
// proof when they outlived it).
func (g *goneSnapshot) Diagnose() []investigate.Finding {
	ns := g.target.Namespace
	actions := []string{
		"Check whether the alert still fires or is stale (it resolves once its series disappears): " +
			fmt.Sprintf("`amtool alert query %s`.", g.amtoolMatchers()),
	}
	if ns != "" {
		actions = append(actions, fmt.Sprintf("Look for what removed it: `kubectl get events -n %s --field-selector involvedObject.name=%s`.", ns, g.gone.name))
	}
	if !g.gone.owner.IsZero() {
		actions = append(actions, fmt.Sprintf("If %s/%s should exist, check who deleted it (audit log) and redeploy it.", g.gone.owner.Kind, g.gone.owner.Name))
	}
	f := investigate.Finding{
		Rule:     "target-gone",
		Severity: investigate.FindingInfo,
		Score:    scoreContext,
		Summary:  redact.String(g.summary()),
		Objects:  []string{g.object()},
		Proof:    g.eventLines(),
		Actions:  actions,
		Impact:   "Nothing is running under this name any more; if the alert keeps firing, its rule or its labels are stale.",
	}
	return []investigate.Finding{f}
}

// Evidence renders one section: the statement and the target's last events.
func (g *goneSnapshot) Evidence() investigate.Evidence {
	var b strings.Builder
	b.WriteString(g.summary() + "\n")
	if lines := g.eventLines(); len(lines) > 0 {
		b.WriteString("Its last events:\n")
		for _, l := range lines {
			b.WriteString(l + "\n")
		}
	}
	body, cut := fit(redact.String(strings.TrimRight(b.String(), "\n")), g.budget.SectionBytes, true)
	return investigate.Evidence{
		Target:      g.target,
		Sections:    []investigate.Section{{Name: "target/gone", Title: "Target gone", Priority: prioCritical, Body: body, Truncated: cut}},
		Gaps:        g.gaps,
		APIRequests: g.requests,
		TargetGone:  true,
	}
}

// amtoolMatchers selects the alert's series by the target it names.
func (g *goneSnapshot) amtoolMatchers() string {
	var m []string
	if g.target.Namespace != "" {
		m = append(m, "namespace="+g.target.Namespace)
	}
	if g.target.Pod != "" {
		m = append(m, "pod="+g.target.Pod)
	} else if g.gone.name != "" {
		m = append(m, string(g.target.Kind)+"="+g.gone.name)
	}
	return strings.Join(m, " ")
}
