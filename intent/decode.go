package intent

import (
	"encoding/json"
	"fmt"
	"strings"
	"unicode/utf8"
)

// MaxPayloadBytes is the largest payload Decode parses: an SQS message is at most 256 KiB by
// default, and nothing prewarm accepts comes near it.
const MaxPayloadBytes = 256 << 10

// EventBridge sources, detail types and CloudTrail names prewarm recognises.
const (
	DetailTypeAliasSwitch       = "Alias Switch"
	DetailTypeProvisionedChange = "Provisioned Concurrency Change"
	DetailTypeCloudTrailAPICall = "AWS API Call via CloudTrail"
	DetailTypeScheduledEvent    = "Scheduled Event"
	SourceLambda                = "aws.lambda"
	SourceEvents                = "aws.events"
	EventNameUpdateAlias        = "UpdateAlias20150331"
)

const (
	cloudTrailEventSourceLambda = "lambda.amazonaws.com"
	// followUpKey is the one top-level key of a follow-up message.
	followUpKey = "prewarmFollowUp"
	// followUpsKey is the one top-level key of a follow-up message carrying several changes.
	followUpsKey = "prewarmFollowUps"
	// reconcileKey is the one top-level key of a reconcile pass's continuation.
	reconcileKey = "prewarmReconcile"
	// maxRecoveredIdentifierLength bounds what a rejection echoes of an invalid payload.
	maxRecoveredIdentifierLength = 140
)

// Rejection is the error of every payload Decode refuses. Reason names exactly what was
// wrong; the other fields carry whatever could be recovered from the payload, so that the
// REJECTED result can still name the intent.
type Rejection struct {
	Reason        string
	ID            string
	CorrelationID string
	FunctionName  string
	Qualifier     string
	Trigger       Trigger
	// JobID is the CodePipeline job of a refused job event, when its id could be read: the
	// job must still be ended, with PutJobFailureResult(ConfigurationError).
	JobID string `json:",omitempty"`
}

// Error returns "reject TRIGGER payload ID [FUNCTION:QUALIFIER] [of job JOB]: REASON".
func (r *Rejection) Error() string {
	var b strings.Builder
	b.WriteString("reject ")
	if r.Trigger != "" {
		b.WriteString(string(r.Trigger))
		b.WriteString(" ")
	}
	b.WriteString("payload")
	if r.ID != "" {
		b.WriteString(" ")
		b.WriteString(r.ID)
	}
	if r.FunctionName != "" {
		b.WriteString(" ")
		b.WriteString(r.FunctionName)
		if r.Qualifier != "" {
			b.WriteString(":")
			b.WriteString(r.Qualifier)
		}
	}
	if r.JobID != "" && r.JobID != r.ID {
		b.WriteString(" of job ")
		b.WriteString(r.JobID)
	}
	b.WriteString(": ")
	b.WriteString(r.Reason)
	return b.String()
}

// decoder carries what has been recovered of one payload so far.
type decoder struct {
	defaultID string
	rej       Rejection
}

func (d *decoder) reject(format string, args ...any) *Rejection {
	r := d.rej
	r.Reason = fmt.Sprintf(format, args...)
	return &r
}

// Decode decodes one payload: a direct invocation payload or one SQS record body. It
// recognises, in this order, prewarm's follow-up message, an EventBridge envelope (Alias
// Switch, Provisioned Concurrency Change, CloudTrail UpdateAlias, Scheduled Event), a
// CodeDeploy lifecycle hook, a CodePipeline job and a bare intent, and refuses everything else, including SQS batches nested in a body and other
// AWS events. An SQS batch as the invocation payload is the handler's to recognise.
//
// defaultID is the id to use when the payload carries none (the SQS messageId or the Lambda
// request id); bare is the trigger to record for a bare intent (TriggerDirect or
// TriggerSQS; anything else is recorded as TriggerDirect).
//
// Every error is a *Rejection.
func Decode(payload []byte, defaultID string, bare Trigger) (Message, error) {
	if bare != TriggerSQS && bare != TriggerDirect {
		bare = TriggerDirect
	}
	d := &decoder{defaultID: defaultID, rej: Rejection{ID: defaultID, Trigger: bare}}
	m, rej := d.decode(payload, bare)
	if rej != nil {
		return Message{}, rej
	}
	return m, nil
}

