package k8s

import (
	"encoding/json"
	"fmt"
	"regexp"
	"strings"

	corev1 "k8s.io/api/core/v1"

	"github.com/k8flex/k8flex/investigate"
)

// unmetGate is a readiness gate of a pod whose condition is missing or
// not True.
type unmetGate struct {
	gate    string // the conditionType
	status  string // "missing", "False", "Unknown"
	message string // the condition's reason and message, if any
}

// unmetReadinessGates returns the pod's readiness gates (spec.readinessGates)
// whose condition in status.conditions is missing or not True: the kubelet
// keeps such a pod NotReady (reason ReadinessGatesNotReady) even when all
// its containers are ready. Pods that are not running have none.
func unmetReadinessGates(p *corev1.Pod) []unmetGate {
	if p.Status.Phase != corev1.PodRunning || len(p.Spec.ReadinessGates) == 0 {
		return nil
	}
	var out []unmetGate
	for _, g := range p.Spec.ReadinessGates {
		t := string(g.ConditionType)
		u := unmetGate{gate: t, status: "missing"}
		for _, c := range p.Status.Conditions {
			if string(c.Type) != t {
				continue
			}
			if c.Status == corev1.ConditionTrue {
				u.status = ""
			} else {
				u.status = string(c.Status)
				u.message = strings.TrimSpace(strings.Trim(c.Reason+": "+c.Message, ": "))
			}
		}
		if u.status != "" {
			out = append(out, u)
		}
	}
	return out
}

// gateControllers names the controllers that own well-known readiness
// gate API domains; any other gate is set by "the controller of <domain>".
var gateControllers = []struct{ domain, name string }{
	{"elbv2.k8s.aws", "the AWS Load Balancer Controller once the pod is registered and healthy in its target group"},
	{"cloud.google.com", "the GKE network endpoint group (NEG) controller once the pod is a healthy NEG endpoint"},
	{"networking.gke.io", "the GKE network endpoint group (NEG) controller"},
}

func gateController(gate string) string {
	domain, _, _ := strings.Cut(gate, "/")
	for _, c := range gateControllers {
		if strings.HasSuffix(domain, c.domain) {
			return c.name
		}
	}
	return "the controller of " + domain
}

// diagnoseReadinessGates reports pods whose containers are ready but that
// stay NotReady because a readiness gate's condition is missing or False:
// the pods are kept out of their Services' endpoints (and count as
// unavailable for rollouts) until the gate's controller sets the condition.
// It quotes what that controller's log says about the gate's object when
// the log was gathered.
func diagnoseReadinessGates(d *diag) []investigate.Finding {
	var out []investigate.Finding
	var g groups
	gates := map[string]unmetGate{}
	for _, p := range d.pods {
		if !containersReady(p) {
			continue
		}
		for _, u := range unmetReadinessGates(p) {
			proof := fmt.Sprintf("pod %s: readiness gate %s condition %s", p.Name, u.gate, u.status)
			if u.message != "" {
				proof += " (" + u.message + ")"
			}
			for _, c := range p.Status.Conditions {
				if c.Type == corev1.PodReady && c.Status != corev1.ConditionTrue && c.Reason != "" {
					proof += fmt.Sprintf("; Ready=False reason=%s: %s", c.Reason, c.Message)
				}
			}
			g.add(u.gate, p, proof)
			if _, ok := gates[u.gate]; !ok {
				gates[u.gate] = u
			}
		}
	}
	g.each(func(x *group) {
		u := gates[x.key]
		p := x.pods[0]
		state := "is missing from the pod's status.conditions"
		if u.status != "missing" {
			state = "is " + u.status
			if u.message != "" {
				state += " (" + clip(u.message, 200) + ")"
			}
		}
		sum := fmt.Sprintf("Pod %s of %s %s Running with all containers ready (ContainersReady=True) but NotReady: its readiness gate %s %s, so the kubelet reports Ready=False (ReadinessGatesNotReady) and the pod is kept out of the endpoints of its Services",
			x.names(), workloadOrPod(p), plural(len(x.pods), "is", "are"), u.gate, state)
		if svcs := d.servicesSelecting(p); len(svcs) > 0 {
			sum += " (" + joinNames(svcs) + ")"
		}
		sum += "; that condition is set by " + gateController(u.gate) + ", and it has not been set"
		proof := x.proof
		_, obj, _ := strings.Cut(u.gate, "/")
		if line := d.controllerErrorAbout(obj, p.Namespace); line != "" {
			sum += "; the controller's log says: " + clip(line, 400)
			proof = append(proof, "controller log: "+clip(line, 400))
		}
		out = append(out, investigate.Finding{
			Rule: "readiness-gate", Severity: investigate.FindingCritical, Score: scoreCause + 5,
			Summary: sum + ".", Objects: x.refs(), Proof: proof,
			Detail: "A readiness gate (spec.readinessGates) adds a condition an external controller must set True before the pod counts as Ready; until then the EndpointSlice controller lists it as not ready and a rolling update waits for it (ProgressDeadlineExceeded).",
			Actions: []string{
				fmt.Sprintf("kubectl get pod -n %s %s -o jsonpath='{.status.conditions}'", p.Namespace, p.Name),
				"Read the log of the controller that owns the gate and fix what it reports (its permissions, the load balancer's target registration or health check), then the condition turns True.",
			},
			Impact:     fmt.Sprintf("%d %s of %s receive no traffic from their Services, and a rollout of it cannot progress.", len(x.pods), plural(len(x.pods), "pod", "pods"), workloadOrPod(p)),
			Prevention: "Alert on the gate controller's reconcile errors and keep its cloud permissions under the same change control as the cluster.",
		})
	})
	return out
}

