package k8s

import (
	"fmt"
	"regexp"
	"sort"
	"strings"

	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/resource"

	"github.com/k8flex/k8flex/investigate"
)

// A controller that cannot create its pods reports it as a FailedCreate
// event on itself (ReplicaSet, StatefulSet, DaemonSet, Job, CronJob,
// ReplicationController) and, for ReplicaSets and Deployments, as a
// ReplicaFailure condition. The message is the API server's refusal: an
// admission plugin (ResourceQuota, LimitRanger, PodSecurity, a webhook,
// ServiceAccount) names what it refused and why. These findings name the
// refusing object and the bad value; they all imply pod-pending.

// createRefusal is one controller's failure to create pods, from its
// events and conditions.
type createRefusal struct {
	kind, ns, name string
	count          int32
	message        string   // the newest refusal
	proof          []string // the event or condition lines
	recovered      bool     // a SuccessfulCreate followed the last refusal
}

var (
	// quotaExceeded is the ResourceQuota admission message:
	// "exceeded quota: q, requested: a=1,b=2, used: a=3, limited: a=4".
	quotaExceeded = regexp.MustCompile(`exceeded quota: ([^,\s]+), requested: (\S+?), used: (\S+?), limited: ([^\s'"]+?)[,'"]?(?:\s|$)`)
	// quotaMustSpecify: "failed quota: q: must specify limits.cpu for: app; limits.memory for: app".
	quotaMustSpecify = regexp.MustCompile(`failed quota: ([^:\s]+): must specify (.+?)\s*['"]?$`)
	// podSecurity: `violates PodSecurity "restricted:latest": a (…), b (…)`.
	podSecurity = regexp.MustCompile(`violates PodSecurity "([^"]+)": (.+?)\s*['"]?$`)
	// limitRangeBound: "maximum memory usage per Container is 1Gi, but limit is 2Gi".
	limitRangeBound = regexp.MustCompile(`(maximum|minimum) (\S+) usage per (Container|Pod|PersistentVolumeClaim) is (\S+?), but (limit|request) is ([^,\]\s'"]+)`)
	// limitRangeRatio: "memory max limit to request ratio per Container is 2, but provided ratio is 4.000000".
	limitRangeRatio = regexp.MustCompile(`(\S+) max limit to request ratio per (Container|Pod) is (\S+?), but provided ratio is ([0-9.]+)`)
	// webhookDenied: `admission webhook "x" denied the request: why`.
	webhookDenied = regexp.MustCompile(`admission webhook "([^"]+)" denied the request:?\s*(.*?)\s*['"]?$`)
	// webhookFailed: `failed calling webhook "x": why`.
	webhookFailed = regexp.MustCompile(`failed calling webhook "([^"]+)":?\s*(.*?)\s*['"]?$`)
	// saNotFound: `error looking up service account ns/name: serviceaccount "name" not found`.
	saNotFound = regexp.MustCompile(`error looking up service account ([^/\s]+)/([^:\s]+): serviceaccount "[^"]*" not found|serviceaccount "([^"]+)" not found`)
)

// diagnoseFailedCreate explains workloads whose controller cannot create
// pods (or a StatefulSet's claims, or a CronJob's Jobs).
func diagnoseFailedCreate(d *diag) []investigate.Finding {
	var out []investigate.Finding
	for _, r := range d.createRefusals() {
		f := d.explainRefusal(r)
		if r.recovered {
			f.Score = scoreContext
			f.Severity = investigate.FindingInfo
			f.Summary += " It has created pods successfully since then."
		}
		out = append(out, f)
	}
	return out
}

