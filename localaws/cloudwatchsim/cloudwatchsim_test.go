package cloudwatchsim

import (
	"context"
	"errors"
	"net/http"
	"net/http/httptest"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/aws-sdk-go-v2/service/cloudwatch"
	"github.com/aws/aws-sdk-go-v2/service/cloudwatch/types"
	"github.com/aws/smithy-go"
	"github.com/google/go-cmp/cmp"

	"github.com/prewarm/prewarm/localaws/clock"
)

var start = time.Date(2026, 3, 4, 10, 0, 0, 0, time.UTC)

func lambdaMetric(metric string) MetricID {
	return MetricID{Namespace: "AWS/Lambda", Name: metric, Dimensions: map[string]string{"FunctionName": "my-function", "Resource": "my-function:BLUE"}}
}

func seeded(t *testing.T, pageSize int) *Service {
	t.Helper()
	cfg := Config{
		Clock:    clock.NewFake(start),
		PageSize: pageSize,
		Series: []Series{
			{Function: "my-function", Qualifier: "BLUE", Metric: "ConcurrentExecutions", Values: []float64{10, 57, 30, 12, 8, 41}},
			{Function: "my-function", Qualifier: "BLUE", Metric: "ProvisionedConcurrencySpilloverInvocations", Values: []float64{0, 3, 0, 0, 1, 0}},
			{Function: "my-function", Qualifier: "GREEN", Metric: "ConcurrentExecutions", Values: []float64{999}},
		},
	}
	if err := cfg.Validate(); err != nil {
		t.Fatal(err)
	}
	return New(cfg)
}

func query(id, metric, stat string, period int64) Query {
	return Query{ID: id, Metric: lambdaMetric(metric), Period: period, Stat: stat}
}

func TestGetMetricData(t *testing.T) {
	s := seeded(t, 0)
	min := func(n int) time.Time { return start.Add(time.Duration(n) * time.Minute) }
	tests := []struct {
		name string
		in   GetMetricDataInput
		want []Result
	}{
		{
			name: "per minute, newest first",
			in:   GetMetricDataInput{Queries: []Query{query("peak", "ConcurrentExecutions", "Maximum", 60)}, Start: min(-6), End: start},
			want: []Result{{ID: "peak", Label: "ConcurrentExecutions", StatusCode: "Complete",
				Timestamps: []time.Time{min(-1), min(-2), min(-3), min(-4), min(-5), min(-6)}, Values: []float64{41, 8, 12, 30, 57, 10}}},
		},
		{
			name: "a longer period aggregates: Maximum and Sum",
			in: GetMetricDataInput{Queries: []Query{query("peak", "ConcurrentExecutions", "Maximum", 180), query("spill", "ProvisionedConcurrencySpilloverInvocations", "Sum", 180)},
				Start: min(-6), End: start, ScanBy: "TimestampAscending"},
			want: []Result{
				{ID: "peak", Label: "ConcurrentExecutions", StatusCode: "Complete", Timestamps: []time.Time{min(-6), min(-3)}, Values: []float64{57, 41}},
				{ID: "spill", Label: "ProvisionedConcurrencySpilloverInvocations", StatusCode: "Complete", Timestamps: []time.Time{min(-6), min(-3)}, Values: []float64{3, 1}},
			},
		},
		{
			name: "the window cuts the series; Average, Minimum and SampleCount",
			in: GetMetricDataInput{Queries: []Query{query("avg", "ConcurrentExecutions", "Average", 120), query("lo", "ConcurrentExecutions", "Minimum", 120), query("n", "ConcurrentExecutions", "SampleCount", 120)},
				Start: min(-4), End: min(-1), ScanBy: "TimestampAscending"},
			want: []Result{
				{ID: "avg", Label: "ConcurrentExecutions", StatusCode: "Complete", Timestamps: []time.Time{min(-4), min(-2)}, Values: []float64{21, 8}},
				{ID: "lo", Label: "ConcurrentExecutions", StatusCode: "Complete", Timestamps: []time.Time{min(-4), min(-2)}, Values: []float64{12, 8}},
				{ID: "n", Label: "ConcurrentExecutions", StatusCode: "Complete", Timestamps: []time.Time{min(-4), min(-2)}, Values: []float64{2, 1}},
			},
		},
		{
			name: "a metric without data answers an empty result",
			in:   GetMetricDataInput{Queries: []Query{{ID: "none", Metric: MetricID{Namespace: "AWS/Lambda", Name: "ConcurrentExecutions", Dimensions: map[string]string{"FunctionName": "other"}}, Period: 60, Stat: "Maximum"}}, Start: min(-60), End: start},
			want: []Result{{ID: "none", Label: "ConcurrentExecutions", StatusCode: "Complete", Timestamps: []time.Time{}, Values: []float64{}}},
		},
		{
			name: "ReturnData false is left out",
			in:   GetMetricDataInput{Queries: []Query{{ID: "x", Metric: lambdaMetric("ConcurrentExecutions"), Period: 60, Stat: "Maximum", ReturnData: aws.Bool(false)}}, Start: min(-6), End: start},
			want: nil,
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			out, err := s.GetMetricData(context.Background(), &tt.in)
			if err != nil {
				t.Fatal(err)
			}
			if diff := cmp.Diff(tt.want, out.Results); diff != "" {
				t.Errorf("results mismatch (-want +got):\n%s", diff)
			}
			if out.NextToken != "" {
				t.Errorf("NextToken %q, want none", out.NextToken)
			}
		})
	}
}

