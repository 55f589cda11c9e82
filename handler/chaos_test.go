package handler_test

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"log/slog"
	"math/rand/v2"
	"net/http"
	"net/http/httptest"
	"os"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/aws/aws-lambda-go/lambda"
	"github.com/aws/aws-lambda-go/lambdacontext"
	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/aws/retry"
	lambdasvc "github.com/aws/aws-sdk-go-v2/service/lambda"
	"github.com/aws/aws-sdk-go-v2/service/sqs"
	sqstypes "github.com/aws/aws-sdk-go-v2/service/sqs/types"

	"github.com/prewarm/prewarm/config"
	"github.com/prewarm/prewarm/handler"
	"github.com/prewarm/prewarm/localaws"
	"github.com/prewarm/prewarm/localaws/esm"
	"github.com/prewarm/prewarm/localaws/lambdasim"
	"github.com/prewarm/prewarm/localaws/sqssim"
	"github.com/prewarm/prewarm/provision"
	"github.com/prewarm/prewarm/results"
)

// The chaos test drives intents through the whole SQS path — the input queue,
// the emulator's event source mapping, the handler, the Lambda control plane
// and the results queue — while the emulator throttles, fails and drops
// connections on every operation, and checks that nothing is lost or doubled.
//
// Ordering. A FIFO input queue with MessageGroupId = function:qualifier
// delivers one target's intents in the order they were sent and holds the rest
// of the group while one is in flight or waiting to be retried, so the last
// intent sent for a target is the last one applied: the "fifo" run asserts
// that the final provisioned concurrency equals what that intent derives.
// A standard queue does not order (a retried record can arrive after a newer
// one), so the "standard" run gives every intent a distinct value, asserts
// that the final value is one a published decision announced for that
// target, and counts the targets whose final value came from an intent other
// than the last one sent (reordered=).
//
// Terminal results. An intent that waits ends with one result for which
// results.Message.Terminal holds (READY, FAILED, TIMED_OUT, SUPERSEDED,
// REJECTED, RELEASED, DRY_RUN, or UNCHANGED when not IN_PROGRESS); one that
// does not wait ends with its decision (APPLIED or UNCHANGED, or one of
// those). On the FIFO results queue each must appear exactly once. An intent
// that does not wait and is redelivered after its allocation became READY
// adds UNCHANGED (READY) to its APPLIED: counted as restated=, not as a
// duplicate, since APPLIED is not terminal. On a standard results queue a
// redelivered record publishes its results again: counted as duplicates=.
//
// Run bigger with PREWARM_CHAOS_INTENTS=N (make chaos); repeat a run's intents
// and fault dice with PREWARM_CHAOS_SEED; PREWARM_CHAOS_REASONS=1 logs why each record was
// handed back.

const (
	chaosFunctions = 50
	// chaosInvokeTimeout is the function timeout; the input queue's visibility
	// timeout is longer, as Lambda requires.
	chaosInvokeTimeout = 15 * time.Second
	chaosVisibility    = 16
	chaosMaxReceive    = 5
)

func TestChaos(t *testing.T) {
	if testing.Short() {
		t.Skip("chaos test skipped in -short mode")
	}
	n := 1000
	if v := os.Getenv("PREWARM_CHAOS_INTENTS"); v != "" {
		var err error
		if n, err = strconv.Atoi(v); err != nil || n < 1 {
			t.Fatalf("PREWARM_CHAOS_INTENTS=%q: want a positive number", v)
		}
	}
	seed := time.Now().UnixNano()%1_000_000_007 + 1
	if v := os.Getenv("PREWARM_CHAOS_SEED"); v != "" {
		var err error
		if seed, err = strconv.ParseInt(v, 10, 64); err != nil || seed == 0 {
			t.Fatalf("PREWARM_CHAOS_SEED=%q: want a non-zero integer", v)
		}
	}
	t.Logf("chaos seed %d (repeat with PREWARM_CHAOS_SEED=%d)", seed, seed)
	for _, fifo := range []bool{true, false} {
		name := "standard"
		if fifo {
			name = "fifo"
		}
		t.Run(name, func(t *testing.T) { runChaos(t, n, seed, fifo) })
	}
}

