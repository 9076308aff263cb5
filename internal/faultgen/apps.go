package faultgen

import (
	"fmt"
	"sort"
	"strings"
	"time"

	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	discoveryv1 "k8s.io/api/discovery/v1"
	"k8s.io/apimachinery/pkg/api/resource"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/util/intstr"
)

// Workload kinds an app can be.
const (
	kindDeployment  = "Deployment"
	kindStatefulSet = "StatefulSet"
	kindDaemonSet   = "DaemonSet"
)

// appSpec describes a healthy application before it is built.
type appSpec struct {
	kind             string
	ns, name, team   string
	replicas         int32
	port             int32
	portName         string
	image, version   string
	command, args    []string
	env              []corev1.EnvVar
	envFrom          []corev1.EnvFromSource
	volumes          []corev1.Volume
	mounts           []corev1.VolumeMount
	probes           bool
	readinessPath    string
	livenessPath     string
	cpuReq, memReq   string
	cpuLim, memLim   string
	service          bool
	servicePort      int32
	numericTarget    bool // Service targetPort as a number rather than the port name
	storage          string
	storageClass     string
	nodes            []*corev1.Node // nodes the pods run on (default: untainted nodes)
	age              time.Duration  // age of the current revision
	selectorKey      string         // label key of the selector (app or app.kubernetes.io/name)
	nodeSelector     map[string]string
	tolerations      []corev1.Toleration
	affinity         *corev1.Affinity
	hostPort         int32
	serviceAccount   string
	initContainers   []corev1.Container
	imagePullSecrets []corev1.LocalObjectReference
	securityContext  *corev1.PodSecurityContext
	csc              *corev1.SecurityContext
	maxSurge         string
	maxUnavailable   string
	selectorValue    string // selector label value (default: the name)
	serviceName      string // Service name (default: the name)
	extraPorts       []corev1.ContainerPort
	svcPorts         []corev1.ServicePort // Service ports (default: one "http" port)
}

// app is a built application: its controller, pods, Service and endpoints.
type app struct {
	w        *world
	spec     appSpec
	selector map[string]string
	labels   map[string]string // pod template labels
	dep      *appsv1.Deployment
	rs       *appsv1.ReplicaSet // current ReplicaSet of a Deployment
	oldRS    *appsv1.ReplicaSet
	sts      *appsv1.StatefulSet
	ds       *appsv1.DaemonSet
	pods     []*corev1.Pod
	svc      *corev1.Service
	eps      *corev1.Endpoints
	slice    *discoveryv1.EndpointSlice
	pvcs     []*corev1.PersistentVolumeClaim
	// keepStatus leaves the controller's status as a fault set it.
	keepStatus bool
	// noEndpoints leaves the Endpoints as built (e.g. a fault edits them).
	revision int
}

// defaultSpec draws a healthy Deployment spec in a fresh name and namespace.
func (w *world) defaultSpec(ns string) appSpec {
	name := w.name()
	team := strings.SplitN(ns, "-", 2)[0]
	version := w.version()
	port := pick(w.r, []int32{8080, 8000, 3000, 9000, 8443, 5000, 8081})
	s := appSpec{
		kind: kindDeployment, ns: ns, name: name, team: team, replicas: int32(2 + w.r.Intn(3)), port: port,
		portName: "http", version: version, image: w.image(team, name, version), probes: true,
		readinessPath: pick(w.r, []string{"/ready", "/healthz/ready", "/health/readiness", "/readyz"}),
		livenessPath:  pick(w.r, []string{"/healthz", "/livez", "/health/liveness", "/healthz/live"}),
		cpuReq:        pick(w.r, []string{"100m", "200m", "250m", "500m"}), memReq: pick(w.r, []string{"128Mi", "256Mi", "512Mi"}),
		service: true, servicePort: pick(w.r, []int32{80, 8080, port}), storageClass: "gp3",
		age:         w.between(26*time.Hour, 20*24*time.Hour),
		selectorKey: pick(w.r, []string{"app", "app.kubernetes.io/name"}), serviceAccount: name,
		maxSurge: "25%", maxUnavailable: "25%",
	}
	s.memLim = s.memReq
	if w.r.Intn(2) == 0 {
		s.cpuLim = pick(w.r, []string{"500m", "1", "2"})
	}
	s.env = []corev1.EnvVar{{Name: "PORT", Value: fmt.Sprint(port)}, {Name: "LOG_LEVEL", Value: pick(w.r, []string{"info", "warn"})}}
	return s
}

