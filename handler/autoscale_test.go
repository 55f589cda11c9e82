package handler_test

import (
	"context"
	"strings"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/google/go-cmp/cmp"

	"github.com/prewarm/prewarm/localaws"
	"github.com/prewarm/prewarm/localaws/autoscalingsim"
)

// withBlueAutoScaling registers a scalable target on checkout-api:BLUE
// (which holds 20 provisioned) with min, a target tracking policy and a
// scheduled action.
func withBlueAutoScaling(min int32, edits ...func(*localaws.World)) envOption {
	return withWorld(func(w *localaws.World) {
		for _, edit := range edits {
			edit(w)
		}
		w.ScalableTargets = []autoscalingsim.Target{{
			Function: "checkout-api", Qualifier: "BLUE", Min: min, Max: 45,
			Policies:         []autoscalingsim.Policy{{Name: "utilisation", TargetValue: 0.7}},
			ScheduledActions: []autoscalingsim.ScheduledAction{{Name: "nightly", Schedule: "cron(0 22 * * ? *)"}},
		}}
	})
}

// TestAutoScalingMovesWithTheSwitch: a switch whose outgoing alias has a
// scalable target carries it over once the new alias is READY — the same
// min and max, policies and scheduled actions on GREEN, none left on BLUE —
// and only then releases BLUE, so nothing scales BLUE back up.
func TestAutoScalingMovesWithTheSwitch(t *testing.T) {
	e := newEnv(t, withBlueAutoScaling(5))
	if _, err := e.invoke([]byte(`{"functionName":"checkout-api","from":"BLUE","to":"GREEN","release":"delete"}`)); err != nil {
		t.Fatal(err)
	}
	got := e.published("prewarm-results")
	if diff := cmp.Diff([]string{"checkout-api:GREEN APPLIED", "checkout-api:GREEN READY", "checkout-api:BLUE RELEASED"}, outcomes(got)); diff != "" {
		t.Fatalf("results (-want +got):\n%s", diff)
	}
	if !strings.Contains(got[2].Reason, "auto scaling (min 5, max 45, 1 policies, 1 scheduled actions) moved from BLUE to GREEN") {
		t.Errorf("RELEASED reason %q does not say auto scaling moved", got[2].Reason)
	}
	ctx := context.Background()
	green, err := e.autoScaling.Plan(ctx, "checkout-api", "GREEN")
	if err != nil || green.Empty() || aws.ToInt32(green.Target.MinCapacity) != 5 || aws.ToInt32(green.Target.MaxCapacity) != 45 ||
		len(green.Policies) != 1 || len(green.Actions) != 1 {
		t.Errorf("GREEN's auto scaling = %+v, %v; want BLUE's target, policy and action", green, err)
	}
	if green.Target != nil && green.Target.SuspendedState != nil && aws.ToBool(green.Target.SuspendedState.DynamicScalingInSuspended) {
		t.Error("GREEN's scale-in is still suspended after READY")
	}
	if blue, err := e.autoScaling.Plan(ctx, "checkout-api", "BLUE"); err != nil || !blue.Empty() {
		t.Errorf("BLUE's auto scaling = %+v, %v; want none left", blue, err)
	}
}

// TestAutoScalingMinimumInAMirror: the outgoing alias's scalable target
// holds it at a minimum above what it requested; the mirror takes that.
func TestAutoScalingMinimumInAMirror(t *testing.T) {
	e := newEnv(t, withBlueAutoScaling(30))
	if _, err := e.invoke([]byte(`{"functionName":"checkout-api","from":"BLUE","to":"GREEN","wait":false}`)); err != nil {
		t.Fatal(err)
	}
	got := e.published("prewarm-results")
	if len(got) != 1 || got[0].Derivation == nil || got[0].Derivation.Value != 30 || !got[0].Derivation.FromAutoScaling {
		t.Fatalf("results %+v, want APPLIED 30 from BLUE's auto scaling minimum", got)
	}
}

// TestFailedSwitchLeavesAutoScalingAlone: when the new alias never becomes
// READY, neither side's auto scaling changes.
func TestFailedSwitchLeavesAutoScalingAlone(t *testing.T) {
	e := newEnv(t, withBlueAutoScaling(5, func(w *localaws.World) {
		for i := range w.Functions {
			if w.Functions[i].Name == "checkout-api" {
				w.Functions[i].InitFailureVersions = []string{"2"}
			}
		}
	}))
	if _, err := e.invoke([]byte(`{"functionName":"checkout-api","from":"BLUE","to":"GREEN","release":"delete"}`)); err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	if green, err := e.autoScaling.Plan(ctx, "checkout-api", "GREEN"); err != nil || !green.Empty() {
		t.Errorf("GREEN's auto scaling = %+v, %v; want none", green, err)
	}
	if blue, err := e.autoScaling.Plan(ctx, "checkout-api", "BLUE"); err != nil || blue.Empty() {
		t.Errorf("BLUE's auto scaling = %+v, %v; want it kept", blue, err)
	}
}

// TestReconcileReportsStrayScalableTarget: a scalable target on an alias
// that holds no provisioned concurrency (its switch released it) is
// reported by reconcile with the command that removes it, and nothing is
// changed.
func TestReconcileReportsStrayScalableTarget(t *testing.T) {
	e := newEnv(t, withWorld(func(w *localaws.World) {
		w.ScalableTargets = []autoscalingsim.Target{{Function: "checkout-api", Qualifier: "GREEN", Min: 1, Max: 10}}
	}))
	got := e.reconcile()
	var found bool
	for _, m := range got {
		if m.FunctionName == "checkout-api" && m.Qualifier == "GREEN" {
			found = m.Outcome == "DRY_RUN" && strings.Contains(m.Reason, "deregister-scalable-target")
			if !found {
				t.Errorf("checkout-api:GREEN result %+v, want a DRY_RUN naming the command", m)
			}
		}
	}
	if !found {
		t.Errorf("results %v: no report of the scalable target on checkout-api:GREEN", outcomes(got))
	}
	if plan, err := e.autoScaling.Plan(context.Background(), "checkout-api", "GREEN"); err != nil || plan.Empty() {
		t.Errorf("GREEN's scalable target = %+v, %v; want it left in place", plan, err)
	}
}

// TestAutoScalingMovesWithoutARelease: a switch that keeps its outgoing
// alias's PC still moves the auto scaling to the alias taking the traffic.
func TestAutoScalingMovesWithoutARelease(t *testing.T) {
	e := newEnv(t, withBlueAutoScaling(5))
	if _, err := e.invoke([]byte(`{"functionName":"checkout-api","from":"BLUE","to":"GREEN"}`)); err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff([]string{"checkout-api:GREEN APPLIED", "checkout-api:GREEN READY"}, outcomes(e.published("prewarm-results"))); diff != "" {
		t.Fatalf("results (-want +got):\n%s", diff)
	}
	if green, err := e.autoScaling.Plan(context.Background(), "checkout-api", "GREEN"); err != nil || green.Empty() {
		t.Errorf("GREEN's auto scaling = %+v, %v; want BLUE's", green, err)
	}
	if st := e.pc("checkout-api", "BLUE"); st.Requested != 20 {
		t.Errorf("BLUE = %+v, want its 20 kept (no release asked)", st)
	}
}
