// Package cloudwatchsim emulates CloudWatch's GetMetricData for the metrics prewarm reads:
// per-minute series seeded from the world file (Lambda's ConcurrentExecutions and
// ProvisionedConcurrencySpilloverInvocations of an alias, or any other), aggregated by the
// query's period and statistic, paginated with NextToken. It speaks Smithy RPC v2 CBOR, the
// protocol of the aws-sdk-go-v2 CloudWatch client from v1.76 (cbor.go); the operation itself
// takes and returns plain Go values.
package cloudwatchsim

import (
	"context"
	"fmt"
	"math"
	"net/http"
	"slices"
	"sort"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/prewarm/prewarm/localaws/awsproto"
	"github.com/prewarm/prewarm/localaws/clock"
)

// Series is one metric's per-minute datapoints in the world file:
//
//	{"function": "my-function", "qualifier": "BLUE", "metric": "ConcurrentExecutions",
//	 "values": [12, 30, 57, 41]}
//
// Values are the last len(values) minutes up to the emulator's start, the most recent
// last; each is that minute's statistic (a Maximum for ConcurrentExecutions, a Sum for
// invocation counts), so Maximum and Sum over longer periods aggregate them.
type Series struct {
	// Namespace is "AWS/Lambda" when empty.
	Namespace string `json:"namespace,omitempty"`
	Metric    string `json:"metric"`
	// Function and Qualifier give the Lambda dimensions FunctionName and Resource
	// ("function:qualifier"; "function" alone without a qualifier).
	Function  string `json:"function,omitempty"`
	Qualifier string `json:"qualifier,omitempty"`
	// Dimensions are further dimensions, or all of them for a non-Lambda metric.
	Dimensions map[string]string `json:"dimensions,omitempty"`
	Values     []float64         `json:"values"`
}

// Config seeds the service.
type Config struct {
	AccountID, Region string
	Series            []Series
	// Clock anchors the seeded series and is "now" for queries; clock.Real{} when nil.
	Clock clock.Clock
	// PageSize is the datapoints one GetMetricData page carries; 100,800 (AWS's) when 0.
	PageSize int
}

// Validate reports the first problem with c's series.
func (c Config) Validate() error {
	for i, s := range c.Series {
		if s.Metric == "" {
			return fmt.Errorf("metrics[%d]: metric is required", i)
		}
		if s.Function == "" && len(s.Dimensions) == 0 {
			return fmt.Errorf("metrics[%d] %s: function or dimensions are required", i, s.Metric)
		}
		for j, v := range s.Values {
			if math.IsNaN(v) || math.IsInf(v, 0) {
				return fmt.Errorf("metrics[%d] %s: values[%d] is not a number", i, s.Metric, j)
			}
		}
	}
	return nil
}

// Datapoint is one timestamped value.
type Datapoint struct {
	Time  time.Time
	Value float64
}

type metricKey struct {
	namespace, name, dims string // dims: sorted "k=v" joined by ","
}

// Service is the emulated CloudWatch of one account and Region.
type Service struct {
	mu       sync.Mutex
	clk      clock.Clock
	pageSize int
	series   map[metricKey][]Datapoint // sorted by time
}

// New returns a Service seeded from cfg.
func New(cfg Config) *Service {
	s := &Service{clk: cfg.Clock, pageSize: cfg.PageSize, series: map[metricKey][]Datapoint{}}
	if s.clk == nil {
		s.clk = clock.Real{}
	}
	if s.pageSize <= 0 {
		s.pageSize = 100800
	}
	now := s.clk.Now().UTC().Truncate(time.Minute)
	for _, sr := range cfg.Series {
		pts := make([]Datapoint, len(sr.Values))
		for i, v := range sr.Values {
			pts[i] = Datapoint{Time: now.Add(-time.Duration(len(sr.Values)-i) * time.Minute), Value: v}
		}
		s.Put(sr.key(), pts...)
	}
	return s
}

