package handler_test

import (
	"strings"
	"testing"

	"github.com/prewarm/prewarm/localaws"
	"github.com/prewarm/prewarm/localaws/cloudwatchsim"
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
