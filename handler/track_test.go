package handler_test

import (
	"context"
	"encoding/json"
	"fmt"
	"strings"
	"testing"
	"time"

	awsevents "github.com/aws/aws-lambda-go/events"
	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/sqs"
	"github.com/google/go-cmp/cmp"

	"github.com/prewarm/prewarm/localaws"
	"github.com/prewarm/prewarm/localaws/esm"
)

// sqsEvent wraps bodies as one SQS batch from queue.
func sqsEvent(t testing.TB, queue string, bodies ...string) []byte {
	t.Helper()
	ev := awsevents.SQSEvent{}
	for i, b := range bodies {
		ev.Records = append(ev.Records, awsevents.SQSMessage{
			MessageId:      fmt.Sprintf("msg-%d", i+1),
			ReceiptHandle:  fmt.Sprintf("rh-%d", i+1),
			Body:           b,
			EventSource:    "aws:sqs",
			EventSourceARN: "arn:aws:sqs:us-east-1:123456789012:" + queue,
			AWSRegion:      "us-east-1",
		})
	}
	payload, err := json.Marshal(ev)
	if err != nil {
		t.Fatal(err)
	}
	return payload
}

func batchResponse(t testing.TB, raw []byte) []string {
	t.Helper()
	var resp awsevents.SQSEventResponse
	if err := json.Unmarshal(raw, &resp); err != nil {
		t.Fatalf("batch response %s: %v", raw, err)
	}
	var ids []string
	for _, f := range resp.BatchItemFailures {
		ids = append(ids, f.ItemIdentifier)
	}
	return ids
}

const switchMyFunction = `{"version":"0","id":"ev-1","detail-type":"Alias Switch","source":"prewarm","detail":{"functionName":"my-function","from":"BLUE","to":"GREEN","release":"delete"}}`

// TestSwitchAppliedReadyReleasedInOrder is the product's promise: one event
// gives APPLIED then READY for GREEN, then RELEASED for BLUE, once each, and
// BLUE keeps its capacity until GREEN is READY.
func TestSwitchAppliedReadyReleasedInOrder(t *testing.T) {
	e := newEnv(t)
	if _, err := e.invoke([]byte(switchMyFunction)); err != nil {
		t.Fatal(err)
	}
	got := e.drain("prewarm-results")
	want := []string{"my-function:GREEN APPLIED", "my-function:GREEN READY", "my-function:BLUE RELEASED"}
	if diff := cmp.Diff(want, outcomes(got)); diff != "" {
		t.Fatalf("results (-want +got):\n%s", diff)
	}
	ready, released := got[1], got[2]
	if released.Previous == nil || released.Previous.RequestedProvisionedConcurrentExecutions != 10 {
		t.Errorf("RELEASED previous = %+v, want BLUE's 10 still held when released", released.Previous)
	}
	if ready.Response == nil || ready.Response.AllocatedProvisionedConcurrentExecutions != 10 {
		t.Errorf("READY response = %+v, want 10 allocated", ready.Response)
	}
	if st := e.pc("my-function", "BLUE"); st.Exists {
		t.Errorf("BLUE still has %+v after release", st)
	}
	if st := e.pc("my-function", "GREEN"); st.Requested != 10 || st.Status != "READY" {
		t.Errorf("GREEN = %+v, want 10 READY", st)
	}
	if n := len(e.drainBodies("prewarm-followup")); n != 0 {
		t.Errorf("%d follow-ups written for a change that became READY in the invocation", n)
	}
}

func TestInitFailureLeavesOutgoingWarm(t *testing.T) {
	e := newEnv(t)
	ev := `{"version":"0","id":"ev-2","detail-type":"Alias Switch","source":"prewarm","detail":{"functionName":"broken-function","from":"BLUE","to":"GREEN","release":"delete"}}`
	if _, err := e.invoke([]byte(ev)); err != nil {
		t.Fatal(err)
	}
	got := e.drain("prewarm-results")
	if diff := cmp.Diff([]string{"broken-function:GREEN APPLIED", "broken-function:GREEN FAILED"}, outcomes(got)); diff != "" {
		t.Fatalf("results (-want +got):\n%s", diff)
	}
	if r := got[1].Response; r == nil || r.StatusReason != "FUNCTION_ERROR_INIT_FAILURE" {
		t.Errorf("FAILED response = %+v, want StatusReason FUNCTION_ERROR_INIT_FAILURE", r)
	}
	if st := e.pc("broken-function", "BLUE"); st.Requested != 5 || st.Status != "READY" {
		t.Errorf("BLUE = %+v, want its 5 untouched", st)
	}
}

