package derive

import (
	"math"
	"math/big"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/google/go-cmp/cmp/cmpopts"
)

func p64(v int64) *int64      { return &v }
func pf(v float64) *float64   { return &v }
func none() []string          { return []string{} }
func by(c ...string) []string { return c }

func demand(peak, spill float64, points int) *Demand {
	return &Demand{Qualifier: "BLUE", Peak: peak, Spillover: spill, Window: DefaultWindow, Datapoints: points}
}

func used(peak, spill float64, points int, u float64) *DemandUsed {
	return &DemandUsed{Qualifier: "BLUE", Peak: peak, Spillover: spill, Window: DefaultWindow, Utilisation: u, Datapoints: points}
}

func usedRaised(peak, spill float64, points int, u float64) *DemandUsed {
	d := used(peak, spill, points, u)
	d.RaisedBySpillover = true
	return d
}

func TestDecide(t *testing.T) {
	const maxI32 = 1<<31 - 1
	ready := func(n int64) State { return State{Requested: n, Status: StatusReady} }
	tests := []struct {
		name   string
		in     Input
		want   Decision // Reason is checked with reason
		reason string   // substring of Reason; "" means Reason must be empty
	}{
		// Base: explicit.
		{
			name: "explicit",
			in:   Input{Explicit: p64(40)},
			want: Decision{Action: ActionPut, Strategy: StrategyExplicit, Base: 40, Scale: 1, Value: 40, ClampedBy: none()},
		},
		{
			name:   "explicit ignores the intent's scale and says so",
			in:     Input{Explicit: p64(40), Scale: 2, Mirror: p64(7), From: "BLUE"},
			want:   Decision{Action: ActionPut, Strategy: StrategyExplicit, Base: 40, Scale: 1, Value: 40, ClampedBy: none()},
			reason: "scale ignored: an explicit concurrency is used as given",
		},
		{
			name:   "explicit ignores the policy's scale and says so",
			in:     Input{Explicit: p64(40), Policy: &Rule{Default: p64(5), Scale: pf(3)}},
			want:   Decision{Action: ActionPut, Strategy: StrategyExplicit, Base: 40, Scale: 1, Value: 40, ClampedBy: none()},
			reason: "scale ignored",
		},
		{
			name:   "explicit 0 deletes",
			in:     Input{Explicit: p64(0), Target: ready(10)},
			want:   Decision{Action: ActionDelete, Strategy: StrategyExplicit, Scale: 1, ClampedBy: none()},
			reason: "explicit concurrency 0 removes the target's provisioned concurrency",
		},
		{
			name:   "explicit 0 deletes a FAILED allocation",
			in:     Input{Explicit: p64(0), Target: State{Requested: 10, Status: StatusFailed}},
			want:   Decision{Action: ActionDelete, Strategy: StrategyExplicit, Scale: 1, ClampedBy: none()},
			reason: "removes",
		},
		{
			name:   "explicit 0 with nothing to delete is unchanged",
			in:     Input{Explicit: p64(0), Min: p64(5)},
			want:   Decision{Action: ActionUnchanged, Strategy: StrategyExplicit, Scale: 1, ClampedBy: none()},
			reason: "the target holds no provisioned concurrency",
		},
		{
			name:   "negative explicit is rejected",
			in:     Input{Explicit: p64(-1)},
			want:   Decision{Action: ActionReject, Strategy: StrategyExplicit, Base: -1, Scale: 1, ClampedBy: none()},
			reason: "explicit concurrency -1 is negative",
		},

		// Base: mirror and policy.
		{
			name: "mirror",
			in:   Input{From: "BLUE", Mirror: p64(40), Policy: &Rule{Default: p64(5)}},
			want: Decision{Action: ActionPut, Strategy: StrategyMirror, From: "BLUE", Base: 40, Scale: 1, Value: 40, ClampedBy: none()},
		},
		{
			name: "mirror with the intent's scale",
			in:   Input{From: "BLUE", Mirror: p64(40), Scale: 1.5},
			want: Decision{Action: ActionPut, Strategy: StrategyMirror, From: "BLUE", Base: 40, Scale: 1.5, Value: 60, ClampedBy: none()},
		},
		{
			name: "mirror with the policy's scale",
			in:   Input{From: "BLUE", Mirror: p64(40), Policy: &Rule{Scale: pf(0.5)}},
			want: Decision{Action: ActionPut, Strategy: StrategyMirror, From: "BLUE", Base: 40, Scale: 0.5, Value: 20, ClampedBy: none()},
		},
		{
			name: "the intent's scale beats the policy's",
			in:   Input{From: "BLUE", Mirror: p64(10), Scale: 3, Policy: &Rule{Scale: pf(2)}},
			want: Decision{Action: ActionPut, Strategy: StrategyMirror, From: "BLUE", Base: 10, Scale: 3, Value: 30, ClampedBy: none()},
		},
		{
			name: "10 × 1.1 is 11, not 12 (no float trap)",
			in:   Input{From: "BLUE", Mirror: p64(10), Scale: 1.1},
			want: Decision{Action: ActionPut, Strategy: StrategyMirror, From: "BLUE", Base: 10, Scale: 1.1, Value: 11, ClampedBy: none()},
		},
		{
			name: "3 × 0.1 rounds up to 1",
			in:   Input{From: "BLUE", Mirror: p64(3), Scale: 0.1},
			want: Decision{Action: ActionPut, Strategy: StrategyMirror, From: "BLUE", Base: 3, Scale: 0.1, Value: 1, ClampedBy: none()},
		},
		{
			name: "7 × 0.3 is 2.1, rounded up to 3",
			in:   Input{From: "BLUE", Mirror: p64(7), Scale: 0.3},
			want: Decision{Action: ActionPut, Strategy: StrategyMirror, From: "BLUE", Base: 7, Scale: 0.3, Value: 3, ClampedBy: none()},
		},
		{
			name: "a tiny scale rounds up to 1",
			in:   Input{From: "BLUE", Mirror: p64(1), Scale: 5e-324},
			want: Decision{Action: ActionPut, Strategy: StrategyMirror, From: "BLUE", Base: 1, Scale: 5e-324, Value: 1, ClampedBy: none()},
		},
		{
			name: "a mirror of 0 counts as none: policy default",
			in:   Input{From: "BLUE", Mirror: p64(0), Policy: &Rule{Default: p64(8)}},
			want: Decision{Action: ActionPut, Strategy: StrategyPolicy, Base: 8, Scale: 1, Value: 8, ClampedBy: none()},
		},
		{
			name: "policy default with the policy's scale",
			in:   Input{Policy: &Rule{Default: p64(10), Scale: pf(2.5)}},
			want: Decision{Action: ActionPut, Strategy: StrategyPolicy, Base: 10, Scale: 2.5, Value: 25, ClampedBy: none()},
		},
		{
			name:   "nothing to derive from, with a from that holds none",
			in:     Input{From: "BLUE", Policy: &Rule{Max: p64(10)}},
			want:   Decision{Action: ActionReject, Scale: 1, ClampedBy: none()},
			reason: "no concurrency could be derived: no explicit concurrency, BLUE holds no provisioned concurrency to mirror, no policy default",
		},
		{
			name:   "nothing to derive from at all",
			in:     Input{},
			want:   Decision{Action: ActionReject, Scale: 1, ClampedBy: none()},
			reason: "no concurrency could be derived: no explicit concurrency, no from to mirror, no policy default",
		},
		{
			name:   "policy default below 1 is rejected",
			in:     Input{Policy: &Rule{Default: p64(0)}},
			want:   Decision{Action: ActionReject, Strategy: StrategyPolicy, Scale: 1, ClampedBy: none()},
			reason: "policy default 0 is less than 1",
		},

		// Scale defended.
		{
			name:   "NaN scale",
			in:     Input{Mirror: p64(10), Scale: math.NaN()},
			want:   Decision{Action: ActionReject, Strategy: StrategyMirror, Base: 10, Scale: 1, ClampedBy: none()},
			reason: "scale NaN is not a finite number greater than 0",
		},
		{
			name:   "infinite scale",
			in:     Input{Mirror: p64(10), Scale: math.Inf(1)},
			want:   Decision{Action: ActionReject, Strategy: StrategyMirror, Base: 10, Scale: 1, ClampedBy: none()},
			reason: "scale +Inf is not a finite number greater than 0",
		},
		{
			name:   "negative scale",
			in:     Input{Mirror: p64(10), Scale: -1},
			want:   Decision{Action: ActionReject, Strategy: StrategyMirror, Base: 10, Scale: 1, ClampedBy: none()},
			reason: "scale -1 is not a finite number",
		},
		{
			name:   "policy scale 0",
			in:     Input{Policy: &Rule{Default: p64(10), Scale: pf(0)}},
			want:   Decision{Action: ActionReject, Strategy: StrategyPolicy, Base: 10, Scale: 1, ClampedBy: none()},
			reason: "scale 0 is not a finite number",
		},

		// Saturation.
		{
			name:   "a huge scale saturates, then MAX_CONCURRENCY caps",
			in:     Input{Mirror: p64(100), Scale: 1e308, MaxConcurrency: 1000},
			want:   Decision{Action: ActionPut, Strategy: StrategyMirror, Base: 100, Scale: 1e308, Value: 1000, ClampedBy: by(ClampMaxConc)},
			reason: "exceeds 2147483647 and saturated; lowered from 2147483647 to 1000 by MAX_CONCURRENCY",
		},
		{
			name:   "int32 overflow: 2^31-1 × 2 saturates",
			in:     Input{Mirror: p64(maxI32), Scale: 2, MaxConcurrency: maxI32},
			want:   Decision{Action: ActionPut, Strategy: StrategyMirror, Base: maxI32, Scale: 2, Value: maxI32, ClampedBy: none()},
			reason: "saturated",
		},
		{
			name:   "a base beyond int32 saturates",
			in:     Input{Mirror: p64(math.MaxInt64), MaxConcurrency: maxI32},
			want:   Decision{Action: ActionPut, Strategy: StrategyMirror, Base: maxI32, Scale: 1, Value: maxI32, ClampedBy: none()},
			reason: "base 9223372036854775807 saturated to 2147483647",
		},
		{
			name:   "MAX_CONCURRENCY defaults to 100",
			in:     Input{Explicit: p64(maxI32)},
			want:   Decision{Action: ActionPut, Strategy: StrategyExplicit, Base: maxI32, Scale: 1, Value: 100, ClampedBy: by(ClampMaxConc)},
			reason: "lowered from 2147483647 to 100 by MAX_CONCURRENCY",
		},
		{
			name: "exactly MAX_CONCURRENCY is not clamped",
			in:   Input{Explicit: p64(100)},
			want: Decision{Action: ActionPut, Strategy: StrategyExplicit, Base: 100, Scale: 1, Value: 100, ClampedBy: none()},
		},
		{
			name:   "one above MAX_CONCURRENCY is clamped",
			in:     Input{Explicit: p64(101)},
			want:   Decision{Action: ActionPut, Strategy: StrategyExplicit, Base: 101, Scale: 1, Value: 100, ClampedBy: by(ClampMaxConc)},
			reason: "lowered from 101 to 100",
		},

		// Min and max.
		{
			name:   "intent min raises",
			in:     Input{Mirror: p64(10), Min: p64(50)},
			want:   Decision{Action: ActionPut, Strategy: StrategyMirror, Base: 10, Scale: 1, Value: 50, ClampedBy: by(ClampIntentMin)},
			reason: "raised from 10 to 50 by the intent's min",
		},
		{
			name:   "the larger min wins: policy",
			in:     Input{Mirror: p64(10), Min: p64(50), Policy: &Rule{Min: p64(60)}},
			want:   Decision{Action: ActionPut, Strategy: StrategyMirror, Base: 10, Scale: 1, Value: 60, ClampedBy: by(ClampPolicyMin)},
			reason: "raised from 10 to 60 by the policy's min",
		},
		{
			name:   "equal mins record the intent's",
			in:     Input{Mirror: p64(10), Min: p64(50), Policy: &Rule{Min: p64(50)}},
			want:   Decision{Action: ActionPut, Strategy: StrategyMirror, Base: 10, Scale: 1, Value: 50, ClampedBy: by(ClampIntentMin)},
			reason: "raised",
		},
		{
			name: "a min below the value changes nothing",
			in:   Input{Mirror: p64(10), Min: p64(10), Policy: &Rule{Min: p64(3)}},
			want: Decision{Action: ActionPut, Strategy: StrategyMirror, Base: 10, Scale: 1, Value: 10, ClampedBy: none()},
		},
		{
			name:   "intent max lowers",
			in:     Input{Explicit: p64(40), Max: p64(30)},
			want:   Decision{Action: ActionPut, Strategy: StrategyExplicit, Base: 40, Scale: 1, Value: 30, ClampedBy: by(ClampIntentMax)},
			reason: "lowered from 40 to 30 by the intent's max",
		},
		{
			name:   "the smaller max wins: policy",
			in:     Input{Explicit: p64(40), Max: p64(30), Policy: &Rule{Max: p64(20)}},
			want:   Decision{Action: ActionPut, Strategy: StrategyExplicit, Base: 40, Scale: 1, Value: 20, ClampedBy: by(ClampPolicyMax)},
			reason: "lowered from 40 to 20 by the policy's max",
		},
		{
			name:   "min above max: max wins",
			in:     Input{Mirror: p64(10), Min: p64(50), Policy: &Rule{Max: p64(20)}},
			want:   Decision{Action: ActionPut, Strategy: StrategyMirror, Base: 10, Scale: 1, Value: 20, ClampedBy: by(ClampIntentMin, ClampPolicyMax)},
			reason: "min 50 exceeds max 20: max wins",
		},
		{
			name:   "max 0 leaves nothing",
			in:     Input{Explicit: p64(5), Max: p64(0)},
			want:   Decision{Action: ActionReject, Strategy: StrategyExplicit, Base: 5, Scale: 1, Value: 0, ClampedBy: by(ClampIntentMax)},
			reason: "intent.max leaves 0: nothing to provision (use concurrency 0 to remove provisioned concurrency)",
		},
		{
			name:   "clamps apply in order: min, max, MAX_CONCURRENCY, reservation",
			in:     Input{Mirror: p64(10), Min: p64(500), Policy: &Rule{Max: p64(300)}, MaxConcurrency: 200, Limits: Limits{Reserved: p64(150)}},
			want:   Decision{Action: ActionPut, Strategy: StrategyMirror, Base: 10, Scale: 1, Value: 150, ClampedBy: by(ClampIntentMin, ClampPolicyMax, ClampMaxConc, ClampReserved)},
			reason: "raised from 10 to 500 by the intent's min; min 500 exceeds max 300: max wins; lowered from 500 to 300 by the policy's max; lowered from 300 to 200 by MAX_CONCURRENCY; lowered from 200 to 150 by the function's reserved concurrency",
		},

		// Guardrails: reservation.
		{
			name: "reservation: exactly the room left",
			in:   Input{Explicit: p64(40), Limits: Limits{Reserved: p64(100), OtherQualifiersPC: 60}},
			want: Decision{Action: ActionPut, Strategy: StrategyExplicit, Base: 40, Scale: 1, Value: 40, ClampedBy: none()},
		},
		{
			name:   "reservation: one above the room left",
			in:     Input{Explicit: p64(41), Limits: Limits{Reserved: p64(100), OtherQualifiersPC: 60}},
			want:   Decision{Action: ActionPut, Strategy: StrategyExplicit, Base: 41, Scale: 1, Value: 40, ClampedBy: by(ClampReserved)},
			reason: "lowered from 41 to 40 by the function's reserved concurrency less its other qualifiers' provisioned concurrency",
		},
		{
			name:   "reservation used up by other qualifiers",
			in:     Input{Explicit: p64(10), Limits: Limits{Reserved: p64(100), OtherQualifiersPC: 100}},
			want:   Decision{Action: ActionReject, Strategy: StrategyExplicit, Base: 10, Scale: 1, Value: 0, ClampedBy: by(ClampReserved)},
			reason: "the function's reserved concurrency 100 minus 100 held by its other qualifiers leaves no room for provisioned concurrency",
		},
		{
			name:   "reservation of 0",
			in:     Input{Explicit: p64(10), Limits: Limits{Reserved: p64(0), Unreserved: p64(900)}},
			want:   Decision{Action: ActionReject, Strategy: StrategyExplicit, Base: 10, Scale: 1, Value: 0, ClampedBy: by(ClampReserved)},
			reason: "reserved concurrency 0 minus 0",
		},
		{
			name: "with a reservation the unreserved guardrail does not apply",
			in:   Input{Explicit: p64(50), Limits: Limits{Reserved: p64(100), Unreserved: p64(100)}},
			want: Decision{Action: ActionPut, Strategy: StrategyExplicit, Base: 50, Scale: 1, Value: 50, ClampedBy: none()},
		},

		// Guardrails: unreserved.
		{
			name: "unreserved: exactly the room above the minimum",
			in:   Input{Explicit: p64(50), Limits: Limits{Unreserved: p64(150)}},
			want: Decision{Action: ActionPut, Strategy: StrategyExplicit, Base: 50, Scale: 1, Value: 50, ClampedBy: none()},
		},
		{
			name:   "unreserved: one above the room",
			in:     Input{Explicit: p64(51), Limits: Limits{Unreserved: p64(150)}},
			want:   Decision{Action: ActionPut, Strategy: StrategyExplicit, Base: 51, Scale: 1, Value: 50, ClampedBy: by(ClampUnreserved)},
			reason: "lowered from 51 to 50 by the account's unreserved concurrency above its minimum",
		},
		{
			name: "unreserved: what the target holds counts as room",
			in:   Input{Explicit: p64(80), Target: ready(30), Limits: Limits{Unreserved: p64(150)}},
			want: Decision{Action: ActionPut, Strategy: StrategyExplicit, Base: 80, Scale: 1, Value: 80, ClampedBy: none()},
		},
		{
			name:   "unreserved: custom minimum",
			in:     Input{Explicit: p64(80), Limits: Limits{Unreserved: p64(100), MinimumUnreserved: 50}},
			want:   Decision{Action: ActionPut, Strategy: StrategyExplicit, Base: 80, Scale: 1, Value: 50, ClampedBy: by(ClampUnreserved)},
			reason: "lowered from 80 to 50",
		},
		{
			name:   "unreserved: at the minimum, nothing left",
			in:     Input{Explicit: p64(10), Limits: Limits{Unreserved: p64(100)}},
			want:   Decision{Action: ActionReject, Strategy: StrategyExplicit, Base: 10, Scale: 1, Value: 0, ClampedBy: by(ClampUnreserved)},
			reason: "the account's unreserved concurrency 100 plus 0 held by the target leaves nothing above the minimum unreserved 100",
		},
		{
			name:   "unreserved: below the minimum",
			in:     Input{Explicit: p64(10), Limits: Limits{Unreserved: p64(40)}},
			want:   Decision{Action: ActionReject, Strategy: StrategyExplicit, Base: 10, Scale: 1, Value: 0, ClampedBy: by(ClampUnreserved)},
			reason: "unreserved concurrency 40",
		},
		{
			name: "unreserved unknown: guardrail skipped",
			in:   Input{Explicit: p64(100)},
			want: Decision{Action: ActionPut, Strategy: StrategyExplicit, Base: 100, Scale: 1, Value: 100, ClampedBy: none()},
		},
		{
			name: "extreme limits do not overflow",
			in:   Input{Explicit: p64(10), Target: State{Requested: math.MaxInt64}, Limits: Limits{Unreserved: p64(math.MaxInt64), MinimumUnreserved: math.MaxInt64}},
			want: Decision{Action: ActionPut, Strategy: StrategyExplicit, Base: 10, Scale: 1, Value: 10, ClampedBy: none()},
		},

		// Demand.
		{
			name: "demand: ceil(peak ÷ 0.7) by default",
			in:   Input{Strategy: StrategyDemand, From: "BLUE", Mirror: p64(40), Demand: demand(57, 0, 1440)},
			want: Decision{Action: ActionPut, Strategy: StrategyDemand, From: "BLUE", Base: 82, Scale: 1, Value: 82, ClampedBy: none(),
				Demand: used(57, 0, 1440, 0.7)},
		},
		{
			name: "demand: 7 ÷ 0.7 is 10, not 11 (no float trap)",
			in:   Input{Strategy: StrategyDemand, From: "BLUE", Demand: demand(7, 0, 60)},
			want: Decision{Action: ActionPut, Strategy: StrategyDemand, From: "BLUE", Base: 10, Scale: 1, Value: 10, ClampedBy: none(),
				Demand: used(7, 0, 60, 0.7)},
		},
		{
			name: "demand: a fractional peak rounds up",
			in:   Input{Strategy: StrategyDemand, From: "BLUE", Demand: demand(0.5, 0, 3), Utilisation: 1},
			want: Decision{Action: ActionPut, Strategy: StrategyDemand, From: "BLUE", Base: 1, Scale: 1, Value: 1, ClampedBy: none(),
				Demand: used(0.5, 0, 3, 1)},
		},
		{
			name: "demand chosen by the policy, with its utilisation",
			in:   Input{From: "BLUE", Mirror: p64(5), Demand: demand(30, 0, 1440), Policy: &Rule{Strategy: StrategyDemand, Utilisation: pf(0.5), Default: p64(3)}},
			want: Decision{Action: ActionPut, Strategy: StrategyDemand, From: "BLUE", Base: 60, Scale: 1, Value: 60, ClampedBy: none(),
				Demand: used(30, 0, 1440, 0.5)},
		},
		{
			name: "the intent's utilisation beats the policy's",
			in:   Input{Strategy: StrategyDemand, Utilisation: 0.8, From: "BLUE", Demand: demand(40, 0, 10), Policy: &Rule{Utilisation: pf(0.5)}},
			want: Decision{Action: ActionPut, Strategy: StrategyDemand, From: "BLUE", Base: 50, Scale: 1, Value: 50, ClampedBy: none(),
				Demand: used(40, 0, 10, 0.8)},
		},
		{
			name: "the intent's mirror overrides the policy's demand",
			in:   Input{Strategy: StrategyMirror, From: "BLUE", Mirror: p64(12), Demand: demand(90, 0, 10), Policy: &Rule{Strategy: StrategyDemand}},
			want: Decision{Action: ActionPut, Strategy: StrategyMirror, From: "BLUE", Base: 12, Scale: 1, Value: 12, ClampedBy: none()},
		},
		{
			name: "demand read but not asked for is ignored",
			in:   Input{From: "BLUE", Mirror: p64(12), Demand: demand(90, 0, 10)},
			want: Decision{Action: ActionPut, Strategy: StrategyMirror, From: "BLUE", Base: 12, Scale: 1, Value: 12, ClampedBy: none()},
		},
		{
			name: "an explicit concurrency beats the policy's demand",
			in:   Input{Explicit: p64(9), From: "BLUE", Demand: demand(90, 0, 10), Policy: &Rule{Strategy: StrategyDemand}},
			want: Decision{Action: ActionPut, Strategy: StrategyExplicit, Base: 9, Scale: 1, Value: 9, ClampedBy: none()},
		},
		{
			name:   "demand ignores the scale and says so",
			in:     Input{Strategy: StrategyDemand, Scale: 3, From: "BLUE", Demand: demand(70, 0, 10)},
			want:   Decision{Action: ActionPut, Strategy: StrategyDemand, From: "BLUE", Base: 100, Scale: 1, Value: 100, ClampedBy: none(), Demand: used(70, 0, 10, 0.7)},
			reason: "scale ignored: demand is sized by the target utilisation",
		},
		{
			name:   "demand: spillover raises a base at or below the old value to old + 1",
			in:     Input{Strategy: StrategyDemand, From: "BLUE", Mirror: p64(40), Demand: demand(28, 17, 1440)},
			want:   Decision{Action: ActionPut, Strategy: StrategyDemand, From: "BLUE", Base: 41, Scale: 1, Value: 41, ClampedBy: none(), Demand: usedRaised(28, 17, 1440, 0.7)},
			reason: "17 invocations spilled over BLUE's provisioned concurrency 40: base raised from 40 to 41",
		},
		{
			name:   "demand: spillover with a base above the old value is only reported",
			in:     Input{Strategy: StrategyDemand, From: "BLUE", Mirror: p64(40), Demand: demand(35, 4, 1440)},
			want:   Decision{Action: ActionPut, Strategy: StrategyDemand, From: "BLUE", Base: 50, Scale: 1, Value: 50, ClampedBy: none(), Demand: used(35, 4, 1440, 0.7)},
			reason: "4 invocations spilled over BLUE's provisioned concurrency",
		},
		{
			name:   "demand: spillover without a known old value is only reported",
			in:     Input{Strategy: StrategyDemand, From: "BLUE", Demand: demand(7, 2, 100)},
			want:   Decision{Action: ActionPut, Strategy: StrategyDemand, From: "BLUE", Base: 10, Scale: 1, Value: 10, ClampedBy: none(), Demand: used(7, 2, 100, 0.7)},
			reason: "2 invocations spilled over",
		},
		{
			name:   "demand then the clamps: policy max and MAX_CONCURRENCY",
			in:     Input{Strategy: StrategyDemand, From: "BLUE", Demand: demand(700, 0, 1440), Policy: &Rule{Max: p64(500)}, MaxConcurrency: 300},
			want:   Decision{Action: ActionPut, Strategy: StrategyDemand, From: "BLUE", Base: 1000, Scale: 1, Value: 300, ClampedBy: by(ClampPolicyMax, ClampMaxConc), Demand: used(700, 0, 1440, 0.7)},
			reason: "lowered from 1000 to 500 by the policy's max; lowered from 500 to 300 by MAX_CONCURRENCY",
		},
		{
			name:   "demand then the min",
			in:     Input{Strategy: StrategyDemand, From: "BLUE", Demand: demand(1, 0, 1440), Min: p64(5)},
			want:   Decision{Action: ActionPut, Strategy: StrategyDemand, From: "BLUE", Base: 2, Scale: 1, Value: 5, ClampedBy: by(ClampIntentMin), Demand: used(1, 0, 1440, 0.7)},
			reason: "raised from 2 to 5 by the intent's min",
		},
		{
			name:   "demand then the guardrails: unreserved",
			in:     Input{Strategy: StrategyDemand, From: "BLUE", Demand: demand(70, 0, 1440), Limits: Limits{Unreserved: p64(160)}},
			want:   Decision{Action: ActionPut, Strategy: StrategyDemand, From: "BLUE", Base: 100, Scale: 1, Value: 60, ClampedBy: by(ClampUnreserved), Demand: used(70, 0, 1440, 0.7)},
			reason: "lowered from 100 to 60 by the account's unreserved concurrency",
		},
		{
			name:   "demand then the guardrails: reservation used up",
			in:     Input{Strategy: StrategyDemand, From: "BLUE", Demand: demand(70, 0, 1440), Limits: Limits{Reserved: p64(50), OtherQualifiersPC: 50}},
			want:   Decision{Action: ActionReject, Strategy: StrategyDemand, From: "BLUE", Base: 100, Scale: 1, Value: 0, ClampedBy: by(ClampReserved), Demand: used(70, 0, 1440, 0.7)},
			reason: "reserved concurrency 50 minus 50 held by its other qualifiers leaves no room",
		},
		{
			name:   "demand: a huge peak saturates",
			in:     Input{Strategy: StrategyDemand, From: "BLUE", Demand: demand(1e300, 0, 1), MaxConcurrency: maxI32},
			want:   Decision{Action: ActionPut, Strategy: StrategyDemand, From: "BLUE", Base: maxI32, Scale: 1, Value: maxI32, ClampedBy: none(), Demand: used(1e300, 0, 1, 0.7)},
			reason: "base 9223372036854775807 saturated to 2147483647",
		},
		{
			name:   "demand already held: unchanged",
			in:     Input{Strategy: StrategyDemand, From: "BLUE", Demand: demand(14, 0, 1440), Target: ready(20)},
			want:   Decision{Action: ActionUnchanged, Strategy: StrategyDemand, From: "BLUE", Base: 20, Scale: 1, Value: 20, ClampedBy: none(), Demand: used(14, 0, 1440, 0.7)},
			reason: "",
		},
		{
			name:   "demand with an impossible utilisation is rejected",
			in:     Input{Strategy: StrategyDemand, Utilisation: 1.5, From: "BLUE", Demand: demand(14, 0, 1440)},
			want:   Decision{Action: ActionReject, Scale: 1, ClampedBy: none()},
			reason: "utilisation 1.5 is not a number in (0, 1]",
		},

		// Demand: no data, falling back.
		{
			name: "demand without datapoints falls back to mirror",
			in:   Input{Strategy: StrategyDemand, From: "BLUE", Mirror: p64(40), Demand: demand(0, 0, 0)},
			want: Decision{Action: ActionPut, Strategy: StrategyMirror, From: "BLUE", Base: 40, Scale: 1, Value: 40, ClampedBy: none(),
				Fallback: "demand: no ConcurrentExecutions datapoints for BLUE over the last 24h; mirroring BLUE instead"},
			reason: "demand: no ConcurrentExecutions datapoints for BLUE over the last 24h; mirroring BLUE instead",
		},
		{
			name: "demand with a zero peak falls back to mirror",
			in:   Input{Strategy: StrategyDemand, From: "BLUE", Mirror: p64(40), Demand: demand(0, 0, 1440)},
			want: Decision{Action: ActionPut, Strategy: StrategyMirror, From: "BLUE", Base: 40, Scale: 1, Value: 40, ClampedBy: none(),
				Fallback: "demand: BLUE ran no executions over the last 24h (1440 datapoints); mirroring BLUE instead"},
			reason: "ran no executions",
		},
		{
			name: "demand with a NaN peak falls back to mirror",
			in:   Input{Strategy: StrategyDemand, From: "BLUE", Mirror: p64(40), Demand: demand(math.NaN(), 0, 5)},
			want: Decision{Action: ActionPut, Strategy: StrategyMirror, From: "BLUE", Base: 40, Scale: 1, Value: 40, ClampedBy: none(),
				Fallback: "demand: peak ConcurrentExecutions NaN of BLUE is not a count; mirroring BLUE instead"},
			reason: "is not a count",
		},
		{
			name: "demand not read falls back to mirror, with the scale",
			in:   Input{Strategy: StrategyDemand, From: "BLUE", Mirror: p64(40), Scale: 1.5},
			want: Decision{Action: ActionPut, Strategy: StrategyMirror, From: "BLUE", Base: 40, Scale: 1.5, Value: 60, ClampedBy: none(),
				Fallback: "demand: no demand signal was read for BLUE; mirroring BLUE instead"},
			reason: "no demand signal was read for BLUE",
		},
		{
			name: "demand without data or mirror falls back to the policy default",
			in:   Input{From: "BLUE", Demand: demand(0, 0, 0), Policy: &Rule{Strategy: StrategyDemand, Default: p64(6)}},
			want: Decision{Action: ActionPut, Strategy: StrategyPolicy, Base: 6, Scale: 1, Value: 6, ClampedBy: none(),
				Fallback: "demand: no ConcurrentExecutions datapoints for BLUE over the last 24h; using the policy default instead"},
			reason: "using the policy default instead",
		},
		{
			name: "demand with nothing to fall back to is rejected, saying both",
			in:   Input{Strategy: StrategyDemand},
			want: Decision{Action: ActionReject, Scale: 1, ClampedBy: none(),
				Fallback: "demand: no demand signal was read (no from); nothing to fall back to"},
			reason: "demand: no demand signal was read (no from); nothing to fall back to; no concurrency could be derived",
		},

		// Mirror and auto scaling.
		{
			name:   "mirror takes the auto scaling desired capacity when higher",
			in:     Input{From: "BLUE", Mirror: p64(40), AutoScalingDesired: p64(55)},
			want:   Decision{Action: ActionPut, Strategy: StrategyMirror, From: "BLUE", Base: 55, Scale: 1, Value: 55, ClampedBy: none(), FromAutoScaling: true},
			reason: "mirrored BLUE's auto scaling desired capacity 55, above its requested 40",
		},
		{
			name: "mirror keeps the requested value when auto scaling's is lower",
			in:   Input{From: "BLUE", Mirror: p64(40), AutoScalingDesired: p64(10)},
			want: Decision{Action: ActionPut, Strategy: StrategyMirror, From: "BLUE", Base: 40, Scale: 1, Value: 40, ClampedBy: none()},
		},
		{
			name: "mirror keeps the requested value when auto scaling's is equal",
			in:   Input{From: "BLUE", Mirror: p64(40), AutoScalingDesired: p64(40)},
			want: Decision{Action: ActionPut, Strategy: StrategyMirror, From: "BLUE", Base: 40, Scale: 1, Value: 40, ClampedBy: none()},
		},
		{
			name:   "mirror of auto scaling alone, scaled",
			in:     Input{From: "BLUE", AutoScalingDesired: p64(10), Scale: 2, Policy: &Rule{Default: p64(3)}},
			want:   Decision{Action: ActionPut, Strategy: StrategyMirror, From: "BLUE", Base: 10, Scale: 2, Value: 20, ClampedBy: none(), FromAutoScaling: true},
			reason: "above its requested 0",
		},
		{
			name:   "demand fallback mirrors the auto scaling desired capacity",
			in:     Input{Strategy: StrategyDemand, From: "BLUE", Mirror: p64(4), AutoScalingDesired: p64(9)},
			want:   Decision{Action: ActionPut, Strategy: StrategyMirror, From: "BLUE", Base: 9, Scale: 1, Value: 9, ClampedBy: none(), FromAutoScaling: true, Fallback: "demand: no demand signal was read for BLUE; mirroring BLUE instead"},
			reason: "auto scaling desired capacity 9",
		},

		// The scalable target's bounds.
		{
			name:   "demand raised to the scalable target's minimum",
			in:     Input{Strategy: StrategyDemand, From: "BLUE", Demand: demand(7, 0, 60), AutoScalingMin: p64(20), AutoScalingMax: p64(80)},
			want:   Decision{Action: ActionPut, Strategy: StrategyDemand, From: "BLUE", Base: 10, Scale: 1, Value: 20, ClampedBy: by(ClampAASMin), Demand: used(7, 0, 60, 0.7)},
			reason: "raised from 10 to 20 by the scalable target's minimum (Application Auto Scaling would raise it)",
		},
		{
			name:   "explicit lowered to the scalable target's maximum, after the intent's max",
			in:     Input{Explicit: p64(95), Max: p64(90), AutoScalingMin: p64(20), AutoScalingMax: p64(80)},
			want:   Decision{Action: ActionPut, Strategy: StrategyExplicit, Base: 95, Scale: 1, Value: 80, ClampedBy: by(ClampIntentMax, ClampAASMax)},
			reason: "lowered from 95 to 90 by the intent's max; lowered from 90 to 80 by the scalable target's maximum",
		},
		{
			name: "within the scalable target's bounds: no clamp",
			in:   Input{From: "BLUE", Mirror: p64(40), AutoScalingMin: p64(20), AutoScalingMax: p64(80)},
			want: Decision{Action: ActionPut, Strategy: StrategyMirror, From: "BLUE", Base: 40, Scale: 1, Value: 40, ClampedBy: none()},
		},
		{
			name:   "MAX_CONCURRENCY still caps the scalable target's minimum",
			in:     Input{Explicit: p64(5), AutoScalingMin: p64(150)},
			want:   Decision{Action: ActionPut, Strategy: StrategyExplicit, Base: 5, Scale: 1, Value: 100, ClampedBy: by(ClampAASMin, ClampMaxConc)},
			reason: "lowered from 150 to 100 by MAX_CONCURRENCY",
		},

		// Unchanged or not.
		{
			name: "same value and READY: unchanged",
			in:   Input{Explicit: p64(40), Target: ready(40)},
			want: Decision{Action: ActionUnchanged, Strategy: StrategyExplicit, Base: 40, Scale: 1, Value: 40, ClampedBy: none()},
		},
		{
			name: "same value and IN_PROGRESS: unchanged",
			in:   Input{From: "BLUE", Mirror: p64(40), Target: State{Requested: 40, Status: StatusInProgress}},
			want: Decision{Action: ActionUnchanged, Strategy: StrategyMirror, From: "BLUE", Base: 40, Scale: 1, Value: 40, ClampedBy: none()},
		},
		{
			name:   "same value and FAILED: put again",
			in:     Input{Explicit: p64(40), Target: State{Requested: 40, Status: StatusFailed}},
			want:   Decision{Action: ActionPut, Strategy: StrategyExplicit, Base: 40, Scale: 1, Value: 40, ClampedBy: none()},
			reason: "the target's previous allocation FAILED: putting it again",
		},
		{
			name: "a different value: put",
			in:   Input{Explicit: p64(41), Target: ready(40)},
			want: Decision{Action: ActionPut, Strategy: StrategyExplicit, Base: 41, Scale: 1, Value: 41, ClampedBy: none()},
		},
		{
			name:   "unchanged after a clamp",
			in:     Input{Explicit: p64(500), Target: ready(100)},
			want:   Decision{Action: ActionUnchanged, Strategy: StrategyExplicit, Base: 500, Scale: 1, Value: 100, ClampedBy: by(ClampMaxConc)},
			reason: "lowered from 500 to 100 by MAX_CONCURRENCY",
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := Decide(tt.in)
			if diff := cmp.Diff(tt.want, got, cmpopts.IgnoreFields(Decision{}, "Reason")); diff != "" {
				t.Errorf("Decide mismatch (-want +got):\n%s\nreason: %s", diff, got.Reason)
			}
			switch {
			case tt.reason == "" && got.Reason != "":
				t.Errorf("Reason = %q, want none", got.Reason)
			case !strings.Contains(got.Reason, tt.reason):
				t.Errorf("Reason = %q, want it to contain %q", got.Reason, tt.reason)
			}
			if got.ClampedBy == nil {
				t.Error("ClampedBy is nil")
			}
		})
	}
}

