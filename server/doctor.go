package server

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"time"

	"github.com/rs/zerolog"
	bolt "go.etcd.io/bbolt"

	"github.com/k8flex/k8flex/config"
	"github.com/k8flex/k8flex/doctor"
	"github.com/k8flex/k8flex/k8s"
	"github.com/k8flex/k8flex/kb"
	"github.com/k8flex/k8flex/llm"
)

// ErrChecksFailed is returned by Doctor when a check failed.
var ErrChecksFailed = errors.New("checks failed")

// Doctor prints the checklist of the configuration load returns and of
// what it points at (the cluster and the identity's permissions, Slack,
// the model and embedder, the store, the webhook token), each check
// bounded by timeout. An invalid configuration is the one failed check.
// It returns ErrChecksFailed (wrapped) when a check failed.
func Doctor(ctx context.Context, load func() (config.Config, error), timeout time.Duration, stdout io.Writer) error {
	fmt.Fprintln(stdout, "k8flex doctor")
	cfg, err := load()
	if err != nil {
		doctor.Run(ctx, stdout, timeout, []doctor.Check{{Name: "config: keys valid", Run: func(context.Context) doctor.Result {
			return doctor.Failed("correct the key it names (README, Configuration reference); the other checks need a valid configuration", "%v", err)
		}}})
		return ErrChecksFailed
	}
	s := doctor.Run(ctx, stdout, timeout, doctorChecks(cfg))
	if s.Failed > 0 {
		return fmt.Errorf("%w: %d of %d", ErrChecksFailed, s.Failed, len(s.Checks))
	}
	return nil
}

// doctorChecks builds the checklist of a valid configuration.
func doctorChecks(cfg config.Config) []doctor.Check {
	checks := []doctor.Check{
		{Name: "config: keys valid", Run: func(context.Context) doctor.Result {
			return doctor.OK("every key known and valid (llm %s, embedder %s, store %s)", cfg.LLM.Provider, cfg.Embedder.Provider, storeKind(cfg))
		}},
		{Name: "server: webhook token", Run: func(context.Context) doctor.Result { return checkWebhookToken(cfg.Server) }},
	}

	var cluster doctor.Cluster
	rc, err := RestConfig(cfg.Kube)
	if err == nil {
		cluster, err = doctor.NewKubeClient(rc)
	}
	checks = append(checks, doctor.Kube(cluster, err, collectorReads())...)

	checks = append(checks, doctor.Slack(doctor.SlackConfig{APIURL: cfg.Slack.APIURL, BotToken: cfg.Slack.BotToken,
		AppToken: cfg.Slack.AppToken, Channel: cfg.Slack.Channel})...)

	checks = append(checks, modelCheck(cfg.LLM), embedderCheck(cfg.Embedder), StoreCheck(cfg))
	return checks
}

func storeKind(cfg config.Config) string {
	if cfg.KB.DatabaseURL != "" {
		return "postgres"
	}
	return "embedded"
}

// collectorReads is what the collectors read: k8s.ReadResources and the
// pods/log subresource.
func collectorReads() []doctor.Read {
	reads := []doctor.Read{{Resource: "pods", Subresource: "log"}}
	for _, r := range k8s.ReadResources() {
		reads = append(reads, doctor.Read{Group: r.Group, Resource: r.Resource})
	}
	return reads
}

func checkWebhookToken(c config.ServerConfig) doctor.Result {
	if err := c.Validate(); err != nil {
		return doctor.Failed("correct the server.* key it names", "%v", err)
	}
	tok, err := c.Token()
	if err != nil {
		return doctor.Failed("set server.webhook_token (K8FLEX_SERVER_WEBHOOK_TOKEN) or server.webhook_token_file to a long random token, "+
			"and the same bearer credentials in Alertmanager's webhook_config and Grafana's contact point; or listen on 127.0.0.1", "%v", err)
	}
	switch {
	case tok != "":
		return doctor.OK("set; %s requires it", c.Listen)
	case c.Insecure && !config.Loopback(c.Listen):
		return doctor.Warning("set server.webhook_token and drop server.insecure",
			"%s is reachable beyond this machine without a token (server.insecure)", c.Listen)
	default:
		return doctor.OK("not needed: %s is loopback only", c.Listen)
	}
}

