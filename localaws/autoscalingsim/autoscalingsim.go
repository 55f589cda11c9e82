// Package autoscalingsim emulates the Application Auto Scaling operations prewarm calls to
// carry a scalable target from one Lambda alias to another: scalable targets, scaling
// policies and scheduled actions, registered, described (paged), put and deleted with AWS's
// validation and error texts. It speaks AWS JSON 1.1 (X-Amz-Target
// AnyScaleFrontendService.<Op>). It stores what it is told; it does not itself scale
// anything.
package autoscalingsim

import (
	"context"
	"crypto/rand"
	"encoding/json"
	"fmt"
	"net/http"
	"regexp"
	"sort"
	"strconv"
	"sync"
	"time"

	"github.com/prewarm/prewarm/localaws/awsproto"
	"github.com/prewarm/prewarm/localaws/clock"
)

// Lambda's namespace and scalable dimension.
const (
	NamespaceLambda = "lambda"
	DimensionLambda = "lambda:function:ProvisionedConcurrency"
	// PredefinedLambda is the predefined metric of a Lambda target tracking policy.
	PredefinedLambda = "LambdaProvisionedConcurrencyUtilization"
	maxResults       = 50
)

// Target is a scalable target in the world file, on a Lambda alias:
//
//	{"function": "my-function", "qualifier": "BLUE", "min": 5, "max": 50,
//	 "policies": [{"name": "utilisation", "targetValue": 0.7}],
//	 "scheduledActions": [{"name": "morning", "schedule": "cron(0 8 * * ? *)", "min": 20}]}
type Target struct {
	Function  string `json:"function"`
	Qualifier string `json:"qualifier"`
	Min       int32  `json:"min"`
	Max       int32  `json:"max"`
	RoleARN   string `json:"roleArn,omitempty"`
	// Policies are target tracking policies on LambdaProvisionedConcurrencyUtilization.
	Policies         []Policy          `json:"policies,omitempty"`
	ScheduledActions []ScheduledAction `json:"scheduledActions,omitempty"`
}

// Policy is a target tracking policy in the world file.
type Policy struct {
	Name        string  `json:"name"`
	TargetValue float64 `json:"targetValue"`
}

// ScheduledAction is a scheduled action in the world file.
type ScheduledAction struct {
	Name     string `json:"name"`
	Schedule string `json:"schedule"`
	Timezone string `json:"timezone,omitempty"`
	Min      *int32 `json:"min,omitempty"`
	Max      *int32 `json:"max,omitempty"`
}

// Config seeds the service.
type Config struct {
	AccountID, Region string
	Targets           []Target
	// Clock stamps creation times; clock.Real{} when nil.
	Clock clock.Clock
}

// Validate reports the first problem with c's targets.
func (c Config) Validate() error {
	for i, t := range c.Targets {
		id := "function:" + t.Function + ":" + t.Qualifier
		if !lambdaResource.MatchString(id) {
			return fmt.Errorf("scalableTargets[%d]: function and qualifier must name an alias or version, got %q", i, id)
		}
		if t.Min < 0 || t.Max < t.Min {
			return fmt.Errorf("scalableTargets[%d] %s: want 0 ≤ min ≤ max, got %d and %d", i, id, t.Min, t.Max)
		}
		for j, p := range t.Policies {
			if p.Name == "" || !(p.TargetValue > 0) {
				return fmt.Errorf("scalableTargets[%d] %s: policies[%d] needs a name and a targetValue > 0", i, id, j)
			}
		}
		for j, a := range t.ScheduledActions {
			if a.Name == "" || a.Schedule == "" {
				return fmt.Errorf("scalableTargets[%d] %s: scheduledActions[%d] needs a name and a schedule", i, id, j)
			}
		}
	}
	return nil
}

var lambdaResource = regexp.MustCompile(`^function:[A-Za-z0-9_-]{1,64}:[A-Za-z0-9_$-]{1,128}$`)

type key struct{ namespace, resource, dimension string }

