package investigate

import (
	"net"
	"regexp"
	"sort"
	"strings"
)

// Kind is the kind of Kubernetes object a Target names.
type Kind string

// Target kinds K8flex can investigate.
const (
	KindPod         Kind = "pod"
	KindDeployment  Kind = "deployment"
	KindStatefulSet Kind = "statefulset"
	KindDaemonSet   Kind = "daemonset"
	KindJob         Kind = "job"
	KindCronJob     Kind = "cronjob"
	KindService     Kind = "service"
	KindNode        Kind = "node"
	KindNamespace   Kind = "namespace"
	// KindPodDisruptionBudget targets a PodDisruptionBudget: the pods it
	// selects are investigated, with the evictions and drains it blocks.
	KindPodDisruptionBudget Kind = "poddisruptionbudget"
	// KindWorkload is a pod controller whose kind the alert does not say
	// (a service mesh's destination_workload): the gatherer finds the
	// Deployment, StatefulSet or DaemonSet of that name.
	KindWorkload Kind = "workload"
)

// Target is what an investigation looks at: the primary object (Kind/Name)
// and every other hint the alert's labels gave. Fields are empty when unknown.
type Target struct {
	Kind      Kind   `json:"kind,omitempty"`
	Name      string `json:"name,omitempty"`
	Namespace string `json:"namespace,omitempty"`
	// Hints from labels beside the primary object.
	Pod       string `json:"pod,omitempty"`
	Container string `json:"container,omitempty"`
	Workload  Ref    `json:"workload,omitempty"`
	Service   string `json:"service,omitempty"`
	Node      string `json:"node,omitempty"`
	// Autoscaler is the HorizontalPodAutoscaler the alert names
	// (kube-state-metrics' horizontalpodautoscaler label); the gatherer
	// follows it to the workload it scales.
	Autoscaler string `json:"autoscaler,omitempty"`
	// Instance is the alert's instance label (ip:port); collectors map its IP
	// to a node by InternalIP when no node is named.
	Instance string `json:"instance,omitempty"`
	// Host is the host name of a probed URL (a blackbox probe's instance)
	// that is not a cluster DNS name: the gatherer maps it to the Ingress
	// rule that serves it, and so to a Service.
	Host string `json:"host,omitempty"`
	// Path is the path of that probed URL ("/api/v1/health"): it picks
	// the Ingress path that serves the request.
	Path string `json:"path,omitempty"`
	// Clues are the alert's distinctive label values when no label names a
	// Kubernetes object ("consumergroup=orders topic=orders.v1"), as
	// space-separated key=value pairs: the gatherer searches the workloads
	// whose name, labels, env values or args carry them. A "job" clue
	// that names an exporter is the scraper, never the subject. See Clues.
	Clues string `json:"clues,omitempty"`
}

// Ref names a namespaced object of some kind.
type Ref struct {
	Kind Kind   `json:"kind,omitempty"`
	Name string `json:"name,omitempty"`
}

// IsZero reports whether the ref names nothing.
func (r Ref) IsZero() bool { return r.Name == "" }

// IsZero reports whether the target names nothing at all.
func (t Target) IsZero() bool { return t == Target{} }

// String renders the target kubectl-style: "pod/name -n ns", "node/name".
func (t Target) String() string {
	if t.Kind == "" {
		if t.Namespace != "" {
			return "namespace/" + t.Namespace
		}
		return "(no target)"
	}
	s := string(t.Kind) + "/" + t.Name
	if t.Namespace != "" && t.Kind != KindNode && t.Kind != KindNamespace {
		s += " -n " + t.Namespace
	}
	return s
}

// IPFromInstance returns the IP part of an ip:port instance label, or "".
func (t Target) IPFromInstance() string {
	host := t.Instance
	if h, _, err := net.SplitHostPort(t.Instance); err == nil {
		host = h
	}
	if ip := net.ParseIP(host); ip != nil {
		return ip.String()
	}
	return ""
}

// dns1123 matches a Kubernetes object name (subdomain form, ≤253 chars).
var dns1123 = regexp.MustCompile(`^[a-z0-9]([-a-z0-9.]*[a-z0-9])?$`)

