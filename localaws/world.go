package localaws

import (
	"bytes"
	_ "embed"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"time"

	"github.com/prewarm/prewarm/localaws/autoscalingsim"
	"github.com/prewarm/prewarm/localaws/clock"
	"github.com/prewarm/prewarm/localaws/cloudwatchsim"
	"github.com/prewarm/prewarm/localaws/codedeploysim"
	"github.com/prewarm/prewarm/localaws/codepipelinesim"
	"github.com/prewarm/prewarm/localaws/lambdasim"
	"github.com/prewarm/prewarm/localaws/sqssim"
)

// World seeds the emulated account: the JSON world file (SPEC §8). Each
// service seeded from the file owns its fields (Functions for Lambda,
// Queues for SQS); a new service adds one field holding its own section,
// e.g.
//
//	CodeDeploy codedeploysim.World `json:"codeDeploy,omitempty"`
//
// checks it in Validate and reads it from Env.World in services(). Other
// accounts and Regions start from an empty World.
type World struct {
	AccountID            string `json:"accountId"`
	Region               string `json:"region"`
	ConcurrentExecutions int    `json:"concurrentExecutions,omitempty"`
	MinimumUnreserved    int    `json:"minimumUnreserved,omitempty"`
	// ReadyAfter is how long provisioned concurrency stays IN_PROGRESS.
	ReadyAfter Duration `json:"readyAfter"`
	// AliasWeightsWindow is how long a re-pointed alias with provisioned
	// concurrency shows routing weights; readyAfter/2 when absent, negative
	// turns it off.
	AliasWeightsWindow Duration `json:"aliasWeightsWindow,omitempty"`
	// PutConflictWindow enables "A previous request is being processed" for
	// a second Put on a qualifier within this long; off when absent.
	PutConflictWindow Duration             `json:"putConflictWindow,omitempty"`
	Functions         []lambdasim.Function `json:"functions"`
	Queues            []sqssim.Queue       `json:"queues"`
	// CodeDeploy seeds Lambda deployments (codedeploysim).
	CodeDeploy codedeploysim.World `json:"codeDeploy,omitzero"`
	// CodePipeline seeds Lambda invoke action jobs in progress (codepipelinesim), for
	// CodePipeline.job events that name them.
	CodePipeline codepipelinesim.World `json:"codePipeline,omitzero"`
	// ScalableTargets seed Application Auto Scaling: targets on aliases with their
	// policies and scheduled actions.
	ScalableTargets []autoscalingsim.Target `json:"scalableTargets,omitempty"`
	// Metrics seed CloudWatch: per-minute series up to the emulator's start.
	Metrics []cloudwatchsim.Series `json:"metrics,omitempty"`
}

// Duration is a time.Duration written in JSON as a Go duration string
// ("3s", "1m30s"); a JSON number is read as seconds.
type Duration time.Duration

// MarshalJSON writes d as a Go duration string.
func (d Duration) MarshalJSON() ([]byte, error) {
	return json.Marshal(time.Duration(d).String())
}

// UnmarshalJSON reads a Go duration string or a number of seconds.
func (d *Duration) UnmarshalJSON(b []byte) error {
	var s string
	if err := json.Unmarshal(b, &s); err == nil {
		v, err := time.ParseDuration(s)
		if err != nil {
			return fmt.Errorf("duration %q: %w", s, err)
		}
		*d = Duration(v)
		return nil
	}
	var secs float64
	if err := json.Unmarshal(b, &secs); err != nil {
		return fmt.Errorf("duration %s: want a string like \"3s\" or a number of seconds", b)
	}
	*d = Duration(secs * float64(time.Second))
	return nil
}

//go:embed world.json
var defaultWorldJSON []byte

// DefaultWorld is the built-in world: the functions, queues, deployment and
// job the sample events in events/ use (my-function, checkout-api,
// orders-worker with 50 reserved, broken-function whose GREEN version fails
// to initialise; the prewarm-* queues; CodeDeploy's d-ABCDEF123 and the
// CodePipeline job of codepipeline-job.json, both in progress). Each call
// returns a fresh copy.
func DefaultWorld() World {
	w, err := ParseWorld(defaultWorldJSON)
	if err != nil {
		// world.json is compiled in and checked by the tests; reaching this
		// means the binary was built from a broken tree.
		panic(fmt.Sprintf("localaws: embedded world.json: %v", err))
	}
	return w
}

