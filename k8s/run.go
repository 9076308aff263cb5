package k8s

import (
	"context"
	"fmt"
	"slices"
	"sync"
	"sync/atomic"

	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	discoveryv1 "k8s.io/api/discovery/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/k8flex/k8flex/investigate"
)

// run is the state of one Gather call. Collectors read the resolved target
// and write into snap under mu; API lists shared by several collectors go
// through the caches, and every request is counted.
type run struct {
	g        *Gatherer
	cat      investigate.Category
	snap     *Snapshot
	requests atomic.Int64
	// cacheHits counts reads served by the shared cache or by another
	// run's fetch: they cost the API server nothing and are not requests.
	cacheHits atomic.Int64
	mu        sync.Mutex

	// ns is the namespace of the investigation ("" for node and DNS targets).
	ns string
	// node is the node under investigation (node categories).
	node string
	// deps are Services the pods' logs and env name ("ns/name").
	deps []string
	// gone is set by resolve when the target no longer exists and left
	// nothing to investigate.
	gone *goneTarget
	// extraEvents are events of the graph that collectors found outside
	// the namespaces collectEvents lists (the kubelet's evictions on a
	// node under pressure); collectEvents keeps them as involved.
	extraEvents []corev1.Event

	pods   onceMap[[]corev1.Pod]
	svcs   onceMap[[]corev1.Service]
	slices onceMap[[]discoveryv1.EndpointSlice]
	events onceMap[[]corev1.Event]
	nodes  onceMap[[]corev1.Node]
	rsets  onceMap[[]appsv1.ReplicaSet]
}

func newRun(g *Gatherer, c investigate.Category) *run {
	return &run{g: g, cat: c, snap: &Snapshot{Category: c, Budget: g.budget}}
}

// count records n API requests.
func (r *run) count(n int) { r.requests.Add(int64(n)) }

// has reports whether the category needs the scope.
func (r *run) has(s investigate.Scope) bool { return slices.Contains(r.cat.Scopes(), s) }

// nodeCategory reports whether the investigation is about a node.
func (r *run) nodeCategory() bool { return r.has(investigate.ScopeNode) }

// listPods lists the pods of a namespace once per run ("" = all
// namespaces), through the Gatherer's shared cache.
func (r *run) listPods(ctx context.Context, ns string) ([]corev1.Pod, error) {
	return r.pods.get(ns, func() ([]corev1.Pod, error) {
		return cachedList(ctx, r, "pods/"+ns, func(ctx context.Context) ([]corev1.Pod, error) {
			l, err := readList[corev1.PodList](ctx, r.g.api, resPods, ns, metav1.ListOptions{})
			if err != nil {
				return nil, fmt.Errorf("list pods in %s: %w", nsName(ns), err)
			}
			return l.Items, nil
		})
	})
}

// listServices lists the Services of a namespace once per run, through the
// shared cache.
func (r *run) listServices(ctx context.Context, ns string) ([]corev1.Service, error) {
	return r.svcs.get(ns, func() ([]corev1.Service, error) {
		return cachedList(ctx, r, "services/"+ns, func(ctx context.Context) ([]corev1.Service, error) {
			l, err := readList[corev1.ServiceList](ctx, r.g.api, resServices, ns, metav1.ListOptions{})
			if err != nil {
				return nil, fmt.Errorf("list services in %s: %w", nsName(ns), err)
			}
			return l.Items, nil
		})
	})
}

// listSlices lists the EndpointSlices of a namespace once per run, through
// the shared cache.
func (r *run) listSlices(ctx context.Context, ns string) ([]discoveryv1.EndpointSlice, error) {
	return r.slices.get(ns, func() ([]discoveryv1.EndpointSlice, error) {
		return cachedList(ctx, r, "endpointslices/"+ns, func(ctx context.Context) ([]discoveryv1.EndpointSlice, error) {
			l, err := readList[discoveryv1.EndpointSliceList](ctx, r.g.api, resEndpointSlices, ns, metav1.ListOptions{})
			if err != nil {
				return nil, fmt.Errorf("list endpointslices in %s: %w", nsName(ns), err)
			}
			return l.Items, nil
		})
	})
}

// listEvents lists the events of a namespace once per run, through the
// shared cache.
func (r *run) listEvents(ctx context.Context, ns string) ([]corev1.Event, error) {
	return r.events.get(ns, func() ([]corev1.Event, error) {
		return cachedList(ctx, r, "events/"+ns, func(ctx context.Context) ([]corev1.Event, error) {
			l, err := readList[corev1.EventList](ctx, r.g.api, resEvents, ns, metav1.ListOptions{})
			if err != nil {
				return nil, fmt.Errorf("list events in %s: %w", nsName(ns), err)
			}
			return l.Items, nil
		})
	})
}

