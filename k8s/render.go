package k8s

import (
	"fmt"
	"slices"
	"sort"
	"strings"
	"time"

	corev1 "k8s.io/api/core/v1"
	discoveryv1 "k8s.io/api/discovery/v1"
	networkingv1 "k8s.io/api/networking/v1"
	"k8s.io/apimachinery/pkg/api/resource"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/k8flex/k8flex/investigate"
	"github.com/k8flex/k8flex/redact"
)

var _ investigate.Snapshot = (*Snapshot)(nil)

// Section priorities (lower is kept first when the budget forces trimming).
const (
	prioCritical = 0
	prioHigh     = 1
	prioMedium   = 2
	prioLow      = 3
	prioContext  = 4
)

// maxConfigValueBytes bounds one rendered ConfigMap value.
const maxConfigValueBytes = 300

// Evidence renders the snapshot as sections in priority order: pod
// descriptions and missing references first, then the events of the objects
// involved and the logs, then owners, Services, Ingresses, autoscalers and
// disruption budgets, nodes, network, storage, resources, and the
// namespace's other events. Timestamps are absolute
// (RFC 3339, UTC). Every body is redacted and cut to Budget.SectionBytes;
// all bodies together stay within Budget.TotalBytes (sections that do not
// fit are dropped and reported as a "budget" Gap). The output is
// deterministic for a given snapshot.
func (s *Snapshot) Evidence() investigate.Evidence {
	b := s.Budget
	if b.SectionBytes <= 0 {
		b.SectionBytes = DefaultBudget.SectionBytes
	}
	if b.TotalBytes <= 0 {
		b.TotalBytes = DefaultBudget.TotalBytes
	}
	var secs []investigate.Section
	add := func(name, title string, prio int, body string, keepTail bool) {
		body = strings.TrimRight(body, "\n")
		if body == "" {
			return
		}
		body = redact.String(body)
		sec := investigate.Section{Name: name, Title: title, Priority: prio}
		sec.Body, sec.Truncated = fit(body, b.SectionBytes, keepTail)
		secs = append(secs, sec)
	}
	s.renderResolution(add)
	s.renderPods(add)
	s.renderRefs(add)
	s.renderRBAC(add)
	s.renderInvolvedEvents(add)
	s.renderLogs(add)
	s.renderOwners(add)
	s.renderServices(add)
	s.renderIngresses(add)
	s.renderScaling(add)
	s.renderRelatedPods(add)
	s.renderNodes(add)
	s.renderNetwork(add)
	s.renderStorage(add)
	s.renderResources(add)
	s.renderConfigMaps(add)
	s.renderNamespaceEvents(add)

	sort.SliceStable(secs, func(i, j int) bool { return secs[i].Priority < secs[j].Priority })
	ev := investigate.Evidence{Target: s.Target, APIRequests: s.APIRequests, TargetGone: s.TargetGone}
	ev.Gaps = append(ev.Gaps, s.Gaps...)
	total := 0
	for _, sec := range secs {
		room := b.TotalBytes - total
		if len(sec.Body) > room {
			if room < 512 {
				ev.Gaps = append(ev.Gaps, investigate.Gap{Collector: "budget", Reason: "section " + sec.Name + " dropped: evidence budget exhausted"})
				continue
			}
			sec.Body, _ = fit(sec.Body, room, strings.HasPrefix(sec.Name, "logs/"))
			sec.Truncated = true
		}
		total += len(sec.Body)
		ev.Sections = append(ev.Sections, sec)
	}
	return ev
}

// addFunc adds one section.
type addFunc func(name, title string, prio int, body string, keepTail bool)

// fit cuts body to max bytes, keeping the tail (logs) or the head.
func fit(body string, max int, keepTail bool) (string, bool) {
	if len(body) <= max {
		return body, false
	}
	const mark = "… (truncated)"
	if keepTail {
		cut := len(body) - (max - len(mark) - 1)
		for cut < len(body) && body[cut]&0xC0 == 0x80 {
			cut++
		}
		rest := body[cut:]
		if i := strings.IndexByte(rest, '\n'); i >= 0 && i < len(rest)-1 {
			rest = rest[i+1:]
		}
		return mark + "\n" + rest, true
	}
	head := truncateUTF8(body, max-len(mark)-1)
	if i := strings.LastIndexByte(head, '\n'); i > 0 {
		head = head[:i]
	}
	return head + "\n" + mark, true
}

// ts renders a time as RFC 3339 UTC, or "-" when unset.
func ts(t metav1.Time) string {
	if t.IsZero() {
		return "-"
	}
	return t.UTC().Format(time.RFC3339)
}

func (s *Snapshot) renderPods(add addFunc) {
	for i := range s.Pods {
		p := &s.Pods[i]
		prio := prioCritical
		if i > 0 {
			prio = prioHigh
		}
		add("pod/"+p.Namespace+"/"+p.Name, "Pod "+p.Namespace+"/"+p.Name, prio, describePod(p, s), false)
	}
}

// describePod renders a pod like a compact kubectl describe.
func describePod(p *corev1.Pod, s *Snapshot) string {
	var w strings.Builder
	describePodStatus(&w, p)
	status := map[string]corev1.ContainerStatus{}
	for _, cs := range append(append([]corev1.ContainerStatus{}, p.Status.InitContainerStatuses...), p.Status.ContainerStatuses...) {
		status[cs.Name] = cs
	}
	for _, c := range p.Spec.InitContainers {
		describeContainer(&w, "Init container", c, status, p, s)
	}
	for _, c := range p.Spec.Containers {
		describeContainer(&w, "Container", c, status, p, s)
	}
	describePodSpec(&w, p)
	return w.String()
}

// describePodStatus writes the head of describePod: the pod's node, phase,
// QoS class and times, its controller, status reason, labels and
// conditions.
func describePodStatus(w *strings.Builder, p *corev1.Pod) {
	fmt.Fprintf(w, "Pod %s/%s\n", p.Namespace, p.Name)
	node := p.Spec.NodeName
	if node == "" {
		node = "<none> (not scheduled)"
	}
	fmt.Fprintf(w, "Node: %s  Phase: %s  QoS: %s  Created: %s", node, p.Status.Phase, p.Status.QOSClass, ts(p.CreationTimestamp))
	if p.Status.StartTime != nil {
		fmt.Fprintf(w, "  Started: %s", ts(*p.Status.StartTime))
	}
	w.WriteString("\n")
	if p.DeletionTimestamp != nil {
		fmt.Fprintf(w, "Terminating since %s\n", ts(*p.DeletionTimestamp))
	}
	if ref := controllerOf(p); ref != nil {
		fmt.Fprintf(w, "Controlled by: %s/%s\n", ref.Kind, ref.Name)
	}
	if p.Status.Reason != "" || p.Status.Message != "" {
		fmt.Fprintf(w, "Status: %s: %s\n", p.Status.Reason, p.Status.Message)
	}
	if len(p.Labels) > 0 {
		fmt.Fprintf(w, "Labels: %s\n", kv(p.Labels))
	}
	if len(p.Status.Conditions) > 0 {
		fmt.Fprintf(w, "Conditions: %s\n", podConditions(p))
	}
}

