package intent

import (
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"time"
)

// FollowUp is prewarm's own continuation message: it carries the tracking of a change beyond
// one invocation, so no state is kept anywhere but in the queue.
type FollowUp struct {
	// Intent is the intent being carried out.
	Intent Intent
	// Value is the provisioned concurrency being tracked on Intent.Qualifier.
	Value int64
	// Strategy, Base, Scale and ClampedBy echo the derivation in results, with Demand,
	// Fallback and FromAutoScaling when the derivation had them.
	Strategy        string
	Base            int64
	Scale           float64
	ClampedBy       []string
	Demand          *Demand
	Fallback        string
	FromAutoScaling bool
	// Attempt counts the follow-ups written for this change so far.
	Attempt int
	// Started is when tracking began.
	Started time.Time
	// Deadline is when tracking gives up (Started + TRACK_TIMEOUT).
	Deadline time.Time
	// DerivedFrom is the qualifier the value was mirrored from, when it was
	// not Intent.From (a switch already done keeps the target's own value).
	DerivedFrom string
	// Reported is the terminal outcome already published for the target
	// ("READY" while the release is still to be done), so that it is never
	// published twice.
	Reported string
	// Next is when the target is due to be read again; zero means at once.
	Next time.Time
	// Gate is the deployment the change answers when it ends; zero for none.
	Gate Gate
	// Unanswered is the outcome the change ended with while its gate's answer could not be
	// given yet; "" while it goes on.
	Unanswered string
}

// Demand is what the demand strategy read of the outgoing qualifier: results' derivation.demand,
// with the same fields in the same order (handler converts one to the other).
type Demand struct {
	Qualifier         string  `json:"qualifier"`
	Peak              float64 `json:"peak"`
	Spillover         float64 `json:"spillover"`
	Window            string  `json:"window"`
	Utilisation       float64 `json:"utilisation"`
	Datapoints        int     `json:"datapoints"`
	RaisedBySpillover bool    `json:"raisedBySpillover,omitempty"`
}

var demandFields = fieldSet("qualifier", "peak", "spillover", "window", "utilisation", "datapoints", "raisedBySpillover")

// maxFallbackLen bounds a carried fallback reason.
const maxFallbackLen = 1024

func (dm *Demand) validate() error {
	if dm == nil {
		return nil
	}
	if err := ValidateQualifier(dm.Qualifier); err != nil {
		return fmt.Errorf("demand.qualifier: %w", err)
	}
	for _, v := range []struct {
		name string
		v    float64
	}{{"peak", dm.Peak}, {"spillover", dm.Spillover}} {
		if math.IsNaN(v.v) || math.IsInf(v.v, 0) || v.v < 0 {
			return fmt.Errorf("demand.%s %v is not a finite number ≥ 0", v.name, v.v)
		}
	}
	if math.IsNaN(dm.Utilisation) || !(dm.Utilisation > 0 && dm.Utilisation <= 1) {
		return fmt.Errorf("demand.utilisation %v is not in (0, 1]", dm.Utilisation)
	}
	if dm.Datapoints < 0 || dm.Datapoints > MaxValue {
		return fmt.Errorf("demand.datapoints %d is outside 0..%d", dm.Datapoints, MaxValue)
	}
	if d, err := time.ParseDuration(dm.Window); err != nil || d <= 0 || len(dm.Window) > 32 {
		return fmt.Errorf("demand.window %s is not a positive Go duration", quote(clip(dm.Window)))
	}
	return nil
}

// Gate is the deployment system waiting on a change: a CodeDeploy lifecycle hook execution
// (DeploymentID and ExecutionID) or a CodePipeline job (JobID).
type Gate struct {
	DeploymentID, ExecutionID string
	JobID                     string
}

// IsZero reports whether no deployment waits.
func (g Gate) IsZero() bool { return g == Gate{} }

