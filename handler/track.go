package handler

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"slices"
	"sync"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/sqs"

	"github.com/prewarm/prewarm/derive"
	"github.com/prewarm/prewarm/intent"
	"github.com/prewarm/prewarm/provision"
	"github.com/prewarm/prewarm/results"
)

// tracking follows one target from IN_PROGRESS to READY or FAILED.
type tracking struct {
	rec      *record
	it       intent.Intent
	value    int64
	deriv    *results.Derivation
	started  time.Time
	deadline time.Time
	attempt  int
	// next is when to poll next; last is what the last poll saw.
	next time.Time
	last provision.Status
	done bool
	// noFollowUp marks a tracking resumed by reconcile: the next scheduled
	// pass picks it up again, so it writes no follow-up of its own.
	noFollowUp bool
}

func (h *Handler) newTracking(it intent.Intent, d derive.Decision, attempt int) *tracking {
	now := h.now()
	return &tracking{
		it: it, value: d.Value, deriv: derivationOf(d), attempt: attempt,
		started: now, deadline: now.Add(h.cfg.TrackTimeout), next: now.Add(h.pollInterval),
	}
}

// resume continues tracking from a follow-up message.
func (h *Handler) resume(r *record, f intent.FollowUp) *tracking {
	deriv := &results.Derivation{Strategy: f.Strategy, From: f.Intent.From, Base: f.Base, Scale: f.Scale, Value: f.Value, ClampedBy: f.ClampedBy}
	if deriv.ClampedBy == nil {
		deriv.ClampedBy = []string{}
	}
	it := f.Intent
	it.Trigger = intent.TriggerFollowUp
	return &tracking{
		rec: r, it: it, value: f.Value, deriv: deriv, attempt: f.Attempt,
		started: f.Started, deadline: f.Deadline, next: h.now(),
	}
}

// track polls every tracking until it ends or the in-invocation budget is
// spent, publishing each terminal result as soon as it is known, then
// hands what is left to the follow-up queue.
func (h *Handler) track(ctx, work context.Context, inv *invocation, ts []*tracking) {
	budgetEnd := h.now().Add(h.cfg.WaitSeconds)
	if deadline, ok := work.Deadline(); ok && deadline.Before(budgetEnd) {
		budgetEnd = deadline
	}
	for {
		due := h.due(ts)
		if len(due) > 0 {
			out := h.pollRound(work, due)
			h.publish(ctx, out)
			h.releaseReady(ctx, work, inv, due)
		}
		next, open := nextPoll(ts)
		if !open {
			return
		}
		if next.After(budgetEnd) || work.Err() != nil {
			break
		}
		if wait := next.Sub(h.now()); wait > 0 {
			if err := h.sleep(work, wait); err != nil {
				break
			}
		}
	}
	h.handOver(ctx, ts)
}

// due returns the open trackings whose poll time has come.
func (h *Handler) due(ts []*tracking) []*tracking {
	now := h.now()
	var out []*tracking
	for _, t := range ts {
		if !t.done && !t.next.After(now) {
			out = append(out, t)
		}
	}
	return out
}

func nextPoll(ts []*tracking) (time.Time, bool) {
	var next time.Time
	open := false
	for _, t := range ts {
		if t.done {
			continue
		}
		if !open || t.next.Before(next) {
			next = t.next
		}
		open = true
	}
	return next, open
}

// pollRound reads the status of each due tracking concurrently and returns
// the terminal results it found.
func (h *Handler) pollRound(ctx context.Context, due []*tracking) []pending {
	var mu sync.Mutex
	var out []pending
	var wg sync.WaitGroup
	sem := make(chan struct{}, 16)
	for _, t := range due {
		wg.Add(1)
		sem <- struct{}{}
		go func() {
			defer wg.Done()
			defer func() { <-sem }()
			if m, ok := h.poll(ctx, t); ok {
				mu.Lock()
				out = append(out, pending{t.rec, m})
				mu.Unlock()
			}
		}()
	}
	wg.Wait()
	slices.SortStableFunc(out, byRecord)
	return out
}

