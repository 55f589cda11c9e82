package localaws_test

import (
	"strings"
	"testing"

	"github.com/prewarm/prewarm/localaws"
	"github.com/prewarm/prewarm/localaws/codedeploysim"
)

// TestWorldSeedsCodeDeploy reads the README's codeDeploy section into the home account's
// CodeDeploy, and refuses a deployment that cannot be.
func TestWorldSeedsCodeDeploy(t *testing.T) {
	base := `{"accountId": "123456789012", "region": "us-east-1", "readyAfter": "3s",
  "functions": [{"name": "checkout-api", "versions": ["1", "2", "3"], "aliases": {"live": "2"}}], "queues": []}`
	section := `"codeDeploy": {"deployments": [{"id": "d-CANARY001", "functionName": "checkout-api", "alias": "live",
  "currentVersion": "2", "targetVersion": "3", "deploymentConfig": "Canary10Percent5Minutes",
  "hooks": {"beforeAllowTraffic": "CodeDeployHook_prewarm", "afterAllowTraffic": "CodeDeployHook_prewarm"}}]},`
	withSection := func(s string) []byte { return []byte(strings.Replace(base, "{", "{"+s, 1)) }

	w, err := localaws.ParseWorld(withSection(section))
	if err != nil {
		t.Fatalf("ParseWorld: %v", err)
	}
	srv, err := localaws.New(w, localaws.Options{})
	if err != nil {
		t.Fatal(err)
	}
	info, ok := srv.CodeDeploy().Deployment("d-CANARY001")
	if !ok || info.Status != codedeploysim.DeploymentCreated || info.Config != "CodeDeployDefault.LambdaCanary10Percent5Minutes" || info.Hooks.BeforeAllowTraffic != "CodeDeployHook_prewarm" {
		t.Errorf("seeded deployment %+v, %v", info, ok)
	}

	for _, bad := range []string{
		`"codeDeploy": {"deployments": [{"id": "d-1", "functionName": "f", "alias": "a", "currentVersion": "1", "targetVersion": "2"}]},`,
		`"codeDeploy": {"deployments": [{"functionName": "f", "alias": "a", "currentVersion": "1", "targetVersion": "2", "deploymentConfig": "Linear50Percent"}]},`,
		`"codeDeploy": {"deployment": []},`,
	} {
		if _, err := localaws.ParseWorld(withSection(bad)); err == nil {
			t.Errorf("ParseWorld accepted %s", bad)
		}
	}
}
