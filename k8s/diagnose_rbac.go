package k8s

import (
	"fmt"
	"slices"
	"strings"

	rbacv1 "k8s.io/api/rbac/v1"
)

// rbacBinding is a RoleBinding or ClusterRoleBinding seen the same way:
// what it is called, where its subjects' default namespace is, and the
// rules of the role it refers to (nil with missing set when that role does
// not exist, nil without it when the role was not read).
type rbacBinding struct {
	label   string // "RoleBinding edge/x" or "ClusterRoleBinding x"
	ns      string // the binding's namespace; "" for a ClusterRoleBinding
	ref     rbacv1.RoleRef
	subs    []rbacv1.Subject
	rules   []rbacv1.PolicyRule
	read    bool // the role's rules are known
	missing bool // the role it refers to does not exist
}

// rbacBindings returns the bindings that apply to a request in namespace
// ns: the RoleBindings of ns, then the ClusterRoleBindings.
func (st *RBACState) rbacBindings(ns string) []rbacBinding {
	var out []rbacBinding
	crole := func(name string) ([]rbacv1.PolicyRule, bool, bool) {
		if i := slices.IndexFunc(st.ClusterRoles, func(r rbacv1.ClusterRole) bool { return r.Name == name }); i >= 0 {
			return st.ClusterRoles[i].Rules, true, false
		}
		return nil, false, slices.Contains(st.MissingClusterRoles, name)
	}
	if ns != "" {
		for _, b := range st.RoleBindings {
			if b.Namespace != ns {
				continue
			}
			rb := rbacBinding{label: "RoleBinding " + b.Namespace + "/" + b.Name, ns: b.Namespace, ref: b.RoleRef, subs: b.Subjects}
			if b.RoleRef.Kind == "ClusterRole" {
				rb.rules, rb.read, rb.missing = crole(b.RoleRef.Name)
			} else if i := slices.IndexFunc(st.Roles, func(r rbacv1.Role) bool { return r.Namespace == ns && r.Name == b.RoleRef.Name }); i >= 0 {
				rb.rules, rb.read = st.Roles[i].Rules, true
			} else {
				rb.missing = slices.Contains(st.Listed, ns)
			}
			out = append(out, rb)
		}
	}
	for _, b := range st.ClusterRoleBindings {
		rb := rbacBinding{label: "ClusterRoleBinding " + b.Name, ref: b.RoleRef, subs: b.Subjects}
		rb.rules, rb.read, rb.missing = crole(b.RoleRef.Name)
		out = append(out, rb)
	}
	return out
}

// subjectNamespace is the namespace a ServiceAccount subject names: its
// own, else the binding's (as the RBAC authorizer defaults it).
func subjectNamespace(s rbacv1.Subject, bindingNS string) string {
	if s.Namespace != "" {
		return s.Namespace
	}
	return bindingNS
}

// appliesTo reports whether subject s of a binding in bindingNS grants
// to ServiceAccount saNS/sa, as the RBAC authorizer decides it.
func appliesTo(s rbacv1.Subject, bindingNS, saNS, sa string) bool {
	switch s.Kind {
	case rbacv1.ServiceAccountKind:
		return s.Name == sa && subjectNamespace(s, bindingNS) == saNS
	case rbacv1.UserKind:
		return s.Name == "system:serviceaccount:"+saNS+":"+sa
	case rbacv1.GroupKind:
		return s.Name == "system:serviceaccounts" || s.Name == "system:serviceaccounts:"+saNS || s.Name == "system:authenticated"
	}
	return false
}

// rulesAllow reports whether rules grant verb on resource (of group, named
// name when the request named an object).
func rulesAllow(rules []rbacv1.PolicyRule, verb, group, resource, name string) bool {
	has := func(list []string, v string) bool { return slices.Contains(list, v) || slices.Contains(list, "*") }
	for _, r := range rules {
		if !has(r.Verbs, verb) || !has(r.APIGroups, group) {
			continue
		}
		if !has(r.Resources, resource) {
			if i := strings.IndexByte(resource, '/'); i < 0 || !slices.Contains(r.Resources, "*"+resource[i:]) {
				continue
			}
		}
		if len(r.ResourceNames) > 0 && (name == "" || !slices.Contains(r.ResourceNames, name)) {
			continue
		}
		return true
	}
	return false
}

// rulesOn renders what rules grant on resource of group: "get, list" or "".
func rulesOn(rules []rbacv1.PolicyRule, group, resource string) string {
	var verbs []string
	for _, r := range rules {
		if (slices.Contains(r.APIGroups, group) || slices.Contains(r.APIGroups, "*")) &&
			(slices.Contains(r.Resources, resource) || slices.Contains(r.Resources, "*")) {
			for _, v := range r.Verbs {
				if !slices.Contains(verbs, v) {
					verbs = append(verbs, v)
				}
			}
		}
	}
	return strings.Join(verbs, ", ")
}

