package main

import (
	"bytes"
	"context"
	"image/png"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
)

// `k8flex investigate` of the recorded throttling incident (no
// metrics.k8s.io, a metrics.om) writes the chart of the throttled share
// as a PNG and prints its path; without --charts-dir, in a new temporary
// folder.
func TestInvestigatePrintsTheChartPath(t *testing.T) {
	scenarioDir := filepath.Join("..", "..", "scenario", "testdata", "cpu-throttling-prometheus")
	for _, tt := range []struct {
		name string
		dir  string
	}{
		{"--charts-dir", t.TempDir()},
		{"temporary folder", ""},
	} {
		t.Run(tt.name, func(t *testing.T) {
			args := []string{"investigate", "--scenario", scenarioDir}
			if tt.dir != "" {
				args = append(args, "--charts-dir", tt.dir)
			}
			var out, errb bytes.Buffer
			if code := run(context.Background(), args, &out, &errb); code != 0 {
				t.Fatalf("investigate exited %d: %s", code, errb.String())
			}
			m := regexp.MustCompile(`(?m)^📈 chart: (\S+\.png) \((.+)\)$`).FindStringSubmatch(out.String())
			if m == nil {
				t.Fatalf("no chart path printed:\n%s", out.String())
			}
			path := m[1]
			if tt.dir != "" && filepath.Dir(path) != tt.dir {
				t.Errorf("chart %s not in %s", path, tt.dir)
			}
			if tt.dir == "" {
				if !strings.HasPrefix(filepath.Base(filepath.Dir(path)), "k8flex-charts-") {
					t.Errorf("chart %s not in a k8flex-charts- temporary folder", path)
				}
				t.Cleanup(func() { os.RemoveAll(filepath.Dir(path)) })
			}
			if !strings.Contains(m[2], "CPU throttled share") {
				t.Errorf("chart title %q: want the throttled share", m[2])
			}
			b, err := os.ReadFile(path)
			if err != nil {
				t.Fatal(err)
			}
			if _, err := png.Decode(bytes.NewReader(b)); err != nil {
				t.Errorf("%s is not a PNG: %v", path, err)
			}
		})
	}
}
