package k8s

import (
	"cmp"
	"fmt"
	"regexp"
	"slices"
	"strings"

	corev1 "k8s.io/api/core/v1"

	"github.com/k8flex/k8flex/investigate"
)

// An appError is one class of failure a container reports about itself
// (in its log or in the runtime's termination or waiting message) whose
// explanation lies in an object K8flex can read: the image and the node's
// architecture, the container's command or environment, its
// ServiceAccount's permissions, a certificate's dates, a file path and the
// volume mounted there. Calls to other services are the dependency rule's.
type appError struct {
	rule string
	// hints are lower-case words one of which every match contains: a
	// cheap filter before the regexp, which logs of thousands of lines
	// would otherwise pay on every line.
	hints []string
	re    *regexp.Regexp
	// explain turns the match into the finding's summary (naming the
	// object and the bad value), detail and actions; ok=false when the
	// spec contradicts this explanation.
	explain func(d *diag, e *appErrorSite) (sum, detail string, actions []string, ok bool)
}

// appErrorSite is where an appError was seen.
type appErrorSite struct {
	p       *corev1.Pod
	c       *corev1.Container
	line    string
	m       []string
	failing bool // the container is crash-looping, terminated in error or cannot start
}

var appErrors = []appError{
	{"app-exec-format", []string{"exec format"}, regexp.MustCompile(`(?i)exec format error`), explainExecFormat},
	{"app-exec-not-found", []string{"not found"}, regexp.MustCompile(`(?i)exec: "([^"]+)": (?:executable file not found in \$PATH|stat [^:]+: no such file or directory)|"([^"]+)": executable file not found|(?:^|\s|/)([\w.+-]+): (?:command )?not found\s*$`), explainExecNotFound},
	{"app-rbac-forbidden", []string{"system:serviceaccount:"}, reForbiddenSA, explainRBAC},
	{"app-tls-certificate", []string{"x509", "certificate"}, regexp.MustCompile(`(?i)x509: certificate has expired or is not yet valid(?:: current time ([0-9][0-9A-Za-z:.+-]*) is (after|before) ([0-9][0-9A-Za-z:.+-]*))?|certificate (?:has )?expired|x509: certificate signed by unknown authority|x509: certificate is valid for ([^,]+), not (\S+)`), explainTLS},
	{"app-missing-env", []string{"set", "missing", "required", "undefined", "empty", "not defined", "environ[", "(keyerror)"}, regexp.MustCompile(`(?i:os\.environ)\[\s*['"]([A-Z][A-Z0-9_]{2,})['"]\s*\]|key not found: "([A-Z][A-Z0-9_]{2,})" \(KeyError\)|(?i)(?:environment variable|env(?:ironment)? var(?:iable)?|env)\s+"?\$?([A-Z][A-Z0-9_]{2,})"?\s+(?:is\s+)?(?:not set|missing|required|undefined|empty|must be set)|(?:missing|required|undefined)\s+(?:required\s+)?(?:environment variable|env(?:ironment)? var(?:iable)?|env)\s*:?\s*"?\$?([A-Z][A-Z0-9_]{2,})|\b([A-Z][A-Z0-9]*_[A-Z0-9_]+)"?\s+(?:is\s+|was\s+)?(?:not set|unset|not defined|undefined|must be set|required|empty|missing)`), explainMissingEnv},
	{"app-permission-denied", []string{"permission denied", "read-only file system"}, regexp.MustCompile(`(?i)(?:open|mkdir|create|write|read|stat|unlink|rename|chmod)?\s*"?'?(/[\w./-]+)'?"?:?\s+permission denied|permission denied:?\s+'?"?(/[\w./-]+)|read-only file system`), explainPermission},
}

