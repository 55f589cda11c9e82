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
	if m == nil {
		return
	}
	doc := map[string]any{
		"_aws": map[string]any{
			"Timestamp": m.now().UnixMilli(),
			"CloudWatchMetrics": []map[string]any{{
				"Namespace":  m.namespace,
				"Dimensions": [][]string{{dimension}},
				"Metrics":    []emfMetric{{Name: name, Unit: unit}},
			}},
		},
		dimension: value,
		name:      v,
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
	m.emit("ErrorCode", code, "AWSErrors", "Count", 1)
	if code == "TooManyRequestsException" {
		m.emit("Operation", e.Op, "Throttles", "Count", 1)
	}
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