// container builds the main container of the spec.
func (s appSpec) container() corev1.Container {
	c := corev1.Container{
		Name: s.name, Image: s.image, Command: s.command, Args: s.args, Env: s.env, EnvFrom: s.envFrom,
		Ports:                    append([]corev1.ContainerPort{{Name: s.portName, ContainerPort: s.port, Protocol: corev1.ProtocolTCP}}, s.extraPorts...),
		ImagePullPolicy:          corev1.PullIfNotPresent,
		TerminationMessagePath:   "/dev/termination-log",
		TerminationMessagePolicy: corev1.TerminationMessageReadFile,
		VolumeMounts:             s.mounts, SecurityContext: s.csc,
	}
	if s.hostPort != 0 {
		c.Ports[0].HostPort = s.hostPort
	}
	res := corev1.ResourceRequirements{}
	set := func(l *corev1.ResourceList, k corev1.ResourceName, v string) {
		if v == "" {
			return
		}
		if *l == nil {
			*l = corev1.ResourceList{}
		}
		(*l)[k] = resource.MustParse(v)
	}
	set(&res.Requests, corev1.ResourceCPU, s.cpuReq)
	set(&res.Requests, corev1.ResourceMemory, s.memReq)
	set(&res.Limits, corev1.ResourceCPU, s.cpuLim)
	set(&res.Limits, corev1.ResourceMemory, s.memLim)
	// The API server defaults missing requests to the limits.
	for k, v := range res.Limits {
		if _, ok := res.Requests[k]; !ok {
			if res.Requests == nil {
				res.Requests = corev1.ResourceList{}
			}
			res.Requests[k] = v
		}
	}
	c.Resources = res
	if s.probes {
		probe := func(path string, delay, period int32) *corev1.Probe {
			return &corev1.Probe{ProbeHandler: corev1.ProbeHandler{HTTPGet: &corev1.HTTPGetAction{Path: path, Port: intstr.FromString(s.portName), Scheme: corev1.URISchemeHTTP}},
				InitialDelaySeconds: delay, PeriodSeconds: period, TimeoutSeconds: 1, SuccessThreshold: 1, FailureThreshold: 3}
		}
		c.ReadinessProbe = probe(s.readinessPath, 5, 10)
		c.LivenessProbe = probe(s.livenessPath, 15, 20)
	}
	return c
}

// template builds the pod template of the spec.
func (a *app) template() corev1.PodTemplateSpec {
	s := a.spec
	ps := corev1.PodSpec{
		Containers: []corev1.Container{s.container()}, InitContainers: s.initContainers,
		RestartPolicy: corev1.RestartPolicyAlways, DNSPolicy: corev1.DNSClusterFirst, SchedulerName: corev1.DefaultSchedulerName,
		SecurityContext: s.securityContext, TerminationGracePeriodSeconds: ptr[int64](30),
		ServiceAccountName: s.serviceAccount, DeprecatedServiceAccount: s.serviceAccount,
		NodeSelector: s.nodeSelector, Tolerations: s.tolerations, Affinity: s.affinity, Volumes: s.volumes,
		ImagePullSecrets: s.imagePullSecrets,
	}
	if ps.SecurityContext == nil {
		ps.SecurityContext = &corev1.PodSecurityContext{}
	}
	for i := range ps.InitContainers {
		ic := &ps.InitContainers[i]
		ic.TerminationMessagePath, ic.TerminationMessagePolicy = "/dev/termination-log", corev1.TerminationMessageReadFile
		if ic.ImagePullPolicy == "" {
			ic.ImagePullPolicy = corev1.PullIfNotPresent
		}
	}
	return corev1.PodTemplateSpec{ObjectMeta: metav1.ObjectMeta{Labels: copyLabels(a.labels)}, Spec: ps}
}

// templateHash draws a pod-template-hash (the controller hashes the
// template; any stable value of that shape serves the corpus).
func (w *world) templateHash() string { return w.alnum(9 + w.r.Intn(2)) }

