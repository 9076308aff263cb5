package main

import (
	"bytes"
	"context"
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
	if code := run(context.Background(), []string{"demo"}, &out, &errb); code != 0 {
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
	m := regexp.MustCompile(`recalled the confirmed incident .* with similarity (\d+)%`).FindStringSubmatch(text)
	if m == nil {
		t.Fatalf("the second similar incident did not recall the first:\n%s", text[max(0, len(text)-2000):])
	}
	if m[1] < "75" && len(m[1]) == 2 {
		t.Errorf("recalled with similarity %s%%, below the 0.75 threshold", m[1])
	}
}
