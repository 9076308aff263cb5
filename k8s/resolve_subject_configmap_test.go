package k8s

import (
	"context"
	"slices"
	"strings"
	"testing"

	batchv1 "k8s.io/api/batch/v1"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"

	"github.com/k8flex/k8flex/investigate"
)

func newConfigMap(ns, name string, data map[string]string) *corev1.ConfigMap {
	return &corev1.ConfigMap{ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: name}, Data: data}
}

// The clue search also reads what a workload takes from its ConfigMaps:
// envFrom, one key through configMapKeyRef, or a mounted file.
func TestResolveCluesInConfigMaps(t *testing.T) {
	// stream: the consumer takes group and topic from a ConfigMap through
	// envFrom; the producer carries the topic in its own env.
	consumer := withContainer(newDeployment("stream", "ingest-worker", map[string]string{"app": "ingest-worker"}), nil)
	consumer.Spec.Template.Spec.Containers[0].EnvFrom = []corev1.EnvFromSource{{ConfigMapRef: &corev1.ConfigMapEnvSource{LocalObjectReference: corev1.LocalObjectReference{Name: "ingest-settings"}}}}
	producer := withContainer(newDeployment("stream", "collector", map[string]string{"app": "collector"}), map[string]string{"TOPIC": "stream.raw"})
	// mail: one key of a ConfigMap through configMapKeyRef; the other key
	// (not read by the pod) holds a second queue name.
	mailer := withContainer(newDeployment("mail", "mailer", map[string]string{"app": "mailer"}), nil)
	mailer.Spec.Template.Spec.Containers[0].Env = []corev1.EnvVar{{Name: "QUEUE", ValueFrom: &corev1.EnvVarSource{ConfigMapKeyRef: &corev1.ConfigMapKeySelector{
		LocalObjectReference: corev1.LocalObjectReference{Name: "mailer-config"}, Key: "queue.name"}}}}
	// reports: a CronJob reads its queue from a mounted file.
	cron := &batchv1.CronJob{ObjectMeta: metav1.ObjectMeta{Namespace: "reports", Name: "nightly-export"},
		Spec: batchv1.CronJobSpec{Schedule: "0 3 * * *", JobTemplate: batchv1.JobTemplateSpec{Spec: batchv1.JobSpec{
			Template: podTemplate(map[string]string{"job": "export"}, "export", nil)}}}}
	cron.Spec.JobTemplate.Spec.Template.Spec.Volumes = []corev1.Volume{{Name: "cfg", VolumeSource: corev1.VolumeSource{ConfigMap: &corev1.ConfigMapVolumeSource{
		LocalObjectReference: corev1.LocalObjectReference{Name: "export-config"}}}}}
	// quiet: its workload references no ConfigMap; a ConfigMap there
	// holds a clue nobody reads.
	quiet := withContainer(newDeployment("quiet", "idle", map[string]string{"app": "idle"}), map[string]string{"MODE": "standby"})
	objs := []runtime.Object{
		consumer, producer, mailer, cron, quiet,
		newConfigMap("stream", "ingest-settings", map[string]string{"GROUP_ID": "stream-ingest", "TOPIC": "stream.raw"}),
		newConfigMap("mail", "mailer-config", map[string]string{"queue.name": "outbound-mail", "dead.letter": "bounced-mail"}),
		newConfigMap("reports", "export-config", map[string]string{"worker.yaml": "broker: amqp://mq.reports.svc:5672\nqueue: reports-nightly\nprefetch: 10\n"}),
		newConfigMap("quiet", "orphan-settings", map[string]string{"QUEUE": "orphaned-jobs"}),
		newPod("stream", "ingest-worker-6d8f9c7b5-aaaaa", withLabels("app", "ingest-worker"), ownedByRS("ingest-worker-6d8f9c7b5"), crashLooping(3)),
		newPod("stream", "collector-5c7d9b8f6-bbbbb", withLabels("app", "collector"), ownedByRS("collector-5c7d9b8f6")),
		newPod("mail", "mailer-7b9c8d6f5-ccccc", withLabels("app", "mailer"), ownedByRS("mailer-7b9c8d6f5")),
	}
	for _, tt := range []struct {
		name             string
		target           investigate.Target
		wantKind         investigate.Kind
		wantName, wantNS string
		wantNote         string // substring of Snapshot.Resolution; "" = no workload found
	}{
		{name: "group and topic from envFrom outweigh the producer's own topic env",
			target:   investigate.Target{Kind: investigate.KindNamespace, Name: "monitoring", Namespace: "monitoring", Clues: "consumergroup=stream-ingest topic=stream.raw"},
			wantKind: investigate.KindDeployment, wantName: "ingest-worker", wantNS: "stream", wantNote: "takes its env from ConfigMap stream/ingest-settings: GROUP_ID=stream-ingest"},
		{name: "the key a configMapKeyRef reads",
			target:   investigate.Target{Clues: "queue=outbound-mail"},
			wantKind: investigate.KindDeployment, wantName: "mailer", wantNS: "mail", wantNote: "env QUEUE from ConfigMap mail/mailer-config key queue.name=outbound-mail"},
		{name: "a CronJob's mounted config file",
			target:   investigate.Target{Clues: "queue=reports-nightly vhost=reports"},
			wantKind: investigate.KindCronJob, wantName: "nightly-export", wantNS: "reports", wantNote: `mounted as a volume, holds "queue: reports-nightly"`},
		{name: "a key the pod does not read is no match",
			target:   investigate.Target{Kind: investigate.KindNamespace, Name: "mail", Namespace: "mail", Clues: "queue=bounced-mail"},
			wantKind: investigate.KindNamespace, wantName: "mail", wantNS: "mail"},
		{name: "a ConfigMap no workload references is no match",
			target:   investigate.Target{Kind: investigate.KindNamespace, Name: "quiet", Namespace: "quiet", Clues: "queue=orphaned-jobs"},
			wantKind: investigate.KindNamespace, wantName: "quiet", wantNS: "quiet"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			api := newRecordingReader(t, objs...)
			g := NewGatherer(api, Options{Logs: mapLogs{}, Metrics: newMemory(t)})
			s, err := g.gather(context.Background(), tt.target, investigate.PodCrash)
			if err != nil {
				t.Fatal(err)
			}
			got := s.Target
			if got.Kind != tt.wantKind || got.Name != tt.wantName || got.Namespace != tt.wantNS {
				t.Errorf("target = %s (%+v), want %s/%s -n %s", got, got, tt.wantKind, tt.wantName, tt.wantNS)
			}
			switch {
			case tt.wantNote == "" && strings.Contains(s.Resolution, "workload that carries"):
				t.Errorf("resolution %q, want none", s.Resolution)
			case tt.wantNote != "" && !strings.Contains(s.Resolution, tt.wantNote):
				t.Errorf("resolution %q, want it to say %q", s.Resolution, tt.wantNote)
			}
			// Bounded reads: one ConfigMap list per namespace whose
			// workloads reference a ConfigMap, none elsewhere, no GET of
			// an unreferenced one.
			var listed []string
			for _, r := range api.recorded() {
				if r.resource.Resource != "configmaps" {
					continue
				}
				if r.verb == "list" {
					listed = append(listed, r.namespace)
				} else if r.name == "orphan-settings" {
					t.Errorf("read the unreferenced ConfigMap %s/%s", r.namespace, r.name)
				}
			}
			slices.Sort(listed)
			if want := []string{"mail", "reports", "stream"}; !slices.Equal(listed, want) {
				t.Errorf("ConfigMaps listed in %q, want once in each of %q", listed, want)
			}
		})
	}
}

