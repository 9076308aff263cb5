package main

import (
	"context"
	"os"
	"path/filepath"
	"runtime"
	"runtime/pprof"
	"testing"
	"time"

	"github.com/k8flex/k8flex/internal/loadtest"
)

// Temporary (perf helper): heap profile of serve, idle and after a storm.
func TestPerfScratchHeap(t *testing.T) {
	if os.Getenv("PERF_SCRATCH") == "" {
		t.Skip("PERF_SCRATCH not set")
	}
	dir := t.TempDir()
	cfg := serveConfig{Token: "bench-token", Workers: 4, DataDir: filepath.Join(dir, "data")}
	s := startInProcess(t, cfg.write(t, dir))
	time.Sleep(time.Second)
	dump := func(name string) {
		runtime.GC()
		f, _ := os.Create(filepath.Join(os.Getenv("PERF_SCRATCH"), name))
		_ = pprof.Lookup("heap").WriteTo(f, 0)
		f.Close()
	}
	dump("idle.heap")
	rep, err := loadtest.Run(context.Background(), loadtest.Config{URL: s.URL + "/webhook", Token: cfg.Token,
		Concurrency: 16, Timeout: 120 * time.Second,
		Storm: loadtest.Storm{Alerts: 10_000, MinPerPayload: 1, MaxPerPayload: 1, Seed: 1, RunID: "scratch"}})
	if err != nil {
		t.Fatal(err)
	}
	t.Logf("%s", rep)
	dump("storm.heap")
}
