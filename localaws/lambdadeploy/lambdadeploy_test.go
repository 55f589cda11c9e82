package lambdadeploy_test

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/service/codedeploy"
	"github.com/google/go-cmp/cmp"

	"github.com/prewarm/prewarm/deployhook"
	"github.com/prewarm/prewarm/localaws"
	"github.com/prewarm/prewarm/localaws/clock"
	"github.com/prewarm/prewarm/localaws/codedeploysim"
	"github.com/prewarm/prewarm/localaws/esm"
	"github.com/prewarm/prewarm/localaws/lambdadeploy"
	"github.com/prewarm/prewarm/localaws/localawstest"
)

var start = time.Date(2026, 3, 4, 5, 0, 0, 0, time.UTC)

// autoClock is a fake clock that lets every wait but the hook timeout pass at once (moving
// the fake time by the wait), so a run takes no wall time and its history reads in emulator
// time. With timeouts set, the hook timeout passes at once too.
type autoClock struct {
	*clock.Fake
	timeouts bool
}

func (c *autoClock) After(d time.Duration) <-chan time.Time {
	ch := c.Fake.After(d)
	if d < lambdadeploy.HookTimeout || c.timeouts {
		c.Advance(d)
	}
	return ch
}

// env is an emulator with the default world, a driver and the real CodeDeploy client a hook
// function uses.
type env struct {
	srv    *localaws.Server
	clk    *autoClock
	client *codedeploy.Client
}

func newEnv(t *testing.T, timeouts bool) *env {
	t.Helper()
	clk := &autoClock{Fake: clock.NewFake(start), timeouts: timeouts}
	srv, url := localawstest.Start(t, localaws.DefaultWorld(), localaws.Options{Clock: clk})
	return &env{srv: srv, clk: clk, client: codedeploy.NewFromConfig(localaws.SDKConfig(url))}
}

func (e *env) driver(t *testing.T, hook esm.Invoker, duplicates int) *lambdadeploy.Driver {
	t.Helper()
	d, err := lambdadeploy.New(lambdadeploy.Config{CodeDeploy: e.srv.CodeDeploy(), Lambda: e.srv.Lambda(), Invoker: hook, Clock: e.clk, Duplicates: duplicates})
	if err != nil {
		t.Fatal(err)
	}
	return d
}

// hookFunc is a hook function that resolves its hook with deployhook over HTTP and answers
// it with answer(event) ("" for no answer), noting where the alias pointed when it ran.
type hookFunc struct {
	e      *env
	answer func(deployhook.Event) deployhook.Status

	mu       sync.Mutex
	seen     []string // "EVENT alias=VERSION weights=W answered=BOOL"
	reported []deployhook.Outcome
}

func (h *hookFunc) Invoke(ctx context.Context, payload []byte) ([]byte, error) {
	var ev struct{ DeploymentId, LifecycleEventHookExecutionId string }
	if err := json.Unmarshal(payload, &ev); err != nil {
		return nil, err
	}
	hook, err := deployhook.Resolve(ctx, h.e.client, ev.DeploymentId, ev.LifecycleEventHookExecutionId)
	if err != nil {
		return nil, err
	}
	version, weights, _ := h.e.srv.Lambda().Alias(hook.FunctionName, hook.Alias)
	h.mu.Lock()
	h.seen = append(h.seen, fmt.Sprintf("%s alias=%s weights=%v answered=%v", hook.Event, version, weights, hook.Answered))
	h.mu.Unlock()
	if hook.Answered {
		return []byte("null"), nil
	}
	status := h.answer(hook.Event)
	if status == "" {
		return []byte("null"), nil
	}
	out, err := deployhook.Report(ctx, h.e.client, hook, status)
	h.mu.Lock()
	h.reported = append(h.reported, out)
	h.mu.Unlock()
	return []byte("null"), err
}

