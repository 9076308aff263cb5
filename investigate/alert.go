package investigate

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"sort"
	"strings"
	"time"
	"unicode/utf8"
)

// Alert mirrors one alert of Alertmanager's webhook payload (version 4),
// which Grafana's webhook contact point (unified alerting, version 1)
// extends with the fields after Fingerprint; they are empty for an alert
// from Alertmanager.
type Alert struct {
	Status       string            `json:"status"`
	Labels       map[string]string `json:"labels"`
	Annotations  map[string]string `json:"annotations"`
	StartsAt     time.Time         `json:"startsAt"`
	EndsAt       time.Time         `json:"endsAt"`
	GeneratorURL string            `json:"generatorURL"`
	Fingerprint  string            `json:"fingerprint"`

	// Values are the results of the Grafana rule's queries and expressions
	// at evaluation, by reference id ("A", "B", …).
	Values map[string]float64 `json:"values,omitempty"`
	// ValueString is the same as text, as older Grafana versions send it.
	ValueString string `json:"valueString,omitempty"`
	// SilenceURL opens a new silence for this alert in Grafana.
	SilenceURL string `json:"silenceURL,omitempty"`
	// DashboardURL and PanelURL link to the dashboard and panel the rule
	// is attached to, if any.
	DashboardURL string `json:"dashboardURL,omitempty"`
	PanelURL     string `json:"panelURL,omitempty"`
}

// Alert statuses as Alertmanager sends them.
const (
	StatusFiring   = "firing"
	StatusResolved = "resolved"
)

// Name returns the alert's alertname label.
func (a *Alert) Name() string { return a.Labels["alertname"] }

// Severity returns the alert's severity label, or "unknown".
func (a *Alert) Severity() string {
	if s := a.Labels["severity"]; s != "" {
		return s
	}
	return "unknown"
}

// Summary returns the most descriptive one-line text of the alert: the
// summary annotation, else the description, else the message annotation.
func (a *Alert) Summary() string {
	for _, k := range []string{"summary", "description", "message"} {
		if v := strings.TrimSpace(a.Annotations[k]); v != "" {
			return v
		}
	}
	return ""
}

// Description returns the description (or message) annotation, if any.
func (a *Alert) Description() string {
	for _, k := range []string{"description", "message"} {
		if v := strings.TrimSpace(a.Annotations[k]); v != "" {
			return v
		}
	}
	return ""
}

// Key identifies one firing of an alert: the same alert re-sent by
// Alertmanager (group_interval, repeat_interval, several Alertmanager
// replicas) has the same Key. When Alertmanager sent no fingerprint, one is
// derived from the sorted labels.
func (a *Alert) Key() string {
	fp := a.Fingerprint
	if fp == "" {
		fp = LabelsFingerprint(a.Labels)
	}
	return fp + "@" + a.StartsAt.UTC().Format(time.RFC3339Nano)
}