// ValidName reports whether s can name a Kubernetes object. Label values
// from alerts are checked with it before they reach the API server.
func ValidName(s string) bool { return len(s) <= 253 && dns1123.MatchString(s) }

// TargetFromLabels derives the target of an alert from its labels. The most
// specific object wins: pod, then workload (deployment, statefulset,
// daemonset, job, cronjob), then service, then poddisruptionbudget (with a
// namespace), then node; a namespace alone targets the namespace. Label values that are not valid Kubernetes names are dropped.
//
// Labels that name the subject rather than the series' scrape target win
// over those that name the scrape target: exported_* (a target scraped
// without honor_labels keeps the subject's labels under that prefix), a
// service mesh's destination labels (Istio destination_workload,
// destination_service*; Linkerd dst_*), and cluster-DNS names in any label
// (name.ns.svc[.cluster.local], with or without scheme and port). The pod
// of an exporter the series was scraped from is dropped when another label
// names the subject. When no label names an object, the alert's
// distinctive label values become Clues.
func TargetFromLabels(labels map[string]string) Target {
	get := func(keys ...string) string {
		for _, k := range keys {
			if v := labels[k]; v != "" && ValidName(v) {
				return v
			}
		}
		return ""
	}
	t := Target{
		// Labels naming the subject's namespace win over "namespace",
		// which may be the exporter's, the mesh reporter's or the tool's
		// own (Argo CD's dest_namespace, a relabelled exported_namespace).
		Namespace: get("exported_namespace", "destination_workload_namespace", "destination_service_namespace", "dst_namespace",
			"dest_namespace", "destination_namespace", "target_namespace", "namespace"),
		Pod:      get("exported_pod", "pod", "pod_name"),
		Service:  get("service_name", "exported_service"),
		Node:     get("exported_node", "node", "nodename", "kubernetes_node"),
		Instance: labels["instance"],
	}
	switch {
	case get("exported_pod") != "":
		// container is then the exporter's container too.
		t.Container = get("exported_container")
	case get("exported_namespace") != "" && labels["exported_namespace"] != labels["namespace"]:
		// pod and container go with namespace, the scraper's (an ingress
		// controller's series of another namespace's Service).
		t.Pod, t.Container = "", get("exported_container")
	default:
		t.Container = get("exported_container", "container", "container_name")
	}
	t.Autoscaler = get("horizontalpodautoscaler")
	if t.IPFromInstance() == "" {
		t.Instance = ""
	}
	// Workload labels: kube-state-metrics uses these names.
	for _, w := range []struct {
		key  string
		kind Kind
	}{
		{"deployment", KindDeployment}, {"statefulset", KindStatefulSet},
		{"daemonset", KindDaemonSet}, {"job_name", KindJob}, {"job", KindJob},
		{"cronjob", KindCronJob},
	} {
		v := labels[w.key]
		if v == "" || !ValidName(v) {
			continue
		}
		// "job" is also Prometheus' scrape job (kube-state-metrics, node-exporter);
		// it names a Kubernetes Job only for the job alerts.
		if w.key == "job" && !strings.HasPrefix(labels["alertname"], "KubeJob") {
			continue
		}
		t.Workload = Ref{Kind: w.kind, Name: v}
		break
	}
	// A mesh's destination names the subject; its pod, workload and
	// namespace labels name the reporting proxy's own pod.
	d := meshDestination(labels)
	if !d.IsZero() {
		t.Workload = d.Workload
		if d.Service != "" {
			t.Service = d.Service
		}
		if d.Namespace != "" {
			t.Namespace = d.Namespace
		}
		if t.Pod != "" && (t.Workload.IsZero() || !strings.HasPrefix(t.Pod, t.Workload.Name+"-")) {
			t.Pod, t.Container = "", ""
		}
	}
	// The service label of kube-prometheus-stack names the exporter's
	// Service (kube-state-metrics, node-exporter), not the broken one; use it
	// only when it is not one of those.
	if s := get("service"); s != "" && !isExporterService(s) && t.Service == "" && d.IsZero() {
		t.Service = s
	}
	if t.Service == "" && t.Workload.IsZero() && (t.Pod == "" || scrapedExporterPod(labels, t.Pod)) {
		// A cluster-DNS name in any other label (a probe's target, an
		// exporter's addr, a client's upstream) names a Service.
		if svc, ns := serviceInLabels(labels); svc != "" {
			t.Service, t.Namespace = svc, ns
		}
	}
	if t.Service == "" && t.Pod == "" && t.Workload.IsZero() {
		// SLO and application alerts name the service under their own
		// keys (sloth_service, app.kubernetes.io/name relabelled): a
		// Service of that name is looked up across namespaces.
		if s := serviceLikeLabel(labels); s != "" && !isExporterService(s) {
			t.Service = s
		}
	}
	// Exporters carry their own pod in the pod label; drop it when the alert
	// is about something else (node-exporter's pod on a node alert).
	if isExporterPod(labels) && t.Pod == labels["pod"] {
		t.Pod, t.Container = "", ""
		if isExporterNamespace(labels) && t.Workload.IsZero() && t.Namespace == labels["namespace"] {
			t.Namespace = ""
		}
	}
	if t.Service == "" {
		// Blackbox probes: instance is the probed URL, e.g.
		// http://payments-api.payments.svc:8080/healthz.
		if svc, ns := serviceFromURL(labels["instance"]); svc != "" {
			t.Service, t.Namespace = svc, ns
		} else if h := urlHost(labels["instance"]); h != "" && t.Pod == "" && t.Workload.IsZero() {
			// A public URL: the namespace label is the prober's own.
			t.Host, t.Path = h, urlPath(labels["instance"])
			if isExporterNamespace(labels) || strings.Contains(labels["job"], "blackbox") || strings.Contains(labels["job"], "probe") {
				t.Namespace = ""
			}
		}
	}
	clues := cluesOf(labels)
	if scrapedExporterPod(labels, t.Pod) && (t.Service != "" || !t.Workload.IsZero() || t.Node != "" || clues != "") {
		// The pod is the exporter the job scrapes (kafka-exporter,
		// redis-exporter…); the alert's other labels name its subject.
		t.Pod, t.Container = "", ""
	}
	pdb := get("poddisruptionbudget")
	switch {
	case t.Pod != "":
		t.Kind, t.Name = KindPod, t.Pod
	case !t.Workload.IsZero():
		t.Kind, t.Name = t.Workload.Kind, t.Workload.Name
	case t.Service != "":
		t.Kind, t.Name = KindService, t.Service
	case pdb != "" && t.Namespace != "":
		t.Kind, t.Name = KindPodDisruptionBudget, pdb
	case t.Node != "":
		t.Kind, t.Name = KindNode, t.Node
	case t.Namespace != "":
		t.Kind, t.Name = KindNamespace, t.Namespace
	}
	if (t.Kind == "" || t.Kind == KindNamespace) && t.Autoscaler == "" && pdb == "" && t.Host == "" {
		t.Clues = clues
	}
	return t
}