func deployment(config string) codedeploysim.Deployment {
	return codedeploysim.Deployment{
		FunctionName: "checkout-api", Alias: "live", CurrentVersion: "2", TargetVersion: "3", Config: config,
		Hooks: codedeploysim.Hooks{BeforeAllowTraffic: "CodeDeployHook_prewarm", AfterAllowTraffic: "CodeDeployHook_prewarm"},
	}
}

// steps renders a history without the execution ids, which are random.
func steps(r lambdadeploy.Result) []string {
	var out []string
	for _, s := range r.History {
		detail := s.Detail
		if s.What == codedeploysim.StatusInProgress || (s.What == codedeploysim.StatusSucceeded || s.What == codedeploysim.StatusFailed) && len(detail) > 40 {
			detail = ""
		}
		out = append(out, fmt.Sprintf("+%s %s %s %s", s.At.Sub(start), s.Event, s.What, detail))
	}
	return out
}

func TestCanaryDeploymentSucceeds(t *testing.T) {
	e := newEnv(t, false)
	hook := &hookFunc{e: e, answer: func(deployhook.Event) deployhook.Status { return deployhook.Succeeded }}
	res, err := e.driver(t, hook, 0).Deploy(context.Background(), deployment("Canary10Percent5Minutes"))
	if err != nil {
		t.Fatal(err)
	}
	if res.Status != codedeploysim.DeploymentSucceeded {
		t.Fatalf("deployment %s: %s %s\n%v", res.DeploymentID, res.Status, res.ErrorMessage, steps(res))
	}
	want := []string{
		"+0s Start Succeeded ",
		"+0s BeforeAllowTraffic InProgress ",
		"+0s BeforeAllowTraffic Succeeded ",
		"+0s AllowTraffic InProgress ",
		"+0s AllowTraffic Shifted 0.1",
		"+5m0s AllowTraffic Shifted 1",
		"+5m0s AllowTraffic Succeeded ",
		"+5m0s AfterAllowTraffic InProgress ",
		"+5m0s AfterAllowTraffic Succeeded ",
		"+5m0s End Succeeded ",
	}
	if diff := cmp.Diff(want, withoutInvokes(steps(res))); diff != "" {
		t.Errorf("history (-want +got):\n%s", diff)
	}
	if diff := cmp.Diff([]string{"BeforeAllowTraffic alias=2 weights=map[] answered=false", "AfterAllowTraffic alias=3 weights=map[] answered=false"}, hook.seen); diff != "" {
		t.Errorf("what the hook saw (-want +got):\n%s", diff)
	}
	if v, w, _ := e.srv.Lambda().Alias("checkout-api", "live"); v != "3" || len(w) != 0 {
		t.Errorf("alias live on %s with weights %v; want 3 without weights", v, w)
	}
	info, _ := e.srv.CodeDeploy().Deployment(res.DeploymentID)
	if info.Status != codedeploysim.DeploymentSucceeded || info.TargetWeight != 1 {
		t.Errorf("deployment as CodeDeploy shows it: %+v", info)
	}
}

// withoutInvokes drops the invocation entries, whose order against the hook's answer is the
// invocation's own.
func withoutInvokes(steps []string) []string {
	var out []string
	for _, s := range steps {
		if !contains(s, " Invoked ") {
			out = append(out, s)
		}
	}
	return out
}

func contains(s, sub string) bool {
	for i := 0; i+len(sub) <= len(s); i++ {
		if s[i:i+len(sub)] == sub {
			return true
		}
	}
	return false
}

func TestLinearShiftsInTenSteps(t *testing.T) {
	e := newEnv(t, false)
	hook := &hookFunc{e: e, answer: func(deployhook.Event) deployhook.Status { return deployhook.Succeeded }}
	res, err := e.driver(t, hook, 0).Deploy(context.Background(), deployment("Linear10PercentEvery1Minute"))
	if err != nil || res.Status != codedeploysim.DeploymentSucceeded {
		t.Fatalf("Deploy = %+v, %v", res, err)
	}
	var shifts []string
	for _, s := range res.History {
		if s.What == "Shifted" {
			shifts = append(shifts, fmt.Sprintf("+%s %s", s.At.Sub(start), s.Detail))
		}
	}
	want := []string{"+0s 0.1", "+1m0s 0.2", "+2m0s 0.3", "+3m0s 0.4", "+4m0s 0.5", "+5m0s 0.6", "+6m0s 0.7", "+7m0s 0.8", "+8m0s 0.9", "+9m0s 1"}
	if diff := cmp.Diff(want, shifts); diff != "" {
		t.Errorf("shifts (-want +got):\n%s", diff)
	}
}

