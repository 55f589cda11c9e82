package sqssim_test

import (
	"context"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/sqs"
	"github.com/aws/aws-sdk-go-v2/service/sqs/types"
	"github.com/google/go-cmp/cmp"

	"github.com/prewarm/prewarm/localaws/sqssim"
)

// Each test here reproduces a behaviour recorded against AWS (AWS-FACTS.md,
// "Recorded details the emulator must match").

// AWS: DeleteMessage on a FIFO queue with the handle of a receive whose
// visibility timeout has passed answers 400 InvalidParameterValue "… Reason:
// The receipt handle has expired." and the message is delivered again.
func TestFIFOExpiredReceiptHandleDoesNotDelete(t *testing.T) {
	e := newEnv(t, sqssim.Queue{Name: "f.fifo", FIFO: true, VisibilityTimeout: 10})
	e.send("f.fifo", "m", fifoSend("g", "d"))
	got := e.receive("f.fifo", 1)
	e.clk.Advance(11 * time.Second)
	handle := aws.ToString(got[0].ReceiptHandle)
	_, err := e.client.DeleteMessage(context.Background(), &sqs.DeleteMessageInput{QueueUrl: e.url("f.fifo"), ReceiptHandle: &handle})
	if code := errorCode(t, err); code != "InvalidParameterValue" {
		t.Errorf("code = %q, want InvalidParameterValue", code)
	}
	if want := "Value " + handle + " for parameter ReceiptHandle is invalid. Reason: The receipt handle has expired."; errorMessage(err) != want {
		t.Errorf("message = %q, want %q", errorMessage(err), want)
	}
	again := e.receive("f.fifo", 1)
	if len(again) != 1 || again[0].Attributes["ApproximateReceiveCount"] != "2" {
		t.Errorf("after the failed delete: got %+v, want the message again (receive count 2)", bodies(again))
	}
	// Within its timeout the latest handle deletes.
	if _, err := e.client.DeleteMessage(context.Background(), &sqs.DeleteMessageInput{QueueUrl: e.url("f.fifo"), ReceiptHandle: again[0].ReceiptHandle}); err != nil {
		t.Fatalf("DeleteMessage in time: %v", err)
	}
	if c := e.counts("f.fifo"); c.Total() != 0 {
		t.Errorf("counts = %+v, want empty", c)
	}
}

// AWS: a message moved to the dead-letter queue keeps counting receives
// (2 on its first DLQ receive with maxReceiveCount 1); body, attributes and
// AWSTraceHeader carry over and DeadLetterQueueSourceArn is added.
func TestDeadLetterMoveKeepsReceiveCount(t *testing.T) {
	e := newEnv(t,
		sqssim.Queue{Name: "work", VisibilityTimeout: 5, Redrive: &sqssim.Redrive{DeadLetterQueue: "dead", MaxReceiveCount: 1}},
		sqssim.Queue{Name: "dead"})
	e.send("work", "poison", func(in *sqs.SendMessageInput) {
		in.MessageAttributes = map[string]types.MessageAttributeValue{"k": {DataType: aws.String("String"), StringValue: aws.String("v")}}
		in.MessageSystemAttributes = map[string]types.MessageSystemAttributeValue{"AWSTraceHeader": {DataType: aws.String("String"), StringValue: aws.String("Root=1-abc")}}
	})
	if got := e.receive("work", 1); len(got) != 1 {
		t.Fatal("first receive got nothing")
	}
	e.clk.Advance(5 * time.Second)
	if got := e.receive("work", 1); len(got) != 0 {
		t.Fatalf("second receive delivered %v, want the move to the DLQ", bodies(got))
	}
	dead := e.receive("dead", 1)
	if len(dead) != 1 {
		t.Fatal("nothing in the DLQ")
	}
	m := dead[0]
	if got := m.Attributes["ApproximateReceiveCount"]; got != "2" {
		t.Errorf("ApproximateReceiveCount on the first DLQ receive = %s, want 2", got)
	}
	if aws.ToString(m.Body) != "poison" || aws.ToString(m.MessageAttributes["k"].StringValue) != "v" || m.Attributes["AWSTraceHeader"] != "Root=1-abc" {
		t.Errorf("carried over: body %q, attributes %v, trace %q", aws.ToString(m.Body), m.MessageAttributes, m.Attributes["AWSTraceHeader"])
	}
	if got := m.Attributes["DeadLetterQueueSourceArn"]; got != "arn:aws:sqs:us-east-1:123456789012:work" {
		t.Errorf("DeadLetterQueueSourceArn = %q", got)
	}
}

