package handler_test

import (
	"slices"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/prewarm/prewarm/localaws"
	"github.com/prewarm/prewarm/results"
)

// TestAccountHeadroom: a value above what the account's unreserved
// concurrency allows is lowered to it, or rejected when nothing is left,
// and AWS is never asked for more.
func TestAccountHeadroom(t *testing.T) {
	// The built-in world reserves 50 (orders-worker) and holds 40 PC on
	// functions without a reservation: unreserved = total - 90.
	for _, tc := range []struct {
		name    string
		total   int
		outcome results.Outcome
		value   int64
	}{
		{"room for all", 1000, results.OutcomeApplied, 40},
		{"lowered to the headroom", 205, results.OutcomeApplied, 15}, // 115 unreserved - 100 minimum
		{"nothing left", 190, results.OutcomeRejected, 0},            // 100 unreserved, all of it the minimum
	} {
		t.Run(tc.name, func(t *testing.T) {
			e := newEnv(t, withWorld(func(w *localaws.World) { w.ConcurrentExecutions = tc.total }))
			if _, err := e.invoke([]byte(`{"functionName":"my-function","to":"GREEN","concurrency":40,"wait":false}`)); err != nil {
				t.Fatal(err)
			}
			got := e.drain("prewarm-results")
			if len(got) != 1 || got[0].Outcome != tc.outcome {
				t.Fatalf("results = %v, want one %s", outcomes(got), tc.outcome)
			}
			st := e.pc("my-function", "GREEN")
			if st.Requested != tc.value {
				t.Errorf("GREEN requests %d, want %d", st.Requested, tc.value)
			}
			clamped := got[0].Derivation != nil && slices.Contains(got[0].Derivation.ClampedBy, "unreservedConcurrency")
			if want := tc.value != 40; clamped != want {
				t.Errorf("clampedBy = %+v, want unreservedConcurrency recorded: %v", got[0].Derivation, want)
			}
			if tc.outcome == results.OutcomeRejected && !strings.Contains(got[0].Reason, "unreserved") {
				t.Errorf("reason %q does not name the account's unreserved concurrency", got[0].Reason)
			}
			wantPuts := int64(1)
			if tc.outcome == results.OutcomeRejected {
				wantPuts = 0
			}
			if n := e.srv.Stats().Operations["PutProvisionedConcurrencyConfig"].Requests; n != wantPuts {
				t.Errorf("%d Put requests, want %d: AWS is asked once, for what the account allows", n, wantPuts)
			}
		})
	}
}

// TestReservedFunctionDoesNotSpendAccountHeadroom: PC given to a function
// with its own reservation comes out of that reservation, so a later intent
// in the same invocation still sees the account's whole headroom.
func TestReservedFunctionDoesNotSpendAccountHeadroom(t *testing.T) {
	// 200 - 50 reserved - 35 held = 115 unreserved: 15 above the minimum.
	e := newEnv(t, withWorld(func(w *localaws.World) { w.ConcurrentExecutions = 200 }))
	// A FIFO source processes the records in order, the reserved one first.
	resp, err := e.invoke(sqsEvent(t, "prewarm-events.fifo",
		`{"functionName":"orders-worker","to":"live","concurrency":40,"wait":false}`,
		`{"functionName":"my-function","to":"GREEN","concurrency":10,"wait":false}`,
	))
	if err != nil {
		t.Fatal(err)
	}
	if failed := batchResponse(t, resp); len(failed) != 0 {
		t.Fatalf("failures: %v", failed)
	}
	if diff := cmp.Diff([]string{"orders-worker:live APPLIED", "my-function:GREEN APPLIED"}, outcomes(e.drain("prewarm-results"))); diff != "" {
		t.Fatalf("(-want +got):\n%s", diff)
	}
	if st := e.pc("orders-worker", "live"); st.Requested != 40 {
		t.Errorf("orders-worker:live = %d, want 40 from its reservation", st.Requested)
	}
	if st := e.pc("my-function", "GREEN"); st.Requested != 10 {
		t.Errorf("my-function:GREEN = %d, want 10: the reserved function's 40 must not count against the account", st.Requested)
	}
}

// TestConcurrentIntentsShareTheHeadroom: intents for different functions
// are applied at once, yet together they never take more than the
// account's headroom: each claims its share before its Put, so the last
// ones are lowered or rejected rather than FAILED by AWS.
func TestConcurrentIntentsShareTheHeadroom(t *testing.T) {
	// 205 in all, 90 held or reserved: 15 above the minimum of 100.
	e := newEnv(t, withWorld(func(w *localaws.World) { w.ConcurrentExecutions = 205 }))
	resp, err := e.invokeWithin(invocationBudget, sqsEvent(t, "prewarm-events",
		`{"functionName":"my-function","to":"GREEN","concurrency":6,"wait":false}`,
		`{"functionName":"checkout-api","to":"GREEN","concurrency":6,"wait":false}`,
		`{"functionName":"broken-function","to":"BLUE","concurrency":11,"wait":false}`,
	))
	if err != nil {
		t.Fatal(err)
	}
	if failed := batchResponse(t, resp); len(failed) != 0 {
		t.Fatalf("batchItemFailures = %v", failed)
	}
	var total int64
	for _, m := range e.drain("prewarm-results") {
		if m.Outcome == results.OutcomeFailed {
			t.Errorf("%s:%s FAILED (%s): the intents together asked AWS for more than the account has", m.FunctionName, m.Qualifier, m.Reason)
		}
	}
	for _, q := range []struct{ fn, q string }{{"my-function", "GREEN"}, {"checkout-api", "GREEN"}} {
		total += e.pc(q.fn, q.q).Requested
	}
	// broken-function:BLUE held 5 before; what it gained counts too.
	total += e.pc("broken-function", "BLUE").Requested - 5
	if total > 15 {
		t.Errorf("the three intents took %d, more than the 15 of headroom", total)
	}
}