func TestFailedHookRollsBack(t *testing.T) {
	for _, failAt := range []deployhook.Event{deployhook.BeforeAllowTraffic, deployhook.AfterAllowTraffic} {
		t.Run(string(failAt), func(t *testing.T) {
			e := newEnv(t, false)
			hook := &hookFunc{e: e, answer: func(ev deployhook.Event) deployhook.Status {
				if ev == failAt {
					return deployhook.Failed
				}
				return deployhook.Succeeded
			}}
			res, err := e.driver(t, hook, 0).Deploy(context.Background(), deployment("AllAtOnce"))
			if err != nil {
				t.Fatal(err)
			}
			if res.Status != codedeploysim.DeploymentFailed || res.ErrorCode != "HOOK_EXECUTION_FAILURE" {
				t.Fatalf("deployment %s %s: %s\n%v", res.Status, res.ErrorCode, res.ErrorMessage, steps(res))
			}
			if v, w, _ := e.srv.Lambda().Alias("checkout-api", "live"); v != "2" || len(w) != 0 {
				t.Errorf("alias live on %s with weights %v after the rollback; want 2 without weights", v, w)
			}
			last := res.History[len(res.History)-1]
			if last.Event != "Rollback" || last.What != "RolledBack" {
				t.Errorf("last step %+v; want the rollback", last)
			}
			info, _ := e.srv.CodeDeploy().Deployment(res.DeploymentID)
			if info.Status != codedeploysim.DeploymentFailed || info.ErrorCode != "HOOK_EXECUTION_FAILURE" {
				t.Errorf("deployment as CodeDeploy shows it: %+v", info)
			}
		})
	}
}

func TestSilentHookTimesOut(t *testing.T) {
	e := newEnv(t, true)
	hook := &hookFunc{e: e, answer: func(deployhook.Event) deployhook.Status { return "" }}
	res, err := e.driver(t, hook, 0).Deploy(context.Background(), deployment("Canary10Percent5Minutes"))
	if err != nil {
		t.Fatal(err)
	}
	if res.Status != codedeploysim.DeploymentFailed || res.ErrorCode != "TIMEOUT" {
		t.Fatalf("deployment %s %s\n%v", res.Status, res.ErrorCode, steps(res))
	}
	var timedOut *lambdadeploy.Step
	for i, s := range res.History {
		if s.Event == codedeploysim.EventBeforeAllowTraffic && s.What == codedeploysim.StatusFailed {
			timedOut = &res.History[i]
		}
	}
	if timedOut == nil || timedOut.At.Sub(start) != time.Hour {
		t.Errorf("BeforeAllowTraffic failed at %+v; want one hour after the start\n%v", timedOut, steps(res))
	}
	if v, w, _ := e.srv.Lambda().Alias("checkout-api", "live"); v != "2" || len(w) != 0 {
		t.Errorf("alias live on %s with weights %v; want 2 without weights", v, w)
	}
	// A hook that answers after the deployment ended is told it is too late.
	info, _ := e.srv.CodeDeploy().Deployment(res.DeploymentID)
	if got := info.Events[1]; got.Name != codedeploysim.EventBeforeAllowTraffic || got.Status != codedeploysim.StatusFailed {
		t.Errorf("BeforeAllowTraffic as CodeDeploy shows it: %+v", got)
	}
}

