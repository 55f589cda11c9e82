// Package autoscale carries Application Auto Scaling over when traffic moves from one alias
// to another. A scalable target is registered per alias (function:NAME:ALIAS); after a
// BLUE→GREEN switch its policies and scheduled actions would keep managing BLUE, putting back
// the provisioned concurrency just released, while GREEN has none. Plan reads what BLUE has,
// Register gives GREEN the same with dynamic scale-in suspended (nothing scales the new alias
// in before it is READY and carries traffic), Finish resumes it and deregisters BLUE, and
// Abort undoes Register, so a failed switch changes nothing on either side.
package autoscale

import (
	"context"
	"errors"
	"fmt"
	"strings"

	"github.com/aws/aws-sdk-go-v2/aws"
	aas "github.com/aws/aws-sdk-go-v2/service/applicationautoscaling"
	"github.com/aws/aws-sdk-go-v2/service/applicationautoscaling/types"
	"github.com/aws/smithy-go"

	"github.com/prewarm/prewarm/awsfault"
)

// AutoScalingAPI is the part of *applicationautoscaling.Client the carrier calls.
type AutoScalingAPI interface {
	DescribeScalableTargets(ctx context.Context, params *aas.DescribeScalableTargetsInput, optFns ...func(*aas.Options)) (*aas.DescribeScalableTargetsOutput, error)
	DescribeScalingPolicies(ctx context.Context, params *aas.DescribeScalingPoliciesInput, optFns ...func(*aas.Options)) (*aas.DescribeScalingPoliciesOutput, error)
	DescribeScheduledActions(ctx context.Context, params *aas.DescribeScheduledActionsInput, optFns ...func(*aas.Options)) (*aas.DescribeScheduledActionsOutput, error)
	RegisterScalableTarget(ctx context.Context, params *aas.RegisterScalableTargetInput, optFns ...func(*aas.Options)) (*aas.RegisterScalableTargetOutput, error)
	DeregisterScalableTarget(ctx context.Context, params *aas.DeregisterScalableTargetInput, optFns ...func(*aas.Options)) (*aas.DeregisterScalableTargetOutput, error)
	PutScalingPolicy(ctx context.Context, params *aas.PutScalingPolicyInput, optFns ...func(*aas.Options)) (*aas.PutScalingPolicyOutput, error)
	PutScheduledAction(ctx context.Context, params *aas.PutScheduledActionInput, optFns ...func(*aas.Options)) (*aas.PutScheduledActionOutput, error)
	DeleteScalingPolicy(ctx context.Context, params *aas.DeleteScalingPolicyInput, optFns ...func(*aas.Options)) (*aas.DeleteScalingPolicyOutput, error)
	DeleteScheduledAction(ctx context.Context, params *aas.DeleteScheduledActionInput, optFns ...func(*aas.Options)) (*aas.DeleteScheduledActionOutput, error)
}

var _ AutoScalingAPI = (*aas.Client)(nil)

// The scalable dimension of Lambda provisioned concurrency.
const (
	Namespace = types.ServiceNamespaceLambda
	Dimension = types.ScalableDimensionLambdaFunctionProvisionedConcurrency
)

// ResourceID returns Application Auto Scaling's resource id of function:qualifier,
// "function:NAME:QUALIFIER".
func ResourceID(function, qualifier string) string {
	return "function:" + function + ":" + qualifier
}

// Snapshot is what one alias has in Application Auto Scaling.
type Snapshot struct {
	// Target is the alias's scalable target; nil when it has none.
	Target *types.ScalableTarget
	// Policies and Actions are its scaling policies and scheduled actions.
	Policies []types.ScalingPolicy
	Actions  []types.ScheduledAction
}

// Plan is what carrying auto scaling over from From would copy.
type Plan struct {
	Function, From string
	// Snapshot is From's; an empty Target means there is nothing to carry over.
	Snapshot
	// Notes say what cannot be carried over, for the result's reason.
	Notes []string
}

// Empty reports whether From has no scalable target: Register, Finish and Abort do nothing.
func (p Plan) Empty() bool { return p.Target == nil }

// Registration is what Register did on To, for Finish and Abort. It is a plain value (JSON
// encodable), so it can travel in a follow-up message.
type Registration struct {
	Function, To string
	// Registered is set when Register registered To's scalable target.
	Registered bool
	// Previous is what To had before Register changed it; nil when it had no scalable target.
	Previous *Snapshot `json:",omitempty"`
}

// Carrier reads and writes Application Auto Scaling.
type Carrier struct {
	api AutoScalingAPI
}

// New returns a Carrier calling api.
func New(api AutoScalingAPI) *Carrier { return &Carrier{api: api} }