// podConditions lists p's conditions as type=status, with the reason,
// message and transition time of those that give one.
func podConditions(p *corev1.Pod) string {
	var cs []string
	for _, c := range p.Status.Conditions {
		x := fmt.Sprintf("%s=%s", c.Type, c.Status)
		if c.Reason != "" || c.Message != "" {
			x += fmt.Sprintf(" (%s %s; since %s)", c.Reason, c.Message, ts(c.LastTransitionTime))
		}
		cs = append(cs, x)
	}
	return strings.Join(cs, "; ")
}

// describePodSpec writes the tail of describePod: what the pod's spec says
// beyond its containers — volumes, placement (node selector, affinity,
// tolerations, priority class), a service account other than default and
// a restart policy other than Always.
func describePodSpec(w *strings.Builder, p *corev1.Pod) {
	if vs := podVolumeSources(p); len(vs) > 0 {
		fmt.Fprintf(w, "Volumes: %s\n", strings.Join(vs, "; "))
	}
	if len(p.Spec.NodeSelector) > 0 {
		fmt.Fprintf(w, "Node selector: %s\n", kv(p.Spec.NodeSelector))
	}
	if a := p.Spec.Affinity; a != nil && (a.NodeAffinity != nil || a.PodAffinity != nil || a.PodAntiAffinity != nil) {
		fmt.Fprintf(w, "Affinity: %s\n", describeAffinity(a))
	}
	if tol := podTolerations(p); len(tol) > 0 {
		fmt.Fprintf(w, "Tolerations: %s\n", strings.Join(tol, ", "))
	}
	if p.Spec.PriorityClassName != "" {
		fmt.Fprintf(w, "Priority class: %s\n", p.Spec.PriorityClassName)
	}
	if p.Spec.ServiceAccountName != "" && p.Spec.ServiceAccountName != "default" {
		fmt.Fprintf(w, "Service account: %s\n", p.Spec.ServiceAccountName)
	}
	if p.Spec.RestartPolicy != "" && p.Spec.RestartPolicy != corev1.RestartPolicyAlways {
		fmt.Fprintf(w, "Restart policy: %s\n", p.Spec.RestartPolicy)
	}
}

// podVolumeSources lists p's volumes as name: source, leaving out those
// whose source says nothing (see volumeSource).
func podVolumeSources(p *corev1.Pod) []string {
	var vs []string
	for _, v := range p.Spec.Volumes {
		if src := volumeSource(v); src != "" {
			vs = append(vs, v.Name+": "+src)
		}
	}
	return vs
}

// podTolerations lists p's tolerations as key[=value][:effect], leaving
// out the two every pod gets (not-ready, unreachable).
func podTolerations(p *corev1.Pod) []string {
	var tol []string
	for _, t := range p.Spec.Tolerations {
		if t.Key == "node.kubernetes.io/not-ready" || t.Key == "node.kubernetes.io/unreachable" {
			continue // added to every pod
		}
		x := t.Key
		if t.Operator == corev1.TolerationOpEqual || t.Value != "" {
			x += "=" + t.Value
		}
		if t.Effect != "" {
			x += ":" + string(t.Effect)
		}
		if x == "" {
			x = "(all taints)"
		}
		tol = append(tol, x)
	}
	return tol
}

func describeContainer(w *strings.Builder, what string, c corev1.Container, status map[string]corev1.ContainerStatus, p *corev1.Pod, s *Snapshot) {
	fmt.Fprintf(w, "%s %s (image %s)\n", what, c.Name, c.Image)
	if len(c.Command) > 0 {
		fmt.Fprintf(w, "  Command: %s\n", strings.Join(c.Command, " "))
	}
	if len(c.Args) > 0 {
		fmt.Fprintf(w, "  Args: %s\n", strings.Join(c.Args, " "))
	}
	if len(c.Ports) > 0 {
		var ps []string
		for _, pt := range c.Ports {
			x := fmt.Sprintf("%d/%s", pt.ContainerPort, protocol(pt.Protocol))
			if pt.Name != "" {
				x = pt.Name + " " + x
			}
			ps = append(ps, x)
		}
		fmt.Fprintf(w, "  Ports: %s\n", strings.Join(ps, ", "))
	}
	if len(c.Resources.Requests) > 0 || len(c.Resources.Limits) > 0 {
		fmt.Fprintf(w, "  Requests: %s  Limits: %s\n", resources(c.Resources.Requests), resources(c.Resources.Limits))
	}
	if s != nil {
		if u, ok := containerUsage(s.PodMetrics, p, c.Name); ok {
			fmt.Fprintf(w, "  Usage (metrics.k8s.io): %s\n", resources(u))
		}
	}
	for _, pr := range []struct {
		name string
		p    *corev1.Probe
	}{{"Startup", c.StartupProbe}, {"Liveness", c.LivenessProbe}, {"Readiness", c.ReadinessProbe}} {
		if pr.p != nil {
			fmt.Fprintf(w, "  %s probe: %s\n", pr.name, describeProbe(pr.p))
		}
	}
	if len(c.Env) > 0 {
		var es []string
		for _, e := range c.Env {
			es = append(es, e.Name+"="+envValue(e))
		}
		fmt.Fprintf(w, "  Env: %s\n", strings.Join(es, "; "))
	}
	if len(c.EnvFrom) > 0 {
		var es []string
		for _, e := range c.EnvFrom {
			switch {
			case e.ConfigMapRef != nil:
				es = append(es, "configmap "+e.ConfigMapRef.Name+optional(e.ConfigMapRef.Optional))
			case e.SecretRef != nil:
				es = append(es, "secret "+e.SecretRef.Name+optional(e.SecretRef.Optional))
			}
		}
		fmt.Fprintf(w, "  Env from: %s\n", strings.Join(es, ", "))
	}
	if len(c.VolumeMounts) > 0 {
		var ms []string
		for _, m := range c.VolumeMounts {
			if strings.HasPrefix(m.MountPath, "/var/run/secrets/kubernetes.io") {
				continue
			}
			x := m.MountPath + " from " + m.Name
			if m.SubPath != "" {
				x += " (subPath " + m.SubPath + ")"
			}
			if m.ReadOnly {
				x += " (ro)"
			}
			ms = append(ms, x)
		}
		if len(ms) > 0 {
			fmt.Fprintf(w, "  Mounts: %s\n", strings.Join(ms, "; "))
		}
	}
	cs, ok := status[c.Name]
	if !ok {
		fmt.Fprintf(w, "  State: (no status yet)\n")
		return
	}
	fmt.Fprintf(w, "  State: %s\n", containerState(cs.State))
	if cs.LastTerminationState.Terminated != nil || cs.LastTerminationState.Waiting != nil {
		fmt.Fprintf(w, "  Last state: %s\n", containerState(cs.LastTerminationState))
	}
	fmt.Fprintf(w, "  Ready: %t  Restart count: %d\n", cs.Ready, cs.RestartCount)
	if cs.Image != "" && cs.Image != c.Image {
		fmt.Fprintf(w, "  Running image: %s\n", cs.Image)
	}
}

