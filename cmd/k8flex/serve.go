package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"strings"
	"sync"
	"time"

	"github.com/k8flex/k8flex/bot"
	"github.com/k8flex/k8flex/dispatch"
	"github.com/k8flex/k8flex/fold"
	"github.com/k8flex/k8flex/handlers"
	"github.com/k8flex/k8flex/investigate"
	"github.com/k8flex/k8flex/scenario"
)

// ServerConfig configures `k8flex serve`.
type ServerConfig struct {
	// Listen is the webhook's address (host:port).
	Listen string `mapstructure:"listen"`
	// WebhookToken (or the file WebhookTokenFile) is the bearer token
	// Alertmanager must send.
	WebhookToken     string `mapstructure:"webhook_token"`
	WebhookTokenFile string `mapstructure:"webhook_token_file"`
	// Insecure allows listening beyond loopback without a webhook token.
	Insecure bool `mapstructure:"insecure"`
	// Workers bounds concurrent investigations.
	Workers int `mapstructure:"workers"`
	// MaxBodyBytes bounds a webhook body.
	MaxBodyBytes int64 `mapstructure:"max_body_bytes"`
	// ShutdownGrace is how long running investigations may finish on
	// shutdown before they are requeued.
	ShutdownGrace time.Duration `mapstructure:"shutdown_grace"`
	// Lease is how long a worker's claim on a case lasts without renewal:
	// the cases of a killed process are resumed one lease after its last
	// renewal (running cases renew every lease/3).
	Lease time.Duration `mapstructure:"lease"`
}

func (c ServerConfig) validate() error {
	switch {
	case c.Listen == "":
		return errors.New("server.listen is required")
	case c.Workers <= 0:
		return fmt.Errorf("server.workers must be positive, got %d", c.Workers)
	case c.MaxBodyBytes < 1024:
		return fmt.Errorf("server.max_body_bytes must be at least 1024, got %d", c.MaxBodyBytes)
	case c.Lease < time.Second:
		return fmt.Errorf("server.lease must be at least 1s, got %s", c.Lease)
	case c.ShutdownGrace <= 0:
		return fmt.Errorf("server.shutdown_grace must be positive, got %s", c.ShutdownGrace)
	case c.WebhookToken != "" && c.WebhookTokenFile != "":
		return errors.New("server.webhook_token and server.webhook_token_file are both set; set one")
	}
	if _, _, err := net.SplitHostPort(c.Listen); err != nil {
		return fmt.Errorf("server.listen %q: %w", c.Listen, err)
	}
	return nil
}

// token returns the webhook token and checks that an address beyond
// loopback is not left open without one.
func (c ServerConfig) token() (string, error) {
	tok := c.WebhookToken
	if c.WebhookTokenFile != "" {
		b, err := os.ReadFile(c.WebhookTokenFile)
		if err != nil {
			return "", fmt.Errorf("server.webhook_token_file: %w", err)
		}
		tok = strings.TrimSpace(string(b))
	}
	if tok == "" && !c.Insecure && !loopback(c.Listen) {
		return "", fmt.Errorf("server.listen %s is reachable beyond this machine but server.webhook_token is empty: "+
			"set a token (and the same bearer credentials in Alertmanager's webhook_config), or server.insecure=true", c.Listen)
	}
	return tok, nil
}

func loopback(addr string) bool {
	host, _, err := net.SplitHostPort(addr)
	if err != nil {
		return false
	}
	if host == "localhost" {
		return true
	}
	ip := net.ParseIP(host)
	return ip != nil && ip.IsLoopback()
}

