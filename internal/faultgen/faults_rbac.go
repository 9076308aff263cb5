package faultgen

import (
	"fmt"
	"time"

	rbacv1 "k8s.io/api/rbac/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/k8flex/k8flex/investigate"
)

// RBAC faults: a Job's container calls the Kubernetes API as its
// ServiceAccount and is refused (kubectl prints the API server's 403);
// the bindings around it hold the reason. Red herrings: a binding of the
// same namespace for another ServiceAccount, and the cluster's own
// ClusterRoleBindings.

var rbacTypeMeta = func(kind string) metav1.TypeMeta {
	return metav1.TypeMeta{APIVersion: rbacv1.SchemeGroupVersion.String(), Kind: kind}
}

func (w *world) role(ns, name string, rules ...rbacv1.PolicyRule) {
	w.add(&rbacv1.Role{TypeMeta: rbacTypeMeta("Role"), ObjectMeta: w.meta(ns, name, nil, w.between(60*24*time.Hour, 400*24*time.Hour)), Rules: rules})
}

func (w *world) clusterRole(name string, rules ...rbacv1.PolicyRule) {
	w.add(&rbacv1.ClusterRole{TypeMeta: rbacTypeMeta("ClusterRole"), ObjectMeta: w.meta("", name, nil, w.between(60*24*time.Hour, 400*24*time.Hour)), Rules: rules})
}

func (w *world) roleBinding(ns, name, roleKind, role string, subs ...rbacv1.Subject) {
	w.add(&rbacv1.RoleBinding{TypeMeta: rbacTypeMeta("RoleBinding"), ObjectMeta: w.meta(ns, name, nil, w.between(30*24*time.Hour, 300*24*time.Hour)),
		RoleRef: rbacv1.RoleRef{APIGroup: rbacv1.GroupName, Kind: roleKind, Name: role}, Subjects: subs})
}

func (w *world) clusterRoleBinding(name, role string, subs ...rbacv1.Subject) {
	w.add(&rbacv1.ClusterRoleBinding{TypeMeta: rbacTypeMeta("ClusterRoleBinding"), ObjectMeta: w.meta("", name, nil, w.between(30*24*time.Hour, 300*24*time.Hour)),
		RoleRef: rbacv1.RoleRef{APIGroup: rbacv1.GroupName, Kind: "ClusterRole", Name: role}, Subjects: subs})
}

func saSubject(ns, name string) rbacv1.Subject {
	return rbacv1.Subject{Kind: rbacv1.ServiceAccountKind, Namespace: ns, Name: name}
}

// rbacNoise adds what every cluster holds and a binding of ns for another
// ServiceAccount: none of them is the cause.
func (w *world) rbacNoise(ns string) {
	w.clusterRole("cluster-admin", rbacv1.PolicyRule{APIGroups: []string{"*"}, Resources: []string{"*"}, Verbs: []string{"*"}})
	w.clusterRoleBinding("cluster-admin", "cluster-admin", rbacv1.Subject{Kind: rbacv1.GroupKind, APIGroup: rbacv1.GroupName, Name: "system:masters"})
	other := pick(w.r, []string{"ci-deployer", "metrics-reader", "backup-agent"})
	w.serviceAccount(ns, other)
	w.role(ns, other, rbacv1.PolicyRule{APIGroups: []string{""}, Resources: []string{"configmaps"}, Verbs: []string{"get", "list"}})
	w.roleBinding(ns, other, "Role", other, saSubject(ns, other))
}

// forbiddenLine is kubectl's rendering of the API server's RBAC denial.
func forbiddenLine(ns, sa, verb, resource, group, object, inNS string) string {
	qual := resource
	if group != "" {
		qual += "." + group
	}
	subject := qual
	if object != "" {
		subject = fmt.Sprintf("%s %q", qual, object)
	}
	scope := "at the cluster scope"
	if inNS != "" {
		scope = fmt.Sprintf("in the namespace %q", inNS)
	}
	return fmt.Sprintf("Error from server (Forbidden): %s is forbidden: User \"system:serviceaccount:%s:%s\" cannot %s resource %q in API group %q %s", subject, ns, sa, verb, resource, group, scope)
}

// rbacJob builds a Job (a CronJob's run when cron is set) whose three pods
// each log line and exit 1, failed with BackoffLimitExceeded.
func (w *world) rbacJob(ns, name, sa, cron string, command []string, line string) result {
	j := jobRun{ns: ns, name: name, image: w.registry + "/mirror/kubectl:1.31", sa: sa, backoffLimit: 2, cron: cron, command: command}
	since := w.between(20*time.Minute, 60*time.Minute)
	job, pods, _ := w.buildJob(j, 3, since)
	for _, p := range pods {
		w.failPod(p, 1, "Error", 2*time.Second)
		w.log(ns, p.Name, name, false, line)
	}
	w.jobFailedStatus(job, pods, "BackoffLimitExceeded", "Job has reached the specified backoff limit", w.between(time.Minute, 8*time.Minute))
	return result{ns: ns, alerts: []alertDef{w.jobFailed(ns, job.Name)}}
}

