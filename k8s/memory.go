package k8s

import (
	"cmp"
	"context"
	"fmt"
	"reflect"
	"slices"
	"sync"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/fields"
	"k8s.io/apimachinery/pkg/labels"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/runtime/schema"
	metricsv1beta1 "k8s.io/metrics/pkg/apis/metrics/v1beta1"
)

// Memory is a Reader over objects held in memory: a recorded scenario's
// cluster, or a test's. Reads return copies. List honours label selectors
// and the field selectors the API server supports for what K8flex reads
// (metadata.name and metadata.namespace everywhere; spec.nodeName,
// status.phase ... on pods; involvedObject.*, reason, type ... on events);
// an unsupported field is a BadRequest, as from the API server. Items are
// listed in namespace/name order. Memory is safe for concurrent use.
type Memory struct {
	scheme *runtime.Scheme
	mu     sync.RWMutex
	objs   map[schema.GroupVersionResource][]memObject
}

type memObject struct {
	namespace, name string
	obj             runtime.Object
}

var _ Reader = (*Memory)(nil)

// NewMemory returns a Memory holding objs, which must be of kinds NewScheme
// knows (metrics.k8s.io's PodMetrics and NodeMetrics included); two objects
// of one resource, namespace and name are an AlreadyExists error.
func NewMemory(objs ...runtime.Object) (*Memory, error) {
	m := &Memory{scheme: NewScheme(), objs: map[schema.GroupVersionResource][]memObject{}}
	for i, o := range objs {
		if err := m.add(o, false); err != nil {
			return nil, fmt.Errorf("object %d: %w", i+1, err)
		}
	}
	return m, nil
}

// Add stores a copy of obj, replacing the object of the same resource,
// namespace and name.
func (m *Memory) Add(obj runtime.Object) error { return m.add(obj, true) }

func (m *Memory) add(obj runtime.Object, replace bool) error {
	res, err := m.resourceOf(obj)
	if err != nil {
		return err
	}
	acc, err := meta.Accessor(obj)
	if err != nil {
		return fmt.Errorf("%s: %w", res.Resource, err)
	}
	o := memObject{namespace: acc.GetNamespace(), name: acc.GetName(), obj: obj.DeepCopyObject()}
	if o.name == "" {
		return fmt.Errorf("%s: object without a name", res.Resource)
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	list := m.objs[res]
	i, found := slices.BinarySearchFunc(list, o, compareMemObjects)
	switch {
	case found && !replace:
		return apierrors.NewAlreadyExists(res.GroupResource(), o.namespace+"/"+o.name)
	case found:
		list[i] = o
	default:
		list = slices.Insert(list, i, o)
	}
	m.objs[res] = list
	return nil
}

// Delete removes the object of resource r in namespace named name, if any.
func (m *Memory) Delete(r schema.GroupVersionResource, namespace, name string) {
	m.mu.Lock()
	defer m.mu.Unlock()
	list := m.objs[r]
	if i, found := slices.BinarySearchFunc(list, memObject{namespace: namespace, name: name}, compareMemObjects); found {
		m.objs[r] = slices.Delete(list, i, i+1)
	}
}

func compareMemObjects(a, b memObject) int {
	return cmp.Or(cmp.Compare(a.namespace, b.namespace), cmp.Compare(a.name, b.name))
}

// resourceOf names the resource obj is served as.
func (m *Memory) resourceOf(obj runtime.Object) (schema.GroupVersionResource, error) {
	gvk := obj.GetObjectKind().GroupVersionKind()
	if gvk.Empty() {
		kinds, _, err := m.scheme.ObjectKinds(obj)
		if err != nil {
			return schema.GroupVersionResource{}, fmt.Errorf("kind of %T: %w", obj, err)
		}
		gvk = kinds[0]
	}
	if gvk.Group == metricsv1beta1.GroupName {
		switch gvk.Kind {
		case "PodMetrics":
			return resPodMetrics, nil
		case "NodeMetrics":
			return resNodeMetrics, nil
		}
	}
	if !m.scheme.Recognizes(gvk) {
		return schema.GroupVersionResource{}, fmt.Errorf("kind %s is not one K8flex reads", gvk)
	}
	plural, _ := meta.UnsafeGuessKindToResource(gvk)
	return plural, nil
}

// Get implements Reader.
func (m *Memory) Get(ctx context.Context, r schema.GroupVersionResource, namespace, name string, into runtime.Object) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	m.mu.RLock()
	list := m.objs[r]
	i, found := slices.BinarySearchFunc(list, memObject{namespace: namespace, name: name}, compareMemObjects)
	var obj runtime.Object
	if found {
		obj = list[i].obj
	}
	m.mu.RUnlock()
	if !found {
		return apierrors.NewNotFound(r.GroupResource(), name)
	}
	dst, src := reflect.ValueOf(into), reflect.ValueOf(obj.DeepCopyObject())
	if dst.Type() != src.Type() {
		return fmt.Errorf("k8s: get %s into %T: stored object is %T", r.Resource, into, obj)
	}
	dst.Elem().Set(src.Elem())
	return nil
}

