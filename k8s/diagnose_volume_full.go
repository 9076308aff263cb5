package k8s

import (
	"fmt"
	"regexp"
	"strings"

	corev1 "k8s.io/api/core/v1"

	"github.com/k8flex/k8flex/investigate"
)

var (
	// reNoSpace is the kernel's ENOSPC as programs print it (strerror,
	// Go's syscall text, Node's code, Java's IOException).
	reNoSpace = regexp.MustCompile(`(?i)no space left on device|\bENOSPC\b|disk quota exceeded|\bEDQUOT\b`)
	// reQuotedPath is the file a line names: quoted, or an absolute path.
	reQuotedPath = regexp.MustCompile(`["'\x60]([^"'\x60\s]*/[^"'\x60\s]*)["'\x60]|(?:^|[\s=:(])(/[A-Za-z0-9._/-]+)`)
)

// filler is what a path on a full volume says occupies it.
var fillers = []struct {
	re   *regexp.Regexp
	what string
}{
	{regexp.MustCompile(`(?i)pg_wal|pg_xlog|xlogtemp`), "PostgreSQL's write-ahead log (WAL): segments are kept while a replication slot is not consumed (an inactive or lagging replica or CDC consumer), WAL archiving fails, or checkpoints fall behind"},
	{regexp.MustCompile(`(?i)binlog|-bin\.\d+|relay-log|relay-bin`), "MySQL's binary/relay logs: they are kept until expired (binlog_expire_logs_seconds) or purged after the replicas read them"},
	{regexp.MustCompile(`(?i)/wal/|\bwal\b|\.wal\b|journal|commitlog|redo`), "the write-ahead log/journal: it grows when it cannot be truncated (a consumer, replica or checkpoint behind)"},
	{regexp.MustCompile(`(?i)appendonly|\.aof\b|dump\.rdb`), "Redis persistence files (AOF/RDB)"},
	{regexp.MustCompile(`(?i)\.log\b|/logs?/`), "log files written to the volume"},
	{regexp.MustCompile(`(?i)/tmp/|tmp|temp`), "temporary files"},
}

// diagnoseVolumeFull reports a container whose own log says its writes
// fail with ENOSPC ("No space left on device") and names the volume the
// written path lies on: a PVC (named with its size and class), an emptyDir
// (the node's disk or its sizeLimit), a hostPath, or the container's
// writable layer. What the path is (WAL, binlog, logs) says what fills it.
func diagnoseVolumeFull(d *diag) []investigate.Finding {
	var out []investigate.Finding
	seen := map[string]bool{}
	for _, p := range d.pods {
		for _, c := range p.Spec.Containers {
			line, path := noSpaceLine(d, p, c.Name)
			if line == "" {
				continue
			}
			vol, mount := volumeForPath(p, &c, path)
			if vol == nil {
				continue
			}
			key := workloadOrPod(p) + "/" + c.Name
			if seen[key] {
				continue
			}
			seen[key] = true
			out = append(out, d.volumeFullFinding(p, &c, vol, mount, path, line))
		}
	}
	return out
}

// noSpaceLine returns the container's last ENOSPC line (previous instance
// first: that is where a crash loop's reason is) and the path it names.
func noSpaceLine(d *diag, p *corev1.Pod, container string) (line, path string) {
	for _, prev := range []bool{true, false} {
		lines := d.logs(p.Namespace, p.Name, container, prev)
		for i := len(lines) - 1; i >= 0; i-- {
			if !reNoSpace.MatchString(lines[i]) {
				continue
			}
			l := strings.TrimSpace(lines[i])
			if m := reQuotedPath.FindStringSubmatch(l); m != nil {
				path = m[1] + m[2]
			}
			return l, path
		}
	}
	return "", ""
}

