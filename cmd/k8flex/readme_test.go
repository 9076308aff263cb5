package main

import (
	"fmt"
	"os"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/k8flex/k8flex/config"
)

// readmePath is the repository's README, which documents every
// configuration key.
var readmePath = filepath.Join("..", "..", "README.md")

func readREADME(t *testing.T) string {
	t.Helper()
	b, err := os.ReadFile(readmePath)
	if err != nil {
		t.Fatalf("read the README: %v", err)
	}
	return string(b)
}

// envVar is the environment variable that sets a configuration key.
func envVar(key string) string {
	return "K8FLEX_" + strings.ToUpper(strings.ReplaceAll(key, ".", "_"))
}

// configRows returns the README's configuration table rows by key: the
// cells of every line "| `key` | `ENV` | default | meaning |".
func configRows(readme string) map[string][]string {
	rows := map[string][]string{}
	for _, line := range strings.Split(readme, "\n") {
		if !strings.HasPrefix(line, "| `") {
			continue
		}
		cells := strings.Split(strings.Trim(line, "| "), " | ")
		if len(cells) < 4 {
			continue
		}
		rows[strings.Trim(cells[0], "`")] = cells
	}
	return rows
}

// TestReadmeDocumentsEveryConfigKey: every key config.Keys() registers has
// a row in the README's configuration reference naming its environment
// variable and stating its actual default.
func TestReadmeDocumentsEveryConfigKey(t *testing.T) {
	rows := configRows(readREADME(t))
	keys := config.Keys()
	names := make([]string, 0, len(keys))
	for k := range keys {
		names = append(names, k)
	}
	sort.Strings(names)
	for _, key := range names {
		t.Run(key, func(t *testing.T) {
			cells, ok := rows[key]
			if !ok {
				t.Fatalf("the README's configuration reference has no row | `%s` | `%s` | default | meaning |", key, envVar(key))
			}
			if got, want := strings.Trim(cells[1], "`"), envVar(key); got != want {
				t.Errorf("row of %s names environment variable %q, want %q", key, got, want)
			}
			if err := sameDefault(cells[2], keys[key]); err != nil {
				t.Errorf("row of %s: %v", key, err)
			}
		})
	}
	for key := range rows {
		if _, ok := keys[key]; !ok && strings.Contains(key, ".") && !strings.Contains(key, " ") {
			t.Errorf("the README documents %s, which is not a configuration key", key)
		}
	}
}

// sameDefault reports whether a README default cell states def.
func sameDefault(cell string, def any) error {
	raw := strings.Trim(cell, "`")
	switch v := def.(type) {
	case string:
		if v == "" {
			if cell != "(empty)" {
				return fmt.Errorf("default cell %q, want (empty)", cell)
			}
			return nil
		}
		if raw != v {
			return fmt.Errorf("default cell %q, want %q", cell, v)
		}
	case []string:
		if len(v) == 0 {
			if cell != "(empty list)" {
				return fmt.Errorf("default cell %q, want (empty list)", cell)
			}
			return nil
		}
		if raw != strings.Join(v, ",") {
			return fmt.Errorf("default cell %q, want %q", cell, strings.Join(v, ","))
		}
	case time.Duration:
		d, err := time.ParseDuration(raw)
		if err != nil || d != v {
			return fmt.Errorf("default cell %q, want a Go duration equal to %s", cell, v)
		}
	case bool:
		b, err := strconv.ParseBool(raw)
		if err != nil || b != v {
			return fmt.Errorf("default cell %q, want %t", cell, v)
		}
	case int:
		n, err := strconv.Atoi(raw)
		if err != nil || n != v {
			return fmt.Errorf("default cell %q, want %d", cell, v)
		}
	case int64:
		n, err := strconv.ParseInt(raw, 10, 64)
		if err != nil || n != v {
			return fmt.Errorf("default cell %q, want %d", cell, v)
		}
	case int32:
		n, err := strconv.ParseInt(raw, 10, 32)
		if err != nil || int32(n) != v {
			return fmt.Errorf("default cell %q, want %d", cell, v)
		}
	case float64:
		f, err := strconv.ParseFloat(raw, 64)
		if err != nil || f != v {
			return fmt.Errorf("default cell %q, want %g", cell, v)
		}
	default:
		return fmt.Errorf("default of type %T: teach sameDefault to compare it", def)
	}
	return nil
}

// TestReadmeQuickStartHasTheTwoCommands: the first code block under
// "## Quick start" holds exactly the demo command and the test command,
// and the test command exists.
func TestReadmeQuickStartHasTheTwoCommands(t *testing.T) {
	readme := readREADME(t)
	_, after, ok := strings.Cut(readme, "\n## Quick start\n")
	if !ok {
		t.Fatal(`the README has no "## Quick start" section`)
	}
	_, block, ok := strings.Cut(after, "```sh\n")
	if !ok {
		t.Fatal("the quick start has no ```sh code block")
	}
	block, _, _ = strings.Cut(block, "```")
	if next := strings.Index(after, "\n## "); next >= 0 && next < strings.Index(after, block) {
		t.Fatal("the first code block after the quick start heading is in another section")
	}
	var cmds []string
	for _, l := range strings.Split(strings.TrimSpace(block), "\n") {
		if l = strings.TrimSpace(l); l != "" {
			cmds = append(cmds, l)
		}
	}
	want := []string{"go run ./cmd/k8flex demo", "scripts/test.sh"}
	if strings.Join(cmds, "\n") != strings.Join(want, "\n") {
		t.Errorf("quick start commands = %q, want %q", cmds, want)
	}
	st, err := os.Stat(filepath.Join("..", "..", "scripts", "test.sh"))
	if err != nil {
		t.Fatalf("the quick start's test command: %v", err)
	}
	if st.Mode()&0o111 == 0 {
		t.Errorf("scripts/test.sh is not executable (mode %s)", st.Mode())
	}
}
