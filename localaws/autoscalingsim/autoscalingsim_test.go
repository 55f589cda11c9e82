package autoscalingsim

import (
	"context"
	"encoding/json"
	"strings"
	"testing"
	"time"

	"github.com/prewarm/prewarm/localaws/awsproto"
	"github.com/prewarm/prewarm/localaws/clock"
)

var now = time.Date(2026, 3, 4, 10, 0, 0, 0, time.UTC)

func blue() TargetRef {
	return TargetRef{ServiceNamespace: NamespaceLambda, ResourceID: "function:my-function:BLUE", ScalableDimension: DimensionLambda}
}

func i32(v int32) *int32 { return &v }

func seeded(t *testing.T) *Service {
	t.Helper()
	cfg := Config{AccountID: "123456789012", Region: "us-east-1", Clock: clock.NewFake(now), Targets: []Target{{
		Function: "my-function", Qualifier: "BLUE", Min: 5, Max: 50,
		Policies:         []Policy{{Name: "utilisation", TargetValue: 0.7}},
		ScheduledActions: []ScheduledAction{{Name: "morning", Schedule: "cron(0 8 * * ? *)", Min: i32(20)}, {Name: "night", Schedule: "cron(0 22 * * ? *)", Min: i32(5)}},
	}}}
	if err := cfg.Validate(); err != nil {
		t.Fatal(err)
	}
	return New(cfg)
}

func TestSeededWorld(t *testing.T) {
	s := seeded(t)
	ctx := context.Background()
	ts, err := s.DescribeScalableTargets(ctx, &DescribeScalableTargetsInput{ServiceNamespace: NamespaceLambda})
	if err != nil {
		t.Fatal(err)
	}
	if len(ts.ScalableTargets) != 1 || ts.ScalableTargets[0].MinCapacity != 5 || ts.ScalableTargets[0].MaxCapacity != 50 {
		t.Fatalf("targets %+v", ts.ScalableTargets)
	}
	if !time.Time(ts.ScalableTargets[0].CreationTime).Equal(now) {
		t.Errorf("CreationTime %v, want the clock's %v", time.Time(ts.ScalableTargets[0].CreationTime), now)
	}
	ps, _ := s.DescribeScalingPolicies(ctx, &DescribeScalingPoliciesInput{ServiceNamespace: NamespaceLambda, ResourceID: blue().ResourceID})
	if len(ps.ScalingPolicies) != 1 || !strings.Contains(string(ps.ScalingPolicies[0].TargetTrackingScalingPolicyConfiguration), PredefinedLambda) {
		t.Fatalf("policies %+v", ps.ScalingPolicies)
	}
	if len(ps.ScalingPolicies[0].Alarms) != 2 {
		t.Errorf("a target tracking policy has %d alarms, want 2", len(ps.ScalingPolicies[0].Alarms))
	}
	as, _ := s.DescribeScheduledActions(ctx, &DescribeScheduledActionsInput{ServiceNamespace: NamespaceLambda, ResourceID: blue().ResourceID})
	if len(as.ScheduledActions) != 2 || as.ScheduledActions[0].ScheduledActionName != "morning" || *as.ScheduledActions[0].ScalableTargetAction.MinCapacity != 20 {
		t.Fatalf("actions %+v", as.ScheduledActions)
	}
}