// createRefusals collects, per controller of the investigation, its
// FailedCreate events (or ReplicaFailure condition when the events expired).
func (d *diag) createRefusals() []*createRefusal {
	byObj := map[objKey]*createRefusal{}
	var order []objKey
	for k, evs := range d.events {
		if !creatorKind(k.kind) || !d.inGraph(k.kind, k.ns, k.name) {
			continue
		}
		var last *corev1.Event
		var lastOK *corev1.Event
		var count int32
		var proof []string
		for _, e := range evs {
			switch e.Reason {
			case "FailedCreate":
				count += max(e.Count, 1)
				proof = appendUnique(proof, fmt.Sprintf("%s %s: %s", strings.ToLower(k.kind), k.name, evProof(e)))
				if last == nil || !eventTime(e).Before(eventTime(last)) {
					last = e
				}
			case "SuccessfulCreate":
				if lastOK == nil || !eventTime(e).Before(eventTime(lastOK)) {
					lastOK = e
				}
			}
		}
		if last == nil {
			continue
		}
		if len(proof) > 3 {
			proof = append(proof[:2], proof[len(proof)-1])
		}
		byObj[k] = &createRefusal{kind: k.kind, ns: k.ns, name: k.name, count: count, message: last.Message, proof: proof,
			recovered: lastOK != nil && eventTime(lastOK).After(eventTime(last))}
		order = append(order, k)
	}
	// A ReplicaFailure condition outlives the events (which expire after an hour).
	cond := func(kind, ns, name string, conds []appsv1.DeploymentCondition, rsConds []appsv1.ReplicaSetCondition) {
		msg, reason := "", ""
		for _, c := range conds {
			if c.Type == appsv1.DeploymentReplicaFailure && c.Status == corev1.ConditionTrue {
				msg, reason = c.Message, c.Reason
			}
		}
		for _, c := range rsConds {
			if c.Type == appsv1.ReplicaSetReplicaFailure && c.Status == corev1.ConditionTrue {
				msg, reason = c.Message, c.Reason
			}
		}
		if msg == "" {
			return
		}
		for _, k := range order {
			if k.ns == ns && (k.name == name || deploymentOfReplicaSet(k.name) == name || deploymentOfReplicaSet(name) == k.name) {
				return // its events say it already
			}
		}
		k := objKey{kind, ns, name}
		byObj[k] = &createRefusal{kind: kind, ns: ns, name: name, message: msg,
			proof: []string{fmt.Sprintf("%s %s condition ReplicaFailure=True %s: %s", strings.ToLower(kind), name, reason, msg)}}
		order = append(order, k)
	}
	for i := range d.s.ReplicaSets {
		x := &d.s.ReplicaSets[i]
		cond("ReplicaSet", x.Namespace, x.Name, nil, x.Status.Conditions)
	}
	for i := range d.s.Deployments {
		x := &d.s.Deployments[i]
		cond("Deployment", x.Namespace, x.Name, x.Status.Conditions, nil)
	}
	sort.SliceStable(order, func(i, j int) bool {
		a, b := order[i], order[j]
		if a.ns != b.ns {
			return a.ns < b.ns
		}
		if a.kind != b.kind {
			return a.kind < b.kind
		}
		return a.name < b.name
	})
	out := make([]*createRefusal, 0, len(order))
	for _, k := range order {
		out = append(out, byObj[k])
	}
	return out
}

func creatorKind(kind string) bool {
	switch kind {
	case "ReplicaSet", "StatefulSet", "DaemonSet", "Job", "CronJob", "ReplicationController":
		return true
	}
	return false
}

