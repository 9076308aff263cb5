package k8s

import (
	"context"
	"fmt"

	appsv1 "k8s.io/api/apps/v1"
	autoscalingv2 "k8s.io/api/autoscaling/v2"
	batchv1 "k8s.io/api/batch/v1"
	coordinationv1 "k8s.io/api/coordination/v1"
	corev1 "k8s.io/api/core/v1"
	discoveryv1 "k8s.io/api/discovery/v1"
	networkingv1 "k8s.io/api/networking/v1"
	policyv1 "k8s.io/api/policy/v1"
	rbacv1 "k8s.io/api/rbac/v1"
	schedulingv1 "k8s.io/api/scheduling/v1"
	storagev1 "k8s.io/api/storage/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/runtime/schema"
	metricsv1beta1 "k8s.io/metrics/pkg/apis/metrics/v1beta1"
)

// Reader is the read-only access to a cluster the collectors need. Cluster
// implements it over the API server and Memory over objects held in memory
// (recorded scenarios, tests).
//
// Get decodes the named object of resource r into into; List decodes the
// objects of r in namespace ("" for all namespaces, or a cluster-scoped
// resource) that match opts' label and field selectors into the list
// object into. Failures are API status errors (apierrors.IsNotFound,
// IsForbidden ... apply), wrapped or not.
type Reader interface {
	Get(ctx context.Context, r schema.GroupVersionResource, namespace, name string, into runtime.Object) error
	List(ctx context.Context, r schema.GroupVersionResource, namespace string, opts metav1.ListOptions, into runtime.Object) error
}

// The resources the collectors read.
var (
	resPods           = corev1.SchemeGroupVersion.WithResource("pods")
	resServices       = corev1.SchemeGroupVersion.WithResource("services")
	resEndpoints      = corev1.SchemeGroupVersion.WithResource("endpoints")
	resEvents         = corev1.SchemeGroupVersion.WithResource("events")
	resNodes          = corev1.SchemeGroupVersion.WithResource("nodes")
	resConfigMaps     = corev1.SchemeGroupVersion.WithResource("configmaps")
	resPVCs           = corev1.SchemeGroupVersion.WithResource("persistentvolumeclaims")
	resPVs            = corev1.SchemeGroupVersion.WithResource("persistentvolumes")
	resLimitRanges    = corev1.SchemeGroupVersion.WithResource("limitranges")
	resSvcAccounts    = corev1.SchemeGroupVersion.WithResource("serviceaccounts")
	resQuotas         = corev1.SchemeGroupVersion.WithResource("resourcequotas")
	resDeployments    = appsv1.SchemeGroupVersion.WithResource("deployments")
	resReplicaSets    = appsv1.SchemeGroupVersion.WithResource("replicasets")
	resStatefulSets   = appsv1.SchemeGroupVersion.WithResource("statefulsets")
	resDaemonSets     = appsv1.SchemeGroupVersion.WithResource("daemonsets")
	resJobs           = batchv1.SchemeGroupVersion.WithResource("jobs")
	resCronJobs       = batchv1.SchemeGroupVersion.WithResource("cronjobs")
	resHPAs           = autoscalingv2.SchemeGroupVersion.WithResource("horizontalpodautoscalers")
	resPDBs           = policyv1.SchemeGroupVersion.WithResource("poddisruptionbudgets")
	resIngresses      = networkingv1.SchemeGroupVersion.WithResource("ingresses")
	resNetPolicies    = networkingv1.SchemeGroupVersion.WithResource("networkpolicies")
	resEndpointSlices = discoveryv1.SchemeGroupVersion.WithResource("endpointslices")
	resStorageClasses = storagev1.SchemeGroupVersion.WithResource("storageclasses")
	resLeases         = coordinationv1.SchemeGroupVersion.WithResource("leases")
	resPodMetrics     = metricsv1beta1.SchemeGroupVersion.WithResource("pods")
	resNodeMetrics    = metricsv1beta1.SchemeGroupVersion.WithResource("nodes")
	// RBAC is read only to explain a Forbidden a container logs about its
	// own ServiceAccount (rbac.go).
	resRoles               = rbacv1.SchemeGroupVersion.WithResource("roles")
	resRoleBindings        = rbacv1.SchemeGroupVersion.WithResource("rolebindings")
	resClusterRoles        = rbacv1.SchemeGroupVersion.WithResource("clusterroles")
	resClusterRoleBindings = rbacv1.SchemeGroupVersion.WithResource("clusterrolebindings")
)

// ReadResources returns every resource the collectors read (get and list;
// pods/log aside, the pods' log subresource): the ClusterRole in manifests/
// grants exactly these, which its tests check against this list.
func ReadResources() []schema.GroupVersionResource {
	return []schema.GroupVersionResource{
		resPods, resServices, resEndpoints, resEvents, resNodes, resConfigMaps, resPVCs, resPVs,
		resLimitRanges, resQuotas, resDeployments, resReplicaSets, resStatefulSets, resDaemonSets,
		resJobs, resNetPolicies, resEndpointSlices, resStorageClasses, resLeases, resPodMetrics, resNodeMetrics,
		resSvcAccounts, resCronJobs, resHPAs, resPDBs, resIngresses,
		resRoles, resRoleBindings, resClusterRoles, resClusterRoleBindings,
	}
}

// NewScheme returns a scheme holding the API groups K8flex reads (core,
// apps, autoscaling/v2, batch, networking, discovery, storage, policy,
// scheduling, coordination, rbac) and metrics.k8s.io/v1beta1. It is deliberately not
// client-go's scheme of every built-in group: the serving binary links and
// initialises only what it decodes.
func NewScheme() *runtime.Scheme {
	s := runtime.NewScheme()
	for _, add := range []func(*runtime.Scheme) error{
		corev1.AddToScheme, appsv1.AddToScheme, autoscalingv2.AddToScheme, batchv1.AddToScheme,
		networkingv1.AddToScheme, discoveryv1.AddToScheme, storagev1.AddToScheme,
		policyv1.AddToScheme, schedulingv1.AddToScheme, coordinationv1.AddToScheme, rbacv1.AddToScheme,
		metricsv1beta1.AddToScheme,
	} {
		if err := add(s); err != nil {
			// Registering compiled-in types only fails on a programming error.
			panic(fmt.Sprintf("k8s: build scheme: %v", err))
		}
	}
	return s
}

// readOne reads one object of resource res through rd.
func readOne[T any, PT interface {
	*T
	runtime.Object
}](ctx context.Context, rd Reader, res schema.GroupVersionResource, namespace, name string) (*T, error) {
	v := new(T)
	if err := rd.Get(ctx, res, namespace, name, PT(v)); err != nil {
		return nil, err
	}
	return v, nil
}

// readList reads the objects of resource res through rd into a list of type L.
func readList[L any, PL interface {
	*L
	runtime.Object
}](ctx context.Context, rd Reader, res schema.GroupVersionResource, namespace string, opts metav1.ListOptions) (*L, error) {
	v := new(L)
	if err := rd.List(ctx, res, namespace, opts, PL(v)); err != nil {
		return nil, err
	}
	return v, nil
}
