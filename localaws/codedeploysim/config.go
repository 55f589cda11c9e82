package codedeploysim

import (
	"slices"
	"strings"
	"time"
)

// Step is one traffic shift of a deployment: the target version's share of the alias's
// traffic, held for Hold before the next step.
type Step struct {
	Weight float64
	Hold   time.Duration
}

// configs are CodeDeploy's predefined Lambda deployment configurations.
var configs = map[string][]Step{
	"CodeDeployDefault.LambdaAllAtOnce":                     {{Weight: 1}},
	"CodeDeployDefault.LambdaCanary10Percent5Minutes":       canary(5 * time.Minute),
	"CodeDeployDefault.LambdaCanary10Percent10Minutes":      canary(10 * time.Minute),
	"CodeDeployDefault.LambdaCanary10Percent15Minutes":      canary(15 * time.Minute),
	"CodeDeployDefault.LambdaCanary10Percent30Minutes":      canary(30 * time.Minute),
	"CodeDeployDefault.LambdaLinear10PercentEvery1Minute":   linear(time.Minute),
	"CodeDeployDefault.LambdaLinear10PercentEvery2Minutes":  linear(2 * time.Minute),
	"CodeDeployDefault.LambdaLinear10PercentEvery3Minutes":  linear(3 * time.Minute),
	"CodeDeployDefault.LambdaLinear10PercentEvery10Minutes": linear(10 * time.Minute),
}

func canary(hold time.Duration) []Step { return []Step{{Weight: 0.1, Hold: hold}, {Weight: 1}} }

func linear(every time.Duration) []Step {
	var steps []Step
	for i := 1; i < 10; i++ {
		steps = append(steps, Step{Weight: float64(i) / 10, Hold: every})
	}
	return append(steps, Step{Weight: 1})
}

// configName accepts the full names and SAM's DeploymentPreference types
// (Canary10Percent5Minutes, Linear10PercentEvery1Minute, AllAtOnce).
func configName(name string) string {
	if name == "" {
		return DefaultConfig
	}
	if !strings.HasPrefix(name, "CodeDeployDefault.") {
		return "CodeDeployDefault.Lambda" + name
	}
	return name
}

// Steps returns the traffic shifts of deployment configuration name, false when it is not one.
func Steps(name string) ([]Step, bool) {
	steps, ok := configs[configName(name)]
	return slices.Clone(steps), ok
}

// ConfigNames lists the deployment configurations the emulator knows.
func ConfigNames() []string {
	names := make([]string, 0, len(configs))
	for n := range configs {
		names = append(names, n)
	}
	slices.Sort(names)
	return names
}