// inGraph reports whether the controller belongs to the investigation: it
// is in the snapshot, it controls a pod of the snapshot, it is the
// ReplicaSet of a Deployment of the snapshot or a Job of a CronJob of the
// snapshot, or the alert names it.
func (d *diag) inGraph(kind, ns, name string) bool {
	t := d.s.Target
	if strings.EqualFold(string(t.Kind), kind) && t.Name == name && (t.Namespace == "" || t.Namespace == ns) {
		return true
	}
	if t.Workload.Name == name && strings.EqualFold(string(t.Workload.Kind), kind) {
		return true
	}
	for _, p := range d.pods {
		if o := controllerOf(p); o != nil && p.Namespace == ns && o.Kind == kind && o.Name == name {
			return true
		}
	}
	switch kind {
	case "ReplicaSet":
		for i := range d.s.ReplicaSets {
			if d.s.ReplicaSets[i].Namespace == ns && d.s.ReplicaSets[i].Name == name {
				return true
			}
		}
		dep := deploymentOfReplicaSet(name)
		for i := range d.s.Deployments {
			if d.s.Deployments[i].Namespace == ns && d.s.Deployments[i].Name == dep {
				return true
			}
		}
		if strings.EqualFold(string(t.Kind), "Deployment") && t.Name == dep {
			return true
		}
	case "StatefulSet":
		for i := range d.s.StatefulSets {
			if d.s.StatefulSets[i].Namespace == ns && d.s.StatefulSets[i].Name == name {
				return true
			}
		}
	case "DaemonSet":
		for i := range d.s.DaemonSets {
			if d.s.DaemonSets[i].Namespace == ns && d.s.DaemonSets[i].Name == name {
				return true
			}
		}
	case "Job":
		for i := range d.s.Jobs {
			if d.s.Jobs[i].Namespace == ns && d.s.Jobs[i].Name == name {
				return true
			}
		}
		for i := range d.s.CronJobs {
			if d.s.CronJobs[i].Namespace == ns && cronJobRun.MatchString(strings.TrimPrefix(name, d.s.CronJobs[i].Name)) {
				return true
			}
		}
	case "CronJob":
		for i := range d.s.CronJobs {
			if d.s.CronJobs[i].Namespace == ns && d.s.CronJobs[i].Name == name {
				return true
			}
		}
	}
	return false
}

// cronJobRun matches what the CronJob controller appends to its name to
// name a Job: "-" and the scheduled time in minutes.
var cronJobRun = regexp.MustCompile(`^-[0-9]{6,}$`)

// template returns the pod template of the controller when the snapshot
// holds it (a ReplicaSet falls back to its Deployment's).
func (d *diag) template(kind, ns, name string) *corev1.PodTemplateSpec {
	for _, w := range d.s.workloadTemplates() {
		if w.kind == kind && w.ns == ns && w.name == name {
			return w.template
		}
	}
	if kind == "ReplicaSet" {
		return d.template("Deployment", ns, deploymentOfReplicaSet(name))
	}
	return nil
}

// workloadLabel names the controller for people: "ReplicaSet x (Deployment
// y)" when the ReplicaSet belongs to a Deployment.
func workloadLabel(kind, ns, name string) string {
	s := kind + " " + ns + "/" + name
	if kind == "ReplicaSet" {
		if dep := deploymentOfReplicaSet(name); dep != "" {
			s += " (Deployment " + dep + ")"
		}
	}
	return s
}