func containersReady(p *corev1.Pod) bool {
	if len(p.Status.ContainerStatuses) == 0 {
		return false
	}
	for _, cs := range p.Status.ContainerStatuses {
		if !cs.Ready {
			return false
		}
	}
	return true
}

// servicesSelecting names the snapshot's Services whose selector matches
// the pod.
func (d *diag) servicesSelecting(p *corev1.Pod) []string {
	var out []string
	for _, s := range d.s.Services {
		if s.Namespace == p.Namespace && len(s.Spec.Selector) > 0 && selects(s.Spec.Selector, p.Labels) {
			out = append(out, "Service "+s.Namespace+"/"+s.Name)
		}
	}
	return out
}

// controllerErrorAbout returns the last error line, in the logs of pods
// outside the namespace (controllers), that names the object; a JSON line
// is reduced to its message and error fields.
func (d *diag) controllerErrorAbout(name, ns string) string {
	if name == "" {
		return ""
	}
	last := ""
	for _, l := range d.s.Logs {
		if l.Namespace == ns {
			continue
		}
		for _, line := range l.Lines {
			if strings.Contains(line, name) && errorWord.MatchString(line) && !levelInfo.MatchString(line) {
				last = line
			}
		}
	}
	return jsonErrorText(last)
}

// reKlogHeader is the header klog writes before a message
// ("W1124 06:25:30.441207       7 controller.go:1372] ").
var reKlogHeader = regexp.MustCompile(`^[IWEF]\d{4} \d\d:\d\d:\d\d\.\d+\s+\d+ [^ \]]+:\d+\] `)

// jsonErrorText reduces a structured log line to "msg: error" when it is
// JSON with those fields, else returns it trimmed.
func jsonErrorText(line string) string {
	line = strings.TrimSpace(reCompactMark.ReplaceAllString(line, ""))
	line = reKlogHeader.ReplaceAllString(line, "")
	i := strings.IndexByte(line, '{')
	if i < 0 || !strings.HasSuffix(line, "}") {
		return line
	}
	var m map[string]any
	if json.Unmarshal([]byte(line[i:]), &m) != nil {
		return line
	}
	var parts []string
	for _, k := range []string{"msg", "message"} {
		if s, ok := m[k].(string); ok && s != "" {
			parts = append(parts, s)
			break
		}
	}
	for _, k := range []string{"error", "err"} {
		if s, ok := m[k].(string); ok && s != "" {
			parts = append(parts, s)
			break
		}
	}
	if len(parts) == 0 {
		return line
	}
	return strings.Join(parts, ": ")
}
