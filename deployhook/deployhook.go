// Package deployhook provides what prewarm needs of CodeDeploy to act as a Lambda deployment's
// lifecycle hook: finding, from the two ids a hook is invoked with, the function, alias and
// versions of the deployment and which lifecycle event is in progress (Resolve), and answering
// the hook exactly once (Report).
package deployhook

import (
	"context"
	"errors"
	"fmt"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/codedeploy"
	"github.com/aws/aws-sdk-go-v2/service/codedeploy/types"

	"github.com/prewarm/prewarm/awsfault"
)

// API is the part of *codedeploy.Client the hook calls.
type API interface {
	ListDeploymentTargets(ctx context.Context, params *codedeploy.ListDeploymentTargetsInput, optFns ...func(*codedeploy.Options)) (*codedeploy.ListDeploymentTargetsOutput, error)
	GetDeploymentTarget(ctx context.Context, params *codedeploy.GetDeploymentTargetInput, optFns ...func(*codedeploy.Options)) (*codedeploy.GetDeploymentTargetOutput, error)
	PutLifecycleEventHookExecutionStatus(ctx context.Context, params *codedeploy.PutLifecycleEventHookExecutionStatusInput, optFns ...func(*codedeploy.Options)) (*codedeploy.PutLifecycleEventHookExecutionStatusOutput, error)
}

var _ API = (*codedeploy.Client)(nil)

// Event is a lifecycle event of a Lambda deployment that runs hooks.
type Event string

// The hook events of a Lambda deployment, in the order CodeDeploy runs them.
const (
	BeforeAllowTraffic Event = "BeforeAllowTraffic"
	AfterAllowTraffic  Event = "AfterAllowTraffic"
)

// Hook is one lifecycle hook execution of a Lambda deployment, resolved.
type Hook struct {
	DeploymentID string
	ExecutionID  string
	// FunctionName, Alias, CurrentVersion and TargetVersion are the deployment's: traffic on
	// Alias moves from CurrentVersion to TargetVersion.
	FunctionName   string
	Alias          string
	CurrentVersion string
	TargetVersion  string
	// Event is the hook event in progress; when Answered, the last hook event that ran ("" if
	// none did).
	Event Event
	// Answered says no hook event of the deployment is in progress any longer: this execution
	// was answered already (an asynchronous retry, or the deployment ended), so there is
	// nothing to do.
	Answered bool
}

// String returns "DEPLOYMENT EVENT FUNCTION:ALIAS CURRENT→TARGET".
func (h Hook) String() string {
	s := fmt.Sprintf("%s %s %s:%s %s→%s", h.DeploymentID, h.Event, h.FunctionName, h.Alias, h.CurrentVersion, h.TargetVersion)
	if h.Answered {
		s += " (answered)"
	}
	return s
}

// Error is a failed CodeDeploy call.
type Error struct {
	Op           string // the API operation, e.g. "GetDeploymentTarget"
	DeploymentID string
	TargetID     string // set for GetDeploymentTarget
	Code         string // AWS's error code, or awsfault's
	Message      string
	Transient    bool
	Err          error
}

// Error returns "codedeploy OP DEPLOYMENT [target TARGET]: CODE: MESSAGE".
func (e *Error) Error() string {
	target := ""
	if e.TargetID != "" {
		target = " target " + e.TargetID
	}
	return fmt.Sprintf("codedeploy %s %s%s: %s: %s", e.Op, e.DeploymentID, target, e.Code, e.Message)
}

func (e *Error) Unwrap() error { return e.Err }

// IsTransient reports whether err is a CodeDeploy error worth another try.
func IsTransient(err error) bool {
	var e *Error
	if errors.As(err, &e) {
		return e.Transient
	}
	return errors.Is(err, context.DeadlineExceeded) || errors.Is(err, context.Canceled)
}

// classify is the one place a CodeDeploy call's error is judged.
func classify(op, deploymentID string, err error) *Error {
	f := awsfault.Classify(err)
	return &Error{Op: op, DeploymentID: deploymentID, Code: f.Code, Message: f.Message, Transient: f.Transient, Err: err}
}

// permanent is an error of the deployment's content, not of a call.
func permanent(op, deploymentID, code, format string, args ...any) *Error {
	msg := fmt.Sprintf(format, args...)
	return &Error{Op: op, DeploymentID: deploymentID, Code: code, Message: msg, Err: errors.New(msg)}
}

// maxTargetPages bounds the walk over ListDeploymentTargets: a Lambda deployment has one target.
const maxTargetPages = 10

