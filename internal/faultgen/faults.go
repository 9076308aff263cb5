package faultgen

import (
	"fmt"
	"time"

	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/k8flex/k8flex/investigate"
	"github.com/k8flex/k8flex/scenario"
)

// registry lists every fault class, in generation order.
func registry() []faultClass {
	return []faultClass{
		// Service wiring.
		{"selector-mismatch", selectorMismatch},
		{"targetport-number-mismatch", targetPortNumber},
		{"targetport-name-mismatch", targetPortName},
		{"scaled-to-zero", scaledToZero},
		// Containers that do not start or do not stay up.
		{"crashloop-missing-env", crashMissingEnv},
		{"oomkilled", oomKilled},
		{"pvc-full-enospc", pvcFullENOSPC},
		{"imagepull-bad-tag", imagePullBadTag},
		{"imagepull-unauthorized", imagePullUnauthorized},
		{"imagepull-unknown-host", imagePullUnknownHost},
		{"exec-format-error", execFormatError},
		{"command-not-found", commandNotFound},
		{"missing-configmap-volume", missingConfigMapVolume},
		{"missing-configmap-key", missingConfigMapKey},
		{"missing-secret", missingSecret},
		{"liveness-probe-wrong-port", livenessWrongPort},
		{"readiness-probe-wrong-path", readinessWrongPath},
		// Scheduling.
		{"insufficient-cpu", insufficientCPU},
		{"insufficient-memory", insufficientMemory},
		{"nodeselector-mismatch", nodeSelectorMismatch},
		{"taint-not-tolerated", taintNotTolerated},
		{"all-nodes-cordoned", allNodesCordoned},
		{"anti-affinity-unsatisfiable", antiAffinity},
		{"hostport-conflict", hostPortConflict},
		// Admission at pod creation.
		{"failedcreate-quota", failedCreateQuota},
		{"failedcreate-limitrange", failedCreateLimitRange},
		{"failedcreate-podsecurity", failedCreatePodSecurity},
		{"runasnonroot-image-root", runAsNonRoot},
		// Rollouts and autoscaling.
		{"rollout-stuck-progress-deadline", rolloutStuck},
		{"hpa-at-max", hpaAtMax},
		{"hpa-missing-cpu-request", hpaMissingRequest},
		{"hpa-no-metrics-server", hpaNoMetricsServer},
		{"pdb-blocks-drain", pdbBlocksDrain},
		// Storage.
		{"pvc-storageclass-missing", pvcNoStorageClass},
		{"pvc-provisioning-failed", pvcProvisioningFailed},
		{"volume-node-affinity-conflict", volumeNodeAffinity},
		// Nodes and resources.
		{"node-notready-kubelet-stopped", nodeNotReadyKubelet},
		{"node-notready-cni", nodeNotReadyCNI},
		{"node-memory-pressure-eviction", memoryPressure},
		{"node-disk-pressure-eviction", diskPressure},
		{"node-pid-pressure-eviction", pidPressure},
		{"emptydir-sizelimit-eviction", emptyDirSizeLimit},
		{"cpu-throttling-limit", cpuThrottling},
		// Network and DNS.
		{"egress-policy-blocks-dns", egressBlocksDNS},
		{"ingress-policy-blocks-caller", ingressBlocksCaller},
		{"coredns-crashloop", coreDNSCrashLoop},
		{"coredns-upstream-timeout", coreDNSUpstreamTimeout},
		{"unresolvable-service-name", unresolvableServiceName},
		{"dependency-service-no-endpoints", dependencyNoEndpoints},
		{"ingress-backend-service-missing", ingressMissingService},
		{"tls-certificate-expired", tlsExpired},
		// Jobs and start-up order.
		{"init-container-waiting", initContainerWaiting},
		{"job-backofflimit-exceeded", jobBackoffLimit},
		{"job-deadline-exceeded", jobDeadlineExceeded},
		{"job-rbac-forbidden", rbacForbiddenJob},
		// The kubelet: admission and lifecycle hooks.
		{"kubelet-admission-rejected", admissionRejected},
		{"poststart-hook-fails", postStartHookFails},
		// Capacity taken or never offered, and schedules that stop.
		{"cronjob-stopped", cronJobStopped},
		{"pod-preempted", podPreempted},
		{"extended-resource-unadvertised", extendedResourceUnadvertised},
		// Other controllers and dependencies the pods wait on.
		{"readiness-gate-unset", readinessGateUnset},
		{"ingress-tls-secret-missing", ingressTLSSecretMissing},
		{"job-deadline-db-lock", jobDeadlineDBLock},
		{"go-gomaxprocs-throttling", goMaxProcsThrottling},
		// Causes that only the object graph links to the alert.
		{"quota-held-by-job", quotaHeldByJob},
		{"storageclass-topology-unserved", storageClassTopologyUnserved},
		{"cni-addresses-exhausted", cniAddressesExhausted},
		{"pid-pressure-unkillable-pod", pidPressureUnkillable},
		// Alerts whose labels name the subject indirectly.
		{"target-exported-labels", targetExportedLabels},
		{"target-istio-destination", targetIstioDestination},
		{"target-linkerd-destination", targetLinkerdDestination},
		{"target-exporter-address", targetExporterAddress},
		{"target-instance-ip", targetInstanceIP},
		{"target-consumer-clue", targetConsumerClue},
		// Limits, bindings and attachments whose origin is another object.
		{"oom-limitrange-default", oomLimitRangeDefault},
		{"multi-attach-dead-node", multiAttachDeadNode},
		// RBAC around a ServiceAccount its pods say is forbidden.
		{"rbac-binding-subject-mismatch", rbacSubjectMismatch},
		{"rbac-roleref-missing", rbacRoleRefMissing},
		// An application's alert whose pods' name lookups time out.
		{"app-alert-dns-upstream-timeout", appAlertDNSUpstream},
		// A mesh workload requiring mTLS and a caller outside the mesh.
		{"istio-strict-plaintext-caller", istioStrictPlaintextCaller},
		{"target-configmap-clue", targetConfigMapClue},
		// Rules that had only unit tests: search-list expansion, host-disk buffers.
		{"dns-ndots-expansion", dnsNdotsExpansion},
		{"node-disk-host-buffer", nodeDiskHostBuffer},
	}
}

