package main

// sourceModules are the modules whose source is read: Kubernetes itself
// first, then those its reasons are declared in (core/v1 constants) or
// emitted from (the EndpointSlice reconciler lives in a staging module).
var sourceModules = []string{"k8s.io/kubernetes", "k8s.io/api", "k8s.io/endpointslice"}

const k = "k8s.io/kubernetes/"

// kubernetesConfig is what vocabgen extracts from Kubernetes.
var kubernetesConfig = Config{
	Components: []Component{
		{Name: "kubelet", Roots: []string{k + "pkg/kubelet"}},
		{Name: "volume", Roots: []string{k + "pkg/volume"}},
		{Name: "scheduler", Roots: []string{k + "pkg/scheduler"}},
		{Name: "deployment-controller", Roots: []string{k + "pkg/controller/deployment"}},
		{Name: "replicaset-controller", Roots: []string{k + "pkg/controller/replicaset"}},
		{Name: "statefulset-controller", Roots: []string{k + "pkg/controller/statefulset"}},
		{Name: "daemonset-controller", Roots: []string{k + "pkg/controller/daemon"}},
		{Name: "job-controller", Roots: []string{k + "pkg/controller/job"}},
		{Name: "cronjob-controller", Roots: []string{k + "pkg/controller/cronjob"}},
		{Name: "horizontal-pod-autoscaler", Roots: []string{k + "pkg/controller/podautoscaler"}},
		{Name: "endpointslice-controller", Roots: []string{k + "pkg/controller/endpointslice", "k8s.io/endpointslice"}},
		{Name: "endpoint-controller", Roots: []string{k + "pkg/controller/endpoint"}},
		{Name: "node-controller", Roots: []string{k + "pkg/controller/nodelifecycle", k + "pkg/controller/util/node"}},
		{Name: "taint-eviction-controller", Roots: []string{k + "pkg/controller/tainteviction"}},
		{Name: "persistentvolume-controller", Roots: []string{k + "pkg/controller/volume/persistentvolume"}},
		{Name: "attachdetach-controller", Roots: []string{k + "pkg/controller/volume/attachdetach"}},
		{Name: "volume-expand-controller", Roots: []string{k + "pkg/controller/volume/expand"}},
		{Name: "disruption-controller", Roots: []string{k + "pkg/controller/disruption"}},
		{Name: "garbage-collector-controller", Roots: []string{k + "pkg/controller/garbagecollector"}},
		{Name: "pod-control", Packages: []string{k + "pkg/controller"}},
	},
	StatusRoots: []string{k + "pkg/kubelet", k + "pkg/controller/nodelifecycle", k + "pkg/controller/util/node"},
	RuntimeName: "container-runtime",
	Runtime: []RuntimeReason{
		{Reason: "OOMKilled", Ref: "pkg/kubelet/kuberuntime/helpers.go"},
		{Reason: "ContainerCannotRun", Ref: "pkg/kubelet/kuberuntime/kuberuntime_container.go"},
		{Reason: "Error", Ref: "test/e2e/node/pods.go"},
		{Reason: "StartError", Ref: "test/e2e/node/pods.go"},
		{Reason: "Completed", Ref: "pkg/printers/internalversion/printers.go"},
	},
	Known: []KnownDynamic{
		{File: "pkg/kubelet/kubelet_pods.go", Expr: "reason.Err.Error()",
			Why: "a container's waiting reason from the kubelet's reason cache: the error of its last StartContainer failure, whose sentinels (ErrImagePull, CreateContainerConfigError...) are listed from their declarations"},
		{File: "pkg/kubelet/lifecycle/predicate.go", Expr: "re.PredicateName",
			Why: "the admission reason of a PredicateFailureError, whose literals are listed (pod-status)"},
		{File: "pkg/kubelet/lifecycle/predicate.go", Expr: "r.Name", From: "scheduler-admission-checks",
			Why: "the scheduler plugin that refused the pod at kubelet admission (NodeAffinity, NodePorts...)"},
		{File: "pkg/kubelet/kubelet.go", Expr: "reason", From: "admission",
			Why: "the reason of a pod the kubelet refused at admission, which rejectPod puts in pod.status.reason and in an event"},
		{File: "pkg/kubelet/cm/admission/errors.go", Expr: "admissionErr.Type()", From: "admission-errors",
			Why: "the resource managers' admission errors (topology, CPU manager) name their own reason"},
		{File: "pkg/controller/job/job_controller.go", Expr: "finishedCond.Reason", From: "job-failure",
			Why: "a failed Job's event carries the reason of its Failed condition"},
		{File: "k8s.io/endpointslice/reconciler.go", Expr: "event.Reason", From: "topology-hints",
			Why: "the EndpointSlice reconciler emits the events its topology cache builds"},
	},
	Sets: []ReasonSet{
		{Name: "scheduler-admission-checks", Type: "AdmissionResult", Field: "Name"},
		{Name: "admission-errors", Method: "Type", ReceiverSuffix: "Error"},
		{Name: "job-failure", Func: "newCondition", First: []string{"JobFailed", "JobFailureTarget"}, Arg: 2},
		{Name: "topology-hints", Type: "EventBuilder", Field: "Reason"},
	},
}
