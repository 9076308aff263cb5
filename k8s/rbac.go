package k8s

import (
	"context"
	"fmt"
	"regexp"
	"slices"
	"strings"

	corev1 "k8s.io/api/core/v1"
	rbacv1 "k8s.io/api/rbac/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
)

// reForbiddenSA is the API server's RBAC denial as a client prints it
// (kubectl, client-go, the official client libraries): the
// ServiceAccount's user name, the verb, the resource and its API group,
// and the namespace (absent at the cluster scope). Groups: SA namespace,
// SA name, verb, resource, group, namespace.
var reForbiddenSA = regexp.MustCompile(`(?i)"?system:serviceaccount:([a-z0-9-]+):([a-z0-9.-]+)"? cannot (\w+) resource "([^"]+)"(?: in API group "([^"]*)")?(?: in the namespace "([^"]+)")?`)

// reForbiddenName is the object the denied request named, when it named
// one: `deployments.apps "web" is forbidden:`.
var reForbiddenName = regexp.MustCompile(`([\w.-]+) \\?"([\w.:-]+)\\?" is forbidden: User`)

// maxRBACQueries bounds the denials followed per investigation, and
// maxClusterRoleReads the ClusterRoles read for them.
const (
	maxRBACQueries      = 3
	maxClusterRoleReads = 10
	maxRoleBindingsKept = 40
)

// rbacQuery is one denied request: ServiceAccount SANamespace/SA may not
// Verb Resource (of Group; named Name when the request named one) in
// Namespace ("" at the cluster scope).
type rbacQuery struct {
	SANamespace, SA, Verb, Group, Resource, Name, Namespace string
}

// RBACState is the RBAC around the ServiceAccounts the pods' own logs say
// are forbidden: the RoleBindings and Roles of the namespaces of the
// denied requests (all of them, listed), the ClusterRoleBindings whose
// subjects name the ServiceAccount, its namespace or a ServiceAccount
// group, and the ClusterRoles those bindings refer to.
type RBACState struct {
	// Listed are the namespaces whose RoleBindings and Roles were listed
	// in full: a Role absent from Roles there does not exist.
	Listed []string
	// ClusterListed is true when the ClusterRoleBindings were listed.
	ClusterListed       bool
	RoleBindings        []rbacv1.RoleBinding
	Roles               []rbacv1.Role
	ClusterRoleBindings []rbacv1.ClusterRoleBinding
	ClusterRoles        []rbacv1.ClusterRole
	// MissingClusterRoles are ClusterRoles a kept binding refers to that
	// the API server answered NotFound for.
	MissingClusterRoles []string
}

// forbiddenQueries returns the denied requests the pods' logs and
// termination or waiting messages report, first seen first, at most
// maxRBACQueries.
func forbiddenQueries(pods []corev1.Pod, logs []ContainerLog) []rbacQuery {
	var out []rbacQuery
	add := func(line string) {
		if len(out) >= maxRBACQueries || !strings.Contains(strings.ToLower(line), "system:serviceaccount:") {
			return
		}
		m := reForbiddenSA.FindStringSubmatch(line)
		if m == nil {
			return
		}
		q := rbacQuery{SANamespace: m[1], SA: m[2], Verb: strings.ToLower(m[3]), Resource: m[4], Group: m[5], Namespace: m[6]}
		if n := reForbiddenName.FindStringSubmatch(line); n != nil {
			q.Name = n[2]
		}
		if !slices.Contains(out, q) {
			out = append(out, q)
		}
	}
	for _, l := range logs {
		for _, line := range l.Lines {
			add(line)
		}
	}
	for _, p := range pods {
		for _, cs := range append(slices.Clone(p.Status.InitContainerStatuses), p.Status.ContainerStatuses...) {
			if t := lastTermination(&cs); t != nil {
				add(t.Message)
			}
			if w := cs.State.Waiting; w != nil {
				add(w.Message)
			}
		}
	}
	return out
}