func (d *decoder) decode(payload []byte, bare Trigger) (Message, *Rejection) {
	if len(payload) > MaxPayloadBytes {
		return Message{}, d.reject("body is %d bytes, more than the %d accepted", len(payload), MaxPayloadBytes)
	}
	if !utf8.Valid(payload) {
		return Message{}, d.reject("body is not valid UTF-8")
	}
	if err := CheckJSON("body", payload); err != nil {
		d.recoverIdentifiers(payload)
		return Message{}, d.reject("%v", err)
	}
	if k := jsonKind(payload); k != "object" {
		return Message{}, d.reject("body is a JSON %s, not an object", k)
	}
	var o object
	if err := json.Unmarshal(payload, &o); err != nil {
		return Message{}, d.reject("body is not JSON: %v", err)
	}
	switch {
	case o.has(followUpKey) || o.has(followUpsKey):
		return d.followUp(o)
	case o.has(reconcileKey):
		return d.reconcilePart(o)
	case o.has("Records"):
		return Message{}, d.reject("%s", recordsReason(o))
	case o.has("detail-type") || (o.has("source") && o.has("detail")):
		return d.envelope(o)
	case o.has(hookDeploymentKey) || o.has(hookExecutionKey):
		return d.codeDeployHook(o)
	case o.has(jobKey):
		return d.codePipelineJob(payload)
	}
	if what := lookalike(o); what != "" {
		return Message{}, d.reject("body looks like %s, not a prewarm intent", what)
	}
	in, rej := d.intent(o, bare, "", intentFields)
	if rej != nil {
		return Message{}, rej
	}
	return Message{Kind: KindIntent, Trigger: in.Trigger, ID: in.ID, Intent: in}, nil
}

// envelope decodes an EventBridge event.
func (d *decoder) envelope(o object) (Message, *Rejection) {
	d.rej.Trigger = TriggerEventBridge
	id, _, err := o.str("id")
	if err != nil {
		return Message{}, d.reject("EventBridge envelope: %v", err)
	}
	if id != "" {
		d.rej.ID = id
	}
	source, _, err := o.str("source")
	if err != nil {
		return Message{}, d.reject("EventBridge envelope: %v", err)
	}
	detailType, _, err := o.str("detail-type")
	if err != nil {
		return Message{}, d.reject("EventBridge envelope: %v", err)
	}
	if detailType == "" {
		return Message{}, d.reject("EventBridge envelope from source %s has no detail-type", quote(source))
	}
	if source == "" {
		return Message{}, d.reject("EventBridge envelope of detail-type %s has no source", quote(detailType))
	}
	detail, ok, err := o.obj("detail")
	if err != nil {
		return Message{}, d.reject("EventBridge envelope: %v", err)
	}
	if !ok {
		return Message{}, d.reject("EventBridge envelope %s from %s has no detail", quote(detailType), quote(source))
	}
	switch {
	case detailType == DetailTypeAliasSwitch || detailType == DetailTypeProvisionedChange:
		in, rej := d.intent(detail, TriggerEventBridge, id, intentFields)
		if rej != nil {
			rej.Reason = fmt.Sprintf("%s detail: %s", detailType, rej.Reason)
			return Message{}, rej
		}
		return Message{Kind: KindIntent, Trigger: in.Trigger, ID: in.ID, Intent: in}, nil
	case source == SourceLambda && detailType == DetailTypeCloudTrailAPICall:
		d.rej.Trigger = TriggerCloudTrail
		return d.cloudTrail(detail, id, o.lenientStr("account"), o.lenientStr("region"))
	case source == SourceEvents && detailType == DetailTypeScheduledEvent:
		d.rej.Trigger = TriggerSchedule
		return Message{Kind: KindReconcile, Trigger: TriggerSchedule, ID: d.rej.ID}, nil
	}
	return Message{}, d.reject("unsupported EventBridge event: source %s, detail-type %s", quote(source), quote(detailType))
}