// A storm of clue alerts lists each namespace's ConfigMaps once per cache
// period, and the requests the investigations report are the ones served.
func TestResolveCluesConfigMapsCached(t *testing.T) {
	var objs []runtime.Object
	for _, ns := range []string{"a", "b"} {
		d := withContainer(newDeployment(ns, "worker", map[string]string{"app": "worker"}), nil)
		d.Spec.Template.Spec.Containers[0].EnvFrom = []corev1.EnvFromSource{{ConfigMapRef: &corev1.ConfigMapEnvSource{LocalObjectReference: corev1.LocalObjectReference{Name: "worker-env"}}}}
		objs = append(objs, d, newConfigMap(ns, "worker-env", map[string]string{"QUEUE": ns + "-jobs"}))
	}
	api := newRecordingReader(t, objs...)
	g := NewGatherer(api, Options{Logs: mapLogs{}, Metrics: newMemory(t)})
	var reported int
	for _, q := range []string{"a-jobs", "b-jobs", "a-jobs"} {
		s, err := g.gather(context.Background(), investigate.Target{Clues: "queue=" + q}, investigate.PodCrash)
		if err != nil {
			t.Fatal(err)
		}
		if want := strings.TrimSuffix(q, "-jobs"); s.Target.Namespace != want || s.Target.Name != "worker" {
			t.Errorf("queue=%s: target %s -n %s, want worker -n %s", q, s.Target.Name, s.Target.Namespace, want)
		}
		reported += s.Evidence().APIRequests
	}
	lists := 0
	for _, r := range api.recorded() {
		if r.resource.Resource == "configmaps" && r.verb == "list" {
			lists++
		}
	}
	if lists != 2 {
		t.Errorf("%d ConfigMap lists for 3 alerts over 2 namespaces, want 2 (cached)", lists)
	}
	if int64(reported) != api.served() {
		t.Errorf("investigations reported %d requests, the server served %d", reported, api.served())
	}
}

