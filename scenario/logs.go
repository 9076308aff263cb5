package scenario

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"path"
	"strings"

	"github.com/k8flex/k8flex/k8s"
)

// FileLogs serves recorded container logs from
// <dir>/<namespace>/<pod>/<container>.log and, for the previous instance,
// <container>.previous.log. A log that was not recorded reads as empty.
type FileLogs struct {
	fsys fs.FS
	dir  string
}

var _ k8s.LogSource = (*FileLogs)(nil)

// Logs returns the last tailLines lines (all when tailLines <= 0) of the
// recorded log.
func (f *FileLogs) Logs(ctx context.Context, namespace, pod, container string, previous bool, tailLines int) (string, error) {
	if err := ctx.Err(); err != nil {
		return "", err
	}
	name := container + ".log"
	if previous {
		name = container + ".previous.log"
	}
	for _, part := range []string{namespace, pod, container} {
		if part == "" || strings.ContainsAny(part, "/\\") || part == "." || part == ".." {
			return "", fmt.Errorf("read log: invalid name %q", part)
		}
	}
	b, err := fs.ReadFile(f.fsys, path.Join(f.dir, namespace, pod, name))
	if errors.Is(err, fs.ErrNotExist) {
		return "", nil
	}
	if err != nil {
		return "", fmt.Errorf("read log %s/%s/%s: %w", namespace, pod, name, err)
	}
	return tail(string(b), tailLines), nil
}

// tail returns the last n lines of s (all of s when n <= 0).
func tail(s string, n int) string {
	if n <= 0 {
		return s
	}
	t := strings.TrimRight(s, "\n")
	idx := len(t)
	for i := 0; i < n; i++ {
		j := strings.LastIndexByte(t[:idx], '\n')
		if j < 0 {
			return t + "\n"
		}
		idx = j
	}
	return t[idx+1:] + "\n"
}
