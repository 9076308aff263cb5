package k8s

import (
	"testing"

	corev1 "k8s.io/api/core/v1"
)

func TestDiagnoseAppErrors(t *testing.T) {
	failing := func(msg string) podOpt {
		return func(p *corev1.Pod) {
			crashLooping(4)(p)
			p.Status.ContainerStatuses[0].LastTerminationState.Terminated.Message = msg
		}
	}
	logged := func(ns, pod string, lines ...string) []ContainerLog {
		return []ContainerLog{{Namespace: ns, Pod: pod, Container: "app", Previous: true, Lines: lines}}
	}
	node := corev1.Node{Status: corev1.NodeStatus{NodeInfo: corev1.NodeSystemInfo{Architecture: "amd64"}}}
	node.Name = "node-1"
	yes := true
	uid := int64(10001)
	cases := []ruleCase{
		{name: "exec format error names the image and the node's architecture", rule: "app-exec-format",
			snap: func() *Snapshot {
				return &Snapshot{Pods: []corev1.Pod{*newPod("fx", "rates-1", crashLooping(3))}, Nodes: []corev1.Node{node},
					Logs: logged("fx", "rates-1", "exec /usr/local/bin/rates: exec format error")}
			},
			summary: []string{"image app:1", "node-1 is amd64", "another CPU architecture"}},
		{name: "runtime cannot find the command", rule: "app-exec-not-found",
			snap: func() *Snapshot {
				return &Snapshot{Pods: []corev1.Pod{*newPod("etl", "load-1", failing(`failed to create containerd task: exec: "pyhton3": executable file not found in $PATH: unknown`),
					func(p *corev1.Pod) { p.Spec.Containers[0].Command = []string{"pyhton3", "/app/load.py"} })}}
			},
			summary: []string{`"pyhton3"`, "the command in its spec", "image app:1"}},
		{name: "ServiceAccount forbidden by RBAC", rule: "app-rbac-forbidden",
			snap: func() *Snapshot {
				return &Snapshot{Pods: []corev1.Pod{*newPod("ops", "reaper-1", crashLooping(2))},
					Logs: logged("ops", "reaper-1", `Error from server (Forbidden): pods is forbidden: User "system:serviceaccount:ops:reaper" cannot list resource "pods" in API group "" in the namespace "batch"`)}
			},
			summary: []string{"ServiceAccount ops/reaper", "list pods in namespace batch", "403"}},
		{name: "RBAC refusal inside a JSON error body", rule: "app-rbac-forbidden",
			snap: func() *Snapshot {
				return &Snapshot{Pods: []corev1.Pod{*newPod("ops", "reaper-1", crashLooping(2))},
					Logs: logged("ops", "reaper-1", `HTTP response body: {"kind":"Status","message":"pods is forbidden: User \"system:serviceaccount:ops:reaper\" cannot delete resource \"pods\" in API group \"\" in the namespace \"web\"","code":403}`, "ERROR aborting")}
			},
			summary: []string{"ServiceAccount ops/reaper", "delete pods in namespace web"}},
		{name: "expired certificate with its date", rule: "app-tls-certificate",
			snap: func() *Snapshot {
				return &Snapshot{Pods: []corev1.Pod{*newPod("pay", "gw-1", crashLooping(2))},
					Logs: logged("pay", "gw-1", `FATAL tls: failed to verify certificate: x509: certificate has expired or is not yet valid: current time 2026-03-02T10:00:00Z is after 2026-03-01T00:00:00Z`)}
			},
			summary: []string{"expired", "2026-03-01T00:00:00Z"}},
		{name: "a certificate not yet valid: the node's clock is behind", rule: "app-tls-certificate",
			snap: func() *Snapshot {
				return &Snapshot{Pods: []corev1.Pod{*newPod("pay", "gw-1", crashLooping(2))},
					Logs: logged("pay", "gw-1", `tls: failed to verify certificate: x509: certificate has expired or is not yet valid: current time 2026-05-06T02:28:48Z is before 2026-05-06T07:40:00Z`)}
			},
			summary: []string{"not yet valid", "before the certificate's notBefore 2026-05-06T07:40:00Z", "clock of its node node-1 is behind"}},
		{name: "missing environment variable not in the spec", rule: "app-missing-env",
			snap: func() *Snapshot {
				return &Snapshot{Pods: []corev1.Pod{*newPod("shop", "cart-1", crashLooping(5))},
					Logs: logged("shop", "cart-1", "starting cart", "FATAL: environment variable CART_REDIS_URL is not set")}
			},
			summary: []string{"Environment variable CART_REDIS_URL is not set in container app"}},
		{name: "variable present in the spec but empty", rule: "app-missing-env",
			snap: func() *Snapshot {
				return &Snapshot{Pods: []corev1.Pod{*newPod("shop", "cart-1", crashLooping(5), env("CART_REDIS_URL", ""))},
					Logs: logged("shop", "cart-1", "panic: CART_REDIS_URL must be set")}
			},
			summary: []string{"CART_REDIS_URL", "set but empty"}},
		{name: "permission denied on a read-only root file system", rule: "app-permission-denied",
			snap: func() *Snapshot {
				return &Snapshot{Pods: []corev1.Pod{*newPod("cms", "web-1", crashLooping(5), func(p *corev1.Pod) {
					p.Spec.Containers[0].SecurityContext = &corev1.SecurityContext{ReadOnlyRootFilesystem: &yes, RunAsUser: &uid}
				})}, Logs: logged("cms", "web-1", `mkdir /var/cache/nginx/client_temp: permission denied`)}
			},
			summary: []string{"/var/cache/nginx/client_temp", "readOnlyRootFilesystem: true", "runAsUser: 10001"}},
		{name: "a healthy container that logs nothing of the kind", rule: "",
			snap: func() *Snapshot {
				return &Snapshot{Pods: []corev1.Pod{*newPod("shop", "cart-1")},
					Logs: []ContainerLog{{Namespace: "shop", Pod: "cart-1", Container: "app", Lines: []string{"GET /health 200"}}}}
			}},
	}
	runRuleCases(t, []string{"app-"}, cases)
}

