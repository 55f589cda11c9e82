package sqssim_test

import (
	"context"
	"errors"
	"net/http"
	"net/http/httptest"
	"runtime"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/aws/retry"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/aws-sdk-go-v2/service/sqs"
	"github.com/aws/aws-sdk-go-v2/service/sqs/types"
	"github.com/aws/smithy-go"
	"github.com/google/go-cmp/cmp"

	"github.com/prewarm/prewarm/localaws/clock"
	"github.com/prewarm/prewarm/localaws/sqssim"
)

var epoch = time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC)

type env struct {
	t      *testing.T
	svc    *sqssim.Service
	clk    *clock.Fake
	srv    *httptest.Server
	client *sqs.Client
}

// newEnv serves a Service seeded with queues on an httptest server and
// points the real SDK client at it.
func newEnv(t *testing.T, queues ...sqssim.Queue) *env {
	t.Helper()
	clk := clock.NewFake(epoch)
	svc := sqssim.New(sqssim.Config{AccountID: "123456789012", Region: "us-east-1", Queues: queues, Clock: clk})
	return newEnvWith(t, svc, clk, svc)
}

func newEnvWith(t *testing.T, svc *sqssim.Service, clk *clock.Fake, h http.Handler, opts ...func(*sqs.Options)) *env {
	t.Helper()
	srv := httptest.NewServer(h)
	t.Cleanup(srv.Close)
	return &env{t: t, svc: svc, clk: clk, srv: srv, client: newClient(srv, opts...)}
}

func newClient(srv *httptest.Server, opts ...func(*sqs.Options)) *sqs.Client {
	cfg := aws.Config{
		Region:      "us-east-1",
		Credentials: credentials.NewStaticCredentialsProvider("AKIDEXAMPLE", "secret", ""),
		HTTPClient:  srv.Client(),
	}
	return sqs.NewFromConfig(cfg, append([]func(*sqs.Options){func(o *sqs.Options) {
		o.BaseEndpoint = aws.String(srv.URL)
	}}, opts...)...)
}

func (e *env) url(name string) *string {
	return aws.String(e.svc.QueueURL(strings.TrimPrefix(e.srv.URL, "http://"), name))
}

func (e *env) send(name, body string, mut ...func(*sqs.SendMessageInput)) *sqs.SendMessageOutput {
	e.t.Helper()
	in := &sqs.SendMessageInput{QueueUrl: e.url(name), MessageBody: aws.String(body)}
	for _, m := range mut {
		m(in)
	}
	out, err := e.client.SendMessage(context.Background(), in)
	if err != nil {
		e.t.Fatalf("SendMessage(%s, %q): %v", name, body, err)
	}
	return out
}

func (e *env) receive(name string, max int32, mut ...func(*sqs.ReceiveMessageInput)) []types.Message {
	e.t.Helper()
	in := &sqs.ReceiveMessageInput{
		QueueUrl:                    e.url(name),
		MaxNumberOfMessages:         max,
		MessageSystemAttributeNames: []types.MessageSystemAttributeName{types.MessageSystemAttributeNameAll},
		MessageAttributeNames:       []string{"All"},
	}
	for _, m := range mut {
		m(in)
	}
	out, err := e.client.ReceiveMessage(context.Background(), in)
	if err != nil {
		e.t.Fatalf("ReceiveMessage(%s): %v", name, err)
	}
	return out.Messages
}

func (e *env) counts(name string) sqssim.Counts {
	e.t.Helper()
	c, err := e.svc.Counts(name)
	if err != nil {
		e.t.Fatal(err)
	}
	return c
}

func bodies(msgs []types.Message) []string {
	out := []string{}
	for _, m := range msgs {
		out = append(out, aws.ToString(m.Body))
	}
	return out
}

func errorCode(t *testing.T, err error) string {
	t.Helper()
	var ae smithy.APIError
	if !errors.As(err, &ae) {
		t.Fatalf("error %v is not an API error", err)
	}
	return ae.ErrorCode()
}

func errorMessage(err error) string {
	var ae smithy.APIError
	if errors.As(err, &ae) {
		return ae.ErrorMessage()
	}
	return ""
}

func TestQueueLifecycleAndAttributes(t *testing.T) {
	e := newEnv(t, sqssim.Queue{Name: "dlq"})
	ctx := context.Background()
	out, err := e.client.CreateQueue(ctx, &sqs.CreateQueueInput{
		QueueName: aws.String("work"),
		Attributes: map[string]string{
			"VisibilityTimeout": "45",
			"DelaySeconds":      "0",
			"RedrivePolicy":     `{"deadLetterTargetArn":"arn:aws:sqs:us-east-1:123456789012:dlq","maxReceiveCount":"3"}`,
		},
	})
	if err != nil {
		t.Fatalf("CreateQueue: %v", err)
	}
	if got, want := aws.ToString(out.QueueUrl), aws.ToString(e.url("work")); got != want {
		t.Errorf("QueueUrl = %q, want %q", got, want)
	}
	// Re-creating with the same attributes is idempotent; a different value conflicts.
	if _, err := e.client.CreateQueue(ctx, &sqs.CreateQueueInput{QueueName: aws.String("work"),
		Attributes: map[string]string{"VisibilityTimeout": "45"}}); err != nil {
		t.Errorf("CreateQueue again: %v", err)
	}
	_, err = e.client.CreateQueue(ctx, &sqs.CreateQueueInput{QueueName: aws.String("work"),
		Attributes: map[string]string{"VisibilityTimeout": "10"}})
	var exists *types.QueueNameExists
	if !errors.As(err, &exists) || errorCode(t, err) != "QueueAlreadyExists" {
		t.Errorf("CreateQueue conflicting: %v, want QueueNameExists/QueueAlreadyExists", err)
	}

	url, err := e.client.GetQueueUrl(ctx, &sqs.GetQueueUrlInput{QueueName: aws.String("work")})
	if err != nil || aws.ToString(url.QueueUrl) != aws.ToString(e.url("work")) {
		t.Fatalf("GetQueueUrl = %v, %v", url, err)
	}
	e.send("work", "one")
	e.send("work", "two", func(in *sqs.SendMessageInput) { in.DelaySeconds = 5 })
	e.receive("work", 1)

	attrs, err := e.client.GetQueueAttributes(ctx, &sqs.GetQueueAttributesInput{
		QueueUrl: e.url("work"), AttributeNames: []types.QueueAttributeName{types.QueueAttributeNameAll}})
	if err != nil {
		t.Fatalf("GetQueueAttributes All: %v", err)
	}
	want := map[string]string{
		"ApproximateNumberOfMessages":           "0",
		"ApproximateNumberOfMessagesDelayed":    "1",
		"ApproximateNumberOfMessagesNotVisible": "1",
		"CreatedTimestamp":                      strconv.FormatInt(epoch.Unix(), 10),
		"LastModifiedTimestamp":                 strconv.FormatInt(epoch.Unix(), 10),
		"DelaySeconds":                          "0",
		"MaximumMessageSize":                    "1048576",
		"MessageRetentionPeriod":                "345600",
		"QueueArn":                              "arn:aws:sqs:us-east-1:123456789012:work",
		"ReceiveMessageWaitTimeSeconds":         "0",
		"VisibilityTimeout":                     "45",
		"RedrivePolicy":                         `{"deadLetterTargetArn":"arn:aws:sqs:us-east-1:123456789012:dlq","maxReceiveCount":3}`,
		"SqsManagedSseEnabled":                  "true",
	}
	if diff := cmp.Diff(want, attrs.Attributes); diff != "" {
		t.Errorf("GetQueueAttributes All (-want +got):\n%s", diff)
	}

	named, err := e.client.GetQueueAttributes(ctx, &sqs.GetQueueAttributesInput{QueueUrl: e.url("work"),
		AttributeNames: []types.QueueAttributeName{"QueueArn", "FifoQueue"}})
	if err != nil {
		t.Fatalf("GetQueueAttributes named: %v", err)
	}
	if diff := cmp.Diff(map[string]string{"QueueArn": "arn:aws:sqs:us-east-1:123456789012:work"}, named.Attributes); diff != "" {
		t.Errorf("named attributes (-want +got):\n%s", diff)
	}
	_, err = e.client.GetQueueAttributes(ctx, &sqs.GetQueueAttributesInput{QueueUrl: e.url("work"),
		AttributeNames: []types.QueueAttributeName{"Bogus"}})
	var badName *types.InvalidAttributeName
	if !errors.As(err, &badName) {
		t.Errorf("unknown attribute name: %v, want InvalidAttributeName", err)
	}

	if _, err := e.client.PurgeQueue(ctx, &sqs.PurgeQueueInput{QueueUrl: e.url("work")}); err != nil {
		t.Fatalf("PurgeQueue: %v", err)
	}
	if got := e.counts("work"); got.Total() != 0 {
		t.Errorf("after purge counts = %+v, want empty", got)
	}
	list, err := e.client.ListQueues(ctx, &sqs.ListQueuesInput{})
	if err != nil || len(list.QueueUrls) != 2 {
		t.Errorf("ListQueues = %v, %v; want 2 queues", list, err)
	}
	if _, err := e.client.DeleteQueue(ctx, &sqs.DeleteQueueInput{QueueUrl: e.url("work")}); err != nil {
		t.Fatalf("DeleteQueue: %v", err)
	}
	_, err = e.client.GetQueueUrl(ctx, &sqs.GetQueueUrlInput{QueueName: aws.String("work")})
	var missing *types.QueueDoesNotExist
	if !errors.As(err, &missing) {
		t.Fatalf("GetQueueUrl of deleted queue: %v, want QueueDoesNotExist", err)
	}
	if got, want := errorCode(t, err), "AWS.SimpleQueueService.NonExistentQueue"; got != want {
		t.Errorf("error code = %q, want %q", got, want)
	}
	if got, want := errorMessage(err), "The specified queue does not exist."; got != want {
		t.Errorf("error message = %q, want %q", got, want)
	}
}

