package handler

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"
	"sync"

	"github.com/prewarm/prewarm/derive"
	"github.com/prewarm/prewarm/intent"
	"github.com/prewarm/prewarm/provision"
	"github.com/prewarm/prewarm/results"
)

// apply derives and applies one intent. It returns the result messages, the
// tracking to continue with (nil for none), and a transient error when the
// record should be tried again.
func (h *Handler) apply(ctx context.Context, inv *invocation, it intent.Intent) ([]results.Message, *tracking, error) {
	fn, q := it.Function.String(), it.Qualifier
	dryRun := it.DryRun || h.cfg.DryRun

	// The reads the decision needs do not depend on one another: the
	// target, the mirror source and the account settings are read together,
	// so that a switch costs one round trip before its Put, not three.
	removing := it.Concurrency != nil && *it.Concurrency == 0
	mirror := it.Concurrency == nil && it.From != ""
	var (
		wg                 sync.WaitGroup
		src                provision.Status
		unreserved         int64
		srcErr, accountErr error
	)
	if mirror {
		wg.Go(func() { src, srcErr = h.control.Get(ctx, fn, it.From) })
	}
	if !removing {
		wg.Go(func() { unreserved, accountErr = h.unreservedConcurrency(ctx, inv) })
	}
	target, err := h.control.Get(ctx, fn, q)
	wg.Wait()
	for _, err := range []error{err, srcErr, accountErr} {
		if err != nil {
			return h.awsFailure(it, err)
		}
	}
	in := derive.Input{
		Explicit:       it.Concurrency,
		From:           it.From,
		Scale:          it.Scale,
		Min:            it.Min,
		Max:            it.Max,
		MaxConcurrency: h.cfg.MaxConcurrency,
		Target:         derive.State{Requested: target.Requested, Status: target.Status},
		Limits:         derive.Limits{MinimumUnreserved: minimumUnreserved},
	}
	if rule, ok := h.cfg.Policy.Rule(it.Function.Name); ok {
		in.Policy = &rule
	}
	if mirror && src.Exists {
		n := src.Requested
		in.Mirror = &n
	}
	if mirror && target.Exists && released(src, it.Release, h.cfg.MaxConcurrency) {
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
	if !removing {
		in.Limits.Unreserved = &unreserved
	}
	d := derive.Decide(in)
	if (d.Action == derive.ActionPut || d.Action == derive.ActionReject) && slices.Contains(d.ClampedBy, derive.ClampUnreserved) {
		// The account-wide guardrail does not bind a function with its own
		// reservation: look that up before clamping.
		if d, err = h.withReservation(ctx, inv, it, in); err != nil {
			return h.awsFailure(it, err)
		}
	}

	previous := previousOf(target)
	deriv := derivationOf(d)
	switch {
	case dryRun:
		m := h.result(it, results.OutcomeDryRun)
		m.Derivation, m.Previous = deriv, previous
		m.Reason = fmt.Sprintf("dry run: would %s", describe(d, target))
		return []results.Message{m}, nil, nil
	case d.Action == derive.ActionReject:
		m := h.result(it, results.OutcomeRejected)
		m.Derivation, m.Previous, m.Reason = deriv, previous, d.Reason
		return []results.Message{m}, nil, nil
	case d.Action == derive.ActionUnchanged:
		m := h.result(it, results.OutcomeUnchanged)
		m.Derivation, m.Previous, m.Reason = deriv, previous, d.Reason
		if target.Exists {
			m.Response = responseOf(target)
		}
		var tr *tracking
		if it.Wait && target.Exists && target.Status == "IN_PROGRESS" {
			tr = h.newTracking(it, d, 0)
		}
		return []results.Message{m}, tr, nil
	case d.Action == derive.ActionDelete:
		if err := h.control.Delete(ctx, fn, q); err != nil {
			return h.awsFailure(it, err)
		}
		inv.adjustUnreserved(fn, -target.Requested)
		m := h.result(it, results.OutcomeReleased)
		m.Derivation, m.Previous = deriv, previous
		m.Reason = "provisioned concurrency removed (concurrency 0)"
		return []results.Message{m}, nil, nil
	}

	st, err := h.control.Put(ctx, fn, q, d.Value)
	if provision.IsReservationLimit(err) {
		if d, err = h.withReservation(ctx, inv, it, in); err == nil {
			deriv = derivationOf(d)
			switch d.Action {
			case derive.ActionPut:
				st, err = h.control.Put(ctx, fn, q, d.Value)
			case derive.ActionReject:
				m := h.result(it, results.OutcomeRejected)
				m.Derivation, m.Previous, m.Reason = deriv, previous, d.Reason
				return []results.Message{m}, nil, nil
			default:
				m := h.result(it, results.OutcomeUnchanged)
				m.Derivation, m.Previous, m.Reason = deriv, previous, d.Reason
				return []results.Message{m}, nil, nil
			}
		}
	}
	if err != nil {
		msgs, _, terr := h.awsFailure(it, err)
		for i := range msgs {
			msgs[i].Derivation, msgs[i].Previous = deriv, previous
		}
		return msgs, nil, terr
	}
	inv.adjustUnreserved(fn, d.Value-target.Requested)
	m := h.result(it, results.OutcomeApplied)
	m.Derivation, m.Previous, m.Response = deriv, previous, responseOf(st)
	m.Reason = d.Reason
	var tr *tracking
	if it.Wait {
		tr = h.newTracking(it, d, 0)
	}
	return []results.Message{m}, tr, nil
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
func (h *Handler) awsFailure(it intent.Intent, err error) ([]results.Message, *tracking, error) {
	var e *provision.Error
	if !errors.As(err, &e) || e.Transient {
		h.metrics.awsError(err)
		return nil, nil, err
	}
	h.metrics.awsError(err)
	m := h.result(it, results.OutcomeFailed)
	m.Error = &results.Error{Code: e.Code, Message: e.Message}
	m.Reason = explain(e)
	return []results.Message{m}, nil, nil
}

// explain says in words what AWS's conflicts mean for the user.
func explain(e *provision.Error) string {
	switch {
	case strings.Contains(e.Message, "already Provisioned version"):
		return fmt.Sprintf("the version that alias %s points to already has provisioned concurrency, on the version itself or through another alias; release it there first", e.Qualifier)
	case strings.Contains(e.Message, "pointed by a Provisioned Concurrency alias"):
		return fmt.Sprintf("an alias with provisioned concurrency points to version %s; provision that alias instead", e.Qualifier)
	case e.Weights:
		return fmt.Sprintf("alias %s routes traffic by weight; provisioned concurrency needs an alias without AdditionalVersionWeights", e.Qualifier)
	case e.Code == "ResourceNotFoundException":
		return fmt.Sprintf("%s:%s does not exist", e.Function, e.Qualifier)
	}
	return fmt.Sprintf("%s failed: %s", e.Op, e.Message)
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
	return &results.Derivation{Strategy: d.Strategy, From: d.From, Base: d.Base, Scale: d.Scale, Value: d.Value, ClampedBy: clamped}
}

func previousOf(s provision.Status) *results.Previous {
	return &results.Previous{RequestedProvisionedConcurrentExecutions: s.Requested, Status: s.Status}
}

func responseOf(s provision.Status) *results.Response {
	return &results.Response{
		RequestedProvisionedConcurrentExecutions: s.Requested,
		AvailableProvisionedConcurrentExecutions: s.Available,
		AllocatedProvisionedConcurrentExecutions: s.Allocated,
		Status:                                   s.Status,
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
