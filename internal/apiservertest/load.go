package apiservertest

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"net"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/types"
	utilyaml "k8s.io/apimachinery/pkg/util/yaml"
	"k8s.io/client-go/discovery"
	"k8s.io/client-go/discovery/cached/memory"
	"k8s.io/client-go/dynamic"
	"k8s.io/client-go/restmapper"
)

// createOrder ranks kinds so that what others refer to exists first;
// unlisted kinds come after these and before Events.
var createOrder = []string{
	"Namespace", "PriorityClass", "StorageClass", "PersistentVolume", "Node",
	"ServiceAccount", "ConfigMap", "LimitRange", "ResourceQuota", "PersistentVolumeClaim",
	"Service", "Deployment", "StatefulSet", "DaemonSet", "Job", "ReplicaSet", "Pod",
	"Endpoints", "EndpointSlice", "NetworkPolicy",
}

// unserved are kinds of aggregated APIs this server does not run; Load skips them.
var unserved = map[string]bool{"PodMetrics": true, "NodeMetrics": true}

// LoadResult is what Load put into the server.
type LoadResult struct {
	// Created counts the objects created per kind.
	Created map[string]int
	// Skipped lists "Kind ns/name" of objects of APIs the server does not serve.
	Skipped []string
	// AddedNodes are the Ready nodes added for pods bound to a node the
	// manifests did not contain.
	AddedNodes []string
}

// Load creates the objects of a multi-document YAML (as `kubectl get -o yaml`
// prints them, status included) in the server, the way a cluster would hold
// them: namespaces (with their defaults, see CreateNamespace) and referenced
// ServiceAccounts first, owners before what they own (ownerReferences and
// event involvedObject UIDs are rewritten to the new objects' UIDs), then
// every status written through the status subresource. ClusterIPs outside
// the server's range (10.96.0.0/12) are dropped and reallocated. Every node
// is pointed at the fake kubelet (see AddNode) so pods/log works; its other
// addresses are kept but never dialled; a node pods are bound to that the
// manifests lack is added, Ready. metrics.k8s.io objects are skipped.
func (s *Server) Load(tb testing.TB, manifests []byte) LoadResult {
	tb.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	res, err := s.load(ctx, manifests)
	if err != nil {
		tb.Fatalf("load objects: %v", err)
	}
	return res
}

// LoadScenario loads a scenario directory (the format of the project's
// shared/scenarios: cluster.yaml plus logs/<ns>/<pod>/<container>[.previous].log)
// into the server and its fake kubelet.
func (s *Server) LoadScenario(tb testing.TB, dir string) LoadResult {
	tb.Helper()
	b, err := os.ReadFile(filepath.Join(dir, "cluster.yaml"))
	if err != nil {
		tb.Fatalf("read scenario: %v", err)
	}
	res := s.Load(tb, b)
	logs := filepath.Join(dir, "logs")
	err = filepath.WalkDir(logs, func(path string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() || !strings.HasSuffix(path, ".log") {
			return err
		}
		rel, err := filepath.Rel(logs, path)
		if err != nil {
			return err
		}
		parts := strings.Split(filepath.ToSlash(rel), "/")
		if len(parts) != 3 {
			return fmt.Errorf("log %s is not logs/<ns>/<pod>/<container>.log", rel)
		}
		text, err := os.ReadFile(path)
		if err != nil {
			return err
		}
		container, previous := strings.TrimSuffix(parts[2], ".log"), false
		if c, ok := strings.CutSuffix(container, ".previous"); ok {
			container, previous = c, true
		}
		s.Kubelet.SetLog(parts[0], parts[1], container, previous, string(text))
		return nil
	})
	if err != nil && !errors.Is(err, fs.ErrNotExist) {
		tb.Fatalf("load scenario logs: %v", err)
	}
	return res
}