func runServe(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs := flag.NewFlagSet("serve", flag.ContinueOnError)
	fs.SetOutput(stderr)
	listen := fs.String("listen", "", "webhook address (server.listen)")
	scenarioDir := fs.String("scenario", "", "investigate against a recorded scenario folder instead of a live cluster (demos, tests)")
	dataDir := fs.String("data-dir", "", "embedded knowledge base directory (kb.data_dir)")
	common := addCommonFlags(fs)
	if err := fs.Parse(args); err != nil {
		return err
	}
	if *listen != "" {
		common.extra["server.listen"] = *listen
	}
	if *dataDir != "" {
		common.extra["kb.data_dir"] = *dataDir
	}
	cfg, err := common.config()
	if err != nil {
		return err
	}
	if err := cfg.Server.validate(); err != nil {
		return fmt.Errorf("config: %w", err)
	}
	token, err := cfg.Server.token()
	if err != nil {
		return fmt.Errorf("config: %w", err)
	}
	log := newLogger(cfg.Log, stderr, false)

	emb, st, err := openKnowledge(ctx, cfg, log)
	if err != nil {
		return err
	}
	defer st.Close()

	var gatherer investigate.Gatherer
	var ms investigate.MetricsSource
	if *scenarioDir != "" {
		sc, err := scenario.Load(*scenarioDir)
		if err != nil {
			return fmt.Errorf("--scenario %s: %w", *scenarioDir, err)
		}
		gatherer = sc.Gatherer(gathererOptions(cfg, log))
		if ms, err = scenarioMetrics(cfg, sc); err != nil {
			return err
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
	an, err := newAnalyzers(cfg, log)
	if err != nil {
		return err
	}
	eng, err := newEngine(cfg, gatherer, ms, an, emb, st, log)
	if err != nil {
		return err
	}
	metrics := handlers.NewMetrics(func() float64 {
		dctx, cancel := context.WithTimeout(context.Background(), time.Second)
		defer cancel()
		n, err := st.QueueDepth(dctx)
		if err != nil {
			return -1
		}
		return float64(n)
	})

	// The durable queue is the store, wrapped by storm folding at claim
	// time (one investigation, one model call per incident; every alert
	// stays its own case). The pool works it and is the intake of alerts
	// and /k8flex investigations alike.
	var slackBot *bot.Bot
	var folded, repeated, resolved *threadNotes
	var queue investigate.Queue = st
	var folder *fold.Queue
	if cfg.Fold.Window > 0 {
		folder, err = fold.NewQueue(st, fold.Config{Window: cfg.Fold.Window}, func(ctx context.Context, incident string, c investigate.Claimed) {
			log.Info().Str("case", c.ID).Str("incident", incident).Msg("alert folded into its incident's investigation")
			if folded != nil {
				folded.add(incident)
			}
		}, log)
		if err != nil {
			return fmt.Errorf("config: %w", err)
		}
		queue = folder
	}
	reporter := func(_ context.Context, c investigate.Claimed) investigate.Reporter {
		if slackBot != nil {
			return slackBot.ReporterFor(&c.Request)
		}
		return bot.ConsoleReporter(stdout)
	}
	pool := dispatch.New(dispatch.Config{Workers: cfg.Server.Workers, Grace: cfg.Server.ShutdownGrace,
		Lease: cfg.Server.Lease}, queue, eng, reporter,
		metrics.ObserveInvestigation, log)

	// Slack, or the console when no tokens are configured.
	if cfg.Slack.Enabled() {
		// Reactions find their case through the links the reporters record:
		// both ports are the store, so they work after a restart.
		links := &threadLinks{st: st}
		slackBot, err = bot.New(cfg.Slack, bot.Deps{
			Queue:      pool,
			Feedback:   &feedbackAdapter{st: st, emb: emb, metrics: metrics, log: log},
			Cases:      links,
			Links:      links,
			Knowledge:  &knowledge{st: st, emb: emb, threshold: cfg.Engine.SimilarThreshold},
			Outbox:     newSlackOutbox(st),
			OnAPICall:  metrics.SlackCall,
			OnDelivery: metrics.SlackDelivery,
			OnRetry:    metrics.SlackRetry,
		}, log)
		if err != nil {
			return err
		}
		// A token Slack refuses stops start-up; Slack not answering does
		// not: alerts are accepted and recorded meanwhile, and the bot
		// keeps trying to connect (Run).
		if err := slackBot.CheckAuth(ctx); errors.Is(err, bot.ErrRejected) {
			return err
		} else if err != nil {
			log.Warn().Err(err).Msg("Slack unreachable at start-up; serving alerts and connecting in the background")
		}
		metrics.SlackLink(slackBot.Connected)
		metrics.SlackOutbox(func() (int, time.Time, error) {
			octx, cancel := context.WithTimeout(context.Background(), time.Second)
			defer cancel()
			return st.SlackOutbox(octx)
		})
	}
	// Folded alerts, repeated notifications and resolved alerts are shown
	// on their case's thread, coalesced per thread.
	var known func(e investigate.Enqueued, a *investigate.Alert)
	if slackBot != nil {
		caseThread := func(ctx context.Context, id string) (string, string, error) {
			c, err := st.Case(ctx, id)
			if err != nil {
				return "", "", err
			}
			return c.Channel, c.ThreadTS, nil
		}
		folded = newThreadNotes(5*time.Second, log, caseThread, func(ctx context.Context, channel, ts string, n int, _ time.Time) error {
			return slackBot.NoteFolded(ctx, channel, ts, n)
		})
		repeated = newThreadNotes(5*time.Second, log, caseThread, func(ctx context.Context, channel, ts string, n int, at time.Time) error {
			return slackBot.NoteDuplicate(ctx, channel, ts, nil, n, at)
		})
		resolved = newThreadNotes(time.Second, log, caseThread, func(ctx context.Context, channel, ts string, _ int, at time.Time) error {
			return slackBot.MarkResolved(ctx, channel, ts, nil, at)
		})
		known = func(e investigate.Enqueued, _ *investigate.Alert) {
			if e.Resolved {
				resolved.addAt(e.ID, e.ResolvedAt)
			} else {
				repeated.add(e.ID)
			}
		}
	}

	checks := []handlers.ReadyCheck{{Name: "store", Fn: func(ctx context.Context) error {
		_, err := st.QueueDepth(ctx)
		return err
	}}}
	// Readiness is about intake: a Slack outage must not take the webhook
	// out of its Service. Slack's link is a detail of /health (and a
	// metric).
	health := handlers.NewHealth(checks...)
	if slackBot != nil {
		health.WithDetails(handlers.Detail{Name: "slack", Fn: func() string {
			if slackBot.Connected() {
				return "connected"
			}
			return "disconnected"
		}})
	}
	srv := &http.Server{
		Addr:              cfg.Server.Listen,
		Handler:           handlers.Mux(handlers.NewWebhook(handlers.WebhookConfig{Token: token, MaxBodyBytes: cfg.Server.MaxBodyBytes, Known: known}, pool, metrics, log), health, metrics),
		ReadHeaderTimeout: 10 * time.Second,
		ReadTimeout:       30 * time.Second,
		WriteTimeout:      30 * time.Second,
	}
	ln, err := net.Listen("tcp", cfg.Server.Listen)
	if err != nil {
		return fmt.Errorf("server.listen: %w", err)
	}
	log.Info().Str("listen", ln.Addr().String()).Str("analyzer", an.analyzer.Name()).Bool("slack", slackBot != nil).
		Bool("postgres", cfg.KB.DatabaseURL != "").Int("workers", cfg.Server.Workers).Msg("k8flex serving")

	var wg sync.WaitGroup
	workCtx, stopWork := context.WithCancel(context.WithoutCancel(ctx))
	defer stopWork()
	wg.Add(1)
	go func() { defer wg.Done(); pool.Run(workCtx) }()
	for _, n := range []*threadNotes{folded, repeated, resolved} {
		if n != nil {
			wg.Add(1)
			go func() { defer wg.Done(); n.run(workCtx) }()
		}
	}
	botErr := make(chan error, 1)
	if slackBot != nil {
		wg.Add(1)
		go func() { defer wg.Done(); botErr <- slackBot.Run(workCtx) }()
	}
	srvErr := make(chan error, 1)
	go func() { srvErr <- srv.Serve(ln) }()

	var runErr error
	select {
	case <-ctx.Done():
		log.Info().Msg("shutting down: intake stops, running investigations get server.shutdown_grace")
	case err := <-srvErr:
		runErr = fmt.Errorf("webhook server: %w", err)
	case err := <-botErr:
		if err != nil && ctx.Err() == nil {
			runErr = fmt.Errorf("slack: %w", err)
		}
	}
	health.ShuttingDown()
	sctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	_ = srv.Shutdown(sctx) // stop intake first: nothing new is accepted
	stopWork()             // workers finish or release their cases
	wg.Wait()
	if folder != nil {
		rctx, rcancel := context.WithTimeout(context.Background(), 5*time.Second)
		if err := folder.ReleaseKept(rctx); err != nil {
			log.Warn().Str("error", err.Error()).Msg("release claimed cases; their leases will expire instead")
		}
		rcancel()
	}
	if slackBot != nil {
		cctx, ccancel := context.WithTimeout(context.Background(), cfg.Server.ShutdownGrace)
		defer ccancel()
		_ = slackBot.Close(cctx)
	}
	return runErr
}
