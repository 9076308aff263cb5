package server

import (
	"context"
	"encoding/json"
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
)

// PrintKnowledgeStats prints the accuracy statistics of the knowledge
// base cfg configures, over the cases created within since (all cases
// when 0), as a table or as JSON.
func PrintKnowledgeStats(ctx context.Context, cfg config.Config, since time.Duration, asJSON bool, stdout io.Writer, log zerolog.Logger) error {
	_, st, err := OpenKnowledge(ctx, cfg, log)
	if err != nil {
		return err
	}
	defer st.Close()
	return kbStats(ctx, st, since, asJSON, stdout)
}

// ExportKnowledge writes the knowledge base as JSONL to the file path
// (created), or to stdout when path is empty.
func ExportKnowledge(ctx context.Context, cfg config.Config, path string, stdout io.Writer, log zerolog.Logger) error {
	_, st, err := OpenKnowledge(ctx, cfg, log)
	if err != nil {
		return err
	}
	defer st.Close()
	w := stdout
	if path != "" {
		f, err := os.Create(path)
		if err != nil {
			return fmt.Errorf("export: %w", err)
		}
		defer f.Close()
		w = f
	}
	return st.Export(ctx, w)
}

// ImportKnowledge imports the JSONL export at path (or, legacy, the
// original design's feedback.json) into the knowledge base and prints
// how many records it read.
func ImportKnowledge(ctx context.Context, cfg config.Config, path string, legacy bool, stdout io.Writer, log zerolog.Logger) error {
	_, st, err := OpenKnowledge(ctx, cfg, log)
	if err != nil {
		return err
	}
	defer st.Close()
	return kbImport(ctx, st, path, legacy, stdout)
}

// ReembedKnowledge re-embeds the validated cases with the configured
// embedder (what the dimension check's error asks for after an embedder
// change).
func ReembedKnowledge(ctx context.Context, cfg config.Config, stdout io.Writer, log zerolog.Logger) error {
	emb, err := llm.NewEmbedder(cfg.Embedder)
	if err != nil {
		return fmt.Errorf("embedder: %w", err)
	}
	return reembed(ctx, cfg, emb, stdout, log)
}

// kbStats prints the accuracy statistics of the cases created within
// since (all cases when 0), as a table or as JSON.
func kbStats(ctx context.Context, st Store, since time.Duration, asJSON bool, stdout io.Writer) error {
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
func kbImport(ctx context.Context, st Store, path string, legacy bool, stdout io.Writer) error {
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

// reembed re-embeds the validated cases with emb.
func reembed(ctx context.Context, cfg config.Config, emb investigate.Embedder, stdout io.Writer, log zerolog.Logger) error {
	st, err := OpenStore(ctx, cfg.KB, emb.Dimensions(), true, log)
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
