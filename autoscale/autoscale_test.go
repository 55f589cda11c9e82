package autoscale

import (
	"context"
	"encoding/json"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/applicationautoscaling/types"
	"github.com/aws/smithy-go"
	"github.com/google/go-cmp/cmp"

	"github.com/prewarm/prewarm/awsfault"
	"github.com/prewarm/prewarm/derive"
)

const fn = "my-function"

// seed gives fn:qualifier a scalable target with a target tracking policy on the predefined
// metric, one on a customized metric naming the alias, and two scheduled actions.
func seed(f *fakeAAS, qualifier string, min, max int32) {
	id := ResourceID(fn, qualifier)
	f.targets[id] = types.ScalableTarget{
		ResourceId: aws.String(id), ServiceNamespace: Namespace, ScalableDimension: Dimension,
		MinCapacity: aws.Int32(min), MaxCapacity: aws.Int32(max), RoleARN: aws.String("arn:aws:iam::123456789012:role/aas"),
		SuspendedState: &types.SuspendedState{DynamicScalingInSuspended: aws.Bool(false), DynamicScalingOutSuspended: aws.Bool(false), ScheduledScalingSuspended: aws.Bool(false)},
	}
	f.policies[id] = map[string]types.ScalingPolicy{
		"utilisation": {PolicyName: aws.String("utilisation"), PolicyARN: aws.String("arn:policy/" + id + "/utilisation"), PolicyType: types.PolicyTypeTargetTrackingScaling, ResourceId: aws.String(id),
			ScalableDimension: Dimension, ServiceNamespace: Namespace,
			TargetTrackingScalingPolicyConfiguration: &types.TargetTrackingScalingPolicyConfiguration{
				TargetValue:                   aws.Float64(0.7),
				PredefinedMetricSpecification: &types.PredefinedMetricSpecification{PredefinedMetricType: types.MetricTypeLambdaProvisionedConcurrencyUtilization},
			}},
		"custom": {PolicyName: aws.String("custom"), PolicyARN: aws.String("arn:policy/" + id + "/custom"), PolicyType: types.PolicyTypeTargetTrackingScaling, ResourceId: aws.String(id),
			ScalableDimension: Dimension, ServiceNamespace: Namespace,
			TargetTrackingScalingPolicyConfiguration: &types.TargetTrackingScalingPolicyConfiguration{
				TargetValue: aws.Float64(0.6),
				CustomizedMetricSpecification: &types.CustomizedMetricSpecification{
					MetricName: aws.String("ProvisionedConcurrencyUtilization"), Namespace: aws.String("AWS/Lambda"), Statistic: types.MetricStatisticMaximum,
					Dimensions: []types.MetricDimension{
						{Name: aws.String("FunctionName"), Value: aws.String(fn)},
						{Name: aws.String("Resource"), Value: aws.String(fn + ":" + qualifier)},
					},
				},
			}},
	}
	start := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	f.actions[id] = map[string]types.ScheduledAction{
		"morning": {ScheduledActionName: aws.String("morning"), ResourceId: aws.String(id), ScalableDimension: Dimension, ServiceNamespace: Namespace,
			Schedule: aws.String("cron(0 8 * * ? *)"), Timezone: aws.String("Europe/Paris"), StartTime: &start,
			ScalableTargetAction: &types.ScalableTargetAction{MinCapacity: aws.Int32(20), MaxCapacity: aws.Int32(max)}},
		"night": {ScheduledActionName: aws.String("night"), ResourceId: aws.String(id), ScalableDimension: Dimension, ServiceNamespace: Namespace,
			Schedule:             aws.String("cron(0 22 * * ? *)"),
			ScalableTargetAction: &types.ScalableTargetAction{MinCapacity: aws.Int32(min), MaxCapacity: aws.Int32(max)}},
	}
}

