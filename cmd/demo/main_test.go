package main

import (
	"bytes"
	"context"
	"errors"
	"io"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/prewarm/prewarm/localaws"
	"github.com/prewarm/prewarm/localaws/codepipelinesim"
	"github.com/prewarm/prewarm/localaws/lambdadeploy"
	"github.com/prewarm/prewarm/results"
)

// The demo's scenarios, with the emulator allocating in 200 ms instead of 3 s.
var fastDemo = []string{"-events", "../../events", "-ready-after", "200ms"}

func TestHelpExitsZero(t *testing.T) {
	var stdout, stderr bytes.Buffer
	if err := run(context.Background(), []string{"-h"}, &stdout, &stderr); err != nil {
		t.Fatalf("run -h: %v, want nil (exit 0)", err)
	}
	for _, want := range []string{"Usage: go run ./cmd/demo", "-ready-after", "-events", "promises"} {
		if !strings.Contains(stdout.String(), want) {
			t.Errorf("-h printed %q on stdout, want it to contain %q", stdout.String(), want)
		}
	}
	if stderr.Len() != 0 {
		t.Errorf("-h printed %q on stderr, want nothing", stderr.String())
	}
}

func TestBadFlagIsUsageError(t *testing.T) {
	for _, args := range [][]string{{"-no-such-flag"}, {"extra"}} {
		var stdout, stderr bytes.Buffer
		err := run(context.Background(), args, &stdout, &stderr)
		if !errors.Is(err, errUsage) {
			t.Errorf("run %q: %v, want errUsage (exit 2)", args, err)
		}
		if !strings.Contains(stderr.String(), "Usage:") || stdout.Len() != 0 {
			t.Errorf("run %q: stdout %q, stderr %q; want the usage on stderr only", args, stdout.String(), stderr.String())
		}
	}
}

func TestCompare(t *testing.T) {
	applied := results.Message{FunctionName: "my-function", Qualifier: "GREEN", Outcome: results.OutcomeApplied,
		Derivation: &results.Derivation{Strategy: "mirror", From: "BLUE", Value: 10}}
	ready := applied
	ready.Outcome = results.OutcomeReady
	rejected := results.Message{Outcome: results.OutcomeRejected, Reason: "body is not JSON: invalid character 'd'"}
	want := []outcome{
		{"my-function:GREEN", results.OutcomeApplied, "10 (mirror of BLUE)", ""},
		{"my-function:GREEN", results.OutcomeReady, "10 (mirror of BLUE)", ""},
		{"", results.OutcomeRejected, "", "not JSON"},
	}
	tests := []struct {
		name string
		want []outcome
		got  []results.Message
		out  []string
	}{
		{"all reached, any order", want, []results.Message{rejected, ready, applied}, nil},
		{"one missing", want, []results.Message{applied, rejected}, []string{
			"not reached: my-function:GREEN READY 10 (mirror of BLUE)",
		}},
		{"one not promised", want[:2], []results.Message{applied, ready, rejected}, []string{
			"not promised: — REJECTED — body is not JSON: invalid character 'd'",
		}},
		{"a duplicate is not promised", want[:1], []results.Message{applied, applied}, []string{
			"not promised: my-function:GREEN APPLIED 10 (mirror of BLUE)",
		}},
		{"another value", want[:1], []results.Message{withValue(applied, 11)}, []string{
			"not reached: my-function:GREEN APPLIED 10 (mirror of BLUE)",
			"not promised: my-function:GREEN APPLIED 11 (mirror of BLUE)",
		}},
		{"another reason", want[2:], []results.Message{{Outcome: results.OutcomeRejected, Reason: "too large"}}, []string{
			`not reached: — REJECTED (reason containing "not JSON")`,
			"not promised: — REJECTED — too large",
		}},
		{"nothing published", want[:1], nil, []string{
			"not reached: my-function:GREEN APPLIED 10 (mirror of BLUE)",
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if diff := cmp.Diff(tt.out, compare(tt.want, tt.got)); diff != "" {
				t.Errorf("compare (-want +got):\n%s", diff)
			}
		})
	}
}

func withValue(m results.Message, v int64) results.Message {
	d := *m.Derivation
	d.Value = v
	m.Derivation = &d
	return m
}

func TestWrapKeepsEveryWord(t *testing.T) {
	s := "lowered from 5000 to 100 by MAX_CONCURRENCY; lowered from 100 to 50 by the function's reserved concurrency"
	lines := wrap(s, 30)
	if got := strings.Join(lines, " "); got != s {
		t.Errorf("wrap lost text: %q, want %q", got, s)
	}
	for _, l := range lines {
		if len(l) > 30 {
			t.Errorf("line %q is longer than 30", l)
		}
	}
	if got := wrap("a-very-long-word-indeed", 5); len(got) != 1 || got[0] != "a-very-long-word-indeed" {
		t.Errorf("wrap of a long word = %q, want it whole on one line", got)
	}
}

