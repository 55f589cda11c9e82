package autoscale

import (
	"context"
	"fmt"
	"sort"
	"strconv"

	"github.com/aws/aws-sdk-go-v2/aws"
	aas "github.com/aws/aws-sdk-go-v2/service/applicationautoscaling"
	"github.com/aws/aws-sdk-go-v2/service/applicationautoscaling/types"
)

// fakeAAS keeps scalable targets, policies and scheduled actions in memory, answers the
// Describe calls one item a page (to exercise NextToken), and fails the operation named in
// failOp once failAfter calls of it have succeeded.
type fakeAAS struct {
	targets   map[string]types.ScalableTarget
	policies  map[string]map[string]types.ScalingPolicy
	actions   map[string]map[string]types.ScheduledAction
	calls     []string
	failOp    string
	failAfter int
	failErr   error
}

var _ AutoScalingAPI = (*fakeAAS)(nil)

func newFake() *fakeAAS {
	return &fakeAAS{targets: map[string]types.ScalableTarget{}, policies: map[string]map[string]types.ScalingPolicy{}, actions: map[string]map[string]types.ScheduledAction{}}
}

func (f *fakeAAS) call(op string) error {
	f.calls = append(f.calls, op)
	if op != f.failOp {
		return nil
	}
	if f.failAfter > 0 {
		f.failAfter--
		return nil
	}
	return f.failErr
}

func notFoundErr(id string) error {
	return &types.ObjectNotFoundException{Message: aws.String("No scalable target registered for service namespace: lambda, resource ID: " + id)}
}

// page returns items[token:token+1] and the next token.
func page[T any](items []T, token *string) ([]T, *string) {
	i, _ := strconv.Atoi(aws.ToString(token))
	if i >= len(items) {
		return nil, nil
	}
	var next *string
	if i+1 < len(items) {
		next = aws.String(strconv.Itoa(i + 1))
	}
	return items[i : i+1], next
}

func sortedKeys[V any](m map[string]V) []string {
	out := make([]string, 0, len(m))
	for k := range m {
		out = append(out, k)
	}
	sort.Strings(out)
	return out
}

func (f *fakeAAS) DescribeScalableTargets(_ context.Context, in *aas.DescribeScalableTargetsInput, _ ...func(*aas.Options)) (*aas.DescribeScalableTargetsOutput, error) {
	if err := f.call("DescribeScalableTargets"); err != nil {
		return nil, err
	}
	var all []types.ScalableTarget
	for _, id := range sortedKeys(f.targets) {
		if len(in.ResourceIds) == 0 || id == in.ResourceIds[0] {
			all = append(all, f.targets[id])
		}
	}
	items, next := page(all, in.NextToken)
	return &aas.DescribeScalableTargetsOutput{ScalableTargets: items, NextToken: next}, nil
}

func (f *fakeAAS) DescribeScalingPolicies(_ context.Context, in *aas.DescribeScalingPoliciesInput, _ ...func(*aas.Options)) (*aas.DescribeScalingPoliciesOutput, error) {
	if err := f.call("DescribeScalingPolicies"); err != nil {
		return nil, err
	}
	m := f.policies[aws.ToString(in.ResourceId)]
	var all []types.ScalingPolicy
	for _, k := range sortedKeys(m) {
		all = append(all, m[k])
	}
	items, next := page(all, in.NextToken)
	return &aas.DescribeScalingPoliciesOutput{ScalingPolicies: items, NextToken: next}, nil
}

func (f *fakeAAS) DescribeScheduledActions(_ context.Context, in *aas.DescribeScheduledActionsInput, _ ...func(*aas.Options)) (*aas.DescribeScheduledActionsOutput, error) {
	if err := f.call("DescribeScheduledActions"); err != nil {
		return nil, err
	}
	m := f.actions[aws.ToString(in.ResourceId)]
	var all []types.ScheduledAction
	for _, k := range sortedKeys(m) {
		all = append(all, m[k])
	}
	items, next := page(all, in.NextToken)
	return &aas.DescribeScheduledActionsOutput{ScheduledActions: items, NextToken: next}, nil
}

func (f *fakeAAS) RegisterScalableTarget(_ context.Context, in *aas.RegisterScalableTargetInput, _ ...func(*aas.Options)) (*aas.RegisterScalableTargetOutput, error) {
	if err := f.call("RegisterScalableTarget"); err != nil {
		return nil, err
	}
	id := aws.ToString(in.ResourceId)
	t := f.targets[id]
	t.ResourceId, t.ServiceNamespace, t.ScalableDimension = in.ResourceId, in.ServiceNamespace, in.ScalableDimension
	if in.MinCapacity != nil {
		t.MinCapacity = in.MinCapacity
	}
	if in.MaxCapacity != nil {
		t.MaxCapacity = in.MaxCapacity
	}
	if in.RoleARN != nil {
		t.RoleARN = in.RoleARN
	}
	if in.SuspendedState != nil {
		t.SuspendedState = in.SuspendedState
	}
	f.targets[id] = t
	return &aas.RegisterScalableTargetOutput{}, nil
}

