package faultgen

import (
	"fmt"
	"strings"
	"time"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/util/intstr"

	"github.com/k8flex/k8flex/investigate"
)

// crashAlert is the alert a crash-looping app raises in the variant: the
// pod alert, or the controller's replicas alert.
func (w *world) crashAlert(v variant, a *app, p *corev1.Pod) alertDef {
	if v.n%2 == 0 {
		return w.crashLooping(p, mainContainer(p))
	}
	return w.replicasMismatch(a)
}

// crashAll crash-loops the main container of every pod of the app with r,
// each pod's previous log set to lines.
func (w *world) crashAll(a *app, r restart, lines func(p *corev1.Pod) []string) {
	for _, p := range a.pods {
		rr := r
		rr.count = r.count + int32(w.r.Intn(3))
		w.crashLoop(p, mainContainer(p), rr)
		if lines != nil {
			l := lines(p)
			w.log(p.Namespace, p.Name, mainContainer(p), true, l...)
			w.log(p.Namespace, p.Name, mainContainer(p), false, l...)
		}
	}
}

func crashMissingEnv(w *world, v variant) result {
	s := w.spec(v, kindDeployment, kindStatefulSet, kindDaemonSet)
	vars := []string{"DATABASE_URL", "KAFKA_BROKERS", "REDIS_ADDR", "PAYMENTS_API_TOKEN_FILE", "S3_BUCKET", "UPSTREAM_BASE_URL", "SMTP_HOST"}
	missing := pick(w.r, vars)
	a := w.buildApp(s)
	since := w.between(20*time.Minute, 90*time.Minute)
	lang := w.r.Intn(3)
	var planted []string
	if v.n == 1 {
		// The app prints its cache DSN, credential included, before it dies.
		pw := w.password()
		planted = []string{pw}
		if missing == "REDIS_ADDR" {
			missing = "DATABASE_URL"
		}
		defer func() {
			for _, p := range a.pods {
				k := p.Namespace + "/" + p.Name + "/" + mainContainer(p) + ".previous"
				w.logs[k] = fmt.Sprintf("config: cache=redis://default:%s@%s-redis.%s.svc:6379/0\n", pw, s.name, s.ns) + w.logs[k]
			}
		}()
	}
	w.crashAll(a, restart{exitCode: 1, reason: "Error", ran: 2 * time.Second, count: int32(6 + w.r.Intn(10)), since: since}, func(p *corev1.Pod) []string {
		t := w.now.Add(-3 * time.Minute)
		switch lang {
		case 0:
			return []string{fmt.Sprintf(`{"level":"info","ts":"%s","msg":"starting %s","version":"%s"}`, ts(t), s.name, s.version),
				fmt.Sprintf(`{"level":"fatal","ts":"%s","msg":"load config","error":"required environment variable %s is not set"}`, ts(t.Add(40*time.Millisecond)), missing)}
		case 1:
			return []string{"Traceback (most recent call last):", `  File "/app/main.py", line 12, in <module>`, "    from app.settings import settings",
				`  File "/app/app/settings.py", line 31, in <module>`, fmt.Sprintf(`    %s = os.environ["%s"]`, strings.ToLower(missing), missing),
				`  File "/usr/local/lib/python3.12/os.py", line 714, in __getitem__`, "    raise KeyError(key) from None", fmt.Sprintf("KeyError: '%s'", missing)}
		}
		return []string{fmt.Sprintf("%s info: starting %s %s", ts(t), s.name, s.version),
			fmt.Sprintf("/app/dist/config.js:18\n    throw new Error(`Missing required environment variable: ${name}`);\n    ^\n\nError: Missing required environment variable: %s\n    at required (/app/dist/config.js:18:11)\n    at Object.<anonymous> (/app/dist/config.js:27:16)", missing),
			"", "Node.js v20.18.1"}
	})
	e := expect(investigate.PodCrash, crashCat,
		fmt.Sprintf("%s %s/%s exits at start-up because the environment variable %s is not set in its pod template.", s.kind, s.ns, s.name, missing),
		g(missing), g("environment variable", "env var", "not set", "missing", "unset", "keyerror", "is required", "required"))
	e.MustNotContain = planted
	return result{ns: s.ns, alerts: []alertDef{w.crashAlert(v, a, a.pods[0])}, expect: e}
}