// buildApp builds the application of spec, healthy: controller with status,
// pods Running and Ready on the spec's nodes, Service with endpoints.
func (w *world) buildApp(s appSpec) *app {
	a := &app{w: w, spec: s, revision: 1 + w.r.Intn(30)}
	if s.selectorValue == "" {
		s.selectorValue = s.name
	}
	if s.serviceName == "" {
		s.serviceName = s.name
	}
	a.spec = s
	a.selector = map[string]string{s.selectorKey: s.selectorValue}
	a.labels = copyLabels(a.selector, "app.kubernetes.io/part-of", s.team, "app.kubernetes.io/version", s.version)
	if s.selectorKey == "app" {
		a.labels = copyLabels(a.selector, "version", s.version)
	}
	if len(s.nodes) == 0 {
		a.spec.nodes = w.schedulable(a.spec.tolerations)
	}
	ctrlLabels := copyLabels(a.labels)
	delete(ctrlLabels, "pod-template-hash")
	tmpl := a.template()
	created := s.age + w.between(30*24*time.Hour, 400*24*time.Hour)
	switch s.kind {
	case kindDeployment:
		a.dep = &appsv1.Deployment{
			TypeMeta:   metav1.TypeMeta{APIVersion: "apps/v1", Kind: "Deployment"},
			ObjectMeta: w.meta(s.ns, s.name, ctrlLabels, created),
			Spec: appsv1.DeploymentSpec{Replicas: ptr(s.replicas), Selector: &metav1.LabelSelector{MatchLabels: a.selector}, Template: tmpl,
				Strategy: appsv1.DeploymentStrategy{Type: appsv1.RollingUpdateDeploymentStrategyType, RollingUpdate: &appsv1.RollingUpdateDeployment{
					MaxSurge: ptr(intstr.Parse(s.maxSurge)), MaxUnavailable: ptr(intstr.Parse(s.maxUnavailable))}},
				RevisionHistoryLimit: ptr[int32](10), ProgressDeadlineSeconds: ptr[int32](600)},
		}
		a.dep.Annotations = map[string]string{"deployment.kubernetes.io/revision": fmt.Sprint(a.revision)}
		a.dep.Generation = int64(a.revision + w.r.Intn(5))
		w.add(a.dep)
		a.rs = a.newRS(tmpl, s.replicas, a.revision, s.age)
		for i := int32(0); i < s.replicas; i++ {
			a.addPod(a.rs.Name+"-"+w.alnum(5), a.rs.Spec.Template, "apps/v1", "ReplicaSet", a.rs.ObjectMeta, a.spec.nodes[int(i)%len(a.spec.nodes)], s.age-time.Duration(i)*7*time.Second)
		}
	case kindStatefulSet:
		a.sts = &appsv1.StatefulSet{
			TypeMeta:   metav1.TypeMeta{APIVersion: "apps/v1", Kind: "StatefulSet"},
			ObjectMeta: w.meta(s.ns, s.name, ctrlLabels, created),
			Spec: appsv1.StatefulSetSpec{Replicas: ptr(s.replicas), Selector: &metav1.LabelSelector{MatchLabels: a.selector}, Template: tmpl,
				ServiceName: s.name + "-headless", PodManagementPolicy: appsv1.OrderedReadyPodManagement,
				UpdateStrategy:       appsv1.StatefulSetUpdateStrategy{Type: appsv1.RollingUpdateStatefulSetStrategyType, RollingUpdate: &appsv1.RollingUpdateStatefulSetStrategy{Partition: ptr[int32](0)}},
				RevisionHistoryLimit: ptr[int32](10),
				PersistentVolumeClaimRetentionPolicy: &appsv1.StatefulSetPersistentVolumeClaimRetentionPolicy{
					WhenDeleted: appsv1.RetainPersistentVolumeClaimRetentionPolicyType, WhenScaled: appsv1.RetainPersistentVolumeClaimRetentionPolicyType}},
		}
		a.sts.Generation = int64(1 + w.r.Intn(8))
		rev := s.name + "-" + w.alnum(10)
		a.sts.Status.CurrentRevision, a.sts.Status.UpdateRevision = rev, rev
		if s.storage != "" {
			a.sts.Spec.VolumeClaimTemplates = []corev1.PersistentVolumeClaim{{
				TypeMeta: metav1.TypeMeta{APIVersion: "v1", Kind: "PersistentVolumeClaim"}, ObjectMeta: metav1.ObjectMeta{Name: "data"},
				Spec: corev1.PersistentVolumeClaimSpec{AccessModes: []corev1.PersistentVolumeAccessMode{corev1.ReadWriteOnce},
					StorageClassName: ptr(s.storageClass), VolumeMode: ptr(corev1.PersistentVolumeFilesystem),
					Resources: corev1.VolumeResourceRequirements{Requests: corev1.ResourceList{corev1.ResourceStorage: resource.MustParse(s.storage)}}},
				Status: corev1.PersistentVolumeClaimStatus{Phase: corev1.ClaimPending}}}
		}
		w.add(a.sts)
		for i := int32(0); i < s.replicas; i++ {
			t := a.sts.Spec.Template
			t.Labels = copyLabels(t.Labels, "controller-revision-hash", rev, "statefulset.kubernetes.io/pod-name", fmt.Sprintf("%s-%d", s.name, i), "apps.kubernetes.io/pod-index", fmt.Sprint(i))
			node := a.spec.nodes[int(i)%len(a.spec.nodes)]
			p := a.addPod(fmt.Sprintf("%s-%d", s.name, i), t, "apps/v1", "StatefulSet", a.sts.ObjectMeta, node, s.age-time.Duration(i)*40*time.Second)
			p.Spec.Hostname, p.Spec.Subdomain = p.Name, a.sts.Spec.ServiceName
			if s.storage != "" {
				pvc := w.boundPVC(s.ns, "data-"+p.Name, a.labels, s.storage, s.storageClass, node, created)
				a.pvcs = append(a.pvcs, pvc)
				p.Spec.Volumes = append([]corev1.Volume{{Name: "data", VolumeSource: corev1.VolumeSource{PersistentVolumeClaim: &corev1.PersistentVolumeClaimVolumeSource{ClaimName: pvc.Name}}}}, p.Spec.Volumes...)
				p.Spec.Containers[0].VolumeMounts = append(p.Spec.Containers[0].VolumeMounts, corev1.VolumeMount{Name: "data", MountPath: "/var/lib/" + s.name})
			}
		}
	case kindDaemonSet:
		a.ds = &appsv1.DaemonSet{
			TypeMeta:   metav1.TypeMeta{APIVersion: "apps/v1", Kind: "DaemonSet"},
			ObjectMeta: w.meta(s.ns, s.name, ctrlLabels, created),
			Spec: appsv1.DaemonSetSpec{Selector: &metav1.LabelSelector{MatchLabels: a.selector}, Template: tmpl, RevisionHistoryLimit: ptr[int32](10),
				UpdateStrategy: appsv1.DaemonSetUpdateStrategy{Type: appsv1.RollingUpdateDaemonSetStrategyType, RollingUpdate: &appsv1.RollingUpdateDaemonSet{
					MaxUnavailable: ptr(intstr.FromInt32(1)), MaxSurge: ptr(intstr.FromInt32(0))}}},
		}
		a.ds.Generation = int64(1 + w.r.Intn(8))
		a.ds.Annotations = map[string]string{"deprecated.daemonset.template.generation": fmt.Sprint(a.ds.Generation)}
		w.add(a.ds)
		hash := w.alnum(10)
		for i, n := range a.spec.nodes {
			t := a.ds.Spec.Template
			t.Labels = copyLabels(t.Labels, "controller-revision-hash", hash, "pod-template-generation", fmt.Sprint(a.ds.Generation))
			p := a.addPod(s.name+"-"+w.alnum(5), t, "apps/v1", "DaemonSet", a.ds.ObjectMeta, n, s.age-time.Duration(i)*3*time.Second)
			p.Spec.Affinity = &corev1.Affinity{NodeAffinity: &corev1.NodeAffinity{RequiredDuringSchedulingIgnoredDuringExecution: &corev1.NodeSelector{
				NodeSelectorTerms: []corev1.NodeSelectorTerm{{MatchFields: []corev1.NodeSelectorRequirement{{Key: "metadata.name", Operator: corev1.NodeSelectorOpIn, Values: []string{n.Name}}}}}}}}
		}
	}
	if s.serviceAccount != "" && s.serviceAccount != "default" {
		w.serviceAccount(s.ns, s.serviceAccount)
	}
	if s.service {
		a.addService()
	}
	w.finally(a.finish)
	return a
}

