package main

import (
	"context"
	"flag"
	"fmt"
	"io"

	"github.com/k8flex/k8flex/eval"
)

// runEval is `k8flex eval`: the flags and configuration, then eval.Run.
func runEval(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs := flag.NewFlagSet("eval", flag.ContinueOnError)
	fs.SetOutput(stderr)
	dir := fs.String("scenarios", "", "directory of scenario folders (required)")
	asJSON := fs.Bool("json", false, "print one JSON object instead of the table")
	verbose := fs.Bool("v", false, "print each analysis")
	common := addCommonFlags(fs)
	if err := fs.Parse(args); err != nil {
		return err
	}
	if *dir == "" {
		return fmt.Errorf("%w: k8flex eval --scenarios DIR [--json] [--llm PROVIDER --model M --llm-base-url U]", errUsage)
	}
	cfg, err := common.config()
	if err != nil {
		return err
	}
	return eval.Run(ctx, cfg, eval.Options{Dir: *dir, JSON: *asJSON, Verbose: *verbose}, stdout, stderr, newLogger(cfg.Log, stderr, true))
}