func (sr Series) key() MetricID {
	ns := sr.Namespace
	if ns == "" {
		ns = "AWS/Lambda"
	}
	dims := map[string]string{}
	for k, v := range sr.Dimensions {
		dims[k] = v
	}
	if sr.Function != "" {
		dims["FunctionName"] = sr.Function
		if sr.Qualifier != "" {
			dims["Resource"] = sr.Function + ":" + sr.Qualifier
		}
	}
	return MetricID{Namespace: ns, Name: sr.Metric, Dimensions: dims}
}

// MetricID names a metric: namespace, name and every dimension.
type MetricID struct {
	Namespace, Name string
	Dimensions      map[string]string
}

func (m MetricID) key() metricKey {
	parts := make([]string, 0, len(m.Dimensions))
	for k, v := range m.Dimensions {
		parts = append(parts, k+"="+v)
	}
	sort.Strings(parts)
	return metricKey{namespace: m.Namespace, name: m.Name, dims: strings.Join(parts, ",")}
}

// Put adds datapoints to a metric, as PutMetricData would; tests use it to shape demand.
func (s *Service) Put(m MetricID, pts ...Datapoint) {
	s.mu.Lock()
	defer s.mu.Unlock()
	k := m.key()
	all := append(s.series[k], pts...)
	sort.SliceStable(all, func(i, j int) bool { return all[i].Time.Before(all[j].Time) })
	s.series[k] = all
}

// Query is one MetricDataQuery with a MetricStat (metric math is not emulated).
type Query struct {
	ID     string
	Metric MetricID
	// Period is in seconds, a multiple of 60.
	Period int64
	Stat   string
	// ReturnData false leaves the query out of the results.
	ReturnData *bool
	Label      string
}

// GetMetricDataInput is the operation's input.
type GetMetricDataInput struct {
	Queries    []Query
	Start, End time.Time
	// ScanBy is "TimestampDescending" (the default) or "TimestampAscending".
	ScanBy        string
	NextToken     string
	MaxDatapoints int64
}

// Result is one query's answer.
type Result struct {
	ID, Label  string
	StatusCode string // "Complete" or "PartialData"
	Timestamps []time.Time
	Values     []float64
}

// GetMetricDataOutput is the operation's output.
type GetMetricDataOutput struct {
	Results   []Result
	NextToken string
}

var statistics = map[string]bool{"Maximum": true, "Minimum": true, "Sum": true, "Average": true, "SampleCount": true}

// GetMetricData answers a query as CloudWatch does: for each query, one datapoint per period
// that has data, the statistic over the minutes in it; datapoints beyond the page size are
// continued with NextToken (the results then say PartialData).
func (s *Service) GetMetricData(_ context.Context, in *GetMetricDataInput) (*GetMetricDataOutput, *awsproto.Error) {
	if len(in.Queries) == 0 {
		return nil, missing("The parameter MetricDataQueries is required.")
	}
	if len(in.Queries) > 500 {
		return nil, invalidParameter("The collection MetricDataQueries must not have a size greater than 500.")
	}
	if in.Start.IsZero() || in.End.IsZero() {
		return nil, missing("The parameters StartTime and EndTime are required.")
	}
	if !in.Start.Before(in.End) {
		return nil, invalidParameter("The parameter StartTime must be less than the parameter EndTime.")
	}
	ids := map[string]bool{}
	for _, q := range in.Queries {
		switch {
		case q.ID == "" || !validID(q.ID):
			return nil, invalidParameter(fmt.Sprintf("The value %s for parameter MetricDataQueries.member.Id is invalid: it must start with a lowercase letter and contain only letters, numbers and underscores.", q.ID))
		case ids[q.ID]:
			return nil, invalidParameter(fmt.Sprintf("The value %s for parameter MetricDataQueries.member.Id is duplicated.", q.ID))
		case q.Metric.Name == "" || q.Metric.Namespace == "":
			return nil, invalidParameter("The parameter MetricDataQueries.member.MetricStat.Metric is required (metric math is not emulated).")
		case q.Period <= 0 || q.Period%60 != 0:
			return nil, invalidParameter(fmt.Sprintf("The parameter MetricDataQueries.member.MetricStat.Period must be a multiple of 60, got %d.", q.Period))
		case !statistics[q.Stat]:
			return nil, invalidParameter(fmt.Sprintf("The value %s for parameter MetricDataQueries.member.MetricStat.Stat is not a supported statistic.", q.Stat))
		}
		ids[q.ID] = true
	}
	offset := 0
	if in.NextToken != "" {
		n, err := strconv.Atoi(in.NextToken)
		if err != nil || n < 0 {
			return nil, &awsproto.Error{Status: http.StatusBadRequest, Code: "InvalidNextToken", Message: "The service couldn't process your request because the NextToken is invalid."}
		}
		offset = n
	}
	descending := in.ScanBy != "TimestampAscending"

	// Every datapoint of every query, in order, is numbered; a page is a window of them.
	var results []Result
	total := 0
	limit := s.pageSize
	if in.MaxDatapoints > 0 && int(in.MaxDatapoints) < limit {
		limit = int(in.MaxDatapoints)
	}
	partial := false
	for _, q := range in.Queries {
		if q.ReturnData != nil && !*q.ReturnData {
			continue
		}
		ts, vs := s.aggregate(q, in.Start, in.End, descending)
		r := Result{ID: q.ID, Label: q.Label, StatusCode: "Complete", Timestamps: []time.Time{}, Values: []float64{}}
		if r.Label == "" {
			r.Label = q.Metric.Name
		}
		for i := range ts {
			n := total + i
			if n < offset {
				continue
			}
			if n >= offset+limit {
				partial = true
				break
			}
			r.Timestamps = append(r.Timestamps, ts[i])
			r.Values = append(r.Values, vs[i])
		}
		if total+len(ts) > offset+limit {
			r.StatusCode = "PartialData"
		}
		total += len(ts)
		results = append(results, r)
	}
	out := &GetMetricDataOutput{Results: results}
	if partial {
		out.NextToken = strconv.Itoa(offset + limit)
	}
	return out, nil
}

