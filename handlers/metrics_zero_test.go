package handlers

import (
	"io"
	"net/http/httptest"
	"strings"
	"testing"
)

// TestMetricsExistAtZero checks that the series dashboards and alerts are
// built on exist before their first event.
func TestMetricsExistAtZero(t *testing.T) {
	m := NewMetrics(func() float64 { return 0 })
	w := httptest.NewRecorder()
	m.Handler().ServeHTTP(w, httptest.NewRequest("GET", "/metrics", nil))
	body, _ := io.ReadAll(w.Body)
	for _, want := range []string{
		`k8flex_alerts_received_total{status="accepted"} 0`,
		`k8flex_alerts_received_total{status="invalid"} 0`,
		`k8flex_feedback_total{source="reaction",verdict="correct"} 0`,
		`k8flex_investigations_total{category="pod-crash",decided_by="rules",outcome="ok"} 0`,
		`k8flex_stage_duration_seconds_count{stage="analyze"} 0`,
		`k8flex_webhook_values_truncated_total 0`,
		`k8flex_queue_depth 0`,
	} {
		if !strings.Contains(string(body), want) {
			t.Errorf("/metrics lacks %s", want)
		}
	}
}
