package loadtest

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"sort"
	"sync"
	"time"
)

// Config is one load run.
type Config struct {
	// URL is the webhook, on a loopback address (required).
	URL string
	// Token is sent as a bearer token; empty sends none.
	Token string
	// Storm is what to post.
	Storm Storm
	// Concurrency bounds requests in flight (default 8, at most 512).
	Concurrency int
	// Timeout bounds the whole run (default 60s); payloads not answered
	// by then are counted in Report.Unsent.
	Timeout time.Duration
}

// Validate reports what is wrong with the configuration.
func (c Config) Validate() error {
	u, err := url.Parse(c.URL)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		return fmt.Errorf("url %q: want an http(s) URL", c.URL)
	}
	if !isLoopback(u.Hostname()) {
		return fmt.Errorf("url %q: the load driver only targets loopback addresses", c.URL)
	}
	if c.Concurrency < 0 || c.Concurrency > 512 {
		return fmt.Errorf("concurrency = %d, want 1..512", c.Concurrency)
	}
	if c.Storm.Alerts < 1 || c.Storm.Alerts > MaxAlerts {
		return fmt.Errorf("storm.alerts = %d, want 1..%d", c.Storm.Alerts, MaxAlerts)
	}
	return nil
}

func isLoopback(host string) bool {
	if host == "localhost" {
		return true
	}
	ip := net.ParseIP(host)
	return ip != nil && ip.IsLoopback()
}

// Report is what a run measured.
type Report struct {
	// Alerts and Payloads are what the storm holds; Unsent counts the
	// payloads not sent, or sent but not answered, before the timeout or
	// cancellation (the server may still have recorded the latter).
	Alerts, Payloads, Unsent int
	// Accepted counts the alerts of payloads answered 2xx.
	Accepted int
	// ServerAccepted and ServerDuplicates are the sums of the webhook
	// answers' "accepted" and "duplicates" fields.
	ServerAccepted, ServerDuplicates int
	// Elapsed is from the first request to the last answer.
	Elapsed time.Duration
	// AcceptedPerSecond is Accepted / Elapsed.
	AcceptedPerSecond float64
	// Latency percentiles of the requests answered (any status).
	P50, P99, Max time.Duration
	// Status counts requests by HTTP status; 0 counts transport errors.
	Status map[int]int
	// FirstError is the first transport error, if any.
	FirstError string
	// AcceptedKeys are the dedup keys (investigate.Alert.Key) of the
	// alerts of payloads answered 2xx.
	AcceptedKeys []string
}

// String is a one-line summary.
func (r *Report) String() string {
	return fmt.Sprintf("%d/%d alerts accepted in %s (%.0f alerts/s), %d payloads (%d unsent), p50 %s p99 %s max %s, status %v",
		r.Accepted, r.Alerts, r.Elapsed.Round(time.Millisecond), r.AcceptedPerSecond, r.Payloads, r.Unsent,
		r.P50.Round(10*time.Microsecond), r.P99.Round(10*time.Microsecond), r.Max.Round(10*time.Microsecond), r.Status)
}

// reply is the part of K8flex's webhook answer the driver reads.
type reply struct {
	Accepted   int `json:"accepted"`
	Duplicates int `json:"duplicates"`
}

type result struct {
	idx     int
	status  int
	latency time.Duration
	reply   reply
	err     error
}

// Run posts the storm and reports. Non-2xx answers are counted, not
// retried. It returns an error only for an invalid configuration.
func Run(ctx context.Context, cfg Config) (*Report, error) {
	if err := cfg.Validate(); err != nil {
		return nil, fmt.Errorf("loadtest: %w", err)
	}
	payloads, err := cfg.Storm.Payloads()
	if err != nil {
		return nil, fmt.Errorf("loadtest: %w", err)
	}
	conc := cfg.Concurrency
	if conc == 0 {
		conc = 8
	}
	timeout := cfg.Timeout
	if timeout <= 0 {
		timeout = 60 * time.Second
	}
	ctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()

	tr := &http.Transport{MaxIdleConns: conc, MaxIdleConnsPerHost: conc, MaxConnsPerHost: conc,
		IdleConnTimeout: 30 * time.Second, DisableCompression: true}
	defer tr.CloseIdleConnections()
	client := &http.Client{Transport: tr}

	jobs := make(chan int)
	results := make(chan result, conc)
	var wg sync.WaitGroup
	for range conc {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range jobs {
				results <- post(ctx, client, cfg.URL, cfg.Token, i, payloads[i].Body)
			}
		}()
	}
	start := time.Now()
	go func() {
		defer close(jobs)
		for i := range payloads {
			select {
			case jobs <- i:
			case <-ctx.Done():
				return
			}
		}
	}()
	go func() { wg.Wait(); close(results) }()

	rep := &Report{Payloads: len(payloads), Status: map[int]int{}}
	latencies := make([]time.Duration, 0, len(payloads))
	answered := 0
	for r := range results {
		if r.err != nil && ctx.Err() != nil && errors.Is(r.err, ctx.Err()) {
			continue // cut off by the run's deadline: unsent
		}
		answered++
		rep.Status[r.status]++
		if r.err != nil {
			if rep.FirstError == "" {
				rep.FirstError = r.err.Error()
			}
			continue
		}
		latencies = append(latencies, r.latency)
		if r.status >= 200 && r.status < 300 {
			rep.Accepted += len(payloads[r.idx].Keys)
			rep.AcceptedKeys = append(rep.AcceptedKeys, payloads[r.idx].Keys...)
			rep.ServerAccepted += r.reply.Accepted
			rep.ServerDuplicates += r.reply.Duplicates
		}
	}
	rep.Elapsed = time.Since(start)
	for _, p := range payloads {
		rep.Alerts += len(p.Keys)
	}
	rep.Unsent = len(payloads) - answered
	if s := rep.Elapsed.Seconds(); s > 0 {
		rep.AcceptedPerSecond = float64(rep.Accepted) / s
	}
	rep.P50, rep.P99, rep.Max = percentiles(latencies)
	return rep, nil
}

func post(ctx context.Context, client *http.Client, u, token string, idx int, body []byte) result {
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, u, bytes.NewReader(body))
	if err != nil {
		return result{idx: idx, err: err}
	}
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("User-Agent", "k8flex-loadtest")
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	t0 := time.Now()
	resp, err := client.Do(req)
	if err != nil {
		return result{idx: idx, err: err}
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(io.LimitReader(resp.Body, 1<<20))
	lat := time.Since(t0)
	if err != nil {
		return result{idx: idx, err: fmt.Errorf("read answer: %w", err)}
	}
	r := result{idx: idx, status: resp.StatusCode, latency: lat}
	_ = json.Unmarshal(b, &r.reply) // other servers' answers just count as status
	return r
}

// percentiles returns the p50, p99 and max of ds (nearest rank); ds is sorted.
func percentiles(ds []time.Duration) (p50, p99, maxd time.Duration) {
	if len(ds) == 0 {
		return 0, 0, 0
	}
	sort.Slice(ds, func(i, j int) bool { return ds[i] < ds[j] })
	rank := func(p float64) time.Duration {
		i := int(p*float64(len(ds))+0.5) - 1
		return ds[min(max(i, 0), len(ds)-1)]
	}
	return rank(0.50), rank(0.99), ds[len(ds)-1]
}
