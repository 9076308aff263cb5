package k8s

import (
	"context"
	"errors"
	"strings"

	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
)

// maxNamespacePending bounds the unscheduled pods read from the
// namespace's FailedScheduling events.
const maxNamespacePending = 3

// devicePluginDir is where the kubelet's device-plugin registration socket
// lives: a device plugin mounts it to advertise an extended resource.
const devicePluginDir = "/var/lib/kubelet/device-plugins"

// collectUnscheduled follows two links that start at a pod the scheduler
// cannot place. When none of the target's own pods is in trouble (the
// alert is about a healthy-looking service whose work is not done), the
// pods the namespace's FailedScheduling warnings name are read as
// related pods, with the nodes they were refused by. When a pod of the
// graph requests an extended resource (vendor.example/device), the
// DaemonSets that mount the kubelet's device-plugin directory are read:
// they advertise such resources on the nodes they run on.
func collectUnscheduled(ctx context.Context, r *run) error {
	pods, related := r.podsSnapshot()
	troubled := false
	for i := range pods {
		troubled = troubled || podTrouble(&pods[i]) > 0
	}
	var errs []error
	var added []corev1.Pod
	if !troubled && r.ns != "" {
		evs, err := r.listEvents(ctx, r.ns)
		if err != nil {
			return err
		}
		var names []string
		for _, e := range evs {
			io := e.InvolvedObject
			if e.Reason != "FailedScheduling" || io.Kind != "Pod" || io.Namespace != r.ns || len(names) >= maxNamespacePending {
				continue
			}
			if !hasPodNamed(pods, related, io.Name) && !strings.Contains(strings.Join(names, ","), io.Name) {
				names = append(names, io.Name)
			}
		}
		for _, name := range names {
			p, err := cachedRead(ctx, r, "pod/"+r.ns+"/"+name, func(ctx context.Context) (*corev1.Pod, error) {
				return readOne[corev1.Pod](ctx, r.g.api, resPods, r.ns, name)
			})
			switch {
			case apierrors.IsNotFound(err):
			case err != nil:
				errs = append(errs, wrapGet("pod", r.ns, name, err))
			case p.Spec.NodeName == "" && p.Status.Phase == corev1.PodPending:
				added = append(added, *p.DeepCopy())
			}
		}
		if len(added) > 0 {
			r.addRelated(added...)
			nodes, err := r.listNodes(ctx)
			if err != nil {
				errs = append(errs, err)
			} else {
				if len(nodes) > maxNodes {
					nodes = nodes[:maxNodes]
				}
				r.addNodes(nodes...)
			}
		}
	}
	extended := false
	for _, p := range append(append(pods, related...), added...) {
		for res := range podRequests(&p) {
			extended = extended || isExtendedResource(res)
		}
	}
	if extended {
		all, err := listNamespace(ctx, r, resDaemonSets, "", func(l *appsv1.DaemonSetList) []appsv1.DaemonSet { return l.Items })
		if err != nil {
			errs = append(errs, err)
		}
		var plugins []appsv1.DaemonSet
		for _, ds := range all {
			if mountsDevicePlugins(&ds.Spec.Template.Spec) {
				plugins = append(plugins, ds)
			}
		}
		r.mu.Lock()
		for _, ds := range plugins {
			dup := false
			for _, have := range r.snap.DaemonSets {
				dup = dup || (have.Namespace == ds.Namespace && have.Name == ds.Name)
			}
			if !dup {
				r.snap.DaemonSets = append(r.snap.DaemonSets, ds)
			}
		}
		r.mu.Unlock()
	}
	return errors.Join(errs...)
}

func hasPodNamed(a, b []corev1.Pod, name string) bool {
	for _, l := range [][]corev1.Pod{a, b} {
		for _, p := range l {
			if p.Name == name {
				return true
			}
		}
	}
	return false
}

// isExtendedResource reports whether a resource name is an extended
// resource: a domain-prefixed name outside kubernetes.io, which only a
// device plugin (or an operator patching node status) advertises.
func isExtendedResource(res corev1.ResourceName) bool {
	s := string(res)
	dom, _, ok := strings.Cut(s, "/")
	return ok && dom != "kubernetes.io" && !strings.HasSuffix(dom, ".kubernetes.io") && !strings.HasPrefix(s, "requests.")
}

// mountsDevicePlugins reports whether a pod spec mounts the kubelet's
// device-plugin directory from the host.
func mountsDevicePlugins(spec *corev1.PodSpec) bool {
	for _, v := range spec.Volumes {
		if v.HostPath != nil && strings.TrimRight(v.HostPath.Path, "/") == devicePluginDir {
			return true
		}
	}
	return false
}
