package server

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"sync"
	"time"

	"github.com/rs/zerolog"

	"github.com/k8flex/k8flex/bot"
	"github.com/k8flex/k8flex/config"
	"github.com/k8flex/k8flex/dispatch"
	"github.com/k8flex/k8flex/fold"
	"github.com/k8flex/k8flex/handlers"
	"github.com/k8flex/k8flex/investigate"
	"github.com/k8flex/k8flex/kb"
	"github.com/k8flex/k8flex/learn"
	"github.com/k8flex/k8flex/scenario"
)

// Options are what a Server takes beside its configuration.
type Options struct {
	// ScenarioDir, when set, is a recorded scenario folder investigated
	// instead of a live cluster (demos, tests).
	ScenarioDir string
	// Stdout receives the analyses when Slack is not configured.
	Stdout io.Writer
	// Log is the process logger.
	Log zerolog.Logger
}

// Server is the whole `k8flex serve` process: the knowledge base, the
// engine, the worker pool over the durable queue, the HTTP edge (webhook,
// health, metrics), and, when Slack is configured, the bot with its outbox
// and the notes on case threads. New builds it and opens its listener, Run
// serves until its context ends, Close releases what New opened.
type Server struct {
	cfg    config.Config
	log    zerolog.Logger
	stdout io.Writer

	st       Store
	an       Analyzers
	metrics  *handlers.Metrics
	slackBot *bot.Bot // nil without Slack: analyses go to stdout
	notes    []*threadNotes
	folded   *threadNotes // nil without Slack
	folder   *fold.Queue  // nil when folding is off
	pool     *dispatch.Pool
	health   *handlers.Health
	http     *http.Server
	ln       net.Listener

	closeOnce sync.Once
	closeErr  error
}

// New builds the process that cfg describes and listens on
// cfg.Server.Listen. Nothing runs until Run; Close releases the store and
// the listener. A Slack token Slack refuses is an error; Slack not
// answering is not (the bot keeps trying in Run).
func New(ctx context.Context, cfg config.Config, opts Options) (*Server, error) {
	if err := cfg.Server.Validate(); err != nil {
		return nil, fmt.Errorf("config: %w", err)
	}
	token, err := cfg.Server.Token()
	if err != nil {
		return nil, fmt.Errorf("config: %w", err)
	}
	s := &Server{cfg: cfg, log: opts.Log, stdout: opts.Stdout}
	if s.stdout == nil {
		s.stdout = io.Discard
	}
	if err := s.build(ctx, token, opts.ScenarioDir); err != nil {
		_ = s.Close()
		return nil, err
	}
	return s, nil
}

// build opens the store and constructs every part, in the order each
// needs the others.
func (s *Server) build(ctx context.Context, token, scenarioDir string) error {
	emb, st, err := OpenKnowledge(ctx, s.cfg, s.log)
	if err != nil {
		return err
	}
	s.st = st
	eng, err := s.newEngine(emb, scenarioDir)
	if err != nil {
		return err
	}
	s.metrics = handlers.NewMetrics(s.queueDepth)
	// The pool comes first: the bot enqueues /k8flex investigations into
	// it, and it reports to the bot once there is one.
	if err := s.newPool(eng); err != nil {
		return err
	}
	var known func(investigate.Enqueued, *investigate.Alert)
	if s.cfg.Slack.Enabled() {
		if err := s.newBot(ctx, emb); err != nil {
			return err
		}
		known = s.newThreadNotes()
	}
	return s.listen(token, known)
}

// newEngine builds the engine over the recorded scenario in scenarioDir,
// or over the configured cluster and Prometheus.
func (s *Server) newEngine(emb investigate.Embedder, scenarioDir string) (*investigate.Engine, error) {
	cfg, log := s.cfg, s.log
	var gatherer investigate.Gatherer
	var ms investigate.MetricsSource
	if scenarioDir != "" {
		sc, err := scenario.Load(scenarioDir)
		if err != nil {
			return nil, fmt.Errorf("--scenario %s: %w", scenarioDir, err)
		}
		gatherer = sc.Gatherer(GathererOptions(cfg, log))
		if ms, err = ScenarioMetrics(cfg, sc); err != nil {
			return nil, err
		}
	} else {
		g, err := ClusterGatherer(cfg, log)
		if err != nil {
			return nil, err
		}
		gatherer = g
		if ms, err = LiveMetrics(cfg); err != nil {
			return nil, err
		}
	}
	an, err := NewAnalyzers(cfg, log)
	if err != nil {
		return nil, err
	}
	s.an = an
	return NewEngine(cfg, gatherer, ms, an, emb, s.st, log)
}

