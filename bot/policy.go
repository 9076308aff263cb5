package bot

import (
	"path"
	"slices"

	"github.com/k8flex/k8flex/investigate"
)

// The access policy of /k8flex investigate holds for every kind of target:
//
//   - The channel and user rules (slack.allowed_channels,
//     slack.allowed_users, slack.allowed_user_groups) do not depend on the
//     target at all.
//   - A namespaced target (pod, deployment, statefulset, daemonset, job,
//     service) and a namespace itself (ns/NAME) are judged by their
//     namespace: a slack.denied_namespaces pattern refuses it; a non-empty
//     slack.allowed_namespaces must have a pattern that matches it.
//   - A cluster-scoped target (a node; any target without a namespace) is
//     read across namespaces — a node's investigation lists the pods of
//     every namespace scheduled on it, with their events and logs — so it
//     is allowed only when the namespace policy allows every namespace
//     (slack.allowed_namespaces empty or "*", slack.denied_namespaces
//     empty), or when slack.allow_cluster_targets says so explicitly.

// clusterScoped reports whether t names no single namespace.
func clusterScoped(t investigate.Target) bool {
	return t.Kind == investigate.KindNode || t.Namespace == ""
}

// allNamespacesAllowed reports whether the namespace policy lets every
// namespace through.
func (c Config) allNamespacesAllowed() bool {
	return len(c.DeniedNamespaces) == 0 && (len(c.AllowedNamespaces) == 0 || slices.Contains(c.AllowedNamespaces, "*"))
}

// refuseTarget returns why the namespace policy refuses t (naming the
// setting), or "" when t is allowed.
func (c Config) refuseTarget(t investigate.Target) string {
	if clusterScoped(t) {
		if c.AllowClusterTargets || c.allNamespacesAllowed() {
			return ""
		}
		return "`" + Safe(t.String()) + "` is cluster-scoped: its investigation reads across namespaces, and " +
			"this K8flex opens only some namespaces to investigations (slack.allowed_namespaces, slack.denied_namespaces). " +
			"Ask your K8flex admin to set slack.allow_cluster_targets to allow such targets."
	}
	ns := t.Namespace
	for _, p := range c.DeniedNamespaces {
		if ok, _ := path.Match(p, ns); ok {
			return "Namespace `" + Safe(ns) + "` is not open to investigations (slack.denied_namespaces)."
		}
	}
	if len(c.AllowedNamespaces) == 0 {
		return ""
	}
	for _, p := range c.AllowedNamespaces {
		if ok, _ := path.Match(p, ns); ok {
			return ""
		}
	}
	return "Namespace `" + Safe(ns) + "` is not open to investigations (slack.allowed_namespaces)."
}
