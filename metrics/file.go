package metrics

import (
	"bufio"
	"bytes"
	"context"
	"fmt"
	"math"
	"sort"
	"strconv"
	"strings"
	"time"

	v1 "github.com/prometheus/client_golang/api/prometheus/v1"
	"github.com/prometheus/common/model"
)

// File is a Querier over recorded series: the OpenMetrics text of a
// scenario's metrics.om, with a timestamp on every sample. It answers the
// range queries K8flex issues with the evaluator of promql.go, so a
// recorded incident is investigated through the same queries as a live
// Prometheus. It is read-only and safe for concurrent use.
type File struct {
	series []*fileSeries
	byName map[string][]*fileSeries
}

var _ Querier = (*File)(nil)

type fileSeries struct {
	labels map[string]string
	ts     []int64 // milliseconds, ascending
	vs     []float64
}

// at returns the last value at or before t and after floor.
func (s *fileSeries) at(t, floor int64) (float64, bool) {
	i := sort.Search(len(s.ts), func(i int) bool { return s.ts[i] > t }) - 1
	if i < 0 || s.ts[i] <= floor {
		return 0, false
	}
	return s.vs[i], true
}

// window returns the samples in (start, end].
func (s *fileSeries) window(start, end int64) ([]int64, []float64) {
	i := sort.Search(len(s.ts), func(i int) bool { return s.ts[i] > start })
	j := sort.Search(len(s.ts), func(i int) bool { return s.ts[i] > end })
	return s.ts[i:j], s.vs[i:j]
}

func (f *File) match(ms []labelMatcher) []*fileSeries {
	cands := f.series
	for _, m := range ms {
		if m.name == "__name__" && m.op == "=" {
			cands = f.byName[m.value]
			break
		}
	}
	var out []*fileSeries
	for _, s := range cands {
		ok := true
		for _, m := range ms {
			if !m.matches(s.labels[m.name]) {
				ok = false
				break
			}
		}
		if ok {
			out = append(out, s)
		}
	}
	return out
}

// ParseOpenMetrics reads OpenMetrics text whose samples all carry a
// timestamp (seconds, as the format states them): what promtool tsdb
// create-blocks-from openmetrics backfills. Comment lines (# TYPE, # HELP,
// # UNIT, # EOF) are skipped; a sample without a timestamp is an error.
func ParseOpenMetrics(data []byte) (*File, error) {
	f := &File{byName: map[string][]*fileSeries{}}
	idx := map[string]*fileSeries{}
	sc := bufio.NewScanner(bytes.NewReader(data))
	sc.Buffer(make([]byte, 64<<10), 1<<20)
	for n := 1; sc.Scan(); n++ {
		line := strings.TrimSpace(sc.Text())
		if line == "" || line[0] == '#' {
			continue
		}
		labels, rest, err := parseSeriesID(line)
		if err != nil {
			return nil, fmt.Errorf("metrics line %d: %w", n, err)
		}
		fields := strings.Fields(rest)
		if len(fields) < 2 {
			return nil, fmt.Errorf("metrics line %d: want a value and a timestamp", n)
		}
		v, err := strconv.ParseFloat(fields[0], 64)
		if err != nil {
			return nil, fmt.Errorf("metrics line %d: value: %w", n, err)
		}
		ts, err := strconv.ParseFloat(fields[1], 64)
		if err != nil {
			return nil, fmt.Errorf("metrics line %d: timestamp: %w", n, err)
		}
		key := signature(labels)
		s := idx[key]
		if s == nil {
			s = &fileSeries{labels: labels}
			idx[key] = s
			f.series = append(f.series, s)
			f.byName[labels["__name__"]] = append(f.byName[labels["__name__"]], s)
		}
		s.ts = append(s.ts, int64(math.Round(ts*1000)))
		s.vs = append(s.vs, v)
	}
	if err := sc.Err(); err != nil {
		return nil, fmt.Errorf("read metrics: %w", err)
	}
	for _, s := range f.series {
		sort.Sort(byTime{s})
	}
	return f, nil
}