func containerState(st corev1.ContainerState) string {
	switch {
	case st.Running != nil:
		return "Running since " + ts(st.Running.StartedAt)
	case st.Waiting != nil:
		x := "Waiting: " + st.Waiting.Reason
		if st.Waiting.Message != "" {
			x += ": " + st.Waiting.Message
		}
		return x
	case st.Terminated != nil:
		t := st.Terminated
		x := fmt.Sprintf("Terminated: %s, exit code %d", t.Reason, t.ExitCode)
		if t.Signal != 0 {
			x += fmt.Sprintf(", signal %d", t.Signal)
		}
		x += fmt.Sprintf(" (started %s, finished %s)", ts(t.StartedAt), ts(t.FinishedAt))
		if m := strings.TrimSpace(t.Message); m != "" {
			x += ", message: " + strings.ReplaceAll(m, "\n", " | ")
		}
		return x
	}
	return "unknown"
}

func describeProbe(p *corev1.Probe) string {
	var x string
	switch {
	case p.HTTPGet != nil:
		x = fmt.Sprintf("http-get %s:%s%s", strings.ToLower(string(p.HTTPGet.Scheme)), p.HTTPGet.Port.String(), p.HTTPGet.Path)
	case p.TCPSocket != nil:
		x = "tcp-socket :" + p.TCPSocket.Port.String()
	case p.Exec != nil:
		x = "exec [" + strings.Join(p.Exec.Command, " ") + "]"
	case p.GRPC != nil:
		x = fmt.Sprintf("grpc :%d", p.GRPC.Port)
	}
	return fmt.Sprintf("%s delay=%ds timeout=%ds period=%ds failure=%d", x, p.InitialDelaySeconds, p.TimeoutSeconds, p.PeriodSeconds, p.FailureThreshold)
}

// envValue renders an env var's value; Secret references show only the
// Secret's name and key.
func envValue(e corev1.EnvVar) string {
	if e.ValueFrom == nil {
		return e.Value
	}
	switch f := e.ValueFrom; {
	case f.SecretKeyRef != nil:
		return fmt.Sprintf("<secret %s key %s%s>", f.SecretKeyRef.Name, f.SecretKeyRef.Key, optional(f.SecretKeyRef.Optional))
	case f.ConfigMapKeyRef != nil:
		return fmt.Sprintf("<configmap %s key %s%s>", f.ConfigMapKeyRef.Name, f.ConfigMapKeyRef.Key, optional(f.ConfigMapKeyRef.Optional))
	case f.FieldRef != nil:
		return "<field " + f.FieldRef.FieldPath + ">"
	case f.ResourceFieldRef != nil:
		return "<resource " + f.ResourceFieldRef.Resource + ">"
	}
	return "<from source>"
}

func optional(b *bool) string {
	if b != nil && *b {
		return " (optional)"
	}
	return ""
}

func volumeSource(v corev1.Volume) string {
	switch {
	case v.PersistentVolumeClaim != nil:
		return "pvc " + v.PersistentVolumeClaim.ClaimName
	case v.ConfigMap != nil:
		return "configmap " + v.ConfigMap.Name + optional(v.ConfigMap.Optional)
	case v.Secret != nil:
		return "secret " + v.Secret.SecretName + optional(v.Secret.Optional)
	case v.EmptyDir != nil:
		x := "emptyDir"
		if v.EmptyDir.Medium != "" {
			x += " (" + string(v.EmptyDir.Medium) + ")"
		}
		if v.EmptyDir.SizeLimit != nil {
			x += " sizeLimit " + v.EmptyDir.SizeLimit.String()
		}
		return x
	case v.HostPath != nil:
		return "hostPath " + v.HostPath.Path
	case v.Ephemeral != nil:
		return "ephemeral pvc"
	case v.Projected != nil:
		var srcs []string
		for _, s := range v.Projected.Sources {
			switch {
			case s.ConfigMap != nil && s.ConfigMap.Name != "kube-root-ca.crt":
				srcs = append(srcs, "configmap "+s.ConfigMap.Name)
			case s.Secret != nil:
				srcs = append(srcs, "secret "+s.Secret.Name)
			}
		}
		if len(srcs) == 0 {
			return "" // the service-account token every pod gets
		}
		return "projected " + strings.Join(srcs, ", ")
	case v.NFS != nil:
		return "nfs " + v.NFS.Server + ":" + v.NFS.Path
	case v.CSI != nil:
		return "csi " + v.CSI.Driver
	}
	return "other"
}

func describeAffinity(a *corev1.Affinity) string {
	var parts []string
	if na := a.NodeAffinity; na != nil && na.RequiredDuringSchedulingIgnoredDuringExecution != nil {
		for _, t := range na.RequiredDuringSchedulingIgnoredDuringExecution.NodeSelectorTerms {
			for _, e := range t.MatchExpressions {
				parts = append(parts, fmt.Sprintf("node %s %s [%s] (required)", e.Key, e.Operator, strings.Join(e.Values, ",")))
			}
		}
	}
	if a.PodAffinity != nil {
		parts = append(parts, "pod affinity")
	}
	if a.PodAntiAffinity != nil && len(a.PodAntiAffinity.RequiredDuringSchedulingIgnoredDuringExecution) > 0 {
		parts = append(parts, "required pod anti-affinity")
	}
	if len(parts) == 0 {
		return "preferred only"
	}
	return strings.Join(parts, "; ")
}

func protocol(p corev1.Protocol) string {
	if p == "" {
		return "TCP"
	}
	return string(p)
}

// resources renders a ResourceList in a stable order.
func resources(l corev1.ResourceList) string {
	if len(l) == 0 {
		return "none"
	}
	keys := make([]string, 0, len(l))
	for k := range l {
		keys = append(keys, string(k))
	}
	sort.Strings(keys)
	var out []string
	for _, k := range keys {
		q := l[corev1.ResourceName(k)]
		out = append(out, k+"="+q.String())
	}
	return strings.Join(out, " ")
}

// kv renders a map as sorted k=v pairs.
func kv(m map[string]string) string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	out := make([]string, len(keys))
	for i, k := range keys {
		out[i] = k + "=" + m[k]
	}
	return strings.Join(out, ",")
}

