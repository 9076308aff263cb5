package k8s

import (
	"context"
	"errors"
	"reflect"
	"slices"
	"testing"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/runtime/schema"

	"github.com/k8flex/k8flex/investigate"
)

func TestCollectStorage(t *testing.T) {
	class := "fast-ssd"
	p := newPod("msg", "rabbitmq-0", pending(), func(p *corev1.Pod) {
		p.Spec.Volumes = []corev1.Volume{
			{Name: "data", VolumeSource: corev1.VolumeSource{PersistentVolumeClaim: &corev1.PersistentVolumeClaimVolumeSource{ClaimName: "data-rabbitmq-0"}}},
			{Name: "gone", VolumeSource: corev1.VolumeSource{PersistentVolumeClaim: &corev1.PersistentVolumeClaimVolumeSource{ClaimName: "deleted"}}},
		}
	})
	pvc := &corev1.PersistentVolumeClaim{ObjectMeta: metav1.ObjectMeta{Namespace: "msg", Name: "data-rabbitmq-0"},
		Spec: corev1.PersistentVolumeClaimSpec{StorageClassName: &class}, Status: corev1.PersistentVolumeClaimStatus{Phase: corev1.ClaimPending}}
	s := gatherWith(t, []runtime.Object{p, pvc}, mapLogs{}, investigate.Target{Kind: investigate.KindPod, Name: "rabbitmq-0", Namespace: "msg", Pod: "rabbitmq-0"}, investigate.PodPending)
	want := []string{"pvc/msg/deleted", "storageclass/fast-ssd"}
	if !slices.Equal(s.MissingRefs, want) {
		t.Errorf("MissingRefs = %v, want %v", s.MissingRefs, want)
	}
	if len(s.PVCs) != 1 {
		t.Errorf("PVCs = %d, want 1", len(s.PVCs))
	}
}

// A real API server's empty list decodes to nil Items (protobuf and JSON
// alike); a claim in a namespace with no claim at all is missing all the
// same. A namespace whose claims could not be listed names none missing.
func TestCollectStorageEmptyNamespace(t *testing.T) {
	p := newPod("shop", "redis-cart-1", pending(), func(p *corev1.Pod) {
		p.Spec.Volumes = []corev1.Volume{{Name: "data",
			VolumeSource: corev1.VolumeSource{PersistentVolumeClaim: &corev1.PersistentVolumeClaimVolumeSource{ClaimName: "data-redis-cart-1"}}}}
	})
	target := investigate.Target{Kind: investigate.KindPod, Name: "redis-cart-1", Namespace: "shop", Pod: "redis-cart-1"}
	g := NewGatherer(nilEmptyLists{newMemory(t, p)}, Options{Logs: mapLogs{}})
	s, err := g.gather(context.Background(), target, investigate.PodPending)
	if err != nil {
		t.Fatal(err)
	}
	if want := []string{"pvc/shop/data-redis-cart-1"}; !slices.Equal(s.MissingRefs, want) {
		t.Errorf("MissingRefs = %v, want %v", s.MissingRefs, want)
	}

	rr := newRecordingReader(t, p)
	rr.failOn("list", "persistentvolumeclaims", func(context.Context) error {
		return apierrors.NewForbidden(resPVCs.GroupResource(), "", errors.New("no RBAC"))
	})
	s, err = NewGatherer(rr, Options{Logs: mapLogs{}}).gather(context.Background(), target, investigate.PodPending)
	if err != nil {
		t.Fatal(err)
	}
	if len(s.MissingRefs) != 0 {
		t.Errorf("MissingRefs = %v after a failed list, want none", s.MissingRefs)
	}
}

// nilEmptyLists is a Reader that answers an empty list with nil Items, as
// a list decoded from an API server's answer has.
type nilEmptyLists struct{ *Memory }

func (r nilEmptyLists) List(ctx context.Context, res schema.GroupVersionResource, ns string, opts metav1.ListOptions, into runtime.Object) error {
	if err := r.Memory.List(ctx, res, ns, opts, into); err != nil {
		return err
	}
	if items := reflect.ValueOf(into).Elem().FieldByName("Items"); items.IsValid() && items.Len() == 0 {
		items.Set(reflect.Zero(items.Type()))
	}
	return nil
}
