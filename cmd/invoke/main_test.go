package main

import (
	"bytes"
	"context"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/codepipeline"
	cptypes "github.com/aws/aws-sdk-go-v2/service/codepipeline/types"
	"github.com/aws/aws-sdk-go-v2/service/sqs"
	"github.com/google/go-cmp/cmp"

	"github.com/prewarm/prewarm/localaws"
	"github.com/prewarm/prewarm/localaws/clock"
	"github.com/prewarm/prewarm/localaws/codepipelinesim"
	"github.com/prewarm/prewarm/localaws/localawstest"
	"github.com/prewarm/prewarm/rie"
)

func noEnv(string) string { return "" }

func TestHelpExitsZero(t *testing.T) {
	for _, arg := range []string{"-h", "-help", "--help"} {
		var out bytes.Buffer
		if err := run(context.Background(), []string{arg}, noEnv, &out); err != nil {
			t.Errorf("invoke %s: %v; want no error", arg, err)
		}
		if !strings.Contains(out.String(), "Usage: go run ./cmd/invoke -event FILE") || !strings.Contains(out.String(), "-endpoint") {
			t.Errorf("invoke %s printed %q; want the usage and the flags", arg, out.String())
		}
	}
}

func TestUnknownFlag(t *testing.T) {
	err := run(context.Background(), []string{"-evnet", "x.json"}, noEnv, &bytes.Buffer{})
	if err == nil || !strings.Contains(err.Error(), "-evnet") || !strings.Contains(err.Error(), "-h for help") {
		t.Errorf("error = %v; want the flag named and a pointer to -h", err)
	}
}

func TestMalformedEventNamesFileAndPosition(t *testing.T) {
	dir := t.TempDir()
	for _, tt := range []struct{ body, want string }{
		{"{\n  \"functionName\": \"my-function\",\n  \"to\" \"GREEN\"\n}\n", ":3:8: the event is not valid JSON: invalid character '\"' after object key"},
		{"{\"functionName\": \"my-function\"", ":1:31: the event is not valid JSON: unexpected end of JSON input"},
		{"", ":1:1: the event is not valid JSON: unexpected end of JSON input"},
	} {
		name := filepath.Join(dir, "event.json")
		if err := os.WriteFile(name, []byte(tt.body), 0o644); err != nil {
			t.Fatal(err)
		}
		err := run(context.Background(), []string{"-event", name}, noEnv, &bytes.Buffer{})
		if err == nil || err.Error() != name+tt.want {
			t.Errorf("event %q: error %v; want %s%s", tt.body, err, name, tt.want)
		}
	}
}

// rieLogs is what the Runtime Interface Emulator prints for a bootstrap that exits at init.
const rieLogs = `START RequestId: 998ba284-3580-4a27-b536-f2474fe30813 Version: $LATEST
02 Dec 2026 14:31:59,729 [INFO] (rapid) INIT START(type: on-demand, phase: init)
{"timestamp":"2026-12-02T14:31:59.740223737Z","level":"ERROR","message":"prewarm cannot start","error":"MAX_CONCURRENCY: \"abc\" is not an integer in 1..2147483647"}
02 Dec 2026 14:31:59,741 [WARNING] (rapid) First fatal error stored in appctx: Runtime.ExitError
02 Dec 2026 14:31:59,741 [ERROR] (rapid) Init failed error=Runtime exited with error: exit status 1 InvokeID=
02 Dec 2026 14:31:59,742 [ERROR] (rapid) Invoke DONE failed: Sandbox.Failure
`

func TestInitError(t *testing.T) {
	for _, tt := range []struct{ logs, want string }{
		{rieLogs, `prewarm cannot start: MAX_CONCURRENCY: "abc" is not an integer in 1..2147483647`},
		{"time=2026-12-02T14:31:59Z level=ERROR msg=\"prewarm cannot start\" error=\"POLICY: value is not JSON\"\n",
			`time=2026-12-02T14:31:59Z level=ERROR msg="prewarm cannot start" error="POLICY: value is not JSON"`},
		{"02 Dec 2026 14:31:59,741 [ERROR] (rapid) Init failed error=Runtime exited with error: signal: killed InvokeID=\n", "Runtime exited with error: signal: killed InvokeID="},
		{"START RequestId: x\n", ""},
	} {
		if got := initError(tt.logs); got != tt.want {
			t.Errorf("initError(%q) = %q; want %q", tt.logs, got, tt.want)
		}
	}
}

