package llm

import (
	"context"
	"math"
	"testing"
)

func cosine(a, b []float32) float64 {
	var dot, na, nb float64
	for i := range a {
		dot += float64(a[i]) * float64(b[i])
		na += float64(a[i]) * float64(a[i])
		nb += float64(b[i]) * float64(b[i])
	}
	if na == 0 || nb == 0 {
		return 0
	}
	return dot / math.Sqrt(na*nb)
}

// Texts follow the convention: alertname severity category summary key labels.
func TestLocalEmbedderSimilarity(t *testing.T) {
	e := NewLocalEmbedder(0)
	for _, tt := range []struct {
		name     string
		a, b     string
		min, max float64
	}{
		{name: "same crash loop, other pod",
			a:   "KubePodCrashLooping critical pod-crash Pod shop/web-7d9f-abcde (app) is in CrashLoopBackOff namespace=shop pod=web-7d9f-abcde",
			b:   "KubePodCrashLooping critical pod-crash Pod shop/web-7d9f-xyz12 (app) is in CrashLoopBackOff namespace=shop pod=web-7d9f-xyz12",
			min: 0.75, max: 1},
		{name: "same OOM alert, reworded summary",
			a:   "KubeContainerOOMKilled warning oom-killed Container api in payments/api-0 was OOMKilled namespace=payments pod=api-0",
			b:   "KubeContainerOOMKilled warning oom-killed Container api of pod payments/api-3 has been OOMKilled 3 times namespace=payments pod=api-3",
			min: 0.75, max: 1},
		{name: "same node alert, other node",
			a:   "KubeNodeNotReady critical node-not-ready Node worker-3 has been unready for more than 15 minutes node=worker-3",
			b:   "KubeNodeNotReady critical node-not-ready Node worker-9 has been unready for more than 15 minutes node=worker-9",
			min: 0.75, max: 1},
		{name: "crash loop vs DNS failures",
			a:   "KubePodCrashLooping critical pod-crash Pod shop/web-7d9f-abcde (app) is in CrashLoopBackOff namespace=shop pod=web-7d9f-abcde",
			b:   "CoreDNSErrorsHigh warning dns-issues CoreDNS is returning SERVFAIL for 12% of requests namespace=kube-system",
			min: -1, max: 0.3},
		{name: "node not ready vs OOM",
			a:   "KubeNodeNotReady critical node-not-ready Node worker-3 has been unready for more than 15 minutes node=worker-3",
			b:   "KubeContainerOOMKilled warning oom-killed Container api in payments/api-0 was OOMKilled namespace=payments pod=api-0",
			min: -1, max: 0.3},
	} {
		t.Run(tt.name, func(t *testing.T) {
			v, err := e.Embed(context.Background(), []string{tt.a, tt.b})
			if err != nil {
				t.Fatal(err)
			}
			got := cosine(v[0], v[1])
			t.Logf("cosine %.3f", got)
			if got < tt.min || got > tt.max {
				t.Errorf("cosine %.3f, want within [%.2f, %.2f]", got, tt.min, tt.max)
			}
		})
	}
}

func TestLocalEmbedderVectors(t *testing.T) {
	e := NewLocalEmbedder(128)
	if e.Dimensions() != 128 {
		t.Fatalf("Dimensions() = %d", e.Dimensions())
	}
	a, b := e.Vector("KubePodCrashLooping pod-crash"), e.Vector("KubePodCrashLooping pod-crash")
	var norm float64
	for i := range a {
		if a[i] != b[i] {
			t.Fatal("not deterministic")
		}
		norm += float64(a[i]) * float64(a[i])
	}
	if len(a) != 128 || math.Abs(norm-1) > 1e-5 {
		t.Errorf("len %d, norm² %f; want 128 and 1", len(a), norm)
	}
	for _, x := range e.Vector(" -- ") {
		if x != 0 {
			t.Fatal("text without words gave a non-zero vector")
		}
	}
	if got := camelParts("KubeContainerOOMKilled"); len(got) != 4 || got[2] != "OOM" || got[3] != "Killed" {
		t.Errorf("camelParts = %q", got)
	}
}

func BenchmarkLocalEmbedder(b *testing.B) {
	e := NewLocalEmbedder(0)
	text := "KubePodCrashLooping critical pod-crash Pod shop/web-7d9f-abcde (app) is in CrashLoopBackOff namespace=shop pod=web-7d9f-abcde"
	b.ReportAllocs()
	for b.Loop() {
		e.Vector(text)
	}
}