func (g Gate) validate() error {
	switch {
	case g.IsZero():
		return nil
	case g.JobID != "":
		if g.DeploymentID != "" || g.ExecutionID != "" || !isJobID(g.JobID) {
			return fmt.Errorf("gate: job id %q is not a CodePipeline job id alone", clip(g.JobID))
		}
	case !isDeploymentID(g.DeploymentID):
		return fmt.Errorf("gate: deployment id %q is not a CodeDeploy deployment id", clip(g.DeploymentID))
	case g.ExecutionID == "" || len(g.ExecutionID) > maxExecutionIDLen || !printableToken(g.ExecutionID):
		return errors.New("gate: the hook execution id is missing or not a token")
	}
	return nil
}

var gateFields = fieldSet("deploymentId", "executionId", "jobId")

// MaxFollowUps is the most changes one follow-up message carries.
const MaxFollowUps = 50

// followUpWire is the JSON form of a FollowUp, under the key "prewarmFollowUp".
type followUpWire struct {
	Intent    intentWire `json:"intent"`
	Value     int64      `json:"value"`
	Strategy  string     `json:"strategy,omitempty"`
	Base      int64      `json:"base"`
	Scale     float64    `json:"scale"`
	ClampedBy []string   `json:"clampedBy"`
	Attempt   int        `json:"attempt"`
	Started   time.Time  `json:"started"`
	Deadline  time.Time  `json:"deadline"`
	// Written only when set.
	Demand          *Demand    `json:"demand,omitempty"`
	Fallback        string     `json:"fallback,omitempty"`
	FromAutoScaling bool       `json:"fromAutoScaling,omitempty"`
	DerivedFrom     string     `json:"derivedFrom,omitempty"`
	Reported        string     `json:"reported,omitempty"`
	Next            *time.Time `json:"next,omitempty"`
	Gate            *gateWire  `json:"gate,omitempty"`
	Unanswered      string     `json:"unanswered,omitempty"`
}

type gateWire struct {
	DeploymentID string `json:"deploymentId,omitempty"`
	ExecutionID  string `json:"executionId,omitempty"`
	JobID        string `json:"jobId,omitempty"`
}

// intentWire is an intent in the bare-intent form plus what only prewarm writes.
type intentWire struct {
	ID            string          `json:"id,omitempty"`
	CorrelationID string          `json:"correlationId,omitempty"`
	Trigger       Trigger         `json:"trigger"`
	FunctionName  string          `json:"functionName"`
	To            string          `json:"to"`
	From          string          `json:"from,omitempty"`
	Concurrency   *int64          `json:"concurrency,omitempty"`
	Scale         float64         `json:"scale,omitempty"`
	Min           *int64          `json:"min,omitempty"`
	Max           *int64          `json:"max,omitempty"`
	Release       json.RawMessage `json:"release,omitempty"`
	Wait          bool            `json:"wait"`
	DryRun        bool            `json:"dryRun,omitempty"`
	AliasMoved    bool            `json:"aliasMoved,omitempty"`
	Strategy      string          `json:"strategy,omitempty"`
	Window        string          `json:"window,omitempty"`
	Utilisation   float64         `json:"utilisation,omitempty"`
}

var followUpFields = fieldSet("intent", "value", "strategy", "base", "scale", "clampedBy", "demand", "fallback", "fromAutoScaling",
	"attempt", "started", "deadline", "derivedFrom", "reported", "next", "gate", "unanswered")