// followUps returns the follow-up bodies on the follow-up queue once their
// delay has passed, moving the clock a minute at a time, at most 15.
func (e *env) followUps(t *testing.T) []string {
	t.Helper()
	for range 15 {
		e.clk.Advance(time.Minute)
		if bodies := e.drainBodies("prewarm-followup"); len(bodies) > 0 {
			return bodies
		}
	}
	return nil
}

func TestTrackingContinuesThroughFollowUps(t *testing.T) {
	e := newEnv(t, withEnv("WAIT_SECONDS", "2"), withWorld(func(w *localaws.World) {
		w.ReadyAfter = localaws.Duration(20 * time.Second)
	}))
	if _, err := e.invoke([]byte(switchMyFunction)); err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff([]string{"my-function:GREEN APPLIED"}, outcomes(e.drain("prewarm-results"))); diff != "" {
		t.Fatalf("first invocation (-want +got):\n%s", diff)
	}
	var seen []string
	for attempt := 1; attempt <= 10; attempt++ {
		bodies := e.followUps(t)
		if len(bodies) == 0 {
			break
		}
		if len(bodies) != 1 {
			t.Fatalf("attempt %d: %d follow-ups, want 1", attempt, len(bodies))
		}
		resp, err := e.invoke(sqsEvent(t, "prewarm-followup", bodies[0]))
		if err != nil {
			t.Fatal(err)
		}
		if failed := batchResponse(t, resp); len(failed) != 0 {
			t.Fatalf("follow-up failed: %v", failed)
		}
		seen = append(seen, outcomes(e.drain("prewarm-results"))...)
	}
	want := []string{"my-function:GREEN READY", "my-function:BLUE RELEASED"}
	if diff := cmp.Diff(want, seen); diff != "" {
		t.Fatalf("after follow-ups (-want +got):\n%s", diff)
	}
}

func TestSeveralFollowUpsBeforeReady(t *testing.T) {
	e := newEnv(t, withEnv("WAIT_SECONDS", "1"), withWorld(func(w *localaws.World) {
		w.ReadyAfter = localaws.Duration(10 * time.Minute)
	}))
	if _, err := e.invoke([]byte(switchMyFunction)); err != nil {
		t.Fatal(err)
	}
	e.drain("prewarm-results")
	followUps := 0
	var seen []string
	for len(seen) == 0 && followUps < 20 {
		bodies := e.followUps(t)
		if len(bodies) != 1 {
			t.Fatalf("after %d follow-ups: %d waiting, want 1", followUps, len(bodies))
		}
		followUps++
		if _, err := e.invoke(sqsEvent(t, "prewarm-followup", bodies[0])); err != nil {
			t.Fatal(err)
		}
		seen = outcomes(e.drain("prewarm-results"))
	}
	if followUps < 2 {
		t.Errorf("READY after %d follow-up(s); the world needs several", followUps)
	}
	if diff := cmp.Diff([]string{"my-function:GREEN READY", "my-function:BLUE RELEASED"}, seen); diff != "" {
		t.Fatalf("(-want +got):\n%s", diff)
	}
}

func TestTrackingTimesOut(t *testing.T) {
	e := newEnv(t, withEnv("WAIT_SECONDS", "1"), withEnv("TRACK_TIMEOUT", "2m"), withWorld(func(w *localaws.World) {
		w.ReadyAfter = localaws.Duration(time.Hour)
	}))
	if _, err := e.invoke([]byte(switchMyFunction)); err != nil {
		t.Fatal(err)
	}
	e.drain("prewarm-results")
	var seen []string
	for i := 0; i < 10 && len(seen) == 0; i++ {
		bodies := e.followUps(t)
		if len(bodies) != 1 {
			t.Fatalf("%d follow-ups waiting, want 1", len(bodies))
		}
		if _, err := e.invoke(sqsEvent(t, "prewarm-followup", bodies[0])); err != nil {
			t.Fatal(err)
		}
		seen = outcomes(e.drain("prewarm-results"))
	}
	if diff := cmp.Diff([]string{"my-function:GREEN TIMED_OUT"}, seen); diff != "" {
		t.Fatalf("(-want +got):\n%s", diff)
	}
	if st := e.pc("my-function", "BLUE"); st.Requested != 10 {
		t.Errorf("BLUE = %+v after TIMED_OUT, want untouched 10", st)
	}
	if n := len(e.followUps(t)); n != 0 {
		t.Errorf("%d follow-ups after TIMED_OUT, want none", n)
	}
}

