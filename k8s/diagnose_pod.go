package k8s

import (
	"fmt"
	"regexp"
	"slices"
	"strings"
	"time"

	corev1 "k8s.io/api/core/v1"

	"github.com/k8flex/k8flex/investigate"
)

// exitMeaning explains the common container exit codes.
func exitMeaning(code int32) string {
	switch code {
	case 0:
		return "exited normally"
	case 1:
		return "the application exited with an error"
	case 2:
		return "invalid arguments, or a Go program's panic"
	case 126:
		return "the command is not executable"
	case 127:
		return "the command was not found in the image"
	case 128 + 9:
		return "killed by SIGKILL (OOM killer or kubelet)"
	case 128 + 15:
		return "terminated by SIGTERM (the kubelet stopped it)"
	case 128 + 6:
		return "aborted (SIGABRT)"
	case 128 + 11:
		return "segmentation fault (SIGSEGV)"
	}
	return ""
}

// lastTermination returns the container's most recent termination: the
// current state when terminated, else the last state.
func lastTermination(cs *corev1.ContainerStatus) *corev1.ContainerStateTerminated {
	if cs.State.Terminated != nil {
		return cs.State.Terminated
	}
	return cs.LastTerminationState.Terminated
}

// livenessKilled reports whether the kubelet restarted the container after
// failed liveness probes (its Killing events say so).
func (d *diag) livenessKilled(p *corev1.Pod, container string) bool {
	for _, e := range d.eventsWithReason(p, "Killing") {
		if strings.Contains(e.Message, "liveness") && strings.Contains(e.Message, container) {
			return true
		}
	}
	return false
}

// diagnoseCrashLoop reports containers that keep exiting with an error:
// exit code, restarts and the last error line of the crashed instance.
// OOM kills and liveness kills have their own rules.
func diagnoseCrashLoop(d *diag) []investigate.Finding {
	var out []investigate.Finding
	var g groups
	type info struct {
		container string
		code      int32
		reason    string
		restarts  int32
		errLine   string
		backoff   bool
	}
	infos := map[string]*info{}
	for _, p := range d.pods {
		for i := range p.Status.ContainerStatuses {
			cs := &p.Status.ContainerStatuses[i]
			t := lastTermination(cs)
			backoff := cs.State.Waiting != nil && cs.State.Waiting.Reason == "CrashLoopBackOff"
			if t == nil || (!backoff && t.ExitCode == 0) || (!backoff && cs.RestartCount == 0) {
				continue
			}
			if t.Reason == "OOMKilled" || d.livenessKilled(p, cs.Name) {
				continue
			}
			lines, prev := d.crashLogs(p, cs.Name)
			errLine := lastErrorLine(lines)
			if errLine == "" {
				errLine = strings.TrimSpace(t.Message) // the runtime's termination message
			}
			key := ownerName(p) + "|" + cs.Name + "|" + fmt.Sprint(t.ExitCode)
			if ownerName(p) == "" {
				key = podKey(p) + "|" + cs.Name
			}
			proof := []string{fmt.Sprintf("%s lastState.terminated: exitCode=%d reason=%s", cs.Name, t.ExitCode, t.Reason)}
			if backoff {
				proof = append(proof, fmt.Sprintf("%s state.waiting: CrashLoopBackOff (restartCount=%d)", cs.Name, cs.RestartCount))
			}
			if errLine != "" {
				src := "log"
				if prev {
					src = "previous log"
				}
				proof = append(proof, fmt.Sprintf("%s %s: %s", p.Name, src, errLine))
			}
			g.add(key, p, proof...)
			if infos[key] == nil {
				infos[key] = &info{container: cs.Name, code: t.ExitCode, reason: t.Reason, restarts: cs.RestartCount, errLine: errLine, backoff: backoff}
			} else if infos[key].errLine == "" {
				infos[key].errLine = errLine
			}
		}
	}
	g.each(func(x *group) {
		in := infos[x.key]
		p := x.pods[0]
		state := "keeps crashing"
		if in.backoff {
			state = "is in CrashLoopBackOff"
		}
		sum := fmt.Sprintf("Container %s of pod %s %s: it exits with exit code %d", in.container, x.names(), state, in.code)
		if in.code == 2 && strings.HasPrefix(in.errLine, "panic:") {
			sum += " (the Go runtime's exit code for a panic)"
		} else if m := exitMeaning(in.code); m != "" {
			sum += " (" + m + ")"
		}
		sum += fmt.Sprintf(", %d restarts", in.restarts)
		detail := ""
		// An application that logs an error and exits 0 failed all the
		// same; only a clean exit without one is a process that completes.
		exitsClean := in.code == 0 && p.Spec.RestartPolicy != corev1.RestartPolicyOnFailure && p.Spec.RestartPolicy != corev1.RestartPolicyNever &&
			(in.errLine == "" || classifyError(in.errLine) == "")
		if exitsClean {
			// A long-running workload whose process completes: the
			// kubelet restarts it, forever.
			sum += ": its main process finishes instead of running on, and with restartPolicy Always the kubelet restarts it"
			if c := containerSpec(p, in.container); c != nil && (len(c.Command) > 0 || len(c.Args) > 0) {
				sum += fmt.Sprintf("; the pod spec overrides the image's entrypoint with command/args %q, which exits when done instead of starting the server", clip(strings.Join(append(append([]string{}, c.Command...), c.Args...), " "), 200))
			}
		}
		if in.errLine != "" {
			sum += "; last error: " + clip(in.errLine, 300)
			if c := classifyError(in.errLine); c != "" {
				detail = "The last error before the exit is " + c + "."
			}
		} else {
			detail = "The log of the crashed instance shows no error line; check the container's command and configuration."
		}
		f := investigate.Finding{
			Rule: "crashloop", Severity: investigate.FindingCritical, Score: scoreSymptom,
			Summary: sum, Detail: detail, Objects: x.refs(), Proof: x.proof,
			Actions: []string{
				fmt.Sprintf("kubectl logs -n %s %s -c %s --previous", p.Namespace, p.Name, in.container),
				fmt.Sprintf("kubectl describe pod -n %s %s", p.Namespace, p.Name),
			},
			Prevention: "Fail fast with a clear error on start-up, and gate rollouts on readiness so a crashing revision does not replace healthy pods.",
			Impact:     fmt.Sprintf("%d %s of %s not serving.", len(x.pods), plural(len(x.pods), "pod", "pods"), workloadOrPod(p)),
		}
		if in.errLine != "" && classifyError(in.errLine) != "" {
			// An application error named in the log is the cause of the exit.
			f.Score = scoreSymptom + 5
		}
		if exitsClean {
			f.Score, f.Category = scoreCause, investigate.PodRestart
		}
		out = append(out, f)
	})
	return out
}

