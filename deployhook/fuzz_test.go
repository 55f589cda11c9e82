package deployhook

import (
	"context"
	"errors"
	"os"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/codedeploy/types"
)

// FuzzAppSpec reads arbitrary AppSpec content: Resolve never panics, and either refuses it
// with an *Error naming GetDeployment or resolves a hook with every field a handler needs.
func FuzzAppSpec(f *testing.F) {
	for _, file := range []string{"testdata/appspec.yaml", "testdata/appspec.json"} {
		if b, err := os.ReadFile(file); err == nil {
			f.Add(string(b), false)
		}
	}
	f.Add("Resources: [{f: {Properties: {Name: f, Alias: a, CurrentVersion: 1, TargetVersion: 2}}}]\nHooks: [{AfterAllowTraffic: h}]", true)
	f.Add("&a [*a]", false)
	f.Add("Resources: {}", false)
	f.Fuzz(func(t *testing.T, content string, ended bool) {
		status := types.DeploymentStatusInProgress
		if ended {
			status = types.DeploymentStatusSucceeded
		}
		api := &fakeAPI{deployment: &types.DeploymentInfo{Status: status,
			Revision: &types.RevisionLocation{AppSpecContent: &types.AppSpecContent{Content: aws.String(content)}}}}
		h, err := Resolve(context.Background(), api, "d-ABCDEF123", "exec")
		if err != nil {
			var e *Error
			if !errors.As(err, &e) || e.Op != "GetDeployment" || e.DeploymentID != "d-ABCDEF123" || e.Code == "" {
				t.Fatalf("Resolve error %#v", err)
			}
			return
		}
		if h.FunctionName == "" || h.Alias == "" || h.CurrentVersion == "" || h.TargetVersion == "" || h.Source != SourceAppSpec {
			t.Fatalf("Resolve = %+v", h)
		}
		if !h.Answered && h.Event != BeforeAllowTraffic && h.Event != AfterAllowTraffic {
			t.Fatalf("a hook in progress without its event: %+v", h)
		}
	})
}
