package k8s

import (
	"context"
	"fmt"
	"slices"
	"sort"
	"strings"

	appsv1 "k8s.io/api/apps/v1"
	batchv1 "k8s.io/api/batch/v1"
	corev1 "k8s.io/api/core/v1"
	networkingv1 "k8s.io/api/networking/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/labels"

	"github.com/k8flex/k8flex/investigate"
)

// resolve turns the alert's target into the objects to investigate: the
// pods (Snapshot.Pods, RelatedPods), the node, the workload or Service it
// names. It fails only when the target cannot be investigated at all.
func (r *run) resolve(ctx context.Context, t investigate.Target) error {
	for _, n := range []string{t.Name, t.Namespace, t.Pod, t.Node, t.Service, t.Workload.Name, t.Autoscaler} {
		if n != "" && !investigate.ValidName(n) {
			return fmt.Errorf("resolve target: %q is not a valid kubernetes name", n)
		}
	}
	if t.Namespace == "" && t.Kind == "" && t.Host != "" {
		t = r.resolveHost(ctx, t)
	}
	t = r.resolveSubject(ctx, t)
	if t.Namespace == "" && !r.nodeCategory() {
		t.Namespace = r.findNamespace(ctx, t)
	}
	r.ns = t.Namespace
	r.snap.Target = t
	if r.nodeCategory() && r.ns != "" && namespacedObject(t.Kind) {
		// A node category does not drop the namespaced object the alert
		// names: its pods stay under investigation, the node is added.
		return r.resolveTargetAndNode(ctx, t)
	}
	if r.nodeCategory() || (r.ns == "" && (t.Node != "" || t.IPFromInstance() != "")) {
		return r.resolveNode(ctx, t)
	}
	if r.ns == "" {
		if t.Host != "" {
			return nil // the host is served by nothing in the cluster: a gap says so
		}
		if r.cat.NeedsNamespace() {
			return fmt.Errorf("resolve target %s: category %s needs a namespace", t, r.cat)
		}
		return nil // DNS: the dns collector looks at kube-system
	}
	if t.Autoscaler != "" && t.Workload.IsZero() && t.Pod == "" {
		t = r.followAutoscaler(ctx, t)
	}
	r.resolveNamespaced(ctx, t)
	return nil
}

// namespacedObject reports whether a target kind names one namespaced object.
func namespacedObject(k investigate.Kind) bool {
	switch k {
	case investigate.KindPod, investigate.KindDeployment, investigate.KindStatefulSet, investigate.KindDaemonSet,
		investigate.KindJob, investigate.KindCronJob, investigate.KindService, investigate.KindPodDisruptionBudget:
		return true
	}
	return false
}

// resolveNamespaced resolves a target inside r.ns; a failure is a Gap.
func (r *run) resolveNamespaced(ctx context.Context, t investigate.Target) {
	var err error
	switch t.Kind {
	case investigate.KindPod:
		err = r.resolvePod(ctx, t)
	case investigate.KindDeployment, investigate.KindStatefulSet, investigate.KindDaemonSet, investigate.KindJob:
		err = r.resolveWorkload(ctx, t.Workload.Kind, t.Workload.Name)
	case investigate.KindCronJob:
		err = r.resolveCronJob(ctx, t.Workload.Name)
	case investigate.KindService:
		err = r.resolveService(ctx, t.Service)
	case investigate.KindPodDisruptionBudget:
		err = r.resolveDisruptionBudget(ctx, t.Name)
	default:
		err = r.resolveNamespace(ctx)
	}
	if err != nil {
		r.gap("resolve", err)
	}
	r.fillTargetHints()
}

// resolveTargetAndNode resolves a namespaced target under a node category:
// the target's pods as for any namespaced target, then the node they run
// on (or the one the alert names) and the other pods on that node
// (RelatedPods).
func (r *run) resolveTargetAndNode(ctx context.Context, t investigate.Target) error {
	r.resolveNamespaced(ctx, t)
	if r.gone != nil {
		return nil
	}
	name := r.snap.Target.Node
	if name == "" {
		return nil
	}
	r.node = name
	onNode, _, err := r.readNode(ctx, name)
	if err != nil {
		r.gap("resolve", err)
		return nil
	}
	sortByTrouble(onNode)
	r.addRelated(onNode...)
	return nil
}