// Plan reads the scalable target of function:from with its scaling policies and scheduled
// actions. From without a scalable target gives an empty Plan and no error.
func (c *Carrier) Plan(ctx context.Context, function, from string) (Plan, error) {
	p := Plan{Function: function, From: from}
	s, err := c.snapshot(ctx, function, from)
	if err != nil {
		return Plan{}, fmt.Errorf("plan auto scaling of %s:%s: %w", function, from, err)
	}
	p.Snapshot = s
	for _, pol := range s.Policies {
		if pol.PolicyType == types.PolicyTypeStepScaling {
			p.Notes = append(p.Notes, fmt.Sprintf("step scaling policy %s is copied without its CloudWatch alarms, which still name %s's policy", aws.ToString(pol.PolicyName), from))
		}
	}
	return p, nil
}

// Desired returns the capacity Application Auto Scaling holds function:alias at, at least:
// its scalable target's minimum. ok is false when the alias has no scalable target.
func (c *Carrier) Desired(ctx context.Context, function, alias string) (n int64, ok bool, err error) {
	t, err := c.target(ctx, function, alias)
	if err != nil {
		return 0, false, fmt.Errorf("read auto scaling desired capacity of %s:%s: %w", function, alias, err)
	}
	if t == nil {
		return 0, false, nil
	}
	return int64(aws.ToInt32(t.MinCapacity)), true, nil
}

// Register gives function:to the scalable target of the plan (same minimum, maximum and role)
// with dynamic scale-in suspended, and the plan's policies and scheduled actions. What To
// had before is kept in the Registration, for Abort.
func (c *Carrier) Register(ctx context.Context, p Plan, to string) (Registration, error) {
	reg := Registration{Function: p.Function, To: to}
	if p.Empty() {
		return reg, nil
	}
	fail := func(err error) (Registration, error) {
		return reg, fmt.Errorf("carry auto scaling of %s from %s to %s: %w", p.Function, p.From, to, err)
	}
	prev, err := c.snapshot(ctx, p.Function, to)
	if err != nil {
		return fail(err)
	}
	if prev.Target != nil {
		reg.Previous = &prev
	}
	suspended := copySuspended(p.Target.SuspendedState)
	suspended.DynamicScalingInSuspended = aws.Bool(true)
	if err := c.register(ctx, p.Function, to, *p.Target, suspended); err != nil {
		return fail(err)
	}
	reg.Registered = true
	if err := c.putAll(ctx, p.Function, p.From, to, p.Policies, p.Actions); err != nil {
		return fail(err)
	}
	return reg, nil
}

// Finish, once function:to is READY, resumes dynamic scale-in on To as From had it and
// deregisters From's scalable target (which deletes From's policies and scheduled actions;
// From's provisioned concurrency is released separately).
func (c *Carrier) Finish(ctx context.Context, p Plan, to string) error {
	if p.Empty() {
		return nil
	}
	if err := c.register(ctx, p.Function, to, *p.Target, copySuspended(p.Target.SuspendedState)); err != nil {
		return fmt.Errorf("resume scale-in of %s:%s: %w", p.Function, to, err)
	}
	if err := c.deregister(ctx, p.Function, p.From); err != nil {
		return fmt.Errorf("deregister auto scaling of %s:%s: %w", p.Function, p.From, err)
	}
	return nil
}

// Abort undoes Register: To's scalable target is deregistered, or, when To had one before,
// put back as it was with its own policies and scheduled actions. From is never touched.
func (c *Carrier) Abort(ctx context.Context, p Plan, reg Registration) error {
	if !reg.Registered {
		return nil
	}
	fail := func(err error) error {
		return fmt.Errorf("undo auto scaling of %s:%s: %w", reg.Function, reg.To, err)
	}
	prev := reg.Previous
	if prev == nil || prev.Target == nil {
		if err := c.deregister(ctx, reg.Function, reg.To); err != nil {
			return fail(err)
		}
		return nil
	}
	if err := c.register(ctx, reg.Function, reg.To, *prev.Target, copySuspended(prev.Target.SuspendedState)); err != nil {
		return fail(err)
	}
	resource := ResourceID(reg.Function, reg.To)
	hadPolicy := map[string]bool{}
	for _, pol := range prev.Policies {
		hadPolicy[aws.ToString(pol.PolicyName)] = true
	}
	hadAction := map[string]bool{}
	for _, a := range prev.Actions {
		hadAction[aws.ToString(a.ScheduledActionName)] = true
	}
	for _, pol := range p.Policies {
		if name := aws.ToString(pol.PolicyName); !hadPolicy[name] {
			_, err := c.api.DeleteScalingPolicy(ctx, &aas.DeleteScalingPolicyInput{
				PolicyName: aws.String(name), ResourceId: aws.String(resource), ScalableDimension: Dimension, ServiceNamespace: Namespace,
			})
			if err != nil && !notFound(err) {
				return fail(awsfault.Wrap("DeleteScalingPolicy", resource, err))
			}
		}
	}
	for _, a := range p.Actions {
		if name := aws.ToString(a.ScheduledActionName); !hadAction[name] {
			_, err := c.api.DeleteScheduledAction(ctx, &aas.DeleteScheduledActionInput{
				ScheduledActionName: aws.String(name), ResourceId: aws.String(resource), ScalableDimension: Dimension, ServiceNamespace: Namespace,
			})
			if err != nil && !notFound(err) {
				return fail(awsfault.Wrap("DeleteScheduledAction", resource, err))
			}
		}
	}
	// Put back what Register overwrote; To's own policies name To already.
	if err := c.putAll(ctx, reg.Function, reg.To, reg.To, prev.Policies, prev.Actions); err != nil {
		return fail(err)
	}
	return nil
}

