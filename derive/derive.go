// Package derive turns an intent, the matching policy rule and the observed provisioned
// concurrency (and, for the demand strategy, the outgoing qualifier's demand) into a
// decision: put a value, delete, leave unchanged or reject; it also recognises routing
// weights a failed deployment left behind. It is pure:
// no I/O, no clock, no AWS SDK types, so every rule is table-tested.
package derive

import (
	"fmt"
	"math"
	"math/big"
	"strconv"
	"strings"
	"time"
)

// Rule is one POLICY entry; nil and zero fields are not set.
type Rule struct {
	Default, Min, Max *int64
	Scale             *float64
	// Strategy is StrategyDemand or StrategyMirror when the rule chooses one; "" otherwise.
	Strategy string
	// Window is the demand window; 0 when not set.
	Window time.Duration
	// Utilisation is the demand strategy's target utilisation; nil when not set.
	Utilisation *float64
	// ClearWeights lets reconcile clear routing weights left on an alias whose provisioned
	// concurrency FAILED (see WeightsLeftBehind), rather than only report them.
	ClearWeights bool
}

// State is a qualifier's provisioned concurrency as Lambda reports it; the zero value means
// none is configured.
type State struct {
	Requested int64
	Status    string // "IN_PROGRESS", "READY", "FAILED" or ""
}

// Statuses of a provisioned concurrency configuration.
const (
	StatusInProgress = "IN_PROGRESS"
	StatusReady      = "READY"
	StatusFailed     = "FAILED"
)

// Limits are the live guardrails of the account and the function.
type Limits struct {
	// Reserved is the function's reserved concurrency; nil when none is set.
	Reserved *int64
	// OtherQualifiersPC is the provisioned concurrency held by the function's other
	// qualifiers; it counts against Reserved.
	OtherQualifiersPC int64
	// Unreserved is the account's UnreservedConcurrentExecutions; nil when not known, which
	// skips that guardrail.
	Unreserved *int64
	// MinimumUnreserved is what must stay unreserved in the account; 100 when 0.
	MinimumUnreserved int64
}

// Input is everything Decide needs.
type Input struct {
	// Explicit is the intent's concurrency; nil when not given.
	Explicit *int64
	// From names the mirror source, for the record.
	From string
	// Mirror is From's requested provisioned concurrency; nil when there is no From or it
	// holds none.
	Mirror *int64
	// Policy is the policy rule matching the function; nil when none matches.
	Policy *Rule
	// Scale is the intent's scale; 0 when not given.
	Scale float64
	// Min and Max are the intent's clamps.
	Min, Max *int64
	// MaxConcurrency is the hard cap per target (MAX_CONCURRENCY); 100 when 0.
	MaxConcurrency int64
	// Target is the target qualifier's current provisioned concurrency.
	Target State
	Limits Limits

	// Strategy is the intent's choice, StrategyDemand or StrategyMirror; "" leaves it to
	// the policy's rule, and without one to the explicit, mirror, policy order.
	Strategy string
	// Utilisation is the intent's target utilisation for StrategyDemand; 0 when not given.
	Utilisation float64
	// Demand is the demand signal read for StrategyDemand; nil when it was not read.
	Demand *Demand
	// AutoScalingDesired is the capacity Application Auto Scaling holds From at (its
	// scalable target's minimum); nil when From has no scalable target. A mirror takes it
	// when it is higher than From's requested value.
	AutoScalingDesired *int64
	// AutoScalingMin and AutoScalingMax are the bounds of the scalable target that will
	// manage the target (From's, carried over); nil when there is none. Application Auto
	// Scaling would move a value outside them itself, so the value is clamped to them after
	// the intent's and the policy's min and max.
	AutoScalingMin, AutoScalingMax *int64
}

// Action is what to do with the target.
type Action string

// Actions.
const (
	ActionPut       Action = "put"       // PutProvisionedConcurrencyConfig with Value
	ActionDelete    Action = "delete"    // DeleteProvisionedConcurrencyConfig
	ActionUnchanged Action = "unchanged" // the target already has what it needs
	ActionReject    Action = "reject"    // nothing can be done; Reason says why
)

// Strategies: where the base value came from.
const (
	StrategyExplicit = "explicit"
	StrategyMirror   = "mirror"
	StrategyPolicy   = "policy"
	StrategyDemand   = "demand"
)

// Clamp names recorded in Decision.ClampedBy.
const (
	ClampIntentMin  = "intent.min"
	ClampIntentMax  = "intent.max"
	ClampPolicyMin  = "policy.min"
	ClampPolicyMax  = "policy.max"
	ClampMaxConc    = "maxConcurrency"
	ClampReserved   = "reservedConcurrency"
	ClampUnreserved = "unreservedConcurrency"
	ClampAASMin     = "autoScaling.min"
	ClampAASMax     = "autoScaling.max"
)

