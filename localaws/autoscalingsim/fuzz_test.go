package autoscalingsim

import (
	"context"
	"encoding/json"
	"testing"

	"github.com/prewarm/prewarm/localaws/awsproto"
)

// FuzzOperations checks that no request body makes an operation panic, and that a target
// registered from one is described back.
func FuzzOperations(f *testing.F) {
	f.Add(`{"ServiceNamespace":"lambda","ResourceId":"function:f:BLUE","ScalableDimension":"lambda:function:ProvisionedConcurrency","MinCapacity":1,"MaxCapacity":3}`)
	f.Add(`{"ServiceNamespace":"lambda","ResourceId":"function:f:BLUE","ScalableDimension":"lambda:function:ProvisionedConcurrency","StartTime":1.7e9,"ScheduledActionName":"a","Schedule":"rate(1 hour)"}`)
	f.Add(`{"StartTime":"x"}`)
	f.Fuzz(func(t *testing.T, body string) {
		s := New(Config{AccountID: "123456789012", Region: "us-east-1"})
		ctx := context.Background()
		api := s.API().(*awsproto.JSON)
		registered := false
		for _, name := range api.OperationNames() {
			out, err := api.Operations[name](ctx, func(in any) *awsproto.Error { return awsproto.DecodeJSON([]byte(body), in) })
			if err != nil && (err.Code == "" || err.Status < 400) {
				t.Fatalf("%s: error without a code or status: %+v", name, err)
			}
			if err == nil {
				if _, jerr := json.Marshal(out); jerr != nil {
					t.Fatalf("%s: answer does not encode: %v", name, jerr)
				}
				registered = registered || name == "RegisterScalableTarget"
			}
		}
		if registered {
			var in RegisterScalableTargetInput
			_ = awsproto.DecodeJSON([]byte(body), &in)
			out, err := s.DescribeScalableTargets(ctx, &DescribeScalableTargetsInput{ServiceNamespace: in.ServiceNamespace, ResourceIDs: []string{in.ResourceID}, ScalableDimension: in.ScalableDimension})
			if err != nil || len(out.ScalableTargets) != 1 {
				t.Fatalf("registered %+v but Describe answers %+v, %v", in.TargetRef, out, err)
			}
		}
	})
}
