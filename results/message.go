// Package results provides prewarm's result message — the JSON body a deployment pipeline reads
// from the results queue to learn what happened to a target — and the Publisher that delivers
// those messages to SQS.
package results

import (
	"bytes"
	"encoding/json"
	"strings"
	"time"
	"unicode/utf8"
)

// SchemaVersion is the version of the message schema written by this package. Marshal fills it
// in when a Message leaves it zero.
const SchemaVersion = 1

// Outcome says what prewarm did, or found, for one target.
type Outcome string

// The outcomes a result message reports.
const (
	// OutcomeApplied: a Put was accepted; READY, FAILED or TIMED_OUT follows while tracking.
	OutcomeApplied Outcome = "APPLIED"
	// OutcomeUnchanged: the target already requests the derived value; nothing was called.
	OutcomeUnchanged Outcome = "UNCHANGED"
	// OutcomeReady: tracking ended with the target's provisioned concurrency allocated.
	OutcomeReady Outcome = "READY"
	// OutcomeFailed: tracking ended with Status FAILED, or AWS answered with a permanent error.
	OutcomeFailed Outcome = "FAILED"
	// OutcomeRejected: the intent was invalid, not allowed or nothing was derivable; nothing changed.
	OutcomeRejected Outcome = "REJECTED"
	// OutcomeReleased: provisioned concurrency was removed or lowered to a standby value.
	OutcomeReleased Outcome = "RELEASED"
	// OutcomeTimedOut: tracking gave up after TRACK_TIMEOUT.
	OutcomeTimedOut Outcome = "TIMED_OUT"
	// OutcomeSuperseded: a later intent for the same target overtook this one; nothing was called.
	OutcomeSuperseded Outcome = "SUPERSEDED"
	// OutcomeDryRun: the decision only; nothing was changed.
	OutcomeDryRun Outcome = "DRY_RUN"
)

// Valid reports whether o is one of the outcomes of the schema.
func (o Outcome) Valid() bool {
	switch o {
	case OutcomeApplied, OutcomeUnchanged, OutcomeReady, OutcomeFailed, OutcomeRejected,
		OutcomeReleased, OutcomeTimedOut, OutcomeSuperseded, OutcomeDryRun:
		return true
	}
	return false
}

// Status values of a provisioned concurrency configuration, as AWS reports them.
const (
	StatusInProgress = "IN_PROGRESS"
	StatusReady      = "READY"
	StatusFailed     = "FAILED"
)

// Trigger values: what delivered the intent a message answers.
const (
	TriggerSQS          = "sqs"
	TriggerEventBridge  = "eventbridge"
	TriggerCloudTrail   = "cloudtrail"
	TriggerSchedule     = "schedule"
	TriggerDirect       = "direct"
	TriggerFollowUp     = "followup"
	TriggerCodeDeploy   = "codedeploy"
	TriggerCodePipeline = "codepipeline"
)

// Message is one result message body, schema version 1. Field order in JSON is the
// order of the fields here. Optional objects (derivation, previous, response, error) and the
// optional strings correlationId and reason are omitted when empty; functionName and qualifier
// are always present, empty for a REJECTED intent that named none.
type Message struct {
	// SchemaVersion is the schema version; Marshal writes SchemaVersion when it is zero.
	SchemaVersion int `json:"schemaVersion"`
	// ID is the idempotency key of the triggering intent.
	ID string `json:"id"`
	// CorrelationID is echoed from the intent (a pipeline execution id, for example).
	CorrelationID string `json:"correlationId,omitempty"`
	// DeploymentID is the CodeDeploy deployment whose lifecycle hook the result answers.
	DeploymentID string `json:"deploymentId,omitempty"`
	// JobID is the CodePipeline job the result answers.
	JobID string `json:"jobId,omitempty"`
	// Trigger names what delivered the intent: one of the Trigger* constants.
	Trigger string `json:"trigger"`
	// FunctionName is the function as the intent named it (name or ARN).
	FunctionName string `json:"functionName"`
	// Qualifier is the alias or version the message is about.
	Qualifier string `json:"qualifier"`
	// Outcome says what happened.
	Outcome Outcome `json:"outcome"`
	// Derivation explains how the value was derived, when one was.
	Derivation *Derivation `json:"derivation,omitempty"`
	// Previous is the target's configuration before prewarm acted, when it had one.
	Previous *Previous `json:"previous,omitempty"`
	// Response holds the AWS response fields verbatim: Put for APPLIED, Get for READY/FAILED.
	Response *Response `json:"response,omitempty"`
	// Error is AWS's code and message for a permanent error.
	Error *Error `json:"error,omitempty"`
	// Reason is a human-readable explanation for REJECTED, FAILED and clamps.
	Reason string `json:"reason,omitempty"`
	// Time is when the outcome was decided; RFC 3339 in UTC in JSON.
	Time time.Time `json:"time"`
	// EndsIntent marks the last result of an intent for its target when the outcome alone does
	// not say so (an APPLIED that nothing follows, as for wait:false). It is not written.
	EndsIntent bool `json:"-"`
}

