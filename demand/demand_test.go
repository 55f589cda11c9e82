package demand

import (
	"context"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/cloudwatch"
	"github.com/aws/aws-sdk-go-v2/service/cloudwatch/types"
	"github.com/aws/smithy-go"
	"github.com/google/go-cmp/cmp"

	"github.com/prewarm/prewarm/awsfault"
	"github.com/prewarm/prewarm/derive"
)

// fakeCloudWatch answers GetMetricData with pages in turn, recording the requests.
type fakeCloudWatch struct {
	pages []*cloudwatch.GetMetricDataOutput
	err   error
	calls []*cloudwatch.GetMetricDataInput
}

var _ CloudWatchAPI = (*fakeCloudWatch)(nil)

func (f *fakeCloudWatch) GetMetricData(_ context.Context, in *cloudwatch.GetMetricDataInput, _ ...func(*cloudwatch.Options)) (*cloudwatch.GetMetricDataOutput, error) {
	cp := *in
	f.calls = append(f.calls, &cp)
	if f.err != nil {
		return nil, f.err
	}
	if len(f.calls) > len(f.pages) {
		return nil, errors.New("unexpected call")
	}
	return f.pages[len(f.calls)-1], nil
}

func result(id string, status types.StatusCode, values ...float64) types.MetricDataResult {
	ts := make([]time.Time, len(values))
	for i := range ts {
		ts[i] = now.Add(-time.Duration(i+1) * time.Minute)
	}
	return types.MetricDataResult{Id: aws.String(id), StatusCode: status, Values: values, Timestamps: ts}
}

func page(next string, results ...types.MetricDataResult) *cloudwatch.GetMetricDataOutput {
	out := &cloudwatch.GetMetricDataOutput{MetricDataResults: results}
	if next != "" {
		out.NextToken = aws.String(next)
	}
	return out
}

var now = time.Date(2026, 3, 4, 10, 30, 45, 0, time.UTC)

func reader(f *fakeCloudWatch) *Reader {
	return New(f, func(o *Options) { o.Now = func() time.Time { return now } })
}

func TestReadRequest(t *testing.T) {
	f := &fakeCloudWatch{pages: []*cloudwatch.GetMetricDataOutput{page("", result(idPeak, types.StatusCodeComplete, 3), result(idSpillover, types.StatusCodeComplete))}}
	if _, err := reader(f).Read(context.Background(), "my-function", "BLUE", 0); err != nil {
		t.Fatal(err)
	}
	in := f.calls[0]
	end := time.Date(2026, 3, 4, 10, 30, 0, 0, time.UTC)
	if !aws.ToTime(in.EndTime).Equal(end) || !aws.ToTime(in.StartTime).Equal(end.Add(-24*time.Hour)) {
		t.Errorf("range %v..%v, want the 24h before %v", in.StartTime, in.EndTime, end)
	}
	type q struct {
		ID, Namespace, Metric, Stat, Dims string
		Period                            int32
	}
	var got []q
	for _, mq := range in.MetricDataQueries {
		ms := mq.MetricStat
		var dims []string
		for _, d := range ms.Metric.Dimensions {
			dims = append(dims, aws.ToString(d.Name)+"="+aws.ToString(d.Value))
		}
		got = append(got, q{aws.ToString(mq.Id), aws.ToString(ms.Metric.Namespace), aws.ToString(ms.Metric.MetricName), aws.ToString(ms.Stat), strings.Join(dims, ","), aws.ToInt32(ms.Period)})
	}
	want := []q{
		{"peak", "AWS/Lambda", "ConcurrentExecutions", "Maximum", "FunctionName=my-function,Resource=my-function:BLUE", 60},
		{"spillover", "AWS/Lambda", "ProvisionedConcurrencySpilloverInvocations", "Sum", "FunctionName=my-function,Resource=my-function:BLUE", 60},
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("queries mismatch (-want +got):\n%s", diff)
	}
}