func (s *Snapshot) renderRefs(add addFunc) {
	var w strings.Builder
	for _, r := range s.MissingRefs {
		fmt.Fprintf(&w, "Referenced but does not exist: %s\n", r)
	}
	for _, r := range s.NotFound {
		fmt.Fprintf(&w, "Named by the alert but not found: %s\n", r)
	}
	if s.TargetGone {
		fmt.Fprintf(&w, "The alert's target no longer exists; investigated through its owner.\n")
	}
	add("refs/missing", "Missing objects", prioCritical, w.String(), false)
}

// renderEvent renders one event as a line.
func renderEvent(e *corev1.Event) string {
	io := e.InvolvedObject
	obj := strings.ToLower(io.Kind) + "/" + io.Name
	count := ""
	if e.Count > 1 {
		count = fmt.Sprintf(" (×%d since %s)", e.Count, ts(e.FirstTimestamp))
	}
	t := metav1.NewTime(eventTime(e))
	return fmt.Sprintf("%s %s %s %s%s: %s", ts(t), e.Type, e.Reason, obj, count, strings.ReplaceAll(strings.TrimSpace(e.Message), "\n", " | "))
}

func (s *Snapshot) renderInvolvedEvents(add addFunc) {
	n := min(s.InvolvedEvents, len(s.Events))
	if n == 0 {
		return
	}
	var w strings.Builder
	for i := range s.Events[:n] {
		w.WriteString(renderEvent(&s.Events[i]) + "\n")
	}
	add("events/involved", "Events of the objects involved", prioHigh, w.String(), true)
}

func (s *Snapshot) renderNamespaceEvents(add addFunc) {
	n := min(s.InvolvedEvents, len(s.Events))
	if n == len(s.Events) {
		return
	}
	var w strings.Builder
	for i := range s.Events[n:] {
		w.WriteString(renderEvent(&s.Events[n+i]) + "\n")
	}
	add("events/namespace", "Other recent events in the namespace", prioContext, w.String(), true)
}

func logTitle(l ContainerLog) (string, string) {
	name := "logs/" + l.Namespace + "/" + l.Pod + "/" + l.Container
	title := "Logs " + l.Pod + "/" + l.Container
	if l.Init {
		title += " (init)"
	}
	if l.Previous {
		name += "/previous"
		title += " (previous instance)"
	}
	return name, title
}

func logBody(l ContainerLog) string {
	if len(l.Lines) == 0 {
		return "(empty log)"
	}
	return strings.Join(l.Lines, "\n")
}

func (s *Snapshot) renderLogs(add addFunc) {
	first := ""
	if len(s.Pods) > 0 {
		first = podKey(&s.Pods[0])
	}
	for _, l := range s.Logs {
		name, title := logTitle(l)
		prio := prioMedium
		if l.Namespace+"/"+l.Pod == first {
			prio = prioHigh
		}
		add(name, title, prio, logBody(l), true)
	}
	if s.DNS != nil {
		prio := prioLow
		if s.Category == investigate.DNSIssues {
			prio = prioHigh
		}
		for _, l := range s.DNS.Logs {
			name, title := logTitle(l)
			add(name, title, prio, logBody(l), true)
		}
	}
}

func (s *Snapshot) renderOwners(add addFunc) {
	var w strings.Builder
	for _, d := range s.Deployments {
		st := d.Status
		desired := int32(1)
		if d.Spec.Replicas != nil {
			desired = *d.Spec.Replicas
		}
		fmt.Fprintf(&w, "Deployment %s/%s: %d desired, %d updated, %d ready, %d available, %d unavailable (generation %d, observed %d)\n",
			d.Namespace, d.Name, desired, st.UpdatedReplicas, st.ReadyReplicas, st.AvailableReplicas, st.UnavailableReplicas, d.Generation, st.ObservedGeneration)
		if desired == 0 {
			fmt.Fprintf(&w, "  Scaled to zero replicas\n")
		}
		if d.Spec.Paused {
			fmt.Fprintf(&w, "  Rollout paused\n")
		}
		for _, c := range d.Status.Conditions {
			fmt.Fprintf(&w, "  Condition %s=%s %s: %s (since %s)\n", c.Type, c.Status, c.Reason, c.Message, ts(c.LastTransitionTime))
		}
		for _, c := range d.Spec.Template.Spec.Containers {
			fmt.Fprintf(&w, "  Template container %s image %s\n", c.Name, c.Image)
		}
	}
	for _, rs := range s.ReplicaSets {
		desired := int32(0)
		if rs.Spec.Replicas != nil {
			desired = *rs.Spec.Replicas
		}
		var imgs []string
		for _, c := range rs.Spec.Template.Spec.Containers {
			imgs = append(imgs, c.Image)
		}
		fmt.Fprintf(&w, "ReplicaSet %s/%s (revision %s, created %s): %d desired, %d ready, %d available; images %s\n",
			rs.Namespace, rs.Name, rs.Annotations["deployment.kubernetes.io/revision"], ts(rs.CreationTimestamp), desired, rs.Status.ReadyReplicas, rs.Status.AvailableReplicas, strings.Join(imgs, ", "))
		for _, c := range rs.Status.Conditions {
			fmt.Fprintf(&w, "  Condition %s=%s %s: %s\n", c.Type, c.Status, c.Reason, c.Message)
		}
	}
	for _, x := range s.StatefulSets {
		desired := int32(1)
		if x.Spec.Replicas != nil {
			desired = *x.Spec.Replicas
		}
		fmt.Fprintf(&w, "StatefulSet %s/%s: %d desired, %d current, %d ready, %d updated; service %s\n", x.Namespace, x.Name, desired, x.Status.CurrentReplicas, x.Status.ReadyReplicas, x.Status.UpdatedReplicas, x.Spec.ServiceName)
		for _, t := range x.Spec.VolumeClaimTemplates {
			class := "<default>"
			if t.Spec.StorageClassName != nil {
				class = *t.Spec.StorageClassName
			}
			q := t.Spec.Resources.Requests[corev1.ResourceStorage]
			fmt.Fprintf(&w, "  Volume claim template %s: class %s, %s\n", t.Name, class, q.String())
		}
	}
	for _, x := range s.DaemonSets {
		fmt.Fprintf(&w, "DaemonSet %s/%s: %d desired, %d current, %d ready, %d available, %d unavailable, %d misscheduled\n", x.Namespace, x.Name,
			x.Status.DesiredNumberScheduled, x.Status.CurrentNumberScheduled, x.Status.NumberReady, x.Status.NumberAvailable, x.Status.NumberUnavailable, x.Status.NumberMisscheduled)
	}
	for _, j := range s.Jobs {
		backoff := int32(6)
		if j.Spec.BackoffLimit != nil {
			backoff = *j.Spec.BackoffLimit
		}
		completions := int32(1)
		if j.Spec.Completions != nil {
			completions = *j.Spec.Completions
		}
		fmt.Fprintf(&w, "Job %s/%s: %d completions wanted, %d succeeded, %d failed, %d active, backoff limit %d\n", j.Namespace, j.Name, completions, j.Status.Succeeded, j.Status.Failed, j.Status.Active, backoff)
		if o := metav1.GetControllerOf(&j); o != nil && o.Kind == "CronJob" {
			fmt.Fprintf(&w, "  Created by CronJob %s (created %s)\n", o.Name, ts(j.CreationTimestamp))
		}
		for _, c := range j.Status.Conditions {
			fmt.Fprintf(&w, "  Condition %s=%s %s: %s (since %s)\n", c.Type, c.Status, c.Reason, c.Message, ts(c.LastTransitionTime))
		}
	}
	for _, c := range s.CronJobs {
		suspended := c.Spec.Suspend != nil && *c.Spec.Suspend
		fmt.Fprintf(&w, "CronJob %s/%s: schedule %q, suspended %t, concurrency %s, %d active, last schedule %s, last success %s\n",
			c.Namespace, c.Name, c.Spec.Schedule, suspended, orNone(string(c.Spec.ConcurrencyPolicy)), len(c.Status.Active),
			tsPtr(c.Status.LastScheduleTime), tsPtr(c.Status.LastSuccessfulTime))
	}
	add("owners", "Owners and rollout state", prioMedium, w.String(), false)
}