// List implements Reader.
func (m *Memory) List(ctx context.Context, r schema.GroupVersionResource, namespace string, opts metav1.ListOptions, into runtime.Object) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	ls, err := labels.Parse(opts.LabelSelector)
	if err != nil {
		return apierrors.NewBadRequest(fmt.Sprintf("unable to parse requirement: %v", err))
	}
	fs, err := fields.ParseSelector(opts.FieldSelector)
	if err != nil {
		return apierrors.NewBadRequest(fmt.Sprintf("invalid field selector: %v", err))
	}
	for _, req := range fs.Requirements() {
		if !supportedField(r, req.Field) {
			return apierrors.NewBadRequest(fmt.Sprintf("field label not supported: %s", req.Field))
		}
	}
	m.mu.RLock()
	var items []runtime.Object
	for _, o := range m.objs[r] {
		if namespace != "" && o.namespace != namespace {
			continue
		}
		acc, err := meta.Accessor(o.obj)
		if err != nil || !ls.Matches(labels.Set(acc.GetLabels())) || !fs.Matches(fieldsOf(o)) {
			continue
		}
		items = append(items, o.obj.DeepCopyObject())
		if opts.Limit > 0 && int64(len(items)) == opts.Limit {
			break
		}
	}
	m.mu.RUnlock()
	if err := meta.SetList(into, items); err != nil {
		return fmt.Errorf("k8s: list %s into %T: %w", r.Resource, into, err)
	}
	return nil
}

// supportedField reports whether the API server accepts field in a field
// selector on resource r: the fields fieldsOf sets for r's kind.
func supportedField(r schema.GroupVersionResource, field string) bool {
	var kind runtime.Object
	switch r {
	case resPods:
		kind = &corev1.Pod{}
	case resEvents:
		kind = &corev1.Event{}
	}
	_, ok := fieldsOf(memObject{obj: kind})[field]
	return ok
}

// fieldsOf returns the selectable fields of a stored object.
func fieldsOf(o memObject) fields.Set {
	set := fields.Set{"metadata.name": o.name, "metadata.namespace": o.namespace}
	switch x := o.obj.(type) {
	case *corev1.Pod:
		set["spec.nodeName"] = x.Spec.NodeName
		set["spec.restartPolicy"] = string(x.Spec.RestartPolicy)
		set["spec.schedulerName"] = x.Spec.SchedulerName
		set["spec.serviceAccountName"] = x.Spec.ServiceAccountName
		set["spec.hostNetwork"] = fmt.Sprint(x.Spec.HostNetwork)
		set["status.phase"] = string(x.Status.Phase)
		set["status.podIP"] = x.Status.PodIP
		set["status.nominatedNodeName"] = x.Status.NominatedNodeName
	case *corev1.Event:
		set["involvedObject.kind"] = x.InvolvedObject.Kind
		set["involvedObject.namespace"] = x.InvolvedObject.Namespace
		set["involvedObject.name"] = x.InvolvedObject.Name
		set["involvedObject.uid"] = string(x.InvolvedObject.UID)
		set["involvedObject.apiVersion"] = x.InvolvedObject.APIVersion
		set["involvedObject.resourceVersion"] = x.InvolvedObject.ResourceVersion
		set["involvedObject.fieldPath"] = x.InvolvedObject.FieldPath
		set["reason"] = x.Reason
		set["reportingComponent"] = x.ReportingController
		set["source"] = x.Source.Component
		set["type"] = x.Type
	}
	return set
}