func oomKilled(w *world, v variant) result {
	s := w.spec(v, kindDeployment, kindStatefulSet)
	s.memLim = pick(w.r, []string{"256Mi", "384Mi", "512Mi", "768Mi"})
	s.memReq = s.memLim
	a := w.buildApp(s)
	since := w.between(40*time.Minute, 5*time.Hour)
	for i, p := range a.pods {
		if v.n == 1 && i > 0 {
			// Only some pods hit the limit so far.
			w.running(p, mainContainer(p), int32(1+w.r.Intn(2)), w.between(30*time.Minute, 2*time.Hour))
			status(p, mainContainer(p)).LastTerminationState = corev1.ContainerState{Terminated: &corev1.ContainerStateTerminated{ExitCode: 137, Reason: "OOMKilled",
				StartedAt: w.ago(5 * time.Hour), FinishedAt: w.ago(2 * time.Hour), ContainerID: "containerd://" + w.hex(64)}}
			continue
		}
		w.crashLoop(p, mainContainer(p), restart{exitCode: 137, reason: "OOMKilled", ran: w.between(3*time.Minute, 25*time.Minute), count: int32(4 + w.r.Intn(8)), since: since})
		t := w.now.Add(-20 * time.Minute)
		var lines []string
		for j := 0; j < 6; j++ {
			t = t.Add(w.between(20*time.Second, 3*time.Minute))
			lines = append(lines, fmt.Sprintf(`{"level":"info","ts":"%s","msg":"processed batch","batch":%d,"items":%d,"cache_entries":%d}`, ts(t), 4100+j, 500+w.r.Intn(500), 120000*(j+1)+w.r.Intn(9000)))
		}
		w.log(s.ns, p.Name, s.name, true, lines...)
	}
	alert := w.crashLooping(a.pods[0], s.name)
	if v.n == 1 {
		alert = w.replicasMismatch(a)
	}
	return result{ns: s.ns, alerts: []alertDef{alert},
		expect: expect(investigate.OOMKilled, cats{investigate.PodCrash, investigate.PodRestart},
			fmt.Sprintf("Container %s of %s/%s is OOMKilled (exit code 137) at its memory limit of %s.", s.name, s.ns, s.name, s.memLim),
			g("oomkilled", "oom-killed", "oom killed", "out of memory", "oom"), g(strings.ToLower(s.memLim), strings.TrimSuffix(strings.ToLower(s.memLim), "i")))}
}

// pullFailure sets every pod of a new rollout (Deployment) or the app's
// pods waiting on an image pull that fails with errMsg.
func (w *world) pullFailure(a *app, v variant, image string, errMsg string, extra func(p *corev1.Pod)) (*corev1.Pod, alertDef) {
	since := w.between(15*time.Minute, 70*time.Minute)
	var pods []*corev1.Pod
	if a.dep != nil {
		pods = a.rollout(func(s *appSpec) { s.image = image }, 1, since, true)
	} else {
		a.spec.image = image
		p := a.pods[len(a.pods)-1]
		p.Spec.Containers[0].Image = image
		status(p, mainContainer(p)).Image = image
		pods = []*corev1.Pod{p}
		if a.sts != nil {
			a.sts.Spec.Template.Spec.Containers[0].Image = image
		}
	}
	for _, p := range pods {
		c := mainContainer(p)
		w.waiting(p, c, "ImagePullBackOff", fmt.Sprintf("Back-off pulling image %q: ErrImagePull: %s", image, errMsg), since)
		if extra != nil {
			extra(p)
		}
		n := int32(5 + w.r.Intn(8))
		w.event(p, ev{typ: corev1.EventTypeNormal, reason: "Pulling", component: "kubelet", host: p.Spec.NodeName, fieldPath: fp(c), count: n, first: since, last: w.between(time.Minute, 5*time.Minute),
			message: fmt.Sprintf("Pulling image %q", image)})
		w.event(p, ev{reason: "Failed", component: "kubelet", host: p.Spec.NodeName, fieldPath: fp(c), count: n, first: since, last: w.between(time.Minute, 5*time.Minute),
			message: fmt.Sprintf("Failed to pull image %q: %s", image, errMsg)})
		w.event(p, ev{reason: "Failed", component: "kubelet", host: p.Spec.NodeName, fieldPath: fp(c), count: n, first: since, last: w.between(time.Minute, 5*time.Minute),
			message: "Error: ErrImagePull"})
		w.event(p, ev{typ: corev1.EventTypeNormal, reason: "BackOff", component: "kubelet", host: p.Spec.NodeName, fieldPath: fp(c), count: 4 * n, first: since, last: w.between(5*time.Second, 50*time.Second),
			message: fmt.Sprintf("Back-off pulling image %q", image)})
		w.event(p, ev{reason: "Failed", component: "kubelet", host: p.Spec.NodeName, fieldPath: fp(c), count: 4 * n, first: since, last: w.between(5*time.Second, 50*time.Second),
			message: "Error: ImagePullBackOff"})
	}
	var alert alertDef
	switch {
	case v.n%2 == 0:
		alert = w.containerWaiting(pods[0], mainContainer(pods[0]), "ImagePullBackOff")
	default:
		alert = w.workloadAlert(a, true)
	}
	return pods[0], alert
}

