package handler

import (
	"bytes"
	"encoding/json"
	"github.com/google/go-cmp/cmp"
	"testing"
	"time"

	"github.com/prewarm/prewarm/provision"
	"github.com/prewarm/prewarm/results"
)

// TestMetricsAreEmbeddedMetricFormat checks the lines CloudWatch turns into
// metrics: a directive naming the metric and its dimension, and the values
// at the top level.
func TestMetricsAreEmbeddedMetricFormat(t *testing.T) {
	var buf bytes.Buffer
	m := NewMetrics(&buf, "prewarm")
	m.now = func() time.Time { return time.UnixMilli(1764072000000) }
	m.outcome(results.Message{Outcome: results.OutcomeReady})
	m.awsError(&provision.Error{Op: "PutProvisionedConcurrencyConfig", Code: "TooManyRequestsException"})
	m.ready(4200 * time.Millisecond)
	m.Retries(3)
	m.batchItemFailures(2)

	type directive struct {
		AWS struct {
			Timestamp         int64
			CloudWatchMetrics []struct {
				Namespace  string
				Dimensions [][]string
				Metrics    []struct{ Name, Unit string }
			}
		} `json:"_aws"`
	}
	// total: the metric is also recorded without dimensions, for alarms.
	want := []struct {
		dimension, value, metric, unit string
		n                              float64
		total                          bool
	}{
		{"Outcome", "READY", "Results", "Count", 1, false},
		{"ErrorCode", "TooManyRequestsException", "AWSErrors", "Count", 1, true},
		{"Operation", "PutProvisionedConcurrencyConfig", "Throttles", "Count", 1, true},
		{"Outcome", "READY", "TimeToReady", "Milliseconds", 4200, false},
		{"Service", "Lambda", "Retries", "Count", 3, false},
		{"", "", "BatchItemFailures", "Count", 2, true},
	}
	lines := bytes.Split(bytes.TrimSpace(buf.Bytes()), []byte("\n"))
	if len(lines) != len(want) {
		t.Fatalf("%d lines, want %d:\n%s", len(lines), len(want), buf.String())
	}
	for i, w := range want {
		var d directive
		var values map[string]any
		if err := json.Unmarshal(lines[i], &d); err != nil {
			t.Fatalf("line %d is not JSON: %v", i, err)
		}
		if err := json.Unmarshal(lines[i], &values); err != nil {
			t.Fatal(err)
		}
		if len(d.AWS.CloudWatchMetrics) != 1 {
			t.Fatalf("line %d: %s", i, lines[i])
		}
		cw := d.AWS.CloudWatchMetrics[0]
		var sets [][]string
		if w.dimension != "" {
			sets = append(sets, []string{w.dimension})
		}
		if w.total {
			sets = append(sets, []string{})
		}
		if d.AWS.Timestamp != 1764072000000 || cw.Namespace != "prewarm" || !cmp.Equal(cw.Dimensions, sets) ||
			len(cw.Metrics) != 1 || cw.Metrics[0].Name != w.metric || cw.Metrics[0].Unit != w.unit {
			t.Errorf("line %d directive = %+v, want %s by %v in %s", i, d.AWS, w.metric, sets, w.unit)
		}
		if w.dimension != "" && values[w.dimension] != w.value || values[w.metric] != w.n {
			t.Errorf("line %d values: %s=%v %s=%v, want %s and %v", i, w.dimension, values[w.dimension], w.metric, values[w.metric], w.value, w.n)
		}
	}
}

func TestNilMetricsWriteNothing(t *testing.T) {
	var m *Metrics
	m.outcome(results.Message{Outcome: results.OutcomeApplied})
	m.Retries(2)
}
