package handler_test

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	awsevents "github.com/aws/aws-lambda-go/events"
	"github.com/aws/aws-lambda-go/lambdacontext"

	"github.com/prewarm/prewarm/config"
	"github.com/prewarm/prewarm/handler"
	"github.com/prewarm/prewarm/intent"
	"github.com/prewarm/prewarm/provision"
	"github.com/prewarm/prewarm/results"
)

// memControl is an in-memory Lambda control plane for fuzzing: every Put is
// READY at once. It records every call that would change something.
type memControl struct {
	mu      sync.Mutex
	pc      map[string]provision.Status
	changes []change
}

// change is a Put (n ≥ 0) or a Delete (n < 0).
type change struct {
	function, qualifier string
	n                   int64
}

var _ handler.Control = (*memControl)(nil)

func newMemControl() *memControl {
	return &memControl{pc: map[string]provision.Status{
		"my-function:BLUE":  {Exists: true, Requested: 10, Allocated: 10, Available: 10, Status: "READY"},
		"checkout-api:BLUE": {Exists: true, Requested: 20, Allocated: 20, Available: 20, Status: "READY"},
	}}
}

func (c *memControl) Get(_ context.Context, function, qualifier string) (provision.Status, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.pc[function+":"+qualifier], nil
}

func (c *memControl) Put(_ context.Context, function, qualifier string, n int64) (provision.Status, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.changes = append(c.changes, change{function, qualifier, n})
	st := provision.Status{Exists: true, Requested: n, Allocated: n, Available: n, Status: "READY"}
	c.pc[function+":"+qualifier] = st
	return st, nil
}

func (c *memControl) Delete(_ context.Context, function, qualifier string) error {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.changes = append(c.changes, change{function, qualifier, -1})
	delete(c.pc, function+":"+qualifier)
	return nil
}

func (c *memControl) List(_ context.Context, function string) ([]provision.QualifiedStatus, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	var out []provision.QualifiedStatus
	for k, st := range c.pc {
		if fn, q, _ := strings.Cut(k, ":"); fn == function {
			out = append(out, provision.QualifiedStatus{Qualifier: q, Status: st})
		}
	}
	return out, nil
}

func (c *memControl) Reservation(context.Context, string) (int64, bool, error) { return 0, false, nil }
func (c *memControl) Unreserved(context.Context) (int64, error)                { return 900, nil }

func (c *memControl) AliasWeights(context.Context, string, string) (map[string]float64, error) {
	return map[string]float64{}, nil
}

func (c *memControl) ClearAliasWeights(context.Context, string, string) error { return nil }

func (c *memControl) FunctionNames(_ context.Context, keep func(string) bool) ([]string, error) {
	var out []string
	for _, n := range []string{"my-function", "checkout-api", "payroll"} {
		if keep(n) {
			out = append(out, n)
		}
	}
	return out, nil
}

// memPublisher keeps what was published.
type memPublisher struct {
	mu   sync.Mutex
	msgs []results.Message
}

func (p *memPublisher) Publish(_ context.Context, msgs []results.Message) []error {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.msgs = append(p.msgs, msgs...)
	return make([]error, len(msgs))
}

const fuzzMaxConcurrency = 50

func fuzzHandler(t *testing.T) (*handler.Handler, *memControl, *memPublisher) {
	cfg, err := config.Load(func(name string) string {
		return map[string]string{
			"RESULTS_QUEUE_URL": "http://127.0.0.1:1/123456789012/prewarm-results",
			"ALLOWED_FUNCTIONS": "my-function,checkout-*",
			"MAX_CONCURRENCY":   fmt.Sprint(fuzzMaxConcurrency),
			"POLICY":            `{"checkout-*":{"default":10,"max":40}}`,
			"AWS_REGION":        "us-east-1",
		}[name]
	})
	if err != nil {
		t.Fatal(err)
	}
	var mu sync.Mutex
	now := start
	control, pub := newMemControl(), &memPublisher{}
	h := handler.New(cfg, handler.Deps{
		Control: control, Publisher: pub,
		Now: func() time.Time { mu.Lock(); defer mu.Unlock(); return now },
		Sleep: func(ctx context.Context, d time.Duration) error {
			mu.Lock()
			defer mu.Unlock()
			now = now.Add(d)
			return ctx.Err()
		},
	})
	return h, control, pub
}

