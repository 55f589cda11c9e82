package handler_test

import (
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/prewarm/prewarm/localaws"
	"github.com/prewarm/prewarm/localaws/cloudwatchsim"
	"github.com/prewarm/prewarm/results"
)

// TestDemandStrategySizesFromWhatRan: a switch with strategy demand sizes
// the target from the outgoing alias's peak ConcurrentExecutions in
// CloudWatch, ceil(peak ÷ 0.7), recording the metrics in the derivation;
// without data it mirrors, saying so.
func TestDemandStrategySizesFromWhatRan(t *testing.T) {
	const body = `{"functionName":"checkout-api","from":"BLUE","to":"GREEN","strategy":"demand","wait":false}`
	t.Run("peak of 14", func(t *testing.T) {
		e := newEnv(t, withWorld(func(w *localaws.World) {
			w.Metrics = []cloudwatchsim.Series{{Function: "checkout-api", Qualifier: "BLUE", Metric: "ConcurrentExecutions", Values: []float64{3, 14, 9, 6}}}
		}))
		if _, err := e.invoke([]byte(body)); err != nil {
			t.Fatal(err)
		}
		got := e.published("prewarm-results")
		if len(got) != 1 || got[0].Derivation == nil {
			t.Fatalf("results %v, want one APPLIED with a derivation", outcomes(got))
		}
		d := got[0].Derivation
		if d.Strategy != "demand" || d.Base != 20 || d.Value != 20 || d.Demand == nil || d.Demand.Peak != 14 || d.Demand.Datapoints != 4 {
			t.Errorf("derivation %+v (demand %+v), want demand: peak 14 over 4 datapoints, base and value 20", d, d.Demand)
		}
		if st := e.pc("checkout-api", "GREEN"); st.Requested != 20 {
			t.Errorf("GREEN = %+v, want 20", st)
		}
	})
	t.Run("no data", func(t *testing.T) {
		e := newEnv(t)
		if _, err := e.invoke([]byte(body)); err != nil {
			t.Fatal(err)
		}
		got := e.published("prewarm-results")
		if len(got) != 1 || got[0].Derivation == nil || got[0].Derivation.Strategy != "mirror" || got[0].Derivation.Value != 20 ||
			!strings.Contains(got[0].Derivation.Fallback, "mirror") {
			t.Fatalf("results %+v, want a mirror of BLUE's 20 saying it fell back", got)
		}
	})
}

// TestDemandDerivationCarriedThroughFollowUps: the READY that a follow-up
// publishes gives the same derivation as the APPLIED before it — the
// demand read, or the fallback.
func TestDemandDerivationCarriedThroughFollowUps(t *testing.T) {
	for _, tt := range []struct {
		name   string
		series []cloudwatchsim.Series
	}{
		{"peak of 14", []cloudwatchsim.Series{{Function: "checkout-api", Qualifier: "BLUE", Metric: "ConcurrentExecutions", Values: []float64{3, 14, 9, 6}}}},
		{"no data", nil},
	} {
		t.Run(tt.name, func(t *testing.T) {
			e := newEnv(t, withEnv("WAIT_SECONDS", "2"), withWorld(func(w *localaws.World) {
				w.ReadyAfter = localaws.Duration(20 * time.Second)
				w.Metrics = tt.series
			}))
			if _, err := e.invoke([]byte(`{"functionName":"checkout-api","from":"BLUE","to":"GREEN","strategy":"demand","wait":true}`)); err != nil {
				t.Fatal(err)
			}
			first := e.published("prewarm-results")
			if len(first) != 1 || first[0].Outcome != results.OutcomeApplied || first[0].Derivation == nil {
				t.Fatalf("first invocation %v, want one APPLIED with a derivation", outcomes(first))
			}
			var ready *results.Message
			for attempt := 1; attempt <= 10 && ready == nil; attempt++ {
				bodies := e.followUps(t)
				if len(bodies) != 1 {
					t.Fatalf("attempt %d: %d follow-ups, want 1", attempt, len(bodies))
				}
				if _, err := e.invoke(sqsEvent(t, "prewarm-followup", bodies[0])); err != nil {
					t.Fatal(err)
				}
				for _, m := range e.published("prewarm-results") {
					if m.Outcome == results.OutcomeReady {
						ready = &m
					}
				}
			}
			if ready == nil {
				t.Fatal("no READY after 10 follow-ups")
			}
			if diff := cmp.Diff(first[0].Derivation, ready.Derivation); diff != "" {
				t.Errorf("READY's derivation differs from APPLIED's (-applied +ready):\n%s", diff)
			}
		})
	}
}
