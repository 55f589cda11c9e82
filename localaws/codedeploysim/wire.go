package codedeploysim

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/prewarm/prewarm/localaws/awsproto"
)

// epoch is a timestamp as AWS JSON 1.1 writes it: seconds since the epoch, a JSON number.
type epoch time.Time

func (e epoch) MarshalJSON() ([]byte, error) {
	return []byte(strconv.FormatFloat(float64(time.Time(e).UnixMilli())/1000, 'f', -1, 64)), nil
}

func stamp(t time.Time) *epoch {
	if t.IsZero() {
		return nil
	}
	e := epoch(t)
	return &e
}

func apiError(code, format string, args ...any) *awsproto.Error {
	return &awsproto.Error{Status: http.StatusBadRequest, Code: code, Message: fmt.Sprintf(format, args...)}
}

// deploymentFor finds the deployment a request names, answering as CodeDeploy does when the id
// is missing, malformed or unknown. s.mu is held.
func (s *Service) deploymentFor(id string) (*deployment, *awsproto.Error) {
	switch {
	case id == "":
		return nil, apiError("DeploymentIdRequiredException", "Deployment Id is required")
	case !deploymentIDPattern.MatchString(id):
		return nil, apiError("InvalidDeploymentIdException", "Specified DeploymentId is not in the valid format: %s", id)
	}
	d := s.deployments[id]
	if d == nil {
		return nil, apiError("DeploymentDoesNotExistException", "The deployment %s could not be found.", id)
	}
	return d, nil
}

type getDeploymentInput struct {
	DeploymentID string `json:"deploymentId"`
}

type getDeploymentOutput struct {
	DeploymentInfo deploymentInfo `json:"deploymentInfo"`
}

type deploymentInfo struct {
	ApplicationName      string            `json:"applicationName,omitempty"`
	DeploymentGroupName  string            `json:"deploymentGroupName,omitempty"`
	DeploymentConfigName string            `json:"deploymentConfigName"`
	DeploymentID         string            `json:"deploymentId"`
	Status               string            `json:"status"`
	ComputePlatform      string            `json:"computePlatform"`
	Creator              string            `json:"creator"`
	CreateTime           *epoch            `json:"createTime,omitempty"`
	StartTime            *epoch            `json:"startTime,omitempty"`
	CompleteTime         *epoch            `json:"completeTime,omitempty"`
	Revision             revisionLocation  `json:"revision"`
	ErrorInformation     *errorInformation `json:"errorInformation,omitempty"`
}

type revisionLocation struct {
	RevisionType   string         `json:"revisionType"`
	AppSpecContent appSpecContent `json:"appSpecContent"`
}

type appSpecContent struct {
	Content string `json:"content"`
	Sha256  string `json:"sha256"`
}

type errorInformation struct {
	Code    string `json:"code"`
	Message string `json:"message"`
}

func (s *Service) getDeployment(_ context.Context, in *getDeploymentInput) (*getDeploymentOutput, *awsproto.Error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	d, err := s.deploymentFor(in.DeploymentID)
	if err != nil {
		return nil, err
	}
	spec := appSpec(d.spec)
	sum := sha256.Sum256([]byte(spec))
	info := deploymentInfo{
		ApplicationName: d.spec.Application, DeploymentGroupName: d.spec.DeploymentGroup,
		DeploymentConfigName: d.spec.Config, DeploymentID: d.spec.ID, Status: d.status,
		ComputePlatform: "Lambda", Creator: "user",
		CreateTime: stamp(d.created), CompleteTime: stamp(d.completed),
		Revision: revisionLocation{RevisionType: "AppSpecContent", AppSpecContent: appSpecContent{Content: spec, Sha256: hex.EncodeToString(sum[:])}},
	}
	if start := d.event(EventStart); start != nil {
		info.StartTime = stamp(start.start)
	}
	if d.errorCode != "" {
		info.ErrorInformation = &errorInformation{Code: d.errorCode, Message: d.errorMessage}
	}
	return &getDeploymentOutput{DeploymentInfo: info}, nil
}