func (s *Snapshot) renderServices(add addFunc) {
	all := append(append([]corev1.Pod{}, s.Pods...), s.RelatedPods...)
	for _, svc := range s.Services {
		var w strings.Builder
		fmt.Fprintf(&w, "Service %s/%s type %s clusterIP %s\n", svc.Namespace, svc.Name, svc.Spec.Type, svc.Spec.ClusterIP)
		if len(svc.Spec.Selector) == 0 {
			fmt.Fprintf(&w, "Selector: none (endpoints managed by hand)\n")
		} else {
			fmt.Fprintf(&w, "Selector: %s\n", kv(svc.Spec.Selector))
		}
		for _, pt := range svc.Spec.Ports {
			fmt.Fprintf(&w, "Port %s %d/%s -> targetPort %s\n", pt.Name, pt.Port, protocol(pt.Protocol), pt.TargetPort.String())
		}
		var sel, near []string
		for i := range all {
			p := &all[i]
			if p.Namespace != svc.Namespace {
				continue
			}
			if selects(svc.Spec.Selector, p.Labels) {
				sel = append(sel, fmt.Sprintf("%s (%s, ready=%t, ports %s)", p.Name, p.Status.Phase, podReady(p), containerPorts(p)))
			} else if nearMiss(svc.Name, svc.Spec.Selector, p) {
				near = append(near, fmt.Sprintf("%s (labels %s)", p.Name, kv(p.Labels)))
			}
		}
		if len(svc.Spec.Selector) > 0 {
			if len(sel) == 0 {
				fmt.Fprintf(&w, "Pods matching the selector: none\n")
			} else {
				fmt.Fprintf(&w, "Pods matching the selector: %s\n", strings.Join(sel, "; "))
			}
		}
		if len(near) > 0 {
			fmt.Fprintf(&w, "Pods that almost match (near-miss): %s\n", strings.Join(near, "; "))
		}
		var mine []string
		var readyN, notReadyN int
		for _, es := range s.EndpointSlices {
			if es.Namespace != svc.Namespace || es.Labels["kubernetes.io/service-name"] != svc.Name {
				continue
			}
			r, n := readyEndpoints([]discoveryv1.EndpointSlice{es})
			readyN += r
			notReadyN += n
			for _, e := range es.Endpoints {
				target := ""
				if e.TargetRef != nil {
					target = " " + e.TargetRef.Name
				}
				ready := e.Conditions.Ready == nil || *e.Conditions.Ready
				mine = append(mine, fmt.Sprintf("%s%s ready=%t", strings.Join(e.Addresses, ","), target, ready))
			}
		}
		fmt.Fprintf(&w, "EndpointSlices: %d ready, %d not ready endpoints", readyN, notReadyN)
		if len(mine) > 0 {
			fmt.Fprintf(&w, " (%s)", strings.Join(mine, "; "))
		}
		w.WriteString("\n")
		for _, ep := range s.Endpoints {
			if ep.Namespace != svc.Namespace || ep.Name != svc.Name {
				continue
			}
			ready, notReady := 0, 0
			for _, ss := range ep.Subsets {
				ready += len(ss.Addresses)
				notReady += len(ss.NotReadyAddresses)
			}
			fmt.Fprintf(&w, "Endpoints: %d ready addresses, %d not ready addresses\n", ready, notReady)
		}
		prio := prioMedium
		if s.Target.Kind == investigate.KindService && s.Target.Name == svc.Name && s.Target.Namespace == svc.Namespace {
			prio = prioCritical
		} else if s.Category == investigate.ServiceDown || s.Category == investigate.EndpointMissing {
			prio = prioHigh
		}
		add("service/"+svc.Namespace+"/"+svc.Name, "Service "+svc.Namespace+"/"+svc.Name, prio, w.String(), false)
	}
}

func containerPorts(p *corev1.Pod) string {
	var ps []string
	for _, c := range p.Spec.Containers {
		for _, pt := range c.Ports {
			x := fmt.Sprint(pt.ContainerPort)
			if pt.Name != "" {
				x = pt.Name + "=" + x
			}
			ps = append(ps, x)
		}
	}
	if len(ps) == 0 {
		return "none declared"
	}
	return strings.Join(ps, ",")
}

// podLine is a one-line summary of a pod.
func podLine(p *corev1.Pod) string {
	restarts := int32(0)
	var reasons []string
	for _, cs := range append(append([]corev1.ContainerStatus{}, p.Status.InitContainerStatuses...), p.Status.ContainerStatuses...) {
		restarts += cs.RestartCount
		if cs.State.Waiting != nil && cs.State.Waiting.Reason != "" {
			reasons = append(reasons, cs.Name+":"+cs.State.Waiting.Reason)
		}
		if cs.State.Terminated != nil {
			reasons = append(reasons, fmt.Sprintf("%s:%s(%d)", cs.Name, cs.State.Terminated.Reason, cs.State.Terminated.ExitCode))
		}
	}
	node := p.Spec.NodeName
	if node == "" {
		node = "<unscheduled>"
	}
	x := fmt.Sprintf("%s/%s %s ready=%t restarts=%d node=%s", p.Namespace, p.Name, p.Status.Phase, podReady(p), restarts, node)
	if p.Status.Reason != "" {
		x += " reason=" + p.Status.Reason
	}
	if len(reasons) > 0 {
		x += " [" + strings.Join(reasons, ", ") + "]"
	}
	return x
}