func (d *diag) explainRefusal(r *createRefusal) investigate.Finding {
	who := workloadLabel(r.kind, r.ns, r.name)
	times := ""
	if r.count > 1 {
		times = fmt.Sprintf(" (FailedCreate ×%d)", r.count)
	}
	ref := strings.ToLower(r.kind) + "/" + r.ns + "/" + r.name
	f := investigate.Finding{
		Severity: investigate.FindingCritical, Score: scoreRootCause,
		Objects: []string{ref}, Proof: r.proof,
		Impact: fmt.Sprintf("%s runs fewer pods than it should; every retry of its controller is refused the same way until the cause is fixed.", who),
	}
	msg := r.message
	what := "pods"
	if strings.Contains(msg, "create Claim") {
		what = "PersistentVolumeClaims"
	} else if r.kind == "CronJob" {
		what = "Jobs"
	}
	switch {
	case quotaExceeded.MatchString(msg):
		m := quotaExceeded.FindStringSubmatch(msg)
		q := m[1]
		req, used, lim := parsePairs(m[2]), parsePairs(m[3]), parsePairs(m[4])
		var parts []string
		for _, k := range sortedKeys(lim) {
			s := fmt.Sprintf("%s used %s of %s", k, used[k], lim[k])
			if req[k] != "" {
				s += fmt.Sprintf(", the new %s asks %s", strings.TrimSuffix(what, "s"), req[k])
			}
			parts = append(parts, s)
		}
		f.Rule = "failedcreate-quota"
		f.Objects = append(f.Objects, "resourcequota/"+r.ns+"/"+q)
		f.Summary = fmt.Sprintf("ResourceQuota %s in namespace %s is exhausted: %s; the controller of %s cannot create its %s%s",
			q, r.ns, strings.Join(parts, "; "), who, what, times)
		if rq := d.resourceQuota(r.ns, q); rq != nil {
			f.Proof = append(f.Proof, quotaProof(rq))
		}
		f.Detail = "ResourceQuota admission rejects any object whose requests would push the namespace's usage over the quota's hard limit; running pods keep their share, so the workload stays short of its replicas."
		if held := d.quotaHolders(r.ns, q); len(held) > 0 {
			var names []string
			for _, c := range held {
				names = append(names, c.String())
				f.Objects = appendUnique(f.Objects, strings.ToLower(c.Kind)+"/"+r.ns+"/"+c.Name)
				f.Proof = append(f.Proof, fmt.Sprintf("resourcequota %s/%s held by %s", r.ns, q, c))
			}
			f.Summary += fmt.Sprintf("; the quota is held mostly by %s", strings.Join(names, "; "))
			if c := held[0]; c.Kind == "Job" && c.Parallelism > 1 {
				f.Actions = append(f.Actions, fmt.Sprintf("kubectl patch job -n %s %s -p '{\"spec\":{\"parallelism\":%d}}'   # fewer pods at once free quota for the other workloads", r.ns, c.Name, max(1, c.Parallelism/2)))
			}
		}
		f.Actions = []string{
			fmt.Sprintf("kubectl describe resourcequota -n %s %s   # used vs hard", r.ns, q),
			fmt.Sprintf("Raise the quota's hard limit for %s, lower the %s of %s, or free quota by scaling down other workloads in %s.", strings.Join(sortedKeys(lim), ", "), "requests", who, r.ns),
		}
		f.Prevention = "Alert on quota usage (kube_resourcequota used/hard) before it reaches 100%, and size quotas for surge during rollouts and autoscaling."
	case quotaMustSpecify.MatchString(msg):
		m := quotaMustSpecify.FindStringSubmatch(msg)
		f.Rule = "failedcreate-quota"
		f.Objects = append(f.Objects, "resourcequota/"+r.ns+"/"+m[1])
		f.Summary = fmt.Sprintf("ResourceQuota %s in namespace %s constrains resources that the pod template of %s does not set (must specify %s): the controller cannot create its %s%s",
			m[1], r.ns, who, clip(m[2], 200), what, times)
		f.Detail = "A ResourceQuota on requests.* or limits.* makes admission reject every pod that does not set that request or limit (directly or through a LimitRange default)."
		f.Actions = []string{
			fmt.Sprintf("Set the missing requests/limits in the pod template of %s, or add a LimitRange with defaults in %s.", who, r.ns),
			fmt.Sprintf("kubectl describe resourcequota -n %s %s", r.ns, m[1]),
		}
		f.Prevention = "Give every namespace with a ResourceQuota a LimitRange that sets default requests and limits, and check templates for requests/limits in CI."
	case podSecurity.MatchString(msg):
		m := podSecurity.FindStringSubmatch(msg)
		level := m[1]
		violations := splitTopLevel(m[2])
		short := make([]string, len(violations))
		for i, v := range violations {
			short[i] = compactViolation(v)
		}
		f.Rule = "failedcreate-podsecurity"
		f.Summary = fmt.Sprintf("PodSecurity admission rejects the %s of %s: namespace %s enforces %q and the pod template violates it: %s%s",
			what, who, r.ns, level, clip(strings.Join(short, "; "), 600), times)
		f.Detail = fmt.Sprintf("The namespace's pod-security.kubernetes.io/enforce level (or the cluster default) is checked when a pod is created; pods admitted before the level was enforced keep running, but no new pod of %s is admitted until its template complies.", who)
		f.Actions = []string{
			fmt.Sprintf("Fix the template of %s to meet %q: %s", who, level, podSecurityFixes(violations)),
			fmt.Sprintf("kubectl get ns %s --show-labels   # pod-security.kubernetes.io/enforce", r.ns),
			fmt.Sprintf("If the workload truly needs the privileges, label the namespace with a lower enforce level (kubectl label ns %s pod-security.kubernetes.io/enforce=privileged --overwrite) after review.", r.ns),
		}
		f.Prevention = "Roll out a stricter Pod Security level with warn/audit first (pod-security.kubernetes.io/warn) and fix the reported workloads before enforcing it."
	case limitRangeBound.MatchString(msg) || limitRangeRatio.MatchString(msg):
		f.Rule = "failedcreate-limitrange"
		var parts []string
		tpl := d.template(r.kind, r.ns, r.name)
		for _, m := range limitRangeBound.FindAllStringSubmatch(msg, -1) {
			s := fmt.Sprintf("%s %s per %s is %s, but the %s is %s", m[1], m[2], m[3], m[4], m[5], m[6])
			if c := containerWith(tpl, m[2], m[5], m[6]); c != "" {
				s += " (container " + c + ")"
			}
			parts = append(parts, s)
		}
		for _, m := range limitRangeRatio.FindAllStringSubmatch(msg, -1) {
			parts = append(parts, fmt.Sprintf("%s limit/request ratio per %s may be at most %s, but it is %s", m[1], m[2], m[3], strings.TrimRight(strings.TrimRight(m[4], "0"), ".")))
		}
		lr := d.limitRangeNames(r.ns)
		name := "a LimitRange"
		if len(lr) > 0 {
			name = "LimitRange " + strings.Join(lr, ", ")
			for _, n := range lr {
				f.Objects = append(f.Objects, "limitrange/"+r.ns+"/"+n)
			}
		}
		f.Summary = fmt.Sprintf("%s in namespace %s rejects the %s of %s: %s%s", name, r.ns, what, who, strings.Join(parts, "; "), times)
		f.Detail = "The LimitRanger admission plugin refuses a pod whose requests or limits fall outside the namespace's LimitRange; the controller retries and is refused each time."
		f.Actions = []string{
			fmt.Sprintf("kubectl describe limitrange -n %s", r.ns),
			fmt.Sprintf("Bring the requests/limits of %s within the LimitRange, or change the LimitRange if the workload needs more.", who),
		}
		f.Prevention = "Validate templates against the namespace's LimitRange in CI (a dry-run apply on the server runs admission)."
	case webhookDenied.MatchString(msg):
		m := webhookDenied.FindStringSubmatch(msg)
		f.Rule = "failedcreate-webhook"
		f.Summary = fmt.Sprintf("Admission webhook %q denies the %s of %s: %s%s", m[1], what, who, clip(m[2], 300), times)
		f.Detail = "A validating admission webhook (a policy engine or an operator) rejects the pod template; the controller retries and is refused each time."
		f.Actions = []string{
			"kubectl get validatingwebhookconfigurations,mutatingwebhookconfigurations   # which configuration registers " + m[1],
			fmt.Sprintf("Change the template of %s to satisfy the policy, or grant it an exception in the policy.", who),
		}
		f.Prevention = "Run the admission policies against manifests in CI (audit mode first) so that a template the policy refuses never reaches the cluster."
	case webhookFailed.MatchString(msg):
		m := webhookFailed.FindStringSubmatch(msg)
		f.Rule = "failedcreate-webhook"
		f.Summary = fmt.Sprintf("Admission webhook %q cannot be called (%s), and its failurePolicy rejects the %s of %s%s", m[1], clip(m[2], 250), what, who, times)
		f.Detail = "With failurePolicy: Fail, an unreachable webhook (its Service has no endpoints, its certificate is invalid, it times out) makes the API server reject every object the webhook matches."
		f.Actions = []string{
			"kubectl get validatingwebhookconfigurations,mutatingwebhookconfigurations -o wide   # the webhook's Service and failurePolicy",
			"Restore the webhook's backend (its Service endpoints and certificate), or exclude critical namespaces with a namespaceSelector.",
		}
		f.Prevention = "Run admission webhooks with several replicas and a PodDisruptionBudget, and scope them with namespaceSelector so that they cannot block the system namespaces."
	case saNotFound.MatchString(msg):
		m := saNotFound.FindStringSubmatch(msg)
		sa := m[2]
		if sa == "" {
			sa = m[3]
		}
		f.Rule = "failedcreate-serviceaccount"
		f.Objects = append(f.Objects, "serviceaccount/"+r.ns+"/"+sa)
		f.Summary = fmt.Sprintf("ServiceAccount %s/%s does not exist, and the pod template of %s runs as it: the controller cannot create its %s%s", r.ns, sa, who, what, times)
		f.Detail = "The ServiceAccount admission plugin rejects a pod whose serviceAccountName does not exist in its namespace."
		f.Actions = []string{
			fmt.Sprintf("kubectl create serviceaccount -n %s %s   # or point serviceAccountName of %s at an existing one", r.ns, sa, who),
		}
		f.Prevention = "Ship the ServiceAccount in the same chart or kustomization as the workload that uses it."
	default:
		f.Rule = "failedcreate"
		f.Score = scoreCause
		f.Summary = fmt.Sprintf("The controller of %s cannot create its %s: %s%s", who, what, clip(msg, 400), times)
		f.Actions = []string{fmt.Sprintf("kubectl describe %s -n %s %s   # FailedCreate events", strings.ToLower(r.kind), r.ns, r.name)}
	}
	f.Summary += "."
	return f
}

