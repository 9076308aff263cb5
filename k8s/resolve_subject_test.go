package k8s

import (
	"context"
	"slices"
	"strings"
	"testing"

	appsv1 "k8s.io/api/apps/v1"
	batchv1 "k8s.io/api/batch/v1"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"

	"github.com/k8flex/k8flex/investigate"
)

// withContainer sets a workload's pod template: labels app=name and one
// container with env and args.
func withContainer(d *appsv1.Deployment, env map[string]string, args ...string) *appsv1.Deployment {
	d.Spec.Template = podTemplate(d.Spec.Selector.MatchLabels, d.Name, env, args...)
	return d
}

func podTemplate(labels map[string]string, name string, env map[string]string, args ...string) corev1.PodTemplateSpec {
	c := corev1.Container{Name: name, Image: "registry.example/" + name + ":1", Args: args}
	for _, k := range slices.Sorted(func(yield func(string) bool) {
		for k := range env {
			if !yield(k) {
				return
			}
		}
	}) {
		c.Env = append(c.Env, corev1.EnvVar{Name: k, Value: env[k]})
	}
	return corev1.PodTemplateSpec{ObjectMeta: metav1.ObjectMeta{Labels: labels}, Spec: corev1.PodSpec{Containers: []corev1.Container{c}}}
}

func withIP(ip string) podOpt { return func(p *corev1.Pod) { p.Status.PodIP = ip } }

