package k8s

import (
	"fmt"
	"regexp"
	"sort"
	"strconv"
	"strings"

	corev1 "k8s.io/api/core/v1"

	"github.com/k8flex/k8flex/investigate"
)

var (
	// reSaturation matches a server refusing more connections or
	// clients, and a client pool that cannot get one, as databases,
	// caches, brokers, poolers and their drivers print it.
	reSaturation = regexp.MustCompile(`(?i)too many (?:clients|connections|open connections)|remaining connection slots are reserved|no more connections allowed|max(?:imum)? number of (?:clients|connections)(?: reached| exceeded)?|connection limit (?:exceeded|reached)|max_user_connections|max_client_conn|(?:connection )?pool (?:is )?(?:exhausted|empty)|connection is not available, request timed out|timeout waiting for (?:idle object|connection from pool)|unable to acquire (?:a )?connection|queuepool limit`)
	// reConnLimit matches a connection limit set in configuration.
	reConnLimit = regexp.MustCompile(`(?i)\b(max_connections|maxclients|max_client_conn|max_user_connections|max[_-]?conn(?:ection)?s|connection[_-]?limit)\b["']?\s*[=:]?\s*["']?(\d+)`)
	// rePoolSize matches a client pool size in a log line or key=value
	// text (maxPoolSize=45, pool_size: 20).
	rePoolSize = regexp.MustCompile(`(?i)\b((?:max(?:imum)?[_-]?)?pool[_-]?(?:size|max)|max[_-]?pool(?:[_-]?size)?)\b["']?\s*[=:]\s*["']?(\d+)`)
	// rePoolEnv matches the name of an environment variable that sets a
	// client pool's size.
	rePoolEnv = regexp.MustCompile(`(?i)pool.*(max|size)|max.*pool|max.*conn`)
)

// diagnoseSaturation reports a dependency that is up but refuses more
// work: its pods run Ready, and its log or its callers' logs say its
// connection limit is reached. The limit is read from the dependency's
// configuration (args, env, the ConfigMaps it mounts) and set against
// the callers' demand: replicas × client pool size, and the scaling
// (HPA) that raised the replicas.
func diagnoseSaturation(d *diag) []investigate.Finding {
	lines := d.saturationLines()
	if len(lines) == 0 {
		return nil
	}
	var out []investigate.Finding
	for i := range d.s.Services {
		svc := &d.s.Services[i]
		if len(svc.Spec.Selector) == 0 {
			continue
		}
		backing := d.selectedPods(svc.Namespace, svc.Spec.Selector)
		if len(backing) == 0 || d.anyTarget(backing) {
			continue
		}
		var up []*corev1.Pod
		for _, p := range backing {
			if podProblem(p) == "" {
				up = append(up, p)
			}
		}
		if len(up) == 0 {
			continue // a dependency that is down: the dependency rule says so
		}
		depLine := ""
		for _, p := range backing {
			if l := lines[podKey(p)]; l != "" {
				depLine = p.Name + ": " + l
				break
			}
		}
		callers := d.callersOf(svc)
		callerLine := ""
		for _, p := range callers {
			if l := lines[podKey(p)]; l != "" {
				callerLine = p.Name + ": " + l
				break
			}
		}
		if depLine == "" && (callerLine == "" || len(d.configuredDeps(callers)) != 1) {
			// Without the dependency's own word, a caller's pool error
			// is pinned on it only when it is the one dependency the
			// callers are configured with.
			continue
		}
		out = append(out, d.saturationFinding(svc, up, callers, depLine, callerLine))
	}
	return out
}

func (d *diag) anyTarget(ps []*corev1.Pod) bool {
	for _, p := range ps {
		if d.target[podKey(p)] {
			return true
		}
	}
	return false
}

// saturationLines returns, per pod ("ns/name"), the last line of its
// logs that says a connection limit was hit.
func (d *diag) saturationLines() map[string]string {
	var out map[string]string
	for _, l := range d.s.Logs {
		for i := len(l.Lines) - 1; i >= 0; i-- {
			if mayBeSaturation(l.Lines[i]) && reSaturation.MatchString(l.Lines[i]) {
				if out == nil {
					out = map[string]string{}
				}
				if k := l.Namespace + "/" + l.Pod; out[k] == "" {
					out[k] = clip(l.Lines[i], 300)
				}
				break
			}
		}
	}
	return out
}