func modelCheck(c llm.Config) doctor.Check {
	if !c.UsesModel() {
		return doctor.Model("", nil)
	}
	describe := c.Provider + "/" + c.Model
	if c.BaseURL != "" {
		describe += " at " + c.BaseURL
	}
	// One attempt: a doctor reports, it does not wait out retries.
	c.MaxRetries = 0
	a, err := llm.NewAnalyzer(c, zerolog.Nop())
	if err != nil {
		return doctor.Model(describe, func(context.Context) error { return err })
	}
	return doctor.Model(describe, a.Ping)
}

func embedderCheck(c llm.EmbedderConfig) doctor.Check {
	describe := c.Provider
	if c.Model != "" {
		describe += "/" + c.Model
	}
	if c.BaseURL != "" {
		describe += " at " + c.BaseURL
	}
	emb, err := llm.NewEmbedder(c)
	if err != nil {
		return doctor.Embeddings(describe, c.Dimensions, func(context.Context) (int, error) { return 0, err })
	}
	if r, ok := emb.(*llm.RemoteEmbedder); ok {
		return doctor.Embeddings(describe, emb.Dimensions(), r.ProbeDimensions)
	}
	return doctor.Embeddings(describe, emb.Dimensions(), func(ctx context.Context) (int, error) {
		vs, err := emb.Embed(ctx, []string{"k8flex doctor"})
		if err != nil || len(vs) != 1 {
			return 0, fmt.Errorf("embed: %v (%d vectors)", err, len(vs))
		}
		return len(vs[0]), nil
	})
}

// StoreCheck is doctor's store check. It opens the store read-only in
// spirit: PostgreSQL's migrations are inspected first and the store is not
// opened while some are pending (opening applies them); the embedded store
// is not created when absent.
func StoreCheck(cfg config.Config) doctor.Check {
	return doctor.Check{Name: "store: opens, migrations current", Run: func(ctx context.Context) doctor.Result {
		dims := cfg.Embedder.Dimensions
		if emb, err := llm.NewEmbedder(cfg.Embedder); err == nil {
			dims = emb.Dimensions()
		}
		reembed := "run 'k8flex kb reembed' with the new embedder configured, or restore the embedder settings the store was built with"
		if cfg.KB.DatabaseURL != "" {
			st, err := kb.PostgresMigrations(ctx, cfg.KB.DatabaseURL)
			if err != nil {
				return doctor.Failed("check kb.database_url (K8FLEX_KB_DATABASE_URL): host, port, user, password, database, sslmode", "%v", err)
			}
			if p := st.Pending(); len(p) > 0 {
				return doctor.Failed("start 'k8flex serve' (or 'k8flex kb stats') once with this build: it applies them under an advisory lock",
					"%d of %d migrations pending (%v)", len(p), len(st.Known), p)
			}
			s, err := OpenStore(ctx, cfg.KB, dims, false, zerolog.Nop())
			if err != nil {
				if errors.Is(err, kb.ErrDimensionMismatch) {
					return doctor.Failed(reembed, "%v", err)
				}
				return doctor.Failed("check the database's pgvector extension and permissions", "%v", err)
			}
			_ = s.Close()
			return doctor.OK("PostgreSQL opens; all %d migrations applied; embeddings of %d dimensions", len(st.Known), dims)
		}
		path := filepath.Join(cfg.KB.DataDir, EmbeddedFile)
		if _, err := os.Stat(path); errors.Is(err, os.ErrNotExist) {
			return doctor.OK("no store yet: serve creates %s", path)
		}
		s, err := OpenStore(ctx, cfg.KB, dims, false, zerolog.Nop())
		switch {
		case errors.Is(err, bolt.ErrTimeout):
			return doctor.OK("%s is open in a running k8flex serve (the file is locked; not checked further)", path)
		case errors.Is(err, kb.ErrDimensionMismatch):
			return doctor.Failed(reembed, "%v", err)
		case err != nil:
			return doctor.Failed("check kb.data_dir (K8FLEX_KB_DATA_DIR): it must be a writable directory of one process", "%v", err)
		}
		_ = s.Close()
		return doctor.OK("embedded store %s opens; embeddings of %d dimensions (no migrations: buckets are created on open)", path, dims)
	}}
}
