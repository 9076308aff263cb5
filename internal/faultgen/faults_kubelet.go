package faultgen

import (
	"fmt"
	"strings"
	"time"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/resource"
	"k8s.io/apimachinery/pkg/util/intstr"

	"github.com/k8flex/k8flex/investigate"
)

// setTemplate applies f to the app's pod templates (controller and current
// ReplicaSet) and to the given pods' specs.
func (a *app) setTemplate(f func(*corev1.PodSpec), pods ...*corev1.Pod) {
	if a.dep != nil {
		f(&a.dep.Spec.Template.Spec)
	}
	if a.rs != nil {
		f(&a.rs.Spec.Template.Spec)
	}
	if a.sts != nil {
		f(&a.sts.Spec.Template.Spec)
	}
	if a.ds != nil {
		f(&a.ds.Spec.Template.Spec)
	}
	for _, p := range pods {
		f(&p.Spec)
	}
}

// postStartHookFails gives the app's main container a postStart hook that
// fails: the kubelet kills the container after every start, so a healthy
// process restarts into CrashLoopBackOff.
func postStartHookFails(w *world, v variant) result {
	s := w.spec(v, kindDeployment, kindStatefulSet)
	a := w.buildApp(s)
	var hook corev1.LifecycleHandler
	var detail, want string
	if v.n%2 == 0 {
		script := pick(w.r, []string{"/opt/app/bin/register-instance.sh", "/usr/local/bin/warm-cache", "/app/scripts/post-start.sh"})
		hook.Exec = &corev1.ExecAction{Command: []string{"/bin/sh", "-c", script}}
		code := pick(w.r, []int{1, 2, 7, 22})
		want = script
		detail = fmt.Sprintf("Exec lifecycle hook ([/bin/sh -c %s]) for Container %q in Pod %%q failed - error: command '/bin/sh -c %s' exited with %d: , message: %q",
			script, s.name, script, code, pick(w.r, []string{"registration endpoint returned 409 Conflict\n", "cache seed file /data/seed.json: no such file\n", "error: upstream not reachable\n"}))
	} else {
		path := pick(w.r, []string{"/warmup", "/internal/prime", "/admin/preload"})
		hook.HTTPGet = &corev1.HTTPGetAction{Path: path, Port: intstr.FromInt32(s.port)}
		want = path
		detail = fmt.Sprintf("HTTP lifecycle hook (%s) for Container %q in Pod %%q failed - error: Get \"http://%%s:%d%s\": dial tcp %%s:%d: connect: connection refused",
			path, s.name, s.port, path, s.port)
	}
	a.setTemplate(func(ps *corev1.PodSpec) {
		ps.Containers[0].Lifecycle = &corev1.Lifecycle{PostStart: hook.DeepCopy()}
	}, a.pods...)
	since := w.between(20*time.Minute, 2*time.Hour)
	w.crashAll(a, restart{exitCode: 137, reason: "Error", ran: w.between(2*time.Second, 9*time.Second), count: int32(5 + w.r.Intn(12)), since: since}, func(p *corev1.Pod) []string {
		t := w.now.Add(-2 * time.Minute)
		return []string{fmt.Sprintf(`{"level":"info","ts":"%s","msg":"starting %s","version":"%s"}`, ts(t), s.name, s.version),
			fmt.Sprintf(`{"level":"info","ts":"%s","msg":"listening","addr":":%d"}`, ts(t.Add(1200*time.Millisecond)), s.port)}
	})
	for i, p := range a.pods {
		c := mainContainer(p)
		msg := fmt.Sprintf(detail, p.Name+"_"+p.Namespace+"("+string(p.UID)+")")
		if hook.HTTPGet != nil {
			msg = fmt.Sprintf(detail, p.Name+"_"+p.Namespace+"("+string(p.UID)+")", p.Status.PodIP, p.Status.PodIP)
		}
		if i == 0 {
			// The latest start's error is still the waiting state.
			status(p, c).State.Waiting.Reason, status(p, c).State.Waiting.Message = "PostStartHookError", msg
		}
		n := status(p, c).RestartCount
		w.event(p, ev{reason: "FailedPostStartHook", component: "kubelet", host: p.Spec.NodeName, fieldPath: fp(c), count: n + 1, first: since, last: w.between(20*time.Second, 3*time.Minute),
			message: "PostStartHook failed"})
		w.event(p, ev{typ: corev1.EventTypeNormal, reason: "Killing", component: "kubelet", host: p.Spec.NodeName, fieldPath: fp(c), count: n + 1, first: since, last: w.between(20*time.Second, 3*time.Minute),
			message: "FailedPostStartHook"})
	}
	return result{ns: s.ns, alerts: []alertDef{w.crashAlert(v, a, a.pods[0])},
		expect: expect(investigate.PodCrash, crashCat,
			fmt.Sprintf("The postStart hook (%s) of container %s in %s %s/%s fails, so the kubelet kills the container after every start.", want, s.name, s.kind, s.ns, s.name),
			g("poststart", "post-start", "post start"), g(want))}
}