func TestScaleCeil(t *testing.T) {
	tests := []struct {
		base      int64
		scale     float64
		want      int64
		saturated bool
	}{
		{10, 1, 10, false},
		{0, 5, 0, false},
		{10, 1.1, 11, false},
		{100, 1.15, 115, false},
		{3, 1.0 / 3, 1, false},
		{30, 0.7, 21, false},
		{1, 1e-300, 1, false},
		{1 << 30, 2, 1<<31 - 1, true},
		{1<<31 - 1, 1, 1<<31 - 1, false},
		{1, 2147483647, 2147483647, false},
		{1, 2147483647.5, 2147483647, true},
		{7, 1e308, 1<<31 - 1, true},
	}
	for _, tt := range tests {
		got, sat := scaleCeil(tt.base, tt.scale)
		if got != tt.want || sat != tt.saturated {
			t.Errorf("scaleCeil(%d, %v) = %d, %v; want %d, %v", tt.base, tt.scale, got, sat, tt.want, tt.saturated)
		}
	}
}

// FuzzDecide checks that Decide never panics and never puts a value below 1, above the hard
// cap or beyond a live guardrail.
func FuzzDecide(f *testing.F) {
	f.Add(true, int64(40), false, int64(0), false, int64(0), false, 0.0, 0.0, int64(-1), int64(-1), int64(-1), int64(-1), int64(100), int64(0), "", int64(-1), int64(0), int64(-1), int64(0))
	f.Add(false, int64(0), true, int64(10), true, int64(5), true, 1.5, 1.1, int64(3), int64(500), int64(0), int64(50), int64(0), int64(10), "READY", int64(200), int64(60), int64(-1), int64(100))
	f.Add(false, int64(0), false, int64(0), true, int64(7), false, 1e308, 0.0, int64(-1), int64(-1), int64(-1), int64(-1), int64(1<<31-1), int64(0), "FAILED", int64(-1), int64(0), int64(150), int64(0))
	f.Fuzz(func(t *testing.T, hasExplicit bool, explicit int64, hasMirror bool, mirror int64, hasDefault bool, def int64,
		hasPolicyScale bool, scale, policyScale float64, min, max, pmin, pmax, maxConc, requested int64, status string,
		reserved, other, unreserved, minUnres int64) {
		opt := func(ok bool, v int64) *int64 {
			if !ok {
				return nil
			}
			return &v
		}
		nonNeg := func(v int64) *int64 { return opt(v >= 0, v) }
		in := Input{
			Explicit: opt(hasExplicit, explicit), From: "BLUE", Mirror: opt(hasMirror, mirror), Scale: scale,
			Min: nonNeg(min), Max: nonNeg(max), MaxConcurrency: maxConc,
			Target: State{Requested: requested, Status: status},
			Limits: Limits{Reserved: nonNeg(reserved), OtherQualifiersPC: other, Unreserved: nonNeg(unreserved), MinimumUnreserved: minUnres},
		}
		if hasDefault || hasPolicyScale || pmin >= 0 || pmax >= 0 {
			in.Policy = &Rule{Default: opt(hasDefault, def), Min: nonNeg(pmin), Max: nonNeg(pmax)}
			if hasPolicyScale {
				in.Policy.Scale = &policyScale
			}
		}
		d := Decide(in)
		if d.ClampedBy == nil {
			t.Fatal("ClampedBy is nil")
		}
		switch d.Action {
		case ActionPut, ActionUnchanged:
			if d.Action == ActionUnchanged && d.Value == 0 {
				return // explicit 0 on a target without provisioned concurrency
			}
			cap := maxConc
			if cap <= 0 {
				cap = 100
			}
			if d.Value < 1 || d.Value > cap || d.Value > 1<<31-1 {
				t.Fatalf("%s of %d outside 1..%d: %+v", d.Action, d.Value, cap, d)
			}
			if in.Limits.Reserved != nil && d.Value > *in.Limits.Reserved-max64(other, 0) {
				t.Fatalf("value %d above the reservation room: %+v", d.Value, d)
			}
			if in.Limits.Reserved == nil && in.Limits.Unreserved != nil {
				mu := minUnres
				if mu <= 0 {
					mu = 100
				}
				room := big.NewInt(*in.Limits.Unreserved)
				room.Add(room, big.NewInt(max64(requested, 0)))
				room.Sub(room, big.NewInt(mu))
				if room.Cmp(big.NewInt(d.Value)) < 0 {
					t.Fatalf("value %d above the unreserved room: %+v", d.Value, d)
				}
			}
			if d.Action == ActionUnchanged && (d.Value != requested || (status != StatusReady && status != StatusInProgress)) {
				t.Fatalf("unchanged without a matching target: %+v", d)
			}
		case ActionDelete:
			if !hasExplicit || explicit != 0 {
				t.Fatalf("delete without an explicit 0: %+v", d)
			}
		case ActionReject:
			if d.Reason == "" {
				t.Fatalf("reject without a reason: %+v", d)
			}
		default:
			t.Fatalf("unknown action %q", d.Action)
		}
		if d.Scale != 1 && (math.IsNaN(d.Scale) || math.IsInf(d.Scale, 0) || d.Scale <= 0) {
			t.Fatalf("decision scale %v", d.Scale)
		}
	})
}

