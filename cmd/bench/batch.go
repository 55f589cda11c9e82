package main

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"strings"
	"sync"
	"time"

	awsevents "github.com/aws/aws-lambda-go/events"
	"github.com/aws/aws-lambda-go/lambda"
	"github.com/aws/aws-lambda-go/lambdacontext"

	"github.com/prewarm/prewarm/config"
	"github.com/prewarm/prewarm/handler"
	"github.com/prewarm/prewarm/localaws"
	"github.com/prewarm/prewarm/localaws/lambdasim"
)

const (
	benchAccount  = "123456789012"
	resultsQueue  = "prewarm-results"
	eventsQueue   = "prewarm-events"
	switchLatency = 50 * time.Millisecond
)

// emulator is a local AWS emulator serving for one measurement.
type emulator struct {
	srv  *localaws.Server
	url  string
	stop func()
}

func startEmulator(world localaws.World, opts localaws.Options) (*emulator, error) {
	srv, err := localaws.New(world, opts)
	if err != nil {
		return nil, err
	}
	url, stop, err := srv.Listen("127.0.0.1:0")
	if err != nil {
		return nil, err
	}
	return &emulator{srv: srv, url: url, stop: stop}, nil
}

func (e *emulator) queueURL(name string) string { return e.url + "/" + benchAccount + "/" + name }

// newHandler wires prewarm to the emulator with the real SDK clients, as
// the bootstrap does, logging JSON to nowhere.
func (e *emulator) newHandler(vars map[string]string) (*handler.Handler, error) {
	env := map[string]string{"RESULTS_QUEUE_URL": e.queueURL(resultsQueue)}
	for k, v := range vars {
		env[k] = v
	}
	cfg, err := config.Load(func(k string) string { return env[k] })
	if err != nil {
		return nil, err
	}
	log := slog.New(slog.NewJSONHandler(io.Discard, nil))
	return handler.FromConfig(cfg, localaws.SDKConfig(e.url), log, io.Discard), nil
}

// lambdaStats sums the emulator's Lambda control-plane requests and
// throttles, and returns the per-operation requests.
func (e *emulator) lambdaStats() (requests, throttled int64, byOp map[string]int64) {
	byOp = map[string]int64{}
	for op, s := range e.srv.Stats().Operations {
		if isSQS(op) {
			continue
		}
		requests += s.Requests
		throttled += s.Throttled
		byOp[op] = s.Requests
	}
	return requests, throttled, byOp
}

func (e *emulator) requests(op string) int64 { return e.srv.Stats().Operations[op].Requests }

func isSQS(op string) bool {
	switch op {
	case "SendMessage", "SendMessageBatch", "ReceiveMessage", "DeleteMessage", "DeleteMessageBatch",
		"GetQueueAttributes", "GetQueueUrl", "ChangeMessageVisibility", "PurgeQueue", "CreateQueue":
		return true
	}
	return false
}

// functions returns n functions named prefix-NNN with versions 1 and 2,
// aliases BLUE → 1 and GREEN → 2, and seed PC on BLUE when bluePC > 0.
func functions(prefix string, n, bluePC int) []lambdasim.Function {
	fs := make([]lambdasim.Function, n)
	for i := range fs {
		fs[i] = lambdasim.Function{
			Name:     fmt.Sprintf("%s-%04d", prefix, i),
			Versions: []string{"1", "2"},
			Aliases:  map[string]string{"BLUE": "1", "GREEN": "2"},
		}
		if bluePC > 0 {
			fs[i].ProvisionedConcurrency = map[string]int{"BLUE": bluePC}
		}
	}
	return fs
}

