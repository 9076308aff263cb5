package k8s

import (
	"fmt"
	"regexp"
	"sort"
	"strconv"
	"strings"

	corev1 "k8s.io/api/core/v1"

	"github.com/k8flex/k8flex/investigate"
)

// defaultNdots is the ndots option the kubelet writes into the resolv.conf
// of a pod with dnsPolicy ClusterFirst (and ClusterFirstWithHostNet) when
// its dnsConfig does not override it.
const defaultNdots = 5

var (
	// reDNSQueryName is a name as CoreDNS logs it: fully qualified, with
	// the trailing dot (errors plugin "2 name. A: …", log plugin
	// "A IN name. udp …").
	reDNSQueryName = regexp.MustCompile(`(?:^|[\s"])((?:[A-Za-z0-9_-]+\.)+[A-Za-z0-9_-]+)\.(?:[\s":]|$)`)
	// reAppLookupHost is a host name an application resolves, as common
	// runtimes print it: Go ("lookup H on"/"lookup H:"), Java
	// (UnknownHostException: H), Node (ENOTFOUND H, EAI_AGAIN H), Python
	// urllib3 (host='H', "Failed to resolve 'H'"), curl/libcurl ("Could
	// not resolve host: H"), .NET ("Name or service not known (H:443)"),
	// "Resource temporarily unavailable (H:443)"), and URL hosts. Each
	// alternative captures the host in its own group.
	reAppLookupHost = regexp.MustCompile(`(?i)(?:lookup ([a-z0-9][-a-z0-9.]*[a-z0-9])\.?[ :]|UnknownHostException: ([a-z0-9][-a-z0-9.]*[a-z0-9])|(?:ENOTFOUND|EAI_AGAIN) ([a-z0-9][-a-z0-9.]*[a-z0-9])|https?://([a-z0-9][-a-z0-9.]*[a-z0-9])[:/"\s]|(?:host=|Failed to resolve )'([a-z0-9][-a-z0-9.]*[a-z0-9])'|Could not resolve host: ([a-z0-9][-a-z0-9.]*[a-z0-9])|(?:Name or service not known|No such host is known|nodename nor servname provided, or not known|Resource temporarily unavailable) \(([a-z0-9][-a-z0-9.]*[a-z0-9]):\d+\))`)
	// reDNSOverload is CoreDNS saying it cannot keep up or its upstream
	// does not answer.
	reDNSOverload = regexp.MustCompile(`(?i)concurrent queries exceeded|max_concurrent|i/o timeout|SERVFAIL|too many open|dropped`)
)