func workloadOrPod(p *corev1.Pod) string {
	if o := ownerName(p); o != "" {
		return o
	}
	return "pod/" + p.Name
}

var errorClasses = []struct {
	re   *regexp.Regexp
	what string
}{
	{regexp.MustCompile(`(?i)access ?denied|not authori[sz]ed|unauthori[sz]ed|forbidden|permission denied|explicit deny|\b403\b|\b401\b`), "an authorization failure (permission denied by the called system)"},
	{regexp.MustCompile(`(?i)certificate (has )?expired|x509: .*expired|certificate verify failed|expired certificate`), "an expired or invalid TLS certificate"},
	{regexp.MustCompile(`(?i)syntax error|unexpected (token|end of file|EOF|"[^"]+")|parse error`), "a syntax error in the command or configuration"},
	{regexp.MustCompile(`(?i)(failed to|cannot|could not|unable to) (get|load|read|parse|decode|unmarshal|validate) (the )?config|invalid config|config(uration)? (is )?invalid|unknown (type|component|exporter|receiver|processor|extension|field|key|option|directive)|has been (deprecated and )?removed|unrecognized (option|field|key)|unknown directive`), "a configuration the program rejects at start-up (a component, key or option it does not know, or no longer supports)"},
	{regexp.MustCompile(`(?i)(environment variable|env var|env)\b.*(not set|missing|required|undefined|empty)|(missing|required) (environment|env)`), "a missing environment variable"},
	{regexp.MustCompile(`(?i)not found in \$?PATH|command not found|executable file not found|exec format error`), "a missing or misspelled executable"},
	{regexp.MustCompile(`(?i)no such file or directory|file not found|cannot open|can't open`), "a missing file"},
	{reDepRefused, "a refused connection to a dependency"},
	{regexp.MustCompile(`(?i)no such host|nxdomain|name or service not known|could not resolve|temporary failure in name resolution|unknownhostexception|server can't find`), "a host name that does not resolve"},
	{regexp.MustCompile(`(?i)i/o timeout|timed out|timeout|deadline exceeded`), "a timeout talking to a dependency"},
	{regexp.MustCompile(`(?i)out of memory|cannot allocate memory|heap space`), "memory exhaustion inside the application"},
	{regexp.MustCompile(`(?i)address already in use|bind: `), "a port already in use"},
}

// classifyError names the kind of an error line in plain words, or "".
func classifyError(line string) string {
	for _, c := range errorClasses {
		if c.re.MatchString(line) {
			return c.what
		}
	}
	return ""
}

// diagnoseOOM reports containers killed by the kernel OOM killer, with
// their memory limit and current usage.
func diagnoseOOM(d *diag) []investigate.Finding {
	var g groups
	type info struct {
		container string
		limit     string
		limitB    int64
		restarts  int32
		usage     []string
		maxPct    int
		// ran is how long the killed instances ran (shortest, longest).
		ranMin, ranMax time.Duration
		// lastLine is what it logged last before a kill.
		lastLine string
	}
	infos := map[string]*info{}
	for _, p := range d.pods {
		for i := range p.Status.ContainerStatuses {
			cs := &p.Status.ContainerStatuses[i]
			t := lastTermination(cs)
			if t == nil || t.Reason != "OOMKilled" {
				continue
			}
			var ran time.Duration
			if !t.StartedAt.IsZero() && t.FinishedAt.After(t.StartedAt.Time) {
				ran = t.FinishedAt.Sub(t.StartedAt.Time)
			}
			key := workloadOrPod(p) + "|" + cs.Name
			proof := []string{oomProof(p, cs, t)}
			in := infos[key]
			if in == nil {
				in = &info{container: cs.Name}
				infos[key] = in
			}
			if in.restarts < cs.RestartCount {
				in.restarts = cs.RestartCount
			}
			if ran > 0 {
				if in.ranMin == 0 || ran < in.ranMin {
					in.ranMin = ran
				}
				in.ranMax = max(in.ranMax, ran)
				proof = append(proof, fmt.Sprintf("%s ran %s (started %s, OOMKilled %s)", cs.Name, shortDuration(ran), t.StartedAt.UTC().Format(time.RFC3339), t.FinishedAt.UTC().Format(time.RFC3339)))
			}
			if c := containerSpec(p, cs.Name); c != nil {
				if q, ok := c.Resources.Limits[corev1.ResourceMemory]; ok {
					in.limit, in.limitB = q.String(), q.Value()
					proof = append(proof, fmt.Sprintf("%s resources.limits.memory: %s", cs.Name, q.String()))
				}
			}
			if u, ok := d.containerUsage(p, cs.Name, corev1.ResourceMemory); ok && in.limitB > 0 {
				pct := int(u.Value() * 100 / in.limitB)
				in.usage = append(in.usage, fmt.Sprintf("%s uses %s (%s, %d%% of the %s limit)", p.Name, fmtBytes(u.Value()), u.String(), pct, in.limit))
				if pct > in.maxPct {
					in.maxPct = pct
				}
				proof = append(proof, fmt.Sprintf("PodMetrics %s %s memory: %s", p.Name, cs.Name, u.String()))
			}
			// The killed instance's log: the previous one of a restarted
			// container, the current one of a container that stays dead
			// (a Job's pod).
			if killedLog, _ := d.crashLogs(p, cs.Name); len(killedLog) > 0 {
				for _, l := range lastLines(killedLog, 1) {
					proof = append(proof, fmt.Sprintf("%s last log line before the kill: %s", p.Name, clip(l, 400)))
					if in.lastLine == "" {
						in.lastLine = clip(l, 300)
					}
				}
			}
			g.add(key, p, proof...)
		}
	}
	var out []investigate.Finding
	g.each(func(x *group) {
		in := infos[x.key]
		p := x.pods[0]
		sum := fmt.Sprintf("Container %s of %s %s was OOMKilled (exit code 137): the kernel killed it when its memory reached the limit", in.container, plural(len(x.pods), "pod", "pods"), x.names())
		if in.limit != "" {
			sum += " of " + in.limit + " (limits.memory)"
		}
		// How long the killed instance ran tells a leak from a limit that
		// is too small for the work at start.
		switch {
		case in.ranMin >= 30*time.Minute:
			sum += fmt.Sprintf(", after running %s: its memory grows steadily until it reaches the limit — a leak or an unbounded cache, not a limit too small at start", shortDuration(in.ranMin))
		case in.ranMax > 0 && in.ranMax < 2*time.Minute:
			sum += fmt.Sprintf(", %s after start: the limit is smaller than what it needs to start and load its data", in.ranMax.Round(time.Second))
		}
		detail := "The out-of-memory kill happens inside the container's cgroup: the process used more memory than its limit allows."
		if in.lastLine != "" {
			detail += " The last line it logged before the kill, what it was doing: \"" + in.lastLine + "\"."
		}
		lrClause, lrProof := d.injectedLimit(p, in.container, corev1.ResourceMemory)
		if lrClause != "" {
			sum += lrClause
		}
		if tmpfs := memoryEmptyDirs(p, in.container); len(tmpfs) > 0 {
			sum += fmt.Sprintf("; its memory-backed emptyDir %s (medium: Memory, tmpfs) counts against that limit: every file written there is memory", strings.Join(tmpfs, ", "))
		}
		if len(in.usage) > 0 {
			detail += " Current usage from PodMetrics: " + strings.Join(in.usage, "; ") + "."
			if in.maxPct >= 85 {
				detail += " Usage is already close to the limit again."
			}
		}
		var proof = x.proof
		if lrProof != "" {
			proof = appendUnique(proof, lrProof)
		}
		for _, n := range uniqueNodes(x.pods) {
			for _, e := range d.events[objKey{"Node", "", n}] {
				if e.Reason == "OOMKilling" {
					proof = appendUnique(proof, "node "+n+": "+evProof(e))
				}
			}
		}
		act := []string{
			fmt.Sprintf("kubectl top pod -n %s %s --containers", p.Namespace, p.Name),
		}
		if in.limit != "" {
			act = append(act, fmt.Sprintf("Raise limits.memory of container %s above its peak (now %s), or reduce what it holds in memory (stream large outputs to disk or object storage instead of buffering them).", in.container, in.limit))
		}
		if lrClause != "" {
			act = append(act, fmt.Sprintf("Set resources.limits.memory of container %s explicitly in its workload's template (sized from its peak) instead of inheriting the namespace's LimitRange default: kubectl get limitrange -n %s -o yaml", in.container, p.Namespace))
		}
		act = append(act, fmt.Sprintf("kubectl logs -n %s %s -c %s --previous   # what it was processing when killed", p.Namespace, p.Name, in.container))
		out = append(out, investigate.Finding{
			Rule: "oom-killed", Severity: investigate.FindingCritical, Score: scoreCause,
			Summary: sum + ".", Detail: detail, Objects: x.refs(), Proof: proof, Actions: act,
			Prevention: "Size memory limits from observed peak usage (VPA recommendations or load tests with the largest inputs) and alert on usage above 80% of the limit.",
			Impact:     oomImpact(p, in.restarts),
		})
	})
	return out
}

