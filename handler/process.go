package handler

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"slices"
	"sync"
	"time"

	"golang.org/x/sync/errgroup"

	"github.com/prewarm/prewarm/intent"
	"github.com/prewarm/prewarm/results"
)

// record is one input of an invocation (an SQS record or the direct
// payload) and what became of it.
type record struct {
	index     int
	id        string
	messageID string
	// group is the record's MessageGroupId, from a FIFO queue.
	group string

	msg       intent.Message
	rejection *intent.Rejection

	mu        sync.Mutex
	published []results.Message
	failed    bool
	failure   string
}

func (r *record) decode(payload []byte, defaultID string, trigger intent.Trigger) {
	msg, err := intent.Decode(payload, defaultID, trigger)
	if err != nil {
		var rej *intent.Rejection
		if !errors.As(err, &rej) {
			rej = &intent.Rejection{Reason: err.Error(), Trigger: trigger}
		}
		if rej.ID == "" {
			rej.ID = defaultID
		}
		if rej.Trigger == "" {
			rej.Trigger = trigger
		}
		r.rejection = rej
		return
	}
	r.msg = msg
}

func (r *record) fail(format string, args ...any) {
	r.mu.Lock()
	defer r.mu.Unlock()
	if !r.failed {
		r.failed, r.failure = true, fmt.Sprintf(format, args...)
	}
}

func (r *record) isFailed() bool {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.failed
}

// pending is a result message waiting to be published for its record, and
// the change it reports on (nil for none).
type pending struct {
	rec    *record
	msg    results.Message
	change *change
}

// fanOut bounds the work done at once: sequences applied, functions read.
const fanOut = 16

// process runs records through decision, application, publishing and
// tracking. Records that fail transiently are marked failed.
//
// Records are applied in sequences: the intents of one function in the
// order received (a mirror reads what the record before it set), or, from
// a FIFO queue, the records of one message group in order, stopping at the
// first failure. Sequences run concurrently. Once applied, every change
// still allocating is followed concurrently within one WAIT_SECONDS.
func (h *Handler) process(ctx context.Context, inv *invocation, records []*record, fifo bool) {
	work, cancel := h.workContext(ctx)
	defer cancel()

	var b batch
	var g errgroup.Group
	g.SetLimit(fanOut)
	for _, seq := range h.sequences(inv, records, fifo) {
		g.Go(func() error {
			h.runSequence(work, inv, seq, fifo, &b)
			return nil
		})
	}
	_ = g.Wait() // sequences report through b and their records, never an error

	// Publish in the order the records came, each record's results in the
	// order they arose.
	slices.SortStableFunc(b.out, byRecord)
	for i, err := range h.publish(ctx, b.out) {
		if err != nil {
			p := b.out[i]
			p.rec.fail("publish %s result for %s:%s: %v", p.msg.Outcome, p.msg.FunctionName, p.msg.Qualifier, err)
		}
	}
	var cs []*change
	for _, c := range b.changes {
		if !c.rec.isFailed() {
			cs = append(cs, c)
		}
	}
	if len(cs) > 0 {
		h.track(ctx, work, inv, cs)
	}
}

// batch collects what the sequences of one invocation produce.
type batch struct {
	mu      sync.Mutex
	out     []pending
	changes []*change
}

func (b *batch) add(r *record, msgs []results.Message, cs ...*change) {
	b.mu.Lock()
	defer b.mu.Unlock()
	for _, m := range msgs {
		b.out = append(b.out, pending{rec: r, msg: m})
	}
	for _, c := range cs {
		if c != nil {
			b.changes = append(b.changes, c)
		}
	}
}

// sequences splits records into the runs that must be applied in order.
func (h *Handler) sequences(inv *invocation, records []*record, fifo bool) [][]*record {
	index := map[string]int{}
	var seqs [][]*record
	for _, r := range records {
		key := fmt.Sprintf("record %d", r.index)
		switch {
		case fifo:
			key = "group " + r.group
		case r.rejection == nil && r.msg.Kind == intent.KindIntent:
			key = "function " + h.functionKey(inv, r.msg.Intent.Function)
		}
		i, ok := index[key]
		if !ok {
			i = len(seqs)
			index[key] = i
			seqs = append(seqs, nil)
		}
		seqs[i] = append(seqs[i], r)
	}
	return seqs
}