func TestRegisterUpdateDeregister(t *testing.T) {
	s := seeded(t)
	ctx := context.Background()
	green := TargetRef{ServiceNamespace: NamespaceLambda, ResourceID: "function:my-function:GREEN", ScalableDimension: DimensionLambda}
	yes := true
	if _, err := s.RegisterScalableTarget(ctx, &RegisterScalableTargetInput{TargetRef: green, MinCapacity: i32(5), MaxCapacity: i32(50), SuspendedState: &SuspendedState{DynamicScalingInSuspended: &yes}}); err != nil {
		t.Fatal(err)
	}
	// An update changes only what it names.
	if _, err := s.RegisterScalableTarget(ctx, &RegisterScalableTargetInput{TargetRef: green, MaxCapacity: i32(60)}); err != nil {
		t.Fatal(err)
	}
	out, _ := s.DescribeScalableTargets(ctx, &DescribeScalableTargetsInput{ServiceNamespace: NamespaceLambda, ResourceIDs: []string{green.ResourceID}})
	g := out.ScalableTargets[0]
	if g.MinCapacity != 5 || g.MaxCapacity != 60 || !*g.SuspendedState.DynamicScalingInSuspended || *g.SuspendedState.DynamicScalingOutSuspended {
		t.Errorf("GREEN after the update: %+v %+v", g, *g.SuspendedState)
	}
	if _, err := s.PutScalingPolicy(ctx, &PutScalingPolicyInput{TargetRef: green, PolicyName: "p", TargetTrackingScalingPolicyConfiguration: json.RawMessage(`{"TargetValue":0.5}`)}); err != nil {
		t.Fatal(err)
	}
	if _, err := s.DeregisterScalableTarget(ctx, &DeregisterScalableTargetInput{TargetRef: green}); err != nil {
		t.Fatal(err)
	}
	ps, _ := s.DescribeScalingPolicies(ctx, &DescribeScalingPoliciesInput{ServiceNamespace: NamespaceLambda, ResourceID: green.ResourceID})
	if len(ps.ScalingPolicies) != 0 {
		t.Error("deregistering kept the target's policies")
	}
	_, err := s.DeregisterScalableTarget(ctx, &DeregisterScalableTargetInput{TargetRef: green})
	want := "No scalable target registered for service namespace: lambda, resource ID: function:my-function:GREEN, scalable dimension: lambda:function:ProvisionedConcurrency"
	if err == nil || err.Code != "ObjectNotFoundException" || err.Message != want {
		t.Errorf("second deregister: %v", err)
	}
}