// newRS adds a ReplicaSet of the app's Deployment for template t.
func (a *app) newRS(t corev1.PodTemplateSpec, replicas int32, revision int, age time.Duration) *appsv1.ReplicaSet {
	w := a.w
	hash := w.templateHash()
	t = *t.DeepCopy()
	t.Labels = copyLabels(t.Labels, "pod-template-hash", hash)
	sel := copyLabels(a.selector, "pod-template-hash", hash)
	rs := &appsv1.ReplicaSet{
		TypeMeta:   metav1.TypeMeta{APIVersion: "apps/v1", Kind: "ReplicaSet"},
		ObjectMeta: w.meta(a.spec.ns, a.spec.name+"-"+hash, copyLabels(t.Labels), age),
		Spec:       appsv1.ReplicaSetSpec{Replicas: ptr(replicas), Selector: &metav1.LabelSelector{MatchLabels: sel}, Template: t},
	}
	rs.Annotations = map[string]string{"deployment.kubernetes.io/desired-replicas": fmt.Sprint(*a.dep.Spec.Replicas),
		"deployment.kubernetes.io/max-replicas": fmt.Sprint(*a.dep.Spec.Replicas + 1), "deployment.kubernetes.io/revision": fmt.Sprint(revision)}
	rs.OwnerReferences = []metav1.OwnerReference{ownerRef("apps/v1", "Deployment", a.dep.ObjectMeta)}
	rs.Generation = 1
	w.add(rs)
	w.event(a.dep, ev{typ: corev1.EventTypeNormal, reason: "ScalingReplicaSet", component: "deployment-controller",
		message: fmt.Sprintf("Scaled up replica set %s from 0 to %d", rs.Name, replicas), last: min(age, 55*time.Minute)})
	return rs
}

