package metrics

import (
	"context"
	"math"
	"strings"
	"testing"
	"time"

	v1 "github.com/prometheus/client_golang/api/prometheus/v1"
	"github.com/prometheus/common/model"
)

// testOM: two containers' CFS counters, one resetting, a gauge, a limit.
const testOM = `# TYPE c_periods counter
c_periods_total{namespace="shop",pod="web-1",container="app"} 0 1000
c_periods_total{namespace="shop",pod="web-1",container="app"} 600 1060
c_periods_total{namespace="shop",pod="web-1",container="app"} 1200 1120
c_periods_total{namespace="shop",pod="web-2",container="app"} 0 1000
c_periods_total{namespace="shop",pod="web-2",container="app"} 600 1060
c_periods_total{namespace="shop",pod="web-2",container="app"} 1200 1120
# TYPE c_throttled counter
c_throttled_total{namespace="shop",pod="web-1",container="app"} 0 1000
c_throttled_total{namespace="shop",pod="web-1",container="app"} 300 1060
c_throttled_total{namespace="shop",pod="web-1",container="app"} 600 1120
c_throttled_total{namespace="shop",pod="web-2",container="app"} 100 1000
c_throttled_total{namespace="shop",pod="web-2",container="app"} 160 1060
c_throttled_total{namespace="shop",pod="web-2",container="app"} 40 1120
mem{namespace="shop",pod="web-1",container="app",note="a \"quoted\", value"} 10 1000
mem{namespace="shop",pod="web-1",container="app",note="a \"quoted\", value"} 30 1060
limit{namespace="shop",pod="web-1",container="app",resource="memory"} 32 1000
# EOF
`

func at(t *testing.T, f *File, q string, sec int64) model.Matrix {
	t.Helper()
	tm := time.Unix(sec, 0)
	v, err := f.QueryRange(context.Background(), q, v1.Range{Start: tm, End: tm, Step: time.Second})
	if err != nil {
		t.Fatalf("%s: %v", q, err)
	}
	return v.(model.Matrix)
}

func TestFileEvaluatesTheQueryShapes(t *testing.T) {
	f, err := ParseOpenMetrics([]byte(testOM))
	if err != nil {
		t.Fatal(err)
	}
	for _, tt := range []struct {
		name, q string
		want    map[string]float64 // pod (or "") -> value
	}{
		{"ratio of rates", `sum by (pod, container) (rate(c_throttled_total{namespace="shop",pod=~"web-.*"}[5m])) / sum by (pod, container) (rate(c_periods_total{namespace="shop",pod=~"web-.*"}[5m]))`,
			map[string]float64{"web-1": 0.5, "web-2": (60 + 40) / 1200.0}},
		// (1000, 1120] holds 160 then 40: a reset, so 40 more in 60 s, over 2m.
		{"increase with a counter reset", `increase(c_throttled_total{pod="web-2"}[2m])`, map[string]float64{"web-2": 80}},
		{"instant selector and scalar arithmetic", `1 - mem / 40`, map[string]float64{"web-1": 0.25}},
		{"one-to-one ignoring", `mem / ignoring(resource, note) limit`, map[string]float64{"web-1": 30.0 / 32}},
		{"comparison filters", `mem > 20`, map[string]float64{"web-1": 30}},
		{"comparison bool", `mem > bool 40`, map[string]float64{"web-1": 0}},
		{"empty result", `mem > 100`, map[string]float64{}},
		{"topk", `topk by (container) (1, rate(c_periods_total[2m]))`, map[string]float64{"web-1": 10}},
		{"and with offset", `(c_periods_total - c_periods_total offset 1m >= 1) and ignoring(resource) max_over_time(c_throttled_total[5m]) > 500`, map[string]float64{"web-1": 600}},
		{"group_left", `sum by (pod) (mem) / on (pod) group_left max by (pod) (limit)`, map[string]float64{"web-1": 30.0 / 32}},
		{"count and unless", `count(c_periods_total unless ignoring(note) mem)`, map[string]float64{"": 1}},
	} {
		t.Run(tt.name, func(t *testing.T) {
			m := at(t, f, tt.q, 1120)
			got := map[string]float64{}
			for _, s := range m {
				got[string(s.Metric["pod"])] = float64(s.Values[0].Value)
			}
			if len(got) != len(tt.want) {
				t.Fatalf("got %v, want %v", got, tt.want)
			}
			for k, w := range tt.want {
				if math.Abs(got[k]-w) > 1e-9 {
					t.Errorf("%s = %g, want %g (all: %v)", k, got[k], w, got)
				}
			}
		})
	}
	if m := at(t, f, `mem`, 1060); m[0].Metric["note"] != `a "quoted", value` || m[0].Metric["__name__"] != "mem" {
		t.Errorf("labels %v", m[0].Metric)
	}
	if m := at(t, f, `mem`, 1060+int64(lookback.Seconds())+1); len(m) != 0 {
		t.Errorf("a sample older than the lookback answered: %v", m)
	}
}

func TestFileRefusesWhatItCannotEvaluate(t *testing.T) {
	f, err := ParseOpenMetrics([]byte(testOM))
	if err != nil {
		t.Fatal(err)
	}
	for _, q := range []string{`histogram_quantile(0.99, rate(x[5m]))`, `rate(x[5m:1m])`, `mem{`, `sum(mem) by`, `quantile(0.9, mem)`, `mem @ 100`} {
		if _, err := f.QueryRange(context.Background(), q, v1.Range{Start: time.Unix(1000, 0), End: time.Unix(1100, 0), Step: time.Minute}); err == nil {
			t.Errorf("%s: no error", q)
		}
	}
	if _, err := ParseOpenMetrics([]byte("m{a=\"b\"} 1\n")); err == nil || !strings.Contains(err.Error(), "timestamp") {
		t.Errorf("a sample without a timestamp: %v", err)
	}
}

// The alert expressions of the demo incidents parse (those the evaluator
// cannot run would only be gaps, but these are the common shapes).
func TestAlertExpressionsParse(t *testing.T) {
	for _, e := range []string{
		`(kube_pod_container_status_restarts_total - kube_pod_container_status_restarts_total offset 10m >= 1) and ignoring (reason) min_over_time(kube_pod_container_status_last_terminated_reason{reason="OOMKilled"}[10m]) == 1`,
		`kube_node_status_condition{condition=~"(MemoryPressure|DiskPressure|PIDPressure)",job="kube-state-metrics",status="true"} == 1`,
		`sum by (namespace, ingress, service) (rate(nginx_ingress_controller_requests{status=~"5.."}[5m])) / sum by (namespace, ingress, service) (rate(nginx_ingress_controller_requests[5m])) > 0.05`,
		"sum without (id, metrics_path, name, image, endpoint, job, node) (\n  topk by (cluster, namespace, pod, container, instance) (1,\n    increase(\n      container_cpu_cfs_throttled_periods_total{container!=\"\", job=\"kubelet\", metrics_path=\"/metrics/cadvisor\", }\n    [5m])\n  )\n)\n/ on (cluster, namespace, pod, container, instance) group_left\nsum without (id, metrics_path, name, image, endpoint, job, node) (\n  topk by (cluster, namespace, pod, container, instance) (1,\n    increase(\n      container_cpu_cfs_periods_total{job=\"kubelet\", metrics_path=\"/metrics/cadvisor\", }\n    [5m])\n  )\n)\n> ( 25 / 100 )",
		`max by (namespace, pod) (kube_pod_status_phase{phase="Pending"}) == 1`,
	} {
		if _, err := parseExpr(e); err != nil {
			t.Errorf("%s: %v", e, err)
		}
	}
}
