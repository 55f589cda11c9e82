package deployhook

import (
	"context"
	"errors"
	"strings"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/codedeploy"
	"github.com/aws/aws-sdk-go-v2/service/codedeploy/types"
	"github.com/aws/smithy-go"
	"github.com/google/go-cmp/cmp"
)

// fakeAPI is a hand-written CodeDeploy with one deployment.
type fakeAPI struct {
	targets map[string]*types.LambdaTarget // target id → target
	listErr error
	getErr  error
	putErr  error
	puts    []codedeploy.PutLifecycleEventHookExecutionStatusInput
}

var _ API = (*fakeAPI)(nil)

func (f *fakeAPI) ListDeploymentTargets(_ context.Context, in *codedeploy.ListDeploymentTargetsInput, _ ...func(*codedeploy.Options)) (*codedeploy.ListDeploymentTargetsOutput, error) {
	if f.listErr != nil {
		return nil, f.listErr
	}
	out := &codedeploy.ListDeploymentTargetsOutput{}
	for id := range f.targets {
		out.TargetIds = append(out.TargetIds, id)
	}
	return out, nil
}

func (f *fakeAPI) GetDeploymentTarget(_ context.Context, in *codedeploy.GetDeploymentTargetInput, _ ...func(*codedeploy.Options)) (*codedeploy.GetDeploymentTargetOutput, error) {
	if f.getErr != nil {
		return nil, f.getErr
	}
	t, ok := f.targets[aws.ToString(in.TargetId)]
	if !ok || t == nil {
		return nil, &types.DeploymentTargetDoesNotExistException{Message: aws.String("no target")}
	}
	return &codedeploy.GetDeploymentTargetOutput{DeploymentTarget: &types.DeploymentTarget{DeploymentTargetType: types.DeploymentTargetTypeLambdaTarget, LambdaTarget: t}}, nil
}

func (f *fakeAPI) PutLifecycleEventHookExecutionStatus(_ context.Context, in *codedeploy.PutLifecycleEventHookExecutionStatusInput, _ ...func(*codedeploy.Options)) (*codedeploy.PutLifecycleEventHookExecutionStatusOutput, error) {
	if f.putErr != nil {
		return nil, f.putErr
	}
	f.puts = append(f.puts, *in)
	return &codedeploy.PutLifecycleEventHookExecutionStatusOutput{LifecycleEventHookExecutionId: in.LifecycleEventHookExecutionId}, nil
}

func target(events ...types.LifecycleEvent) *types.LambdaTarget {
	return &types.LambdaTarget{
		DeploymentId: aws.String("d-ABCDEF123"),
		LambdaFunctionInfo: &types.LambdaFunctionInfo{
			FunctionName: aws.String("checkout-api"), FunctionAlias: aws.String("live"),
			CurrentVersion: aws.String("3"), TargetVersion: aws.String("4"),
		},
		LifecycleEvents: events,
		Status:          types.TargetStatusInProgress,
	}
}

func event(name string, status types.LifecycleEventStatus) types.LifecycleEvent {
	return types.LifecycleEvent{LifecycleEventName: aws.String(name), Status: status}
}

func TestResolve(t *testing.T) {
	versions := Hook{DeploymentID: "d-ABCDEF123", ExecutionID: "exec-1", FunctionName: "checkout-api", Alias: "live", CurrentVersion: "3", TargetVersion: "4"}
	with := func(e Event, answered bool) Hook {
		h := versions
		h.Event, h.Answered = e, answered
		return h
	}
	tests := []struct {
		name string
		api  func(t *testing.T) *fakeAPI
		want Hook
	}{
		{"before allow traffic in progress", func(*testing.T) *fakeAPI {
			return &fakeAPI{targets: map[string]*types.LambdaTarget{"checkout-api": target(
				event("Start", types.LifecycleEventStatusSucceeded),
				event("BeforeAllowTraffic", types.LifecycleEventStatusInProgress),
				event("AllowTraffic", types.LifecycleEventStatusPending),
				event("AfterAllowTraffic", types.LifecycleEventStatusPending),
				event("End", types.LifecycleEventStatusPending))}}
		}, with(BeforeAllowTraffic, false)},
		{"after allow traffic in progress", func(*testing.T) *fakeAPI {
			return &fakeAPI{targets: map[string]*types.LambdaTarget{"checkout-api": target(
				event("BeforeAllowTraffic", types.LifecycleEventStatusSucceeded),
				event("AllowTraffic", types.LifecycleEventStatusSucceeded),
				event("AfterAllowTraffic", types.LifecycleEventStatusInProgress))}}
		}, with(AfterAllowTraffic, false)},
		{"answered already", func(*testing.T) *fakeAPI {
			return &fakeAPI{targets: map[string]*types.LambdaTarget{"checkout-api": target(
				event("BeforeAllowTraffic", types.LifecycleEventStatusSucceeded),
				event("AllowTraffic", types.LifecycleEventStatusInProgress),
				event("AfterAllowTraffic", types.LifecycleEventStatusPending))}}
		}, with(BeforeAllowTraffic, true)},
		{"a target gone among others", func(*testing.T) *fakeAPI {
			return &fakeAPI{targets: map[string]*types.LambdaTarget{"gone": nil, "checkout-api": target(
				event("BeforeAllowTraffic", types.LifecycleEventStatusInProgress))}}
		}, with(BeforeAllowTraffic, false)},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := Resolve(context.Background(), tt.api(t), "d-ABCDEF123", "exec-1")
			if err != nil {
				t.Fatalf("Resolve: %v", err)
			}
			if diff := cmp.Diff(tt.want, got); diff != "" {
				t.Errorf("Resolve mismatch (-want +got):\n%s", diff)
			}
		})
	}
}