func TestSetQueueAttributes(t *testing.T) {
	e := newEnv(t, sqssim.Queue{Name: "q"}, sqssim.Queue{Name: "dlq"})
	ctx := context.Background()
	_, err := e.client.SetQueueAttributes(ctx, &sqs.SetQueueAttributesInput{QueueUrl: e.url("q"), Attributes: map[string]string{
		"VisibilityTimeout": "5",
		"DelaySeconds":      "2",
		"RedrivePolicy":     `{"deadLetterTargetArn":"arn:aws:sqs:us-east-1:123456789012:dlq","maxReceiveCount":1}`,
	}})
	if err != nil {
		t.Fatalf("SetQueueAttributes: %v", err)
	}
	out, err := e.client.GetQueueAttributes(ctx, &sqs.GetQueueAttributesInput{QueueUrl: e.url("q"),
		AttributeNames: []types.QueueAttributeName{"VisibilityTimeout", "DelaySeconds", "RedrivePolicy"}})
	if err != nil {
		t.Fatal(err)
	}
	want := map[string]string{"VisibilityTimeout": "5", "DelaySeconds": "2",
		"RedrivePolicy": `{"deadLetterTargetArn":"arn:aws:sqs:us-east-1:123456789012:dlq","maxReceiveCount":1}`}
	if diff := cmp.Diff(want, out.Attributes); diff != "" {
		t.Errorf("attributes (-want +got):\n%s", diff)
	}
	// The new settings apply: 2 s delay, 5 s visibility, redrive after one receive.
	e.send("q", "m")
	e.clk.Advance(2 * time.Second)
	if len(e.receive("q", 1)) != 1 {
		t.Fatal("message not delivered after the new delay")
	}
	e.clk.Advance(5 * time.Second)
	if msgs := e.receive("q", 1); len(msgs) != 0 {
		t.Errorf("received %v, want it redriven", bodies(msgs))
	}
	if got, want := e.counts("dlq"), (sqssim.Counts{Visible: 1}); got != want {
		t.Errorf("DLQ counts = %+v, want %+v", got, want)
	}
	_, err = e.client.SetQueueAttributes(ctx, &sqs.SetQueueAttributesInput{QueueUrl: e.url("q"), Attributes: map[string]string{"FifoQueue": "true"}})
	if got := errorCode(t, err); got != "InvalidAttributeName" {
		t.Errorf("setting FifoQueue: code %q, want InvalidAttributeName", got)
	}
}

func TestCreateQueueRejects(t *testing.T) {
	e := newEnv(t, sqssim.Queue{Name: "std"})
	tests := []struct {
		name  string
		input sqs.CreateQueueInput
		code  string
	}{
		{"fifo without suffix", sqs.CreateQueueInput{QueueName: aws.String("nofifo"), Attributes: map[string]string{"FifoQueue": "true"}}, "InvalidParameterValue"},
		{"suffix without fifo", sqs.CreateQueueInput{QueueName: aws.String("x.fifo")}, "InvalidParameterValue"},
		{"bad characters", sqs.CreateQueueInput{QueueName: aws.String("a b")}, "InvalidParameterValue"},
		{"visibility too long", sqs.CreateQueueInput{QueueName: aws.String("v"), Attributes: map[string]string{"VisibilityTimeout": "43201"}}, "InvalidParameterValue"},
		{"unknown attribute", sqs.CreateQueueInput{QueueName: aws.String("u"), Attributes: map[string]string{"Colour": "blue"}}, "InvalidAttributeName"},
		{"content dedup on standard", sqs.CreateQueueInput{QueueName: aws.String("c"), Attributes: map[string]string{"ContentBasedDeduplication": "true"}}, "InvalidAttributeName"},
		{"dead letter target missing", sqs.CreateQueueInput{QueueName: aws.String("r"), Attributes: map[string]string{"RedrivePolicy": `{"deadLetterTargetArn":"arn:aws:sqs:us-east-1:123456789012:nope","maxReceiveCount":3}`}}, "InvalidParameterValue"},
		{"redrive not json", sqs.CreateQueueInput{QueueName: aws.String("r"), Attributes: map[string]string{"RedrivePolicy": `{`}}, "InvalidParameterValue"},
		{"redrive count zero", sqs.CreateQueueInput{QueueName: aws.String("r"), Attributes: map[string]string{"RedrivePolicy": `{"deadLetterTargetArn":"arn:aws:sqs:us-east-1:123456789012:std","maxReceiveCount":0}`}}, "InvalidParameterValue"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := e.client.CreateQueue(context.Background(), &tt.input)
			if err == nil {
				t.Fatal("CreateQueue succeeded, want an error")
			}
			if got := errorCode(t, err); got != tt.code {
				t.Errorf("code = %q, want %q (%v)", got, tt.code, err)
			}
		})
	}
}

