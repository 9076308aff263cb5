package main

import (
	"io/fs"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	"github.com/k8flex/k8flex/config"
)

// TestShippedEnvVarsAreConfigKeys checks that every K8FLEX_* variable the
// manifests, the Helm chart and the Dockerfile set names a registered configuration key:
// viper silently ignores an unknown one, which would leave, say, the
// webhook without its token.
func TestShippedEnvVarsAreConfigKeys(t *testing.T) {
	known := map[string]bool{}
	for k := range config.Keys() {
		known["K8FLEX_"+strings.ToUpper(strings.ReplaceAll(k, ".", "_"))] = true
	}
	envRE := regexp.MustCompile(`K8FLEX_[A-Z0-9_]+`)
	var files []string
	for _, dir := range []string{"manifests", "charts"} {
		_ = filepath.WalkDir(filepath.Join("..", "..", dir), func(p string, d fs.DirEntry, err error) error {
			if err == nil && !d.IsDir() && (strings.HasSuffix(p, ".yaml") || strings.HasSuffix(p, ".yml") || strings.HasSuffix(p, ".txt")) {
				files = append(files, p)
			}
			return nil
		})
	}
	files = append(files, filepath.Join("..", "..", "Dockerfile"))
	if len(files) < 5 {
		t.Fatalf("found only %d manifest files", len(files))
	}
	seen := 0
	for _, f := range files {
		b, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		for _, name := range envRE.FindAllString(string(b), -1) {
			if strings.HasPrefix(name, "K8FLEX_TEST_") {
				continue
			}
			seen++
			if !known[name] {
				t.Errorf("%s sets %s, which is no configuration key (viper would ignore it)", f, name)
			}
		}
	}
	if seen < 5 {
		t.Fatalf("only %d K8FLEX_ variables found in the manifests; the check is not looking at them", seen)
	}
}
