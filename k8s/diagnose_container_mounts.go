package k8s

import (
	"fmt"
	"regexp"
	"strings"

	corev1 "k8s.io/api/core/v1"

	"github.com/k8flex/k8flex/investigate"
)

var (
	reMountNotDir      = regexp.MustCompile(`(?i)not a directory|mount a directory onto a file|mount a file onto a directory|is a directory`)
	reMountPropagation = regexp.MustCompile(`(?i)not a shared mount|not a shared or slave mount|mount propagation|bidirectional`)
	reMountNoSuchFile  = regexp.MustCompile(`(?i)no such file or directory|does not exist`)
	reHostPathCheck    = regexp.MustCompile(`(?i)hostPath type check failed: (\S+) is not an? (\w+)`)
	reMountTarget      = regexp.MustCompile(`(?:rootfs at|mount(?:ing)? (?:point|to)?|to) "?(/[^" :]+)"?`)
)

// diagnoseContainerMounts explains containers the runtime cannot create
// or start (CreateContainerError, RunContainerError, StartError) because
// of a volume mount: a subPath mounting a file over a directory or the
// reverse, a hostPath that does not exist or is of the wrong type, a
// mountPropagation the host mount does not allow. The explanation names
// the volumeMount (mountPath, subPath) and the volume's source.
func diagnoseContainerMounts(d *diag) []investigate.Finding {
	var out []investigate.Finding
	for _, p := range d.pods {
		statuses := append(append([]corev1.ContainerStatus{}, p.Status.InitContainerStatuses...), p.Status.ContainerStatuses...)
		for _, cs := range statuses {
			msg, reason := "", ""
			if w := cs.State.Waiting; w != nil && (w.Reason == "CreateContainerError" || w.Reason == "RunContainerError") {
				msg, reason = w.Message, w.Reason
			} else if t := lastTermination(&cs); t != nil && (t.Reason == "StartError" || t.Reason == "ContainerCannotRun") {
				msg, reason = t.Message, t.Reason
			}
			var proof []string
			if reason != "" {
				proof = append(proof, fmt.Sprintf("%s %s: %s", cs.Name, reason, clip(msg, 400)))
			}
			for _, e := range d.eventsWithReason(p, "Failed", "FailedMount") {
				if reMountNotDir.MatchString(e.Message) || reMountPropagation.MatchString(e.Message) || reHostPathCheck.MatchString(e.Message) {
					proof = appendUnique(proof, evProof(e))
					if msg == "" || e.Reason == "FailedMount" && reHostPathCheck.MatchString(e.Message) {
						msg = e.Message
					}
				}
			}
			if msg == "" {
				continue
			}
			c := containerSpec(p, cs.Name)
			if c == nil {
				continue
			}
			if f, ok := d.mountFinding(p, c, msg, proof); ok {
				out = append(out, f)
			}
		}
	}
	return out
}

