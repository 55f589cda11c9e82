package deploy

import (
	"encoding/json"
	"testing"
)

// The examples are templates of a user's stacks: they must wire prewarm's stack by the names
// its template gives, which these tests resolve from both.

func loadExample(t *testing.T, name string) *Template {
	t.Helper()
	tmpl, err := Load("../examples/" + name)
	if err != nil {
		t.Fatalf("Load: %v", err)
	}
	return tmpl
}

func TestCodeDeployExample(t *testing.T) {
	prewarm := loadTemplate(t)
	pr := newResolver(t, prewarm, nil)
	hookName := policyValues(t, pr)(prewarm.Resources[hookFunctionID].Properties["FunctionName"])[0]
	allowed := pr.param("AllowedFunctionPattern")

	app := loadExample(t, "codedeploy-app.yaml")
	ar := newResolver(t, app, nil)
	fns := app.ResourcesOfType("AWS::Serverless::Function")
	if len(fns) == 0 {
		t.Fatalf("examples/codedeploy-app.yaml has no function")
	}
	for _, id := range fns {
		props := ar.properties(id)
		if props["AutoPublishAlias"] == nil {
			t.Errorf("%s has no AutoPublishAlias: CodeDeploy shifts an alias between versions", id)
		}
		if props["ProvisionedConcurrencyConfig"] != nil {
			t.Errorf("%s has ProvisionedConcurrencyConfig: PC on the alias breaks weighted deployments; prewarm puts it on versions", id)
		}
		if got := path(props, "DeploymentPreference", "Type"); got != "Canary10Percent5Minutes" {
			t.Errorf("%s DeploymentPreference.Type = %v, want Canary10Percent5Minutes", id, got)
		}
		for _, hook := range []string{"PreTraffic", "PostTraffic"} {
			if got := path(props, "DeploymentPreference", "Hooks", hook); got != hookName {
				t.Errorf("%s hook %s = %v by default, want prewarm's hook function %s", id, hook, got, hookName)
			}
		}
		name, _ := props["FunctionName"].(string)
		if !arnLike(allowed, name) {
			t.Errorf("%s FunctionName %q is outside prewarm's default AllowedFunctionPattern %q", id, name, allowed)
		}
	}
}

func TestCodePipelineExample(t *testing.T) {
	prewarm := loadTemplate(t)
	pr := newResolver(t, prewarm, nil)
	prewarmName := pr.properties(functionID)["FunctionName"]

	pipe := loadExample(t, "codepipeline-action.yaml")
	r := newResolver(t, pipe, map[string]string{
		"PipelineRoleArn": "arn:aws:iam::123456789012:role/pipeline",
		"ArtifactBucket":  "artifacts",
	})
	var invokes int
	for _, id := range pipe.ResourcesOfType("AWS::CodePipeline::Pipeline") {
		for _, stage := range list(r.properties(id)["Stages"]) {
			for _, action := range list(path(stage, "Actions")) {
				typ := path(action, "ActionTypeId")
				if path(typ, "Category") != "Invoke" || path(typ, "Provider") != "Lambda" {
					continue
				}
				invokes++
				conf := path(action, "Configuration")
				if got := path(conf, "FunctionName"); got != prewarmName {
					t.Errorf("%s invokes %v by default, want prewarm's function %v", id, got, prewarmName)
				}
				params := policyValues(t, r)(path(conf, "UserParameters"))
				if len(params) != 1 {
					t.Fatalf("UserParameters = %v, want one string", params)
				}
				var intent map[string]any
				if err := json.Unmarshal([]byte(params[0]), &intent); err != nil {
					t.Fatalf("UserParameters %q is not the JSON of an intent: %v", params[0], err)
				}
				for _, field := range []string{"functionName", "to", "correlationId"} {
					if s, _ := intent[field].(string); s == "" {
						t.Errorf("UserParameters intent %v has no %s", intent, field)
					}
				}
				if path(action, "Namespace") == nil {
					t.Errorf("the prewarm action has no Namespace: later actions cannot read its output variables")
				}
			}
		}
	}
	if invokes != 1 {
		t.Errorf("examples/codepipeline-action.yaml has %d Lambda invoke actions, want 1", invokes)
	}
}
