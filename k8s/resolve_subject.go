package k8s

import (
	"context"
	"errors"
	"fmt"
	"maps"
	"net"
	"slices"
	"sort"
	"strings"

	appsv1 "k8s.io/api/apps/v1"
	batchv1 "k8s.io/api/batch/v1"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/k8flex/k8flex/investigate"
)

// This file resolves the subject of alerts whose labels do not name it
// under the standard keys: a controller of unknown kind (a mesh's
// destination_workload), the pod behind an instance ip:port, and — when
// no label names an object — the workload that carries the alert's
// distinctive label values (Target.Clues) in its name, labels, env
// values or args, or in the ConfigMaps its pod template reads.

// resolveWorkloadKind finds the controller a KindWorkload target names:
// the Deployment, StatefulSet or DaemonSet of that name in the target's
// namespace (every namespace when it has none), from the shared cache's
// lists. A workload found nowhere is taken as a Deployment, which the
// resolver then reports gone.
func (r *run) resolveWorkloadKind(ctx context.Context, t investigate.Target) investigate.Target {
	cands, err := r.workloadCandidates(ctx, t.Namespace, false)
	if err != nil {
		r.gap("resolve", err)
	}
	for _, c := range cands {
		if c.name == t.Workload.Name && (t.Namespace == "" || c.ns == t.Namespace) {
			t.Kind, t.Name, t.Namespace = c.kind, c.name, c.ns
			t.Workload = investigate.Ref{Kind: c.kind, Name: c.name}
			return t
		}
	}
	t.Kind, t.Workload.Kind = investigate.KindDeployment, investigate.KindDeployment
	return t
}

// resolveInstancePod maps the alert's instance ip:port to the pod with
// that IP, in the target's namespace when it has one (the namespace's pod
// list), else across namespaces (one list by status.podIP). An exporter's
// pod (the series' scrape target, not its subject) is not taken; nor is
// a pod of another namespace than the alert names.
func (r *run) resolveInstancePod(ctx context.Context, t investigate.Target) investigate.Target {
	ip := t.IPFromInstance()
	var pods []corev1.Pod
	if t.Namespace != "" {
		all, err := r.listPods(ctx, t.Namespace)
		if err != nil {
			r.gap("resolve", err)
			return t
		}
		pods = all
	} else {
		r.count(1)
		l, err := readList[corev1.PodList](ctx, r.g.api, resPods, "", metav1.ListOptions{FieldSelector: "status.podIP=" + ip})
		if err != nil {
			r.gap("resolve", fmt.Errorf("find the pod of instance %s: %w", t.Instance, err))
			return t
		}
		pods = l.Items
	}
	for i := range pods {
		p := &pods[i]
		if p.Status.PodIP != ip || p.Spec.HostNetwork || exporterPod(p.Name) || isTerminal(p) {
			continue
		}
		r.snap.Resolution = fmt.Sprintf("No label of the alert names a Kubernetes object; its instance %s is the IP of pod %s/%s, which is investigated.", t.Instance, p.Namespace, p.Name)
		t.Kind, t.Name, t.Namespace, t.Pod = investigate.KindPod, p.Name, p.Namespace, p.Name
		return t
	}
	return t
}

// isTerminal reports whether the pod has finished (its IP may be reused).
func isTerminal(p *corev1.Pod) bool {
	return p.Status.Phase == corev1.PodSucceeded || p.Status.Phase == corev1.PodFailed
}

// exporterPod reports whether a pod's name is an exporter's or a
// monitoring agent's: the target a series was scraped from.
func exporterPod(name string) bool {
	for _, x := range []string{"exporter", "kube-state-metrics", "prometheus", "metrics-server", "otel-collector", "grafana-agent", "vmagent"} {
		if strings.Contains(name, x) {
			return true
		}
	}
	return false
}

// candidate is a workload the clue search may pick.
type candidate struct {
	kind     investigate.Kind
	ns, name string
	labels   map[string]string
	tmpl     *corev1.PodTemplateSpec
	// configMaps are the ConfigMaps the pod template reads, as read by
	// attachConfigMaps (absent ones are left out).
	configMaps []configMapRead
}

// configMapRead is one ConfigMap a pod template reads and how.
type configMapRead struct {
	container string // "" for a volume
	how       string // "envFrom", "env" (one key) or "volume"
	key, env  string // "env": the key read and the variable it sets
	cm        *corev1.ConfigMap
}

