package k8s

import (
	"strings"
	"testing"

	corev1 "k8s.io/api/core/v1"
	rbacv1 "k8s.io/api/rbac/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"

	"github.com/k8flex/k8flex/investigate"
)

// A pod whose own log says its name lookups time out pulls in the cluster
// DNS even for a category that does not read it; CoreDNS's log then names
// the forward targets that do not answer. A name that does not exist (the
// resolver answered) reads nothing more.
func TestDNSFollowsResolverTimeouts(t *testing.T) {
	objs := func() []runtime.Object {
		return []runtime.Object{
			newPod("shop", "relay-1", withLabels("app", "relay")),
			newPod("kube-system", "coredns-7d9f-abcde", withLabels("k8s-app", "kube-dns")),
			&corev1.ConfigMap{ObjectMeta: metav1.ObjectMeta{Namespace: "kube-system", Name: "coredns"},
				Data: map[string]string{"Corefile": ".:53 {\n    errors\n    forward . 10.40.0.2 10.40.0.3\n    cache 30\n}\n"}},
		}
	}
	coredns := "[ERROR] plugin/errors: 2 api.partner.example. A: read udp 10.244.1.9:51822->10.40.0.2:53: i/o timeout\n" +
		"[ERROR] plugin/errors: 2 api.partner.example. AAAA: read udp 10.244.1.9:40417->10.40.0.3:53: i/o timeout\n"
	target := investigate.Target{Kind: investigate.KindPod, Name: "relay-1", Namespace: "shop", Pod: "relay-1"}
	for _, tt := range []struct {
		name, log string
		follow    bool
	}{
		{"Go resolver timeout", `level=warn msg="send failed" err="dial tcp: lookup api.partner.example on 10.96.0.10:53: read udp 10.244.3.4:40000->10.96.0.10:53: i/o timeout"`, true},
		{"glibc wording", `ERROR sender: Failed to resolve 'api.partner.example' ([Errno -3] Temporary failure in name resolution)`, true},
		{"Node.js EAI_AGAIN", `Error: getaddrinfo EAI_AGAIN api.partner.example`, true},
		{"name does not exist: not followed", `dial tcp: lookup api.partnr.example on 10.96.0.10:53: no such host`, false},
	} {
		t.Run(tt.name, func(t *testing.T) {
			s := gatherWith(t, objs(), mapLogs{"shop/relay-1/app": tt.log, "kube-system/coredns-7d9f-abcde/app": coredns}, target, investigate.PodRestart)
			if (s.DNS != nil) != tt.follow {
				t.Fatalf("cluster DNS read = %v, want %v", s.DNS != nil, tt.follow)
			}
			if !tt.follow {
				return
			}
			var f *investigate.Finding
			for _, x := range s.Diagnose() {
				if x.Rule == "dns-upstream" {
					f = &x
					break
				}
			}
			if f == nil {
				t.Fatal("no dns-upstream finding")
			}
			for _, want := range []string{"forward . 10.40.0.2 10.40.0.3", "10.40.0.2", "10.40.0.3", "get no answer"} {
				if !strings.Contains(f.Summary, want) {
					t.Errorf("summary %q lacks %q", f.Summary, want)
				}
			}
		})
	}
}

// The RBAC collector reads the bindings of the denied request's namespace
// and the ClusterRoleBindings near the ServiceAccount, only after a pod
// logs a denial.
func TestCollectRBAC(t *testing.T) {
	objs := []runtime.Object{
		newPod("ops", "runner-1", crashLooping(1)),
		&rbacv1.Role{ObjectMeta: metav1.ObjectMeta{Namespace: "shop", Name: "restarter"}, Rules: []rbacv1.PolicyRule{rule("apps", "deployments", "patch")}},
		&rbacv1.Role{ObjectMeta: metav1.ObjectMeta{Namespace: "shop", Name: "unbound"}},
		func() *rbacv1.RoleBinding {
			b := roleBinding("shop", "runner", "Role", "restarter", saSubject("legacy", "runner"))
			return &b
		}(),
		&rbacv1.ClusterRoleBinding{ObjectMeta: metav1.ObjectMeta{Name: "admins"}, RoleRef: rbacv1.RoleRef{Kind: "ClusterRole", Name: "cluster-admin"},
			Subjects: []rbacv1.Subject{{Kind: rbacv1.GroupKind, Name: "system:masters"}}},
		&rbacv1.ClusterRoleBinding{ObjectMeta: metav1.ObjectMeta{Name: "runner-view"}, RoleRef: rbacv1.RoleRef{Kind: "ClusterRole", Name: "view-gone"},
			Subjects: []rbacv1.Subject{saSubject("ops", "runner")}},
	}
	target := investigate.Target{Kind: investigate.KindPod, Name: "runner-1", Namespace: "ops", Pod: "runner-1"}
	denied := `Error from server (Forbidden): deployments.apps "web" is forbidden: User "system:serviceaccount:ops:runner" cannot patch resource "deployments" in API group "apps" in the namespace "shop"`
	s := gatherWith(t, objs, mapLogs{"ops/runner-1/app/previous": denied, "ops/runner-1/app": denied}, target, investigate.PodCrash)
	st := s.RBAC
	if st == nil {
		t.Fatal("no RBAC read after a denial")
	}
	if len(st.RoleBindings) != 1 || len(st.Roles) != 1 || st.Roles[0].Name != "restarter" {
		t.Errorf("role bindings %d, roles %+v: want the one binding and the Role it names", len(st.RoleBindings), st.Roles)
	}
	if len(st.ClusterRoleBindings) != 1 || st.ClusterRoleBindings[0].Name != "runner-view" || len(st.MissingClusterRoles) != 1 {
		t.Errorf("cluster role bindings %+v missing %v: want only the one naming the ServiceAccount, its role missing", st.ClusterRoleBindings, st.MissingClusterRoles)
	}
	if s = gatherWith(t, objs, mapLogs{"ops/runner-1/app": "panic: boom"}, target, investigate.PodCrash); s.RBAC != nil {
		t.Error("RBAC read without a denial")
	}
}
