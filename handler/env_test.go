package handler_test

import (
	"context"
	"encoding/json"
	"log/slog"
	"testing"
	"time"

	"github.com/aws/aws-lambda-go/lambda"
	"github.com/aws/aws-lambda-go/lambdacontext"
	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/applicationautoscaling"
	"github.com/aws/aws-sdk-go-v2/service/cloudwatch"
	"github.com/aws/aws-sdk-go-v2/service/codedeploy"
	"github.com/aws/aws-sdk-go-v2/service/codepipeline"
	lambdasvc "github.com/aws/aws-sdk-go-v2/service/lambda"
	"github.com/aws/aws-sdk-go-v2/service/sqs"

	"github.com/prewarm/prewarm/autoscale"
	"github.com/prewarm/prewarm/config"
	"github.com/prewarm/prewarm/demand"
	"github.com/prewarm/prewarm/handler"
	"github.com/prewarm/prewarm/localaws"
	"github.com/prewarm/prewarm/localaws/clock"
	"github.com/prewarm/prewarm/localaws/localawstest"
	"github.com/prewarm/prewarm/provision"
	"github.com/prewarm/prewarm/results"
)

// start is the fake time every handler test begins at.
var start = time.Date(2026, 11, 25, 12, 0, 0, 0, time.UTC)

const testAccount = "123456789012"

// env is prewarm wired to an in-process emulator over HTTP with the real SDK
// clients, on a fake clock that the handler's own waits advance.
type env struct {
	t       testing.TB
	srv     *localaws.Server
	url     string
	clk     *clock.Fake
	lambda  *lambdasvc.Client
	sqs     *sqs.Client
	control *provision.Controller
	cfg     config.Config
	h       *handler.Handler

	codeDeploy   *codedeploy.Client
	codePipeline *codepipeline.Client
	demand       *demand.Reader
	autoScaling  *autoscale.Carrier
}

type envOption func(*envSettings)

type envSettings struct {
	vars  map[string]string
	world func(*localaws.World)
	opts  localaws.Options
	fifo  bool
}

func withEnv(name, value string) envOption {
	return func(s *envSettings) { s.vars[name] = value }
}

func withWorld(f func(*localaws.World)) envOption {
	return func(s *envSettings) { s.world = f }
}

func withFaults(f localaws.Faults) envOption {
	return func(s *envSettings) { s.opts.Faults = f }
}

// withFIFOResults publishes to the FIFO results queue.
func withFIFOResults() envOption {
	return func(s *envSettings) { s.fifo = true }
}

