package autoscale_test

import (
	"context"
	"errors"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	aas "github.com/aws/aws-sdk-go-v2/service/applicationautoscaling"
	"github.com/aws/aws-sdk-go-v2/service/applicationautoscaling/types"
	"github.com/google/go-cmp/cmp"

	"github.com/prewarm/prewarm/autoscale"
	"github.com/prewarm/prewarm/awsfault"
	"github.com/prewarm/prewarm/localaws"
	"github.com/prewarm/prewarm/localaws/autoscalingsim"
	"github.com/prewarm/prewarm/localaws/localawstest"
)

func world() localaws.World {
	w := localaws.DefaultWorld()
	w.ScalableTargets = []autoscalingsim.Target{{
		Function: "my-function", Qualifier: "BLUE", Min: 10, Max: 80,
		Policies: []autoscalingsim.Policy{{Name: "utilisation", TargetValue: 0.7}},
		ScheduledActions: []autoscalingsim.ScheduledAction{
			{Name: "morning", Schedule: "cron(0 8 * * ? *)", Timezone: "Europe/Paris", Min: ptr(30)},
			{Name: "night", Schedule: "cron(0 22 * * ? *)", Min: ptr(10)},
		},
	}}
	return w
}

func ptr(v int32) *int32 { return &v }

// view is what an alias has in Application Auto Scaling, as the SDK reads it back.
type view struct {
	Min, Max         int32
	ScaleInSuspended bool
	Policies         []string
	Actions          []string
}

func read(t *testing.T, c *aas.Client, alias string) *view {
	t.Helper()
	ctx := context.Background()
	id := autoscale.ResourceID("my-function", alias)
	ts, err := c.DescribeScalableTargets(ctx, &aas.DescribeScalableTargetsInput{ServiceNamespace: autoscale.Namespace, ResourceIds: []string{id}, ScalableDimension: autoscale.Dimension})
	if err != nil {
		t.Fatal(err)
	}
	if len(ts.ScalableTargets) == 0 {
		return nil
	}
	st := ts.ScalableTargets[0]
	v := &view{Min: aws.ToInt32(st.MinCapacity), Max: aws.ToInt32(st.MaxCapacity), ScaleInSuspended: aws.ToBool(st.SuspendedState.DynamicScalingInSuspended)}
	ps, err := c.DescribeScalingPolicies(ctx, &aas.DescribeScalingPoliciesInput{ServiceNamespace: autoscale.Namespace, ResourceId: aws.String(id), ScalableDimension: autoscale.Dimension})
	if err != nil {
		t.Fatal(err)
	}
	for _, p := range ps.ScalingPolicies {
		cfg := p.TargetTrackingScalingPolicyConfiguration
		v.Policies = append(v.Policies, aws.ToString(p.PolicyName)+"@"+string(cfg.PredefinedMetricSpecification.PredefinedMetricType))
	}
	as, err := c.DescribeScheduledActions(ctx, &aas.DescribeScheduledActionsInput{ServiceNamespace: autoscale.Namespace, ResourceId: aws.String(id), ScalableDimension: autoscale.Dimension})
	if err != nil {
		t.Fatal(err)
	}
	for _, a := range as.ScheduledActions {
		v.Actions = append(v.Actions, aws.ToString(a.ScheduledActionName)+" "+aws.ToString(a.Schedule)+" "+aws.ToString(a.Timezone))
	}
	return v
}