func TestResolveSubject(t *testing.T) {
	sts := &appsv1.StatefulSet{ObjectMeta: metav1.ObjectMeta{Namespace: "data", Name: "search"},
		Spec: appsv1.StatefulSetSpec{Selector: &metav1.LabelSelector{MatchLabels: map[string]string{"app": "search"}},
			Template: podTemplate(map[string]string{"app": "search"}, "search", nil)}}
	cron := &batchv1.CronJob{ObjectMeta: metav1.ObjectMeta{Namespace: "etl", Name: "nightly-rollup"},
		Spec: batchv1.CronJobSpec{Schedule: "0 2 * * *", JobTemplate: batchv1.JobTemplateSpec{Spec: batchv1.JobSpec{
			Template: podTemplate(map[string]string{"job": "rollup"}, "rollup", nil, "--queue", "rollups-daily")}}}}
	objs := []runtime.Object{
		// The consumer carries the group in its env; the producer only the topic.
		withContainer(newDeployment("ledger", "posting-consumer", map[string]string{"app": "posting-consumer"}),
			map[string]string{"KAFKA_GROUP": "ledger-posting", "KAFKA_TOPIC": "ledger.postings"}),
		withContainer(newDeployment("ledger", "posting-api", map[string]string{"app": "posting-api"}),
			map[string]string{"KAFKA_TOPIC": "ledger.postings"}),
		newPod("ledger", "posting-consumer-6d8f9c7b5-aaaaa", withLabels("app", "posting-consumer"), ownedByRS("posting-consumer-6d8f9c7b5"), crashLooping(4)),
		newPod("ledger", "posting-api-5c7d9b8f6-bbbbb", withLabels("app", "posting-api"), ownedByRS("posting-api-5c7d9b8f6"), withIP("10.244.2.7")),
		// A worker takes its queue as an argument, in the alert's namespace.
		withContainer(newDeployment("media", "thumbnailer", map[string]string{"app": "thumbnailer"}),
			nil, "--broker=amqp://rabbitmq.media.svc:5672/media", "--queue=thumbnails"),
		newPod("media", "thumbnailer-7b9c8d6f5-ccccc", withLabels("app", "thumbnailer"), ownedByRS("thumbnailer-7b9c8d6f5"), crashLooping(2)),
		// The exporter that scraped the lag series carries the group too.
		withContainer(newDeployment("monitoring", "kafka-lag-exporter", map[string]string{"app": "kafka-lag-exporter"}),
			map[string]string{"GROUPS": "ledger-posting,billing"}),
		newPod("monitoring", "kafka-lag-exporter-5d-ddddd", withLabels("app", "kafka-lag-exporter"), ownedByRS("kafka-lag-exporter-5d"), withIP("10.244.9.9")),
		sts, newPod("data", "search-0", withLabels("app", "search"), crashLooping(1)),
		cron,
	}
	for _, tt := range []struct {
		name     string
		target   investigate.Target
		wantKind investigate.Kind
		wantName string
		wantNS   string
		wantPods []string
		wantNote string // substring of Snapshot.Resolution; "" = none
	}{
		{name: "consumer group and topic pick the consumer, not the producer nor the exporter",
			target:   investigate.Target{Kind: investigate.KindNamespace, Name: "monitoring", Namespace: "monitoring", Clues: "consumergroup=ledger-posting topic=ledger.postings scraper=kafka-lag-exporter"},
			wantKind: investigate.KindDeployment, wantName: "posting-consumer", wantNS: "ledger",
			wantPods: []string{"posting-consumer-6d8f9c7b5-aaaaa"}, wantNote: "env KAFKA_GROUP=ledger-posting"},
		{name: "a queue named in a worker's args",
			target:   investigate.Target{Clues: "queue=thumbnails vhost=media job=media-worker"},
			wantKind: investigate.KindDeployment, wantName: "thumbnailer", wantNS: "media",
			wantPods: []string{"thumbnailer-7b9c8d6f5-ccccc"}, wantNote: `argument "--queue=thumbnails"`},
		{name: "a CronJob's queue argument",
			target:   investigate.Target{Clues: "queue=rollups-daily"},
			wantKind: investigate.KindCronJob, wantName: "nightly-rollup", wantNS: "etl", wantNote: "CronJob etl/nightly-rollup"},
		{name: "no workload carries the clues: the namespace target stays",
			target:   investigate.Target{Kind: investigate.KindNamespace, Name: "media", Namespace: "media", Clues: "topic=payments.refunds"},
			wantKind: investigate.KindNamespace, wantName: "media", wantNS: "media", wantPods: []string{"thumbnailer-7b9c8d6f5-ccccc"}},
		{name: "the exporter that scraped the series is never the subject",
			target:   investigate.Target{Kind: investigate.KindNamespace, Name: "media", Namespace: "media", Clues: "consumergroup=billing scraper=kafka-lag-exporter"},
			wantKind: investigate.KindNamespace, wantName: "media", wantNS: "media", wantPods: []string{"thumbnailer-7b9c8d6f5-ccccc"}},
		{name: "a partial name match alone is no match",
			target:   investigate.Target{Kind: investigate.KindNamespace, Name: "media", Namespace: "media", Clues: "consumergroup=search-indexer"},
			wantKind: investigate.KindNamespace, wantName: "media", wantNS: "media", wantPods: []string{"thumbnailer-7b9c8d6f5-ccccc"}},
		{name: "instance IP of an application pod in the alert's namespace",
			target:   investigate.Target{Kind: investigate.KindNamespace, Name: "ledger", Namespace: "ledger", Instance: "10.244.2.7:8080"},
			wantKind: investigate.KindPod, wantName: "posting-api-5c7d9b8f6-bbbbb", wantNS: "ledger",
			wantPods: []string{"posting-api-5c7d9b8f6-bbbbb"}, wantNote: "instance 10.244.2.7:8080 is the IP of pod ledger/posting-api-5c7d9b8f6-bbbbb"},
		{name: "instance IP without a namespace",
			target:   investigate.Target{Instance: "10.244.2.7:9090"},
			wantKind: investigate.KindPod, wantName: "posting-api-5c7d9b8f6-bbbbb", wantNS: "ledger", wantPods: []string{"posting-api-5c7d9b8f6-bbbbb"}},
		{name: "an exporter's instance IP is not the subject",
			target:   investigate.Target{Kind: investigate.KindNamespace, Name: "media", Namespace: "media", Instance: "10.244.9.9:9308"},
			wantKind: investigate.KindNamespace, wantName: "media", wantNS: "media", wantPods: []string{"thumbnailer-7b9c8d6f5-ccccc"}},
		{name: "a mesh workload of unknown kind is the StatefulSet of that name",
			target:   investigate.Target{Kind: investigate.KindWorkload, Name: "search", Namespace: "data", Workload: investigate.Ref{Kind: investigate.KindWorkload, Name: "search"}},
			wantKind: investigate.KindStatefulSet, wantName: "search", wantNS: "data", wantPods: []string{"search-0"}},
		{name: "a mesh workload of unknown kind is the Deployment of that name",
			target:   investigate.Target{Kind: investigate.KindWorkload, Name: "thumbnailer", Namespace: "media", Workload: investigate.Ref{Kind: investigate.KindWorkload, Name: "thumbnailer"}},
			wantKind: investigate.KindDeployment, wantName: "thumbnailer", wantNS: "media", wantPods: []string{"thumbnailer-7b9c8d6f5-ccccc"}},
		{name: "a pod the alert names is not replaced by its clues",
			target:   investigate.Target{Kind: investigate.KindPod, Name: "search-0", Namespace: "data", Pod: "search-0", Clues: "consumergroup=ledger-posting"},
			wantKind: investigate.KindPod, wantName: "search-0", wantNS: "data", wantPods: []string{"search-0"}},
	} {
		t.Run(tt.name, func(t *testing.T) {
			g := NewGatherer(newMemory(t, objs...), Options{Logs: mapLogs{}, Metrics: newMemory(t)})
			s, err := g.gather(context.Background(), tt.target, investigate.PodCrash)
			if err != nil {
				t.Fatal(err)
			}
			got := s.Target
			if got.Kind != tt.wantKind || got.Name != tt.wantName || got.Namespace != tt.wantNS {
				t.Errorf("target = %s (%+v), want %s/%s -n %s", got, got, tt.wantKind, tt.wantName, tt.wantNS)
			}
			if tt.wantPods != nil {
				if p := podNames(s.Pods); !slices.Equal(p, tt.wantPods) {
					t.Errorf("pods = %v, want %v", p, tt.wantPods)
				}
			}
			switch {
			case tt.wantNote == "" && strings.Contains(s.Resolution, "workload that carries"):
				t.Errorf("resolution %q, want none", s.Resolution)
			case tt.wantNote != "" && !strings.Contains(s.Resolution, tt.wantNote):
				t.Errorf("resolution %q, want it to say %q", s.Resolution, tt.wantNote)
			}
			if tt.wantNote != "" {
				ev := s.Evidence()
				if !slices.ContainsFunc(ev.Sections, func(sec investigate.Section) bool { return sec.Name == "target/resolution" }) {
					t.Error("the evidence does not say how the target was found")
				}
			}
		})
	}
}
