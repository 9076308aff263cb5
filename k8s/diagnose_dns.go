package k8s

import (
	"fmt"
	"regexp"
	"strings"

	corev1 "k8s.io/api/core/v1"

	"github.com/k8flex/k8flex/investigate"
)

var (
	reDNSLoop = regexp.MustCompile(`plugin/loop: Loop \(([^)]*)\) detected`)
	// reDNSUpstreamPeer is the upstream a CoreDNS error names ("read udp
	// LOCAL->UPSTREAM:53: i/o timeout").
	reDNSUpstreamPeer = regexp.MustCompile(`->(\[?[0-9A-Fa-f.:]+?\]?):53\b`)
	reDNSUpstream     = regexp.MustCompile(`(?i)\[ERROR\] plugin/(errors|forward).*(i/o timeout|connection refused|no such host|SERVFAIL|network is unreachable)`)
	reForward         = regexp.MustCompile(`(?m)^\s*forward\s+(\S+)\s+([^{\n]+)`)
	reResolvConf      = regexp.MustCompile(`(?m)^resolvConf:\s*(\S+)`)
	reClientDNS       = regexp.MustCompile(`lookup (\S+) on ([0-9.]+):53: .*(i/o timeout|connection refused|server misbehaving)`)
)

// dnsPods returns the cluster DNS pods known to the snapshot.
func (d *diag) dnsPods() []*corev1.Pod {
	var out []*corev1.Pod
	for _, p := range d.pods {
		if p.Namespace == "kube-system" && isDNSPod(p) {
			out = append(out, p)
		}
	}
	return out
}