// TestDemoReachesEveryPromise runs the whole demo: every scenario must reach exactly the
// outcomes it promises, read back from the results queue.
func TestDemoReachesEveryPromise(t *testing.T) {
	if testing.Short() {
		t.Skip("runs the whole demo (about 55 s)")
	}
	t.Parallel()
	var stdout, stderr bytes.Buffer
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()
	if err := run(ctx, fastDemo, &stdout, &stderr); err != nil {
		t.Fatalf("demo: %v\n%s", err, stdout.String())
	}
	out := stdout.String()
	if got, want := strings.Count(out, "   ok: as promised"), len(scenarios()); got != want {
		t.Errorf("%d scenarios reported as promised, want %d:\n%s", got, want, out)
	}
	if strings.Contains(out, "…") {
		t.Errorf("the output cuts a text short (…):\n%s", out)
	}
	for line := range strings.Lines(out) {
		if strings.HasSuffix(strings.TrimSuffix(line, "\n"), " ") {
			t.Errorf("line ends in spaces: %q", line)
		}
	}
}

// TestDemoFailsNamingTheScenario breaks one promise of the first scenario: the demo must fail
// with the scenario's name and say which outcome was not reached and which was not promised.
func TestDemoFailsNamingTheScenario(t *testing.T) {
	if testing.Short() {
		t.Skip("runs a scenario of the demo")
	}
	t.Parallel()
	world := localaws.DefaultWorld()
	world.ReadyAfter = localaws.Duration(200 * time.Millisecond)
	var stdout bytes.Buffer
	d, stop, err := newDemo(world, "../../events", &stdout, io.Discard)
	if err != nil {
		t.Fatal(err)
	}
	defer stop()
	ss := scenarios()[:1]
	if ss[0].name != "alias-switch" || ss[0].want[1].outcome != results.OutcomeReady {
		t.Fatalf("the first scenario is %s promising %v; the test expects alias-switch promising READY second", ss[0].name, ss[0].want)
	}
	ss[0].want[1].outcome = results.OutcomeFailed

	err = d.run(context.Background(), ss)
	if err == nil || !strings.Contains(err.Error(), "alias-switch") {
		t.Fatalf("demo with a broken promise: %v, want an error naming alias-switch", err)
	}
	for _, want := range []string{
		"NOT AS PROMISED (scenario alias-switch)",
		"not reached: my-function:GREEN FAILED 10 (mirror of BLUE)",
		"not promised: my-function:GREEN READY 10 (mirror of BLUE) READY — READY after",
	} {
		if !strings.Contains(stdout.String(), want) {
			t.Errorf("output does not say %q:\n%s", want, stdout.String())
		}
	}
}