// Derivation records how the concurrency value was derived: base, scale, then every clamp.
type Derivation struct {
	// Strategy is "explicit", "mirror" or "policy".
	Strategy string `json:"strategy"`
	// From is the qualifier mirrored, for the mirror strategy.
	From string `json:"from,omitempty"`
	// Base is the value before scaling and clamping.
	Base int64 `json:"base"`
	// Scale is the multiplier applied to Base.
	Scale float64 `json:"scale"`
	// Value is the final value after ceil(Base × Scale) and every clamp.
	Value int64 `json:"value"`
	// ClampedBy names every clamp that lowered or raised the value; an empty array when none did.
	ClampedBy []string `json:"clampedBy"`
	// Demand records the metrics a "demand" base was computed from.
	Demand *Demand `json:"demand,omitempty"`
	// Fallback says why the demand strategy asked for was not used, and what was.
	Fallback string `json:"fallback,omitempty"`
	// FromAutoScaling is set when a mirrored base is the outgoing alias's auto scaling
	// minimum, higher than the provisioned concurrency it requested.
	FromAutoScaling bool `json:"fromAutoScaling,omitempty"`
}

// Demand is what CloudWatch showed of the outgoing qualifier over the window.
type Demand struct {
	Qualifier string `json:"qualifier"`
	// Peak is the Maximum of ConcurrentExecutions over the window, per minute.
	Peak float64 `json:"peak"`
	// Spillover is the Sum of ProvisionedConcurrencySpilloverInvocations.
	Spillover float64 `json:"spillover"`
	// Window is the span read, as a Go duration ("24h").
	Window string `json:"window"`
	// Utilisation is the target utilisation: base = ceil(peak ÷ utilisation).
	Utilisation float64 `json:"utilisation"`
	// Datapoints is how many minutes had data.
	Datapoints int `json:"datapoints"`
	// RaisedBySpillover is set when spillover raised the base above the old value.
	RaisedBySpillover bool `json:"raisedBySpillover,omitempty"`
}

// Derivation strategies.
const (
	StrategyExplicit = "explicit"
	StrategyMirror   = "mirror"
	StrategyPolicy   = "policy"
	StrategyDemand   = "demand"
)

// Previous is the target's provisioned concurrency configuration before prewarm acted.
type Previous struct {
	RequestedProvisionedConcurrentExecutions int64  `json:"RequestedProvisionedConcurrentExecutions"`
	Status                                   string `json:"Status"`
}

// Response holds the fields of a Put or Get provisioned concurrency response, verbatim.
type Response struct {
	RequestedProvisionedConcurrentExecutions int64 `json:"RequestedProvisionedConcurrentExecutions"`
	AvailableProvisionedConcurrentExecutions int64 `json:"AvailableProvisionedConcurrentExecutions"`
	AllocatedProvisionedConcurrentExecutions int64 `json:"AllocatedProvisionedConcurrentExecutions"`
	// Status is IN_PROGRESS, READY or FAILED.
	Status string `json:"Status"`
	// StatusReason explains FAILED, for example FUNCTION_ERROR_INIT_FAILURE.
	StatusReason string `json:"StatusReason"`
	// LastModified is AWS's timestamp as sent, for example 2019-11-21T19:32:12+0000.
	LastModified string `json:"LastModified"`
}

// Error is a permanent AWS error: its code and message.
type Error struct {
	Code    string `json:"code"`
	Message string `json:"message"`
}

// Terminal reports whether m ends the story of its target for a pipeline waiting on it: no
// further message for the same id, function and qualifier follows, so the pipeline can stop
// waiting and act on the outcome.
//
// READY, FAILED, TIMED_OUT, REJECTED, SUPERSEDED, RELEASED and DRY_RUN are terminal. APPLIED is
// not: READY, FAILED or TIMED_OUT follows. UNCHANGED is terminal unless the observed status is
// IN_PROGRESS, in which case prewarm follows the allocation to READY exactly as after APPLIED.
func (m Message) Terminal() bool {
	switch m.Outcome {
	case OutcomeReady, OutcomeFailed, OutcomeTimedOut, OutcomeRejected, OutcomeSuperseded,
		OutcomeReleased, OutcomeDryRun:
		return true
	case OutcomeUnchanged:
		return m.Status() != StatusInProgress
	}
	return false
}