// runSequence handles one sequence's records in order.
func (h *Handler) runSequence(ctx context.Context, inv *invocation, seq []*record, fifo bool, out *batch) {
	// An intent overtaken by a later one for the same target in the same
	// sequence waits: the later one wins unless its own derivation rejects
	// it, and then the latest of the waiting ones is applied instead.
	last := map[string]int{}
	for _, r := range seq {
		if it, ok := h.applicable(inv, r); ok {
			last[targetKey(h.functionKey(inv, it.Function), it.Qualifier)] = r.index
		}
	}
	waiting := map[string][]*record{}
	b := &batch{}
	// From a FIFO queue, a record's results are published before the next
	// record of its group is touched: a record that cannot publish stops
	// its group there, and none after it has published anything.
	flush := func() {
		if !fifo {
			return
		}
		for i, err := range h.publish(ctx, b.out) {
			if err != nil {
				p := b.out[i]
				p.rec.fail("publish %s result for %s:%s: %v", p.msg.Outcome, p.msg.FunctionName, p.msg.Qualifier, err)
			}
		}
		b.out = b.out[:0]
	}
	for i, r := range seq {
		if fifo && i > 0 && seq[i-1].isFailed() {
			// The intents waiting for a later one that will not be applied
			// now are applied themselves: they come before the failure.
			for key, rs := range waiting {
				h.applyWinner(ctx, inv, rs[len(rs)-1], rs[:len(rs)-1], b)
				delete(waiting, key)
			}
			flush()
			for _, rest := range seq[i:] {
				rest.fail("record %s before it in message group %s failed", seq[i-1].messageID, rest.group)
			}
			break
		}
		h.runRecord(ctx, inv, r, last, waiting, b)
		flush()
	}
	out.mu.Lock()
	defer out.mu.Unlock()
	out.out = append(out.out, b.out...)
	out.changes = append(out.changes, b.changes...)
}

// runRecord handles one record of a sequence.
func (h *Handler) runRecord(ctx context.Context, inv *invocation, r *record, last map[string]int, waiting map[string][]*record, b *batch) {
	switch {
	case r.rejection != nil:
		m := h.rejected(r.rejection)
		if r.rejection.JobID != "" {
			// A job must still be ended, whatever was wrong with its intent.
			h.endGate(ctx, r, intent.Gate{JobID: r.rejection.JobID}, m, b)
			return
		}
		b.add(r, []results.Message{m})
	case r.msg.Kind == intent.KindCodeDeployHook:
		h.runHook(ctx, inv, r, b)
	case r.msg.Kind == intent.KindCodePipelineJob:
		h.runJob(ctx, inv, r, b)
	case r.msg.Kind == intent.KindIntent:
		it := r.msg.Intent
		if reason, ok := h.allowed(inv, it); !ok {
			b.add(r, []results.Message{h.reject(it, reason)})
			return
		}
		key := targetKey(h.functionKey(inv, it.Function), it.Qualifier)
		if _, applicable := h.applicable(inv, r); !applicable {
			h.applyWinner(ctx, inv, r, nil, b)
			return
		}
		if i, ok := last[key]; ok && i != r.index {
			waiting[key] = append(waiting[key], r)
			return
		}
		h.applyWinner(ctx, inv, r, waiting[key], b)
		delete(waiting, key)
	case r.msg.Kind == intent.KindFollowUp:
		for _, f := range r.msg.FollowUps {
			if reason, ok := h.allowed(inv, f.Intent); !ok {
				b.add(r, []results.Message{h.reject(f.Intent, reason)})
				continue
			}
			c, reason := h.resume(r, f)
			if c == nil {
				b.add(r, []results.Message{h.reject(f.Intent, reason)})
				continue
			}
			b.add(r, nil, c)
		}
	case r.msg.Kind == intent.KindReconcile:
		msgs, cs := h.reconcile(ctx, inv, r)
		b.mu.Lock()
		b.out = append(b.out, msgs...)
		b.changes = append(b.changes, cs...)
		b.mu.Unlock()
	default:
		b.add(r, []results.Message{h.rejected(&intent.Rejection{Reason: "unrecognised message", ID: r.id})})
	}
}

// applyWinner applies the last intent for a target, falling back on the
// intents it overtook, latest first, while derivation rejects; the rest are
// reported SUPERSEDED without an API call.
func (h *Handler) applyWinner(ctx context.Context, inv *invocation, r *record, overtaken []*record, b *batch) {
	winner := r
	for {
		msgs, c, err := h.apply(ctx, inv, winner, winner.msg.Intent)
		endsIntent(msgs, c, err)
		b.add(winner, msgs, c)
		if err != nil {
			winner.fail("%v", err)
		}
		rejected := err == nil && c == nil && len(msgs) == 1 && msgs[0].Outcome == results.OutcomeRejected
		if !rejected || len(overtaken) == 0 {
			break
		}
		winner, overtaken = overtaken[len(overtaken)-1], overtaken[:len(overtaken)-1]
	}
	for _, o := range overtaken {
		it := o.msg.Intent
		m := h.result(it, results.OutcomeSuperseded)
		m.Reason = fmt.Sprintf("a later intent in the same batch targets %s:%s", it.Function.Name, it.Qualifier)
		b.add(o, []results.Message{m})
	}
}

// endsIntent marks the last of apply's messages as the intent's ending
// when nothing follows it.
func endsIntent(msgs []results.Message, c *change, err error) {
	if c == nil && err == nil && len(msgs) > 0 {
		msgs[len(msgs)-1].EndsIntent = true
	}
}

