package main

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"maps"
	"slices"
	"strconv"
	"strings"
	"sync"
	"text/tabwriter"
	"time"

	"github.com/aws/aws-lambda-go/lambda"
	"github.com/aws/aws-lambda-go/lambdacontext"
	"github.com/aws/aws-sdk-go-v2/aws"
	lambdasvc "github.com/aws/aws-sdk-go-v2/service/lambda"
	lambdatypes "github.com/aws/aws-sdk-go-v2/service/lambda/types"

	"github.com/prewarm/prewarm/localaws"
	"github.com/prewarm/prewarm/localaws/codedeploysim"
	"github.com/prewarm/prewarm/localaws/codepipelinesim"
	"github.com/prewarm/prewarm/localaws/esm"
	"github.com/prewarm/prewarm/localaws/lambdadeploy"
	"github.com/prewarm/prewarm/results"
)

// The gated scenarios' deployments and job, named in advance so that their promises can name
// them.
const (
	hookFunction     = "CodeDeployHook_prewarm"
	canaryDeployment = "d-CANARY001"
	failedDeployment = "d-ROLLBACK1"
	pipelineJob      = "5e1f0c2a-7b3d-4e8f-9a6b-0c1d2e3f4a5b"
	// brokenVersion is the version of checkout-payments the demo adds, whose init fails.
	brokenVersion = "3"
)

// withBrokenVersion gives checkout-payments a version 3 whose initialisation fails, for the
// deployment that must roll back.
func withBrokenVersion(w localaws.World) localaws.World {
	for i := range w.Functions {
		if f := &w.Functions[i]; f.Name == "checkout-payments" {
			f.Versions = append(slices.Clone(f.Versions), brokenVersion)
			f.InitFailureVersions = append(slices.Clone(f.InitFailureVersions), brokenVersion)
		}
	}
	return w
}

// canary is the deployment of checkout-payments:live from one version to another that SAM's
// DeploymentPreference {Type: Canary10Percent5Minutes, Hooks: {PreTraffic, PostTraffic}} makes,
// with prewarm as both hooks.
func canary(id, from, to string) codedeploysim.Deployment {
	return codedeploysim.Deployment{
		ID: id, Application: "checkout", DeploymentGroup: "checkout-payments",
		Config:       "CodeDeployDefault.LambdaCanary10Percent5Minutes",
		FunctionName: "checkout-payments", Alias: "live", CurrentVersion: from, TargetVersion: to,
		Hooks: codedeploysim.Hooks{BeforeAllowTraffic: hookFunction, AfterAllowTraffic: hookFunction},
	}
}

// deploy runs spec with the emulator's deployment driver, prewarm in process as the hook
// function, and prints the deployment's history.
func deploy(spec codedeploysim.Deployment) func(context.Context, *demo) error {
	return func(ctx context.Context, d *demo) error {
		d.printf("   CodeDeploy deployment %s: %s:%s %s → %s, %s, hooks %s\n", spec.ID, spec.FunctionName, spec.Alias,
			spec.CurrentVersion, spec.TargetVersion, strings.TrimPrefix(spec.Config, "CodeDeployDefault."), hookFunction)
		driver, err := lambdadeploy.New(lambdadeploy.Config{
			CodeDeploy: d.srv.CodeDeploy(), Lambda: d.srv.Lambda(),
			Invokers: map[string]esm.Invoker{hookFunction: esm.FuncInvoker(d.invokeHook)},
			Clock:    skipping{d.clock},
		})
		if err != nil {
			return fmt.Errorf("deployment driver: %w", err)
		}
		runCtx, cancel := context.WithTimeout(ctx, 2*time.Minute)
		defer cancel()
		res, err := driver.Deploy(runCtx, spec)
		if err != nil {
			return fmt.Errorf("deploy %s: %w", spec.ID, err)
		}
		d.printHistory(res, spec.TargetVersion)
		return nil
	}
}

// invokeHook runs prewarm as the hook function CodeDeploy invokes.
func (d *demo) invokeHook(ctx context.Context, payload []byte) ([]byte, error) {
	ctx = lambdacontext.NewContext(ctx, &lambdacontext.LambdaContext{
		AwsRequestID:       fmt.Sprintf("demo-request-%d", d.invokes.Add(1)),
		InvokedFunctionArn: d.hookARN,
	})
	ctx, cancel := context.WithTimeout(ctx, time.Minute)
	defer cancel()
	return lambda.NewHandler(d.h.Invoke).Invoke(ctx, payload)
}

