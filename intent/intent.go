// Package intent decodes prewarm's input payloads into messages: deployment intents (bare,
// from EventBridge, from CloudTrail alias updates or from a CodePipeline job), CodeDeploy
// lifecycle hooks, scheduled reconcile requests and prewarm's own follow-up messages. It validates strictly, does no I/O and knows no AWS SDK
// types; every payload it refuses comes back as a *Rejection naming what was wrong.
package intent

import (
	"errors"
	"fmt"
	"math"
	"time"
)

// Trigger names what delivered a message; it is echoed in every result.
type Trigger string

// Triggers.
const (
	TriggerSQS          Trigger = "sqs"          // a bare intent in an SQS record body
	TriggerEventBridge  Trigger = "eventbridge"  // an EventBridge envelope (Alias Switch, Provisioned Concurrency Change)
	TriggerCloudTrail   Trigger = "cloudtrail"   // a CloudTrail UpdateAlias event delivered by EventBridge
	TriggerSchedule     Trigger = "schedule"     // an EventBridge Scheduled Event
	TriggerDirect       Trigger = "direct"       // a bare intent as the invocation payload
	TriggerFollowUp     Trigger = "followup"     // prewarm's own follow-up message
	TriggerCodeDeploy   Trigger = "codedeploy"   // a CodeDeploy lifecycle hook
	TriggerCodePipeline Trigger = "codepipeline" // a CodePipeline job's UserParameters
)

func (t Trigger) valid() bool {
	switch t {
	case TriggerSQS, TriggerEventBridge, TriggerCloudTrail, TriggerSchedule, TriggerDirect, TriggerFollowUp,
		TriggerCodeDeploy, TriggerCodePipeline:
		return true
	}
	return false
}

// Kind says what a Message asks prewarm to do.
type Kind int

// Kinds.
const (
	KindIntent          Kind = iota + 1 // derive and apply provisioned concurrency for one target
	KindReconcile                       // run a reconcile pass over every allowed function
	KindFollowUp                        // continue tracking a change started earlier
	KindCodeDeployHook                  // warm or release a CodeDeploy deployment's versions, then answer the hook
	KindCodePipelineJob                 // carry out a CodePipeline job's intent, then end the job
)

// String returns "intent", "reconcile", "followup", "codedeploy-hook" or "codepipeline-job".
func (k Kind) String() string {
	switch k {
	case KindIntent:
		return "intent"
	case KindReconcile:
		return "reconcile"
	case KindFollowUp:
		return "followup"
	case KindCodeDeployHook:
		return "codedeploy-hook"
	case KindCodePipelineJob:
		return "codepipeline-job"
	}
	return fmt.Sprintf("Kind(%d)", int(k))
}

// ReleaseMode says what happens to the outgoing qualifier once the target is READY.
type ReleaseMode int

// Release modes.
const (
	ReleaseNone    ReleaseMode = iota // leave the outgoing qualifier as it is (the default)
	ReleaseDelete                     // remove the outgoing qualifier's provisioned concurrency
	ReleaseStandby                    // lower the outgoing qualifier to Release.Standby
)

// String returns "none", "delete" or "standby".
func (m ReleaseMode) String() string {
	switch m {
	case ReleaseNone:
		return "none"
	case ReleaseDelete:
		return "delete"
	case ReleaseStandby:
		return "standby"
	}
	return fmt.Sprintf("ReleaseMode(%d)", int(m))
}

// Release is an intent's instruction for the outgoing qualifier (From).
type Release struct {
	Mode ReleaseMode
	// Standby is the value From keeps with ReleaseStandby (≥ 1); 0 otherwise.
	Standby int64
}

// Intent asks prewarm to give one alias or version the provisioned concurrency it needs.
type Intent struct {
	// ID is the idempotency key: the payload's id, else the EventBridge id, else the
	// defaultID passed to Decode.
	ID string
	// CorrelationID is echoed in every result (a pipeline execution id, for example).
	CorrelationID string
	// Trigger is what delivered the intent.
	Trigger Trigger
	// Function is the function whose qualifier receives provisioned concurrency.
	Function Function
	// Qualifier is the alias or published version that receives provisioned concurrency
	// (`to` / `qualifier`); never $LATEST.
	Qualifier string
	// From is the optional outgoing alias or version: the mirror source and the release
	// candidate. Never equal to Qualifier.
	From string
	// Concurrency is the explicit value; nil when not given; 0 removes the target's
	// provisioned concurrency.
	Concurrency *int64
	// Scale multiplies a mirrored or policy-default value; 0 when not given, else finite and > 0.
	Scale float64
	// Min and Max clamp the derived value; nil when not given; Min ≤ Max.
	Min, Max *int64
	// Release says what to do with From after the target is READY.
	Release Release
	// Wait follows the target to READY or FAILED and publishes the outcome; default true.
	Wait bool
	// DryRun derives and publishes the decision without changing anything.
	DryRun bool
	// AliasMoved is set for a CloudTrail UpdateAlias event: the alias was re-pointed outside
	// prewarm, so its provisioned concurrency is re-derived per policy and followed to READY.
	AliasMoved bool
	// Strategy is StrategyDemand or StrategyMirror when the intent chooses how the value is
	// derived; "" leaves it to the policy.
	Strategy string
	// Window is how far back the demand strategy looks; 0 when not given.
	Window time.Duration
	// Utilisation is the demand strategy's target utilisation; 0 when not given, else in (0, 1].
	Utilisation float64
}