// maxClueConfigMapNamespaces bounds the namespaces whose ConfigMaps one
// clue search lists (the alert's own namespace first).
const maxClueConfigMapNamespaces = 8

// maxClueConfigMapValue bounds the size of one ConfigMap value the clue
// search scans.
const maxClueConfigMapValue = 256 << 10

// configMapUse is one reference of a pod template to a ConfigMap.
type configMapUse struct {
	container, how, name, key, env string
}

// templateConfigMapUses lists the ConfigMaps a pod template reads through
// envFrom, env valueFrom.configMapKeyRef and (projected) volumes, except
// the kube-root-ca.crt every pod gets.
func templateConfigMapUses(t *corev1.PodTemplateSpec) []configMapUse {
	if t == nil {
		return nil
	}
	var out []configMapUse
	add := func(u configMapUse) {
		if u.name != "" && u.name != "kube-root-ca.crt" && !slices.Contains(out, u) {
			out = append(out, u)
		}
	}
	for _, c := range append(append([]corev1.Container{}, t.Spec.InitContainers...), t.Spec.Containers...) {
		for _, e := range c.EnvFrom {
			if e.ConfigMapRef != nil {
				add(configMapUse{container: c.Name, how: "envFrom", name: e.ConfigMapRef.Name})
			}
		}
		for _, e := range c.Env {
			if e.ValueFrom != nil && e.ValueFrom.ConfigMapKeyRef != nil {
				add(configMapUse{container: c.Name, how: "env", name: e.ValueFrom.ConfigMapKeyRef.Name, key: e.ValueFrom.ConfigMapKeyRef.Key, env: e.Name})
			}
		}
	}
	for _, v := range t.Spec.Volumes {
		if v.ConfigMap != nil {
			add(configMapUse{how: "volume", name: v.ConfigMap.Name})
		}
		if v.Projected != nil {
			for _, src := range v.Projected.Sources {
				if src.ConfigMap != nil {
					add(configMapUse{how: "volume", name: src.ConfigMap.Name})
				}
			}
		}
	}
	return out
}

// attachConfigMaps reads the ConfigMaps the candidates' pod templates
// reference, so the clue search sees what a workload takes from them: one
// cached list per namespace that holds such a candidate, never a
// ConfigMap no candidate references. At most maxClueConfigMapNamespaces
// namespaces are listed: the alert's own first, then those a clue points
// to (a clue value holding the namespace as a dot/dash-separated part, as
// topics, queues and vhosts often do, or a candidate there already
// matching a clue by name, labels, env or args), then in name order.
func (r *run) attachConfigMaps(ctx context.Context, cands []candidate, alertNS string, clues []investigate.Clue) error {
	uses := make([][]configMapUse, len(cands))
	var nss []string
	rank := map[string]int{}
	for i := range cands {
		uses[i] = templateConfigMapUses(cands[i].tmpl)
		if len(uses[i]) == 0 {
			continue
		}
		ns := cands[i].ns
		if !slices.Contains(nss, ns) {
			nss = append(nss, ns)
			rank[ns] = 2
			for _, cl := range clues {
				if len(ns) >= 3 && dashPart(strings.ToLower(cl.Value), ns) {
					rank[ns] = 1
				}
			}
			if ns == alertNS {
				rank[ns] = 0
			}
		}
		if rank[ns] == 2 {
			for _, cl := range clues {
				if sc, _ := matchClue(cl, &cands[i]); sc > 0 {
					rank[ns] = 1
				}
			}
		}
	}
	sort.SliceStable(nss, func(i, j int) bool {
		if rank[nss[i]] != rank[nss[j]] {
			return rank[nss[i]] < rank[nss[j]]
		}
		return nss[i] < nss[j]
	})
	if len(nss) > maxClueConfigMapNamespaces {
		nss = nss[:maxClueConfigMapNamespaces]
	}
	byName := map[string]*corev1.ConfigMap{}
	var errs []error
	for _, ns := range nss {
		cms, err := listNamespace(ctx, r, resConfigMaps, ns, func(l *corev1.ConfigMapList) []corev1.ConfigMap { return l.Items })
		if err != nil {
			errs = append(errs, err)
			continue
		}
		for i := range cms {
			byName[cms[i].Namespace+"/"+cms[i].Name] = &cms[i]
		}
	}
	for i := range cands {
		for _, u := range uses[i] {
			if cm := byName[cands[i].ns+"/"+u.name]; cm != nil {
				cands[i].configMaps = append(cands[i].configMaps, configMapRead{container: u.container, how: u.how, key: u.key, env: u.env, cm: cm})
			}
		}
	}
	return errors.Join(errs...)
}