const (
	defaultMaxConc   = 100 // MAX_CONCURRENCY when Input.MaxConcurrency is 0
	defaultMinUnres  = 100 // Lambda's minimum unreserved concurrency per account
	maxInt32         = 1<<31 - 1
	reasonSeparator  = "; "
	noDerivationText = "no concurrency could be derived"
)

// Decision is the outcome of Decide.
type Decision struct {
	Action Action
	// Strategy is StrategyExplicit, StrategyDemand, StrategyMirror or StrategyPolicy; "" when
	// nothing was derived.
	Strategy string
	// From is the mirror source when Strategy is StrategyMirror, the qualifier whose demand
	// was read when it is StrategyDemand.
	From string
	// Base is the value before scaling and clamps.
	Base int64
	// Scale is the scale applied; 1 when none.
	Scale float64
	// Value is the value to put (for ActionPut and ActionUnchanged); for ActionReject the
	// value the clamps left, never below 0.
	Value int64
	// ClampedBy lists, in the order applied, every clamp that changed the value; never nil.
	ClampedBy []string
	// Reason explains a rejection, and has one sentence for every clamp and adjustment.
	Reason string
	// Demand records the metrics a StrategyDemand base was computed from; nil for the
	// other strategies.
	Demand *DemandUsed
	// Fallback says why the strategy asked for (demand) was not used and what was used
	// instead; "" when it was used or none was asked for.
	Fallback string
	// FromAutoScaling is set when a mirrored base is From's auto scaling desired capacity
	// rather than its requested value.
	FromAutoScaling bool
}