func TestDiagnosePullAuth(t *testing.T) {
	pulling := func(p *corev1.Pod) {
		p.Spec.Containers[0].Image = "registry.example.org/team/tool:1.2"
		p.Status.Phase = corev1.PodPending
		p.Status.ContainerStatuses = []corev1.ContainerStatus{{Name: "app", State: corev1.ContainerState{Waiting: &corev1.ContainerStateWaiting{
			Reason: "ImagePullBackOff", Message: `Back-off pulling image "registry.example.org/team/tool:1.2"`}}}}
	}
	withSecret := func(name string) podOpt {
		return func(p *corev1.Pod) { p.Spec.ImagePullSecrets = []corev1.LocalObjectReference{{Name: name}} }
	}
	ev := func(reason, msg string) corev1.Event {
		return corev1.Event{InvolvedObject: corev1.ObjectReference{Kind: "Pod", Namespace: "data", Name: "tool-1"}, Reason: reason, Type: "Warning", Message: msg}
	}
	denied := ev("Failed", `Failed to pull image "registry.example.org/team/tool:1.2": pull access denied, repository does not exist or may require authorization: server message: unauthorized: authentication required`)
	runRuleCases(t, []string{"image-pull"}, []ruleCase{
		{name: "named pull secret missing", rule: "image-pull",
			snap: func() *Snapshot {
				return &Snapshot{Pods: []corev1.Pod{*newPod("data", "tool-1", pulling, withSecret("reg-creds"))},
					Events: []corev1.Event{denied, ev("FailedToRetrieveImagePullSecret", "Unable to retrieve some image pull secrets (reg-creds); attempting to pull the image may not succeed.")}}
			},
			summary: []string{"imagePullSecret reg-creds does not exist in namespace data"}},
		{name: "no pull secret at all", rule: "image-pull",
			snap: func() *Snapshot {
				return &Snapshot{Pods: []corev1.Pod{*newPod("data", "tool-1", pulling)}, Events: []corev1.Event{denied}}
			},
			summary: []string{"no imagePullSecrets", "anonymous"}},
		{name: "secret present but refused", rule: "image-pull",
			snap: func() *Snapshot {
				return &Snapshot{Pods: []corev1.Pod{*newPod("data", "tool-1", pulling, withSecret("reg-creds"))}, Events: []corev1.Event{denied}}
			},
			summary: []string{"names imagePullSecrets reg-creds", "do not grant access"}},
	})
}
