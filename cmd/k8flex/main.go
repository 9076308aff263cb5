// Command k8flex turns Kubernetes alerts into root-cause analyses.
//
//	k8flex demo                      run the embedded incident scenarios end to end
//	k8flex investigate ALERT.json|TARGET [--scenario DIR]
//	k8flex eval --scenarios DIR [--json]
//	k8flex serve                     webhook + Slack bot + workers
//	k8flex doctor                    checklist of the configuration, with fixes
//
// Configuration comes from a YAML file (--config), K8FLEX_* environment
// variables and flags, read here and nowhere else. Each command parses its
// flags, loads the configuration and makes one call into the package that
// provides it: demo.Run, server.Investigate, eval.Run, server.New (serve),
// server's *Knowledge functions (kb), server.Doctor.
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"os/signal"
	"syscall"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	code := run(ctx, os.Args[1:], os.Stdout, os.Stderr)
	stop()
	os.Exit(code)
}

// command is one subcommand: it parses its own flags and runs.
type command struct {
	name    string
	summary string
	run     func(ctx context.Context, args []string, stdout, stderr io.Writer) error
}

func commands() []command {
	return []command{
		{"demo", "run the embedded incident scenarios end to end (no cluster, Slack, model or database needed)", runDemo},

		{"investigate", "investigate an alert JSON file or a target (pod/NAME -n NS, deploy/NAME, node/NAME ...)", runInvestigate},
		{"eval", "score the engine on a directory of recorded incident scenarios", runEval},
		{"serve", "run the Alertmanager webhook, the Slack bot and the investigation workers", runServe},
		{"doctor", "check the configuration and what it points at (cluster, Slack, model, store); a checklist with fixes", runDoctor},
		{"kb", "knowledge base: stats | export [FILE] | import FILE | reembed", runKB},
	}
}

// errUsage marks an error whose message is usage help (exit status 2).
var errUsage = errors.New("usage")

func run(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	if len(args) == 0 || args[0] == "-h" || args[0] == "--help" || args[0] == "help" {
		usage(stderr)
		if len(args) == 0 {
			return 2
		}
		return 0
	}
	for _, c := range commands() {
		if c.name != args[0] {
			continue
		}
		err := c.run(ctx, args[1:], stdout, stderr)
		switch {
		case err == nil:
			return 0
		case errors.Is(err, flag.ErrHelp):
			return 0
		case errors.Is(err, errUsage):
			fmt.Fprintln(stderr, err)
			return 2
		default:
			fmt.Fprintf(stderr, "k8flex %s: %v\n", c.name, err)
			return 1
		}
	}
	fmt.Fprintf(stderr, "k8flex: unknown command %q\n\n", args[0])
	usage(stderr)
	return 2
}

func usage(w io.Writer) {
	fmt.Fprintln(w, "k8flex: root-cause analysis of Kubernetes alerts, streamed into Slack.\n\nCommands:")
	for _, c := range commands() {
		fmt.Fprintf(w, "  %-12s %s\n", c.name, c.summary)
	}
	fmt.Fprintln(w, "\nRun 'k8flex COMMAND -h' for a command's flags.")
}
