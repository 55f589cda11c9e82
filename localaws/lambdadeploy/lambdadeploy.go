// Package lambdadeploy runs a CodeDeploy Lambda deployment in the emulator the way CodeDeploy
// does: it marks BeforeAllowTraffic in progress and invokes the hook function asynchronously
// with the hook event, waits for the hook's status (one hour at most, on the emulator's
// clock), shifts the alias's traffic by the deployment configuration (canary, linear or all at
// once), runs AfterAllowTraffic the same way and ends Succeeded, or, when a hook fails or does
// not answer, rolls the alias back to the current version without routing weights.
//
// An alias that holds provisioned concurrency shifts as on AWS: it takes the routing weights,
// its configuration keeps serving the current version while they are in place, and it moves
// with the alias to the target version at the last step. An alias update that Lambda refuses
// (for such an alias, a target version that holds provisioned concurrency of its own) fails
// the deployment with INVALID_LAMBDA_CONFIGURATION and rolls it back.
package lambdadeploy

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"strconv"
	"sync"
	"time"

	"github.com/prewarm/prewarm/localaws/clock"
	"github.com/prewarm/prewarm/localaws/codedeploysim"
	"github.com/prewarm/prewarm/localaws/esm"
)

// CodeDeploy is the part of codedeploysim.Service a run drives.
type CodeDeploy interface {
	Create(d codedeploysim.Deployment) (string, error)
	Deployment(id string) (codedeploysim.Info, bool)
	Start(id string) error
	BeginHook(id, event string) (string, error)
	WaitHook(ctx context.Context, id, executionID string) (string, error)
	SetEvent(id, event, status string) error
	SetTargetWeight(id string, weight float64) error
	Finish(id, status, code, message string) error
}

var _ CodeDeploy = (*codedeploysim.Service)(nil)

// AliasRouter is the part of lambdasim.Service that shifts traffic.
type AliasRouter interface {
	RouteAlias(function, alias, version string, weights map[string]float64) error
}

// HookTimeout is how long CodeDeploy waits for a hook's status before it fails the
// deployment.
const HookTimeout = time.Hour

// asyncRetryDelays are Lambda's retries of a failed asynchronous invocation (two, about one
// and two minutes apart).
var asyncRetryDelays = []time.Duration{time.Minute, 2 * time.Minute}

// Config configures a Driver.
type Config struct {
	CodeDeploy CodeDeploy  // required
	Lambda     AliasRouter // required
	// Invokers run the hook functions by name; Invoker runs any other. An invocation is
	// asynchronous: an error is retried as Lambda retries asynchronous invocations. One of
	// the two is required.
	Invokers map[string]esm.Invoker
	Invoker  esm.Invoker
	Clock    clock.Clock // clock.Real{} when nil
	// HookTimeout is HookTimeout when 0.
	HookTimeout time.Duration
	// Duplicates delivers each hook event this many more times after a successful
	// invocation, as Lambda may deliver an asynchronous event more than once.
	Duplicates int
	Logger     *slog.Logger // discards when nil
}

// Driver runs deployments.
type Driver struct {
	cfg   Config
	clock clock.Clock
	log   *slog.Logger
}

// New checks cfg and returns a driver.
func New(cfg Config) (*Driver, error) {
	if cfg.CodeDeploy == nil || cfg.Lambda == nil || (cfg.Invoker == nil && len(cfg.Invokers) == 0) {
		return nil, errors.New("new deployment driver: CodeDeploy, Lambda and an Invoker are required")
	}
	if cfg.HookTimeout == 0 {
		cfg.HookTimeout = HookTimeout
	}
	d := &Driver{cfg: cfg, clock: cfg.Clock, log: cfg.Logger}
	if d.clock == nil {
		d.clock = clock.Real{}
	}
	if d.log == nil {
		d.log = slog.New(slog.DiscardHandler)
	}
	return d, nil
}

func (d *Driver) invoker(function string) esm.Invoker {
	if inv, ok := d.cfg.Invokers[function]; ok && inv != nil {
		return inv
	}
	return d.cfg.Invoker
}

// Step is one entry of a deployment's history.
type Step struct {
	At time.Time
	// Event is the lifecycle event (Start, BeforeAllowTraffic, AllowTraffic,
	// AfterAllowTraffic, End), or "Rollback".
	Event string
	// What happened: "InProgress", "Succeeded", "Failed", "Invoked", "InvokeFailed",
	// "Shifted", "RolledBack".
	What string
	// Detail says more: the execution id, the weight, the error.
	Detail string
}

// Result is how a deployment ended.
type Result struct {
	DeploymentID string
	// Status is codedeploysim.DeploymentSucceeded or DeploymentFailed.
	Status string
	// ErrorCode and ErrorMessage say why a failed deployment failed (HOOK_EXECUTION_FAILURE,
	// TIMEOUT, INVALID_LAMBDA_CONFIGURATION).
	ErrorCode, ErrorMessage string
	History                 []Step
}