func TestSendReceiveWithAttributesPassesSDKChecksums(t *testing.T) {
	e := newEnv(t, sqssim.Queue{Name: "q"})
	sent := e.send("q", `{"hello":"world"}`, func(in *sqs.SendMessageInput) {
		in.MessageAttributes = map[string]types.MessageAttributeValue{
			"category": {DataType: aws.String("String"), StringValue: aws.String("test")},
			"ordinal":  {DataType: aws.String("Number"), StringValue: aws.String("1")},
			"blob":     {DataType: aws.String("Binary"), BinaryValue: []byte{0, 1, 2}},
		}
		in.MessageSystemAttributes = map[string]types.MessageSystemAttributeValue{
			"AWSTraceHeader": {DataType: aws.String("String"), StringValue: aws.String("Root=1-5759e988-bd862e3fe1be46a994272793")},
		}
	})
	if aws.ToString(sent.MD5OfMessageAttributes) == "" || aws.ToString(sent.MD5OfMessageSystemAttributes) == "" {
		t.Errorf("SendMessage digests missing: %+v", sent)
	}
	msgs := e.receive("q", 10)
	if len(msgs) != 1 {
		t.Fatalf("received %d messages, want 1", len(msgs))
	}
	m := msgs[0]
	if got, want := aws.ToString(m.MessageId), aws.ToString(sent.MessageId); got != want {
		t.Errorf("MessageId = %q, want %q", got, want)
	}
	if got, want := aws.ToString(m.MD5OfMessageAttributes), aws.ToString(sent.MD5OfMessageAttributes); got != want {
		t.Errorf("received MD5OfMessageAttributes = %q, sent %q", got, want)
	}
	if got := m.MessageAttributes["blob"].BinaryValue; !cmp.Equal(got, []byte{0, 1, 2}) {
		t.Errorf("binary attribute = %v", got)
	}
	for _, k := range []string{"SenderId", "SentTimestamp", "ApproximateReceiveCount", "ApproximateFirstReceiveTimestamp", "AWSTraceHeader"} {
		if m.Attributes[k] == "" {
			t.Errorf("system attribute %s missing: %v", k, m.Attributes)
		}
	}
	if got, want := m.Attributes["SenderId"], "AKIDEXAMPLE"; got != want {
		t.Errorf("SenderId = %q, want %q", got, want)
	}
	if got, want := m.Attributes["SentTimestamp"], strconv.FormatInt(epoch.UnixMilli(), 10); got != want {
		t.Errorf("SentTimestamp = %q, want %q", got, want)
	}

	// Only the requested attributes come back, with their own digest.
	e.clk.Advance(time.Minute)
	msgs = e.receive("q", 1, func(in *sqs.ReceiveMessageInput) {
		in.MessageAttributeNames = []string{"category"}
		in.MessageSystemAttributeNames = []types.MessageSystemAttributeName{"ApproximateReceiveCount"}
	})
	if len(msgs) != 1 {
		t.Fatalf("second receive got %d messages", len(msgs))
	}
	if diff := cmp.Diff(map[string]string{"ApproximateReceiveCount": "2"}, msgs[0].Attributes); diff != "" {
		t.Errorf("system attributes (-want +got):\n%s", diff)
	}
	if len(msgs[0].MessageAttributes) != 1 || aws.ToString(msgs[0].MD5OfMessageAttributes) == aws.ToString(sent.MD5OfMessageAttributes) {
		t.Errorf("subset receive: attributes %v digest %q", msgs[0].MessageAttributes, aws.ToString(msgs[0].MD5OfMessageAttributes))
	}
}

func TestMessageAttributeDigestMatchesPublishedVectors(t *testing.T) {
	e := newEnv(t, sqssim.Queue{Name: "q"})
	tests := []struct {
		name  string
		attrs map[string]types.MessageAttributeValue
		want  string
	}{
		{"number", map[string]types.MessageAttributeValue{
			"timestamp": {DataType: aws.String("Number"), StringValue: aws.String("1493147359900")},
		}, "235c5c510d26fb653d073faed50ae77c"},
		{"number and string", map[string]types.MessageAttributeValue{
			"ordinal":  {DataType: aws.String("Number"), StringValue: aws.String("1")},
			"category": {DataType: aws.String("String"), StringValue: aws.String("test")},
		}, "d21ae90c49061e927f57df5f5d72be1f"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			out := e.send("q", "x", func(in *sqs.SendMessageInput) { in.MessageAttributes = tt.attrs })
			if got := aws.ToString(out.MD5OfMessageAttributes); got != tt.want {
				t.Errorf("MD5OfMessageAttributes = %q, want %q", got, tt.want)
			}
		})
	}
}

func TestSendRejects(t *testing.T) {
	e := newEnv(t, sqssim.Queue{Name: "q"}, sqssim.Queue{Name: "f.fifo", FIFO: true}, sqssim.Queue{Name: "small"})
	if _, err := e.client.SetQueueAttributes(context.Background(), &sqs.SetQueueAttributesInput{
		QueueUrl: e.url("small"), Attributes: map[string]string{"MaximumMessageSize": "1024"},
	}); err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name    string
		queue   string
		mut     func(*sqs.SendMessageInput)
		code    string
		message string
	}{
		{"too large", "q", func(in *sqs.SendMessageInput) { in.MessageBody = aws.String(strings.Repeat("x", 1048577)) },
			"InvalidParameterValue", "One or more parameters are invalid. Reason: Message must be shorter than 1048576 bytes."},
		{"too large with attributes", "q", func(in *sqs.SendMessageInput) {
			in.MessageBody = aws.String(strings.Repeat("x", 1048570))
			in.MessageAttributes = map[string]types.MessageAttributeValue{"k": {DataType: aws.String("String"), StringValue: aws.String("vvvv")}}
		}, "InvalidParameterValue", "One or more parameters are invalid. Reason: Message must be shorter than 1048576 bytes."},
		{"over the queue's MaximumMessageSize", "small", func(in *sqs.SendMessageInput) { in.MessageBody = aws.String(strings.Repeat("x", 1025)) },
			"InvalidParameterValue", "One or more parameters are invalid. Reason: Message must be shorter than 1024 bytes."},
		{"delay out of range", "q", func(in *sqs.SendMessageInput) { in.DelaySeconds = 901 }, "InvalidParameterValue", ""},
		{"delay on fifo", "f.fifo", func(in *sqs.SendMessageInput) {
			in.DelaySeconds = 5
			in.MessageGroupId = aws.String("g")
			in.MessageDeduplicationId = aws.String("d")
		}, "InvalidParameterValue", "Value 5 for parameter DelaySeconds is invalid. Reason: The request include parameter that is not valid for this queue type."},
		{"fifo without group", "f.fifo", func(in *sqs.SendMessageInput) { in.MessageDeduplicationId = aws.String("d") },
			"MissingParameter", "The request must contain the parameter MessageGroupId."},
		{"fifo without dedup id", "f.fifo", func(in *sqs.SendMessageInput) { in.MessageGroupId = aws.String("g") },
			"InvalidParameterValue", "The queue should either have ContentBasedDeduplication enabled or MessageDeduplicationId provided explicitly"},
		{"dedup id on standard", "q", func(in *sqs.SendMessageInput) { in.MessageDeduplicationId = aws.String("d") }, "InvalidParameterValue", ""},
		{"invalid character", "q", func(in *sqs.SendMessageInput) { in.MessageBody = aws.String("a\x01b") }, "InvalidMessageContents", ""},
		{"attribute without value", "q", func(in *sqs.SendMessageInput) {
			in.MessageAttributes = map[string]types.MessageAttributeValue{"k": {DataType: aws.String("String")}}
		}, "InvalidParameterValue", ""},
		{"attribute bad type", "q", func(in *sqs.SendMessageInput) {
			in.MessageAttributes = map[string]types.MessageAttributeValue{"k": {DataType: aws.String("Date"), StringValue: aws.String("x")}}
		}, "InvalidParameterValue", ""},
		{"unknown queue", "nope", nil, "AWS.SimpleQueueService.NonExistentQueue", "The specified queue does not exist."},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			in := &sqs.SendMessageInput{QueueUrl: e.url(tt.queue), MessageBody: aws.String("body")}
			if tt.mut != nil {
				tt.mut(in)
			}
			_, err := e.client.SendMessage(context.Background(), in)
			if err == nil {
				t.Fatal("SendMessage succeeded, want an error")
			}
			if got := errorCode(t, err); got != tt.code {
				t.Errorf("code = %q, want %q (%v)", got, tt.code, err)
			}
			if tt.message != "" && errorMessage(err) != tt.message {
				t.Errorf("message = %q, want %q", errorMessage(err), tt.message)
			}
		})
	}
	// Exactly at the limit is accepted.
	e.send("q", strings.Repeat("x", 1048576))
}