// state renders everything the fake holds, to compare before and after.
func state(t *testing.T, f *fakeAAS) string {
	t.Helper()
	b, err := json.MarshalIndent(map[string]any{"targets": f.targets, "policies": f.policies, "actions": f.actions}, "", " ")
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

func TestPlanWithoutScalableTarget(t *testing.T) {
	f := newFake()
	c := New(f)
	p, err := c.Plan(context.Background(), fn, "BLUE")
	if err != nil || !p.Empty() {
		t.Fatalf("Plan = %+v, %v; want an empty plan", p, err)
	}
	if diff := cmp.Diff([]string{"DescribeScalableTargets"}, f.calls); diff != "" {
		t.Errorf("calls (-want +got):\n%s", diff)
	}
	reg, err := c.Register(context.Background(), p, "GREEN")
	if err != nil || reg.Registered {
		t.Fatalf("Register of an empty plan = %+v, %v", reg, err)
	}
	if err := c.Finish(context.Background(), p, "GREEN"); err != nil {
		t.Fatal(err)
	}
	if err := c.Abort(context.Background(), p, reg); err != nil {
		t.Fatal(err)
	}
	if len(f.calls) != 1 || len(f.targets) != 0 {
		t.Errorf("an empty plan called %v and left %v", f.calls, f.targets)
	}
}

func TestCarryOver(t *testing.T) {
	ctx := context.Background()
	f := newFake()
	seed(f, "BLUE", 5, 50)
	c := New(f)

	p, err := c.Plan(ctx, fn, "BLUE")
	if err != nil {
		t.Fatal(err)
	}
	if p.Empty() || len(p.Policies) != 2 || len(p.Actions) != 2 {
		t.Fatalf("Plan read %d policies and %d actions (empty %v), want 2 and 2", len(p.Policies), len(p.Actions), p.Empty())
	}
	reg, err := c.Register(ctx, p, "GREEN")
	if err != nil {
		t.Fatal(err)
	}
	if !reg.Registered || reg.Previous != nil {
		t.Errorf("Registration = %+v, want registered with nothing previous", reg)
	}
	green := ResourceID(fn, "GREEN")
	gt, ok := f.targets[green]
	if !ok {
		t.Fatal("GREEN has no scalable target")
	}
	if aws.ToInt32(gt.MinCapacity) != 5 || aws.ToInt32(gt.MaxCapacity) != 50 || aws.ToString(gt.RoleARN) != "arn:aws:iam::123456789012:role/aas" {
		t.Errorf("GREEN target min %d max %d role %s, want BLUE's", aws.ToInt32(gt.MinCapacity), aws.ToInt32(gt.MaxCapacity), aws.ToString(gt.RoleARN))
	}
	if !aws.ToBool(gt.SuspendedState.DynamicScalingInSuspended) || aws.ToBool(gt.SuspendedState.DynamicScalingOutSuspended) {
		t.Errorf("GREEN suspended state %+v, want only scale-in suspended", *gt.SuspendedState)
	}
	if got := sortedKeys(f.policies[green]); !cmp.Equal(got, []string{"custom", "utilisation"}) {
		t.Errorf("GREEN policies %v", got)
	}
	dims := f.policies[green]["custom"].TargetTrackingScalingPolicyConfiguration.CustomizedMetricSpecification.Dimensions
	if v := aws.ToString(dims[1].Value); v != fn+":GREEN" {
		t.Errorf("the copied customized metric names %s, want %s:GREEN", v, fn)
	}
	if v := aws.ToString(f.policies[ResourceID(fn, "BLUE")]["custom"].TargetTrackingScalingPolicyConfiguration.CustomizedMetricSpecification.Dimensions[1].Value); v != fn+":BLUE" {
		t.Errorf("retargeting changed BLUE's own policy: %s", v)
	}
	morning := f.actions[green]["morning"]
	if aws.ToString(morning.Schedule) != "cron(0 8 * * ? *)" || aws.ToString(morning.Timezone) != "Europe/Paris" || aws.ToInt32(morning.ScalableTargetAction.MinCapacity) != 20 {
		t.Errorf("GREEN morning action %+v", morning)
	}
	if len(f.actions[green]) != 2 {
		t.Errorf("GREEN has %d scheduled actions, want 2", len(f.actions[green]))
	}

	if err := c.Finish(ctx, p, "GREEN"); err != nil {
		t.Fatal(err)
	}
	if _, ok := f.targets[ResourceID(fn, "BLUE")]; ok {
		t.Error("BLUE is still registered after Finish")
	}
	if aws.ToBool(f.targets[green].SuspendedState.DynamicScalingInSuspended) {
		t.Error("GREEN scale-in still suspended after Finish")
	}
	if len(f.policies[green]) != 2 || len(f.actions[green]) != 2 {
		t.Error("Finish lost GREEN's policies or actions")
	}
}

func TestAbortChangesNothing(t *testing.T) {
	ctx := context.Background()
	tests := []struct {
		name  string
		setup func(f *fakeAAS)
		fail  string // the operation that fails during Register; "" for none
		after int    // successful calls of it before it fails
	}{
		{name: "GREEN had nothing", setup: func(f *fakeAAS) {}},
		{name: "GREEN had nothing, Register failed halfway", setup: func(f *fakeAAS) {}, fail: "PutScheduledAction", after: 1},
		{name: "GREEN had its own target and policies", setup: func(f *fakeAAS) {
			seed(f, "GREEN", 1, 10)
			id := ResourceID(fn, "GREEN")
			delete(f.policies[id], "custom") // GREEN lacks one of BLUE's policies
			delete(f.actions[id], "night")
		}},
		{name: "GREEN had its own, Register failed on a policy", setup: func(f *fakeAAS) { seed(f, "GREEN", 1, 10) }, fail: "PutScalingPolicy", after: 1},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f := newFake()
			seed(f, "BLUE", 5, 50)
			tt.setup(f)
			before := state(t, f)
			c := New(f)
			p, err := c.Plan(ctx, fn, "BLUE")
			if err != nil {
				t.Fatal(err)
			}
			f.failOp, f.failAfter, f.failErr = tt.fail, tt.after, &smithy.GenericAPIError{Code: "ValidationException", Message: "no"}
			reg, err := c.Register(ctx, p, "GREEN")
			if (err != nil) != (tt.fail != "") {
				t.Fatalf("Register error %v, want failure %v", err, tt.fail != "")
			}
			if state(t, f) == before {
				t.Fatal("Register changed nothing: the test proves nothing")
			}
			f.failOp = ""
			if err := c.Abort(ctx, p, reg); err != nil {
				t.Fatal(err)
			}
			if diff := cmp.Diff(before, state(t, f)); diff != "" {
				t.Errorf("Abort left a change (-before +after):\n%s", diff)
			}
		})
	}
}

