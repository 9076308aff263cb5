package main

import (
	"context"
	"errors"
	"flag"
	"io"

	"github.com/k8flex/k8flex/server"
)

// runServe is `k8flex serve`: the flags and configuration, then the Server.
func runServe(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs := flag.NewFlagSet("serve", flag.ContinueOnError)
	fs.SetOutput(stderr)
	listen := fs.String("listen", "", "webhook address (server.listen)")
	scenarioDir := fs.String("scenario", "", "investigate against a recorded scenario folder instead of a live cluster (demos, tests)")
	dataDir := fs.String("data-dir", "", "embedded knowledge base directory (kb.data_dir)")
	common := addCommonFlags(fs)
	if err := fs.Parse(args); err != nil {
		return err
	}
	if *listen != "" {
		common.extra["server.listen"] = *listen
	}
	if *dataDir != "" {
		common.extra["kb.data_dir"] = *dataDir
	}
	cfg, err := common.config()
	if err != nil {
		return err
	}
	srv, err := server.New(ctx, cfg, server.Options{ScenarioDir: *scenarioDir, Stdout: stdout, Log: newLogger(cfg.Log, stderr, false)})
	if err != nil {
		return err
	}
	runErr := srv.Run(ctx)
	return errors.Join(runErr, srv.Close())
}