func TestLongPollReturnsWhenAMessageArrives(t *testing.T) {
	e := newEnv(t, sqssim.Queue{Name: "q"})
	got := make(chan []types.Message, 1)
	go func() {
		out, err := e.client.ReceiveMessage(context.Background(), &sqs.ReceiveMessageInput{
			QueueUrl: e.url("q"), WaitTimeSeconds: 20, MaxNumberOfMessages: 10})
		if err != nil {
			t.Errorf("ReceiveMessage: %v", err)
		}
		got <- out.Messages
	}()
	waitFor(t, func() bool { return e.svc.LongPolling("q") == 1 })
	e.send("q", "arrived")
	// The fake clock never moves here, so only the arrival can end the poll.
	if diff := cmp.Diff([]string{"arrived"}, bodies(<-got)); diff != "" {
		t.Errorf("long poll (-want +got):\n%s", diff)
	}
}

func TestLongPollEndsEmptyAtWaitTime(t *testing.T) {
	e := newEnv(t, sqssim.Queue{Name: "q"})
	got := make(chan []types.Message, 1)
	go func() {
		out, err := e.client.ReceiveMessage(context.Background(), &sqs.ReceiveMessageInput{QueueUrl: e.url("q"), WaitTimeSeconds: 5})
		if err != nil {
			t.Errorf("ReceiveMessage: %v", err)
		}
		got <- out.Messages
	}()
	waitFor(t, func() bool { return e.svc.LongPolling("q") == 1 })
	e.clk.Advance(5 * time.Second)
	if msgs := <-got; len(msgs) != 0 {
		t.Errorf("long poll returned %v, want nothing", bodies(msgs))
	}
}

func TestLongPollWakesWhenADelayedMessageBecomesVisible(t *testing.T) {
	e := newEnv(t, sqssim.Queue{Name: "q"})
	e.send("q", "later", func(in *sqs.SendMessageInput) { in.DelaySeconds = 3 })
	got := make(chan []types.Message, 1)
	go func() {
		out, err := e.client.ReceiveMessage(context.Background(), &sqs.ReceiveMessageInput{QueueUrl: e.url("q"), WaitTimeSeconds: 20})
		if err != nil {
			t.Errorf("ReceiveMessage: %v", err)
		}
		got <- out.Messages
	}()
	waitFor(t, func() bool { return e.svc.LongPolling("q") == 1 })
	e.clk.Advance(3 * time.Second)
	if diff := cmp.Diff([]string{"later"}, bodies(<-got)); diff != "" {
		t.Errorf("long poll (-want +got):\n%s", diff)
	}
}

// waitFor yields until cond holds; it synchronises with a goroutine, it
// does not measure time.
func waitFor(t *testing.T, cond func() bool) {
	t.Helper()
	for !cond() {
		runtime.Gosched()
		time.Sleep(time.Millisecond)
	}
}

func TestDelaySeconds(t *testing.T) {
	e := newEnv(t, sqssim.Queue{Name: "slow", DelaySeconds: 10})
	e.send("slow", "queue-delay")
	e.send("slow", "own-delay", func(in *sqs.SendMessageInput) { in.DelaySeconds = 20 })
	if got, want := e.counts("slow"), (sqssim.Counts{Delayed: 2}); got != want {
		t.Errorf("counts = %+v, want %+v", got, want)
	}
	if msgs := e.receive("slow", 10); len(msgs) != 0 {
		t.Fatalf("received %v before the delay", bodies(msgs))
	}
	e.clk.Advance(10 * time.Second)
	if diff := cmp.Diff([]string{"queue-delay"}, bodies(e.receive("slow", 10))); diff != "" {
		t.Errorf("after 10s (-want +got):\n%s", diff)
	}
	e.clk.Advance(10 * time.Second)
	if diff := cmp.Diff([]string{"own-delay"}, bodies(e.receive("slow", 10))); diff != "" {
		t.Errorf("after 20s (-want +got):\n%s", diff)
	}
}

