package handler

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"sync"

	"github.com/aws/aws-sdk-go-v2/aws"

	"github.com/prewarm/prewarm/awsfault"
	"github.com/prewarm/prewarm/derive"
	"github.com/prewarm/prewarm/intent"
	"github.com/prewarm/prewarm/provision"
	"github.com/prewarm/prewarm/results"
)

// apply derives and applies one intent. It returns the result messages, the
// change to follow (nil for none), and a transient error when the record
// should be tried again.
func (h *Handler) apply(ctx context.Context, inv *invocation, r *record, it intent.Intent) ([]results.Message, *change, error) {
	fn, q := it.Function.String(), it.Qualifier
	dryRun := it.DryRun || h.cfg.DryRun

	// The reads the decision needs do not depend on one another: the
	// target, the mirror source, the account settings, and the outgoing
	// alias's demand and auto scaling are read together, so that a switch
	// costs one round trip before its Put, not five.
	removing := it.Concurrency != nil && *it.Concurrency == 0
	mirror := it.Concurrency == nil && it.From != ""
	var policy *derive.Rule
	if rule, ok := h.cfg.Policy.Rule(it.Function.Name); ok {
		policy = &rule
	}
	var (
		wg                 sync.WaitGroup
		src                provision.Status
		srcErr, accountErr error
		sig                *derive.Demand
		scaling            autoScalingBounds
		demandErr, aasErr  error
	)
	if mirror {
		wg.Go(func() { src, srcErr = h.control.Get(ctx, fn, it.From) })
	}
	if !removing {
		wg.Go(func() { _, accountErr = h.unreservedConcurrency(ctx, inv) })
	}
	wg.Go(func() { sig, demandErr = h.readDemand(ctx, it, policy) })
	wg.Go(func() { scaling, aasErr = h.readAutoScaling(ctx, it) })
	target, err := h.control.Get(ctx, fn, q)
	wg.Wait()
	for _, err := range []error{err, srcErr, accountErr, demandErr, aasErr} {
		if err != nil {
			return h.failed(it, nil, err)
		}
	}
	in := derive.Input{
		Explicit:       it.Concurrency,
		From:           it.From,
		Scale:          it.Scale,
		Min:            it.Min,
		Max:            it.Max,
		MaxConcurrency: h.cfg.MaxConcurrency,
		Target:         derive.State{Requested: target.Requested, Status: string(target.Status)},
		Limits:         derive.Limits{MinimumUnreserved: minimumUnreserved},
	}
	in.Policy = policy
	in.Strategy, in.Utilisation, in.Demand = it.Strategy, it.Utilisation, sig
	in.AutoScalingDesired, in.AutoScalingMin, in.AutoScalingMax = scaling.min, scaling.min, scaling.max
	if mirror && src.Exists {
		n := src.Requested
		in.Mirror = &n
	}
	fromReleased := mirror && released(src, it.Release, h.cfg.MaxConcurrency)
	if fromReleased && target.Exists {
		// The switch is done already (a redelivered or repeated event): From
		// was released after the target became READY. Deriving from it, or
		// from the policy default, would shrink the target; keep its value.
		n := target.Requested
		in.Mirror, in.From, in.Scale = &n, q, 1
	}
	if it.AliasMoved && in.Mirror == nil && (in.Policy == nil || in.Policy.Default == nil) && target.Exists {
		// AWS moved the alias's configuration with it: keep its value.
		n := target.Requested
		in.Mirror, in.From = &n, q
	}
	d, claimed, err := h.decide(ctx, inv, it, in, target, removing, dryRun)
	if err != nil {
		return h.failed(it, nil, err)
	}

	c := h.newChange(r, it, d, target)
	switch {
	case dryRun:
		c.observed = provision.Status{}
		return []results.Message{h.decided(c, results.OutcomeDryRun, fmt.Sprintf("dry run: would %s", describe(d, target)))}, nil, nil
	case d.Action == derive.ActionReject:
		c.observed = provision.Status{}
		return []results.Message{h.decided(c, results.OutcomeRejected, d.Reason)}, nil, nil
	case d.Action == derive.ActionUnchanged:
		m := h.decided(c, results.OutcomeUnchanged, d.Reason)
		switch {
		case !it.Wait || !target.Exists:
			return []results.Message{m}, nil, nil
		case target.Status == provision.InProgress:
			return []results.Message{m}, c, nil
		case target.Status == provision.Ready && it.From != "" && it.Release.Mode != intent.ReleaseNone && !fromReleased:
			// A repeated or redelivered switch whose release did not
			// happen: its target is READY, so finish the release plan.
			c.reported = results.OutcomeReady
			return []results.Message{m}, c, nil
		}
		return []results.Message{m}, nil, nil
	case d.Action == derive.ActionDelete:
		if err := h.control.Delete(ctx, fn, q); err != nil {
			return h.failed(it, c.deriv, err)
		}
		inv.adjustUnreserved(fn, -target.Requested)
		c.observed = provision.Status{}
		return []results.Message{h.decided(c, results.OutcomeReleased, "provisioned concurrency removed (concurrency 0)")}, nil, nil
	}

	st, err := h.control.Put(ctx, fn, q, d.Value)
	if err != nil {
		inv.adjustUnreserved(fn, -claimed)
		claimed = 0
	}
	if provision.IsReservationLimit(err) {
		if d, err = h.withReservation(ctx, inv, it, in); err == nil {
			c = h.newChange(r, it, d, target)
			switch d.Action {
			case derive.ActionPut:
				st, err = h.control.Put(ctx, fn, q, d.Value)
			case derive.ActionReject:
				c.observed = provision.Status{}
				return []results.Message{h.decided(c, results.OutcomeRejected, d.Reason)}, nil, nil
			default:
				return []results.Message{h.decided(c, results.OutcomeUnchanged, d.Reason)}, nil, nil
			}
		}
	}
	if err != nil {
		msgs, _, terr := h.failed(it, c.deriv, err)
		for i := range msgs {
			msgs[i].Previous = c.previous
		}
		return msgs, nil, terr
	}
	if claimed == 0 {
		inv.adjustUnreserved(fn, d.Value-target.Requested)
	}
	c.observed = st
	m := h.decided(c, results.OutcomeApplied, d.Reason)
	if !it.Wait {
		return []results.Message{m}, nil, nil
	}
	c.next = h.now().Add(h.pollEvery)
	return []results.Message{m}, c, nil
}