// rbacSubjectMismatch: a binding grants exactly what the Job needs, but
// its subject is not the ServiceAccount the pods run as. Variant 0: a
// CronJob moved to a new namespace; the RoleBinding of the namespace it
// acts on still names the ServiceAccount of the same name in the old
// namespace. Variant 1: a Job renamed its ServiceAccount; the
// ClusterRoleBinding granting a cluster-scoped resource names the old one.
func rbacSubjectMismatch(w *world, v variant) result {
	ns := w.namespace()
	if v.n%2 == 0 {
		target, old := w.namespace(), w.namespace()
		deploy := w.name()
		name := pick(w.r, []string{"nightly-restart", "cache-bouncer", "rollout-kicker"})
		sa := name
		role, binding := "deployment-restarter", name+"-can-restart"
		w.serviceAccount(ns, sa)
		w.role(target, role, rbacv1.PolicyRule{APIGroups: []string{"apps"}, Resources: []string{"deployments"}, ResourceNames: []string{deploy}, Verbs: []string{"get", "patch"}})
		w.roleBinding(target, binding, "Role", role, saSubject(old, sa))
		w.rbacNoise(target)
		r := w.rbacJob(ns, name, sa, "15 3 * * *", []string{"/bin/sh", "-c", fmt.Sprintf("kubectl -n %s rollout restart deployment/%s", target, deploy)},
			forbiddenLine(ns, sa, "patch", "deployments", "apps", deploy, target))
		r.expect = expect(investigate.PodCrash, cats{investigate.PodRestart},
			fmt.Sprintf("RoleBinding %s/%s grants patch on deployment %s to ServiceAccount %s/%s, not to %s/%s the Job runs as: the API server answers 403 Forbidden.", target, binding, deploy, old, sa, ns, sa),
			g("rolebinding", "role binding", "subject"), g(binding), g(old))
		return r
	}
	name := pick(w.r, []string{"node-labeler", "zone-tagger", "node-auditor"})
	sa, oldSA := name, name+"-sa"
	role, binding := name+"-nodes", name+"-nodes"
	w.serviceAccount(ns, sa)
	w.clusterRole(role, rbacv1.PolicyRule{APIGroups: []string{""}, Resources: []string{"nodes"}, Verbs: []string{"get", "list", "patch"}})
	w.clusterRoleBinding(binding, role, saSubject(ns, oldSA))
	w.rbacNoise(ns)
	r := w.rbacJob(ns, name, sa, "", []string{"/bin/sh", "-c", "kubectl get nodes -o name | xargs -r -n1 kubectl label --overwrite audited=true"},
		forbiddenLine(ns, sa, "list", "nodes", "", "", ""))
	r.expect = expect(investigate.PodCrash, cats{investigate.PodRestart},
		fmt.Sprintf("ClusterRoleBinding %s grants list on nodes to ServiceAccount %s/%s, not to %s/%s the Job runs as: the API server answers 403 Forbidden.", binding, ns, oldSA, ns, sa),
		g("clusterrolebinding", "cluster role binding", "subject"), g(binding), g(oldSA))
	return r
}

// rbacRoleRefMissing: the binding names the ServiceAccount, but the role
// it refers to does not exist, so it grants nothing. Variant 0: a
// RoleBinding of the Job's namespace refers to a missing Role; variant 1:
// a RoleBinding of another namespace refers to a missing ClusterRole.
func rbacRoleRefMissing(w *world, v variant) result {
	ns := w.namespace()
	name := pick(w.r, []string{"config-syncer", "lease-cleaner", "report-exporter"})
	sa := name
	w.serviceAccount(ns, sa)
	if v.n%2 == 0 {
		role, binding := name+"-reader", name
		w.roleBinding(ns, binding, "Role", role, saSubject(ns, sa))
		w.rbacNoise(ns)
		r := w.rbacJob(ns, name, sa, "*/20 * * * *", []string{"/bin/sh", "-c", "kubectl get configmaps -o name"},
			forbiddenLine(ns, sa, "list", "configmaps", "", "", ns))
		r.expect = expect(investigate.PodCrash, cats{investigate.PodRestart},
			fmt.Sprintf("RoleBinding %s/%s binds ServiceAccount %s to Role %s, which does not exist: the Job's list of configmaps is forbidden.", ns, binding, sa, role),
			g("does not exist", "not found", "missing"), g(role))
		return r
	}
	target := w.namespace()
	role, binding := name+"-leases", name+"-leases"
	w.roleBinding(target, binding, "ClusterRole", role, saSubject(ns, sa))
	w.rbacNoise(target)
	r := w.rbacJob(ns, name, sa, "", []string{"/bin/sh", "-c", fmt.Sprintf("kubectl -n %s delete leases --all", target)},
		forbiddenLine(ns, sa, "delete", "leases", "coordination.k8s.io", "", target))
	r.expect = expect(investigate.PodCrash, cats{investigate.PodRestart},
		fmt.Sprintf("RoleBinding %s/%s binds ServiceAccount %s/%s to ClusterRole %s, which does not exist: the Job's delete of leases is forbidden.", target, binding, ns, sa, role),
		g("does not exist", "not found", "missing"), g(role))
	return r
}