// TestRepeatedDeliveryIsAnsweredOnce: each hook event delivered twice is reported once. The
// second delivery reads its event as answered, or, when it arrives later, reports against an
// execution CodeDeploy already closed and is told so.
func TestRepeatedDeliveryIsAnsweredOnce(t *testing.T) {
	e := newEnv(t, false)
	hook := &hookFunc{e: e, answer: func(deployhook.Event) deployhook.Status { return deployhook.Succeeded }}
	res, err := e.driver(t, hook, 1).Deploy(context.Background(), deployment("AllAtOnce"))
	if err != nil || res.Status != codedeploysim.DeploymentSucceeded {
		t.Fatalf("Deploy = %+v, %v", res, err)
	}
	hook.mu.Lock()
	defer hook.mu.Unlock()
	if len(hook.seen) != 4 {
		t.Errorf("the hook ran %d times; want each of the two events twice: %v", len(hook.seen), hook.seen)
	}
	reported := 0
	for _, o := range hook.reported {
		if o == deployhook.Reported {
			reported++
		}
	}
	if reported != 2 {
		t.Errorf("%d hook statuses recorded; want one per hook event: %v\n%v", reported, hook.reported, hook.seen)
	}
}

// TestFailedInvocationIsRetried: an invocation that fails is retried a minute later, as
// Lambda retries an asynchronous invocation.
func TestFailedInvocationIsRetried(t *testing.T) {
	e := newEnv(t, false)
	good := &hookFunc{e: e, answer: func(deployhook.Event) deployhook.Status { return deployhook.Succeeded }}
	var mu sync.Mutex
	calls := 0
	flaky := esm.FuncInvoker(func(ctx context.Context, payload []byte) ([]byte, error) {
		mu.Lock()
		calls++
		first := calls == 1
		mu.Unlock()
		if first {
			return nil, errors.New("Runtime.ExitError")
		}
		return good.Invoke(ctx, payload)
	})
	res, err := e.driver(t, flaky, 0).Deploy(context.Background(), deployment("AllAtOnce"))
	if err != nil || res.Status != codedeploysim.DeploymentSucceeded {
		t.Fatalf("Deploy = %+v, %v\n%v", res, err, steps(res))
	}
	var failedAt, answeredAt time.Duration = -1, -1
	for _, s := range res.History {
		switch {
		case s.What == "InvokeFailed":
			failedAt = s.At.Sub(start)
		case s.Event == codedeploysim.EventBeforeAllowTraffic && s.What == codedeploysim.StatusSucceeded:
			answeredAt = s.At.Sub(start)
		}
	}
	if failedAt != 0 || answeredAt != time.Minute {
		t.Errorf("invocation failed at +%s, hook answered at +%s; want +0s and +1m0s\n%v", failedAt, answeredAt, steps(res))
	}
}

// routeRecorder is the emulator's Lambda as the driver's AliasRouter, noting after each
// RouteAlias that succeeds where the alias points, the weights it shows and its provisioned
// concurrency.
type routeRecorder struct {
	e           *env
	fn, alias   string
	mu          sync.Mutex
	afterRoutes []string
}

func (r *routeRecorder) RouteAlias(function, alias, version string, weights map[string]float64) error {
	if err := r.e.srv.Lambda().RouteAlias(function, alias, version, weights); err != nil {
		return err
	}
	v, w, _ := r.e.srv.Lambda().Alias(r.fn, r.alias)
	pc, _ := r.e.srv.Lambda().Config(r.fn, r.alias)
	r.mu.Lock()
	r.afterRoutes = append(r.afterRoutes, fmt.Sprintf("alias=%s weights=%v pc=%s %d/%d on %s", v, w, pc.Status, pc.Allocated, pc.Requested, pc.Version))
	r.mu.Unlock()
	return nil
}

