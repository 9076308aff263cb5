package k8s

import (
	"slices"
	"strings"
	"testing"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"

	"github.com/k8flex/k8flex/investigate"
)

func cmVolume(name, cm string, optional bool) corev1.Volume {
	v := corev1.Volume{Name: name, VolumeSource: corev1.VolumeSource{ConfigMap: &corev1.ConfigMapVolumeSource{LocalObjectReference: corev1.LocalObjectReference{Name: cm}}}}
	if optional {
		v.ConfigMap.Optional = &optional
	}
	return v
}

func TestCollectRefs(t *testing.T) {
	p := newPod("shop", "web-0", withLabels("app", "web"), func(p *corev1.Pod) {
		p.Spec.Volumes = []corev1.Volume{
			cmVolume("settings", "app-settings", false),
			cmVolume("opt", "optional-one", true),
			{Name: "db", VolumeSource: corev1.VolumeSource{Secret: &corev1.SecretVolumeSource{SecretName: "db"}}},
		}
		p.Spec.Containers[0].EnvFrom = []corev1.EnvFromSource{{ConfigMapRef: &corev1.ConfigMapEnvSource{LocalObjectReference: corev1.LocalObjectReference{Name: "present"}}}}
	})
	cm := &corev1.ConfigMap{ObjectMeta: metav1.ObjectMeta{Namespace: "shop", Name: "present"}, Data: map[string]string{"k": "v"}}
	api := newRecordingReader(t, p, cm)
	g := NewGatherer(api, Options{Logs: mapLogs{}})
	s, err := g.gather(t.Context(), investigate.Target{Kind: investigate.KindPod, Name: "web-0", Namespace: "shop", Pod: "web-0"}, investigate.PodCrash)
	if err != nil {
		t.Fatal(err)
	}
	if want := []string{"configmap/shop/app-settings", "configmap/shop/optional-one (optional)"}; !slices.Equal(s.MissingRefs, want) {
		t.Errorf("MissingRefs = %q, want %q", s.MissingRefs, want)
	}
	if len(s.ConfigMaps) != 1 || s.ConfigMaps[0].Name != "present" {
		t.Errorf("ConfigMaps = %v", s.ConfigMaps)
	}
	reads := api.recorded()
	if len(reads) == 0 {
		t.Fatal("no read recorded")
	}
	for _, a := range reads {
		if a.resource.Resource == "secrets" {
			t.Errorf("secrets must never be read: %+v", a)
		}
	}
}

// TestCollectRefsOptionalAcrossPods checks that a ConfigMap is recorded as
// optional only when no investigated pod requires it.
func TestCollectRefsOptionalAcrossPods(t *testing.T) {
	for _, tt := range []struct {
		name       string
		optA, optB bool
		want       string
	}{
		{"both optional", true, true, "configmap/shop/cfg (optional)"},
		{"first optional, second required", true, false, "configmap/shop/cfg"},
		{"first required, second optional", false, true, "configmap/shop/cfg"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			mk := func(name string, opt bool) *corev1.Pod {
				return newPod("shop", name, withLabels("app", "web"), func(p *corev1.Pod) {
					p.Spec.Volumes = []corev1.Volume{cmVolume("cfg", "cfg", opt)}
				})
			}
			svc := &corev1.Service{ObjectMeta: metav1.ObjectMeta{Namespace: "shop", Name: "web"}, Spec: corev1.ServiceSpec{Selector: map[string]string{"app": "web"}}}
			objs := []runtime.Object{mk("web-a", tt.optA), mk("web-b", tt.optB), svc}
			s := gatherWith(t, objs, mapLogs{}, investigate.Target{Kind: investigate.KindService, Namespace: "shop", Name: "web", Service: "web"}, investigate.PodCrash)
			if len(s.Pods) < 2 {
				t.Fatalf("the service's two pods were not both investigated: %v", podNames(s.Pods))
			}
			if !slices.Equal(s.MissingRefs, []string{tt.want}) {
				t.Errorf("MissingRefs = %q, want [%q]", s.MissingRefs, tt.want)
			}
		})
	}
}

func TestParseMissingRef(t *testing.T) {
	for _, tt := range []struct {
		name, entry, ref string
		optional         bool
	}{
		{"required", "configmap/shop/a", "configmap/shop/a", false},
		{"optional", "configmap/shop/a (optional)", "configmap/shop/a", true},
		{"service", "service/shop/db", "service/shop/db", false},
	} {
		t.Run(tt.name, func(t *testing.T) {
			ref, opt := parseMissingRef(tt.entry)
			if ref != tt.ref || opt != tt.optional {
				t.Errorf("parseMissingRef(%q) = %q, %v", tt.entry, ref, opt)
			}
		})
	}
}

// The ServiceAccounts named by the pods and by the workload's pod template
// are checked by name: a Deployment whose template names a missing one
// (it cannot create pods) records it in MissingRefs. A namespace without
// the "default" ServiceAccount (a recording that kept none) is not judged.
func TestCollectServiceAccounts(t *testing.T) {
	sa := func(name string) *corev1.ServiceAccount {
		return &corev1.ServiceAccount{ObjectMeta: metav1.ObjectMeta{Namespace: "shop", Name: name}}
	}
	dep := newDeployment("shop", "worker", map[string]string{"app": "worker"})
	dep.Spec.Template.Labels = map[string]string{"app": "worker"}
	dep.Spec.Template.Spec.ServiceAccountName = "queue-runner"
	web := newPod("shop", "web-0", withLabels("app", "web"), func(p *corev1.Pod) { p.Spec.ServiceAccountName = "web" })
	for _, tt := range []struct {
		name   string
		objs   []runtime.Object
		target investigate.Target
		want   []string
	}{
		{"template names a missing account", []runtime.Object{dep, sa("default"), sa("web")},
			investigate.Target{Kind: investigate.KindDeployment, Name: "worker", Namespace: "shop", Workload: investigate.Ref{Kind: investigate.KindDeployment, Name: "worker"}},
			[]string{"serviceaccount/shop/queue-runner"}},
		{"pod's account exists", []runtime.Object{web, sa("default"), sa("web")},
			investigate.Target{Kind: investigate.KindPod, Name: "web-0", Namespace: "shop", Pod: "web-0"}, nil},
		{"pod's account is missing", []runtime.Object{web, sa("default")},
			investigate.Target{Kind: investigate.KindPod, Name: "web-0", Namespace: "shop", Pod: "web-0"}, []string{"serviceaccount/shop/web"}},
		{"no account recorded in the namespace", []runtime.Object{dep},
			investigate.Target{Kind: investigate.KindDeployment, Name: "worker", Namespace: "shop", Workload: investigate.Ref{Kind: investigate.KindDeployment, Name: "worker"}},
			nil},
	} {
		t.Run(tt.name, func(t *testing.T) {
			s := gatherWith(t, tt.objs, mapLogs{}, tt.target, investigate.PodPending)
			var got []string
			for _, m := range s.MissingRefs {
				if strings.HasPrefix(m, "serviceaccount/") {
					got = append(got, m)
				}
			}
			if !slices.Equal(got, tt.want) {
				t.Errorf("missing service accounts = %v, want %v", got, tt.want)
			}
		})
	}
}