// parsePairs parses "a=1,b=2" (ResourceQuota admission's lists).
func parsePairs(s string) map[string]string {
	out := map[string]string{}
	for _, kv := range strings.Split(s, ",") {
		k, v, ok := strings.Cut(strings.TrimSpace(kv), "=")
		if ok {
			out[k] = v
		}
	}
	return out
}

// splitTopLevel splits a PodSecurity violation list at the commas that are
// outside parentheses.
func splitTopLevel(s string) []string {
	var out []string
	depth, start := 0, 0
	for i, c := range s {
		switch c {
		case '(':
			depth++
		case ')':
			depth--
		case ',':
			if depth == 0 {
				out = append(out, strings.TrimSpace(s[start:i]))
				start = i + 1
			}
		}
	}
	if t := strings.TrimSpace(s[start:]); t != "" {
		out = append(out, t)
	}
	return out
}

// compactViolation shortens `check (containers "a", "b" must set x=y)` to
// `check (containers "a", "b")`: the check names what to set.
func compactViolation(v string) string {
	name, rest, ok := strings.Cut(v, " (")
	if !ok {
		return v
	}
	for _, sep := range []string{" must ", " uses ", " use "} {
		if i := strings.Index(rest, sep); i > 0 {
			return name + " (" + rest[:i] + ")"
		}
	}
	return v
}