// diagnoseDNS reports CoreDNS failures (crash loops, the loop plugin,
// upstream errors) with the Corefile's forward target.
func diagnoseDNS(d *diag) []investigate.Finding {
	pods := d.dnsPods()
	if len(pods) == 0 {
		return nil
	}
	corefile := ""
	if d.s.DNS != nil {
		corefile = d.s.DNS.Corefile
	}
	for _, cm := range d.s.ConfigMaps {
		if cm.Namespace == "kube-system" && cm.Name == "coredns" && corefile == "" {
			corefile = cm.Data["Corefile"]
		}
	}
	forward := ""
	if m := reForward.FindStringSubmatch(corefile); m != nil {
		forward = fmt.Sprintf("forward %s %s", m[1], strings.TrimSpace(m[2]))
	}
	// silent are the upstream resolvers CoreDNS's own errors name.
	var loopLines, upstream, names, crashing, nodes, silent []string
	for _, p := range pods {
		names = append(names, p.Name)
		for _, cs := range p.Status.ContainerStatuses {
			if (cs.State.Waiting != nil && cs.State.Waiting.Reason == "CrashLoopBackOff") || (cs.RestartCount > 0 && !cs.Ready) {
				crashing = appendUnique(crashing, p.Name)
			}
			for _, prev := range []bool{true, false} {
				for _, l := range d.logs(p.Namespace, p.Name, cs.Name, prev) {
					if reDNSLoop.MatchString(l) {
						loopLines = appendUnique(loopLines, p.Name+": "+strings.TrimSpace(l))
					}
					if reDNSUpstream.MatchString(l) {
						if len(upstream) < 3 {
							upstream = appendUnique(upstream, p.Name+": "+strings.TrimSpace(l))
						}
						if m := reDNSUpstreamPeer.FindStringSubmatch(l); m != nil && strings.Contains(l, "i/o timeout") {
							silent = appendUnique(silent, m[1])
						}
					}
				}
			}
		}
		if n := d.node(p.Spec.NodeName); n != nil {
			nodes = appendUnique(nodes, fmt.Sprintf("%s (%s)", n.Name, n.Status.NodeInfo.OSImage))
		}
	}
	svcName := "kube-dns"
	if d.s.DNS != nil && d.s.DNS.Service != nil {
		svcName = d.s.DNS.Service.Name
	}
	ready, notReady, seen := d.endpointCounts("kube-system", svcName)
	var clientProof []string
	for _, l := range d.s.Logs {
		for _, line := range l.Lines {
			if len(clientProof) < 2 && strings.Contains(line, "lookup ") && reClientDNS.MatchString(line) {
				clientProof = appendUnique(clientProof, l.Pod+": "+clip(line, 300))
			}
		}
	}
	resolvConf := ""
	for _, cm := range d.s.ConfigMaps {
		if m := reResolvConf.FindStringSubmatch(cm.Data["kubelet"]); m != nil {
			resolvConf = m[1]
		}
	}
	var out []investigate.Finding
	common := []string{}
	if seen {
		common = append(common, fmt.Sprintf("service kube-system/%s endpoints: %d ready, %d not ready", svcName, ready, notReady))
	}
	common = append(common, clientProof...)
	impact := "Name resolution inside the cluster fails or times out for every workload; calls to other Services by name fail."
	switch {
	case len(loopLines) > 0:
		sum := fmt.Sprintf("CoreDNS pods %s crash-loop because the loop plugin detects a forwarding loop: CoreDNS forwards queries to itself and exits", joinNames(crashingOr(crashing, names)))
		if forward != "" {
			sum += fmt.Sprintf(". The Corefile has \"%s\", so upstream queries go to the resolvers in the node's resolv.conf", forward)
			if resolvConf != "" {
				sum += fmt.Sprintf(" (kubelet resolvConf: %s)", resolvConf)
			}
			sum += ", and one of those resolvers sends the queries back to CoreDNS"
			if loopbackResolvConf(resolvConf) {
				sum += fmt.Sprintf(" (%s is a local stub resolver on the node, which CoreDNS cannot use from inside its pod)", resolvConf)
			}
		}
		detail := "The loop plugin sends a random query and exits when it sees it come back to itself."
		if len(nodes) > 0 {
			detail += " Nodes running CoreDNS: " + strings.Join(nodes, ", ") + "; check whether their resolv.conf changed with the node image."
		}
		if seen && ready == 0 {
			detail += fmt.Sprintf(" The %s Service has no ready endpoints, so lookups to the cluster DNS IP time out in all applications.", svcName)
		}
		out = append(out, investigate.Finding{
			Rule: "dns-loop", Severity: investigate.FindingCritical, Score: scoreRootCause + 5,
			Summary: sum + ".", Detail: detail, Objects: podRefsOf(pods),
			Proof: append(append(loopLines[:min(len(loopLines), 2):min(len(loopLines), 2)], forwardProof(forward, resolvConf)...), common...),
			Actions: []string{
				"Point the kubelet's resolvConf at the real upstream list (on systemd-resolved hosts: resolvConf: /run/systemd/resolve/resolv.conf) and restart the kubelet, or set the Corefile's forward to explicit upstream IPs instead of /etc/resolv.conf.",
				"kubectl -n kube-system rollout restart deployment coredns   # after fixing the upstream",
				"kubectl -n kube-system logs -l k8s-app=kube-dns --previous",
			},
			Prevention: "Pin the kubelet's resolvConf in the node image build and test DNS (and CoreDNS start-up) on every new node image before rolling it out.",
			Impact:     impact,
		})
	case len(upstream) > 0:
		sum := fmt.Sprintf("CoreDNS pods %s cannot reach their upstream resolvers", joinNames(names))
		if forward != "" {
			sum += fmt.Sprintf(" (Corefile: \"%s\")", forward)
		}
		if len(silent) > 0 {
			sum += ": its queries to upstream " + strings.Join(silent, ", ") + " on port 53 get no answer"
			if forward != "" && strings.HasPrefix(strings.TrimSpace(strings.TrimPrefix(forward, "forward ")), ".") && !strings.Contains(forward, "resolv.conf") {
				sum += ", so the forward targets are stale or unreachable from the nodes"
			}
		}
		out = append(out, investigate.Finding{
			Rule: "dns-upstream", Severity: investigate.FindingCritical, Score: scoreRootCause,
			Summary: sum + ": external names fail while cluster names may still resolve.", Objects: podRefsOf(pods),
			Proof:   append(append(upstream, forwardProof(forward, resolvConf)...), common...),
			Actions: []string{upstreamAction(upstream, forward)},
			Impact:  impact,
		})
	case len(crashing) > 0:
		var errs []string
		for _, p := range pods {
			for _, cs := range p.Status.ContainerStatuses {
				lines, _ := d.crashLogs(p, cs.Name)
				if e := lastErrorLine(lines); e != "" {
					errs = appendUnique(errs, p.Name+": "+e)
				}
			}
		}
		out = append(out, investigate.Finding{
			Rule: "dns-crash", Severity: investigate.FindingCritical, Score: scoreRootCause,
			Summary: fmt.Sprintf("CoreDNS pods %s are crash-looping, so cluster DNS is down", joinNames(crashing)), Objects: podRefsOf(pods),
			Proof:   append(errs, common...),
			Actions: []string{"kubectl -n kube-system logs -l k8s-app=kube-dns --previous", "kubectl -n kube-system get configmap coredns -o yaml   # a Corefile syntax error stops CoreDNS"},
			Impact:  impact,
		})
	case seen && ready == 0:
		out = append(out, investigate.Finding{
			Rule: "dns-no-endpoints", Severity: investigate.FindingCritical, Score: scoreRootCause,
			Summary: fmt.Sprintf("The cluster DNS Service kube-system/%s has no ready endpoints: DNS lookups time out", svcName),
			Objects: podRefsOf(pods), Proof: common,
			Actions: []string{"kubectl -n kube-system get pods -l k8s-app=kube-dns -o wide"},
			Impact:  impact,
		})
	}
	return out
}