// workloadCandidates lists the Deployments, StatefulSets and DaemonSets
// (and CronJobs when cron is set) of ns ("" = every namespace) from the
// shared cache, sorted by namespace and name within each kind.
func (r *run) workloadCandidates(ctx context.Context, ns string, cron bool) ([]candidate, error) {
	var out []candidate
	deps, err := listNamespace(ctx, r, resDeployments, ns, func(l *appsv1.DeploymentList) []appsv1.Deployment { return l.Items })
	if err != nil {
		return nil, err
	}
	for i := range deps {
		d := &deps[i]
		out = append(out, candidate{kind: investigate.KindDeployment, ns: d.Namespace, name: d.Name, labels: d.Labels, tmpl: &d.Spec.Template})
	}
	stss, err := listNamespace(ctx, r, resStatefulSets, ns, func(l *appsv1.StatefulSetList) []appsv1.StatefulSet { return l.Items })
	if err != nil {
		return out, err
	}
	for i := range stss {
		s := &stss[i]
		out = append(out, candidate{kind: investigate.KindStatefulSet, ns: s.Namespace, name: s.Name, labels: s.Labels, tmpl: &s.Spec.Template})
	}
	dss, err := listNamespace(ctx, r, resDaemonSets, ns, func(l *appsv1.DaemonSetList) []appsv1.DaemonSet { return l.Items })
	if err != nil {
		return out, err
	}
	for i := range dss {
		d := &dss[i]
		out = append(out, candidate{kind: investigate.KindDaemonSet, ns: d.Namespace, name: d.Name, labels: d.Labels, tmpl: &d.Spec.Template})
	}
	if cron {
		cjs, err := listNamespace(ctx, r, resCronJobs, ns, func(l *batchv1.CronJobList) []batchv1.CronJob { return l.Items })
		if err != nil {
			return out, err
		}
		for i := range cjs {
			c := &cjs[i]
			out = append(out, candidate{kind: investigate.KindCronJob, ns: c.Namespace, name: c.Name, labels: c.Labels, tmpl: &c.Spec.JobTemplate.Spec.Template})
		}
	}
	order := map[investigate.Kind]int{investigate.KindDeployment: 0, investigate.KindStatefulSet: 1, investigate.KindDaemonSet: 2, investigate.KindCronJob: 3}
	sort.SliceStable(out, func(i, j int) bool {
		if out[i].kind != out[j].kind {
			return order[out[i].kind] < order[out[j].kind]
		}
		if out[i].ns != out[j].ns {
			return out[i].ns < out[j].ns
		}
		return out[i].name < out[j].name
	})
	return out, nil
}

// clueMatch is how well one candidate carries the alert's clues.
type clueMatch struct {
	c     candidate
	score int
	why   []string
}