func (s *Snapshot) renderRelatedPods(add addFunc) {
	var w strings.Builder
	described := 0
	for i := range s.RelatedPods {
		p := &s.RelatedPods[i]
		if podTrouble(p) >= 2 && described < 3 {
			described++
			add("pod/"+p.Namespace+"/"+p.Name, "Related pod "+p.Namespace+"/"+p.Name, prioMedium, describePod(p, s), false)
			continue
		}
		w.WriteString(podLine(p) + "\n")
	}
	title := "Related pods"
	if s.Target.Kind == investigate.KindNode {
		title = "Other pods on the node"
	}
	add("pods/related", title, prioLow, w.String(), false)
}

func (s *Snapshot) renderNodes(add addFunc) {
	for _, n := range s.Nodes {
		var w strings.Builder
		fmt.Fprintf(&w, "Node %s", n.Name)
		var addrs []string
		for _, a := range n.Status.Addresses {
			addrs = append(addrs, string(a.Type)+"="+a.Address)
		}
		if len(addrs) > 0 {
			fmt.Fprintf(&w, " (%s)", strings.Join(addrs, ", "))
		}
		w.WriteString("\n")
		if n.Spec.Unschedulable {
			fmt.Fprintf(&w, "Unschedulable: true (cordoned)\n")
		}
		for _, c := range n.Status.Conditions {
			fmt.Fprintf(&w, "Condition %s=%s %s: %s (last heartbeat %s, since %s)\n", c.Type, c.Status, c.Reason, c.Message, ts(c.LastHeartbeatTime), ts(c.LastTransitionTime))
		}
		if l := s.nodeLease(n.Name); l != nil {
			fmt.Fprintf(&w, "Kubelet lease %s/%s: %s\n", l.Namespace, l.Name, leaseState(l))
		}
		for _, t := range n.Spec.Taints {
			x := t.Key
			if t.Value != "" {
				x += "=" + t.Value
			}
			fmt.Fprintf(&w, "Taint %s:%s\n", x, t.Effect)
		}
		fmt.Fprintf(&w, "Allocatable: %s\n", resources(n.Status.Allocatable))
		if reqs := requestedOn(n.Name, append(append([]corev1.Pod{}, s.Pods...), s.RelatedPods...)); s.Target.Kind == investigate.KindNode && len(reqs) > 0 {
			fmt.Fprintf(&w, "Requested by the pods seen on it: %s\n", resources(reqs))
		}
		for _, m := range s.NodeMetrics {
			if m.Name == n.Name {
				fmt.Fprintf(&w, "Usage (metrics.k8s.io, %s): %s\n", ts(m.Timestamp), resources(m.Usage))
			}
		}
		if len(n.Labels) > 0 {
			var keep []string
			for _, k := range []string{"kubernetes.io/hostname", "node-role.kubernetes.io/control-plane", "node.kubernetes.io/instance-type", "topology.kubernetes.io/zone"} {
				if v, ok := n.Labels[k]; ok {
					keep = append(keep, k+"="+v)
				}
			}
			var other []string
			for k, v := range n.Labels {
				if !slices.Contains([]string{"kubernetes.io/hostname", "node-role.kubernetes.io/control-plane", "node.kubernetes.io/instance-type", "topology.kubernetes.io/zone", "kubernetes.io/os", "kubernetes.io/arch", "beta.kubernetes.io/os", "beta.kubernetes.io/arch"}, k) {
					other = append(other, k+"="+v)
				}
			}
			sort.Strings(other)
			keep = append(keep, other...)
			if len(keep) > 0 {
				fmt.Fprintf(&w, "Labels: %s\n", strings.Join(keep, ","))
			}
		}
		if ni := n.Status.NodeInfo; ni.KubeletVersion != "" {
			fmt.Fprintf(&w, "Kubelet %s, runtime %s, OS image %s\n", ni.KubeletVersion, ni.ContainerRuntimeVersion, ni.OSImage)
		}
		prio := prioMedium
		if (s.Target.Kind == investigate.KindNode && s.Target.Name == n.Name) || (nodeCategory(s.Category) && s.Target.Node == n.Name) {
			prio = prioCritical
		}
		add("node/"+n.Name, "Node "+n.Name, prio, w.String(), false)
	}
}

// requestedOn sums the requests of the running pods on a node.
func requestedOn(node string, pods []corev1.Pod) corev1.ResourceList {
	sum := corev1.ResourceList{}
	for _, p := range pods {
		if p.Spec.NodeName != node || p.Status.Phase == corev1.PodSucceeded || p.Status.Phase == corev1.PodFailed {
			continue
		}
		for _, c := range p.Spec.Containers {
			for k, v := range c.Resources.Requests {
				q := sum[k]
				q.Add(v)
				sum[k] = q
			}
		}
	}
	return sum
}

func (s *Snapshot) renderNetwork(add addFunc) {
	if len(s.NetworkPolicies) > 0 {
		var w strings.Builder
		for _, np := range s.NetworkPolicies {
			fmt.Fprintf(&w, "NetworkPolicy %s/%s (created %s) selects pods %s; policy types %v\n", np.Namespace, np.Name, ts(np.CreationTimestamp), selectorString(&np.Spec.PodSelector), np.Spec.PolicyTypes)
			for _, t := range np.Spec.PolicyTypes {
				if t == "Ingress" && len(np.Spec.Ingress) == 0 {
					fmt.Fprintf(&w, "  Ingress: no rules, all ingress denied (default deny)\n")
				}
				if t == "Egress" && len(np.Spec.Egress) == 0 {
					fmt.Fprintf(&w, "  Egress: no rules, all egress denied (default deny, DNS included)\n")
				}
			}
			for _, r := range np.Spec.Ingress {
				fmt.Fprintf(&w, "  Ingress allow from %s on %s\n", peers(r.From), policyPorts(r.Ports))
			}
			for _, r := range np.Spec.Egress {
				fmt.Fprintf(&w, "  Egress allow to %s on %s\n", peers(r.To), policyPorts(r.Ports))
			}
		}
		prio := prioMedium
		if s.Category == investigate.NetworkPolicy {
			prio = prioCritical
		}
		add("network/policies", "NetworkPolicies selecting the pods", prio, w.String(), false)
	}
	if s.DNS == nil {
		return
	}
	var w strings.Builder
	d := s.DNS
	if len(d.Pods) == 0 {
		fmt.Fprintf(&w, "No CoreDNS/kube-dns pods found in kube-system\n")
	}
	for i := range d.Pods {
		w.WriteString(podLine(&d.Pods[i]) + "\n")
		for _, cs := range d.Pods[i].Status.ContainerStatuses {
			if cs.LastTerminationState.Terminated != nil {
				fmt.Fprintf(&w, "  %s last state: %s\n", cs.Name, containerState(cs.LastTerminationState))
			}
			if cs.State.Waiting != nil {
				fmt.Fprintf(&w, "  %s state: %s\n", cs.Name, containerState(cs.State))
			}
		}
	}
	if d.Service != nil {
		fmt.Fprintf(&w, "Service kube-system/%s clusterIP %s\n", d.Service.Name, d.Service.Spec.ClusterIP)
		r, n := readyEndpoints(d.Endpoints)
		fmt.Fprintf(&w, "kube-dns EndpointSlices: %d ready, %d not ready endpoints\n", r, n)
	} else {
		fmt.Fprintf(&w, "Service kube-system/kube-dns not found\n")
	}
	if d.Corefile != "" {
		fmt.Fprintf(&w, "Corefile (configmap kube-system/coredns):\n%s\n", strings.TrimSpace(d.Corefile))
	}
	prio := prioLow
	if s.Category == investigate.DNSIssues {
		prio = prioCritical
	}
	add("network/dns", "Cluster DNS", prio, w.String(), false)
}