func crashingOr(crashing, all []string) []string {
	if len(crashing) > 0 {
		return crashing
	}
	return all
}

func forwardProof(forward, resolvConf string) []string {
	var out []string
	if forward != "" {
		out = append(out, "Corefile: "+forward)
	}
	if resolvConf != "" {
		out = append(out, "kubelet-config resolvConf: "+resolvConf)
	}
	return out
}

func podRefsOf(ps []*corev1.Pod) []string {
	out := make([]string, 0, len(ps))
	for _, p := range ps {
		out = append(out, podRef(p))
	}
	return out
}

// loopbackResolvConf reports whether the kubelet's resolvConf is the file
// of a node-local stub resolver (systemd-resolved writes its loopback
// stub address into stub-resolv.conf): from inside a pod, that address is
// the pod itself.
func loopbackResolvConf(path string) bool {
	return strings.Contains(path, "stub-resolv.conf")
}

// upstreamAction is how to test the upstream resolvers CoreDNS cannot
// reach: the addresses its errors name, else those of its forward line.
func upstreamAction(upstream []string, forward string) string {
	var ips []string
	for _, l := range upstream {
		for _, m := range reHostPort.FindAllStringSubmatch(l, -1) {
			if m[2] == "53" && reIP.MatchString(m[1]) {
				ips = appendUnique(ips, m[1])
			}
		}
	}
	if len(ips) == 0 {
		for _, f := range strings.Fields(forward) {
			if reIP.MatchString(f) {
				ips = appendUnique(ips, strings.TrimSuffix(f, ":53"))
			}
		}
	}
	if len(ips) == 0 {
		return "Check the upstream resolvers named by the Corefile's forward line from a node (dig @RESOLVER example.com with each resolver of the node's resolv.conf) and the nodes' egress to them on port 53."
	}
	var digs []string
	for _, ip := range ips {
		digs = append(digs, "dig @"+ip+" example.com")
	}
	return fmt.Sprintf("From a node, query the upstream resolvers CoreDNS forwards to (%s) and check the nodes' egress to them on UDP/TCP port 53.", strings.Join(digs, "; "))
}