func (s *Server) load(ctx context.Context, manifests []byte) (LoadResult, error) {
	res := LoadResult{Created: map[string]int{}}
	objs, err := decodeAll(manifests)
	if err != nil {
		return res, err
	}
	rank := func(kind string) int {
		switch i := slices.Index(createOrder, kind); {
		case kind == "Event":
			return len(createOrder) + 1
		case i < 0:
			return len(createOrder)
		default:
			return i
		}
	}
	slices.SortStableFunc(objs, func(a, b *unstructured.Unstructured) int { return rank(a.GetKind()) - rank(b.GetKind()) })

	dc, err := discovery.NewDiscoveryClientForConfig(s.Config)
	if err != nil {
		return res, fmt.Errorf("discovery client: %w", err)
	}
	mapper := restmapper.NewDeferredDiscoveryRESTMapper(memory.NewMemCacheClient(dc))
	dyn, err := dynamic.NewForConfig(s.Config)
	if err != nil {
		return res, fmt.Errorf("dynamic client: %w", err)
	}

	// Namespaces and the ServiceAccounts pods run as must exist first.
	namespaces := map[string]bool{}
	for _, o := range objs {
		if ns := o.GetNamespace(); ns != "" {
			namespaces[ns] = true
		}
	}
	for ns := range namespaces {
		if err := s.createNamespace(ctx, ns); err != nil {
			return res, err
		}
	}

	uids := map[string]string{} // "Kind/ns/name" -> new UID
	key := func(kind, ns, name string) string { return kind + "/" + ns + "/" + name }
	for _, o := range objs {
		kind := o.GetKind()
		if unserved[kind] {
			res.Skipped = append(res.Skipped, kind+" "+o.GetNamespace()+"/"+o.GetName())
			continue
		}
		gvk := o.GroupVersionKind()
		m, err := mapper.RESTMapping(gvk.GroupKind(), gvk.Version)
		if err != nil {
			return res, fmt.Errorf("map %s: %w", gvk, err)
		}
		var ri dynamic.ResourceInterface = dyn.Resource(m.Resource)
		if m.Scope.Name() == meta.RESTScopeNameNamespace {
			ri = dyn.Resource(m.Resource).Namespace(o.GetNamespace())
		}
		if err := s.prepare(ctx, o, uids); err != nil {
			return res, err
		}
		status, hasStatus := o.Object["status"]
		created, err := ri.Create(ctx, o, metav1.CreateOptions{})
		if kind == "Namespace" && apierrors.IsAlreadyExists(err) {
			created, err = ri.Get(ctx, o.GetName(), metav1.GetOptions{})
		}
		if err != nil {
			return res, fmt.Errorf("create %s %s/%s: %w", kind, o.GetNamespace(), o.GetName(), err)
		}
		uids[key(kind, o.GetNamespace(), o.GetName())] = string(created.GetUID())
		if hasStatus && kind != "Namespace" {
			created.Object["status"] = status
			if kind == "Node" {
				s.pointAtKubelet(created)
			}
			if _, err := ri.UpdateStatus(ctx, created, metav1.UpdateOptions{}); err != nil && !apierrors.IsNotFound(err) && !apierrors.IsMethodNotSupported(err) {
				return res, fmt.Errorf("update status of %s %s/%s: %w", kind, o.GetNamespace(), o.GetName(), err)
			}
		}
		res.Created[kind]++
	}
	// A pod's node exists in a cluster even when the recording left it out:
	// add a Ready one, so that the pod's logs can be served.
	nodes := map[string]bool{}
	for _, o := range objs {
		if o.GetKind() == "Node" {
			nodes[o.GetName()] = true
		}
	}
	for _, o := range objs {
		name, _, _ := unstructured.NestedString(o.Object, "spec", "nodeName")
		if o.GetKind() != "Pod" || name == "" || nodes[name] {
			continue
		}
		nodes[name] = true
		if _, err := s.addNode(ctx, name); err != nil && !apierrors.IsAlreadyExists(err) {
			return res, err
		}
		res.Created["Node"]++
		res.AddedNodes = append(res.AddedNodes, name)
	}
	return res, nil
}

