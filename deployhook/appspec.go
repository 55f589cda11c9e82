package deployhook

import (
	"context"
	"strings"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/codedeploy"
	"github.com/aws/aws-sdk-go-v2/service/codedeploy/types"
	"go.yaml.in/yaml/v3"
)

// appSpec is the part of a Lambda deployment's AppSpec the hook reads. It is YAML or JSON
// (JSON is YAML, so one decoder reads both).
type appSpec struct {
	// Resources is a list of one-key maps: resource name → resource.
	Resources []map[string]appSpecResource `yaml:"Resources"`
	// Hooks is a list of one-key maps: lifecycle event → hook function.
	Hooks []map[string]string `yaml:"Hooks"`
}

type appSpecResource struct {
	Type       string `yaml:"Type"`
	Properties struct {
		Name           string `yaml:"Name"`
		Alias          string `yaml:"Alias"`
		CurrentVersion string `yaml:"CurrentVersion"`
		TargetVersion  string `yaml:"TargetVersion"`
	} `yaml:"Properties"`
}

const lambdaResourceType = "AWS::Lambda::Function"

// resolveAppSpec fills h from GetDeployment: the function and versions from the AppSpec, the
// event from the hooks it declares and the deployment's status.
func resolveAppSpec(ctx context.Context, api API, h Hook) (Hook, error) {
	const op = "GetDeployment"
	out, err := api.GetDeployment(ctx, &codedeploy.GetDeploymentInput{DeploymentId: aws.String(h.DeploymentID)})
	if err != nil {
		return Hook{}, classify(op, h.DeploymentID, err)
	}
	info := out.DeploymentInfo
	if info == nil {
		return Hook{}, permanent(op, h.DeploymentID, "NoDeploymentInfo", "the deployment has no deploymentInfo")
	}
	content := appSpecContent(info.Revision)
	if content == "" {
		return Hook{}, permanent(op, h.DeploymentID, "NoAppSpec", "the deployment has no Lambda target and its revision carries no AppSpec content")
	}
	var spec appSpec
	if err := yaml.Unmarshal([]byte(content), &spec); err != nil {
		return Hook{}, permanent(op, h.DeploymentID, "InvalidAppSpec", "the AppSpec is neither JSON nor YAML of the AppSpec shape: %v", err)
	}
	found := false
	for _, r := range spec.Resources {
		for _, res := range r {
			if res.Type != "" && res.Type != lambdaResourceType {
				continue
			}
			p := res.Properties
			h.FunctionName, h.Alias, h.CurrentVersion, h.TargetVersion = p.Name, p.Alias, p.CurrentVersion, p.TargetVersion
			found = true
		}
		if found {
			break
		}
	}
	if !found {
		return Hook{}, permanent(op, h.DeploymentID, "InvalidAppSpec", "the AppSpec has no %s resource", lambdaResourceType)
	}
	h.Source = SourceAppSpec
	if err := h.validate(op); err != nil {
		return Hook{}, err
	}
	var declared []Event
	for _, m := range spec.Hooks {
		for k := range m {
			if e := Event(k); e == BeforeAllowTraffic || e == AfterAllowTraffic {
				declared = append(declared, e)
			}
		}
	}
	switch info.Status {
	case types.DeploymentStatusSucceeded, types.DeploymentStatusFailed, types.DeploymentStatusStopped:
		h.Answered = true
		if len(declared) > 0 {
			h.Event = declared[len(declared)-1]
		}
		return h, nil
	}
	if len(declared) != 1 {
		// Both hooks (or neither) are declared and nothing says which runs: the target will
		// say so once CodeDeploy has created it, so a later try can tell.
		return Hook{}, &Error{Op: op, DeploymentID: h.DeploymentID, Code: "LifecycleEventUnknown", Transient: true,
			Message: "the deployment has no Lambda target yet and its AppSpec declares " + declaredList(declared) + ": which one runs is unknown"}
	}
	h.Event = declared[0]
	return h, nil
}

// appSpecContent returns the AppSpec text of a revision, "" when it carries none.
func appSpecContent(r *types.RevisionLocation) string {
	switch {
	case r == nil:
		return ""
	case r.AppSpecContent != nil && aws.ToString(r.AppSpecContent.Content) != "":
		return aws.ToString(r.AppSpecContent.Content)
	}
	// Deployments created with the String revision type, deprecated since, still carry their
	// AppSpec there: GetDeployment returns them as they were made. (Two directives: staticcheck
	// reads lint:ignore, golangci-lint reads nolint.)
	//lint:ignore SA1019 older deployments carry their AppSpec only in the deprecated field
	if s := r.String_; s != nil { //nolint:staticcheck // SA1019: as above, older deployments
		return aws.ToString(s.Content)
	}
	return ""
}

func declaredList(events []Event) string {
	if len(events) == 0 {
		return "no hook"
	}
	names := make([]string, len(events))
	for i, e := range events {
		names[i] = string(e)
	}
	return "hooks " + strings.Join(names, " and ")
}
