package handler

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/prewarm/prewarm/deployhook"
	"github.com/prewarm/prewarm/intent"
	"github.com/prewarm/prewarm/pipelinejob"
	"github.com/prewarm/prewarm/provision"
	"github.com/prewarm/prewarm/results"
)

// CodeDeploy is what a lifecycle hook needs of CodeDeploy.
type CodeDeploy = deployhook.API

// CodePipeline is what a job needs of CodePipeline.
type CodePipeline = pipelinejob.API

// Limits a gate puts on tracking: CodeDeploy fails a deployment whose hook
// has not answered within an hour, and CodePipeline times out an action 20
// minutes after its last answer.
const (
	hookTrackLimit = 55 * time.Minute
	jobTrackLimit  = 19 * time.Minute
)

// gated bounds c's tracking by what its gate allows.
func (h *Handler) gated(c *change, g intent.Gate) {
	c.gate = g
	limit := hookTrackLimit
	if g.JobID != "" {
		limit = jobTrackLimit
	}
	if end := c.started.Add(limit); c.deadline.After(end) {
		c.deadline = end
	}
}

// runHook handles a CodeDeploy lifecycle hook: BeforeAllowTraffic warms the
// deployment's target version and answers Succeeded once it is READY;
// AfterAllowTraffic releases the version traffic left, then answers.
func (h *Handler) runHook(ctx context.Context, inv *invocation, r *record, b *batch) {
	ev := r.msg.CodeDeployHook
	g := intent.Gate{DeploymentID: ev.DeploymentID, ExecutionID: ev.ExecutionID}
	if h.codeDeploy == nil {
		r.fail("CodeDeploy hook %s: no CodeDeploy client is configured", ev)
		return
	}
	hook, err := deployhook.Resolve(ctx, h.codeDeploy, ev.DeploymentID, ev.ExecutionID)
	if err != nil {
		if deployhook.IsTransient(err) {
			r.fail("resolve %s: %v", ev, err)
			return
		}
		m := h.rejected(&intent.Rejection{Reason: fmt.Sprintf("cannot read deployment %s: %v", ev.DeploymentID, err), ID: ev.DeploymentID, CorrelationID: ev.DeploymentID, Trigger: intent.TriggerCodeDeploy})
		h.endGate(ctx, r, g, m, b)
		return
	}
	if hook.Answered {
		// Lambda's asynchronous retry of an execution already answered, or
		// a deployment that ended: exactly once means nothing more.
		h.log.InfoContext(ctx, "hook already answered", "deploymentId", hook.DeploymentID, "event", string(hook.Event))
		return
	}
	fn, _, err := intent.ParseFunction(hook.FunctionName)
	it := intent.Intent{
		ID: hook.DeploymentID + ":" + string(hook.Event), CorrelationID: hook.DeploymentID, Trigger: intent.TriggerCodeDeploy,
		Function: fn, Qualifier: hook.TargetVersion, From: hook.CurrentVersion, Wait: true,
	}
	if err == nil {
		err = it.Validate()
	}
	if err != nil {
		m := h.reject(it, fmt.Sprintf("deployment %s names %s:%s→%s, which prewarm cannot act on: %v", hook.DeploymentID, hook.FunctionName, hook.CurrentVersion, hook.TargetVersion, err))
		h.endGate(ctx, r, g, m, b)
		return
	}
	if reason, ok := h.allowed(inv, it); !ok {
		m := h.reject(it, reason)
		h.endGate(ctx, r, g, m, b)
		return
	}
	if hook.Event == deployhook.AfterAllowTraffic {
		h.afterTraffic(ctx, inv, r, g, it, b)
		return
	}
	// Provisioned concurrency lives on versions under prewarm: an alias
	// holding its own would follow traffic onto the target version and
	// collide with the version's there.
	alias, err := h.control.Get(ctx, fn.String(), hook.Alias)
	if err != nil {
		if provision.IsTransient(err) {
			r.fail("read %s:%s: %v", fn.Name, hook.Alias, err)
			return
		}
		alias = provision.Status{}
	}
	if alias.Exists {
		m := h.reject(it, fmt.Sprintf("alias %s holds provisioned concurrency itself (%d, SAM's ProvisionedConcurrencyConfig on AutoPublishAlias): a version takes provisioned concurrency on itself or through one alias, and traffic moving to version %s would carry the alias's there; remove ProvisionedConcurrencyConfig from the function and let the hook keep provisioned concurrency on versions", hook.Alias, alias.Requested, hook.TargetVersion))
		h.endGate(ctx, r, g, m, b)
		return
	}
	h.applyGated(ctx, inv, r, g, it, b)
}