// volumeForPath returns the pod volume the path lies on and its mount: an
// absolute path by the longest mountPath prefix; a relative one (programs
// print paths relative to their data directory) by the only persistent
// volume the container writes to, else the only writable one.
func volumeForPath(p *corev1.Pod, c *corev1.Container, path string) (*corev1.Volume, *corev1.VolumeMount) {
	vol := func(name string) *corev1.Volume {
		for i := range p.Spec.Volumes {
			if p.Spec.Volumes[i].Name == name {
				return &p.Spec.Volumes[i]
			}
		}
		return nil
	}
	writable := func(vm corev1.VolumeMount) bool {
		v := vol(vm.Name)
		return v != nil && !vm.ReadOnly && v.ConfigMap == nil && v.Secret == nil && v.Projected == nil && v.DownwardAPI == nil
	}
	if strings.HasPrefix(path, "/") {
		var best *corev1.VolumeMount
		for i := range c.VolumeMounts {
			vm := &c.VolumeMounts[i]
			mp := strings.TrimSuffix(vm.MountPath, "/")
			if (path == mp || strings.HasPrefix(path, mp+"/")) && writable(*vm) && (best == nil || len(mp) > len(best.MountPath)) {
				best = vm
			}
		}
		if best != nil {
			return vol(best.Name), best
		}
	}
	var pvc, other []*corev1.VolumeMount
	for i := range c.VolumeMounts {
		vm := &c.VolumeMounts[i]
		if !writable(*vm) {
			continue
		}
		if v := vol(vm.Name); v.PersistentVolumeClaim != nil || v.Ephemeral != nil {
			pvc = append(pvc, vm)
		} else {
			other = append(other, vm)
		}
	}
	switch {
	case len(pvc) == 1:
		return vol(pvc[0].Name), pvc[0]
	case len(pvc) == 0 && len(other) == 1:
		return vol(other[0].Name), other[0]
	}
	return nil, nil
}