// TestDemoFailsNamingTheGatedScenarios breaks one promise of each CodeDeploy and CodePipeline
// scenario, each of another kind (an outcome, what the results name as their source, the
// state left behind): the demo must fail naming exactly those scenarios, saying what differs.
// It runs the gated scenarios after the two that leave the state the CodePipeline job switches
// from (my-function:GREEN warm, BLUE released); the deployments start from the world file.
func TestDemoFailsNamingTheGatedScenarios(t *testing.T) {
	if testing.Short() {
		t.Skip("runs scenarios of the demo")
	}
	t.Parallel()
	world := localaws.DefaultWorld()
	world.ReadyAfter = localaws.Duration(200 * time.Millisecond)
	var stdout bytes.Buffer
	d, stop, err := newDemo(world, "../../events", &stdout, io.Discard)
	if err != nil {
		t.Fatal(err)
	}
	defer stop()
	byName := map[string]scenario{}
	for _, s := range scenarios() {
		byName[s.name] = s
	}
	var ss []scenario
	for _, name := range []string{"alias-switch", "sqs", "codedeploy-canary", "codedeploy-rollback", "codepipeline-job"} {
		s, ok := byName[name]
		if !ok {
			t.Fatalf("the demo has no scenario %s", name)
		}
		ss = append(ss, s)
	}
	canary, rollback, job := &ss[2], &ss[3], &ss[4]
	if canary.want[2].target != "checkout-payments:1" || canary.want[2].outcome != results.OutcomeReleased {
		t.Fatalf("codedeploy-canary promises %v; the test expects version 1 RELEASED third", canary.want)
	}
	canary.want[2].target = "checkout-payments:2"
	rollback.source = &source{trigger: results.TriggerCodeDeploy, deploymentID: canaryDeployment}
	job.check = jobEnded(pipelineJob, codepipelinesim.JobSucceeded, map[string]string{
		"outcome": "READY", "function": "my-function", "qualifier": "BLUE", "value": "16",
	})

	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()
	err = d.run(ctx, ss)
	want := "3 of 5 scenarios did not reach their promised outcomes: codedeploy-canary, codedeploy-rollback, codepipeline-job"
	if err == nil || err.Error() != want {
		t.Fatalf("demo with broken promises: %v, want %q\n%s", err, want, stdout.String())
	}
	out := stdout.String()
	// Problems wrap onto several lines; compare with the line breaks and indents gone.
	flat := strings.Join(strings.Fields(out), " ")
	for _, want := range []string{
		"NOT AS PROMISED (scenario codedeploy-canary)",
		`not reached: checkout-payments:2 RELEASED (reason containing "provisioned concurrency removed from 1")`,
		"not promised: checkout-payments:1 RELEASED",
		"NOT AS PROMISED (scenario codedeploy-rollback)",
		`checkout-payments:3 APPLIED: trigger "codedeploy" deploymentId "d-ROLLBACK1" jobId "", want trigger "codedeploy" deploymentId "d-CANARY001"`,
		`checkout-payments:3 FAILED: trigger "codedeploy" deploymentId "d-ROLLBACK1"`,
		"NOT AS PROMISED (scenario codepipeline-job)",
		"output variables function=my-function outcome=READY qualifier=BLUE value=15, want Succeeded with function=my-function outcome=READY qualifier=BLUE value=16",
	} {
		if !strings.Contains(flat, want) {
			t.Errorf("output does not say %q:\n%s", want, out)
		}
	}
	// Each broken promise shows as its own problems and nothing else differs.
	if got := strings.Count(out, "     - "); got != 5 {
		t.Errorf("%d problems reported, want 5 (2 for the canary's outcome, 2 for the rollback's source, 1 for the job's state):\n%s", got, out)
	}
}

// TestDemoFailsNamingTheScalingScenarios breaks one promise of the auto scaling scenario (the
// state left behind) and one of the demand scenario (the value): the demo must fail naming
// exactly those two, saying what differs. Their functions are the demo's alone, so they run
// from the world file.
func TestDemoFailsNamingTheScalingScenarios(t *testing.T) {
	if testing.Short() {
		t.Skip("runs scenarios of the demo")
	}
	t.Parallel()
	world := localaws.DefaultWorld()
	world.ReadyAfter = localaws.Duration(200 * time.Millisecond)
	var stdout bytes.Buffer
	d, stop, err := newDemo(world, "../../events", &stdout, io.Discard)
	if err != nil {
		t.Fatal(err)
	}
	defer stop()
	var ss []scenario
	for _, s := range scenarios() {
		if s.name == "autoscaling-switch" || s.name == "demand" {
			ss = append(ss, s)
		}
	}
	if len(ss) != 2 || ss[0].name != "autoscaling-switch" || ss[1].want[0].outcome != results.OutcomeApplied {
		t.Fatalf("scenarios %v; the test expects autoscaling-switch, then demand promising APPLIED first", ss)
	}
	ss[0].check = autoScalingMoved(scaledFunction, "BLUE", "GREEN", scaledMin, scaledMax+1, 1, 1)
	ss[1].want[0].value = "21 (demand: peak 14 over 24h, 4 datapoints ÷ 0.7)"

	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	err = d.run(ctx, ss)
	want := "2 of 2 scenarios did not reach their promised outcomes: autoscaling-switch, demand"
	if err == nil || err.Error() != want {
		t.Fatalf("demo with broken promises: %v, want %q\n%s", err, want, stdout.String())
	}
	out := stdout.String()
	flat := strings.Join(strings.Fields(out), " ")
	for _, want := range []string{
		"NOT AS PROMISED (scenario autoscaling-switch)",
		"catalog-api:GREEN has a scalable target with min 5, max 40, 1 policies, 1 scheduled actions; want min 5, max 41, 1 policies, 1 scheduled actions",
		"NOT AS PROMISED (scenario demand)",
		"not reached: pricing-api:GREEN APPLIED 21 (demand: peak 14 over 24h, 4 datapoints ÷ 0.7)",
		"not promised: pricing-api:GREEN APPLIED 20 (demand: peak 14 over 24h, 4 datapoints ÷ 0.7) IN_PROGRESS",
	} {
		if !strings.Contains(flat, want) {
			t.Errorf("output does not say %q:\n%s", want, out)
		}
	}
	if got := strings.Count(out, "     - "); got != 3 {
		t.Errorf("%d problems reported, want 3 (1 for the auto scaling state, 2 for the demand value):\n%s", got, out)
	}
}