// runJob handles a CodePipeline job: its intent is carried out like any
// other, and the job ends when the change does.
func (h *Handler) runJob(ctx context.Context, inv *invocation, r *record, b *batch) {
	job := r.msg.CodePipelineJob
	g := intent.Gate{JobID: job.JobID}
	it := job.Intent
	if reason, ok := h.allowed(inv, it); !ok {
		m := h.reject(it, reason)
		h.endGate(ctx, r, g, m, b)
		return
	}
	h.applyGated(ctx, inv, r, g, it, b)
}

// applyGated applies it for a gate: the gate is answered now when the
// decision ends the change, or when its tracking ends.
func (h *Handler) applyGated(ctx context.Context, inv *invocation, r *record, g intent.Gate, it intent.Intent, b *batch) {
	msgs, c, err := h.apply(ctx, inv, r, it)
	endsIntent(msgs, c, err)
	for i := range msgs {
		msgs[i].DeploymentID, msgs[i].JobID = g.DeploymentID, g.JobID
	}
	if err != nil {
		r.fail("%v", err)
		b.add(r, msgs)
		return
	}
	if c != nil {
		h.gated(c, g)
		b.add(r, msgs, c)
		return
	}
	b.add(r, msgs)
	if len(msgs) > 0 {
		var value int64
		if d := msgs[len(msgs)-1].Derivation; d != nil {
			value = d.Value
		}
		h.answerNow(ctx, r, g, msgs[len(msgs)-1], value)
	}
}

// afterTraffic releases the version traffic left as HOOK_RELEASE says,
// then answers the hook.
func (h *Handler) afterTraffic(ctx context.Context, inv *invocation, r *record, g intent.Gate, it intent.Intent, b *batch) {
	it.Release = h.cfg.HookRelease
	c := &change{rec: r, it: it, gate: g}
	m, err := h.release(ctx, inv, c)
	if err != nil {
		if provision.IsTransient(err) {
			r.fail("release %s:%s: %v", it.Function.Name, it.From, err)
			return
		}
		m, _ = h.awsFailure(it, err)
		m.Qualifier = it.From
		m.Reason = fmt.Sprintf("releasing %s after traffic moved to %s failed: %s", it.From, it.Qualifier, m.Reason)
	}
	h.endGate(ctx, r, g, m, b)
}

// endGate publishes m, the result that ends a gated intent at once (nothing
// is tracked), and answers the gate by it.
func (h *Handler) endGate(ctx context.Context, r *record, g intent.Gate, m results.Message, b *batch) {
	m.DeploymentID, m.JobID, m.EndsIntent = g.DeploymentID, g.JobID, true
	b.add(r, []results.Message{m})
	h.answerNow(ctx, r, g, m, 0)
}

// answerNow answers g for a change that ended at once; a transient failure
// hands the record back, so that it is answered on the retry.
func (h *Handler) answerNow(ctx context.Context, r *record, g intent.Gate, m results.Message, value int64) {
	if err := h.answer(ctx, g, m, succeeded(m), m.Outcome, m.Qualifier, value); err != nil {
		r.fail("%v", err)
	}
}

// succeeded reports whether the change m ends lets the deployment go on.
func succeeded(m results.Message) bool {
	switch m.Outcome {
	case results.OutcomeReady, results.OutcomeReleased, results.OutcomeDryRun, results.OutcomeApplied:
		return true
	case results.OutcomeUnchanged:
		return m.Status() != results.StatusFailed
	}
	return false
}