func TestResolveErrors(t *testing.T) {
	throttled := &smithy.GenericAPIError{Code: "ThrottlingException", Message: "Rate exceeded"}
	tests := []struct {
		name          string
		api           func(t *testing.T) *fakeAPI
		wantOp        string
		wantCode      string
		wantTransient bool
	}{
		{"throttled list", func(*testing.T) *fakeAPI { return &fakeAPI{listErr: throttled} }, "ListDeploymentTargets", "ThrottlingException", true},
		{"invalid deployment", func(*testing.T) *fakeAPI {
			return &fakeAPI{listErr: &types.InvalidDeploymentIdException{Message: aws.String("bad id")}}
		}, "ListDeploymentTargets", "InvalidDeploymentIdException", false},
		{"target read fails", func(*testing.T) *fakeAPI {
			return &fakeAPI{targets: map[string]*types.LambdaTarget{"checkout-api": target()}, getErr: &smithy.GenericAPIError{Code: "InternalFailure", Fault: smithy.FaultServer}}
		}, "GetDeploymentTarget", "InternalFailure", true},
		{"no target", func(*testing.T) *fakeAPI { return &fakeAPI{} }, "ListDeploymentTargets", "NoLambdaTarget", false},
		{"only a target gone", func(*testing.T) *fakeAPI {
			return &fakeAPI{targets: map[string]*types.LambdaTarget{"gone": nil}}
		}, "ListDeploymentTargets", "NoLambdaTarget", false},
		{"target without versions", func(*testing.T) *fakeAPI {
			tg := target(event("BeforeAllowTraffic", types.LifecycleEventStatusInProgress))
			tg.LambdaFunctionInfo.TargetVersion = nil
			return &fakeAPI{targets: map[string]*types.LambdaTarget{"checkout-api": tg}}
		}, "GetDeploymentTarget", "IncompleteDeployment", false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := Resolve(context.Background(), tt.api(t), "d-ABCDEF123", "exec-1")
			var e *Error
			if !errors.As(err, &e) {
				t.Fatalf("Resolve error %v is not an *Error", err)
			}
			if e.Op != tt.wantOp || e.Code != tt.wantCode || e.Transient != tt.wantTransient || IsTransient(err) != tt.wantTransient {
				t.Errorf("error %+v; want op %s code %s transient %v", e, tt.wantOp, tt.wantCode, tt.wantTransient)
			}
			if !strings.Contains(err.Error(), "d-ABCDEF123") || !strings.Contains(err.Error(), tt.wantOp) {
				t.Errorf("error %q does not name the operation and the deployment", err)
			}
		})
	}
}

func TestReport(t *testing.T) {
	h := Hook{DeploymentID: "d-ABCDEF123", ExecutionID: "exec-1"}
	api := &fakeAPI{}
	got, err := Report(context.Background(), api, h, Succeeded)
	if err != nil || got != Reported {
		t.Fatalf("Report = %v, %v; want reported", got, err)
	}
	want := []codedeploy.PutLifecycleEventHookExecutionStatusInput{{
		DeploymentId: aws.String("d-ABCDEF123"), LifecycleEventHookExecutionId: aws.String("exec-1"), Status: types.LifecycleEventStatusSucceeded,
	}}
	if diff := cmp.Diff(want, api.puts, cmp.AllowUnexported(codedeploy.PutLifecycleEventHookExecutionStatusInput{})); diff != "" {
		t.Errorf("calls mismatch (-want +got):\n%s", diff)
	}

	api.putErr = &types.LifecycleEventAlreadyCompletedException{Message: aws.String("already completed")}
	if got, err := Report(context.Background(), api, h, Failed); err != nil || got != AlreadyReported {
		t.Errorf("Report on an answered hook = %v, %v; want already reported", got, err)
	}

	api.putErr = &smithy.GenericAPIError{Code: "ThrottlingException", Message: "Rate exceeded"}
	if _, err := Report(context.Background(), api, h, Failed); !IsTransient(err) || !strings.Contains(err.Error(), "PutLifecycleEventHookExecutionStatus d-ABCDEF123") {
		t.Errorf("Report throttled = %v; want a transient error naming the call", err)
	}

	api.putErr = nil
	if _, err := Report(context.Background(), api, h, Status("InProgress")); err == nil || IsTransient(err) {
		t.Errorf("Report(InProgress) = %v; want a permanent error", err)
	}
	if len(api.puts) != 1 {
		t.Errorf("%d calls recorded; want only the first", len(api.puts))
	}
}