// readDemand reads the demand signal of the outgoing qualifier when the
// intent or its policy asks for the demand strategy. A signal that cannot
// be read for good leaves the decision to fall back (mirror, then the
// policy default), saying so; a transient failure is handed back.
func (h *Handler) readDemand(ctx context.Context, it intent.Intent, policy *derive.Rule) (*derive.Demand, error) {
	choice := derive.Choose(it.Strategy, it.Window, it.Utilisation, policy)
	if !choice.Demand || it.Concurrency != nil || it.From == "" || h.demand == nil {
		return nil, nil
	}
	sig, err := h.demand.Read(ctx, it.Function.Name, it.From, choice.Window)
	if err != nil {
		if awsfault.IsTransient(err) {
			return nil, err
		}
		h.log.WarnContext(ctx, "demand not readable; falling back", "functionName", it.Function.Name, "from", it.From, "error", err.Error())
		return nil, nil
	}
	return &sig, nil
}

// autoScalingBounds are the minimum and maximum of a scalable target; nil
// when there is none.
type autoScalingBounds struct{ min, max *int64 }

// readAutoScaling reads the outgoing alias's scalable target, if it has
// one: a mirror takes its minimum when that is higher than what the alias
// requests, and the value is kept within its bounds, which Application
// Auto Scaling would otherwise move it back into.
func (h *Handler) readAutoScaling(ctx context.Context, it intent.Intent) (autoScalingBounds, error) {
	if h.autoScaling == nil || it.From == "" || it.Concurrency != nil || it.Trigger == intent.TriggerCodeDeploy {
		// A CodeDeploy hook moves traffic between versions under one alias,
		// whose scalable target stays where it is.
		return autoScalingBounds{}, nil
	}
	plan, err := h.autoScaling.Plan(ctx, it.Function.Name, it.From)
	if err != nil {
		if awsfault.IsTransient(err) {
			return autoScalingBounds{}, err
		}
		h.log.WarnContext(ctx, "auto scaling of the outgoing alias not readable", "functionName", it.Function.Name, "from", it.From, "error", err.Error())
		return autoScalingBounds{}, nil
	}
	t := plan.Target
	if t == nil {
		return autoScalingBounds{}, nil
	}
	lo, hi := int64(aws.ToInt32(t.MinCapacity)), int64(aws.ToInt32(t.MaxCapacity))
	return autoScalingBounds{min: &lo, max: &hi}, nil
}