// Decide derives the provisioned concurrency of one target.
//
// The base is the explicit value; else, when the intent or the policy asks for the demand
// strategy and the signal has data, ceil(peak ÷ utilisation), raised to one above From's
// value when invocations spilled over it; else the mirrored value of From (its auto scaling
// desired capacity when higher); else the policy default. Demand that cannot be used falls
// back down that order, recorded in Fallback and Reason. An explicit 0 deletes. The scale (the intent's, else the policy's, else 1) applies to a
// mirrored or default base: value = ceil(base × scale), saturating at 2^31−1. The value is
// then raised to the larger min, lowered to the smaller max (max wins over min), capped at
// MaxConcurrency and squeezed under the live guardrails: with a reservation, Reserved minus
// the other qualifiers' PC; without, Unreserved minus MinimumUnreserved plus what the target
// already holds. A value below 1 is rejected. A target that already requests the value and
// is READY or IN_PROGRESS is left unchanged.
func Decide(in Input) Decision {
	d := Decision{Scale: 1, ClampedBy: []string{}}
	var notes []string
	reject := func(format string, args ...any) Decision {
		d.Action = ActionReject
		notes = append(notes, fmt.Sprintf(format, args...))
		d.Reason = strings.Join(notes, reasonSeparator)
		if d.Value < 0 {
			d.Value = 0
		}
		return d
	}
	maxConc := in.MaxConcurrency
	if maxConc <= 0 {
		maxConc = defaultMaxConc
	}

	// 1. The base.
	choice := Choose(in.Strategy, 0, in.Utilisation, in.Policy)
	useDemand := false
	var demandWhy string // why demand, asked for, is not used
	if in.Explicit == nil && choice.Demand {
		if demandWhy = unusable(in.Demand, in.From); demandWhy == "" {
			useDemand = true
		}
	}
	// fallback records, once the base is known, what replaced demand.
	fallback := func(instead string) {
		if demandWhy == "" {
			return
		}
		d.Fallback = "demand: " + demandWhy + "; " + instead
		notes = append(notes, d.Fallback)
	}
	mirror, fromAAS := mirrorBase(in)
	switch {
	case in.Explicit != nil:
		d.Strategy = StrategyExplicit
		d.Base = *in.Explicit
		if d.Base < 0 {
			return reject("explicit concurrency %d is negative", d.Base)
		}
		if d.Base == 0 {
			return deleteDecision(d, in.Target)
		}
		if in.Scale != 0 || (in.Policy != nil && in.Policy.Scale != nil) {
			notes = append(notes, "scale ignored: an explicit concurrency is used as given")
		}
	case useDemand:
		u := choice.Utilisation
		if math.IsNaN(u) || u <= 0 || u > 1 {
			return reject("utilisation %v is not a number in (0, 1]", u)
		}
		dm := *in.Demand
		d.Strategy = StrategyDemand
		d.From = dm.Qualifier
		d.Base = divCeil(dm.Peak, u)
		d.Demand = &DemandUsed{Qualifier: dm.Qualifier, Peak: dm.Peak, Spillover: dm.Spillover, Window: dm.Window, Utilisation: u, Datapoints: dm.Datapoints}
		if dm.Spillover > 0 {
			// Spillover is direct evidence that the old value was too small: a value
			// at or below it would spill over again. The peak measures by how much;
			// old + 1 is only the least the evidence allows.
			if old := in.Mirror; old != nil && *old > 0 && d.Base <= *old {
				notes = append(notes, fmt.Sprintf("%v invocations spilled over %s's provisioned concurrency %d: base raised from %d to %d", dm.Spillover, dm.Qualifier, *old, d.Base, *old+1))
				d.Base = *old + 1
				d.Demand.RaisedBySpillover = true
			} else {
				notes = append(notes, fmt.Sprintf("%v invocations spilled over %s's provisioned concurrency", dm.Spillover, dm.Qualifier))
			}
		}
	case mirror > 0:
		d.Strategy = StrategyMirror
		d.From = in.From
		d.Base = mirror
		d.FromAutoScaling = fromAAS
		fallback("mirroring " + in.From + " instead")
		if fromAAS {
			held := int64(0)
			if in.Mirror != nil {
				held = *in.Mirror
			}
			notes = append(notes, fmt.Sprintf("mirrored %s's auto scaling desired capacity %d, above its requested %d", in.From, mirror, held))
		}
	case in.Policy != nil && in.Policy.Default != nil:
		d.Strategy = StrategyPolicy
		d.Base = *in.Policy.Default
		if d.Base < 1 {
			return reject("policy default %d is less than 1", d.Base)
		}
		fallback("using the policy default instead")
	default:
		fallback("nothing to fall back to")
		why := "no explicit concurrency"
		if in.From != "" {
			why += fmt.Sprintf(", %s holds no provisioned concurrency to mirror", in.From)
		} else {
			why += ", no from to mirror"
		}
		why += ", no policy default"
		return reject("%s: %s", noDerivationText, why)
	}
	if d.Base > maxInt32 {
		notes = append(notes, fmt.Sprintf("base %d saturated to %d", d.Base, maxInt32))
		d.Base = maxInt32
	}

	// 2. The scale.
	if d.Strategy == StrategyDemand && (in.Scale != 0 || (in.Policy != nil && in.Policy.Scale != nil)) {
		notes = append(notes, "scale ignored: demand is sized by the target utilisation")
	}
	if d.Strategy != StrategyExplicit && d.Strategy != StrategyDemand {
		switch {
		case in.Scale != 0:
			d.Scale = in.Scale
		case in.Policy != nil && in.Policy.Scale != nil:
			d.Scale = *in.Policy.Scale
		}
		if math.IsNaN(d.Scale) || math.IsInf(d.Scale, 0) || d.Scale <= 0 {
			s := d.Scale
			d.Scale = 1
			return reject("scale %v is not a finite number greater than 0", s)
		}
	}
	v, saturated := scaleCeil(d.Base, d.Scale)
	if saturated {
		notes = append(notes, fmt.Sprintf("%d × %v exceeds %d and saturated", d.Base, d.Scale, maxInt32))
	}
	d.Value = v

	// 3. Clamps, in order: min, max, the hard cap.
	clamp := func(name string, limit int64, raise bool, sentence string) {
		if (raise && d.Value < limit) || (!raise && d.Value > limit) {
			notes = append(notes, fmt.Sprintf("%s from %d to %d by %s", sentence, d.Value, limit, describe(name, limit)))
			d.Value = limit
			d.ClampedBy = append(d.ClampedBy, name)
		}
	}
	var policyMin, policyMax *int64
	if in.Policy != nil {
		policyMin, policyMax = in.Policy.Min, in.Policy.Max
	}
	minName, minV, hasMin := tighter(in.Min, policyMin, ClampIntentMin, ClampPolicyMin, true)
	maxName, maxV, hasMax := tighter(in.Max, policyMax, ClampIntentMax, ClampPolicyMax, false)
	if hasMin {
		clamp(minName, minV, true, "raised")
	}
	if hasMin && hasMax && minV > maxV {
		notes = append(notes, fmt.Sprintf("min %d exceeds max %d: max wins", minV, maxV))
	}
	if hasMax {
		clamp(maxName, maxV, false, "lowered")
	}
	if in.AutoScalingMin != nil {
		clamp(ClampAASMin, *in.AutoScalingMin, true, "raised")
	}
	if in.AutoScalingMax != nil {
		clamp(ClampAASMax, *in.AutoScalingMax, false, "lowered")
	}
	clamp(ClampMaxConc, maxConc, false, "lowered")

	if d.Value < 1 {
		last := "the clamps"
		if n := len(d.ClampedBy); n > 0 {
			last = d.ClampedBy[n-1]
		}
		return reject("%s leaves %d: nothing to provision (use concurrency 0 to remove provisioned concurrency)", last, d.Value)
	}

	// 4. Guardrails from live state.
	lim := in.Limits
	switch {
	case lim.Reserved != nil:
		other := max(lim.OtherQualifiersPC, 0)
		room := exact(*lim.Reserved, 0, other)
		clamp(ClampReserved, room, false, "lowered")
		if d.Value < 1 {
			return reject("the function's reserved concurrency %d minus %d held by its other qualifiers leaves no room for provisioned concurrency", *lim.Reserved, other)
		}
	case lim.Unreserved != nil:
		minUnres := lim.MinimumUnreserved
		if minUnres <= 0 {
			minUnres = defaultMinUnres
		}
		held := max(in.Target.Requested, 0)
		room := exact(*lim.Unreserved, held, minUnres)
		clamp(ClampUnreserved, room, false, "lowered")
		if d.Value < 1 {
			return reject("the account's unreserved concurrency %d plus %d held by the target leaves nothing above the minimum unreserved %d", *lim.Unreserved, held, minUnres)
		}
	}

	// 5. Unchanged?
	d.Reason = strings.Join(notes, reasonSeparator)
	if in.Target.Requested == d.Value && (in.Target.Status == StatusReady || in.Target.Status == StatusInProgress) {
		d.Action = ActionUnchanged
		return d
	}
	d.Action = ActionPut
	if in.Target.Requested == d.Value && in.Target.Status == StatusFailed {
		d.Reason = strings.Join(append(notes, "the target's previous allocation FAILED: putting it again"), reasonSeparator)
	}
	return d
}