// TestAliasWithProvisionedConcurrencyShifts: as on AWS, an alias holding provisioned
// concurrency takes routing weights, so a deployment whose hooks succeed shifts its traffic.
// The alias's configuration keeps serving the current version, unchanged, while the canary
// runs, and moves with the alias to the target version at the last step (IN_PROGRESS, with
// the transient weights of the move, then READY there).
func TestAliasWithProvisionedConcurrencyShifts(t *testing.T) {
	e := newEnv(t, false)
	// my-function:BLUE (on version 1) holds 10 provisioned, READY, in the default world.
	hook := &hookFunc{e: e, answer: func(deployhook.Event) deployhook.Status { return deployhook.Succeeded }}
	rec := &routeRecorder{e: e, fn: "my-function", alias: "BLUE"}
	d, err := lambdadeploy.New(lambdadeploy.Config{CodeDeploy: e.srv.CodeDeploy(), Lambda: rec, Invoker: hook, Clock: e.clk})
	if err != nil {
		t.Fatal(err)
	}
	spec := deployment("Canary10Percent5Minutes")
	spec.FunctionName, spec.Alias, spec.CurrentVersion, spec.TargetVersion = "my-function", "BLUE", "1", "2"
	res, err := d.Deploy(context.Background(), spec)
	if err != nil {
		t.Fatal(err)
	}
	if res.Status != codedeploysim.DeploymentSucceeded {
		t.Fatalf("deployment %s %s: %s\n%v", res.Status, res.ErrorCode, res.ErrorMessage, steps(res))
	}
	want := []string{
		"alias=1 weights=map[2:0.1] pc=READY 10/10 on 1",
		"alias=2 weights=map[1:0.5] pc=IN_PROGRESS 10/10 on 2",
	}
	if diff := cmp.Diff(want, rec.afterRoutes); diff != "" {
		t.Errorf("the alias after each shift (-want +got):\n%s", diff)
	}
	if diff := cmp.Diff([]string{"BeforeAllowTraffic alias=1 weights=map[] answered=false", "AfterAllowTraffic alias=2 weights=map[1:0.5] answered=false"}, hook.seen); diff != "" {
		t.Errorf("what the hook saw (-want +got):\n%s", diff)
	}
	e.clk.Advance(3 * time.Second) // the default world's readyAfter
	if v, w, _ := e.srv.Lambda().Alias("my-function", "BLUE"); v != "2" || len(w) != 0 {
		t.Errorf("alias BLUE on %s with weights %v; want 2 without weights", v, w)
	}
	if pc, ok := e.srv.Lambda().Config("my-function", "BLUE"); !ok || pc.Version != "2" || pc.Status != "READY" || pc.Allocated != 10 {
		t.Errorf("BLUE's provisioned concurrency %+v; want 10 READY on version 2", pc)
	}
	info, _ := e.srv.CodeDeploy().Deployment(res.DeploymentID)
	if info.Status != codedeploysim.DeploymentSucceeded || info.TargetWeight != 1 {
		t.Errorf("deployment as CodeDeploy shows it: %+v", info)
	}
}

