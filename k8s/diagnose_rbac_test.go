package k8s

import (
	"strings"
	"testing"

	corev1 "k8s.io/api/core/v1"
	rbacv1 "k8s.io/api/rbac/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
)

func roleBinding(ns, name, roleKind, role string, subs ...rbacv1.Subject) rbacv1.RoleBinding {
	return rbacv1.RoleBinding{ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: name},
		RoleRef: rbacv1.RoleRef{APIGroup: rbacv1.GroupName, Kind: roleKind, Name: role}, Subjects: subs}
}

func saSubject(ns, name string) rbacv1.Subject {
	return rbacv1.Subject{Kind: rbacv1.ServiceAccountKind, Namespace: ns, Name: name}
}

func rule(group, resource string, verbs ...string) rbacv1.PolicyRule {
	return rbacv1.PolicyRule{APIGroups: []string{group}, Resources: []string{resource}, Verbs: verbs}
}

func forbiddenSnap(line string, st *RBACState) func() *Snapshot {
	return func() *Snapshot {
		return &Snapshot{Pods: []corev1.Pod{*newPod("ops", "runner-1", crashLooping(2), func(p *corev1.Pod) { p.Spec.ServiceAccountName = "runner" })},
			Logs: rbacLogged("ops", "runner-1", line), RBAC: st}
	}
}

func TestRBACAuditRule(t *testing.T) {
	patchDeploy := `Error from server (Forbidden): deployments.apps "web" is forbidden: User "system:serviceaccount:ops:runner" cannot patch resource "deployments" in API group "apps" in the namespace "shop"`
	listNodes := `E0101 reflector.go:147] failed to list *v1.Node: nodes is forbidden: User "system:serviceaccount:ops:runner" cannot list resource "nodes" in API group "" at the cluster scope`
	deployRole := rbacv1.Role{ObjectMeta: metav1.ObjectMeta{Namespace: "shop", Name: "restarter"}, Rules: []rbacv1.PolicyRule{rule("apps", "deployments", "get", "patch")}}
	cases := []ruleCase{
		{name: "RoleBinding names the ServiceAccount of another namespace", rule: "app-rbac-forbidden",
			snap: forbiddenSnap(patchDeploy, &RBACState{Listed: []string{"shop"}, ClusterListed: true,
				Roles:        []rbacv1.Role{deployRole},
				RoleBindings: []rbacv1.RoleBinding{roleBinding("shop", "runner-restarts", "Role", "restarter", saSubject("legacy", "runner"))}}),
			summary: []string{"RoleBinding shop/runner-restarts", "Role restarter", "ServiceAccount legacy/runner", "namespace is legacy, not ops"}},
		{name: "ClusterRoleBinding names another ServiceAccount of the namespace", rule: "app-rbac-forbidden",
			snap: forbiddenSnap(listNodes, &RBACState{ClusterListed: true,
				ClusterRoles: []rbacv1.ClusterRole{{ObjectMeta: metav1.ObjectMeta{Name: "node-reader"}, Rules: []rbacv1.PolicyRule{rule("", "nodes", "get", "list", "watch")}}},
				ClusterRoleBindings: []rbacv1.ClusterRoleBinding{{ObjectMeta: metav1.ObjectMeta{Name: "node-readers"},
					RoleRef: rbacv1.RoleRef{Kind: "ClusterRole", Name: "node-reader"}, Subjects: []rbacv1.Subject{saSubject("ops", "runner-v1")}}}}),
			summary: []string{"ClusterRoleBinding node-readers", "ServiceAccount ops/runner-v1", "name is runner-v1, not runner"}},
		{name: "binding refers to a Role that does not exist", rule: "app-rbac-forbidden",
			snap: forbiddenSnap(patchDeploy, &RBACState{Listed: []string{"shop"}, ClusterListed: true,
				RoleBindings: []rbacv1.RoleBinding{roleBinding("shop", "runner", "Role", "restarter", rbacv1.Subject{Kind: rbacv1.ServiceAccountKind, Name: "runner", Namespace: "ops"})}}),
			summary: []string{"RoleBinding shop/runner binds ServiceAccount ops/runner to Role restarter, which does not exist"}},
		{name: "bound Role lacks the verb (resourceNames shown)", rule: "app-rbac-forbidden",
			snap: forbiddenSnap(patchDeploy, &RBACState{Listed: []string{"shop"}, ClusterListed: true,
				Roles: []rbacv1.Role{{ObjectMeta: metav1.ObjectMeta{Namespace: "shop", Name: "viewer"},
					Rules: []rbacv1.PolicyRule{{APIGroups: []string{"apps"}, Resources: []string{"deployments"}, Verbs: []string{"get", "patch"}, ResourceNames: []string{"api"}}}}},
				RoleBindings: []rbacv1.RoleBinding{roleBinding("shop", "runner-view", "Role", "viewer", saSubject("ops", "runner"))}}),
			summary: []string{"Role viewer, which does not grant patch deployments.apps web", "only get, patch on deployments.apps, only api"}},
		{name: "nothing names the ServiceAccount", rule: "app-rbac-forbidden",
			snap: forbiddenSnap(patchDeploy, &RBACState{Listed: []string{"shop"}, ClusterListed: true,
				Roles:        []rbacv1.Role{deployRole},
				RoleBindings: []rbacv1.RoleBinding{roleBinding("shop", "ci", "Role", "restarter", rbacv1.Subject{Kind: rbacv1.UserKind, Name: "ci-bot"})}}),
			summary: []string{"no RoleBinding in namespace shop names ServiceAccount ops/runner"}},
		{name: "no denial logged: no finding", rule: "",
			snap: func() *Snapshot {
				return &Snapshot{Pods: []corev1.Pod{*newPod("ops", "runner-1", crashLooping(2))},
					Logs: rbacLogged("ops", "runner-1", "patched deployment shop/web", "panic: nil map"),
					RBAC: &RBACState{Listed: []string{"shop"}, RoleBindings: []rbacv1.RoleBinding{roleBinding("shop", "x", "Role", "restarter", saSubject("legacy", "runner"))}}}
			}},
	}
	runRuleCases(t, []string{"app-rbac"}, cases)
}

