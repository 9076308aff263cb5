package k8s

import (
	"fmt"
	"strings"
	"testing"
)

func TestCompactLog(t *testing.T) {
	var long []string
	long = append(long, "starting v1.2", "config loaded")
	for i := 0; i < 200; i++ {
		long = append(long, fmt.Sprintf("request for user %c%c served from worker with payload abcdefghijklmnop", 'a'+i%26, 'a'+i/26))
		if i == 100 {
			long = append(long, "ERROR: lost connection to db.shop.svc:5432")
		}
	}
	long = append(long, "panic: cannot continue", "exit status 2")
	for _, tt := range []struct {
		name     string
		raw      string
		max      int
		want     []string // exact, when set
		contains []string
		absent   []string
	}{
		{name: "repeats collapse into the last one", raw: "a\nretry 1 at 12:00:01\nretry 2 at 12:00:02\nretry 3 at 12:00:03\nb\n",
			want: []string{"a", "retry 3 at 12:00:03 (×3)", "b"}},
		{name: "timestamps ignored", raw: "2026-11-19T13:11:58Z conn refused\n2026-11-19T13:11:59Z conn refused\n",
			want: []string{"2026-11-19T13:11:59Z conn refused (×2)"}},
		{name: "ansi stripped", raw: "\x1b[31mred error\x1b[0m\n", want: []string{"red error"}},
		{name: "trailing blank lines dropped", raw: "x\n\n\n", want: []string{"x"}},
		{name: "secret redacted", raw: "key AKIAIOSFODNN7EXAMPLE used\n", absent: []string{"AKIAIOSFODNN7EXAMPLE"}, contains: []string{"[REDACTED]"}},
		{name: "probe cycle of three lines folds into its last occurrence", raw: probeCycle(5) + "shutting down\n",
			want: []string{
				"2026-11-19T13:10:40Z WARNING probe /health/ready slow: 1500ms",
				"2026-11-19T13:10:40Z ERROR upstream redis timeout after 1000ms",
				"2026-11-19T13:10:40Z INFO retrying in 10s (block of 3 lines ×5)",
				"shutting down"}},
		{name: "block at the end keeps the tail's content", raw: "boot\n" + probeCycle(3),
			want: []string{"boot",
				"2026-11-19T13:10:20Z WARNING probe /health/ready slow: 1500ms",
				"2026-11-19T13:10:20Z ERROR upstream redis timeout after 1000ms",
				"2026-11-19T13:10:20Z INFO retrying in 10s (block of 3 lines ×3)"}},
		{name: "two-line cycle preferred over the four-line one it also forms", raw: "try 1\nfail 1\ntry 2\nfail 2\ntry 3\nfail 3\ntry 4\nfail 4\n",
			want: []string{"try 4", "fail 4 (block of 2 lines ×4)"}},
		{name: "a block seen once is not folded", raw: "a\nb\nc\nd\na\nb\ne\n", want: []string{"a", "b", "c", "d", "a", "b", "e"}},
		{name: "cycles with different errors are not folded", raw: "GET /x\nERROR disk full\nGET /x\nERROR connection reset\n",
			want: []string{"GET /x", "ERROR disk full", "GET /x", "ERROR connection reset"}},
		{name: "single-line repeats inside a cycle still collapse", raw: "tick 1\ntick 2\ntock\ntick 3\ntick 4\ntock\n",
			want: []string{"tick 4 (×2)", "tock (block of 2 lines ×2)"}},
		{name: "middle cut keeps head, errors and tail", raw: strings.Join(long, "\n"), max: 2000,
			contains: []string{"starting v1.2", "ERROR: lost connection to db.shop.svc:5432", "panic: cannot continue", "exit status 2", "lines omitted"}},
	} {
		t.Run(tt.name, func(t *testing.T) {
			got := CompactLog(tt.raw, tt.max)
			if tt.want != nil && strings.Join(got, "\n") != strings.Join(tt.want, "\n") {
				t.Fatalf("got %q, want %q", got, tt.want)
			}
			joined := strings.Join(got, "\n")
			for _, c := range tt.contains {
				if !strings.Contains(joined, c) {
					t.Errorf("missing %q in %q", c, joined)
				}
			}
			for _, a := range tt.absent {
				if strings.Contains(joined, a) {
					t.Errorf("unexpected %q in %q", a, joined)
				}
			}
			if tt.max > 0 && len(joined) > tt.max {
				t.Errorf("%d bytes exceed the budget %d", len(joined), tt.max)
			}
		})
	}
}

// probeCycle returns n repetitions, ten seconds apart, of a readiness
// probe's WARNING/ERROR/INFO lines.
func probeCycle(n int) string {
	var b strings.Builder
	for i := range n {
		ts := fmt.Sprintf("2026-11-19T13:10:%02dZ", i*10)
		fmt.Fprintf(&b, "%s WARNING probe /health/ready slow: %dms\n%s ERROR upstream redis timeout after 1000ms\n%s INFO retrying in 10s\n", ts, 1500, ts, ts)
	}
	return b.String()
}

// TestCompactLogBlocksKeepTail checks that folding blocks under a size
// budget keeps the log's last lines, also when they are not part of a
// block.
func TestCompactLogBlocksKeepTail(t *testing.T) {
	raw := "start\n" + probeCycle(6) + "filler line that is not repeated\nanother filler\nthird\n" + "FATAL: giving up after 6 attempts\n"
	got := CompactLog(raw, 400)
	if last := got[len(got)-1]; last != "FATAL: giving up after 6 attempts" {
		t.Fatalf("last line %q", last)
	}
	if !strings.Contains(strings.Join(got, "\n"), "(block of 3 lines ×6)") {
		t.Errorf("cycle not folded: %q", got)
	}
}

func TestCompactLogNeverCutsTail(t *testing.T) {
	var lines []string
	for i := 0; i < 500; i++ {
		lines = append(lines, fmt.Sprintf("line %d %s", i, strings.Repeat("x", i%13)))
	}
	got := CompactLog(strings.Join(lines, "\n"), 1500)
	if got[len(got)-1] != lines[len(lines)-1] {
		t.Fatalf("last line %q, want %q", got[len(got)-1], lines[len(lines)-1])
	}
}

func BenchmarkCompactLog(b *testing.B) {
	var lines []string
	for i := 0; i < 100; i++ {
		lines = append(lines, fmt.Sprintf("2026-11-19T13:11:%02dZ INFO request %d served in %dms", i%60, i, i%9))
	}
	raw := strings.Join(lines, "\n")
	b.ReportAllocs()
	for b.Loop() {
		CompactLog(raw, DefaultBudget.SectionBytes)
	}
}

// TestCollapseLinesKeys checks that the keys collapseLines hands to
// collapseBlocks are those of the lines it returns, marks included.
func TestCollapseLinesKeys(t *testing.T) {
	out, keys := collapseLines(strings.Split("a 1\na 2\na 3\nb at 12:00:01\nc\nc\n", "\n"))
	for i := range out {
		if keys[i] != repeatKey(out[i]) {
			t.Errorf("line %q: key %q, want %q", out[i], keys[i], repeatKey(out[i]))
		}
	}
}
