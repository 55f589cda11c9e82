package codepipelinesim

import (
	"context"
	"encoding/json"
	"strings"
	"testing"

	awsevents "github.com/aws/aws-lambda-go/events"
)

func ptr[T any](v T) *T { return &v }

func newService(t *testing.T, cfg Config) *Service {
	t.Helper()
	s, err := New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	return s
}

func TestOneResultPerJob(t *testing.T) {
	s := newService(t, Config{AccountID: "123456789012"})
	ctx := context.Background()
	id, err := s.CreateJob(Job{FunctionName: "prewarm", UserParameters: `{"functionName":"f","to":"GREEN"}`})
	if err != nil {
		t.Fatal(err)
	}
	if _, e := s.putJobFailureResult(ctx, &putJobFailureResultInput{JobID: id, FailureDetails: &failureDetails{Type: "Oops", Message: ptr("x")}}); e == nil || e.Code != "ValidationException" {
		t.Errorf("unknown failure type: %v", e)
	}
	if _, e := s.putJobSuccessResult(ctx, &putJobSuccessResultInput{JobID: id, OutputVariables: map[string]string{"outcome": "READY"}}); e != nil {
		t.Fatalf("first result: %v", e)
	}
	if _, e := s.putJobFailureResult(ctx, &putJobFailureResultInput{JobID: id, FailureDetails: &failureDetails{Type: "JobFailed", Message: ptr("late")}}); e == nil || e.Code != "InvalidJobStateException" {
		t.Errorf("second result: %v", e)
	}
	r, err := s.Wait(ctx, id)
	if err != nil || r.Status != JobSucceeded || r.OutputVariables["outcome"] != "READY" {
		t.Errorf("Wait = %+v, %v", r, err)
	}
	if _, e := s.putJobSuccessResult(ctx, &putJobSuccessResultInput{JobID: "11111111-abcd-1111-abcd-111111abcdef"}); e == nil || e.Code != "JobNotFoundException" {
		t.Errorf("unknown job: %v", e)
	}
	if _, e := s.putJobSuccessResult(ctx, &putJobSuccessResultInput{JobID: "job-1"}); e == nil || e.Code != "ValidationException" {
		t.Errorf("malformed job id: %v", e)
	}
}

func TestContinuationRefusesOutputVariables(t *testing.T) {
	s := newService(t, Config{})
	id, _ := s.CreateJob(Job{})
	_, e := s.putJobSuccessResult(context.Background(), &putJobSuccessResultInput{JobID: id, ContinuationToken: ptr("t"), OutputVariables: map[string]string{"a": "b"}})
	if e == nil || e.Code != "ValidationException" {
		t.Errorf("continuation with output variables: %v", e)
	}
	if st, _, _ := s.Status(id); st != JobInProgress {
		t.Errorf("a refused result changed the job to %s", st)
	}
}

func TestEventIsAJobEvent(t *testing.T) {
	s := newService(t, Config{AccountID: "123456789012"})
	id, _ := s.CreateJob(Job{FunctionName: "prewarm", UserParameters: `{"functionName":"f"}`, ContinuationToken: "c"})
	b, err := s.Event(id)
	if err != nil {
		t.Fatal(err)
	}
	var ev awsevents.CodePipelineJobEvent
	if err := json.Unmarshal(b, &ev); err != nil {
		t.Fatal(err)
	}
	j := ev.CodePipelineJob
	if j.ID != id || j.AccountID != "123456789012" || j.Data.ActionConfiguration.Configuration.UserParameters != `{"functionName":"f"}` ||
		j.Data.ContinuationToken != "c" || j.Data.ArtifactCredentials.SecretAccessKey == "" || !strings.Contains(string(b), `"CodePipeline.job"`) {
		t.Errorf("event %s", b)
	}
}
