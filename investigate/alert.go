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

// Alert mirrors one alert of Alertmanager's webhook payload (version 4).
type Alert struct {
	Status       string            `json:"status"`
	Labels       map[string]string `json:"labels"`
	Annotations  map[string]string `json:"annotations"`
	StartsAt     time.Time         `json:"startsAt"`
	EndsAt       time.Time         `json:"endsAt"`
	GeneratorURL string            `json:"generatorURL"`
	Fingerprint  string            `json:"fingerprint"`
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
}

// Limits on webhook payloads accepted by ParseWebhook.
const (
	MaxAlertsPerMessage = 10000
	MaxLabelValueBytes  = 16 << 10
	MaxLabels           = 256
)

// ErrInvalidPayload is wrapped by every error ParseWebhook returns for a body
// that is not an acceptable Alertmanager webhook message.
var ErrInvalidPayload = errors.New("invalid alertmanager payload")

// ParseWebhook decodes and validates an Alertmanager webhook body. It rejects
// unknown versions, alerts without an alertname, invalid UTF-8, oversized
// labels and unknown statuses, naming what is wrong. Every returned error
// wraps ErrInvalidPayload.
func ParseWebhook(body []byte) (*WebhookMessage, error) {
	if !utf8.Valid(body) {
		return nil, fmt.Errorf("%w: body is not valid UTF-8", ErrInvalidPayload)
	}
	dec := json.NewDecoder(bytes.NewReader(body))
	var m WebhookMessage
	if err := dec.Decode(&m); err != nil {
		return nil, fmt.Errorf("%w: decode json: %w", ErrInvalidPayload, err)
	}
	if _, err := dec.Token(); !errors.Is(err, io.EOF) {
		return nil, fmt.Errorf("%w: trailing data after the json object", ErrInvalidPayload)
	}
	if m.Version != "4" {
		return nil, fmt.Errorf("%w: version %q is not supported (want \"4\")", ErrInvalidPayload, m.Version)
	}
	if len(m.Alerts) == 0 {
		return nil, fmt.Errorf("%w: no alerts", ErrInvalidPayload)
	}
	if len(m.Alerts) > MaxAlertsPerMessage {
		return nil, fmt.Errorf("%w: %d alerts in one message (limit %d)", ErrInvalidPayload, len(m.Alerts), MaxAlertsPerMessage)
	}
	for i := range m.Alerts {
		if err := m.Alerts[i].validate(); err != nil {
			return nil, fmt.Errorf("%w: alert %d: %w", ErrInvalidPayload, i, err)
		}
	}
	return &m, nil
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
	if len(a.Labels) > MaxLabels || len(a.Annotations) > MaxLabels {
		return fmt.Errorf("more than %d labels or annotations", MaxLabels)
	}
	for _, m := range []map[string]string{a.Labels, a.Annotations} {
		for k, v := range m {
			if len(k)+len(v) > MaxLabelValueBytes {
				return fmt.Errorf("label or annotation %.64q longer than %d bytes", k, MaxLabelValueBytes)
			}
		}
	}
	return nil
}