// addPod adds a Running, Ready pod of template t owned by the given owner.
func (a *app) addPod(name string, t corev1.PodTemplateSpec, ownerAPI, ownerKind string, owner metav1.ObjectMeta, node *corev1.Node, age time.Duration) *corev1.Pod {
	w := a.w
	p := w.pod(a.spec.ns, name, t, node, age)
	p.OwnerReferences = []metav1.OwnerReference{ownerRef(ownerAPI, ownerKind, owner)}
	if ownerKind == "ReplicaSet" {
		p.GenerateName = owner.Name + "-"
	} else if ownerKind == "DaemonSet" {
		p.GenerateName = owner.Name + "-"
	}
	a.pods = append(a.pods, p)
	return p
}

// pod adds a Running, Ready pod of template t bound to node, started age ago.
func (w *world) pod(ns, name string, t corev1.PodTemplateSpec, node *corev1.Node, age time.Duration) *corev1.Pod {
	spec := *t.Spec.DeepCopy()
	spec.NodeName = node.Name
	spec.EnableServiceLinks = ptr(true)
	spec.PreemptionPolicy = ptr(corev1.PreemptLowerPriority)
	spec.Priority = ptr[int32](0)
	spec.Tolerations = append(spec.Tolerations,
		corev1.Toleration{Key: "node.kubernetes.io/not-ready", Operator: corev1.TolerationOpExists, Effect: corev1.TaintEffectNoExecute, TolerationSeconds: ptr[int64](300)},
		corev1.Toleration{Key: "node.kubernetes.io/unreachable", Operator: corev1.TolerationOpExists, Effect: corev1.TaintEffectNoExecute, TolerationSeconds: ptr[int64](300)})
	api := "kube-api-access-" + w.alnum(5)
	spec.Volumes = append(spec.Volumes, corev1.Volume{Name: api, VolumeSource: corev1.VolumeSource{Projected: &corev1.ProjectedVolumeSource{
		DefaultMode: ptr[int32](420),
		Sources: []corev1.VolumeProjection{
			{ServiceAccountToken: &corev1.ServiceAccountTokenProjection{ExpirationSeconds: ptr[int64](3607), Path: "token"}},
			{ConfigMap: &corev1.ConfigMapProjection{LocalObjectReference: corev1.LocalObjectReference{Name: "kube-root-ca.crt"}, Items: []corev1.KeyToPath{{Key: "ca.crt", Path: "ca.crt"}}}},
			{DownwardAPI: &corev1.DownwardAPIProjection{Items: []corev1.DownwardAPIVolumeFile{{Path: "namespace", FieldRef: &corev1.ObjectFieldSelector{APIVersion: "v1", FieldPath: "metadata.namespace"}}}}},
		}}}})
	for i := range spec.Containers {
		spec.Containers[i].VolumeMounts = append(spec.Containers[i].VolumeMounts, corev1.VolumeMount{Name: api, ReadOnly: true, MountPath: "/var/run/secrets/kubernetes.io/serviceaccount"})
	}
	labels := copyLabels(t.Labels)
	p := &corev1.Pod{
		TypeMeta:   metav1.TypeMeta{APIVersion: "v1", Kind: "Pod"},
		ObjectMeta: w.meta(ns, name, labels, age+3*time.Second),
		Spec:       spec,
	}
	p.Status = corev1.PodStatus{Phase: corev1.PodRunning, HostIP: nodeIP(node), HostIPs: []corev1.HostIP{{IP: nodeIP(node)}},
		PodIP: w.podIP(node), QOSClass: qos(spec), StartTime: ptr(w.ago(age))}
	p.Status.PodIPs = []corev1.PodIP{{IP: p.Status.PodIP}}
	started := w.ago(age - 2*time.Second)
	p.Status.Conditions = []corev1.PodCondition{
		{Type: "PodReadyToStartContainers", Status: corev1.ConditionTrue, LastTransitionTime: w.ago(age - time.Second)},
		{Type: corev1.PodInitialized, Status: corev1.ConditionTrue, LastTransitionTime: w.ago(age)},
		{Type: corev1.PodReady, Status: corev1.ConditionTrue, LastTransitionTime: w.ago(age - 12*time.Second)},
		{Type: corev1.ContainersReady, Status: corev1.ConditionTrue, LastTransitionTime: w.ago(age - 12*time.Second)},
		{Type: corev1.PodScheduled, Status: corev1.ConditionTrue, LastTransitionTime: w.ago(age + 3*time.Second)},
	}
	for _, ic := range spec.InitContainers {
		p.Status.InitContainerStatuses = append(p.Status.InitContainerStatuses, corev1.ContainerStatus{Name: ic.Name, Image: ic.Image,
			ImageID: imageID(ic.Image, w.hex(64)), ContainerID: "containerd://" + w.hex(64), Ready: true, Started: ptr(false),
			State: corev1.ContainerState{Terminated: &corev1.ContainerStateTerminated{ExitCode: 0, Reason: "Completed", StartedAt: w.ago(age - time.Second), FinishedAt: w.ago(age - 2*time.Second), ContainerID: ""}}})
	}
	for _, c := range spec.Containers {
		p.Status.ContainerStatuses = append(p.Status.ContainerStatuses, corev1.ContainerStatus{Name: c.Name, Image: c.Image,
			ImageID: imageID(c.Image, w.hex(64)), ContainerID: "containerd://" + w.hex(64), Ready: true, Started: ptr(true),
			State: corev1.ContainerState{Running: &corev1.ContainerStateRunning{StartedAt: started}}})
	}
	for i := range p.Status.InitContainerStatuses {
		p.Status.InitContainerStatuses[i].State.Terminated.ContainerID = p.Status.InitContainerStatuses[i].ContainerID
	}
	w.add(p)
	return p
}

