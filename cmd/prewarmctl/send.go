package main

import (
	"bytes"
	"context"
	"crypto/rand"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"flag"
	"fmt"
	"os"
	"strconv"
	"strings"

	"github.com/aws/aws-sdk-go-v2/aws"
	lambdasvc "github.com/aws/aws-sdk-go-v2/service/lambda"
	lambdatypes "github.com/aws/aws-sdk-go-v2/service/lambda/types"
	"github.com/aws/aws-sdk-go-v2/service/sqs"

	"github.com/prewarm/prewarm/intent"
	"github.com/prewarm/prewarm/results/watch"
)

// Ways to send an intent.
const (
	viaEvent = "event" // lambda:Invoke, InvocationType Event
	viaSync  = "sync"  // lambda:Invoke, InvocationType RequestResponse
	viaSQS   = "sqs"   // SendMessage to the input queue
)

// intentFlags build an intent from flags, or take it whole from --intent.
type intentFlags struct {
	raw                   string
	function, to, from    string
	concurrency, min, max optionalInt
	scale                 float64
	release               string
	noFollow, dryRun      bool
}

// optionalInt is an integer flag that knows whether it was given.
type optionalInt struct {
	v   int64
	set bool
}

func (o *optionalInt) String() string {
	if !o.set {
		return ""
	}
	return strconv.FormatInt(o.v, 10)
}

func (o *optionalInt) Set(s string) error {
	v, err := strconv.ParseInt(s, 10, 64)
	if err != nil {
		return fmt.Errorf("%q is not an integer", s)
	}
	o.v, o.set = v, true
	return nil
}

func (f *intentFlags) register(fs *flag.FlagSet) {
	fs.StringVar(&f.raw, "intent", "", "the intent as JSON, or @FILE to read it from a file; instead of the flags below")
	fs.StringVar(&f.function, "function", "", "intent: functionName, the function that receives provisioned concurrency")
	fs.StringVar(&f.to, "to", "", "intent: to, the alias or version that receives it")
	fs.StringVar(&f.from, "from", "", "intent: from, the outgoing alias or version (mirror source, release candidate)")
	fs.Var(&f.concurrency, "concurrency", "intent: concurrency, an explicit value (0 removes provisioned concurrency from --to)")
	fs.Float64Var(&f.scale, "scale", 0, "intent: scale, multiplier for a mirrored or policy value")
	fs.Var(&f.min, "min", "intent: min clamp")
	fs.Var(&f.max, "max", "intent: max clamp")
	fs.StringVar(&f.release, "release", "", `intent: release of --from once --to is READY: "none", "delete" or a standby number`)
	fs.BoolVar(&f.noFollow, "no-follow", false, "intent: wait:false, prewarm does not follow the allocation to READY")
	fs.BoolVar(&f.dryRun, "dry-run", false, "intent: dryRun, derive and report only")
}

// fromFlags reports whether any intent field was given as a flag.
func (f *intentFlags) fromFlags() bool {
	return f.function != "" || f.to != "" || f.from != "" || f.concurrency.set || f.min.set || f.max.set ||
		f.scale != 0 || f.release != "" || f.noFollow || f.dryRun
}

// payload is the intent as JSON, with correlationID set, and what prewarm makes of it.
func (f *intentFlags) payload(correlationID string) ([]byte, intent.Intent, error) {
	var body []byte
	switch {
	case f.raw != "" && f.fromFlags():
		return nil, intent.Intent{}, usagef("--intent and the intent field flags (--function, --to, ...) exclude each other")
	case f.raw != "":
		body = []byte(f.raw)
		if name, ok := strings.CutPrefix(f.raw, "@"); ok {
			b, err := os.ReadFile(name)
			if err != nil {
				return nil, intent.Intent{}, usagef("--intent: %v", err)
			}
			body = b
		}
	case f.fromFlags():
		b, err := json.Marshal(f.wire())
		if err != nil {
			return nil, intent.Intent{}, fmt.Errorf("encode intent: %w", err)
		}
		body = b
	default:
		return nil, intent.Intent{}, usagef("no intent: give --intent JSON or --function and --to")
	}
	body, err := withCorrelationID(body, correlationID)
	if err != nil {
		return nil, intent.Intent{}, err
	}
	m, err := intent.Decode(body, "prewarmctl", intent.TriggerDirect)
	if err != nil {
		return nil, intent.Intent{}, usagef("intent: %v", err)
	}
	if m.Kind != intent.KindIntent {
		return nil, intent.Intent{}, usagef("intent: a %s message is not an intent", m.Kind)
	}
	return body, m.Intent, nil
}