// admissionRejected pins a Deployment's new revision to one node with
// spec.nodeName: the scheduler never checks it, and the kubelet refuses
// every new pod at admission because the node lacks the CPU or memory
// they request (OutOfcpu/OutOfmemory); the ReplicaSet keeps replacing them.
func admissionRejected(w *world, v variant) result {
	s := w.spec(v, kindDeployment)
	res := corev1.ResourceCPU
	if v.n%2 == 1 {
		res = corev1.ResourceMemory
	}
	s.cpuReq, s.memReq = pick(w.r, []string{"1500m", "2", "3"}), pick(w.r, []string{"6Gi", "8Gi", "12Gi"})
	a := w.buildApp(s)
	node := a.spec.nodes[0]
	since := w.between(20*time.Minute, 90*time.Minute)
	pods := a.rollout(func(*appSpec) {}, 1, since, true)
	n := 4 + w.r.Intn(6)
	for i := 1; i < n; i++ {
		pods = append(pods, a.addPod(a.rs.Name+"-"+w.alnum(5), a.rs.Spec.Template, "apps/v1", "ReplicaSet", a.rs.ObjectMeta, node, since-time.Duration(i)*40*time.Second))
	}
	a.setTemplate(func(ps *corev1.PodSpec) { ps.NodeName = node.Name }, pods...)
	alloc := node.Status.Allocatable[res]
	req := resource.MustParse(s.cpuReq)
	reason := "OutOfcpu"
	capa, reqN := alloc.MilliValue(), req.MilliValue()
	if res == corev1.ResourceMemory {
		reason, req = "OutOfmemory", resource.MustParse(s.memReq)
		capa, reqN = alloc.Value(), req.Value()
	}
	used := capa - reqN/2 - int64(w.r.Intn(int(reqN/4+1)))
	msg := fmt.Sprintf("Node didn't have enough resource: %s, requested: %d, used: %d, capacity: %d", res, reqN, used, capa)
	for i, p := range pods {
		ago := since - time.Duration(i)*40*time.Second
		p.Status = corev1.PodStatus{Phase: corev1.PodFailed, Reason: reason, Message: "Pod was rejected: " + msg, QOSClass: p.Status.QOSClass}
		w.event(p, ev{reason: reason, component: "kubelet", host: node.Name, message: msg, last: ago})
	}
	e := expect(investigate.PodPending, cats{investigate.PodCrash, investigate.PodRestart, investigate.ServiceDown},
		fmt.Sprintf("The kubelet on %s rejects every new pod of %s/%s (%s): spec.nodeName pins them to a node without enough free %s.", node.Name, s.ns, s.name, reason, res),
		g(node.Name), g(strings.ToLower(reason), "not enough "+string(res), "insufficient "+string(res)), g("nodename", "bypass", "pins"))
	return result{ns: s.ns, alerts: []alertDef{w.workloadAlert(a, v.n%2 == 0)}, expect: e}
}