// applicable reports the intent of r when r is one that would change its
// target: allowed, and not a dry run.
func (h *Handler) applicable(inv *invocation, r *record) (intent.Intent, bool) {
	if r.rejection != nil || r.msg.Kind != intent.KindIntent {
		return intent.Intent{}, false
	}
	it := r.msg.Intent
	if _, ok := h.allowed(inv, it); !ok || it.DryRun || h.cfg.DryRun {
		return intent.Intent{}, false
	}
	return it, true
}

// workContext bounds AWS work so that a margin remains before the
// invocation's deadline for publishing and follow-ups.
func (h *Handler) workContext(ctx context.Context) (context.Context, context.CancelFunc) {
	if deadline, ok := ctx.Deadline(); ok {
		return context.WithDeadline(ctx, deadline.Add(-h.margin))
	}
	return context.WithCancel(ctx)
}

func byRecord(a, b pending) int { return a.rec.index - b.rec.index }

func targetKey(function, qualifier string) string { return function + ":" + qualifier }

// functionKey identifies the function fn names, whichever form it was given
// in: a function of prewarm's own account and Region by its name (so a
// name and the ARN of the same function are one function), any other by
// its ARN (so a same-named function elsewhere is another one).
func (h *Handler) functionKey(inv *invocation, fn intent.Function) string {
	own := fn.AccountID == "" || fn.AccountID == inv.account && (fn.Region == "" || fn.Region == inv.region)
	if own {
		return fn.Name
	}
	return fn.String()
}

// allowed enforces ALLOWED_FUNCTIONS before any AWS call.
func (h *Handler) allowed(inv *invocation, it intent.Intent) (string, bool) {
	if h.cfg.Allowed.Allows(it.Function, inv.account, inv.region) {
		return "", true
	}
	return fmt.Sprintf("function %q is not allowed by ALLOWED_FUNCTIONS", it.Function.String()), false
}

// publish sends the pending messages and answers one error per message;
// what a failure means is the caller's to decide.
func (h *Handler) publish(ctx context.Context, out []pending) []error {
	errs := make([]error, len(out))
	if len(out) == 0 {
		return errs
	}
	msgs := make([]results.Message, len(out))
	for i, p := range out {
		msgs[i] = p.msg
	}
	sent := h.publisher.Publish(ctx, msgs)
	for i, p := range out {
		if i < len(sent) {
			errs[i] = sent[i]
		}
		if errs[i] != nil {
			h.metrics.publishFailed()
			continue
		}
		p.rec.mu.Lock()
		p.rec.published = append(p.rec.published, p.msg)
		p.rec.mu.Unlock()
		h.logResult(ctx, p.msg)
		h.metrics.outcome(p.msg)
	}
	return errs
}

func (h *Handler) logResult(ctx context.Context, m results.Message) {
	attrs := []any{
		"id", m.ID, "trigger", m.Trigger, "functionName", m.FunctionName, "qualifier", m.Qualifier,
		"outcome", string(m.Outcome),
	}
	if m.CorrelationID != "" {
		attrs = append(attrs, "correlationId", m.CorrelationID)
	}
	if d := m.Derivation; d != nil {
		attrs = append(attrs, slog.Group("derivation",
			"strategy", d.Strategy, "from", d.From, "base", d.Base, "scale", d.Scale, "value", d.Value, "clampedBy", d.ClampedBy))
	}
	if m.Response != nil {
		attrs = append(attrs, "status", m.Response.Status)
		if m.Response.StatusReason != "" {
			attrs = append(attrs, "statusReason", m.Response.StatusReason)
		}
	}
	if m.Error != nil {
		attrs = append(attrs, "errorCode", m.Error.Code)
	}
	if m.Reason != "" {
		attrs = append(attrs, "reason", m.Reason)
	}
	h.log.InfoContext(ctx, "decision", attrs...)
}

func (h *Handler) result(it intent.Intent, outcome results.Outcome) results.Message {
	return results.Message{
		SchemaVersion: 1,
		ID:            it.ID,
		CorrelationID: it.CorrelationID,
		Trigger:       string(it.Trigger),
		FunctionName:  it.Function.Name,
		Qualifier:     it.Qualifier,
		Outcome:       outcome,
		Time:          h.now().UTC().Truncate(time.Millisecond),
	}
}

func (h *Handler) reject(it intent.Intent, reason string) results.Message {
	m := h.result(it, results.OutcomeRejected)
	m.Reason = reason
	return m
}

func (h *Handler) rejected(rej *intent.Rejection) results.Message {
	return results.Message{
		SchemaVersion: 1,
		ID:            rej.ID,
		CorrelationID: rej.CorrelationID,
		Trigger:       string(rej.Trigger),
		FunctionName:  rej.FunctionName,
		Qualifier:     rej.Qualifier,
		Outcome:       results.OutcomeRejected,
		Reason:        rej.Reason,
		Time:          h.now().UTC().Truncate(time.Millisecond),
	}
}