func max64(a, b int64) int64 {
	if a > b {
		return a
	}
	return b
}

func TestChoose(t *testing.T) {
	tests := []struct {
		name        string
		strategy    string
		window      time.Duration
		utilisation float64
		rule        *Rule
		want        Choice
	}{
		{"nothing asked", "", 0, 0, nil, Choice{Window: DefaultWindow, Utilisation: DefaultUtilisation}},
		{"the intent asks", StrategyDemand, 0, 0, nil, Choice{Demand: true, Window: DefaultWindow, Utilisation: DefaultUtilisation}},
		{"the rule asks", "", 0, 0, &Rule{Strategy: StrategyDemand}, Choice{Demand: true, Window: DefaultWindow, Utilisation: DefaultUtilisation}},
		{"the intent's mirror overrides the rule", StrategyMirror, 0, 0, &Rule{Strategy: StrategyDemand}, Choice{Window: DefaultWindow, Utilisation: DefaultUtilisation}},
		{"the rule's parameters", "", 0, 0, &Rule{Strategy: StrategyDemand, Window: time.Hour, Utilisation: pf(0.5)}, Choice{Demand: true, Window: time.Hour, Utilisation: 0.5}},
		{"the intent's parameters win", StrategyDemand, 3 * time.Hour, 0.9, &Rule{Window: time.Hour, Utilisation: pf(0.5)}, Choice{Demand: true, Window: 3 * time.Hour, Utilisation: 0.9}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := Choose(tt.strategy, tt.window, tt.utilisation, tt.rule)
			if diff := cmp.Diff(tt.want, got); diff != "" {
				t.Errorf("Choose mismatch (-want +got):\n%s", diff)
			}
		})
	}
}