func TestInvocationIDs(t *testing.T) {
	for _, tt := range []struct {
		event string
		resp  string
		logs  string
		want  []string
	}{
		{"../../events/alias-switch.json", "", "", []string{"7bf73129-1428-4cd3-a780-95db273d1602"}},
		{"../../events/alias-switch-sqs.json", `{"batchItemFailures":[]}`, "", []string{"059f36b4-87a3-44ab-83d2-661975830a7d", "1f0d3b2a-6c1e-4a55-9b7e-3c2f8e9d0a11"}},
		{"../../events/direct-api-shape.json", `{"results":[{"id":"req-1"}]}`, rieLogs, []string{"req-1", "998ba284-3580-4a27-b536-f2474fe30813"}},
	} {
		payload, err := os.ReadFile(tt.event)
		if err != nil {
			t.Fatal(err)
		}
		got := invocationIDs(payload, []byte(tt.resp), tt.logs)
		slices.Sort(got)
		slices.Sort(tt.want)
		if diff := cmp.Diff(tt.want, got); diff != "" {
			t.Errorf("%s: ids (-want +got):\n%s", tt.event, diff)
		}
	}
}

// sampleJob is the job id of events/codepipeline-job.json, which the built-in world seeds.
const sampleJob = "11111111-abcd-1111-abcd-111111abcdef"

func TestPipelineJobID(t *testing.T) {
	for _, tt := range []struct{ event, want string }{
		{"../../events/codepipeline-job.json", sampleJob},
		{"../../events/alias-switch.json", ""},
		{"../../events/codedeploy-hook.json", ""},
	} {
		payload, err := os.ReadFile(tt.event)
		if err != nil {
			t.Fatal(err)
		}
		if got := pipelineJobID(payload); got != tt.want {
			t.Errorf("%s: job %q; want %q", tt.event, got, tt.want)
		}
	}
}