func TestVisibilityTimeoutReceiveCountsAndReceipts(t *testing.T) {
	e := newEnv(t, sqssim.Queue{Name: "q"})
	ctx := context.Background()
	e.send("q", "m")
	first := e.receive("q", 1)
	if len(first) != 1 || first[0].Attributes["ApproximateReceiveCount"] != "1" {
		t.Fatalf("first receive = %+v", first)
	}
	if got, want := e.counts("q"), (sqssim.Counts{InFlight: 1}); got != want {
		t.Errorf("counts in flight = %+v, want %+v", got, want)
	}
	e.clk.Advance(29 * time.Second)
	if msgs := e.receive("q", 1); len(msgs) != 0 {
		t.Fatalf("received during the visibility timeout: %v", bodies(msgs))
	}
	e.clk.Advance(time.Second)
	second := e.receive("q", 1)
	if len(second) != 1 {
		t.Fatal("message did not reappear after the visibility timeout")
	}
	if got := second[0].Attributes["ApproximateReceiveCount"]; got != "2" {
		t.Errorf("ApproximateReceiveCount = %s, want 2", got)
	}
	if first[0].Attributes["ApproximateFirstReceiveTimestamp"] != second[0].Attributes["ApproximateFirstReceiveTimestamp"] {
		t.Error("ApproximateFirstReceiveTimestamp changed between receives")
	}
	if aws.ToString(first[0].ReceiptHandle) == aws.ToString(second[0].ReceiptHandle) {
		t.Error("receipt handle did not change between receives")
	}

	// A per-receive visibility timeout overrides the queue's.
	_, err := e.client.ChangeMessageVisibility(ctx, &sqs.ChangeMessageVisibilityInput{
		QueueUrl: e.url("q"), ReceiptHandle: second[0].ReceiptHandle, VisibilityTimeout: 0})
	if err != nil {
		t.Fatalf("ChangeMessageVisibility: %v", err)
	}
	third := e.receive("q", 1, func(in *sqs.ReceiveMessageInput) { in.VisibilityTimeout = 5 })
	if len(third) != 1 {
		t.Fatal("ChangeMessageVisibility 0 did not make the message visible")
	}
	e.clk.Advance(5 * time.Second)
	if got, want := e.counts("q"), (sqssim.Counts{Visible: 1}); got != want {
		t.Errorf("counts after the 5s override = %+v, want %+v", got, want)
	}
	// AWS: on a standard queue, ChangeMessageVisibility with the latest
	// handle after the timeout lapsed (not yet received again) succeeds and
	// hides the message again.
	_, err = e.client.ChangeMessageVisibility(ctx, &sqs.ChangeMessageVisibilityInput{
		QueueUrl: e.url("q"), ReceiptHandle: third[0].ReceiptHandle, VisibilityTimeout: 10})
	if err != nil {
		t.Errorf("ChangeMessageVisibility after the timeout lapsed: %v, want success as on AWS", err)
	}
	if got, want := e.counts("q"), (sqssim.Counts{InFlight: 1}); got != want {
		t.Errorf("counts after the late ChangeMessageVisibility = %+v, want %+v", got, want)
	}

	// Garbage receipt handles are invalid; a stale handle of a standard
	// queue's message still deletes it.
	_, err = e.client.DeleteMessage(ctx, &sqs.DeleteMessageInput{QueueUrl: e.url("q"), ReceiptHandle: aws.String("garbage!")})
	var invalid *types.ReceiptHandleIsInvalid
	if !errors.As(err, &invalid) {
		t.Errorf("DeleteMessage(garbage): %v, want ReceiptHandleIsInvalid", err)
	}
	if _, err := e.client.DeleteMessage(ctx, &sqs.DeleteMessageInput{QueueUrl: e.url("q"), ReceiptHandle: first[0].ReceiptHandle}); err != nil {
		t.Fatalf("DeleteMessage(stale): %v", err)
	}
	if got := e.counts("q"); got.Total() != 0 {
		t.Errorf("counts after delete = %+v, want empty", got)
	}
	// Deleting an already deleted message succeeds.
	if _, err := e.client.DeleteMessage(ctx, &sqs.DeleteMessageInput{QueueUrl: e.url("q"), ReceiptHandle: third[0].ReceiptHandle}); err != nil {
		t.Errorf("DeleteMessage(again): %v", err)
	}
}

func TestRedriveToDeadLetterQueue(t *testing.T) {
	e := newEnv(t,
		sqssim.Queue{Name: "work", VisibilityTimeout: 10, Redrive: &sqssim.Redrive{DeadLetterQueue: "dead", MaxReceiveCount: 2}},
		sqssim.Queue{Name: "dead"})
	sent := e.send("work", "poison")
	for i := 1; i <= 2; i++ {
		msgs := e.receive("work", 1)
		if len(msgs) != 1 || msgs[0].Attributes["ApproximateReceiveCount"] != strconv.Itoa(i) {
			t.Fatalf("receive %d = %+v", i, msgs)
		}
		e.clk.Advance(10 * time.Second)
	}
	if msgs := e.receive("work", 1); len(msgs) != 0 {
		t.Fatalf("third receive delivered %v, want the message moved to the DLQ", bodies(msgs))
	}
	if got := e.counts("work"); got.Total() != 0 {
		t.Errorf("source counts = %+v, want empty", got)
	}
	dead := e.receive("dead", 10)
	if len(dead) != 1 {
		t.Fatalf("DLQ holds %d messages, want 1", len(dead))
	}
	if got, want := aws.ToString(dead[0].MessageId), aws.ToString(sent.MessageId); got != want {
		t.Errorf("DLQ MessageId = %q, want the original %q", got, want)
	}
	if got, want := dead[0].Attributes["DeadLetterQueueSourceArn"], "arn:aws:sqs:us-east-1:123456789012:work"; got != want {
		t.Errorf("DeadLetterQueueSourceArn = %q, want %q", got, want)
	}
}

func TestWorldRedriveCreatesMissingDeadLetterQueue(t *testing.T) {
	e := newEnv(t, sqssim.Queue{Name: "work", Redrive: &sqssim.Redrive{DeadLetterQueue: "work-dlq", MaxReceiveCount: 5}})
	if diff := cmp.Diff([]string{"work", "work-dlq"}, e.svc.Queues()); diff != "" {
		t.Errorf("queues (-want +got):\n%s", diff)
	}
}

func TestConfigValidate(t *testing.T) {
	tests := []struct {
		name  string
		queue sqssim.Queue
		ok    bool
	}{
		{"standard", sqssim.Queue{Name: "a-b_c"}, true},
		{"fifo", sqssim.Queue{Name: "a.fifo", FIFO: true}, true},
		{"fifo flag without suffix", sqssim.Queue{Name: "a", FIFO: true}, false},
		{"bad name", sqssim.Queue{Name: "a/b"}, false},
		{"visibility", sqssim.Queue{Name: "a", VisibilityTimeout: 50000}, false},
		{"redrive count", sqssim.Queue{Name: "a", Redrive: &sqssim.Redrive{DeadLetterQueue: "d", MaxReceiveCount: 0}}, false},
		{"redrive type", sqssim.Queue{Name: "a", Redrive: &sqssim.Redrive{DeadLetterQueue: "d.fifo", MaxReceiveCount: 1}}, false},
		{"redrive", sqssim.Queue{Name: "a", Redrive: &sqssim.Redrive{DeadLetterQueue: "d", MaxReceiveCount: 1000}}, true},
		{"redrive without queue", sqssim.Queue{Name: "a", Redrive: &sqssim.Redrive{MaxReceiveCount: 1}}, false},
		{"redrive count too high", sqssim.Queue{Name: "a", Redrive: &sqssim.Redrive{DeadLetterQueue: "d", MaxReceiveCount: 1001}}, false},
		{"visibility negative", sqssim.Queue{Name: "a", VisibilityTimeout: -1}, false},
		{"delay", sqssim.Queue{Name: "a", DelaySeconds: 900}, true},
		{"delay too long", sqssim.Queue{Name: "a", DelaySeconds: 901}, false},
		{"content dedup on fifo", sqssim.Queue{Name: "a.fifo", ContentBasedDeduplication: true}, true},
		{"content dedup on standard", sqssim.Queue{Name: "a", ContentBasedDeduplication: true}, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := sqssim.Config{Queues: []sqssim.Queue{tt.queue}}.Validate()
			if got := err == nil; got != tt.ok {
				t.Errorf("Validate() = %v, want ok=%v", err, tt.ok)
			}
		})
	}
	t.Run("listed twice", func(t *testing.T) {
		if err := (sqssim.Config{Queues: []sqssim.Queue{{Name: "a"}, {Name: "a"}}}).Validate(); err == nil {
			t.Errorf("Validate() accepted a queue listed twice")
		}
	})
}

func fifoSend(group, dedup string) func(*sqs.SendMessageInput) {
	return func(in *sqs.SendMessageInput) {
		in.MessageGroupId = aws.String(group)
		if dedup != "" {
			in.MessageDeduplicationId = aws.String(dedup)
		}
	}
}