// poll reads one target once; ok reports a terminal result.
func (h *Handler) poll(ctx context.Context, t *tracking) (results.Message, bool) {
	fn, q := t.it.Function.String(), t.it.Qualifier
	st, err := h.control.Get(ctx, fn, q)
	now := h.now()
	elapsed := now.Sub(t.started)
	t.next = now.Add(h.pollDelay(elapsed))
	if err != nil {
		if provision.IsTransient(err) {
			return results.Message{}, false
		}
		t.done = true
		msgs, _, _ := h.awsFailure(t.it, err)
		m := msgs[0]
		m.Derivation = t.deriv
		return m, true
	}
	t.last = st
	switch {
	case !st.Exists || st.Requested != t.value:
		t.done = true
		m := h.result(t.it, results.OutcomeSuperseded)
		m.Derivation = t.deriv
		if st.Exists {
			m.Response = responseOf(st)
		}
		m.Reason = fmt.Sprintf("%s:%s now requests %d, not the %d being tracked: a later change took over", t.it.Function.Name, q, st.Requested, t.value)
		return m, true
	case st.Status == "READY":
		t.done = true
		m := h.result(t.it, results.OutcomeReady)
		m.Derivation, m.Response = t.deriv, responseOf(st)
		m.Reason = fmt.Sprintf("READY after %s", elapsed.Round(time.Second))
		h.metrics.ready(elapsed)
		return m, true
	case st.Status == "FAILED":
		t.done = true
		m := h.result(t.it, results.OutcomeFailed)
		m.Derivation, m.Response = t.deriv, responseOf(st)
		m.Reason = fmt.Sprintf("allocation failed: %s", st.StatusReason)
		if t.it.From != "" && t.it.Release.Mode != intent.ReleaseNone {
			m.Reason += fmt.Sprintf("; %s keeps its provisioned concurrency", t.it.From)
		}
		return m, true
	case !now.Before(t.deadline):
		t.done = true
		m := h.result(t.it, results.OutcomeTimedOut)
		m.Derivation, m.Response = t.deriv, responseOf(st)
		m.Reason = fmt.Sprintf("still %s after TRACK_TIMEOUT (%s)", st.Status, h.cfg.TrackTimeout)
		return m, true
	}
	return results.Message{}, false
}

// pollDelay grows the gap between polls as allocation takes longer: AWS
// takes one to several minutes, and the quota is shared.
func (h *Handler) pollDelay(elapsed time.Duration) time.Duration {
	d := h.pollInterval + elapsed/4
	return min(d, 5*time.Second)
}

// releaseReady applies the release plan of each tracking that just became
// READY: only then may the outgoing qualifier lose its warm capacity.
func (h *Handler) releaseReady(ctx, work context.Context, inv *invocation, due []*tracking) {
	var out []pending
	for _, t := range due {
		if !t.done || t.last.Status != "READY" || t.last.Requested != t.value || t.rec.isFailed() {
			continue
		}
		if t.it.From == "" || t.it.Release.Mode == intent.ReleaseNone {
			continue
		}
		m, err := h.release(work, inv, t)
		if err != nil {
			t.rec.fail("release %s:%s: %v", t.it.Function.Name, t.it.From, err)
			continue
		}
		out = append(out, pending{t.rec, m})
	}
	h.publish(ctx, out)
}

func (h *Handler) release(ctx context.Context, inv *invocation, t *tracking) (results.Message, error) {
	fn, from := t.it.Function.String(), t.it.From
	prev, err := h.control.Get(ctx, fn, from)
	if err != nil {
		return results.Message{}, err
	}
	m := h.result(t.it, results.OutcomeReleased)
	m.Qualifier = from
	m.Previous = previousOf(prev)
	switch t.it.Release.Mode {
	case intent.ReleaseDelete:
		if prev.Exists {
			if err := h.control.Delete(ctx, fn, from); err != nil {
				return results.Message{}, err
			}
			inv.adjustUnreserved(fn, -prev.Requested)
		}
		m.Reason = fmt.Sprintf("%s:%s is READY; provisioned concurrency removed from %s", t.it.Function.Name, t.it.Qualifier, from)
	case intent.ReleaseStandby:
		standby := min(t.it.Release.Standby, h.cfg.MaxConcurrency)
		// A release only lowers: it never adds capacity to the outgoing
		// qualifier, which would bypass the guardrails of the derivation.
		if !prev.Exists {
			m.Reason = fmt.Sprintf("%s holds no provisioned concurrency; nothing to release", from)
			break
		}
		if prev.Requested <= standby {
			m.Response = responseOf(prev)
			m.Reason = fmt.Sprintf("%s already at %d, not above standby %d", from, prev.Requested, standby)
			break
		}
		st, err := h.control.Put(ctx, fn, from, standby)
		if err != nil {
			return results.Message{}, err
		}
		inv.adjustUnreserved(fn, standby-prev.Requested)
		m.Response = responseOf(st)
		m.Reason = fmt.Sprintf("%s:%s is READY; %s left at standby %d", t.it.Function.Name, t.it.Qualifier, from, standby)
	}
	return m, nil
}

