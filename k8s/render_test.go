package k8s

import (
	"reflect"
	"regexp"
	"strings"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/runtime"

	"github.com/k8flex/k8flex/investigate"
)

func TestEvidenceRender(t *testing.T) {
	t0 := time.Date(2026, 11, 19, 13, 0, 0, 0, time.UTC)
	p := newPod("shop", "web-0", crashLooping(7), func(p *corev1.Pod) {
		p.Spec.Containers[0].Env = []corev1.EnvVar{
			{Name: "DB_URL", Value: "postgres://app:hunter2secret@db:5432/app"},
			{Name: "DB_PASSWORD", ValueFrom: &corev1.EnvVarSource{SecretKeyRef: &corev1.SecretKeySelector{LocalObjectReference: corev1.LocalObjectReference{Name: "db"}, Key: "password"}}},
		}
	})
	var big strings.Builder
	for i := 0; i < 400; i++ {
		big.WriteString("line " + strings.Repeat("x", i%50) + string(rune('a'+i%26)) + "\n")
	}
	big.WriteString("AKIAIOSFODNN7EXAMPLE final line\n")
	objs := []runtime.Object{p, newEvent("shop", "e1", "Pod", "shop", "web-0", "BackOff", t0)}
	s := gatherWith(t, objs, mapLogs{"shop/web-0/app": big.String(), "shop/web-0/app/previous": "crash: exit 1"},
		investigate.Target{Kind: investigate.KindPod, Name: "web-0", Namespace: "shop", Pod: "web-0"}, investigate.PodCrash)
	s.Budget = Budget{SectionBytes: 1500, TotalBytes: 3000, LogLines: 100}
	ev := s.Evidence()
	if !reflect.DeepEqual(ev, s.Evidence()) {
		t.Fatal("Evidence is not deterministic")
	}
	if ev.Size() > 3000 {
		t.Errorf("evidence %d bytes exceeds the total budget", ev.Size())
	}
	all := ""
	prev := -1
	for _, sec := range ev.Sections {
		if len(sec.Body) > 1500 {
			t.Errorf("section %s is %d bytes, over the section budget", sec.Name, len(sec.Body))
		}
		if sec.Priority < prev {
			t.Errorf("sections out of priority order at %s", sec.Name)
		}
		prev = sec.Priority
		all += sec.Body + "\n"
	}
	if ev.Sections[0].Name != "pod/shop/web-0" {
		t.Errorf("first section %s, want the pod description", ev.Sections[0].Name)
	}
	for _, leak := range []string{"AKIAIOSFODNN7EXAMPLE"} {
		if strings.Contains(all, leak) {
			t.Errorf("evidence leaks %q", leak)
		}
	}
	for _, want := range []string{"exit code 1", "Restart count: 7", "<secret db key password>", "2026-11-19T13:00:00Z", "final line"} {
		if !strings.Contains(all, want) {
			t.Errorf("evidence lacks %q", want)
		}
	}
	if regexp.MustCompile(`\b\d+[smhd] ago\b`).MatchString(all) {
		t.Error("evidence uses relative timestamps")
	}
}
