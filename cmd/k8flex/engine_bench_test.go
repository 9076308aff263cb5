package main

import (
	"context"
	"path/filepath"
	"testing"

	"github.com/rs/zerolog"

	"github.com/k8flex/k8flex/config"
	"github.com/k8flex/k8flex/scenario"
	"github.com/k8flex/k8flex/server"
)

// BenchmarkEngine runs the whole engine minus a model (categorise, gather
// on the file-backed cluster, diagnose, prompt, the built-in analysis) on
// each shared scenario. Issue 2's target: under 50 ms per scenario.
//
//	go test -run '^$' -bench BenchmarkEngine ./cmd/k8flex/
func BenchmarkEngine(b *testing.B) {
	dir := filepath.Join("..", "..", "..", "shared", "scenarios")
	names, err := scenario.Dirs(dir)
	if err != nil {
		b.Fatalf("the shared scenarios must sit beside the repository: %v", err)
	}
	cfg := config.Default()
	an, err := server.NewAnalyzers(cfg, zerolog.Nop())
	if err != nil {
		b.Fatal(err)
	}
	for _, name := range names {
		sc, err := scenario.Load(filepath.Join(dir, name))
		if err != nil {
			b.Fatal(err)
		}
		b.Run(name, func(b *testing.B) {
			b.ReportAllocs()
			for b.Loop() {
				eng, err := server.NewEngine(cfg, sc.Gatherer(server.GathererOptions(cfg, zerolog.Nop())), nil, an, nil, nil, zerolog.Nop())
				if err != nil {
					b.Fatal(err)
				}
				if _, err := eng.Run(context.Background(), sc.Request(), nil); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}
