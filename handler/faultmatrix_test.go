package handler_test

import (
	"fmt"
	"slices"
	"testing"
	"time"

	"github.com/prewarm/prewarm/localaws"
	"github.com/prewarm/prewarm/localaws/lambdasim"
)

// TestNoReleaseLostUnderFaults runs switches with release through the SQS
// path while the operations a release depends on fail: the results queue's
// SendMessageBatch, the Get and Delete on the outgoing alias, the follow-up
// send. Records handed back are delivered again and follow-ups delivered
// when due, as the event source mapping does, until nothing is left. Every
// switch must end with its outgoing alias released and GREEN READY.
func TestNoReleaseLostUnderFaults(t *testing.T) {
	const switches = 20
	for _, tc := range []struct {
		name   string
		faults localaws.Faults
	}{
		{"results 5xx 90%", localaws.Faults{ErrorRate: localaws.Rates{"SendMessageBatch": 0.9}}},
		{"Delete and Get fail 50%", localaws.Faults{ErrorRate: localaws.Rates{"DeleteProvisionedConcurrencyConfig": 0.5, "GetProvisionedConcurrencyConfig": 0.3}}},
		{"follow-ups fail 50%, results 30%", localaws.Faults{ErrorRate: localaws.Rates{"SendMessage": 0.5, "SendMessageBatch": 0.3}}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			e := newEnv(t, withFaults(tc.faults), withEnv("WAIT_SECONDS", "6"), withWorld(func(w *localaws.World) {
				for i := range switches {
					w.Functions = append(w.Functions, lambdasim.Function{
						Name: fmt.Sprintf("checkout-switch-%02d", i), Versions: []string{"1", "2"},
						Aliases: map[string]string{"BLUE": "1", "GREEN": "2"}, ProvisionedConcurrency: map[string]int{"BLUE": 4},
						ReadyAfter: fmt.Sprintf("%ds", 3+i),
					})
				}
			}))
			var pending []string
			for i := range switches {
				pending = append(pending, fmt.Sprintf(`{"id":"switch-%02d","functionName":"checkout-switch-%02d","from":"BLUE","to":"GREEN","release":"delete"}`, i, i))
			}
			for round := 0; len(pending) > 0 && round < 200; round++ {
				var next []string
				for chunk := range slices.Chunk(pending, 10) {
					resp, err := e.invokeWithin(invocationBudget, sqsEvent(t, "prewarm-events", chunk...))
					if err != nil {
						t.Fatal(err)
					}
					for _, id := range batchResponse(t, resp) {
						var n int
						if _, err := fmt.Sscanf(id, "msg-%d", &n); err != nil {
							t.Fatalf("batch item %q", id)
						}
						next = append(next, chunk[n-1]) // handed back: delivered again
					}
				}
				e.clk.Advance(5 * time.Second)
				next = append(next, e.drainBodies("prewarm-followup")...)
				pending = next
			}
			if len(pending) > 0 {
				t.Fatalf("%d records still pending after 200 rounds", len(pending))
			}
			lost := 0
			for i := range switches {
				fn := fmt.Sprintf("checkout-switch-%02d", i)
				if st := e.pc(fn, "BLUE"); st.Exists {
					lost++
					t.Errorf("%s:BLUE = %+v: its release was lost", fn, st)
				}
				if st := e.pc(fn, "GREEN"); st.Requested != 4 || st.Status != "READY" {
					t.Errorf("%s:GREEN = %+v, want 4 READY", fn, st)
				}
			}
			t.Logf("%s: %d switches, %d releases lost", tc.name, switches, lost)
		})
	}
}