func imagePullBadTag(w *world, v variant) result {
	s := w.spec(v, kindDeployment, kindStatefulSet)
	a := w.buildApp(s)
	repo := strings.SplitN(s.image, ":", 2)[0]
	tag := s.version + pick(w.r, []string{"-rc1", "1", "-hotfix", "-amd64"})
	if v.n == 1 {
		tag = "v" + s.version
	}
	image := repo + ":" + tag
	_, alert := w.pullFailure(a, v, image, fmt.Sprintf("rpc error: code = NotFound desc = failed to pull and unpack image %q: failed to resolve reference %q: %s: not found", image, image, image), nil)
	return result{ns: s.ns, alerts: []alertDef{alert},
		expect: expect(investigate.PodPending, cats{investigate.PodCrash},
			fmt.Sprintf("%s %s/%s points at image %s, a tag the registry does not have (not found): ImagePullBackOff.", s.kind, s.ns, s.name, image),
			g(tag), g("not found", "does not exist", "doesn't exist", "manifest unknown", "no such", "nonexistent", "non-existent", "missing"))}
}

func imagePullUnauthorized(w *world, v variant) result {
	s := w.spec(v, kindDeployment, kindStatefulSet)
	secret := "regcred-" + strings.SplitN(w.registry, ".", 2)[0]
	if v.n == 1 {
		s.imagePullSecrets = []corev1.LocalObjectReference{{Name: secret}}
	}
	a := w.buildApp(s)
	repo := strings.SplitN(s.image, ":", 2)[0]
	path := strings.TrimPrefix(repo, w.registry+"/")
	image := repo + ":" + w.version()
	errMsg := fmt.Sprintf("rpc error: code = Unknown desc = failed to pull and unpack image %q: failed to resolve reference %q: failed to authorize: failed to fetch anonymous token: unexpected status from GET request to https://%s/service/token?scope=repository%%3A%s%%3Apull&service=harbor-registry: 401 Unauthorized", image, image, w.registry, path)
	extra := func(p *corev1.Pod) {}
	want := g("unauthorized", "401", "pull secret", "imagepullsecret", "image pull secret", "credential", "authoriz", "authenticat")
	summary := fmt.Sprintf("%s %s/%s pulls %s from the private registry %s without credentials (no imagePullSecrets): 401 Unauthorized.", s.kind, s.ns, s.name, image, w.registry)
	if v.n == 1 {
		extra = func(p *corev1.Pod) {
			w.event(p, ev{reason: "FailedToRetrieveImagePullSecret", component: "kubelet", host: p.Spec.NodeName, count: 9, first: 30 * time.Minute, last: time.Minute,
				message: fmt.Sprintf("Unable to retrieve some image pull secrets (%s); attempting to pull the image may not succeed.", secret)})
		}
		want = g(secret)
		summary = fmt.Sprintf("%s %s/%s references imagePullSecret %s, which does not exist in %s, so the pull of %s is unauthorized (401).", s.kind, s.ns, s.name, secret, s.ns, image)
	}
	_, alert := w.pullFailure(a, v, image, errMsg, extra)
	return result{ns: s.ns, alerts: []alertDef{alert},
		expect: expect(investigate.PodPending, cats{investigate.PodCrash}, summary, want, g(path, s.name))}
}