// saturationKeys are fragments, one of which every reSaturation match
// holds (in lower or upper case).
var saturationKeys = []string{"oo many", "OO MANY", "slots", "SLOTS", "allowed", "ALLOWED", "umber of", "UMBER OF", "imit", "IMIT",
	"_conn", "_CONN", "xhausted", "XHAUSTED", "mpty", "MPTY", "not available", "NOT AVAILABLE", "aiting for", "AITING FOR", "cquire", "CQUIRE"}

// mayBeSaturation is a cheap filter before reSaturation.
func mayBeSaturation(line string) bool {
	for _, k := range saturationKeys {
		if strings.Contains(line, k) {
			return true
		}
	}
	return false
}

// callersOf returns the investigated pods whose configuration (env,
// args, the ConfigMaps they reference) names the Service.
func (d *diag) callersOf(svc *corev1.Service) []*corev1.Pod {
	var out []*corev1.Pod
	for _, p := range d.pods {
		if d.target[podKey(p)] && d.refersTo(p, svc) {
			out = append(out, p)
		}
	}
	return out
}

// configuredDeps returns the Services of the snapshot the pods'
// configuration names.
func (d *diag) configuredDeps(ps []*corev1.Pod) []string {
	var out []string
	for i := range d.s.Services {
		svc := &d.s.Services[i]
		for _, p := range ps {
			if d.refersTo(p, svc) {
				out = appendUnique(out, svc.Namespace+"/"+svc.Name)
				break
			}
		}
	}
	return out
}

func (d *diag) refersTo(p *corev1.Pod, svc *corev1.Service) bool {
	names := func(t string) bool {
		if strings.Contains(t, svc.Name+"."+svc.Namespace) {
			return true
		}
		return p.Namespace == svc.Namespace && hostPortMentions(t, svc.Name)
	}
	for _, t := range d.configTexts(p) {
		if names(t.text) {
			return true
		}
	}
	return false
}

type configText struct{ where, key, text string }

// configTexts returns where a pod's configuration is written: env
// values, args and command, and the data of the ConfigMaps it references
// (env, envFrom, volumes) that the snapshot holds.
func (d *diag) configTexts(p *corev1.Pod) []configText {
	var out []configText
	for _, c := range append(append([]corev1.Container{}, p.Spec.InitContainers...), p.Spec.Containers...) {
		for _, e := range c.Env {
			if e.Value != "" {
				out = append(out, configText{"env of container " + c.Name, e.Name, e.Value})
			}
		}
		out = append(out, configText{"args of container " + c.Name, "", strings.Join(append(append([]string{}, c.Command...), c.Args...), " ")})
	}
	for _, ref := range configMapRefs(p) {
		for _, cm := range d.s.ConfigMaps {
			if cm.Namespace != ref.ns || cm.Name != ref.name {
				continue
			}
			keys := make([]string, 0, len(cm.Data))
			for k := range cm.Data {
				keys = append(keys, k)
			}
			sort.Strings(keys)
			for _, k := range keys {
				out = append(out, configText{"ConfigMap " + cm.Namespace + "/" + cm.Name, k, cm.Data[k]})
			}
		}
	}
	return out
}

// connLimit finds the connection limit in the pods' configuration:
// "max_connections = 200 (ConfigMap db/pg-config, key postgresql.conf)".
func (d *diag) connLimit(ps []*corev1.Pod) (limit int, desc string) {
	for _, p := range ps {
		for _, t := range d.configTexts(p) {
			text := t.text
			if t.key != "" && !strings.Contains(t.where, "ConfigMap") {
				text = t.key + "=" + t.text // env NAME=value
			}
			for _, line := range strings.Split(text, "\n") {
				line = strings.TrimSpace(line)
				if strings.HasPrefix(line, "#") || strings.HasPrefix(line, "//") {
					continue
				}
				m := reConnLimit.FindStringSubmatch(line)
				if m == nil {
					continue
				}
				n, err := strconv.Atoi(m[2])
				if err != nil || n == 0 {
					continue
				}
				where := t.where
				if t.key != "" && strings.Contains(t.where, "ConfigMap") {
					where += ", key " + t.key
				}
				return n, fmt.Sprintf("%s = %d (%s)", m[1], n, where)
			}
		}
	}
	return 0, ""
}

