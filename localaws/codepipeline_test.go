package localaws_test

import (
	"context"
	"encoding/json"
	"errors"
	"net/http"
	"os"
	"strings"
	"testing"

	awsevents "github.com/aws/aws-lambda-go/events"
	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/codepipeline"
	"github.com/aws/aws-sdk-go-v2/service/codepipeline/types"
	"github.com/google/go-cmp/cmp"

	"github.com/prewarm/prewarm/localaws"
	"github.com/prewarm/prewarm/localaws/codepipelinesim"
	"github.com/prewarm/prewarm/localaws/localawstest"
)

// TestWorldSeedsCodePipeline reads a codePipeline section into the home account's
// CodePipeline and ends its jobs over HTTP with the real client: each takes one result, which
// the same accessor as an in-process job's reads; a second result, or one for a job the world
// does not hold, is refused as AWS refuses it; a reset brings the jobs back in progress.
func TestWorldSeedsCodePipeline(t *testing.T) {
	const (
		succeeds = "22222222-abcd-2222-abcd-222222abcdef"
		fails    = "33333333-abcd-3333-abcd-333333abcdef"
		unknown  = "99999999-abcd-9999-abcd-999999abcdef"
	)
	section := `"codePipeline": {"jobs": [{"id": "` + succeeds + `"},
  {"id": "` + fails + `", "functionName": "prewarm", "userParameters": "{\"functionName\":\"my-function\",\"to\":\"GREEN\"}"}]},`
	w, err := localaws.ParseWorld(withSection(section))
	if err != nil {
		t.Fatalf("ParseWorld: %v", err)
	}
	srv, url := localawstest.Start(t, w, localaws.Options{})
	client := codepipeline.NewFromConfig(localaws.SDKConfig(url))
	ctx := context.Background()

	for _, id := range []string{succeeds, fails} {
		if status, r, ok := srv.CodePipeline().Status(id); !ok || status != codepipelinesim.JobInProgress || r != nil {
			t.Errorf("seeded job %s: %s, %+v, %v; want InProgress without a result", id, status, r, ok)
		}
	}

	succeed := func(id string) error {
		_, err := client.PutJobSuccessResult(ctx, &codepipeline.PutJobSuccessResultInput{
			JobId:            aws.String(id),
			ExecutionDetails: &types.ExecutionDetails{Summary: aws.String("my-function:GREEN READY at 10")},
			OutputVariables:  map[string]string{"outcome": "READY", "value": "10"},
		})
		return err
	}
	fail := func(id string) error {
		_, err := client.PutJobFailureResult(ctx, &codepipeline.PutJobFailureResultInput{
			JobId:          aws.String(id),
			FailureDetails: &types.FailureDetails{Type: types.FailureTypeJobFailed, Message: aws.String("my-function:GREEN FAILED")},
		})
		return err
	}
	if err := succeed(succeeds); err != nil {
		t.Fatalf("PutJobSuccessResult of a seeded job: %v", err)
	}
	if err := fail(fails); err != nil {
		t.Fatalf("PutJobFailureResult of a seeded job: %v", err)
	}
	for _, tt := range []struct {
		id   string
		want codepipelinesim.Result
	}{
		{succeeds, codepipelinesim.Result{Status: codepipelinesim.JobSucceeded, Summary: "my-function:GREEN READY at 10", OutputVariables: map[string]string{"outcome": "READY", "value": "10"}}},
		{fails, codepipelinesim.Result{Status: codepipelinesim.JobFailed, FailureType: "JobFailed", FailureMessage: "my-function:GREEN FAILED"}},
	} {
		status, r, ok := srv.CodePipeline().Status(tt.id)
		if !ok || status != tt.want.Status || r == nil {
			t.Errorf("job %s: %s, %+v, %v; want %s with a result", tt.id, status, r, ok, tt.want.Status)
			continue
		}
		r.At = tt.want.At
		if diff := cmp.Diff(tt.want, *r); diff != "" {
			t.Errorf("job %s result (-want +got):\n%s", tt.id, diff)
		}
	}

	var state *types.InvalidJobStateException
	for _, tt := range []struct {
		name string
		put  func(string) error
		id   string
	}{{"success after success", succeed, succeeds}, {"failure after success", fail, succeeds}, {"success after failure", succeed, fails}} {
		if err := tt.put(tt.id); !errors.As(err, &state) {
			t.Errorf("%s: %v; want InvalidJobStateException", tt.name, err)
		}
	}
	var missing *types.JobNotFoundException
	if err := succeed(unknown); !errors.As(err, &missing) {
		t.Errorf("PutJobSuccessResult of a job the world does not hold: %v; want JobNotFoundException", err)
	}
	if err := fail(unknown); !errors.As(err, &missing) {
		t.Errorf("PutJobFailureResult of a job the world does not hold: %v; want JobNotFoundException", err)
	}

	resp, err := http.Post(url+localaws.ResetPath, "", nil)
	if err != nil {
		t.Fatal(err)
	}
	_ = resp.Body.Close()
	if status, _, _ := srv.CodePipeline().Status(succeeds); status != codepipelinesim.JobInProgress {
		t.Errorf("after a reset the seeded job is %s; want InProgress", status)
	}
	if err := succeed(succeeds); err != nil {
		t.Errorf("PutJobSuccessResult after a reset: %v", err)
	}
}