// sqsEvent is an SQS batch of bodies from the prewarm-events queue, as the
// event source mapping delivers it.
func sqsEvent(first int, bodies []string) ([]byte, error) {
	ev := awsevents.SQSEvent{Records: make([]awsevents.SQSMessage, len(bodies))}
	for i, b := range bodies {
		ev.Records[i] = awsevents.SQSMessage{
			MessageId:      fmt.Sprintf("msg-%05d", first+i),
			Body:           b,
			EventSource:    "aws:sqs",
			EventSourceARN: "arn:aws:sqs:us-east-1:" + benchAccount + ":" + eventsQueue,
			AWSRegion:      "us-east-1",
		}
	}
	return json.Marshal(ev)
}

// invoke pushes payload through aws-lambda-go's decoding path, as Lambda
// does, and returns the batch item failures it reported.
func invoke(ctx context.Context, h *handler.Handler, requestID string, payload []byte) ([]string, error) {
	ctx = lambdacontext.NewContext(ctx, &lambdacontext.LambdaContext{
		AwsRequestID:       requestID,
		InvokedFunctionArn: "arn:aws:lambda:us-east-1:" + benchAccount + ":function:prewarm",
	})
	ctx, cancel := context.WithTimeout(ctx, 5*time.Minute)
	defer cancel()
	out, err := lambda.NewHandler(h.Invoke).Invoke(ctx, payload)
	if err != nil {
		return nil, fmt.Errorf("invoke %s: %w", requestID, err)
	}
	var resp awsevents.SQSEventResponse
	if err := json.Unmarshal(out, &resp); err != nil {
		return nil, fmt.Errorf("invoke %s: response %s: %w", requestID, out, err)
	}
	var failed []string
	for _, f := range resp.BatchItemFailures {
		failed = append(failed, f.ItemIdentifier)
	}
	return failed, nil
}

func switchIntent(i int) string {
	return fmt.Sprintf(`{"functionName":"switch-%04d","from":"BLUE","to":"GREEN","wait":false}`, i)
}

// Round trips on the dependency chain of one alias switch: the three reads
// (target, source, account settings) need nothing from each other; the Put
// needs all three; the result message needs the Put's answer.
const switchChain = 3

// switchRows measures a batch of 10 alias switches on 10 functions with
// 50 ms on every API call: in one SQS batch, and as ten one-record
// invocations one after the other.
func switchRows(ctx context.Context, reps int, logf func(string, ...any)) []Row {
	const n = 10
	const id, name = "switch_batch", "10 alias switches, 50 ms per API call"
	var batch, sequential []float64
	var calls map[string]int64
	for rep := range reps {
		for _, seq := range []bool{false, true} {
			d, byOp, err := switchRun(ctx, n, seq)
			if err != nil {
				return []Row{failedRow(id, name, fmt.Errorf("repetition %d: %w", rep+1, err))}
			}
			ms := float64(d) / float64(time.Millisecond)
			if seq {
				sequential = append(sequential, ms)
			} else {
				batch, calls = append(batch, ms), byOp
			}
		}
	}
	floor := float64(switchChain * switchLatency / time.Millisecond)
	logf("switch batch: %.0f ms (floor %.0f ms), sequential %.0f ms", median(batch), floor, median(sequential))
	r := ratioRow(Row{ID: id, Name: name, Unit: "ms", ReferenceName: "critical path"}, median(batch), floor, 1.25)
	r.Samples = batch
	r.Detail = fmt.Sprintf("one SQS batch of 10 {from BLUE, to GREEN, wait:false} switches (GREEN mirrors BLUE's 10) on 10 functions; "+
		"median of %d; critical path = %d dependent round trips × 50 ms: [GetProvisionedConcurrencyConfig(GREEN) ‖ "+
		"GetProvisionedConcurrencyConfig(BLUE) ‖ GetAccountSettings(once)] → PutProvisionedConcurrencyConfig → SendMessageBatch "+
		"(5 calls per record done one after another would be 250 ms); calls of the batch: %s; "+
		"control-plane quota off in the emulator and CONTROL_PLANE_RPS=1000 so that latency alone is measured (the quota is the next figure)",
		reps, switchChain, formatCalls(calls))
	s := Row{ID: "switch_sequential", Name: "  the same 10, one invocation at a time", Unit: "ms",
		Value: median(sequential), Samples: sequential}
	ratio := median(sequential) / median(batch)
	s.Reference, s.ReferenceName, s.Ratio = ptr(median(batch)), "batch", &ratio
	s.Detail = fmt.Sprintf("ten one-record SQS invocations in a row, median of %d: %.1f× the batch", reps, ratio)
	return []Row{r, s}
}

