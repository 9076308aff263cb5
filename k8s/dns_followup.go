package k8s

import (
	"context"
	"regexp"
	"strings"
)

// reResolverTimeout is a name lookup that got no answer from the resolver
// the pod uses, as the widely used runtimes word it: Go's resolver ("lookup
// HOST on IP:53: ... i/o timeout" or "server misbehaving"), glibc's
// getaddrinfo ("Temporary failure in name resolution", EAI_AGAIN, as
// Python, Ruby and C programs print it), Node.js ("getaddrinfo EAI_AGAIN"),
// curl ("Resolving timed out"), glibc's "Resource temporarily unavailable
// (HOST:PORT)", and a resolver refusing on port 53. A name that does not exist (NXDOMAIN, "no
// such host") is not one: the resolver answered.
var reResolverTimeout = regexp.MustCompile(`(?i)lookup \S+ on \S+:53: (?:read udp \S+: i/o timeout|dial udp \S+: i/o timeout|.*server misbehaving|i/o timeout|.*connection refused)|resource temporarily unavailable \(\S+:\d+\)|temporary failure in name resolution|\bEAI_AGAIN\b|resolving timed out|dns (?:query|lookup|resolution) timed? ?out`)

// logsShowResolverTimeouts reports whether a line of logs says a name
// lookup got no answer from the resolver.
func logsShowResolverTimeouts(logs []ContainerLog) bool {
	for _, l := range logs {
		for _, line := range l.Lines {
			lower := strings.ToLower(line)
			if !strings.Contains(lower, "53") && !strings.Contains(lower, "name resolution") && !strings.Contains(lower, "eai_again") && !strings.Contains(lower, "timed") && !strings.Contains(lower, "temporarily") {
				continue
			}
			if reResolverTimeout.MatchString(line) {
				return true
			}
		}
	}
	return false
}

// collectDNSForLogs reads the cluster DNS (collectDNS) when the category
// did not, but the investigated pods' own logs say their name lookups get
// no answer: the resolver they ask is the cluster DNS, whose pods' logs
// and Corefile say why (a crash, a loop, upstreams that do not answer).
func collectDNSForLogs(ctx context.Context, r *run) error {
	r.mu.Lock()
	need := r.snap.DNS == nil && logsShowResolverTimeouts(r.snap.Logs)
	r.mu.Unlock()
	if !need {
		return nil
	}
	return collectDNS(ctx, r)
}
