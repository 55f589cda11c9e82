package cloudwatchsim

import (
	"context"
	"testing"
	"time"

	"github.com/aws/smithy-go/encoding/cbor"
)

// FuzzGetMetricDataCBOR checks that no request body makes the CBOR edge or the operation
// panic, and that every answer encodes.
func FuzzGetMetricDataCBOR(f *testing.F) {
	valid := cbor.Map{
		"StartTime": &cbor.Tag{ID: 1, Value: cbor.Float64(float64(start.Add(-time.Hour).Unix()))},
		"EndTime":   &cbor.Tag{ID: 1, Value: cbor.Uint(uint64(start.Unix()))},
		"NextToken": cbor.String("2"),
		"MetricDataQueries": cbor.List{cbor.Map{
			"Id": cbor.String("peak"), "ReturnData": cbor.Bool(true),
			"MetricStat": cbor.Map{"Period": cbor.Uint(60), "Stat": cbor.String("Maximum"),
				"Metric": cbor.Map{"Namespace": cbor.String("AWS/Lambda"), "MetricName": cbor.String("ConcurrentExecutions"),
					"Dimensions": cbor.List{cbor.Map{"Name": cbor.String("FunctionName"), "Value": cbor.String("my-function")}}}},
		}},
	}
	f.Add(cbor.Encode(valid))
	f.Add(cbor.Encode(cbor.Map{"MetricDataQueries": cbor.List{cbor.String("x")}}))
	f.Add([]byte{0xa1, 0x60})
	s := New(Config{PageSize: 2, Series: []Series{{Function: "my-function", Metric: "ConcurrentExecutions", Values: []float64{1, 2, 3}}}})
	f.Fuzz(func(t *testing.T, body []byte) {
		v, err := cbor.Decode(body)
		if err != nil {
			return
		}
		m, ok := v.(cbor.Map)
		if !ok {
			return
		}
		out, apiErr := s.getMetricDataCBOR(context.Background(), m)
		if apiErr != nil {
			if apiErr.Code == "" || apiErr.Status < 400 {
				t.Fatalf("error without a code or status: %+v", apiErr)
			}
			return
		}
		if len(cbor.Encode(out)) == 0 {
			t.Fatal("empty answer")
		}
	})
}
