package faultgen

import (
	"fmt"
	"time"

	corev1 "k8s.io/api/core/v1"
	networkingv1 "k8s.io/api/networking/v1"

	"github.com/k8flex/k8flex/investigate"
)

// Faults that another controller must resolve for the pods: a readiness
// gate it never sets, a TLS Secret an ingress controller cannot load; and
// the evidence the pods' dependencies hold (a database lock a Job waited
// on until its deadline).

// addonPod builds a running add-on controller pod (one replica) in ns,
// named name, with one container.
func (w *world) addonPod(ns, name, container, image string) *corev1.Pod {
	s := w.defaultSpec(ns)
	s.name, s.serviceName, s.selectorKey, s.selectorValue = name, name, "app.kubernetes.io/name", name
	s.image, s.version, s.replicas, s.serviceAccount, s.probes = image, "2.8.1", 1, name, false
	a := w.buildApp(s)
	a.pods[0].Spec.Containers[0].Name = container
	a.pods[0].Status.ContainerStatuses[0].Name = container
	a.dep.Spec.Template.Spec.Containers[0].Name = container
	a.rs.Spec.Template.Spec.Containers[0].Name = container
	return a.pods[0]
}

// readinessGateUnset: the pods of a new revision run with every container
// ready, but the load balancer controller never sets (or sets False) the
// condition of their readiness gate, so they stay NotReady and out of the
// Service's endpoints.
func readinessGateUnset(w *world, v variant) result {
	s := w.spec(v, kindDeployment, kindStatefulSet)
	tg := fmt.Sprintf("k8s-%s-%s-%s", clipName(s.ns, 8), clipName(s.name, 8), w.hex(10))
	gate := "target-health.elbv2.k8s.aws/" + tg
	a, bad := w.breakApp(s, func(*appSpec) {}, w.between(15*time.Minute, 40*time.Minute), true)
	gates := []corev1.PodReadinessGate{{ConditionType: corev1.PodConditionType(gate)}}
	if a.dep != nil {
		a.dep.Spec.Template.Spec.ReadinessGates = gates
		a.rs.Spec.Template.Spec.ReadinessGates = gates
		if a.oldRS != nil {
			a.oldRS.Spec.Template.Spec.ReadinessGates = gates
		}
	}
	if a.sts != nil {
		a.sts.Spec.Template.Spec.ReadinessGates = gates
	}
	for _, p := range a.pods {
		p.Spec.ReadinessGates = gates
		p.Status.Conditions = append(p.Status.Conditions, corev1.PodCondition{Type: corev1.PodConditionType(gate), Status: corev1.ConditionTrue, LastTransitionTime: p.CreationTimestamp})
	}
	ctrl := w.addonPod("kube-system", "aws-load-balancer-controller", "aws-load-balancer-controller", "public.ecr.aws/eks/aws-load-balancer-controller:v2.8.1")
	account := fmt.Sprint(100000000000 + w.r.Int63n(899999999999))
	arn := fmt.Sprintf("arn:aws:elasticloadbalancing:eu-west-1:%s:targetgroup/%s/%s", account, tg, w.hex(16))
	var lines []string
	t := w.now.Add(-20 * time.Minute)
	for _, p := range bad {
		gateState := "does not exist"
		var conds []corev1.PodCondition
		for _, c := range p.Status.Conditions {
			if string(c.Type) != gate {
				conds = append(conds, c)
			}
		}
		if v.n == 1 {
			gateState = "is False"
			conds = append(conds, corev1.PodCondition{Type: corev1.PodConditionType(gate), Status: corev1.ConditionFalse, Reason: "Target.FailedHealthChecks",
				Message: "Health checks failed", LastTransitionTime: w.ago(10 * time.Minute)})
		}
		p.Status.Conditions = conds
		for i := range p.Status.Conditions {
			c := &p.Status.Conditions[i]
			switch c.Type {
			case corev1.ContainersReady:
				c.Status, c.Reason, c.Message = corev1.ConditionTrue, "", ""
			case corev1.PodReady:
				c.Status, c.Reason = corev1.ConditionFalse, "ReadinessGatesNotReady"
				c.Message = fmt.Sprintf("corresponding condition of pod readiness gate %q %s.", gate, map[bool]string{true: "does not exist", false: "is false"}[v.n == 0])
			}
		}
		for i := range p.Status.ContainerStatuses {
			p.Status.ContainerStatuses[i].Ready = true
		}
		_ = gateState
		w.log(p.Namespace, p.Name, mainContainer(p), false, w.healthyLog(a.spec, p, 4)...)
		for i := 0; i < 3; i++ {
			t = t.Add(w.between(3*time.Minute, 6*time.Minute))
			lines = append(lines, fmt.Sprintf(`{"level":"info","ts":"%s","msg":"registering targets","arn":%q,"targets":[{"Id":%q,"Port":%d}]}`, t.Format(time.RFC3339), arn, p.Status.PodIP, a.spec.port))
			if v.n == 0 {
				lines = append(lines, fmt.Sprintf(`{"level":"error","ts":"%s","msg":"Reconciler error","controller":"targetGroupBinding","name":%q,"namespace":%q,"error":"operation error Elastic Load Balancing v2: RegisterTargets, https response error StatusCode: 403, api error AccessDenied: User: arn:aws:sts::%s:assumed-role/%s-lb-controller/%d is not authorized to perform: elasticloadbalancing:RegisterTargets on resource: %s"}`,
					t.Add(time.Second).Format(time.RFC3339), tg, a.spec.ns, account, w.cluster, 1700000000+w.r.Intn(99999999), arn))
			} else {
				lines = append(lines, fmt.Sprintf(`{"level":"error","ts":"%s","msg":"target unhealthy","targetGroupBinding":%q,"namespace":%q,"target":"%s:%d","error":"Target.FailedHealthChecks: health check to port %d path %s failed: Target.Timeout"}`,
					t.Add(time.Second).Format(time.RFC3339), tg, a.spec.ns, p.Status.PodIP, a.spec.port, a.spec.port+1, a.spec.readinessPath))
			}
		}
	}
	w.log(ctrl.Namespace, ctrl.Name, "aws-load-balancer-controller", false, lines...)
	alert := w.workloadAlert(a, true)
	detail := "never sets it: RegisterTargets is denied (AccessDenied)"
	g2 := g("accessdenied", "access denied", "not authorized", "registertargets")
	if v.n == 1 {
		detail = "sets it False: the load balancer's health checks fail"
		g2 = g("health check", "healthcheck", "failedhealthchecks", "is false", "false")
	}
	return result{ns: s.ns, alerts: []alertDef{alert},
		expect: expect(investigate.EndpointMissing, cats{investigate.PodPending, investigate.ServiceDown},
			fmt.Sprintf("Pods of %s/%s are ready but held NotReady by readiness gate %s: the AWS Load Balancer Controller %s.", s.ns, s.name, gate, detail),
			g("readiness gate", "readinessgate", "readiness-gate"), g(tg), g2)}
}

