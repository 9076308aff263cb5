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

// TestDemo runs `k8flex demo` as a newcomer would (no cluster, Slack,
// model or database) and checks issue 2's and 4's promises: at least five
// analyses across different categories, each with a root cause, and the
// second similar incident recalling the confirmed first one.
func TestDemo(t *testing.T) {
	t.Setenv("K8FLEX_KB_DATA_DIR", t.TempDir())
	var out, errb bytes.Buffer
	charts := t.TempDir()
	if code := run(context.Background(), []string{"demo", "--charts-dir", charts}, &out, &errb); code != 0 {
		t.Fatalf("demo exited %d: %s", code, errb.String())
	}
	text := out.String()
	cats := map[string]bool{}
	for _, m := range regexp.MustCompile(`Category:\s+(\S+)`).FindAllStringSubmatch(text, -1) {
		cats[m[1]] = true
	}
	if len(cats) < 5 {
		t.Errorf("demo covered %d categories (%v), want at least 5", len(cats), cats)
	}
	rootCauses := regexp.MustCompile(`(?m)^Root cause: \S.{20,}`).FindAllString(text, -1)
	if len(rootCauses) < 5 {
		t.Errorf("demo printed %d root causes, want at least 5", len(rootCauses))
	}
	if n := strings.Count(text, "✅ Analysis complete"); n < 5 {
		t.Errorf("%d analyses completed, want at least 5", n)
	}
	// Issue 14: at least two incidents diagnosed from their metrics, each
	// with its chart written as a PNG whose path is printed.
	paths := regexp.MustCompile(`(?m)^📈 chart: (\S+\.png) `).FindAllStringSubmatch(text, -1)
	if len(paths) < 2 {
		t.Errorf("demo printed %d chart paths, want at least 2", len(paths))
	}
	for _, p := range paths {
		if filepath.Dir(p[1]) != charts {
			t.Errorf("chart %s not in --charts-dir %s", p[1], charts)
		}
		b, err := os.ReadFile(p[1])
		if err != nil {
			t.Fatal(err)
		}
		if _, err := png.Decode(bytes.NewReader(b)); err != nil {
			t.Errorf("chart %s is not a PNG: %v", p[1], err)
		}
	}
	if n := strings.Count(text, "Prometheus shows"); n < 2 {
		t.Errorf("%d analyses draw on Prometheus, want at least 2", n)
	}
	m := regexp.MustCompile(`recalled the confirmed incident .* with similarity (\d+)%`).FindStringSubmatch(text)
	if m == nil {
		t.Fatalf("the second similar incident did not recall the first:\n%s", text[max(0, len(text)-2000):])
	}
	if m[1] < "75" && len(m[1]) == 2 {
		t.Errorf("recalled with similarity %s%%, below the 0.75 threshold", m[1])
	}
}