func newEnv(t testing.TB, opts ...envOption) *env {
	t.Helper()
	s := envSettings{vars: map[string]string{
		"ALLOWED_FUNCTIONS": "my-function,checkout-*,orders-worker,broken-function",
		"MAX_CONCURRENCY":   "100",
		"POLICY":            `{"checkout-*":{"default":10,"max":50}}`,
		"WAIT_SECONDS":      "20",
		"TRACK_TIMEOUT":     "15m",
		"CONTROL_PLANE_RPS": "1000",
		"AWS_REGION":        "us-east-1",
	}, opts: localaws.Options{ControlPlaneRPS: -1, Seed: 1}}
	for _, o := range opts {
		o(&s)
	}
	clk := clock.NewFake(start)
	s.opts.Clock = clk
	world := localaws.DefaultWorld()
	if s.world != nil {
		s.world(&world)
	}
	srv, url := localawstest.Start(t, world, s.opts)
	if _, ok := s.vars["RESULTS_QUEUE_URL"]; !ok {
		s.vars["RESULTS_QUEUE_URL"] = url + "/" + testAccount + "/prewarm-results"
		if s.fifo {
			s.vars["RESULTS_QUEUE_URL"] += ".fifo"
		}
	}
	if _, ok := s.vars["FOLLOWUP_QUEUE_URL"]; !ok {
		s.vars["FOLLOWUP_QUEUE_URL"] = url + "/" + testAccount + "/prewarm-followup"
	}
	cfg, err := config.Load(func(name string) string { return s.vars[name] })
	if err != nil {
		t.Fatalf("config: %v", err)
	}
	awsCfg := localaws.SDKConfig(url)
	lc := lambdasvc.NewFromConfig(awsCfg, func(o *lambdasvc.Options) { o.Retryer = aws.NopRetryer{} })
	sc := sqs.NewFromConfig(awsCfg)
	fakeSleep := func(ctx context.Context, d time.Duration) error {
		if err := ctx.Err(); err != nil {
			return err
		}
		clk.Advance(d)
		return nil
	}
	control := provision.New(lc, provision.Options{
		RPS: cfg.ControlPlaneRPS, Sleep: fakeSleep, Now: clk.Now, BaseDelay: time.Millisecond,
	})
	e := &env{t: t, srv: srv, url: url, clk: clk, lambda: lc, sqs: sc, control: control, cfg: cfg}
	e.codeDeploy, e.codePipeline = codedeploy.NewFromConfig(awsCfg), codepipeline.NewFromConfig(awsCfg)
	e.demand = demand.New(cloudwatch.NewFromConfig(awsCfg), func(o *demand.Options) { o.Now = clk.Now })
	e.autoScaling = autoscale.New(applicationautoscaling.NewFromConfig(awsCfg))
	deps := handler.Deps{
		Control:      control,
		Publisher:    results.NewPublisher(sc, cfg.ResultsQueueURL, results.WithSleep(func(context.Context, time.Duration) error { return nil })),
		CodeDeploy:   e.codeDeploy,
		CodePipeline: e.codePipeline,
		Demand:       e.demand,
		AutoScaling:  e.autoScaling,
		Log:          slog.New(slog.NewJSONHandler(testLog{t}, nil)),
		Now:          clk.Now,
		Sleep:        fakeSleep,
	}
	if cfg.FollowUpQueueURL != "" {
		deps.FollowUps = results.NewFollowUps(sc, cfg.FollowUpQueueURL)
	}
	e.h = handler.New(cfg, deps)
	return e
}

// invoke pushes payload through aws-lambda-go's real decoding path.
func (e *env) invoke(payload []byte) ([]byte, error) {
	e.t.Helper()
	ctx := lambdacontext.NewContext(context.Background(), &lambdacontext.LambdaContext{
		AwsRequestID:       "11111111-2222-3333-4444-555555555555",
		InvokedFunctionArn: "arn:aws:lambda:us-east-1:123456789012:function:prewarm",
	})
	return lambda.NewHandler(e.h.Invoke).Invoke(ctx, payload)
}

// drain reads every message on the named queue, deleting them.
func (e *env) drain(queue string) []results.Message {
	e.t.Helper()
	var out []results.Message
	for _, body := range e.drainBodies(queue) {
		var m results.Message
		if err := json.Unmarshal([]byte(body), &m); err != nil {
			e.t.Fatalf("result message is not JSON: %v\n%s", err, body)
		}
		out = append(out, m)
	}
	return out
}

func (e *env) drainBodies(queue string) []string {
	e.t.Helper()
	bodies, err := results.Drain(context.Background(), e.sqs, e.url+"/"+testAccount+"/"+queue)
	if err != nil {
		e.t.Fatal(err)
	}
	return bodies
}

// pc reads a qualifier's provisioned concurrency through the real client.
func (e *env) pc(function, qualifier string) provision.Status {
	e.t.Helper()
	st, err := e.control.Get(context.Background(), function, qualifier)
	if err != nil {
		e.t.Fatalf("get %s:%s: %v", function, qualifier, err)
	}
	return st
}

// put sets provisioned concurrency directly, as another tool would.
func (e *env) put(function, qualifier string, n int32) {
	e.t.Helper()
	_, err := e.lambda.PutProvisionedConcurrencyConfig(context.Background(), &lambdasvc.PutProvisionedConcurrencyConfigInput{
		FunctionName: aws.String(function), Qualifier: aws.String(qualifier), ProvisionedConcurrentExecutions: aws.Int32(n),
	})
	if err != nil {
		e.t.Fatalf("put %s:%s=%d: %v", function, qualifier, n, err)
	}
}

func outcomes(ms []results.Message) []string {
	out := make([]string, len(ms))
	for i, m := range ms {
		out[i] = m.FunctionName + ":" + m.Qualifier + " " + string(m.Outcome)
	}
	return out
}

// testLog sends the handler's log lines to the test's log.
type testLog struct{ t testing.TB }

