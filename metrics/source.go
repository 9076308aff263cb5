package metrics

import (
	"context"
	"errors"
	"fmt"
	"math"
	"net/url"
	"regexp"
	"sort"
	"strings"
	"sync"
	"time"

	v1 "github.com/prometheus/client_golang/api/prometheus/v1"
	"github.com/prometheus/common/model"
	"golang.org/x/sync/errgroup"

	"github.com/k8flex/k8flex/investigate"
)

// Source answers the engine's metrics requests from a Querier: the
// alert's own expression and its category's series, over a window around
// the alert's start, within Config.Timeout. It satisfies
// investigate.MetricsSource.
type Source struct {
	q   Querier
	cfg Config
	// now clamps the window's end; nil for recorded series.
	now func() time.Time
}

var _ investigate.MetricsSource = (*Source)(nil)

// NewSource returns a source over q (a Prometheus, or a File with now
// nil: the window is then never clamped to the present).
func NewSource(q Querier, cfg Config, now func() time.Time) *Source {
	if cfg.Timeout <= 0 {
		cfg.Timeout = DefaultConfig().Timeout
	}
	if cfg.Lookback <= 0 {
		cfg.Lookback = DefaultConfig().Lookback
	}
	if cfg.NodeLabel == "" {
		cfg.NodeLabel = "instance"
	}
	if cfg.Metrics == (MetricNames{}) {
		cfg.Metrics = DefaultMetricNames()
	}
	return &Source{q: q, cfg: cfg, now: now}
}

// Unavailable is the MetricsSource of a process without a Prometheus: it
// always fails with Reason, which the engine reports as a gap.
type Unavailable struct{ Reason string }

// Metrics returns an error stating the reason.
func (u Unavailable) Metrics(context.Context, investigate.MetricsQuery) (investigate.Metrics, error) {
	return investigate.Metrics{}, errors.New(u.Reason)
}

// role says what a query measures, for rendering and the rules.
type role string

const (
	roleAlert       role = "alert"
	roleThrottled   role = "cpu throttled"
	roleCPUUsage    role = "cpu usage"
	roleCPULimit    role = "cpu limit"
	roleMemory      role = "memory working set"
	roleMemoryLimit role = "memory limit"
	roleRestarts    role = "restarts"
	rolePVCRatio    role = "pvc used"
	rolePVCUsed     role = "pvc used bytes"
	roleNodeFSRatio role = "node fs used"
	roleNodeFSAvail role = "node fs available"
	roleDNSRcode    role = "coredns responses"
)

// unit of a role's values.
func (r role) unit() string {
	switch r {
	case roleThrottled, rolePVCRatio, roleNodeFSRatio:
		return "ratio"
	case roleCPUUsage, roleCPULimit:
		return "cores"
	case roleMemory, roleMemoryLimit, rolePVCUsed, roleNodeFSAvail:
		return "bytes"
	case roleDNSRcode:
		return "persec"
	}
	return ""
}

// Query is one query of an investigation.
type Query struct {
	Role role
	Expr string
}

// Window is the time range queried.
type Window struct {
	Start, End, Fired time.Time
	Step              time.Duration
}

// Window returns the range the series of q are read over: Lookback
// before the alert's start to Lookback/4 after it (clamped to now for a
// live server); the Lookback up to now for a manual investigation.
func (s *Source) Window(q investigate.MetricsQuery) Window {
	var w Window
	if q.Alert != nil && !q.Alert.StartsAt.IsZero() {
		w.Fired = q.Alert.StartsAt.UTC()
		w.Start, w.End = w.Fired.Add(-s.cfg.Lookback), w.Fired.Add(s.cfg.Lookback/4)
	} else {
		now := time.Now()
		if s.now != nil {
			now = s.now()
		}
		w.Start, w.End = now.Add(-s.cfg.Lookback), now
	}
	if s.now != nil && w.End.After(s.now()) && s.now().After(w.Start) {
		w.End = s.now()
	}
	w.Step = step(w.End.Sub(w.Start))
	w.Start = w.Start.Truncate(w.Step)
	return w
}