// diagnoseAppErrors follows what failing (or error-logging) containers of
// the investigated pods say about themselves to the object that explains
// it: one finding per workload, container and class.
func diagnoseAppErrors(d *diag) []investigate.Finding {
	var g groups
	type hit struct {
		ae   *appError
		site appErrorSite
	}
	hits := map[string]*hit{}
	for _, p := range d.pods {
		if !d.target[p.Namespace+"/"+p.Name] {
			continue
		}
		statuses := append(append([]corev1.ContainerStatus{}, p.Status.InitContainerStatuses...), p.Status.ContainerStatuses...)
		for i := range statuses {
			cs := &statuses[i]
			c := containerSpec(p, cs.Name)
			if c == nil {
				continue
			}
			failing := containerFailing(cs)
			var texts []string
			if w := cs.State.Waiting; w != nil && w.Message != "" {
				texts = append(texts, w.Message)
			}
			if t := lastTermination(cs); t != nil && t.Message != "" {
				texts = append(texts, t.Message)
			}
			// The signatures are specific enough to read every line: a
			// warning about an empty setting comes before the crash it
			// causes, and need not look like an error.
			lines, _ := d.crashLogs(p, cs.Name)
			texts = append(texts, lines...)
			if !failing {
				// A pod that looks healthy is diagnosed from what it logs now.
				texts = append(texts, d.logs(p.Namespace, p.Name, cs.Name, false)...)
			}
			lowered := make([]string, len(texts))
			for i, t := range texts {
				lowered[i] = strings.ToLower(t)
			}
			for ai := range appErrors {
				ae := &appErrors[ai]
				line, m := lastMatch(ae, texts, lowered)
				if m == nil {
					continue
				}
				site := appErrorSite{p: p, c: c, line: line, m: m, failing: failing}
				key := cmp.Or(ownerName(p), podKey(p)) + "|" + cs.Name + "|" + ae.rule
				g.add(key, p, fmt.Sprintf("%s %s: %s", p.Name, cs.Name, clip(line, 300)))
				if hits[key] == nil {
					hits[key] = &hit{ae: ae, site: site}
				}
				break // the first class in table order explains the container
			}
		}
	}
	var out []investigate.Finding
	g.each(func(x *group) {
		h := hits[x.key]
		sum, detail, actions, ok := h.ae.explain(d, &h.site)
		if !ok {
			return
		}
		score, cat := scoreCause, investigate.PodCrash
		switch {
		case h.site.failing:
		case !podReady(h.site.p):
			// Running but never ready: the error keeps it out of its
			// Service's endpoints.
			score, cat = scoreMechanism+5, investigate.EndpointMissing
		default:
			score, cat = scoreMechanism+5, ""
		}
		p := h.site.p
		out = append(out, investigate.Finding{
			Rule: h.ae.rule, Severity: investigate.FindingCritical, Score: score, Category: cat,
			Summary: sum + ".", Detail: detail, Objects: x.refs(), Proof: x.proof, Actions: actions,
			Impact: fmt.Sprintf("%d %s of %s cannot do %s work until this is fixed.", len(x.pods), plural(len(x.pods), "pod", "pods"), workloadOrPod(p), plural(len(x.pods), "its", "their")),
		})
	})
	return out
}

// containerFailing reports whether a container is down: waiting with an
// error reason, crash-looping, or last terminated in error.
func containerFailing(cs *corev1.ContainerStatus) bool {
	if w := cs.State.Waiting; w != nil && w.Reason != "" && w.Reason != "ContainerCreating" && w.Reason != "PodInitializing" {
		return true
	}
	if t := cs.State.Terminated; t != nil && t.ExitCode != 0 {
		return true
	}
	if t := lastTermination(cs); t != nil && t.ExitCode != 0 && !cs.Ready {
		return true
	}
	return false
}

// lastMatch returns the last text ae's regexp matches (lowered holds the
// texts in lower case, for the hints), with its submatches. Text
// quoted inside JSON (an API error body in a log line) is matched as it
// reads, with its escaped quotes undone.
func lastMatch(ae *appError, texts, lowered []string) (string, []string) {
	for i := len(texts) - 1; i >= 0; i-- {
		if !slices.ContainsFunc(ae.hints, func(h string) bool { return strings.Contains(lowered[i], h) }) {
			continue
		}
		t := strings.ReplaceAll(texts[i], `\"`, `"`)
		if m := ae.re.FindStringSubmatch(t); m != nil {
			return strings.TrimSpace(t), m
		}
	}
	return "", nil
}

func firstNonEmpty(m []string) string {
	for _, s := range m[1:] {
		if s != "" {
			return s
		}
	}
	return ""
}

func (e *appErrorSite) owner() string { return workloadOrPod(e.p) }