// TestRefusedShiftRollsBack: an UpdateAlias that AWS refuses fails the deployment with
// INVALID_LAMBDA_CONFIGURATION and rolls the alias back. Here the alias holds provisioned
// concurrency and a hook warms the target version with its own: the canary's weights are
// taken, but moving the alias (and its configuration) onto that version is AWS's conflict.
func TestRefusedShiftRollsBack(t *testing.T) {
	e := newEnv(t, false)
	hook := &hookFunc{e: e, answer: func(ev deployhook.Event) deployhook.Status {
		if ev == deployhook.BeforeAllowTraffic {
			if _, err := e.srv.Lambda().PutProvisionedConcurrency("my-function", "2", 5); err != nil {
				return deployhook.Failed
			}
		}
		return deployhook.Succeeded
	}}
	d := deployment("Canary10Percent5Minutes")
	d.FunctionName, d.Alias, d.CurrentVersion, d.TargetVersion = "my-function", "BLUE", "1", "2"
	res, err := e.driver(t, hook, 0).Deploy(context.Background(), d)
	if err != nil {
		t.Fatal(err)
	}
	const conflict = "Alias can't be used for Provisioned Concurrency configuration on an already Provisioned version"
	if res.Status != codedeploysim.DeploymentFailed || res.ErrorCode != "INVALID_LAMBDA_CONFIGURATION" || !contains(res.ErrorMessage, conflict) {
		t.Errorf("deployment %s %s: %s\n%v", res.Status, res.ErrorCode, res.ErrorMessage, steps(res))
	}
	var shifts []string
	for _, s := range res.History {
		if s.Event == codedeploysim.EventAllowTraffic && s.What != codedeploysim.StatusInProgress {
			shifts = append(shifts, s.What+" "+s.Detail)
		}
	}
	if diff := cmp.Diff([]string{"Shifted 0.1", "Failed ResourceConflictException (409): " + conflict}, shifts); diff != "" {
		t.Errorf("AllowTraffic (-want +got):\n%s", diff)
	}
	if last := res.History[len(res.History)-1]; last.Event != "Rollback" || last.What != "RolledBack" {
		t.Errorf("last step %+v; want the rollback", last)
	}
	if v, w, _ := e.srv.Lambda().Alias("my-function", "BLUE"); v != "1" || len(w) != 0 {
		t.Errorf("alias BLUE on %s with weights %v; want 1 without weights", v, w)
	}
	if pc, ok := e.srv.Lambda().Config("my-function", "BLUE"); !ok || pc.Version != "1" || pc.Status != "READY" || pc.Allocated != 10 {
		t.Errorf("BLUE's provisioned concurrency %+v; want 10 READY on version 1, untouched", pc)
	}
	info, _ := e.srv.CodeDeploy().Deployment(res.DeploymentID)
	if info.Status != codedeploysim.DeploymentFailed || info.ErrorCode != "INVALID_LAMBDA_CONFIGURATION" || info.TargetWeight != 0 {
		t.Errorf("deployment as CodeDeploy shows it: %+v", info)
	}
}

// TestHooksByFunctionName: each hook is invoked through the invoker of the function the
// AppSpec names, and a run refuses a deployment with a hook nothing invokes, or one that ran.
func TestHooksByFunctionName(t *testing.T) {
	e := newEnv(t, false)
	var mu sync.Mutex
	var called []string
	answer := &hookFunc{e: e, answer: func(deployhook.Event) deployhook.Status { return deployhook.Succeeded }}
	named := func(name string) esm.Invoker {
		return esm.FuncInvoker(func(ctx context.Context, payload []byte) ([]byte, error) {
			mu.Lock()
			called = append(called, name)
			mu.Unlock()
			return answer.Invoke(ctx, payload)
		})
	}
	spec := deployment("AllAtOnce")
	spec.Hooks = codedeploysim.Hooks{BeforeAllowTraffic: "CodeDeployHook_warm", AfterAllowTraffic: "CodeDeployHook_release"}
	d, err := lambdadeploy.New(lambdadeploy.Config{CodeDeploy: e.srv.CodeDeploy(), Lambda: e.srv.Lambda(), Clock: e.clk,
		Invokers: map[string]esm.Invoker{"CodeDeployHook_warm": named("warm"), "CodeDeployHook_release": named("release")}})
	if err != nil {
		t.Fatal(err)
	}
	res, err := d.Deploy(context.Background(), spec)
	if err != nil || res.Status != codedeploysim.DeploymentSucceeded {
		t.Fatalf("Deploy = %+v, %v", res, err)
	}
	if diff := cmp.Diff([]string{"warm", "release"}, called); diff != "" {
		t.Errorf("invocations (-want +got):\n%s", diff)
	}
	if _, err := d.Run(context.Background(), res.DeploymentID); err == nil {
		t.Error("a finished deployment ran again")
	}
	spec.Hooks.AfterAllowTraffic = "CodeDeployHook_other"
	if _, err := d.Deploy(context.Background(), spec); err == nil || !contains(err.Error(), "CodeDeployHook_other") {
		t.Errorf("Deploy with an uninvokable hook = %v; want an error naming it", err)
	}
}
