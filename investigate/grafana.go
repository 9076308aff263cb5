package investigate

import (
	"bytes"
	"fmt"
)

// SourceGrafana is a request from Grafana's webhook contact point.
const SourceGrafana Source = "grafana"

// grafanaMessage mirrors the JSON body Grafana's unified alerting posts to a
// webhook contact point (version "1"): Alertmanager's message plus orgId and
// the notification's rendered title, state and message. Its alerts carry
// Grafana's extra fields (values, valueString, silence, dashboard and panel
// URLs), which Alert holds.
type grafanaMessage struct {
	Receiver          string            `json:"receiver"`
	Status            string            `json:"status"`
	OrgID             int64             `json:"orgId"`
	Alerts            []Alert           `json:"alerts"`
	GroupLabels       map[string]string `json:"groupLabels"`
	CommonLabels      map[string]string `json:"commonLabels"`
	CommonAnnotations map[string]string `json:"commonAnnotations"`
	ExternalURL       string            `json:"externalURL"`
	Version           string            `json:"version"`
	GroupKey          string            `json:"groupKey"`
	TruncatedAlerts   uint64            `json:"truncatedAlerts"`
	// Title, State ("alerting" or "ok") and Message are text Grafana
	// renders from the alerts; the alerts themselves are what is used.
	Title   string `json:"title"`
	State   string `json:"state"`
	Message string `json:"message"`

	// Legacy (pre-unified) Grafana alerting sent one rule per body.
	RuleName    string `json:"ruleName"`
	EvalMatches []any  `json:"evalMatches"`
}

// ParseGrafanaWebhook decodes and validates the body of Grafana's webhook
// contact point (unified alerting, payload version "1") into the same
// message ParseWebhook returns for Alertmanager, with the same rules and
// limits: each alert keeps its labels, annotations, fingerprint, startsAt
// and endsAt, generatorURL, and Grafana's values, valueString, silenceURL,
// dashboardURL and panelURL, so one firing of an alert is deduplicated by
// Alert.Key exactly as Alertmanager's. The returned message's Version is
// "grafana/1". Legacy Grafana alerting bodies (ruleName, evalMatches) and
// anything else Grafana does not send are refused with an error wrapping
// ErrInvalidPayload.
func ParseGrafanaWebhook(body []byte) (*WebhookMessage, error) {
	var g grafanaMessage
	if err := decodeJSON(body, &g); err != nil {
		return nil, err
	}
	if g.Version != "1" {
		if g.RuleName != "" || g.EvalMatches != nil {
			return nil, fmt.Errorf("%w: this is legacy Grafana alerting (ruleName, evalMatches); use Grafana Alerting (unified alerting) contact points", ErrInvalidPayload)
		}
		if g.Version == "4" && !bytes.Contains(body, []byte(`"orgId"`)) {
			return nil, fmt.Errorf("%w: version \"4\" is Alertmanager's webhook payload: post it to /webhook", ErrInvalidPayload)
		}
		return nil, fmt.Errorf("%w: grafana payload version %q is not supported (want \"1\")", ErrInvalidPayload, g.Version)
	}
	m := &WebhookMessage{
		Version:           "grafana/" + g.Version,
		GroupKey:          g.GroupKey,
		TruncatedAlerts:   g.TruncatedAlerts,
		Receiver:          g.Receiver,
		Status:            g.Status,
		Alerts:            g.Alerts,
		GroupLabels:       g.GroupLabels,
		CommonLabels:      g.CommonLabels,
		CommonAnnotations: g.CommonAnnotations,
		ExternalURL:       g.ExternalURL,
	}
	if err := m.check(); err != nil {
		return nil, err
	}
	return m, nil
}