// With more namespaces than the search lists, those a clue points to (a
// topic or vhost holding the namespace's name) are listed first.
func TestResolveCluesConfigMapsNamespaceOrder(t *testing.T) {
	var objs []runtime.Object
	addWorker := func(ns, name, cm string, data map[string]string) {
		d := withContainer(newDeployment(ns, name, map[string]string{"app": name}), nil)
		d.Spec.Template.Spec.Containers[0].EnvFrom = []corev1.EnvFromSource{{ConfigMapRef: &corev1.ConfigMapEnvSource{LocalObjectReference: corev1.LocalObjectReference{Name: cm}}}}
		objs = append(objs, d, newConfigMap(ns, cm, data))
	}
	for i := 0; i < maxClueConfigMapNamespaces+4; i++ {
		ns := "team-" + string(rune('a'+i))
		addWorker(ns, "api", "api-env", map[string]string{"LOG_LEVEL": "info"})
	}
	addWorker("zz-billing", "invoicer", "invoicer-env", map[string]string{"GROUP": "invoicing", "TOPIC": "zz-billing.invoices"})
	api := newRecordingReader(t, objs...)
	g := NewGatherer(api, Options{Logs: mapLogs{}, Metrics: newMemory(t)})
	s, err := g.gather(context.Background(), investigate.Target{Kind: investigate.KindNamespace, Name: "monitoring", Namespace: "monitoring",
		Clues: "consumergroup=invoicing topic=zz-billing.invoices"}, investigate.PodCrash)
	if err != nil {
		t.Fatal(err)
	}
	if s.Target.Namespace != "zz-billing" || s.Target.Name != "invoicer" {
		t.Errorf("target %s -n %s, want invoicer -n zz-billing; resolution %q", s.Target.Name, s.Target.Namespace, s.Resolution)
	}
	lists := 0
	for _, r := range api.recorded() {
		if r.resource.Resource == "configmaps" && r.verb == "list" {
			lists++
		}
	}
	if lists > maxClueConfigMapNamespaces {
		t.Errorf("%d ConfigMap lists, want at most %d", lists, maxClueConfigMapNamespaces)
	}
}
