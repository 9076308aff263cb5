// Package sharedtest finds, for tests, the project's shared yardstick: the
// recorded incidents in the shared/ folder that sits beside the repository
// (not in it).
package sharedtest

import (
	"os"
	"path/filepath"
	"testing"
)

// Dir returns shared/<parts...> beside the repository that holds the
// calling test's package. When it is absent the test is skipped, saying
// why; under CI (CI set), where it must be present, the test fails.
func Dir(tb testing.TB, parts ...string) string {
	tb.Helper()
	root, err := repoRoot()
	if err != nil {
		tb.Fatalf("find the repository root: %v", err)
	}
	dir := filepath.Join(append([]string{filepath.Dir(root), "shared"}, parts...)...)
	if _, err := os.Stat(dir); err != nil {
		msg := "the shared scenarios sit beside the repository, not in it; not present: " + err.Error()
		if os.Getenv("CI") != "" {
			tb.Fatal(msg)
		}
		tb.Skip(msg)
	}
	return dir
}

// repoRoot is the nearest directory above the working directory (a test's
// package directory) that holds go.mod.
func repoRoot() (string, error) {
	dir, err := os.Getwd()
	if err != nil {
		return "", err
	}
	for {
		if _, err := os.Stat(filepath.Join(dir, "go.mod")); err == nil {
			return dir, nil
		}
		parent := filepath.Dir(dir)
		if parent == dir {
			return "", os.ErrNotExist
		}
		dir = parent
	}
}