// collectRBAC reads, for each ServiceAccount the pods' own output says is
// forbidden an API request, the bindings that could grant it: the
// RoleBindings and Roles of the request's namespace (one list each), the
// ClusterRoleBindings (one list, kept when a subject names the
// ServiceAccount, its namespace or a ServiceAccount group) and the
// ClusterRoles the kept bindings refer to. Nothing is read when no pod
// reports a denial.
func collectRBAC(ctx context.Context, r *run) error {
	r.mu.Lock()
	qs := forbiddenQueries(r.snap.Pods, r.snap.Logs)
	r.mu.Unlock()
	if len(qs) == 0 {
		return nil
	}
	st := &RBACState{}
	var namespaces []string
	for _, q := range qs {
		if q.Namespace != "" && !slices.Contains(namespaces, q.Namespace) {
			namespaces = append(namespaces, q.Namespace)
		}
	}
	for _, ns := range namespaces {
		rbs, err := listNamespace(ctx, r, resRoleBindings, ns, func(l *rbacv1.RoleBindingList) []rbacv1.RoleBinding { return l.Items })
		if err != nil {
			return err
		}
		roles, err := listNamespace(ctx, r, resRoles, ns, func(l *rbacv1.RoleList) []rbacv1.Role { return l.Items })
		if err != nil {
			return err
		}
		st.Listed = append(st.Listed, ns)
		if len(rbs) > maxRoleBindingsKept {
			rbs = slices.DeleteFunc(rbs, func(b rbacv1.RoleBinding) bool { return !subjectsNear(b.Subjects, qs) })
		}
		st.RoleBindings = append(st.RoleBindings, rbs...)
		for _, role := range roles {
			if slices.ContainsFunc(rbs, func(b rbacv1.RoleBinding) bool { return b.RoleRef.Kind == "Role" && b.RoleRef.Name == role.Name }) {
				st.Roles = append(st.Roles, role)
			}
		}
	}
	crbs, err := listNamespace(ctx, r, resClusterRoleBindings, "", func(l *rbacv1.ClusterRoleBindingList) []rbacv1.ClusterRoleBinding { return l.Items })
	if err != nil {
		return err
	}
	st.ClusterListed = true
	for _, b := range crbs {
		if subjectsNear(b.Subjects, qs) {
			st.ClusterRoleBindings = append(st.ClusterRoleBindings, b)
		}
	}
	var want []string
	for _, b := range st.RoleBindings {
		if b.RoleRef.Kind == "ClusterRole" && !slices.Contains(want, b.RoleRef.Name) {
			want = append(want, b.RoleRef.Name)
		}
	}
	for _, b := range st.ClusterRoleBindings {
		if !slices.Contains(want, b.RoleRef.Name) {
			want = append(want, b.RoleRef.Name)
		}
	}
	for _, name := range want[:min(len(want), maxClusterRoleReads)] {
		cr, err := cachedRead(ctx, r, "clusterrole/"+name, func(ctx context.Context) (*rbacv1.ClusterRole, error) {
			return readOne[rbacv1.ClusterRole](ctx, r.g.api, resClusterRoles, "", name)
		})
		switch {
		case apierrors.IsNotFound(err):
			st.MissingClusterRoles = append(st.MissingClusterRoles, name)
		case err != nil:
			return fmt.Errorf("get clusterrole %s: %w", name, err)
		default:
			st.ClusterRoles = append(st.ClusterRoles, *cr)
		}
	}
	r.mu.Lock()
	r.snap.RBAC = st
	r.mu.Unlock()
	return nil
}