// chaosIntent is one intent the test sends and what it expects of it.
type chaosIntent struct {
	n           int
	correlation string
	function    string
	qualifier   string
	body        string
	wait        bool
	// effect is true when the intent changes the target: want is then the
	// requested value it derives (0: no provisioned concurrency).
	effect bool
	want   int
	// outcome is the one terminal outcome expected when the intent has no
	// effect (REJECTED, DRY_RUN).
	outcome results.Outcome
}

func (c chaosIntent) target() string { return c.function + ":" + c.qualifier }

// chaosIntents builds n intents over chaosFunctions functions, two aliases
// each. With distinct set, every effective intent of a target derives a value
// no other intent of that target derives.
func chaosIntents(rng *rand.Rand, n int, distinct bool) []chaosIntent {
	out := make([]chaosIntent, n)
	used := map[string]map[int]bool{}
	for i := range out {
		c := chaosIntent{n: i, correlation: fmt.Sprintf("chaos-%d", i)}
		c.function = fmt.Sprintf("chaos-%02d", rng.IntN(chaosFunctions))
		c.qualifier = []string{"BLUE", "GREEN"}[rng.IntN(2)]
		fields := map[string]any{"correlationId": c.correlation}
		p := rng.Float64()
		value := func(lo, hi int) int {
			for {
				v := lo + rng.IntN(hi-lo+1)
				if !distinct {
					return v
				}
				if used[c.target()] == nil {
					used[c.target()] = map[int]bool{}
				}
				if !used[c.target()][min(v, 100)] {
					used[c.target()][min(v, 100)] = true
					return v
				}
				if len(used[c.target()]) >= 100 {
					return v // every value taken: give up on distinctness
				}
			}
		}
		switch {
		case p < 0.55: // explicit value, capped by MAX_CONCURRENCY
			v := value(1, 110)
			fields["concurrency"], fields["wait"] = v, false
			c.effect, c.want = true, min(v, 100)
		case p < 0.65: // explicit value clamped by the intent's max
			v := value(1, 100)
			hi := 20 + rng.IntN(60)
			fields["concurrency"], fields["max"], fields["wait"] = v+hi, hi, false
			c.effect, c.want = true, hi
			if distinct {
				fields["concurrency"], fields["max"] = v+1, v
				c.want = v
			}
		case p < 0.80: // followed to READY
			v := value(1, 100)
			fields["concurrency"] = v
			c.effect, c.want, c.wait = true, v, true
		case p < 0.85: // remove
			fields["concurrency"], fields["wait"] = 0, false
			c.effect, c.want = true, 0
		case p < 0.90:
			fields["concurrency"], fields["dryRun"], fields["wait"] = 1+rng.IntN(100), true, false
			c.outcome = results.OutcomeDryRun
		case p < 0.95: // not in ALLOWED_FUNCTIONS
			c.function = strings.Replace(c.function, "chaos", "intruder", 1)
			fields["concurrency"], fields["wait"] = 1+rng.IntN(100), false
			c.outcome = results.OutcomeRejected
		default: // invalid
			fields["concurrency"], fields["wait"] = -1-rng.IntN(5), false
			c.outcome = results.OutcomeRejected
		}
		fields["functionName"], fields["to"] = c.function, c.qualifier
		var payload any = fields
		if rng.IntN(2) == 0 {
			payload = map[string]any{
				"version": "0", "id": fmt.Sprintf("ev-%d", i), "detail-type": "Provisioned Concurrency Change",
				"source": "deploy.pipeline", "account": testAccount, "region": "us-east-1",
				"time": "2026-11-25T12:00:00Z", "resources": []string{}, "detail": fields,
			}
		} else if rng.IntN(3) == 0 {
			fields["id"] = fmt.Sprintf("intent-%d", i)
		}
		b, err := json.Marshal(payload)
		if err != nil {
			panic(err)
		}
		c.body = string(b)
		out[i] = c
	}
	return out
}

// chaosWorld has the chaos functions, each with BLUE -> 1 and GREEN -> 2,
// an account large enough that no guardrail binds, and the queues.
func chaosWorld(in, dlq, res string, fifo bool) localaws.World {
	w := localaws.World{
		AccountID: testAccount, Region: "us-east-1",
		ConcurrentExecutions: 100_000, MinimumUnreserved: 100,
		ReadyAfter: localaws.Duration(50 * time.Millisecond),
	}
	for i := range chaosFunctions {
		w.Functions = append(w.Functions, lambdasim.Function{
			Name: fmt.Sprintf("chaos-%02d", i), Versions: []string{"1", "2"},
			Aliases: map[string]string{"BLUE": "1", "GREEN": "2"},
		})
	}
	w.Queues = []sqssim.Queue{
		{Name: in, FIFO: fifo, VisibilityTimeout: chaosVisibility,
			Redrive: &sqssim.Redrive{DeadLetterQueue: dlq, MaxReceiveCount: chaosMaxReceive}},
		{Name: dlq, FIFO: fifo},
		{Name: res, FIFO: fifo},
	}
	return w
}