func (l testLog) Write(p []byte) (int, error) {
	l.t.Log(string(p))
	return len(p), nil
}

// invokeWithin is invoke under a wall-clock deadline d from now, as Lambda
// gives every invocation.
func (e *env) invokeWithin(d time.Duration, payload []byte) ([]byte, error) {
	e.t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), d)
	defer cancel()
	ctx = lambdacontext.NewContext(ctx, &lambdacontext.LambdaContext{
		AwsRequestID:       "11111111-2222-3333-4444-555555555555",
		InvokedFunctionArn: "arn:aws:lambda:us-east-1:123456789012:function:prewarm",
	})
	return lambda.NewHandler(e.h.Invoke).Invoke(ctx, payload)
}

// sqsOperations are the SQS operations the emulator serves; every other
// operation it counts is a Lambda control-plane call.
var sqsOperations = map[string]bool{
	"CreateQueue": true, "DeleteQueue": true, "GetQueueUrl": true, "ListQueues": true,
	"GetQueueAttributes": true, "SetQueueAttributes": true, "SendMessage": true,
	"SendMessageBatch": true, "ReceiveMessage": true, "DeleteMessage": true,
	"DeleteMessageBatch": true, "ChangeMessageVisibility": true,
	"ChangeMessageVisibilityBatch": true, "PurgeQueue": true,
}

// lambdaCalls returns the Lambda control-plane requests the emulator has
// seen since its statistics were last reset, by operation.
func (e *env) lambdaCalls() map[string]int64 {
	out := map[string]int64{}
	for op, s := range e.srv.Stats().Operations {
		if !sqsOperations[op] && s.Requests > 0 {
			out[op] = s.Requests
		}
	}
	return out
}

// rewire rebuilds the handler with publisher in place of the results
// publisher, keeping the rest of the wiring.
func (e *env) rewire(publisher handler.Publisher) {
	e.t.Helper()
	e.rewireWith(func(d *handler.Deps) { d.Publisher = publisher })
}

// rewireWith rebuilds the handler with the standard wiring changed by edit.
func (e *env) rewireWith(edit func(*handler.Deps)) {
	e.t.Helper()
	fakeSleep := func(ctx context.Context, d time.Duration) error {
		if err := ctx.Err(); err != nil {
			return err
		}
		e.clk.Advance(d)
		return nil
	}
	deps := handler.Deps{
		Control:      e.control,
		Publisher:    results.NewPublisher(e.sqs, e.cfg.ResultsQueueURL, results.WithSleep(noSleep)),
		CodeDeploy:   e.codeDeploy,
		CodePipeline: e.codePipeline,
		Demand:       e.demand,
		AutoScaling:  e.autoScaling,
		Log:          slog.New(slog.NewJSONHandler(testLog{e.t}, nil)),
		Now:          e.clk.Now,
		Sleep:        fakeSleep,
	}
	if e.cfg.FollowUpQueueURL != "" {
		deps.FollowUps = results.NewFollowUps(e.sqs, e.cfg.FollowUpQueueURL)
	}
	edit(&deps)
	e.h = handler.New(e.cfg, deps)
}

// noSleep retries without waiting.
func noSleep(context.Context, time.Duration) error { return nil }

// published returns the result messages on queue that no one has received
// yet, read from the emulator's own state in queue order, and then drains
// the queue over the wire. Reading the state rather than the
// ReceiveMessage responses keeps assertions independent of a lost
// response: under the race detector the SDK occasionally fails reading a
// large ReceiveMessage body ("use of closed network connection") and its
// retry finds the messages in flight, so drain alone can miss them.
func (e *env) published(queue string) []results.Message {
	e.t.Helper()
	msgs, err := e.srv.SQS().Messages(queue)
	if err != nil {
		e.t.Fatalf("read %s: %v", queue, err)
	}
	var out []results.Message
	for _, sm := range msgs {
		if sm.ReceiveCount > 0 {
			continue
		}
		var m results.Message
		if err := json.Unmarshal([]byte(sm.Body), &m); err != nil {
			e.t.Fatalf("result message is not JSON: %v\n%s", err, sm.Body)
		}
		out = append(out, m)
	}
	e.drainBodies(queue)
	return out
}