// diagnoseDNSNdots reports the search-list expansion of external names:
// a pod with dnsPolicy ClusterFirst gets "options ndots:5" and a search
// list (<ns>.svc.<domain>, svc.<domain>, <domain>, then the node's own
// search domains), so a name with fewer dots than ndots and no trailing
// dot is first tried with every suffix of the list. CoreDNS then sees the
// application's external names with those suffixes appended (each an
// NXDOMAIN, or a timeout when the suffix is forwarded upstream): several
// queries per lookup, which is what overloads it. The rule needs CoreDNS's
// own log showing such expanded names for hosts the pods resolve.
func diagnoseDNSNdots(d *diag) []investigate.Finding {
	dnsPods := d.dnsPods()
	if len(dnsPods) == 0 {
		return nil
	}
	isDNS := map[string]bool{}
	for _, p := range dnsPods {
		isDNS[p.Namespace+"/"+p.Name] = true
	}
	// The external hosts each application pod resolves (from its logs).
	type site struct {
		p     *corev1.Pod
		hosts []string
	}
	var sites []site
	for _, p := range d.pods {
		if isDNS[p.Namespace+"/"+p.Name] || p.Spec.HostNetwork && p.Spec.DNSPolicy != corev1.DNSClusterFirstWithHostNet {
			continue
		}
		var hosts []string
		for _, c := range p.Spec.Containers {
			for _, prev := range []bool{false, true} {
				for _, l := range d.logs(p.Namespace, p.Name, c.Name, prev) {
					for _, m := range reAppLookupHost.FindAllStringSubmatch(l, -1) {
						h := strings.ToLower(strings.Join(m[1:], ""))
						if externalName(h) {
							hosts = appendUnique(hosts, h)
						}
					}
				}
			}
		}
		if len(hosts) > 0 {
			sites = append(sites, site{p, hosts})
		}
	}
	if len(sites) == 0 {
		return nil
	}
	// The names CoreDNS was asked for.
	var queries []string
	var overload []string
	seenQ := map[string]bool{}
	for _, p := range dnsPods {
		for _, cs := range p.Status.ContainerStatuses {
			for _, prev := range []bool{false, true} {
				for _, l := range d.logs(p.Namespace, p.Name, cs.Name, prev) {
					for _, m := range reDNSQueryName.FindAllStringSubmatch(l, -1) {
						q := strings.ToLower(m[1])
						if !seenQ[q] {
							seenQ[q] = true
							queries = append(queries, q)
						}
					}
					if reDNSOverload.MatchString(l) && len(overload) < 2 {
						overload = appendUnique(overload, p.Name+": "+clip(strings.TrimSpace(l), 240))
					}
				}
			}
		}
	}
	var out []investigate.Finding
	type expansion struct{ host, query, suffix string }
	byOwner := map[string][]*corev1.Pod{}
	var owners []string
	expOf := map[string][]expansion{}
	for _, st := range sites {
		ndots, ok := podNdots(st.p)
		if !ok {
			continue
		}
		var exps []expansion
		for _, h := range st.hosts {
			if strings.Count(h, ".") >= ndots {
				continue
			}
			for _, q := range queries {
				if strings.HasPrefix(q, h+".") && len(q) > len(h)+1 {
					exps = append(exps, expansion{h, q + ".", q[len(h)+1:]})
				}
			}
		}
		if len(exps) == 0 {
			continue
		}
		o := workloadOrPod(st.p)
		if _, ok := byOwner[o]; !ok {
			owners = append(owners, o)
		}
		byOwner[o] = append(byOwner[o], st.p)
		expOf[o] = append(expOf[o], exps...)
	}
	sort.SliceStable(owners, func(i, j int) bool {
		return d.target[keyOf(byOwner[owners[i]][0])] && !d.target[keyOf(byOwner[owners[j]][0])]
	})
	for _, o := range owners {
		pods, exps := byOwner[o], expOf[o]
		p := pods[0]
		ndots, _ := podNdots(p)
		ndotsFrom := fmt.Sprintf("ndots:%d (the default the kubelet writes for dnsPolicy %s)", ndots, dnsPolicyOf(p))
		if v, ok := dnsConfigNdots(p); ok {
			ndotsFrom = fmt.Sprintf("ndots:%s (set in the pod's dnsConfig, dnsPolicy %s)", v, dnsPolicyOf(p))
		}
		var hosts, suffixes, examples []string
		for _, e := range exps {
			hosts = appendUnique(hosts, e.host)
			suffixes = appendUnique(suffixes, e.suffix)
			if len(examples) < 3 {
				examples = appendUnique(examples, e.query)
			}
		}
		kind, name, _ := strings.Cut(o, "/")
		sum := fmt.Sprintf("%s %s/%s resolves external names without a trailing dot (%s) under %s: each name has fewer dots than ndots, so the resolver first tries it with every suffix of the pod's DNS search list (search domains seen: %s) and CoreDNS receives several queries per lookup that all fail (NXDOMAIN or timeout), e.g. %s",
			apiKindTitle(kind), p.Namespace, name, joinNames(clipList(hosts, 4)), ndotsFrom, joinNames(clipList(suffixes, 4)), joinNames(examples))
		if len(overload) > 0 {
			sum += "; the amplified query load overloads CoreDNS"
		}
		proof := []string{fmt.Sprintf("pod %s/%s: dnsPolicy %s, %s", p.Namespace, p.Name, dnsPolicyOf(p), ndotsFrom)}
		for _, e := range examples {
			proof = append(proof, "CoreDNS query "+e)
		}
		proof = append(proof, overload...)
		objs := []string{o}
		if kind == "pod" {
			objs = []string{podRef(p)}
		}
		objs = append(objs, podRefsOf(dnsPods)...)
		patch := fmt.Sprintf(`kubectl -n %s patch %s %s --type merge -p '{"spec":{"template":{"spec":{"dnsConfig":{"options":[{"name":"ndots","value":"1"}]}}}}}'`, p.Namespace, kind, name)
		if kind == "pod" {
			patch = fmt.Sprintf("set spec.dnsConfig.options [{name: ndots, value: \"1\"}] in pod %s/%s's manifest and recreate it", p.Namespace, p.Name)
		}
		out = append(out, investigate.Finding{
			Rule: "dns-ndots-expansion", Severity: investigate.FindingCritical, Score: scoreRootCause + 3,
			Summary: sum + ".",
			Detail:  fmt.Sprintf("With dnsPolicy ClusterFirst the pod's resolv.conf searches %s.svc, svc and the cluster domain, then the node's own search domains, with options ndots:%d: a name with fewer than %d dots is looked up with each search suffix appended before it is tried as given, for A and AAAA alike.", p.Namespace, ndots, ndots),
			Objects: objs, Proof: proof,
			Actions: []string{
				fmt.Sprintf("Write the external names as fully qualified names with a trailing dot (%s.) in %s's configuration, so the search list is skipped.", hosts[0], o),
				patch + "   # or a lower ndots: names with at least one dot are then tried as given first",
				"kubectl -n kube-system logs -l k8s-app=kube-dns --tail=200   # the expanded names should disappear",
			},
			Impact:     fmt.Sprintf("Every lookup of %s costs several CoreDNS queries; CoreDNS saturates and lookups of other workloads slow down or fail too.", o),
			Prevention: "Set dnsConfig ndots (1 or 2) in workload templates that call external hosts, or use fully qualified names; run NodeLocal DNSCache and alert on CoreDNS NXDOMAIN rate.",
		})
	}
	return out
}

