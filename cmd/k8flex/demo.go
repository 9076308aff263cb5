package main

import (
	"context"
	"flag"
	"io"
	"os"

	"github.com/k8flex/k8flex/demo"
	"github.com/k8flex/k8flex/server"
)

// runDemo is `k8flex demo`: the flags and configuration, then demo.Run.
func runDemo(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs := flag.NewFlagSet("demo", flag.ContinueOnError)
	fs.SetOutput(stderr)
	common := addCommonFlags(fs)
	chartsDir := fs.String("charts-dir", "", server.ChartsDirUsage)
	if err := fs.Parse(args); err != nil {
		return err
	}
	// demo.Run brings its own temporary embedded store: the file's kb.*
	// settings are neither used nor validated.
	common.extra["kb.data_dir"] = os.TempDir()
	common.extra["kb.database_url"] = ""
	cfg, err := common.config()
	if err != nil {
		return err
	}
	return demo.Run(ctx, cfg, demo.Options{ChartsDir: *chartsDir}, stdout, newLogger(cfg.Log, stderr, true))
}
