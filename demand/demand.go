// Package demand reads what a Lambda alias or version actually ran from CloudWatch: the peak
// of ConcurrentExecutions and the sum of ProvisionedConcurrencySpilloverInvocations over a
// window, at the 1-minute resolution Lambda publishes, for the demand strategy of derive.
package demand

import (
	"context"
	"fmt"
	"math"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/cloudwatch"
	"github.com/aws/aws-sdk-go-v2/service/cloudwatch/types"

	"github.com/prewarm/prewarm/awsfault"
	"github.com/prewarm/prewarm/derive"
)

// CloudWatchAPI is the part of *cloudwatch.Client the reader calls.
type CloudWatchAPI interface {
	GetMetricData(ctx context.Context, params *cloudwatch.GetMetricDataInput, optFns ...func(*cloudwatch.Options)) (*cloudwatch.GetMetricDataOutput, error)
}

var _ CloudWatchAPI = (*cloudwatch.Client)(nil)

// What is read, as CloudWatch names it.
const (
	Namespace        = "AWS/Lambda"
	MetricConcurrent = "ConcurrentExecutions"
	MetricSpillover  = "ProvisionedConcurrencySpilloverInvocations"
	// Period is Lambda's metric resolution; a coarser one would average bursts away.
	Period = 60 * time.Second

	opGetMetricData = "GetMetricData"
	idPeak          = "peak"
	idSpillover     = "spillover"
	// maxPages bounds the pages read for one signal: 15 days of 1-minute datapoints for
	// two metrics is 43,200 datapoints, one page of the 100,800 CloudWatch returns.
	maxPages = 50
)

// Options configure a Reader.
type Options struct {
	// Now is the clock; time.Now when nil.
	Now func() time.Time
}

// Reader reads demand signals.
type Reader struct {
	api  CloudWatchAPI
	opts Options
}

// New returns a Reader calling api.
func New(api CloudWatchAPI, optFns ...func(*Options)) *Reader {
	o := Options{Now: time.Now}
	for _, fn := range optFns {
		fn(&o)
	}
	if o.Now == nil {
		o.Now = time.Now
	}
	return &Reader{api: api, opts: o}
}

// Read returns the demand of function:qualifier (function a name, as CloudWatch's
// FunctionName dimension has it) over the window ending at the last whole minute
// (derive.DefaultWindow when window ≤ 0). A window without datapoints is no error: the
// signal has Datapoints 0 and derive falls back to mirroring. A metric CloudWatch answers
// with InternalError or Forbidden is an error, transient or permanent
// (awsfault.IsTransient); PartialData is read on through NextToken.
func (r *Reader) Read(ctx context.Context, function, qualifier string, window time.Duration) (derive.Demand, error) {
	if window <= 0 {
		window = derive.DefaultWindow
	}
	resource := function + ":" + qualifier
	end := r.opts.Now().UTC().Truncate(time.Minute)
	in := &cloudwatch.GetMetricDataInput{
		StartTime: aws.Time(end.Add(-window)),
		EndTime:   aws.Time(end),
		ScanBy:    types.ScanByTimestampDescending,
		MetricDataQueries: []types.MetricDataQuery{
			query(idPeak, MetricConcurrent, types.StatisticMaximum, function, resource),
			query(idSpillover, MetricSpillover, types.StatisticSum, function, resource),
		},
	}
	d := derive.Demand{Qualifier: qualifier, Window: window}
	seen := false // a peak datapoint was read
	for page := 0; ; page++ {
		if page == maxPages {
			return derive.Demand{}, awsfault.New(opGetMetricData, resource, "TooManyPages",
				fmt.Sprintf("still a NextToken after %d pages", maxPages), false)
		}
		out, err := r.api.GetMetricData(ctx, in)
		if err != nil {
			return derive.Demand{}, fmt.Errorf("read demand of %s over %s: %w", resource, derive.FormatWindow(window), awsfault.Wrap(opGetMetricData, resource, err))
		}
		for _, res := range out.MetricDataResults {
			switch res.StatusCode {
			case types.StatusCodeInternalError:
				return derive.Demand{}, awsfault.New(opGetMetricData, resource, string(res.StatusCode), messages(res), true)
			case types.StatusCodeForbidden:
				return derive.Demand{}, awsfault.New(opGetMetricData, resource, string(res.StatusCode), messages(res), false)
			}
			for _, v := range res.Values {
				if math.IsNaN(v) || math.IsInf(v, 0) {
					continue
				}
				switch aws.ToString(res.Id) {
				case idPeak:
					d.Datapoints++
					if !seen || v > d.Peak {
						d.Peak, seen = v, true
					}
				case idSpillover:
					d.Spillover += v
				}
			}
		}
		if aws.ToString(out.NextToken) == "" {
			return d, nil
		}
		in.NextToken = out.NextToken
	}
}

func query(id, metric string, stat types.Statistic, function, resource string) types.MetricDataQuery {
	return types.MetricDataQuery{
		Id: aws.String(id),
		MetricStat: &types.MetricStat{
			Metric: &types.Metric{
				Namespace:  aws.String(Namespace),
				MetricName: aws.String(metric),
				Dimensions: []types.Dimension{
					{Name: aws.String("FunctionName"), Value: aws.String(function)},
					{Name: aws.String("Resource"), Value: aws.String(resource)},
				},
			},
			Period: aws.Int32(int32(Period / time.Second)),
			Stat:   aws.String(string(stat)),
		},
		ReturnData: aws.Bool(true),
	}
}

// messages joins a result's messages for an error.
func messages(res types.MetricDataResult) string {
	s := fmt.Sprintf("metric %s answered %s", aws.ToString(res.Id), res.StatusCode)
	for _, m := range res.Messages {
		s += fmt.Sprintf("; %s: %s", aws.ToString(m.Code), aws.ToString(m.Value))
	}
	return s
}