// printHistory prints the driver's history, times on the emulator's clock from the start.
// The hook execution ids are left out: they are long and say nothing to a reader.
func (d *demo) printHistory(res lambdadeploy.Result, target string) {
	var table bytes.Buffer
	tw := tabwriter.NewWriter(&table, 0, 0, 2, ' ', 0)
	var start time.Time
	executions := map[string]bool{}
	for i, st := range res.History {
		if i == 0 {
			start = st.At
		}
		detail := st.Detail
		switch {
		case st.What == codedeploysim.StatusInProgress && detail != "":
			executions[detail] = true
			detail = ""
		case executions[detail]:
			detail = ""
		case st.What == "Shifted":
			detail = shiftedTo(detail, target)
		case st.What == "Invoked":
			// Recorded when the invocation returns, which may be after the hook answered.
			detail = detail + " returned"
		}
		_, _ = fmt.Fprintf(tw, "     \t+%s\t%s\t%s\t%s\n", st.At.Sub(start).Round(100*time.Millisecond), st.Event, st.What, detail)
	}
	_ = tw.Flush()
	d.printf("   deployment %s, on the emulator's clock:\n", res.DeploymentID)
	for line := range strings.Lines(table.String()) {
		d.printf("%s\n", strings.TrimRight(line, " \n"))
	}
	end := res.Status
	if res.ErrorCode != "" {
		end += " (" + res.ErrorCode + ")"
	}
	d.printf("   deployment %s ended %s\n", res.DeploymentID, end)
}

// shiftedTo says where a Shifted step's weight sends traffic.
func shiftedTo(weight, target string) string {
	w, err := strconv.ParseFloat(weight, 64)
	switch {
	case err != nil:
		return "weight " + weight + " on version " + target
	case w >= 1:
		return "all traffic on version " + target
	}
	return fmt.Sprintf("%.4g%% of traffic on version %s", w*100, target)
}

// deployed checks what a deployment left: its status, the alias on version without routing
// weights, and the provisioned concurrency of the versions (0 meaning none).
func deployed(id, status, version string, pc map[string]int32) func(context.Context, *demo) error {
	return func(ctx context.Context, d *demo) error {
		var problems []string
		info, ok := d.srv.CodeDeploy().Deployment(id)
		if !ok {
			return fmt.Errorf("deployment %s does not exist", id)
		}
		if info.Status != status {
			problems = append(problems, fmt.Sprintf("deployment %s is %q, want %s", id, info.Status, status))
		}
		got, weights, ok := d.srv.Lambda().Alias(info.FunctionName, info.Alias)
		if len(weights) == 0 {
			d.printf("   %s:%s on version %s, no routing weights\n", info.FunctionName, info.Alias, got)
		} else {
			d.printf("   %s:%s on version %s, routing weights %v\n", info.FunctionName, info.Alias, got, weights)
		}
		if !ok || got != version || len(weights) != 0 {
			problems = append(problems, fmt.Sprintf("alias %s:%s on version %s with weights %v, want on version %s without weights", info.FunctionName, info.Alias, got, weights, version))
		}
		for _, v := range slices.Sorted(maps.Keys(pc)) {
			check := stillWarm(info.FunctionName, v, pc[v])
			if pc[v] == 0 {
				check = released(info.FunctionName, v)
			}
			if err := check(ctx, d); err != nil {
				problems = append(problems, err.Error())
			}
		}
		if len(problems) > 0 {
			return errors.New(strings.Join(problems, "; "))
		}
		return nil
	}
}

// released checks that function:qualifier holds no provisioned concurrency.
func released(function, qualifier string) func(context.Context, *demo) error {
	return func(ctx context.Context, d *demo) error {
		out, err := d.lambda.GetProvisionedConcurrencyConfig(ctx, &lambdasvc.GetProvisionedConcurrencyConfigInput{
			FunctionName: aws.String(function), Qualifier: aws.String(qualifier),
		})
		var notFound *lambdatypes.ProvisionedConcurrencyConfigNotFoundException
		if errors.As(err, &notFound) {
			d.printf("   %s:%s has no provisioned concurrency\n", function, qualifier)
			return nil
		}
		if err != nil {
			return fmt.Errorf("read %s:%s: %w", function, qualifier, err)
		}
		return fmt.Errorf("%s:%s still has %d provisioned, %s; want none", function, qualifier, aws.ToInt32(out.RequestedProvisionedConcurrentExecutions), out.Status)
	}
}

// pipelineIntent is the job's UserParameters: a blue/green switch that releases the old side.
const pipelineIntent = `{"functionName":"my-function","from":"GREEN","to":"BLUE","release":"delete","correlationId":"pipeline-run-1"}`