func TestFIFOOrderingAndGroupBlocking(t *testing.T) {
	e := newEnv(t, sqssim.Queue{Name: "f.fifo", FIFO: true})
	ctx := context.Background()
	var seqs []string
	for i, m := range []struct{ group, body string }{{"a", "a1"}, {"b", "b1"}, {"a", "a2"}, {"b", "b2"}, {"a", "a3"}} {
		out := e.send("f.fifo", m.body, fifoSend(m.group, strconv.Itoa(i)))
		seqs = append(seqs, aws.ToString(out.SequenceNumber))
	}
	for i := 1; i < len(seqs); i++ {
		if len(seqs[i]) != 20 || seqs[i] <= seqs[i-1] {
			t.Errorf("sequence numbers not increasing 20-digit strings: %v", seqs)
		}
	}
	got := e.receive("f.fifo", 2)
	if diff := cmp.Diff([]string{"a1", "b1"}, bodies(got)); diff != "" {
		t.Fatalf("first receive (-want +got):\n%s", diff)
	}
	for _, k := range []string{"MessageGroupId", "MessageDeduplicationId", "SequenceNumber"} {
		if got[0].Attributes[k] == "" {
			t.Errorf("FIFO attribute %s missing: %v", k, got[0].Attributes)
		}
	}
	// Both groups have a message in flight: nothing else is delivered.
	if msgs := e.receive("f.fifo", 10); len(msgs) != 0 {
		t.Fatalf("received %v while both groups were in flight", bodies(msgs))
	}
	// Deleting a1 unblocks group a only.
	if _, err := e.client.DeleteMessage(ctx, &sqs.DeleteMessageInput{QueueUrl: e.url("f.fifo"), ReceiptHandle: got[0].ReceiptHandle}); err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff([]string{"a2", "a3"}, bodies(e.receive("f.fifo", 10))); diff != "" {
		t.Errorf("after deleting a1 (-want +got):\n%s", diff)
	}
	// b1 times out and comes back before b2.
	e.clk.Advance(30 * time.Second)
	if diff := cmp.Diff([]string{"b1", "a2", "b2", "a3"}, bodies(e.receive("f.fifo", 10))); diff != "" {
		t.Errorf("after the visibility timeout (-want +got):\n%s", diff)
	}
}

func TestFIFOStaleReceiptDoesNotDelete(t *testing.T) {
	e := newEnv(t, sqssim.Queue{Name: "f.fifo", FIFO: true})
	e.send("f.fifo", "m", fifoSend("g", "d"))
	first := e.receive("f.fifo", 1)
	e.clk.Advance(30 * time.Second)
	if len(e.receive("f.fifo", 1)) != 1 {
		t.Fatal("message did not reappear")
	}
	if _, err := e.client.DeleteMessage(context.Background(), &sqs.DeleteMessageInput{QueueUrl: e.url("f.fifo"), ReceiptHandle: first[0].ReceiptHandle}); err != nil {
		t.Fatalf("DeleteMessage(stale): %v", err)
	}
	if got, want := e.counts("f.fifo"), (sqssim.Counts{InFlight: 1}); got != want {
		t.Errorf("counts = %+v, want %+v", got, want)
	}
}

func TestFIFODeduplication(t *testing.T) {
	e := newEnv(t, sqssim.Queue{Name: "f.fifo", FIFO: true}, sqssim.Queue{Name: "c.fifo", FIFO: true, ContentBasedDeduplication: true})
	first := e.send("f.fifo", "one", fifoSend("g", "same"))
	dup := e.send("f.fifo", "one again", fifoSend("g", "same"))
	if aws.ToString(dup.MessageId) != aws.ToString(first.MessageId) || aws.ToString(dup.SequenceNumber) != aws.ToString(first.SequenceNumber) {
		t.Errorf("duplicate answered %s/%s, want the original %s/%s", aws.ToString(dup.MessageId), aws.ToString(dup.SequenceNumber),
			aws.ToString(first.MessageId), aws.ToString(first.SequenceNumber))
	}
	if got := e.counts("f.fifo").Total(); got != 1 {
		t.Errorf("queue holds %d messages after a duplicate, want 1", got)
	}
	e.clk.Advance(5 * time.Minute)
	again := e.send("f.fifo", "one", fifoSend("g", "same"))
	if aws.ToString(again.MessageId) == aws.ToString(first.MessageId) {
		t.Error("send after the 5-minute window was deduplicated")
	}

	a := e.send("c.fifo", "body", fifoSend("g", ""))
	b := e.send("c.fifo", "body", fifoSend("h", ""))
	c := e.send("c.fifo", "other", fifoSend("g", ""))
	if aws.ToString(a.MessageId) != aws.ToString(b.MessageId) || aws.ToString(a.MessageId) == aws.ToString(c.MessageId) {
		t.Errorf("content-based dedup ids: %s %s %s", aws.ToString(a.MessageId), aws.ToString(b.MessageId), aws.ToString(c.MessageId))
	}
	msgs := e.receive("c.fifo", 10)
	if len(msgs) != 2 {
		t.Fatalf("content-based queue delivered %d messages, want 2", len(msgs))
	}
	if got, want := msgs[0].Attributes["MessageDeduplicationId"], "230d8358dc8e8890b4c58deeb62912ee2f20357ae92a5cc861b98e68fe31acb5"; got != want {
		t.Errorf("content-based MessageDeduplicationId = %q, want SHA-256 %q", got, want)
	}
}