func TestGetMetricDataPages(t *testing.T) {
	s := seeded(t, 4)
	in := &GetMetricDataInput{Queries: []Query{query("peak", "ConcurrentExecutions", "Maximum", 60), query("spill", "ProvisionedConcurrencySpilloverInvocations", "Sum", 60)},
		Start: start.Add(-time.Hour), End: start}
	var peak, spill []float64
	var statuses []string
	for i := 0; ; i++ {
		out, err := s.GetMetricData(context.Background(), in)
		if err != nil {
			t.Fatal(err)
		}
		for _, r := range out.Results {
			statuses = append(statuses, r.ID+":"+r.StatusCode)
			if r.ID == "peak" {
				peak = append(peak, r.Values...)
			} else {
				spill = append(spill, r.Values...)
			}
		}
		if out.NextToken == "" {
			break
		}
		if i > 5 {
			t.Fatal("NextToken never ends")
		}
		in.NextToken = out.NextToken
	}
	if diff := cmp.Diff([]float64{41, 8, 12, 30, 57, 10}, peak); diff != "" {
		t.Errorf("peak values over pages (-want +got):\n%s", diff)
	}
	if diff := cmp.Diff([]float64{0, 1, 0, 0, 3, 0}, spill); diff != "" {
		t.Errorf("spillover values over pages (-want +got):\n%s", diff)
	}
	want := []string{"peak:PartialData", "spill:PartialData", "peak:Complete", "spill:PartialData", "peak:Complete", "spill:Complete"}
	if diff := cmp.Diff(want, statuses); diff != "" {
		t.Errorf("statuses (-want +got):\n%s", diff)
	}
}

