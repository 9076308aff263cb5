package k8s

import (
	"strings"
	"testing"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/resource"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
)

func annotated(k, v string) podOpt {
	return func(p *corev1.Pod) {
		if p.Annotations == nil {
			p.Annotations = map[string]string{}
		}
		p.Annotations[k] = v
	}
}

func memDefaultLimitRange(ns, name, def string) corev1.LimitRange {
	return corev1.LimitRange{ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: name},
		Spec: corev1.LimitRangeSpec{Limits: []corev1.LimitRangeItem{{Type: corev1.LimitTypeContainer,
			Default: corev1.ResourceList{corev1.ResourceMemory: resource.MustParse(def)}}}}}
}

func TestLimitRangerSet(t *testing.T) {
	p := newPod("a", "p", annotated(limitRangerAnnotation, "LimitRanger plugin set: cpu, memory request for container app; memory limit for container app; cpu limit for init container setup"))
	for _, tt := range []struct {
		container string
		res       corev1.ResourceName
		kind      string
		want      bool
	}{
		{"app", corev1.ResourceMemory, "limit", true},
		{"app", corev1.ResourceCPU, "limit", false},
		{"app", corev1.ResourceCPU, "request", true},
		{"setup", corev1.ResourceCPU, "limit", true},
		{"setup", corev1.ResourceMemory, "limit", false},
		{"ap", corev1.ResourceMemory, "limit", false},
	} {
		if got := limitRangerSet(p, tt.container, tt.res, tt.kind); got != tt.want {
			t.Errorf("limitRangerSet(%s, %s, %s) = %v, want %v", tt.container, tt.res, tt.kind, got, tt.want)
		}
	}
	if limitRangerSet(newPod("a", "q"), "app", corev1.ResourceMemory, "limit") {
		t.Error("a pod without the annotation has no injected limit")
	}
}

// An OOM kill under a limit a LimitRange default injected names the
// LimitRange, for the plain OOM rule and for the JVM heap rule; a limit
// the spec set itself (only the request defaulted) does not.
func TestOOMUnderLimitRangeDefault(t *testing.T) {
	lr := memDefaultLimitRange("shop", "container-defaults", "256Mi")
	cases := []struct {
		name, rule string
		opts       []podOpt
		want       []string
		not        []string
	}{
		{name: "plain OOM, memory limit defaulted", rule: "oom-killed",
			opts: []podOpt{oomKilled("256Mi"), annotated(limitRangerAnnotation, "LimitRanger plugin set: memory request for container app; memory limit for container app")},
			want: []string{"OOMKilled", "256Mi", "LimitRange shop/container-defaults", "default memory 256Mi"}},
		{name: "JVM heap above a defaulted limit", rule: "oom-jvm-heap",
			opts: []podOpt{oomKilled("256Mi"), env("JAVA_TOOL_OPTIONS", "-Xmx1g"), annotated(limitRangerAnnotation, "LimitRanger plugin set: cpu, memory limit for container app")},
			want: []string{"-Xmx1g", "LimitRange shop/container-defaults"}},
		{name: "only the request was defaulted", rule: "oom-killed",
			opts: []podOpt{oomKilled("256Mi"), annotated(limitRangerAnnotation, "LimitRanger plugin set: memory request for container app")},
			want: []string{"OOMKilled"}, not: []string{"LimitRange"}},
		{name: "another container's limit was defaulted", rule: "oom-killed",
			opts: []podOpt{oomKilled("256Mi"), annotated(limitRangerAnnotation, "LimitRanger plugin set: memory limit for container sidecar")},
			want: []string{"OOMKilled"}, not: []string{"LimitRange"}},
	}
	for _, tt := range cases {
		t.Run(tt.name, func(t *testing.T) {
			s := &Snapshot{Pods: []corev1.Pod{*newPod("shop", "api-0", tt.opts...)}, LimitRanges: []corev1.LimitRange{lr}}
			var sum string
			for _, f := range s.Diagnose() {
				if f.Rule == tt.rule {
					sum = f.Summary + "\n" + strings.Join(f.Proof, "\n")
				}
			}
			if sum == "" {
				t.Fatalf("no %s finding", tt.rule)
			}
			checkContains(t, "summary", []string{sum}, tt.want)
			for _, n := range tt.not {
				if strings.Contains(sum, n) {
					t.Errorf("summary names %q although the spec set the limit:\n%s", n, sum)
				}
			}
		})
	}
}
