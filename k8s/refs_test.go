package k8s

import (
	"slices"
	"testing"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/kubernetes/fake"

	"github.com/k8flex/k8flex/investigate"
)

func TestCollectRefs(t *testing.T) {
	yes := true
	p := newPod("shop", "web-0", func(p *corev1.Pod) {
		p.Spec.Volumes = []corev1.Volume{
			{Name: "settings", VolumeSource: corev1.VolumeSource{ConfigMap: &corev1.ConfigMapVolumeSource{LocalObjectReference: corev1.LocalObjectReference{Name: "app-settings"}}}},
			{Name: "opt", VolumeSource: corev1.VolumeSource{ConfigMap: &corev1.ConfigMapVolumeSource{LocalObjectReference: corev1.LocalObjectReference{Name: "optional-one"}, Optional: &yes}}},
			{Name: "db", VolumeSource: corev1.VolumeSource{Secret: &corev1.SecretVolumeSource{SecretName: "db"}}},
		}
		p.Spec.Containers[0].EnvFrom = []corev1.EnvFromSource{{ConfigMapRef: &corev1.ConfigMapEnvSource{LocalObjectReference: corev1.LocalObjectReference{Name: "present"}}}}
	})
	cm := &corev1.ConfigMap{ObjectMeta: metav1.ObjectMeta{Namespace: "shop", Name: "present"}, Data: map[string]string{"k": "v"}}
	cs := fake.NewClientset(p, cm)
	g := NewGatherer(cs, Options{Logs: mapLogs{}})
	s, err := g.gather(t.Context(), investigate.Target{Kind: investigate.KindPod, Name: "web-0", Namespace: "shop", Pod: "web-0"}, investigate.PodCrash)
	if err != nil {
		t.Fatal(err)
	}
	if !slices.Equal(s.MissingRefs, []string{"configmap/shop/app-settings"}) {
		t.Errorf("MissingRefs = %v", s.MissingRefs)
	}
	if len(s.ConfigMaps) != 1 || s.ConfigMaps[0].Name != "present" {
		t.Errorf("ConfigMaps = %v", s.ConfigMaps)
	}
	for _, a := range cs.Actions() {
		if a.GetResource().Resource == "secrets" {
			t.Errorf("secrets must never be read: %v", a)
		}
	}
}
