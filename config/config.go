// Package config reads prewarm's configuration from the environment: the queues, the
// allowlist of functions, the hard cap, the concurrency policy, the tracking budgets, the
// control-plane rate and dry-run mode. Every invalid value is an error naming the variable.
package config

import (
	"errors"
	"fmt"
	"math"
	"net/url"
	"strconv"
	"strings"
	"time"

	"github.com/prewarm/prewarm/intent"
)

// Environment variables.
const (
	EnvResultsQueueURL  = "RESULTS_QUEUE_URL"
	EnvFollowUpQueueURL = "FOLLOWUP_QUEUE_URL"
	EnvAllowedFunctions = "ALLOWED_FUNCTIONS"
	EnvMaxConcurrency   = "MAX_CONCURRENCY"
	EnvPolicy           = "POLICY"
	EnvWaitSeconds      = "WAIT_SECONDS"
	EnvTrackTimeout     = "TRACK_TIMEOUT"
	EnvControlPlaneRPS  = "CONTROL_PLANE_RPS"
	EnvDryRun           = "DRY_RUN"
	EnvHookRelease      = "HOOK_RELEASE"
	EnvRegion           = "AWS_REGION"
)

// Defaults.
const (
	DefaultMaxConcurrency  = 100
	DefaultWait            = 20 * time.Second
	DefaultTrackTimeout    = 15 * time.Minute
	DefaultControlPlaneRPS = 10
	// maxWait is Lambda's longest invocation: polling can never take longer.
	maxWait = 15 * time.Minute
)

// Config is prewarm's configuration.
type Config struct {
	// ResultsQueueURL receives every result; required.
	ResultsQueueURL string
	// FollowUpQueueURL receives follow-up messages; "" disables tracking beyond one invocation.
	FollowUpQueueURL string
	// Allowed lists the functions prewarm may act on; required.
	Allowed Allowlist
	// MaxConcurrency is the hard cap per target; default 100.
	MaxConcurrency int64
	// Policy holds the per-pattern defaults and clamps; empty when POLICY is unset.
	Policy Policy
	// Wait is the in-invocation polling budget (WAIT_SECONDS); default 20s, at most 15m.
	Wait time.Duration
	// TrackTimeout is the total tracking limit (TRACK_TIMEOUT); default 15m.
	TrackTimeout time.Duration
	// ControlPlaneRPS is prewarm's own rate limit for Lambda control-plane calls; default 10.
	// Lambda's quota is 15 per second per account and Region, shared with every other tool,
	// so a value above 15 only moves throttling to AWS.
	ControlPlaneRPS float64
	// DryRun makes every intent a dry run.
	DryRun bool
	// Region is AWS_REGION, prewarm's own Region ("" when unset); for Allowlist.Allows.
	Region string
	// HookRelease is what a CodeDeploy AfterAllowTraffic hook does with the provisioned
	// concurrency of the version traffic left (HOOK_RELEASE): "delete" (the default) or a
	// standby value it is lowered to.
	HookRelease intent.Release
}

