package handler

import (
	"encoding/json"
	"errors"
	"io"
	"sync"
	"time"

	"github.com/prewarm/prewarm/provision"
	"github.com/prewarm/prewarm/results"
)

// Metrics writes CloudWatch Embedded Metric Format lines, which Lambda's log
// pipeline turns into metrics without any API call. A nil *Metrics writes
// nothing.
type Metrics struct {
	mu        sync.Mutex
	w         io.Writer
	namespace string
	now       func() time.Time
}

// NewMetrics writes EMF lines to w (the function's stdout) in namespace.
func NewMetrics(w io.Writer, namespace string) *Metrics {
	return &Metrics{w: w, namespace: namespace, now: time.Now}
}

type emfMetric struct {
	Name string `json:"Name"`
	Unit string `json:"Unit"`
}

func (m *Metrics) emit(dimension, value string, name, unit string, v float64) {
	m.emitSets([][]string{{dimension}}, dimension, value, name, unit, v)
}

// emitTotal is emit that also records the metric without dimensions, the
// total an alarm watches.
func (m *Metrics) emitTotal(dimension, value string, name, unit string, v float64) {
	m.emitSets([][]string{{dimension}, {}}, dimension, value, name, unit, v)
}

func (m *Metrics) emitSets(sets [][]string, dimension, value string, name, unit string, v float64) {
	if m == nil {
		return
	}
	doc := map[string]any{
		"_aws": map[string]any{
			"Timestamp": m.now().UnixMilli(),
			"CloudWatchMetrics": []map[string]any{{
				"Namespace":  m.namespace,
				"Dimensions": sets,
				"Metrics":    []emfMetric{{Name: name, Unit: unit}},
			}},
		},
		name: v,
	}
	if dimension != "" {
		doc[dimension] = value
	}
	line, err := json.Marshal(doc)
	if err != nil {
		return
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	_, _ = m.w.Write(append(line, '\n'))
}

func (m *Metrics) outcome(msg results.Message) {
	m.emit("Outcome", string(msg.Outcome), "Results", "Count", 1)
}

func (m *Metrics) publishFailed() {
	m.emit("Outcome", "PUBLISH_FAILED", "Results", "Count", 1)
}

func (m *Metrics) awsError(err error) {
	var e *provision.Error
	code := "Unknown"
	if errors.As(err, &e) {
		code = e.Code
	}
	m.emitTotal("ErrorCode", code, "AWSErrors", "Count", 1)
	if code == "TooManyRequestsException" {
		m.emitTotal("Operation", e.Op, "Throttles", "Count", 1)
	}
}

// batchItemFailures records how many records of an SQS batch were handed
// back; an alarm watches the total.
func (m *Metrics) batchItemFailures(n int) {
	if m == nil || n == 0 {
		return
	}
	m.emitSets([][]string{{}}, "", "", "BatchItemFailures", "Count", float64(n))
}

func (m *Metrics) ready(elapsed time.Duration) {
	m.emit("Outcome", string(results.OutcomeReady), "TimeToReady", "Milliseconds", float64(elapsed.Milliseconds()))
}

// Retries records the control-plane retries of one invocation.
func (m *Metrics) Retries(n int64) {
	if n > 0 {
		m.emit("Service", "Lambda", "Retries", "Count", float64(n))
	}
}
