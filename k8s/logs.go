package k8s

import (
	"context"
	"errors"
	"slices"

	"golang.org/x/sync/errgroup"
	corev1 "k8s.io/api/core/v1"
)

// maxLogPods bounds how many investigated pods have their logs read.
const maxLogPods = 3

// maxLogBytes bounds what is read of one container log.
const maxLogBytes = 256 << 10

// LogSource reads the tail of one container's log: the current instance's,
// or the previous (terminated) instance's when previous is true.
type LogSource interface {
	Logs(ctx context.Context, namespace, pod, container string, previous bool, tailLines int) (string, error)
}

// noLogs is the LogSource of a Gatherer given none.
type noLogs struct{}

func (noLogs) Logs(context.Context, string, string, string, bool, int) (string, error) {
	return "", errors.New("no log source configured")
}

// logRequest is one container log to read.
type logRequest struct {
	ns, pod, container string
	previous, init     bool
}

// logRequests lists the logs worth reading for a pod: every container that
// has run (init containers included) and the previous instance of every
// container that restarted or terminated.
func logRequests(p *corev1.Pod) []logRequest {
	var out []logRequest
	add := func(statuses []corev1.ContainerStatus, init bool) {
		for _, cs := range statuses {
			ran := cs.State.Running != nil || cs.State.Terminated != nil
			hadPrevious := cs.RestartCount > 0 || cs.LastTerminationState.Terminated != nil
			if ran || (hadPrevious && cs.State.Waiting != nil) {
				out = append(out, logRequest{ns: p.Namespace, pod: p.Name, container: cs.Name, init: init})
			}
			if hadPrevious {
				out = append(out, logRequest{ns: p.Namespace, pod: p.Name, container: cs.Name, init: init, previous: true})
			}
		}
	}
	add(p.Status.InitContainerStatuses, true)
	add(p.Status.ContainerStatuses, false)
	return out
}

// collectLogs reads the logs of the first investigated pods, compacted and
// redacted. A log that cannot be read becomes a Gap; the others are kept.
func collectLogs(ctx context.Context, r *run) error {
	pods, _ := r.podsSnapshot()
	pods = logPods(pods)
	var reqs []logRequest
	for i := range pods {
		reqs = append(reqs, logRequests(&pods[i])...)
	}
	logs := r.readLogs(ctx, "logs", reqs)
	r.mu.Lock()
	r.snap.Logs = append(r.snap.Logs, logs...)
	r.mu.Unlock()
	return nil
}

// logPods picks the pods whose logs are read: the first maxLogPods (most
// troubled first). When none of them shows trouble, the last slot goes to
// the newest pod beyond them: pods a scale-up or a rollout just created
// meet what the older ones do not (a dependency's limits, new config).
func logPods(pods []corev1.Pod) []corev1.Pod {
	if len(pods) <= maxLogPods {
		return pods
	}
	out := slices.Clone(pods[:maxLogPods])
	for i := range out {
		if podTrouble(&out[i]) > 0 {
			return out
		}
	}
	newest := -1
	for i := maxLogPods - 1; i < len(pods); i++ {
		if newest < 0 || pods[i].CreationTimestamp.After(pods[newest].CreationTimestamp.Time) {
			newest = i
		}
	}
	out[maxLogPods-1] = pods[newest]
	return out
}

// addLogs adds logs to the snapshot, but for those it already holds
// (same container of the same pod, same previous/current run).
func (r *run) addLogs(logs []ContainerLog) {
	r.mu.Lock()
	defer r.mu.Unlock()
	for _, l := range logs {
		if !slices.ContainsFunc(r.snap.Logs, func(x ContainerLog) bool {
			return x.Namespace == l.Namespace && x.Pod == l.Pod && x.Container == l.Container && x.Previous == l.Previous
		}) {
			r.snap.Logs = append(r.snap.Logs, l)
		}
	}
}

// readLogs fetches the logs concurrently and returns them in request order.
func (r *run) readLogs(ctx context.Context, collector string, reqs []logRequest) []ContainerLog {
	out := make([]*ContainerLog, len(reqs))
	var eg errgroup.Group
	eg.SetLimit(collectorParallelism)
	for i, q := range reqs {
		eg.Go(func() error {
			r.count(1)
			raw, err := r.g.logs.Logs(ctx, q.ns, q.pod, q.container, q.previous, r.g.budget.LogLines)
			if err != nil {
				r.gap(collector, err)
				return nil
			}
			out[i] = &ContainerLog{Namespace: q.ns, Pod: q.pod, Container: q.container, Previous: q.previous, Init: q.init,
				Lines: CompactLog(raw, r.g.budget.SectionBytes)}
			return nil
		})
	}
	_ = eg.Wait()
	logs := make([]ContainerLog, 0, len(out))
	for _, l := range out {
		if l != nil {
			logs = append(logs, *l)
		}
	}
	return logs
}