func explainExecFormat(d *diag, e *appErrorSite) (string, string, []string, bool) {
	arch := ""
	node := e.p.Spec.NodeName
	if n := d.node(node); n != nil {
		arch = cmp.Or(n.Status.NodeInfo.Architecture, n.Labels["kubernetes.io/arch"])
	}
	sum := fmt.Sprintf("Container %s of %s cannot start: the executable in image %s is not a program its node can run (exec format error)", e.c.Name, e.owner(), e.c.Image)
	if arch != "" {
		sum += fmt.Sprintf(" — node %s is %s, so the image was built for another CPU architecture", node, arch)
	} else {
		sum += " — the image was built for another CPU architecture than the node's, or its entrypoint is a script without a #! line"
	}
	detail := "The kernel refuses to execute a binary of a foreign architecture; the container exits at once, whatever its configuration."
	if sib := d.siblingImages(e.p, e.c.Name, e.c.Image); len(sib) > 0 {
		detail += fmt.Sprintf(" Other pods of %s run %s, which works: the failing image is the new one.", e.owner(), joinNames(sib))
	}
	platform := "linux/" + cmp.Or(arch, "amd64")
	acts := []string{
		fmt.Sprintf("Rebuild and push %s for %s (or as a multi-arch image: docker buildx build --platform linux/amd64,linux/arm64 ...).", e.c.Image, platform),
		fmt.Sprintf("docker manifest inspect %s   # shows the platforms the image has", e.c.Image),
	}
	if strings.HasPrefix(e.owner(), "deployment/") {
		acts = append(acts, fmt.Sprintf("kubectl rollout undo -n %s %s   # back to the image that runs", e.p.Namespace, e.owner()))
	}
	return sum, detail, acts, true
}

func explainExecNotFound(d *diag, e *appErrorSite) (string, string, []string, bool) {
	cmd := firstNonEmpty(e.m)
	if cmd == "" && len(e.c.Command) > 0 {
		cmd = e.c.Command[0]
	}
	where := "its command"
	if slices.Contains(e.c.Command, cmd) || (len(e.c.Command) > 0 && strings.HasSuffix(e.c.Command[0], "/"+cmd)) {
		where = "the command in its spec"
	} else if slices.Contains(e.c.Args, cmd) || argsMention(e.c.Args, cmd) {
		where = "its args"
	}
	sum := fmt.Sprintf("Container %s of %s cannot run %q (%s): no such executable in image %s", e.c.Name, e.owner(), cmd, where, e.c.Image)
	detail := "The runtime (or the shell running the script) looks the program up in the image's PATH and finds nothing: a typo in the command, or an image that lacks the tool."
	if len(e.c.Command) > 0 {
		detail += fmt.Sprintf(" command: %s.", strings.Join(e.c.Command, " "))
	}
	acts := []string{
		fmt.Sprintf("Fix the command of container %s in %s (spelling, full path), or use an image that ships %q.", e.c.Name, e.owner(), cmd),
		fmt.Sprintf("kubectl debug -n %s %s -it --image=%s -- sh -c 'command -v %s'   # is it in the image?", e.p.Namespace, e.p.Name, e.c.Image, cmd),
	}
	return sum, detail, acts, true
}

func argsMention(args []string, word string) bool {
	for _, a := range args {
		if strings.Contains(a, word) {
			return true
		}
	}
	return false
}

func explainRBAC(d *diag, e *appErrorSite) (string, string, []string, bool) {
	ns, sa, verb, res, group, inNS := e.m[1], e.m[2], e.m[3], e.m[4], e.m[5], e.m[6]
	scope := "at the cluster scope"
	if inNS != "" {
		scope = "in namespace " + inNS
	}
	what := res
	if group != "" {
		what += "." + group
	}
	sum := fmt.Sprintf("ServiceAccount %s/%s, which %s runs as, is not allowed to %s %s %s: the API server answers 403 Forbidden (RBAC)", ns, sa, e.owner(), verb, what, scope)
	detail := "The application's calls to the Kubernetes API are refused because no Role or ClusterRole bound to its ServiceAccount grants that verb on that resource."
	if e.p.Spec.ServiceAccountName != "" && e.p.Spec.ServiceAccountName != sa {
		detail += fmt.Sprintf(" Note: the pod spec names ServiceAccount %s.", e.p.Spec.ServiceAccountName)
	}
	bindNS := cmp.Or(inNS, ns)
	q := rbacQuery{SANamespace: ns, SA: sa, Verb: strings.ToLower(verb), Group: group, Resource: res, Namespace: inNS}
	if n := reForbiddenName.FindStringSubmatch(e.line); n != nil {
		q.Name = n[2]
	}
	if clause, fix, ok := d.s.rbacAudit(q); ok {
		sum += ": " + clause
		detail = "The API server's RBAC authorizer allows a request only when a RoleBinding in the request's namespace, or a ClusterRoleBinding, names the ServiceAccount (kind, name and namespace) and refers to an existing Role or ClusterRole whose rules hold the verb on the resource."
		if len(fix) > 0 {
			return sum, detail, append(append(fix, fmt.Sprintf("kubectl auth can-i %s %s -n %s --as=system:serviceaccount:%s:%s   # no until fixed", verb, what, bindNS, ns, sa)), fmt.Sprintf("kubectl get rolebindings -n %s -o wide   # who is bound today", bindNS)), true
		}
	}
	acts := []string{
		fmt.Sprintf("kubectl auth can-i %s %s -n %s --as=system:serviceaccount:%s:%s   # no", verb, what, bindNS, ns, sa),
		fmt.Sprintf("kubectl create role %s-%s -n %s --verb=%s --resource=%s && kubectl create rolebinding %s-%s -n %s --role=%s-%s --serviceaccount=%s:%s",
			sa, res, bindNS, verb, what, sa, res, bindNS, sa, res, ns, sa),
		fmt.Sprintf("kubectl get rolebindings,clusterrolebindings -A -o wide | grep %s   # what it is bound to today", sa),
	}
	return sum, detail, acts, true
}