// appSpec writes the deployment's AppSpec as CodeDeploy keeps it: YAML, or JSON when asked.
func appSpec(d Deployment) string {
	var hooks []map[string]string
	if d.Hooks.BeforeAllowTraffic != "" {
		hooks = append(hooks, map[string]string{EventBeforeAllowTraffic: d.Hooks.BeforeAllowTraffic})
	}
	if d.Hooks.AfterAllowTraffic != "" {
		hooks = append(hooks, map[string]string{EventAfterAllowTraffic: d.Hooks.AfterAllowTraffic})
	}
	if d.AppSpecJSON {
		doc := map[string]any{
			"version": 0.0,
			"Resources": []map[string]any{{d.FunctionName: map[string]any{
				"Type": "AWS::Lambda::Function",
				"Properties": map[string]string{"Name": d.FunctionName, "Alias": d.Alias,
					"CurrentVersion": d.CurrentVersion, "TargetVersion": d.TargetVersion},
			}}},
		}
		if len(hooks) > 0 {
			doc["Hooks"] = hooks
		}
		b, _ := json.Marshal(doc)
		return string(b)
	}
	var b strings.Builder
	fmt.Fprintf(&b, "version: 0.0\nResources:\n  - %s:\n      Type: AWS::Lambda::Function\n      Properties:\n", yamlString(d.FunctionName))
	fmt.Fprintf(&b, "        Name: %s\n        Alias: %s\n        CurrentVersion: %s\n        TargetVersion: %s\n",
		yamlString(d.FunctionName), yamlString(d.Alias), yamlString(d.CurrentVersion), yamlString(d.TargetVersion))
	if len(hooks) > 0 {
		b.WriteString("Hooks:\n")
		for _, h := range hooks {
			for k, v := range h {
				fmt.Fprintf(&b, "  - %s: %s\n", k, yamlString(v))
			}
		}
	}
	return b.String()
}

// yamlString quotes s as a YAML double-quoted scalar; JSON's string syntax is a subset of it.
func yamlString(s string) string {
	b, _ := json.Marshal(s)
	return string(b)
}

type listDeploymentTargetsInput struct {
	DeploymentID string `json:"deploymentId"`
	NextToken    string `json:"nextToken"`
}

type listDeploymentTargetsOutput struct {
	TargetIDs []string `json:"targetIds"`
}

func targetID(d Deployment) string { return d.FunctionName + ":" + d.Alias }

func (s *Service) listDeploymentTargets(_ context.Context, in *listDeploymentTargetsInput) (*listDeploymentTargetsOutput, *awsproto.Error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	d, err := s.deploymentFor(in.DeploymentID)
	if err != nil {
		return nil, err
	}
	if in.NextToken != "" {
		return nil, apiError("InvalidNextTokenException", "The next token was specified in an invalid format.")
	}
	out := &listDeploymentTargetsOutput{TargetIDs: []string{}}
	if !d.spec.NoTarget {
		out.TargetIDs = append(out.TargetIDs, targetID(d.spec))
	}
	return out, nil
}

type getDeploymentTargetInput struct {
	DeploymentID string `json:"deploymentId"`
	TargetID     string `json:"targetId"`
}

type getDeploymentTargetOutput struct {
	DeploymentTarget deploymentTarget `json:"deploymentTarget"`
}

type deploymentTarget struct {
	DeploymentTargetType string       `json:"deploymentTargetType"`
	LambdaTarget         lambdaTarget `json:"lambdaTarget"`
}

type lambdaTarget struct {
	DeploymentID       string             `json:"deploymentId"`
	TargetID           string             `json:"targetId"`
	TargetARN          string             `json:"targetArn"`
	Status             string             `json:"status"`
	LastUpdatedAt      *epoch             `json:"lastUpdatedAt,omitempty"`
	LifecycleEvents    []lifecycleEventJS `json:"lifecycleEvents"`
	LambdaFunctionInfo lambdaFunctionInfo `json:"lambdaFunctionInfo"`
}

type lifecycleEventJS struct {
	LifecycleEventName string `json:"lifecycleEventName"`
	Status             string `json:"status"`
	StartTime          *epoch `json:"startTime,omitempty"`
	EndTime            *epoch `json:"endTime,omitempty"`
}