// TargetFromAlert derives the target from the alert's labels and, when
// they name no object, from its summary/description ("Service recs/web has
// no ready endpoints", "Deployment shop/api has not matched...").
func TargetFromAlert(a *Alert) Target {
	t := TargetFromLabels(a.Labels)
	if t.Kind != "" && t.Kind != KindNamespace {
		return t
	}
	for _, text := range []string{a.Annotations["summary"], a.Annotations["description"], a.Annotations["message"]} {
		m := objectInText.FindStringSubmatch(text)
		if m == nil {
			continue
		}
		kind, ok := kindAliases[strings.ToLower(m[1])]
		ns, name := m[2], m[3]
		if !ok || !ValidName(ns) || !ValidName(name) || (t.Namespace != "" && t.Namespace != ns) {
			continue
		}
		t.Kind, t.Name, t.Namespace = kind, name, ns
		t.setObjectHint(kind, name)
		t.Clues = ""
		return t
	}
	return t
}

// objectInText finds "<Kind> <namespace>/<name>" in alert text.
var objectInText = regexp.MustCompile(`\b(Service|Deployment|StatefulSet|DaemonSet|Job|Pod)\s+([a-z0-9][-a-z0-9]*)/([a-z0-9][-a-z0-9.]*[a-z0-9])\b`)