func TestFormatWindow(t *testing.T) {
	for w, want := range map[time.Duration]string{
		24 * time.Hour:                 "24h",
		90 * time.Minute:               "1h30m",
		30 * time.Minute:               "30m",
		time.Hour + 30*time.Second:     "1h0m30s",
		360 * time.Hour:                "360h",
		time.Minute:                    "1m",
		2*time.Hour + 5*time.Minute:    "2h5m",
		10*time.Minute + 1*time.Second: "10m1s",
	} {
		if got := FormatWindow(w); got != want {
			t.Errorf("FormatWindow(%v) = %q, want %q", w, got, want)
		}
	}
}

func TestDivCeil(t *testing.T) {
	tests := []struct {
		peak, u float64
		want    int64
	}{
		{57, 0.7, 82},
		{7, 0.7, 10},
		{70, 0.7, 100},
		{71, 0.7, 102},
		{1, 1, 1},
		{0, 0.7, 0},
		{0.1, 0.3, 1},
		{3, 0.3, 10},
		{1e300, 0.7, math.MaxInt64},
	}
	for _, tt := range tests {
		if got := divCeil(tt.peak, tt.u); got != tt.want {
			t.Errorf("divCeil(%v, %v) = %d, want %d", tt.peak, tt.u, got, tt.want)
		}
	}
}

