// Package provision performs prewarm's Lambda control-plane work: reading
// and writing provisioned concurrency under a client-side rate limit, with
// transient errors retried inside the caller's deadline.
package provision

import (
	"context"
	"errors"
	"math/rand/v2"
	"strings"
	"sync/atomic"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	lambdasvc "github.com/aws/aws-sdk-go-v2/service/lambda"
	"github.com/aws/aws-sdk-go-v2/service/lambda/types"
	"golang.org/x/time/rate"
)

// LambdaAPI is the part of *lambda.Client that prewarm calls.
type LambdaAPI interface {
	GetProvisionedConcurrencyConfig(ctx context.Context, params *lambdasvc.GetProvisionedConcurrencyConfigInput, optFns ...func(*lambdasvc.Options)) (*lambdasvc.GetProvisionedConcurrencyConfigOutput, error)
	PutProvisionedConcurrencyConfig(ctx context.Context, params *lambdasvc.PutProvisionedConcurrencyConfigInput, optFns ...func(*lambdasvc.Options)) (*lambdasvc.PutProvisionedConcurrencyConfigOutput, error)
	DeleteProvisionedConcurrencyConfig(ctx context.Context, params *lambdasvc.DeleteProvisionedConcurrencyConfigInput, optFns ...func(*lambdasvc.Options)) (*lambdasvc.DeleteProvisionedConcurrencyConfigOutput, error)
	ListProvisionedConcurrencyConfigs(ctx context.Context, params *lambdasvc.ListProvisionedConcurrencyConfigsInput, optFns ...func(*lambdasvc.Options)) (*lambdasvc.ListProvisionedConcurrencyConfigsOutput, error)
	GetFunctionConcurrency(ctx context.Context, params *lambdasvc.GetFunctionConcurrencyInput, optFns ...func(*lambdasvc.Options)) (*lambdasvc.GetFunctionConcurrencyOutput, error)
	GetAccountSettings(ctx context.Context, params *lambdasvc.GetAccountSettingsInput, optFns ...func(*lambdasvc.Options)) (*lambdasvc.GetAccountSettingsOutput, error)
	ListFunctions(ctx context.Context, params *lambdasvc.ListFunctionsInput, optFns ...func(*lambdasvc.Options)) (*lambdasvc.ListFunctionsOutput, error)
	GetAlias(ctx context.Context, params *lambdasvc.GetAliasInput, optFns ...func(*lambdasvc.Options)) (*lambdasvc.GetAliasOutput, error)
	UpdateAlias(ctx context.Context, params *lambdasvc.UpdateAliasInput, optFns ...func(*lambdasvc.Options)) (*lambdasvc.UpdateAliasOutput, error)
}

var _ LambdaAPI = (*lambdasvc.Client)(nil)

// PCStatus is the status of a provisioned concurrency configuration, as
// AWS reports it; the empty PCStatus means none is configured.
type PCStatus = types.ProvisionedConcurrencyStatusEnum

// The statuses of a provisioned concurrency configuration.
const (
	InProgress PCStatus = types.ProvisionedConcurrencyStatusEnumInProgress
	Ready      PCStatus = types.ProvisionedConcurrencyStatusEnumReady
	Failed     PCStatus = types.ProvisionedConcurrencyStatusEnumFailed
)

// Status is one qualifier's provisioned concurrency as AWS reports it. The
// zero Status (Exists false) means no configuration.
type Status struct {
	Exists       bool
	Requested    int64
	Available    int64
	Allocated    int64
	Status       PCStatus
	StatusReason string
	LastModified string
}

// statusOf builds a Status from the fields every provisioned concurrency
// response of the SDK carries.
func statusOf(requested, available, allocated *int32, status types.ProvisionedConcurrencyStatusEnum, reason, lastModified *string) Status {
	return Status{
		Exists:       true,
		Requested:    int64(aws.ToInt32(requested)),
		Available:    int64(aws.ToInt32(available)),
		Allocated:    int64(aws.ToInt32(allocated)),
		Status:       status,
		StatusReason: aws.ToString(reason),
		LastModified: aws.ToString(lastModified),
	}
}

// Terminal reports whether allocation has finished, well or badly.
func (s Status) Terminal() bool { return s.Status == Ready || s.Status == Failed }