// prepare strips what the server assigns and rewrites references to the
// UIDs of the objects created so far.
func (s *Server) prepare(ctx context.Context, o *unstructured.Unstructured, uids map[string]string) error {
	for _, f := range []string{"resourceVersion", "uid", "creationTimestamp", "selfLink", "generation", "managedFields"} {
		unstructured.RemoveNestedField(o.Object, "metadata", f)
	}
	refs := o.GetOwnerReferences()
	for i, r := range refs {
		if uid, ok := uids[r.Kind+"/"+o.GetNamespace()+"/"+r.Name]; ok {
			refs[i].UID = types.UID(uid)
		}
	}
	if len(refs) > 0 {
		o.SetOwnerReferences(refs)
	}
	switch o.GetKind() {
	case "Event":
		kind, _, _ := unstructured.NestedString(o.Object, "involvedObject", "kind")
		ns, _, _ := unstructured.NestedString(o.Object, "involvedObject", "namespace")
		name, _, _ := unstructured.NestedString(o.Object, "involvedObject", "name")
		if uid, ok := uids[kind+"/"+ns+"/"+name]; ok {
			_ = unstructured.SetNestedField(o.Object, uid, "involvedObject", "uid")
		}
	case "Service":
		ip, _, _ := unstructured.NestedString(o.Object, "spec", "clusterIP")
		if ip != "None" && !serviceCIDR.Contains(net.ParseIP(ip)) {
			unstructured.RemoveNestedField(o.Object, "spec", "clusterIP")
			unstructured.RemoveNestedField(o.Object, "spec", "clusterIPs")
		}
	case "Pod":
		// Admission computes these from priorityClassName and refuses
		// values it did not compute.
		unstructured.RemoveNestedField(o.Object, "spec", "priority")
		unstructured.RemoveNestedField(o.Object, "spec", "preemptionPolicy")
		sa, _, _ := unstructured.NestedString(o.Object, "spec", "serviceAccountName")
		if sa != "" && sa != "default" {
			if err := s.ensureServiceAccount(ctx, o.GetNamespace(), sa); err != nil {
				return err
			}
		}
	}
	return nil
}

// pointAtKubelet makes the fake kubelet this node's kubelet: its Hostname
// address (the one the API server dials, see --kubelet-preferred-address-types)
// becomes 127.0.0.1 and its kubelet port the fake's.
func (s *Server) pointAtKubelet(node *unstructured.Unstructured) {
	addrs, _, _ := unstructured.NestedSlice(node.Object, "status", "addresses")
	out := []any{map[string]any{"type": "Hostname", "address": "127.0.0.1"}}
	for _, a := range addrs {
		if m, ok := a.(map[string]any); ok && m["type"] != "Hostname" {
			out = append(out, m)
		}
	}
	_ = unstructured.SetNestedSlice(node.Object, out, "status", "addresses")
	_ = unstructured.SetNestedField(node.Object, int64(s.Kubelet.Port()), "status", "daemonEndpoints", "kubeletEndpoint", "Port")
}

func decodeAll(multi []byte) ([]*unstructured.Unstructured, error) {
	var objs []*unstructured.Unstructured
	dec := utilyaml.NewYAMLOrJSONDecoder(bytes.NewReader(multi), 4096)
	for {
		var m map[string]any
		if err := dec.Decode(&m); errors.Is(err, io.EOF) {
			return objs, nil
		} else if err != nil {
			return nil, fmt.Errorf("decode objects: %w", err)
		}
		if len(m) == 0 {
			continue
		}
		o := &unstructured.Unstructured{Object: m}
		if o.IsList() {
			items, err := o.ToList()
			if err != nil {
				return nil, fmt.Errorf("decode list: %w", err)
			}
			for i := range items.Items {
				objs = append(objs, &items.Items[i])
			}
			continue
		}
		if o.GetKind() == "" || o.GetAPIVersion() == "" {
			return nil, fmt.Errorf("object %q has no kind or apiVersion", o.GetName())
		}
		objs = append(objs, o)
	}
}