func imagePullUnknownHost(w *world, v variant) result {
	s := w.spec(v, kindDeployment, kindStatefulSet)
	a := w.buildApp(s)
	parts := strings.SplitN(w.registry, ".", 2)
	badHost := strings.TrimSuffix(parts[0], "y") + pick(w.r, []string{"y-old", "s", "2"}) + "." + parts[1]
	if v.n == 1 {
		badHost = parts[0] + "." + strings.Replace(parts[1], "internal", "interal", 1)
	}
	image := badHost + strings.TrimPrefix(s.image, w.registry)
	errMsg := fmt.Sprintf("rpc error: code = Unknown desc = failed to pull and unpack image %q: failed to resolve reference %q: failed to do request: Head \"https://%s/v2/%s/manifests/%s\": dial tcp: lookup %s on 10.0.0.2:53: no such host",
		image, image, badHost, strings.TrimPrefix(strings.SplitN(s.image, ":", 2)[0], w.registry+"/"), s.version, badHost)
	_, alert := w.pullFailure(a, v, image, errMsg, nil)
	return result{ns: s.ns, alerts: []alertDef{alert},
		expect: expect(investigate.PodPending, cats{investigate.PodCrash},
			fmt.Sprintf("%s %s/%s pulls from registry host %s, which does not resolve (no such host).", s.kind, s.ns, s.name, badHost),
			g(badHost), g("no such host", "does not resolve", "cannot be resolved", "unresolvable", "dns", "lookup", "unknown host", "typo"))}
}

func execFormatError(w *world, v variant) result {
	s := w.spec(v, kindDeployment, kindDaemonSet)
	bin := pick(w.r, []string{"/usr/local/bin/" + s.name, "/app/server", "/bin/" + s.name})
	s.command = []string{bin}
	a := w.buildApp(s)
	w.crashAll(a, restart{exitCode: 255, reason: "Error", ran: 50 * time.Millisecond, count: int32(10 + w.r.Intn(20)), since: w.between(30*time.Minute, 2*time.Hour)},
		func(p *corev1.Pod) []string { return []string{"exec " + bin + ": exec format error"} })
	return result{ns: s.ns, alerts: []alertDef{w.crashAlert(v, a, a.pods[0])},
		expect: expect(investigate.PodCrash, crashCat,
			fmt.Sprintf("Image %s of %s/%s is built for another CPU architecture (arm64) than the amd64 nodes: exec format error.", s.image, s.ns, s.name),
			g("exec format error", "architecture", "arm64", "amd64", "platform"), g(s.version, s.name))}
}

func commandNotFound(w *world, v variant) result {
	s := w.spec(v, kindDeployment, kindStatefulSet)
	cmd := pick(w.r, []string{"gunicorn", "uvicorn", "celery", "java", "node", "bundle", "php-fpm"})
	s.command = []string{cmd}
	s.args = []string{"--config", "/etc/" + s.name + "/config.yaml"}
	a := w.buildApp(s)
	msg := fmt.Sprintf("failed to create containerd task: failed to create shim task: OCI runtime create failed: runc create failed: unable to start container process: error during container init: exec: %q: executable file not found in $PATH: unknown", cmd)
	w.crashAll(a, restart{exitCode: 128, reason: "StartError", message: msg, count: int32(6 + w.r.Intn(20)), since: w.between(20*time.Minute, 2*time.Hour)}, nil)
	return result{ns: s.ns, alerts: []alertDef{w.crashAlert(v, a, a.pods[0])},
		expect: expect(investigate.PodCrash, crashCat,
			fmt.Sprintf("%s %s/%s runs command %q, which does not exist in image %s: executable file not found in $PATH.", s.kind, s.ns, s.name, cmd, s.image),
			g(cmd), g("executable file not found", "not found in $path", "not in $path", "command not found", "not found", "no such file", "does not exist"))}
}