// QualifiedStatus is a Status with the qualifier it belongs to.
type QualifiedStatus struct {
	Qualifier string
	Status
}

// Options tune a Controller; the zero value of each field picks a default.
type Options struct {
	// RPS is the client-side limit on control-plane calls per second.
	RPS float64
	// MaxAttempts bounds the attempts of one call (default 8); the caller's
	// deadline bounds them too.
	MaxAttempts int
	// BaseDelay and MaxDelay shape the jittered exponential backoff.
	BaseDelay, MaxDelay time.Duration
	// WeightsWindow is how long an alias may keep routing weights (as AWS
	// adds them while it switches versions) before that is final.
	WeightsWindow time.Duration
	// Sleep waits for d or until ctx is done; time.Sleep-like by default.
	Sleep func(ctx context.Context, d time.Duration) error
	// Now is the clock; time.Now by default.
	Now func() time.Time
}

// Controller makes rate-limited, retried control-plane calls.
type Controller struct {
	api     LambdaAPI
	limiter *rate.Limiter
	opts    Options
	calls   atomic.Int64
	retries atomic.Int64
}

// New returns a Controller over api. The SDK client's own retryer should be
// off (aws.NopRetryer) so that every attempt passes the rate limiter and
// Retry-After is honoured here.
func New(api LambdaAPI, opts Options) *Controller {
	if opts.RPS <= 0 {
		opts.RPS = 10
	}
	if opts.MaxAttempts <= 0 {
		opts.MaxAttempts = 8
	}
	if opts.BaseDelay <= 0 {
		opts.BaseDelay = 100 * time.Millisecond
	}
	if opts.MaxDelay <= 0 {
		opts.MaxDelay = 5 * time.Second
	}
	if opts.WeightsWindow <= 0 {
		opts.WeightsWindow = 30 * time.Second
	}
	if opts.Sleep == nil {
		opts.Sleep = Sleep
	}
	if opts.Now == nil {
		opts.Now = time.Now
	}
	burst := int(opts.RPS)
	if burst < 1 {
		burst = 1
	}
	return &Controller{api: api, limiter: rate.NewLimiter(rate.Limit(opts.RPS), burst), opts: opts}
}

// Calls is the number of control-plane requests sent so far, retries included.
func (c *Controller) Calls() int64 { return c.calls.Load() }

// Retries is the number of attempts that were retries.
func (c *Controller) Retries() int64 { return c.retries.Load() }

// Sleep waits for d, or until ctx is done.
func Sleep(ctx context.Context, d time.Duration) error {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}

// do runs call under the rate limit, retrying transient errors with jittered
// backoff while the next attempt still fits before ctx's deadline.
func (c *Controller) do(ctx context.Context, op, function, qualifier string, call func(context.Context) error) error {
	var weightsSince time.Time
	for attempt := 0; ; attempt++ {
		if err := c.wait(ctx); err != nil {
			return classify(op, function, qualifier, context.DeadlineExceeded)
		}
		c.calls.Add(1)
		if attempt > 0 {
			c.retries.Add(1)
		}
		err := call(ctx)
		if err == nil {
			return nil
		}
		e := classify(op, function, qualifier, err)
		if e.Weights {
			if weightsSince.IsZero() {
				weightsSince = c.opts.Now()
			}
			if c.opts.Now().Sub(weightsSince) >= c.opts.WeightsWindow {
				e.Transient = false
			}
		}
		// Routing weights are bounded by WeightsWindow rather than by the
		// attempt count: AWS clears them when it has switched the version.
		if !e.Transient || attempt+1 >= c.opts.MaxAttempts && !e.Weights || ctx.Err() != nil {
			return e
		}
		delay := c.backoff(attempt)
		if e.RetryAfter > delay {
			delay = e.RetryAfter
		}
		if deadline, ok := ctx.Deadline(); ok && c.opts.Now().Add(delay).After(deadline) {
			return e
		}
		if err := c.opts.Sleep(ctx, delay); err != nil {
			return e
		}
	}
}

// wait takes one token of the rate limit, on the Controller's clock, so
// that a simulated clock paces calls as the wall clock would.
func (c *Controller) wait(ctx context.Context) error {
	now := c.opts.Now()
	r := c.limiter.ReserveN(now, 1)
	if !r.OK() {
		return errors.New("rate limit burst below 1")
	}
	delay := r.DelayFrom(now)
	if delay <= 0 {
		return nil
	}
	if deadline, ok := ctx.Deadline(); ok && now.Add(delay).After(deadline) {
		r.CancelAt(now)
		return context.DeadlineExceeded
	}
	if err := c.opts.Sleep(ctx, delay); err != nil {
		r.CancelAt(now)
		return err
	}
	return nil
}