func imageID(image, digest string) string {
	repo := image
	if i := strings.LastIndex(image, ":"); i > strings.LastIndex(image, "/") {
		repo = image[:i]
	}
	return repo + "@sha256:" + digest
}

func (w *world) podIP(n *corev1.Node) string {
	cidr := n.Spec.PodCIDR
	if cidr == "" {
		return fmt.Sprintf("10.244.%d.%d", w.r.Intn(200), 2+w.r.Intn(250))
	}
	return strings.TrimSuffix(cidr, "0/24") + fmt.Sprint(2+w.r.Intn(250))
}

// qos computes the pod's QoS class from its containers' resources.
func qos(spec corev1.PodSpec) corev1.PodQOSClass {
	any, guaranteed := false, true
	for _, c := range spec.Containers {
		for _, r := range []corev1.ResourceName{corev1.ResourceCPU, corev1.ResourceMemory} {
			req, hasReq := c.Resources.Requests[r]
			lim, hasLim := c.Resources.Limits[r]
			if hasReq || hasLim {
				any = true
			}
			if !hasLim || !hasReq || req.Cmp(lim) != 0 {
				guaranteed = false
			}
		}
	}
	switch {
	case !any:
		return corev1.PodQOSBestEffort
	case guaranteed:
		return corev1.PodQOSGuaranteed
	}
	return corev1.PodQOSBurstable
}

// schedulable returns the nodes a pod with the tolerations may run on.
func (w *world) schedulable(tol []corev1.Toleration) []*corev1.Node {
	var out []*corev1.Node
	for _, n := range w.nodes {
		if n.Spec.Unschedulable {
			continue
		}
		ok := true
		for _, t := range n.Spec.Taints {
			if t.Effect == corev1.TaintEffectPreferNoSchedule {
				continue
			}
			tolerated := false
			for _, x := range tol {
				if x.Key == t.Key && (x.Operator == corev1.TolerationOpExists || x.Value == t.Value) {
					tolerated = true
				}
			}
			ok = ok && tolerated
		}
		if ok {
			out = append(out, n)
		}
	}
	if len(out) == 0 {
		return w.nodes
	}
	return out
}

// addService adds the app's ClusterIP Service (its Endpoints and
// EndpointSlice are derived from the pods when the world is finished).
func (a *app) addService() {
	w, s := a.w, a.spec
	target := intstr.FromString(s.portName)
	if s.numericTarget {
		target = intstr.FromInt32(s.port)
	}
	ports := s.svcPorts
	if len(ports) == 0 {
		ports = []corev1.ServicePort{{Name: "http", Port: s.servicePort, TargetPort: target, Protocol: corev1.ProtocolTCP}}
	}
	ip := fmt.Sprintf("10.%d.%d.%d", 96+w.r.Intn(15), w.r.Intn(256), 1+w.r.Intn(254))
	a.svc = &corev1.Service{
		TypeMeta:   metav1.TypeMeta{APIVersion: "v1", Kind: "Service"},
		ObjectMeta: w.meta(s.ns, s.serviceName, copyLabels(a.selector), s.age+w.between(40*24*time.Hour, 300*24*time.Hour)),
		Spec: corev1.ServiceSpec{Type: corev1.ServiceTypeClusterIP, ClusterIP: ip, ClusterIPs: []string{ip}, Selector: copyLabels(a.selector),
			Ports:           ports,
			SessionAffinity: corev1.ServiceAffinityNone, IPFamilies: []corev1.IPFamily{corev1.IPv4Protocol},
			IPFamilyPolicy: ptr(corev1.IPFamilyPolicySingleStack), InternalTrafficPolicy: ptr(corev1.ServiceInternalTrafficPolicyCluster)},
	}
	w.add(a.svc)
	a.eps = &corev1.Endpoints{TypeMeta: metav1.TypeMeta{APIVersion: "v1", Kind: "Endpoints"},
		ObjectMeta: w.meta(s.ns, s.serviceName, copyLabels(a.selector), s.age)}
	a.slice = &discoveryv1.EndpointSlice{TypeMeta: metav1.TypeMeta{APIVersion: "discovery.k8s.io/v1", Kind: "EndpointSlice"},
		ObjectMeta:  w.meta(s.ns, s.serviceName+"-"+w.alnum(5), copyLabels(a.selector, "endpointslice.kubernetes.io/managed-by", "endpointslice-controller.k8s.io", "kubernetes.io/service-name", s.serviceName), s.age),
		AddressType: discoveryv1.AddressTypeIPv4}
	a.slice.GenerateName = s.serviceName + "-"
	a.slice.OwnerReferences = []metav1.OwnerReference{ownerRef("v1", "Service", a.svc.ObjectMeta)}
	w.add(a.eps, a.slice)
}

