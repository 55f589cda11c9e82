package handler

import (
	"time"

	"github.com/prewarm/prewarm/derive"
	"github.com/prewarm/prewarm/intent"
	"github.com/prewarm/prewarm/provision"
	"github.com/prewarm/prewarm/results"
)

// change owns one target's change from its decision to its end: the intent,
// the derivation, what AWS last showed of the target and where tracking
// stands. It is the only thing that produces a target's result messages,
// and what a follow-up carries, whole. apply, resume and reconcile create
// it; polling and release advance it.
type change struct {
	rec *record
	it  intent.Intent
	// deriv is the decision as results report it; nil when none was made.
	deriv *results.Derivation
	// previous is the target before prewarm acted, when that was read.
	previous *results.Previous
	// value is what the target requests, and what tracking waits for.
	value int64
	// observed is what AWS last answered for the target.
	observed provision.Status
	// from is the outgoing qualifier as read with the target, when
	// fromRead.
	from     provision.Status
	fromRead bool

	started, deadline time.Time
	attempt           int
	// next is when to read the target again.
	next time.Time
	// reported is the terminal outcome already published (READY while the
	// release is still to be done), so that none is published twice.
	reported results.Outcome
	// carried says what became of the outgoing alias's auto scaling.
	carried string
	// done marks a change that has nothing left to do in this invocation.
	done bool
	// noFollowUp marks a change resumed by reconcile: the next scheduled
	// pass picks it up again, so it writes no follow-up of its own.
	noFollowUp bool

	// gate is the deployment waiting for the change to end (zero for
	// none); final is the change's last result once done, answered that the
	// gate has its answer, and unanswered the outcome still to be given to
	// it when answering failed.
	gate       intent.Gate
	final      results.Message
	answered   bool
	unanswered results.Outcome
}

// newChange starts the change of it to the value d decided.
func (h *Handler) newChange(r *record, it intent.Intent, d derive.Decision, target provision.Status) *change {
	now := h.now()
	return &change{
		rec: r, it: it, deriv: derivationOf(d), previous: previousOf(target), value: d.Value,
		observed: target, started: now, deadline: now.Add(h.cfg.TrackTimeout), next: now,
	}
}

// message is the result of c with outcome: the identifiers of its intent,
// its derivation, and AWS's last answer for the target.
func (h *Handler) message(c *change, outcome results.Outcome, reason string) results.Message {
	m := h.result(c.it, outcome)
	m.Derivation, m.Reason = c.deriv, reason
	m.DeploymentID, m.JobID = c.gate.DeploymentID, c.gate.JobID
	if c.observed.Exists {
		m.Response = responseOf(c.observed)
	}
	return m
}

// decided is the message of a decision taken before anything was tracked
// (APPLIED, UNCHANGED, DRY_RUN, REJECTED): it also says what the target
// held before.
func (h *Handler) decided(c *change, outcome results.Outcome, reason string) results.Message {
	m := h.message(c, outcome, reason)
	m.Previous = c.previous
	return m
}

// followUp is c as a follow-up message carries it.
func (c *change) followUp() intent.FollowUp {
	f := intent.FollowUp{
		Intent: c.it, Value: c.value, Attempt: c.attempt + 1,
		Started: c.started, Deadline: c.deadline, Next: c.next,
		Reported: string(c.reported), ClampedBy: []string{},
		Gate: c.gate, Unanswered: string(c.unanswered),
	}
	if d := c.deriv; d != nil {
		f.Strategy, f.Base, f.Scale, f.ClampedBy = d.Strategy, d.Base, d.Scale, d.ClampedBy
		f.Fallback, f.FromAutoScaling = d.Fallback, d.FromAutoScaling
		if d.Demand != nil {
			// The same fields in the same order: a conversion, checked by the compiler.
			dm := intent.Demand(*d.Demand)
			f.Demand = &dm
		}
		if d.From != c.it.From {
			f.DerivedFrom = d.From
		}
	}
	return f
}

// resume rebuilds the change a follow-up carries. What it may do is
// bounded here, not trusted from the message: tracking never runs past
// TRACK_TIMEOUT from its start, nor starts in the future, and the value
// and any standby never exceed MAX_CONCURRENCY (the allowlist and DRY_RUN
// are checked by the caller and at release).
func (h *Handler) resume(r *record, f intent.FollowUp) (*change, string) {
	now := h.now()
	switch {
	case f.Started.After(now.Add(time.Minute)):
		return nil, "follow-up starts in the future"
	case f.Value > h.cfg.MaxConcurrency:
		return nil, "follow-up tracks a value above MAX_CONCURRENCY"
	}
	deadline := f.Deadline
	if limit := f.Started.Add(h.cfg.TrackTimeout); deadline.After(limit) {
		deadline = limit
	}
	it := f.Intent
	it.Trigger = intent.TriggerFollowUp
	from := f.DerivedFrom
	if from == "" {
		from = it.From
	}
	deriv := &results.Derivation{Strategy: f.Strategy, From: from, Base: f.Base, Scale: f.Scale, Value: f.Value, ClampedBy: f.ClampedBy,
		Fallback: f.Fallback, FromAutoScaling: f.FromAutoScaling}
	if f.Demand != nil {
		dm := results.Demand(*f.Demand)
		deriv.Demand = &dm
	}
	if deriv.Strategy == "" {
		deriv = nil
	} else if deriv.ClampedBy == nil {
		deriv.ClampedBy = []string{}
	}
	next := f.Next
	if next.Before(now) || next.After(now.Add(h.pollEvery)) {
		next = now
	}
	c := &change{
		rec: r, it: it, deriv: deriv, value: f.Value, attempt: f.Attempt,
		started: f.Started, deadline: deadline, next: next,
		reported: results.Outcome(f.Reported),
	}
	if !f.Gate.IsZero() {
		h.gated(c, f.Gate)
		if f.Unanswered != "" {
			c.unanswered = results.Outcome(f.Unanswered)
			c.final = h.message(c, c.unanswered, "")
		}
	}
	return c, ""
}