// clipName keeps the first n characters of a name.
func clipName(s string, n int) string {
	if len(s) > n {
		return s[:n]
	}
	return s
}

// ingressTLSSecretMissing: an Ingress's spec.tls names a Secret that does
// not exist (renamed, or never created); the ingress controller serves the
// host with its default certificate and HTTPS probes fail verification.
func ingressTLSSecretMissing(w *world, v variant) result {
	s := w.spec(v)
	a := w.buildApp(s)
	host := pick(w.r, []string{"www.", "shop.", "app.", "portal."}) + w.domain
	ing := w.ingress(s.ns, s.name, host, a.svc.Name, a.svc.Spec.Ports[0].Port)
	missing := s.name + pick(w.r, []string{"-tls", "-cert", "-certificate"})
	ing.Spec.TLS = []networkingv1.IngressTLS{{Hosts: []string{host}, SecretName: missing}}
	for _, p := range a.pods {
		w.log(s.ns, p.Name, mainContainer(p), false, w.healthyLog(s, p, 3)...)
	}
	t := w.now.Add(-25 * time.Minute)
	var lines []string
	if v.n == 0 {
		ctrl := w.ingressController()
		for i := 0; i < 4; i++ {
			t = t.Add(w.between(3*time.Minute, 6*time.Minute))
			lines = append(lines, fmt.Sprintf(`W%s       7 controller.go:1372] Error getting SSL certificate "%s/%s": local SSL certificate %s/%s was not found. Using default certificate`,
				t.Format("0102 15:04:05.000000"), s.ns, missing, s.ns, missing),
				fmt.Sprintf(`10.0.%d.%d - - [%s] "GET / HTTP/2.0" 200 512 "-" "Mozilla/5.0" 44 0.004 [%s-%s-%d] [] - - - - %s`,
					w.r.Intn(255), w.r.Intn(255), t.Format("02/Jan/2006:15:04:05 +0000"), s.ns, a.svc.Name, a.svc.Spec.Ports[0].Port, w.hex(32)))
		}
		w.log(ctrl.Namespace, ctrl.Name, "controller", false, lines...)
	} else {
		ing.Spec.IngressClassName = ptr("traefik")
		ctrl := w.addonPod("traefik", "traefik", "traefik", "docker.io/library/traefik:v3.1")
		for i := 0; i < 4; i++ {
			t = t.Add(w.between(3*time.Minute, 6*time.Minute))
			lines = append(lines, fmt.Sprintf(`%s ERR Error configuring TLS error="secret %s/%s does not exist" ingress=%s namespace=%s providerName=kubernetes`,
				t.Format(time.RFC3339), s.ns, missing, s.name, s.ns))
		}
		w.log(ctrl.Namespace, ctrl.Name, "traefik", false, lines...)
	}
	alert := w.probeFailed(s.ns, s.name, "https://"+host+"/")
	alert.labels["module"] = "http_2xx_tls"
	return result{ns: s.ns, alerts: []alertDef{alert},
		expect: expect(investigate.ServiceDown, cats{investigate.EndpointMissing},
			fmt.Sprintf("Ingress %s/%s's spec.tls names Secret %s, which does not exist: the controller serves %s with its default certificate.", s.ns, s.name, missing, host),
			g(missing), g("tls", "certificate"))}
}