// oomProof renders a container's OOM kill as a proof line.
func oomProof(p *corev1.Pod, cs *corev1.ContainerStatus, t *corev1.ContainerStateTerminated) string {
	return fmt.Sprintf("%s %s: terminated reason=OOMKilled exitCode=%d at %s (restartCount=%d)", p.Name, cs.Name, t.ExitCode, t.FinishedAt.UTC().Format("2006-01-02T15:04:05Z"), cs.RestartCount)
}

// oomImpact is the impact of repeated OOM kills of a workload's pods.
func oomImpact(p *corev1.Pod, restarts int32) string {
	return fmt.Sprintf("%s restarts and loses in-flight work each time it is killed (%d restarts so far).", workloadOrPod(p), restarts)
}

func uniqueNodes(ps []*corev1.Pod) []string {
	var out []string
	for _, p := range ps {
		if p.Spec.NodeName != "" {
			out = appendUnique(out, p.Spec.NodeName)
		}
	}
	return out
}

var (
	reImageNotFound = regexp.MustCompile(`(?i)manifest unknown|: not found|notfound|not found: manifest|manifest for .* not found`)
	reImageAuth     = regexp.MustCompile(`(?i)unauthorized|authentication required|pull access denied|access denied|insufficient_scope|denied: |403 forbidden|requested access to the resource is denied`)
	reImageHost     = regexp.MustCompile(`(?i)no such host|server misbehaving|dial tcp: lookup`)
	reImageTimeout  = regexp.MustCompile(`(?i)i/o timeout|context deadline exceeded|tls handshake timeout|connection refused`)
)

// diagnoseImagePull reports containers that cannot pull their image, with
// the registry's reason.
func diagnoseImagePull(d *diag) []investigate.Finding {
	var out []investigate.Finding
	for _, p := range d.pods {
		statuses := append(append([]corev1.ContainerStatus{}, p.Status.InitContainerStatuses...), p.Status.ContainerStatuses...)
		for _, cs := range statuses {
			w := cs.State.Waiting
			if w == nil || (w.Reason != "ErrImagePull" && w.Reason != "ImagePullBackOff" && w.Reason != "InvalidImageName" && w.Reason != "ErrImageNeverPull") {
				continue
			}
			image := cs.Image
			if c := containerSpec(p, cs.Name); c != nil {
				image = c.Image
			}
			msgs := []string{w.Message}
			proof := []string{fmt.Sprintf("%s state.waiting: %s: %s", cs.Name, w.Reason, clip(w.Message, 400))}
			for _, e := range d.eventsWithReason(p, "Failed") {
				if strings.Contains(e.Message, image) || strings.Contains(e.Message, "ImagePull") {
					msgs = append(msgs, e.Message)
					proof = appendUnique(proof, evProof(e))
				}
			}
			all := strings.Join(msgs, "\n")
			repo, tag := splitImage(image)
			var why, act string
			switch {
			case w.Reason == "InvalidImageName":
				why = "the image reference is not a valid image name"
				act = "Fix the image reference in the workload spec."
			case reImageHost.MatchString(all):
				why = fmt.Sprintf("the registry host %s cannot be resolved (no such host): the registry name is wrong or unreachable from the nodes", registryHost(image))
				act = "Correct the registry host in the image reference (or make it resolvable from the nodes)."
			case reImageRateLimit.MatchString(all):
				why, act = d.explainPullRateLimit(p, image, &proof)
			case reImageAuth.MatchString(all):
				why, act = d.explainPullAuth(p, repo, &proof)
			case reImageNotFound.MatchString(all):
				why = fmt.Sprintf("the tag %s does not exist in repository %s (registry answered not found)", tag, repo)
				act = fmt.Sprintf("Push %s, or set the image to a tag that exists.", image)
			case reImageTimeout.MatchString(all):
				why = fmt.Sprintf("the registry %s did not answer in time (network or registry outage)", registryHost(image))
				act = "Check node egress to the registry and the registry's health."
			default:
				// Unclassified: the runtime's own error is the best account.
				detailed := w.Message
				for _, m := range msgs {
					if len(m) > len(detailed) {
						detailed = m
					}
				}
				why = "the image pull fails: " + clip(detailed, 400)
				act = "Check the image reference and registry credentials."
			}
			sum := fmt.Sprintf("Pod %s cannot start container %s because image %s cannot be pulled (%s): %s", podKey(p), cs.Name, image, w.Reason, why)
			detail := ""
			if other := d.siblingImages(p, cs.Name, image); len(other) > 0 {
				detail = fmt.Sprintf("Other pods of %s run %s, so the previous image works; the new reference differs from it.", workloadOrPod(p), strings.Join(other, ", "))
				proof = append(proof, "running pods of the same workload use image "+strings.Join(other, ", "))
			}
			out = append(out, investigate.Finding{
				Rule: "image-pull", Severity: investigate.FindingCritical, Score: scoreCause,
				Summary: sum + ".", Detail: detail, Objects: []string{podRef(p)}, Proof: proof,
				Actions: []string{act,
					fmt.Sprintf("kubectl describe pod -n %s %s", p.Namespace, p.Name),
					rollbackAction(p)},
				Prevention: "Build, push and verify the image tag in CI before the manifest referencing it is deployed; pin images by digest.",
				Impact:     fmt.Sprintf("Pod %s never starts; a rollout of %s is stuck until the image can be pulled.", p.Name, workloadOrPod(p)),
			})
		}
	}
	return out
}

