package handler

import (
	"context"
	"fmt"
	"slices"
	"sync"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"golang.org/x/sync/errgroup"

	"github.com/prewarm/prewarm/awsfault"
	"github.com/prewarm/prewarm/intent"
	"github.com/prewarm/prewarm/provision"
	"github.com/prewarm/prewarm/results"
)

// pollEvery is the gap between two reads of a target being tracked. It
// bounds the READY-detection lag (AWS READY → READY published) to under
// 5 s at p95 while spending at most 12 reads per tracked target-minute;
// targets of one function due together share one List call.
const pollEvery = 5 * time.Second

// followUpLead is how much earlier than its next read a follow-up is
// delivered.
const followUpLead = 2 * time.Second

// track follows every change until it ends or the invocation's WAIT_SECONDS
// budget is spent, publishing each result as soon as it is known and
// releasing each outgoing qualifier once its own target is READY, then
// hands what is left to the follow-up queue.
func (h *Handler) track(ctx, work context.Context, inv *invocation, cs []*change) {
	budgetEnd := inv.start.Add(h.cfg.Wait)
	if deadline, ok := work.Deadline(); ok && deadline.Before(budgetEnd) {
		budgetEnd = deadline
	}
	for {
		if due := h.due(cs); len(due) > 0 {
			h.pollRound(ctx, work, inv, due)
		}
		next, open := nextPoll(cs)
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
	h.handOver(ctx, cs)
}

// due returns the open changes whose read time has come.
func (h *Handler) due(cs []*change) []*change {
	now := h.now()
	var out []*change
	for _, c := range cs {
		if !c.done && !c.next.After(now) {
			out = append(out, c)
		}
	}
	return out
}

func nextPoll(cs []*change) (time.Time, bool) {
	var next time.Time
	open := false
	for _, c := range cs {
		if c.done {
			continue
		}
		if !open || c.next.Before(next) {
			next = c.next
		}
		open = true
	}
	return next, open
}

// pollRound reads the due targets (one List for several targets of one
// function, a Get for a lone one), publishes what it learnt, then carries
// out the release plans of the targets found READY.
func (h *Handler) pollRound(ctx, work context.Context, inv *invocation, due []*change) {
	defer h.answerTracked(work, due)
	byFunction := map[string][]*change{}
	var order []string
	for _, c := range due {
		if c.unanswered != "" {
			// Ended already; what is left is its gate's answer.
			c.done = true
			continue
		}
		key := h.functionKey(inv, c.it.Function)
		if _, ok := byFunction[key]; !ok {
			order = append(order, key)
		}
		byFunction[key] = append(byFunction[key], c)
	}
	var mu sync.Mutex
	var out []pending
	var g errgroup.Group
	g.SetLimit(fanOut)
	for _, key := range order {
		g.Go(func() error {
			ms := h.readAll(work, byFunction[key])
			mu.Lock()
			out = append(out, ms...)
			mu.Unlock()
			return nil
		})
	}
	_ = g.Wait() // the goroutines report through out, never an error
	slices.SortStableFunc(out, byRecord)
	h.publishTracked(ctx, out)

	var releases []*change
	for _, c := range due {
		if !c.done && c.reported == results.OutcomeReady {
			if !h.carryOver(work, c) {
				continue // tried again at the next read; the release waits for it
			}
			if c.it.Release.Mode == intent.ReleaseNone {
				c.done = true // READY, auto scaling moved, nothing to release
				continue
			}
			releases = append(releases, c)
		}
	}
	if len(releases) == 0 {
		return
	}
	out = out[:0]
	for _, c := range releases {
		if p, ok := h.releaseStep(work, inv, c); ok {
			out = append(out, p)
		}
	}
	h.publishTracked(ctx, out)
}

// readAll reads the targets of one function and advances each change.
func (h *Handler) readAll(ctx context.Context, cs []*change) []pending {
	fn := cs[0].it.Function.String()
	statuses := make([]provision.Status, len(cs))
	errs := make([]error, len(cs))
	if len(cs) == 1 && !releasing(cs[0]) {
		statuses[0], errs[0] = h.control.Get(ctx, fn, cs[0].it.Qualifier)
	} else {
		// One List reads every target of the function, and the outgoing
		// qualifier a release will need, for the price of one Get.
		configs, err := h.control.List(ctx, fn)
		for i, c := range cs {
			errs[i] = err
			c.from, c.fromRead = provision.Status{}, err == nil && releasing(c)
			for _, q := range configs {
				switch q.Qualifier {
				case c.it.Qualifier:
					statuses[i] = q.Status
				case c.it.From:
					c.from = q.Status
				}
			}
		}
	}
	var out []pending
	for i, c := range cs {
		if p, ok := h.advance(c, statuses[i], errs[i]); ok {
			out = append(out, p)
		}
	}
	return out
}

// releasing reports whether c has a release plan still to carry out.
func releasing(c *change) bool {
	return c.it.From != "" && c.it.Release.Mode != intent.ReleaseNone
}

// advance moves c on by what one read of its target showed; ok reports a
// result to publish.
func (h *Handler) advance(c *change, st provision.Status, err error) (pending, bool) {
	now := h.now()
	c.next = now.Add(h.pollEvery)
	elapsed := now.Sub(c.started)
	if err != nil {
		if provision.IsTransient(err) {
			h.metrics.awsError(err)
			if !now.Before(c.deadline) {
				c.done = true
				return pending{c.rec, h.message(c, results.OutcomeTimedOut, fmt.Sprintf("could not read %s:%s before TRACK_TIMEOUT (%s): %v", c.it.Function.Name, c.it.Qualifier, h.cfg.TrackTimeout, err)), c}, true
			}
			return pending{}, false
		}
		c.done = true
		m, _ := h.awsFailure(c.it, err)
		m.Derivation = c.deriv
		return pending{c.rec, m, c}, true
	}
	c.observed = st
	q := c.it.Qualifier
	switch {
	case !st.Exists || st.Requested != c.value:
		c.done = true
		reason := fmt.Sprintf("%s:%s holds no provisioned concurrency now, not the %d being tracked: a later change took over", c.it.Function.Name, q, c.value)
		if st.Exists {
			reason = fmt.Sprintf("%s:%s now requests %d, not the %d being tracked: a later change took over", c.it.Function.Name, q, st.Requested, c.value)
		}
		return pending{c.rec, h.message(c, results.OutcomeSuperseded, reason), c}, true
	case st.Status == provision.Ready:
		if c.reported == results.OutcomeReady {
			return pending{}, false // its release is what is left
		}
		h.metrics.ready(elapsed)
		return pending{c.rec, h.message(c, results.OutcomeReady, fmt.Sprintf("READY after %s", elapsed.Round(time.Second))), c}, true
	case st.Status == provision.Failed:
		c.done = true
		reason := fmt.Sprintf("allocation failed: %s", st.StatusReason)
		if c.it.From != "" && c.it.Release.Mode != intent.ReleaseNone {
			reason += fmt.Sprintf("; %s keeps its provisioned concurrency", c.it.From)
		}
		return pending{c.rec, h.message(c, results.OutcomeFailed, reason), c}, true
	case !now.Before(c.deadline):
		c.done = true
		return pending{c.rec, h.message(c, results.OutcomeTimedOut, fmt.Sprintf("still %s after TRACK_TIMEOUT (%s)", st.Status, h.cfg.TrackTimeout)), c}, true
	}
	return pending{}, false
}

// publishTracked publishes results of changes being tracked. A result that
// cannot be published leaves its change open, so that a later read
// publishes it again (under the same deduplication id); one that is
// published moves its change on.
func (h *Handler) publishTracked(ctx context.Context, out []pending) {
	errs := h.publish(ctx, out)
	for i, p := range out {
		c := p.change
		if errs[i] != nil {
			c.done = false
			continue
		}
		c.final = p.msg
		switch {
		case p.msg.Outcome == results.OutcomeReady:
			// With an outgoing qualifier, its auto scaling and release come
			// next (pollRound); without one, READY is the end.
			c.reported = results.OutcomeReady
			if c.it.From == "" {
				c.done = true
			}
		case p.msg.Qualifier == c.it.From && c.reported == results.OutcomeReady:
			c.done = true // the release step's result
		}
	}
}

// carryOver moves the outgoing alias's scalable target, policies and
// scheduled actions to c's target once it is READY, before the outgoing
// alias is released, so that nothing scales the released alias back up
// and the new one is managed as the old one was. It is idempotent: the
// outgoing alias keeps its target until the carry-over is done. false
// means it failed transiently and is to be tried again.
func (h *Handler) carryOver(ctx context.Context, c *change) bool {
	if h.autoScaling == nil || c.it.From == "" || c.it.DryRun || h.cfg.DryRun || !c.gate.IsZero() && c.gate.DeploymentID != "" {
		return true // a CodeDeploy hook's alias keeps its scalable target
	}
	fn, to := c.it.Function.Name, c.it.Qualifier
	plan, err := h.autoScaling.Plan(ctx, fn, c.it.From)
	if err == nil && !plan.Empty() {
		if _, err = h.autoScaling.Register(ctx, plan, to); err == nil {
			err = h.autoScaling.Finish(ctx, plan, to)
		}
		if err == nil {
			h.log.InfoContext(ctx, "auto scaling carried over", "functionName", fn, "from", c.it.From, "to", to, "notes", plan.Notes)
			c.carried = fmt.Sprintf("auto scaling (min %d, max %d, %d policies, %d scheduled actions) moved from %s to %s",
				aws.ToInt32(plan.Target.MinCapacity), aws.ToInt32(plan.Target.MaxCapacity), len(plan.Policies), len(plan.Actions), c.it.From, to)
		}
	}
	if err != nil {
		if awsfault.IsTransient(err) && h.now().Before(c.deadline) {
			h.log.WarnContext(ctx, "auto scaling carry-over will be tried again", "functionName", fn, "error", err.Error())
			return false
		}
		h.log.ErrorContext(ctx, "auto scaling not carried over", "functionName", fn, "from", c.it.From, "error", err.Error())
		c.carried = fmt.Sprintf("auto scaling could not be moved from %s: %v", c.it.From, err)
	}
	return true
}

// releaseStep carries out c's release plan now that its target is READY:
// only then may the outgoing qualifier lose its warm capacity. A transient
// failure leaves c open, so the plan is tried again at the next read, in
// this invocation or a follow-up.
func (h *Handler) releaseStep(ctx context.Context, inv *invocation, c *change) (pending, bool) {
	m, err := h.release(ctx, inv, c)
	if err == nil {
		if c.carried != "" {
			m.Reason += "; " + c.carried
		}
		return pending{c.rec, m, c}, true
	}
	now := h.now()
	if provision.IsTransient(err) && now.Before(c.deadline) {
		h.log.WarnContext(ctx, "release will be tried again", "functionName", c.it.Function.Name, "from", c.it.From, "error", err.Error())
		return pending{}, false
	}
	c.done = true
	m, _ = h.awsFailure(c.it, err)
	m.Qualifier = c.it.From
	m.Reason = fmt.Sprintf("%s:%s is READY but releasing %s failed: %s", c.it.Function.Name, c.it.Qualifier, c.it.From, m.Reason)
	return pending{c.rec, m, c}, true
}

// release applies the release plan to the outgoing qualifier: what is
// removed or lowered is decided from what AWS shows now, and never adds.
func (h *Handler) release(ctx context.Context, inv *invocation, c *change) (results.Message, error) {
	fn, from := c.it.Function.String(), c.it.From
	prev := c.from
	if !c.fromRead {
		var err error
		if prev, err = h.control.Get(ctx, fn, from); err != nil {
			return results.Message{}, err
		}
	}
	c.fromRead = false // a release that fails reads it again
	m := h.result(c.it, results.OutcomeReleased)
	m.Qualifier = from
	m.Previous = previousOf(prev)
	m.DeploymentID, m.JobID = c.gate.DeploymentID, c.gate.JobID
	standby := min(c.it.Release.Standby, h.cfg.MaxConcurrency)
	switch {
	case c.it.Release.Mode == intent.ReleaseDelete && !prev.Exists,
		c.it.Release.Mode == intent.ReleaseStandby && !prev.Exists:
		m.Reason = fmt.Sprintf("%s holds no provisioned concurrency; nothing to release", from)
		return m, nil
	case c.it.Release.Mode == intent.ReleaseStandby && prev.Requested <= standby:
		m.Response = responseOf(prev)
		m.Reason = fmt.Sprintf("%s already at %d, not above standby %d", from, prev.Requested, standby)
		return m, nil
	case c.it.DryRun || h.cfg.DryRun:
		m.Outcome = results.OutcomeDryRun
		m.Reason = fmt.Sprintf("dry run: %s:%s is READY; would release %s (%s)", c.it.Function.Name, c.it.Qualifier, from, c.it.Release.Mode)
		return m, nil
	case c.it.Release.Mode == intent.ReleaseDelete:
		if err := h.control.Delete(ctx, fn, from); err != nil {
			return results.Message{}, err
		}
		inv.adjustUnreserved(fn, -prev.Requested)
		m.Reason = fmt.Sprintf("%s:%s is READY; provisioned concurrency removed from %s", c.it.Function.Name, c.it.Qualifier, from)
		return m, nil
	}
	st, err := h.control.Put(ctx, fn, from, standby)
	if err != nil {
		return results.Message{}, err
	}
	inv.adjustUnreserved(fn, standby-prev.Requested)
	m.Response = responseOf(st)
	m.Reason = fmt.Sprintf("%s:%s is READY; %s left at standby %d", c.it.Function.Name, c.it.Qualifier, from, standby)
	return m, nil
}

// handOver writes the changes still open into follow-ups, or ends them when
// no follow-up queue is configured.
func (h *Handler) handOver(ctx context.Context, cs []*change) {
	var open []*change
	var out []pending
	for _, c := range cs {
		switch {
		case c.done:
		case c.noFollowUp:
			h.log.InfoContext(ctx, "still in progress; the next reconcile resumes it", "functionName", c.it.Function.Name, "qualifier", c.it.Qualifier)
		case h.followUps == nil || h.cfg.FollowUpQueueURL == "":
			if c.reported == results.OutcomeReady {
				// READY is out, its release is not: SQS delivers the record
				// again, and the repeated switch finishes the release.
				c.rec.fail("release %s:%s not done within WAIT_SECONDS and no FOLLOWUP_QUEUE_URL is set", c.it.Function.Name, c.it.From)
				continue
			}
			reason := fmt.Sprintf("still %s after WAIT_SECONDS (%s) and no FOLLOWUP_QUEUE_URL is set to keep tracking", orUnknown(string(c.observed.Status)), h.cfg.Wait)
			out = append(out, pending{c.rec, h.message(c, results.OutcomeTimedOut, reason), c})
		default:
			open = append(open, c)
		}
	}
	var ended []*change
	for i, err := range h.publish(ctx, out) {
		if err != nil {
			out[i].rec.fail("publish %s result for %s:%s: %v", out[i].msg.Outcome, out[i].msg.FunctionName, out[i].msg.Qualifier, err)
			continue
		}
		if c := out[i].change; c != nil {
			c.done, c.final = true, out[i].msg
			ended = append(ended, c)
		}
	}
	h.answerTracked(ctx, ended)
	for _, c := range ended {
		if !c.done {
			c.rec.fail("answer the deployment waiting on %s:%s: not answered yet", c.it.Function.Name, c.it.Qualifier)
		}
	}
	for chunk := range slices.Chunk(open, intent.MaxFollowUps) {
		if err := h.sendFollowUp(ctx, chunk); err != nil {
			for _, c := range chunk {
				c.rec.fail("send follow-up for %s:%s: %v", c.it.Function.Name, c.it.Qualifier, err)
			}
		}
	}
}

func orUnknown(s string) string {
	if s == "" {
		return "unknown"
	}
	return s
}

// sendFollowUp writes the continuation of cs as one message, delivered when
// the first of them is due to be read again.
func (h *Handler) sendFollowUp(ctx context.Context, cs []*change) error {
	fs := make([]intent.FollowUp, len(cs))
	due := cs[0].next
	for i, c := range cs {
		fs[i] = c.followUp()
		due = minTime(due, c.next)
	}
	body, err := intent.EncodeFollowUps(fs)
	if err != nil {
		return err
	}
	// Delivered a little early, so that the event source mapping's pickup
	// (and batching window) does not make the next read late; the
	// follow-up then waits out the rest within its invocation.
	delay := max(due.Sub(h.now())-followUpLead, 0)
	first := cs[0].it
	// On a FIFO follow-up queue the group keeps one target's follow-ups in
	// order, and the id deduplicates a follow-up written twice.
	group := targetKey(first.Function.Name, first.Qualifier)
	dedup := fmt.Sprintf("%s|%s|%d", first.ID, first.Qualifier, fs[0].Attempt)
	if err := h.followUps.SendFollowUp(ctx, body, delay, group, dedup); err != nil {
		return err
	}
	h.log.InfoContext(ctx, "tracking continues in a follow-up", "changes", len(cs), "functionName", first.Function.Name, "qualifier", first.Qualifier, "attempt", fs[0].Attempt, "delay", delay.String())
	return nil
}

func minTime(a, b time.Time) time.Time {
	if b.Before(a) {
		return b
	}
	return a
}