// podSecurityFixes turns the violated checks into the settings that fix them.
func podSecurityFixes(violations []string) string {
	var fixes []string
	for _, v := range violations {
		name := strings.TrimSpace(strings.SplitN(v, " (", 2)[0])
		switch {
		case strings.HasPrefix(name, "allowPrivilegeEscalation"):
			fixes = appendUnique(fixes, "securityContext.allowPrivilegeEscalation: false")
		case strings.HasPrefix(name, "unrestricted capabilities"), strings.HasPrefix(name, "non-default capabilities"):
			fixes = appendUnique(fixes, `securityContext.capabilities.drop: ["ALL"] (add back only NET_BIND_SERVICE)`)
		case strings.HasPrefix(name, "runAsNonRoot"):
			fixes = appendUnique(fixes, "securityContext.runAsNonRoot: true with a non-zero runAsUser")
		case strings.HasPrefix(name, "runAsUser"):
			fixes = appendUnique(fixes, "a non-zero runAsUser")
		case strings.HasPrefix(name, "seccompProfile"):
			fixes = appendUnique(fixes, "securityContext.seccompProfile.type: RuntimeDefault")
		case strings.HasPrefix(name, "privileged"):
			fixes = appendUnique(fixes, "no privileged: true (move the privileged step, e.g. sysctl tuning, to the node or to allowed sysctls)")
		case strings.HasPrefix(name, "host"):
			fixes = appendUnique(fixes, "no host namespaces, hostPath volumes or hostPorts")
		case strings.HasPrefix(name, "restricted volume types"):
			fixes = appendUnique(fixes, "only configMap, secret, emptyDir, projected, downwardAPI, ephemeral, csi or persistentVolumeClaim volumes")
		default:
			fixes = appendUnique(fixes, name)
		}
	}
	return strings.Join(fixes, "; ")
}