type target struct {
	ScalableTarget
	policies map[string]*ScalingPolicy
	actions  map[string]*ScheduledActionOut
}

// Service is the emulated Application Auto Scaling of one account and Region.
type Service struct {
	mu                sync.Mutex
	accountID, region string
	clk               clock.Clock
	targets           map[key]*target
}

// New returns a Service seeded from cfg.
func New(cfg Config) *Service {
	s := &Service{accountID: cfg.AccountID, region: cfg.Region, clk: cfg.Clock, targets: map[key]*target{}}
	if s.clk == nil {
		s.clk = clock.Real{}
	}
	ctx := context.Background()
	for _, t := range cfg.Targets {
		id := "function:" + t.Function + ":" + t.Qualifier
		ref := TargetRef{ServiceNamespace: NamespaceLambda, ResourceID: id, ScalableDimension: DimensionLambda}
		in := &RegisterScalableTargetInput{TargetRef: ref, MinCapacity: &t.Min, MaxCapacity: &t.Max}
		if t.RoleARN != "" {
			in.RoleARN = &t.RoleARN
		}
		// Seeds are validated by Config.Validate; an error here leaves the target out.
		if _, err := s.RegisterScalableTarget(ctx, in); err != nil {
			continue
		}
		for _, p := range t.Policies {
			cfg := fmt.Sprintf(`{"TargetValue":%v,"PredefinedMetricSpecification":{"PredefinedMetricType":%q}}`, p.TargetValue, PredefinedLambda)
			_, _ = s.PutScalingPolicy(ctx, &PutScalingPolicyInput{TargetRef: ref, PolicyName: p.Name, PolicyType: "TargetTrackingScaling", TargetTrackingScalingPolicyConfiguration: json.RawMessage(cfg)})
		}
		for _, a := range t.ScheduledActions {
			in := &PutScheduledActionInput{TargetRef: ref, ScheduledActionName: a.Name, Schedule: a.Schedule}
			if a.Timezone != "" {
				in.Timezone = &a.Timezone
			}
			if a.Min != nil || a.Max != nil {
				in.ScalableTargetAction = &ScalableTargetAction{MinCapacity: a.Min, MaxCapacity: a.Max}
			}
			_, _ = s.PutScheduledAction(ctx, in)
		}
	}
	return s
}

// Epoch is a time written as epoch seconds, as AWS JSON 1.1 does.
type Epoch time.Time

// MarshalJSON writes epoch seconds with milliseconds.
func (e Epoch) MarshalJSON() ([]byte, error) {
	return []byte(strconv.FormatFloat(float64(time.Time(e).UnixMilli())/1e3, 'f', -1, 64)), nil
}

// UnmarshalJSON reads epoch seconds.
func (e *Epoch) UnmarshalJSON(b []byte) error {
	var f float64
	if err := json.Unmarshal(b, &f); err != nil {
		return fmt.Errorf("timestamp %s is not epoch seconds", b)
	}
	*e = Epoch(time.UnixMilli(int64(f * 1e3)).UTC())
	return nil
}

// TargetRef names a scalable target: the three members every operation takes.
type TargetRef struct {
	ServiceNamespace  string `json:"ServiceNamespace"`
	ResourceID        string `json:"ResourceId"`
	ScalableDimension string `json:"ScalableDimension"`
}

// SuspendedState is a scalable target's suspended scaling.
type SuspendedState struct {
	DynamicScalingInSuspended  *bool `json:"DynamicScalingInSuspended,omitempty"`
	DynamicScalingOutSuspended *bool `json:"DynamicScalingOutSuspended,omitempty"`
	ScheduledScalingSuspended  *bool `json:"ScheduledScalingSuspended,omitempty"`
}

// ScalableTarget is a registered target as Describe answers it.
type ScalableTarget struct {
	TargetRef
	MinCapacity       int32           `json:"MinCapacity"`
	MaxCapacity       int32           `json:"MaxCapacity"`
	RoleARN           string          `json:"RoleARN,omitempty"`
	CreationTime      Epoch           `json:"CreationTime"`
	SuspendedState    *SuspendedState `json:"SuspendedState"`
	ScalableTargetARN string          `json:"ScalableTargetARN"`
}

