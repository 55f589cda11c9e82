package watch

import (
	"github.com/prewarm/prewarm/results"
)

// Expect says what ends a run beyond the terminal outcome of each target.
type Expect struct {
	// Release: the intent asked for the outgoing qualifier's release, so READY is followed by
	// a RELEASED result (or a failure of the release) before the run is over.
	Release bool
	// NoTracking: the intent asked for wait:false, so nothing follows APPLIED or UNCHANGED.
	NoTracking bool
}

// target is one function and qualifier a run has results for.
type target struct{ function, qualifier string }

// Run follows the results of one run to its end: every target it has results for has reached a
// terminal outcome and, when a release was asked, a RELEASED result followed READY.
type Run struct {
	expect  Expect
	order   []target
	last    map[target]results.Message
	ready   int // READY outcomes seen
	release int // RELEASED results of a qualifier other than one that became READY in this run
}

// NewRun returns a Run that expects what e says.
func NewRun(e Expect) *Run {
	return &Run{expect: e, last: map[target]results.Message{}}
}

// Add records m, a result of the run, in the order received.
func (r *Run) Add(m results.Message) {
	t := target{m.FunctionName, m.Qualifier}
	if _, ok := r.last[t]; !ok {
		r.order = append(r.order, t)
	}
	prev, had := r.last[t]
	// A late APPLIED never reopens a target already at its end.
	if had && r.terminal(prev) && !r.terminal(m) {
		return
	}
	r.last[t] = m
	switch m.Outcome {
	case results.OutcomeReady:
		r.ready++
	case results.OutcomeReleased:
		r.release++
	}
}

// terminal reports whether m ends its target's story for this run.
func (r *Run) terminal(m results.Message) bool {
	if r.expect.NoTracking && (m.Outcome == results.OutcomeApplied || m.Outcome == results.OutcomeUnchanged) {
		return true
	}
	return m.Terminal()
}

// Done reports whether the run is over: it has results, each target's latest is terminal, and
// a release asked for has been reported (or the run failed, after which nothing is released).
func (r *Run) Done() bool {
	if len(r.order) == 0 {
		return false
	}
	for _, t := range r.order {
		if !r.terminal(r.last[t]) {
			return false
		}
	}
	if r.expect.Release && r.Verdict().OK() && r.ready > 0 {
		return r.release > 0
	}
	return true
}

// Verdict is how a run ended.
type Verdict struct {
	// Outcome is the run's outcome: the most severe failure among its targets' latest results
	// (FAILED, then TIMED_OUT, REJECTED, SUPERSEDED), else READY when a target became READY,
	// else the first target's latest outcome.
	Outcome results.Outcome
	// Message is the result that decided Outcome; zero when the run has no results.
	Message results.Message
}

// OK reports whether the run succeeded.
func (v Verdict) OK() bool {
	switch v.Outcome {
	case results.OutcomeFailed, results.OutcomeTimedOut, results.OutcomeRejected, results.OutcomeSuperseded, "":
		return false
	}
	return true
}

// severity orders failures; success outcomes are 0.
var severity = map[results.Outcome]int{
	results.OutcomeFailed:     4,
	results.OutcomeTimedOut:   3,
	results.OutcomeRejected:   2,
	results.OutcomeSuperseded: 1,
}

// Verdict is the run's outcome so far.
func (r *Run) Verdict() Verdict {
	var failure, ready, first *results.Message
	for _, t := range r.order {
		m := r.last[t]
		switch {
		case severity[m.Outcome] > 0 && (failure == nil || severity[m.Outcome] > severity[failure.Outcome]):
			failure = &m
		case m.Outcome == results.OutcomeReady && ready == nil:
			ready = &m
		}
		if first == nil {
			first = &m
		}
	}
	for _, m := range []*results.Message{failure, ready, first} {
		if m != nil {
			return Verdict{Outcome: m.Outcome, Message: *m}
		}
	}
	return Verdict{}
}

// Targets is how many targets the run has results for.
func (r *Run) Targets() int { return len(r.order) }

// Released reports whether the run has a RELEASED result.
func (r *Run) Released() bool { return r.release > 0 }
