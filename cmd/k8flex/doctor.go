package main

import (
	"context"
	"flag"
	"fmt"
	"io"
	"time"

	"github.com/k8flex/k8flex/server"
)

// runDoctor is `k8flex doctor`: the flags, then server.Doctor over the
// configuration they give.
func runDoctor(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs := flag.NewFlagSet("doctor", flag.ContinueOnError)
	fs.SetOutput(stderr)
	common := addCommonFlags(fs)
	dataDir := fs.String("data-dir", "", "embedded knowledge base directory (kb.data_dir)")
	dbURL := fs.String("database-url", "", "PostgreSQL URL (kb.database_url)")
	timeout := fs.Duration("timeout", 15*time.Second, "bound on each check")
	fs.Usage = func() {
		fmt.Fprintln(stderr, "usage: k8flex doctor [flags]\n\nChecks the configuration it is given (file, K8FLEX_* environment, flags) and what it\n"+
			"points at: the cluster and the identity's permissions, Slack, the model and embedder, the store,\n"+
			"the webhook token. Prints a checklist with the fix for each failure; exits 1 when one failed.")
		fs.PrintDefaults()
	}
	if err := fs.Parse(args); err != nil {
		return err
	}
	if *dataDir != "" {
		common.extra["kb.data_dir"] = *dataDir
	}
	if *dbURL != "" {
		common.extra["kb.database_url"] = *dbURL
	}
	return server.Doctor(ctx, common.config, *timeout, stdout)
}
