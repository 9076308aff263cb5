package server

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"strings"

	"github.com/rs/zerolog"

	"github.com/k8flex/k8flex/bot"
	"github.com/k8flex/k8flex/config"
	"github.com/k8flex/k8flex/investigate"
	"github.com/k8flex/k8flex/scenario"
)

// Investigation is one investigation run from the command line.
type Investigation struct {
	// ScenarioDir, when set, is a recorded scenario folder investigated
	// instead of the live cluster.
	ScenarioDir string
	// Args are what to investigate: ALERT.json (its first firing alert,
	// the others folded in) or a kubectl-like TARGET with an optional
	// QUESTION. Empty with ScenarioDir: the scenario's own alert.
	Args []string
	// Category, when set, skips categorisation.
	Category string
	// ShowPrompt prints the (redacted) prompt after the analysis.
	ShowPrompt bool
	// ChartsDir receives the PNG charts; empty: a new temporary folder.
	ChartsDir string
}

// ErrNoTarget is returned by Investigate when it has nothing to
// investigate: no Args and no ScenarioDir.
var ErrNoTarget = errors.New("nothing to investigate: give ALERT.json or TARGET")

// Investigate runs one investigation with the engine cfg configures,
// without the knowledge base, and streams it to stdout, then its charts
// and, asked for, its prompt. The error is the run's (or the
// investigation's own, after what it produced was printed).
func Investigate(ctx context.Context, cfg config.Config, inv Investigation, stdout io.Writer, log zerolog.Logger) error {
	gatherer, ms, req, err := inv.sources(cfg, log)
	if err != nil {
		return err
	}
	if inv.Category != "" {
		c, ok := investigate.ParseCategory(inv.Category)
		if !ok {
			return fmt.Errorf("--category %q is not one of %v", inv.Category, investigate.Categories())
		}
		req.Category = c
	}
	an, err := NewAnalyzers(cfg, log)
	if err != nil {
		return err
	}
	eng, err := NewEngine(cfg, gatherer, ms, an, nil, nil, log)
	if err != nil {
		return err
	}
	res, err := eng.Run(ctx, req, bot.ConsoleReporter(stdout))
	if cerr := (&ChartFiles{Dir: inv.ChartsDir}).Write(stdout, res); cerr != nil {
		return cerr
	}
	if inv.ShowPrompt && res != nil {
		printPrompt(stdout, res.Prompt)
	}
	return err
}

// sources are what the investigation reads (the recorded scenario or the
// live cluster, and its metrics) and the request: from Args, else the
// scenario's own alert.
func (inv Investigation) sources(cfg config.Config, log zerolog.Logger) (investigate.Gatherer, investigate.MetricsSource, *investigate.Request, error) {
	if inv.ScenarioDir == "" {
		g, err := ClusterGatherer(cfg, log)
		if err != nil {
			return nil, nil, nil, err
		}
		ms, err := LiveMetrics(cfg)
		if err != nil {
			return nil, nil, nil, err
		}
		req, err := requestFromArgs(inv.Args)
		return g, ms, req, err
	}
	sc, err := scenario.Load(inv.ScenarioDir)
	if err != nil {
		return nil, nil, nil, fmt.Errorf("--scenario %s: %w", inv.ScenarioDir, err)
	}
	ms, err := ScenarioMetrics(cfg, sc)
	if err != nil {
		return nil, nil, nil, err
	}
	req := sc.Request()
	if len(inv.Args) > 0 {
		if req, err = requestFromArgs(inv.Args); err != nil {
			return nil, nil, nil, err
		}
	}
	return sc.Gatherer(GathererOptions(cfg, log)), ms, req, nil
}

// printPrompt prints the prompt a model receives (redacted, as sent).
func printPrompt(w io.Writer, p investigate.Prompt) {
	fmt.Fprintf(w, "\n──── prompt: %d chars, ~%d tokens", p.Chars, p.Tokens)
	if len(p.TrimmedSections) > 0 {
		fmt.Fprintf(w, ", trimmed to the budget: %s", strings.Join(p.TrimmedSections, ", "))
	}
	fmt.Fprintf(w, " ────\n[system]\n%s\n\n[user]\n%s\n", p.System, p.User)
}

// requestFromArgs builds a request from an alert JSON file (its first
// firing alert; the rest folded in) or a kubectl-like target and question.
func requestFromArgs(args []string) (*investigate.Request, error) {
	if len(args) == 0 {
		return nil, ErrNoTarget
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