// rbacAudit explains from the bindings read why ServiceAccount
// q.SANamespace/q.SA may not make the request q: a binding names it but
// refers to a role that does not exist or grants less; a binding grants
// the request to a ServiceAccount of the same name in another namespace,
// or another ServiceAccount of its namespace; or no binding names it. It
// returns the clause that completes the finding's summary and the actions
// that fix it; ok is false when nothing was read, or when a binding that
// names it grants the request (the denial predates the binding: nothing
// left to explain).
func (s *Snapshot) rbacAudit(q rbacQuery) (clause string, actions []string, ok bool) {
	st := s.RBAC
	if st == nil || (len(st.RoleBindings) == 0 && len(st.ClusterRoleBindings) == 0) {
		return "", nil, false
	}
	what := qualifiedResource(q.Resource, q.Group)
	req := q.Verb + " " + what
	if q.Name != "" {
		req += " " + q.Name
	}
	bindings := st.rbacBindings(q.Namespace)
	sa := q.SANamespace + "/" + q.SA
	// A binding that names the ServiceAccount.
	for _, b := range bindings {
		if !slices.ContainsFunc(b.subs, func(x rbacv1.Subject) bool { return appliesTo(x, b.ns, q.SANamespace, q.SA) }) {
			continue
		}
		role := b.ref.Kind + " " + b.ref.Name
		switch {
		case b.missing:
			return fmt.Sprintf("%s binds ServiceAccount %s to %s, which does not exist, so it grants nothing", b.label, sa, role),
				[]string{fmt.Sprintf("kubectl get %s %s%s   # NotFound: create it with %s on %s, or point the binding's roleRef at one that exists", strings.ToLower(b.ref.Kind), b.ref.Name, nsFlag(b.ns), q.Verb, what)}, true
		case b.read && rulesAllow(b.rules, q.Verb, q.Group, q.Resource, q.Name):
			return "", nil, false
		case b.read:
			grants := rulesOn(b.rules, q.Group, q.Resource)
			clause := fmt.Sprintf("%s binds ServiceAccount %s to %s, which does not grant %s", b.label, sa, role, req)
			if grants != "" {
				clause += fmt.Sprintf(" (it grants only %s on %s", grants, what)
				if names := namesOn(b.rules, q.Group, q.Resource); names != "" {
					clause += ", only " + names
				}
				clause += ")"
			} else {
				clause += fmt.Sprintf(" (it grants nothing on %s)", what)
			}
			return clause, []string{fmt.Sprintf("kubectl edit %s %s%s   # add verb %s on %s", strings.ToLower(b.ref.Kind), b.ref.Name, nsFlag(b.ns), q.Verb, what)}, true
		}
	}
	// A binding that grants the request, to whom?
	for _, b := range bindings {
		if !b.read || !rulesAllow(b.rules, q.Verb, q.Group, q.Resource, q.Name) {
			continue
		}
		for _, x := range b.subs {
			if x.Kind != rbacv1.ServiceAccountKind {
				continue
			}
			xns := subjectNamespace(x, b.ns)
			var why string
			switch {
			case x.Name == q.SA && xns != q.SANamespace:
				why = fmt.Sprintf("its subject is ServiceAccount %s/%s: the subject's namespace is %s, not %s, where the pods run", xns, x.Name, xns, q.SANamespace)
			case xns == q.SANamespace && x.Name != q.SA:
				why = fmt.Sprintf("its subject is ServiceAccount %s/%s: the subject's name is %s, not %s, the ServiceAccount the pods run as", xns, x.Name, x.Name, q.SA)
			default:
				continue
			}
			clause := fmt.Sprintf("%s grants %s (through %s %s), but not to ServiceAccount %s — %s", b.label, req, b.ref.Kind, b.ref.Name, sa, why)
			kind := "rolebinding"
			if b.ns == "" {
				kind = "clusterrolebinding"
			}
			name := strings.TrimPrefix(b.label[strings.LastIndexByte(b.label, ' ')+1:], b.ns+"/")
			return clause, []string{fmt.Sprintf(`kubectl patch %s %s%s --type=json -p '[{"op":"add","path":"/subjects/-","value":{"kind":"ServiceAccount","name":"%s","namespace":"%s"}}]'   # bind the ServiceAccount the pods run as`,
				kind, name, nsFlag(b.ns), q.SA, q.SANamespace)}, true
		}
	}
	var where []string
	if q.Namespace != "" && slices.Contains(st.Listed, q.Namespace) {
		where = append(where, "RoleBinding in namespace "+q.Namespace)
	}
	if st.ClusterListed && len(st.ClusterRoleBindings) > 0 {
		where = append(where, "ClusterRoleBinding")
	}
	if len(where) == 0 {
		return "", nil, false
	}
	return fmt.Sprintf("no %s names ServiceAccount %s", strings.Join(where, " and no "), sa), nil, true
}

// namesOn renders the resourceNames the rules restrict resource to.
func namesOn(rules []rbacv1.PolicyRule, group, resource string) string {
	var names []string
	for _, r := range rules {
		if slices.Contains(r.APIGroups, group) && slices.Contains(r.Resources, resource) {
			names = append(names, r.ResourceNames...)
		}
	}
	return strings.Join(names, ", ")
}

func nsFlag(ns string) string {
	if ns == "" {
		return ""
	}
	return " -n " + ns
}
