package watch_test

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/sqs"
	"github.com/aws/aws-sdk-go-v2/service/sqs/types"
	"github.com/google/go-cmp/cmp"

	"github.com/prewarm/prewarm/localaws"
	"github.com/prewarm/prewarm/localaws/clock"
	"github.com/prewarm/prewarm/localaws/localawstest"
	"github.com/prewarm/prewarm/results"
	"github.com/prewarm/prewarm/results/watch"
)

const resultsQueue = "prewarm-results"

var start = time.Date(2026, 11, 25, 12, 0, 0, 0, time.UTC)

// harness is the emulator on a fake clock with the real SQS client pointed at it.
type harness struct {
	srv   *localaws.Server
	clock *clock.Fake
	sqs   *sqs.Client
	base  string
	url   string
}

func newHarness(t testing.TB, opts localaws.Options) *harness {
	t.Helper()
	h := &harness{clock: clock.NewFake(start)}
	if opts.Clock == nil {
		opts.Clock = h.clock
	}
	h.srv, h.base = localawstest.Start(t, localaws.DefaultWorld(), opts)
	h.sqs = sqs.NewFromConfig(localaws.SDKConfig(h.base))
	h.url = h.base + "/" + localaws.DefaultWorld().AccountID + "/" + resultsQueue
	return h
}

// result is a result message of correlation id corr for my-function:qualifier.
func result(id, corr, qualifier string, outcome results.Outcome) results.Message {
	return results.Message{ID: id, CorrelationID: corr, Trigger: results.TriggerDirect, FunctionName: "my-function",
		Qualifier: qualifier, Outcome: outcome, Time: start}
}

// publish sends each message to the results queue as prewarm does.
func (h *harness) publish(t testing.TB, msgs ...results.Message) {
	t.Helper()
	for _, m := range msgs {
		body, err := results.Marshal(m)
		if err != nil {
			t.Fatal(err)
		}
		if _, err := h.sqs.SendMessage(context.Background(), &sqs.SendMessageInput{QueueUrl: aws.String(h.url), MessageBody: aws.String(string(body))}); err != nil {
			t.Fatalf("publish %s %s: %v", m.ID, m.Outcome, err)
		}
	}
}

func (h *harness) stored(t *testing.T) []string {
	t.Helper()
	msgs, err := h.srv.SQS().Messages(resultsQueue)
	if err != nil {
		t.Fatal(err)
	}
	var states []string
	for _, m := range msgs {
		states = append(states, m.State)
	}
	return states
}

func keys(rs []watch.Result) []string {
	var out []string
	for _, r := range rs {
		out = append(out, r.Message.CorrelationID+"/"+r.Message.Qualifier+"/"+string(r.Message.Outcome))
	}
	return out
}

// TestConcurrentReadersTakeOnlyTheirOwn runs two readers with different correlation ids
// against one queue holding both runs' results. The emulator's clock never moves, so neither
// reader can get a message the other received except by the other handing it back at once:
// a reader that hid the other's results for a visibility timeout would leave it waiting until
// the test's deadline.
func TestConcurrentReadersTakeOnlyTheirOwn(t *testing.T) {
	h := newHarness(t, localaws.Options{})
	h.publish(t,
		result("a", "run-a", "GREEN", results.OutcomeApplied),
		result("b", "run-b", "GREEN", results.OutcomeApplied),
		result("a", "run-a", "GREEN", results.OutcomeReady),
		result("b", "run-b", "GREEN", results.OutcomeReady),
		result("a", "run-a", "BLUE", results.OutcomeReleased),
	)
	want := map[string][]string{
		"run-a": {"run-a/GREEN/APPLIED", "run-a/GREEN/READY", "run-a/BLUE/RELEASED"},
		"run-b": {"run-b/GREEN/APPLIED", "run-b/GREEN/READY"},
	}
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	var wg sync.WaitGroup
	got := map[string][]string{}
	var mu sync.Mutex
	for corr := range want {
		wg.Go(func() {
			r := watch.New(h.sqs, watch.Options{QueueURL: h.url, Match: watch.Match{CorrelationID: corr}, Idle: 5 * time.Millisecond})
			var mine []string
			for len(mine) < len(want[corr]) {
				rs, err := r.Receive(ctx)
				mine = append(mine, keys(rs)...)
				if err != nil {
					t.Errorf("%s: %v (got %v)", corr, err, mine)
					break
				}
			}
			mu.Lock()
			got[corr] = mine
			mu.Unlock()
		})
	}
	wg.Wait()
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("results per reader (-want +got):\n%s", diff)
	}
	if !h.clock.Now().Equal(start) {
		t.Errorf("emulator clock moved to %s", h.clock.Now())
	}
	if s := h.stored(t); len(s) != 0 {
		t.Errorf("queue still holds %v; want every result taken by its reader", s)
	}
}

