package autoscale

import (
	"context"
	"fmt"
	"sort"
	"strings"

	"github.com/aws/aws-sdk-go-v2/aws"
	aas "github.com/aws/aws-sdk-go-v2/service/applicationautoscaling"

	"github.com/prewarm/prewarm/awsfault"
	"github.com/prewarm/prewarm/derive"
)

// Target is a scalable target on one of a function's aliases or versions.
type Target struct {
	Qualifier string
	Min, Max  int64
}

// Targets lists the Lambda scalable targets of the account and Region by function name, each
// function's sorted by qualifier. Application Auto Scaling filters only by exact resource id,
// so reconcile calls it once per pass rather than once per function.
func (c *Carrier) Targets(ctx context.Context) (map[string][]Target, error) {
	in := &aas.DescribeScalableTargetsInput{ServiceNamespace: Namespace, ScalableDimension: Dimension}
	byFunction := map[string][]Target{}
	for {
		out, err := c.api.DescribeScalableTargets(ctx, in)
		if err != nil {
			return nil, fmt.Errorf("list scalable targets: %w", awsfault.Wrap("DescribeScalableTargets", string(Namespace), err))
		}
		for _, t := range out.ScalableTargets {
			fn, q, ok := parseResourceID(aws.ToString(t.ResourceId))
			if !ok || t.ScalableDimension != Dimension {
				continue
			}
			tt := Target{Qualifier: q, Min: int64(aws.ToInt32(t.MinCapacity)), Max: int64(aws.ToInt32(t.MaxCapacity))}
			byFunction[fn] = append(byFunction[fn], tt)
		}
		if aws.ToString(out.NextToken) == "" {
			break
		}
		in.NextToken = out.NextToken
	}
	for _, ts := range byFunction {
		sort.Slice(ts, func(i, j int) bool { return ts[i].Qualifier < ts[j].Qualifier })
	}
	return byFunction, nil
}

// parseResourceID splits "function:NAME:QUALIFIER".
func parseResourceID(id string) (function, qualifier string, ok bool) {
	rest, ok := strings.CutPrefix(id, "function:")
	if !ok {
		return "", "", false
	}
	function, qualifier, ok = strings.Cut(rest, ":")
	return function, qualifier, ok && function != "" && qualifier != "" && !strings.Contains(qualifier, ":")
}

// Stray reports a scalable target on function:qualifier that manages an alias no longer
// receiving traffic: its provisioned concurrency was released (the target's policies or
// scheduled actions would put it back), or its demand over the window shows no executions.
// demand is nil when it was not read. The reason names the command that removes the target.
func Stray(function string, t Target, pc derive.State, demand *derive.Demand) (reason string, stray bool) {
	cmd := fmt.Sprintf("aws application-autoscaling deregister-scalable-target --service-namespace lambda --scalable-dimension %s --resource-id %s",
		Dimension, ResourceID(function, t.Qualifier))
	switch {
	case pc.Status == "" && pc.Requested == 0:
		return fmt.Sprintf("%s:%s has a scalable target (min %d, max %d) but no provisioned concurrency: its scaling would put back what was released; remove it with %s",
			function, t.Qualifier, t.Min, t.Max, cmd), true
	case demand != nil && (demand.Datapoints == 0 || demand.Peak == 0):
		return fmt.Sprintf("%s:%s has a scalable target (min %d, max %d) and ran no executions over the last %s: it keeps provisioned concurrency on an alias without traffic; remove it with %s",
			function, t.Qualifier, t.Min, t.Max, derive.FormatWindow(demand.Window), cmd), true
	}
	return "", false
}