func TestGetMetricDataErrors(t *testing.T) {
	s := seeded(t, 0)
	ok := query("peak", "ConcurrentExecutions", "Maximum", 60)
	tests := []struct {
		name string
		in   GetMetricDataInput
		code string
	}{
		{"no queries", GetMetricDataInput{Start: start.Add(-time.Hour), End: start}, "MissingParameter"},
		{"no times", GetMetricDataInput{Queries: []Query{ok}}, "MissingParameter"},
		{"start after end", GetMetricDataInput{Queries: []Query{ok}, Start: start, End: start.Add(-time.Hour)}, "InvalidParameterValue"},
		{"bad id", GetMetricDataInput{Queries: []Query{query("Peak", "ConcurrentExecutions", "Maximum", 60)}, Start: start.Add(-time.Hour), End: start}, "InvalidParameterValue"},
		{"duplicate id", GetMetricDataInput{Queries: []Query{ok, ok}, Start: start.Add(-time.Hour), End: start}, "InvalidParameterValue"},
		{"bad period", GetMetricDataInput{Queries: []Query{query("peak", "ConcurrentExecutions", "Maximum", 90)}, Start: start.Add(-time.Hour), End: start}, "InvalidParameterValue"},
		{"bad stat", GetMetricDataInput{Queries: []Query{query("peak", "ConcurrentExecutions", "p99", 60)}, Start: start.Add(-time.Hour), End: start}, "InvalidParameterValue"},
		{"bad token", GetMetricDataInput{Queries: []Query{ok}, Start: start.Add(-time.Hour), End: start, NextToken: "x"}, "InvalidNextToken"},
	}
	for _, tt := range tests {
		_, err := s.GetMetricData(context.Background(), &tt.in)
		if err == nil || err.ErrorCode() != tt.code {
			t.Errorf("%s: error %v, want %s", tt.name, err, tt.code)
		}
	}
}

func TestConfigValidate(t *testing.T) {
	for _, c := range []Config{
		{Series: []Series{{Function: "f"}}},
		{Series: []Series{{Metric: "ConcurrentExecutions"}}},
	} {
		if c.Validate() == nil {
			t.Errorf("Validate(%+v) accepted it", c)
		}
	}
}

// TestSDKClient drives the service's CBOR edge with the real CloudWatch client.
func TestSDKClient(t *testing.T) {
	s := seeded(t, 4)
	a := s.API()
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		op, ok := a.Operation(r)
		if !ok {
			http.NotFound(w, r)
			return
		}
		a.ServeOperation(w, r, op)
	}))
	defer srv.Close()
	client := cloudwatch.NewFromConfig(aws.Config{
		Region:       "us-east-1",
		Credentials:  credentials.NewStaticCredentialsProvider("AKID", "SECRET", ""),
		BaseEndpoint: aws.String(srv.URL),
	})
	in := &cloudwatch.GetMetricDataInput{
		StartTime: aws.Time(start.Add(-time.Hour)), EndTime: aws.Time(start),
		MetricDataQueries: []types.MetricDataQuery{{
			Id: aws.String("peak"),
			MetricStat: &types.MetricStat{
				Metric: &types.Metric{Namespace: aws.String("AWS/Lambda"), MetricName: aws.String("ConcurrentExecutions"),
					Dimensions: []types.Dimension{{Name: aws.String("FunctionName"), Value: aws.String("my-function")}, {Name: aws.String("Resource"), Value: aws.String("my-function:BLUE")}}},
				Period: aws.Int32(60), Stat: aws.String("Maximum"),
			},
		}},
	}
	var values []float64
	var times []time.Time
	p := cloudwatch.NewGetMetricDataPaginator(client, in)
	for p.HasMorePages() {
		out, err := p.NextPage(context.Background())
		if err != nil {
			t.Fatal(err)
		}
		for _, r := range out.MetricDataResults {
			values = append(values, r.Values...)
			times = append(times, r.Timestamps...)
		}
	}
	if diff := cmp.Diff([]float64{41, 8, 12, 30, 57, 10}, values); diff != "" {
		t.Errorf("values (-want +got):\n%s", diff)
	}
	if len(times) != 6 || !times[0].Equal(start.Add(-time.Minute)) {
		t.Errorf("timestamps %v", times)
	}

	in.MetricDataQueries[0].MetricStat.Period = aws.Int32(90)
	_, err := client.GetMetricData(context.Background(), in)
	var ipv *types.InvalidParameterValueException
	if !errors.As(err, &ipv) {
		t.Fatalf("a bad period: %v, want InvalidParameterValueException", err)
	}
	var api smithy.APIError
	if errors.As(err, &api); api.ErrorCode() != "InvalidParameterValue" {
		t.Errorf("error code %q, want the query-compatible InvalidParameterValue", api.ErrorCode())
	}
}