func (d *diag) mountFinding(p *corev1.Pod, c *corev1.Container, msg string, proof []string) (investigate.Finding, bool) {
	vol := func(name string) *corev1.Volume {
		for i := range p.Spec.Volumes {
			if p.Spec.Volumes[i].Name == name {
				return &p.Spec.Volumes[i]
			}
		}
		return nil
	}
	// The mount the message names: by mountPath, else the one with a
	// subPath, else with propagation, else a hostPath.
	var vm *corev1.VolumeMount
	target := ""
	if m := reMountTarget.FindStringSubmatch(msg); m != nil {
		target = m[1]
	}
	for i := range c.VolumeMounts {
		x := &c.VolumeMounts[i]
		if target != "" && strings.TrimSuffix(x.MountPath, "/") == strings.TrimSuffix(target, "/") {
			vm = x
		}
	}
	pick := func(ok func(*corev1.VolumeMount) bool) {
		for i := range c.VolumeMounts {
			if vm == nil && ok(&c.VolumeMounts[i]) {
				vm = &c.VolumeMounts[i]
			}
		}
	}
	var why, act string
	switch {
	case reHostPathCheck.MatchString(msg):
		m := reHostPathCheck.FindStringSubmatch(msg)
		pick(func(x *corev1.VolumeMount) bool {
			v := vol(x.Name)
			return v != nil && v.HostPath != nil && v.HostPath.Path == m[1]
		})
		why = fmt.Sprintf("hostPath %s on node %s is not a %s (the volume's hostPath type requires it to exist as one)", m[1], p.Spec.NodeName, m[2])
		act = fmt.Sprintf("Create %s on the node (or set hostPath type DirectoryOrCreate/FileOrCreate), or schedule the pod only on nodes that have it.", m[1])
	case reMountPropagation.MatchString(msg):
		pick(func(x *corev1.VolumeMount) bool { return x.MountPropagation != nil })
		why = "the volumeMount asks for mount propagation that the host mount does not allow: Bidirectional and HostToContainer need the host path on a shared (or slave) mount, and Bidirectional also a privileged container"
		act = "Make the host mount shared (mount --make-rshared, or the runtime's MountFlags=shared), or drop mountPropagation from the volumeMount."
	case reMountNotDir.MatchString(msg):
		pick(func(x *corev1.VolumeMount) bool { return x.SubPath != "" || x.SubPathExpr != "" })
		why = "the mount puts a file over a directory (or a directory over a file): with subPath the mount has the type of the volume's entry, which must match what the image has at mountPath"
		act = "Make mountPath name a file when subPath names a file (e.g. mountPath /etc/app/config.yaml with subPath config.yaml), or drop subPath and mount the whole volume on a directory."
	case reMountNoSuchFile.MatchString(msg):
		pick(func(x *corev1.VolumeMount) bool { v := vol(x.Name); return v != nil && v.HostPath != nil })
		if vm == nil {
			pick(func(x *corev1.VolumeMount) bool { return x.SubPath != "" })
		}
		if vm == nil {
			return investigate.Finding{}, false // a missing binary or file of the image: other rules explain it
		}
		why = "the path to mount does not exist"
		act = "Create the source path (host directory or the volume's subPath entry), or fix the volumeMount."
	default:
		return investigate.Finding{}, false
	}
	mount := ""
	if vm != nil {
		mount = fmt.Sprintf("volumeMount %s at mountPath %s", vm.Name, vm.MountPath)
		if vm.SubPath != "" {
			mount += " with subPath " + vm.SubPath
		}
		if vm.MountPropagation != nil {
			mount += " with mountPropagation " + string(*vm.MountPropagation)
		}
		if v := vol(vm.Name); v != nil {
			src := volumeSource(*v)
			if v.HostPath != nil && v.HostPath.Type != nil && *v.HostPath.Type != "" {
				src += " type " + string(*v.HostPath.Type)
			}
			mount += " (volume source: " + src + ")"
		}
		proof = append(proof, fmt.Sprintf("container %s %s", c.Name, mount))
	}
	sum := fmt.Sprintf("The runtime cannot create container %s of pod %s", c.Name, podKey(p))
	if mount != "" {
		sum += " because of its " + mount
	}
	sum += ": " + why
	return investigate.Finding{
		Rule: "container-mount", Severity: investigate.FindingCritical, Score: scoreCause + 5, Category: investigate.PodPending,
		Summary: sum + ".", Objects: []string{podRef(p)}, Proof: proof,
		Actions:    []string{act, fmt.Sprintf("kubectl get pod -n %s %s -o jsonpath='{.spec.containers[?(@.name==\"%s\")].volumeMounts}'", p.Namespace, p.Name, c.Name)},
		Detail:     "The kubelet bind-mounts each volume (or its subPath entry) at mountPath when the runtime creates the container; a mount the runtime cannot make fails the container's creation (CreateContainerError / RunContainerError) and the kubelet retries with back-off.",
		Impact:     fmt.Sprintf("Container %s never starts; %s is not serving.", c.Name, workloadOrPod(p)),
		Prevention: "Start the pod spec in a test cluster before release; mount ConfigMap keys with items/subPath onto file paths only.",
	}, true
}