// Resolve finds what the hook execution executionID of deployment deploymentID is about: the
// deployment's Lambda target (ListDeploymentTargets, GetDeploymentTarget) names the function,
// alias and versions, and its lifecycle events say which hook event is in progress. CodeDeploy
// creates a Lambda deployment's target when the deployment starts, before any hook runs, so a
// deployment without one is refused (a permanent error), not waited for.
func Resolve(ctx context.Context, api API, deploymentID, executionID string) (Hook, error) {
	h := Hook{DeploymentID: deploymentID, ExecutionID: executionID}
	target, err := lambdaTarget(ctx, api, deploymentID)
	if err != nil {
		return Hook{}, err
	}
	if target == nil {
		return Hook{}, permanent("ListDeploymentTargets", deploymentID, "NoLambdaTarget", "the deployment has no Lambda target: it is not a deployment of a Lambda function")
	}
	info := target.LambdaFunctionInfo
	if info == nil {
		return Hook{}, permanent("GetDeploymentTarget", deploymentID, "NoLambdaFunctionInfo", "the Lambda target has no lambdaFunctionInfo")
	}
	h.FunctionName, h.Alias = aws.ToString(info.FunctionName), aws.ToString(info.FunctionAlias)
	h.CurrentVersion, h.TargetVersion = aws.ToString(info.CurrentVersion), aws.ToString(info.TargetVersion)
	h.Event, h.Answered = inProgress(target.LifecycleEvents)
	if err := h.validate("GetDeploymentTarget"); err != nil {
		return Hook{}, err
	}
	return h, nil
}

// lambdaTarget returns the deployment's Lambda target, nil when it has none.
func lambdaTarget(ctx context.Context, api API, deploymentID string) (*types.LambdaTarget, error) {
	var token *string
	for range maxTargetPages {
		list, err := api.ListDeploymentTargets(ctx, &codedeploy.ListDeploymentTargetsInput{DeploymentId: aws.String(deploymentID), NextToken: token})
		if err != nil {
			return nil, classify("ListDeploymentTargets", deploymentID, err)
		}
		for _, id := range list.TargetIds {
			out, err := api.GetDeploymentTarget(ctx, &codedeploy.GetDeploymentTargetInput{DeploymentId: aws.String(deploymentID), TargetId: aws.String(id)})
			var missing *types.DeploymentTargetDoesNotExistException
			switch {
			case errors.As(err, &missing):
				continue
			case err != nil:
				e := classify("GetDeploymentTarget", deploymentID, err)
				e.TargetID = id
				return nil, e
			}
			if t := out.DeploymentTarget; t != nil && t.LambdaTarget != nil {
				return t.LambdaTarget, nil
			}
		}
		if aws.ToString(list.NextToken) == "" {
			return nil, nil
		}
		token = list.NextToken
	}
	return nil, nil
}

// inProgress returns the hook event in progress, or, when none is, the last hook event that
// ended and true.
func inProgress(events []types.LifecycleEvent) (Event, bool) {
	var last Event
	for _, e := range events {
		name := Event(aws.ToString(e.LifecycleEventName))
		if name != BeforeAllowTraffic && name != AfterAllowTraffic {
			continue
		}
		switch e.Status {
		case types.LifecycleEventStatusInProgress:
			return name, false
		case types.LifecycleEventStatusSucceeded, types.LifecycleEventStatusFailed, types.LifecycleEventStatusSkipped:
			last = name
		}
	}
	return last, true
}

func (h Hook) validate(op string) error {
	for _, f := range []struct{ name, v string }{
		{"functionName", h.FunctionName}, {"functionAlias", h.Alias},
		{"currentVersion", h.CurrentVersion}, {"targetVersion", h.TargetVersion},
	} {
		if f.v == "" {
			return permanent(op, h.DeploymentID, "IncompleteDeployment", "the deployment names no %s", f.name)
		}
	}
	return nil
}

// Status is a hook's answer.
type Status string

// Statuses CodeDeploy accepts from a hook.
const (
	Succeeded Status = "Succeeded"
	Failed    Status = "Failed"
)

// Outcome says what Report did.
type Outcome int

// Outcomes.
const (
	Reported        Outcome = iota + 1 // the status was recorded
	AlreadyReported                    // the hook execution had been answered before: nothing changed
)

// String returns "reported" or "already reported".
func (o Outcome) String() string {
	switch o {
	case Reported:
		return "reported"
	case AlreadyReported:
		return "already reported"
	}
	return fmt.Sprintf("Outcome(%d)", int(o))
}

// Report answers hook h with status. An execution answered before (by an earlier invocation
// of the same hook, under Lambda's asynchronous retries) is AlreadyReported, not an error.
func Report(ctx context.Context, api API, h Hook, status Status) (Outcome, error) {
	if status != Succeeded && status != Failed {
		return 0, permanent("PutLifecycleEventHookExecutionStatus", h.DeploymentID, "InvalidStatus", "status %q is neither %s nor %s", status, Succeeded, Failed)
	}
	_, err := api.PutLifecycleEventHookExecutionStatus(ctx, &codedeploy.PutLifecycleEventHookExecutionStatusInput{
		DeploymentId:                  aws.String(h.DeploymentID),
		LifecycleEventHookExecutionId: aws.String(h.ExecutionID),
		Status:                        types.LifecycleEventStatus(status),
	})
	var done *types.LifecycleEventAlreadyCompletedException
	switch {
	case errors.As(err, &done):
		return AlreadyReported, nil
	case err != nil:
		return 0, classify("PutLifecycleEventHookExecutionStatus", h.DeploymentID, err)
	}
	return Reported, nil
}