// handOver writes a follow-up for every tracking still open, or ends it
// when no follow-up queue is configured.
func (h *Handler) handOver(ctx context.Context, ts []*tracking) {
	var out []pending
	for _, t := range ts {
		if t.done {
			continue
		}
		if t.noFollowUp {
			h.log.InfoContext(ctx, "still in progress; the next reconcile resumes it", "functionName", t.it.Function.Name, "qualifier", t.it.Qualifier)
			continue
		}
		if h.followUps == nil || h.cfg.FollowUpQueueURL == "" {
			m := h.result(t.it, results.OutcomeTimedOut)
			m.Derivation = t.deriv
			if t.last.Exists {
				m.Response = responseOf(t.last)
			}
			m.Reason = fmt.Sprintf("still %s after WAIT_SECONDS (%s) and no FOLLOWUP_QUEUE_URL is set to keep tracking", orUnknown(t.last.Status), h.cfg.WaitSeconds)
			out = append(out, pending{t.rec, m})
			continue
		}
		if err := h.sendFollowUp(ctx, t); err != nil {
			t.rec.fail("send follow-up for %s:%s: %v", t.it.Function.Name, t.it.Qualifier, err)
		}
	}
	h.publish(ctx, out)
}

func orUnknown(s string) string {
	if s == "" {
		return "unknown"
	}
	return s
}

// sendFollowUp writes the continuation of t with a delay that grows with
// each attempt, never past its deadline.
func (h *Handler) sendFollowUp(ctx context.Context, t *tracking) error {
	f := intent.FollowUp{
		Intent: t.it, Value: t.value, Attempt: t.attempt + 1,
		Started: t.started, Deadline: t.deadline,
	}
	if t.deriv != nil {
		f.Strategy, f.Base, f.Scale, f.ClampedBy = t.deriv.Strategy, t.deriv.Base, t.deriv.Scale, t.deriv.ClampedBy
	}
	body, err := intent.EncodeFollowUp(f)
	if err != nil {
		return fmt.Errorf("encode follow-up: %w", err)
	}
	delay := followUpDelay(t.attempt, t.deadline.Sub(h.now()))
	in := &sqs.SendMessageInput{QueueUrl: aws.String(h.cfg.FollowUpQueueURL), MessageBody: aws.String(string(body))}
	if results.IsFIFOQueue(h.cfg.FollowUpQueueURL) {
		// FIFO queues take no per-message delay; the group keeps one target's
		// follow-ups in order.
		in.MessageGroupId = aws.String(targetKey(t.it.Function.Name, t.it.Qualifier))
		sum := sha256.Sum256([]byte(fmt.Sprintf("%s|%s|%d", t.it.ID, t.it.Qualifier, f.Attempt)))
		in.MessageDeduplicationId = aws.String(hex.EncodeToString(sum[:]))
	} else {
		in.DelaySeconds = int32(delay / time.Second)
	}
	_, err = h.followUps.SendMessage(ctx, in)
	if err == nil {
		h.log.InfoContext(ctx, "tracking continues in a follow-up", "functionName", t.it.Function.Name, "qualifier", t.it.Qualifier, "attempt", f.Attempt, "delaySeconds", int(delay/time.Second))
	}
	return err
}

// followUpDelay is 15 s doubling per attempt up to SQS's 900 s maximum, and
// never past the remaining tracking time (at least 1 s).
func followUpDelay(attempt int, remaining time.Duration) time.Duration {
	d := 15 * time.Second << min(attempt, 6)
	d = min(d, 900*time.Second, remaining)
	return max(d, time.Second)
}