// serviceFromURL extracts service and namespace from a cluster-DNS URL
// (scheme://svc.ns.svc[.cluster.local][:port]/path); "" when it is not one.
func serviceFromURL(s string) (svc, ns string) {
	if i := strings.Index(s, "://"); i >= 0 {
		s = s[i+3:]
	}
	host, _, _ := strings.Cut(s, "/")
	if i := strings.LastIndex(host, "@"); i >= 0 {
		host = host[i+1:] // user:password@host
	}
	if h, _, err := net.SplitHostPort(host); err == nil {
		host = h
	}
	parts := strings.Split(strings.ToLower(host), ".")
	if len(parts) >= 3 && parts[2] == "svc" && ValidName(parts[0]) && ValidName(parts[1]) {
		return parts[0], parts[1]
	}
	// A pod's name under a headless Service: pod.svc.ns.svc…
	if len(parts) >= 4 && parts[3] == "svc" && ValidName(parts[1]) && ValidName(parts[2]) {
		return parts[1], parts[2]
	}
	return "", ""
}

// serviceLikeLabel returns the value of a label that names the alerting
// application's service when no standard label does: a key ending in
// "_service", then app.kubernetes.io/name's relabelled forms and "app".
// Values that are not valid object names are skipped.
func serviceLikeLabel(labels map[string]string) string {
	keys := make([]string, 0, len(labels))
	for k := range labels {
		if strings.HasSuffix(k, "_service") {
			keys = append(keys, k)
		}
	}
	sort.Strings(keys)
	keys = append(keys, "app_kubernetes_io_name", "app_kubernetes_io_instance", "app", "application")
	for _, k := range keys {
		if v := labels[k]; v != "" && ValidName(v) {
			return v
		}
	}
	return ""
}

// urlHost returns the lower-case host name of an http(s) URL, or "" when
// s is not one or names an IP address.
func urlHost(s string) string {
	rest, ok := strings.CutPrefix(strings.ToLower(s), "https://")
	if !ok {
		if rest, ok = strings.CutPrefix(strings.ToLower(s), "http://"); !ok {
			return ""
		}
	}
	host, _, _ := strings.Cut(rest, "/")
	if h, _, err := net.SplitHostPort(host); err == nil {
		host = h
	}
	if net.ParseIP(host) != nil || !ValidName(host) {
		return ""
	}
	return host
}

// urlPath returns the path of an http(s) URL without query or fragment
// ("/" when it has none).
func urlPath(s string) string {
	_, rest, _ := strings.Cut(s, "://")
	_, path, ok := strings.Cut(rest, "/")
	if !ok {
		return "/"
	}
	path, _, _ = strings.Cut(path, "?")
	path, _, _ = strings.Cut(path, "#")
	return "/" + path
}

func isExporterService(s string) bool {
	for _, x := range []string{"kube-state-metrics", "node-exporter", "kubelet", "blackbox-exporter", "coredns", "kube-dns"} {
		if strings.Contains(s, x) {
			return true
		}
	}
	return false
}

// isExporterPod reports whether the pod/container labels name the exporter
// that produced the metric rather than the subject of the alert.
func isExporterPod(labels map[string]string) bool {
	for _, x := range []string{"node-exporter", "kube-state-metrics", "blackbox-exporter", "prometheus-operator"} {
		if strings.Contains(labels["pod"], x) || labels["container"] == x {
			return true
		}
	}
	return false
}

// isExporterNamespace reports whether the namespace label is the exporter's
// own (Prometheus' target label), not the subject's: it equals the
// namespace of the Prometheus that raised the alert
// (prometheus="monitoring/kube-prometheus-stack-prometheus").
func isExporterNamespace(labels map[string]string) bool {
	promNS, _, ok := strings.Cut(labels["prometheus"], "/")
	return ok && labels["namespace"] == promNS
}