// Validate reports the first reason f is not a follow-up Decode could have produced.
func (f FollowUp) Validate() error {
	if err := f.Intent.Validate(); err != nil {
		return fmt.Errorf("intent: %w", err)
	}
	switch {
	case f.Value < 0 || f.Value > MaxValue:
		return fmt.Errorf("value %d is outside 0..%d", f.Value, MaxValue)
	case f.Base < 0 || f.Base > MaxValue:
		return fmt.Errorf("base %d is outside 0..%d", f.Base, MaxValue)
	case math.IsNaN(f.Scale) || math.IsInf(f.Scale, 0) || f.Scale < 0:
		return fmt.Errorf("scale %v is not a finite number ≥ 0", f.Scale)
	case f.Attempt < 0 || f.Attempt > MaxValue:
		return fmt.Errorf("attempt %d is outside 0..%d", f.Attempt, MaxValue)
	case f.Started.IsZero() || f.Deadline.IsZero():
		return errors.New("started and deadline are required")
	case f.Deadline.Before(f.Started):
		return fmt.Errorf("deadline %s is before started %s", f.Deadline.Format(time.RFC3339), f.Started.Format(time.RFC3339))
	}
	switch f.Strategy {
	case "", "explicit", "mirror", "policy", "demand":
	default:
		return fmt.Errorf("strategy %q is unknown", f.Strategy)
	}
	for _, c := range f.ClampedBy {
		if c == "" || len(c) > 64 {
			return fmt.Errorf("clampedBy entry %q is not a clamp name", c)
		}
	}
	if err := f.Demand.validate(); err != nil {
		return err
	}
	if len(f.Fallback) > maxFallbackLen {
		return fmt.Errorf("fallback is longer than %d bytes", maxFallbackLen)
	}
	switch f.Reported {
	case "", "READY":
	default:
		return fmt.Errorf("reported %q is not READY", f.Reported)
	}
	if f.DerivedFrom != "" {
		if err := ValidateQualifier(f.DerivedFrom); err != nil {
			return fmt.Errorf("derivedFrom: %w", err)
		}
	}
	switch f.Unanswered {
	case "", "READY", "FAILED", "TIMED_OUT", "REJECTED", "SUPERSEDED", "RELEASED", "UNCHANGED", "APPLIED", "DRY_RUN":
	default:
		return fmt.Errorf("unanswered %q is not an outcome", clip(f.Unanswered))
	}
	if f.Unanswered != "" && f.Gate.IsZero() {
		return errors.New("unanswered without a gate")
	}
	return f.Gate.validate()
}

// EncodeFollowUp encodes f as a message body that Decode recognises as KindFollowUp:
// {"prewarmFollowUp":{...}}.
func EncodeFollowUp(f FollowUp) ([]byte, error) {
	w, err := wireOf(f)
	if err != nil {
		return nil, err
	}
	body, err := json.Marshal(map[string]followUpWire{followUpKey: w})
	if err != nil {
		return nil, fmt.Errorf("encode follow-up %s:%s: %w", f.Intent.Function, f.Intent.Qualifier, err)
	}
	return body, nil
}

// EncodeFollowUps encodes up to MaxFollowUps changes as one message body that Decode
// recognises as KindFollowUp: {"prewarmFollowUps":[{...},...]}.
func EncodeFollowUps(fs []FollowUp) ([]byte, error) {
	if len(fs) == 0 || len(fs) > MaxFollowUps {
		return nil, fmt.Errorf("encode follow-ups: %d changes, want 1..%d", len(fs), MaxFollowUps)
	}
	ws := make([]followUpWire, len(fs))
	for i, f := range fs {
		w, err := wireOf(f)
		if err != nil {
			return nil, err
		}
		ws[i] = w
	}
	body, err := json.Marshal(map[string][]followUpWire{followUpsKey: ws})
	if err != nil {
		return nil, fmt.Errorf("encode follow-ups: %w", err)
	}
	return body, nil
}

