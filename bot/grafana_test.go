package bot

import (
	"encoding/json"
	"strings"
	"testing"

	"github.com/k8flex/k8flex/investigate"
)

// TestRootBlocksGrafanaLinks: an alert from Grafana links its rule,
// dashboard, panel and silence; one from Alertmanager keeps its graph link.
func TestRootBlocksGrafanaLinks(t *testing.T) {
	a := testAlert("Pod restarting")
	a.GeneratorURL = "https://grafana.example/alerting/grafana/r1/view"
	a.DashboardURL = "https://grafana.example/d/pods"
	a.PanelURL = "https://grafana.example/d/pods?viewPanel=7"
	a.SilenceURL = "https://grafana.example/alerting/silence/new?matcher=alertname%3DPod+restarting"
	inv := testInvestigation("case-1", a)
	inv.Request.Source = investigate.SourceGrafana
	b, err := json.Marshal(rootBlocks(&rootState{inv: inv}))
	if err != nil {
		t.Fatal(err)
	}
	got := strings.NewReplacer(`\u003c`, "<", `\u003e`, ">", `\u0026`, "&").Replace(string(b))
	for _, want := range []string{
		"<https://grafana.example/alerting/grafana/r1/view|Alert rule>",
		"<https://grafana.example/d/pods|Dashboard>",
		"<https://grafana.example/d/pods?viewPanel=7|Panel>",
		"|Silence>",
	} {
		if !strings.Contains(got, want) {
			t.Errorf("root message lacks %q:\n%s", want, got)
		}
	}
	if strings.Contains(got, "Prometheus graph") {
		t.Error("a Grafana rule link is called a Prometheus graph")
	}
}
