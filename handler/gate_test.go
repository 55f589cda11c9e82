package handler_test

import (
	"context"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-lambda-go/lambda"
	"github.com/aws/aws-lambda-go/lambdacontext"
	"github.com/google/go-cmp/cmp"

	"github.com/prewarm/prewarm/localaws"
	"github.com/prewarm/prewarm/localaws/codedeploysim"
	"github.com/prewarm/prewarm/localaws/codepipelinesim"
	"github.com/prewarm/prewarm/localaws/lambdadeploy"
	"github.com/prewarm/prewarm/localaws/lambdasim"
)

// The default world's deployment d-ABCDEF123 moves checkout-payments:live
// from version 1 (5 provisioned) to version 2, with BeforeAllowTraffic in
// progress under the execution id of events/codedeploy-hook.json.
const (
	hookDeployment = "d-ABCDEF123"
	hookExecution  = "eyJlbmNyeXB0ZWREYXRhIjoiQkxBSEJMQUgiLCJpdlBhcmFtZXRlclNwZWMiOiJ4eXoiLCJtYXRlcmlhbFNldFNlcmlhbCI6MX0="
)

func hookEvent(t *testing.T) []byte {
	t.Helper()
	b, err := os.ReadFile("../events/codedeploy-hook.json")
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// withDeployment changes the default world's deployment and function.
func withDeployment(edit func(d *codedeploysim.Deployment, f *lambdasim.Function)) envOption {
	return withWorld(func(w *localaws.World) {
		for i := range w.Functions {
			if w.Functions[i].Name == "checkout-payments" {
				edit(&w.CodeDeploy.Deployments[0], &w.Functions[i])
			}
		}
	})
}

func (e *env) hookStatus() string {
	e.t.Helper()
	status, _ := e.srv.CodeDeploy().HookStatus(hookDeployment, hookExecution)
	return status
}

// TestCodeDeployHookWarmsTargetBeforeTraffic: BeforeAllowTraffic puts the
// current version's provisioned concurrency on the target version, follows
// it to READY, and only then answers Succeeded.
func TestCodeDeployHookWarmsTargetBeforeTraffic(t *testing.T) {
	e := newEnv(t)
	if _, err := e.invoke(hookEvent(t)); err != nil {
		t.Fatal(err)
	}
	got := e.published("prewarm-results")
	if diff := cmp.Diff([]string{"checkout-payments:2 APPLIED", "checkout-payments:2 READY"}, outcomes(got)); diff != "" {
		t.Fatalf("results (-want +got):\n%s", diff)
	}
	for _, m := range got {
		if m.Trigger != "codedeploy" || m.DeploymentID != hookDeployment {
			t.Errorf("%s: trigger %q deploymentId %q, want codedeploy and %s", m.Outcome, m.Trigger, m.DeploymentID, hookDeployment)
		}
	}
	if s := e.hookStatus(); s != "Succeeded" {
		t.Errorf("hook status %q, want Succeeded", s)
	}
	if st := e.pc("checkout-payments", "2"); st.Requested != 5 || st.Status != "READY" {
		t.Errorf("version 2 = %+v, want 5 READY, mirrored from version 1", st)
	}
	if st := e.pc("checkout-payments", "1"); st.Requested != 5 {
		t.Errorf("version 1 = %+v, want its 5 kept until traffic has moved", st)
	}
}

// TestCodeDeployHookAnsweredOnce: Lambda retries an asynchronous
// invocation; the same hook execution delivered again makes no Put and no
// second answer.
func TestCodeDeployHookAnsweredOnce(t *testing.T) {
	e := newEnv(t)
	for range 2 {
		if _, err := e.invoke(hookEvent(t)); err != nil {
			t.Fatal(err)
		}
	}
	if n := e.requests("PutProvisionedConcurrencyConfig"); n != 1 {
		t.Errorf("%d Puts, want 1", n)
	}
	if n := e.requests("PutLifecycleEventHookExecutionStatus"); n != 1 {
		t.Errorf("%d hook answers, want 1", n)
	}
	if got := outcomes(e.published("prewarm-results")); len(got) != 2 {
		t.Errorf("results %v, want APPLIED and READY of the first delivery only", got)
	}
}

// TestCodeDeployHookFailsWhenTargetCannotWarm: a target version that fails
// to initialise answers Failed, so CodeDeploy rolls back while the current
// version keeps its capacity.
func TestCodeDeployHookFailsWhenTargetCannotWarm(t *testing.T) {
	e := newEnv(t, withDeployment(func(_ *codedeploysim.Deployment, f *lambdasim.Function) {
		f.InitFailureVersions = []string{"2"}
	}))
	if _, err := e.invoke(hookEvent(t)); err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff([]string{"checkout-payments:2 APPLIED", "checkout-payments:2 FAILED"}, outcomes(e.published("prewarm-results"))); diff != "" {
		t.Errorf("results (-want +got):\n%s", diff)
	}
	if s := e.hookStatus(); s != "Failed" {
		t.Errorf("hook status %q, want Failed", s)
	}
	if st := e.pc("checkout-payments", "1"); st.Requested != 5 || st.Status != "READY" {
		t.Errorf("version 1 = %+v, want its 5 READY", st)
	}
}

// TestCodeDeployHookExplainsAliasConflict: SAM's ProvisionedConcurrencyConfig
// puts provisioned concurrency on the alias itself; the hook answers Failed
// with what to change instead of hitting AWS's conflict.
func TestCodeDeployHookExplainsAliasConflict(t *testing.T) {
	e := newEnv(t, withDeployment(func(_ *codedeploysim.Deployment, f *lambdasim.Function) {
		f.ProvisionedConcurrency = map[string]int{"live": 5}
	}))
	if _, err := e.invoke(hookEvent(t)); err != nil {
		t.Fatal(err)
	}
	got := e.published("prewarm-results")
	if len(got) != 1 || got[0].Outcome != "REJECTED" || !strings.Contains(got[0].Reason, "remove ProvisionedConcurrencyConfig") {
		t.Fatalf("results %v (%v), want one REJECTED saying what to change", outcomes(got), got)
	}
	if s := e.hookStatus(); s != "Failed" {
		t.Errorf("hook status %q, want Failed", s)
	}
	if n := e.requests("PutProvisionedConcurrencyConfig"); n != 0 {
		t.Errorf("%d Puts, want none", n)
	}
}

// TestCodeDeployAfterTrafficReleasesCurrentVersion: AfterAllowTraffic
// removes the provisioned concurrency of the version traffic left (or
// lowers it to HOOK_RELEASE's standby), then answers Succeeded.
func TestCodeDeployAfterTrafficReleasesCurrentVersion(t *testing.T) {
	for _, tt := range []struct {
		release string
		want    int64
	}{{"delete", 0}, {"2", 2}} {
		t.Run(tt.release, func(t *testing.T) {
			e := newEnv(t, withEnv("HOOK_RELEASE", tt.release), withDeployment(func(d *codedeploysim.Deployment, f *lambdasim.Function) {
				d.InProgress = "AfterAllowTraffic"
				f.Aliases = map[string]string{"live": "2"}
				f.ProvisionedConcurrency = map[string]int{"1": 5, "2": 5}
			}))
			if _, err := e.invoke(hookEvent(t)); err != nil {
				t.Fatal(err)
			}
			if diff := cmp.Diff([]string{"checkout-payments:1 RELEASED"}, outcomes(e.published("prewarm-results"))); diff != "" {
				t.Errorf("results (-want +got):\n%s", diff)
			}
			if s := e.hookStatus(); s != "Succeeded" {
				t.Errorf("hook status %q, want Succeeded", s)
			}
			if st := e.pc("checkout-payments", "1"); st.Requested != tt.want {
				t.Errorf("version 1 = %+v, want %d", st, tt.want)
			}
			if st := e.pc("checkout-payments", "2"); st.Requested != 5 {
				t.Errorf("version 2 = %+v, want its 5", st)
			}
		})
	}
}

// autoClock lets the deployment driver's waits (traffic shifting
// intervals) pass at once on the emulator's clock, but not its one-hour
// hook timeout, which only a hook that never answers reaches.
type autoClock struct{ e *env }

func (c autoClock) Now() time.Time { return c.e.clk.Now() }
func (c autoClock) After(d time.Duration) <-chan time.Time {
	ch := c.e.clk.After(d)
	if d < lambdadeploy.HookTimeout {
		c.e.clk.Advance(d)
	}
	return ch
}

// hookInvoker runs prewarm as the hook function, in process.
type hookInvoker struct{ e *env }

func (i hookInvoker) Invoke(ctx context.Context, payload []byte) ([]byte, error) {
	ctx = lambdacontext.NewContext(ctx, &lambdacontext.LambdaContext{
		AwsRequestID: "hook-invocation", InvokedFunctionArn: "arn:aws:lambda:us-east-1:123456789012:function:CodeDeployHook_prewarm",
	})
	return lambda.NewHandler(i.e.h.Invoke).Invoke(ctx, payload)
}

// TestCanaryDeploymentGatedByPrewarm runs the deployment as CodeDeploy does,
// with prewarm as both hooks: the new version is warm before any traffic
// moves, traffic shifts 10% then all, and the old version is released after.
// When the new version cannot initialise, the deployment rolls back and the
// old version keeps its capacity, the alias without routing weights.
func TestCanaryDeploymentGatedByPrewarm(t *testing.T) {
	for _, tt := range []struct {
		name            string
		initFails       bool
		status          string
		aliasOn         string
		v1, v2          int64
		wantLastOutcome string
	}{
		{"new version warms", false, codedeploysim.DeploymentSucceeded, "2", 0, 5, "checkout-payments:1 RELEASED"},
		{"new version fails to initialise", true, codedeploysim.DeploymentFailed, "1", 5, 5, "checkout-payments:2 FAILED"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			e := newEnv(t, withDeployment(func(d *codedeploysim.Deployment, f *lambdasim.Function) {
				d.InProgress, d.ExecutionID = "", ""
				if tt.initFails {
					f.InitFailureVersions = []string{"2"}
				}
			}))
			d, err := lambdadeploy.New(lambdadeploy.Config{
				CodeDeploy: e.srv.CodeDeploy(), Lambda: e.srv.Lambda(), Invoker: hookInvoker{e}, Clock: autoClock{e},
			})
			if err != nil {
				t.Fatal(err)
			}
			res, err := d.Run(context.Background(), hookDeployment)
			if err != nil {
				t.Fatal(err)
			}
			if res.Status != tt.status {
				t.Fatalf("deployment %s (%s %s), want %s; history %+v", res.Status, res.ErrorCode, res.ErrorMessage, tt.status, res.History)
			}
			version, weights, ok := e.srv.Lambda().Alias("checkout-payments", "live")
			if !ok || version != tt.aliasOn || len(weights) != 0 {
				t.Errorf("alias live on version %s with weights %v, want on version %s without weights", version, weights, tt.aliasOn)
			}
			if st := e.pc("checkout-payments", "1"); st.Requested != tt.v1 {
				t.Errorf("version 1 = %+v, want %d", st, tt.v1)
			}
			if st := e.pc("checkout-payments", "2"); st.Requested != tt.v2 {
				t.Errorf("version 2 = %+v, want %d", st, tt.v2)
			}
			got := outcomes(e.published("prewarm-results"))
			if len(got) == 0 || got[len(got)-1] != tt.wantLastOutcome {
				t.Errorf("results %v, want them to end with %s", got, tt.wantLastOutcome)
			}
		})
	}
}