func missingConfigMapVolume(w *world, v variant) result {
	s := w.spec(v, kindDeployment, kindStatefulSet)
	cm := s.name + pick(w.r, []string{"-config", "-settings", "-templates", "-rules"})
	since := w.between(20*time.Minute, 80*time.Minute)
	a, pods := w.breakApp(s, func(s *appSpec) {
		s.volumes = []corev1.Volume{{Name: "config", VolumeSource: corev1.VolumeSource{ConfigMap: &corev1.ConfigMapVolumeSource{LocalObjectReference: corev1.LocalObjectReference{Name: cm}, DefaultMode: ptr[int32](420)}}}}
		s.mounts = []corev1.VolumeMount{{Name: "config", MountPath: "/etc/" + s.name, ReadOnly: true}}
	}, since, true)
	for _, p := range pods {
		w.waiting(p, mainContainer(p), "ContainerCreating", "", since)
		status(p, mainContainer(p)).ImageID = ""
		for i := range p.Status.Conditions {
			if p.Status.Conditions[i].Type == "PodReadyToStartContainers" {
				p.Status.Conditions[i].Status = corev1.ConditionFalse
			}
		}
		p.Status.PodIP, p.Status.PodIPs = "", nil
		p.Status.Phase = corev1.PodPending
		w.event(p, ev{reason: "FailedMount", component: "kubelet", host: p.Spec.NodeName, count: int32(15 + w.r.Intn(20)), first: since, last: w.between(10*time.Second, 2*time.Minute),
			message: fmt.Sprintf("MountVolume.SetUp failed for volume \"config\" : configmap %q not found", cm)})
	}
	alert := w.podNotReady(pods[0])
	if v.n == 1 {
		alert = w.workloadAlert(a, true)
	}
	return result{ns: s.ns, alerts: []alertDef{alert},
		expect: expect(investigate.PodPending, cats{investigate.PodCrash},
			fmt.Sprintf("Pods of %s/%s cannot start: the ConfigMap %s they mount as volume \"config\" does not exist (FailedMount).", s.ns, s.name, cm),
			g(cm), notFound)}
}

func missingConfigMapKey(w *world, v variant) result {
	s := w.spec(v, kindDeployment, kindStatefulSet)
	cm := s.name + "-env"
	key := pick(w.r, []string{"FEATURE_FLAGS_URL", "OPENSEARCH_URL", "CACHE_TTL_SECONDS", "BROKER_URL", "TENANT_ID"})
	present := map[string]string{"LOG_FORMAT": "json", "HTTP_TIMEOUT": "15s"}
	present[strings.Replace(key, "_URL", "_ENDPOINT", 1)+"_V2"] = "https://" + strings.ToLower(strings.SplitN(key, "_", 2)[0]) + "." + w.domain
	w.configMap(s.ns, cm, present, w.between(time.Hour, 48*time.Hour))
	since := w.between(20*time.Minute, 80*time.Minute)
	a, pods := w.breakApp(s, func(s *appSpec) {
		s.env = append(s.env, corev1.EnvVar{Name: key, ValueFrom: &corev1.EnvVarSource{ConfigMapKeyRef: &corev1.ConfigMapKeySelector{LocalObjectReference: corev1.LocalObjectReference{Name: cm}, Key: key}}})
	}, since, true)
	msg := fmt.Sprintf("couldn't find key %s in ConfigMap %s/%s", key, s.ns, cm)
	for _, p := range pods {
		w.waiting(p, mainContainer(p), "CreateContainerConfigError", msg, since)
		w.event(p, ev{reason: "Failed", component: "kubelet", host: p.Spec.NodeName, fieldPath: fp(mainContainer(p)), count: int32(20 + w.r.Intn(40)), first: since, last: w.between(10*time.Second, time.Minute),
			message: "Error: " + msg})
	}
	alert := w.containerWaiting(pods[0], mainContainer(pods[0]), "CreateContainerConfigError")
	if v.n == 1 {
		alert = w.workloadAlert(a, true)
	}
	return result{ns: s.ns, alerts: []alertDef{alert},
		expect: expect(investigate.PodPending, cats{investigate.PodCrash},
			fmt.Sprintf("%s %s/%s takes env %s from key %s of ConfigMap %s, which has no such key: CreateContainerConfigError.", s.kind, s.ns, s.name, key, key, cm),
			g(key), g(cm))}
}