// containerWith returns the container of the template whose limit (or
// request) of the resource equals value, "" when none or unknown.
func containerWith(tpl *corev1.PodTemplateSpec, res, kind, value string) string {
	if tpl == nil {
		return ""
	}
	want, err := resource.ParseQuantity(value)
	if err != nil {
		return ""
	}
	for _, c := range append(append([]corev1.Container{}, tpl.Spec.InitContainers...), tpl.Spec.Containers...) {
		list := c.Resources.Limits
		if kind == "request" {
			list = c.Resources.Requests
		}
		if q, ok := list[corev1.ResourceName(res)]; ok && q.Cmp(want) == 0 {
			return c.Name
		}
	}
	return ""
}

func (d *diag) resourceQuota(ns, name string) *corev1.ResourceQuota {
	for i := range d.s.ResourceQuotas {
		if q := &d.s.ResourceQuotas[i]; q.Namespace == ns && q.Name == name {
			return q
		}
	}
	return nil
}

// quotaProof renders a quota's used/hard figures.
func quotaProof(q *corev1.ResourceQuota) string {
	var parts []string
	for _, k := range sortedResourceNames(q.Status.Hard) {
		used := q.Status.Used[k]
		hard := q.Status.Hard[k]
		parts = append(parts, fmt.Sprintf("%s %s/%s", k, used.String(), hard.String()))
	}
	return fmt.Sprintf("resourcequota %s/%s used/hard: %s", q.Namespace, q.Name, strings.Join(parts, ", "))
}

func sortedResourceNames(l corev1.ResourceList) []corev1.ResourceName {
	out := make([]corev1.ResourceName, 0, len(l))
	for k := range l {
		out = append(out, k)
	}
	sort.Slice(out, func(i, j int) bool { return out[i] < out[j] })
	return out
}

func (d *diag) limitRangeNames(ns string) []string {
	var out []string
	for i := range d.s.LimitRanges {
		if d.s.LimitRanges[i].Namespace == ns {
			out = append(out, d.s.LimitRanges[i].Name)
		}
	}
	return out
}

// quotaHolders returns the workloads that hold most of the quota ns/name
// (gathered with it), excluding none: the refused workload may itself be
// the largest.
func (d *diag) quotaHolders(ns, name string) []QuotaConsumer {
	var out []QuotaConsumer
	for _, c := range d.s.QuotaConsumers {
		if c.Quota == ns+"/"+name {
			out = append(out, c)
		}
	}
	return out
}