// TestWorldCodePipelineSection reads the README's codePipeline section and refuses jobs that
// cannot be.
func TestWorldCodePipelineSection(t *testing.T) {
	readme, err := os.ReadFile("../README.md")
	if err != nil {
		t.Fatal(err)
	}
	_, block, ok := strings.Cut(string(readme), "```json\n\"codePipeline\":")
	block, _, _ = strings.Cut(block, "\n```")
	if !ok {
		t.Fatal("README.md has no json block starting with \"codePipeline\":")
	}
	w, err := localaws.ParseWorld(withSection(`"codePipeline":` + block + ","))
	if err != nil {
		t.Fatalf("the README's codePipeline section: %v", err)
	}
	srv, err := localaws.New(w, localaws.Options{})
	if err != nil {
		t.Fatal(err)
	}
	if got := srv.CodePipeline().Jobs(); len(got) != 1 {
		t.Errorf("the README's codePipeline section seeds jobs %v; want one", got)
	}

	for _, tt := range []struct{ section, wantErr string }{
		{`"codePipeline": {"jobs": [{"functionName": "prewarm"}]},`, "codePipeline: job 1: id is required"},
		{`"codePipeline": {"jobs": [{"id": "job-1"}]},`, `codePipeline: job id "job-1" is not a lower-case UUID`},
		{`"codePipeline": {"jobs": [{"id": "11111111-ABCD-1111-ABCD-111111ABCDEF"}]},`, "is not a lower-case UUID"},
		{`"codePipeline": {"jobs": [{"id": "11111111-abcd-1111-abcd-111111abcdef"}, {"id": "11111111-abcd-1111-abcd-111111abcdef"}]},`, "listed twice"},
		{`"codePipeline": {"jobs": [{"id": "11111111-abcd-1111-abcd-111111abcdef", "pipeline": "p"}]},`, `unknown field "pipeline"`},
		{`"codePipeline": {"job": []},`, `unknown field "job"`},
	} {
		if _, err := localaws.ParseWorld(withSection(tt.section)); err == nil || !strings.Contains(err.Error(), tt.wantErr) {
			t.Errorf("ParseWorld(%s): %v; want an error containing %q", tt.section, err, tt.wantErr)
		}
	}
}

// TestDefaultWorldSeedsTheSampleJob: the job of events/codepipeline-job.json is in progress in
// the built-in world, so the sample run by make invoke ends it, and the event the emulator makes
// for it is the sample's.
func TestDefaultWorldSeedsTheSampleJob(t *testing.T) {
	b, err := os.ReadFile("../events/codepipeline-job.json")
	if err != nil {
		t.Fatal(err)
	}
	var sample awsevents.CodePipelineJobEvent
	if err := json.Unmarshal(b, &sample); err != nil {
		t.Fatal(err)
	}
	id := sample.CodePipelineJob.ID
	srv, err := localaws.New(localaws.DefaultWorld(), localaws.Options{})
	if err != nil {
		t.Fatal(err)
	}
	if status, _, ok := srv.CodePipeline().Status(id); !ok || status != codepipelinesim.JobInProgress {
		t.Fatalf("job %s of the sample: %q, %v; want InProgress in the default world", id, status, ok)
	}
	made, err := srv.CodePipeline().Event(id)
	if err != nil {
		t.Fatal(err)
	}
	var got awsevents.CodePipelineJobEvent
	if err := json.Unmarshal(made, &got); err != nil {
		t.Fatal(err)
	}
	want := sample.CodePipelineJob
	// The credentials are made up per job; the rest is the sample's.
	want.Data.ArtifactCredentials = got.CodePipelineJob.Data.ArtifactCredentials
	if diff := cmp.Diff(want, got.CodePipelineJob); diff != "" {
		t.Errorf("event of the seeded job (-sample +made):\n%s", diff)
	}
}

// withSection is a minimal world with section (a "name": {...}, member) added.
func withSection(section string) []byte {
	base := `{"accountId": "123456789012", "region": "us-east-1", "readyAfter": "3s",
  "functions": [{"name": "checkout-api", "versions": ["1", "2", "3"], "aliases": {"live": "2"}}], "queues": []}`
	return []byte(strings.Replace(base, "{", "{"+section, 1))
}