// TestOthersAreHandedBack checks the other run's message directly: visible again, not
// deleted, after a reader saw it.
func TestOthersAreHandedBack(t *testing.T) {
	h := newHarness(t, localaws.Options{})
	h.publish(t, result("b", "run-b", "GREEN", results.OutcomeReady), result("a", "run-a", "GREEN", results.OutcomeReady))
	r := watch.New(h.sqs, watch.Options{QueueURL: h.url, Match: watch.Match{CorrelationID: "run-a"}})
	got, err := r.Collect(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff([]string{"run-a/GREEN/READY"}, keys(got)); diff != "" {
		t.Errorf("collected (-want +got):\n%s", diff)
	}
	msgs, err := h.srv.SQS().Messages(resultsQueue)
	if err != nil {
		t.Fatal(err)
	}
	if len(msgs) != 1 || msgs[0].State != "visible" || msgs[0].ReceiveCount == 0 {
		t.Fatalf("queue holds %+v; want run-b's message, received and visible again", msgs)
	}
	stats := h.srv.Stats().Operations["ChangeMessageVisibilityBatch"]
	if stats.Requests == 0 {
		t.Error("no ChangeMessageVisibilityBatch call")
	}
}

// TestDuplicateIsReturnedOnce delivers the same result twice, as a standard queue may.
func TestDuplicateIsReturnedOnce(t *testing.T) {
	h := newHarness(t, localaws.Options{})
	ready := result("a", "run-a", "GREEN", results.OutcomeReady)
	h.publish(t, ready, ready, result("a", "run-a", "BLUE", results.OutcomeReleased))
	r := watch.New(h.sqs, watch.Options{QueueURL: h.url, Match: watch.Match{CorrelationID: "run-a"}})
	got, err := r.Collect(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	h.publish(t, ready) // a late redelivery
	late, err := r.Collect(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff([]string{"run-a/GREEN/READY", "run-a/BLUE/RELEASED"}, keys(append(got, late...))); diff != "" {
		t.Errorf("results (-want +got):\n%s", diff)
	}
	if s := h.stored(t); len(s) != 0 {
		t.Errorf("queue still holds %v; duplicates must be deleted too", s)
	}
}

// TestLooksPastOthersBacklog puts more than a batch of other runs' results ahead of the
// reader's own.
func TestLooksPastOthersBacklog(t *testing.T) {
	h := newHarness(t, localaws.Options{})
	for i := range 25 {
		h.publish(t, result(fmt.Sprint("old-", i), "nobody-waits", "GREEN", results.OutcomeApplied))
	}
	h.publish(t, result("a", "run-a", "GREEN", results.OutcomeReady))
	r := watch.New(h.sqs, watch.Options{QueueURL: h.url, Match: watch.Match{CorrelationID: "run-a"}})
	got, err := r.Collect(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff([]string{"run-a/GREEN/READY"}, keys(got)); diff != "" {
		t.Errorf("results (-want +got):\n%s", diff)
	}
	for i, s := range h.stored(t) {
		if s != "visible" {
			t.Errorf("other run's message %d is %s; want visible", i, s)
		}
	}
}

// TestMatchByID selects results by intent id, as a reader that knows its ids but not a
// correlation id does.
func TestMatchByID(t *testing.T) {
	h := newHarness(t, localaws.Options{})
	h.publish(t, result("x", "", "GREEN", results.OutcomeReady), result("y", "", "GREEN", results.OutcomeReady), result("z", "", "BLUE", results.OutcomeDryRun))
	r := watch.New(h.sqs, watch.Options{QueueURL: h.url, Match: watch.Match{IDs: []string{"x", "z"}}})
	got, err := r.Collect(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	var ids []string
	for _, g := range got {
		ids = append(ids, g.Message.ID)
	}
	if diff := cmp.Diff([]string{"x", "z"}, ids); diff != "" {
		t.Errorf("ids (-want +got):\n%s", diff)
	}
}

// TestNonResultsAreOthers leaves a body that is no result message alone.
func TestNonResultsAreOthers(t *testing.T) {
	h := newHarness(t, localaws.Options{})
	if _, err := h.sqs.SendMessage(context.Background(), &sqs.SendMessageInput{QueueUrl: aws.String(h.url), MessageBody: aws.String(`{"hello":"world"}`)}); err != nil {
		t.Fatal(err)
	}
	r := watch.New(h.sqs, watch.Options{QueueURL: h.url})
	got, err := r.Collect(context.Background())
	if err != nil || len(got) != 0 {
		t.Fatalf("Collect = %v, %v; want nothing", keys(got), err)
	}
	if s := h.stored(t); len(s) != 1 || s[0] != "visible" {
		t.Errorf("queue holds %v; want the foreign body visible", s)
	}
}

// TestPermanentErrorStopsAtOnce reads a misspelt queue: one call, a permanent error naming
// the queue.
func TestPermanentErrorStopsAtOnce(t *testing.T) {
	h := newHarness(t, localaws.Options{})
	bad := h.url + "-typo"
	r := watch.New(h.sqs, watch.Options{QueueURL: bad, Sleep: func(context.Context, time.Duration) error {
		t.Error("slept after a permanent error")
		return nil
	}})
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	_, err := r.Receive(ctx)
	var perr *watch.PermanentError
	if !errors.As(err, &perr) {
		t.Fatalf("Receive error = %v; want a *PermanentError", err)
	}
	var qd *types.QueueDoesNotExist
	if !errors.As(err, &qd) || perr.QueueURL != bad {
		t.Errorf("error %v: want QueueDoesNotExist for %s", err, bad)
	}
	if n := h.srv.Stats().Operations["ReceiveMessage"].Requests; n != 1 {
		t.Errorf("%d ReceiveMessage requests; want 1", n)
	}
}

// TestTransientErrorsBackOff injects 5xx answers and dropped connections on half the receives
// and turns the SDK's own retries off, so every failure reaches the reader: each is retried
// after a jittered pause within a growing ceiling, and the result arrives.
func TestTransientErrorsBackOff(t *testing.T) {
	h := newHarness(t, localaws.Options{Seed: 7, Faults: localaws.Faults{
		ErrorRate: localaws.Rates{"ReceiveMessage": 0.4},
		ResetRate: localaws.Rates{"ReceiveMessage": 0.3},
	}})
	client := sqs.NewFromConfig(localaws.SDKConfig(h.base), func(o *sqs.Options) {
		o.Retryer = aws.NopRetryer{}
	})
	h.publish(t, result("a", "run-a", "GREEN", results.OutcomeReady))
	var pauses []time.Duration
	r := watch.New(client, watch.Options{
		QueueURL: h.url, Match: watch.Match{CorrelationID: "run-a"},
		MinBackoff: 100 * time.Millisecond, MaxBackoff: time.Second,
		Jitter: func() float64 { return 0.999 },
		Sleep: func(ctx context.Context, d time.Duration) error {
			pauses = append(pauses, d)
			return ctx.Err()
		},
	})
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	var got []watch.Result
	for len(got) == 0 {
		rs, err := r.Receive(ctx)
		if err != nil {
			t.Fatalf("Receive: %v", err)
		}
		got = append(got, rs...)
	}
	st := h.srv.Stats().Operations["ReceiveMessage"]
	if st.Errors == 0 || len(pauses) != int(st.Errors) {
		t.Fatalf("%d failed receives, %d pauses; want one pause per failure, at least one", st.Errors, len(pauses))
	}
	for i, d := range pauses {
		ceiling := min(100*time.Millisecond<<i, time.Second)
		if d < 100*time.Millisecond || d > ceiling {
			t.Errorf("pause %d = %s; want within [100ms, %s]", i, d, ceiling)
		}
	}
	if len(pauses) > 1 && pauses[1] <= pauses[0] {
		t.Errorf("pauses %v do not grow", pauses)
	}
}

// TestReceiveStopsAtDeadline waits on an empty queue until ctx ends, without spinning.
func TestReceiveStopsAtDeadline(t *testing.T) {
	h := newHarness(t, localaws.Options{Clock: clock.Real{}})
	r := watch.New(h.sqs, watch.Options{QueueURL: h.url, Idle: 100 * time.Millisecond})
	ctx, cancel := context.WithTimeout(context.Background(), 1500*time.Millisecond)
	defer cancel()
	for {
		_, err := r.Receive(ctx)
		if err != nil {
			if !errors.Is(err, context.DeadlineExceeded) {
				t.Fatalf("Receive error = %v; want the deadline", err)
			}
			break
		}
	}
	if n := h.srv.Stats().Operations["ReceiveMessage"].Requests; n > 20 {
		t.Errorf("%d receives in 1.5s on an empty queue; want a paced wait", n)
	}
}