// FuzzDecideDemand checks that the demand strategy never panics, records the metrics it
// used, sizes at least ceil(peak ÷ utilisation) before the clamps and otherwise says why it
// fell back.
func FuzzDecideDemand(f *testing.F) {
	f.Add(57.0, 0.0, 1440, 0.7, int64(40), true, int64(100), int64(-1))
	f.Add(28.0, 17.0, 1440, 0.0, int64(40), true, int64(0), int64(10))
	f.Add(0.0, 0.0, 0, 0.5, int64(0), false, int64(100), int64(-1))
	f.Add(math.Inf(1), -1.0, 3, 1.0, int64(-5), true, int64(1<<31-1), int64(1))
	f.Fuzz(func(t *testing.T, peak, spill float64, points int, u float64, mirror int64, hasMirror bool, maxConc, desired int64) {
		in := Input{Strategy: StrategyDemand, Utilisation: u, From: "BLUE", MaxConcurrency: maxConc,
			Demand: &Demand{Qualifier: "BLUE", Peak: peak, Spillover: spill, Window: time.Hour, Datapoints: points}}
		if hasMirror {
			in.Mirror = &mirror
		}
		if desired >= 0 {
			in.AutoScalingDesired = &desired
		}
		d := Decide(in)
		switch d.Strategy {
		case StrategyDemand:
			if d.Demand == nil || d.Fallback != "" {
				t.Fatalf("demand decision without its metrics or with a fallback: %+v", d)
			}
			uu := u
			if uu == 0 {
				uu = DefaultUtilisation
			}
			if want := divCeil(peak, uu); d.Base < min(want, 1<<31-1) {
				t.Fatalf("base %d below ceil(%v ÷ %v) = %d", d.Base, peak, uu, want)
			}
			if hasMirror && mirror > 0 && spill > 0 && d.Base <= mirror {
				t.Fatalf("spillover %v and base %d not above the old %d", spill, d.Base, mirror)
			}
		case StrategyMirror, StrategyPolicy, "":
			if d.Demand != nil {
				t.Fatalf("%q decision records demand: %+v", d.Strategy, d)
			}
			if d.Fallback == "" && d.Action != ActionReject {
				t.Fatalf("fell back without saying why: %+v", d)
			}
		default:
			t.Fatalf("strategy %q", d.Strategy)
		}
		if (d.Action == ActionPut || d.Action == ActionUnchanged) && d.Value < 1 {
			t.Fatalf("%s of %d", d.Action, d.Value)
		}
		if d.Action == ActionReject && d.Reason == "" {
			t.Fatalf("reject without a reason: %+v", d)
		}
	})
}