func TestWithoutFollowUpQueueTrackingEndsAtBudget(t *testing.T) {
	e := newEnv(t, withEnv("WAIT_SECONDS", "2"), withEnv("FOLLOWUP_QUEUE_URL", ""), withWorld(func(w *localaws.World) {
		w.ReadyAfter = localaws.Duration(time.Hour)
	}))
	if _, err := e.invoke([]byte(switchMyFunction)); err != nil {
		t.Fatal(err)
	}
	got := e.drain("prewarm-results")
	if diff := cmp.Diff([]string{"my-function:GREEN APPLIED", "my-function:GREEN TIMED_OUT"}, outcomes(got)); diff != "" {
		t.Fatalf("(-want +got):\n%s", diff)
	}
	if !strings.Contains(got[1].Reason, "FOLLOWUP_QUEUE_URL") {
		t.Errorf("reason %q does not say why tracking ended", got[1].Reason)
	}
}

func TestLaterChangeSupersedesTracking(t *testing.T) {
	e := newEnv(t, withEnv("WAIT_SECONDS", "1"), withWorld(func(w *localaws.World) {
		w.ReadyAfter = localaws.Duration(time.Minute)
	}))
	if _, err := e.invoke([]byte(switchMyFunction)); err != nil {
		t.Fatal(err)
	}
	e.drain("prewarm-results")
	e.put("my-function", "GREEN", 30) // another deployment took over
	bodies := e.followUps(t)
	if len(bodies) != 1 {
		t.Fatalf("%d follow-ups, want 1", len(bodies))
	}
	if _, err := e.invoke(sqsEvent(t, "prewarm-followup", bodies[0])); err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff([]string{"my-function:GREEN SUPERSEDED"}, outcomes(e.drain("prewarm-results"))); diff != "" {
		t.Fatalf("(-want +got):\n%s", diff)
	}
	if st := e.pc("my-function", "BLUE"); st.Requested != 10 {
		t.Errorf("BLUE = %+v, want untouched: the superseded switch never became READY", st)
	}
}

// TestDuplicateFollowUpsPublishOneTerminalResultOnFIFO delivers the same
// follow-up twice; the FIFO results queue keeps one READY and one RELEASED,
// and the outgoing alias is released once.
func TestDuplicateFollowUpsPublishOneTerminalResultOnFIFO(t *testing.T) {
	e := newEnv(t, withFIFOResults(), withEnv("WAIT_SECONDS", "1"), withWorld(func(w *localaws.World) {
		w.ReadyAfter = localaws.Duration(30 * time.Second)
	}))
	if _, err := e.invoke([]byte(switchMyFunction)); err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff([]string{"my-function:GREEN APPLIED"}, outcomes(e.drain("prewarm-results.fifo"))); diff != "" {
		t.Fatalf("(-want +got):\n%s", diff)
	}
	bodies := e.followUps(t)
	if len(bodies) != 1 {
		t.Fatalf("%d follow-ups, want 1", len(bodies))
	}
	for i := 0; i < 2; i++ {
		resp, err := e.invoke(sqsEvent(t, "prewarm-followup", bodies[0]))
		if err != nil {
			t.Fatal(err)
		}
		if failed := batchResponse(t, resp); len(failed) != 0 {
			t.Fatalf("delivery %d failed: %v", i+1, failed)
		}
	}
	want := []string{"my-function:GREEN READY", "my-function:BLUE RELEASED"}
	if diff := cmp.Diff(want, outcomes(e.drain("prewarm-results.fifo"))); diff != "" {
		t.Fatalf("after two deliveries of one follow-up (-want +got):\n%s", diff)
	}
	if n := e.srv.Stats().Operations["DeleteProvisionedConcurrencyConfig"].Requests; n != 1 {
		t.Errorf("DeleteProvisionedConcurrencyConfig called %d times, want 1", n)
	}
}

