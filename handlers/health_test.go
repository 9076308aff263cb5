package handlers

import (
	"context"
	"encoding/json"
	"errors"
	"net/http"
	"net/http/httptest"
	"testing"
)

// /health carries the details and stays 200; /ready follows only its
// checks, so a detail (Slack's link) never takes the process out of
// service.
func TestHealthDetailsDoNotAffectReadiness(t *testing.T) {
	link := "disconnected"
	storeErr := error(nil)
	h := NewHealth(ReadyCheck{Name: "store", Fn: func(context.Context) error { return storeErr }}).
		WithDetails(Detail{Name: "slack", Fn: func() string { return link }})
	get := func(handler http.HandlerFunc) (int, map[string]any) {
		rec := httptest.NewRecorder()
		handler(rec, httptest.NewRequest(http.MethodGet, "/", nil))
		var body map[string]any
		if err := json.Unmarshal(rec.Body.Bytes(), &body); err != nil {
			t.Fatalf("answer is not JSON: %v: %s", err, rec.Body)
		}
		return rec.Code, body
	}
	for _, tt := range []struct {
		name      string
		link      string
		store     error
		health    string
		readyCode int
	}{
		{"slack down, store up", "disconnected", nil, "disconnected", http.StatusOK},
		{"slack up, store up", "connected", nil, "connected", http.StatusOK},
		{"slack up, store down", "connected", errors.New("connection refused"), "connected", http.StatusServiceUnavailable},
	} {
		t.Run(tt.name, func(t *testing.T) {
			link, storeErr = tt.link, tt.store
			if code, body := get(h.Live); code != http.StatusOK || body["status"] != "ok" || body["slack"] != tt.health {
				t.Errorf("/health = %d %v, want 200 ok with slack %s", code, body, tt.health)
			}
			if code, body := get(h.Ready); code != tt.readyCode {
				t.Errorf("/ready = %d %v, want %d", code, body, tt.readyCode)
			}
		})
	}
}
