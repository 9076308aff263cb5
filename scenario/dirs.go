package scenario

import (
	"fmt"
	"os"
	"path/filepath"
	"sort"

	"github.com/k8flex/k8flex/investigate"
)

// Request turns the scenario's payload into one request: its first
// firing alert, with the rest folded in as related alerts.
func (s *Scenario) Request() *investigate.Request {
	alerts := s.Message.Alerts
	req := &investigate.Request{Alert: &alerts[0], Source: investigate.SourceCLI, RequestedBy: "eval"}
	if len(alerts) > 1 {
		req.Related = alerts[1:]
	}
	return req
}

// Dirs lists the folders of dir that hold an alert.json, sorted; it fails
// when there is none.
func Dirs(dir string) ([]string, error) {
	entries, err := os.ReadDir(dir)
	if err != nil {
		return nil, fmt.Errorf("read scenarios: %w", err)
	}
	var names []string
	for _, e := range entries {
		if !e.IsDir() {
			continue
		}
		if _, err := os.Stat(filepath.Join(dir, e.Name(), "alert.json")); err == nil {
			names = append(names, e.Name())
		}
	}
	if len(names) == 0 {
		return nil, fmt.Errorf("no scenario folders (with alert.json) in %s", dir)
	}
	sort.Strings(names)
	return names, nil
}