// ScalingPolicy is a policy as Describe answers it; configurations are kept verbatim.
type ScalingPolicy struct {
	TargetRef
	PolicyName                               string          `json:"PolicyName"`
	PolicyARN                                string          `json:"PolicyARN"`
	PolicyType                               string          `json:"PolicyType"`
	StepScalingPolicyConfiguration           json.RawMessage `json:"StepScalingPolicyConfiguration,omitempty"`
	TargetTrackingScalingPolicyConfiguration json.RawMessage `json:"TargetTrackingScalingPolicyConfiguration,omitempty"`
	PredictiveScalingPolicyConfiguration     json.RawMessage `json:"PredictiveScalingPolicyConfiguration,omitempty"`
	Alarms                                   []Alarm         `json:"Alarms"`
	CreationTime                             Epoch           `json:"CreationTime"`
}

// Alarm is a CloudWatch alarm a target tracking policy creates.
type Alarm struct {
	AlarmName string `json:"AlarmName"`
	AlarmARN  string `json:"AlarmARN"`
}

// ScalableTargetAction is a scheduled action's new minimum and maximum.
type ScalableTargetAction struct {
	MinCapacity *int32 `json:"MinCapacity,omitempty"`
	MaxCapacity *int32 `json:"MaxCapacity,omitempty"`
}

// ScheduledActionOut is a scheduled action as Describe answers it.
type ScheduledActionOut struct {
	TargetRef
	ScheduledActionName  string                `json:"ScheduledActionName"`
	ScheduledActionARN   string                `json:"ScheduledActionARN"`
	Schedule             string                `json:"Schedule"`
	Timezone             *string               `json:"Timezone,omitempty"`
	StartTime            *Epoch                `json:"StartTime,omitempty"`
	EndTime              *Epoch                `json:"EndTime,omitempty"`
	ScalableTargetAction *ScalableTargetAction `json:"ScalableTargetAction,omitempty"`
	CreationTime         Epoch                 `json:"CreationTime"`
}