func TestRegistrationTravels(t *testing.T) {
	f := newFake()
	seed(f, "BLUE", 5, 50)
	seed(f, "GREEN", 1, 10)
	before := state(t, f)
	c := New(f)
	p, _ := c.Plan(context.Background(), fn, "BLUE")
	reg, err := c.Register(context.Background(), p, "GREEN")
	if err != nil {
		t.Fatal(err)
	}
	b, err := json.Marshal(reg)
	if err != nil {
		t.Fatal(err)
	}
	var back Registration
	if err := json.Unmarshal(b, &back); err != nil {
		t.Fatal(err)
	}
	if err := c.Abort(context.Background(), p, back); err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff(before, state(t, f)); diff != "" {
		t.Errorf("Abort from a decoded Registration left a change (-before +after):\n%s", diff)
	}
}

func TestPlanNotesStepScaling(t *testing.T) {
	f := newFake()
	seed(f, "BLUE", 5, 50)
	id := ResourceID(fn, "BLUE")
	f.policies[id]["steps"] = types.ScalingPolicy{PolicyName: aws.String("steps"), PolicyType: types.PolicyTypeStepScaling, ResourceId: aws.String(id),
		StepScalingPolicyConfiguration: &types.StepScalingPolicyConfiguration{AdjustmentType: types.AdjustmentTypeChangeInCapacity}}
	p, err := New(f).Plan(context.Background(), fn, "BLUE")
	if err != nil {
		t.Fatal(err)
	}
	if len(p.Notes) != 1 || !strings.Contains(p.Notes[0], "step scaling policy steps is copied without its CloudWatch alarms") {
		t.Errorf("Notes = %q", p.Notes)
	}
}

func TestDesired(t *testing.T) {
	f := newFake()
	seed(f, "BLUE", 25, 50)
	c := New(f)
	n, ok, err := c.Desired(context.Background(), fn, "BLUE")
	if err != nil || !ok || n != 25 {
		t.Errorf("Desired(BLUE) = %d, %v, %v; want 25, true", n, ok, err)
	}
	n, ok, err = c.Desired(context.Background(), fn, "GREEN")
	if err != nil || ok || n != 0 {
		t.Errorf("Desired(GREEN) = %d, %v, %v; want none", n, ok, err)
	}
}

func TestErrors(t *testing.T) {
	ctx := context.Background()
	tests := []struct {
		name      string
		op        string
		err       error
		run       func(c *Carrier, p Plan) error
		transient bool
	}{
		{"plan throttled", "DescribeScalableTargets", &smithy.GenericAPIError{Code: "ThrottlingException", Message: "Rate exceeded"},
			func(c *Carrier, _ Plan) error { _, err := c.Plan(ctx, fn, "BLUE"); return err }, true},
		{"plan policies fail", "DescribeScalingPolicies", &types.InternalServiceException{Message: aws.String("oops")},
			func(c *Carrier, _ Plan) error { _, err := c.Plan(ctx, fn, "BLUE"); return err }, true},
		{"register refused", "RegisterScalableTarget", &types.ValidationException{Message: aws.String("bad")},
			func(c *Carrier, p Plan) error { _, err := c.Register(ctx, p, "GREEN"); return err }, false},
		{"register concurrent update", "RegisterScalableTarget", &types.ConcurrentUpdateException{Message: aws.String("Concurrent updates are not allowed")},
			func(c *Carrier, p Plan) error { _, err := c.Register(ctx, p, "GREEN"); return err }, true},
		{"finish deregister refused", "DeregisterScalableTarget", &smithy.GenericAPIError{Code: "AccessDeniedException", Message: "no"},
			func(c *Carrier, p Plan) error { return c.Finish(ctx, p, "GREEN") }, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f := newFake()
			seed(f, "BLUE", 5, 50)
			c := New(f)
			p, err := c.Plan(ctx, fn, "BLUE")
			if err != nil {
				t.Fatal(err)
			}
			f.failOp, f.failErr = tt.op, tt.err
			err = tt.run(c, p)
			var e *awsfault.CallError
			if !errors.As(err, &e) || e.Op != tt.op {
				t.Fatalf("error %v, want a classified %s error", err, tt.op)
			}
			if e.Transient != tt.transient {
				t.Errorf("transient %v, want %v: %v", e.Transient, tt.transient, err)
			}
			if !strings.Contains(err.Error(), "function:"+fn+":") {
				t.Errorf("error %q does not name the resource", err)
			}
		})
	}
}