func wireOf(f FollowUp) (followUpWire, error) {
	if err := f.Validate(); err != nil {
		return followUpWire{}, fmt.Errorf("encode follow-up %s:%s: %w", f.Intent.Function, f.Intent.Qualifier, err)
	}
	in := f.Intent
	w := followUpWire{
		Intent: intentWire{
			ID:            in.ID,
			CorrelationID: in.CorrelationID,
			Trigger:       in.Trigger,
			FunctionName:  in.Function.String(),
			To:            in.Qualifier,
			From:          in.From,
			Concurrency:   in.Concurrency,
			Scale:         in.Scale,
			Min:           in.Min,
			Max:           in.Max,
			Wait:          in.Wait,
			DryRun:        in.DryRun,
			AliasMoved:    in.AliasMoved,
			Strategy:      in.Strategy,
			Window:        formatWindow(in.Window),
			Utilisation:   in.Utilisation,
		},
		Value:     f.Value,
		Strategy:  f.Strategy,
		Base:      f.Base,
		Scale:     f.Scale,
		ClampedBy: f.ClampedBy,
		Attempt:   f.Attempt,
		Started:   f.Started,
		Deadline:  f.Deadline,

		Demand:          f.Demand,
		Fallback:        f.Fallback,
		FromAutoScaling: f.FromAutoScaling,
		DerivedFrom:     f.DerivedFrom,
		Reported:        f.Reported,
	}
	if !f.Next.IsZero() {
		next := f.Next
		w.Next = &next
	}
	if !f.Gate.IsZero() {
		w.Gate = &gateWire{DeploymentID: f.Gate.DeploymentID, ExecutionID: f.Gate.ExecutionID, JobID: f.Gate.JobID}
	}
	w.Unanswered = f.Unanswered
	if w.ClampedBy == nil {
		w.ClampedBy = []string{}
	}
	switch in.Release.Mode {
	case ReleaseDelete:
		w.Intent.Release = json.RawMessage(`"delete"`)
	case ReleaseStandby:
		w.Intent.Release = json.RawMessage(fmt.Sprint(in.Release.Standby))
	}
	return w, nil
}

// followUp decodes {"prewarmFollowUp":{...}} or {"prewarmFollowUps":[{...},...]}. The
// message is prewarm's own, so it is decoded as strictly as an intent.
func (d *decoder) followUp(o object) (Message, *Rejection) {
	d.rej.Trigger = TriggerFollowUp
	key := followUpKey
	if o.has(followUpsKey) {
		key = followUpsKey
	}
	if len(o) != 1 {
		return Message{}, d.reject("follow-up message has fields besides %s", key)
	}
	if key == followUpKey {
		body, _, err := o.obj(followUpKey)
		if err != nil {
			return Message{}, d.reject("%v", err)
		}
		f, rej := d.oneFollowUp(body, followUpKey)
		if rej != nil {
			return Message{}, rej
		}
		return Message{Kind: KindFollowUp, Trigger: TriggerFollowUp, ID: f.Intent.ID, FollowUps: []FollowUp{f}}, nil
	}
	raw := o[followUpsKey]
	var items []json.RawMessage
	if jsonKind(raw) != "array" || json.Unmarshal(raw, &items) != nil {
		return Message{}, d.reject("%s must be an array of follow-ups", followUpsKey)
	}
	if len(items) == 0 || len(items) > MaxFollowUps {
		return Message{}, d.reject("%s has %d follow-ups, want 1..%d", followUpsKey, len(items), MaxFollowUps)
	}
	fs := make([]FollowUp, len(items))
	for i, item := range items {
		var body object
		if jsonKind(item) != "object" || json.Unmarshal(item, &body) != nil {
			return Message{}, d.reject("%s[%d] must be an object", followUpsKey, i)
		}
		f, rej := d.oneFollowUp(body, fmt.Sprintf("%s[%d]", followUpsKey, i))
		if rej != nil {
			return Message{}, rej
		}
		fs[i] = f
	}
	return Message{Kind: KindFollowUp, Trigger: TriggerFollowUp, ID: fs[0].Intent.ID, FollowUps: fs}, nil
}