// TestCarryOverOnEmulator carries a world-file scalable target from BLUE to GREEN with the
// real Application Auto Scaling client, then undoes one carried to a third alias.
func TestCarryOverOnEmulator(t *testing.T) {
	ctx := context.Background()
	_, url := localawstest.Start(t, world(), localaws.Options{})
	client := aas.NewFromConfig(localaws.SDKConfig(url))
	c := autoscale.New(client)
	blue := read(t, client, "BLUE")
	want := &view{Min: 10, Max: 80, Policies: []string{"utilisation@LambdaProvisionedConcurrencyUtilization"},
		Actions: []string{"morning cron(0 8 * * ? *) Europe/Paris", "night cron(0 22 * * ? *) "}}
	if diff := cmp.Diff(want, blue); diff != "" {
		t.Fatalf("seeded BLUE (-want +got):\n%s", diff)
	}

	p, err := c.Plan(ctx, "my-function", "BLUE")
	if err != nil {
		t.Fatal(err)
	}
	if _, err := c.Register(ctx, p, "GREEN"); err != nil {
		t.Fatal(err)
	}
	suspended := *want
	suspended.ScaleInSuspended = true
	if diff := cmp.Diff(&suspended, read(t, client, "GREEN")); diff != "" {
		t.Errorf("GREEN after Register (-want +got):\n%s", diff)
	}
	if diff := cmp.Diff(want, read(t, client, "BLUE")); diff != "" {
		t.Errorf("Register changed BLUE (-want +got):\n%s", diff)
	}
	n, ok, err := c.Desired(ctx, "my-function", "GREEN")
	if err != nil || !ok || n != 10 {
		t.Errorf("Desired(GREEN) = %d, %v, %v", n, ok, err)
	}

	if err := c.Finish(ctx, p, "GREEN"); err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff(want, read(t, client, "GREEN")); diff != "" {
		t.Errorf("GREEN after Finish (-want +got):\n%s", diff)
	}
	if v := read(t, client, "BLUE"); v != nil {
		t.Errorf("BLUE still registered after Finish: %+v", v)
	}

	// A failed switch GREEN → live changes nothing on either side.
	p2, err := c.Plan(ctx, "my-function", "GREEN")
	if err != nil {
		t.Fatal(err)
	}
	reg, err := c.Register(ctx, p2, "live")
	if err != nil {
		t.Fatal(err)
	}
	if read(t, client, "live") == nil {
		t.Fatal("Register did not register live")
	}
	if err := c.Abort(ctx, p2, reg); err != nil {
		t.Fatal(err)
	}
	if v := read(t, client, "live"); v != nil {
		t.Errorf("live still registered after Abort: %+v", v)
	}
	if diff := cmp.Diff(want, read(t, client, "GREEN")); diff != "" {
		t.Errorf("Abort changed GREEN (-want +got):\n%s", diff)
	}

	targets, err := c.Targets(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff(map[string][]autoscale.Target{"my-function": {{Qualifier: "GREEN", Min: 10, Max: 80}}}, targets); diff != "" {
		t.Errorf("Targets (-want +got):\n%s", diff)
	}
}

func TestEmulatorErrors(t *testing.T) {
	ctx := context.Background()
	_, url := localawstest.Start(t, world(), localaws.Options{})
	client := aas.NewFromConfig(localaws.SDKConfig(url))
	_, err := client.DeregisterScalableTarget(ctx, &aas.DeregisterScalableTargetInput{
		ServiceNamespace: autoscale.Namespace, ResourceId: aws.String("function:my-function:GREEN"), ScalableDimension: autoscale.Dimension})
	var nf *types.ObjectNotFoundException
	if !errors.As(err, &nf) {
		t.Errorf("deregistering nothing: %v, want ObjectNotFoundException", err)
	}
	_, err = client.RegisterScalableTarget(ctx, &aas.RegisterScalableTargetInput{
		ServiceNamespace: autoscale.Namespace, ResourceId: aws.String("function:my-function:GREEN"), ScalableDimension: autoscale.Dimension,
		MinCapacity: aws.Int32(9), MaxCapacity: aws.Int32(3)})
	var ve *types.ValidationException
	if !errors.As(err, &ve) || awsfault.IsTransient(awsfault.Wrap("RegisterScalableTarget", "function:my-function:GREEN", err)) {
		t.Errorf("min above max: %v, want a permanent ValidationException", err)
	}

	throttled := localaws.Options{Faults: localaws.Faults{ThrottleRate: localaws.Rates{"application-autoscaling:DescribeScalableTargets": 1}}}
	_, url = localawstest.Start(t, world(), throttled)
	c := autoscale.New(aas.NewFromConfig(localaws.SDKConfig(url), func(o *aas.Options) { o.RetryMaxAttempts = 1 }))
	_, err = c.Plan(ctx, "my-function", "BLUE")
	if !awsfault.IsTransient(err) || awsfault.Code(err) != "ThrottlingException" {
		t.Errorf("Plan throttled: %v, want a transient ThrottlingException", err)
	}
}
