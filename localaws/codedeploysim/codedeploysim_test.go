package codedeploysim

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"go.yaml.in/yaml/v3"

	"github.com/prewarm/prewarm/localaws/clock"
)

var spec = Deployment{ID: "d-TESTDEPL1", FunctionName: "my-function", Alias: "live", CurrentVersion: "1", TargetVersion: "2",
	Hooks: Hooks{BeforeAllowTraffic: "CodeDeployHook_prewarm"}}

func newService(t *testing.T, ds ...Deployment) (*Service, *clock.Fake) {
	t.Helper()
	clk := clock.NewFake(time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC))
	s, err := New(Config{AccountID: "123456789012", Region: "us-east-1", World: World{Deployments: ds}, Clock: clk})
	if err != nil {
		t.Fatal(err)
	}
	return s, clk
}

func events(t *testing.T, s *Service, id string) map[string]string {
	t.Helper()
	info, ok := s.Deployment(id)
	if !ok {
		t.Fatalf("no deployment %s", id)
	}
	m := map[string]string{}
	for _, e := range info.Events {
		m[e.Name] = e.Status
	}
	return m
}

func TestHookAnsweredOnce(t *testing.T) {
	s, _ := newService(t, spec)
	ctx := context.Background()
	x, err := s.BeginHook(spec.ID, EventBeforeAllowTraffic)
	if err != nil {
		t.Fatal(err)
	}
	if got := events(t, s, spec.ID); got[EventStart] != StatusSucceeded || got[EventBeforeAllowTraffic] != StatusInProgress || got[EventAllowTraffic] != StatusPending {
		t.Fatalf("events after BeginHook: %v", got)
	}
	put := func(status string) (string, string) {
		out, err := s.putLifecycleEventHookExecutionStatus(ctx, &putLifecycleEventHookExecutionStatusInput{DeploymentID: spec.ID, ExecutionID: x, Status: status})
		if err != nil {
			return "", err.Code
		}
		return out.ExecutionID, ""
	}
	if _, code := put("InProgress"); code != "InvalidLifecycleEventHookExecutionStatusException" {
		t.Errorf("InProgress answer: %q", code)
	}
	if got, code := put(StatusFailed); code != "" || got != x {
		t.Errorf("first answer: %q, %q", got, code)
	}
	if _, code := put(StatusSucceeded); code != "LifecycleEventAlreadyCompletedException" {
		t.Errorf("second answer: %q", code)
	}
	if st, err := s.WaitHook(ctx, spec.ID, x); err != nil || st != StatusFailed {
		t.Errorf("WaitHook = %q, %v", st, err)
	}
	if got := events(t, s, spec.ID); got[EventBeforeAllowTraffic] != StatusFailed {
		t.Errorf("event after a Failed answer: %v", got)
	}
}

func TestWaitHookWakesOnAnswer(t *testing.T) {
	s, _ := newService(t, spec)
	x, _ := s.BeginHook(spec.ID, EventBeforeAllowTraffic)
	done := make(chan string)
	go func() {
		st, _ := s.WaitHook(context.Background(), spec.ID, x)
		done <- st
	}()
	if _, err := s.putLifecycleEventHookExecutionStatus(context.Background(), &putLifecycleEventHookExecutionStatusInput{DeploymentID: spec.ID, ExecutionID: x, Status: StatusSucceeded}); err != nil {
		t.Fatal(err)
	}
	if st := <-done; st != StatusSucceeded {
		t.Errorf("WaitHook = %q", st)
	}
}

