package handler

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"slices"
	"sync"
	"time"

	"github.com/prewarm/prewarm/intent"
	"github.com/prewarm/prewarm/results"
)

// record is one input of an invocation (an SQS record or the direct
// payload) and what became of it.
type record struct {
	index     int
	id        string
	messageID string

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

// pending is a result message waiting to be published for its record.
type pending struct {
	rec *record
	msg results.Message
}

// process runs records through decision, application, publishing and
// tracking. Records that fail transiently are marked failed.
func (h *Handler) process(ctx context.Context, inv *invocation, records []*record) {
	work, cancel := h.workContext(ctx)
	defer cancel()

	var out []pending
	var tracks []*tracking
	groups := map[string][]*record{}
	var order []string
	latest := map[string]int{} // target -> index of the last intent for it

	for _, r := range records {
		switch {
		case r.rejection != nil:
			out = append(out, pending{r, h.rejected(r.rejection)})
		case r.msg.Kind == intent.KindIntent:
			it := r.msg.Intent
			if reason, ok := h.allowed(inv, it); !ok {
				out = append(out, pending{r, h.reject(it, reason)})
				continue
			}
			if !it.DryRun && !h.cfg.DryRun {
				latest[targetKey(h.functionKey(inv, it.Function), it.Qualifier)] = r.index
			}
			key := h.functionKey(inv, it.Function)
			if _, seen := groups[key]; !seen {
				order = append(order, key)
			}
			groups[key] = append(groups[key], r)
		case r.msg.Kind == intent.KindFollowUp:
			f := r.msg.FollowUp
			if reason, ok := h.allowed(inv, f.Intent); !ok {
				out = append(out, pending{r, h.reject(f.Intent, reason)})
				continue
			}
			tracks = append(tracks, h.resume(r, f))
		case r.msg.Kind == intent.KindReconcile:
			msgs, ts := h.reconcile(work, inv, r)
			out = append(out, msgs...)
			tracks = append(tracks, ts...)
		default:
			out = append(out, pending{r, h.rejected(&intent.Rejection{Reason: "unrecognised message", ID: r.id})})
		}
	}

	// Different functions concurrently; one function's intents in order.
	var mu sync.Mutex
	var wg sync.WaitGroup
	sem := make(chan struct{}, 16)
	for _, key := range order {
		wg.Add(1)
		sem <- struct{}{}
		go func(rs []*record) {
			defer wg.Done()
			defer func() { <-sem }()
			for _, r := range rs {
				it := r.msg.Intent
				if i, ok := latest[targetKey(h.functionKey(inv, it.Function), it.Qualifier)]; ok && i != r.index && !it.DryRun && !h.cfg.DryRun {
					m := h.result(it, results.OutcomeSuperseded)
					m.Reason = fmt.Sprintf("a later intent in the same batch targets %s:%s", it.Function.Name, it.Qualifier)
					mu.Lock()
					out = append(out, pending{r, m})
					mu.Unlock()
					continue
				}
				msgs, tr, err := h.apply(work, inv, it)
				mu.Lock()
				for _, m := range msgs {
					out = append(out, pending{r, m})
				}
				if tr != nil {
					tr.rec = r
					tracks = append(tracks, tr)
				}
				mu.Unlock()
				if err != nil {
					r.fail("%v", err)
				}
			}
		}(groups[key])
	}
	wg.Wait()

	// Publish in the order the records came, each record's results in the
	// order they arose.
	slices.SortStableFunc(out, byRecord)
	h.publish(ctx, out)
	if len(tracks) > 0 {
		h.track(ctx, work, inv, tracks)
	}
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
	own := fn.AccountID == "" || fn.AccountID == inv.account && (fn.Region == "" || fn.Region == h.cfg.Region)
	if own {
		return fn.Name
	}
	return fn.String()
}

// allowed enforces ALLOWED_FUNCTIONS before any AWS call.
func (h *Handler) allowed(inv *invocation, it intent.Intent) (string, bool) {
	if h.cfg.Allowed.Allows(it.Function, inv.account, h.cfg.Region) {
		return "", true
	}
	return fmt.Sprintf("function %q is not allowed by ALLOWED_FUNCTIONS", it.Function.String()), false
}

// publish sends the pending messages; a message that cannot be published
// fails its record, so SQS delivers the record again.
func (h *Handler) publish(ctx context.Context, out []pending) {
	if len(out) == 0 {
		return
	}
	msgs := make([]results.Message, len(out))
	for i, p := range out {
		msgs[i] = p.msg
	}
	errs := h.publisher.Publish(ctx, msgs)
	for i, p := range out {
		var err error
		if i < len(errs) {
			err = errs[i]
		}
		if err != nil {
			p.rec.fail("publish %s result for %s:%s: %v", p.msg.Outcome, p.msg.FunctionName, p.msg.Qualifier, err)
			h.metrics.publishFailed()
			continue
		}
		p.rec.mu.Lock()
		p.rec.published = append(p.rec.published, p.msg)
		p.rec.mu.Unlock()
		h.logResult(ctx, p.msg)
		h.metrics.outcome(p.msg)
	}
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
