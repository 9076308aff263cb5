package main

import (
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"io"
	"os"
	"sort"
	"text/tabwriter"
	"time"

	"github.com/rs/zerolog"

	"github.com/k8flex/k8flex/config"
	"github.com/k8flex/k8flex/investigate"
	"github.com/k8flex/k8flex/kb"
	"github.com/k8flex/k8flex/llm"
	"github.com/k8flex/k8flex/server"
)

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
	emb, err := llm.NewEmbedder(cfg.Embedder)
	if err != nil {
		return fmt.Errorf("embedder: %w", err)
	}
	verb := fs.Arg(0)
	if verb == "reembed" {
		return reembed(ctx, cfg, emb, stdout, log)
	}
	st, err := server.OpenStore(ctx, cfg.KB, emb.Dimensions(), false, log)
	if err != nil {
		return err
	}
	defer st.Close()
	switch verb {
	case "stats":
		return kbStats(ctx, st, *since, *asJSON, stdout)
	case "export":
		w := stdout
		if fs.NArg() > 1 {
			f, err := os.Create(fs.Arg(1))
			if err != nil {
				return fmt.Errorf("export: %w", err)
			}
			defer f.Close()
			w = f
		}
		return st.Export(ctx, w)
	case "import":
		if fs.NArg() < 2 {
			return fmt.Errorf("%w: k8flex kb import FILE", errUsage)
		}
		return kbImport(ctx, st, fs.Arg(1), *legacy, stdout)
	}
	return fmt.Errorf("%w: unknown kb command %q (stats, export, import, reembed)", errUsage, verb)
}

// kbStats prints the accuracy statistics of the cases created within
// since (all cases when 0), as a table or as JSON.
func kbStats(ctx context.Context, st server.Store, since time.Duration, asJSON bool, stdout io.Writer) error {
	var from time.Time
	if since > 0 {
		from = time.Now().Add(-since)
	}
	s, err := st.Stats(ctx, from)
	if err != nil {
		return err
	}
	if asJSON {
		enc := json.NewEncoder(stdout)
		enc.SetIndent("", "  ")
		return enc.Encode(s)
	}
	printStats(stdout, s)
	return nil
}

// kbImport imports the JSONL export at path (or, legacy, the original
// design's feedback.json).
func kbImport(ctx context.Context, st server.Store, path string, legacy bool, stdout io.Writer) error {
	f, err := os.Open(path)
	if err != nil {
		return fmt.Errorf("import: %w", err)
	}
	defer f.Close()
	var n int
	if legacy {
		n, err = st.ImportLegacyFeedback(ctx, f)
	} else {
		n, err = st.Import(ctx, f)
	}
	if err != nil {
		return fmt.Errorf("import %s: %w", path, err)
	}
	fmt.Fprintf(stdout, "imported %d records\n", n)
	return nil
}

// reembed re-embeds the validated cases with the configured embedder
// (what the dimension check's error asks for after an embedder change).
func reembed(ctx context.Context, cfg config.Config, emb investigate.Embedder, stdout io.Writer, log zerolog.Logger) error {
	st, err := server.OpenStore(ctx, cfg.KB, emb.Dimensions(), true, log)
	if err != nil {
		return err
	}
	defer st.Close()
	if err := st.Reembed(ctx, emb.Embed, emb.Dimensions()); err != nil {
		return fmt.Errorf("reembed: %w", err)
	}
	fmt.Fprintf(stdout, "re-embedded the validated cases with %d dimensions\n", emb.Dimensions())
	return nil
}

func printStats(w io.Writer, s kb.Stats) {
	pct := func(a kb.Accuracy) string {
		if a.Rated == 0 {
			return "-"
		}
		return fmt.Sprintf("%.0f%%", a.Ratio*100)
	}
	fmt.Fprintf(w, "cases %d · rated %d · correct %d · incorrect %d · accuracy %s · votes %d\n\n",
		s.Overall.Cases, s.Overall.Rated, s.Overall.Correct, s.Overall.Incorrect, pct(s.Overall), s.Votes)
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
	fmt.Fprintln(tw, "CATEGORY\tCASES\tCORRECT\tINCORRECT\tACCURACY")
	cats := make([]string, 0, len(s.ByCategory))
	for c := range s.ByCategory {
		cats = append(cats, string(c))
	}
	sort.Strings(cats)
	for _, c := range cats {
		a := s.ByCategory[investigate.Category(c)]
		fmt.Fprintf(tw, "%s\t%d\t%d\t%d\t%s\n", c, a.Cases, a.Correct, a.Incorrect, pct(a))
	}
	_ = tw.Flush()
}