// Deploy creates deployment spec and runs it to its end.
func (d *Driver) Deploy(ctx context.Context, spec codedeploysim.Deployment) (Result, error) {
	id, err := d.cfg.CodeDeploy.Create(spec)
	if err != nil {
		return Result{}, err
	}
	return d.Run(ctx, id)
}

// run is one deployment in progress.
type run struct {
	d    *Driver
	id   string
	spec codedeploysim.Deployment
	res  Result

	mu      sync.Mutex
	invokes sync.WaitGroup
}

func (r *run) record(event, what, detail string) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.res.History = append(r.res.History, Step{At: r.d.clock.Now(), Event: event, What: what, Detail: detail})
	r.d.log.Info("codedeploy deployment", "deployment", r.id, "event", event, "what", what, "detail", detail)
}

// failure is why a deployment fails.
type failure struct{ code, message string }

// Run runs the created deployment id to its end. The error is for what stops the run itself
// (ctx done, an unknown deployment); a deployment that fails is a Result with Status Failed.
func (d *Driver) Run(ctx context.Context, id string) (Result, error) {
	info, ok := d.cfg.CodeDeploy.Deployment(id)
	if !ok {
		return Result{}, fmt.Errorf("run deployment %s: no such deployment", id)
	}
	steps, ok := codedeploysim.Steps(info.Config)
	if !ok {
		return Result{}, fmt.Errorf("run deployment %s: unknown deployment configuration %q", id, info.Config)
	}
	if info.Status != codedeploysim.DeploymentCreated {
		return Result{}, fmt.Errorf("run deployment %s: it is %s, not Created", id, info.Status)
	}
	for _, fn := range []string{info.Hooks.BeforeAllowTraffic, info.Hooks.AfterAllowTraffic} {
		if fn != "" && d.invoker(fn) == nil {
			return Result{}, fmt.Errorf("run deployment %s: nothing invokes hook function %s", id, fn)
		}
	}
	r := &run{d: d, id: id, spec: info.Deployment, res: Result{DeploymentID: id}}
	// Invocations still running when the deployment ends are left to finish on their own, as
	// on AWS; the run waits for them only so that nothing outlives Run.
	defer r.invokes.Wait()

	if err := d.cfg.CodeDeploy.Start(id); err != nil {
		return Result{}, fmt.Errorf("run deployment %s: %w", id, err)
	}
	r.record(codedeploysim.EventStart, codedeploysim.StatusSucceeded, "")

	fail, err := r.hook(ctx, codedeploysim.EventBeforeAllowTraffic, r.spec.Hooks.BeforeAllowTraffic)
	if err == nil && fail == nil {
		fail, err = r.shift(ctx, steps)
	}
	if err == nil && fail == nil {
		fail, err = r.hook(ctx, codedeploysim.EventAfterAllowTraffic, r.spec.Hooks.AfterAllowTraffic)
	}
	if err != nil {
		return r.result(), fmt.Errorf("run deployment %s: %w", id, err)
	}
	if fail != nil {
		return r.rollback(*fail)
	}
	if err := d.cfg.CodeDeploy.SetEvent(id, codedeploysim.EventEnd, codedeploysim.StatusSucceeded); err != nil {
		return r.result(), fmt.Errorf("run deployment %s: %w", id, err)
	}
	r.record(codedeploysim.EventEnd, codedeploysim.StatusSucceeded, "")
	if err := d.cfg.CodeDeploy.Finish(id, codedeploysim.DeploymentSucceeded, "", ""); err != nil {
		return r.result(), fmt.Errorf("run deployment %s: %w", id, err)
	}
	r.mu.Lock()
	r.res.Status = codedeploysim.DeploymentSucceeded
	r.mu.Unlock()
	return r.result(), nil
}

func (r *run) result() Result {
	r.mu.Lock()
	defer r.mu.Unlock()
	out := r.res
	out.History = append([]Step(nil), r.res.History...)
	return out
}

// hook runs one hook event: without a hook function it simply succeeds.
func (r *run) hook(ctx context.Context, event, function string) (*failure, error) {
	cd := r.d.cfg.CodeDeploy
	if function == "" {
		if err := cd.SetEvent(r.id, event, codedeploysim.StatusSucceeded); err != nil {
			return nil, err
		}
		r.record(event, codedeploysim.StatusSucceeded, "no hook")
		return nil, nil
	}
	exec, err := cd.BeginHook(r.id, event)
	if err != nil {
		return nil, err
	}
	r.record(event, codedeploysim.StatusInProgress, exec)
	payload, err := json.Marshal(map[string]string{"DeploymentId": r.id, "LifecycleEventHookExecutionId": exec})
	if err != nil {
		return nil, err
	}
	waitCtx, cancel := context.WithCancel(ctx)
	defer cancel()
	r.invokes.Add(1)
	go func() {
		defer r.invokes.Done()
		r.invoke(ctx, waitCtx, event, function, payload)
	}()

	type answer struct {
		status string
		err    error
	}
	answered := make(chan answer, 1)
	go func() {
		st, err := cd.WaitHook(waitCtx, r.id, exec)
		answered <- answer{st, err}
	}()
	timeout := r.d.clock.After(r.d.cfg.HookTimeout)
	select {
	case a := <-answered:
		if a.err != nil {
			return nil, a.err
		}
		r.record(event, a.status, exec)
		if a.status != codedeploysim.StatusSucceeded {
			return &failure{"HOOK_EXECUTION_FAILURE", fmt.Sprintf("The deployment failed because a hook %s reported %s for %s.", function, a.status, event)}, nil
		}
		return nil, nil
	case <-timeout:
		r.record(event, codedeploysim.StatusFailed, "no status within "+r.d.cfg.HookTimeout.String())
		return &failure{"TIMEOUT", fmt.Sprintf("The deployment failed because the %s hook %s did not report a status within %s.", event, function, r.d.cfg.HookTimeout)}, nil
	case <-ctx.Done():
		return nil, ctx.Err()
	}
}