// Queries returns the queries K8flex issues for q: the alert's own
// expression, then the category's series for the target.
func (s *Source) Queries(q investigate.MetricsQuery) []Query {
	var out []Query
	if q.Alert != nil {
		if e := AlertExpr(q.Alert.GeneratorURL); e != "" {
			out = append(out, Query{roleAlert, e})
		}
	}
	m := s.cfg.Metrics
	t := q.Target
	pods := podPattern(t)
	sel := ""
	if pods != "" && t.Namespace != "" {
		sel = fmt.Sprintf(`namespace=%q,pod=~%q`, t.Namespace, pods)
		if t.Container != "" {
			sel += fmt.Sprintf(`,container=%q`, t.Container)
		} else {
			sel += `,container!="",container!="POD"`
		}
	}
	by := "max by (pod, container) "
	throttled := Query{roleThrottled, fmt.Sprintf(`sum by (pod, container) (rate(%s{%s}[5m])) / sum by (pod, container) (rate(%s{%s}[5m]))`, m.CPUThrottledPeriods, sel, m.CPUPeriods, sel)}
	memory := []Query{
		{roleMemory, fmt.Sprintf(`%s(%s{%s})`, by, m.MemoryWorkingSet, sel)},
		{roleMemoryLimit, fmt.Sprintf(`%s(%s{%s,resource="memory"})`, by, m.ResourceLimits, sel)},
		{roleRestarts, fmt.Sprintf(`%s(%s{%s})`, by, m.Restarts, sel)},
	}
	switch q.Category {
	case investigate.CPUThrottling:
		if sel != "" {
			out = append(out, throttled,
				Query{roleCPUUsage, fmt.Sprintf(`sum by (pod, container) (rate(%s{%s}[5m]))`, m.CPUUsage, sel)},
				Query{roleCPULimit, fmt.Sprintf(`%s(%s{%s,resource="cpu"})`, by, m.ResourceLimits, sel)})
		}
	case investigate.OOMKilled:
		if sel != "" {
			out = append(out, memory...)
		}
	case investigate.PodRestart, investigate.PodCrash:
		if sel != "" {
			out = append(out, append(memory, throttled)...)
		}
	case investigate.DiskPressure:
		if pvc := alertLabel(q.Alert, "persistentvolumeclaim"); pvc != "" && t.Namespace != "" {
			psel := fmt.Sprintf(`namespace=%q,persistentvolumeclaim=%q`, t.Namespace, pvc)
			out = append(out,
				Query{rolePVCRatio, fmt.Sprintf(`max by (persistentvolumeclaim) (%s{%s}) / max by (persistentvolumeclaim) (%s{%s})`, m.VolumeUsed, psel, m.VolumeCapacity, psel)},
				Query{rolePVCUsed, fmt.Sprintf(`max by (persistentvolumeclaim) (%s{%s})`, m.VolumeUsed, psel)})
		}
		node := t.Node
		if node == "" && t.Kind == investigate.KindNode {
			node = t.Name
		}
		if node != "" {
			nsel := fmt.Sprintf(`%s=~%q,mountpoint="/"`, s.cfg.NodeLabel, regexp.QuoteMeta(node)+"(:[0-9]+)?")
			out = append(out,
				Query{roleNodeFSRatio, fmt.Sprintf(`1 - max by (%s) (%s{%s}) / max by (%s) (%s{%s})`, s.cfg.NodeLabel, m.NodeFilesystemAvail, nsel, s.cfg.NodeLabel, m.NodeFilesystemSize, nsel)},
				Query{roleNodeFSAvail, fmt.Sprintf(`max by (%s) (%s{%s})`, s.cfg.NodeLabel, m.NodeFilesystemAvail, nsel)})
		}
	case investigate.DNSIssues:
		out = append(out, Query{roleDNSRcode, fmt.Sprintf(`sum by (rcode) (rate(%s[5m]))`, m.CoreDNSResponses)})
	}
	return out
}

// AlertExpr returns the expression of an alert's generatorURL (its g0.expr
// parameter), or "".
func AlertExpr(generatorURL string) string {
	u, err := url.Parse(generatorURL)
	if err != nil {
		return ""
	}
	return strings.TrimSpace(u.Query().Get("g0.expr"))
}

func alertLabel(a *investigate.Alert, k string) string {
	if a == nil {
		return ""
	}
	return a.Labels[k]
}