// Load reads the configuration through getenv (os.Getenv in production). The error names
// every invalid variable and its value, one "VARIABLE: problem" per variable, on one line.
func Load(getenv func(string) string) (Config, error) {
	c := Config{
		MaxConcurrency:  DefaultMaxConcurrency,
		Wait:            DefaultWait,
		TrackTimeout:    DefaultTrackTimeout,
		ControlPlaneRPS: DefaultControlPlaneRPS,
		Region:          strings.TrimSpace(getenv(EnvRegion)),
	}
	var errs []error
	bad := func(name string, err error) {
		errs = append(errs, &VarError{Name: name, Err: err})
	}
	get := func(name string) string { return strings.TrimSpace(getenv(name)) }

	if v := get(EnvResultsQueueURL); v == "" {
		bad(EnvResultsQueueURL, errors.New("required"))
	} else if err := checkQueueURL(v); err != nil {
		bad(EnvResultsQueueURL, err)
	} else {
		c.ResultsQueueURL = v
	}
	if v := get(EnvFollowUpQueueURL); v != "" {
		if err := checkQueueURL(v); err != nil {
			bad(EnvFollowUpQueueURL, err)
		} else {
			c.FollowUpQueueURL = v
		}
	}
	if v := get(EnvAllowedFunctions); v == "" {
		bad(EnvAllowedFunctions, errors.New(`required: comma-separated function names, prefix* patterns or ARNs ("*" allows every function in the account and Region)`))
	} else if a, err := ParseAllowlist(v); err != nil {
		bad(EnvAllowedFunctions, err)
	} else {
		c.Allowed = a
	}
	if v := get(EnvMaxConcurrency); v != "" {
		n, err := strconv.ParseInt(v, 10, 64)
		if err != nil || n < 1 || n > maxInt32 {
			bad(EnvMaxConcurrency, fmt.Errorf("%q is not an integer in 1..%d", clipValue(v), maxInt32))
		} else {
			c.MaxConcurrency = n
		}
	}
	if v := getenv(EnvPolicy); strings.TrimSpace(v) != "" {
		if p, err := ParsePolicy(v); err != nil {
			bad(EnvPolicy, err)
		} else {
			c.Policy = p
		}
	}
	if v := get(EnvWaitSeconds); v != "" {
		d, err := parseDuration(v)
		switch {
		case err != nil:
			bad(EnvWaitSeconds, err)
		case d < 0 || d > maxWait:
			bad(EnvWaitSeconds, fmt.Errorf("%q is outside 0..%s", clipValue(v), maxWait))
		default:
			c.Wait = d
		}
	}
	if v := get(EnvTrackTimeout); v != "" {
		d, err := parseDuration(v)
		switch {
		case err != nil:
			bad(EnvTrackTimeout, err)
		case d <= 0:
			bad(EnvTrackTimeout, fmt.Errorf("%q is not a positive duration", clipValue(v)))
		default:
			c.TrackTimeout = d
		}
	}
	if v := get(EnvControlPlaneRPS); v != "" {
		f, err := strconv.ParseFloat(v, 64)
		if err != nil || math.IsNaN(f) || math.IsInf(f, 0) || f <= 0 {
			bad(EnvControlPlaneRPS, fmt.Errorf("%q is not a finite number greater than 0", clipValue(v)))
		} else {
			c.ControlPlaneRPS = f
		}
	}
	c.HookRelease = intent.Release{Mode: intent.ReleaseDelete}
	if v := get(EnvHookRelease); v != "" && v != "delete" {
		n, err := strconv.ParseInt(v, 10, 64)
		if err != nil || n < 1 || n > maxInt32 {
			bad(EnvHookRelease, fmt.Errorf(`%q is neither "delete" nor a standby value in 1..%d`, clipValue(v), maxInt32))
		} else {
			c.HookRelease = intent.Release{Mode: intent.ReleaseStandby, Standby: n}
		}
	}
	if v := get(EnvDryRun); v != "" {
		b, err := strconv.ParseBool(v)
		if err != nil {
			bad(EnvDryRun, fmt.Errorf("%q is not a boolean (true or false)", clipValue(v)))
		} else {
			c.DryRun = b
		}
	}
	switch len(errs) {
	case 0:
		return c, nil
	case 1:
		return Config{}, errs[0]
	}
	return Config{}, &Errors{Errs: errs}
}

// VarError is an invalid environment variable.
type VarError struct {
	Name string // the variable, e.g. "ALLOWED_FUNCTIONS"
	Err  error
}

// Error returns "NAME: problem".
func (e *VarError) Error() string { return e.Name + ": " + e.Err.Error() }

// Unwrap returns the problem.
func (e *VarError) Unwrap() error { return e.Err }

// Errors is more than one invalid variable.
type Errors struct{ Errs []error }

// Error joins the problems with "; " so the cold start logs one line.
func (e *Errors) Error() string {
	parts := make([]string, len(e.Errs))
	for i, err := range e.Errs {
		parts[i] = err.Error()
	}
	return strings.Join(parts, "; ")
}

// Unwrap returns every problem, for errors.As.
func (e *Errors) Unwrap() []error { return e.Errs }

// checkQueueURL accepts an http(s) URL with a host, as SQS queue URLs are.
func checkQueueURL(v string) error {
	u, err := url.Parse(v)
	if err != nil || (u.Scheme != "https" && u.Scheme != "http") || u.Host == "" {
		return fmt.Errorf("%q is not an http(s) queue URL", clipValue(v))
	}
	return nil
}

// parseDuration accepts a Go duration ("20s", "15m") or plain seconds ("20", "1.5").
func parseDuration(v string) (time.Duration, error) {
	if f, err := strconv.ParseFloat(v, 64); err == nil {
		if math.IsNaN(f) || math.IsInf(f, 0) || math.Abs(f) > float64(math.MaxInt64/int64(time.Second)) {
			return 0, fmt.Errorf("%q is out of range", clipValue(v))
		}
		return time.Duration(f * float64(time.Second)), nil
	}
	d, err := time.ParseDuration(v)
	if err != nil {
		return 0, fmt.Errorf("%q is not a duration (like 20s or 15m) or a number of seconds", clipValue(v))
	}
	return d, nil
}

// clipValue shortens a bad value for an error message; POLICY can be long.
func clipValue(s string) string {
	const limit = 60
	if len(s) > limit {
		return s[:limit] + "…"
	}
	return s
}