// finish derives the controller status and the Service's endpoints from
// the pods as the fault left them.
func (a *app) finish() {
	if a.svc != nil {
		syncEndpoints(a.svc, a.eps, a.slice, a.w.podsOf(a.svc))
	}
	if a.keepStatus {
		return
	}
	a.syncStatus()
}

// syncStatus sets the controller's status from its pods.
func (a *app) syncStatus() {
	var ready, total, avail int32
	for _, p := range a.pods {
		if p.Status.Phase == corev1.PodFailed || p.Status.Phase == corev1.PodSucceeded || p.DeletionTimestamp != nil {
			continue
		}
		total++
		if podReady(p) {
			ready++
			avail++
		}
	}
	w := a.w
	switch {
	case a.dep != nil:
		d := a.dep
		d.Status.ObservedGeneration = d.Generation
		d.Status.Replicas, d.Status.ReadyReplicas, d.Status.AvailableReplicas = total, ready, avail
		d.Status.UpdatedReplicas = 0
		for _, p := range a.pods {
			if p.Labels["pod-template-hash"] == a.rs.Labels["pod-template-hash"] && p.Status.Phase != corev1.PodFailed {
				d.Status.UpdatedReplicas++
			}
		}
		want := *d.Spec.Replicas
		if u := want - total; u > 0 {
			d.Status.UnavailableReplicas = u
		}
		if total > ready {
			d.Status.UnavailableReplicas = want - ready
		}
		maxUnavail, _ := intstr.GetScaledValueFromIntOrPercent(d.Spec.Strategy.RollingUpdate.MaxUnavailable, int(want), false)
		if len(d.Status.Conditions) == 0 {
			availCond := appsv1.DeploymentCondition{Type: appsv1.DeploymentAvailable, Status: corev1.ConditionTrue, Reason: "MinimumReplicasAvailable",
				Message: "Deployment has minimum availability.", LastUpdateTime: w.ago(a.spec.age), LastTransitionTime: w.ago(a.spec.age)}
			if avail < want-int32(maxUnavail) {
				availCond.Status, availCond.Reason, availCond.Message = corev1.ConditionFalse, "MinimumReplicasUnavailable", "Deployment does not have minimum availability."
				availCond.LastUpdateTime, availCond.LastTransitionTime = w.ago(a.brokenFor()), w.ago(a.brokenFor())
			}
			d.Status.Conditions = []appsv1.DeploymentCondition{availCond, {Type: appsv1.DeploymentProgressing, Status: corev1.ConditionTrue,
				Reason: "NewReplicaSetAvailable", Message: fmt.Sprintf("ReplicaSet %q has successfully progressed.", a.rs.Name),
				LastUpdateTime: w.ago(a.spec.age - 30*time.Second), LastTransitionTime: w.ago(a.spec.age + 200*24*time.Hour)}}
		}
		for _, rs := range []*appsv1.ReplicaSet{a.rs, a.oldRS} {
			if rs == nil {
				continue
			}
			var n, r int32
			for _, p := range a.pods {
				if p.Labels["pod-template-hash"] == rs.Labels["pod-template-hash"] && p.Status.Phase != corev1.PodFailed {
					n++
					if podReady(p) {
						r++
					}
				}
			}
			rs.Status = appsv1.ReplicaSetStatus{Replicas: n, FullyLabeledReplicas: n, ReadyReplicas: r, AvailableReplicas: r, ObservedGeneration: rs.Generation}
		}
	case a.sts != nil:
		s := a.sts
		s.Status.ObservedGeneration = s.Generation
		s.Status.Replicas, s.Status.ReadyReplicas, s.Status.AvailableReplicas = total, ready, avail
		s.Status.CurrentReplicas, s.Status.UpdatedReplicas = total, total
		s.Status.CollisionCount = ptr[int32](0)
	case a.ds != nil:
		d := a.ds
		d.Status.ObservedGeneration = d.Generation
		d.Status.CurrentNumberScheduled, d.Status.UpdatedNumberScheduled = total, total
		if d.Status.DesiredNumberScheduled == 0 {
			d.Status.DesiredNumberScheduled = total
		}
		d.Status.NumberReady, d.Status.NumberAvailable = ready, avail
		if u := d.Status.DesiredNumberScheduled - avail; u > 0 {
			d.Status.NumberUnavailable = u
		}
	}
}