// intentWire is an intent built from flags, in the field order of the README.
type intentWire struct {
	FunctionName  string          `json:"functionName"`
	To            string          `json:"to,omitempty"`
	From          string          `json:"from,omitempty"`
	Concurrency   *int64          `json:"concurrency,omitempty"`
	Scale         float64         `json:"scale,omitempty"`
	Min           *int64          `json:"min,omitempty"`
	Max           *int64          `json:"max,omitempty"`
	Release       json.RawMessage `json:"release,omitempty"`
	Wait          *bool           `json:"wait,omitempty"`
	DryRun        bool            `json:"dryRun,omitempty"`
	CorrelationID string          `json:"correlationId,omitempty"`
}

func (f *intentFlags) wire() intentWire {
	w := intentWire{FunctionName: f.function, To: f.to, From: f.from, Scale: f.scale, DryRun: f.dryRun}
	for _, p := range []struct {
		o   optionalInt
		dst **int64
	}{{f.concurrency, &w.Concurrency}, {f.min, &w.Min}, {f.max, &w.Max}} {
		if p.o.set {
			v := p.o.v
			*p.dst = &v
		}
	}
	if f.release != "" {
		if _, err := strconv.ParseInt(f.release, 10, 64); err == nil {
			w.Release = json.RawMessage(f.release)
		} else {
			b, _ := json.Marshal(f.release)
			w.Release = b
		}
	}
	if f.noFollow {
		w.Wait = aws.Bool(false)
	}
	return w
}

// withCorrelationID sets correlationId in the JSON object body, which must agree with one it
// already has.
func withCorrelationID(body []byte, id string) ([]byte, error) {
	var fields map[string]json.RawMessage
	if err := json.Unmarshal(body, &fields); err != nil {
		return nil, usagef("intent: %v", err)
	}
	if raw, ok := fields["correlationId"]; ok {
		var have string
		if err := json.Unmarshal(raw, &have); err != nil {
			return nil, usagef("intent: correlationId is not a string")
		}
		if have != id {
			return nil, usagef("intent: correlationId %q differs from --correlation-id %q", have, id)
		}
		return body, nil
	}
	trimmed := bytes.TrimRight(body, " \t\r\n")
	if !bytes.HasSuffix(trimmed, []byte("}")) {
		return nil, usagef("intent: not a JSON object")
	}
	idJSON, _ := json.Marshal(id)
	sep := ","
	if len(fields) == 0 {
		sep = ""
	}
	out := append([]byte{}, trimmed[:len(trimmed)-1]...)
	out = append(out, sep+`"correlationId":`+string(idJSON)+"}"...)
	return out, nil
}

// embeddedCorrelationID is the correlationId an --intent carries, if any.
func embeddedCorrelationID(body []byte) string {
	var fields struct {
		CorrelationID string `json:"correlationId"`
	}
	_ = json.Unmarshal(body, &fields)
	return fields.CorrelationID
}

// newCorrelationID is a fresh, unique correlation id.
func newCorrelationID() string {
	b := make([]byte, 8)
	_, _ = rand.Read(b)
	return "prewarmctl-" + hex.EncodeToString(b)
}

// sendPlan is an intent ready to send.
type sendPlan struct {
	body   []byte
	intent intent.Intent
}

// expect is what ends the wait for the plan's results.
func (p *sendPlan) expect() watch.Expect {
	return watch.Expect{
		Release:    p.intent.Wait && p.intent.From != "" && p.intent.Release.Mode != intent.ReleaseNone,
		NoTracking: !p.intent.Wait,
	}
}

func (c *command) plan() (*sendPlan, error) {
	switch c.via {
	case "", viaEvent, viaSync, viaSQS:
	default:
		return nil, usagef("--via %q: want event, sync or sqs", c.via)
	}
	if c.correlationID == "" {
		if c.intent.raw != "" {
			raw := []byte(c.intent.raw)
			if name, ok := strings.CutPrefix(c.intent.raw, "@"); ok {
				raw, _ = os.ReadFile(name)
			}
			c.correlationID = embeddedCorrelationID(raw)
		}
		if c.correlationID == "" {
			c.correlationID = newCorrelationID()
		}
	}
	body, in, err := c.intent.payload(c.correlationID)
	if err != nil {
		return nil, err
	}
	return &sendPlan{body: body, intent: in}, nil
}