// TestValueOfDemand: a demand derivation prints the metrics it was computed from, spillover
// only when there was some.
func TestValueOfDemand(t *testing.T) {
	m := results.Message{Derivation: &results.Derivation{Strategy: results.StrategyDemand, Value: 23,
		Demand: &results.Demand{Peak: 14.5, Window: "6h", Utilisation: 0.65, Datapoints: 1}}}
	if got, want := valueOf(m), "23 (demand: peak 14.5 over 6h, 1 datapoint ÷ 0.65)"; got != want {
		t.Errorf("valueOf = %q, want %q", got, want)
	}
	m.Derivation.Demand.Spillover = 3
	if got, want := valueOf(m), "23 (demand: peak 14.5 over 6h, 1 datapoint, spillover 3 ÷ 0.65)"; got != want {
		t.Errorf("valueOf with spillover = %q, want %q", got, want)
	}
}

func TestCompareSource(t *testing.T) {
	src := source{trigger: results.TriggerCodePipeline, jobID: "job-1"}
	ok := results.Message{FunctionName: "my-function", Qualifier: "BLUE", Outcome: results.OutcomeReady, Trigger: results.TriggerCodePipeline, JobID: "job-1"}
	otherJob := ok
	otherJob.JobID = "job-2"
	direct := ok
	direct.Trigger, direct.JobID = results.TriggerDirect, ""
	got := compareSource(src, []results.Message{ok, otherJob, direct})
	want := []string{
		`my-function:BLUE READY: trigger "codepipeline" deploymentId "" jobId "job-2", want trigger "codepipeline" jobId "job-1"`,
		`my-function:BLUE READY: trigger "direct" deploymentId "" jobId "", want trigger "codepipeline" jobId "job-1"`,
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("compareSource (-want +got):\n%s", diff)
	}
}

// TestDemoClockSkips: the deployment driver's waits move the emulator's clock ahead and wake
// what waits on it; the wall clock still moves it too.
func TestDemoClockSkips(t *testing.T) {
	c := &demoClock{}
	before := c.Now()
	hold := c.After(5 * time.Minute)
	select {
	case <-hold:
		t.Fatal("a five-minute wait fired before the clock moved")
	default:
	}
	skipping{c}.After(5 * time.Minute)
	select {
	case <-hold:
	case <-time.After(10 * time.Second):
		t.Fatal("a five-minute wait did not fire once the driver skipped five minutes")
	}
	if got := c.Now().Sub(before); got < 5*time.Minute {
		t.Errorf("the clock moved %s, want at least 5m", got)
	}
	timeout := skipping{c}.After(time.Hour)
	select {
	case <-timeout:
		t.Error("the driver's one-hour hook timeout was skipped")
	default:
	}
	select {
	case <-c.After(time.Millisecond):
	case <-time.After(10 * time.Second):
		t.Fatal("a wait did not fire by the wall clock")
	}
}

// TestPrintHistory: one line a step, times from the start, execution ids left out, weights as
// where the traffic goes.
func TestPrintHistory(t *testing.T) {
	start := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	const exec = "eyJleGVjdXRpb24iOiIxIn0="
	res := lambdadeploy.Result{DeploymentID: "d-CANARY001", Status: "Failed", ErrorCode: "HOOK_EXECUTION_FAILURE", History: []lambdadeploy.Step{
		{At: start, Event: "Start", What: "Succeeded"},
		{At: start, Event: "BeforeAllowTraffic", What: "InProgress", Detail: exec},
		{At: start.Add(5 * time.Second), Event: "BeforeAllowTraffic", What: "Succeeded", Detail: exec},
		{At: start.Add(5 * time.Second), Event: "AllowTraffic", What: "Shifted", Detail: "0.3"},
		{At: start.Add(5*time.Minute + 5*time.Second), Event: "AllowTraffic", What: "Shifted", Detail: "1"},
	}}
	var out bytes.Buffer
	d := &demo{out: &output{w: &out}}
	d.printHistory(res, "2")
	want := `   deployment d-CANARY001, on the emulator's clock:
       +0s    Start               Succeeded
       +0s    BeforeAllowTraffic  InProgress
       +5s    BeforeAllowTraffic  Succeeded
       +5s    AllowTraffic        Shifted     30% of traffic on version 2
       +5m5s  AllowTraffic        Shifted     all traffic on version 2
   deployment d-CANARY001 ended Failed (HOOK_EXECUTION_FAILURE)
`
	if diff := cmp.Diff(want, out.String()); diff != "" {
		t.Errorf("history (-want +got):\n%s", diff)
	}
}