func rollbackAction(p *corev1.Pod) string {
	if o := ownerName(p); strings.HasPrefix(o, "deployment/") {
		return fmt.Sprintf("kubectl rollout undo -n %s %s   # back to the last working revision", p.Namespace, o)
	}
	return fmt.Sprintf("kubectl get events -n %s --field-selector involvedObject.name=%s", p.Namespace, p.Name)
}

// siblingImages returns the images other running pods of the same workload
// use for the container, when they differ from image.
func (d *diag) siblingImages(p *corev1.Pod, container, image string) []string {
	owner := ownerName(p)
	if owner == "" {
		return nil
	}
	var out []string
	for _, q := range d.pods {
		if q == p || q.Namespace != p.Namespace || ownerName(q) != owner || q.Status.Phase != corev1.PodRunning {
			continue
		}
		if c := containerSpec(q, container); c != nil && c.Image != image {
			out = appendUnique(out, c.Image)
		}
	}
	return out
}

// splitImage splits "host/repo:tag" into repository and tag ("latest" when
// none; the digest when pinned by digest).
func splitImage(image string) (repo, tag string) {
	if r, dg, ok := strings.Cut(image, "@"); ok {
		return r, dg
	}
	slash := strings.LastIndex(image, "/")
	if colon := strings.LastIndex(image, ":"); colon > slash {
		return image[:colon], image[colon+1:]
	}
	return image, "latest"
}

// registryHost returns the registry part of an image reference.
func registryHost(image string) string {
	first, _, ok := strings.Cut(image, "/")
	if ok && (strings.ContainsAny(first, ".:") || first == "localhost") {
		return first
	}
	return "docker.io"
}

var (
	reNotFoundRef = regexp.MustCompile(`(configmap|secret|persistentvolumeclaim|serviceaccount)s? "([^"]+)" not found`)
	reMissingKey  = regexp.MustCompile(`couldn't find key (\S+) in (ConfigMap|Secret) ([^/\s]+)/(\S+)`)
)