// job creates a CodePipeline job for userParameters and returns its id and
// the event CodePipeline invokes the function with.
func (e *env) job(userParameters string) (string, []byte) {
	e.t.Helper()
	id, err := e.srv.CodePipeline().CreateJob(codepipelinesim.Job{FunctionName: "prewarm", UserParameters: userParameters})
	if err != nil {
		e.t.Fatal(err)
	}
	ev, err := e.srv.CodePipeline().Event(id)
	if err != nil {
		e.t.Fatal(err)
	}
	return id, ev
}

func (e *env) jobResult(id string) (string, *codepipelinesim.Result) {
	e.t.Helper()
	status, res, _ := e.srv.CodePipeline().Status(id)
	return status, res
}

// TestCodePipelineJobEndsAtReady: the job's intent is followed to READY and
// the job ends with PutJobSuccessResult and its output variables.
func TestCodePipelineJobEndsAtReady(t *testing.T) {
	e := newEnv(t)
	id, ev := e.job(`{"functionName":"my-function","from":"BLUE","to":"GREEN","release":"delete","correlationId":"exec-1"}`)
	if _, err := e.invoke(ev); err != nil {
		t.Fatal(err)
	}
	status, res := e.jobResult(id)
	if status != codepipelinesim.JobSucceeded || res == nil {
		t.Fatalf("job %s %+v, want Succeeded", status, res)
	}
	want := map[string]string{"outcome": "READY", "function": "my-function", "qualifier": "GREEN", "value": "10"}
	if diff := cmp.Diff(want, res.OutputVariables); diff != "" {
		t.Errorf("output variables (-want +got):\n%s", diff)
	}
	if diff := cmp.Diff([]string{"my-function:GREEN APPLIED", "my-function:GREEN READY", "my-function:BLUE RELEASED"}, outcomes(e.published("prewarm-results"))); diff != "" {
		t.Errorf("results (-want +got):\n%s", diff)
	}
}