// expect builds an expect.yaml.
func expect(cat investigate.Category, also []investigate.Category, summary string, groups ...[]string) scenario.Expect {
	e := scenario.Expect{Category: cat, RootCause: groups, Summary: summary}
	for _, a := range also {
		e.AlsoAccept = append(e.AlsoAccept, string(a))
	}
	return e
}

func g(phrases ...string) []string { return phrases }

type cats = []investigate.Category

var (
	notFound = g("not found", "missing", "does not exist", "doesn't exist", "not exist", "absent", "deleted", "no such")
	crashCat = cats{investigate.PodRestart}
)

// spec draws a healthy app spec in a fresh namespace, of the variant's kind.
func (w *world) spec(v variant, kinds ...string) appSpec {
	s := w.defaultSpec(w.namespace())
	if len(kinds) > 0 {
		s.kind = kinds[v.n%len(kinds)]
	}
	switch s.kind {
	case kindStatefulSet:
		s.storage = pick(w.r, []string{"10Gi", "20Gi", "50Gi"})
		s.replicas = 3
	case kindDaemonSet:
		s.service = false
	}
	return s
}

// workloadAlert is the alert the app's controller raises for unavailable
// replicas (a rollout alert for Deployments when rollout is set).
func (w *world) workloadAlert(a *app, rollout bool) alertDef {
	if rollout && a.dep != nil {
		return w.rolloutStuck(a)
	}
	return w.replicasMismatch(a)
}

// rollout starts a new revision of a Deployment whose template differs by
// mutate: a new ReplicaSet with n pods (returned, healthy until the fault
// sets their state), the old ReplicaSet keeping its pods. The Deployment
// reports ProgressDeadlineExceeded when stuck is set.
func (a *app) rollout(mutate func(*appSpec), n int, since time.Duration, stuck bool) []*corev1.Pod {
	w := a.w
	mutate(&a.spec)
	a.spec.version = w.version()
	tmpl := a.template()
	a.dep.Spec.Template = tmpl
	a.dep.Generation++
	a.oldRS = a.rs
	a.revision++
	a.dep.Annotations["deployment.kubernetes.io/revision"] = fmt.Sprint(a.revision)
	a.rs = a.newRS(tmpl, int32(n), a.revision, since)
	var pods []*corev1.Pod
	for i := 0; i < n; i++ {
		pods = append(pods, a.addPod(a.rs.Name+"-"+w.alnum(5), a.rs.Spec.Template, "apps/v1", "ReplicaSet", a.rs.ObjectMeta, a.spec.nodes[i%len(a.spec.nodes)], since-time.Duration(i)*5*time.Second))
	}
	if stuck {
		w.finally(func() {
			for i := range a.dep.Status.Conditions {
				c := &a.dep.Status.Conditions[i]
				if c.Type == appsv1.DeploymentProgressing {
					c.Status, c.Reason = corev1.ConditionFalse, "ProgressDeadlineExceeded"
					c.Message = fmt.Sprintf("ReplicaSet %q has timed out progressing.", a.rs.Name)
					c.LastUpdateTime, c.LastTransitionTime = w.ago(since-10*time.Minute), w.ago(since-10*time.Minute)
				}
			}
		})
	}
	return pods
}