// diagnoseConfigRefs reports pods that reference ConfigMaps, Secrets or
// keys that do not exist: CreateContainerConfigError, FailedMount, and
// optional volumes mounted empty while the application reads files there.
func diagnoseConfigRefs(d *diag) []investigate.Finding {
	type miss struct {
		kind, ns, name, key string
		how                 string // volume mount, env, envFrom
		path                string // mountPath for volumes
		optional            bool
	}
	var g groups
	misses := map[string]*miss{}
	note := func(p *corev1.Pod, m miss, proof ...string) {
		// An optional volume that mounts empty and a required one that
		// cannot mount are different failures: separate findings.
		k := strings.ToLower(m.kind) + "/" + m.ns + "/" + m.name + "/" + m.key + "/" + fmt.Sprint(m.optional)
		if misses[k] == nil {
			mm := m
			misses[k] = &mm
		} else if misses[k].path == "" {
			misses[k].path = m.path
		}
		g.add(k, p, proof...)
	}
	for _, p := range d.pods {
		// Volumes referencing missing objects.
		for _, v := range p.Spec.Volumes {
			var kind, name string
			var optional bool
			switch {
			case v.ConfigMap != nil:
				kind, name = "ConfigMap", v.ConfigMap.Name
				optional = v.ConfigMap.Optional != nil && *v.ConfigMap.Optional
			case v.Secret != nil:
				kind, name = "Secret", v.Secret.SecretName
				optional = v.Secret.Optional != nil && *v.Secret.Optional
			default:
				continue
			}
			// Optional references are recorded too ("… (optional)"): the
			// volume then mounts empty, which matters when the application
			// fails to read its files there.
			missing, _ := d.lookupMissingRef(strings.ToLower(kind), p.Namespace, name)
			var proof []string
			failedMount := false
			for _, e := range d.eventsWithReason(p, "FailedMount") {
				if strings.Contains(e.Message, fmt.Sprintf("%q not found", name)) {
					missing, failedMount = true, true
					proof = append(proof, fmt.Sprintf("%s: %s", p.Name, evProof(e)))
				}
			}
			path := mountPathOf(p, v.Name)
			// A required volume of a running pod was mounted when it started:
			// its object's absence now matters only at the next start.
			// A pod the scheduler has not placed yet has not tried to mount it.
			if !missing || (!optional && !failedMount && (p.Status.Phase == corev1.PodRunning || p.Spec.NodeName == "")) {
				continue
			}
			if optional && !failedMount && !d.logsMention(p, path) {
				continue
			}
			m := miss{kind: kind, ns: p.Namespace, name: name, how: "volume " + v.Name, path: path, optional: optional}
			if optional {
				proof = append(proof, fmt.Sprintf("%s volume %q: %s %s (optional: true) mounted at %s", p.Name, v.Name, strings.ToLower(kind), name, path))
				// The app then finds an empty directory; its log says so.
				for _, c := range p.Spec.Containers {
					lines, _ := d.crashLogs(p, c.Name)
					for _, l := range errorLines(lines, 5) {
						if path != "" && strings.Contains(l, path) {
							proof = appendUnique(proof, fmt.Sprintf("%s log: %s", p.Name, clip(l, 300)))
						}
					}
				}
			}
			note(p, m, proof...)
		}
		// env / envFrom references.
		for _, c := range append(append([]corev1.Container{}, p.Spec.InitContainers...), p.Spec.Containers...) {
			for _, ef := range c.EnvFrom {
				if ef.ConfigMapRef != nil && d.missingRef("configmap", p.Namespace, ef.ConfigMapRef.Name) {
					note(p, miss{kind: "ConfigMap", ns: p.Namespace, name: ef.ConfigMapRef.Name, how: "envFrom of container " + c.Name})
				}
				if ef.SecretRef != nil && d.missingRef("secret", p.Namespace, ef.SecretRef.Name) {
					note(p, miss{kind: "Secret", ns: p.Namespace, name: ef.SecretRef.Name, how: "envFrom of container " + c.Name})
				}
			}
			for _, e := range c.Env {
				if e.ValueFrom == nil {
					continue
				}
				if r := e.ValueFrom.ConfigMapKeyRef; r != nil && d.missingRef("configmap", p.Namespace, r.Name) {
					note(p, miss{kind: "ConfigMap", ns: p.Namespace, name: r.Name, how: "env " + e.Name + " of container " + c.Name})
				}
				if r := e.ValueFrom.SecretKeyRef; r != nil && d.missingRef("secret", p.Namespace, r.Name) {
					note(p, miss{kind: "Secret", ns: p.Namespace, name: r.Name, how: "env " + e.Name + " of container " + c.Name})
				}
			}
		}
		// CreateContainerConfigError messages name the object or key.
		for _, cs := range append(append([]corev1.ContainerStatus{}, p.Status.InitContainerStatuses...), p.Status.ContainerStatuses...) {
			w := cs.State.Waiting
			if w == nil || w.Reason != "CreateContainerConfigError" {
				continue
			}
			proof := fmt.Sprintf("%s %s state.waiting: CreateContainerConfigError: %s", p.Name, cs.Name, w.Message)
			if m := reMissingKey.FindStringSubmatch(w.Message); m != nil {
				note(p, miss{kind: m[2], ns: m[3], name: m[4], key: m[1], how: "env of container " + cs.Name}, proof)
			} else if m := reNotFoundRef.FindStringSubmatch(w.Message); m != nil {
				note(p, miss{kind: kindTitle(m[1]), ns: p.Namespace, name: m[2], how: "container " + cs.Name}, proof)
			} else {
				note(p, miss{kind: "configuration", ns: p.Namespace, name: cs.Name, how: w.Message}, proof)
			}
		}
	}
	var out []investigate.Finding
	g.each(func(x *group) {
		m := misses[x.key]
		p := x.pods[0]
		var sum string
		if m.key != "" {
			sum = fmt.Sprintf("Key %s is missing from %s %s/%s, referenced by the %s of pod %s", m.key, m.kind, m.ns, m.name, m.how, x.names())
		} else {
			sum = fmt.Sprintf("%s %s/%s does not exist (not found), but %s %s %s it (%s", m.kind, m.ns, m.name,
				plural(len(x.pods), "pod", "pods"), x.names(), plural(len(x.pods), "references", "reference"), m.how)
			if m.path != "" {
				sum += " mounted at " + m.path
			}
			sum += ")"
			if m.optional {
				sum += "; because the volume is optional the pod starts with an empty directory and the application finds no configuration there"
			} else if strings.HasPrefix(m.how, "volume") {
				sum += "; the volume cannot be mounted (FailedMount)"
			} else {
				sum += "; the container cannot be created (CreateContainerConfigError)"
			}
		}
		proof := x.proof
		// Other pods the kubelet cannot mount the same object for confirm
		// that it is absent, independently of the lookup.
		for _, e := range d.otherFailedMounts(x.pods, m.kind, m.ns, m.name) {
			proof = appendUnique(proof, fmt.Sprintf("%s %s: %s", strings.ToLower(e.InvolvedObject.Kind), e.InvolvedObject.Name, evProof(e)))
		}
		detail := ""
		if sim := d.similarConfigNames(m.kind, m.ns, m.name); len(sim) > 0 {
			detail = fmt.Sprintf("%s %s with a similar name %s in namespace %s: was the object renamed without updating the pods that reference it?",
				plural(len(sim), "A "+m.kind, m.kind+"s"), strings.Join(sim, ", "), plural(len(sim), "exists", "exist"), m.ns)
		}
		// What the kubelet itself reports missing (FailedMount,
		// CreateContainerConfigError) outranks a reference our own lookup
		// did not find: the first is why the pod fails, the second may be
		// an object the snapshot simply lacks.
		score := scoreRootCause
		if len(proof) == 0 {
			score = scoreRootCause - 8
		}
		// A required object that is missing keeps the container from ever
		// being created (ContainerCreating, CreateContainerConfigError); an
		// optional one lets it start and crash on the empty configuration.
		cat := investigate.PodPending
		if m.optional {
			cat = investigate.PodCrash
		}
		out = append(out, investigate.Finding{
			Rule: "missing-config", Severity: investigate.FindingCritical, Score: score, Category: cat,
			Summary: sum + ".", Detail: detail, Objects: append([]string{strings.ToLower(m.kind) + "/" + m.ns + "/" + m.name}, x.refs()...),
			Proof: proof,
			Actions: []string{
				fmt.Sprintf("kubectl get %s -n %s   # is %s there, or was it renamed?", strings.ToLower(m.kind), m.ns, m.name),
				fmt.Sprintf("Recreate %s %s/%s, or point the %s of %s at the object that now holds the configuration, then restart the pods.", m.kind, m.ns, m.name, m.how, workloadOrPod(p)),
			},
			Prevention: "Deploy configuration together with the workloads that use it (same chart/kustomization), reference ConfigMaps by content hash, and avoid optional: true for configuration the application cannot start without.",
			Impact:     fmt.Sprintf("Pods of %s that reference it cannot start; running pods keep old configuration only until they restart.", workloadOrPod(p)),
		})
	})
	return out
}