// A binding that grants the request to the ServiceAccount leaves nothing
// for the audit to explain; no bindings read is no verdict either.
func TestRBACAuditNoClaim(t *testing.T) {
	q := rbacQuery{SANamespace: "ops", SA: "runner", Verb: "patch", Group: "apps", Resource: "deployments", Name: "web", Namespace: "shop"}
	granted := &Snapshot{RBAC: &RBACState{Listed: []string{"shop"},
		Roles:        []rbacv1.Role{{ObjectMeta: metav1.ObjectMeta{Namespace: "shop", Name: "r"}, Rules: []rbacv1.PolicyRule{rule("apps", "*", "*")}}},
		RoleBindings: []rbacv1.RoleBinding{roleBinding("shop", "b", "Role", "r", rbacv1.Subject{Kind: rbacv1.GroupKind, Name: "system:serviceaccounts:ops"})}}}
	if c, _, ok := granted.rbacAudit(q); ok {
		t.Errorf("binding grants the request through the namespace's ServiceAccount group, yet audit says %q", c)
	}
	if c, _, ok := (&Snapshot{RBAC: &RBACState{Listed: []string{"shop"}}}).rbacAudit(q); ok {
		t.Errorf("no binding read, yet audit says %q", c)
	}
}

func TestForbiddenQueries(t *testing.T) {
	logs := rbacLogged("ops", "runner-1",
		`Error from server (Forbidden): deployments.apps "web" is forbidden: User "system:serviceaccount:ops:runner" cannot patch resource "deployments" in API group "apps" in the namespace "shop"`,
		`nodes is forbidden: User "system:serviceaccount:ops:runner" cannot list resource "nodes" in API group "" at the cluster scope`,
		"unrelated line")
	qs := forbiddenQueries(nil, logs)
	want := []rbacQuery{
		{SANamespace: "ops", SA: "runner", Verb: "patch", Group: "apps", Resource: "deployments", Name: "web", Namespace: "shop"},
		{SANamespace: "ops", SA: "runner", Verb: "list", Resource: "nodes"},
	}
	if len(qs) != len(want) {
		t.Fatalf("got %+v", qs)
	}
	for i := range want {
		if qs[i] != want[i] {
			t.Errorf("query %d = %+v, want %+v", i, qs[i], want[i])
		}
	}
	if !strings.Contains(renderPolicyRules([]rbacv1.PolicyRule{rule("apps", "deployments", "get")}), "get on deployments.apps") {
		t.Error("renderPolicyRules")
	}
}

// rbacLogged is the log of a pod's "app" container.
func rbacLogged(ns, pod string, lines ...string) []ContainerLog {
	return []ContainerLog{{Namespace: ns, Pod: pod, Container: "app", Lines: lines}}
}