func keyOf(p *corev1.Pod) string { return p.Namespace + "/" + p.Name }

// externalName reports whether h is a DNS name outside the cluster: it has
// a dot, is not an IP address and is not a cluster Service name.
func externalName(h string) bool {
	if !strings.Contains(h, ".") || strings.Contains(h, ".svc") || strings.HasSuffix(h, ".local") || strings.HasSuffix(h, ".internal") {
		return false
	}
	last := h[strings.LastIndex(h, ".")+1:]
	if last == "" {
		return false
	}
	for _, r := range last {
		if r < 'a' || r > 'z' {
			return false // an IP address or a name.namespace pair ending in digits
		}
	}
	return len(last) >= 2
}

// podNdots returns the ndots the pod's resolver uses and whether the
// cluster search list applies at all (dnsPolicy ClusterFirst, or None
// with a dnsConfig that has searches).
func podNdots(p *corev1.Pod) (int, bool) {
	switch p.Spec.DNSPolicy {
	case "", corev1.DNSClusterFirst, corev1.DNSClusterFirstWithHostNet:
	case corev1.DNSNone:
		if p.Spec.DNSConfig == nil || len(p.Spec.DNSConfig.Searches) == 0 {
			return 0, false
		}
	default:
		return 0, false
	}
	if v, ok := dnsConfigNdots(p); ok {
		n, err := strconv.Atoi(v)
		if err != nil {
			return 0, false
		}
		return n, true
	}
	if p.Spec.DNSPolicy == corev1.DNSNone {
		return 1, true // the resolver's own default
	}
	return defaultNdots, true
}

func dnsConfigNdots(p *corev1.Pod) (string, bool) {
	if p.Spec.DNSConfig == nil {
		return "", false
	}
	for _, o := range p.Spec.DNSConfig.Options {
		if o.Name == "ndots" && o.Value != nil {
			return *o.Value, true
		}
	}
	return "", false
}

func dnsPolicyOf(p *corev1.Pod) string {
	if p.Spec.DNSPolicy == "" {
		return string(corev1.DNSClusterFirst)
	}
	return string(p.Spec.DNSPolicy)
}

// apiKindTitle turns a lower-case workload kind into its API spelling.
func apiKindTitle(kind string) string {
	switch kind {
	case "deployment":
		return "Deployment"
	case "statefulset":
		return "StatefulSet"
	case "daemonset":
		return "DaemonSet"
	case "replicaset":
		return "ReplicaSet"
	case "job":
		return "Job"
	case "cronjob":
		return "CronJob"
	case "pod":
		return "Pod"
	}
	return kind
}
