package investigate

// Category is the kind of trouble an alert describes. It decides which
// evidence is gathered.
type Category string

// The categories K8flex knows, exactly these.
const (
	PodCrash        Category = "pod-crash"
	PodRestart      Category = "pod-restart"
	PodPending      Category = "pod-pending"
	ServiceDown     Category = "service-down"
	EndpointMissing Category = "endpoint-missing"
	NodeNotReady    Category = "node-not-ready"
	DiskPressure    Category = "disk-pressure"
	NetworkPolicy   Category = "network-policy"
	DNSIssues       Category = "dns-issues"
	OOMKilled       Category = "oom-killed"
	CPUThrottling   Category = "cpu-throttling"
)

// Categories returns every category in a stable order.
func Categories() []Category {
	return []Category{PodCrash, PodRestart, PodPending, ServiceDown, EndpointMissing,
		NodeNotReady, DiskPressure, NetworkPolicy, DNSIssues, OOMKilled, CPUThrottling}
}

// ParseCategory returns the category named s, and whether s names one.
func ParseCategory(s string) (Category, bool) {
	for _, c := range Categories() {
		if string(c) == s {
			return c, true
		}
	}
	return "", false
}

// Scope is one family of evidence a collector gathers.
type Scope string

// The evidence scopes of the original design.
const (
	ScopePod      Scope = "pod"
	ScopeService  Scope = "service"
	ScopeNode     Scope = "node"
	ScopeNetwork  Scope = "network"
	ScopeResource Scope = "resource"
)

// Scopes returns the evidence scopes the category needs, most important first.
func (c Category) Scopes() []Scope {
	switch c {
	case PodCrash, PodRestart, PodPending:
		return []Scope{ScopePod, ScopeResource}
	case OOMKilled, CPUThrottling:
		return []Scope{ScopePod, ScopeResource}
	case ServiceDown, EndpointMissing:
		// Resource: a Service that is slow or times out is most often
		// one whose pods sit at their CPU or memory limit.
		return []Scope{ScopeService, ScopePod, ScopeNetwork, ScopeResource}
	case NodeNotReady, DiskPressure:
		return []Scope{ScopeNode}
	case NetworkPolicy:
		return []Scope{ScopeNetwork, ScopeService, ScopePod}
	case DNSIssues:
		return []Scope{ScopeNetwork, ScopePod}
	}
	return []Scope{ScopePod}
}

// NeedsNamespace reports whether the category's evidence can only be
// gathered inside a namespace (node categories cannot need one).
func (c Category) NeedsNamespace() bool {
	switch c {
	case NodeNotReady, DiskPressure, DNSIssues:
		return false
	}
	return true
}