// backoff is "full jitter" exponential backoff: uniform in [d/2, d] where d
// doubles per attempt up to MaxDelay.
func (c *Controller) backoff(attempt int) time.Duration {
	d := c.opts.BaseDelay << min(attempt, 16)
	if d <= 0 || d > c.opts.MaxDelay {
		d = c.opts.MaxDelay
	}
	return d/2 + rand.N(d/2+1)
}

// Get reads the provisioned concurrency of function:qualifier; a qualifier
// without a configuration gives the zero Status and no error.
func (c *Controller) Get(ctx context.Context, function, qualifier string) (Status, error) {
	var out *lambdasvc.GetProvisionedConcurrencyConfigOutput
	err := c.do(ctx, "GetProvisionedConcurrencyConfig", function, qualifier, func(ctx context.Context) error {
		var err error
		out, err = c.api.GetProvisionedConcurrencyConfig(ctx, &lambdasvc.GetProvisionedConcurrencyConfigInput{
			FunctionName: aws.String(function), Qualifier: aws.String(qualifier),
		})
		return err
	})
	var notFound *types.ProvisionedConcurrencyConfigNotFoundException
	if errors.As(err, &notFound) {
		return Status{}, nil
	}
	if err != nil {
		return Status{}, err
	}
	return statusOf(out.RequestedProvisionedConcurrentExecutions, out.AvailableProvisionedConcurrentExecutions,
		out.AllocatedProvisionedConcurrentExecutions, out.Status, out.StatusReason, out.LastModified), nil
}

// Put requests n provisioned concurrent executions on function:qualifier.
func (c *Controller) Put(ctx context.Context, function, qualifier string, n int64) (Status, error) {
	var out *lambdasvc.PutProvisionedConcurrencyConfigOutput
	err := c.do(ctx, "PutProvisionedConcurrencyConfig", function, qualifier, func(ctx context.Context) error {
		var err error
		out, err = c.api.PutProvisionedConcurrencyConfig(ctx, &lambdasvc.PutProvisionedConcurrencyConfigInput{
			FunctionName: aws.String(function), Qualifier: aws.String(qualifier),
			ProvisionedConcurrentExecutions: aws.Int32(int32(n)),
		})
		return err
	})
	if err != nil {
		return Status{}, err
	}
	return statusOf(out.RequestedProvisionedConcurrentExecutions, out.AvailableProvisionedConcurrentExecutions,
		out.AllocatedProvisionedConcurrentExecutions, out.Status, out.StatusReason, out.LastModified), nil
}

// Delete removes the provisioned concurrency of function:qualifier; AWS
// succeeds when there is none.
func (c *Controller) Delete(ctx context.Context, function, qualifier string) error {
	return c.do(ctx, "DeleteProvisionedConcurrencyConfig", function, qualifier, func(ctx context.Context) error {
		_, err := c.api.DeleteProvisionedConcurrencyConfig(ctx, &lambdasvc.DeleteProvisionedConcurrencyConfigInput{
			FunctionName: aws.String(function), Qualifier: aws.String(qualifier),
		})
		return err
	})
}

// List returns every provisioned concurrency configuration of function.
func (c *Controller) List(ctx context.Context, function string) ([]QualifiedStatus, error) {
	var all []QualifiedStatus
	var marker *string
	for {
		var out *lambdasvc.ListProvisionedConcurrencyConfigsOutput
		err := c.do(ctx, "ListProvisionedConcurrencyConfigs", function, "", func(ctx context.Context) error {
			var err error
			out, err = c.api.ListProvisionedConcurrencyConfigs(ctx, &lambdasvc.ListProvisionedConcurrencyConfigsInput{
				FunctionName: aws.String(function), Marker: marker, MaxItems: aws.Int32(50),
			})
			return err
		})
		if err != nil {
			return nil, err
		}
		for _, item := range out.ProvisionedConcurrencyConfigs {
			arn := aws.ToString(item.FunctionArn)
			all = append(all, QualifiedStatus{
				Qualifier: arn[strings.LastIndexByte(arn, ':')+1:],
				Status: statusOf(item.RequestedProvisionedConcurrentExecutions, item.AvailableProvisionedConcurrentExecutions,
					item.AllocatedProvisionedConcurrentExecutions, item.Status, item.StatusReason, item.LastModified),
			})
		}
		if aws.ToString(out.NextMarker) == "" {
			return all, nil
		}
		marker = out.NextMarker
	}
}