type byTime struct{ s *fileSeries }

func (b byTime) Len() int           { return len(b.s.ts) }
func (b byTime) Less(i, j int) bool { return b.s.ts[i] < b.s.ts[j] }
func (b byTime) Swap(i, j int) {
	b.s.ts[i], b.s.ts[j] = b.s.ts[j], b.s.ts[i]
	b.s.vs[i], b.s.vs[j] = b.s.vs[j], b.s.vs[i]
}

// parseSeriesID splits `name{a="b",c="d"} rest`.
func parseSeriesID(line string) (map[string]string, string, error) {
	j := 0
	for j < len(line) && isIdent(line[j], j == 0) {
		j++
	}
	if j == 0 {
		return nil, "", fmt.Errorf("no metric name in %q", clip(line, 40))
	}
	labels := map[string]string{"__name__": line[:j]}
	if j < len(line) && line[j] == '{' {
		p := &parser{s: line, i: j + 1}
		for !p.accept("}") {
			if len(labels) > 1 {
				if err := p.expect(","); err != nil {
					return nil, "", err
				}
				if p.accept("}") {
					break
				}
			}
			name := p.ident()
			if name == "" {
				return nil, "", fmt.Errorf("bad label at %d", p.i)
			}
			if err := p.expect("="); err != nil {
				return nil, "", err
			}
			v, err := p.str()
			if err != nil {
				return nil, "", err
			}
			labels[name] = v
		}
		j = p.i
	}
	return labels, line[j:], nil
}

// QueryRange evaluates query at every step of r, as Prometheus' range
// query API does, and returns a matrix.
func (f *File) QueryRange(ctx context.Context, query string, r v1.Range) (model.Value, error) {
	n, err := parseExpr(query)
	if err != nil {
		return nil, fmt.Errorf("query %s: %w", clip(query, 80), err)
	}
	if r.Step <= 0 {
		return nil, fmt.Errorf("query %s: step must be positive", clip(query, 80))
	}
	streams := map[string]*model.SampleStream{}
	var order []string
	for t := r.Start; !t.After(r.End); t = t.Add(r.Step) {
		if err := ctx.Err(); err != nil {
			return nil, err
		}
		v, err := f.eval(n, t.UnixMilli())
		if err != nil {
			return nil, fmt.Errorf("query %s: %w", clip(query, 80), err)
		}
		if v.isScalar {
			v.vec = []sample{{labels: map[string]string{}, v: v.scalar}}
		}
		for _, s := range v.vec {
			k := signature(s.labels)
			st := streams[k]
			if st == nil {
				m := model.Metric{}
				for lk, lv := range s.labels {
					m[model.LabelName(lk)] = model.LabelValue(lv)
				}
				st = &model.SampleStream{Metric: m}
				streams[k] = st
				order = append(order, k)
			}
			st.Values = append(st.Values, model.SamplePair{Timestamp: model.TimeFromUnixNano(t.UnixNano()), Value: model.SampleValue(s.v)})
		}
	}
	sort.Strings(order)
	out := make(model.Matrix, 0, len(order))
	for _, k := range order {
		out = append(out, streams[k])
	}
	return out, nil
}

// Span returns the time range the recorded samples cover.
func (f *File) Span() (start, end time.Time) {
	var lo, hi int64 = math.MaxInt64, math.MinInt64
	for _, s := range f.series {
		if len(s.ts) > 0 {
			lo, hi = min(lo, s.ts[0]), max(hi, s.ts[len(s.ts)-1])
		}
	}
	if lo > hi {
		return time.Time{}, time.Time{}
	}
	return time.UnixMilli(lo).UTC(), time.UnixMilli(hi).UTC()
}

func clip(s string, n int) string {
	if len(s) <= n {
		return s
	}
	return s[:n] + "…"
}