// poolSize finds the client pool size a pod is configured with (an env
// variable or ConfigMap key naming a pool's size or maximum), else the
// one its log prints.
func (d *diag) poolSize(p *corev1.Pod) (int, string) {
	for _, t := range d.configTexts(p) {
		if t.key != "" && !strings.Contains(t.where, "ConfigMap") && rePoolEnv.MatchString(t.key) {
			if n, err := strconv.Atoi(strings.TrimSpace(t.text)); err == nil && n > 0 {
				return n, fmt.Sprintf("env %s=%d", t.key, n)
			}
		}
		if strings.Contains(t.where, "ConfigMap") {
			if m := rePoolSize.FindStringSubmatch(t.text); m != nil {
				n, _ := strconv.Atoi(m[2])
				if n > 0 {
					return n, fmt.Sprintf("%s=%d in %s, key %s", m[1], n, t.where, t.key)
				}
			}
		}
	}
	for _, l := range d.s.Logs {
		if l.Namespace != p.Namespace || l.Pod != p.Name {
			continue
		}
		for _, line := range l.Lines {
			if m := rePoolSize.FindStringSubmatch(line); m != nil {
				n, _ := strconv.Atoi(m[2])
				if n > 0 {
					return n, fmt.Sprintf("%s=%d in the log of %s", m[1], n, p.Name)
				}
			}
		}
	}
	return 0, ""
}

// workloadReplicas returns the replicas of the pod's workload (status of
// its Deployment or StatefulSet when known, else the known pods of the
// same owner) and the workload's name.
func (d *diag) workloadReplicas(p *corev1.Pod) (int, string) {
	owner := ownerName(p)
	kind, name, _ := strings.Cut(owner, "/")
	switch kind {
	case "deployment":
		for _, x := range d.s.Deployments {
			if x.Namespace == p.Namespace && x.Name == name {
				return int(x.Status.Replicas), owner
			}
		}
	case "statefulset":
		for _, x := range d.s.StatefulSets {
			if x.Namespace == p.Namespace && x.Name == name {
				return int(x.Status.Replicas), owner
			}
		}
	}
	n := 0
	for _, q := range d.pods {
		if q.Namespace == p.Namespace && ownerName(q) == owner && owner != "" && q.Status.Phase == corev1.PodRunning {
			n++
		}
	}
	if owner == "" {
		return 1, "pod/" + p.Name
	}
	return n, owner
}

// scaleUp returns the newest scale-up of the workload: the HPA's
// SuccessfulRescale event, else the Deployment's ScalingReplicaSet.
func (d *diag) scaleUp(ns, owner string) string {
	kind, name, _ := strings.Cut(owner, "/")
	var best *corev1.Event
	for _, h := range d.s.HorizontalPodAutoscalers {
		if h.Namespace != ns || !strings.EqualFold(h.Spec.ScaleTargetRef.Kind, kind) || h.Spec.ScaleTargetRef.Name != name {
			continue
		}
		for _, e := range d.events[objKey{"HorizontalPodAutoscaler", ns, h.Name}] {
			if e.Reason == "SuccessfulRescale" && (best == nil || eventTime(e).After(eventTime(best))) {
				best = e
			}
		}
		if best != nil {
			return fmt.Sprintf("HorizontalPodAutoscaler %s rescaled %s at %s (%s; bounds %d-%d replicas)", h.Name, owner, eventTime(best).UTC().Format("2006-01-02T15:04:05Z"), strings.TrimSpace(best.Message), minReplicas(h.Spec.MinReplicas), h.Spec.MaxReplicas)
		}
		return fmt.Sprintf("HorizontalPodAutoscaler %s drives %s (%d current, %d-%d replicas)", h.Name, owner, h.Status.CurrentReplicas, minReplicas(h.Spec.MinReplicas), h.Spec.MaxReplicas)
	}
	for _, e := range d.events[objKey{"Deployment", ns, name}] {
		if e.Reason == "ScalingReplicaSet" && strings.Contains(e.Message, "Scaled up") && (best == nil || eventTime(e).After(eventTime(best))) {
			best = e
		}
	}
	if best != nil {
		return fmt.Sprintf("%s at %s", strings.TrimSpace(best.Message), eventTime(best).UTC().Format("2006-01-02T15:04:05Z"))
	}
	return ""
}