// fillTargetHints completes the resolved target from the pods found.
func (r *run) fillTargetHints() {
	t := &r.snap.Target
	if len(r.snap.Pods) == 0 {
		return
	}
	p := &r.snap.Pods[0]
	if t.Pod == "" || r.snap.TargetGone {
		t.Pod = p.Name
	}
	if t.Node == "" {
		t.Node = p.Spec.NodeName
	}
	if t.Container == "" {
		t.Container = troubledContainer(p)
	}
	if t.Workload.IsZero() {
		if ref := controllerOf(p); ref != nil {
			switch ref.Kind {
			case "ReplicaSet":
				if d := deploymentOfReplicaSet(ref.Name); d != "" {
					t.Workload = investigate.Ref{Kind: investigate.KindDeployment, Name: d}
				}
			case "StatefulSet":
				t.Workload = investigate.Ref{Kind: investigate.KindStatefulSet, Name: ref.Name}
			case "DaemonSet":
				t.Workload = investigate.Ref{Kind: investigate.KindDaemonSet, Name: ref.Name}
			case "Job":
				t.Workload = investigate.Ref{Kind: investigate.KindJob, Name: ref.Name}
			}
		}
	}
}

// troubledContainer names the pod's most troubled container (init first).
func troubledContainer(p *corev1.Pod) string {
	best, score := "", -1
	all := append(append([]corev1.ContainerStatus{}, p.Status.InitContainerStatuses...), p.Status.ContainerStatuses...)
	for _, cs := range all {
		s := 0
		switch {
		case cs.State.Waiting != nil && cs.State.Waiting.Reason != "PodInitializing":
			s = 3
		case cs.State.Terminated != nil && cs.State.Terminated.ExitCode != 0:
			s = 3
		case !cs.Ready && cs.State.Terminated == nil:
			s = 2
		case cs.RestartCount > 0:
			s = 1
		}
		if s > score {
			best, score = cs.Name, s
		}
	}
	if best == "" && len(p.Spec.Containers) > 0 {
		best = p.Spec.Containers[0].Name
	}
	return best
}

// resolvePod reads the target pod and the other pods of its workload
// (whatever their phase), or investigates through its owner when it is
// gone. A gone pod costs one request (the 404): its owner is looked
// up in the namespace's pods and workloads from the shared cache.
func (r *run) resolvePod(ctx context.Context, t investigate.Target) error {
	r.count(1)
	pod, err := readOne[corev1.Pod](ctx, r.g.api, resPods, r.ns, t.Pod)
	if apierrors.IsNotFound(err) {
		r.snap.TargetGone = true
		return r.resolveGonePod(ctx, t)
	}
	if err != nil {
		return fmt.Errorf("get pod %s/%s: %w", r.ns, t.Pod, err)
	}
	r.snap.Pods = []corev1.Pod{*pod}
	ref := controllerOf(pod)
	if ref == nil {
		return nil
	}
	all, err := r.listPods(ctx, r.ns)
	if err != nil {
		return err
	}
	// The pods of the whole workload: a Deployment's other ReplicaSets
	// (the rollout's old or new pods) included.
	deployment := ""
	if ref.Kind == "ReplicaSet" {
		deployment = deploymentOfReplicaSet(ref.Name)
	}
	for _, p := range all {
		if p.Name == pod.Name {
			continue
		}
		o := controllerOf(&p)
		switch {
		case o == nil:
		case o.UID == ref.UID && o.Name == ref.Name:
			r.snap.RelatedPods = append(r.snap.RelatedPods, p)
		case deployment != "" && ownedBy(&p, investigate.KindDeployment, deployment):
			r.snap.RelatedPods = append(r.snap.RelatedPods, p)
		}
	}
	sortByTrouble(r.snap.RelatedPods)
	return nil
}