func TestErrors(t *testing.T) {
	s := seeded(t)
	ctx := context.Background()
	green := TargetRef{ServiceNamespace: NamespaceLambda, ResourceID: "function:my-function:GREEN", ScalableDimension: DimensionLambda}
	tests := []struct {
		name string
		call func() error
		code string
		msg  string
	}{
		{"new target without capacities", func() error {
			_, err := s.RegisterScalableTarget(ctx, &RegisterScalableTargetInput{TargetRef: green, MinCapacity: i32(1)})
			return errOf(err)
		}, "ValidationException", "MinCapacity and MaxCapacity are required"},
		{"min above max", func() error {
			_, err := s.RegisterScalableTarget(ctx, &RegisterScalableTargetInput{TargetRef: blue(), MinCapacity: i32(60)})
			return errOf(err)
		}, "ValidationException", "Minimum capacity cannot be greater than maximum capacity (60 > 50)"},
		{"a bad resource id", func() error {
			r := blue()
			r.ResourceID = "function:my-function"
			_, err := s.RegisterScalableTarget(ctx, &RegisterScalableTargetInput{TargetRef: r, MinCapacity: i32(1), MaxCapacity: i32(2)})
			return errOf(err)
		}, "ValidationException", "Unsupported resource ID"},
		{"a bad dimension", func() error {
			r := blue()
			r.ScalableDimension = "ecs:service:DesiredCount"
			_, err := s.DescribeScalingPolicies(ctx, &DescribeScalingPoliciesInput{ServiceNamespace: ""})
			if err == nil {
				_, err = s.PutScalingPolicy(ctx, &PutScalingPolicyInput{TargetRef: r, PolicyName: "p"})
			}
			return errOf(err)
		}, "ValidationException", "Value null at 'serviceNamespace'"},
		{"a policy on an unregistered target", func() error {
			_, err := s.PutScalingPolicy(ctx, &PutScalingPolicyInput{TargetRef: green, PolicyName: "p", TargetTrackingScalingPolicyConfiguration: json.RawMessage(`{}`)})
			return errOf(err)
		}, "ObjectNotFoundException", "No scalable target registered"},
		{"a target tracking policy without its configuration", func() error {
			_, err := s.PutScalingPolicy(ctx, &PutScalingPolicyInput{TargetRef: blue(), PolicyName: "p"})
			return errOf(err)
		}, "ValidationException", "TargetTrackingScalingPolicyConfiguration is required"},
		{"deleting a missing policy", func() error {
			_, err := s.DeleteScalingPolicy(ctx, &DeleteScalingPolicyInput{TargetRef: blue(), PolicyName: "nope"})
			return errOf(err)
		}, "ObjectNotFoundException", "No scaling policy found for service namespace: lambda, resource ID: function:my-function:BLUE, scalable dimension: lambda:function:ProvisionedConcurrency, policy name: nope"},
		{"deleting a missing action", func() error {
			_, err := s.DeleteScheduledAction(ctx, &DeleteScheduledActionInput{TargetRef: blue(), ScheduledActionName: "nope"})
			return errOf(err)
		}, "ObjectNotFoundException", "scheduled action name: nope"},
		{"a new action without a schedule", func() error {
			_, err := s.PutScheduledAction(ctx, &PutScheduledActionInput{TargetRef: blue(), ScheduledActionName: "new"})
			return errOf(err)
		}, "ValidationException", "Schedule is required"},
		{"MaxResults above 50", func() error {
			n := 51
			_, err := s.DescribeScalableTargets(ctx, &DescribeScalableTargetsInput{ServiceNamespace: NamespaceLambda, MaxResults: &n})
			return errOf(err)
		}, "ValidationException", "maxResults"},
		{"a bad token", func() error {
			_, err := s.DescribeScalableTargets(ctx, &DescribeScalableTargetsInput{ServiceNamespace: NamespaceLambda, NextToken: "zz"})
			return errOf(err)
		}, "InvalidNextTokenException", "Invalid token"},
	}
	for _, tt := range tests {
		err := tt.call()
		if err == nil {
			t.Errorf("%s: no error", tt.name)
			continue
		}
		if !strings.HasPrefix(err.Error(), tt.code) || !strings.Contains(err.Error(), tt.msg) {
			t.Errorf("%s: %v, want %s %q", tt.name, err, tt.code, tt.msg)
		}
	}
}

func TestPaging(t *testing.T) {
	s := seeded(t)
	ctx := context.Background()
	one := 1
	var names []string
	token := ""
	for i := 0; i < 5; i++ {
		out, err := s.DescribeScheduledActions(ctx, &DescribeScheduledActionsInput{ServiceNamespace: NamespaceLambda, MaxResults: &one, NextToken: token})
		if err != nil {
			t.Fatal(err)
		}
		for _, a := range out.ScheduledActions {
			names = append(names, a.ScheduledActionName)
		}
		if token = out.NextToken; token == "" {
			break
		}
	}
	if strings.Join(names, ",") != "morning,night" {
		t.Errorf("paged actions %v", names)
	}
}

func TestConfigValidate(t *testing.T) {
	for _, c := range []Config{
		{Targets: []Target{{Function: "f", Qualifier: "", Min: 1, Max: 2}}},
		{Targets: []Target{{Function: "f", Qualifier: "BLUE", Min: 3, Max: 2}}},
		{Targets: []Target{{Function: "f", Qualifier: "BLUE", Max: 2, Policies: []Policy{{Name: "p"}}}}},
		{Targets: []Target{{Function: "f", Qualifier: "BLUE", Max: 2, ScheduledActions: []ScheduledAction{{Name: "a"}}}}},
	} {
		if c.Validate() == nil {
			t.Errorf("Validate(%+v) accepted it", c.Targets)
		}
	}
}

// errOf turns a nil *awsproto.Error into a nil error.
func errOf(e *awsproto.Error) error {
	if e == nil {
		return nil
	}
	return e
}