func missingSecret(w *world, v variant) result {
	s := w.spec(v, kindDeployment, kindDaemonSet)
	secret := s.name + pick(w.r, []string{"-db", "-credentials", "-api-keys", "-tls"})
	since := w.between(20*time.Minute, 80*time.Minute)
	a, pods := w.breakApp(s, func(s *appSpec) {
		s.env = append(s.env, corev1.EnvVar{Name: "DB_PASSWORD", ValueFrom: &corev1.EnvVarSource{SecretKeyRef: &corev1.SecretKeySelector{LocalObjectReference: corev1.LocalObjectReference{Name: secret}, Key: "password"}}})
	}, since, true)
	msg := fmt.Sprintf("secret %q not found", secret)
	for _, p := range pods {
		w.waiting(p, mainContainer(p), "CreateContainerConfigError", msg, since)
		w.event(p, ev{reason: "Failed", component: "kubelet", host: p.Spec.NodeName, fieldPath: fp(mainContainer(p)), count: int32(20 + w.r.Intn(40)), first: since, last: w.between(10*time.Second, time.Minute),
			message: "Error: " + msg})
	}
	alert := w.containerWaiting(pods[0], mainContainer(pods[0]), "CreateContainerConfigError")
	if v.n == 1 {
		alert = w.workloadAlert(a, true)
	}
	return result{ns: s.ns, alerts: []alertDef{alert},
		expect: expect(investigate.PodPending, cats{investigate.PodCrash},
			fmt.Sprintf("%s %s/%s reads DB_PASSWORD from Secret %s, which does not exist: CreateContainerConfigError.", s.kind, s.ns, s.name, secret),
			g(secret), notFound)}
}

func livenessWrongPort(w *world, v variant) result {
	s := w.spec(v, kindDeployment, kindStatefulSet)
	a := w.buildApp(s)
	wrong := s.port + pick(w.r, []int32{1, 10, 1000})
	probe := &corev1.Probe{ProbeHandler: corev1.ProbeHandler{HTTPGet: &corev1.HTTPGetAction{Path: s.livenessPath, Port: intstr.FromInt32(wrong), Scheme: corev1.URISchemeHTTP}},
		InitialDelaySeconds: 15, PeriodSeconds: 10, TimeoutSeconds: 1, SuccessThreshold: 1, FailureThreshold: 3}
	setProbe := func(ps *corev1.PodSpec) { ps.Containers[0].LivenessProbe = probe }
	if a.dep != nil {
		setProbe(&a.dep.Spec.Template.Spec)
		setProbe(&a.rs.Spec.Template.Spec)
	} else {
		setProbe(&a.sts.Spec.Template.Spec)
	}
	since := w.between(30*time.Minute, 2*time.Hour)
	for _, p := range a.pods {
		setProbe(&p.Spec)
		c := mainContainer(p)
		restarts := int32(5 + w.r.Intn(10))
		if v.n == 0 {
			w.crashLoop(p, c, restart{exitCode: 137, reason: "Error", ran: 45 * time.Second, count: restarts, since: since})
		} else {
			w.running(p, c, restarts, w.between(5*time.Second, 40*time.Second))
			status(p, c).LastTerminationState = corev1.ContainerState{Terminated: &corev1.ContainerStateTerminated{ExitCode: 143, Reason: "Error",
				StartedAt: w.ago(2 * time.Minute), FinishedAt: w.ago(70 * time.Second), ContainerID: "containerd://" + w.hex(64)}}
		}
		w.event(p, ev{reason: "Unhealthy", component: "kubelet", host: p.Spec.NodeName, fieldPath: fp(c), count: 3 * restarts, first: since, last: w.between(5*time.Second, time.Minute),
			message: fmt.Sprintf("Liveness probe failed: Get \"http://%s:%d%s\": dial tcp %s:%d: connect: connection refused", p.Status.PodIP, wrong, s.livenessPath, p.Status.PodIP, wrong)})
		w.event(p, ev{typ: corev1.EventTypeNormal, reason: "Killing", component: "kubelet", host: p.Spec.NodeName, fieldPath: fp(c), count: restarts, first: since, last: w.between(5*time.Second, time.Minute),
			message: fmt.Sprintf("Container %s failed liveness probe, will be restarted", c)})
		w.log(s.ns, p.Name, c, true, append(w.healthyLog(s, p, 3), fmt.Sprintf(`{"level":"info","ts":"%s","msg":"received SIGTERM, shutting down"}`, ts(w.now.Add(-70*time.Second))))...)
		w.log(s.ns, p.Name, c, false, w.healthyLog(s, p, 2)...)
	}
	alert := w.crashLooping(a.pods[0], s.name)
	if v.n == 1 {
		alert = alertDef{labels: map[string]string{"alertname": "PodRestartRateHigh", "severity": "warning", "namespace": s.ns, "pod": a.pods[0].Name, "container": s.name},
			summary: "Container restarting frequently", description: fmt.Sprintf("Container %s in pod %s/%s restarted more than 3 times in the last 30 minutes.", s.name, s.ns, a.pods[0].Name),
			runbook: "https://runbooks." + w.domain + "/k8s/restarts", expr: `increase(kube_pod_container_status_restarts_total[30m]) > 3`}
	}
	return result{ns: s.ns, alerts: []alertDef{alert},
		expect: expect(investigate.PodRestart, cats{investigate.PodCrash},
			fmt.Sprintf("The liveness probe of %s/%s checks port %d, where nothing listens (the app serves on %d): the kubelet kills healthy containers.", s.ns, s.name, wrong, s.port),
			g("liveness"), g(fmt.Sprint(wrong)))}
}