// otherFailedMounts returns the FailedMount events of pods other than
// pods (at most two) whose message says the kind/ns/name object is not
// found.
func (d *diag) otherFailedMounts(pods []*corev1.Pod, kind, ns, name string) []*corev1.Event {
	want := fmt.Sprintf("%s %q not found", strings.ToLower(kind), name)
	var out []*corev1.Event
	for i := range d.s.Events {
		e := &d.s.Events[i]
		if len(out) == 2 || e.Reason != "FailedMount" || e.InvolvedObject.Kind != "Pod" || e.InvolvedObject.Namespace != ns || !strings.Contains(e.Message, want) {
			continue
		}
		if !slices.ContainsFunc(pods, func(p *corev1.Pod) bool { return p.Name == e.InvolvedObject.Name }) {
			out = append(out, e)
		}
	}
	return out
}

// logsMention reports whether an error line of the pod's (crashed) logs
// names path.
func (d *diag) logsMention(p *corev1.Pod, path string) bool {
	if path == "" {
		return false
	}
	for _, c := range p.Spec.Containers {
		lines, _ := d.crashLogs(p, c.Name)
		for _, l := range errorLines(lines, 5) {
			if strings.Contains(l, path) {
				return true
			}
		}
	}
	return false
}

func kindTitle(s string) string {
	switch s {
	case "configmap":
		return "ConfigMap"
	case "secret":
		return "Secret"
	case "persistentvolumeclaim":
		return "PersistentVolumeClaim"
	case "serviceaccount":
		return "ServiceAccount"
	}
	return s
}

func mountPathOf(p *corev1.Pod, volume string) string {
	for _, c := range p.Spec.Containers {
		for _, vm := range c.VolumeMounts {
			if vm.Name == volume {
				return vm.MountPath
			}
		}
	}
	return ""
}

// similarConfigNames returns ConfigMaps in ns whose names share the
// missing name's prefix (before its last dash) — candidates for a rename.
func (d *diag) similarConfigNames(kind, ns, name string) []string {
	if kind != "ConfigMap" {
		return nil
	}
	prefix := name
	if i := strings.LastIndex(name, "-"); i > 0 {
		prefix = name[:i+1]
	}
	var out []string
	for _, cm := range d.s.ConfigMaps {
		if cm.Namespace == ns && cm.Name != name && strings.HasPrefix(cm.Name, prefix) {
			out = append(out, cm.Name)
		}
	}
	return out
}

// diagnoseProbes reports failing liveness and readiness probes: the probe
// (command or URL), the failure message and its consequence.
func diagnoseProbes(d *diag) []investigate.Finding {
	var out []investigate.Finding
	for _, kind := range []string{"Liveness", "Readiness", "Startup"} {
		var g groups
		msgs := map[string]string{}
		for _, p := range d.pods {
			for _, e := range d.eventsWithReason(p, "Unhealthy") {
				// "failed": the check ran and said no; "errored": the
				// kubelet could not run it (an exec command missing).
				if !strings.HasPrefix(e.Message, kind+" probe failed") && !strings.HasPrefix(e.Message, kind+" probe errored") {
					continue
				}
				// Container name: the only container, or the one whose probe kind is set.
				c := probedContainer(p, kind)
				if c == nil {
					continue
				}
				key := workloadOrPod(p) + "|" + c.Name
				g.add(key, p, fmt.Sprintf("%s: %s", p.Name, evProof(e)))
				msgs[key] = strings.TrimPrefix(strings.TrimPrefix(e.Message, kind+" probe failed: "), kind+" probe errored: ")
			}
		}
		g.each(func(x *group) {
			p := x.pods[0]
			_, cname, _ := strings.Cut(x.key, "|")
			c := containerSpec(p, cname)
			pr := probeOf(c, kind)
			desc := diagProbe(pr, c)
			f := investigate.Finding{
				Severity: investigate.FindingWarning, Objects: x.refs(), Proof: x.proof,
			}
			// What the application says at the time of the failures.
			var appErr []string
			for _, q := range x.pods {
				lines, _ := d.crashLogs(q, cname)
				if kind == "Readiness" {
					lines = d.logs(q.Namespace, q.Name, cname, false)
				}
				appErr = appendUnique(appErr, errorLines(lines, 2)...)
				if len(appErr) >= 2 {
					break
				}
			}
			switch kind {
			case "Liveness", "Startup":
				var restarts, code int32
				killed := false
				for _, q := range x.pods {
					for _, cs := range q.Status.ContainerStatuses {
						if cs.Name == cname {
							restarts = max(restarts, cs.RestartCount)
							if t := lastTermination(&cs); t != nil {
								code = t.ExitCode
							}
						}
					}
					if d.livenessKilled(q, cname) {
						killed = true
					}
				}
				for _, q := range x.pods {
					for _, e := range d.eventsWithReason(q, "Killing") {
						if strings.Contains(e.Message, "probe") {
							f.Proof = appendUnique(f.Proof, fmt.Sprintf("%s: %s", q.Name, evProof(e)))
						}
					}
				}
				f.Rule, f.Severity, f.Score = "liveness-probe", investigate.FindingCritical, scoreCause
				f.Summary = fmt.Sprintf("The %s probe of container %s in pod %s fails (%s: %s)", strings.ToLower(kind), cname, x.names(), desc, msgs[x.key])
				if fault := probeDesignFault(msgs[x.key], pr, c); fault != "" {
					f.Summary += ": " + fault
					f.Score = scoreCause + 2
				}
				if killed {
					f.Summary += fmt.Sprintf(", so the kubelet kills and restarts the container (%d restarts, last exit code %d", restarts, code)
					if m := exitMeaning(code); m != "" && code > 128 {
						f.Summary += ", " + m
					}
					f.Summary += ")"
				}
				f.Detail = "A liveness probe should only fail when the process itself is broken; here it fails although the container starts."
				if len(appErr) > 0 {
					f.Detail += " At the time of the failures the application logs: " + strings.Join(quoteAll(appErr), " / ") +
						" — the probed endpoint reports a dependency's failure, so the kubelet restarts a process that restarting cannot fix."
				}
				f.Actions = []string{
					fmt.Sprintf("kubectl describe pod -n %s %s   # probe settings and Unhealthy events", p.Namespace, p.Name),
					"Point the liveness probe at an endpoint that checks only the process itself (not databases, caches or other dependencies); keep dependency checks in the readiness probe.",
					"Fix or restore the dependency named in the log.",
				}
				f.Prevention = "Keep liveness probes free of external dependencies; use readiness probes (and circuit breakers) for dependencies; set failureThreshold/timeoutSeconds from measured response times."
				f.Impact = fmt.Sprintf("Each restart of %s drops in-flight requests and its warm-up time is lost.", workloadOrPod(p))
			case "Readiness":
				f.Rule, f.Score = "readiness-probe", scoreMechanism
				notReady := 0
				for _, q := range x.pods {
					if !podReady(q) {
						notReady++
					}
				}
				if notReady == 0 {
					// Failures during start-up of pods that are Ready now
					// explain nothing that is still broken.
					f.Score, f.Severity = scoreContext, investigate.FindingInfo
					f.Summary = fmt.Sprintf("The readiness probe of container %s failed earlier on %d %s (%s: %s), but %s Ready now",
						cname, len(x.pods), plural(len(x.pods), "pod", "pods"), desc, msgs[x.key], plural(len(x.pods), "the pod is", "the pods are"))
					out = append(out, f)
					return
				}
				f.Summary = fmt.Sprintf("The readiness probe of container %s fails on %d %s (%s: %s), so %s not ready and removed from its Service's endpoints",
					cname, len(x.pods), plural(len(x.pods), "pod", "pods"), desc, msgs[x.key], plural(notReady, "the pod is", "the pods are"))
				if fault := probeDesignFault(msgs[x.key], pr, c); fault != "" {
					f.Summary += ": " + fault
					f.Score, f.Severity = scoreCause, investigate.FindingCritical
				}
				if len(appErr) > 0 {
					f.Detail = "The application logs why it reports not ready: " + strings.Join(quoteAll(appErr), " / ")
					f.Proof = appendUnique(f.Proof, appErr...)
				}
				f.Actions = []string{
					fmt.Sprintf("kubectl logs -n %s %s -c %s", p.Namespace, p.Name, cname),
					d.endpointSlicesCommand(p),
				}
				f.Prevention = "Alert on the condition the readiness check depends on before it makes every replica unready at once."
				f.Impact = "Traffic is not routed to pods that are not ready; with all replicas unready the Service serves nothing."
			}
			out = append(out, f)
		})
	}
	return out
}

