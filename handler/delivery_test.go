package handler_test

import (
	"context"
	"encoding/json"
	"testing"
	"time"

	awsevents "github.com/aws/aws-lambda-go/events"
	"github.com/aws/aws-lambda-go/lambda"
	"github.com/aws/aws-lambda-go/lambdacontext"
	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/sqs"
	"github.com/google/go-cmp/cmp"

	"github.com/prewarm/prewarm/localaws"
	"github.com/prewarm/prewarm/localaws/sqssim"
)

// sqsRecord is one SQS record of queue with a given message id.
func sqsRecord(queue, messageID, body string) awsevents.SQSMessage {
	return awsevents.SQSMessage{
		MessageId: messageID, ReceiptHandle: "rh-" + messageID, Body: body,
		EventSource: "aws:sqs", EventSourceARN: "arn:aws:sqs:us-east-1:123456789012:" + queue, AWSRegion: "us-east-1",
	}
}

func sqsBatch(t *testing.T, records ...awsevents.SQSMessage) []byte {
	t.Helper()
	b, err := json.Marshal(awsevents.SQSEvent{Records: records})
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func (e *env) requests(op string) int64 { return e.srv.Stats().Operations[op].Requests }

// TestRedeliveredRecordIsIdempotentOnFIFO delivers one SQS record (same
// messageId, same body) twice, as SQS does when a delete is lost. The second
// delivery makes no Put and adds no result to the FIFO results queue: its
// UNCHANGED restates the READY already published and SQS drops it.
func TestRedeliveredRecordIsIdempotentOnFIFO(t *testing.T) {
	e := newEnv(t, withFIFOResults())
	batch := sqsBatch(t, sqsRecord("prewarm-events", "msg-redelivered", `{"functionName":"my-function","to":"GREEN","concurrency":25}`))
	for i := range 2 {
		resp, err := e.invoke(batch)
		if err != nil {
			t.Fatal(err)
		}
		if failed := batchResponse(t, resp); len(failed) != 0 {
			t.Fatalf("delivery %d: batchItemFailures %v", i+1, failed)
		}
	}
	got := e.drain("prewarm-results.fifo")
	if diff := cmp.Diff([]string{"my-function:GREEN APPLIED", "my-function:GREEN READY"}, outcomes(got)); diff != "" {
		t.Errorf("results after two deliveries (-want +got):\n%s", diff)
	}
	for _, m := range got {
		if m.ID != "msg-redelivered" {
			t.Errorf("%s has id %q, want the messageId", m.Outcome, m.ID)
		}
	}
	if n := e.requests("PutProvisionedConcurrencyConfig"); n != 1 {
		t.Errorf("PutProvisionedConcurrencyConfig called %d times, want 1", n)
	}
}

// TestRedeliveredRecordWithoutWaitIsIdempotentOnFIFO: an intent that does
// not wait, redelivered while its allocation is IN_PROGRESS, publishes its
// APPLIED once.
func TestRedeliveredRecordWithoutWaitIsIdempotentOnFIFO(t *testing.T) {
	e := newEnv(t, withFIFOResults())
	batch := sqsBatch(t, sqsRecord("prewarm-events", "msg-nowait", `{"functionName":"my-function","to":"GREEN","concurrency":25,"wait":false}`))
	for range 2 {
		if _, err := e.invoke(batch); err != nil {
			t.Fatal(err)
		}
	}
	if diff := cmp.Diff([]string{"my-function:GREEN APPLIED"}, outcomes(e.drain("prewarm-results.fifo"))); diff != "" {
		t.Errorf("(-want +got):\n%s", diff)
	}
	if n := e.requests("PutProvisionedConcurrencyConfig"); n != 1 {
		t.Errorf("PutProvisionedConcurrencyConfig called %d times, want 1", n)
	}
}

// TestDuplicateEventBridgeDeliveryIsIdempotentOnFIFO delivers one
// EventBridge event (same id) twice: once through SQS, once more through SQS
// under a new messageId (EventBridge delivers at least once) and once
// directly. One Put, one release, and each result once.
func TestDuplicateEventBridgeDeliveryIsIdempotentOnFIFO(t *testing.T) {
	e := newEnv(t, withFIFOResults())
	for _, payload := range [][]byte{
		sqsBatch(t, sqsRecord("prewarm-events", "msg-a", switchMyFunction)),
		sqsBatch(t, sqsRecord("prewarm-events", "msg-b", switchMyFunction)),
		[]byte(switchMyFunction),
	} {
		if _, err := e.invoke(payload); err != nil {
			t.Fatal(err)
		}
	}
	want := []string{"my-function:GREEN APPLIED", "my-function:GREEN READY", "my-function:BLUE RELEASED"}
	if diff := cmp.Diff(want, outcomes(e.drain("prewarm-results.fifo"))); diff != "" {
		t.Errorf("results after three deliveries (-want +got):\n%s", diff)
	}
	if n := e.requests("PutProvisionedConcurrencyConfig"); n != 1 {
		t.Errorf("PutProvisionedConcurrencyConfig called %d times, want 1", n)
	}
	if n := e.requests("DeleteProvisionedConcurrencyConfig"); n != 1 {
		t.Errorf("DeleteProvisionedConcurrencyConfig called %d times, want 1", n)
	}
}

// TestDeadlineLeavesMarginAndRetriesUnfinished gives an invocation little
// time while every Put takes a second: the handler stops its AWS work the
// margin (3 s) before the deadline, answers before the deadline, publishes
// what finished, and hands back exactly the record it could not finish,
// which made no change.
func TestDeadlineLeavesMarginAndRetriesUnfinished(t *testing.T) {
	e := newEnv(t, withFaults(localaws.Faults{Latency: localaws.Latencies{"PutProvisionedConcurrencyConfig": time.Second}}))
	batch := sqsBatch(t,
		sqsRecord("prewarm-events", "msg-1", `{"functionName":"my-function","to":"GREEN","concurrency":11,"wait":false}`),
		// Same function: applied after msg-1, when the work budget is spent.
		sqsRecord("prewarm-events", "msg-2", `{"functionName":"my-function","to":"3","concurrency":12,"wait":false}`),
		// Another function: applied alongside msg-1.
		sqsRecord("prewarm-events", "msg-3", `{"functionName":"checkout-api","to":"GREEN","concurrency":13,"wait":false}`),
	)
	// 1.6 s of work after the 3 s margin: one Put per function fits, two do not.
	ctx, cancel := context.WithTimeout(context.Background(), 4600*time.Millisecond)
	defer cancel()
	ctx = lambdacontext.NewContext(ctx, &lambdacontext.LambdaContext{
		AwsRequestID: "deadline-request", InvokedFunctionArn: "arn:aws:lambda:us-east-1:123456789012:function:prewarm",
	})
	resp, err := lambda.NewHandler(e.h.Invoke).Invoke(ctx, batch)
	if err != nil {
		t.Fatal(err)
	}
	if ctx.Err() != nil {
		t.Errorf("the handler answered after the invocation deadline: %v", ctx.Err())
	}
	if diff := cmp.Diff([]string{"msg-2"}, batchResponse(t, resp)); diff != "" {
		t.Errorf("batchItemFailures (-want +got):\n%s", diff)
	}
	want := []string{"my-function:GREEN APPLIED", "checkout-api:GREEN APPLIED"}
	if diff := cmp.Diff(want, outcomes(e.drain("prewarm-results"))); diff != "" {
		t.Errorf("results (-want +got):\n%s", diff)
	}
	if st := e.pc("my-function", "3"); st.Exists {
		t.Errorf("my-function:3 = %+v; the unfinished record must change nothing", st)
	}
}

// TestRedeliveredSwitchWithStandbyKeepsTarget: after a switch that left
// BLUE at a standby value, a redelivery must not mirror the standby value
// onto GREEN.
func TestRedeliveredSwitchWithStandbyKeepsTarget(t *testing.T) {
	e := newEnv(t, withFIFOResults())
	ev := `{"version":"0","id":"ev-standby","detail-type":"Alias Switch","source":"prewarm","detail":{"functionName":"checkout-api","from":"BLUE","to":"GREEN","release":5}}`
	for range 2 {
		if _, err := e.invoke(sqsBatch(t, sqsRecord("prewarm-events", "msg-standby", ev))); err != nil {
			t.Fatal(err)
		}
	}
	want := []string{"checkout-api:GREEN APPLIED", "checkout-api:GREEN READY", "checkout-api:BLUE RELEASED"}
	if diff := cmp.Diff(want, outcomes(e.drain("prewarm-results.fifo"))); diff != "" {
		t.Errorf("(-want +got):\n%s", diff)
	}
	if st := e.pc("checkout-api", "GREEN"); st.Requested != 20 {
		t.Errorf("GREEN = %+v after a redelivery, want BLUE's 20 kept", st)
	}
	if st := e.pc("checkout-api", "BLUE"); st.Requested != 5 {
		t.Errorf("BLUE = %+v, want standby 5", st)
	}
	if n := e.requests("PutProvisionedConcurrencyConfig"); n != 2 {
		t.Errorf("PutProvisionedConcurrencyConfig called %d times, want 2 (GREEN, BLUE's standby)", n)
	}
}

// TestTransientFailureEndsInDLQ plays the event source mapping by hand: a
// record whose Put fails with 5xx every time is handed back on every
// delivery, publishes nothing, and after maxReceiveCount deliveries the
// queue's redrive policy moves it, body intact, to the dead-letter queue.
func TestTransientFailureEndsInDLQ(t *testing.T) {
	const maxReceive = 3
	e := newEnv(t,
		withFaults(localaws.Faults{ErrorRate: localaws.Rates{"PutProvisionedConcurrencyConfig": 1}}),
		withWorld(func(w *localaws.World) {
			w.Queues = append(w.Queues,
				sqssim.Queue{Name: "poison", VisibilityTimeout: 30, Redrive: &sqssim.Redrive{DeadLetterQueue: "poison-dlq", MaxReceiveCount: maxReceive}},
				sqssim.Queue{Name: "poison-dlq"})
		}))
	ctx := context.Background()
	queue := e.url + "/" + testAccount + "/poison"
	body := `{"functionName":"my-function","to":"GREEN","concurrency":30,"wait":false}`
	if _, err := e.sqs.SendMessage(ctx, &sqs.SendMessageInput{QueueUrl: aws.String(queue), MessageBody: aws.String(body)}); err != nil {
		t.Fatal(err)
	}
	deliveries := 0
	for range maxReceive + 2 {
		got, err := e.sqs.ReceiveMessage(ctx, &sqs.ReceiveMessageInput{QueueUrl: aws.String(queue), MaxNumberOfMessages: 10})
		if err != nil {
			t.Fatal(err)
		}
		if len(got.Messages) == 0 {
			break
		}
		m := got.Messages[0]
		deliveries++
		resp, err := e.invoke(sqsBatch(t, sqsRecord("poison", aws.ToString(m.MessageId), aws.ToString(m.Body))))
		if err != nil {
			t.Fatal(err)
		}
		if diff := cmp.Diff([]string{aws.ToString(m.MessageId)}, batchResponse(t, resp)); diff != "" {
			t.Fatalf("delivery %d: batchItemFailures (-want +got):\n%s", deliveries, diff)
		}
		// What the mapping does after the visibility timeout, without waiting.
		if _, err := e.sqs.ChangeMessageVisibility(ctx, &sqs.ChangeMessageVisibilityInput{
			QueueUrl: aws.String(queue), ReceiptHandle: m.ReceiptHandle, VisibilityTimeout: 0,
		}); err != nil {
			t.Fatal(err)
		}
	}
	if deliveries != maxReceive {
		t.Errorf("%d deliveries, want maxReceiveCount %d", deliveries, maxReceive)
	}
	if got := e.drainBodies("poison-dlq"); len(got) != 1 || got[0] != body {
		t.Errorf("dead-letter queue holds %q, want the record's body", got)
	}
	if got := e.drainBodies("prewarm-results"); len(got) != 0 {
		t.Errorf("results published for a record that never succeeded: %q", got)
	}
	if st := e.pc("my-function", "GREEN"); st.Exists {
		t.Errorf("GREEN = %+v, want no change", st)
	}
}
