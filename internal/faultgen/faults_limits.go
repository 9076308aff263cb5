package faultgen

import (
	"fmt"
	"strings"
	"time"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/resource"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/k8flex/k8flex/investigate"
)

// oomLimitRangeDefault: the workload's template sets no memory limit; the
// namespace's LimitRange default fills one in at admission (the pods carry
// the LimitRanger plugin's kubernetes.io/limit-ranger annotation), and the
// container is OOMKilled at that default. Even variants run a JVM whose
// fixed -Xmx exceeds the default; odd ones a plain process. A second
// LimitRange in another namespace is a red herring.
func oomLimitRangeDefault(w *world, v variant) result {
	s := w.spec(v, kindDeployment, kindStatefulSet)
	def := pick(w.r, []string{"256Mi", "384Mi", "512Mi"})
	s.memLim, s.memReq = "", ""
	jvm := v.n%2 == 0
	heap := ""
	if jvm {
		heap = pick(w.r, []string{"-Xmx1g", "-Xmx1536m", "-Xmx2g"})
		s.env = append(s.env, corev1.EnvVar{Name: "JAVA_TOOL_OPTIONS", Value: "-Xms512m " + heap + " -XX:+UseG1GC"})
	}
	name := pick(w.r, []string{"container-defaults", "default-resources", s.ns + "-defaults"})
	defQ := resource.MustParse(def)
	w.add(&corev1.LimitRange{TypeMeta: metav1.TypeMeta{APIVersion: "v1", Kind: "LimitRange"}, ObjectMeta: w.meta(s.ns, name, nil, w.between(3*24*time.Hour, 60*24*time.Hour)),
		Spec: corev1.LimitRangeSpec{Limits: []corev1.LimitRangeItem{{Type: corev1.LimitTypeContainer,
			Default:        corev1.ResourceList{corev1.ResourceMemory: defQ, corev1.ResourceCPU: resource.MustParse("500m")},
			DefaultRequest: corev1.ResourceList{corev1.ResourceMemory: resource.MustParse("128Mi"), corev1.ResourceCPU: resource.MustParse("100m")}}}}})
	a := w.buildApp(s)
	since := w.between(30*time.Minute, 3*time.Hour)
	for _, p := range a.pods {
		for i := range p.Spec.Containers {
			c := &p.Spec.Containers[i]
			if c.Resources.Limits == nil {
				c.Resources.Limits = corev1.ResourceList{}
			}
			if c.Resources.Requests == nil {
				c.Resources.Requests = corev1.ResourceList{}
			}
			c.Resources.Limits[corev1.ResourceMemory] = defQ
			c.Resources.Requests[corev1.ResourceMemory] = resource.MustParse("128Mi")
		}
		if p.Annotations == nil {
			p.Annotations = map[string]string{}
		}
		c := mainContainer(p)
		p.Annotations["kubernetes.io/limit-ranger"] = fmt.Sprintf("LimitRanger plugin set: memory request for container %s; memory limit for container %s", c, c)
		w.crashLoop(p, c, restart{exitCode: 137, reason: "OOMKilled", ran: w.between(40*time.Second, 6*time.Minute), count: int32(5 + w.r.Intn(10)), since: since})
		t := w.now.Add(-10 * time.Minute)
		var lines []string
		for j := 0; j < 5; j++ {
			t = t.Add(w.between(5*time.Second, 40*time.Second))
			lines = append(lines, fmt.Sprintf("%s INFO loader: loaded segment %d (%d records)", ts(t), j+1, 20000+w.r.Intn(40000)))
		}
		w.log(s.ns, p.Name, c, true, lines...)
	}
	summary := fmt.Sprintf("%s %s/%s sets no memory limit; LimitRange %s/%s injects its default of %s, and the container is OOMKilled at it.", s.kind, s.ns, s.name, s.ns, name, def)
	if jvm {
		summary = fmt.Sprintf("%s %s/%s sets no memory limit; LimitRange %s/%s injects %s, below its JVM heap %s, so it is OOMKilled.", s.kind, s.ns, s.name, s.ns, name, def, heap)
	}
	return result{ns: s.ns, alerts: []alertDef{w.crashLooping(a.pods[0], mainContainer(a.pods[0]))},
		expect: expect(investigate.OOMKilled, cats{investigate.PodCrash, investigate.PodRestart}, summary,
			g("oomkilled", "oom-killed", "oom killed", "out of memory"), g("limitrange", "limit range"), g(name), g(strings.ToLower(def)))}
}
