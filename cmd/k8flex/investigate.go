package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"strings"

	"github.com/k8flex/k8flex/server"
)

// runInvestigate is `k8flex investigate`: the flags and configuration,
// then server.Investigate.
func runInvestigate(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs := flag.NewFlagSet("investigate", flag.ContinueOnError)
	fs.SetOutput(stderr)
	scenarioDir := fs.String("scenario", "", "investigate a recorded scenario folder instead of a live cluster")
	category := fs.String("category", "", "skip categorisation and use this category")
	showPrompt := fs.Bool("show-prompt", false, "print the (redacted) prompt a model receives, after the analysis")
	chartsDir := fs.String("charts-dir", "", server.ChartsDirUsage)
	common := addCommonFlags(fs)
	fs.Usage = func() {
		fmt.Fprintln(stderr, "usage: k8flex investigate [flags] ALERT.json | TARGET [QUESTION...]\n\n"+
			"  TARGET is kubectl-like: pod/NAME -n NS, deploy/NAME -n NS, svc/NAME -n NS, sts/NAME, node/NAME, NS/NAME\n"+
			"  With --scenario DIR and no argument, the scenario's own alert is investigated.\n\nflags:")
		fs.PrintDefaults()
	}
	if err := fs.Parse(reorderFlags(fs, args)); err != nil {
		return err
	}
	cfg, err := common.config()
	if err != nil {
		return err
	}
	err = server.Investigate(ctx, cfg, server.Investigation{ScenarioDir: *scenarioDir, Args: fs.Args(), Category: *category,
		ShowPrompt: *showPrompt, ChartsDir: *chartsDir}, stdout, newLogger(cfg.Log, stderr, true))
	if errors.Is(err, server.ErrNoTarget) {
		return fmt.Errorf("%w: k8flex investigate ALERT.json | TARGET [QUESTION...] (see -h)", errUsage)
	}
	return err
}

// reorderFlags lets flags follow positional arguments
// ("investigate pod/x -n ns --llm openai"): the flag package stops at the
// first positional one. -n/--namespace stay with the target.
func reorderFlags(fs *flag.FlagSet, args []string) []string {
	var flags, pos []string
	for i := 0; i < len(args); i++ {
		a := args[i]
		name := strings.TrimLeft(a, "-")
		name, _, hasValue := strings.Cut(name, "=")
		f := fs.Lookup(name)
		if !strings.HasPrefix(a, "-") || f == nil {
			pos = append(pos, a)
			if (a == "-n" || a == "--namespace") && i+1 < len(args) {
				i++
				pos = append(pos, args[i])
			}
			continue
		}
		flags = append(flags, a)
		if _, isBool := f.Value.(interface{ IsBoolFlag() bool }); !hasValue && !isBool && i+1 < len(args) {
			i++
			flags = append(flags, args[i])
		}
	}
	return append(flags, pos...)
}