// oneFollowUp decodes one change of a follow-up message; at names it in reasons.
func (d *decoder) oneFollowUp(body object, at string) (FollowUp, *Rejection) {
	followUpKey := at
	inObj, ok, err := body.obj("intent")
	if err != nil {
		return FollowUp{}, d.reject("%s.%v", followUpKey, err)
	}
	if !ok {
		return FollowUp{}, d.reject("%s.intent is required", followUpKey)
	}
	in, rej := d.intent(inObj, TriggerFollowUp, "", followUpIntentFields)
	d.rej.Trigger = TriggerFollowUp
	if rej != nil {
		rej.Trigger = TriggerFollowUp
		rej.Reason = fmt.Sprintf("%s.intent: %s", followUpKey, rej.Reason)
		return FollowUp{}, rej
	}
	if unknown := unknownKeys(body, followUpFields); len(unknown) > 0 {
		return FollowUp{}, d.reject("%s: %s", followUpKey, unknownFieldReason(unknown, followUpFields))
	}
	f := FollowUp{Intent: in, ClampedBy: []string{}}
	for _, c := range []struct {
		key string
		dst *int64
	}{{"value", &f.Value}, {"base", &f.Base}} {
		raw, ok := body[c.key]
		if !ok || isNull(raw) {
			return FollowUp{}, d.reject("%s.%s is required", followUpKey, c.key)
		}
		if *c.dst, err = integer(c.key, raw, 0, MaxValue); err != nil {
			return FollowUp{}, d.reject("%s.%v", followUpKey, err)
		}
	}
	if raw, ok := body["attempt"]; ok && !isNull(raw) {
		v, err := integer("attempt", raw, 0, MaxValue)
		if err != nil {
			return FollowUp{}, d.reject("%s.%v", followUpKey, err)
		}
		f.Attempt = int(v)
	}
	if raw, ok := body["scale"]; ok && !isNull(raw) {
		if jsonKind(raw) != "number" || json.Unmarshal(raw, &f.Scale) != nil {
			return FollowUp{}, d.reject("%s.scale must be a number", followUpKey)
		}
	}
	if f.Strategy, _, err = body.str("strategy"); err != nil {
		return FollowUp{}, d.reject("%s.%v", followUpKey, err)
	}
	if f.Fallback, _, err = body.str("fallback"); err != nil {
		return FollowUp{}, d.reject("%s.%v", followUpKey, err)
	}
	if raw, ok := body["fromAutoScaling"]; ok && !isNull(raw) {
		if jsonKind(raw) != "boolean" || json.Unmarshal(raw, &f.FromAutoScaling) != nil {
			return FollowUp{}, d.reject("%s.fromAutoScaling must be a boolean", followUpKey)
		}
	}
	if dm, ok, err := body.obj("demand"); err != nil {
		return FollowUp{}, d.reject("%s.%v", followUpKey, err)
	} else if ok {
		if unknown := unknownKeys(dm, demandFields); len(unknown) > 0 {
			return FollowUp{}, d.reject("%s.demand: %s", followUpKey, unknownFieldReason(unknown, demandFields))
		}
		f.Demand = &Demand{}
		if json.Unmarshal(body["demand"], f.Demand) != nil {
			return FollowUp{}, d.reject("%s.demand must be an object of strings, numbers and a boolean as prewarm writes it", followUpKey)
		}
	}
	if raw, ok := body["clampedBy"]; ok && !isNull(raw) {
		if jsonKind(raw) != "array" || json.Unmarshal(raw, &f.ClampedBy) != nil {
			return FollowUp{}, d.reject("%s.clampedBy must be an array of strings", followUpKey)
		}
	}
	for _, c := range []struct {
		key string
		dst *time.Time
	}{{"started", &f.Started}, {"deadline", &f.Deadline}} {
		s, ok, err := body.str(c.key)
		if err != nil {
			return FollowUp{}, d.reject("%s.%v", followUpKey, err)
		}
		if !ok {
			return FollowUp{}, d.reject("%s.%s is required", followUpKey, c.key)
		}
		if *c.dst, err = time.Parse(time.RFC3339Nano, s); err != nil {
			return FollowUp{}, d.reject("%s.%s %s is not an RFC 3339 time", followUpKey, c.key, quote(s))
		}
	}
	for _, c := range []struct {
		key string
		dst *string
	}{{"derivedFrom", &f.DerivedFrom}, {"reported", &f.Reported}, {"unanswered", &f.Unanswered}} {
		if *c.dst, _, err = body.str(c.key); err != nil {
			return FollowUp{}, d.reject("%s.%v", followUpKey, err)
		}
	}
	if g, ok, err := body.obj("gate"); err != nil {
		return FollowUp{}, d.reject("%s.%v", followUpKey, err)
	} else if ok {
		if unknown := unknownKeys(g, gateFields); len(unknown) > 0 {
			return FollowUp{}, d.reject("%s.gate: %s", followUpKey, unknownFieldReason(unknown, gateFields))
		}
		for _, c := range []struct {
			key string
			dst *string
		}{{"deploymentId", &f.Gate.DeploymentID}, {"executionId", &f.Gate.ExecutionID}, {"jobId", &f.Gate.JobID}} {
			if *c.dst, _, err = g.str(c.key); err != nil {
				return FollowUp{}, d.reject("%s.gate.%v", followUpKey, err)
			}
		}
	}
	if s, ok, err := body.str("next"); err != nil {
		return FollowUp{}, d.reject("%s.%v", followUpKey, err)
	} else if ok {
		if f.Next, err = time.Parse(time.RFC3339Nano, s); err != nil {
			return FollowUp{}, d.reject("%s.next %s is not an RFC 3339 time", followUpKey, quote(s))
		}
	}
	if err := f.Validate(); err != nil {
		return FollowUp{}, d.reject("%s: %v", followUpKey, err)
	}
	return f, nil
}