func deleteDecision(d Decision, target State) Decision {
	if target.Requested == 0 && target.Status == "" {
		d.Action = ActionUnchanged
		d.Reason = "explicit concurrency 0 and the target holds no provisioned concurrency"
		return d
	}
	d.Action = ActionDelete
	d.Reason = "explicit concurrency 0 removes the target's provisioned concurrency"
	return d
}

// tighter combines the intent's and the policy's bound: for a min (raise) the larger, for a
// max the smaller. On a tie the intent's name is recorded.
func tighter(intentV, policyV *int64, intentName, policyName string, raise bool) (string, int64, bool) {
	switch {
	case intentV == nil && policyV == nil:
		return "", 0, false
	case policyV == nil:
		return intentName, *intentV, true
	case intentV == nil:
		return policyName, *policyV, true
	case raise && *policyV > *intentV, !raise && *policyV < *intentV:
		return policyName, *policyV, true
	default:
		return intentName, *intentV, true
	}
}

func describe(name string, limit int64) string {
	switch name {
	case ClampIntentMin:
		return "the intent's min"
	case ClampIntentMax:
		return "the intent's max"
	case ClampPolicyMin:
		return "the policy's min"
	case ClampPolicyMax:
		return "the policy's max"
	case ClampMaxConc:
		return "MAX_CONCURRENCY"
	case ClampAASMin:
		return "the scalable target's minimum (Application Auto Scaling would raise it)"
	case ClampAASMax:
		return "the scalable target's maximum (Application Auto Scaling would lower it)"
	case ClampReserved:
		return "the function's reserved concurrency less its other qualifiers' provisioned concurrency"
	case ClampUnreserved:
		return "the account's unreserved concurrency above its minimum"
	}
	return name
}

// scaleCeil returns ceil(base × scale) for base ≥ 0 and a finite scale > 0, saturating at
// 2^31−1. The scale is taken as the shortest decimal that round-trips (what the user wrote,
// "1.1" rather than 1.100000000000000088…), and the product is exact, so 10 × 1.1 is 11,
// not 12.
func scaleCeil(base int64, scale float64) (v int64, saturated bool) {
	if scale == 1 || base == 0 {
		return base, false
	}
	r, ok := new(big.Rat).SetString(strconv.FormatFloat(scale, 'g', -1, 64))
	if !ok {
		// Unreachable for finite floats; fall back to float arithmetic.
		f := math.Ceil(float64(base) * scale)
		if f >= maxInt32 {
			return maxInt32, f > maxInt32
		}
		return int64(f), false
	}
	r.Mul(r, new(big.Rat).SetInt64(base))
	q, m := new(big.Int).QuoRem(r.Num(), r.Denom(), new(big.Int))
	if m.Sign() > 0 {
		q.Add(q, big.NewInt(1))
	}
	if q.Cmp(big.NewInt(maxInt32)) > 0 {
		return maxInt32, true
	}
	return q.Int64(), false
}

// exact returns a + b − c computed without overflow, saturated to the int64 range.
func exact(a, b, c int64) int64 {
	r := new(big.Int).SetInt64(a)
	r.Add(r, big.NewInt(b))
	r.Sub(r, big.NewInt(c))
	switch {
	case r.IsInt64():
		return r.Int64()
	case r.Sign() > 0:
		return math.MaxInt64
	default:
		return math.MinInt64
	}
}
