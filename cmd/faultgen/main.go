// Command faultgen writes the fault-injection corpus of package
// internal/faultgen: one scenario folder per fault class and variant, in
// the shared scenario format, ready for `k8flex eval --scenarios DIR`.
//
//	go run ./cmd/faultgen -out /tmp/faultgen [-seed 1] [-variants 2] [-class oomkilled,...]
package main

import (
	"flag"
	"fmt"
	"io"
	"os"
	"strings"

	"github.com/k8flex/k8flex/internal/faultgen"
)

func main() { os.Exit(run(os.Args[1:], os.Stdout, os.Stderr)) }

func run(args []string, stdout, stderr io.Writer) int {
	fs := flag.NewFlagSet("faultgen", flag.ContinueOnError)
	fs.SetOutput(stderr)
	out := fs.String("out", "", "directory to write the scenario folders into (required)")
	seed := fs.Int64("seed", 1, "random seed: names, namespaces, images, ports and noise")
	variants := fs.Int("variants", 2, "variants per fault class")
	classes := fs.String("class", "", "comma-separated fault classes (default: all)")
	list := fs.Bool("list", false, "print the fault classes and exit")
	if err := fs.Parse(args); err != nil {
		return 2
	}
	if *list {
		for _, c := range faultgen.Classes() {
			fmt.Fprintln(stdout, c)
		}
		return 0
	}
	if *out == "" {
		fmt.Fprintln(stderr, "faultgen: -out DIR is required")
		return 2
	}
	opts := faultgen.Options{Seed: *seed, Variants: *variants}
	if *classes != "" {
		opts.Classes = strings.Split(*classes, ",")
	}
	scs, err := faultgen.Generate(opts)
	if err != nil {
		fmt.Fprintln(stderr, "faultgen:", err)
		return 1
	}
	if err := faultgen.Write(*out, scs); err != nil {
		fmt.Fprintln(stderr, "faultgen:", err)
		return 1
	}
	fmt.Fprintf(stdout, "faultgen: wrote %d scenarios of %d classes to %s\n", len(scs), len(faultgen.Classes()), *out)
	return 0
}