// snapshot reads function:qualifier's scalable target, policies and scheduled actions.
func (c *Carrier) snapshot(ctx context.Context, function, qualifier string) (Snapshot, error) {
	t, err := c.target(ctx, function, qualifier)
	if err != nil || t == nil {
		return Snapshot{}, err
	}
	s := Snapshot{Target: t}
	resource := ResourceID(function, qualifier)
	in := &aas.DescribeScalingPoliciesInput{ServiceNamespace: Namespace, ResourceId: aws.String(resource), ScalableDimension: Dimension}
	for {
		out, err := c.api.DescribeScalingPolicies(ctx, in)
		if err != nil {
			return Snapshot{}, awsfault.Wrap("DescribeScalingPolicies", resource, err)
		}
		s.Policies = append(s.Policies, out.ScalingPolicies...)
		if aws.ToString(out.NextToken) == "" {
			break
		}
		in.NextToken = out.NextToken
	}
	ain := &aas.DescribeScheduledActionsInput{ServiceNamespace: Namespace, ResourceId: aws.String(resource), ScalableDimension: Dimension}
	for {
		out, err := c.api.DescribeScheduledActions(ctx, ain)
		if err != nil {
			return Snapshot{}, awsfault.Wrap("DescribeScheduledActions", resource, err)
		}
		s.Actions = append(s.Actions, out.ScheduledActions...)
		if aws.ToString(out.NextToken) == "" {
			break
		}
		ain.NextToken = out.NextToken
	}
	return s, nil
}

// target reads function:qualifier's scalable target; nil when it has none.
func (c *Carrier) target(ctx context.Context, function, qualifier string) (*types.ScalableTarget, error) {
	resource := ResourceID(function, qualifier)
	out, err := c.api.DescribeScalableTargets(ctx, &aas.DescribeScalableTargetsInput{
		ServiceNamespace: Namespace, ResourceIds: []string{resource}, ScalableDimension: Dimension,
	})
	if err != nil {
		return nil, awsfault.Wrap("DescribeScalableTargets", resource, err)
	}
	for i := range out.ScalableTargets {
		if t := out.ScalableTargets[i]; aws.ToString(t.ResourceId) == resource && t.ScalableDimension == Dimension {
			return &t, nil
		}
	}
	return nil, nil
}

func (c *Carrier) register(ctx context.Context, function, qualifier string, t types.ScalableTarget, s *types.SuspendedState) error {
	resource := ResourceID(function, qualifier)
	in := &aas.RegisterScalableTargetInput{
		ServiceNamespace:  Namespace,
		ResourceId:        aws.String(resource),
		ScalableDimension: Dimension,
		MinCapacity:       t.MinCapacity,
		MaxCapacity:       t.MaxCapacity,
		SuspendedState:    s,
	}
	// Lambda targets use Application Auto Scaling's service-linked role, which it picks by
	// itself; naming it would need iam:PassRole. Only a role of the account's own is named.
	if role := aws.ToString(t.RoleARN); role != "" && !strings.Contains(role, ":role/aws-service-role/") {
		in.RoleARN = t.RoleARN
	}
	_, err := c.api.RegisterScalableTarget(ctx, in)
	return awsfault.Wrap("RegisterScalableTarget", resource, err)
}

func (c *Carrier) deregister(ctx context.Context, function, qualifier string) error {
	resource := ResourceID(function, qualifier)
	_, err := c.api.DeregisterScalableTarget(ctx, &aas.DeregisterScalableTargetInput{
		ServiceNamespace: Namespace, ResourceId: aws.String(resource), ScalableDimension: Dimension,
	})
	if notFound(err) {
		return nil // already gone: what was asked for
	}
	return awsfault.Wrap("DeregisterScalableTarget", resource, err)
}

