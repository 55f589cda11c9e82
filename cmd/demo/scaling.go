package main

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strconv"
	"strings"

	"github.com/aws/aws-sdk-go-v2/aws"

	"github.com/prewarm/prewarm/localaws"
	"github.com/prewarm/prewarm/localaws/autoscalingsim"
	"github.com/prewarm/prewarm/localaws/cloudwatchsim"
	"github.com/prewarm/prewarm/localaws/lambdasim"
	"github.com/prewarm/prewarm/results"
)

// The functions the auto scaling and demand scenarios switch, which no other scenario
// touches, and what the demo's world gives them.
const (
	// scaledFunction's BLUE holds scaledPC and has a scalable target.
	scaledFunction = "catalog-api"
	scaledPC       = 10
	scaledMin      = 5
	scaledMax      = 40
	// demandFunction's BLUE ran at most demandPeak at once in the minutes before the demo.
	demandFunction = "pricing-api"
	demandPC       = 8
	demandPeak     = 14
)

// The intents the two scenarios send.
const (
	autoScalingIntent = `{"functionName":"catalog-api","from":"BLUE","to":"GREEN","release":"delete"}`
	demandIntent      = `{"functionName":"pricing-api","from":"BLUE","to":"GREEN","strategy":"demand"}`
)

// withScalingFunctions adds the two functions, catalog-api:BLUE's scalable target (one
// target tracking policy, one scheduled action) and pricing-api:BLUE's ConcurrentExecutions
// over the last four minutes.
func withScalingFunctions(w localaws.World) localaws.World {
	w.Functions = append(slices.Clone(w.Functions),
		lambdasim.Function{
			Name: scaledFunction, Versions: []string{"1", "2"}, Aliases: map[string]string{"BLUE": "1", "GREEN": "2"},
			InitFailureVersions: []string{}, ProvisionedConcurrency: map[string]int{"BLUE": scaledPC},
		},
		lambdasim.Function{
			Name: demandFunction, Versions: []string{"1", "2"}, Aliases: map[string]string{"BLUE": "1", "GREEN": "2"},
			InitFailureVersions: []string{}, ProvisionedConcurrency: map[string]int{"BLUE": demandPC},
		},
	)
	w.ScalableTargets = append(slices.Clone(w.ScalableTargets), autoscalingsim.Target{
		Function: scaledFunction, Qualifier: "BLUE", Min: scaledMin, Max: scaledMax,
		Policies:         []autoscalingsim.Policy{{Name: "utilisation", TargetValue: 0.7}},
		ScheduledActions: []autoscalingsim.ScheduledAction{{Name: "nightly", Schedule: "cron(0 22 * * ? *)"}},
	})
	w.Metrics = append(slices.Clone(w.Metrics), cloudwatchsim.Series{
		Function: demandFunction, Qualifier: "BLUE", Metric: "ConcurrentExecutions", Values: []float64{3, demandPeak, 9, 6},
	})
	return w
}

// inline invokes prewarm with an intent written out on the command line.
func inline(intent string) func(context.Context, *demo) error {
	return func(ctx context.Context, d *demo) error {
		d.printf("   aws lambda invoke --payload '%s'\n", intent)
		if _, err := d.invoke(ctx, []byte(intent)); err != nil {
			return fmt.Errorf("invoke with %s: %w", intent, err)
		}
		return nil
	}
}

// given prints what a scenario starts from, then sends.
func given(what string, send func(context.Context, *demo) error) func(context.Context, *demo) error {
	return func(ctx context.Context, d *demo) error {
		d.printf("   %s\n", what)
		return send(ctx, d)
	}
}

// autoScalingMoved checks that function:to has a scalable target with min and max, policies
// scaling policies and actions scheduled actions, and that function:from has none.
func autoScalingMoved(function, from, to string, min, max int32, policies, actions int) func(context.Context, *demo) error {
	return func(ctx context.Context, d *demo) error {
		var problems []string
		got, err := d.autoScaling.Plan(ctx, function, to)
		switch {
		case err != nil:
			problems = append(problems, err.Error())
		case got.Empty():
			d.printf("   %s:%s has no scalable target\n", function, to)
			problems = append(problems, fmt.Sprintf("%s:%s has no scalable target, want min %d, max %d, %d policies, %d scheduled actions", function, to, min, max, policies, actions))
		default:
			gotMin, gotMax := aws.ToInt32(got.Target.MinCapacity), aws.ToInt32(got.Target.MaxCapacity)
			d.printf("   %s:%s has a scalable target: min %d, max %d, %d %s, %d %s\n", function, to, gotMin, gotMax,
				len(got.Policies), plural(len(got.Policies), "policy"), len(got.Actions), plural(len(got.Actions), "scheduled action"))
			if gotMin != min || gotMax != max || len(got.Policies) != policies || len(got.Actions) != actions {
				problems = append(problems, fmt.Sprintf("%s:%s has a scalable target with min %d, max %d, %d policies, %d scheduled actions; want min %d, max %d, %d policies, %d scheduled actions",
					function, to, gotMin, gotMax, len(got.Policies), len(got.Actions), min, max, policies, actions))
			}
		}
		left, err := d.autoScaling.Plan(ctx, function, from)
		switch {
		case err != nil:
			problems = append(problems, err.Error())
		case left.Empty():
			d.printf("   %s:%s has no scalable target\n", function, from)
		default:
			problems = append(problems, fmt.Sprintf("%s:%s still has a scalable target (min %d, max %d); want none",
				function, from, aws.ToInt32(left.Target.MinCapacity), aws.ToInt32(left.Target.MaxCapacity)))
		}
		if err := released(function, from)(ctx, d); err != nil {
			problems = append(problems, err.Error())
		}
		if len(problems) > 0 {
			return errors.New(strings.Join(problems, "; "))
		}
		return nil
	}
}

// demandOf is the value column of a demand derivation: the metrics it was computed from.
func demandOf(d *results.Derivation) string {
	u := d.Demand
	if u == nil {
		return fmt.Sprintf("%d (demand)", d.Value)
	}
	s := fmt.Sprintf("%d (demand: peak %s over %s, %d %s", d.Value, formatFloat(u.Peak), u.Window, u.Datapoints, plural(u.Datapoints, "datapoint"))
	if u.Spillover > 0 {
		s += fmt.Sprintf(", spillover %s", formatFloat(u.Spillover))
	}
	return s + fmt.Sprintf(" ÷ %s)", formatFloat(u.Utilisation))
}

func formatFloat(f float64) string { return strconv.FormatFloat(f, 'f', -1, 64) }