// Inputs and outputs of the operations.
type (
	DescribeScalableTargetsInput struct {
		ServiceNamespace  string   `json:"ServiceNamespace"`
		ResourceIDs       []string `json:"ResourceIds"`
		ScalableDimension string   `json:"ScalableDimension"`
		MaxResults        *int     `json:"MaxResults"`
		NextToken         string   `json:"NextToken"`
	}
	DescribeScalableTargetsOutput struct {
		ScalableTargets []ScalableTarget `json:"ScalableTargets"`
		NextToken       string           `json:"NextToken,omitempty"`
	}
	DescribeScalingPoliciesInput struct {
		ServiceNamespace  string   `json:"ServiceNamespace"`
		ResourceID        string   `json:"ResourceId"`
		ScalableDimension string   `json:"ScalableDimension"`
		PolicyNames       []string `json:"PolicyNames"`
		MaxResults        *int     `json:"MaxResults"`
		NextToken         string   `json:"NextToken"`
	}
	DescribeScalingPoliciesOutput struct {
		ScalingPolicies []ScalingPolicy `json:"ScalingPolicies"`
		NextToken       string          `json:"NextToken,omitempty"`
	}
	DescribeScheduledActionsInput struct {
		ServiceNamespace     string   `json:"ServiceNamespace"`
		ResourceID           string   `json:"ResourceId"`
		ScalableDimension    string   `json:"ScalableDimension"`
		ScheduledActionNames []string `json:"ScheduledActionNames"`
		MaxResults           *int     `json:"MaxResults"`
		NextToken            string   `json:"NextToken"`
	}
	DescribeScheduledActionsOutput struct {
		ScheduledActions []ScheduledActionOut `json:"ScheduledActions"`
		NextToken        string               `json:"NextToken,omitempty"`
	}
	RegisterScalableTargetInput struct {
		TargetRef
		MinCapacity    *int32            `json:"MinCapacity"`
		MaxCapacity    *int32            `json:"MaxCapacity"`
		RoleARN        *string           `json:"RoleARN"`
		SuspendedState *SuspendedState   `json:"SuspendedState"`
		Tags           map[string]string `json:"Tags"`
	}
	RegisterScalableTargetOutput struct {
		ScalableTargetARN string `json:"ScalableTargetARN"`
	}
	DeregisterScalableTargetInput struct{ TargetRef }
	PutScalingPolicyInput         struct {
		TargetRef
		PolicyName                               string          `json:"PolicyName"`
		PolicyType                               string          `json:"PolicyType"`
		StepScalingPolicyConfiguration           json.RawMessage `json:"StepScalingPolicyConfiguration"`
		TargetTrackingScalingPolicyConfiguration json.RawMessage `json:"TargetTrackingScalingPolicyConfiguration"`
		PredictiveScalingPolicyConfiguration     json.RawMessage `json:"PredictiveScalingPolicyConfiguration"`
	}
	PutScalingPolicyOutput struct {
		PolicyARN string  `json:"PolicyARN"`
		Alarms    []Alarm `json:"Alarms,omitempty"`
	}
	PutScheduledActionInput struct {
		TargetRef
		ScheduledActionName  string                `json:"ScheduledActionName"`
		Schedule             string                `json:"Schedule"`
		Timezone             *string               `json:"Timezone"`
		StartTime            *Epoch                `json:"StartTime"`
		EndTime              *Epoch                `json:"EndTime"`
		ScalableTargetAction *ScalableTargetAction `json:"ScalableTargetAction"`
	}
	DeleteScalingPolicyInput struct {
		TargetRef
		PolicyName string `json:"PolicyName"`
	}
	DeleteScheduledActionInput struct {
		TargetRef
		ScheduledActionName string `json:"ScheduledActionName"`
	}
	// Empty is the answer of operations that return nothing.
	Empty struct{}
)

// API returns the service as the localaws server registers it.
func (s *Service) API() awsproto.Service {
	return &awsproto.JSON{
		Service: "application-autoscaling", Version: awsproto.JSON11, TargetPrefix: "AnyScaleFrontendService",
		Operations: map[string]awsproto.Operation{
			"DescribeScalableTargets":  awsproto.Op(s.DescribeScalableTargets),
			"DescribeScalingPolicies":  awsproto.Op(s.DescribeScalingPolicies),
			"DescribeScheduledActions": awsproto.Op(s.DescribeScheduledActions),
			"RegisterScalableTarget":   awsproto.Op(s.RegisterScalableTarget),
			"DeregisterScalableTarget": awsproto.Op(s.DeregisterScalableTarget),
			"PutScalingPolicy":         awsproto.Op(s.PutScalingPolicy),
			"PutScheduledAction":       awsproto.Op(s.PutScheduledAction),
			"DeleteScalingPolicy":      awsproto.Op(s.DeleteScalingPolicy),
			"DeleteScheduledAction":    awsproto.Op(s.DeleteScheduledAction),
		},
	}
}

// DescribeScalableTargets lists the namespace's targets, optionally of some resources and a
// dimension, sorted by resource id.
func (s *Service) DescribeScalableTargets(_ context.Context, in *DescribeScalableTargetsInput) (*DescribeScalableTargetsOutput, *awsproto.Error) {
	if in.ServiceNamespace == "" {
		return nil, required("serviceNamespace")
	}
	want := map[string]bool{}
	for _, id := range in.ResourceIDs {
		want[id] = true
	}
	s.mu.Lock()
	var all []ScalableTarget
	for k, t := range s.targets {
		if k.namespace == in.ServiceNamespace && (len(want) == 0 || want[k.resource]) && (in.ScalableDimension == "" || k.dimension == in.ScalableDimension) {
			all = append(all, t.ScalableTarget)
		}
	}
	s.mu.Unlock()
	sort.Slice(all, func(i, j int) bool {
		return all[i].ResourceID+all[i].ScalableDimension < all[j].ResourceID+all[j].ScalableDimension
	})
	items, next, err := pageOf(all, in.MaxResults, in.NextToken)
	if err != nil {
		return nil, err
	}
	return &DescribeScalableTargetsOutput{ScalableTargets: items, NextToken: next}, nil
}

