package codepipelinesim_test

import (
	"context"
	"errors"
	"sync"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/service/codepipeline"

	"github.com/prewarm/prewarm/intent"
	"github.com/prewarm/prewarm/localaws"
	"github.com/prewarm/prewarm/localaws/clock"
	"github.com/prewarm/prewarm/localaws/codepipelinesim"
	"github.com/prewarm/prewarm/localaws/localawstest"
	"github.com/prewarm/prewarm/pipelinejob"
)

var start = time.Date(2026, 3, 4, 5, 0, 0, 0, time.UTC)

// timeoutClock is a fake clock on which the action timeout passes at once, so a silent
// function times out without waiting.
type timeoutClock struct{ *clock.Fake }

func (c timeoutClock) After(d time.Duration) <-chan time.Time {
	ch := c.Fake.After(d)
	if d >= codepipelinesim.ActionTimeout {
		c.Advance(d)
	}
	return ch
}

// action is a Lambda invoke action's function: it decodes its event as prewarm does and ends
// the job with the real CodePipeline client as answer says.
type action struct {
	client *codepipeline.Client
	answer func(job intent.CodePipelineJob) error

	mu   sync.Mutex
	jobs []intent.CodePipelineJob
}

func (a *action) Invoke(ctx context.Context, payload []byte) ([]byte, error) {
	m, err := intent.Decode(payload, "request-1", intent.TriggerDirect)
	if err != nil {
		return nil, err
	}
	if m.Kind != intent.KindCodePipelineJob {
		return nil, errors.New("not a job: " + m.Kind.String())
	}
	a.mu.Lock()
	a.jobs = append(a.jobs, m.CodePipelineJob)
	a.mu.Unlock()
	return []byte("null"), a.answer(m.CodePipelineJob)
}

// startEmulator serves the emulator on a fake clock: one that never moves, or, with
// timeouts, one on which the action timeout passes at once.
func startEmulator(t *testing.T, timeouts bool) (*codepipelinesim.Service, *codepipeline.Client) {
	t.Helper()
	var clk clock.Clock = clock.NewFake(start)
	if timeouts {
		clk = timeoutClock{clock.NewFake(start)}
	}
	srv, url := localawstest.Start(t, localaws.DefaultWorld(), localaws.Options{Clock: clk})
	return srv.CodePipeline(), codepipeline.NewFromConfig(localaws.SDKConfig(url))
}

const params = `{"functionName":"my-function","to":"GREEN","concurrency":5}`

func TestRunActionSucceedsAfterAContinuation(t *testing.T) {
	sim, client := startEmulator(t, false)
	fn := &action{client: client}
	fn.answer = func(j intent.CodePipelineJob) error {
		if j.ContinuationToken == "" {
			_, err := pipelinejob.Continue(context.Background(), client, j.JobID, "tracking:1", "IN_PROGRESS")
			return err
		}
		vars := pipelinejob.OutputVariables("READY", j.Intent.Function.Name, j.Intent.Qualifier, 5)
		_, err := pipelinejob.Succeed(context.Background(), client, j.JobID, vars, "READY")
		return err
	}
	run, err := sim.RunAction(context.Background(), fn, codepipelinesim.Job{FunctionName: "prewarm", UserParameters: params})
	if err != nil {
		t.Fatal(err)
	}
	if run.Status != codepipelinesim.JobSucceeded || len(run.Jobs) != 2 || run.Final.OutputVariables["qualifier"] != "GREEN" {
		t.Fatalf("RunAction = %+v", run)
	}
	if len(fn.jobs) != 2 || fn.jobs[1].ContinuationToken != "tracking:1" || fn.jobs[1].JobID != run.Jobs[1] || fn.jobs[0].Intent.Qualifier != "GREEN" {
		t.Errorf("the function saw %+v", fn.jobs)
	}
}

func TestRunActionFails(t *testing.T) {
	sim, client := startEmulator(t, false)
	fn := &action{client: client, answer: func(j intent.CodePipelineJob) error {
		_, err := pipelinejob.Fail(context.Background(), client, j.JobID, pipelinejob.JobFailed, "my-function:GREEN FAILED: FUNCTION_ERROR_INIT_FAILURE")
		return err
	}}
	run, err := sim.RunAction(context.Background(), fn, codepipelinesim.Job{FunctionName: "prewarm", UserParameters: params})
	if err != nil {
		t.Fatal(err)
	}
	if run.Status != codepipelinesim.JobFailed || run.TimedOut || run.Final.FailureType != "JobFailed" || run.Final.FailureMessage == "" {
		t.Errorf("RunAction = %+v", run)
	}
}

func TestRunActionTimesOut(t *testing.T) {
	sim, client := startEmulator(t, true)
	fn := &action{client: client, answer: func(intent.CodePipelineJob) error { return nil }}
	run, err := sim.RunAction(context.Background(), fn, codepipelinesim.Job{FunctionName: "prewarm", UserParameters: params})
	if err != nil {
		t.Fatal(err)
	}
	if run.Status != codepipelinesim.JobFailed || !run.TimedOut || run.Final.At.Sub(start) != codepipelinesim.ActionTimeout {
		t.Errorf("RunAction = %+v", run)
	}
	// A result after the timeout is refused: the job is over.
	if got, err := pipelinejob.Succeed(context.Background(), client, run.Jobs[0], nil, "late"); err != nil || got != pipelinejob.AlreadyEnded {
		t.Errorf("a late result = %v, %v; want already ended", got, err)
	}
}
