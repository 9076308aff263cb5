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