// answer gives gate g its answer: Succeeded or Failed for a CodeDeploy
// hook, PutJobSuccessResult or PutJobFailureResult for a CodePipeline job.
// An answer given before (Lambda's asynchronous retries) is no error.
//
// For a job, outcome, qualifier and value are the output variables: the
// target's, also when m is the release that followed its READY.
func (h *Handler) answer(ctx context.Context, g intent.Gate, m results.Message, ok bool, outcome results.Outcome, qualifier string, value int64) error {
	switch {
	case g.IsZero():
		return nil
	case g.JobID != "":
		if h.codePipeline == nil {
			return fmt.Errorf("end CodePipeline job %s: no CodePipeline client is configured", g.JobID)
		}
		var err error
		if ok {
			_, err = pipelinejob.Succeed(ctx, h.codePipeline, g.JobID,
				pipelinejob.OutputVariables(string(outcome), m.FunctionName, qualifier, value), pipelinejob.Cut(m.Reason, pipelinejob.MaxSummary))
		} else {
			_, err = pipelinejob.Fail(ctx, h.codePipeline, g.JobID, failureType(m), fmt.Sprintf("%s %s:%s: %s", m.Outcome, m.FunctionName, m.Qualifier, m.Reason))
		}
		if err != nil {
			return fmt.Errorf("end CodePipeline job %s: %w", g.JobID, err)
		}
		h.log.InfoContext(ctx, "job ended", "jobId", g.JobID, "succeeded", ok)
		return nil
	default:
		if h.codeDeploy == nil {
			return fmt.Errorf("answer CodeDeploy deployment %s: no CodeDeploy client is configured", g.DeploymentID)
		}
		status := deployhook.Failed
		if ok {
			status = deployhook.Succeeded
		}
		hook := deployhook.Hook{DeploymentID: g.DeploymentID, ExecutionID: g.ExecutionID}
		if _, err := deployhook.Report(ctx, h.codeDeploy, hook, status); err != nil {
			return fmt.Errorf("answer CodeDeploy deployment %s: %w", g.DeploymentID, err)
		}
		h.log.InfoContext(ctx, "hook answered", "deploymentId", g.DeploymentID, "status", string(status))
		return nil
	}
}

// failureType classifies a failed change for CodePipeline.
func failureType(m results.Message) pipelinejob.FailureType {
	switch {
	case m.Outcome == results.OutcomeRejected:
		return pipelinejob.ConfigurationError
	case m.Error != nil && (strings.Contains(m.Error.Code, "AccessDenied") || strings.Contains(m.Error.Code, "Unauthorized")):
		return pipelinejob.PermissionError
	}
	return pipelinejob.JobFailed
}

// answerTracked answers the gates of changes that ended while tracked. A
// gate that cannot be answered yet keeps its change open, carried by the
// follow-up with the outcome to give.
func (h *Handler) answerTracked(ctx context.Context, cs []*change) {
	for _, c := range cs {
		if !c.done || c.gate.IsZero() || c.answered {
			continue
		}
		ok, outcome := succeeded(c.final), c.final.Outcome
		if c.reported == results.OutcomeReady {
			// READY came; what followed was its release.
			ok, outcome = true, results.OutcomeReady
		}
		if err := h.answer(ctx, c.gate, c.final, ok, outcome, c.it.Qualifier, c.value); err != nil {
			var transient bool
			if deployhook.IsTransient(err) || pipelinejob.IsTransient(err) || errors.Is(err, context.DeadlineExceeded) {
				transient = true
			}
			h.log.WarnContext(ctx, "gate not answered yet", "error", err.Error(), "transient", transient)
			if transient && h.now().Before(c.deadline.Add(time.Minute)) {
				c.done, c.unanswered = false, c.final.Outcome
				c.next = h.now().Add(h.pollEvery)
			}
			continue
		}
		c.answered, c.unanswered = true, ""
	}
}