// MaxReconcileFunctions is the most functions one reconcile continuation names.
const MaxReconcileFunctions = 200

// EncodeReconcile encodes the continuation of a reconcile pass: the functions it has still to
// visit, {"prewarmReconcile":{"id":...,"functions":[...]}}.
func EncodeReconcile(id string, functions []string) ([]byte, error) {
	if len(functions) == 0 || len(functions) > MaxReconcileFunctions {
		return nil, fmt.Errorf("encode reconcile continuation: %d functions, want 1..%d", len(functions), MaxReconcileFunctions)
	}
	for _, fn := range functions {
		if _, _, err := ParseFunction(fn); err != nil {
			return nil, fmt.Errorf("encode reconcile continuation: %w", err)
		}
	}
	body, err := json.Marshal(map[string]any{reconcileKey: map[string]any{"id": id, "functions": functions}})
	if err != nil {
		return nil, fmt.Errorf("encode reconcile continuation: %w", err)
	}
	return body, nil
}

var reconcileFields = fieldSet("id", "functions")

// reconcilePart decodes a reconcile continuation. Each function named is checked against
// ALLOWED_FUNCTIONS again when it is visited, as any intent is.
func (d *decoder) reconcilePart(o object) (Message, *Rejection) {
	d.rej.Trigger = TriggerSchedule
	if len(o) != 1 {
		return Message{}, d.reject("reconcile continuation has fields besides %s", reconcileKey)
	}
	body, _, err := o.obj(reconcileKey)
	if err != nil {
		return Message{}, d.reject("%v", err)
	}
	if unknown := unknownKeys(body, reconcileFields); len(unknown) > 0 {
		return Message{}, d.reject("%s: %s", reconcileKey, unknownFieldReason(unknown, reconcileFields))
	}
	id, _, err := body.str("id")
	if err != nil {
		return Message{}, d.reject("%s.%v", reconcileKey, err)
	}
	if len(id) > maxIDLen {
		return Message{}, d.reject("%s.id is longer than %d characters", reconcileKey, maxIDLen)
	}
	if id != "" {
		d.rej.ID = id
	}
	var functions []string
	if raw, ok := body["functions"]; !ok || jsonKind(raw) != "array" || json.Unmarshal(raw, &functions) != nil {
		return Message{}, d.reject("%s.functions must be an array of function names", reconcileKey)
	}
	if len(functions) == 0 || len(functions) > MaxReconcileFunctions {
		return Message{}, d.reject("%s.functions has %d entries, want 1..%d", reconcileKey, len(functions), MaxReconcileFunctions)
	}
	for _, fn := range functions {
		if _, _, err := ParseFunction(fn); err != nil {
			return Message{}, d.reject("%s.functions: %v", reconcileKey, err)
		}
	}
	return Message{Kind: KindReconcile, Trigger: TriggerSchedule, ID: d.rej.ID, Functions: functions}, nil
}