// listNodeEvents lists the events of nodes (all namespaces) once per run,
// through the shared cache.
func (r *run) listNodeEvents(ctx context.Context) ([]corev1.Event, error) {
	return r.events.get("\x00nodes", func() ([]corev1.Event, error) {
		return cachedList(ctx, r, "events/kind=Node", func(ctx context.Context) ([]corev1.Event, error) {
			l, err := readList[corev1.EventList](ctx, r.g.api, resEvents, "", metav1.ListOptions{FieldSelector: "involvedObject.kind=Node"})
			if err != nil {
				return nil, fmt.Errorf("list node events: %w", err)
			}
			return l.Items, nil
		})
	})
}

// listNodes lists the cluster's nodes once per run, through the shared cache.
func (r *run) listNodes(ctx context.Context) ([]corev1.Node, error) {
	return r.nodes.get("", func() ([]corev1.Node, error) {
		return cachedList(ctx, r, "nodes", func(ctx context.Context) ([]corev1.Node, error) {
			l, err := readList[corev1.NodeList](ctx, r.g.api, resNodes, "", metav1.ListOptions{})
			if err != nil {
				return nil, fmt.Errorf("list nodes: %w", err)
			}
			return l.Items, nil
		})
	})
}

// listReplicaSets lists the ReplicaSets of a namespace once per run,
// through the shared cache.
func (r *run) listReplicaSets(ctx context.Context, ns string) ([]appsv1.ReplicaSet, error) {
	return r.rsets.get(ns, func() ([]appsv1.ReplicaSet, error) {
		return cachedList(ctx, r, "replicasets/"+ns, func(ctx context.Context) ([]appsv1.ReplicaSet, error) {
			l, err := readList[appsv1.ReplicaSetList](ctx, r.g.api, resReplicaSets, ns, metav1.ListOptions{})
			if err != nil {
				return nil, fmt.Errorf("list replicasets in %s: %w", nsName(ns), err)
			}
			return l.Items, nil
		})
	})
}

// getNode reads one node through the shared cache (the node the pods of a
// storm share). A missing node is an error for which apierrors.IsNotFound
// holds; it is not cached.
func (r *run) getNode(ctx context.Context, name string) (*corev1.Node, error) {
	n, err := cachedRead(ctx, r, "node/"+name, func(ctx context.Context) (*corev1.Node, error) {
		return readOne[corev1.Node](ctx, r.g.api, resNodes, "", name)
	})
	if err != nil {
		return nil, err
	}
	return n.DeepCopy(), nil
}

// getService reads one Service through the shared cache (the cluster DNS
// Service many network investigations look at). A missing Service is an
// error for which apierrors.IsNotFound holds; it is not cached.
func (r *run) getService(ctx context.Context, ns, name string) (*corev1.Service, error) {
	svc, err := cachedRead(ctx, r, "service/"+ns+"/"+name, func(ctx context.Context) (*corev1.Service, error) {
		return readOne[corev1.Service](ctx, r.g.api, resServices, ns, name)
	})
	if err != nil {
		return nil, err
	}
	return svc.DeepCopy(), nil
}

// getConfigMap reads one ConfigMap through the shared cache (the CoreDNS
// Corefile). A missing ConfigMap is an error for which apierrors.IsNotFound
// holds; it is not cached.
func (r *run) getConfigMap(ctx context.Context, ns, name string) (*corev1.ConfigMap, error) {
	cm, err := cachedRead(ctx, r, "configmap/"+ns+"/"+name, func(ctx context.Context) (*corev1.ConfigMap, error) {
		return readOne[corev1.ConfigMap](ctx, r.g.api, resConfigMaps, ns, name)
	})
	if err != nil {
		return nil, err
	}
	return cm.DeepCopy(), nil
}

// cachedList reads a list through the shared cache and returns this run's
// own copy of the slice (the cached one is shared with other runs).
func cachedList[T any](ctx context.Context, r *run, key string, fetch func(ctx context.Context) ([]T, error)) ([]T, error) {
	l, err := cachedRead(ctx, r, key, fetch)
	return slices.Clone(l), err
}

func nsName(ns string) string {
	if ns == "" {
		return "all namespaces"
	}
	return ns
}

