package scenario

import (
	"os"
	"path/filepath"
	"slices"
	"testing"
)

// TestDirs lists only the folders holding an alert.json, sorted, and
// fails on a directory without any.
func TestDirs(t *testing.T) {
	root := t.TempDir()
	for _, d := range []string{"zeta", "alpha", "no-alert"} {
		if err := os.MkdirAll(filepath.Join(root, d), 0o755); err != nil {
			t.Fatal(err)
		}
	}
	for _, f := range []string{"zeta/alert.json", "alpha/alert.json", "alert.json"} {
		if err := os.WriteFile(filepath.Join(root, f), []byte("{}"), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	got, err := Dirs(root)
	if err != nil || !slices.Equal(got, []string{"alpha", "zeta"}) {
		t.Fatalf("Dirs = %v, %v", got, err)
	}
	if _, err := Dirs(filepath.Join(root, "no-alert")); err == nil {
		t.Error("a directory without scenarios: no error")
	}
}