// brokenFor is how long ago the fault started (the oldest unready pod).
func (a *app) brokenFor() time.Duration {
	var d time.Duration = 20 * time.Minute
	for _, p := range a.pods {
		if !podReady(p) {
			if age := a.w.now.Sub(p.CreationTimestamp.Time); age > d && age < 3*time.Hour {
				d = age
			}
		}
	}
	return d
}

func podReady(p *corev1.Pod) bool {
	for _, c := range p.Status.Conditions {
		if c.Type == corev1.PodReady {
			return c.Status == corev1.ConditionTrue
		}
	}
	return false
}

// podsOf returns the world's pods the Service selects.
func (w *world) podsOf(svc *corev1.Service) []*corev1.Pod {
	var out []*corev1.Pod
	if len(svc.Spec.Selector) == 0 {
		return nil
	}
	for _, o := range w.objs {
		p, ok := o.(*corev1.Pod)
		if !ok || p.Namespace != svc.Namespace {
			continue
		}
		match := true
		for k, v := range svc.Spec.Selector {
			if p.Labels[k] != v {
				match = false
			}
		}
		if match {
			out = append(out, p)
		}
	}
	return out
}

// syncEndpoints sets Endpoints and EndpointSlice the way the endpoints
// controllers do: one address per running pod with an IP, ready or not,
// on the ports the targetPorts resolve to in that pod (a pod lacking a
// named port is left out).
func syncEndpoints(svc *corev1.Service, eps *corev1.Endpoints, slice *discoveryv1.EndpointSlice, pods []*corev1.Pod) {
	sort.Slice(pods, func(i, j int) bool { return pods[i].Name < pods[j].Name })
	var ready, notReady []corev1.EndpointAddress
	var ports []int32
	slice.Endpoints = nil
	for _, p := range pods {
		if p.Status.PodIP == "" || p.Status.Phase == corev1.PodFailed || p.Status.Phase == corev1.PodSucceeded {
			continue
		}
		var pp []int32
		for _, sp := range svc.Spec.Ports {
			if n := resolvePort(p, sp.TargetPort); n != 0 {
				pp = append(pp, n)
			}
		}
		if len(pp) != len(svc.Spec.Ports) {
			continue
		}
		ports = pp
		addr := corev1.EndpointAddress{IP: p.Status.PodIP, NodeName: ptr(p.Spec.NodeName),
			TargetRef: &corev1.ObjectReference{Kind: "Pod", Namespace: p.Namespace, Name: p.Name, UID: p.UID}}
		r := podReady(p)
		if r {
			ready = append(ready, addr)
		} else {
			notReady = append(notReady, addr)
		}
		slice.Endpoints = append(slice.Endpoints, discoveryv1.Endpoint{Addresses: []string{p.Status.PodIP},
			Conditions: discoveryv1.EndpointConditions{Ready: ptr(r), Serving: ptr(r), Terminating: ptr(false)},
			NodeName:   ptr(p.Spec.NodeName), TargetRef: &corev1.ObjectReference{Kind: "Pod", Namespace: p.Namespace, Name: p.Name, UID: p.UID}})
	}
	eps.Subsets = nil
	slice.Ports = nil
	if len(ready)+len(notReady) == 0 {
		return
	}
	sub := corev1.EndpointSubset{Addresses: ready, NotReadyAddresses: notReady}
	for i, sp := range svc.Spec.Ports {
		sub.Ports = append(sub.Ports, corev1.EndpointPort{Name: sp.Name, Port: ports[i], Protocol: sp.Protocol})
		slice.Ports = append(slice.Ports, discoveryv1.EndpointPort{Name: ptr(sp.Name), Port: ptr(ports[i]), Protocol: ptr(sp.Protocol)})
	}
	eps.Subsets = []corev1.EndpointSubset{sub}
}

// resolvePort resolves a Service targetPort in a pod: a number as is, a
// name through the containers' port names (0 when no container has it).
func resolvePort(p *corev1.Pod, tp intstr.IntOrString) int32 {
	if tp.Type == intstr.Int {
		return tp.IntVal
	}
	for _, c := range p.Spec.Containers {
		for _, cp := range c.Ports {
			if cp.Name == tp.StrVal {
				return cp.ContainerPort
			}
		}
	}
	return 0
}

// serviceAccount adds a ServiceAccount unless it exists.
func (w *world) serviceAccount(ns, name string) {
	if w.names["sa/"+ns+"/"+name] {
		return
	}
	w.names["sa/"+ns+"/"+name] = true
	w.add(&corev1.ServiceAccount{TypeMeta: metav1.TypeMeta{APIVersion: "v1", Kind: "ServiceAccount"},
		ObjectMeta: w.meta(ns, name, nil, w.between(100*24*time.Hour, 400*24*time.Hour))})
}