func TestWeightsLeftBehind(t *testing.T) {
	failedAt := time.Date(2026, 3, 4, 10, 0, 0, 0, time.UTC)
	failed := State{Requested: 10, Status: StatusFailed}
	w := map[string]float64{"3": 0.1}
	tests := []struct {
		name    string
		weights map[string]float64
		pc      State
		now     time.Time
		grace   time.Duration
		want    bool
	}{
		{"weights minutes after FAILED", w, failed, failedAt.Add(6 * time.Minute), 0, true},
		{"exactly the grace", w, failed, failedAt.Add(DefaultWeightsGrace), 0, true},
		{"within the grace: AWS's own, mid-update", w, failed, failedAt.Add(time.Minute), 0, false},
		{"a custom grace", w, failed, failedAt.Add(time.Minute), 30 * time.Second, true},
		{"no weights", nil, failed, failedAt.Add(time.Hour), 0, false},
		{"READY", w, State{Requested: 10, Status: StatusReady}, failedAt.Add(time.Hour), 0, false},
		{"IN_PROGRESS", w, State{Requested: 10, Status: StatusInProgress}, failedAt.Add(time.Hour), 0, false},
		{"no provisioned concurrency", w, State{}, failedAt.Add(time.Hour), 0, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, ok := WeightsLeftBehind("my-function", "live", tt.weights, tt.pc, failedAt, tt.now, tt.grace)
			if ok != tt.want {
				t.Fatalf("WeightsLeftBehind = %v, want %v (%+v)", ok, tt.want, got)
			}
			if !ok {
				return
			}
			wantCmd := "aws lambda update-alias --function-name my-function --name live --routing-config '{}'"
			if got.Command != wantCmd {
				t.Errorf("Command = %q, want %q", got.Command, wantCmd)
			}
			if !strings.Contains(got.Reason, "my-function:live still routes to version 3 at 0.1") || !strings.Contains(got.Reason, wantCmd) {
				t.Errorf("Reason = %q", got.Reason)
			}
			if got.Since != tt.now.Sub(failedAt) {
				t.Errorf("Since = %v, want %v", got.Since, tt.now.Sub(failedAt))
			}
		})
	}
	if _, ok := WeightsLeftBehind("f", "a", w, failed, time.Time{}, failedAt, 0); ok {
		t.Error("reported without a LastModified")
	}
}

