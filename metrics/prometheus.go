package metrics

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"fmt"
	"net/http"
	"os"
	"strings"
	"time"

	"github.com/prometheus/client_golang/api"
	v1 "github.com/prometheus/client_golang/api/prometheus/v1"
	"github.com/prometheus/common/model"
)

// Querier runs one PromQL range query and returns its matrix.
type Querier interface {
	QueryRange(ctx context.Context, query string, r v1.Range) (model.Value, error)
}

// Prometheus queries a server speaking the Prometheus HTTP API through
// the official client (github.com/prometheus/client_golang/api).
type Prometheus struct {
	api v1.API
}

var _ Querier = (*Prometheus)(nil)

// NewPrometheus returns a client of cfg.URL with its authentication and CA.
// Secret files are read once, here.
func NewPrometheus(cfg Config) (*Prometheus, error) {
	if cfg.URL == "" {
		return nil, fmt.Errorf("prometheus.url is not set")
	}
	tr := http.DefaultTransport.(*http.Transport).Clone()
	tr.MaxIdleConnsPerHost = 8
	if cfg.CAFile != "" {
		pem, err := os.ReadFile(cfg.CAFile)
		if err != nil {
			return nil, fmt.Errorf("prometheus.ca_file: %w", err)
		}
		pool, err := x509.SystemCertPool()
		if err != nil || pool == nil {
			pool = x509.NewCertPool()
		}
		if !pool.AppendCertsFromPEM(pem) {
			return nil, fmt.Errorf("prometheus.ca_file %s holds no PEM certificate", cfg.CAFile)
		}
		tr.TLSClientConfig = &tls.Config{RootCAs: pool, MinVersion: tls.VersionTLS12}
	}
	var rt http.RoundTripper = tr
	token, err := secret(cfg.BearerToken, cfg.BearerTokenFile, "prometheus.bearer_token_file")
	if err != nil {
		return nil, err
	}
	password, err := secret(cfg.Password, cfg.PasswordFile, "prometheus.password_file")
	if err != nil {
		return nil, err
	}
	if token != "" || cfg.Username != "" {
		rt = &authRoundTripper{next: tr, token: token, user: cfg.Username, password: password}
	}
	c, err := api.NewClient(api.Config{Address: cfg.URL, RoundTripper: rt})
	if err != nil {
		return nil, fmt.Errorf("prometheus client: %w", err)
	}
	return &Prometheus{api: v1.NewAPI(c)}, nil
}

// QueryRange runs query over r. Warnings are dropped.
func (p *Prometheus) QueryRange(ctx context.Context, query string, r v1.Range) (model.Value, error) {
	v, _, _, err := p.api.QueryRange(ctx, query, r)
	return v, err
}

func secret(value, file, key string) (string, error) {
	if file == "" {
		return value, nil
	}
	b, err := os.ReadFile(file)
	if err != nil {
		return "", fmt.Errorf("%s: %w", key, err)
	}
	return strings.TrimSpace(string(b)), nil
}

// authRoundTripper adds bearer or basic authentication to every request.
type authRoundTripper struct {
	next           http.RoundTripper
	token          string
	user, password string
}

func (a *authRoundTripper) RoundTrip(r *http.Request) (*http.Response, error) {
	r = r.Clone(r.Context())
	if a.token != "" {
		r.Header.Set("Authorization", "Bearer "+a.token)
	} else {
		r.SetBasicAuth(a.user, a.password)
	}
	return a.next.RoundTrip(r)
}

// step is the resolution of a window: about 60 points, at least 15 s.
func step(span time.Duration) time.Duration {
	return max((span / 60).Truncate(time.Second), 15*time.Second)
}