func quoteAll(xs []string) []string {
	out := make([]string, len(xs))
	for i, x := range xs {
		out[i] = "\"" + clip(x, 300) + "\""
	}
	return out
}

func probedContainer(p *corev1.Pod, kind string) *corev1.Container {
	for i := range p.Spec.Containers {
		if probeOf(&p.Spec.Containers[i], kind) != nil {
			return &p.Spec.Containers[i]
		}
	}
	if len(p.Spec.Containers) == 1 {
		return &p.Spec.Containers[0]
	}
	return nil
}

func probeOf(c *corev1.Container, kind string) *corev1.Probe {
	if c == nil {
		return nil
	}
	switch kind {
	case "Liveness":
		return c.LivenessProbe
	case "Readiness":
		return c.ReadinessProbe
	}
	return c.StartupProbe
}

// diagProbe renders a probe for people: "HTTP GET /path on port http".
func diagProbe(pr *corev1.Probe, _ *corev1.Container) string {
	if pr == nil {
		return "probe"
	}
	switch {
	case pr.HTTPGet != nil:
		return fmt.Sprintf("HTTP GET %s on port %s", pr.HTTPGet.Path, pr.HTTPGet.Port.String())
	case pr.Exec != nil:
		return "exec " + strings.Join(pr.Exec.Command, " ")
	case pr.TCPSocket != nil:
		return "TCP connect to port " + pr.TCPSocket.Port.String()
	case pr.GRPC != nil:
		return fmt.Sprintf("gRPC health check on port %d", pr.GRPC.Port)
	}
	return "probe"
}

// diagnoseInitContainers reports init containers that fail, which keeps the
// pod's main containers from ever starting.
func diagnoseInitContainers(d *diag) []investigate.Finding {
	var out []investigate.Finding
	for _, p := range d.pods {
		for _, cs := range p.Status.InitContainerStatuses {
			t := lastTermination(&cs)
			backoff := cs.State.Waiting != nil && cs.State.Waiting.Reason == "CrashLoopBackOff"
			if t == nil || t.ExitCode == 0 {
				continue
			}
			lines, _ := d.crashLogs(p, cs.Name)
			errLine := lastErrorLine(lines)
			if errLine == "" {
				errLine = strings.TrimSpace(t.Message) // the runtime's termination message
			}
			proof := []string{fmt.Sprintf("init container %s: terminated exitCode=%d reason=%s restartCount=%d", cs.Name, t.ExitCode, t.Reason, cs.RestartCount)}
			if backoff {
				proof = append(proof, "init container "+cs.Name+" state.waiting: CrashLoopBackOff")
			}
			sum := fmt.Sprintf("Init container %s of pod %s fails with exit code %d", cs.Name, podKey(p), t.ExitCode)
			if m := exitMeaning(t.ExitCode); m != "" {
				sum += " (" + m + ")"
			}
			if errLine != "" {
				sum += ": " + clip(errLine, 300)
				proof = append(proof, cs.Name+" log: "+errLine)
			}
			if c := classifyError(errLine); c != "" {
				sum += " — " + c
			}
			sum += "; the pod's main containers never start"
			cmd := ""
			if c := containerSpec(p, cs.Name); c != nil {
				cmd = strings.Join(append(append([]string{}, c.Command...), c.Args...), " ")
				if cmd != "" {
					proof = append(proof, fmt.Sprintf("init container %s command: %s", cs.Name, clip(cmd, 300)))
				}
			}
			out = append(out, investigate.Finding{
				Rule: "init-container", Severity: investigate.FindingCritical, Score: scoreCause,
				Summary: sum + ".", Objects: []string{podRef(p)}, Proof: proof,
				Detail: "An init container must exit 0 before the next one (and then the app containers) can start.",
				Actions: []string{
					fmt.Sprintf("kubectl logs -n %s %s -c %s --previous", p.Namespace, p.Name, cs.Name),
					"Fix the init container's command/image (the error above), then let the pod restart.",
				},
				Prevention: "Test init scripts in CI with the same image; use images that contain the tools the script calls.",
				Impact:     fmt.Sprintf("%s never becomes ready.", workloadOrPod(p)),
			})
		}
	}
	return out
}