// TestCodePipelineJobFails: a refused intent ends the job with a
// ConfigurationError, a failed allocation with JobFailed, each once.
func TestCodePipelineJobFails(t *testing.T) {
	for _, tt := range []struct {
		name, params, failureType string
	}{
		{"not allowed", `{"functionName":"payroll","to":"live","concurrency":5}`, "ConfigurationError"},
		{"not an intent", `{"functionName":"my-function"`, "ConfigurationError"},
		{"allocation fails", `{"functionName":"broken-function","to":"GREEN","concurrency":3}`, "JobFailed"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			e := newEnv(t)
			id, ev := e.job(tt.params)
			if _, err := e.invoke(ev); err != nil {
				t.Fatal(err)
			}
			status, res := e.jobResult(id)
			if status != codepipelinesim.JobFailed || res == nil || res.FailureType != tt.failureType || res.FailureMessage == "" {
				t.Errorf("job %s %+v, want Failed with %s and a message", status, res, tt.failureType)
			}
		})
	}
}

// TestCodePipelineJobThroughFollowUps: an allocation longer than the
// invocation ends the job from the follow-up that sees READY; a duplicate
// invocation of the job ends it no second time.
func TestCodePipelineJobThroughFollowUps(t *testing.T) {
	e := newEnv(t, withEnv("WAIT_SECONDS", "2"), withWorld(func(w *localaws.World) { w.ReadyAfter = localaws.Duration(2 * time.Minute) }))
	id, ev := e.job(`{"functionName":"my-function","to":"GREEN","concurrency":4}`)
	for range 2 { // Lambda may deliver an asynchronous event twice
		if _, err := e.invoke(ev); err != nil {
			t.Fatal(err)
		}
	}
	if status, _ := e.jobResult(id); status != codepipelinesim.JobInProgress {
		t.Fatalf("job %s before READY, want InProgress", status)
	}
	for range 10 {
		bodies := e.followUps(t)
		if len(bodies) == 0 {
			break
		}
		if _, err := e.invokeWithin(invocationBudget, sqsEvent(t, "prewarm-followup", bodies...)); err != nil {
			t.Fatal(err)
		}
	}
	status, res := e.jobResult(id)
	if status != codepipelinesim.JobSucceeded || res.OutputVariables["outcome"] != "READY" {
		t.Errorf("job %s %+v, want Succeeded at READY", status, res)
	}
	if n := e.requests("PutJobSuccessResult") + e.requests("PutJobFailureResult"); n > 2 {
		t.Errorf("%d job results sent, want the job ended once (a duplicate answered as already ended at most)", n)
	}
}