// pipeline creates a Lambda invoke action's job and invokes prewarm with its CodePipeline.job
// event, as CodePipeline does.
func pipeline(ctx context.Context, d *demo) error {
	id, err := d.srv.CodePipeline().CreateJob(codepipelinesim.Job{ID: pipelineJob, FunctionName: "prewarm", UserParameters: pipelineIntent})
	if err != nil {
		return fmt.Errorf("create CodePipeline job: %w", err)
	}
	ev, err := d.srv.CodePipeline().Event(id)
	if err != nil {
		return fmt.Errorf("CodePipeline job %s: %w", id, err)
	}
	d.printf("   CodePipeline job %s, Lambda invoke action with UserParameters %s\n", id, pipelineIntent)
	if _, err := d.invoke(ctx, ev); err != nil {
		return fmt.Errorf("invoke with CodePipeline job %s: %w", id, err)
	}
	return nil
}

// jobEnded checks that the job ended as status with exactly the output variables want.
func jobEnded(id, status string, want map[string]string) func(context.Context, *demo) error {
	return func(_ context.Context, d *demo) error {
		got, res, ok := d.srv.CodePipeline().Status(id)
		if !ok {
			return fmt.Errorf("CodePipeline job %s does not exist", id)
		}
		var vars map[string]string
		if res != nil {
			vars = res.OutputVariables
		}
		d.printf("   CodePipeline job %s: %s, output variables %s\n", id, got, formatVars(vars))
		if got != status || !maps.Equal(vars, want) {
			return fmt.Errorf("CodePipeline job %s is %s with output variables %s, want %s with %s", id, got, formatVars(vars), status, formatVars(want))
		}
		return nil
	}
}

func formatVars(vars map[string]string) string {
	if len(vars) == 0 {
		return "(none)"
	}
	parts := make([]string, 0, len(vars))
	for _, k := range slices.Sorted(maps.Keys(vars)) {
		parts = append(parts, k+"="+vars[k])
	}
	return strings.Join(parts, " ")
}

// source is what delivered a scenario's intents, as its result messages must name it.
type source struct {
	trigger      string
	deploymentID string // of a CodeDeploy hook
	jobID        string // of a CodePipeline job
}

// compareSource describes every message that does not name src.
func compareSource(src source, got []results.Message) []string {
	var problems []string
	for _, m := range got {
		if m.Trigger != src.trigger || m.DeploymentID != src.deploymentID || m.JobID != src.jobID {
			problems = append(problems, fmt.Sprintf("%s %s: trigger %q deploymentId %q jobId %q, want %s",
				targetOf(m.FunctionName+":"+m.Qualifier), m.Outcome, m.Trigger, m.DeploymentID, m.JobID, src))
		}
	}
	return problems
}

func (s source) String() string {
	out := fmt.Sprintf("trigger %q", s.trigger)
	if s.deploymentID != "" {
		out += fmt.Sprintf(" deploymentId %q", s.deploymentID)
	}
	if s.jobID != "" {
		out += fmt.Sprintf(" jobId %q", s.jobID)
	}
	return out
}

// demoClock is the emulator's clock: the wall clock, moved ahead by the waits the deployment
// driver skips, so that a canary's five-minute hold passes at once while provisioned
// concurrency still takes -ready-after of real time to allocate.
type demoClock struct {
	mu      sync.Mutex
	ahead   time.Duration
	waiters []waiter
}

type waiter struct {
	at time.Time
	ch chan time.Time
}

func (c *demoClock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return time.Now().Add(c.ahead)
}

// After fires once the clock reaches now+d, by the wall clock or by skip, whichever is first.
func (c *demoClock) After(d time.Duration) <-chan time.Time {
	ch := make(chan time.Time, 1)
	c.mu.Lock()
	c.waiters = append(c.waiters, waiter{at: time.Now().Add(c.ahead + d), ch: ch})
	c.mu.Unlock()
	time.AfterFunc(d, c.wake)
	return ch
}

// skip moves the clock ahead by d.
func (c *demoClock) skip(d time.Duration) {
	c.mu.Lock()
	c.ahead += d
	c.mu.Unlock()
	c.wake()
}

func (c *demoClock) wake() {
	c.mu.Lock()
	defer c.mu.Unlock()
	now := time.Now().Add(c.ahead)
	kept := c.waiters[:0]
	for _, w := range c.waiters {
		if w.at.After(now) {
			kept = append(kept, w)
			continue
		}
		w.ch <- now // buffered, and sent to once
	}
	c.waiters = kept
}

// skipping is the deployment driver's view of the emulator's clock: its waits (the canary's
// hold, Lambda's retry delays) pass at once, but not the one-hour hook timeout, which only a
// hook that never answers reaches.
type skipping struct{ c *demoClock }

func (s skipping) Now() time.Time { return s.c.Now() }

func (s skipping) After(d time.Duration) <-chan time.Time {
	ch := s.c.After(d)
	if d < lambdadeploy.HookTimeout {
		s.c.skip(d)
	}
	return ch
}
