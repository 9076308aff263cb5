package loadtest

import (
	"bufio"
	"bytes"
	"fmt"
	"os"
	"sort"
	"strconv"
)

// Mapping is the resident memory of one mapped file (or "[anon]" for the
// anonymous mappings: heap, stacks) of a process.
type Mapping struct {
	Path string
	// Rss is the resident size, in bytes.
	Rss uint64
}

// ReadMappings returns the resident memory of process pid by mapped file,
// largest first, from /proc/PID/smaps (Linux only): how much of the RSS is
// the executable's pages, how much a memory-mapped store, how much heap.
func ReadMappings(pid int) ([]Mapping, error) {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/smaps", pid))
	if err != nil {
		return nil, fmt.Errorf("read mappings of pid %d: %w", pid, err)
	}
	return parseSmaps(b)
}

func parseSmaps(b []byte) ([]Mapping, error) {
	by := map[string]uint64{}
	cur := ""
	sc := bufio.NewScanner(bytes.NewReader(b))
	for sc.Scan() {
		line := sc.Bytes()
		if v, ok := bytes.CutPrefix(line, []byte("Rss:")); ok {
			f := bytes.Fields(v)
			if len(f) != 2 || string(f[1]) != "kB" {
				return nil, fmt.Errorf("parse Rss of %s: unexpected %q", cur, v)
			}
			kb, err := strconv.ParseUint(string(f[0]), 10, 64)
			if err != nil {
				return nil, fmt.Errorf("parse Rss of %s: %w", cur, err)
			}
			by[cur] += kb << 10
			continue
		}
		// A mapping's header: "start-end perms offset dev inode [path]";
		// field lines ("Size:", "Rss:", ...) have a colon in their first word.
		f := bytes.Fields(line)
		if len(f) < 5 || bytes.IndexByte(f[0], '-') < 0 || bytes.HasSuffix(f[0], []byte(":")) {
			continue
		}
		cur = "[anon]" // no path, or [heap], [stack], [vdso]...
		if len(f) >= 6 && f[5][0] != '[' {
			cur = string(bytes.Join(f[5:], []byte(" ")))
		}
	}
	if err := sc.Err(); err != nil {
		return nil, fmt.Errorf("parse smaps: %w", err)
	}
	out := make([]Mapping, 0, len(by))
	for p, n := range by {
		out = append(out, Mapping{Path: p, Rss: n})
	}
	sort.Slice(out, func(i, j int) bool {
		return out[i].Rss > out[j].Rss || out[i].Rss == out[j].Rss && out[i].Path < out[j].Path
	})
	return out, nil
}