// podPattern is the regular expression of the target's pod names, or "".
func podPattern(t investigate.Target) string {
	q := regexp.QuoteMeta
	switch {
	case t.Pod != "":
		return q(t.Pod)
	case t.Kind == investigate.KindPod:
		return q(t.Name)
	}
	kind, name := t.Kind, t.Name
	if !t.Workload.IsZero() {
		kind, name = t.Workload.Kind, t.Workload.Name
	}
	switch kind {
	case investigate.KindDeployment:
		return q(name) + "-[a-z0-9]+-[a-z0-9]+"
	case investigate.KindStatefulSet:
		return q(name) + "-[0-9]+"
	case investigate.KindDaemonSet, investigate.KindJob:
		return q(name) + "-[a-z0-9]+"
	}
	return ""
}

// result is the answer to one query.
type result struct {
	Query
	series []summary
	err    error
}

// Metrics runs the queries of q in parallel within the time budget and
// returns the evidence section and the findings. It fails only when every
// query failed (the server is down, refuses the credentials, or the budget
// ran out); a single failed query is a gap.
func (s *Source) Metrics(ctx context.Context, q investigate.MetricsQuery) (investigate.Metrics, error) {
	queries := s.Queries(q)
	if len(queries) == 0 {
		return investigate.Metrics{}, nil
	}
	w := s.Window(q)
	ctx, cancel := context.WithTimeoutCause(ctx, s.cfg.Timeout, fmt.Errorf("prometheus.timeout %s exceeded", s.cfg.Timeout))
	defer cancel()
	results := make([]result, len(queries))
	var eg errgroup.Group
	eg.SetLimit(4)
	var mu sync.Mutex
	for i, qu := range queries {
		eg.Go(func() error {
			v, err := s.q.QueryRange(ctx, qu.Expr, v1.Range{Start: w.Start, End: w.End, Step: w.Step})
			if err != nil {
				if c := context.Cause(ctx); c != nil && !errors.Is(err, c) {
					err = fmt.Errorf("%w: %w", err, c)
				}
			}
			r := result{Query: qu, err: err}
			if err == nil {
				r.series = summarize(v, w)
			}
			mu.Lock()
			results[i] = r
			mu.Unlock()
			return nil
		})
	}
	_ = eg.Wait()
	var out investigate.Metrics
	var errs []error
	for _, r := range results {
		if r.err != nil {
			errs = append(errs, fmt.Errorf("%s: %w", r.Role, r.err))
			out.Gaps = append(out.Gaps, investigate.Gap{Collector: "prometheus", Reason: fmt.Sprintf("query %s failed: %v", r.Role, r.err)})
		}
	}
	if len(errs) == len(results) {
		return investigate.Metrics{}, errs[0]
	}
	out.Sections = []investigate.Section{render(results, w)}
	out.Findings, out.Plots = diagnose(results, q, w)
	return out, nil
}

// summary is one series condensed.
type summary struct {
	labels                       model.Metric
	min, max, first, last, fired float64
	hasFired                     bool
	maxAt                        time.Time
	firstAt, lastAt              time.Time
	points                       []model.SamplePair
}

// summarize condenses a matrix, series with the highest peak first.
func summarize(v model.Value, w Window) []summary {
	m, ok := v.(model.Matrix)
	if !ok {
		return nil
	}
	var out []summary
	for _, ss := range m {
		if len(ss.Values) == 0 {
			continue
		}
		s := summary{labels: ss.Metric, points: ss.Values}
		for i, p := range ss.Values {
			x := float64(p.Value)
			if i == 0 || x < s.min {
				s.min = x
			}
			if i == 0 || x > s.max {
				s.max, s.maxAt = x, p.Timestamp.Time()
			}
			if !w.Fired.IsZero() && !p.Timestamp.Time().After(w.Fired) {
				s.fired, s.hasFired = x, true
			}
		}
		s.first, s.firstAt = float64(ss.Values[0].Value), ss.Values[0].Timestamp.Time()
		s.last, s.lastAt = float64(ss.Values[len(ss.Values)-1].Value), ss.Values[len(ss.Values)-1].Timestamp.Time()
		out = append(out, s)
	}
	sort.SliceStable(out, func(i, j int) bool { return out[i].max > out[j].max })
	return out
}

// at returns the series' value at firing, else its last.
func (s summary) now() float64 {
	if s.hasFired {
		return s.fired
	}
	return s.last
}

func (s summary) trend() string {
	span := s.max - s.min
	switch d := s.last - s.first; {
	case span == 0:
		return "constant"
	case span < 0.05*max(math.Abs(s.max), math.Abs(s.min)):
		return "steady"
	case d > span/3:
		return "rising"
	case d < -span/3:
		return "falling"
	}
	return "varying"
}