// spikes delays a share of all requests, on top of the emulator's fixed
// latency, so that calls overtake each other.
type spikes struct {
	next http.Handler
	mu   sync.Mutex
	rng  *rand.Rand
	rate float64
}

func (s *spikes) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	s.mu.Lock()
	var d time.Duration
	if s.rng.Float64() < s.rate {
		d = time.Duration(50+s.rng.IntN(250)) * time.Millisecond
	}
	s.mu.Unlock()
	if d > 0 {
		time.Sleep(d)
	}
	s.next.ServeHTTP(w, r)
}

// retryLog records why the handler handed records back, by message id.
type retryLog struct {
	mu      sync.Mutex
	reasons map[string][]string
}

func (l *retryLog) Write(p []byte) (int, error) {
	for line := range bytes.SplitSeq(p, []byte("\n")) {
		var rec struct {
			Msg       string `json:"msg"`
			MessageID string `json:"messageId"`
			Reason    string `json:"reason"`
		}
		if json.Unmarshal(line, &rec) != nil || rec.Msg != "record will be retried" {
			continue
		}
		l.mu.Lock()
		l.reasons[rec.MessageID] = append(l.reasons[rec.MessageID], rec.Reason)
		l.mu.Unlock()
	}
	return len(p), nil
}

func runChaos(t *testing.T, n int, seed int64, fifo bool) {
	suffix := ""
	if fifo {
		suffix = ".fifo"
	}
	inName, dlqName, resName := "chaos-in"+suffix, "chaos-dlq"+suffix, "chaos-results"+suffix
	srv, err := localaws.New(chaosWorld(inName, dlqName, resName, fifo), localaws.Options{
		Faults: localaws.Faults{
			ThrottleRate: localaws.Rates{"": 0.2},
			ErrorRate:    localaws.Rates{"": 0.05},
			ResetRate:    localaws.Rates{"": 0.02},
			Latency:      localaws.Latencies{"": time.Millisecond, "PutProvisionedConcurrencyConfig": 5 * time.Millisecond},
		},
		// prewarm's own limiter is under test elsewhere; here throttling
		// comes from the injected rate alone.
		ControlPlaneRPS: -1,
		Seed:            seed,
	})
	if err != nil {
		t.Fatal(err)
	}
	hs := httptest.NewServer(&spikes{next: srv, rng: rand.New(rand.NewPCG(uint64(seed), 2)), rate: 0.03})
	t.Cleanup(hs.Close)
	url := hs.URL
	queueURL := func(name string) string { return url + "/" + testAccount + "/" + name }

	cfg, err := config.Load(func(name string) string {
		return map[string]string{
			"RESULTS_QUEUE_URL":  queueURL(resName),
			"FOLLOWUP_QUEUE_URL": queueURL(inName),
			"ALLOWED_FUNCTIONS":  "chaos-*",
			"MAX_CONCURRENCY":    "100",
			"WAIT_SECONDS":       "1",
			"TRACK_TIMEOUT":      "1m",
			"CONTROL_PLANE_RPS":  "1000",
			"AWS_REGION":         "us-east-1",
		}[name]
	})
	if err != nil {
		t.Fatal(err)
	}
	awsCfg := localaws.SDKConfig(url)
	// The SDK's standard retryer (3 attempts, retry quota) as in production,
	// with its backoff shortened so the run stays fast.
	sqsClient := func() *sqs.Client {
		return sqs.NewFromConfig(awsCfg, func(o *sqs.Options) {
			o.Retryer = retry.NewStandard(func(so *retry.StandardOptions) { so.MaxBackoff = 50 * time.Millisecond })
		})
	}
	lc := lambdasvc.NewFromConfig(awsCfg, func(o *lambdasvc.Options) { o.Retryer = aws.NopRetryer{} })
	control := provision.New(lc, provision.Options{RPS: cfg.ControlPlaneRPS, BaseDelay: 10 * time.Millisecond, MaxDelay: 200 * time.Millisecond})
	sc := sqsClient()
	retries := &retryLog{reasons: map[string][]string{}}
	h := handler.New(cfg, handler.Deps{
		Control: control,
		Publisher: results.NewPublisher(sc, cfg.ResultsQueueURL,
			results.WithBackoff(func(attempt int) time.Duration { return time.Duration(attempt) * 20 * time.Millisecond })),
		FollowUps:    results.NewFollowUps(sc, cfg.FollowUpQueueURL),
		Log:          slog.New(slog.NewJSONHandler(retries, &slog.HandlerOptions{Level: slog.LevelWarn})),
		Margin:       time.Second,
		PollInterval: 20 * time.Millisecond,
	})

	var invocations, timeouts atomic.Int64
	invoker := esm.FuncInvoker(func(ctx context.Context, payload []byte) ([]byte, error) {
		id := invocations.Add(1)
		ctx, cancel := context.WithTimeout(ctx, chaosInvokeTimeout)
		defer cancel()
		ctx = lambdacontext.NewContext(ctx, &lambdacontext.LambdaContext{
			AwsRequestID:       fmt.Sprintf("chaos-invocation-%d", id),
			InvokedFunctionArn: "arn:aws:lambda:us-east-1:123456789012:function:prewarm",
		})
		resp, err := lambda.NewHandler(h.Invoke).Invoke(ctx, payload)
		if err == nil && ctx.Err() != nil {
			// Lambda discards the answer of a timed-out invocation: the whole
			// batch comes back.
			timeouts.Add(1)
			return nil, fmt.Errorf("invocation %d timed out after %s", id, chaosInvokeTimeout)
		}
		return bytes.Clone(resp), err
	})
	var batchMu sync.Mutex
	receives := map[string]int{} // message id -> deliveries to the function
	mapping, err := esm.New(esm.Config{
		Client: sqsClient(), QueueURL: queueURL(inName), WaitTimeSeconds: -1, Concurrency: 10,
		Invoker: invoker,
		OnBatch: func(b esm.Batch) {
			batchMu.Lock()
			defer batchMu.Unlock()
			for _, id := range b.MessageIDs {
				receives[id]++
			}
		},
	})
	if err != nil {
		t.Fatal(err)
	}

	rng := rand.New(rand.NewPCG(uint64(seed), 1))
	intents := chaosIntents(rng, n, !fifo)

	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Minute)
	defer cancel()
	runCtx, stopMapping := context.WithCancel(ctx)
	mappingDone := make(chan struct{})
	go func() {
		defer close(mappingDone)
		_ = mapping.Run(runCtx)
	}()
	began := time.Now()
	sendIntents(t, ctx, sqsClient(), queueURL(inName), intents, fifo)

	// Done when the input queue holds nothing: no message visible, in
	// flight, delayed or waiting to be retried.
	for {
		c, err := srv.SQS().Counts(inName)
		if err != nil {
			t.Fatal(err)
		}
		if c.Total() == 0 {
			break
		}
		if ctx.Err() != nil {
			t.Fatalf("input queue still holds %+v after %s", c, time.Since(began))
		}
		time.Sleep(50 * time.Millisecond)
	}
	stopMapping()
	<-mappingDone

	published, err := srv.SQS().Messages(resName)
	if err != nil {
		t.Fatal(err)
	}
	dead, err := srv.SQS().Messages(dlqName)
	if err != nil {
		t.Fatal(err)
	}
	rep := checkChaos(t, intents, published, dead, srv.Lambda(), fifo)
	if os.Getenv("PREWARM_CHAOS_REASONS") != "" {
		retries.mu.Lock()
		for id, rs := range retries.reasons {
			t.Logf("handed back %s: %v", id, rs)
		}
		retries.mu.Unlock()
	}

	for _, d := range dead {
		batchMu.Lock()
		got := receives[d.ID]
		batchMu.Unlock()
		retries.mu.Lock()
		reasons := retries.reasons[d.ID]
		retries.mu.Unlock()
		// The DLQ keeps a message only after maxReceiveCount deliveries (or
		// timed-out invocations) that all handed it back.
		if got < chaosMaxReceive {
			t.Errorf("message %s is in the DLQ after %d deliveries, want %d", d.ID, got, chaosMaxReceive)
		}
		last := "invocation failed or timed out"
		if len(reasons) > 0 {
			last = reasons[len(reasons)-1]
		}
		t.Logf("DLQ: message %s after %d deliveries, last reason: %s; body %.200s", d.ID, got, last, d.Body)
	}

	var throttled, errs, resets, requests int64
	for _, o := range srv.Stats().Operations {
		requests += o.Requests
		throttled += o.Throttled
		errs += o.Errors - o.Resets
		resets += o.Resets
	}
	ms := mapping.Stats()
	mode := "standard"
	if fifo {
		mode = "fifo"
	}
	fmt.Printf("chaos: mode=%s seed=%d intents=%d terminal=%d lost=%d duplicates=%d dlq=%d final-mismatch=%d reordered=%d restated=%d "+
		"requests=%d throttled=%d 5xx=%d resets=%d cp-retries=%d redelivered=%d batches=%d timeouts=%d elapsed=%s\n",
		mode, seed, len(intents), rep.terminal, rep.lost, rep.duplicates, len(dead), rep.finalMismatch, rep.reordered, rep.restated,
		requests, throttled, errs, resets, control.Retries(), ms.Failed, ms.Batches, timeouts.Load(), time.Since(began).Round(time.Millisecond))
}

