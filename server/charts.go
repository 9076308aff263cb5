package server

import (
	"fmt"
	"io"
	"os"
	"path/filepath"

	"github.com/k8flex/k8flex/investigate"
)

// ChartFiles writes the charts of terminal investigations to a folder:
// Dir, else a new temporary folder made at the first chart (Dir is then
// set to it).
type ChartFiles struct {
	Dir string
}

// ChartsDirUsage is the help text of the commands' --charts-dir flag.
const ChartsDirUsage = "folder for the PNG charts of the metrics behind the findings (default: a new temporary folder)"

// Write saves res's charts as case-ID-NAME.png and prints their paths.
func (c *ChartFiles) Write(w io.Writer, res *investigate.Result) error {
	if res == nil || len(res.Charts) == 0 {
		return nil
	}
	if c.Dir == "" {
		d, err := os.MkdirTemp("", "k8flex-charts-")
		if err != nil {
			return fmt.Errorf("charts folder: %w", err)
		}
		c.Dir = d
	} else if err := os.MkdirAll(c.Dir, 0o755); err != nil {
		return fmt.Errorf("--charts-dir: %w", err)
	}
	for _, ch := range res.Charts {
		p := filepath.Join(c.Dir, res.ID+"-"+ch.Filename)
		if err := os.WriteFile(p, ch.PNG, 0o644); err != nil {
			return fmt.Errorf("write chart: %w", err)
		}
		fmt.Fprintf(w, "📈 chart: %s (%s)\n", p, ch.Title)
	}
	fmt.Fprintln(w)
	return nil
}