func TestSendMessageBatch(t *testing.T) {
	e := newEnv(t, sqssim.Queue{Name: "q"}, sqssim.Queue{Name: "f.fifo", FIFO: true})
	ctx := context.Background()
	entry := func(id, body string) types.SendMessageBatchRequestEntry {
		return types.SendMessageBatchRequestEntry{Id: aws.String(id), MessageBody: aws.String(body)}
	}
	bad := entry("bad", "x")
	bad.MessageAttributes = map[string]types.MessageAttributeValue{"k": {DataType: aws.String("Number"), StringValue: aws.String("NaN?")}}
	withAttr := entry("attr", "y")
	withAttr.MessageAttributes = map[string]types.MessageAttributeValue{"k": {DataType: aws.String("String"), StringValue: aws.String("v")}}
	out, err := e.client.SendMessageBatch(ctx, &sqs.SendMessageBatchInput{QueueUrl: e.url("q"),
		Entries: []types.SendMessageBatchRequestEntry{entry("ok-1", "a"), bad, withAttr}})
	if err != nil {
		t.Fatalf("SendMessageBatch: %v", err)
	}
	var ok []string
	for _, s := range out.Successful {
		ok = append(ok, aws.ToString(s.Id))
	}
	if diff := cmp.Diff([]string{"ok-1", "attr"}, ok); diff != "" {
		t.Errorf("Successful (-want +got):\n%s", diff)
	}
	if len(out.Failed) != 1 || aws.ToString(out.Failed[0].Id) != "bad" || !out.Failed[0].SenderFault ||
		aws.ToString(out.Failed[0].Code) != "InvalidParameterValue" || aws.ToString(out.Failed[0].Message) == "" {
		t.Errorf("Failed = %+v", out.Failed)
	}

	eleven := make([]types.SendMessageBatchRequestEntry, 11)
	for i := range eleven {
		eleven[i] = entry("e"+strconv.Itoa(i), "b")
	}
	big := strings.Repeat("x", 600000)
	tests := []struct {
		name    string
		queue   string
		entries []types.SendMessageBatchRequestEntry
		code    string
		message string
	}{
		{"too many", "q", eleven, "AWS.SimpleQueueService.TooManyEntriesInBatchRequest", "Maximum number of entries per request are 10. You have sent 11."},
		{"id too long", "q", []types.SendMessageBatchRequestEntry{entry(strings.Repeat("i", 81), "b")}, "AWS.SimpleQueueService.InvalidBatchEntryId", ""},
		{"id bad character", "q", []types.SendMessageBatchRequestEntry{entry("a.b", "b")}, "AWS.SimpleQueueService.InvalidBatchEntryId", ""},
		{"ids repeated", "q", []types.SendMessageBatchRequestEntry{entry("a", "b"), entry("a", "c")}, "AWS.SimpleQueueService.BatchEntryIdsNotDistinct", ""},
		{"total too long", "q", []types.SendMessageBatchRequestEntry{entry("a", big), entry("b", big)}, "AWS.SimpleQueueService.BatchRequestTooLong", ""},
		// AWS: a FIFO batch entry without MessageGroupId fails the request
		// with InvalidParameterValue (SendMessage says MissingParameter).
		{"fifo without group", "f.fifo", []types.SendMessageBatchRequestEntry{entry("a", "b")}, "InvalidParameterValue", "The request must contain the parameter MessageGroupId."},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := e.client.SendMessageBatch(ctx, &sqs.SendMessageBatchInput{QueueUrl: e.url(tt.queue), Entries: tt.entries})
			if err == nil {
				t.Fatal("SendMessageBatch succeeded, want an error")
			}
			if got := errorCode(t, err); got != tt.code {
				t.Errorf("code = %q, want %q (%v)", got, tt.code, err)
			}
			if tt.message != "" && errorMessage(err) != tt.message {
				t.Errorf("message = %q, want %q", errorMessage(err), tt.message)
			}
		})
	}
	_, err = e.client.SendMessageBatch(ctx, &sqs.SendMessageBatchInput{QueueUrl: e.url("q"), Entries: eleven})
	var tooMany *types.TooManyEntriesInBatchRequest
	if !errors.As(err, &tooMany) {
		t.Errorf("11 entries: %v, want *types.TooManyEntriesInBatchRequest", err)
	}
}

func TestDeleteAndChangeVisibilityBatch(t *testing.T) {
	e := newEnv(t, sqssim.Queue{Name: "q"})
	ctx := context.Background()
	for i := 0; i < 3; i++ {
		e.send("q", strconv.Itoa(i))
	}
	msgs := e.receive("q", 10)
	if len(msgs) != 3 {
		t.Fatalf("received %d, want 3", len(msgs))
	}
	vis, err := e.client.ChangeMessageVisibilityBatch(ctx, &sqs.ChangeMessageVisibilityBatchInput{QueueUrl: e.url("q"),
		Entries: []types.ChangeMessageVisibilityBatchRequestEntry{{Id: aws.String("m2"), ReceiptHandle: msgs[2].ReceiptHandle, VisibilityTimeout: 0}}})
	if err != nil || len(vis.Successful) != 1 {
		t.Fatalf("ChangeMessageVisibilityBatch = %+v, %v", vis, err)
	}
	del, err := e.client.DeleteMessageBatch(ctx, &sqs.DeleteMessageBatchInput{QueueUrl: e.url("q"),
		Entries: []types.DeleteMessageBatchRequestEntry{
			{Id: aws.String("m0"), ReceiptHandle: msgs[0].ReceiptHandle},
			{Id: aws.String("m1"), ReceiptHandle: msgs[1].ReceiptHandle},
			{Id: aws.String("junk"), ReceiptHandle: aws.String("not-a-handle")},
		}})
	if err != nil {
		t.Fatalf("DeleteMessageBatch: %v", err)
	}
	if len(del.Successful) != 2 || len(del.Failed) != 1 || aws.ToString(del.Failed[0].Code) != "ReceiptHandleIsInvalid" || !del.Failed[0].SenderFault {
		t.Errorf("DeleteMessageBatch = %+v", del)
	}
	if got, want := e.counts("q"), (sqssim.Counts{Visible: 1}); got != want {
		t.Errorf("counts = %+v, want %+v", got, want)
	}
	_, err = e.client.DeleteMessageBatch(ctx, &sqs.DeleteMessageBatchInput{QueueUrl: e.url("q"), Entries: []types.DeleteMessageBatchRequestEntry{}})
	var empty *types.EmptyBatchRequest
	if !errors.As(err, &empty) {
		t.Errorf("empty DeleteMessageBatch: %v, want EmptyBatchRequest", err)
	}
}

func TestReceiveRejectsOutOfRangeParameters(t *testing.T) {
	e := newEnv(t, sqssim.Queue{Name: "q"})
	tests := []struct {
		name string
		mut  func(*sqs.ReceiveMessageInput)
	}{
		{"max 11", func(in *sqs.ReceiveMessageInput) { in.MaxNumberOfMessages = 11 }},
		{"wait 21", func(in *sqs.ReceiveMessageInput) { in.WaitTimeSeconds = 21 }},
		{"visibility negative", func(in *sqs.ReceiveMessageInput) { in.VisibilityTimeout = -1 }},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			in := &sqs.ReceiveMessageInput{QueueUrl: e.url("q")}
			tt.mut(in)
			_, err := e.client.ReceiveMessage(context.Background(), in)
			if got := errorCode(t, err); got != "InvalidParameterValue" {
				t.Errorf("code = %q, want InvalidParameterValue", got)
			}
		})
	}
}

func TestMalformedRequestsAnswer400(t *testing.T) {
	e := newEnv(t, sqssim.Queue{Name: "q"})
	tests := []struct {
		name, target, body string
		status             int
		typ                string
	}{
		{"not json", "AmazonSQS.SendMessage", `{"QueueUrl":`, 400, "com.amazon.coral.service#SerializationException"},
		{"wrong type", "AmazonSQS.ReceiveMessage", `{"QueueUrl":"q","MaxNumberOfMessages":"ten"}`, 400, "com.amazon.coral.service#SerializationException"},
		{"fraction", "AmazonSQS.ReceiveMessage", `{"QueueUrl":"q","WaitTimeSeconds":1.5}`, 400, "com.amazon.coral.service#SerializationException"},
		{"array body", "AmazonSQS.GetQueueAttributes", `[]`, 400, "com.amazon.coral.service#SerializationException"},
		{"missing queue url", "AmazonSQS.SendMessage", `{"MessageBody":"x"}`, 400, "com.amazonaws.sqs#MissingRequiredParameterException"},
		{"null entries", "AmazonSQS.DeleteMessageBatch", `{"QueueUrl":"q","Entries":null}`, 400, "com.amazonaws.sqs#EmptyBatchRequest"},
		{"null entry id", "AmazonSQS.DeleteMessageBatch", `{"QueueUrl":"q","Entries":[{}]}`, 400, "com.amazonaws.sqs#MissingRequiredParameterException"},
		{"unknown operation", "AmazonSQS.Frobnicate", `{}`, 400, "com.amazonaws.sqs#UnsupportedOperation"},
		{"no target", "", `{}`, 400, "com.amazon.coral.service#UnknownOperationException"},
		{"empty body", "AmazonSQS.PurgeQueue", ``, 400, "com.amazonaws.sqs#MissingRequiredParameterException"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			req, _ := http.NewRequest(http.MethodPost, e.srv.URL+"/", strings.NewReader(tt.body))
			req.Header.Set("Content-Type", "application/x-amz-json-1.0")
			if tt.target != "" {
				req.Header.Set("X-Amz-Target", tt.target)
			}
			resp, err := e.srv.Client().Do(req)
			if err != nil {
				t.Fatal(err)
			}
			defer func() { _ = resp.Body.Close() }() // decoded below; nothing to report
			var body struct {
				Type    string `json:"__type"`
				Message string `json:"message"`
			}
			if err := decodeJSON(resp, &body); err != nil {
				t.Fatalf("error body: %v", err)
			}
			if resp.StatusCode != tt.status || body.Type != tt.typ || body.Message == "" {
				t.Errorf("got %d %q %q, want %d %q", resp.StatusCode, body.Type, body.Message, tt.status, tt.typ)
			}
			if q := resp.Header.Get("x-amzn-query-error"); !strings.HasSuffix(q, ";Sender") {
				t.Errorf("x-amzn-query-error = %q, want a Sender fault", q)
			}
		})
	}
}

