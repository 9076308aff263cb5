package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"strings"

	"github.com/rs/zerolog"
	"k8s.io/client-go/rest"
	"k8s.io/client-go/tools/clientcmd"

	"github.com/k8flex/k8flex/bot"
	"github.com/k8flex/k8flex/investigate"
	"github.com/k8flex/k8flex/k8s"
	"github.com/k8flex/k8flex/scenario"
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
		gatherer = sc.Gatherer(gathererOptions(cfg, log))
		if ms, err = scenarioMetrics(cfg, sc); err != nil {
			return err
		}
		if fs.NArg() == 0 {
			req = scenarioRequest(sc)
		}
	} else {
		g, err := clusterGatherer(cfg, log)
		if err != nil {
			return err
		}
		gatherer = g
		if ms, err = liveMetrics(cfg); err != nil {
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
	an, err := newAnalyzers(cfg, log)
	if err != nil {
		return err
	}
	eng, err := newEngine(cfg, gatherer, ms, an, nil, nil, log)
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

// clusterGatherer connects to the cluster: in-cluster config when running
// in a pod, else kube.kubeconfig / $KUBECONFIG / ~/.kube/config.
func clusterGatherer(cfg Config, log zerolog.Logger) (*k8s.Gatherer, error) {
	rc, err := restConfig(cfg.Kube)
	if err != nil {
		return nil, err
	}
	cluster, err := k8s.NewCluster(rc)
	if err != nil {
		return nil, err
	}
	opts := gathererOptions(cfg, log)
	opts.Metrics = cluster
	return k8s.NewGatherer(cluster, opts), nil
}

// errNoCluster is returned when no cluster is configured at all; it names
// K8flex's own settings (client-go's message names KUBERNETES_MASTER).
var errNoCluster = errors.New("no Kubernetes cluster configured: set kube.kubeconfig (K8FLEX_KUBE_KUBECONFIG) " +
	"to a kubeconfig file (or provide $KUBECONFIG or ~/.kube/config), or run k8flex in a pod with its ServiceAccount")

// restConfig returns the client configuration for c: in a pod (and
// kube.kubeconfig empty) the in-cluster one, else the kubeconfig file's.
// Every error names the K8flex setting to change.
func restConfig(c KubeConfig) (*rest.Config, error) {
	var rc *rest.Config
	var err error
	if c.Kubeconfig == "" && os.Getenv("KUBERNETES_SERVICE_HOST") != "" {
		if rc, err = rest.InClusterConfig(); err != nil {
			return nil, fmt.Errorf("in-cluster kubernetes config (KUBERNETES_SERVICE_HOST is set; set kube.kubeconfig to use a file instead): %w", err)
		}
	} else {
		rules := clientcmd.NewDefaultClientConfigLoadingRules()
		if c.Kubeconfig != "" {
			rules.ExplicitPath = c.Kubeconfig
		}
		rc, err = clientcmd.NewNonInteractiveDeferredLoadingClientConfig(rules,
			&clientcmd.ConfigOverrides{CurrentContext: c.Context}).ClientConfig()
		switch {
		case err == nil:
		case clientcmd.IsEmptyConfig(err) && c.Kubeconfig == "" && c.Context == "":
			return nil, errNoCluster
		case c.Context != "" && strings.Contains(err.Error(), "context"):
			return nil, fmt.Errorf("kube.context %q: %w", c.Context, err)
		case clientcmd.IsEmptyConfig(err):
			return nil, fmt.Errorf("kube.kubeconfig %q defines no cluster to use (kube.context %q)", c.Kubeconfig, c.Context)
		case c.Kubeconfig != "":
			return nil, fmt.Errorf("kube.kubeconfig %q: %w", c.Kubeconfig, err)
		default:
			return nil, fmt.Errorf("kubernetes config ($KUBECONFIG or ~/.kube/config; set kube.kubeconfig to choose a file): %w", err)
		}
	}
	rc.QPS, rc.Burst = float32(c.QPS), c.Burst
	rc.UserAgent = "k8flex"
	return rc, nil
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
