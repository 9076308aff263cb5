package k8s

import (
	"fmt"
	"regexp"
	"strings"

	corev1 "k8s.io/api/core/v1"
)

// reOutputRefused is a shipper, queue or agent saying its destination does
// not take its data, so it keeps (buffers, spools, retries) what it could
// not send: HTTP 429/503 answers, flush/send failures with retries, full
// or growing buffers and backlogs.
var reOutputRefused = regexp.MustCompile(`(?i)\b(429|503)\b|too many requests|failed to (flush|send|deliver|write to output|ship)|retry(ing)? in \d|will retry|backpressure|back-pressure|buffer (is )?(full|overflow)|queue (is )?full|backlog|spool|chunks? .*(up|down|busy)|flood[- ]stage|read-only-allow-delete|request entity too large`)

// hostSystemPaths are host directories agents read or that hold the node's
// own state; writing a buffer there is not the agent's own choice of path.
var hostSystemPaths = []string{"/proc", "/sys", "/dev", "/run", "/var/run", "/etc", "/lib/modules", "/usr", "/var/lib/kubelet", "/var/lib/docker/containers", "/var/log/pods", "/var/log/containers", "/var/log"}

// hostDiskWriter rates a pod that writes to its node's disk outside its
// container's writable layer — a writable hostPath of its own (not a
// system directory it merely reads) or a disk-backed emptyDir without a
// sizeLimit — and whose log says its destination refuses its output, so
// what it cannot deliver accumulates on the node. The score is 0 when
// either half is missing.
func (d *diag) hostDiskWriter(p *corev1.Pod) (score int, why, proof []string) {
	where := hostDiskMounts(p)
	if len(where) == 0 {
		return 0, nil, nil
	}
	var refused []string
	for _, c := range p.Spec.Containers {
		for _, l := range d.logs(p.Namespace, p.Name, c.Name, false) {
			if reOutputRefused.MatchString(l) && len(refused) < 3 {
				refused = appendUnique(refused, podKey(p)+": "+clip(strings.TrimSpace(l), 260))
			}
		}
	}
	if len(refused) == 0 {
		return 0, nil, nil
	}
	owner := ownerName(p)
	who := "it"
	if owner != "" {
		who = owner
	}
	why = append(why, fmt.Sprintf("%s buffers to the node's disk through %s because its destination refuses its output (its log shows failed sends, retries and a growing backlog)", who, strings.Join(where, ", ")))
	return 4, why, refused
}

func systemHostPath(path string) bool {
	path = strings.TrimSuffix(path, "/")
	for _, s := range hostSystemPaths {
		if path == s || (s != "/var/log" && strings.HasPrefix(path, s+"/")) {
			return true
		}
	}
	return path == "" || path == "/" || path == "/var" || path == "/var/lib"
}

// hostBufferActions are the steps for a pod that buffers on its node's
// disk: restarting it frees nothing (a hostPath outlives the pod), the
// destination must take data again and the buffer needs a bound.
func hostBufferActions(ns, pod, node string) []string {
	return []string{
		fmt.Sprintf("kubectl -n %s logs %s --tail=100   # why its destination refuses the output (HTTP 429/503, a full or read-only index, auth)", ns, pod),
		"Make the destination accept data again (free its storage, lift its read-only/flood-stage block, raise its rate limit); the backlog then drains.",
		fmt.Sprintf("Bound the on-disk buffer in the agent's configuration (a total size limit for its storage/spool, dropping the oldest data when full) so a refusing destination cannot fill node %s; deleting the pod frees nothing while the buffer lives on the host.", node),
	}
}