// phases returns the collectors to run, in dependent phases. The links
// they follow do not depend on the category: from the resolved pods, the
// first phase reads their logs, references, Services, nodes and the
// namespace's quotas; the second follows the dependencies their logs name
// (and the cluster DNS when they show the resolver failing), the unscheduled
// pods (and device plugins) behind a healthy-looking target, the kubelet's
// evictions on a node under pressure, the network agent of a node where a
// sandbox waits, the workloads that hold an exhausted quota, and the RBAC
// bindings around a ServiceAccount the logs say is forbidden;
// the third reads the owners, storage, NetworkPolicies, Ingresses and
// disruption budgets; the fourth what hangs off the owners (HPAs,
// CronJobs, ServiceAccounts of the pod templates); the last reads the
// events of every object involved, and after them the pods those events
// name as preemptors. The category decides only depth: the
// metrics API, the cluster DNS, and the Endpoints of a Service.
func (r *run) phases() [][]collector {
	var p1 []collector
	if len(r.snap.Pods) > 0 {
		p1 = append(p1, collector{"logs", collectLogs}, collector{"refs", collectRefs})
	}
	if r.ns != "" || r.snap.Target.Kind == investigate.KindService {
		p1 = append(p1, collector{"services", collectServices})
	}
	p1 = append(p1, collector{"nodes", collectNodes})
	if r.ns != "" {
		p1 = append(p1, collector{"resources", collectResources})
	}
	if r.has(investigate.ScopeNetwork) {
		p1 = append(p1, collector{"dns", collectDNS})
	}
	p2 := []collector{{"unscheduled", collectUnscheduled}, {"eviction-victims", collectEvictionVictims}, {"network-agents", collectNetworkAgents}, {"disk-writers", collectDiskWriters}}
	if !r.has(investigate.ScopeNetwork) {
		p2 = append(p2, collector{"dns", collectDNSForLogs})
	}
	if r.has(investigate.ScopeResource) || r.nodeCategory() {
		p2 = append(p2, collector{"usage", collectUsage})
	}
	if r.ns != "" {
		p2 = append(p2, collector{"quota-consumers", collectQuotaConsumers})
	}
	if r.ns != "" {
		p2 = append(p2, collector{"dependencies", collectDependencies}, collector{"service-workloads", collectServiceWorkloads}, collector{"rbac", collectRBAC})
	}
	p3 := []collector{{"storage", collectStorage}, {"leases", collectNodeLeases}, {"scheduling-peers", collectSchedulingPeers}}
	if len(r.snap.Pods) > 0 || len(r.snap.RelatedPods) > 0 || r.ns != "" {
		p3 = append(p3, collector{"owners", collectOwners})
	}
	if r.ns != "" || r.has(investigate.ScopeNetwork) {
		p3 = append(p3, collector{"network", collectNetworkPolicies})
	}
	if r.ns != "" || r.node != "" {
		p3 = append(p3, collector{"disruption-budgets", collectDisruptionBudgets})
	}
	var p4 []collector
	if r.ns != "" {
		p3 = append(p3, collector{"ingresses", collectIngresses})
		p4 = append(p4, collector{"autoscalers", collectAutoscalers}, collector{"cronjobs", collectCronJobs},
			collector{"serviceaccounts", collectServiceAccounts}, collector{"controller-logs", collectControllerLogs})
	}
	p4 = append(p4, collector{"volume-holders", collectVolumeHolders})
	p5 := []collector{{"events", collectEvents}}
	p6 := []collector{{"preemptors", collectPreemptors}}
	return [][]collector{p1, p2, p3, p4, p5, p6}
}

// podsSnapshot returns copies of the pod slices under the lock.
func (r *run) podsSnapshot() (pods, related []corev1.Pod) {
	r.mu.Lock()
	defer r.mu.Unlock()
	return slices.Clone(r.snap.Pods), slices.Clone(r.snap.RelatedPods)
}

// podsOnNode lists the pods on node in all namespaces, once per cache
// lifetime (the collectors that look at a node's pods share the list).
func (r *run) podsOnNode(ctx context.Context, node string) ([]corev1.Pod, error) {
	pods, err := cachedList(ctx, r, "pods/node="+node, func(ctx context.Context) ([]corev1.Pod, error) {
		l, err := readList[corev1.PodList](ctx, r.g.api, resPods, "", metav1.ListOptions{FieldSelector: "spec.nodeName=" + node})
		if err != nil {
			return nil, fmt.Errorf("list pods on node %s: %w", node, err)
		}
		return l.Items, nil
	})
	// The selector is re-checked, as every field selector is.
	return slices.DeleteFunc(pods, func(p corev1.Pod) bool { return p.Spec.NodeName != node }), err
}

// podName names a pod.
type podName struct{ ns, name string }

// addRelatedPods reads the pods (through the shared cache) and adds them
// to RelatedPods; a pod that no longer exists is skipped, other failures
// are returned.
func (r *run) addRelatedPods(ctx context.Context, pods []podName) []error {
	var errs []error
	for _, w := range pods {
		p, err := cachedRead(ctx, r, "pod/"+w.ns+"/"+w.name, func(ctx context.Context) (*corev1.Pod, error) {
			return readOne[corev1.Pod](ctx, r.g.api, resPods, w.ns, w.name)
		})
		switch {
		case apierrors.IsNotFound(err):
		case err != nil:
			errs = append(errs, wrapGet("pod", w.ns, w.name, err))
		default:
			r.addRelated(*p.DeepCopy())
		}
	}
	return errs
}

// addRelated appends pods to RelatedPods unless already present.
func (r *run) addRelated(pods ...corev1.Pod) {
	r.mu.Lock()
	defer r.mu.Unlock()
	for _, p := range pods {
		if !containsPod(r.snap.Pods, p) && !containsPod(r.snap.RelatedPods, p) {
			r.snap.RelatedPods = append(r.snap.RelatedPods, p)
		}
	}
}

func containsPod(list []corev1.Pod, p corev1.Pod) bool {
	return slices.ContainsFunc(list, func(q corev1.Pod) bool { return q.Namespace == p.Namespace && q.Name == p.Name })
}