// breakApp builds the app with the fault mutate applies to its pod
// template: a Deployment as a new rollout of one pod (stuck past its
// progress deadline when stuck is set) beside the old healthy ReplicaSet;
// a StatefulSet with its last pod on the new revision; a DaemonSet with
// every pod on it. It returns the app and the pods that carry the fault.
func (w *world) breakApp(s appSpec, mutate func(*appSpec), since time.Duration, stuck bool) (*app, []*corev1.Pod) {
	if s.kind == kindDeployment {
		a := w.buildApp(s)
		return a, a.rollout(mutate, 1, since, stuck)
	}
	mutate(&s)
	a := w.buildApp(s)
	if a.sts != nil {
		return a, a.pods[len(a.pods)-1:]
	}
	return a, a.pods
}

// scaleUp raises the desired replicas of the app's controller by n without
// creating pods (the controller could not), returning the new count.
func (a *app) scaleUp(n int32) int32 {
	switch {
	case a.dep != nil:
		*a.dep.Spec.Replicas += n
		*a.rs.Spec.Replicas += n
		a.rs.Annotations["deployment.kubernetes.io/desired-replicas"] = fmt.Sprint(*a.dep.Spec.Replicas)
		return *a.dep.Spec.Replicas
	case a.sts != nil:
		*a.sts.Spec.Replicas += n
		return *a.sts.Spec.Replicas
	}
	return 0
}

// failedCreate records the controller's FailedCreate events for message
// (the API server's refusal) and the Deployment's ReplicaFailure condition.
func (a *app) failedCreate(refusal string, since time.Duration) {
	w := a.w
	count := int32(8 + w.r.Intn(20))
	switch {
	case a.dep != nil:
		w.event(a.rs, ev{reason: "FailedCreate", component: "replicaset-controller", count: count, first: since, last: w.between(20*time.Second, 5*time.Minute),
			message: fmt.Sprintf("Error creating: pods %q is forbidden: %s", a.rs.Name+"-"+w.alnum(5), refusal)})
		w.finally(func() {
			a.dep.Status.Conditions = append(a.dep.Status.Conditions, appsv1.DeploymentCondition{Type: appsv1.DeploymentReplicaFailure, Status: corev1.ConditionTrue,
				Reason: "FailedCreate", Message: fmt.Sprintf("pods %q is forbidden: %s", a.rs.Name+"-"+w.alnum(5), refusal),
				LastUpdateTime: w.ago(since), LastTransitionTime: w.ago(since)})
			a.rs.Status.Conditions = []appsv1.ReplicaSetCondition{{Type: appsv1.ReplicaSetReplicaFailure, Status: corev1.ConditionTrue, Reason: "FailedCreate",
				Message: fmt.Sprintf("pods %q is forbidden: %s", a.rs.Name+"-"+w.alnum(5), refusal), LastTransitionTime: w.ago(since)}}
		})
	case a.sts != nil:
		pod := fmt.Sprintf("%s-%d", a.spec.name, len(a.pods))
		w.event(a.sts, ev{reason: "FailedCreate", component: "statefulset-controller", count: count, first: since, last: w.between(20*time.Second, 5*time.Minute),
			message: fmt.Sprintf("create Pod %s in StatefulSet %s failed error: pods %q is forbidden: %s", pod, a.spec.name, pod, refusal)})
	case a.ds != nil:
		w.event(a.ds, ev{reason: "FailedCreate", component: "daemonset-controller", count: count, first: since, last: w.between(20*time.Second, 5*time.Minute),
			message: fmt.Sprintf("Error creating: pods %q is forbidden: %s", a.spec.name+"-"+w.alnum(5), refusal)})
	}
}

// fieldPath of the app's main container.
func fp(name string) string { return fmt.Sprintf("spec.containers{%s}", name) }

// meta-less helper: the time a pod's state began.
func startedAgo(w *world, p *corev1.Pod) time.Duration { return w.now.Sub(p.CreationTimestamp.Time) }

var _ = metav1.Now