// Message is one decoded payload.
type Message struct {
	Kind    Kind
	Trigger Trigger
	// ID is the idempotency key of the message (for KindFollowUp, the original intent's; for
	// KindCodeDeployHook, the hook execution id; for KindCodePipelineJob, the job's intent's).
	ID string
	// Intent is set for KindIntent.
	Intent Intent
	// FollowUps is set for KindFollowUp: the changes it continues (1..MaxFollowUps).
	FollowUps []FollowUp
	// Functions is set for KindReconcile when the message continues a reconcile pass: the
	// functions still to visit. Empty for a pass that starts from ALLOWED_FUNCTIONS.
	Functions []string
	// CodeDeployHook is set for KindCodeDeployHook.
	CodeDeployHook CodeDeployHook
	// CodePipelineJob is set for KindCodePipelineJob.
	CodePipelineJob CodePipelineJob
}

// Limits on free-form identifiers, so results stay small.
const (
	maxIDLen = 256
)

// Validate reports the first reason i is not an intent Decode could have produced.
func (i Intent) Validate() error {
	if !i.Trigger.valid() {
		return fmt.Errorf("trigger %q is unknown", i.Trigger)
	}
	if len(i.ID) > maxIDLen {
		return fmt.Errorf("id is longer than %d characters", maxIDLen)
	}
	if len(i.CorrelationID) > maxIDLen {
		return fmt.Errorf("correlationId is longer than %d characters", maxIDLen)
	}
	if err := i.Function.validate(); err != nil {
		return err
	}
	if err := ValidateQualifier(i.Qualifier); err != nil {
		return err
	}
	if i.From != "" {
		if err := ValidateQualifier(i.From); err != nil {
			return fmt.Errorf("from: %w", err)
		}
		if i.From == i.Qualifier {
			return fmt.Errorf("from and to are both %s: nothing moves", quote(i.From))
		}
	}
	if c := i.Concurrency; c != nil && (*c < 0 || *c > MaxValue) {
		return fmt.Errorf("concurrency %d is outside 0..%d", *c, MaxValue)
	}
	if s := i.Scale; s != 0 && (math.IsNaN(s) || math.IsInf(s, 0) || s <= 0) {
		return fmt.Errorf("scale %v is not a finite number greater than 0", s)
	}
	for _, c := range []struct {
		name string
		v    *int64
	}{{"min", i.Min}, {"max", i.Max}} {
		if c.v != nil && (*c.v < 0 || *c.v > MaxValue) {
			return fmt.Errorf("%s %d is outside 0..%d", c.name, *c.v, MaxValue)
		}
	}
	if i.Min != nil && i.Max != nil && *i.Min > *i.Max {
		return fmt.Errorf("min %d is greater than max %d", *i.Min, *i.Max)
	}
	switch i.Release.Mode {
	case ReleaseNone, ReleaseDelete:
		if i.Release.Standby != 0 {
			return fmt.Errorf("release %s carries a standby value", i.Release.Mode)
		}
	case ReleaseStandby:
		if i.Release.Standby < 1 || i.Release.Standby > MaxValue {
			return fmt.Errorf("release standby %d is outside 1..%d", i.Release.Standby, MaxValue)
		}
	default:
		return fmt.Errorf("release mode %d is unknown", int(i.Release.Mode))
	}
	if err := i.validateStrategy(); err != nil {
		return err
	}
	if i.Release.Mode != ReleaseNone {
		if i.Concurrency != nil && *i.Concurrency == 0 {
			return errors.New("release needs a target that becomes READY, but concurrency 0 removes the target's provisioned concurrency")
		}
		if i.From == "" {
			return errors.New("release needs from: it names the outgoing qualifier to release")
		}
		if !i.Wait {
			return errors.New("release needs wait: the outgoing qualifier is released only after the target is READY")
		}
	}
	return nil
}