// faulty answers the first n requests with the service's throttle or 5xx.
type faulty struct {
	svc      *sqssim.Service
	mu       sync.Mutex
	n        int
	requests int
	throttle bool
}

func (f *faulty) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	f.mu.Lock()
	f.requests++
	fail := f.requests <= f.n
	f.mu.Unlock()
	op, _ := f.svc.Operation(r)
	switch {
	case fail && f.throttle:
		f.svc.WriteThrottled(w, op)
	case fail:
		f.svc.WriteServiceError(w, op)
	default:
		f.svc.ServeHTTP(w, r)
	}
}

func TestThrottleAndServiceErrorsAreRetriedBySDK(t *testing.T) {
	for _, throttle := range []bool{true, false} {
		t.Run("throttle="+strconv.FormatBool(throttle), func(t *testing.T) {
			clk := clock.NewFake(epoch)
			svc := sqssim.New(sqssim.Config{Queues: []sqssim.Queue{{Name: "q"}}, Clock: clk})
			f := &faulty{svc: svc, n: 2, throttle: throttle}
			e := newEnvWith(t, svc, clk, f, func(o *sqs.Options) {
				o.Retryer = retry.NewStandard(func(so *retry.StandardOptions) {
					so.MaxAttempts = 3
					so.Backoff = retry.BackoffDelayerFunc(func(int, error) (time.Duration, error) { return 0, nil })
				})
			})
			e.send("q", "through")
			if f.requests != 3 {
				t.Errorf("requests = %d, want 3 (two failures retried)", f.requests)
			}
		})
	}
}

func TestThrottleAndServiceErrorShapes(t *testing.T) {
	svc := sqssim.New(sqssim.Config{Queues: []sqssim.Queue{{Name: "q"}}})
	tests := []struct {
		throttle   bool
		status     int
		code       string
		isThrottle aws.Ternary
	}{
		{true, 403, "RequestThrottled", aws.TrueTernary},
		{false, 500, "InternalFailure", aws.UnknownTernary},
	}
	for _, tt := range tests {
		t.Run(tt.code, func(t *testing.T) {
			f := &faulty{svc: svc, n: 1 << 30, throttle: tt.throttle}
			e := newEnvWith(t, svc, nil, f, func(o *sqs.Options) { o.RetryMaxAttempts = 1 })
			_, err := e.client.SendMessage(context.Background(), &sqs.SendMessageInput{QueueUrl: e.url("q"), MessageBody: aws.String("x")})
			if got := errorCode(t, err); got != tt.code {
				t.Errorf("code = %q, want %q", got, tt.code)
			}
			if got := (retry.IsErrorThrottles(retry.DefaultThrottles)).IsErrorThrottle(err); got != tt.isThrottle {
				t.Errorf("IsErrorThrottle = %v, want %v", got, tt.isThrottle)
			}
			var re interface{ HTTPStatusCode() int }
			if !errors.As(err, &re) || re.HTTPStatusCode() != tt.status {
				t.Errorf("HTTP status of %v, want %d", err, tt.status)
			}
			if tt.throttle {
				var rt *types.RequestThrottled
				if !errors.As(err, &rt) {
					t.Errorf("throttle error %T is not *types.RequestThrottled", err)
				}
			}
		})
	}
}

func TestConcurrentClientsAreRaceFree(t *testing.T) {
	e := newEnv(t, sqssim.Queue{Name: "q", VisibilityTimeout: 600}, sqssim.Queue{Name: "f.fifo", FIFO: true, ContentBasedDeduplication: true})
	ctx := context.Background()
	const senders, perSender = 8, 25
	var wg sync.WaitGroup
	for s := 0; s < senders; s++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := 0; i < perSender; i++ {
				body := strconv.Itoa(s) + "-" + strconv.Itoa(i)
				if _, err := e.client.SendMessage(ctx, &sqs.SendMessageInput{QueueUrl: e.url("q"), MessageBody: aws.String(body)}); err != nil {
					t.Error(err)
					return
				}
				if _, err := e.client.SendMessage(ctx, &sqs.SendMessageInput{QueueUrl: e.url("f.fifo"), MessageBody: aws.String(body),
					MessageGroupId: aws.String(strconv.Itoa(s))}); err != nil {
					t.Error(err)
					return
				}
			}
		}()
	}
	var mu sync.Mutex
	seen := map[string]int{}
	for r := 0; r < 8; r++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for {
				mu.Lock()
				done := len(seen) == senders*perSender
				mu.Unlock()
				if done {
					return
				}
				out, err := e.client.ReceiveMessage(ctx, &sqs.ReceiveMessageInput{QueueUrl: e.url("q"), MaxNumberOfMessages: 10})
				if err != nil {
					t.Error(err)
					return
				}
				for _, m := range out.Messages {
					mu.Lock()
					seen[aws.ToString(m.Body)]++
					mu.Unlock()
					if _, err := e.client.DeleteMessage(ctx, &sqs.DeleteMessageInput{QueueUrl: e.url("q"), ReceiptHandle: m.ReceiptHandle}); err != nil {
						t.Error(err)
					}
				}
				_, _ = e.svc.Counts("q")
				_, _ = e.svc.Messages("f.fifo")
			}
		}()
	}
	wg.Wait()
	for body, n := range seen {
		if n != 1 {
			t.Errorf("message %s received %d times", body, n)
		}
	}
	if got := e.counts("q"); got.Total() != 0 {
		t.Errorf("standard queue left %+v", got)
	}
	// Each FIFO group kept its send order.
	msgs, err := e.svc.Messages("f.fifo")
	if err != nil {
		t.Fatal(err)
	}
	next := map[string]int{}
	for _, m := range msgs {
		s, i, _ := strings.Cut(m.Body, "-")
		if want := strconv.Itoa(next[s]); i != want || m.GroupID != s {
			t.Errorf("group %s: got %s, want index %s", s, m.Body, want)
		}
		next[s]++
	}
}