func selectorString(sel *metav1.LabelSelector) string {
	if sel == nil || (len(sel.MatchLabels) == 0 && len(sel.MatchExpressions) == 0) {
		return "(all pods in the namespace)"
	}
	s, err := metav1.LabelSelectorAsSelector(sel)
	if err != nil {
		return "(invalid selector)"
	}
	return s.String()
}

func peers(ps []networkingv1.NetworkPolicyPeer) string {
	if len(ps) == 0 {
		return "anywhere"
	}
	var out []string
	for _, p := range ps {
		var parts []string
		if p.NamespaceSelector != nil {
			parts = append(parts, "namespaces "+selectorString(p.NamespaceSelector))
		}
		if p.PodSelector != nil {
			parts = append(parts, "pods "+selectorString(p.PodSelector))
		}
		if p.IPBlock != nil {
			x := "ipBlock " + p.IPBlock.CIDR
			if len(p.IPBlock.Except) > 0 {
				x += " except " + strings.Join(p.IPBlock.Except, ",")
			}
			parts = append(parts, x)
		}
		out = append(out, strings.Join(parts, " and "))
	}
	return strings.Join(out, " or ")
}

func policyPorts(ps []networkingv1.NetworkPolicyPort) string {
	if len(ps) == 0 {
		return "all ports"
	}
	var out []string
	for _, p := range ps {
		proto := "TCP"
		if p.Protocol != nil {
			proto = string(*p.Protocol)
		}
		port := "*"
		if p.Port != nil {
			port = p.Port.String()
		}
		out = append(out, port+"/"+proto)
	}
	return strings.Join(out, ",")
}

func (s *Snapshot) renderStorage(add addFunc) {
	if len(s.PVCs)+len(s.PVs)+len(s.StorageClasses) == 0 {
		return
	}
	var w strings.Builder
	for _, c := range s.PVCs {
		class := "<none: cluster default>"
		if c.Spec.StorageClassName != nil {
			class = *c.Spec.StorageClassName
		}
		q := c.Spec.Resources.Requests[corev1.ResourceStorage]
		fmt.Fprintf(&w, "PVC %s/%s: %s, class %s, volume %s, requests %s, access %v\n", c.Namespace, c.Name, c.Status.Phase, class, orNone(c.Spec.VolumeName), q.String(), c.Spec.AccessModes)
	}
	for _, pv := range s.PVs {
		q := pv.Spec.Capacity[corev1.ResourceStorage]
		claim := "-"
		if pv.Spec.ClaimRef != nil {
			claim = pv.Spec.ClaimRef.Namespace + "/" + pv.Spec.ClaimRef.Name
		}
		fmt.Fprintf(&w, "PV %s: %s, class %s, capacity %s, claim %s, reclaim %s\n", pv.Name, pv.Status.Phase, pv.Spec.StorageClassName, q.String(), claim, pv.Spec.PersistentVolumeReclaimPolicy)
		if nodes := pinnedNodes(&pv); len(nodes) > 0 {
			fmt.Fprintf(&w, "  Node affinity: pinned to node %s (kubernetes.io/hostname)\n", strings.Join(nodes, ", "))
		}
	}
	for _, sc := range s.StorageClasses {
		mode := "Immediate"
		if sc.VolumeBindingMode != nil {
			mode = string(*sc.VolumeBindingMode)
		}
		def := ""
		if sc.Annotations["storageclass.kubernetes.io/is-default-class"] == "true" {
			def = " (default)"
		}
		fmt.Fprintf(&w, "StorageClass %s%s: provisioner %s, binding %s\n", sc.Name, def, sc.Provisioner, mode)
	}
	prio := prioMedium
	for _, c := range s.PVCs {
		if c.Status.Phase != corev1.ClaimBound {
			prio = prioHigh
		}
	}
	add("storage", "Storage", prio, w.String(), false)
}

func orNone(s string) string {
	if s == "" {
		return "<none>"
	}
	return s
}

func (s *Snapshot) renderResources(add addFunc) {
	resourceCat := s.Category == investigate.OOMKilled || s.Category == investigate.CPUThrottling
	var w strings.Builder
	for i := range s.Pods {
		p := &s.Pods[i]
		for _, c := range p.Spec.Containers {
			u, ok := containerUsage(s.PodMetrics, p, c.Name)
			if !ok {
				continue
			}
			fmt.Fprintf(&w, "%s/%s container %s: %s\n", p.Namespace, p.Name, c.Name, usageVsLimits(u, c.Resources))
		}
	}
	for _, m := range s.PodMetrics {
		if slices.ContainsFunc(s.Pods, func(p corev1.Pod) bool { return p.Namespace == m.Namespace && p.Name == m.Name }) {
			continue
		}
		for _, c := range m.Containers {
			fmt.Fprintf(&w, "%s/%s container %s usage: %s\n", m.Namespace, m.Name, c.Name, resources(c.Usage))
		}
	}
	prio := prioLow
	if resourceCat {
		prio = prioHigh
	}
	add("resources/usage", "Resource usage vs requests and limits", prio, w.String(), false)

	var l strings.Builder
	for _, lr := range s.LimitRanges {
		for _, it := range lr.Spec.Limits {
			fmt.Fprintf(&l, "LimitRange %s/%s type %s: default limits %s; default requests %s; max %s; min %s\n", lr.Namespace, lr.Name, it.Type,
				resources(it.Default), resources(it.DefaultRequest), resources(it.Max), resources(it.Min))
		}
	}
	for _, q := range s.ResourceQuotas {
		fmt.Fprintf(&l, "ResourceQuota %s/%s: hard %s; used %s\n", q.Namespace, q.Name, resources(q.Status.Hard), resources(q.Status.Used))
	}
	for _, c := range s.QuotaConsumers {
		fmt.Fprintf(&l, "ResourceQuota %s held by %s\n", c.Quota, c)
	}
	prio = prioLow
	if resourceCat || s.Category == investigate.PodPending {
		prio = prioMedium
	}
	add("resources/limits", "LimitRanges and ResourceQuotas", prio, l.String(), false)
}