// sendIntents sends every intent to the input queue in order, ten at a time,
// resending what the faults refused. On a FIFO queue each target is its own
// message group.
func sendIntents(t *testing.T, ctx context.Context, client *sqs.Client, queueURL string, intents []chaosIntent, fifo bool) {
	t.Helper()
	for start := 0; start < len(intents); {
		var entries []sqstypes.SendMessageBatchRequestEntry
		for _, c := range intents[start:min(start+10, len(intents))] {
			e := sqstypes.SendMessageBatchRequestEntry{Id: aws.String(strconv.Itoa(c.n)), MessageBody: aws.String(c.body)}
			if fifo {
				e.MessageGroupId = aws.String(c.target())
				e.MessageDeduplicationId = aws.String(c.correlation)
			}
			entries = append(entries, e)
		}
		out, err := client.SendMessageBatch(ctx, &sqs.SendMessageBatchInput{QueueUrl: aws.String(queueURL), Entries: entries})
		if err != nil {
			if ctx.Err() != nil {
				t.Fatalf("send intents: %v", err)
			}
			continue // the whole call failed: send the same entries again
		}
		if len(out.Failed) > 0 {
			// Keep the order within a group: resend from the first failure
			// (FIFO deduplication drops what already went through).
			first := len(intents)
			for _, f := range out.Failed {
				if f.SenderFault {
					t.Fatalf("send intent %s: %s: %s", aws.ToString(f.Id), aws.ToString(f.Code), aws.ToString(f.Message))
				}
				i, _ := strconv.Atoi(aws.ToString(f.Id))
				first = min(first, i)
			}
			if !fifo {
				// A standard queue has no deduplication: resend only the failed.
				for _, f := range out.Failed {
					i, _ := strconv.Atoi(aws.ToString(f.Id))
					sendIntents(t, ctx, client, queueURL, intents[i:i+1], fifo)
				}
				start += len(entries)
				continue
			}
			start = first
			continue
		}
		start += len(entries)
	}
}