// Reservation returns the function's reserved concurrency; ok is false when
// none is set.
func (c *Controller) Reservation(ctx context.Context, function string) (n int64, ok bool, err error) {
	var out *lambdasvc.GetFunctionConcurrencyOutput
	err = c.do(ctx, "GetFunctionConcurrency", function, "", func(ctx context.Context) error {
		var err error
		out, err = c.api.GetFunctionConcurrency(ctx, &lambdasvc.GetFunctionConcurrencyInput{FunctionName: aws.String(function)})
		return err
	})
	if err != nil {
		return 0, false, err
	}
	if out.ReservedConcurrentExecutions == nil {
		return 0, false, nil
	}
	return int64(*out.ReservedConcurrentExecutions), true, nil
}

// Unreserved returns the account's UnreservedConcurrentExecutions.
func (c *Controller) Unreserved(ctx context.Context) (int64, error) {
	var out *lambdasvc.GetAccountSettingsOutput
	err := c.do(ctx, "GetAccountSettings", "", "", func(ctx context.Context) error {
		var err error
		out, err = c.api.GetAccountSettings(ctx, &lambdasvc.GetAccountSettingsInput{})
		return err
	})
	if err != nil {
		return 0, err
	}
	if out.AccountLimit == nil {
		return 0, &Error{Op: "GetAccountSettings", Code: "MissingAccountLimit", Message: "response carries no AccountLimit"}
	}
	return int64(aws.ToInt32(out.AccountLimit.UnreservedConcurrentExecutions)), nil
}

// AliasWeights reads the routing weights of function:alias
// (AdditionalVersionWeights; empty when it routes all traffic to one
// version).
func (c *Controller) AliasWeights(ctx context.Context, function, alias string) (map[string]float64, error) {
	var out *lambdasvc.GetAliasOutput
	err := c.do(ctx, "GetAlias", function, alias, func(ctx context.Context) error {
		var err error
		out, err = c.api.GetAlias(ctx, &lambdasvc.GetAliasInput{FunctionName: aws.String(function), Name: aws.String(alias)})
		return err
	})
	if err != nil {
		return nil, err
	}
	if out.RoutingConfig == nil {
		return map[string]float64{}, nil
	}
	return out.RoutingConfig.AdditionalVersionWeights, nil
}

// ClearAliasWeights makes function:alias route all its traffic to its
// version again (UpdateAlias with an empty RoutingConfig), as
// `aws lambda update-alias --routing-config '{}'` does.
func (c *Controller) ClearAliasWeights(ctx context.Context, function, alias string) error {
	return c.do(ctx, "UpdateAlias", function, alias, func(ctx context.Context) error {
		_, err := c.api.UpdateAlias(ctx, &lambdasvc.UpdateAliasInput{
			FunctionName: aws.String(function), Name: aws.String(alias),
			RoutingConfig: &types.AliasRoutingConfiguration{AdditionalVersionWeights: map[string]float64{}},
		})
		return err
	})
}

// FunctionNames lists the names of every function in the account and
// Region, one page of 50 at a time, keeping those keep accepts.
func (c *Controller) FunctionNames(ctx context.Context, keep func(name string) bool) ([]string, error) {
	var names []string
	var marker *string
	for {
		var out *lambdasvc.ListFunctionsOutput
		err := c.do(ctx, "ListFunctions", "", "", func(ctx context.Context) error {
			var err error
			out, err = c.api.ListFunctions(ctx, &lambdasvc.ListFunctionsInput{Marker: marker, MaxItems: aws.Int32(50)})
			return err
		})
		if err != nil {
			return nil, err
		}
		for _, f := range out.Functions {
			if name := aws.ToString(f.FunctionName); keep(name) {
				names = append(names, name)
			}
		}
		if aws.ToString(out.NextMarker) == "" {
			return names, nil
		}
		marker = out.NextMarker
	}
}
