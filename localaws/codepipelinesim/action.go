package codepipelinesim

import (
	"context"
	"fmt"
	"sync"
	"time"
)

// Invoker runs the action's function on one event payload (esm.Invoker fits).
type Invoker interface {
	Invoke(ctx context.Context, payload []byte) ([]byte, error)
}

// Limits of a Lambda invoke action.
const (
	// ActionTimeout is how long CodePipeline waits for a job's result after the last one.
	ActionTimeout = 20 * time.Minute
	// ActionLimit is how long an action may run in all, continuations included.
	ActionLimit = 24 * time.Hour
)

// ActionRun is how a Lambda invoke action ended.
type ActionRun struct {
	// Status is JobSucceeded or JobFailed.
	Status string
	// Jobs are the action's jobs in order: the first and one per continuation.
	Jobs []string
	// Final is the last job's result; for an action that timed out, a failure made up as
	// CodePipeline reports it.
	Final Result
	// TimedOut says no result came within ActionTimeout (or the action passed ActionLimit).
	TimedOut bool
}

// RunAction runs a Lambda invoke action as CodePipeline does: it creates job j, invokes the
// function asynchronously with its event, waits for the job's result (ActionTimeout at most,
// on the service's clock) and, for a continuation, invokes again with the next job, until the
// action succeeds, fails or times out. The error is for what stops the run itself (ctx done);
// a failed invocation is left to the timeout, as Lambda's own retries would be.
func (s *Service) RunAction(ctx context.Context, fn Invoker, j Job) (ActionRun, error) {
	id, err := s.CreateJob(j)
	if err != nil {
		return ActionRun{}, err
	}
	started := s.clock.Now()
	run := ActionRun{}
	// Invocations are asynchronous; the run waits for them only so that nothing outlives it.
	var invocations sync.WaitGroup
	defer invocations.Wait()
	for {
		run.Jobs = append(run.Jobs, id)
		payload, err := s.Event(id)
		if err != nil {
			return run, err
		}
		invocations.Add(1)
		go func() {
			defer invocations.Done()
			_, _ = fn.Invoke(ctx, payload)
		}()
		r, timedOut, err := s.waitAction(ctx, id, min(ActionTimeout, ActionLimit-s.clock.Now().Sub(started)))
		switch {
		case err != nil:
			return run, err
		case timedOut:
			run.Status, run.TimedOut = JobFailed, true
			run.Final = Result{Status: JobFailed, FailureType: "JobFailed", FailureMessage: fmt.Sprintf("The action did not complete within %s of its last result.", ActionTimeout), At: s.clock.Now()}
			s.timeOut(id)
			return run, nil
		case r.Status == JobContinued:
			id = r.NextJobID
			continue
		}
		run.Status, run.Final = r.Status, r
		return run, nil
	}
}

// waitAction waits for job id's result for at most d.
func (s *Service) waitAction(ctx context.Context, id string, d time.Duration) (Result, bool, error) {
	waitCtx, cancel := context.WithCancel(ctx)
	defer cancel()
	type answer struct {
		r   Result
		err error
	}
	got := make(chan answer, 1)
	go func() {
		r, err := s.Wait(waitCtx, id)
		got <- answer{r, err}
	}()
	select {
	case a := <-got:
		return a.r, false, a.err
	case <-s.clock.After(d):
		return Result{}, true, nil
	case <-ctx.Done():
		return Result{}, false, fmt.Errorf("run action job %s: %w", id, ctx.Err())
	}
}

// timeOut fails a job that got no result in time: a late result is then refused.
func (s *Service) timeOut(id string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if j := s.jobs[id]; j != nil && j.status == JobInProgress {
		j.status = JobFailed
		j.result = &Result{Status: JobFailed, FailureType: "JobFailed", FailureMessage: "timed out", At: s.clock.Now()}
		s.notify()
	}
}