// DefaultWorldJSON returns the built-in world file, for printing or as a
// template.
func DefaultWorldJSON() []byte { return bytes.Clone(defaultWorldJSON) }

// LoadWorld reads and validates a world file.
func LoadWorld(path string) (World, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return World{}, fmt.Errorf("load world: %w", err)
	}
	w, err := ParseWorld(b)
	if err != nil {
		return World{}, fmt.Errorf("load world %s: %w", path, err)
	}
	return w, nil
}

// ParseWorld decodes and validates a world file's contents; unknown fields
// are errors, so a misspelt key does not silently change the world.
func ParseWorld(b []byte) (World, error) {
	var w World
	dec := json.NewDecoder(bytes.NewReader(b))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&w); err != nil {
		return World{}, fmt.Errorf("parse world: %w", err)
	}
	if dec.More() {
		return World{}, errors.New("parse world: unexpected data after the JSON object")
	}
	if err := w.Validate(); err != nil {
		return World{}, err
	}
	return w, nil
}

// Validate reports the first problem with w.
func (w World) Validate() error {
	if w.ReadyAfter < 0 {
		return fmt.Errorf("world: readyAfter %s is negative", time.Duration(w.ReadyAfter))
	}
	if w.ConcurrentExecutions < 0 || w.MinimumUnreserved < 0 {
		return errors.New("world: concurrentExecutions and minimumUnreserved must not be negative")
	}
	id, region := w.account()
	if err := w.lambdaConfig(id, region, nil).Validate(); err != nil {
		return fmt.Errorf("world: %w", err)
	}
	if err := w.sqsConfig(id, region, nil).Validate(); err != nil {
		return fmt.Errorf("world: %w", err)
	}
	if err := w.codeDeployConfig(id, region, nil).Validate(); err != nil {
		return fmt.Errorf("world: %w", err)
	}
	if err := w.codePipelineConfig(id, region, nil).Validate(); err != nil {
		return fmt.Errorf("world: %w", err)
	}
	// A redrive naming a queue the file does not define is most likely a
	// typo; refuse it rather than create a dead-letter queue nobody reads.
	queues := map[string]bool{}
	for _, q := range w.Queues {
		queues[q.Name] = true
	}
	for _, q := range w.Queues {
		if r := q.Redrive; r != nil && !queues[r.DeadLetterQueue] {
			return fmt.Errorf("world: queue %q: redrive to %q, which the world does not define", q.Name, r.DeadLetterQueue)
		}
	}
	if err := w.autoScalingConfig(id, region, nil).Validate(); err != nil {
		return fmt.Errorf("world: %w", err)
	}
	if err := w.cloudWatchConfig(id, region, nil).Validate(); err != nil {
		return fmt.Errorf("world: %w", err)
	}
	return nil
}

const (
	defaultAccountID = "123456789012"
	defaultRegion    = "us-east-1"
)

// Home is the account and Region the world seeds, with the defaults
// filled in.
func (w World) Home() (accountID, region string) { return w.account() }

func (w World) account() (string, string) {
	id, region := w.AccountID, w.Region
	if id == "" {
		id = defaultAccountID
	}
	if region == "" {
		region = defaultRegion
	}
	return id, region
}

func (w World) lambdaConfig(id, region string, clk clock.Clock) lambdasim.Config {
	return lambdasim.Config{
		AccountID:            id,
		Region:               region,
		ConcurrentExecutions: w.ConcurrentExecutions,
		MinimumUnreserved:    w.MinimumUnreserved,
		ReadyAfter:           time.Duration(w.ReadyAfter),
		AliasWeightsWindow:   time.Duration(w.AliasWeightsWindow),
		PutConflictWindow:    time.Duration(w.PutConflictWindow),
		Functions:            w.Functions,
		Clock:                clk,
	}
}

func (w World) sqsConfig(id, region string, clk clock.Clock) sqssim.Config {
	return sqssim.Config{AccountID: id, Region: region, Queues: w.Queues, Clock: clk}
}

func (w World) codeDeployConfig(id, region string, clk clock.Clock) codedeploysim.Config {
	return codedeploysim.Config{AccountID: id, Region: region, World: w.CodeDeploy, Clock: clk}
}

func (w World) codePipelineConfig(id, region string, clk clock.Clock) codepipelinesim.Config {
	return codepipelinesim.Config{AccountID: id, Region: region, World: w.CodePipeline, Clock: clk}
}