func (f *fakeAAS) DeregisterScalableTarget(_ context.Context, in *aas.DeregisterScalableTargetInput, _ ...func(*aas.Options)) (*aas.DeregisterScalableTargetOutput, error) {
	if err := f.call("DeregisterScalableTarget"); err != nil {
		return nil, err
	}
	id := aws.ToString(in.ResourceId)
	if _, ok := f.targets[id]; !ok {
		return nil, notFoundErr(id)
	}
	delete(f.targets, id)
	delete(f.policies, id)
	delete(f.actions, id)
	return &aas.DeregisterScalableTargetOutput{}, nil
}

func (f *fakeAAS) PutScalingPolicy(_ context.Context, in *aas.PutScalingPolicyInput, _ ...func(*aas.Options)) (*aas.PutScalingPolicyOutput, error) {
	if err := f.call("PutScalingPolicy"); err != nil {
		return nil, err
	}
	id := aws.ToString(in.ResourceId)
	if _, ok := f.targets[id]; !ok {
		return nil, notFoundErr(id)
	}
	if f.policies[id] == nil {
		f.policies[id] = map[string]types.ScalingPolicy{}
	}
	arn := fmt.Sprintf("arn:policy/%s/%s", id, aws.ToString(in.PolicyName))
	f.policies[id][aws.ToString(in.PolicyName)] = types.ScalingPolicy{
		PolicyName: in.PolicyName, PolicyARN: aws.String(arn), PolicyType: in.PolicyType, ResourceId: in.ResourceId,
		ScalableDimension: in.ScalableDimension, ServiceNamespace: in.ServiceNamespace,
		TargetTrackingScalingPolicyConfiguration: in.TargetTrackingScalingPolicyConfiguration,
		StepScalingPolicyConfiguration:           in.StepScalingPolicyConfiguration,
	}
	return &aas.PutScalingPolicyOutput{PolicyARN: aws.String(arn)}, nil
}

func (f *fakeAAS) PutScheduledAction(_ context.Context, in *aas.PutScheduledActionInput, _ ...func(*aas.Options)) (*aas.PutScheduledActionOutput, error) {
	if err := f.call("PutScheduledAction"); err != nil {
		return nil, err
	}
	id := aws.ToString(in.ResourceId)
	if _, ok := f.targets[id]; !ok {
		return nil, notFoundErr(id)
	}
	if f.actions[id] == nil {
		f.actions[id] = map[string]types.ScheduledAction{}
	}
	f.actions[id][aws.ToString(in.ScheduledActionName)] = types.ScheduledAction{
		ScheduledActionName: in.ScheduledActionName, ResourceId: in.ResourceId, ScalableDimension: in.ScalableDimension,
		ServiceNamespace: in.ServiceNamespace, Schedule: in.Schedule, Timezone: in.Timezone,
		StartTime: in.StartTime, EndTime: in.EndTime, ScalableTargetAction: in.ScalableTargetAction,
	}
	return &aas.PutScheduledActionOutput{}, nil
}

func (f *fakeAAS) DeleteScalingPolicy(_ context.Context, in *aas.DeleteScalingPolicyInput, _ ...func(*aas.Options)) (*aas.DeleteScalingPolicyOutput, error) {
	if err := f.call("DeleteScalingPolicy"); err != nil {
		return nil, err
	}
	id, name := aws.ToString(in.ResourceId), aws.ToString(in.PolicyName)
	if _, ok := f.policies[id][name]; !ok {
		return nil, &types.ObjectNotFoundException{Message: aws.String("No scaling policy found")}
	}
	delete(f.policies[id], name)
	return &aas.DeleteScalingPolicyOutput{}, nil
}

func (f *fakeAAS) DeleteScheduledAction(_ context.Context, in *aas.DeleteScheduledActionInput, _ ...func(*aas.Options)) (*aas.DeleteScheduledActionOutput, error) {
	if err := f.call("DeleteScheduledAction"); err != nil {
		return nil, err
	}
	id, name := aws.ToString(in.ResourceId), aws.ToString(in.ScheduledActionName)
	if _, ok := f.actions[id][name]; !ok {
		return nil, &types.ObjectNotFoundException{Message: aws.String("No scheduled action found")}
	}
	delete(f.actions[id], name)
	return &aas.DeleteScheduledActionOutput{}, nil
}