// send delivers the plan's intent and reports its correlation id.
func (c *command) send(ctx context.Context, p *sendPlan) error {
	via := c.via
	function, err := c.locate(ctx, c.function, envFunction, outputFunctionName, outputFunctionARN)
	if err != nil {
		return err
	}
	queue := ""
	if via == viaSQS || (via == "" && function == "") {
		if queue, err = c.locate(ctx, c.inputQueue, envInputQueue, outputInputQueue); err != nil {
			return err
		}
	}
	if via == "" {
		via = viaEvent
		if function == "" && queue != "" {
			via = viaSQS
		}
	}
	switch via {
	case viaSQS:
		if queue == "" {
			return usagef("no input queue: give --input-queue-url, $%s or --stack", envInputQueue)
		}
		err = sendSQS(ctx, c.sqsClient(), queue, p)
	default:
		if function == "" {
			return usagef("no prewarm function: give --prewarm-function, $%s or --stack", envFunction)
		}
		err = invoke(ctx, c.lambdaClient(), function, via == viaSync, p.body)
	}
	if err != nil {
		return err
	}
	c.report(via, function, queue)
	return nil
}

// report prints the correlation id: alone on stdout for send, so that a script can capture it;
// as a progress line for run.
func (c *command) report(via, function, queue string) {
	where := function
	if via == viaSQS {
		where = queue
	}
	switch {
	case c.json:
		b, _ := json.Marshal(map[string]any{"sent": map[string]string{"correlationId": c.correlationID, "via": via, "to": where}})
		_, _ = fmt.Fprintf(c.env.stdout, "%s\n", b)
	case c.name == "send":
		_, _ = fmt.Fprintln(c.env.stdout, c.correlationID)
		_, _ = fmt.Fprintf(c.env.stderr, "%ssent by %s to %s\n", commandPrefix, via, where)
	default:
		_, _ = fmt.Fprintf(c.env.stdout, "sent by %s to %s, correlation id %s\n", via, where, c.correlationID)
	}
}

// LambdaAPI is what send calls to invoke prewarm (signature copied from *lambda.Client).
type LambdaAPI interface {
	Invoke(ctx context.Context, params *lambdasvc.InvokeInput, optFns ...func(*lambdasvc.Options)) (*lambdasvc.InvokeOutput, error)
}

var _ LambdaAPI = (*lambdasvc.Client)(nil)

// invoke sends payload to function, asynchronously unless sync.
func invoke(ctx context.Context, client LambdaAPI, function string, sync bool, payload []byte) error {
	kind := lambdatypes.InvocationTypeEvent
	if sync {
		kind = lambdatypes.InvocationTypeRequestResponse
	}
	out, err := client.Invoke(ctx, &lambdasvc.InvokeInput{FunctionName: aws.String(function), InvocationType: kind, Payload: payload})
	if err != nil {
		return fmt.Errorf("invoke %s (%s): %w", function, kind, err)
	}
	if out.FunctionError != nil {
		var fe struct {
			Type    string `json:"errorType"`
			Message string `json:"errorMessage"`
		}
		if json.Unmarshal(out.Payload, &fe) != nil || fe.Message == "" {
			fe.Message = string(out.Payload)
		}
		return fmt.Errorf("invoke %s (%s): the function failed (%s): %s: %s (its CloudWatch logs say more)", function, kind, aws.ToString(out.FunctionError), fe.Type, strings.TrimSpace(fe.Message))
	}
	return nil
}

// SQSSendAPI is what send calls to queue an intent (signature copied from *sqs.Client).
type SQSSendAPI interface {
	SendMessage(ctx context.Context, params *sqs.SendMessageInput, optFns ...func(*sqs.Options)) (*sqs.SendMessageOutput, error)
}

var _ SQSSendAPI = (*sqs.Client)(nil)

// sendSQS queues the intent on prewarm's input queue. A FIFO queue orders intents per target
// and drops a resend of the same intent within SQS's five-minute deduplication window.
func sendSQS(ctx context.Context, client SQSSendAPI, queueURL string, p *sendPlan) error {
	in := &sqs.SendMessageInput{QueueUrl: aws.String(queueURL), MessageBody: aws.String(string(p.body))}
	if strings.HasSuffix(queueURL, ".fifo") {
		sum := sha256.Sum256(p.body)
		in.MessageGroupId = aws.String(p.intent.Function.Name + ":" + p.intent.Qualifier)
		in.MessageDeduplicationId = aws.String(hex.EncodeToString(sum[:]))
	}
	if _, err := client.SendMessage(ctx, in); err != nil {
		return fmt.Errorf("send intent to %s: %w", queueURL, err)
	}
	return nil
}