// resolveClues picks the workload that carries the alert's distinctive
// label values: an env value or an argument (or a value of a ConfigMap
// its pod template reads through envFrom, configMapKeyRef or a volume) equal to one
// (or holding it as a whole token: "--group=orders",
// "kafka://broker:9092/orders") scores 3, a name equal to it 3, a label
// value equal to it 2, a name that is a dash-bounded part of it (or it of
// the name) 1; a workload of the alert's own namespace gains 1. Only a
// workload with at least one match of 3 (its own env, args or name) is a
// candidate, and the best total wins; the exporter that scraped the series
// never does. The target is
// unchanged when nothing matches. Every workload of the cluster is read
// from the shared cache's lists (four list requests per cache period),
// and the ConfigMaps of the namespaces whose workloads reference some (one
// list per namespace, see attachConfigMaps).
func (r *run) resolveClues(ctx context.Context, t investigate.Target) investigate.Target {
	var clues []investigate.Clue
	scraper := ""
	for _, c := range t.ClueList() {
		if c.Key == "scraper" {
			scraper = c.Value
			continue
		}
		clues = append(clues, c)
	}
	if len(clues) == 0 {
		return t
	}
	cands, err := r.workloadCandidates(ctx, "", true)
	if err != nil {
		r.gap("resolve", fmt.Errorf("search the workloads for the alert's labels: %w", err))
	}
	if err := r.attachConfigMaps(ctx, cands, t.Namespace, clues); err != nil {
		r.gap("resolve", fmt.Errorf("search the workloads' ConfigMaps for the alert's labels: %w", err))
	}
	var best []clueMatch
	for _, c := range cands {
		if scraper != "" && (c.name == scraper || strings.HasPrefix(c.name, scraper+"-") || strings.HasSuffix(scraper, "-"+c.name) || strings.HasSuffix(scraper, c.name)) {
			continue
		}
		m := clueMatch{c: c}
		strong := false
		for _, cl := range clues {
			s, why := matchClue(cl, &c)
			if s == 0 {
				continue
			}
			strong = strong || s >= 3
			m.score += s
			m.why = append(m.why, why)
		}
		if !strong {
			continue
		}
		if t.Namespace != "" && c.ns == t.Namespace {
			m.score++
		}
		switch {
		case len(best) == 0 || m.score > best[0].score:
			best = []clueMatch{m}
		case m.score == best[0].score:
			best = append(best, m)
		}
	}
	if len(best) == 0 {
		r.gap("resolve", fmt.Errorf("no label of the alert names a Kubernetes object, and no workload carries its label values (%s)", clueText(clues)))
		return t
	}
	w := best[0]
	t.Kind, t.Name, t.Namespace = w.c.kind, w.c.name, w.c.ns
	t.Workload = investigate.Ref{Kind: w.c.kind, Name: w.c.name}
	t.Pod, t.Container, t.Service = "", "", ""
	note := fmt.Sprintf("No label of the alert names a Kubernetes object; %s %s/%s was found as the workload that carries its labels: %s.",
		workloadKindTitle(w.c.kind), w.c.ns, w.c.name, strings.Join(w.why, "; "))
	if len(best) > 1 {
		var others []string
		for _, o := range best[1:] {
			others = append(others, fmt.Sprintf("%s %s/%s", workloadKindTitle(o.c.kind), o.c.ns, o.c.name))
		}
		note += " Equally matching: " + strings.Join(others, ", ") + "."
	}
	r.snap.Resolution = note
	return t
}

func clueText(cs []investigate.Clue) string {
	var s []string
	for _, c := range cs {
		s = append(s, c.Key+"="+c.Value)
	}
	return strings.Join(s, ", ")
}

// workloadKindTitle is a target kind as Kubernetes spells it.
func workloadKindTitle(k investigate.Kind) string {
	switch k {
	case investigate.KindDeployment:
		return "Deployment"
	case investigate.KindStatefulSet:
		return "StatefulSet"
	case investigate.KindDaemonSet:
		return "DaemonSet"
	case investigate.KindCronJob:
		return "CronJob"
	case investigate.KindJob:
		return "Job"
	}
	return string(k)
}

// matchClue scores how a candidate carries one clue and says where.
func matchClue(cl investigate.Clue, c *candidate) (int, string) {
	v := strings.ToLower(cl.Value)
	label := cl.Key + "=" + cl.Value
	if c.name == v {
		return 3, fmt.Sprintf("its name is the alert's %s", label)
	}
	if c.tmpl != nil {
		spec := &c.tmpl.Spec
		for _, ctr := range append(append([]corev1.Container{}, spec.InitContainers...), spec.Containers...) {
			for _, e := range ctr.Env {
				if e.Value != "" && carries(e.Value, v) {
					return 3, fmt.Sprintf("container %s has env %s=%s (the alert's %s)", ctr.Name, e.Name, e.Value, label)
				}
			}
			for _, a := range append(append([]string{}, ctr.Command...), ctr.Args...) {
				if carries(a, v) {
					return 3, fmt.Sprintf("container %s runs with argument %q (the alert's %s)", ctr.Name, a, label)
				}
			}
		}
	}
	for _, cr := range c.configMaps {
		if s, why := matchConfigMap(cr, v, label); s > 0 {
			return s, why
		}
	}
	for _, ls := range []map[string]string{c.labels, templateLabels(c.tmpl)} {
		for k, lv := range ls {
			if strings.ToLower(lv) == v {
				return 2, fmt.Sprintf("its label %s=%s (the alert's %s)", k, lv, label)
			}
		}
	}
	if len(c.name) >= 4 && len(v) >= 4 && (dashPart(v, c.name) || dashPart(c.name, v)) {
		return 1, fmt.Sprintf("its name %s is part of the alert's %s", c.name, label)
	}
	return 0, ""
}

