package k8s

import (
	"context"
	"errors"
	"slices"
	"sort"
	"strings"
	"time"

	corev1 "k8s.io/api/core/v1"
)

const (
	// maxNamespaceEvents is how many of the namespace's other events are kept.
	maxNamespaceEvents = 20
	// maxInvolvedEvents bounds the events of the objects involved (newest kept).
	maxInvolvedEvents = 60
	// maxEventNamespaces bounds the namespaces whose events are listed.
	maxEventNamespaces = 4
)

// involvedObjects lists every object of the snapshot whose events matter,
// and the namespaces they live in (the investigation's first).
func (r *run) involvedObjects() (map[objKey]bool, []string, map[string]bool) {
	r.mu.Lock()
	defer r.mu.Unlock()
	s := r.snap
	objs := map[objKey]bool{}
	var namespaces []string
	addNS := func(ns string) {
		if ns != "" && !slices.Contains(namespaces, ns) {
			namespaces = append(namespaces, ns)
		}
	}
	addNS(r.ns)
	add := func(kind, ns, name string) {
		objs[objKey{kind, ns, name}] = true
		addNS(ns)
	}
	for _, p := range s.Pods {
		add("Pod", p.Namespace, p.Name)
	}
	for _, p := range s.RelatedPods {
		if podTrouble(&p) > 0 || r.node == "" {
			add("Pod", p.Namespace, p.Name)
		}
	}
	if s.DNS != nil {
		for _, p := range s.DNS.Pods {
			add("Pod", p.Namespace, p.Name)
		}
	}
	for _, x := range s.ReplicaSets {
		add("ReplicaSet", x.Namespace, x.Name)
	}
	for _, x := range s.Deployments {
		add("Deployment", x.Namespace, x.Name)
	}
	for _, x := range s.StatefulSets {
		add("StatefulSet", x.Namespace, x.Name)
	}
	for _, x := range s.DaemonSets {
		add("DaemonSet", x.Namespace, x.Name)
	}
	for _, x := range s.Jobs {
		add("Job", x.Namespace, x.Name)
	}
	for _, x := range s.Services {
		add("Service", x.Namespace, x.Name)
	}
	for _, x := range s.PVCs {
		add("PersistentVolumeClaim", x.Namespace, x.Name)
	}
	for _, x := range s.CronJobs {
		add("CronJob", x.Namespace, x.Name)
	}
	for _, x := range s.HorizontalPodAutoscalers {
		add("HorizontalPodAutoscaler", x.Namespace, x.Name)
	}
	for _, x := range s.PodDisruptionBudgets {
		add("PodDisruptionBudget", x.Namespace, x.Name)
	}
	for _, x := range s.Ingresses {
		add("Ingress", x.Namespace, x.Name)
	}
	for _, ref := range s.NotFound {
		// A vanished pod's events outlive it.
		if p := strings.SplitN(ref, "/", 3); len(p) == 3 && p[0] == "pod" {
			add("Pod", p[1], p[2])
		}
	}
	nodes := map[string]bool{}
	for _, n := range s.Nodes {
		nodes[n.Name] = true
	}
	return objs, namespaces, nodes
}

// collectEvents reads the events of every object involved (pods, their
// owners and CronJobs, Services, Ingresses, HPAs, PDBs, PVCs, nodes) and
// then the most recent other events of the investigation's namespace.
// Field selectors narrow what the server sends; the filtering is repeated
// here, so a reader that ignores them cannot widen the evidence.
func collectEvents(ctx context.Context, r *run) error {
	objs, namespaces, nodes := r.involvedObjects()
	former := r.formerPodPrefixes()
	if len(namespaces) > maxEventNamespaces {
		namespaces = namespaces[:maxEventNamespaces]
	}
	var errs []error
	var involved, others []corev1.Event
	seen := map[string]bool{}
	for i, ns := range namespaces {
		list, err := r.listEvents(ctx, ns)
		if err != nil {
			errs = append(errs, err)
			continue
		}
		for _, e := range list {
			if e.Namespace != ns || seen[string(e.UID)+e.Namespace+e.Name] {
				continue
			}
			seen[string(e.UID)+e.Namespace+e.Name] = true
			io := e.InvolvedObject
			switch {
			case objs[objKey{io.Kind, io.Namespace, io.Name}] || formerPod(io, former):
				involved = append(involved, e)
			case i == 0 && (r.ns == "" || ns == r.ns):
				others = append(others, e)
			}
		}
	}
	r.mu.Lock()
	extra := slices.Clone(r.extraEvents)
	r.mu.Unlock()
	for _, e := range extra {
		if !seen[string(e.UID)+e.Namespace+e.Name] {
			seen[string(e.UID)+e.Namespace+e.Name] = true
			involved = append(involved, e)
		}
	}
	if len(nodes) > 0 {
		l, err := r.listNodeEvents(ctx) // shared cache, counted there
		if err != nil {
			errs = append(errs, err)
		} else {
			for _, e := range l {
				if e.InvolvedObject.Kind == "Node" && nodes[e.InvolvedObject.Name] && !seen[string(e.UID)+e.Namespace+e.Name] {
					seen[string(e.UID)+e.Namespace+e.Name] = true
					involved = append(involved, e)
				}
			}
		}
	}
	sortEvents(involved)
	if len(involved) > maxInvolvedEvents {
		involved = involved[len(involved)-maxInvolvedEvents:]
	}
	sortEvents(others)
	if len(others) > maxNamespaceEvents {
		others = others[len(others)-maxNamespaceEvents:]
	}
	r.mu.Lock()
	r.snap.Events = append(append(r.snap.Events, involved...), others...)
	r.snap.InvolvedEvents = len(involved)
	r.mu.Unlock()
	return errors.Join(errs...)
}

// eventTime is when an event last happened.
func eventTime(e *corev1.Event) time.Time {
	switch {
	case !e.LastTimestamp.IsZero():
		return e.LastTimestamp.Time
	case !e.EventTime.IsZero():
		return e.EventTime.Time
	case !e.FirstTimestamp.IsZero():
		return e.FirstTimestamp.Time
	}
	return e.CreationTimestamp.Time
}

// sortEvents orders events oldest first (newest last), ties by name.
func sortEvents(ev []corev1.Event) {
	sort.SliceStable(ev, func(i, j int) bool {
		ti, tj := eventTime(&ev[i]), eventTime(&ev[j])
		if !ti.Equal(tj) {
			return ti.Before(tj)
		}
		if ev[i].Namespace != ev[j].Namespace {
			return ev[i].Namespace < ev[j].Namespace
		}
		return ev[i].Name < ev[j].Name
	})
}
