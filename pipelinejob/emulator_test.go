package pipelinejob_test

import (
	"context"
	"errors"
	"strings"
	"testing"

	"github.com/aws/aws-sdk-go-v2/service/codepipeline"
	"github.com/aws/aws-sdk-go-v2/service/codepipeline/types"
	"github.com/google/go-cmp/cmp"
	"github.com/google/go-cmp/cmp/cmpopts"

	"github.com/prewarm/prewarm/localaws"
	"github.com/prewarm/prewarm/localaws/codepipelinesim"
	"github.com/prewarm/prewarm/localaws/localawstest"
	"github.com/prewarm/prewarm/pipelinejob"
)

func startCodePipeline(t *testing.T) (*codepipelinesim.Service, *codepipeline.Client) {
	t.Helper()
	srv, url := localawstest.Start(t, localaws.DefaultWorld(), localaws.Options{})
	return srv.CodePipeline(), codepipeline.NewFromConfig(localaws.SDKConfig(url))
}

// TestEndJobsOverHTTP ends jobs with the real SDK client: each job takes one result, and a
// second answer is already ended, not an error.
func TestEndJobsOverHTTP(t *testing.T) {
	sim, client := startCodePipeline(t)
	ctx := context.Background()
	ok, _ := sim.CreateJob(codepipelinesim.Job{FunctionName: "prewarm", UserParameters: `{"functionName":"f","to":"GREEN"}`})
	bad, _ := sim.CreateJob(codepipelinesim.Job{FunctionName: "prewarm"})

	vars := pipelinejob.OutputVariables("READY", "checkout-api", "GREEN", 40)
	if got, err := pipelinejob.Succeed(ctx, client, ok, vars, "checkout-api:GREEN is READY"); err != nil || got != pipelinejob.Ended {
		t.Fatalf("Succeed = %v, %v", got, err)
	}
	if got, err := pipelinejob.Fail(ctx, client, ok, pipelinejob.JobFailed, "late"); err != nil || got != pipelinejob.AlreadyEnded {
		t.Errorf("Fail after Succeed = %v, %v; want already ended", got, err)
	}
	status, r, _ := sim.Status(ok)
	want := &codepipelinesim.Result{Status: codepipelinesim.JobSucceeded, Summary: "checkout-api:GREEN is READY",
		OutputVariables: map[string]string{"outcome": "READY", "function": "checkout-api", "qualifier": "GREEN", "value": "40"}}
	if diff := cmp.Diff(want, r, cmpopts.IgnoreFields(codepipelinesim.Result{}, "At")); status != codepipelinesim.JobSucceeded || diff != "" {
		t.Errorf("job %s status %s, result mismatch (-want +got):\n%s", ok, status, diff)
	}

	long := make([]byte, 7000)
	for i := range long {
		long[i] = 'x'
	}
	if got, err := pipelinejob.Fail(ctx, client, bad, pipelinejob.ConfigurationError, string(long)); err != nil || got != pipelinejob.Ended {
		t.Fatalf("Fail = %v, %v", got, err)
	}
	if _, r, _ := sim.Status(bad); r == nil || r.FailureType != "ConfigurationError" || len(r.FailureMessage) > pipelinejob.MaxMessage {
		t.Errorf("failed job result %+v; want ConfigurationError with a message of at most %d", r, pipelinejob.MaxMessage)
	}
}

// TestContinueOverHTTP: a continuation ends the job and opens the next one with the token.
func TestContinueOverHTTP(t *testing.T) {
	sim, client := startCodePipeline(t)
	ctx := context.Background()
	id, _ := sim.CreateJob(codepipelinesim.Job{FunctionName: "prewarm", UserParameters: "{}"})
	if _, err := pipelinejob.Continue(ctx, client, id, "tracking:1", "allocating"); err != nil {
		t.Fatalf("Continue: %v", err)
	}
	_, r, _ := sim.Status(id)
	if r == nil || r.Status != codepipelinesim.JobContinued || r.NextJobID == "" {
		t.Fatalf("continued job result %+v", r)
	}
	next, _, ok := sim.Status(r.NextJobID)
	if !ok || next != codepipelinesim.JobInProgress {
		t.Fatalf("next job %s: %s, %v", r.NextJobID, next, ok)
	}
	event, err := sim.Event(r.NextJobID)
	if err != nil || !containsString(event, `"continuationToken":"tracking:1"`) {
		t.Errorf("next job's event %s, %v; want the continuation token", event, err)
	}
}

// TestJobErrorsOverHTTP: an unknown job is a permanent JobNotFoundException.
func TestJobErrorsOverHTTP(t *testing.T) {
	_, client := startCodePipeline(t)
	_, err := pipelinejob.Succeed(context.Background(), client, "99999999-abcd-1111-abcd-111111abcdef", nil, "")
	var missing *types.JobNotFoundException
	if !errors.As(err, &missing) || pipelinejob.IsTransient(err) {
		t.Errorf("Succeed of an unknown job = %v; want a permanent JobNotFoundException", err)
	}
}

func containsString(b []byte, s string) bool { return strings.Contains(string(b), s) }

// TestThrottledOverHTTP: throttled results are transient, and a job throttled once still
// takes its one result afterwards.
func TestThrottledOverHTTP(t *testing.T) {
	srv, url := localawstest.Start(t, localaws.DefaultWorld(), localaws.Options{Faults: localaws.Faults{ThrottleRate: localaws.Rates{"codepipeline:PutJobSuccessResult": 1}}})
	client := codepipeline.NewFromConfig(localaws.SDKConfig(url), func(o *codepipeline.Options) { o.RetryMaxAttempts = 1 })
	id, _ := srv.CodePipeline().CreateJob(codepipelinesim.Job{})
	if _, err := pipelinejob.Succeed(context.Background(), client, id, nil, "ready"); !pipelinejob.IsTransient(err) {
		t.Errorf("Succeed throttled = %v; want a transient error", err)
	}
	if got, err := pipelinejob.Fail(context.Background(), client, id, pipelinejob.JobFailed, "gave up"); err != nil || got != pipelinejob.Ended {
		t.Errorf("Fail = %v, %v", got, err)
	}
}