// jobDeadlineDBLock: a Job (its pods deleted by the deadline, so no log of
// its own) waited on a table lock held by another session; the database's
// log shows the wait and the holder.
func jobDeadlineDBLock(w *world, v variant) result {
	ns := w.namespace()
	name := pick(w.r, []string{"ledger-rollup", "nightly-aggregate", "report-refresh", "partition-rotate"})
	deadline := pick(w.r, []int64{1200, 1800, 2700})
	j := jobRun{ns: ns, name: name, image: w.image(ns, name, w.version()), sa: name, backoffLimit: 1, deadline: deadline}
	if v.n == 1 {
		j.cron = "30 1 * * *"
	}
	since := time.Duration(deadline)*time.Second + w.between(5*time.Minute, 15*time.Minute)
	job, _, cj := w.buildJob(j, 0, since)
	// The database, in its own namespace.
	db := w.defaultSpec(w.namespace())
	db.kind, db.name, db.serviceName, db.replicas, db.port, db.servicePort, db.probes = kindStatefulSet, "pg-"+w.name(), "", 1, 5432, 5432, false
	db.serviceName = db.name
	db.storage = "50Gi"
	dba := w.buildApp(db)
	user := name[:len(name)-len(name)/2]
	user = fmt.Sprintf("%s_job", clipName(user, 8))
	env := []corev1.EnvVar{{Name: "DATABASE_URL", Value: fmt.Sprintf("postgresql://%s:%s@%s.%s.svc.cluster.local:5432/app?sslmode=require", user, w.password(), db.name, db.ns)}}
	job.Spec.Template.Spec.Containers[0].Env = env
	if cj != nil {
		cj.Spec.JobTemplate.Spec.Template.Spec.Containers[0].Env = env
	}
	ago := since - time.Duration(deadline)*time.Second
	w.event(job, ev{typ: corev1.EventTypeNormal, reason: "SuccessfulDelete", component: "job-controller", last: ago, message: "Deleted pod: " + job.Name + "-" + w.alnum(5)})
	w.jobFailedStatus(job, nil, "DeadlineExceeded", "Job was active longer than specified deadline", ago)
	start := w.now.Add(-since)
	pgTS := func(t time.Time) string { return t.UTC().Format("2006-01-02 15:04:05.000") + " UTC" }
	holder, waiter := 40000+w.r.Intn(9000), 50000+w.r.Intn(9000)
	holderUser := pick(w.r, []string{"export_worker", "analyst", "sync_service", "reporting"})
	table := pick(w.r, []string{"ledger.daily_totals", "reporting.summary", "public.orders_agg", "billing.invoice_rollup"})
	lock := "AccessExclusiveLock on relation 16438 of database 16384"
	stmt := "TRUNCATE " + table
	if v.n == 1 {
		lock = fmt.Sprintf("ShareLock on transaction %d", 900000+w.r.Intn(99999))
		stmt = "UPDATE " + table + " SET refreshed_at = now()"
	}
	lines := []string{
		fmt.Sprintf("%s [%d] %s@app LOG:  duration: 1618.442 ms  statement: SELECT * FROM %s WHERE day = $1", pgTS(start.Add(-20*time.Minute)), holder, holderUser, table),
		fmt.Sprintf("%s [%d] %s@app LOG:  process %d still waiting for %s after 1000.061 ms", pgTS(start.Add(10*time.Second)), waiter, user, waiter, lock),
		fmt.Sprintf("%s [%d] %s@app DETAIL:  Process holding the lock: %d. Wait queue: %d.", pgTS(start.Add(10*time.Second)), waiter, user, holder, waiter),
		fmt.Sprintf("%s [%d] %s@app STATEMENT:  %s", pgTS(start.Add(10*time.Second)), waiter, user, stmt),
		fmt.Sprintf("%s [%d] %s@app ERROR:  canceling statement due to user request", pgTS(start.Add(time.Duration(deadline)*time.Second)), waiter, user),
	}
	w.log(db.ns, dba.pods[0].Name, mainContainer(dba.pods[0]), false, lines...)
	dl := fmt.Sprint(deadline)
	return result{ns: ns, alerts: []alertDef{w.jobFailed(ns, job.Name)},
		expect: expect(investigate.PodCrash, cats{investigate.PodRestart},
			fmt.Sprintf("Job %s/%s hit its activeDeadlineSeconds %s while waiting for a lock on %s held by %s (process %d).", ns, job.Name, dl, table, holderUser, holder),
			g("deadline", "activedeadlineseconds"), g("lock"), g(holderUser, fmt.Sprint(holder)))}
}