type lambdaFunctionInfo struct {
	FunctionName        string  `json:"functionName"`
	FunctionAlias       string  `json:"functionAlias"`
	CurrentVersion      string  `json:"currentVersion"`
	TargetVersion       string  `json:"targetVersion"`
	TargetVersionWeight float64 `json:"targetVersionWeight"`
}

func (s *Service) getDeploymentTarget(_ context.Context, in *getDeploymentTargetInput) (*getDeploymentTargetOutput, *awsproto.Error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	d, err := s.deploymentFor(in.DeploymentID)
	if err != nil {
		return nil, err
	}
	if in.TargetID == "" {
		return nil, apiError("DeploymentTargetIdRequiredException", "A deployment target ID was not provided.")
	}
	if d.spec.NoTarget || in.TargetID != targetID(d.spec) {
		return nil, apiError("DeploymentTargetDoesNotExistException", "The provided target ID does not belong to the deployment %s.", d.spec.ID)
	}
	t := lambdaTarget{
		DeploymentID: d.spec.ID, TargetID: in.TargetID,
		TargetARN: fmt.Sprintf("arn:aws:lambda:%s:%s:function:%s:%s", s.region, s.accountID, d.spec.FunctionName, d.spec.Alias),
		Status:    targetStatus(d),
		LambdaFunctionInfo: lambdaFunctionInfo{FunctionName: d.spec.FunctionName, FunctionAlias: d.spec.Alias,
			CurrentVersion: d.spec.CurrentVersion, TargetVersion: d.spec.TargetVersion, TargetVersionWeight: d.targetWeight},
	}
	var last time.Time
	for _, e := range d.events {
		t.LifecycleEvents = append(t.LifecycleEvents, lifecycleEventJS{LifecycleEventName: e.name, Status: e.status, StartTime: stamp(e.start), EndTime: stamp(e.end)})
		for _, at := range []time.Time{e.start, e.end} {
			if at.After(last) {
				last = at
			}
		}
	}
	t.LastUpdatedAt = stamp(last)
	return &getDeploymentTargetOutput{DeploymentTarget: deploymentTarget{DeploymentTargetType: "LambdaTarget", LambdaTarget: t}}, nil
}

// targetStatus is the target's status (TargetStatus) for the deployment's.
func targetStatus(d *deployment) string {
	switch d.status {
	case DeploymentCreated:
		return "Pending"
	case DeploymentStopped:
		return "Skipped"
	}
	return d.status
}

type putLifecycleEventHookExecutionStatusInput struct {
	DeploymentID string `json:"deploymentId"`
	ExecutionID  string `json:"lifecycleEventHookExecutionId"`
	Status       string `json:"status"`
}

type putLifecycleEventHookExecutionStatusOutput struct {
	ExecutionID string `json:"lifecycleEventHookExecutionId"`
}

// putLifecycleEventHookExecutionStatus records a hook's answer: only Succeeded or Failed, once.
// The lifecycle event ends with it at once, so a hook invoked again reads it as ended.
func (s *Service) putLifecycleEventHookExecutionStatus(_ context.Context, in *putLifecycleEventHookExecutionStatusInput) (*putLifecycleEventHookExecutionStatusOutput, *awsproto.Error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	d, err := s.deploymentFor(in.DeploymentID)
	if err != nil {
		return nil, err
	}
	if in.Status != StatusSucceeded && in.Status != StatusFailed {
		return nil, apiError("InvalidLifecycleEventHookExecutionStatusException", "The result of a Lambda validation function that verifies a lifecycle event is invalid. It should return Succeeded or Failed.")
	}
	x := d.executions[in.ExecutionID]
	if x == nil {
		return nil, apiError("InvalidLifecycleEventHookExecutionIdException", "A lifecycle event hook is invalid. Review the hooks section in your AppSpec file to ensure the lifecycle events and hooks functions are valid.")
	}
	if x.status != StatusInProgress {
		return nil, apiError("LifecycleEventAlreadyCompletedException", "The lifecycle event %s of deployment %s has already completed.", x.event, d.spec.ID)
	}
	x.status = in.Status
	if e := d.event(x.event); e != nil && e.status == StatusInProgress {
		e.status, e.end = in.Status, s.clock.Now()
	}
	s.notify()
	return &putLifecycleEventHookExecutionStatusOutput{ExecutionID: x.id}, nil
}