// LabelsFingerprint returns a stable FNV-1a digest of the label set, in hex.
func LabelsFingerprint(labels map[string]string) string {
	keys := make([]string, 0, len(labels))
	for k := range labels {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	var h uint64 = 14695981039346656037
	mix := func(s string) {
		for i := 0; i < len(s); i++ {
			h ^= uint64(s[i])
			h *= 1099511628211
		}
		h ^= 0xff
		h *= 1099511628211
	}
	for _, k := range keys {
		mix(k)
		mix(labels[k])
	}
	return fmt.Sprintf("%016x", h)
}

// WebhookMessage mirrors the JSON body Alertmanager posts to a webhook
// receiver (Alertmanager's webhook.Message, version "4").
type WebhookMessage struct {
	Version           string            `json:"version"`
	GroupKey          string            `json:"groupKey"`
	TruncatedAlerts   uint64            `json:"truncatedAlerts"`
	Receiver          string            `json:"receiver"`
	Status            string            `json:"status"`
	Alerts            []Alert           `json:"alerts"`
	GroupLabels       map[string]string `json:"groupLabels"`
	CommonLabels      map[string]string `json:"commonLabels"`
	CommonAnnotations map[string]string `json:"commonAnnotations"`
	ExternalURL       string            `json:"externalURL"`

	// Truncated counts the labels and annotations ParseWebhook shortened
	// or dropped to fit its limits (never sent by Alertmanager).
	Truncated int `json:"-"`
}

// Limits ParseWebhook holds alerts to. Values beyond them are cut, never a
// reason to refuse the alert: Alertmanager drops a notification refused
// with a 4xx, and every alert of its group with it.
const (
	// MaxLabelValueBytes bounds one label or annotation (name and value).
	MaxLabelValueBytes = 16 << 10
	// MaxLabels bounds the labels, and the annotations, of one alert.
	MaxLabels = 256
)

// truncatedMarker ends a value ParseWebhook cut to MaxLabelValueBytes.
const truncatedMarker = "… [truncated by k8flex: %d bytes]"

// ErrInvalidPayload is wrapped by every error ParseWebhook and
// ParseGrafanaWebhook return for a body that is not an acceptable webhook
// message.
var ErrInvalidPayload = errors.New("invalid webhook payload")

// ParseWebhook decodes and validates an Alertmanager webhook body. It rejects
// what no Alertmanager sends — unknown versions, alerts without an
// alertname, invalid UTF-8, unknown statuses — naming what is wrong; every
// such error wraps ErrInvalidPayload. What a real Alertmanager may send is
// accepted: any number of alerts, and oversized labels or annotations
// (a pasted stack trace), which are cut to MaxLabelValueBytes with a
// marker, or beyond MaxLabels dropped, and counted in Truncated.
func ParseWebhook(body []byte) (*WebhookMessage, error) {
	var m WebhookMessage
	if err := decodeJSON(body, &m); err != nil {
		return nil, err
	}
	if m.Version != "4" {
		if m.Version == "1" && bytes.Contains(body, []byte(`"orgId"`)) {
			return nil, fmt.Errorf("%w: version \"1\" with an orgId is Grafana's webhook contact point: post it to /webhook/grafana", ErrInvalidPayload)
		}
		return nil, fmt.Errorf("%w: version %q is not supported (want \"4\")", ErrInvalidPayload, m.Version)
	}
	if err := m.check(); err != nil {
		return nil, err
	}
	return &m, nil
}

// decodeJSON decodes exactly one JSON object of valid UTF-8 into v.
func decodeJSON(body []byte, v any) error {
	if !utf8.Valid(body) {
		return fmt.Errorf("%w: body is not valid UTF-8", ErrInvalidPayload)
	}
	dec := json.NewDecoder(bytes.NewReader(body))
	if err := dec.Decode(v); err != nil {
		return fmt.Errorf("%w: decode json: %w", ErrInvalidPayload, err)
	}
	if _, err := dec.Token(); !errors.Is(err, io.EOF) {
		return fmt.Errorf("%w: trailing data after the json object", ErrInvalidPayload)
	}
	return nil
}

// check validates the decoded message's alerts and fits them, and the
// group's labels, to the limits.
func (m *WebhookMessage) check() error {
	if len(m.Alerts) == 0 {
		return fmt.Errorf("%w: no alerts", ErrInvalidPayload)
	}
	for i := range m.Alerts {
		if err := m.Alerts[i].validate(); err != nil {
			return fmt.Errorf("%w: alert %d: %w", ErrInvalidPayload, i, err)
		}
		m.Truncated += m.Alerts[i].fitLimits()
	}
	// The group's common labels repeat the alerts' own: cut them alike,
	// but count each value once, in its alert.
	fitMap(&m.CommonLabels, "alertname")
	fitMap(&m.CommonAnnotations, "")
	fitMap(&m.GroupLabels, "alertname")
	return nil
}

// fitLimits cuts the alert's labels and annotations to the limits and
// returns how many it cut or dropped.
func (a *Alert) fitLimits() int {
	n := fitMap(&a.Labels, "alertname") + fitMap(&a.Annotations, "")
	if len(a.Values) > MaxLabels {
		keys := make([]string, 0, len(a.Values))
		for k := range a.Values {
			keys = append(keys, k)
		}
		sort.Strings(keys)
		for _, k := range keys[MaxLabels:] {
			delete(a.Values, k)
			n++
		}
	}
	for _, s := range []*string{&a.ValueString, &a.SilenceURL, &a.DashboardURL, &a.PanelURL} {
		if len(*s) > MaxLabelValueBytes {
			cut := cutUTF8(*s, MaxLabelValueBytes-len(truncatedMarker)-8)
			*s = cut + fmt.Sprintf(truncatedMarker, len(*s)-len(cut))
			n++
		}
	}
	return n
}

// fitMap keeps at most MaxLabels entries of *m (keep first, then the
// others in key order) and cuts each entry longer than MaxLabelValueBytes
// at a rune boundary, marking the cut. It returns the entries changed.
func fitMap(m *map[string]string, keep string) int {
	n := 0
	if len(*m) > MaxLabels {
		keys := make([]string, 0, len(*m))
		for k := range *m {
			if k != keep {
				keys = append(keys, k)
			}
		}
		sort.Strings(keys)
		kept := map[string]string{}
		if v, ok := (*m)[keep]; ok {
			kept[keep] = v
		}
		for _, k := range keys {
			if len(kept) == MaxLabels {
				n++
				continue
			}
			kept[k] = (*m)[k]
		}
		*m = kept
	}
	for k, v := range *m {
		if len(k)+len(v) <= MaxLabelValueBytes {
			continue
		}
		n++
		delete(*m, k)
		if len(k) > MaxLabelValueBytes/2 {
			k = cutUTF8(k, MaxLabelValueBytes/2)
		}
		room := MaxLabelValueBytes - len(k) - len(truncatedMarker) - 8
		cut := cutUTF8(v, max(room, 0))
		(*m)[k] = cut + fmt.Sprintf(truncatedMarker, len(v)-len(cut))
	}
	return n
}

// cutUTF8 returns the longest prefix of s of at most n bytes that ends on
// a rune boundary.
func cutUTF8(s string, n int) string {
	if len(s) <= n {
		return s
	}
	for n > 0 && !utf8.RuneStart(s[n]) {
		n--
	}
	return s[:n]
}

func (a *Alert) validate() error {
	switch a.Status {
	case StatusFiring, StatusResolved:
	default:
		return fmt.Errorf("status %q is neither firing nor resolved", a.Status)
	}
	if a.Name() == "" {
		return errors.New("no alertname label")
	}
	return nil
}
