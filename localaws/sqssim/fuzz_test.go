package sqssim_test

import (
	"context"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/prewarm/prewarm/localaws/clock"
	"github.com/prewarm/prewarm/localaws/sqssim"
)

// FuzzServeHTTP feeds arbitrary bodies to every operation: the answer is
// always a well-formed client error or success, never a panic or a 5xx.
func FuzzServeHTTP(f *testing.F) {
	ops := []string{"CreateQueue", "DeleteQueue", "GetQueueUrl", "ListQueues", "GetQueueAttributes", "SetQueueAttributes",
		"SendMessage", "SendMessageBatch", "ReceiveMessage", "DeleteMessage", "DeleteMessageBatch",
		"ChangeMessageVisibility", "ChangeMessageVisibilityBatch", "PurgeQueue"}
	seeds := []string{
		`{}`, `{"QueueUrl":"q"}`, `{"QueueUrl":"q","MessageBody":"x"}`,
		`{"QueueUrl":"f.fifo","MessageBody":"x","MessageGroupId":"g","MessageDeduplicationId":"d"}`,
		`{"QueueUrl":"q","Entries":[{"Id":"a","MessageBody":"x","MessageAttributes":{"k":{"DataType":"Binary","BinaryValue":"AAE="}}}]}`,
		`{"QueueUrl":"q","MaxNumberOfMessages":10,"AttributeNames":["All"],"MessageAttributeNames":["All"]}`,
		`{"QueueUrl":"q","ReceiptHandle":"cQB4ADEAeA"}`, `{"QueueName":"n","Attributes":{"RedrivePolicy":"{}"}}`,
		`{"QueueUrl":"q","Attributes":{"VisibilityTimeout":"x"}}`, `[`, `null`, `{"QueueUrl":7}`,
	}
	for i, s := range seeds {
		f.Add(i, s)
	}
	f.Fuzz(func(t *testing.T, op int, body string) {
		svc := sqssim.New(sqssim.Config{Clock: clock.NewFake(epoch), Queues: []sqssim.Queue{
			{Name: "q", Redrive: &sqssim.Redrive{DeadLetterQueue: "d", MaxReceiveCount: 1}},
			{Name: "f.fifo", FIFO: true},
		}})
		if op < 0 {
			op = -op
		}
		req := httptest.NewRequest(http.MethodPost, "/", strings.NewReader(body))
		req.Header.Set("X-Amz-Target", "AmazonSQS."+ops[op%len(ops)])
		req.Header.Set("Content-Type", "application/x-amz-json-1.0")
		// A long poll waits on the fake clock until its caller goes away;
		// end such a request instead of letting the fuzzer stall.
		ctx, cancel := context.WithTimeout(context.Background(), time.Millisecond)
		defer cancel()
		req = req.WithContext(ctx)
		rec := httptest.NewRecorder()
		svc.ServeHTTP(rec, req)
		if rec.Code >= 500 {
			t.Fatalf("%s %s: status %d: %s", ops[op%len(ops)], body, rec.Code, rec.Body)
		}
		if rec.Code >= 400 && rec.Header().Get("x-amzn-query-error") == "" {
			t.Fatalf("%s %s: error without x-amzn-query-error", ops[op%len(ops)], body)
		}
	})
}
