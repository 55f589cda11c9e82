package demand_test

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/service/cloudwatch"
	"github.com/google/go-cmp/cmp"

	"github.com/prewarm/prewarm/awsfault"
	"github.com/prewarm/prewarm/demand"
	"github.com/prewarm/prewarm/derive"
	"github.com/prewarm/prewarm/localaws"
	"github.com/prewarm/prewarm/localaws/clock"
	"github.com/prewarm/prewarm/localaws/cloudwatchsim"
	"github.com/prewarm/prewarm/localaws/localawstest"
)

// TestReadFromEmulator reads a world-file series with the real CloudWatch client over
// Smithy RPC v2 CBOR, across pages, and sizes a target from it.
func TestReadFromEmulator(t *testing.T) {
	start := time.Date(2026, 3, 4, 10, 0, 30, 0, time.UTC)
	clk := clock.NewFake(start)
	world := localaws.DefaultWorld()
	peaks := make([]float64, 3000) // more than a day: the window cuts it
	for i := range peaks {
		peaks[i] = float64(i % 40)
	}
	peaks[2990] = 57 // ten minutes ago: inside the window
	peaks[10] = 500  // two days ago: outside it
	spill := make([]float64, 60)
	spill[30] = 4
	world.Metrics = []cloudwatchsim.Series{
		{Function: "my-function", Qualifier: "BLUE", Metric: demand.MetricConcurrent, Values: peaks},
		{Function: "my-function", Qualifier: "BLUE", Metric: demand.MetricSpillover, Values: spill},
		{Function: "my-function", Qualifier: "GREEN", Metric: demand.MetricConcurrent, Values: []float64{900}},
	}
	_, url := localawstest.Start(t, world, localaws.Options{Clock: clk})
	r := demand.New(cloudwatch.NewFromConfig(localaws.SDKConfig(url)), func(o *demand.Options) { o.Now = clk.Now })

	got, err := r.Read(context.Background(), "my-function", "BLUE", 24*time.Hour)
	if err != nil {
		t.Fatal(err)
	}
	want := derive.Demand{Qualifier: "BLUE", Peak: 57, Spillover: 4, Window: 24 * time.Hour, Datapoints: 1440}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("Read mismatch (-want +got):\n%s", diff)
	}
	d := derive.Decide(derive.Input{Strategy: derive.StrategyDemand, From: "BLUE", Mirror: ptr(10), Demand: &got})
	if d.Action != derive.ActionPut || d.Value != 82 || d.Demand == nil {
		t.Errorf("Decide = %+v, want a put of ceil(57 ÷ 0.7) = 82", d)
	}

	none, err := r.Read(context.Background(), "my-function", "OTHER", time.Hour)
	if err != nil || none.Datapoints != 0 {
		t.Errorf("an alias without metrics: %+v, %v", none, err)
	}
}

func TestReadFromEmulatorFaults(t *testing.T) {
	world := localaws.DefaultWorld()
	opts := localaws.Options{Faults: localaws.Faults{ErrorRate: localaws.Rates{"monitoring:GetMetricData": 1}}}
	_, url := localawstest.Start(t, world, opts)
	client := cloudwatch.NewFromConfig(localaws.SDKConfig(url), func(o *cloudwatch.Options) { o.RetryMaxAttempts = 1 })
	_, err := demand.New(client).Read(context.Background(), "my-function", "BLUE", time.Hour)
	// The client reports the query-compatible code of x-amzn-query-error.
	if err == nil || !awsfault.IsTransient(err) || awsfault.Code(err) != "InternalServiceError" {
		t.Errorf("Read under 5xx = %v (code %q), want a transient InternalServiceError", err, awsfault.Code(err))
	}
	if !strings.Contains(err.Error(), "Request processing has failed") {
		t.Errorf("error %q lost AWS's message", err)
	}
}

func ptr(v int64) *int64 { return &v }