func explainTLS(d *diag, e *appErrorSite) (string, string, []string, bool) {
	host := ""
	if m := reHostPort.FindStringSubmatch(e.line); m != nil {
		host = m[1] + ":" + m[2]
	} else if m := reURLHost.FindStringSubmatch(e.line); m != nil {
		host = m[1]
	}
	lower := strings.ToLower(e.line)
	var sum string
	switch {
	case strings.Contains(lower, "unknown authority"):
		sum = fmt.Sprintf("Container %s of %s rejects a TLS certificate signed by an authority it does not trust (x509: certificate signed by unknown authority)", e.c.Name, e.owner())
	case e.m[4] != "":
		sum = fmt.Sprintf("Container %s of %s rejects a TLS certificate issued for %s, not for the name it dialled (%s)", e.c.Name, e.owner(), e.m[4], e.m[5])
	case strings.EqualFold(e.m[2], "before"):
		// The certificate is not valid YET for this process: its clock is
		// behind the certificate's notBefore, i.e. the node's clock.
		node := e.p.Spec.NodeName
		sum = fmt.Sprintf("Container %s of %s rejects a certificate as not yet valid: the current time it sees, %s, is before the certificate's notBefore %s, so the clock of its node %s is behind (time sync: NTP/chrony on the node), or the certificate was issued with a future start",
			e.c.Name, e.owner(), e.m[1], e.m[3], node)
	default:
		sum = fmt.Sprintf("Container %s of %s fails on an expired TLS certificate (x509: certificate has expired)", e.c.Name, e.owner())
		if e.m[3] != "" {
			sum += fmt.Sprintf(": it expired at %s (current time %s)", e.m[3], e.m[1])
		}
	}
	if host != "" {
		sum += " talking to " + host
	}
	var mounts []string
	for _, v := range e.p.Spec.Volumes {
		if v.Secret != nil {
			mounts = append(mounts, "secret "+v.Secret.SecretName)
		}
		if v.ConfigMap != nil && (strings.Contains(strings.ToLower(v.ConfigMap.Name), "cert") || strings.Contains(strings.ToLower(v.ConfigMap.Name), "ca")) {
			mounts = append(mounts, "configmap "+v.ConfigMap.Name)
		}
	}
	detail := "The TLS handshake fails before any request is sent, on every attempt: restarting does not help, the certificate (or the trust bundle) must be replaced."
	if len(mounts) > 0 {
		detail += " Certificates mounted into the pod: " + strings.Join(mounts, ", ") + "."
	}
	acts := []string{"Renew the certificate (and restart or reload the pods that mount it); check cert-manager Certificates if it issues them: kubectl get certificates -A"}
	if host != "" {
		acts = append(acts, fmt.Sprintf("openssl s_client -connect %s -servername %s </dev/null 2>/dev/null | openssl x509 -noout -dates -subject", host, strings.Split(host, ":")[0]))
	}
	return sum, detail, acts, true
}