func ptr[T any](v T) *T { return &v }

func formatCalls(byOp map[string]int64) string {
	var parts []string
	for _, op := range []string{"GetProvisionedConcurrencyConfig", "GetAccountSettings", "PutProvisionedConcurrencyConfig",
		"GetFunctionConcurrency", "ListProvisionedConcurrencyConfigs", "DeleteProvisionedConcurrencyConfig", "SendMessageBatch"} {
		if byOp[op] > 0 {
			parts = append(parts, fmt.Sprintf("%s %d", op, byOp[op]))
		}
	}
	return strings.Join(parts, ", ")
}

// switchRun processes n switches once, as one batch or one at a time, on a
// fresh emulator and a fresh handler.
func switchRun(ctx context.Context, n int, sequential bool) (time.Duration, map[string]int64, error) {
	world := localaws.DefaultWorld()
	world.Functions = append(world.Functions, functions("switch", n, 10)...)
	e, err := startEmulator(world, localaws.Options{
		Faults:          localaws.Faults{Latency: localaws.Latencies{"": switchLatency}},
		ControlPlaneRPS: -1,
	})
	if err != nil {
		return 0, nil, err
	}
	defer e.stop()
	h, err := e.newHandler(map[string]string{"ALLOWED_FUNCTIONS": "switch-*", "CONTROL_PLANE_RPS": "1000"})
	if err != nil {
		return 0, nil, err
	}
	bodies := make([]string, n)
	for i := range bodies {
		bodies[i] = switchIntent(i)
	}
	var payloads [][]byte
	if sequential {
		for i, b := range bodies {
			p, err := sqsEvent(i, []string{b})
			if err != nil {
				return 0, nil, err
			}
			payloads = append(payloads, p)
		}
	} else {
		p, err := sqsEvent(0, bodies)
		if err != nil {
			return 0, nil, err
		}
		payloads = append(payloads, p)
	}
	began := time.Now()
	for i, p := range payloads {
		failed, err := invoke(ctx, h, fmt.Sprintf("switch-%d", i), p)
		if err != nil {
			return 0, nil, err
		}
		if len(failed) > 0 {
			return 0, nil, fmt.Errorf("records reported for retry: %v", failed)
		}
	}
	d := time.Since(began)
	if puts := e.requests("PutProvisionedConcurrencyConfig"); puts != int64(n) {
		return 0, nil, fmt.Errorf("%d Puts for %d switches", puts, n)
	}
	byOp := map[string]int64{}
	for op, s := range e.srv.Stats().Operations {
		byOp[op] = s.Requests
	}
	return d, byOp, nil
}

// quotaRPS is prewarm's own control-plane rate in the quota figure, summed
// over its execution environments: just under the emulator's 15, so that
// the scheduling jitter between prewarm's limiter and the emulator's bucket
// never turns into a 429 (and a retry after Retry-After).
const quotaRPS = 14.5