func minReplicas(p *int32) int32 {
	if p == nil {
		return 1
	}
	return *p
}

func (d *diag) saturationFinding(svc *corev1.Service, up, callers []*corev1.Pod, depLine, callerLine string) investigate.Finding {
	ref := svc.Namespace + "/" + svc.Name
	names := make([]string, 0, len(up))
	for _, p := range up {
		names = append(names, p.Name)
	}
	sum := fmt.Sprintf("Service %s is up (%s Running and Ready) but refuses more connections: its connection limit is exhausted", ref, joinNames(names))
	objects := []string{"service/" + ref}
	for _, p := range up {
		objects = append(objects, podRef(p))
	}
	var proof []string
	if depLine != "" {
		proof = append(proof, depLine)
	}
	if callerLine != "" {
		proof = append(proof, callerLine)
	}
	limit, limitDesc := d.connLimit(up)
	if limitDesc != "" {
		sum += ": " + limitDesc
		proof = append(proof, limitDesc)
	}
	// Demand: replicas × pool size of each calling workload.
	total, parts := 0, []string(nil)
	seen := map[string]bool{}
	var scaling []string
	for _, p := range callers {
		reps, owner := d.workloadReplicas(p)
		if seen[owner] {
			continue
		}
		seen[owner] = true
		objects = append(objects, owner)
		pool, poolDesc := d.poolSize(p)
		if pool == 0 || reps == 0 {
			parts = append(parts, fmt.Sprintf("%s (%d replicas, pool size unknown)", owner, reps))
			total = -1
		} else {
			parts = append(parts, fmt.Sprintf("%s runs %d replicas × a pool of %d connections (%s) = %d", owner, reps, pool, poolDesc, reps*pool))
			proof = append(proof, poolDesc+" of "+owner)
			if total >= 0 {
				total += reps * pool
			}
		}
		if s := d.scaleUp(p.Namespace, owner); s != "" {
			scaling = append(scaling, s)
			proof = append(proof, s)
		}
	}
	if len(parts) > 0 {
		sum += "; " + strings.Join(parts, "; ")
		if total > 0 && limit > 0 {
			in := " connections"
			if len(parts) > 1 {
				in = fmt.Sprintf(", %d connections in all", total)
			}
			if total >= limit {
				sum += fmt.Sprintf("%s, above the limit of %d", in, limit)
			} else {
				sum += fmt.Sprintf("%s of the limit's %d; other clients hold the rest", in, limit)
			}
		}
	}
	if len(scaling) > 0 {
		sum += "; " + strings.Join(scaling, "; ")
	}
	if depLine == "" && callerLine != "" {
		sum += fmt.Sprintf(". The callers log: %q", clip(strings.SplitN(callerLine, ": ", 2)[1], 160))
	} else if depLine != "" {
		sum += fmt.Sprintf(". It logs: %q", clip(strings.SplitN(depLine, ": ", 2)[1], 160))
	}
	act := []string{
		"Size the client pools to the dependency: replicas (HPA maxReplicas) × pool size of every caller must stay below the connection limit; lower the pool size or cap the HPA's maxReplicas.",
		fmt.Sprintf("Or raise the limit on %s (and its memory), or put a connection pooler in front of it.", ref),
	}
	return investigate.Finding{
		Rule: "dependency-saturated", Severity: investigate.FindingCritical, Score: scoreCause + 5,
		Summary: sum + ".",
		Detail:  "The dependency runs and passes its probes, so its Service has endpoints; it rejects new connections beyond its configured limit, and callers whose pool cannot open connections time out or return errors.",
		Objects: objects, Proof: proof, Actions: act,
		Prevention: "Budget connections per caller (pool size × max replicas) against the dependency's limit in review, alert on the dependency's connection usage, and use a pooler for autoscaled callers.",
		Impact:     fmt.Sprintf("Requests that need %s fail or wait for a connection; new replicas of the callers get none.", svc.Name),
	}
}