func TestDeregisterGoneIsDone(t *testing.T) {
	f := newFake()
	seed(f, "BLUE", 5, 50)
	c := New(f)
	p, _ := c.Plan(context.Background(), fn, "BLUE")
	if _, err := c.Register(context.Background(), p, "GREEN"); err != nil {
		t.Fatal(err)
	}
	delete(f.targets, ResourceID(fn, "BLUE")) // someone else removed it
	if err := c.Finish(context.Background(), p, "GREEN"); err != nil {
		t.Errorf("Finish with BLUE already gone: %v", err)
	}
}

func TestTargetsAndStray(t *testing.T) {
	f := newFake()
	seed(f, "BLUE", 5, 50)
	seed(f, "GREEN", 2, 20)
	f.targets["function:other:live"] = types.ScalableTarget{ResourceId: aws.String("function:other:live"), ScalableDimension: Dimension, MinCapacity: aws.Int32(1), MaxCapacity: aws.Int32(3)}
	f.targets["function:bad"] = types.ScalableTarget{ResourceId: aws.String("function:bad"), ScalableDimension: Dimension}
	got, err := New(f).Targets(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	want := map[string][]Target{
		fn:      {{Qualifier: "BLUE", Min: 5, Max: 50}, {Qualifier: "GREEN", Min: 2, Max: 20}},
		"other": {{Qualifier: "live", Min: 1, Max: 3}},
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("Targets mismatch (-want +got):\n%s", diff)
	}
	if n := strings.Count(strings.Join(f.calls, ","), "DescribeScalableTargets"); n != 4 {
		t.Errorf("%d DescribeScalableTargets pages read, want 4", n)
	}

	blue := Target{Qualifier: "BLUE", Min: 5, Max: 50}
	ready := derive.State{Requested: 10, Status: derive.StatusReady}
	for _, tt := range []struct {
		name   string
		pc     derive.State
		demand *derive.Demand
		want   string // "" for not stray
	}{
		{"released", derive.State{}, nil, "has a scalable target (min 5, max 50) but no provisioned concurrency"},
		{"no executions", ready, &derive.Demand{Window: 24 * time.Hour}, "ran no executions over the last 24h"},
		{"a zero peak", ready, &derive.Demand{Window: time.Hour, Datapoints: 60}, "ran no executions over the last 1h"},
		{"live", ready, &derive.Demand{Peak: 4, Datapoints: 60, Window: time.Hour}, ""},
		{"demand not read", ready, nil, ""},
	} {
		reason, stray := Stray(fn, blue, tt.pc, tt.demand)
		if stray != (tt.want != "") || !strings.Contains(reason, tt.want) {
			t.Errorf("%s: Stray = %q, %v; want %q", tt.name, reason, stray, tt.want)
		}
		if stray && !strings.Contains(reason, "aws application-autoscaling deregister-scalable-target --service-namespace lambda --scalable-dimension lambda:function:ProvisionedConcurrency --resource-id function:my-function:BLUE") {
			t.Errorf("%s: reason %q lacks the command", tt.name, reason)
		}
	}
}

func TestServiceLinkedRoleIsNotNamed(t *testing.T) {
	f := newFake()
	seed(f, "BLUE", 5, 50)
	blue := f.targets[ResourceID(fn, "BLUE")]
	blue.RoleARN = aws.String("arn:aws:iam::123456789012:role/aws-service-role/lambda.application-autoscaling.amazonaws.com/AWSServiceRoleForApplicationAutoScaling_LambdaConcurrency")
	f.targets[ResourceID(fn, "BLUE")] = blue
	c := New(f)
	p, _ := c.Plan(context.Background(), fn, "BLUE")
	if _, err := c.Register(context.Background(), p, "GREEN"); err != nil {
		t.Fatal(err)
	}
	if r := f.targets[ResourceID(fn, "GREEN")].RoleARN; r != nil {
		t.Errorf("GREEN registered naming role %s; the service-linked role needs no name (nor iam:PassRole)", *r)
	}
}