// aggregate returns q's datapoints in [start, end): one per period with data.
func (s *Service) aggregate(q Query, start, end time.Time, descending bool) ([]time.Time, []float64) {
	s.mu.Lock()
	pts := slices.Clone(s.series[q.Metric.key()])
	s.mu.Unlock()
	period := time.Duration(q.Period) * time.Second
	type bucket struct {
		t                time.Time
		max, min, sum, n float64
	}
	var buckets []*bucket
	byTime := map[time.Time]*bucket{}
	for _, p := range pts {
		if p.Time.Before(start) || !p.Time.Before(end) {
			continue
		}
		bt := start.Add(p.Time.Sub(start) / period * period)
		b := byTime[bt]
		if b == nil {
			b = &bucket{t: bt, max: math.Inf(-1), min: math.Inf(1)}
			byTime[bt] = b
			buckets = append(buckets, b)
		}
		b.max, b.min = math.Max(b.max, p.Value), math.Min(b.min, p.Value)
		b.sum += p.Value
		b.n++
	}
	sort.Slice(buckets, func(i, j int) bool {
		if descending {
			return buckets[i].t.After(buckets[j].t)
		}
		return buckets[i].t.Before(buckets[j].t)
	})
	ts := make([]time.Time, len(buckets))
	vs := make([]float64, len(buckets))
	for i, b := range buckets {
		ts[i] = b.t
		switch q.Stat {
		case "Maximum":
			vs[i] = b.max
		case "Minimum":
			vs[i] = b.min
		case "Sum":
			vs[i] = b.sum
		case "Average":
			vs[i] = b.sum / b.n
		case "SampleCount":
			vs[i] = b.n
		}
	}
	return ts, vs
}

func validID(id string) bool {
	if id[0] < 'a' || id[0] > 'z' {
		return false
	}
	for _, c := range id {
		if !isAlnum(c) && c != '_' {
			return false
		}
	}
	return true
}

// isAlnum reports whether c is an ASCII letter or digit.
func isAlnum(c rune) bool {
	return c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9'
}

func missing(msg string) *awsproto.Error {
	return &awsproto.Error{Status: http.StatusBadRequest, Code: "MissingRequiredParameterException", QueryCode: "MissingParameter", Message: msg}
}

func invalidParameter(msg string) *awsproto.Error {
	return &awsproto.Error{Status: http.StatusBadRequest, Code: "InvalidParameterValueException", QueryCode: "InvalidParameterValue", Message: msg}
}
