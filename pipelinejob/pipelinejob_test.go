package pipelinejob

import (
	"context"
	"strings"
	"testing"
	"unicode/utf8"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/codepipeline"
	"github.com/aws/aws-sdk-go-v2/service/codepipeline/types"
	"github.com/aws/smithy-go"
	"github.com/google/go-cmp/cmp"
	"github.com/google/go-cmp/cmp/cmpopts"
)

// fakeAPI is a hand-written CodePipeline that records the results it is given.
type fakeAPI struct {
	err       error
	successes []codepipeline.PutJobSuccessResultInput
	failures  []codepipeline.PutJobFailureResultInput
}

var _ API = (*fakeAPI)(nil)

func (f *fakeAPI) PutJobSuccessResult(_ context.Context, in *codepipeline.PutJobSuccessResultInput, _ ...func(*codepipeline.Options)) (*codepipeline.PutJobSuccessResultOutput, error) {
	if f.err != nil {
		return nil, f.err
	}
	f.successes = append(f.successes, *in)
	return &codepipeline.PutJobSuccessResultOutput{}, nil
}

func (f *fakeAPI) PutJobFailureResult(_ context.Context, in *codepipeline.PutJobFailureResultInput, _ ...func(*codepipeline.Options)) (*codepipeline.PutJobFailureResultOutput, error) {
	if f.err != nil {
		return nil, f.err
	}
	f.failures = append(f.failures, *in)
	return &codepipeline.PutJobFailureResultOutput{}, nil
}

var ignoreSerde = cmpopts.IgnoreUnexported(codepipeline.PutJobSuccessResultInput{}, codepipeline.PutJobFailureResultInput{}, types.ExecutionDetails{}, types.FailureDetails{})

const job = "11111111-abcd-1111-abcd-111111abcdef"

func TestSucceed(t *testing.T) {
	api := &fakeAPI{}
	vars := OutputVariables("READY", "checkout-api", "GREEN", 40)
	got, err := Succeed(context.Background(), api, job, vars, "checkout-api:GREEN READY at 40")
	if err != nil || got != Ended {
		t.Fatalf("Succeed = %v, %v", got, err)
	}
	want := []codepipeline.PutJobSuccessResultInput{{
		JobId:            aws.String(job),
		ExecutionDetails: &types.ExecutionDetails{Summary: aws.String("checkout-api:GREEN READY at 40")},
		OutputVariables:  map[string]string{"outcome": "READY", "function": "checkout-api", "qualifier": "GREEN", "value": "40"},
	}}
	if diff := cmp.Diff(want, api.successes, ignoreSerde); diff != "" {
		t.Errorf("PutJobSuccessResult mismatch (-want +got):\n%s", diff)
	}
}

func TestContinue(t *testing.T) {
	api := &fakeAPI{}
	if got, err := Continue(context.Background(), api, job, "tracking:2", ""); err != nil || got != Ended {
		t.Fatalf("Continue = %v, %v", got, err)
	}
	want := []codepipeline.PutJobSuccessResultInput{{JobId: aws.String(job), ContinuationToken: aws.String("tracking:2")}}
	if diff := cmp.Diff(want, api.successes, ignoreSerde); diff != "" {
		t.Errorf("PutJobSuccessResult mismatch (-want +got):\n%s", diff)
	}
	if _, err := Continue(context.Background(), api, job, "", ""); err == nil || len(api.successes) != 1 {
		t.Errorf("Continue without a token = %v after %d calls; want an error and no call", err, len(api.successes))
	}
}

func TestFail(t *testing.T) {
	api := &fakeAPI{}
	long := strings.Repeat("é", 3000) // 6000 bytes
	if got, err := Fail(context.Background(), api, job, JobFailed, long); err != nil || got != Ended {
		t.Fatalf("Fail = %v, %v", got, err)
	}
	if _, err := Fail(context.Background(), api, job, ConfigurationError, ""); err != nil {
		t.Fatal(err)
	}
	if len(api.failures) != 2 {
		t.Fatalf("%d failures recorded", len(api.failures))
	}
	first := api.failures[0].FailureDetails
	if msg := aws.ToString(first.Message); len(msg) > MaxMessage || !utf8.ValidString(msg) || !strings.HasSuffix(msg, "…") || first.Type != types.FailureTypeJobFailed {
		t.Errorf("failure %q (%d bytes, type %s); want at most %d valid bytes ending in …, JobFailed", msg[:20], len(msg), first.Type, MaxMessage)
	}
	second := api.failures[1].FailureDetails
	if aws.ToString(second.Message) == "" || second.Type != types.FailureTypeConfigurationError {
		t.Errorf("failure without a message = %+v; want a message and ConfigurationError", second)
	}
}

func TestResultErrors(t *testing.T) {
	tests := []struct {
		name          string
		err           error
		want          Outcome
		wantErr       bool
		wantTransient bool
	}{
		{"job ended before", &types.InvalidJobStateException{Message: aws.String("Job is in terminal state")}, AlreadyEnded, false, false},
		{"no such job", &types.JobNotFoundException{Message: aws.String("no job")}, 0, true, false},
		{"throttled", &smithy.GenericAPIError{Code: "ThrottlingException", Message: "Rate exceeded"}, 0, true, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			for op, call := range map[string]func(API) (Outcome, error){
				"PutJobSuccessResult": func(a API) (Outcome, error) { return Succeed(context.Background(), a, job, nil, "") },
				"PutJobFailureResult": func(a API) (Outcome, error) { return Fail(context.Background(), a, job, JobFailed, "x") },
			} {
				got, err := call(&fakeAPI{err: tt.err})
				if got != tt.want || (err != nil) != tt.wantErr || IsTransient(err) != tt.wantTransient {
					t.Errorf("%s = %v, %v; want %v, error %v, transient %v", op, got, err, tt.want, tt.wantErr, tt.wantTransient)
				}
				if err != nil && !strings.Contains(err.Error(), op+" job "+job) {
					t.Errorf("%s error %q does not name the call and the job", op, err)
				}
			}
		})
	}
}

func TestCut(t *testing.T) {
	tests := []struct {
		in    string
		limit int
		want  string
	}{
		{"short", 10, "short"},
		{"exactly10!", 10, "exactly10!"},
		{"abcdefghijk", 10, "abcdefg…"},
		{"ééééé", 6, "é…"},         // 10 bytes: one é and the ellipsis fit
		{"a\xffb", 10, "a\uFFFDb"}, // invalid UTF-8 is replaced
		{"abc", 2, "ab"},           // no room for the ellipsis
	}
	for _, tt := range tests {
		got := Cut(tt.in, tt.limit)
		if len(got) > tt.limit {
			t.Errorf("Cut(%q, %d) = %q is %d bytes", tt.in, tt.limit, got, len(got))
		}
		if got != tt.want || !utf8.ValidString(got) {
			t.Errorf("Cut(%q, %d) = %q, want %q", tt.in, tt.limit, got, tt.want)
		}
	}
}
