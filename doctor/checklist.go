package doctor

import (
	"context"
	"fmt"
	"io"
	"strings"
	"time"

	"github.com/k8flex/k8flex/redact"
)

// Status is the outcome of one check.
type Status int

// Statuses, from best to worst.
const (
	Pass Status = iota
	Skip
	Warn
	Fail
)

func (s Status) String() string {
	switch s {
	case Pass:
		return "ok"
	case Skip:
		return "skip"
	case Warn:
		return "warn"
	default:
		return "FAIL"
	}
}

// Result is what a check found: Detail says what (for every status), Fix
// what to do about a failure or warning.
type Result struct {
	Status Status
	Detail string
	Fix    string
}

// OK is a passed check with what it found.
func OK(format string, args ...any) Result {
	return Result{Status: Pass, Detail: fmt.Sprintf(format, args...)}
}

// Failed is a failure with its fix.
func Failed(fix, format string, args ...any) Result {
	return Result{Status: Fail, Detail: fmt.Sprintf(format, args...), Fix: fix}
}

// Warning is a doubt with what to check.
func Warning(fix, format string, args ...any) Result {
	return Result{Status: Warn, Detail: fmt.Sprintf(format, args...), Fix: fix}
}

// Skipped is a check that does not apply to this configuration.
func Skipped(format string, args ...any) Result {
	return Result{Status: Skip, Detail: fmt.Sprintf(format, args...)}
}

// Check is one item of the checklist.
type Check struct {
	// Name says what is checked ("slack: bot token").
	Name string
	Run  func(ctx context.Context) Result
}

// Checked is a check with its result.
type Checked struct {
	Name string
	Result
}

// Summary counts results by status.
type Summary struct {
	Checks                       []Checked
	Passed, Failed, Warned, Skip int
}

// Run runs the checks in order, each bounded by timeout, prints each
// result as it comes (with its fix when it failed or warned) and a last
// line of totals to w, and returns the summary. Details and fixes are
// redacted before they are printed.
func Run(ctx context.Context, w io.Writer, timeout time.Duration, checks []Check) Summary {
	var s Summary
	for _, c := range checks {
		cctx, cancel := context.WithTimeout(ctx, timeout)
		r := c.Run(cctx)
		cancel()
		r.Detail, r.Fix = redact.String(oneLine(r.Detail)), redact.String(r.Fix)
		s.Checks = append(s.Checks, Checked{Name: c.Name, Result: r})
		switch r.Status {
		case Pass:
			s.Passed++
		case Fail:
			s.Failed++
		case Warn:
			s.Warned++
		case Skip:
			s.Skip++
		}
		fmt.Fprintf(w, "[%-4s] %s: %s\n", r.Status, c.Name, r.Detail)
		if r.Fix != "" && (r.Status == Fail || r.Status == Warn) {
			for _, line := range strings.Split(r.Fix, "\n") {
				fmt.Fprintf(w, "       fix: %s\n", line)
			}
		}
	}
	fmt.Fprintf(w, "\nchecks: %d ok, %d to fix, %d warnings, %d skipped\n", s.Passed, s.Failed, s.Warned, s.Skip)
	return s
}

func oneLine(s string) string {
	s = strings.Join(strings.Fields(s), " ")
	if len(s) > 400 {
		s = s[:400] + "…"
	}
	return s
}