// resolveGonePod investigates a vanished pod through its owner: the
// workload its labels name, else the one its name implies. The owner's
// pods come from the namespace's pod list (shared cache); when none is
// left, the owner itself is looked up in the namespace's workload list
// (shared cache too) and investigated when it exists. Otherwise the
// target is gone and nothing more is read (see goneSnapshot).
func (r *run) resolveGonePod(ctx context.Context, t investigate.Target) error {
	all, err := r.listPods(ctx, r.ns)
	if err != nil {
		return err
	}
	guess := guessOwner(t.Pod)
	owner := t.Workload
	if owner.IsZero() {
		switch {
		case guess.Deployment != "":
			owner = investigate.Ref{Kind: investigate.KindDeployment, Name: guess.Deployment}
		case guess.StatefulSet != "":
			owner = investigate.Ref{Kind: investigate.KindStatefulSet, Name: guess.StatefulSet}
		}
	}
	var mine []corev1.Pod
	for _, p := range all {
		if (!t.Workload.IsZero() && ownedBy(&p, t.Workload.Kind, t.Workload.Name)) || (t.Workload.IsZero() && guess.matches(&p)) {
			mine = append(mine, p)
		}
	}
	if len(mine) > 0 {
		r.snap.NotFound = append(r.snap.NotFound, "pod/"+r.ns+"/"+t.Pod)
		r.snap.Pods, r.snap.RelatedPods = splitByHealth(mine, true)
		if !owner.IsZero() {
			r.snap.Target.Workload = owner
		}
		return nil
	}
	if !owner.IsZero() {
		exists, err := r.workloadExists(ctx, owner)
		if err != nil {
			return err
		}
		if exists {
			r.snap.NotFound = append(r.snap.NotFound, "pod/"+r.ns+"/"+t.Pod)
			r.snap.Target.Workload = owner
			return r.resolveWorkload(ctx, owner.Kind, owner.Name)
		}
	}
	r.gone = &goneTarget{kind: investigate.KindPod, name: t.Pod, owner: owner}
	return nil
}

// workloadExists reports whether the namespace holds the workload, from the
// namespace's Deployments or StatefulSets in the shared cache. Other kinds
// are reported as existing: resolveWorkload reads them (one request).
func (r *run) workloadExists(ctx context.Context, w investigate.Ref) (bool, error) {
	var names []string
	switch w.Kind {
	case investigate.KindDeployment:
		l, err := cachedList(ctx, r, "deployments/"+r.ns, func(ctx context.Context) ([]appsv1.Deployment, error) {
			l, err := readList[appsv1.DeploymentList](ctx, r.g.api, resDeployments, r.ns, metav1.ListOptions{})
			if err != nil {
				return nil, fmt.Errorf("list deployments in %s: %w", r.ns, err)
			}
			return l.Items, nil
		})
		if err != nil {
			return false, err
		}
		for _, d := range l {
			names = append(names, d.Name)
		}
	case investigate.KindStatefulSet:
		l, err := cachedList(ctx, r, "statefulsets/"+r.ns, func(ctx context.Context) ([]appsv1.StatefulSet, error) {
			l, err := readList[appsv1.StatefulSetList](ctx, r.g.api, resStatefulSets, r.ns, metav1.ListOptions{})
			if err != nil {
				return nil, fmt.Errorf("list statefulsets in %s: %w", r.ns, err)
			}
			return l.Items, nil
		})
		if err != nil {
			return false, err
		}
		for _, s := range l {
			names = append(names, s.Name)
		}
	default:
		return true, nil
	}
	return slices.Contains(names, w.Name), nil
}