// TestReportJob prints a job's result as the emulator started in process recorded it, ended
// over HTTP with the real client, and says where it is when the emulator runs elsewhere.
func TestReportJob(t *testing.T) {
	const failing = "22222222-abcd-2222-abcd-222222abcdef"
	world := localaws.DefaultWorld()
	world.CodePipeline.Jobs = append(world.CodePipeline.Jobs, codepipelinesim.Job{ID: failing})
	srv, url := localawstest.Start(t, world, localaws.Options{Clock: clock.NewFake(time.Date(2026, 12, 2, 14, 0, 0, 0, time.UTC))})
	client := codepipeline.NewFromConfig(localaws.SDKConfig(url))
	ctx := context.Background()
	if _, err := client.PutJobSuccessResult(ctx, &codepipeline.PutJobSuccessResultInput{
		JobId:            aws.String(sampleJob),
		ExecutionDetails: &cptypes.ExecutionDetails{Summary: aws.String("my-function:GREEN is READY")},
		OutputVariables:  map[string]string{"outcome": "READY", "value": "10"},
	}); err != nil {
		t.Fatal(err)
	}
	if _, err := client.PutJobFailureResult(ctx, &codepipeline.PutJobFailureResultInput{
		JobId:          aws.String(failing),
		FailureDetails: &cptypes.FailureDetails{Type: cptypes.FailureTypeJobFailed, Message: aws.String("my-function:GREEN FAILED")},
	}); err != nil {
		t.Fatal(err)
	}
	waiting, err := srv.CodePipeline().CreateJob(codepipelinesim.Job{})
	if err != nil {
		t.Fatal(err)
	}
	for _, tt := range []struct {
		jobs *codepipelinesim.Service
		id   string
		want string
	}{
		{srv.CodePipeline(), sampleJob, `== CodePipeline job 11111111-abcd-1111-abcd-111111abcdef: Succeeded
{
  "status": "Succeeded",
  "outputVariables": {
    "outcome": "READY",
    "value": "10"
  },
  "summary": "my-function:GREEN is READY",
  "at": "2026-12-02T14:00:00Z"
}
`},
		{srv.CodePipeline(), failing, `== CodePipeline job 22222222-abcd-2222-abcd-222222abcdef: Failed
{
  "status": "Failed",
  "failureType": "JobFailed",
  "failureMessage": "my-function:GREEN FAILED",
  "at": "2026-12-02T14:00:00Z"
}
`},
		{srv.CodePipeline(), waiting, "== CodePipeline job " + waiting + ": InProgress, no result recorded\n"},
		{srv.CodePipeline(), "99999999-abcd-9999-abcd-999999abcdef", "== CodePipeline job 99999999-abcd-9999-abcd-999999abcdef: not in the emulator's world, so its result was refused with JobNotFoundException; seed it under codePipeline.jobs in a world file (LOCALAWS_WORLD=FILE make emulator)\n"},
		{nil, sampleJob, "== CodePipeline job 11111111-abcd-1111-abcd-111111abcdef: its result is recorded by the emulator at http://127.0.0.1:4566; a job takes one result (POST http://127.0.0.1:4566/_localaws/reset seeds the world's jobs again)\n"},
	} {
		var out bytes.Buffer
		url := url
		if tt.jobs == nil {
			url = "http://127.0.0.1:4566"
		}
		reportJob(&out, tt.jobs, tt.id, url)
		if diff := cmp.Diff(tt.want, out.String()); diff != "" {
			t.Errorf("job %s (-want +got):\n%s", tt.id, diff)
		}
	}
}

func TestResultsQueue(t *testing.T) {
	_, url := localawstest.Start(t, localaws.DefaultWorld(), localaws.Options{})
	client := sqs.NewFromConfig(localaws.SDKConfig(url))
	def := url + "/123456789012/prewarm-results"
	for _, tt := range []struct{ env, want, wantErr string }{
		{"", def, ""},
		{"https://sqs.us-east-1.amazonaws.com/123456789012/prewarm-results.fifo", url + "/123456789012/prewarm-results.fifo", ""},
		{"http://127.0.0.1:4566/123456789012/prewarm-results.fifo", url + "/123456789012/prewarm-results.fifo", ""},
		{"http://127.0.0.1:4566/123456789012/my-results.fifo", "", `RESULTS_QUEUE_URL=http://127.0.0.1:4566/123456789012/my-results.fifo: the local emulator has no queue "my-results.fifo" (it has prewarm-events, prewarm-events-dlq, prewarm-followup, prewarm-results, prewarm-results.fifo)`},
	} {
		got, err := resultsQueue(context.Background(), client, tt.env, def)
		if tt.wantErr != "" {
			if err == nil || !strings.HasPrefix(err.Error(), tt.wantErr) {
				t.Errorf("RESULTS_QUEUE_URL=%s: error %v; want %s…", tt.env, err, tt.wantErr)
			}
			continue
		}
		if err != nil || got != tt.want {
			t.Errorf("RESULTS_QUEUE_URL=%s: %q, %v; want %q", tt.env, got, err, tt.want)
		}
	}
}

