package main

import (
	"context"
	"flag"
	"fmt"
	"io"

	"github.com/k8flex/k8flex/server"
)

// runKB is `k8flex kb VERB`: the flags and configuration, then the
// server call for the verb.
func runKB(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs := flag.NewFlagSet("kb", flag.ContinueOnError)
	fs.SetOutput(stderr)
	dataDir := fs.String("data-dir", "", "embedded knowledge base directory (kb.data_dir)")
	dbURL := fs.String("database-url", "", "PostgreSQL URL (kb.database_url)")
	since := fs.Duration("since", 0, "stats: only cases created within this window (e.g. 720h)")
	asJSON := fs.Bool("json", false, "stats: print JSON")
	legacy := fs.Bool("legacy-feedback", false, "import: the file is the original design's feedback.json")
	common := addCommonFlags(fs)
	fs.Usage = func() {
		fmt.Fprintln(stderr, "usage: k8flex kb stats | export [FILE] | import FILE | reembed   [flags]\n\n"+
			"  export writes JSONL (stdout without FILE); import reads JSONL, or feedback.json with --legacy-feedback;\n"+
			"  reembed recomputes the embeddings of validated cases with the configured embedder (after changing it).\n\nflags:")
		fs.PrintDefaults()
	}
	if err := fs.Parse(reorderFlags(fs, args)); err != nil {
		return err
	}
	if fs.NArg() == 0 {
		fs.Usage()
		return fmt.Errorf("%w: k8flex kb stats|export|import|reembed", errUsage)
	}
	if *dataDir != "" {
		common.extra["kb.data_dir"] = *dataDir
	}
	if *dbURL != "" {
		common.extra["kb.database_url"] = *dbURL
	}
	cfg, err := common.config()
	if err != nil {
		return err
	}
	log := newLogger(cfg.Log, stderr, true)
	switch verb := fs.Arg(0); verb {
	case "stats":
		return server.PrintKnowledgeStats(ctx, cfg, *since, *asJSON, stdout, log)
	case "export":
		return server.ExportKnowledge(ctx, cfg, fs.Arg(1), stdout, log)
	case "import":
		if fs.NArg() < 2 {
			return fmt.Errorf("%w: k8flex kb import FILE", errUsage)
		}
		return server.ImportKnowledge(ctx, cfg, fs.Arg(1), *legacy, stdout, log)
	case "reembed":
		return server.ReembedKnowledge(ctx, cfg, stdout, log)
	default:
		return fmt.Errorf("%w: unknown kb command %q (stats, export, import, reembed)", errUsage, verb)
	}
}