// resolveWorkload reads the workload and splits its pods into unhealthy
// (Pods) and healthy (RelatedPods).
func (r *run) resolveWorkload(ctx context.Context, kind investigate.Kind, name string) error {
	var (
		selector *metav1.LabelSelector
		err      error
	)
	r.count(1)
	switch kind {
	case investigate.KindDeployment:
		dep, e := readOne[appsv1.Deployment](ctx, r.g.api, resDeployments, r.ns, name)
		if e == nil {
			r.snap.Deployments = append(r.snap.Deployments, *dep)
			selector = dep.Spec.Selector
		}
		err = e
	case investigate.KindStatefulSet:
		sts, e := readOne[appsv1.StatefulSet](ctx, r.g.api, resStatefulSets, r.ns, name)
		if e == nil {
			r.snap.StatefulSets = append(r.snap.StatefulSets, *sts)
			selector = sts.Spec.Selector
		}
		err = e
	case investigate.KindDaemonSet:
		ds, e := readOne[appsv1.DaemonSet](ctx, r.g.api, resDaemonSets, r.ns, name)
		if e == nil {
			r.snap.DaemonSets = append(r.snap.DaemonSets, *ds)
			selector = ds.Spec.Selector
		}
		err = e
	case investigate.KindJob:
		job, e := readOne[batchv1.Job](ctx, r.g.api, resJobs, r.ns, name)
		if e == nil {
			r.snap.Jobs = append(r.snap.Jobs, *job)
			selector = job.Spec.Selector
		}
		err = e
	default:
		return fmt.Errorf("resolve workload: unsupported kind %q", kind)
	}
	if apierrors.IsNotFound(err) {
		r.snap.TargetGone = true
		r.snap.NotFound = append(r.snap.NotFound, string(kind)+"/"+r.ns+"/"+name)
		// Its pods may linger (orphaned or terminating): look by name.
		return r.resolvePodsByOwnerName(ctx, kind, name)
	}
	if err != nil {
		return fmt.Errorf("get %s %s/%s: %w", kind, r.ns, name, err)
	}
	all, err := r.listPods(ctx, r.ns)
	if err != nil {
		return err
	}
	sel, serr := metav1.LabelSelectorAsSelector(selector)
	var mine []corev1.Pod
	for _, p := range all {
		switch {
		case serr == nil && selector != nil && !sel.Empty() && sel.Matches(labels.Set(p.Labels)):
			mine = append(mine, p)
		case ownedBy(&p, kind, name):
			mine = append(mine, p)
		}
	}
	if kind == investigate.KindJob && len(mine) == 0 && len(r.snap.Jobs) > 0 {
		// The alerting run's pods are gone (ttl, history limit): the
		// newest run of the same CronJob that left pods stands in.
		job := r.snap.Jobs[len(r.snap.Jobs)-1]
		sib, pods, err := r.newestSiblingRun(ctx, &job, all)
		if err != nil {
			return err
		}
		if sib != nil {
			r.snap.Jobs = append(r.snap.Jobs, *sib)
			mine = pods
		}
	}
	r.snap.Pods, r.snap.RelatedPods = splitByHealth(mine, true)
	return nil
}

// newestSiblingRun returns the newest other Job of the CronJob that owns
// job which still has pods among all, with those pods; nil when job has
// no CronJob or no other run left pods.
func (r *run) newestSiblingRun(ctx context.Context, job *batchv1.Job, all []corev1.Pod) (*batchv1.Job, []corev1.Pod, error) {
	cron := metav1.GetControllerOf(job)
	if cron == nil || cron.Kind != "CronJob" {
		return nil, nil, nil
	}
	jobs, err := listNamespace(ctx, r, resJobs, job.Namespace, func(l *batchv1.JobList) []batchv1.Job { return l.Items })
	if err != nil {
		return nil, nil, err
	}
	var runs []batchv1.Job
	for _, j := range jobs {
		if o := metav1.GetControllerOf(&j); o != nil && o.Kind == "CronJob" && o.Name == cron.Name && j.Name != job.Name {
			runs = append(runs, j)
		}
	}
	sort.SliceStable(runs, func(i, j int) bool { return runs[j].CreationTimestamp.Before(&runs[i].CreationTimestamp) })
	for i := range runs {
		var pods []corev1.Pod
		for _, p := range all {
			if ownedBy(&p, investigate.KindJob, runs[i].Name) {
				pods = append(pods, p)
			}
		}
		if len(pods) > 0 {
			return &runs[i], pods, nil
		}
	}
	return nil, nil, nil
}