// TestInvokeUnderRIE runs the command as make invoke does, against an emulator already running
// that holds another run's result: it prints its own results, leaves the other's on the queue;
// the CodePipeline sample ends the job the world seeds; and, with a bad configuration, it ends
// with the function's own init error.
func TestInvokeUnderRIE(t *testing.T) {
	if testing.Short() {
		t.Skip("builds the bootstrap and the Runtime Interface Emulator; skipped with -short")
	}
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
	defer cancel()
	bin, err := filepath.Abs("../../bin")
	if err != nil {
		t.Fatal(err)
	}
	rieBinary, err := rie.Install(ctx, bin)
	if err != nil {
		t.Skipf("the Runtime Interface Emulator cannot be built here: %v", err)
	}
	bootstrap := filepath.Join(t.TempDir(), "bootstrap")
	if err := rie.BuildBootstrap(ctx, "../prewarm", bootstrap); err != nil {
		t.Fatal(err)
	}
	world := localaws.DefaultWorld()
	world.ReadyAfter = localaws.Duration(300 * time.Millisecond)
	srv, url := localawstest.Start(t, world, localaws.Options{})
	other := `{"schemaVersion":1,"id":"another-run","trigger":"direct","functionName":"my-function","qualifier":"GREEN","outcome":"READY","time":"2026-11-25T12:00:00Z"}`
	client := sqs.NewFromConfig(localaws.SDKConfig(url))
	if _, err := client.SendMessage(ctx, &sqs.SendMessageInput{QueueUrl: aws.String(url + "/123456789012/prewarm-results.fifo"), MessageBody: aws.String(other),
		MessageGroupId: aws.String("my-function:GREEN"), MessageDeduplicationId: aws.String("another-run")}); err != nil {
		t.Fatal(err)
	}
	getenv := func(env map[string]string) func(string) string {
		return func(k string) string {
			if v, ok := env[k]; ok {
				return v
			}
			return os.Getenv(k)
		}
	}
	args := []string{"-event", "../../events/alias-switch.json", "-bootstrap", bootstrap, "-rie", rieBinary, "-endpoint", url}

	var out bytes.Buffer
	if err := run(ctx, args, getenv(map[string]string{"RESULTS_QUEUE_URL": "http://127.0.0.1:4566/123456789012/prewarm-results.fifo"}), &out); err != nil {
		t.Fatalf("invoke: %v\n%s", err, out.String())
	}
	for _, want := range []string{"== 3 result message(s) of this invocation on " + url + "/123456789012/prewarm-results.fifo", `"outcome": "READY"`, `"outcome": "RELEASED"`} {
		if !strings.Contains(out.String(), want) {
			t.Errorf("output lacks %q:\n%s", want, out.String())
		}
	}
	left, err := srv.SQS().Messages("prewarm-results.fifo")
	if err != nil {
		t.Fatal(err)
	}
	if len(left) != 1 || left[0].Body != other || left[0].State != "visible" {
		t.Errorf("queue holds %+v; want the other run's result, visible", left)
	}

	// The CodePipeline sample ends the job the world seeds, without a warning. It asks for the
	// switch the first run made, so it ends the job at once, UNCHANGED, instead of waiting
	// for READY again.
	out.Reset()
	jobArgs := []string{"-event", "../../events/codepipeline-job.json", "-bootstrap", bootstrap, "-rie", rieBinary, "-endpoint", url}
	if err := run(ctx, jobArgs, getenv(nil), &out); err != nil {
		t.Fatalf("invoke with the CodePipeline sample: %v\n%s", err, out.String())
	}
	if strings.Contains(out.String(), `"level":"WARN"`) || !strings.Contains(out.String(), "== CodePipeline job "+sampleJob+": its result is recorded by the emulator at "+url) {
		t.Errorf("CodePipeline sample: output has a warning or lacks the job's line:\n%s", out.String())
	}
	if status, r, _ := srv.CodePipeline().Status(sampleJob); status != codepipelinesim.JobSucceeded || r == nil || r.OutputVariables["outcome"] != "UNCHANGED" {
		t.Errorf("job of the CodePipeline sample: %s, %+v; want Succeeded with outcome UNCHANGED", status, r)
	}

	out.Reset()
	err = run(ctx, args, getenv(map[string]string{"MAX_CONCURRENCY": "abc"}), &out)
	want := `the function failed its cold start: prewarm cannot start: MAX_CONCURRENCY: "abc" is not an integer in 1..2147483647`
	if err == nil || err.Error() != want {
		t.Errorf("bad configuration: error %v; want %s", err, want)
	}
}