func TestRead(t *testing.T) {
	tests := []struct {
		name  string
		pages []*cloudwatch.GetMetricDataOutput
		want  derive.Demand
		calls int
	}{
		{
			name:  "one page",
			pages: []*cloudwatch.GetMetricDataOutput{page("", result(idPeak, types.StatusCodeComplete, 12, 57, 30), result(idSpillover, types.StatusCodeComplete, 0, 4, 1))},
			want:  derive.Demand{Qualifier: "BLUE", Peak: 57, Spillover: 5, Window: 6 * time.Hour, Datapoints: 3},
			calls: 1,
		},
		{
			name: "the peak on a later page, read on through PartialData",
			pages: []*cloudwatch.GetMetricDataOutput{
				page("t1", result(idPeak, types.StatusCodePartialData, 10, 11), result(idSpillover, types.StatusCodePartialData, 2)),
				page("t2", result(idPeak, types.StatusCodePartialData, 90), result(idSpillover, types.StatusCodeComplete)),
				page("", result(idPeak, types.StatusCodeComplete, 5)),
			},
			want:  derive.Demand{Qualifier: "BLUE", Peak: 90, Spillover: 2, Window: 6 * time.Hour, Datapoints: 4},
			calls: 3,
		},
		{
			name:  "no datapoints",
			pages: []*cloudwatch.GetMetricDataOutput{page("", result(idPeak, types.StatusCodeComplete), result(idSpillover, types.StatusCodeComplete))},
			want:  derive.Demand{Qualifier: "BLUE", Window: 6 * time.Hour},
			calls: 1,
		},
		{
			name:  "no results at all",
			pages: []*cloudwatch.GetMetricDataOutput{page("")},
			want:  derive.Demand{Qualifier: "BLUE", Window: 6 * time.Hour},
			calls: 1,
		},
		{
			name:  "a peak of 0 is data",
			pages: []*cloudwatch.GetMetricDataOutput{page("", result(idPeak, types.StatusCodeComplete, 0, 0))},
			want:  derive.Demand{Qualifier: "BLUE", Window: 6 * time.Hour, Datapoints: 2},
			calls: 1,
		},
		{
			name:  "results of other ids are ignored",
			pages: []*cloudwatch.GetMetricDataOutput{page("", result("other", types.StatusCodeComplete, 1000), result(idPeak, types.StatusCodeComplete, 3))},
			want:  derive.Demand{Qualifier: "BLUE", Peak: 3, Window: 6 * time.Hour, Datapoints: 1},
			calls: 1,
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f := &fakeCloudWatch{pages: tt.pages}
			got, err := reader(f).Read(context.Background(), "my-function", "BLUE", 6*time.Hour)
			if err != nil {
				t.Fatal(err)
			}
			if diff := cmp.Diff(tt.want, got); diff != "" {
				t.Errorf("Read mismatch (-want +got):\n%s", diff)
			}
			if len(f.calls) != tt.calls {
				t.Errorf("%d calls, want %d", len(f.calls), tt.calls)
			}
			for i, c := range f.calls {
				want := ""
				if i > 0 {
					want = aws.ToString(tt.pages[i-1].NextToken)
				}
				if got := aws.ToString(c.NextToken); got != want {
					t.Errorf("call %d NextToken = %q, want %q", i, got, want)
				}
			}
		})
	}
}

func TestReadErrors(t *testing.T) {
	tests := []struct {
		name      string
		fake      *fakeCloudWatch
		code      string
		transient bool
	}{
		{"throttled", &fakeCloudWatch{err: &smithy.GenericAPIError{Code: "LimitExceededException", Message: "Rate exceeded"}}, "LimitExceededException", true},
		{"server fault", &fakeCloudWatch{err: &smithy.GenericAPIError{Code: "InternalServiceFault", Message: "oops", Fault: smithy.FaultServer}}, "InternalServiceFault", true},
		{"invalid parameter", &fakeCloudWatch{err: &types.InvalidParameterValueException{Message: aws.String("bad")}}, "InvalidParameterValueException", false},
		{"access denied", &fakeCloudWatch{err: &smithy.GenericAPIError{Code: "AccessDenied", Message: "no"}}, "AccessDenied", false},
		{"network", &fakeCloudWatch{err: errors.New("connection reset by peer")}, "NetworkError", true},
		{"deadline", &fakeCloudWatch{err: context.DeadlineExceeded}, "Timeout", true},
		{"a metric with InternalError", &fakeCloudWatch{pages: []*cloudwatch.GetMetricDataOutput{page("", result(idPeak, types.StatusCodeInternalError))}}, "InternalError", true},
		{"a metric Forbidden", &fakeCloudWatch{pages: []*cloudwatch.GetMetricDataOutput{page("", result(idPeak, types.StatusCodeComplete, 3), result(idSpillover, types.StatusCodeForbidden))}}, "Forbidden", false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := reader(tt.fake).Read(context.Background(), "my-function", "BLUE", time.Hour)
			if err == nil {
				t.Fatal("Read succeeded")
			}
			if got := awsfault.Code(err); got != tt.code {
				t.Errorf("code %q, want %q (%v)", got, tt.code, err)
			}
			if got := awsfault.IsTransient(err); got != tt.transient {
				t.Errorf("transient %v, want %v (%v)", got, tt.transient, err)
			}
			if !strings.Contains(err.Error(), "GetMetricData my-function:BLUE") {
				t.Errorf("error %q does not name the call and the target", err)
			}
		})
	}
}

func TestReadStopsAnEndlessToken(t *testing.T) {
	pages := make([]*cloudwatch.GetMetricDataOutput, maxPages+1)
	for i := range pages {
		pages[i] = page("again", result(idPeak, types.StatusCodePartialData, 1))
	}
	f := &fakeCloudWatch{pages: pages}
	_, err := reader(f).Read(context.Background(), "f", "BLUE", time.Hour)
	if awsfault.Code(err) != "TooManyPages" || len(f.calls) != maxPages {
		t.Errorf("Read = %v after %d calls, want TooManyPages after %d", err, len(f.calls), maxPages)
	}
}