// FuzzHandlerPayload feeds arbitrary payloads to Invoke, directly or as the
// bodies of one SQS batch, against an in-memory control plane. Invoke never
// panics; an SQS batch is answered record by record (each record is retried
// or has a result); no change ever exceeds MAX_CONCURRENCY or touches a
// function outside ALLOWED_FUNCTIONS.
func FuzzHandlerPayload(f *testing.F) {
	files, _ := filepath.Glob("../events/*.json")
	for _, file := range files {
		if b, err := os.ReadFile(file); err == nil {
			f.Add(b, false)
		}
	}
	for _, b := range hostileBodies(f) {
		f.Add([]byte(b), false)
		f.Add([]byte(b), true)
	}
	f.Add([]byte(`{"functionName":"my-function","to":"GREEN","concurrency":500}`+"\x1e"+`{"functionName":"my-function","to":"GREEN","concurrency":7}`), true)
	f.Add([]byte(`{"functionName":"checkout-api","from":"BLUE","to":"GREEN","scale":1e300,"release":999999}`), true)
	f.Fuzz(func(t *testing.T, payload []byte, asBatch bool) {
		h, control, pub := fuzzHandler(t)
		ctx := lambdacontext.NewContext(context.Background(), &lambdacontext.LambdaContext{
			AwsRequestID:       "fuzz-request",
			InvokedFunctionArn: "arn:aws:lambda:us-east-1:123456789012:function:prewarm",
		})
		var bodies []string
		if asBatch {
			parts := bytes.Split(payload, []byte{0x1e})
			if len(parts) > 10 {
				parts = parts[:10]
			}
			ev := awsevents.SQSEvent{}
			for i, p := range parts {
				bodies = append(bodies, string(p))
				ev.Records = append(ev.Records, awsevents.SQSMessage{
					MessageId: fmt.Sprintf("m-%d", i), Body: string(p), EventSource: "aws:sqs",
					EventSourceARN: "arn:aws:sqs:us-east-1:123456789012:prewarm-events", AWSRegion: "us-east-1",
				})
			}
			var err error
			if payload, err = json.Marshal(ev); err != nil {
				t.Fatal(err)
			}
		}
		out, err := h.Invoke(ctx, json.RawMessage(payload))
		if err != nil && !errors.Is(err, handler.ErrRetry) {
			t.Fatalf("Invoke error %v is not ErrRetry", err)
		}
		for _, c := range control.changes {
			fn, _, err := intent.ParseFunction(c.function)
			own := fn.AccountID == "" || (fn.AccountID == testAccount && (fn.Region == "" || fn.Region == "us-east-1" && fn.Partition == "aws"))
			if err != nil || !own || (fn.Name != "my-function" && !strings.HasPrefix(fn.Name, "checkout-")) {
				t.Fatalf("%+v: a function outside ALLOWED_FUNCTIONS was changed", c)
			}
			if c.n == 0 || c.n > fuzzMaxConcurrency {
				t.Fatalf("%+v: outside 1..MAX_CONCURRENCY (%d)", c, fuzzMaxConcurrency)
			}
		}
		if !asBatch {
			return
		}
		resp, ok := out.(awsevents.SQSEventResponse)
		if !ok {
			t.Fatalf("SQS batch answered with %T", out)
		}
		failed := map[string]bool{}
		for _, f := range resp.BatchItemFailures {
			failed[f.ItemIdentifier] = true
		}
		answered := map[string]bool{}
		for _, m := range pub.msgs {
			answered[m.ID] = true
		}
		for i, b := range bodies {
			id := fmt.Sprintf("m-%d", i)
			// A body may name its own id (or an escape of one); a scheduled
			// reconcile with nothing to report publishes nothing.
			if strings.Contains(b, "id") || strings.Contains(b, `\`) || strings.Contains(b, "Scheduled") {
				continue
			}
			if !failed[id] && !answered[id] {
				t.Fatalf("record %s (%q) neither retried nor answered; results %v", id, b, outcomes(pub.msgs))
			}
		}
	})
}
