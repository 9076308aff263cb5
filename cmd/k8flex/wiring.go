package main

import (
	"flag"
	"io"
	"os"

	"github.com/rs/zerolog"

	"github.com/k8flex/k8flex/config"
)

// commonFlags are the flags every engine-running command accepts.
type commonFlags struct {
	configPath *string
	llm        *string
	model      *string
	baseURL    *string
	logLevel   *string
	// extra are overrides set by a command's own flags, by config key.
	extra map[string]any
}

func addCommonFlags(fs *flag.FlagSet) *commonFlags {
	return &commonFlags{
		configPath: fs.String("config", "", "YAML configuration file (keys as in the README; K8FLEX_* env vars override it)"),
		llm:        fs.String("llm", "", "analysis provider: builtin, ollama, openai, anthropic, gemini, bedrock (llm.provider)"),
		model:      fs.String("model", "", "model name (llm.model)"),
		baseURL:    fs.String("llm-base-url", "", "provider endpoint, e.g. an OpenAI-compatible server (llm.base_url)"),
		logLevel:   fs.String("log-level", "", "trace, debug, info, warn, error (log.level)"),
		extra:      map[string]any{},
	}
}

// config loads the configuration with the flags' overrides applied.
func (c *commonFlags) config() (config.Config, error) {
	o := map[string]any{}
	for k, v := range c.extra {
		o[k] = v
	}
	set := func(key string, v *string) {
		if v != nil && *v != "" {
			o[key] = *v
		}
	}
	set("llm.provider", c.llm)
	set("llm.model", c.model)
	set("llm.base_url", c.baseURL)
	set("log.level", c.logLevel)
	return config.Load(*c.configPath, o)
}

// newLogger builds the process logger. quiet commands (demo, eval) log
// warnings and above only unless log.level asks for more.
func newLogger(c config.LogConfig, w io.Writer, quiet bool) zerolog.Logger {
	lvl, err := zerolog.ParseLevel(c.Level)
	if err != nil || c.Level == "" {
		lvl = zerolog.InfoLevel
	}
	if quiet && lvl == zerolog.InfoLevel {
		lvl = zerolog.WarnLevel
	}
	if c.Format == "console" {
		w = zerolog.ConsoleWriter{Out: w, TimeFormat: "15:04:05", NoColor: !isTerminal(w)}
	}
	return zerolog.New(w).Level(lvl).With().Timestamp().Logger()
}

func isTerminal(w io.Writer) bool {
	f, ok := w.(*os.File)
	if !ok {
		return false
	}
	st, err := f.Stat()
	return err == nil && st.Mode()&os.ModeCharDevice != 0
}