// matchConfigMap scores a ConfigMap a candidate reads: the referenced
// key's value (configMapKeyRef) or any value (envFrom, a volume) that
// carries the clue v is as strong as the workload's own env.
func matchConfigMap(cr configMapRead, v, label string) (int, string) {
	ref := fmt.Sprintf("ConfigMap %s/%s", cr.cm.Namespace, cr.cm.Name)
	if cr.how == "env" {
		if val, ok := cr.cm.Data[cr.key]; ok && carries(val, v) {
			return 3, fmt.Sprintf("container %s has env %s from %s key %s=%s (the alert's %s)", cr.container, cr.env, ref, cr.key, clip(val, 120), label)
		}
		return 0, ""
	}
	for _, k := range slices.Sorted(maps.Keys(cr.cm.Data)) {
		val := cr.cm.Data[k]
		if len(val) > maxClueConfigMapValue || !carries(val, v) {
			continue
		}
		if cr.how == "envFrom" {
			return 3, fmt.Sprintf("container %s takes its env from %s: %s=%s (the alert's %s)", cr.container, ref, k, clip(val, 120), label)
		}
		return 3, fmt.Sprintf("%s, mounted as a volume, holds %q in %s (the alert's %s)", ref, clip(lineWith(val, v), 120), k, label)
	}
	return 0, ""
}

// lineWith returns the first line of s that holds v (case-insensitive).
func lineWith(s, v string) string {
	for _, l := range strings.Split(s, "\n") {
		if strings.Contains(strings.ToLower(l), v) {
			return strings.TrimSpace(l)
		}
	}
	return s
}

func templateLabels(t *corev1.PodTemplateSpec) map[string]string {
	if t == nil {
		return nil
	}
	return t.Labels
}

// carries reports whether s equals v or holds it as a whole token
// (tokens are separated by anything but letters, digits, '.', '_', '-').
func carries(s, v string) bool {
	s = strings.ToLower(s)
	if s == v {
		return true
	}
	if !strings.Contains(s, v) {
		return false
	}
	for _, tok := range strings.FieldsFunc(s, func(r rune) bool {
		return !(r >= 'a' && r <= 'z' || r >= '0' && r <= '9' || r == '.' || r == '_' || r == '-')
	}) {
		if tok == v {
			return true
		}
		if h, _, err := net.SplitHostPort(tok); err == nil && h == v {
			return true
		}
	}
	return false
}

// dashPart reports whether part is a whole dash-, dot- or
// underscore-separated run of s ("posting-consumer" in
// "ledger-posting-consumer").
func dashPart(s, part string) bool {
	if s == part {
		return true
	}
	i := strings.Index(s, part)
	for i >= 0 {
		before := i == 0 || strings.ContainsRune("-._", rune(s[i-1]))
		end := i + len(part)
		after := end == len(s) || strings.ContainsRune("-._", rune(s[end]))
		if before && after {
			return true
		}
		j := strings.Index(s[i+1:], part)
		if j < 0 {
			break
		}
		i += 1 + j
	}
	return false
}

// resolveSubject resolves what the alert's labels name indirectly: a
// controller of unknown kind; else, when no object is named (no target or
// a namespace) outside a node category, the workload its clues point to,
// then the pod behind its instance IP.
func (r *run) resolveSubject(ctx context.Context, t investigate.Target) investigate.Target {
	if t.Kind == investigate.KindWorkload {
		return r.resolveWorkloadKind(ctx, t)
	}
	if (t.Kind != "" && t.Kind != investigate.KindNamespace) || r.nodeCategory() || t.Node != "" {
		return t
	}
	if t.Clues != "" {
		if t = r.resolveClues(ctx, t); t.Kind != "" && t.Kind != investigate.KindNamespace {
			return t
		}
	}
	// An autoscaler's alert comes from kube-state-metrics: its instance is
	// the exporter's own pod.
	if t.IPFromInstance() != "" && t.Autoscaler == "" && !strings.Contains(t.Clues, "scraper=") {
		t = r.resolveInstancePod(ctx, t)
	}
	return t
}