// TestSwitchThroughEventSourceMapping sends the switch to the input queue
// and lets the emulator's event source mapping deliver it, as Lambda would.
func TestSwitchThroughEventSourceMapping(t *testing.T) {
	e := newEnv(t)
	ctx := context.Background()
	queue := e.url + "/" + testAccount + "/prewarm-events"
	if _, err := e.sqs.SendMessage(ctx, &sqs.SendMessageInput{QueueUrl: aws.String(queue), MessageBody: aws.String(switchMyFunction)}); err != nil {
		t.Fatal(err)
	}
	var batches []esm.Batch
	m, err := esm.New(esm.Config{
		Client: e.sqs, QueueURL: queue, WaitTimeSeconds: -1, Clock: e.clk,
		Invoker: esm.FuncInvoker(func(ctx context.Context, payload []byte) ([]byte, error) { return e.invoke(payload) }),
		OnBatch: func(b esm.Batch) { batches = append(batches, b) },
	})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := m.Drain(ctx); err != nil {
		t.Fatal(err)
	}
	if len(batches) != 1 || len(batches[0].Deleted) != 1 || len(batches[0].Failed) != 0 {
		t.Fatalf("batches = %+v, want one batch with its record deleted", batches)
	}
	want := []string{"my-function:GREEN APPLIED", "my-function:GREEN READY", "my-function:BLUE RELEASED"}
	got := e.drain("prewarm-results")
	if diff := cmp.Diff(want, outcomes(got)); diff != "" {
		t.Fatalf("(-want +got):\n%s", diff)
	}
	for _, r := range got {
		if r.Trigger != "eventbridge" || r.ID != "ev-1" {
			t.Errorf("result %s has trigger %q id %q, want eventbridge ev-1", r.Outcome, r.Trigger, r.ID)
		}
	}
}

// TestAliasMoveFollowedToReady: an alias with provisioned concurrency is
// re-pointed outside prewarm; AWS moves the configuration with it (back to
// IN_PROGRESS, routing weights for a moment). The CloudTrail event is
// followed to READY like a Put.
func TestAliasMoveFollowedToReady(t *testing.T) {
	ev := func(function, alias string) []byte {
		return []byte(fmt.Sprintf(`{"version":"0","id":"ct-move","detail-type":"AWS API Call via CloudTrail","source":"aws.lambda","account":"123456789012","region":"us-east-1",`+
			`"detail":{"eventSource":"lambda.amazonaws.com","eventName":"UpdateAlias20150331","awsRegion":"us-east-1","recipientAccountId":"123456789012",`+
			`"requestParameters":{"functionName":%q,"name":%q,"functionVersion":"3"}}}`, function, alias))
	}
	t.Run("no policy keeps the moved value", func(t *testing.T) {
		e := newEnv(t)
		if err := e.srv.Lambda().UpdateAlias("my-function", "BLUE", "3"); err != nil {
			t.Fatal(err)
		}
		if _, weights, _ := e.srv.Lambda().Alias("my-function", "BLUE"); len(weights) == 0 {
			t.Fatal("the emulator shows no routing weights right after the move; the test would not cover them")
		}
		if _, err := e.invoke(ev("my-function", "BLUE")); err != nil {
			t.Fatal(err)
		}
		got := e.drain("prewarm-results")
		if diff := cmp.Diff([]string{"my-function:BLUE UNCHANGED", "my-function:BLUE READY"}, outcomes(got)); diff != "" {
			t.Fatalf("(-want +got):\n%s", diff)
		}
		if st := e.pc("my-function", "BLUE"); st.Requested != 10 || st.Status != "READY" {
			t.Errorf("BLUE = %+v, want its 10 READY on version 3", st)
		}
	})
	t.Run("policy re-derived through the weights window", func(t *testing.T) {
		e := newEnv(t)
		if err := e.srv.Lambda().UpdateAlias("checkout-api", "BLUE", "3"); err != nil {
			t.Fatal(err)
		}
		if _, err := e.invoke(ev("checkout-api", "BLUE")); err != nil {
			t.Fatal(err)
		}
		got := e.drain("prewarm-results")
		if diff := cmp.Diff([]string{"checkout-api:BLUE APPLIED", "checkout-api:BLUE READY"}, outcomes(got)); diff != "" {
			t.Fatalf("(-want +got):\n%s", diff)
		}
		if got[0].Derivation == nil || got[0].Derivation.Strategy != "policy" || got[0].Derivation.Value != 10 {
			t.Errorf("derivation = %+v, want the policy default 10", got[0].Derivation)
		}
		if n := e.srv.Stats().Operations["PutProvisionedConcurrencyConfig"]; n.Requests < 2 {
			t.Errorf("%d Put requests: the routing-weights window was not met (want a refused Put, then success)", n.Requests)
		}
	})
}