type chaosReport struct {
	terminal, lost, duplicates, finalMismatch, reordered, restated int
}

// checkChaos compares what was published, what sits in the DLQ and the final
// provisioned concurrency with the intents.
func checkChaos(t *testing.T, intents []chaosIntent, published, dead []sqssim.Message, lam *lambdasim.Service, fifo bool) chaosReport {
	t.Helper()
	var rep chaosReport
	byCorrelation := map[string][]results.Message{}
	dedup := map[string]int{}
	for _, p := range published {
		var m results.Message
		if err := json.Unmarshal([]byte(p.Body), &m); err != nil {
			t.Fatalf("result is not JSON: %v\n%s", err, p.Body)
		}
		byCorrelation[m.CorrelationID] = append(byCorrelation[m.CorrelationID], m)
		dedup[results.DeduplicationID(m)]++
	}
	inDLQ := map[string]bool{}
	for _, d := range dead {
		for _, c := range intents {
			if strings.Contains(d.Body, `"correlationId":"`+c.correlation+`"`) {
				inDLQ[c.correlation] = true
			}
		}
	}

	reported := 0
	report := func(format string, args ...any) {
		if reported < 20 {
			t.Errorf(format, args...)
		}
		reported++
	}
	terminalOf := func(c chaosIntent) (terminal []results.Message, decided bool) {
		for _, m := range byCorrelation[c.correlation] {
			if m.FunctionName != c.function || m.Qualifier != c.qualifier {
				report("intent %s: result for %s:%s, want %s", c.correlation, m.FunctionName, m.Qualifier, c.target())
				continue
			}
			switch m.Outcome {
			case results.OutcomeApplied, results.OutcomeUnchanged, results.OutcomeReleased:
				decided = true
			}
			// An intent that does not wait ends with its decision.
			if m.Terminal() || (!c.wait && (m.Outcome == results.OutcomeApplied || m.Outcome == results.OutcomeUnchanged)) {
				terminal = append(terminal, m)
			}
		}
		return terminal, decided
	}

	// Per intent: exactly one terminal result, or the DLQ.
	decidedBy := map[string]bool{}
	for _, c := range intents {
		terminal, decided := terminalOf(c)
		decidedBy[c.correlation] = decided
		switch {
		case len(terminal) == 0 && inDLQ[c.correlation]:
		case len(terminal) == 0:
			rep.lost++
			report("intent %s (%s) is lost: results %v, not in the DLQ", c.correlation, c.body, outcomes(byCorrelation[c.correlation]))
		default:
			rep.terminal++
			if len(terminal) > 1 {
				if !c.wait && len(terminal) == 2 && restates(terminal[0], terminal[1]) {
					// A redelivered intent that does not wait restates its
					// decision once the value is READY.
					rep.restated++
				} else {
					rep.duplicates += len(terminal) - 1
					if fifo {
						report("intent %s: %d terminal results %v", c.correlation, len(terminal), outcomes(terminal))
					}
				}
			}
			if !c.effect {
				if got := terminal[0].Outcome; got != c.outcome {
					report("intent %s (%s): outcome %s, want %s (%s)", c.correlation, c.body, got, c.outcome, terminal[0].Reason)
				}
			}
		}
	}
	for key, count := range dedup {
		if count > 1 && fifo {
			report("FIFO results queue holds %d messages with deduplication id %s", count, key)
		}
	}

	// Per target: the final provisioned concurrency.
	byTarget := map[string][]chaosIntent{}
	var targets []string
	for _, c := range intents {
		if !c.effect {
			continue
		}
		if _, ok := byTarget[c.target()]; !ok {
			targets = append(targets, c.target())
		}
		byTarget[c.target()] = append(byTarget[c.target()], c)
	}
	slices.Sort(targets)
	for _, target := range targets {
		cs := byTarget[target]
		final := 0
		if pc, ok := lam.Config(cs[0].function, cs[0].qualifier); ok {
			final = pc.Requested
		}
		last := cs[len(cs)-1]
		if !fifo {
			// Any value a published decision announced for the target.
			allowed := map[int]bool{0: !slices.ContainsFunc(cs, func(c chaosIntent) bool { return decidedBy[c.correlation] && c.want != 0 })}
			for _, c := range cs {
				if decidedBy[c.correlation] || inDLQ[c.correlation] {
					allowed[c.want] = true
				}
			}
			if !allowed[final] {
				rep.finalMismatch++
				report("%s: final %d is no value a decision announced", target, final)
			}
			if final != last.want {
				rep.reordered++
			}
			continue
		}
		// FIFO: the last intent decides; intents that ended in the DLQ after
		// the last one that finished may or may not have applied.
		allowed := map[int]bool{}
		for i := len(cs) - 1; i >= 0; i-- {
			allowed[cs[i].want] = true
			if !inDLQ[cs[i].correlation] {
				break
			}
			if i == 0 {
				allowed[0] = true
			}
		}
		if !allowed[final] {
			rep.finalMismatch++
			report("%s: final %d, want %d (last intent %s)", target, final, last.want, last.correlation)
		}
	}
	if fifo && rep.duplicates > 0 {
		t.Errorf("%d duplicate terminal results on the FIFO results queue", rep.duplicates)
	}
	return rep
}

// restates reports whether a and b are an intent's APPLIED and the UNCHANGED
// (status READY) its redelivery answered, in either order.
func restates(a, b results.Message) bool {
	if a.Outcome == results.OutcomeUnchanged {
		a, b = b, a
	}
	return a.Outcome == results.OutcomeApplied && b.Outcome == results.OutcomeUnchanged && b.Status() == results.StatusReady
}