// endpointSlicesCommand lists the EndpointSlices of the Services that
// select pod p (all of the namespace's when none is known).
func (d *diag) endpointSlicesCommand(p *corev1.Pod) string {
	var names []string
	for i := range d.s.Services {
		svc := &d.s.Services[i]
		if svc.Namespace == p.Namespace && len(svc.Spec.Selector) > 0 && selects(svc.Spec.Selector, p.Labels) {
			names = append(names, svc.Name)
		}
	}
	if len(names) == 0 {
		return fmt.Sprintf("kubectl get endpointslices -n %s -o wide", p.Namespace)
	}
	return fmt.Sprintf("kubectl get endpointslices -n %s -l 'kubernetes.io/service-name in (%s)' -o wide", p.Namespace, strings.Join(names, ","))
}

// reMissingPullSecrets finds the kubelet's list of imagePullSecrets it
// could not read ("Unable to retrieve some image pull secrets (a, b)").
var reMissingPullSecrets = regexp.MustCompile(`(?i)unable to retrieve (?:some )?image pull secrets? \(([^)]+)\)`)

// explainPullAuth explains a registry's refusal from the pod's
// imagePullSecrets: named but missing (the kubelet says so), none at all
// (the pull is anonymous), or present but not accepted.
func (d *diag) explainPullAuth(p *corev1.Pod, repo string, proof *[]string) (why, act string) {
	var missing []string
	for _, e := range d.podEvents(p) {
		if m := reMissingPullSecrets.FindStringSubmatch(e.Message); m != nil {
			for _, n := range strings.Split(m[1], ",") {
				missing = appendUnique(missing, strings.TrimSpace(n))
			}
			*proof = appendUnique(*proof, evProof(e))
		}
	}
	var named []string
	for _, s := range p.Spec.ImagePullSecrets {
		named = append(named, s.Name)
	}
	refused := fmt.Sprintf("the registry refused access to %s (unauthorized / pull access denied)", repo)
	switch {
	case len(missing) > 0:
		why = fmt.Sprintf("%s: the pod's imagePullSecret %s does not exist in namespace %s, so the kubelet pulls without credentials", refused, joinNames(missing), p.Namespace)
		act = fmt.Sprintf("Create the pull secret in %s (kubectl create secret docker-registry %s -n %s --docker-server=... ) or point spec.imagePullSecrets of %s at the namespace's existing registry secret.",
			p.Namespace, missing[0], p.Namespace, workloadOrPod(p))
	case len(named) == 0:
		why = fmt.Sprintf("%s: the pod has no imagePullSecrets, so the pull is anonymous, and the repository is private or does not exist", refused)
		act = fmt.Sprintf("Add an imagePullSecret with access to %s to the pod spec of %s (or to its ServiceAccount), or check that the repository exists.", repo, workloadOrPod(p))
	default:
		why = fmt.Sprintf("%s although the pod names imagePullSecrets %s: their credentials do not grant access (wrong registry, expired token), or the repository does not exist", refused, joinNames(named))
		act = fmt.Sprintf("Check that repository %s exists and that the registry accepts the credentials in %s (renew the token).", repo, joinNames(named))
	}
	return why, act
}

// shortDuration renders d to the minute ("5h55m", "1h", "40m"), or to
// the second when shorter than a minute.
func shortDuration(d time.Duration) string {
	if d < time.Minute {
		return d.Round(time.Second).String()
	}
	s := strings.TrimSuffix(d.Round(time.Minute).String(), "0s")
	if strings.HasSuffix(s, "h0m") {
		s = strings.TrimSuffix(s, "0m")
	}
	return s
}

var reProbeRefusedPort = regexp.MustCompile(`dial tcp [^:\s]+:(\d+): connect: connection refused`)

// probeDesignFault names a fault of the probe itself that its failure
// message proves, or "": an HTTP path the application answers 404 for, a
// port nothing listens on while the container declares others, a
// timeoutSeconds the endpoint cannot meet.
func probeDesignFault(msg string, pr *corev1.Probe, c *corev1.Container) string {
	if pr == nil {
		return ""
	}
	lower := strings.ToLower(msg)
	switch {
	case pr.Exec != nil && len(pr.Exec.Command) > 0 && (strings.Contains(lower, "executable file not found") || strings.Contains(lower, "no such file or directory")):
		image := ""
		if c != nil {
			image = " " + c.Image
		}
		return fmt.Sprintf("the probe's exec command %q does not exist in the container's image%s, so the probe can never succeed", pr.Exec.Command[0], image)
	case pr.HTTPGet != nil && strings.Contains(lower, "statuscode: 404"):
		return fmt.Sprintf("the application does not serve the probe's path %s (404 Not Found), so the probe's path is wrong for this version of the application", pr.HTTPGet.Path)
	case reProbeRefusedPort.MatchString(msg) && c != nil:
		port := reProbeRefusedPort.FindStringSubmatch(msg)[1]
		var declared []string
		for _, cp := range c.Ports {
			if fmt.Sprint(cp.ContainerPort) == port {
				return ""
			}
			declared = append(declared, fmt.Sprintf("%d", cp.ContainerPort))
		}
		if len(declared) == 0 {
			return ""
		}
		return fmt.Sprintf("nothing listens on the probed port %s, while the container declares port %s: the probe targets the wrong port", port, strings.Join(declared, ", "))
	case (strings.Contains(lower, "deadline exceeded") || strings.Contains(lower, "timeout")) && pr.TimeoutSeconds > 0 && pr.TimeoutSeconds <= 1:
		return fmt.Sprintf("the probe gives the endpoint timeoutSeconds: %d, less than it takes to answer", pr.TimeoutSeconds)
	}
	return ""
}

// memoryEmptyDirs names the container's mounts of emptyDir volumes with
// medium Memory ("scratch at /scratch, no sizeLimit"): tmpfs pages are
// charged to the container's memory cgroup.
func memoryEmptyDirs(p *corev1.Pod, container string) []string {
	c := containerSpec(p, container)
	if c == nil {
		return nil
	}
	var out []string
	for _, v := range p.Spec.Volumes {
		if v.EmptyDir == nil || v.EmptyDir.Medium != corev1.StorageMediumMemory {
			continue
		}
		for _, m := range c.VolumeMounts {
			if m.Name != v.Name {
				continue
			}
			limit := "no sizeLimit"
			if v.EmptyDir.SizeLimit != nil {
				limit = "sizeLimit " + v.EmptyDir.SizeLimit.String()
			}
			out = append(out, fmt.Sprintf("%s at %s (%s)", v.Name, m.MountPath, limit))
		}
	}
	return out
}
