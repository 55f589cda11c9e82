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
	// Strategy, Base, Scale and ClampedBy echo the derivation in results.
	Strategy  string
	Base      int64
	Scale     float64
	ClampedBy []string
	// Attempt counts the follow-ups written for this change so far.
	Attempt int
	// Started is when tracking began.
	Started time.Time
	// Deadline is when tracking gives up (Started + TRACK_TIMEOUT).
	Deadline time.Time
}

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

var followUpFields = fieldSet("intent", "value", "strategy", "base", "scale", "clampedBy", "attempt", "started", "deadline")

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
	return nil
}

// EncodeFollowUp encodes f as a message body that Decode recognises as KindFollowUp:
// {"prewarmFollowUp":{...}}.
func EncodeFollowUp(f FollowUp) ([]byte, error) {
	if err := f.Validate(); err != nil {
		return nil, fmt.Errorf("encode follow-up %s:%s: %w", f.Intent.Function, f.Intent.Qualifier, err)
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
	}
	if w.ClampedBy == nil {
		w.ClampedBy = []string{}
	}
	switch in.Release.Mode {
	case ReleaseDelete:
		w.Intent.Release = json.RawMessage(`"delete"`)
	case ReleaseStandby:
		w.Intent.Release = json.RawMessage(fmt.Sprint(in.Release.Standby))
	}
	body, err := json.Marshal(map[string]followUpWire{followUpKey: w})
	if err != nil {
		return nil, fmt.Errorf("encode follow-up %s:%s: %w", in.Function, in.Qualifier, err)
	}
	return body, nil
}

// followUp decodes {"prewarmFollowUp":{...}}. The message is prewarm's own, so it is
// decoded as strictly as an intent.
func (d *decoder) followUp(o object) (Message, *Rejection) {
	d.rej.Trigger = TriggerFollowUp
	if len(o) != 1 {
		return Message{}, d.reject("follow-up message has fields besides %s", followUpKey)
	}
	body, _, err := o.obj(followUpKey)
	if err != nil {
		return Message{}, d.reject("%v", err)
	}
	inObj, ok, err := body.obj("intent")
	if err != nil {
		return Message{}, d.reject("%s.%v", followUpKey, err)
	}
	if !ok {
		return Message{}, d.reject("%s.intent is required", followUpKey)
	}
	in, rej := d.intent(inObj, TriggerFollowUp, "", followUpIntentFields)
	d.rej.Trigger = TriggerFollowUp
	if rej != nil {
		rej.Trigger = TriggerFollowUp
		rej.Reason = fmt.Sprintf("%s.intent: %s", followUpKey, rej.Reason)
		return Message{}, rej
	}
	if unknown := unknownKeys(body, followUpFields); len(unknown) > 0 {
		return Message{}, d.reject("%s: %s", followUpKey, unknownFieldReason(unknown, followUpFields))
	}
	f := FollowUp{Intent: in, ClampedBy: []string{}}
	for _, c := range []struct {
		key string
		dst *int64
	}{{"value", &f.Value}, {"base", &f.Base}} {
		raw, ok := body[c.key]
		if !ok || isNull(raw) {
			return Message{}, d.reject("%s.%s is required", followUpKey, c.key)
		}
		if *c.dst, err = integer(c.key, raw, 0, MaxValue); err != nil {
			return Message{}, d.reject("%s.%v", followUpKey, err)
		}
	}
	if raw, ok := body["attempt"]; ok && !isNull(raw) {
		v, err := integer("attempt", raw, 0, MaxValue)
		if err != nil {
			return Message{}, d.reject("%s.%v", followUpKey, err)
		}
		f.Attempt = int(v)
	}
	if raw, ok := body["scale"]; ok && !isNull(raw) {
		if jsonKind(raw) != "number" || json.Unmarshal(raw, &f.Scale) != nil {
			return Message{}, d.reject("%s.scale must be a number", followUpKey)
		}
	}
	if f.Strategy, _, err = body.str("strategy"); err != nil {
		return Message{}, d.reject("%s.%v", followUpKey, err)
	}
	if raw, ok := body["clampedBy"]; ok && !isNull(raw) {
		if jsonKind(raw) != "array" || json.Unmarshal(raw, &f.ClampedBy) != nil {
			return Message{}, d.reject("%s.clampedBy must be an array of strings", followUpKey)
		}
	}
	for _, c := range []struct {
		key string
		dst *time.Time
	}{{"started", &f.Started}, {"deadline", &f.Deadline}} {
		s, ok, err := body.str(c.key)
		if err != nil {
			return Message{}, d.reject("%s.%v", followUpKey, err)
		}
		if !ok {
			return Message{}, d.reject("%s.%s is required", followUpKey, c.key)
		}
		if *c.dst, err = time.Parse(time.RFC3339Nano, s); err != nil {
			return Message{}, d.reject("%s.%s %s is not an RFC 3339 time", followUpKey, c.key, quote(s))
		}
	}
	if err := f.Validate(); err != nil {
		return Message{}, d.reject("%s: %v", followUpKey, err)
	}
	return Message{Kind: KindFollowUp, Trigger: TriggerFollowUp, ID: in.ID, FollowUp: f}, nil
}