// cloudTrail decodes the detail of a CloudTrail event for an UpdateAlias call. Its detail
// carries many fields prewarm does not use; only the ones it needs are checked.
//
// The call happened in the account and Region the event names (the detail's recipientAccountId
// and awsRegion, else the envelope's): a plain function name is qualified with them, so that the
// allowlist, not the name alone, decides whether an alias moved in another account is acted on.
func (d *decoder) cloudTrail(detail object, envelopeID, account, region string) (Message, *Rejection) {
	eventSource := detail.lenientStr("eventSource")
	eventName := detail.lenientStr("eventName")
	params, ok, err := detail.obj("requestParameters")
	if ok {
		d.rej.FunctionName = recovered(params.lenientStr("functionName"))
		d.rej.Qualifier = recovered(params.lenientStr("name"))
	}
	if eventSource != "" && eventSource != cloudTrailEventSourceLambda {
		return Message{}, d.reject("unsupported CloudTrail event: eventSource %s is not %s", quote(eventSource), cloudTrailEventSourceLambda)
	}
	if eventName != EventNameUpdateAlias {
		return Message{}, d.reject("unsupported CloudTrail event %s: only %s is handled", quote(eventName), EventNameUpdateAlias)
	}
	if err != nil {
		return Message{}, d.reject("CloudTrail %s: %v", EventNameUpdateAlias, err)
	}
	if code := detail.lenientStr("errorCode"); code != "" {
		return Message{}, d.reject("CloudTrail %s failed with %s (%s): the alias did not move", EventNameUpdateAlias, clip(code), recovered(detail.lenientStr("errorMessage")))
	}
	if !ok {
		return Message{}, d.reject("CloudTrail %s has no requestParameters", EventNameUpdateAlias)
	}
	name, ok, err := params.str("functionName")
	if err != nil {
		return Message{}, d.reject("CloudTrail %s requestParameters.%v", EventNameUpdateAlias, err)
	}
	if !ok {
		return Message{}, d.reject("CloudTrail %s has no requestParameters.functionName", EventNameUpdateAlias)
	}
	alias, ok, err := params.str("name")
	if err != nil {
		return Message{}, d.reject("CloudTrail %s requestParameters.%v", EventNameUpdateAlias, err)
	}
	if !ok {
		return Message{}, d.reject("CloudTrail %s has no requestParameters.name", EventNameUpdateAlias)
	}
	fn, arnQualifier, err := ParseFunction(name)
	if err != nil {
		return Message{}, d.reject("%v", err)
	}
	if err := ValidateQualifier(alias); err != nil {
		return Message{}, d.reject("alias name: %v", err)
	}
	if arnQualifier != "" && arnQualifier != alias {
		return Message{}, d.reject("functionName qualifier %s disagrees with alias name %s", quote(arnQualifier), quote(alias))
	}
	if a := detail.lenientStr("recipientAccountId"); a != "" {
		account = a
	}
	if r := detail.lenientStr("awsRegion"); r != "" {
		region = r
	}
	if fn.AccountID == "" && account == "" && region != "" {
		// A Region without an account cannot name a function: acting on the
		// same name in prewarm's own Region would act on another function.
		return Message{}, d.reject("CloudTrail %s names Region %s but no account: the function that moved cannot be told apart", EventNameUpdateAlias, quote(region))
	}
	if fn.AccountID == "" && account != "" {
		if !validAccountID(account) {
			return Message{}, d.reject("CloudTrail %s names account %s, which is not a 12-digit account id", EventNameUpdateAlias, quote(account))
		}
		fn.AccountID = account
		if region != "" {
			if !validRegion(region) {
				return Message{}, d.reject("CloudTrail %s names Region %s, which is not a Region", EventNameUpdateAlias, quote(region))
			}
			fn.Region, fn.Partition = region, PartitionOf(region)
		}
	}
	in := Intent{
		ID:         d.rej.ID,
		Trigger:    TriggerCloudTrail,
		Function:   fn,
		Qualifier:  alias,
		Wait:       true,
		AliasMoved: true,
	}
	if err := in.Validate(); err != nil {
		return Message{}, d.reject("%v", err)
	}
	return Message{Kind: KindIntent, Trigger: TriggerCloudTrail, ID: in.ID, Intent: in}, nil
}

// Fields of an intent object. followUpIntentFields adds what only prewarm itself writes.
var (
	intentFields = fieldSet("functionName", "FunctionName", "to", "qualifier", "Qualifier", "from",
		"concurrency", "ProvisionedConcurrentExecutions", "scale", "min", "max", "release", "wait",
		"dryRun", "correlationId", "id", "strategy", "window", "utilisation")
	followUpIntentFields = fieldSet(append(keys(intentFields), "trigger", "aliasMoved")...)
)

func fieldSet(names ...string) map[string]bool {
	m := make(map[string]bool, len(names))
	for _, n := range names {
		m[n] = true
	}
	return m
}

func keys(m map[string]bool) []string {
	out := make([]string, 0, len(m))
	for k := range m {
		out = append(out, k)
	}
	return out
}

// recovered shortens an identifier recovered from an invalid payload.
func recovered(s string) string {
	if len(s) <= maxRecoveredIdentifierLength {
		return s
	}
	cut := maxRecoveredIdentifierLength
	for cut > 0 && !isRuneStart(s[cut]) {
		cut--
	}
	return s[:cut]
}