// decide derives the decision for in. Derivations that spend the
// account's headroom are taken one at a time, and what a Put will take is
// claimed before it is sent (claimed, to give back if it fails), so that
// intents applied at once cannot together take more than the account has.
func (h *Handler) decide(ctx context.Context, inv *invocation, it intent.Intent, in derive.Input, target provision.Status, removing, dryRun bool) (derive.Decision, int64, error) {
	if removing {
		return derive.Decide(in), 0, nil
	}
	inv.headroom.Lock()
	defer inv.headroom.Unlock()
	n := inv.cachedUnreserved()
	in.Limits.Unreserved = &n
	d := derive.Decide(in)
	if (d.Action == derive.ActionPut || d.Action == derive.ActionReject) && slices.Contains(d.ClampedBy, derive.ClampUnreserved) {
		// The account-wide guardrail does not bind a function with its own
		// reservation: look that up before clamping.
		var err error
		if d, err = h.withReservation(ctx, inv, it, in); err != nil {
			return derive.Decision{}, 0, err
		}
	}
	if d.Action != derive.ActionPut || dryRun {
		return d, 0, nil
	}
	claimed := d.Value - target.Requested
	inv.adjustUnreserved(it.Function.String(), claimed)
	return d, claimed, nil
}

// withReservation re-derives with the function's reserved concurrency, if
// it has one, in place of the account-wide guardrail.
func (h *Handler) withReservation(ctx context.Context, inv *invocation, it intent.Intent, in derive.Input) (derive.Decision, error) {
	fn := it.Function.String()
	n, ok, err := h.functionReservation(ctx, inv, fn)
	if err != nil {
		return derive.Decision{}, err
	}
	if ok {
		configs, err := h.control.List(ctx, fn)
		if err != nil {
			return derive.Decision{}, err
		}
		var others int64
		for _, c := range configs {
			if c.Qualifier != it.Qualifier {
				others += c.Requested
			}
		}
		in.Limits.Reserved, in.Limits.OtherQualifiersPC, in.Limits.Unreserved = &n, others, nil
	}
	return derive.Decide(in), nil
}

const minimumUnreserved = 100

// awsFailure turns a control-plane error into a FAILED result, or hands a
// transient one back so that the record is retried.
func (h *Handler) awsFailure(it intent.Intent, err error) (results.Message, error) {
	h.metrics.awsError(err)
	var e *provision.Error
	if !errors.As(err, &e) || e.Transient {
		return results.Message{}, err
	}
	m := h.result(it, results.OutcomeFailed)
	m.Error = &results.Error{Code: e.Code, Message: e.Message}
	m.Reason = e.Explain()
	return m, nil
}

// failed is apply's answer to a control-plane error: a FAILED result with
// the derivation, or the transient error.
func (h *Handler) failed(it intent.Intent, deriv *results.Derivation, err error) ([]results.Message, *change, error) {
	m, terr := h.awsFailure(it, err)
	if terr != nil {
		return nil, nil, terr
	}
	m.Derivation = deriv
	return []results.Message{m}, nil, nil
}

func describe(d derive.Decision, target provision.Status) string {
	switch d.Action {
	case derive.ActionPut:
		return fmt.Sprintf("request %d (now %d)", d.Value, target.Requested)
	case derive.ActionDelete:
		return "remove provisioned concurrency"
	case derive.ActionUnchanged:
		return fmt.Sprintf("leave %d unchanged", target.Requested)
	}
	return "reject: " + d.Reason
}

func derivationOf(d derive.Decision) *results.Derivation {
	if d.Strategy == "" {
		return nil
	}
	clamped := d.ClampedBy
	if clamped == nil {
		clamped = []string{}
	}
	out := &results.Derivation{Strategy: d.Strategy, From: d.From, Base: d.Base, Scale: d.Scale, Value: d.Value, ClampedBy: clamped,
		Fallback: d.Fallback, FromAutoScaling: d.FromAutoScaling}
	if u := d.Demand; u != nil {
		out.Demand = &results.Demand{Qualifier: u.Qualifier, Peak: u.Peak, Spillover: u.Spillover, Window: derive.FormatWindow(u.Window),
			Utilisation: u.Utilisation, Datapoints: u.Datapoints, RaisedBySpillover: u.RaisedBySpillover}
	}
	return out
}

func previousOf(s provision.Status) *results.Previous {
	return &results.Previous{RequestedProvisionedConcurrentExecutions: s.Requested, Status: string(s.Status)}
}

func responseOf(s provision.Status) *results.Response {
	return &results.Response{
		RequestedProvisionedConcurrentExecutions: s.Requested,
		AvailableProvisionedConcurrentExecutions: s.Available,
		AllocatedProvisionedConcurrentExecutions: s.Allocated,
		Status:                                   string(s.Status),
		StatusReason:                             s.StatusReason,
		LastModified:                             s.LastModified,
	}
}

// released reports whether from looks as the intent's release plan leaves
// it: gone after "delete", at the standby value after a number.
func released(from provision.Status, r intent.Release, maxConcurrency int64) bool {
	switch r.Mode {
	case intent.ReleaseDelete:
		return !from.Exists
	case intent.ReleaseStandby:
		return from.Exists && from.Requested == min(r.Standby, maxConcurrency)
	}
	return false
}