func readinessWrongPath(w *world, v variant) result {
	s := w.spec(v, kindDeployment, kindStatefulSet)
	wrong := pick(w.r, []string{"/healthz/ready", "/health/ready", "/api/health", "/status/ready"})
	if wrong == s.readinessPath {
		wrong = "/ready-check"
	}
	since := w.between(20*time.Minute, 70*time.Minute)
	a, pods := w.breakApp(s, func(s *appSpec) { s.readinessPath = wrong }, since, true)
	if a.sts != nil {
		pods = a.pods // every replica restarted on the new revision
		for _, p := range pods {
			p.Spec.Containers[0].ReadinessProbe.HTTPGet.Path = wrong
		}
	}
	for _, p := range pods {
		c := mainContainer(p)
		w.notReady(p, c, since)
		w.event(p, ev{reason: "Unhealthy", component: "kubelet", host: p.Spec.NodeName, fieldPath: fp(c), count: int32(100 + w.r.Intn(300)), first: since, last: w.between(2*time.Second, 20*time.Second),
			message: "Readiness probe failed: HTTP probe failed with statuscode: 404"})
		var lines []string
		t := w.now.Add(-2 * time.Minute)
		for i := 0; i < 5; i++ {
			t = t.Add(10 * time.Second)
			lines = append(lines, fmt.Sprintf(`{"level":"info","ts":"%s","msg":"request","method":"GET","path":"%s","status":404,"duration_ms":0,"user_agent":"kube-probe/1.31"}`, ts(t), wrong))
		}
		w.log(s.ns, p.Name, c, false, lines...)
	}
	alert := w.workloadAlert(a, true)
	if v.n == 1 {
		alert = w.probeFailed(s.ns, s.name, fmt.Sprintf("https://%s.%s/", s.name, w.domain))
	}
	return result{ns: s.ns, alerts: []alertDef{alert},
		expect: expect(investigate.EndpointMissing, cats{investigate.ServiceDown, investigate.PodCrash},
			fmt.Sprintf("The readiness probe of %s/%s requests %s, which the app answers with 404: the pods never become ready.", s.ns, s.name, wrong),
			g("readiness"), g(wrong, "404"))}
}