// ParseTarget parses a kubectl-like target: "pod/NAME -n NS", "deploy/NAME
// --namespace NS", "svc/NAME -n NS", "node/NAME", "NS/NAME" (a pod), "sts/NAME",
// "ds/NAME", "job/NAME", "ns/NAME". The rest of the words, if any, are the
// free-text question.
// A target that does not parse is an *InputError.
func ParseTarget(s string) (Target, string, error) {
	fields := strings.Fields(s)
	var t Target
	var rest []string
	var obj string
	for i := 0; i < len(fields); i++ {
		f := fields[i]
		switch {
		case f == "-n" || f == "--namespace":
			if i+1 >= len(fields) {
				return Target{}, "", inputErrorf("%s needs a namespace", f)
			}
			i++
			t.Namespace = fields[i]
		case strings.HasPrefix(f, "--namespace="):
			t.Namespace = strings.TrimPrefix(f, "--namespace=")
		case strings.HasPrefix(f, "-n="):
			t.Namespace = strings.TrimPrefix(f, "-n=")
		case obj == "" && strings.Contains(f, "/"):
			obj = f
		default:
			rest = append(rest, f)
		}
	}
	if obj == "" {
		return Target{}, "", inputErrorf("no target: use kind/name, e.g. pod/web-0 -n shop, deploy/api -n shop, node/worker-1")
	}
	kindStr, name, _ := strings.Cut(obj, "/")
	kind, ok := kindAliases[strings.ToLower(kindStr)]
	if !ok {
		// NS/NAME names a pod in namespace NS.
		if t.Namespace != "" && t.Namespace != kindStr {
			return Target{}, "", inputErrorf("unknown kind %q (and -n %s contradicts it as a namespace)", kindStr, t.Namespace)
		}
		if !ValidName(kindStr) {
			return Target{}, "", inputErrorf("unknown kind %q", kindStr)
		}
		kind, t.Namespace = KindPod, kindStr
	}
	if !ValidName(name) {
		return Target{}, "", inputErrorf("%q is not a valid Kubernetes name", name)
	}
	if t.Namespace != "" && !ValidName(t.Namespace) {
		return Target{}, "", inputErrorf("%q is not a valid namespace", t.Namespace)
	}
	t.Kind, t.Name = kind, name
	switch kind {
	case KindNode:
		t.Node, t.Namespace = name, ""
	case KindNamespace:
		t.Namespace = name
	default:
		t.setObjectHint(kind, name)
	}
	if t.Namespace == "" && kind != KindNode && kind != KindNamespace {
		t.Namespace = "default"
	}
	return t, strings.Join(rest, " "), nil
}

var kindAliases = map[string]Kind{
	"pod": KindPod, "pods": KindPod, "po": KindPod,
	"deployment": KindDeployment, "deployments": KindDeployment, "deploy": KindDeployment,
	"statefulset": KindStatefulSet, "statefulsets": KindStatefulSet, "sts": KindStatefulSet,
	"daemonset": KindDaemonSet, "daemonsets": KindDaemonSet, "ds": KindDaemonSet,
	"job": KindJob, "jobs": KindJob,
	"cronjob": KindCronJob, "cronjobs": KindCronJob, "cj": KindCronJob,
	"service": KindService, "services": KindService, "svc": KindService,
	"node": KindNode, "nodes": KindNode, "no": KindNode,
	"namespace": KindNamespace, "namespaces": KindNamespace, "ns": KindNamespace,
	"poddisruptionbudget": KindPodDisruptionBudget, "poddisruptionbudgets": KindPodDisruptionBudget, "pdb": KindPodDisruptionBudget,
}

// setObjectHint records a namespaced object as the matching hint: Pod,
// Service, or Workload for the workload kinds.
func (t *Target) setObjectHint(kind Kind, name string) {
	switch kind {
	case KindPod:
		t.Pod = name
	case KindService:
		t.Service = name
	case KindPodDisruptionBudget:
		// no hint: the budget's pods are found from its selector
	default:
		t.Workload = Ref{Kind: kind, Name: name}
	}
}