// invoke calls the hook function with payload as an asynchronous invocation: the invocation
// runs on under ctx even once the hook has answered (an answer is usually not the function's
// last act), is retried as Lambda retries a failed asynchronous invocation while the hook is
// still waited for (waiting), and is delivered Duplicates more times after it succeeds, as
// Lambda's at-least-once delivery may.
func (r *run) invoke(ctx, waiting context.Context, event, function string, payload []byte) {
	deliveries := 0
	for attempt := 0; ; {
		_, err := r.d.invoker(function).Invoke(ctx, payload)
		if ctx.Err() != nil {
			return
		}
		if err == nil {
			deliveries++
			detail := function
			if deliveries > 1 {
				detail += " (delivered again)"
			}
			r.record(event, "Invoked", detail)
			if deliveries > r.d.cfg.Duplicates {
				return
			}
			continue
		}
		r.record(event, "InvokeFailed", err.Error())
		if attempt >= len(asyncRetryDelays) {
			return
		}
		select {
		case <-waiting.Done():
			return
		case <-r.d.clock.After(asyncRetryDelays[attempt]):
		}
		attempt++
	}
}

// shift moves the alias's traffic to the target version step by step: weights on the current
// version for the steps below 1, then the alias on the target version without weights. An
// update the alias refuses ends the shift with INVALID_LAMBDA_CONFIGURATION.
func (r *run) shift(ctx context.Context, steps []codedeploysim.Step) (*failure, error) {
	cd, fn, alias := r.d.cfg.CodeDeploy, r.spec.FunctionName, r.spec.Alias
	if err := cd.SetEvent(r.id, codedeploysim.EventAllowTraffic, codedeploysim.StatusInProgress); err != nil {
		return nil, err
	}
	r.record(codedeploysim.EventAllowTraffic, codedeploysim.StatusInProgress, "")
	for _, st := range steps {
		var err error
		if st.Weight >= 1 {
			err = r.d.cfg.Lambda.RouteAlias(fn, alias, r.spec.TargetVersion, nil)
		} else {
			err = r.d.cfg.Lambda.RouteAlias(fn, alias, r.spec.CurrentVersion, map[string]float64{r.spec.TargetVersion: st.Weight})
		}
		if err != nil {
			r.record(codedeploysim.EventAllowTraffic, codedeploysim.StatusFailed, err.Error())
			return &failure{"INVALID_LAMBDA_CONFIGURATION", fmt.Sprintf("The deployment failed because the alias %s of %s could not be updated: %v", alias, fn, err)}, nil
		}
		if err := cd.SetTargetWeight(r.id, st.Weight); err != nil {
			return nil, err
		}
		r.record(codedeploysim.EventAllowTraffic, "Shifted", strconv.FormatFloat(st.Weight, 'f', -1, 64))
		if st.Hold > 0 {
			select {
			case <-ctx.Done():
				return nil, ctx.Err()
			case <-r.d.clock.After(st.Hold):
			}
		}
	}
	if err := cd.SetEvent(r.id, codedeploysim.EventAllowTraffic, codedeploysim.StatusSucceeded); err != nil {
		return nil, err
	}
	r.record(codedeploysim.EventAllowTraffic, codedeploysim.StatusSucceeded, "")
	return nil, nil
}

// rollback puts the alias back on the current version without routing weights and fails the
// deployment.
func (r *run) rollback(f failure) (Result, error) {
	cd := r.d.cfg.CodeDeploy
	if err := r.d.cfg.Lambda.RouteAlias(r.spec.FunctionName, r.spec.Alias, r.spec.CurrentVersion, nil); err != nil {
		r.record("Rollback", codedeploysim.StatusFailed, err.Error())
	} else {
		r.record("Rollback", "RolledBack", r.spec.CurrentVersion)
	}
	if err := cd.SetTargetWeight(r.id, 0); err != nil {
		return r.result(), fmt.Errorf("roll back deployment %s: %w", r.id, err)
	}
	if err := cd.Finish(r.id, codedeploysim.DeploymentFailed, f.code, f.message); err != nil {
		return r.result(), fmt.Errorf("roll back deployment %s: %w", r.id, err)
	}
	r.mu.Lock()
	r.res.Status, r.res.ErrorCode, r.res.ErrorMessage = codedeploysim.DeploymentFailed, f.code, f.message
	r.mu.Unlock()
	return r.result(), nil
}