// usageVsLimits renders a container's usage against its requests and limits.
func usageVsLimits(u corev1.ResourceList, r corev1.ResourceRequirements) string {
	var parts []string
	for _, name := range []corev1.ResourceName{corev1.ResourceCPU, corev1.ResourceMemory} {
		q, ok := u[name]
		if !ok {
			continue
		}
		x := fmt.Sprintf("%s usage %s", name, q.String())
		if lim, ok := r.Limits[name]; ok {
			x += fmt.Sprintf(" / limit %s (%s)", lim.String(), percent(q, lim))
		} else {
			x += " / no limit"
		}
		if req, ok := r.Requests[name]; ok {
			x += fmt.Sprintf(", request %s", req.String())
		}
		parts = append(parts, x)
	}
	return strings.Join(parts, "; ")
}

func percent(q, of resource.Quantity) string {
	if of.IsZero() {
		return "-"
	}
	return fmt.Sprintf("%.0f%%", 100*q.AsApproximateFloat64()/of.AsApproximateFloat64())
}

func (s *Snapshot) renderConfigMaps(add addFunc) {
	var w strings.Builder
	for _, cm := range s.ConfigMaps {
		keys := make([]string, 0, len(cm.Data))
		for k := range cm.Data {
			keys = append(keys, k)
		}
		sort.Strings(keys)
		fmt.Fprintf(&w, "ConfigMap %s/%s keys: %s\n", cm.Namespace, cm.Name, strings.Join(keys, ", "))
		for _, k := range keys {
			v := cm.Data[k]
			if len(v) > maxConfigValueBytes {
				v = truncateUTF8(v, maxConfigValueBytes) + "…"
			}
			fmt.Fprintf(&w, "  %s: %s\n", k, strings.ReplaceAll(strings.TrimSpace(v), "\n", "\n    "))
		}
	}
	add("configmaps", "ConfigMaps the pods reference", prioLow, w.String(), false)
}

// sortObjects puts every object slice in a stable order (namespace, name),
// keeping the most relevant first where order carries meaning (pods,
// events, logs, the target node).
func sortObjects(s *Snapshot) {
	byName := func(ns1, n1, ns2, n2 string) bool {
		if ns1 != ns2 {
			return ns1 < ns2
		}
		return n1 < n2
	}
	sort.SliceStable(s.Services, func(i, j int) bool {
		return byName(s.Services[i].Namespace, s.Services[i].Name, s.Services[j].Namespace, s.Services[j].Name)
	})
	sort.SliceStable(s.Endpoints, func(i, j int) bool {
		return byName(s.Endpoints[i].Namespace, s.Endpoints[i].Name, s.Endpoints[j].Namespace, s.Endpoints[j].Name)
	})
	sort.SliceStable(s.EndpointSlices, func(i, j int) bool {
		return byName(s.EndpointSlices[i].Namespace, s.EndpointSlices[i].Name, s.EndpointSlices[j].Namespace, s.EndpointSlices[j].Name)
	})
	sort.SliceStable(s.ConfigMaps, func(i, j int) bool {
		return byName(s.ConfigMaps[i].Namespace, s.ConfigMaps[i].Name, s.ConfigMaps[j].Namespace, s.ConfigMaps[j].Name)
	})
	sort.SliceStable(s.PVCs, func(i, j int) bool {
		return byName(s.PVCs[i].Namespace, s.PVCs[i].Name, s.PVCs[j].Namespace, s.PVCs[j].Name)
	})
	sort.SliceStable(s.PVs, func(i, j int) bool { return s.PVs[i].Name < s.PVs[j].Name })
	sort.SliceStable(s.StorageClasses, func(i, j int) bool { return s.StorageClasses[i].Name < s.StorageClasses[j].Name })
	sort.SliceStable(s.NetworkPolicies, func(i, j int) bool {
		return byName(s.NetworkPolicies[i].Namespace, s.NetworkPolicies[i].Name, s.NetworkPolicies[j].Namespace, s.NetworkPolicies[j].Name)
	})
	sort.SliceStable(s.Deployments, func(i, j int) bool {
		return byName(s.Deployments[i].Namespace, s.Deployments[i].Name, s.Deployments[j].Namespace, s.Deployments[j].Name)
	})
	sort.SliceStable(s.ReplicaSets, func(i, j int) bool {
		return byName(s.ReplicaSets[i].Namespace, s.ReplicaSets[i].Name, s.ReplicaSets[j].Namespace, s.ReplicaSets[j].Name)
	})
	sort.SliceStable(s.StatefulSets, func(i, j int) bool {
		return byName(s.StatefulSets[i].Namespace, s.StatefulSets[i].Name, s.StatefulSets[j].Namespace, s.StatefulSets[j].Name)
	})
	sort.SliceStable(s.Ingresses, func(i, j int) bool {
		return byName(s.Ingresses[i].Namespace, s.Ingresses[i].Name, s.Ingresses[j].Namespace, s.Ingresses[j].Name)
	})
	sort.SliceStable(s.HorizontalPodAutoscalers, func(i, j int) bool {
		a, b := &s.HorizontalPodAutoscalers[i], &s.HorizontalPodAutoscalers[j]
		return byName(a.Namespace, a.Name, b.Namespace, b.Name)
	})
	sort.SliceStable(s.PodDisruptionBudgets, func(i, j int) bool {
		a, b := &s.PodDisruptionBudgets[i], &s.PodDisruptionBudgets[j]
		return byName(a.Namespace, a.Name, b.Namespace, b.Name)
	})
	sort.SliceStable(s.CronJobs, func(i, j int) bool {
		return byName(s.CronJobs[i].Namespace, s.CronJobs[i].Name, s.CronJobs[j].Namespace, s.CronJobs[j].Name)
	})
	sort.SliceStable(s.PodMetrics, func(i, j int) bool {
		return byName(s.PodMetrics[i].Namespace, s.PodMetrics[i].Name, s.PodMetrics[j].Namespace, s.PodMetrics[j].Name)
	})
	sort.SliceStable(s.NodeMetrics, func(i, j int) bool { return s.NodeMetrics[i].Name < s.NodeMetrics[j].Name })
	target := s.Target.Node
	sort.SliceStable(s.Nodes, func(i, j int) bool {
		if (s.Nodes[i].Name == target) != (s.Nodes[j].Name == target) {
			return s.Nodes[i].Name == target
		}
		return s.Nodes[i].Name < s.Nodes[j].Name
	})
}