func (d *diag) volumeFullFinding(p *corev1.Pod, c *corev1.Container, v *corev1.Volume, vm *corev1.VolumeMount, path, line string) investigate.Finding {
	owner := workloadOrPod(p)
	where := fmt.Sprintf("container %s of pod %s/%s", c.Name, p.Namespace, p.Name)
	if o := ownerName(p); o != "" {
		where += " (" + o + ")"
	}
	state := "fails to write"
	for _, cs := range p.Status.ContainerStatuses {
		if cs.Name == c.Name && (cs.RestartCount > 0 || (cs.State.Waiting != nil && cs.State.Waiting.Reason == "CrashLoopBackOff")) {
			state = fmt.Sprintf("crashes (%d restarts)", cs.RestartCount)
		}
	}
	objs := []string{podRef(p)}
	var what, volDesc, action string
	switch {
	case v.PersistentVolumeClaim != nil || v.Ephemeral != nil:
		claim := p.Name + "-" + v.Name // generic ephemeral volume naming
		if v.PersistentVolumeClaim != nil {
			claim = v.PersistentVolumeClaim.ClaimName
		}
		volDesc = fmt.Sprintf("PVC %s/%s", p.Namespace, claim)
		objs = append(objs, "persistentvolumeclaim/"+p.Namespace+"/"+claim)
		expandable := ""
		for _, pvc := range d.s.PVCs {
			if pvc.Namespace != p.Namespace || pvc.Name != claim {
				continue
			}
			size := pvc.Status.Capacity[corev1.ResourceStorage]
			if size.IsZero() {
				size = pvc.Spec.Resources.Requests[corev1.ResourceStorage]
			}
			var bits []string
			if !size.IsZero() {
				bits = append(bits, size.String())
			}
			if pvc.Spec.StorageClassName != nil && *pvc.Spec.StorageClassName != "" {
				bits = append(bits, "class "+*pvc.Spec.StorageClassName)
				for _, sc := range d.s.StorageClasses {
					if sc.Name == *pvc.Spec.StorageClassName && sc.AllowVolumeExpansion != nil {
						if *sc.AllowVolumeExpansion {
							expandable = " (its StorageClass allows expansion)"
						} else {
							expandable = " (its StorageClass does not allow expansion: move the data to a bigger volume)"
						}
					}
				}
			}
			if len(bits) > 0 {
				volDesc += " (" + strings.Join(bits, ", ") + ")"
			}
		}
		what = "its PersistentVolumeClaim is full"
		bigger := "a larger size"
		for _, pvc := range d.s.PVCs {
			if pvc.Namespace == p.Namespace && pvc.Name == claim {
				if q := pvc.Status.Capacity[corev1.ResourceStorage]; !q.IsZero() {
					q.Add(q) // double it
					bigger = q.String()
				}
			}
		}
		action = fmt.Sprintf(`kubectl -n %s patch pvc %s -p '{"spec":{"resources":{"requests":{"storage":"%s"}}}}'   # expand the volume (here: double it)%s`, p.Namespace, claim, bigger, expandable)
	case v.EmptyDir != nil:
		volDesc = "emptyDir " + v.Name
		if v.EmptyDir.SizeLimit != nil {
			volDesc += " (sizeLimit " + v.EmptyDir.SizeLimit.String() + ")"
		}
		if v.EmptyDir.Medium == corev1.StorageMediumMemory {
			volDesc += " in memory (tmpfs, counted against the container's memory limit)"
		} else {
			volDesc += fmt.Sprintf(" on node %s's disk", p.Spec.NodeName)
		}
		what = "its emptyDir volume is full"
		action = "Raise the emptyDir sizeLimit or move the data to a PVC; clean what the program leaves there."
	case v.HostPath != nil:
		volDesc = fmt.Sprintf("hostPath %s on node %s", v.HostPath.Path, p.Spec.NodeName)
		what = "the node's filesystem behind its hostPath volume is full"
		action = fmt.Sprintf("Free space on node %s under %s, and bound what the program keeps there.", p.Spec.NodeName, v.HostPath.Path)
	default:
		volDesc = "volume " + v.Name
		what = "its volume is full"
		action = "Give the volume more space or remove what fills it."
	}
	file := ""
	if path != "" {
		file = fmt.Sprintf(" writing %s", path)
	}
	sum := fmt.Sprintf("%s %s because %s: its log says \"No space left on device\"%s, which lies on volume %s mounted at %s = %s",
		strings.ToUpper(where[:1])+where[1:], state, what, file, v.Name, vm.MountPath, volDesc)
	filledBy := ""
	for _, f := range fillers {
		if f.re.MatchString(path) || (path == "" && f.re.MatchString(line)) {
			filledBy = f.what
			break
		}
	}
	if filledBy != "" {
		sum += "; the space is taken by " + filledBy
	}
	actions := []string{
		fmt.Sprintf("kubectl -n %s exec %s -c %s -- df -h %s; kubectl -n %s exec %s -c %s -- du -sh %s/*   # what fills the volume (if the container stays up long enough)", p.Namespace, p.Name, c.Name, vm.MountPath, p.Namespace, p.Name, c.Name, strings.TrimSuffix(vm.MountPath, "/")),
		action,
	}
	if strings.Contains(filledBy, "PostgreSQL") {
		actions = append(actions, "After it starts: SELECT slot_name, active, pg_size_pretty(pg_wal_lsn_diff(pg_current_wal_lsn(), restart_lsn)) FROM pg_replication_slots;   # drop or catch up an inactive slot; check archive_command failures in pg_stat_archiver")
	}
	return investigate.Finding{
		Rule: "volume-full", Severity: investigate.FindingCritical, Score: scoreRootCause,
		Summary: sum + ".",
		Objects: append(objs, owner),
		Proof:   []string{p.Name + ": " + clip(line, 300), fmt.Sprintf("container %s mounts volume %s at %s: %s", c.Name, v.Name, vm.MountPath, volDesc)},
		Actions: actions,
		Impact:  fmt.Sprintf("%s cannot write; everything that depends on it (its Service's callers) fails until space is freed.", owner),
		Prevention: "Alert on the volume's fill level (kubelet_volume_stats_available_bytes / capacity) well before it is full, and bound " +
			"what grows on it (retention, replication-slot limits such as max_slot_wal_keep_size, log rotation).",
	}
}