// putAll puts policies and scheduled actions read on function:from onto function:to.
func (c *Carrier) putAll(ctx context.Context, function, from, to string, policies []types.ScalingPolicy, actions []types.ScheduledAction) error {
	resource := ResourceID(function, to)
	for _, pol := range policies {
		_, err := c.api.PutScalingPolicy(ctx, &aas.PutScalingPolicyInput{
			PolicyName:                               pol.PolicyName,
			ResourceId:                               aws.String(resource),
			ScalableDimension:                        Dimension,
			ServiceNamespace:                         Namespace,
			PolicyType:                               pol.PolicyType,
			StepScalingPolicyConfiguration:           pol.StepScalingPolicyConfiguration,
			TargetTrackingScalingPolicyConfiguration: retarget(pol.TargetTrackingScalingPolicyConfiguration, function, from, to),
			PredictiveScalingPolicyConfiguration:     pol.PredictiveScalingPolicyConfiguration,
		})
		if err != nil {
			return awsfault.Wrap("PutScalingPolicy", resource+" "+aws.ToString(pol.PolicyName), err)
		}
	}
	for _, a := range actions {
		_, err := c.api.PutScheduledAction(ctx, &aas.PutScheduledActionInput{
			ScheduledActionName:  a.ScheduledActionName,
			ResourceId:           aws.String(resource),
			ScalableDimension:    Dimension,
			ServiceNamespace:     Namespace,
			Schedule:             a.Schedule,
			Timezone:             a.Timezone,
			StartTime:            a.StartTime,
			EndTime:              a.EndTime,
			ScalableTargetAction: a.ScalableTargetAction,
		})
		if err != nil {
			return awsfault.Wrap("PutScheduledAction", resource+" "+aws.ToString(a.ScheduledActionName), err)
		}
	}
	return nil
}

// retarget returns a copy of a target tracking configuration whose customized metric names
// From's resource ("fn:from") naming To's instead: left as it was, the copied policy would
// keep tracking the old alias. The predefined LambdaProvisionedConcurrencyUtilization metric
// follows the scalable target by itself.
func retarget(cfg *types.TargetTrackingScalingPolicyConfiguration, function, from, to string) *types.TargetTrackingScalingPolicyConfiguration {
	if cfg == nil || cfg.CustomizedMetricSpecification == nil || from == to {
		return cfg
	}
	old, now := function+":"+from, function+":"+to
	c := *cfg
	m := *cfg.CustomizedMetricSpecification
	m.Dimensions = make([]types.MetricDimension, len(cfg.CustomizedMetricSpecification.Dimensions))
	for i, d := range cfg.CustomizedMetricSpecification.Dimensions {
		if aws.ToString(d.Value) == old {
			d.Value = aws.String(now)
		}
		m.Dimensions[i] = d
	}
	m.Metrics = make([]types.TargetTrackingMetricDataQuery, len(cfg.CustomizedMetricSpecification.Metrics))
	for i, q := range cfg.CustomizedMetricSpecification.Metrics {
		if q.MetricStat != nil && q.MetricStat.Metric != nil {
			st, met := *q.MetricStat, *q.MetricStat.Metric
			met.Dimensions = make([]types.TargetTrackingMetricDimension, len(q.MetricStat.Metric.Dimensions))
			for j, d := range q.MetricStat.Metric.Dimensions {
				if aws.ToString(d.Value) == old {
					d.Value = aws.String(now)
				}
				met.Dimensions[j] = d
			}
			st.Metric = &met
			q.MetricStat = &st
		}
		m.Metrics[i] = q
	}
	if cfg.CustomizedMetricSpecification.Dimensions == nil {
		m.Dimensions = nil
	}
	if cfg.CustomizedMetricSpecification.Metrics == nil {
		m.Metrics = nil
	}
	c.CustomizedMetricSpecification = &m
	return &c
}

func copySuspended(s *types.SuspendedState) *types.SuspendedState {
	out := &types.SuspendedState{DynamicScalingInSuspended: aws.Bool(false), DynamicScalingOutSuspended: aws.Bool(false), ScheduledScalingSuspended: aws.Bool(false)}
	if s == nil {
		return out
	}
	for _, f := range []struct{ src, dst **bool }{
		{&s.DynamicScalingInSuspended, &out.DynamicScalingInSuspended},
		{&s.DynamicScalingOutSuspended, &out.DynamicScalingOutSuspended},
		{&s.ScheduledScalingSuspended, &out.ScheduledScalingSuspended},
	} {
		if *f.src != nil {
			*f.dst = aws.Bool(**f.src)
		}
	}
	return out
}

func notFound(err error) bool {
	var api smithy.APIError
	return errors.As(err, &api) && api.ErrorCode() == "ObjectNotFoundException"
}
