package main

import (
	"fmt"
	"io"
	"os"
	"path/filepath"

	"github.com/k8flex/k8flex/investigate"
)

// chartFiles writes the charts of terminal investigations to a folder:
// --charts-dir, else a new temporary folder made at the first chart.
type chartFiles struct {
	dir string
}

const chartsDirUsage = "folder for the PNG charts of the metrics behind the findings (default: a new temporary folder)"

// write saves res's charts as case-ID-NAME.png and prints their paths.
func (c *chartFiles) write(w io.Writer, res *investigate.Result) error {
	if res == nil || len(res.Charts) == 0 {
		return nil
	}
	if c.dir == "" {
		d, err := os.MkdirTemp("", "k8flex-charts-")
		if err != nil {
			return fmt.Errorf("charts folder: %w", err)
		}
		c.dir = d
	} else if err := os.MkdirAll(c.dir, 0o755); err != nil {
		return fmt.Errorf("--charts-dir: %w", err)
	}
	for _, ch := range res.Charts {
		p := filepath.Join(c.dir, res.ID+"-"+ch.Filename)
		if err := os.WriteFile(p, ch.PNG, 0o644); err != nil {
			return fmt.Errorf("write chart: %w", err)
		}
		fmt.Fprintf(w, "📈 chart: %s (%s)\n", p, ch.Title)
	}
	fmt.Fprintln(w)
	return nil
}
