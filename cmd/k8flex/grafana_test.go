package main

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"

	"github.com/rs/zerolog"

	"github.com/k8flex/k8flex/config"
	"github.com/k8flex/k8flex/handlers"
	"github.com/k8flex/k8flex/investigate"
	"github.com/k8flex/k8flex/scenario"
	"github.com/k8flex/k8flex/server"
)

// captureQueue records what the webhook hands over.
type captureQueue struct {
	mu   sync.Mutex
	reqs []investigate.Request
}

func (q *captureQueue) Enqueue(_ context.Context, reqs []investigate.Request) ([]investigate.Enqueued, error) {
	q.mu.Lock()
	defer q.mu.Unlock()
	out := make([]investigate.Enqueued, len(reqs))
	for i := range reqs {
		q.reqs = append(q.reqs, reqs[i])
		out[i] = investigate.Enqueued{ID: fmt.Sprintf("case-%d", len(q.reqs))}
	}
	return out, nil
}

// asGrafana writes the body Grafana's webhook contact point would post for
// the same incident as an Alertmanager message: the same labels (plus the
// grafana_folder label Grafana adds) and annotations, Grafana's own
// fingerprint, its rule values and links, and the notification's title,
// state and message, in the documented shape (version "1", orgId).
func asGrafana(t *testing.T, m *investigate.WebhookMessage) []byte {
	t.Helper()
	alerts := make([]map[string]any, len(m.Alerts))
	for i, a := range m.Alerts {
		labels := map[string]string{"grafana_folder": "Kubernetes"}
		for k, v := range a.Labels {
			labels[k] = v
		}
		fp := investigate.LabelsFingerprint(labels)
		alerts[i] = map[string]any{
			"status": a.Status, "labels": labels, "annotations": a.Annotations,
			"startsAt": a.StartsAt, "endsAt": a.EndsAt,
			"generatorURL": "https://grafana.example.org/alerting/grafana/" + fp + "/view?orgId=1",
			"fingerprint":  fp,
			"silenceURL":   "https://grafana.example.org/alerting/silence/new?alertmanager=grafana&matcher=alertname%3D" + a.Name(),
			"dashboardURL": "https://grafana.example.org/d/k8s?orgId=1",
			"panelURL":     "https://grafana.example.org/d/k8s?orgId=1&viewPanel=3",
			"values":       map[string]float64{"A": 3, "B": 1},
		}
	}
	state := "alerting"
	if m.Status == investigate.StatusResolved {
		state = "ok"
	}
	b, err := json.Marshal(map[string]any{
		"receiver": "k8flex", "status": m.Status, "orgId": 1, "alerts": alerts,
		"groupLabels": m.GroupLabels, "commonLabels": m.CommonLabels, "commonAnnotations": m.CommonAnnotations,
		"externalURL": "https://grafana.example.org/", "version": "1", "groupKey": "{}:{alertname=\"" + m.Alerts[0].Name() + "\"}",
		"truncatedAlerts": 0, "title": fmt.Sprintf("[%s:%d] %s", strings.ToUpper(m.Status), len(alerts), m.Alerts[0].Name()),
		"state": state, "message": "**Firing**\n\nValue: A=3, B=1\n",
	})
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// TestGrafanaAndAlertmanagerSameInvestigation sends every shared incident
// twice through serve's routes — as Alertmanager's payload to /webhook and
// as Grafana's to /webhook/grafana — and runs the engine on what each
// queued, against the incident's recorded cluster: the category, the
// target and the root cause must be the same.
func TestGrafanaAndAlertmanagerSameInvestigation(t *testing.T) {
	root := sharedDir(t, "scenarios")
	dirs, err := scenario.Dirs(root)
	if err != nil || len(dirs) == 0 {
		t.Fatalf("scenarios: %v (%d)", err, len(dirs))
	}
	cfg := config.Default()
	log := zerolog.Nop()
	an, err := server.NewAnalyzers(cfg, log)
	if err != nil {
		t.Fatal(err)
	}
	for _, name := range dirs {
		dir := filepath.Join(root, name)
		t.Run(name, func(t *testing.T) {
			sc, err := scenario.Load(dir)
			if err != nil {
				t.Fatal(err)
			}
			amBody, err := os.ReadFile(filepath.Join(dir, "alert.json"))
			if err != nil {
				t.Fatal(err)
			}
			q := &captureQueue{}
			mux := handlers.Mux(handlers.NewWebhook(handlers.WebhookConfig{Token: "tok"}, q, nil, log), handlers.NewHealth(), nil)
			send := func(path string, body []byte) investigate.Request {
				t.Helper()
				before := len(q.reqs)
				r := httptest.NewRequest(http.MethodPost, path, bytes.NewReader(body))
				r.Header.Set("Authorization", "Bearer tok")
				w := httptest.NewRecorder()
				mux.ServeHTTP(w, r)
				if w.Code != http.StatusOK {
					t.Fatalf("POST %s: %d %s", path, w.Code, w.Body)
				}
				got := q.reqs[before:]
				if len(got) != len(sc.Message.Alerts) {
					t.Fatalf("POST %s queued %d requests, want %d", path, len(got), len(sc.Message.Alerts))
				}
				req := got[0]
				for _, r := range got[1:] {
					req.Related = append(req.Related, *r.Alert)
				}
				return req
			}
			am := send("/webhook", amBody)
			gr := send("/webhook/grafana", asGrafana(t, sc.Message))
			if gr.Source != investigate.SourceGrafana || gr.Alert.PanelURL == "" || am.Alert.Fingerprint == gr.Alert.Fingerprint {
				t.Fatalf("grafana request not Grafana's: %+v", gr)
			}

			run := func(req investigate.Request) *investigate.Result {
				eng, err := server.NewEngine(cfg, sc.Gatherer(server.GathererOptions(cfg, log)), nil, an, nil, nil, log)
				if err != nil {
					t.Fatal(err)
				}
				res, err := eng.Run(context.Background(), &req, &investigate.TextReporter{})
				if err != nil {
					t.Fatalf("%s: %v", req.Source, err)
				}
				return res
			}
			a, g := run(am), run(gr)
			if a.Categorization.Category != g.Categorization.Category {
				t.Errorf("category: alertmanager %s, grafana %s", a.Categorization.Category, g.Categorization.Category)
			}
			if a.Categorization.Category != sc.Expect.Category {
				t.Errorf("category %s, the scenario expects %s", a.Categorization.Category, sc.Expect.Category)
			}
			if a.Target != g.Target {
				t.Errorf("target: alertmanager %s, grafana %s", a.Target, g.Target)
			}
			if a.RootCause() == "" || a.RootCause() != g.RootCause() {
				t.Errorf("root cause:\nalertmanager: %s\ngrafana:      %s", a.RootCause(), g.RootCause())
			}
			if !strings.Contains(g.Prompt.User, "Values: A=3 B=1") {
				t.Errorf("the Grafana rule's values are not in the prompt")
			}
		})
	}
}