// resolvePodsByOwnerName finds the pods of a workload that is gone.
func (r *run) resolvePodsByOwnerName(ctx context.Context, kind investigate.Kind, name string) error {
	all, err := r.listPods(ctx, r.ns)
	if err != nil {
		return err
	}
	var mine []corev1.Pod
	for _, p := range all {
		if ownedBy(&p, kind, name) {
			mine = append(mine, p)
		}
	}
	if len(mine) == 0 && r.snap.Target.Kind == kind && r.snap.Target.Name == name {
		// The workload the alert names is gone and left no pods.
		r.gone = &goneTarget{kind: kind, name: name}
		return nil
	}
	r.snap.Pods, r.snap.RelatedPods = splitByHealth(mine, true)
	return nil
}

// ownedBy reports whether the pod's controller is (or, for a Deployment,
// descends from) the named workload.
func ownedBy(p *corev1.Pod, kind investigate.Kind, name string) bool {
	ref := controllerOf(p)
	if ref == nil {
		return false
	}
	switch kind {
	case investigate.KindDeployment:
		return ref.Kind == "ReplicaSet" && deploymentOfReplicaSet(ref.Name) == name
	case investigate.KindStatefulSet:
		return ref.Kind == "StatefulSet" && ref.Name == name
	case investigate.KindDaemonSet:
		return ref.Kind == "DaemonSet" && ref.Name == name
	case investigate.KindJob:
		return ref.Kind == "Job" && ref.Name == name
	}
	return false
}

// resolveService reads the Service; its selected pods are investigated and
// near-miss pods (almost matching labels, similar names) kept as related.
func (r *run) resolveService(ctx context.Context, name string) error {
	r.count(1)
	svc, err := readOne[corev1.Service](ctx, r.g.api, resServices, r.ns, name)
	var selector map[string]string
	found := false
	switch {
	case apierrors.IsNotFound(err):
		r.snap.NotFound = append(r.snap.NotFound, "service/"+r.ns+"/"+name)
	case err != nil:
		return fmt.Errorf("get service %s/%s: %w", r.ns, name, err)
	default:
		r.snap.Services = append(r.snap.Services, *svc)
		selector, found = svc.Spec.Selector, true
	}
	all, err := r.listPods(ctx, r.ns)
	if err != nil {
		return err
	}
	var selected, near []corev1.Pod
	for _, p := range all {
		switch {
		case selects(selector, p.Labels):
			selected = append(selected, p)
		case nearMiss(name, selector, &p):
			near = append(near, p)
		}
	}
	if !found {
		// No Service: the pods named like it are what the alert is about.
		selected, near = near, nil
	}
	primary, rest := splitByHealth(selected, true)
	r.snap.Pods = primary
	sortByTrouble(near)
	r.snap.RelatedPods = append(rest, near...)
	return nil
}

// resolveNamespace investigates the unhealthy pods of the namespace.
func (r *run) resolveNamespace(ctx context.Context) error {
	all, err := r.listPods(ctx, r.ns)
	if err != nil {
		return err
	}
	primary, _ := splitByHealth(all, false)
	r.snap.Pods = primary
	return nil
}

// resolveNode finds the node (by name, by the instance's IP, through the
// target pod, else the nodes in trouble) and the pods on it.
func (r *run) resolveNode(ctx context.Context, t investigate.Target) error {
	name := t.Node
	if name == "" && t.IPFromInstance() != "" {
		nodes, err := r.listNodes(ctx)
		if err != nil {
			r.gap("resolve", err)
		}
		ip := t.IPFromInstance()
		for _, n := range nodes {
			if slices.ContainsFunc(n.Status.Addresses, func(a corev1.NodeAddress) bool { return a.Address == ip }) {
				name = n.Name
				break
			}
		}
	}
	if name == "" && t.Pod != "" && t.Namespace != "" {
		r.count(1)
		if p, err := readOne[corev1.Pod](ctx, r.g.api, resPods, t.Namespace, t.Pod); err == nil {
			name = p.Spec.NodeName
		}
	}
	if name == "" {
		nodes, err := r.listNodes(ctx)
		if err != nil {
			r.gap("resolve", err)
			return nil
		}
		for _, n := range nodes {
			if nodeTrouble(&n) {
				name = n.Name
				break
			}
		}
	}
	if name == "" {
		if r.cat.NeedsNamespace() && r.ns == "" {
			return fmt.Errorf("resolve target %s: no node or namespace to investigate", t)
		}
		return nil
	}
	r.node = name
	r.snap.Target.Node = name
	if r.nodeCategory() || r.snap.Target.Kind == "" {
		r.snap.Target.Kind, r.snap.Target.Name = investigate.KindNode, name
		r.snap.Target.Namespace = ""
		r.ns = ""
	}
	onNode, found, err := r.readNode(ctx, name)
	if !found {
		r.snap.TargetGone = true
	}
	if err != nil {
		r.gap("resolve", err)
		return nil
	}
	r.snap.Pods, r.snap.RelatedPods = splitByHealth(onNode, false)
	return nil
}