func TestFinish(t *testing.T) {
	s, _ := newService(t, spec)
	x, _ := s.BeginHook(spec.ID, EventBeforeAllowTraffic)
	if err := s.Finish(spec.ID, DeploymentFailed, "HEALTH_CONSTRAINTS", "hook timed out"); err != nil {
		t.Fatal(err)
	}
	want := map[string]string{EventStart: StatusSucceeded, EventBeforeAllowTraffic: StatusFailed, EventAllowTraffic: StatusSkipped, EventAfterAllowTraffic: StatusSkipped, EventEnd: StatusSkipped}
	if diff := cmp.Diff(want, events(t, s, spec.ID)); diff != "" {
		t.Errorf("events (-want +got):\n%s", diff)
	}
	if st, _ := s.HookStatus(spec.ID, x); st != StatusFailed {
		t.Errorf("open hook after a failed deployment: %q", st)
	}
	out, err := s.getDeployment(context.Background(), &getDeploymentInput{DeploymentID: spec.ID})
	if err != nil || out.DeploymentInfo.Status != DeploymentFailed || out.DeploymentInfo.ErrorInformation.Message != "hook timed out" {
		t.Errorf("GetDeployment = %+v, %v", out, err)
	}
}

func TestAppSpecReadsBack(t *testing.T) {
	for _, asJSON := range []bool{false, true} {
		d := spec
		d.AppSpecJSON = asJSON
		d.Alias = `odd: "alias"`
		var got struct {
			Resources []map[string]struct {
				Type       string            `yaml:"Type"`
				Properties map[string]string `yaml:"Properties"`
			} `yaml:"Resources"`
			Hooks []map[string]string `yaml:"Hooks"`
		}
		if err := yaml.Unmarshal([]byte(appSpec(d)), &got); err != nil {
			t.Fatalf("json %v: %v\n%s", asJSON, err, appSpec(d))
		}
		res := got.Resources[0]["my-function"]
		want := map[string]string{"Name": "my-function", "Alias": `odd: "alias"`, "CurrentVersion": "1", "TargetVersion": "2"}
		if diff := cmp.Diff(want, res.Properties); diff != "" || res.Type != "AWS::Lambda::Function" || got.Hooks[0][EventBeforeAllowTraffic] != "CodeDeployHook_prewarm" {
			t.Errorf("json %v: AppSpec reads back as %+v (-want +got):\n%s", asJSON, got, diff)
		}
	}
}

func TestWorldValidation(t *testing.T) {
	for _, tt := range []struct {
		name string
		d    Deployment
		want string
	}{
		{"bad id", Deployment{ID: "deploy-1", FunctionName: "f", Alias: "a", CurrentVersion: "1", TargetVersion: "2"}, "not d- and nine"},
		{"no versions", Deployment{FunctionName: "f", Alias: "a"}, "required"},
		{"same versions", Deployment{FunctionName: "f", Alias: "a", CurrentVersion: "1", TargetVersion: "1"}, "both 1"},
		{"bad config", Deployment{FunctionName: "f", Alias: "a", CurrentVersion: "1", TargetVersion: "2", Config: "Canary50Percent"}, "deploymentConfig"},
		{"bad hook", Deployment{FunctionName: "f", Alias: "a", CurrentVersion: "1", TargetVersion: "2", InProgress: "AllowTraffic"}, "inProgress"},
	} {
		_, err := New(Config{World: World{Deployments: []Deployment{tt.d}}})
		if err == nil || !strings.Contains(err.Error(), tt.want) {
			t.Errorf("%s: %v; want an error containing %q", tt.name, err, tt.want)
		}
	}
	if _, err := New(Config{World: World{Deployments: []Deployment{spec, spec}}}); err == nil {
		t.Error("a deployment listed twice was accepted")
	}
}

func TestSteps(t *testing.T) {
	canary, ok := Steps("Canary10Percent5Minutes")
	if !ok || len(canary) != 2 || canary[0] != (Step{Weight: 0.1, Hold: 5 * time.Minute}) || canary[1].Weight != 1 {
		t.Errorf("canary steps %v", canary)
	}
	linear, ok := Steps("CodeDeployDefault.LambdaLinear10PercentEvery1Minute")
	if !ok || len(linear) != 10 || linear[4] != (Step{Weight: 0.5, Hold: time.Minute}) {
		t.Errorf("linear steps %v", linear)
	}
	if all, ok := Steps(""); !ok || len(all) != 1 || all[0].Weight != 1 {
		t.Errorf("default steps %v", all)
	}
	if _, ok := Steps("Canary50Percent"); ok {
		t.Error("an unknown configuration has steps")
	}
}
