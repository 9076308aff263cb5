package demo

import (
	"context"
	"fmt"
	"io"
	"os"

	"github.com/rs/zerolog"

	"github.com/k8flex/k8flex/bot"
	"github.com/k8flex/k8flex/config"
	"github.com/k8flex/k8flex/investigate"
	"github.com/k8flex/k8flex/kb"
	"github.com/k8flex/k8flex/learn"
	"github.com/k8flex/k8flex/scenario"
	"github.com/k8flex/k8flex/server"
)

// Options are what a demo run takes beside the configuration.
type Options struct {
	// ChartsDir receives the PNG charts; empty: a new temporary folder.
	ChartsDir string
}

// Run investigates the embedded scenarios end to end and prints each
// analysis to stdout, with an embedded knowledge base in a temporary
// directory (whatever cfg.KB says; removed when Run returns): after the
// first incident of the recall pair is confirmed (a ✅ as a person would
// give it in Slack), the second, similar incident recalls it. It fails
// when a scenario fails or the recall does not happen.
func Run(ctx context.Context, cfg config.Config, o Options, stdout io.Writer, log zerolog.Logger) error {
	dir, err := os.MkdirTemp("", "k8flex-demo-")
	if err != nil {
		return fmt.Errorf("demo knowledge base: %w", err)
	}
	defer os.RemoveAll(dir)
	cfg.KB.DataDir, cfg.KB.DatabaseURL = dir, ""
	an, err := server.NewAnalyzers(cfg, log)
	if err != nil {
		return err
	}
	emb, st, err := server.OpenKnowledge(ctx, cfg, log)
	if err != nil {
		return err
	}
	defer st.Close()
	loop, err := learn.New(learn.Config{Store: st, Embedder: emb, SimilarThreshold: cfg.Engine.SimilarThreshold, Log: log})
	if err != nil {
		return err
	}
	w := walkthrough{cfg: cfg, an: an, emb: emb, st: st, loop: loop, charts: &server.ChartFiles{Dir: o.ChartsDir}, out: stdout, log: log}

	names := Names()
	fmt.Fprintf(stdout, "K8flex demo: %d recorded incidents investigated end to end with the %s analyser,\n"+
		"each on a file-backed cluster through the same collectors used against a real API server.\n"+
		"The last two are similar incidents a week apart: the first is confirmed ✅, the second recalls it.\n\n",
		len(names), an.Name())
	for _, name := range names {
		res, err := w.investigate(ctx, name)
		if err != nil {
			return err
		}
		if err := w.confirmOrRecall(ctx, name, res); err != nil {
			return err
		}
	}
	s, err := st.Stats(ctx, statsSinceEver)
	if err == nil {
		fmt.Fprintf(stdout, "knowledge base: %d cases recorded, %d confirmed correct.\n", s.Overall.Cases, s.Overall.Correct)
	}
	return nil
}

// walkthrough is one demo run: the engine's parts and the knowledge base
// the scenarios share.
type walkthrough struct {
	cfg    config.Config
	an     server.Analyzers
	emb    investigate.Embedder
	st     server.Store
	loop   *learn.Loop
	charts *server.ChartFiles
	out    io.Writer
	log    zerolog.Logger
}

// investigate runs the scenario name, prints its analysis and charts and
// records its case.
func (w walkthrough) investigate(ctx context.Context, name string) (*investigate.Result, error) {
	sc, err := scenario.LoadFS(FS(), name)
	if err != nil {
		return nil, fmt.Errorf("demo scenario %s: %w", name, err)
	}
	ms, err := server.ScenarioMetrics(w.cfg, sc)
	if err != nil {
		return nil, err
	}
	eng, err := server.NewEngine(w.cfg, sc.Gatherer(server.GathererOptions(w.cfg, w.log)), ms, w.an, w.emb, w.st, w.log)
	if err != nil {
		return nil, err
	}
	res, err := eng.Run(ctx, sc.Request(), bot.ConsoleReporter(w.out))
	if err != nil {
		return nil, fmt.Errorf("demo scenario %s: %w", name, err)
	}
	if err := w.charts.Write(w.out, res); err != nil {
		return nil, err
	}
	// The engine stores nothing: the demo records each case itself.
	if err := w.st.RecordInvestigation(ctx, res); err != nil {
		return nil, fmt.Errorf("demo scenario %s: record: %w", name, err)
	}
	return res, nil
}

// confirmOrRecall shows the learning loop on the recall pair: the first incident
// is confirmed as a person would in Slack, the second must recall it.
func (w walkthrough) confirmOrRecall(ctx context.Context, name string, res *investigate.Result) error {
	first, second := RecallPair()
	switch name {
	case first:
		if _, err := w.loop.Cast(ctx, learn.Vote{Case: res.ID, User: "demo-oncall", Correct: true, Source: kb.SourceReaction}); err != nil {
			return fmt.Errorf("confirm %s: %w", name, err)
		}
		fmt.Fprintf(w.out, "✅ demo-oncall confirmed this analysis: it is now knowledge for similar incidents.\n\n")
	case second:
		if len(res.Similar) == 0 {
			return fmt.Errorf("demo scenario %s did not recall the confirmed incident %s", second, first)
		}
		top := res.Similar[0]
		fmt.Fprintf(w.out, "🧠 recalled the confirmed incident %s (%s) with similarity %.0f%%: %s\n\n",
			top.AlertName, top.Target, top.Similarity*100, top.RootCause)
	}
	return nil
}

// statsSinceEver asks for statistics over every case.
var statsSinceEver = kb.Stats{}.Since