func explainMissingEnv(d *diag, e *appErrorSite) (string, string, []string, bool) {
	name := firstNonEmpty(e.m)
	if name == "" {
		return "", "", nil, false
	}
	var found *corev1.EnvVar
	for i := range e.c.Env {
		if e.c.Env[i].Name == name {
			found = &e.c.Env[i]
		}
	}
	var sum string
	switch {
	case found == nil && len(e.c.EnvFrom) == 0:
		sum = fmt.Sprintf("Environment variable %s is not set in container %s of %s, and the application requires it", name, e.c.Name, e.owner())
	case found == nil:
		var srcs []string
		for _, ef := range e.c.EnvFrom {
			if ef.ConfigMapRef != nil {
				srcs = append(srcs, "configmap "+ef.ConfigMapRef.Name)
			}
			if ef.SecretRef != nil {
				srcs = append(srcs, "secret "+ef.SecretRef.Name)
			}
		}
		sum = fmt.Sprintf("Environment variable %s is missing in container %s of %s: it is not in its env, and its envFrom sources (%s) do not provide it", name, e.c.Name, e.owner(), strings.Join(srcs, ", "))
	case found.ValueFrom == nil && found.Value == "":
		sum = fmt.Sprintf("Environment variable %s of container %s in %s is set but empty, and the application requires a value", name, e.c.Name, e.owner())
	default:
		sum = fmt.Sprintf("Environment variable %s of container %s in %s does not reach the application with a usable value", name, e.c.Name, e.owner())
	}
	sum += ": " + clip(e.line, 200)
	acts := []string{
		fmt.Sprintf("kubectl set env -n %s %s -c %s %s=VALUE   # the value it needs, or add it from the ConfigMap/Secret that should hold it", e.p.Namespace, e.owner(), e.c.Name, name),
		fmt.Sprintf("kubectl get -n %s %s -o jsonpath='{.spec.template.spec.containers[?(@.name==\"%s\")].env}'", e.p.Namespace, e.owner(), e.c.Name),
	}
	detail := "The application checks its configuration and fails without the variable; restarting cannot help until the workload's spec provides it."
	if e.failing {
		detail = "The application checks its configuration at start-up and exits when the variable is absent; restarting cannot help until the workload's spec provides it."
	}
	return sum, detail, acts, true
}

func explainPermission(d *diag, e *appErrorSite) (string, string, []string, bool) {
	path := firstNonEmpty(e.m)
	sc := e.c.SecurityContext
	psc := e.p.Spec.SecurityContext
	var facts []string
	if sc != nil && sc.ReadOnlyRootFilesystem != nil && *sc.ReadOnlyRootFilesystem {
		facts = append(facts, "readOnlyRootFilesystem: true")
	}
	uid := ""
	if sc != nil && sc.RunAsUser != nil {
		uid = fmt.Sprint(*sc.RunAsUser)
	} else if psc != nil && psc.RunAsUser != nil {
		uid = fmt.Sprint(*psc.RunAsUser)
	}
	if uid != "" {
		facts = append(facts, "runAsUser: "+uid)
	}
	mounted := ""
	if path != "" {
		for _, vm := range e.c.VolumeMounts {
			if strings.HasPrefix(path, strings.TrimSuffix(vm.MountPath, "/")+"/") || path == vm.MountPath {
				mounted = vm.Name
				if vm.ReadOnly {
					facts = append(facts, "volume "+vm.Name+" mounted readOnly at "+vm.MountPath)
				}
			}
		}
	}
	target := "a file"
	if path != "" {
		target = path
	}
	sum := fmt.Sprintf("Container %s of %s is denied access to %s (permission denied)", e.c.Name, e.owner(), target)
	if len(facts) > 0 {
		sum += "; its security context sets " + strings.Join(facts, ", ")
	}
	detail := "The process runs as a user (or on a file system) that may not write there."
	if path != "" && mounted == "" && sc != nil && sc.ReadOnlyRootFilesystem != nil && *sc.ReadOnlyRootFilesystem {
		detail = fmt.Sprintf("%s is on the read-only root file system: mount an emptyDir there if the application must write to it.", path)
	}
	acts := []string{
		fmt.Sprintf("Mount a writable volume (emptyDir) at the directory of %s, or set fsGroup/runAsUser so the process owns it.", target),
		fmt.Sprintf("kubectl get pod -n %s %s -o jsonpath='{.spec.securityContext}{\"\\n\"}{.spec.containers[*].securityContext}'", e.p.Namespace, e.p.Name),
	}
	return sum, detail, acts, true
}