// subjectsNear reports whether a subject names one of the queries'
// ServiceAccounts (by name in any namespace), a ServiceAccount of its
// namespace, its user name, or a ServiceAccount group.
func subjectsNear(subs []rbacv1.Subject, qs []rbacQuery) bool {
	for _, s := range subs {
		for _, q := range qs {
			switch s.Kind {
			case rbacv1.ServiceAccountKind:
				if s.Name == q.SA || s.Namespace == q.SANamespace {
					return true
				}
			case rbacv1.UserKind:
				if strings.HasPrefix(s.Name, "system:serviceaccount:") && strings.HasSuffix(s.Name, ":"+q.SA) {
					return true
				}
			case rbacv1.GroupKind:
				if s.Name == "system:serviceaccounts" || s.Name == "system:serviceaccounts:"+q.SANamespace {
					return true
				}
			}
		}
	}
	return false
}

// renderRBAC renders the bindings read for a Forbidden and the rules of
// the roles they refer to.
func (s *Snapshot) renderRBAC(add addFunc) {
	st := s.RBAC
	if st == nil {
		return
	}
	var w strings.Builder
	for _, b := range st.RoleBindings {
		fmt.Fprintf(&w, "rolebinding %s/%s: roleRef %s/%s → subjects %s\n", b.Namespace, b.Name, b.RoleRef.Kind, b.RoleRef.Name, renderSubjects(b.Subjects, b.Namespace))
	}
	for _, b := range st.ClusterRoleBindings {
		fmt.Fprintf(&w, "clusterrolebinding %s: roleRef ClusterRole/%s → subjects %s\n", b.Name, b.RoleRef.Name, renderSubjects(b.Subjects, ""))
	}
	for _, r := range st.Roles {
		fmt.Fprintf(&w, "role %s/%s: %s\n", r.Namespace, r.Name, renderPolicyRules(r.Rules))
	}
	for _, r := range st.ClusterRoles {
		fmt.Fprintf(&w, "clusterrole %s: %s\n", r.Name, renderPolicyRules(r.Rules))
	}
	for _, n := range st.MissingClusterRoles {
		fmt.Fprintf(&w, "clusterrole %s: does not exist\n", n)
	}
	if w.Len() == 0 && len(st.Listed) > 0 {
		fmt.Fprintf(&w, "no RoleBinding in namespace %s\n", strings.Join(st.Listed, ", "))
	}
	add("rbac", "RBAC bindings around the forbidden ServiceAccount", prioHigh, w.String(), false)
}

// renderSubjects renders binding subjects; a ServiceAccount subject
// without a namespace is in the binding's namespace.
func renderSubjects(subs []rbacv1.Subject, bindingNS string) string {
	var out []string
	for _, s := range subs {
		if s.Kind == rbacv1.ServiceAccountKind {
			out = append(out, "ServiceAccount "+subjectNamespace(s, bindingNS)+"/"+s.Name)
			continue
		}
		out = append(out, s.Kind+" "+s.Name)
	}
	if len(out) == 0 {
		return "(none)"
	}
	return strings.Join(out, ", ")
}

// renderPolicyRules renders rules as "verbs on resources.group [names]".
func renderPolicyRules(rules []rbacv1.PolicyRule) string {
	var out []string
	for _, r := range rules {
		if len(r.NonResourceURLs) > 0 {
			out = append(out, strings.Join(r.Verbs, ",")+" on "+strings.Join(r.NonResourceURLs, ","))
			continue
		}
		var res []string
		for _, g := range r.APIGroups {
			for _, x := range r.Resources {
				res = append(res, qualifiedResource(x, g))
			}
		}
		s := strings.Join(r.Verbs, ",") + " on " + strings.Join(res, ",")
		if len(r.ResourceNames) > 0 {
			s += " (only " + strings.Join(r.ResourceNames, ",") + ")"
		}
		out = append(out, s)
	}
	if len(out) == 0 {
		return "no rules"
	}
	return strings.Join(out, "; ")
}

// qualifiedResource is "resource.group", or the resource alone for the
// core group.
func qualifiedResource(res, group string) string {
	if group == "" {
		return res
	}
	return res + "." + group
}