// readNode reads the node into the snapshot (a missing node is recorded in
// NotFound and found is false) and returns the pods on it. Failing to read
// the node is a Gap; failing to list its pods is the error returned.
func (r *run) readNode(ctx context.Context, name string) (onNode []corev1.Pod, found bool, err error) {
	node, err := r.getNode(ctx, name)
	found = true
	switch {
	case apierrors.IsNotFound(err):
		found = false
		r.snap.NotFound = append(r.snap.NotFound, "node/"+name)
	case err != nil:
		r.gap("resolve", fmt.Errorf("get node %s: %w", name, err))
	default:
		r.addNodes(*node)
	}
	r.count(1)
	l, err := readList[corev1.PodList](ctx, r.g.api, resPods, "", metav1.ListOptions{FieldSelector: "spec.nodeName=" + name})
	if err != nil {
		return nil, found, fmt.Errorf("list pods on node %s: %w", name, err)
	}
	for _, p := range l.Items { // the selector is re-checked, as every field selector is
		if p.Spec.NodeName == name {
			onNode = append(onNode, p)
		}
	}
	return onNode, found, nil
}

// nodeTrouble reports whether a node is not Ready or under pressure.
func nodeTrouble(n *corev1.Node) bool {
	for _, c := range n.Status.Conditions {
		switch c.Type {
		case corev1.NodeReady:
			if c.Status != corev1.ConditionTrue {
				return true
			}
		default:
			if c.Status == corev1.ConditionTrue {
				return true
			}
		}
	}
	return n.Spec.Unschedulable
}

// findNamespace looks a namespaced target without namespace up in all
// namespaces (one list request, name filtered in code too); it returns the
// namespace when exactly one object of that kind and name exists.
func (r *run) findNamespace(ctx context.Context, t investigate.Target) string {
	if t.Name == "" {
		return ""
	}
	opts := metav1.ListOptions{FieldSelector: "metadata.name=" + t.Name}
	var metas []metav1.ObjectMeta
	var err error
	switch t.Kind {
	case investigate.KindPod:
		var l *corev1.PodList
		if l, err = readList[corev1.PodList](ctx, r.g.api, resPods, "", opts); err == nil {
			for _, x := range l.Items {
				metas = append(metas, x.ObjectMeta)
			}
		}
	case investigate.KindService:
		var l *corev1.ServiceList
		if l, err = readList[corev1.ServiceList](ctx, r.g.api, resServices, "", opts); err == nil {
			for _, x := range l.Items {
				metas = append(metas, x.ObjectMeta)
			}
		}
	case investigate.KindDeployment:
		l, e := readList[appsv1.DeploymentList](ctx, r.g.api, resDeployments, "", opts)
		if err = e; e == nil {
			for _, x := range l.Items {
				metas = append(metas, x.ObjectMeta)
			}
		}
	case investigate.KindStatefulSet:
		l, e := readList[appsv1.StatefulSetList](ctx, r.g.api, resStatefulSets, "", opts)
		if err = e; e == nil {
			for _, x := range l.Items {
				metas = append(metas, x.ObjectMeta)
			}
		}
	case investigate.KindDaemonSet:
		l, e := readList[appsv1.DaemonSetList](ctx, r.g.api, resDaemonSets, "", opts)
		if err = e; e == nil {
			for _, x := range l.Items {
				metas = append(metas, x.ObjectMeta)
			}
		}
	case investigate.KindJob:
		l, e := readList[batchv1.JobList](ctx, r.g.api, resJobs, "", opts)
		if err = e; e == nil {
			for _, x := range l.Items {
				metas = append(metas, x.ObjectMeta)
			}
		}
	default:
		return ""
	}
	r.count(1)
	if err != nil {
		r.gap("resolve", fmt.Errorf("find %s %s in all namespaces: %w", t.Kind, t.Name, err))
		return ""
	}
	ns := ""
	for _, m := range metas {
		if m.Name != t.Name { // the selector is re-checked, as every field selector is
			continue
		}
		if ns != "" && ns != m.Namespace {
			return "" // ambiguous
		}
		ns = m.Namespace
	}
	return ns
}