// AWS: MessageAttributeNames "All", ".*" and "*" select every attribute;
// "Prefix.*" selects those whose names start with Prefix.
func TestMessageAttributeNamesWildcardsAndPrefixes(t *testing.T) {
	e := newEnv(t, sqssim.Queue{Name: "q", VisibilityTimeout: 1})
	str := func(v string) types.MessageAttributeValue {
		return types.MessageAttributeValue{DataType: aws.String("String"), StringValue: aws.String(v)}
	}
	e.send("q", "m", func(in *sqs.SendMessageInput) {
		in.MessageAttributes = map[string]types.MessageAttributeValue{"Hello": str("1"), "Help.me": str("2"), "Other": str("3")}
	})
	for _, tt := range []struct {
		names []string
		want  []string
	}{
		{[]string{"All"}, []string{"Hello", "Help.me", "Other"}},
		{[]string{".*"}, []string{"Hello", "Help.me", "Other"}},
		{[]string{"*"}, []string{"Hello", "Help.me", "Other"}},
		{[]string{"Hel.*"}, []string{"Hello", "Help.me"}},
		{[]string{"Help.*"}, []string{"Help.me"}},
		{[]string{"Other"}, []string{"Other"}},
		{[]string{"Nope.*"}, []string{}},
	} {
		msgs := e.receive("q", 1, func(in *sqs.ReceiveMessageInput) { in.MessageAttributeNames = tt.names })
		if len(msgs) != 1 {
			t.Fatalf("%v: no message", tt.names)
		}
		got := sortedKeys(msgs[0].MessageAttributes)
		if diff := cmp.Diff(tt.want, got); diff != "" {
			t.Errorf("MessageAttributeNames %v (-want +got):\n%s", tt.names, diff)
		}
		e.clk.Advance(time.Second)
	}
}

// AWS: DelaySeconds 0 on a message overrides the queue's delay (standard
// queues).
func TestMessageDelayZeroOverridesQueueDelay(t *testing.T) {
	e := newEnv(t, sqssim.Queue{Name: "q", DelaySeconds: 60})
	e.send("q", "now", func(in *sqs.SendMessageInput) { in.DelaySeconds = 0 })
	// The SDK omits a zero DelaySeconds, so send it on the wire explicitly.
	resp := postJSON(t, e, "AmazonSQS.SendMessage", `{"QueueUrl":"`+aws.ToString(e.url("q"))+`","MessageBody":"zero","DelaySeconds":0}`)
	if resp.StatusCode != 200 {
		t.Fatalf("SendMessage with DelaySeconds 0: %d", resp.StatusCode)
	}
	if got := bodies(e.receive("q", 10)); !cmp.Equal(got, []string{"zero"}) {
		t.Errorf("received %v, want only the message sent with DelaySeconds 0", got)
	}
}

// AWS: the JSON protocol's __type names are AWS's
// (com.amazonaws.sqs#InvalidParameterValueException,
// …#MissingRequiredParameterException), with the query code in
// x-amzn-query-error.
func TestJSONErrorTypesAreAWSs(t *testing.T) {
	e := newEnv(t, sqssim.Queue{Name: "q"}, sqssim.Queue{Name: "f.fifo", FIFO: true})
	for _, tt := range []struct {
		name, target, body, wantType, wantQuery string
	}{
		{"invalid value", "AmazonSQS.ReceiveMessage", `{"QueueUrl":"q","MaxNumberOfMessages":11}`, "com.amazonaws.sqs#InvalidParameterValueException", "InvalidParameterValue;Sender"},
		{"missing", "AmazonSQS.SendMessage", `{"QueueUrl":"q"}`, "com.amazonaws.sqs#MissingRequiredParameterException", "MissingParameter;Sender"},
		{"no queue", "AmazonSQS.GetQueueUrl", `{"QueueName":"nope"}`, "com.amazonaws.sqs#QueueDoesNotExist", "AWS.SimpleQueueService.NonExistentQueue;Sender"},
		{"fifo batch without group", "AmazonSQS.SendMessageBatch", `{"QueueUrl":"f.fifo","Entries":[{"Id":"a","MessageBody":"b","MessageDeduplicationId":"d"}]}`,
			"com.amazonaws.sqs#InvalidParameterValueException", "InvalidParameterValue;Sender"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			resp := postJSON(t, e, tt.target, tt.body)
			var body struct {
				Type string `json:"__type"`
			}
			if err := decodeJSON(resp, &body); err != nil {
				t.Fatal(err)
			}
			if body.Type != tt.wantType || resp.Header.Get("x-amzn-query-error") != tt.wantQuery {
				t.Errorf("got %q, %q; want %q, %q", body.Type, resp.Header.Get("x-amzn-query-error"), tt.wantType, tt.wantQuery)
			}
		})
	}
}

