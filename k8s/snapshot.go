package k8s

import (
	appsv1 "k8s.io/api/apps/v1"
	autoscalingv2 "k8s.io/api/autoscaling/v2"
	batchv1 "k8s.io/api/batch/v1"
	coordinationv1 "k8s.io/api/coordination/v1"
	corev1 "k8s.io/api/core/v1"
	discoveryv1 "k8s.io/api/discovery/v1"
	networkingv1 "k8s.io/api/networking/v1"
	policyv1 "k8s.io/api/policy/v1"
	storagev1 "k8s.io/api/storage/v1"
	metricsv1beta1 "k8s.io/metrics/pkg/apis/metrics/v1beta1"

	"github.com/k8flex/k8flex/investigate"
)

// ContainerLog is the (compacted, redacted) log of one container instance.
type ContainerLog struct {
	Namespace string
	Pod       string
	Container string
	// Previous is true for the log of the previous, terminated instance.
	Previous bool
	// Init is true for init containers.
	Init bool
	// Lines are the log lines after compaction (repeats collapsed, middle
	// cut, tail kept) and redaction.
	Lines []string
}

// Snapshot is the typed state of the cluster a Gatherer observed for one
// investigation. Every slice is filtered to what concerns the target (events
// of the objects involved, pods of the workload or service, ...). It
// implements investigate.Snapshot: Diagnose draws findings, Evidence renders
// the sections.
type Snapshot struct {
	Target   investigate.Target
	Category investigate.Category

	// Pods are the pods under investigation (the target pod, the unhealthy
	// pods of a workload, the pods a service selects), most relevant first.
	Pods []corev1.Pod
	// RelatedPods are other pods that matter for diagnosis: healthy siblings,
	// pods on the node, near-miss pods for a service selector, pods that
	// back a Service the logs name.
	RelatedPods []corev1.Pod
	// Events are the events of the objects involved, then the namespace's
	// most recent ones (at most 20), newest last.
	Events []corev1.Event
	// InvolvedEvents is how many of the first Events concern the objects
	// involved; the rest are the namespace's other recent events.
	InvolvedEvents int
	Logs           []ContainerLog

	ReplicaSets  []appsv1.ReplicaSet
	Deployments  []appsv1.Deployment
	StatefulSets []appsv1.StatefulSet
	DaemonSets   []appsv1.DaemonSet
	Jobs         []batchv1.Job
	// CronJobs are the CronJobs that own the Jobs.
	CronJobs []batchv1.CronJob
	// HorizontalPodAutoscalers are the HPAs whose scale target is one of
	// the workloads (Deployment, StatefulSet, ReplicaSet).
	HorizontalPodAutoscalers []autoscalingv2.HorizontalPodAutoscaler
	// PodDisruptionBudgets are the PDBs whose selector matches the pods of
	// the workload (or its pod template).
	PodDisruptionBudgets []policyv1.PodDisruptionBudget

	Services       []corev1.Service
	Endpoints      []corev1.Endpoints
	EndpointSlices []discoveryv1.EndpointSlice
	// Ingresses are the Ingresses that route to the Services, and those of
	// the namespace whose backend Service does not exist.
	Ingresses []networkingv1.Ingress

	Nodes []corev1.Node
	// NodeLeases are the kubelet heartbeats (kube-node-lease/<node>) of
	// the nodes that are not Ready.
	NodeLeases      []coordinationv1.Lease
	NetworkPolicies []networkingv1.NetworkPolicy
	ConfigMaps      []corev1.ConfigMap
	// MissingRefs are objects the pods reference that do not exist
	// ("configmap/shop/app-settings", "secret/shop/db", "pvc/shop/data",
	// "serviceaccount/shop/runner"); checked by name only, never read.
	MissingRefs []string
	// NotFound are objects the alert's target named that do not exist
	// ("pod/shop/web-0", "service/web/frontend", "node/worker-9").
	NotFound []string

	PVCs           []corev1.PersistentVolumeClaim
	PVs            []corev1.PersistentVolume
	StorageClasses []storagev1.StorageClass
	LimitRanges    []corev1.LimitRange
	ResourceQuotas []corev1.ResourceQuota
	// QuotaConsumers are, for each ResourceQuota that is (nearly)
	// exhausted, the namespace's workloads that hold most of it, largest
	// first.
	QuotaConsumers []QuotaConsumer

	PodMetrics  []metricsv1beta1.PodMetrics
	NodeMetrics []metricsv1beta1.NodeMetrics

	// RBAC holds the bindings around a ServiceAccount the pods' own output
	// says is forbidden an API request (nil when none does).
	RBAC *RBACState

	// DNS holds the cluster DNS state when the network scope was gathered.
	DNS *DNSState

	// Resolution says how the target was found when no label of the
	// alert named it (the workload that carries its label values, the
	// pod behind its instance IP); "" otherwise.
	Resolution string

	Gaps        []investigate.Gap
	APIRequests int
	TargetGone  bool

	// Budget limits the rendered evidence.
	Budget Budget

	// Alert is the alert that started the investigation (nil for a manual
	// one): rules read what it states itself, such as a throttling figure
	// the cluster's own API cannot show without metrics-server.
	Alert *investigate.Alert
}

// UseAlert records the alert the investigation is about, for Diagnose.
func (s *Snapshot) UseAlert(a *investigate.Alert) { s.Alert = a }

var _ investigate.AlertAware = (*Snapshot)(nil)

// DNSState is the cluster DNS as seen from kube-system.
type DNSState struct {
	Pods      []corev1.Pod
	Service   *corev1.Service
	Endpoints []discoveryv1.EndpointSlice
	Corefile  string
	Logs      []ContainerLog
}

// Budget bounds the rendered evidence.
type Budget struct {
	// SectionBytes caps one section's body; Total caps all sections together.
	SectionBytes int
	TotalBytes   int
	// LogLines is how many lines of each container log are fetched (tail).
	LogLines int
}

// DefaultBudget is the budget used when none is configured.
var DefaultBudget = Budget{SectionBytes: 6 << 10, TotalBytes: 48 << 10, LogLines: 100}