// quotaRows measures intents explicit intents on as many functions against
// the emulator's 15 requests/s quota, delivered as SQS batches of 10 to
// envs execution environments working concurrently.
func quotaRows(ctx context.Context, intents, envs int, logf func(string, ...any)) []Row {
	const id = "quota_time"
	rowName := fmt.Sprintf("%d explicit intents against 15 req/s", intents)
	world := localaws.DefaultWorld()
	world.Functions = append(world.Functions, functions("quota", intents, 0)...)
	world.ConcurrentExecutions = 100000
	e, err := startEmulator(world, localaws.Options{ControlPlaneRPS: localaws.DefaultControlPlaneRPS})
	if err != nil {
		return []Row{failedRow(id, rowName, err)}
	}
	defer e.stop()
	perEnv := quotaRPS / float64(envs)
	handlers := make([]*handler.Handler, envs)
	for i := range handlers {
		h, err := e.newHandler(map[string]string{"ALLOWED_FUNCTIONS": "quota-*", "CONTROL_PLANE_RPS": fmt.Sprint(perEnv)})
		if err != nil {
			return []Row{failedRow(id, rowName, err)}
		}
		handlers[i] = h
	}
	batches := make(chan []byte, intents/10+1)
	for first := 0; first < intents; first += 10 {
		var bodies []string
		for i := first; i < min(first+10, intents); i++ {
			bodies = append(bodies, fmt.Sprintf(`{"functionName":"quota-%04d","to":"GREEN","concurrency":1,"wait":false}`, i))
		}
		p, err := sqsEvent(first, bodies)
		if err != nil {
			return []Row{failedRow(id, rowName, err)}
		}
		batches <- p
	}
	close(batches)
	nBatches := (intents + 9) / 10

	began := time.Now()
	var mu sync.Mutex
	var failed []string
	var firstErr error
	var wg sync.WaitGroup
	for i, h := range handlers {
		wg.Go(func() {
			k := 0
			for p := range batches {
				f, err := invoke(ctx, h, fmt.Sprintf("env-%d-%d", i, k), p)
				k++
				mu.Lock()
				failed = append(failed, f...)
				if err != nil && firstErr == nil {
					firstErr = err
				}
				mu.Unlock()
			}
		})
	}
	wg.Wait()
	elapsed := time.Since(began).Seconds()
	if firstErr != nil {
		return []Row{failedRow(id, rowName, firstErr)}
	}
	requests, throttled, byOp := e.lambdaStats()
	needed := requests - throttled
	floor := float64(needed) / localaws.DefaultControlPlaneRPS
	logf("quota: %.1f s for %d control-plane calls (floor %.1f s), %d throttled, %d records failed", elapsed, needed, floor, throttled, len(failed))

	t := ratioRow(Row{ID: id, Name: rowName, Unit: "s", ReferenceName: "calls ÷ 15/s"}, elapsed, floor, 1.15)
	t.Detail = fmt.Sprintf("%d SQS batches of 10 {concurrency:1, wait:false} on %d functions, processed by %d execution environments "+
		"concurrently (as an event source mapping with maximum concurrency %d does), each with CONTROL_PLANE_RPS=%s "+
		"(%.1f/s together: Lambda's quota is per account, prewarm's limit per execution environment, so their sum must stay under 15; "+
		"just under, so that scheduling jitter does not meet the emulator's bucket empty); floor = %d control-plane calls answered ÷ 15/s; "+
		"calls: %s", nBatches, intents, envs, envs, trimFloat(perEnv), quotaRPS, needed, formatCalls(byOp))
	th := maxRow(Row{ID: "quota_throttled", Name: "  throttled requests / intents failed", Unit: "", Detail: fmt.Sprintf(
		"429s from the emulator's quota (GET /_localaws/stats): %d; records reported in batchItemFailures: %d", throttled, len(failed))},
		float64(throttled+int64(len(failed))), 0, "0")
	perIntent := float64(byOp["GetProvisionedConcurrencyConfig"]+byOp["PutProvisionedConcurrencyConfig"]) / float64(intents)
	c := maxRow(Row{ID: "quota_calls_per_intent", Name: "  control-plane calls per explicit intent", Unit: "calls"}, perIntent, 2, "≤ 2")
	c.Detail = fmt.Sprintf("Get + Put per intent; plus GetAccountSettings once per invocation (%d for %d invocations, %.2f per intent): %.2f in all",
		byOp["GetAccountSettings"], nBatches, float64(byOp["GetAccountSettings"])/float64(intents), float64(needed)/float64(intents))
	return []Row{t, th, c}
}