// AWS: "FifoQueue": "false" on CreateQueue of a standard queue is "Unknown
// Attribute FifoQueue."; an empty KmsMasterKeyId or Policy removes the
// attribute; a second PurgeQueue within 60 s is 403 PurgeQueueInProgress.
func TestQueueAttributeAndPurgeRules(t *testing.T) {
	e := newEnv(t, sqssim.Queue{Name: "q"})
	ctx := context.Background()
	_, err := e.client.CreateQueue(ctx, &sqs.CreateQueueInput{QueueName: aws.String("std"), Attributes: map[string]string{"FifoQueue": "false"}})
	if code := errorCode(t, err); code != "InvalidAttributeName" || errorMessage(err) != "Unknown Attribute FifoQueue." {
		t.Errorf("FifoQueue=false: %v", err)
	}

	set := func(attrs map[string]string) {
		t.Helper()
		if _, err := e.client.SetQueueAttributes(ctx, &sqs.SetQueueAttributesInput{QueueUrl: e.url("q"), Attributes: attrs}); err != nil {
			t.Fatal(err)
		}
	}
	get := func() map[string]string {
		t.Helper()
		out, err := e.client.GetQueueAttributes(ctx, &sqs.GetQueueAttributesInput{QueueUrl: e.url("q"), AttributeNames: []types.QueueAttributeName{"All"}})
		if err != nil {
			t.Fatal(err)
		}
		return out.Attributes
	}
	set(map[string]string{"Policy": `{"Version":"2012-10-17"}`, "KmsMasterKeyId": "alias/aws/sqs"})
	if a := get(); a["Policy"] == "" || a["KmsMasterKeyId"] != "alias/aws/sqs" {
		t.Fatalf("attributes not set: %v", a)
	}
	set(map[string]string{"Policy": "", "KmsMasterKeyId": ""})
	if a := get(); a["Policy"] != "" || a["KmsMasterKeyId"] != "" || hasKey(a, "Policy") || hasKey(a, "KmsMasterKeyId") {
		t.Errorf("empty values did not remove the attributes: %v", a)
	}

	if _, err := e.client.PurgeQueue(ctx, &sqs.PurgeQueueInput{QueueUrl: e.url("q")}); err != nil {
		t.Fatal(err)
	}
	e.clk.Advance(59 * time.Second)
	_, err = e.client.PurgeQueue(ctx, &sqs.PurgeQueueInput{QueueUrl: e.url("q")})
	var inProgress *types.PurgeQueueInProgress
	if code := errorCode(t, err); code != "AWS.SimpleQueueService.PurgeQueueInProgress" || !asType(err, &inProgress) {
		t.Errorf("second purge within 60 s: %v", err)
	}
	if want := "Only one PurgeQueue operation on q is allowed every 60 seconds."; errorMessage(err) != want {
		t.Errorf("message = %q, want %q", errorMessage(err), want)
	}
	e.clk.Advance(time.Second)
	if _, err := e.client.PurgeQueue(ctx, &sqs.PurgeQueueInput{QueueUrl: e.url("q")}); err != nil {
		t.Errorf("purge after 60 s: %v", err)
	}
}

func hasKey(m map[string]string, k string) bool { _, ok := m[k]; return ok }

func postJSON(t *testing.T, e *env, target, body string) *http.Response {
	t.Helper()
	req, _ := http.NewRequest(http.MethodPost, e.srv.URL+"/", strings.NewReader(body))
	req.Header.Set("Content-Type", "application/x-amz-json-1.0")
	req.Header.Set("X-Amz-Target", target)
	resp, err := e.srv.Client().Do(req)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = resp.Body.Close() }) // the caller reads it; closing cannot fail the test
	return resp
}