// Status is the target's provisioned concurrency status the message reports: the response's,
// else the previous configuration's, else "".
func (m Message) Status() string {
	if m.Response != nil && m.Response.Status != "" {
		return m.Response.Status
	}
	if m.Previous != nil {
		return m.Previous.Status
	}
	return ""
}

// Length limits applied before encoding so that a well-formed message stays far below the SQS
// limit of 1 MiB whatever an invalid intent carried.
const (
	// MaxReasonBytes bounds reason and error.message.
	MaxReasonBytes = 4096
	// maxFieldBytes bounds every other string field.
	maxFieldBytes = 1024
)

// Marshal encodes m as a result message body: fields in schema order, schemaVersion filled in,
// clampedBy an array, long strings truncated, time in UTC. Logs, golden files and the Publisher
// all use it, so what is logged is what is published.
func Marshal(m Message) ([]byte, error) {
	return m.MarshalJSON()
}

// MarshalJSON implements json.Marshaler with the rules of Marshal, so that a Message logged with
// encoding/json or slog reads exactly like the published body.
func (m Message) MarshalJSON() ([]byte, error) {
	type wire Message // no methods: plain struct encoding without recursion
	b, err := json.Marshal(wire(normalise(m)))
	if err != nil {
		return nil, err
	}
	return escapeNonCharacters(b), nil
}

// normalise returns a copy of m ready to encode. It never modifies what m points to.
func normalise(m Message) Message {
	if m.SchemaVersion == 0 {
		m.SchemaVersion = SchemaVersion
	}
	m.ID = truncate(m.ID, maxFieldBytes)
	m.CorrelationID = truncate(m.CorrelationID, maxFieldBytes)
	m.DeploymentID = truncate(m.DeploymentID, maxFieldBytes)
	m.JobID = truncate(m.JobID, maxFieldBytes)
	m.Trigger = truncate(m.Trigger, maxFieldBytes)
	m.FunctionName = truncate(m.FunctionName, maxFieldBytes)
	m.Qualifier = truncate(m.Qualifier, maxFieldBytes)
	m.Outcome = Outcome(truncate(string(m.Outcome), maxFieldBytes))
	m.Reason = truncate(m.Reason, MaxReasonBytes)
	if d := m.Derivation; d != nil {
		c := *d
		c.Strategy = truncate(c.Strategy, maxFieldBytes)
		c.From = truncate(c.From, maxFieldBytes)
		c.ClampedBy = make([]string, len(d.ClampedBy))
		for i, s := range d.ClampedBy {
			c.ClampedBy[i] = truncate(s, maxFieldBytes)
		}
		m.Derivation = &c
	}
	if p := m.Previous; p != nil {
		c := *p
		c.Status = truncate(c.Status, maxFieldBytes)
		m.Previous = &c
	}
	if r := m.Response; r != nil {
		c := *r
		c.Status = truncate(c.Status, maxFieldBytes)
		c.StatusReason = truncate(c.StatusReason, MaxReasonBytes)
		c.LastModified = truncate(c.LastModified, maxFieldBytes)
		m.Response = &c
	}
	if e := m.Error; e != nil {
		m.Error = &Error{Code: truncate(e.Code, maxFieldBytes), Message: truncate(e.Message, MaxReasonBytes)}
	}
	m.Time = m.Time.UTC()
	return m
}

// truncationMark ends a string cut by truncate.
const truncationMark = "…"

// truncate cuts s to at most limit bytes on a rune boundary, marking the cut.
func truncate(s string, limit int) string {
	if len(s) <= limit {
		return s
	}
	cut := limit - len(truncationMark)
	for cut > 0 && !utf8.RuneStart(s[cut]) {
		cut--
	}
	return s[:cut] + truncationMark
}

// escapeNonCharacters rewrites U+FFFE and U+FFFF, which encoding/json passes through but SQS
// rejects in a message body, as JSON escapes. Outside strings JSON holds only ASCII, so every
// occurrence is inside a string and the escape is equivalent.
func escapeNonCharacters(b []byte) []byte {
	if !bytes.Contains(b, []byte("\uFFFE")) && !bytes.Contains(b, []byte("\uFFFF")) {
		return b
	}
	r := strings.NewReplacer("\uFFFE", `\ufffe`, "\uFFFF", `\uffff`)
	return []byte(r.Replace(string(b)))
}