// recoverIdentifiers picks what it can of the ids and the target out of a payload that
// failed the strict checks but is still JSON (duplicate keys, deep nesting), so that the
// rejection can name them.
func (d *decoder) recoverIdentifiers(payload []byte) {
	var o object
	if json.Unmarshal(payload, &o) != nil {
		return
	}
	if d.recoverGate(o) {
		return
	}
	if id := o.lenientStr("id"); id != "" {
		d.rej.ID = recovered(id)
	}
	if detail, ok, err := o.obj("detail"); err == nil && ok {
		o = detail
	}
	if id := o.lenientStr("id"); id != "" {
		d.rej.ID = recovered(id)
	}
	d.rej.CorrelationID = recovered(o.lenientStr("correlationId"))
	d.rej.FunctionName = recovered(firstString(o, "functionName", "FunctionName"))
	d.rej.Qualifier = recovered(firstString(o, "to", "qualifier", "Qualifier"))
}

// firstString returns the first non-empty string among o's keys, "" when none.
func firstString(o object, keys ...string) string {
	for _, k := range keys {
		if s := o.lenientStr(k); s != "" {
			return s
		}
	}
	return ""
}

// intent decodes an intent object. trig is the trigger to record; envelopeID the id of the
// EventBridge envelope around it ("" when none); known the accepted fields.
func (d *decoder) intent(o object, trig Trigger, envelopeID string, known map[string]bool) (Intent, *Rejection) {
	d.rej.Trigger = trig
	// Recover identifiers first so that every rejection below can name them.
	if id := o.lenientStr("id"); id != "" {
		d.rej.ID = recovered(id)
	}
	d.rej.CorrelationID = recovered(o.lenientStr("correlationId"))
	d.rej.FunctionName = recovered(firstString(o, "functionName", "FunctionName"))
	d.rej.Qualifier = recovered(firstString(o, "to", "qualifier", "Qualifier"))

	if unknown := unknownKeys(o, known); len(unknown) > 0 {
		return Intent{}, d.reject("%s", unknownFieldReason(unknown, known))
	}
	in := Intent{Trigger: trig, Wait: true}

	// Identifiers.
	id, ok, err := o.str("id")
	switch {
	case err != nil:
		return Intent{}, d.reject("%v", err)
	case ok && id == "":
		return Intent{}, d.reject("id is empty")
	case len(id) > maxIDLen:
		return Intent{}, d.reject("id is longer than %d characters", maxIDLen)
	case ok:
		in.ID = id
	case envelopeID != "":
		in.ID = envelopeID
	default:
		in.ID = d.defaultID
	}
	d.rej.ID = recovered(in.ID)
	if in.CorrelationID, _, err = o.str("correlationId"); err != nil {
		return Intent{}, d.reject("%v", err)
	}
	if len(in.CorrelationID) > maxIDLen {
		return Intent{}, d.reject("correlationId is longer than %d characters", maxIDLen)
	}

	// Function and qualifier.
	name, rej := d.synonymString(o, "functionName", "FunctionName")
	if rej != nil {
		return Intent{}, rej
	}
	if name == "" {
		if _, present := o["functionName"]; present {
			return Intent{}, d.reject("functionName is required, got %s", emptyOrNull(o["functionName"]))
		}
		if _, present := o["FunctionName"]; present {
			return Intent{}, d.reject("FunctionName is required, got %s", emptyOrNull(o["FunctionName"]))
		}
		return Intent{}, d.reject("functionName is required")
	}
	fn, arnQualifier, err := ParseFunction(name)
	if err != nil {
		return Intent{}, d.reject("%v", err)
	}
	in.Function = fn
	to, rej := d.synonymString(o, "to", "qualifier", "Qualifier")
	if rej != nil {
		return Intent{}, rej
	}
	switch {
	case to == "" && arnQualifier != "":
		to = arnQualifier
		d.rej.Qualifier = recovered(to)
	case to == "":
		for _, k := range []string{"to", "qualifier", "Qualifier"} {
			if _, present := o[k]; present {
				return Intent{}, d.reject("%s is required, got %s", k, emptyOrNull(o[k]))
			}
		}
		return Intent{}, d.reject("to (the alias or version that receives provisioned concurrency) is required")
	case arnQualifier != "" && arnQualifier != to:
		return Intent{}, d.reject("functionName qualifier %s disagrees with to %s", quote(arnQualifier), quote(to))
	}
	if err := ValidateQualifier(to); err != nil {
		return Intent{}, d.reject("to: %v", err)
	}
	in.Qualifier = to
	if from, ok, err := o.str("from"); err != nil {
		return Intent{}, d.reject("%v", err)
	} else if ok {
		if err := ValidateQualifier(from); err != nil {
			return Intent{}, d.reject("from: %v", err)
		}
		in.From = from
	}

	// Numbers.
	if c, ok, rej := d.synonymInt(o, 0, MaxValue, "concurrency", "ProvisionedConcurrentExecutions"); rej != nil {
		return Intent{}, rej
	} else if ok {
		in.Concurrency = &c
	}
	if raw, ok := o["scale"]; ok && !isNull(raw) {
		if in.Scale, err = positiveFloat("scale", raw); err != nil {
			return Intent{}, d.reject("%v", err)
		}
	}
	for _, c := range []struct {
		key string
		dst **int64
	}{{"min", &in.Min}, {"max", &in.Max}} {
		if raw, ok := o[c.key]; ok && !isNull(raw) {
			v, err := integer(c.key, raw, 0, MaxValue)
			if err != nil {
				return Intent{}, d.reject("%v", err)
			}
			*c.dst = &v
		}
	}
	if raw, ok := o["release"]; ok && !isNull(raw) {
		if in.Release, err = parseRelease(raw); err != nil {
			return Intent{}, d.reject("%v", err)
		}
	}

	if rej := d.strategy(o, &in); rej != nil {
		return Intent{}, rej
	}

	// Flags.
	for _, c := range []struct {
		key string
		dst *bool
	}{{"wait", &in.Wait}, {"dryRun", &in.DryRun}, {"aliasMoved", &in.AliasMoved}} {
		if raw, ok := o[c.key]; ok && !isNull(raw) {
			if *c.dst, err = boolean(c.key, raw); err != nil {
				return Intent{}, d.reject("%v", err)
			}
		}
	}
	if known["trigger"] {
		t, _, err := o.str("trigger")
		if err != nil {
			return Intent{}, d.reject("%v", err)
		}
		in.Trigger = Trigger(t)
		d.rej.Trigger = TriggerFollowUp
	}

	if err := in.Validate(); err != nil {
		return Intent{}, d.reject("%v", err)
	}
	return in, nil
}

