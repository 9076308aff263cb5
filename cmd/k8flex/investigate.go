package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"strings"

	"github.com/k8flex/k8flex/bot"
	"github.com/k8flex/k8flex/investigate"
	"github.com/k8flex/k8flex/scenario"
	"github.com/k8flex/k8flex/server"
)

func runInvestigate(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs := flag.NewFlagSet("investigate", flag.ContinueOnError)
	fs.SetOutput(stderr)
	scenarioDir := fs.String("scenario", "", "investigate a recorded scenario folder instead of a live cluster")
	category := fs.String("category", "", "skip categorisation and use this category")
	showPrompt := fs.Bool("show-prompt", false, "print the (redacted) prompt a model receives, after the analysis")
	chartsDir := fs.String("charts-dir", "", chartsDirUsage)
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
	log := newLogger(cfg.Log, stderr, true)

	var gatherer investigate.Gatherer
	var ms investigate.MetricsSource
	var req *investigate.Request
	if *scenarioDir != "" {
		sc, err := scenario.Load(*scenarioDir)
		if err != nil {
			return fmt.Errorf("--scenario %s: %w", *scenarioDir, err)
		}
		gatherer = sc.Gatherer(server.GathererOptions(cfg, log))
		if ms, err = server.ScenarioMetrics(cfg, sc); err != nil {
			return err
		}
		if fs.NArg() == 0 {
			req = scenarioRequest(sc)
		}
	} else {
		g, err := server.ClusterGatherer(cfg, log)
		if err != nil {
			return err
		}
		gatherer = g
		if ms, err = server.LiveMetrics(cfg); err != nil {
			return err
		}
	}
	if req == nil {
		if req, err = requestFromArgs(fs.Args()); err != nil {
			return err
		}
	}
	if *category != "" {
		c, ok := investigate.ParseCategory(*category)
		if !ok {
			return fmt.Errorf("--category %q is not one of %v", *category, investigate.Categories())
		}
		req.Category = c
	}
	an, err := server.NewAnalyzers(cfg, log)
	if err != nil {
		return err
	}
	eng, err := server.NewEngine(cfg, gatherer, ms, an, nil, nil, log)
	if err != nil {
		return err
	}
	res, err := eng.Run(ctx, req, bot.ConsoleReporter(stdout))
	if cerr := (&chartFiles{dir: *chartsDir}).write(stdout, res); cerr != nil {
		return cerr
	}
	if *showPrompt && res != nil {
		fmt.Fprintf(stdout, "\n──── prompt: %d chars, ~%d tokens", res.Prompt.Chars, res.Prompt.Tokens)
		if len(res.Prompt.TrimmedSections) > 0 {
			fmt.Fprintf(stdout, ", trimmed to the budget: %s", strings.Join(res.Prompt.TrimmedSections, ", "))
		}
		fmt.Fprintf(stdout, " ────\n[system]\n%s\n\n[user]\n%s\n", res.Prompt.System, res.Prompt.User)
	}
	return err
}

// requestFromArgs builds a request from an alert JSON file (its first
// firing alert; the rest folded in) or a kubectl-like target and question.
func requestFromArgs(args []string) (*investigate.Request, error) {
	if len(args) == 0 {
		return nil, fmt.Errorf("%w: k8flex investigate ALERT.json | TARGET [QUESTION...] (see -h)", errUsage)
	}
	if strings.HasSuffix(args[0], ".json") || fileExists(args[0]) {
		body, err := os.ReadFile(args[0])
		if err != nil {
			return nil, fmt.Errorf("read alert: %w", err)
		}
		msg, err := investigate.ParseWebhook(body)
		if err != nil {
			// Grafana's webhook contact-point body is accepted too.
			if gmsg, gerr := investigate.ParseGrafanaWebhook(body); gerr == nil {
				msg, err = gmsg, nil
			}
		}
		if err != nil {
			return nil, fmt.Errorf("%s: %w", args[0], err)
		}
		var firing []investigate.Alert
		for _, a := range msg.Alerts {
			if a.Status == investigate.StatusFiring {
				firing = append(firing, a)
			}
		}
		if len(firing) == 0 {
			return nil, errors.New("the payload has no firing alert")
		}
		req := &investigate.Request{Alert: &firing[0], Related: firing[1:], Source: investigate.SourceCLI, RequestedBy: currentUser()}
		req.Question = strings.Join(args[1:], " ")
		return req, nil
	}
	t, question, err := investigate.ParseTarget(strings.Join(args, " "))
	if err != nil {
		return nil, err
	}
	return &investigate.Request{Target: t, Question: question, Source: investigate.SourceCLI, RequestedBy: currentUser()}, nil
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

func fileExists(p string) bool {
	st, err := os.Stat(p)
	return err == nil && !st.IsDir()
}

func currentUser() string {
	if u := os.Getenv("USER"); u != "" {
		return u
	}
	return "cli"
}
