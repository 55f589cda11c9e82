package deployhook_test

import (
	"context"
	"errors"
	"testing"

	"github.com/aws/aws-sdk-go-v2/service/codedeploy"
	"github.com/aws/aws-sdk-go-v2/service/codedeploy/types"
	"github.com/google/go-cmp/cmp"

	"github.com/prewarm/prewarm/deployhook"
	"github.com/prewarm/prewarm/localaws"
	"github.com/prewarm/prewarm/localaws/codedeploysim"
	"github.com/prewarm/prewarm/localaws/localawstest"
)

// startCodeDeploy serves the emulator with deployments and returns a real client for it.
func startCodeDeploy(t *testing.T, deployments ...codedeploysim.Deployment) (*localaws.Server, *codedeploy.Client) {
	t.Helper()
	world := localaws.DefaultWorld()
	world.CodeDeploy.Deployments = deployments
	srv, url := localawstest.Start(t, world, localaws.Options{})
	return srv, codedeploy.NewFromConfig(localaws.SDKConfig(url))
}

var checkout = codedeploysim.Deployment{
	ID: "d-CHECKOUT1", Application: "checkout", DeploymentGroup: "checkout-live",
	FunctionName: "checkout-api", Alias: "live", CurrentVersion: "1", TargetVersion: "2",
	Hooks: codedeploysim.Hooks{BeforeAllowTraffic: "CodeDeployHook_prewarm", AfterAllowTraffic: "CodeDeployHook_prewarm"},
}

// TestResolveAndReportOverHTTP runs a hook's whole conversation with the real SDK client: the
// event in progress, the answer, the answer again (already reported) and a retried
// invocation that finds the hook answered.
func TestResolveAndReportOverHTTP(t *testing.T) {
	d := checkout
	d.InProgress, d.ExecutionID = codedeploysim.EventBeforeAllowTraffic, "exec-before-1"
	srv, client := startCodeDeploy(t, d)
	ctx := context.Background()

	h, err := deployhook.Resolve(ctx, client, d.ID, d.ExecutionID)
	if err != nil {
		t.Fatalf("Resolve: %v", err)
	}
	want := deployhook.Hook{DeploymentID: d.ID, ExecutionID: d.ExecutionID, FunctionName: "checkout-api", Alias: "live",
		CurrentVersion: "1", TargetVersion: "2", Event: deployhook.BeforeAllowTraffic}
	if diff := cmp.Diff(want, h); diff != "" {
		t.Fatalf("Resolve mismatch (-want +got):\n%s", diff)
	}
	if got, err := deployhook.Report(ctx, client, h, deployhook.Succeeded); err != nil || got != deployhook.Reported {
		t.Fatalf("Report = %v, %v", got, err)
	}
	if st, _ := srv.CodeDeploy().HookStatus(d.ID, d.ExecutionID); st != codedeploysim.StatusSucceeded {
		t.Errorf("hook status %q after Report(Succeeded)", st)
	}
	if got, err := deployhook.Report(ctx, client, h, deployhook.Failed); err != nil || got != deployhook.AlreadyReported {
		t.Errorf("second Report = %v, %v; want already reported", got, err)
	}
	if st, _ := srv.CodeDeploy().HookStatus(d.ID, d.ExecutionID); st != codedeploysim.StatusSucceeded {
		t.Errorf("a second answer changed the hook to %q", st)
	}
	again, err := deployhook.Resolve(ctx, client, d.ID, d.ExecutionID)
	if err != nil || !again.Answered || again.Event != deployhook.BeforeAllowTraffic {
		t.Errorf("Resolve after the answer = %+v, %v; want answered BeforeAllowTraffic", again, err)
	}
}

// TestNoTargetOverHTTP: a deployment the emulator lists no target for (not a Lambda
// deployment's) is refused with a permanent error, not waited for.
func TestNoTargetOverHTTP(t *testing.T) {
	d := checkout
	d.NoTarget = true
	d.InProgress = codedeploysim.EventBeforeAllowTraffic
	_, client := startCodeDeploy(t, d)
	_, err := deployhook.Resolve(context.Background(), client, d.ID, "exec")
	var e *deployhook.Error
	if !errors.As(err, &e) || e.Code != "NoLambdaTarget" || e.Transient {
		t.Errorf("Resolve of a deployment without a target = %v; want a permanent NoLambdaTarget", err)
	}
}

// TestErrorsOverHTTP: the emulator's errors reach the caller as the SDK's typed errors,
// classified permanent.
func TestErrorsOverHTTP(t *testing.T) {
	d := checkout
	d.InProgress, d.ExecutionID = codedeploysim.EventAfterAllowTraffic, "exec-after"
	_, client := startCodeDeploy(t, d)
	ctx := context.Background()

	_, err := deployhook.Resolve(ctx, client, "d-NOSUCHONE", "x")
	var missing *types.DeploymentDoesNotExistException
	if !errors.As(err, &missing) || deployhook.IsTransient(err) {
		t.Errorf("Resolve of a missing deployment = %v; want a permanent DeploymentDoesNotExistException", err)
	}
	_, err = deployhook.Report(ctx, client, deployhook.Hook{DeploymentID: d.ID, ExecutionID: "not-an-execution"}, deployhook.Succeeded)
	var badID *types.InvalidLifecycleEventHookExecutionIdException
	if !errors.As(err, &badID) || deployhook.IsTransient(err) {
		t.Errorf("Report of an unknown execution = %v; want a permanent InvalidLifecycleEventHookExecutionIdException", err)
	}
	_, err = client.PutLifecycleEventHookExecutionStatus(ctx, &codedeploy.PutLifecycleEventHookExecutionStatusInput{
		DeploymentId: &d.ID, LifecycleEventHookExecutionId: &d.ExecutionID, Status: types.LifecycleEventStatusInProgress,
	})
	var badStatus *types.InvalidLifecycleEventHookExecutionStatusException
	if !errors.As(err, &badStatus) {
		t.Errorf("PutLifecycleEventHookExecutionStatus(InProgress) = %v; want InvalidLifecycleEventHookExecutionStatusException", err)
	}
}

// TestThrottledOverHTTP: the emulator's throttling of CodeDeploy reaches the caller as a
// transient error naming the call.
func TestThrottledOverHTTP(t *testing.T) {
	world := localaws.DefaultWorld()
	d := checkout
	d.InProgress, d.ExecutionID = codedeploysim.EventBeforeAllowTraffic, "exec-1"
	world.CodeDeploy.Deployments = []codedeploysim.Deployment{d}
	_, url := localawstest.Start(t, world, localaws.Options{Faults: localaws.Faults{ThrottleRate: localaws.Rates{"codedeploy:*": 1}}})
	client := codedeploy.NewFromConfig(localaws.SDKConfig(url), func(o *codedeploy.Options) { o.RetryMaxAttempts = 1 })
	_, err := deployhook.Resolve(context.Background(), client, d.ID, d.ExecutionID)
	var e *deployhook.Error
	if !errors.As(err, &e) || !e.Transient || e.Code != "ThrottlingException" || e.Op != "ListDeploymentTargets" {
		t.Errorf("Resolve throttled = %v; want a transient ThrottlingException of ListDeploymentTargets", err)
	}
	_, err = deployhook.Report(context.Background(), client, deployhook.Hook{DeploymentID: d.ID, ExecutionID: d.ExecutionID}, deployhook.Succeeded)
	if !deployhook.IsTransient(err) {
		t.Errorf("Report throttled = %v; want a transient error", err)
	}
}
