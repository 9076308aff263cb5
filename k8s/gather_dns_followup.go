package k8s

import (
	"context"
	"regexp"
	"slices"
)

// reResolverFailed is an application's lookup that the resolver could not
// answer (a timeout or a temporary failure, not a name that does not
// exist), as widely used runtimes print it: Go ("lookup H on IP:53: … i/o
// timeout" or "server misbehaving"), glibc and the runtimes on it
// (EAI_AGAIN, "Temporary failure in name resolution", "Resource
// temporarily unavailable (H:443)").
var reResolverFailed = regexp.MustCompile(`(?i)lookup \S+ on \S+:53: .*(i/o timeout|server misbehaving|connection refused)|temporary failure in name resolution|EAI_AGAIN|resource temporarily unavailable \(\S+:\d+\)`)

// collectDNSFollowup reads the cluster DNS (see collectDNS) for a category
// that does not ask for it when the investigated pods' own logs show the
// resolver failing: a lookup that times out is explained there (CoreDNS
// overloaded, its upstream silent, search-list expansion), whatever the
// alert said.
func collectDNSFollowup(ctx context.Context, r *run) error {
	r.mu.Lock()
	failing := r.snap.DNS == nil && slices.ContainsFunc(r.snap.Logs, func(l ContainerLog) bool {
		return slices.ContainsFunc(l.Lines, reResolverFailed.MatchString)
	})
	r.mu.Unlock()
	if !failing {
		return nil
	}
	return collectDNS(ctx, r)
}