func TestClearWeightsCommand(t *testing.T) {
	tests := []struct{ fn, alias, want string }{
		{"my-function", "live", "aws lambda update-alias --function-name my-function --name live --routing-config '{}'"},
		{"arn:aws:lambda:us-east-1:123456789012:function:f", "BLUE", "aws lambda update-alias --function-name arn:aws:lambda:us-east-1:123456789012:function:f --name BLUE --routing-config '{}'"},
		{"f; rm -rf /", "a'b", `aws lambda update-alias --function-name 'f; rm -rf /' --name 'a'\''b' --routing-config '{}'`},
	}
	for _, tt := range tests {
		if got := ClearWeightsCommand(tt.fn, tt.alias); got != tt.want {
			t.Errorf("ClearWeightsCommand(%q, %q) = %q, want %q", tt.fn, tt.alias, got, tt.want)
		}
	}
}

func TestParseLastModified(t *testing.T) {
	want := time.Date(2019, 11, 21, 19, 32, 12, 0, time.UTC)
	for _, s := range []string{"2019-11-21T19:32:12+0000", "2019-11-21T19:32:12.000+0000", "2019-11-21T19:32:12Z", "2019-11-21T20:32:12+01:00"} {
		got, ok := ParseLastModified(s)
		if !ok || !got.Equal(want) {
			t.Errorf("ParseLastModified(%q) = %v, %v; want %v", s, got, ok, want)
		}
	}
	for _, s := range []string{"", "yesterday", "2019-11-21"} {
		if _, ok := ParseLastModified(s); ok {
			t.Errorf("ParseLastModified(%q) accepted it", s)
		}
	}
}

// FuzzParseLastModified checks that what ParseLastModified accepts reads back the same
// instant once written in AWS's layout.
func FuzzParseLastModified(f *testing.F) {
	f.Add("2019-11-21T19:32:12+0000")
	f.Add("2019-11-21T19:32:12.123Z")
	f.Fuzz(func(t *testing.T, s string) {
		got, ok := ParseLastModified(s)
		if !ok {
			return
		}
		back, ok := ParseLastModified(got.Truncate(time.Second).UTC().Format("2006-01-02T15:04:05-0700"))
		if !ok || !back.Equal(got.Truncate(time.Second)) {
			t.Fatalf("ParseLastModified(%q) = %v does not read back: %v, %v", s, got, back, ok)
		}
	})
}