// DescribeScalingPolicies lists the namespace's policies, optionally of one resource.
func (s *Service) DescribeScalingPolicies(_ context.Context, in *DescribeScalingPoliciesInput) (*DescribeScalingPoliciesOutput, *awsproto.Error) {
	if in.ServiceNamespace == "" {
		return nil, required("serviceNamespace")
	}
	names := map[string]bool{}
	for _, n := range in.PolicyNames {
		names[n] = true
	}
	s.mu.Lock()
	var all []ScalingPolicy
	for k, t := range s.targets {
		if k.namespace != in.ServiceNamespace || (in.ResourceID != "" && k.resource != in.ResourceID) || (in.ScalableDimension != "" && k.dimension != in.ScalableDimension) {
			continue
		}
		for _, p := range t.policies {
			if len(names) == 0 || names[p.PolicyName] {
				all = append(all, *p)
			}
		}
	}
	s.mu.Unlock()
	sort.Slice(all, func(i, j int) bool {
		return all[i].ResourceID+"/"+all[i].PolicyName < all[j].ResourceID+"/"+all[j].PolicyName
	})
	items, next, err := pageOf(all, in.MaxResults, in.NextToken)
	if err != nil {
		return nil, err
	}
	return &DescribeScalingPoliciesOutput{ScalingPolicies: items, NextToken: next}, nil
}

// DescribeScheduledActions lists the namespace's scheduled actions, optionally of one resource.
func (s *Service) DescribeScheduledActions(_ context.Context, in *DescribeScheduledActionsInput) (*DescribeScheduledActionsOutput, *awsproto.Error) {
	if in.ServiceNamespace == "" {
		return nil, required("serviceNamespace")
	}
	names := map[string]bool{}
	for _, n := range in.ScheduledActionNames {
		names[n] = true
	}
	s.mu.Lock()
	var all []ScheduledActionOut
	for k, t := range s.targets {
		if k.namespace != in.ServiceNamespace || (in.ResourceID != "" && k.resource != in.ResourceID) || (in.ScalableDimension != "" && k.dimension != in.ScalableDimension) {
			continue
		}
		for _, a := range t.actions {
			if len(names) == 0 || names[a.ScheduledActionName] {
				all = append(all, *a)
			}
		}
	}
	s.mu.Unlock()
	sort.Slice(all, func(i, j int) bool {
		return all[i].ResourceID+"/"+all[i].ScheduledActionName < all[j].ResourceID+"/"+all[j].ScheduledActionName
	})
	items, next, err := pageOf(all, in.MaxResults, in.NextToken)
	if err != nil {
		return nil, err
	}
	return &DescribeScheduledActionsOutput{ScheduledActions: items, NextToken: next}, nil
}