// queueDepth is the queue-depth gauge's reading (-1 when the store does
// not answer within a second).
func (s *Server) queueDepth() float64 {
	dctx, cancel := context.WithTimeout(context.Background(), time.Second)
	defer cancel()
	n, err := s.st.QueueDepth(dctx)
	if err != nil {
		return -1
	}
	return float64(n)
}

// newBot builds the Slack bot and checks its token once.
func (s *Server) newBot(ctx context.Context, emb investigate.Embedder) error {
	cfg, st, metrics, log := s.cfg, s.st, s.metrics, s.log
	// Reactions find their case through the links the reporters record:
	// both ports are the store, so they work after a restart.
	loop, err := learn.New(learn.Config{Store: st, Embedder: emb, SimilarThreshold: cfg.Engine.SimilarThreshold,
		OnVote: func(correct bool, source kb.VoteSource) { metrics.Feedback(correct, string(source)) }, Log: log})
	if err != nil {
		return err
	}
	links := threadPort{loop}
	slackBot, err := bot.New(cfg.Slack, bot.Deps{
		Queue:      s.pool,
		Feedback:   feedbackPort{loop},
		Cases:      links,
		Links:      links,
		Knowledge:  knowledgePort{loop},
		Outbox:     newSlackOutbox(st),
		Budget:     newSlackBudget(st),
		Digests:    slackDigests{st: st},
		Backlog:    st.QueueDepth,
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
	s.slackBot = slackBot
	return nil
}

// newPool wires the durable queue: the store, wrapped by storm folding at
// claim time (one investigation, one model call per incident; every alert
// stays its own case), and the worker pool that works it and is the
// intake of alerts and /k8flex investigations alike. Its reports go to
// the bot (s.slackBot, set after it), else to stdout.
func (s *Server) newPool(eng *investigate.Engine) error {
	cfg, st, metrics, log := s.cfg, s.st, s.metrics, s.log
	var queue investigate.Queue = st
	if cfg.Fold.Window > 0 {
		folder, err := fold.NewQueue(st, fold.Config{Window: cfg.Fold.Window}, func(ctx context.Context, incident string, c investigate.Claimed) {
			log.Info().Str("case", c.ID).Str("incident", incident).Msg("alert folded into its incident's investigation")
			if s.folded != nil {
				s.folded.add(incident)
			}
		}, log)
		if err != nil {
			return fmt.Errorf("config: %w", err)
		}
		s.folder, queue = folder, folder
	}
	s.pool = dispatch.New(dispatch.Config{Workers: cfg.Server.Workers, Grace: cfg.Server.ShutdownGrace,
		Lease: cfg.Server.Lease}, queue, eng, s.reporter, metrics.ObserveInvestigation, log)
	return nil
}

// reporter is where a claimed case is reported: the asker's channel for
// a /k8flex investigation; for an alert, its incident's thread (or, in a
// storm, its digest: bot/digest.go); stdout without Slack.
func (s *Server) reporter(_ context.Context, c investigate.Claimed) investigate.Reporter {
	switch {
	case s.slackBot == nil:
		return bot.ConsoleReporter(s.stdout)
	case c.Request.ReplyTo.Channel == "" && c.Request.Alert != nil:
		// A case claimed again after a kill reports into the thread its
		// earlier run opened (c.ThreadTS), not a second one.
		return s.slackBot.IncidentReporter("", bot.Incident{AlertName: c.Request.AlertName(),
			Namespace: c.Request.EffectiveTarget().Namespace, Workload: fold.Workload(&c.Request)}).InThread(c.Channel, c.ThreadTS)
	default:
		rep := s.slackBot.ReporterFor(&c.Request)
		if r, ok := rep.(*bot.Reporter); ok {
			return r.InThread(c.Channel, c.ThreadTS)
		}
		return rep
	}
}

// newThreadNotes builds the notes that folded, repeated and resolved
// alerts leave on their case's thread, coalesced per thread, and returns
// the webhook's hook for alerts it already knows.
func (s *Server) newThreadNotes() func(investigate.Enqueued, *investigate.Alert) {
	st, slackBot, log := s.st, s.slackBot, s.log
	caseThread := func(ctx context.Context, id string) (string, string, error) {
		c, err := st.Case(ctx, id)
		if err != nil {
			return "", "", err
		}
		return c.Channel, c.ThreadTS, nil
	}
	s.folded = newThreadNotes(5*time.Second, log, caseThread, func(ctx context.Context, channel, ts string, n int, _ time.Time) error {
		return slackBot.NoteFolded(ctx, channel, ts, n)
	})
	repeated := newThreadNotes(5*time.Second, log, caseThread, func(ctx context.Context, channel, ts string, n int, at time.Time) error {
		return slackBot.NoteDuplicate(ctx, channel, ts, nil, n, at)
	})
	resolved := newThreadNotes(time.Second, log, caseThread, func(ctx context.Context, channel, ts string, _ int, at time.Time) error {
		return slackBot.MarkResolved(ctx, channel, ts, nil, at)
	})
	s.notes = []*threadNotes{s.folded, repeated, resolved}
	return func(e investigate.Enqueued, _ *investigate.Alert) {
		if e.Resolved {
			resolved.addAt(e.ID, e.ResolvedAt)
		} else {
			repeated.add(e.ID)
		}
	}
}

// listen builds the HTTP edge (webhook, /health, /ready, /metrics) and
// opens its listener.
func (s *Server) listen(token string, known func(investigate.Enqueued, *investigate.Alert)) error {
	cfg, st, slackBot := s.cfg, s.st, s.slackBot
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
	s.health = health
	s.http = &http.Server{
		Addr:              cfg.Server.Listen,
		Handler:           handlers.Mux(handlers.NewWebhook(handlers.WebhookConfig{Token: token, MaxBodyBytes: cfg.Server.MaxBodyBytes, Known: known}, s.pool, s.metrics, s.log), health, s.metrics),
		ReadHeaderTimeout: 10 * time.Second,
		ReadTimeout:       30 * time.Second,
		WriteTimeout:      30 * time.Second,
	}
	ln, err := net.Listen("tcp", cfg.Server.Listen)
	if err != nil {
		return fmt.Errorf("server.listen: %w", err)
	}
	s.ln = ln
	return nil
}

// Addr is the address the webhook listens on (with the port chosen when
// server.listen asked for port 0).
func (s *Server) Addr() string { return s.ln.Addr().String() }

// Run serves until ctx is done or a part fails (the webhook server, or the
// bot with a token Slack refuses), then shuts down in order: intake stops
// first, running investigations get server.shutdown_grace to finish or
// are released to the queue, and the bot delivers what it can. It returns
// the failure, or nil after ctx ended. Run is called once.
func (s *Server) Run(ctx context.Context) error {
	s.log.Info().Str("listen", s.Addr()).Str("analyzer", s.an.Name()).Bool("slack", s.slackBot != nil).
		Bool("postgres", s.cfg.KB.DatabaseURL != "").Int("workers", s.cfg.Server.Workers).Msg("k8flex serving")

	var wg sync.WaitGroup
	workCtx, stopWork := context.WithCancel(context.WithoutCancel(ctx))
	defer stopWork()
	botErr := s.startWork(workCtx, &wg)
	srvErr := make(chan error, 1)
	go func() { srvErr <- s.http.Serve(s.ln) }()

	var runErr error
	select {
	case <-ctx.Done():
		s.log.Info().Msg("shutting down: intake stops, running investigations get server.shutdown_grace")
	case err := <-srvErr:
		runErr = fmt.Errorf("webhook server: %w", err)
	case err := <-botErr:
		if err != nil && ctx.Err() == nil {
			runErr = fmt.Errorf("slack: %w", err)
		}
	}
	s.shutdown(stopWork, &wg)
	return runErr
}

// startWork starts the worker pool, the thread notes and the bot under
// ctx; the bot's result arrives on the channel returned.
func (s *Server) startWork(ctx context.Context, wg *sync.WaitGroup) <-chan error {
	wg.Go(func() { s.pool.Run(ctx) })
	for _, n := range s.notes {
		wg.Go(func() { n.run(ctx) })
	}
	botErr := make(chan error, 1)
	if s.slackBot != nil {
		wg.Go(func() { botErr <- s.slackBot.Run(ctx) })
	}
	return botErr
}

// shutdown stops intake, then the work (stopWork), and waits for it.
func (s *Server) shutdown(stopWork context.CancelFunc, wg *sync.WaitGroup) {
	s.health.ShuttingDown()
	sctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	_ = s.http.Shutdown(sctx) // stop intake first: nothing new is accepted
	stopWork()                // workers finish or release their cases
	wg.Wait()
	if s.folder != nil {
		rctx, rcancel := context.WithTimeout(context.Background(), 5*time.Second)
		if err := s.folder.ReleaseKept(rctx); err != nil {
			s.log.Warn().Str("error", err.Error()).Msg("release claimed cases; their leases will expire instead")
		}
		rcancel()
	}
	if s.slackBot != nil {
		cctx, ccancel := context.WithTimeout(context.Background(), s.cfg.Server.ShutdownGrace)
		defer ccancel()
		_ = s.slackBot.Close(cctx)
	}
}

// Close releases what New opened: the listener (when Run did not serve
// on it) and the store. Call it after Run returned; it is safe to call
// more than once.
func (s *Server) Close() error {
	s.closeOnce.Do(func() {
		if s.ln != nil {
			_ = s.ln.Close() // already closed when Run shut the server down
		}
		if s.st != nil {
			s.closeErr = s.st.Close()
		}
	})
	return s.closeErr
}