// resolveHost maps the host of a probed URL to the Service behind the
// Ingress rule that serves it (exact host first, then a wildcard rule,
// one list of Ingresses across namespaces), and returns the target with
// that Service. Without a matching Ingress the target is unchanged and a
// gap names the host.
func (r *run) resolveHost(ctx context.Context, t investigate.Target) investigate.Target {
	ings, err := listNamespace(ctx, r, resIngresses, "", func(l *networkingv1.IngressList) []networkingv1.Ingress { return l.Items })
	if err != nil {
		r.gap("resolve", fmt.Errorf("find the Ingress of host %s: %w", t.Host, err))
		return t
	}
	var best *networkingv1.Ingress
	bestSvc, bestRank, bestLen := "", 0, -1
	for i := range ings {
		ing := &ings[i]
		for _, rule := range ing.Spec.Rules {
			rank := hostMatch(rule.Host, t.Host)
			if rank == 0 || rank < bestRank || rule.HTTP == nil {
				continue
			}
			for _, p := range rule.HTTP.Paths {
				if p.Backend.Service == nil {
					continue
				}
				n := ingressPathMatch(p, t.Path)
				if n < 0 || (rank == bestRank && n <= bestLen) {
					continue
				}
				best, bestSvc, bestRank, bestLen = ing, p.Backend.Service.Name, rank, n
			}
		}
	}
	if best == nil {
		r.gap("resolve", fmt.Errorf("no Ingress in the cluster serves host %s", t.Host))
		return t
	}
	// collectIngresses keeps the Ingress: it routes to the target Service.
	t.Namespace, t.Kind, t.Name, t.Service = best.Namespace, investigate.KindService, bestSvc, bestSvc
	return t
}

// ingressPathMatch returns how many characters of path an Ingress path
// matches (longer is more specific), or -1 when it does not serve path:
// Exact must equal it, Prefix matches whole path elements,
// ImplementationSpecific is taken as a plain prefix. An unknown request
// path ("") is served best by the root path.
func ingressPathMatch(p networkingv1.HTTPIngressPath, path string) int {
	rule := p.Path
	if rule == "" {
		rule = "/"
	}
	if path == "" {
		if rule == "/" {
			return 1
		}
		return 0
	}
	switch {
	case p.PathType != nil && *p.PathType == networkingv1.PathTypeExact:
		if path == rule {
			return len(rule)
		}
	case p.PathType != nil && *p.PathType == networkingv1.PathTypePrefix:
		r := strings.TrimSuffix(rule, "/")
		if r == "" || path == r || strings.HasPrefix(path, r+"/") {
			return len(r)
		}
	default:
		if strings.HasPrefix(path, rule) {
			return len(rule)
		}
	}
	return -1
}

// hostMatch ranks how an Ingress rule's host matches host: 2 exact, 1 a
// wildcard ("*.example.com" matches one label), 0 no match. A rule
// without a host matches every host, but only as a last resort (1).
func hostMatch(rule, host string) int {
	switch {
	case strings.EqualFold(rule, host):
		return 2
	case strings.HasPrefix(rule, "*."):
		if _, rest, ok := strings.Cut(host, "."); ok && strings.EqualFold(rest, rule[2:]) {
			return 1
		}
	case rule == "":
		return 1
	}
	return 0
}