// RegisterScalableTarget registers a target or updates a registered one: a new target
// needs both capacities; an update changes only what it is given.
func (s *Service) RegisterScalableTarget(_ context.Context, in *RegisterScalableTargetInput) (*RegisterScalableTargetOutput, *awsproto.Error) {
	if err := s.checkRef(in.TargetRef); err != nil {
		return nil, err
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	k := keyOf(in.TargetRef)
	t, exists := s.targets[k]
	if !exists && (in.MinCapacity == nil || in.MaxCapacity == nil) {
		return nil, validation("MinCapacity and MaxCapacity are required for registering a new scalable target")
	}
	min, max := int32(0), int32(0)
	if exists {
		min, max = t.MinCapacity, t.MaxCapacity
	}
	if in.MinCapacity != nil {
		min = *in.MinCapacity
	}
	if in.MaxCapacity != nil {
		max = *in.MaxCapacity
	}
	if min < 0 || max < 0 {
		return nil, validation("Capacity must not be negative")
	}
	if min > max {
		return nil, validation(fmt.Sprintf("Minimum capacity cannot be greater than maximum capacity (%d > %d)", min, max))
	}
	if !exists {
		f := false
		t = &target{
			ScalableTarget: ScalableTarget{
				TargetRef: in.TargetRef, CreationTime: Epoch(s.clk.Now().UTC()),
				SuspendedState:    &SuspendedState{DynamicScalingInSuspended: &f, DynamicScalingOutSuspended: &f, ScheduledScalingSuspended: &f},
				ScalableTargetARN: fmt.Sprintf("arn:aws:application-autoscaling:%s:%s:scalable-target/%s", s.region, s.accountID, hexID(14)),
				RoleARN:           fmt.Sprintf("arn:aws:iam::%s:role/aws-service-role/lambda.application-autoscaling.amazonaws.com/AWSServiceRoleForApplicationAutoScaling_LambdaConcurrency", s.accountID),
			},
			policies: map[string]*ScalingPolicy{},
			actions:  map[string]*ScheduledActionOut{},
		}
		s.targets[k] = t
	}
	t.MinCapacity, t.MaxCapacity = min, max
	if in.RoleARN != nil && *in.RoleARN != "" {
		t.RoleARN = *in.RoleARN
	}
	if ss := in.SuspendedState; ss != nil {
		cur := *t.SuspendedState
		for _, f := range []struct{ src, dst **bool }{
			{&ss.DynamicScalingInSuspended, &cur.DynamicScalingInSuspended},
			{&ss.DynamicScalingOutSuspended, &cur.DynamicScalingOutSuspended},
			{&ss.ScheduledScalingSuspended, &cur.ScheduledScalingSuspended},
		} {
			if *f.src != nil {
				v := **f.src
				*f.dst = &v
			}
		}
		t.SuspendedState = &cur
	}
	return &RegisterScalableTargetOutput{ScalableTargetARN: t.ScalableTargetARN}, nil
}

// DeregisterScalableTarget removes a target with its policies and scheduled actions.
func (s *Service) DeregisterScalableTarget(_ context.Context, in *DeregisterScalableTargetInput) (*Empty, *awsproto.Error) {
	if err := s.checkRef(in.TargetRef); err != nil {
		return nil, err
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	k := keyOf(in.TargetRef)
	if _, ok := s.targets[k]; !ok {
		return nil, noTarget(in.TargetRef)
	}
	delete(s.targets, k)
	return &Empty{}, nil
}

// PutScalingPolicy creates or replaces a policy of a registered target.
func (s *Service) PutScalingPolicy(_ context.Context, in *PutScalingPolicyInput) (*PutScalingPolicyOutput, *awsproto.Error) {
	if err := s.checkRef(in.TargetRef); err != nil {
		return nil, err
	}
	if in.PolicyName == "" {
		return nil, required("policyName")
	}
	switch in.PolicyType {
	case "", "TargetTrackingScaling":
		in.PolicyType = "TargetTrackingScaling"
		if len(in.TargetTrackingScalingPolicyConfiguration) == 0 {
			return nil, validation("TargetTrackingScalingPolicyConfiguration is required for a policy of type TargetTrackingScaling")
		}
	case "StepScaling":
		if len(in.StepScalingPolicyConfiguration) == 0 {
			return nil, validation("StepScalingPolicyConfiguration is required for a policy of type StepScaling")
		}
	case "PredictiveScaling":
	default:
		return nil, validation(fmt.Sprintf("1 validation error detected: Value '%s' at 'policyType' failed to satisfy constraint: Member must satisfy enum value set: [PredictiveScaling, StepScaling, TargetTrackingScaling]", in.PolicyType))
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	t, ok := s.targets[keyOf(in.TargetRef)]
	if !ok {
		return nil, noTarget(in.TargetRef)
	}
	p, exists := t.policies[in.PolicyName]
	if !exists {
		p = &ScalingPolicy{
			TargetRef: in.TargetRef, PolicyName: in.PolicyName, CreationTime: Epoch(s.clk.Now().UTC()),
			PolicyARN: fmt.Sprintf("arn:aws:autoscaling:%s:%s:scalingPolicy:%s:resource/%s/%s:policyName/%s", s.region, s.accountID, uuid(), in.ServiceNamespace, in.ResourceID, in.PolicyName),
		}
		t.policies[in.PolicyName] = p
	}
	p.PolicyType = in.PolicyType
	p.StepScalingPolicyConfiguration = in.StepScalingPolicyConfiguration
	p.TargetTrackingScalingPolicyConfiguration = in.TargetTrackingScalingPolicyConfiguration
	p.PredictiveScalingPolicyConfiguration = in.PredictiveScalingPolicyConfiguration
	p.Alarms = []Alarm{}
	if p.PolicyType == "TargetTrackingScaling" {
		for _, side := range []string{"AlarmHigh", "AlarmLow"} {
			name := fmt.Sprintf("TargetTracking-%s-%s-%s", in.ResourceID, side, uuid())
			p.Alarms = append(p.Alarms, Alarm{AlarmName: name, AlarmARN: fmt.Sprintf("arn:aws:cloudwatch:%s:%s:alarm:%s", s.region, s.accountID, name)})
		}
	}
	return &PutScalingPolicyOutput{PolicyARN: p.PolicyARN, Alarms: p.Alarms}, nil
}

// PutScheduledAction creates or updates a scheduled action of a registered target.
func (s *Service) PutScheduledAction(_ context.Context, in *PutScheduledActionInput) (*Empty, *awsproto.Error) {
	if err := s.checkRef(in.TargetRef); err != nil {
		return nil, err
	}
	if in.ScheduledActionName == "" {
		return nil, required("scheduledActionName")
	}
	if a := in.ScalableTargetAction; a != nil && a.MinCapacity != nil && a.MaxCapacity != nil && *a.MinCapacity > *a.MaxCapacity {
		return nil, validation("Minimum capacity cannot be greater than maximum capacity")
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	t, ok := s.targets[keyOf(in.TargetRef)]
	if !ok {
		return nil, noTarget(in.TargetRef)
	}
	a, exists := t.actions[in.ScheduledActionName]
	if !exists {
		if in.Schedule == "" {
			return nil, validation("Schedule is required for a new scheduled action")
		}
		a = &ScheduledActionOut{
			TargetRef: in.TargetRef, ScheduledActionName: in.ScheduledActionName, CreationTime: Epoch(s.clk.Now().UTC()),
			ScheduledActionARN: fmt.Sprintf("arn:aws:autoscaling:%s:%s:scheduledAction:%s:resource/%s/%s:scheduledActionName/%s", s.region, s.accountID, uuid(), in.ServiceNamespace, in.ResourceID, in.ScheduledActionName),
		}
		t.actions[in.ScheduledActionName] = a
	}
	if in.Schedule != "" {
		a.Schedule = in.Schedule
	}
	if in.Timezone != nil {
		a.Timezone = in.Timezone
	}
	if in.StartTime != nil {
		a.StartTime = in.StartTime
	}
	if in.EndTime != nil {
		a.EndTime = in.EndTime
	}
	if in.ScalableTargetAction != nil {
		a.ScalableTargetAction = in.ScalableTargetAction
	}
	return &Empty{}, nil
}

// DeleteScalingPolicy deletes a policy.
func (s *Service) DeleteScalingPolicy(_ context.Context, in *DeleteScalingPolicyInput) (*Empty, *awsproto.Error) {
	if err := s.checkRef(in.TargetRef); err != nil {
		return nil, err
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	t, ok := s.targets[keyOf(in.TargetRef)]
	if !ok || t.policies[in.PolicyName] == nil {
		return nil, notFound(fmt.Sprintf("No scaling policy found for service namespace: %s, resource ID: %s, scalable dimension: %s, policy name: %s",
			in.ServiceNamespace, in.ResourceID, in.ScalableDimension, in.PolicyName))
	}
	delete(t.policies, in.PolicyName)
	return &Empty{}, nil
}

// DeleteScheduledAction deletes a scheduled action.
func (s *Service) DeleteScheduledAction(_ context.Context, in *DeleteScheduledActionInput) (*Empty, *awsproto.Error) {
	if err := s.checkRef(in.TargetRef); err != nil {
		return nil, err
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	t, ok := s.targets[keyOf(in.TargetRef)]
	if !ok || t.actions[in.ScheduledActionName] == nil {
		return nil, notFound(fmt.Sprintf("No scheduled action found for service namespace: %s, resource ID: %s, scalable dimension: %s, scheduled action name: %s",
			in.ServiceNamespace, in.ResourceID, in.ScalableDimension, in.ScheduledActionName))
	}
	delete(t.actions, in.ScheduledActionName)
	return &Empty{}, nil
}

func keyOf(r TargetRef) key { return key{r.ServiceNamespace, r.ResourceID, r.ScalableDimension} }

// checkRef validates the three members that name a target.
func (s *Service) checkRef(r TargetRef) *awsproto.Error {
	switch {
	case r.ServiceNamespace == "":
		return required("serviceNamespace")
	case r.ResourceID == "":
		return required("resourceId")
	case r.ScalableDimension == "":
		return required("scalableDimension")
	}
	if r.ServiceNamespace == NamespaceLambda {
		if r.ScalableDimension != DimensionLambda {
			return validation(fmt.Sprintf("Unsupported scalable dimension '%s' for service namespace 'lambda'", r.ScalableDimension))
		}
		if !lambdaResource.MatchString(r.ResourceID) {
			return validation(fmt.Sprintf("Unsupported resource ID '%s': want function:FUNCTION_NAME:ALIAS_OR_VERSION", r.ResourceID))
		}
	}
	return nil
}

// pageOf returns one page of items from the NextToken (an offset) given.
func pageOf[T any](items []T, maxRes *int, token string) ([]T, string, *awsproto.Error) {
	n := maxResults
	if maxRes != nil {
		if *maxRes < 1 || *maxRes > maxResults {
			return nil, "", validation(fmt.Sprintf("1 validation error detected: Value '%d' at 'maxResults' failed to satisfy constraint: Member must have value less than or equal to 50", *maxRes))
		}
		n = *maxRes
	}
	start := 0
	if token != "" {
		v, err := strconv.Atoi(token)
		if err != nil || v < 0 || v > len(items) {
			return nil, "", &awsproto.Error{Status: http.StatusBadRequest, Code: "InvalidNextTokenException", Message: "Invalid token"}
		}
		start = v
	}
	end := min(start+n, len(items))
	page := items[start:end]
	if page == nil {
		page = []T{}
	}
	next := ""
	if end < len(items) {
		next = strconv.Itoa(end)
	}
	return page, next, nil
}

func validation(msg string) *awsproto.Error {
	return &awsproto.Error{Status: http.StatusBadRequest, Code: "ValidationException", Message: msg}
}

func required(member string) *awsproto.Error {
	return validation(fmt.Sprintf("1 validation error detected: Value null at '%s' failed to satisfy constraint: Member must not be null", member))
}

func notFound(msg string) *awsproto.Error {
	return &awsproto.Error{Status: http.StatusBadRequest, Code: "ObjectNotFoundException", Message: msg}
}

func noTarget(r TargetRef) *awsproto.Error {
	return notFound(fmt.Sprintf("No scalable target registered for service namespace: %s, resource ID: %s, scalable dimension: %s", r.ServiceNamespace, r.ResourceID, r.ScalableDimension))
}

func hexID(n int) string {
	b := make([]byte, (n+1)/2)
	_, _ = rand.Read(b)
	return fmt.Sprintf("%x", b)[:n]
}

func uuid() string {
	var b [16]byte
	_, _ = rand.Read(b[:])
	return fmt.Sprintf("%x-%x-%x-%x-%x", b[0:4], b[4:6], b[6:8], b[8:10], b[10:])
}
