package watch_test

import (
	"testing"

	"github.com/prewarm/prewarm/results"
	"github.com/prewarm/prewarm/results/watch"
)

func TestRun(t *testing.T) {
	applied := result("a", "c", "GREEN", results.OutcomeApplied)
	ready := result("a", "c", "GREEN", results.OutcomeReady)
	released := result("a", "c", "BLUE", results.OutcomeReleased)
	failed := result("a", "c", "GREEN", results.OutcomeFailed)
	unchanged := func(status string) results.Message {
		m := result("a", "c", "GREEN", results.OutcomeUnchanged)
		m.Response = &results.Response{Status: status}
		return m
	}
	otherTarget := result("b", "c", "live", results.OutcomeApplied)
	otherTarget.FunctionName = "orders-worker"
	for _, tt := range []struct {
		name    string
		expect  watch.Expect
		msgs    []results.Message
		done    bool
		outcome results.Outcome
		ok      bool
	}{
		{"nothing yet", watch.Expect{}, nil, false, "", false},
		{"applied", watch.Expect{}, []results.Message{applied}, false, results.OutcomeApplied, true},
		{"ready", watch.Expect{}, []results.Message{applied, ready}, true, results.OutcomeReady, true},
		{"ready, release pending", watch.Expect{Release: true}, []results.Message{applied, ready}, false, results.OutcomeReady, true},
		{"ready and released", watch.Expect{Release: true}, []results.Message{applied, ready, released}, true, results.OutcomeReady, true},
		{"failed: no release follows", watch.Expect{Release: true}, []results.Message{applied, failed}, true, results.OutcomeFailed, false},
		{"late applied does not reopen", watch.Expect{}, []results.Message{ready, applied}, true, results.OutcomeReady, true},
		{"unchanged ready", watch.Expect{}, []results.Message{unchanged("READY")}, true, results.OutcomeUnchanged, true},
		{"unchanged ready: nothing to release", watch.Expect{Release: true}, []results.Message{unchanged("READY")}, true, results.OutcomeUnchanged, true},
		{"unchanged in progress is followed", watch.Expect{}, []results.Message{unchanged("IN_PROGRESS")}, false, results.OutcomeUnchanged, true},
		{"unchanged in progress, not tracked", watch.Expect{NoTracking: true}, []results.Message{unchanged("IN_PROGRESS")}, true, results.OutcomeUnchanged, true},
		{"applied, not tracked", watch.Expect{NoTracking: true}, []results.Message{applied}, true, results.OutcomeApplied, true},
		{"concurrency 0", watch.Expect{}, []results.Message{result("a", "c", "GREEN", results.OutcomeReleased)}, true, results.OutcomeReleased, true},
		{"rejected", watch.Expect{}, []results.Message{result("a", "c", "", results.OutcomeRejected)}, true, results.OutcomeRejected, false},
		{"a second target still open", watch.Expect{}, []results.Message{applied, ready, otherTarget}, false, results.OutcomeReady, true},
		{"worst of two targets", watch.Expect{}, []results.Message{ready, result("b", "c", "BLUE", results.OutcomeTimedOut)}, true, results.OutcomeTimedOut, false},
		{"failed over superseded", watch.Expect{}, []results.Message{result("b", "c", "BLUE", results.OutcomeSuperseded), failed}, true, results.OutcomeFailed, false},
	} {
		t.Run(tt.name, func(t *testing.T) {
			r := watch.NewRun(tt.expect)
			for _, m := range tt.msgs {
				r.Add(m)
			}
			v := r.Verdict()
			if r.Done() != tt.done || v.Outcome != tt.outcome || v.OK() != tt.ok {
				t.Errorf("Done, Verdict, OK = %v, %s, %v; want %v, %s, %v", r.Done(), v.Outcome, v.OK(), tt.done, tt.outcome, tt.ok)
			}
		})
	}
}