// synonymString returns the string value given under any of names ("" when none is given),
// refusing values of the wrong type and synonyms that disagree.
func (d *decoder) synonymString(o object, names ...string) (string, *Rejection) {
	var val, from string
	for _, k := range names {
		s, ok, err := o.str(k)
		if err != nil {
			return "", d.reject("%v", err)
		}
		if !ok {
			continue
		}
		if from != "" && s != val {
			return "", d.reject("%s %s and %s %s disagree", from, quote(val), k, quote(s))
		}
		val, from = s, k
	}
	return val, nil
}

// synonymInt is synonymString for integers within [lo, hi].
func (d *decoder) synonymInt(o object, lo, hi int64, names ...string) (int64, bool, *Rejection) {
	var val int64
	var from string
	for _, k := range names {
		raw, ok := o[k]
		if !ok || isNull(raw) {
			continue
		}
		v, err := integer(k, raw, lo, hi)
		if err != nil {
			return 0, false, d.reject("%v", err)
		}
		if from != "" && v != val {
			return 0, false, d.reject("%s %d and %s %d disagree", from, val, k, v)
		}
		val, from = v, k
	}
	return val, from != "", nil
}

func parseRelease(raw json.RawMessage) (Release, error) {
	switch jsonKind(raw) {
	case "string":
		var s string
		if err := json.Unmarshal(raw, &s); err != nil {
			return Release{}, fmt.Errorf("release: %v", err)
		}
		switch s {
		case "none":
			return Release{Mode: ReleaseNone}, nil
		case "delete":
			return Release{Mode: ReleaseDelete}, nil
		}
		return Release{}, fmt.Errorf(`release must be "none", "delete" or a standby number ≥ 1, got %s`, quote(s))
	case "number":
		v, err := integer("release", raw, 1, MaxValue)
		if err != nil {
			return Release{}, fmt.Errorf(`%v (use "delete" to remove the outgoing provisioned concurrency)`, err)
		}
		return Release{Mode: ReleaseStandby, Standby: v}, nil
	}
	return Release{}, fmt.Errorf(`release must be "none", "delete" or a standby number ≥ 1, got a JSON %s`, jsonKind(raw))
}

func emptyOrNull(raw json.RawMessage) string {
	if isNull(raw) {
		return "null"
	}
	return "an empty string"
}
