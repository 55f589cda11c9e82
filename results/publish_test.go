package results

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"maps"
	"net"
	"net/http"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	awshttp "github.com/aws/aws-sdk-go-v2/aws/transport/http"
	"github.com/aws/aws-sdk-go-v2/service/sqs"
	sqstypes "github.com/aws/aws-sdk-go-v2/service/sqs/types"
	"github.com/aws/smithy-go"
	smithyhttp "github.com/aws/smithy-go/transport/http"
	"github.com/google/go-cmp/cmp"
)

const (
	standardQueueURL = "https://sqs.us-east-1.amazonaws.com/123456789012/prewarm-results"
	fifoQueueURL     = "https://sqs.us-east-1.amazonaws.com/123456789012/prewarm-results.fifo"
)

// fakeSQS is a hand-written SendMessageBatchAPI. It checks every call against the SQS rules a
// real queue enforces, records it, and answers with respond (every entry successful when nil).
type fakeSQS struct {
	t       *testing.T
	fifo    bool
	respond func(call int, in *sqs.SendMessageBatchInput) (*sqs.SendMessageBatchOutput, error)

	mu    sync.Mutex
	calls []*sqs.SendMessageBatchInput
}

var _ SendMessageBatchAPI = (*fakeSQS)(nil)

var entryIDPattern = regexp.MustCompile(`^[A-Za-z0-9_-]{1,80}$`)

func (f *fakeSQS) SendMessageBatch(ctx context.Context, in *sqs.SendMessageBatchInput, _ ...func(*sqs.Options)) (*sqs.SendMessageBatchOutput, error) {
	f.t.Helper()
	f.mu.Lock()
	call := len(f.calls)
	f.calls = append(f.calls, in)
	f.mu.Unlock()

	if n := len(in.Entries); n == 0 || n > 10 {
		f.t.Errorf("call %d: %d entries, want 1 to 10", call, n)
	}
	if got := batchBytes(in); got > 1048576 {
		f.t.Errorf("call %d: %d bytes, over the SQS limit of 1048576", call, got)
	}
	ids := map[string]bool{}
	for _, e := range in.Entries {
		id := aws.ToString(e.Id)
		if !entryIDPattern.MatchString(id) || ids[id] {
			f.t.Errorf("call %d: entry id %q is invalid or repeated", call, id)
		}
		ids[id] = true
		for name, v := range e.MessageAttributes {
			if aws.ToString(v.StringValue) == "" || aws.ToString(v.DataType) != "String" {
				f.t.Errorf("call %d entry %s: attribute %s = %+v, SQS rejects it", call, id, name, v)
			}
		}
		if hasGroup := e.MessageGroupId != nil && e.MessageDeduplicationId != nil; hasGroup != f.fifo {
			f.t.Errorf("call %d entry %s: group %v dedup %v on a queue with FIFO=%v", call, id, e.MessageGroupId, e.MessageDeduplicationId, f.fifo)
		}
	}
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	if f.respond != nil {
		return f.respond(call, in)
	}
	return succeed(in, nil), nil
}

func (f *fakeSQS) callIDs() [][]string {
	f.mu.Lock()
	defer f.mu.Unlock()
	var got [][]string
	for _, in := range f.calls {
		var ids []string
		for _, e := range in.Entries {
			ids = append(ids, aws.ToString(e.Id))
		}
		got = append(got, ids)
	}
	return got
}

func batchBytes(in *sqs.SendMessageBatchInput) int {
	n := 0
	for _, e := range in.Entries {
		n += len(aws.ToString(e.MessageBody))
		for name, v := range e.MessageAttributes {
			n += len(name) + len(aws.ToString(v.DataType)) + len(aws.ToString(v.StringValue))
		}
	}
	return n
}

// succeed answers every entry of in as successful except those in failed.
func succeed(in *sqs.SendMessageBatchInput, failed map[string]sqstypes.BatchResultErrorEntry) *sqs.SendMessageBatchOutput {
	out := &sqs.SendMessageBatchOutput{}
	for _, e := range in.Entries {
		id := aws.ToString(e.Id)
		if f, ok := failed[id]; ok {
			f.Id = aws.String(id)
			out.Failed = append(out.Failed, f)
			continue
		}
		out.Successful = append(out.Successful, sqstypes.SendMessageBatchResultEntry{Id: aws.String(id), MessageId: aws.String("m-" + id)})
	}
	return out
}

// noSleep records the waits a Publisher asks for without waiting.
type noSleep struct {
	mu    sync.Mutex
	waits []time.Duration
}

func (s *noSleep) sleep(ctx context.Context, d time.Duration) error {
	s.mu.Lock()
	s.waits = append(s.waits, d)
	s.mu.Unlock()
	return ctx.Err()
}

func newTestPublisher(t *testing.T, queueURL string, respond func(int, *sqs.SendMessageBatchInput) (*sqs.SendMessageBatchOutput, error)) (*Publisher, *fakeSQS, *noSleep) {
	t.Helper()
	fake := &fakeSQS{t: t, fifo: strings.HasSuffix(queueURL, ".fifo"), respond: respond}
	sleeper := &noSleep{}
	p := NewPublisher(fake, queueURL, WithSleep(sleeper.sleep), WithClock(func() time.Time { return testTime }))
	return p, fake, sleeper
}

func testMessages(n int) []Message {
	msgs := make([]Message, n)
	for i := range msgs {
		msgs[i] = Message{
			SchemaVersion: SchemaVersion,
			ID:            fmt.Sprintf("intent-%d", i),
			Trigger:       TriggerSQS,
			FunctionName:  fmt.Sprintf("fn-%d", i),
			Qualifier:     "GREEN",
			Outcome:       OutcomeApplied,
			Response:      &Response{RequestedProvisionedConcurrentExecutions: int64(i + 1), Status: StatusInProgress},
			Time:          testTime,
		}
	}
	return msgs
}

// decodeBodies returns the messages carried by every call, in call order.
func decodeBodies(t *testing.T, calls []*sqs.SendMessageBatchInput) []Message {
	t.Helper()
	var got []Message
	for _, in := range calls {
		for _, e := range in.Entries {
			var m Message
			if err := json.Unmarshal([]byte(aws.ToString(e.MessageBody)), &m); err != nil {
				t.Fatalf("entry %s body: %v", aws.ToString(e.Id), err)
			}
			got = append(got, m)
		}
	}
	return got
}

func wantNoErrors(t *testing.T, errs []error, n int) {
	t.Helper()
	if len(errs) != n {
		t.Fatalf("Publish returned %d errors, want one per message (%d)", len(errs), n)
	}
	for i, err := range errs {
		if err != nil {
			t.Errorf("message %d: %v", i, err)
		}
	}
}

func TestPublishBatchesByTen(t *testing.T) {
	p, fake, _ := newTestPublisher(t, standardQueueURL, nil)
	msgs := testMessages(25)

	errs := p.Publish(context.Background(), msgs)

	wantNoErrors(t, errs, len(msgs))
	var want [][]string
	for start := 0; start < 25; start += 10 {
		var ids []string
		for i := start; i < min(start+10, 25); i++ {
			ids = append(ids, strconv.Itoa(i))
		}
		want = append(want, ids)
	}
	if diff := cmp.Diff(want, fake.callIDs()); diff != "" {
		t.Errorf("entry ids per call (-want +got):\n%s", diff)
	}
	if diff := cmp.Diff(msgs, decodeBodies(t, fake.calls)); diff != "" {
		t.Errorf("published bodies (-want +got):\n%s", diff)
	}
	for i, in := range fake.calls {
		if got := aws.ToString(in.QueueUrl); got != standardQueueURL {
			t.Errorf("call %d QueueUrl = %q, want %q", i, got, standardQueueURL)
		}
	}
}

func TestPublishNothing(t *testing.T) {
	p, fake, _ := newTestPublisher(t, standardQueueURL, nil)
	if errs := p.Publish(context.Background(), nil); len(errs) != 0 {
		t.Errorf("Publish(nil) = %v, want no errors", errs)
	}
	if len(fake.calls) != 0 {
		t.Errorf("Publish(nil) made %d calls, want 0", len(fake.calls))
	}
}

// bigMessage returns a message whose body is about kib KiB: many clamps, each at the field limit.
func bigMessage(i, kib int) Message {
	m := testMessages(i + 1)[i]
	clamp := strings.Repeat("c", maxFieldBytes)
	m.Derivation = &Derivation{Strategy: StrategyPolicy, Base: 1, Scale: 1, Value: 1}
	for range kib {
		m.Derivation.ClampedBy = append(m.Derivation.ClampedBy, clamp)
	}
	return m
}

func TestPublishBatchesBySize(t *testing.T) {
	p, fake, _ := newTestPublisher(t, standardQueueURL, nil)
	var msgs []Message
	for i := range 7 {
		msgs = append(msgs, bigMessage(i, 300)) // about 300 KiB: three fit in 1 MiB, four do not
	}

	errs := p.Publish(context.Background(), msgs)

	wantNoErrors(t, errs, len(msgs))
	want := [][]string{{"0", "1", "2"}, {"3", "4", "5"}, {"6"}}
	if diff := cmp.Diff(want, fake.callIDs()); diff != "" {
		t.Errorf("entry ids per call (-want +got):\n%s", diff)
	}
}

func TestPublishRejectsOversizedMessage(t *testing.T) {
	p, fake, _ := newTestPublisher(t, standardQueueURL, nil)
	msgs := []Message{testMessages(1)[0], bigMessage(1, 1100), testMessages(3)[2]}

	errs := p.Publish(context.Background(), msgs)

	if errs[0] != nil || errs[2] != nil {
		t.Errorf("Publish errors = %v, want the well-sized messages published", errs)
	}
	var perr *PublishError
	if !errors.As(errs[1], &perr) || !perr.Permanent || perr.Attempts != 0 || perr.ID != "intent-1" {
		t.Errorf("oversized message error = %#v, want a permanent *PublishError for intent-1 with no attempt", errs[1])
	}
	if diff := cmp.Diff([][]string{{"0", "2"}}, fake.callIDs()); diff != "" {
		t.Errorf("entry ids per call (-want +got):\n%s", diff)
	}
}

func TestPublishRejectsUnencodableMessage(t *testing.T) {
	p, fake, _ := newTestPublisher(t, standardQueueURL, nil)
	msgs := testMessages(2)
	msgs[0].Derivation = &Derivation{Strategy: StrategyExplicit, Scale: mathNaN()}

	errs := p.Publish(context.Background(), msgs)

	var perr *PublishError
	if !errors.As(errs[0], &perr) || !perr.Permanent {
		t.Errorf("message 0 error = %v, want a permanent *PublishError", errs[0])
	}
	if errs[1] != nil {
		t.Errorf("message 1: %v", errs[1])
	}
	if diff := cmp.Diff([][]string{{"1"}}, fake.callIDs()); diff != "" {
		t.Errorf("entry ids per call (-want +got):\n%s", diff)
	}
}

func mathNaN() float64 {
	zero := 0.0
	return zero / zero
}

func TestPublishRetriesFailedEntries(t *testing.T) {
	internal := sqstypes.BatchResultErrorEntry{Code: aws.String("InternalError"), Message: aws.String("We encountered an internal error."), SenderFault: false}
	respond := func(call int, in *sqs.SendMessageBatchInput) (*sqs.SendMessageBatchOutput, error) {
		if call == 0 {
			return succeed(in, map[string]sqstypes.BatchResultErrorEntry{"1": internal, "3": internal}), nil
		}
		return succeed(in, nil), nil
	}
	p, fake, sleeper := newTestPublisher(t, standardQueueURL, respond)
	msgs := testMessages(5)

	errs := p.Publish(context.Background(), msgs)

	wantNoErrors(t, errs, len(msgs))
	if diff := cmp.Diff([][]string{{"0", "1", "2", "3", "4"}, {"1", "3"}}, fake.callIDs()); diff != "" {
		t.Errorf("entry ids per call (-want +got):\n%s", diff)
	}
	if got := len(sleeper.waits); got != 1 {
		t.Errorf("waited %d times, want 1", got)
	}
}

func TestPublishReportsEntriesThatKeepFailing(t *testing.T) {
	internal := sqstypes.BatchResultErrorEntry{Code: aws.String("InternalError"), Message: aws.String("We encountered an internal error."), SenderFault: false}
	respond := func(_ int, in *sqs.SendMessageBatchInput) (*sqs.SendMessageBatchOutput, error) {
		return succeed(in, map[string]sqstypes.BatchResultErrorEntry{"2": internal}), nil
	}
	p, fake, sleeper := newTestPublisher(t, standardQueueURL, respond)
	msgs := testMessages(3)

	errs := p.Publish(context.Background(), msgs)

	if errs[0] != nil || errs[1] != nil {
		t.Errorf("Publish errors = %v, want messages 0 and 1 published", errs)
	}
	var perr *PublishError
	if !errors.As(errs[2], &perr) {
		t.Fatalf("message 2 error = %v, want a *PublishError", errs[2])
	}
	want := PublishError{QueueURL: standardQueueURL, ID: "intent-2", FunctionName: "fn-2", Qualifier: "GREEN", Outcome: OutcomeApplied, Attempts: defaultMaxAttempts, Code: "InternalError"}
	got := *perr
	got.Err = nil
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("PublishError (-want +got):\n%s", diff)
	}
	for _, part := range []string{"fn-2:GREEN", "intent-2", "InternalError", "attempts=3"} {
		if !strings.Contains(errs[2].Error(), part) {
			t.Errorf("error %q does not name %q", errs[2], part)
		}
	}
	if got, want := len(fake.calls), defaultMaxAttempts; got != want {
		t.Errorf("%d calls, want %d", got, want)
	}
	if got, want := len(sleeper.waits), defaultMaxAttempts-1; got != want {
		t.Errorf("waited %d times, want %d", got, want)
	}
}

func TestPublishDoesNotRetrySenderFault(t *testing.T) {
	invalid := sqstypes.BatchResultErrorEntry{Code: aws.String("InvalidParameterValue"), Message: aws.String("Invalid binary character"), SenderFault: true}
	respond := func(_ int, in *sqs.SendMessageBatchInput) (*sqs.SendMessageBatchOutput, error) {
		return succeed(in, map[string]sqstypes.BatchResultErrorEntry{"1": invalid}), nil
	}
	p, fake, sleeper := newTestPublisher(t, standardQueueURL, respond)

	errs := p.Publish(context.Background(), testMessages(2))

	if errs[0] != nil {
		t.Errorf("message 0: %v", errs[0])
	}
	var perr *PublishError
	if !errors.As(errs[1], &perr) || !perr.Permanent || perr.Code != "InvalidParameterValue" || perr.Attempts != 1 {
		t.Errorf("message 1 error = %#v, want a permanent InvalidParameterValue after 1 attempt", errs[1])
	}
	if len(fake.calls) != 1 || len(sleeper.waits) != 0 {
		t.Errorf("%d calls and %d waits, want 1 call and no wait", len(fake.calls), len(sleeper.waits))
	}
}

func TestPublishRetriesEntriesTheResponseOmits(t *testing.T) {
	respond := func(call int, in *sqs.SendMessageBatchInput) (*sqs.SendMessageBatchOutput, error) {
		out := succeed(in, nil)
		if call == 0 {
			out.Successful = out.Successful[1:] // entry 0 neither succeeded nor failed
		}
		return out, nil
	}
	p, fake, _ := newTestPublisher(t, standardQueueURL, respond)

	errs := p.Publish(context.Background(), testMessages(2))

	wantNoErrors(t, errs, 2)
	if diff := cmp.Diff([][]string{{"0", "1"}, {"0"}}, fake.callIDs()); diff != "" {
		t.Errorf("entry ids per call (-want +got):\n%s", diff)
	}
}

func throttled() error {
	return &smithy.OperationError{ServiceID: "SQS", OperationName: "SendMessageBatch", Err: &awshttp.ResponseError{
		ResponseError: &smithyhttp.ResponseError{
			Response: &smithyhttp.Response{Response: &http.Response{StatusCode: http.StatusForbidden}},
			Err:      &sqstypes.RequestThrottled{Message: aws.String("Request is throttled.")},
		},
	}}
}

func queueMissing() error {
	return &smithy.OperationError{ServiceID: "SQS", OperationName: "SendMessageBatch", Err: &awshttp.ResponseError{
		ResponseError: &smithyhttp.ResponseError{
			Response: &smithyhttp.Response{Response: &http.Response{StatusCode: http.StatusBadRequest}},
			Err: &sqstypes.QueueDoesNotExist{Message: aws.String("The specified queue does not exist."),
				ErrorCodeOverride: aws.String("AWS.SimpleQueueService.NonExistentQueue")},
		},
	}}
}

func TestPublishRetriesThrottledCall(t *testing.T) {
	respond := func(call int, in *sqs.SendMessageBatchInput) (*sqs.SendMessageBatchOutput, error) {
		if call < 2 {
			return nil, throttled()
		}
		return succeed(in, nil), nil
	}
	p, fake, sleeper := newTestPublisher(t, standardQueueURL, respond)

	errs := p.Publish(context.Background(), testMessages(3))

	wantNoErrors(t, errs, 3)
	if got := len(fake.calls); got != 3 {
		t.Errorf("%d calls, want 3", got)
	}
	if got := len(sleeper.waits); got != 2 {
		t.Fatalf("waited %d times, want 2", got)
	}
	for i, d := range sleeper.waits {
		if ceiling := baseBackoff << i; d < ceiling/2 || d > ceiling {
			t.Errorf("wait %d = %s, want between %s and %s", i, d, ceiling/2, ceiling)
		}
	}
}

func TestPublishDoesNotRetryPermanentCallError(t *testing.T) {
	respond := func(int, *sqs.SendMessageBatchInput) (*sqs.SendMessageBatchOutput, error) {
		return nil, queueMissing()
	}
	p, fake, _ := newTestPublisher(t, standardQueueURL, respond)

	errs := p.Publish(context.Background(), testMessages(2))

	for i, err := range errs {
		var perr *PublishError
		var missing *sqstypes.QueueDoesNotExist
		if !errors.As(err, &perr) || !perr.Permanent || perr.Code != "AWS.SimpleQueueService.NonExistentQueue" || !errors.As(err, &missing) {
			t.Errorf("message %d error = %v, want a permanent *PublishError wrapping QueueDoesNotExist", i, err)
		}
	}
	if got := len(fake.calls); got != 1 {
		t.Errorf("%d calls, want 1", got)
	}
}

func TestPublishStopsWhenContextIsCancelled(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	fake := &fakeSQS{t: t, respond: func(int, *sqs.SendMessageBatchInput) (*sqs.SendMessageBatchOutput, error) {
		return nil, throttled()
	}}
	sleeps := 0
	p := NewPublisher(fake, standardQueueURL, WithSleep(func(ctx context.Context, _ time.Duration) error {
		sleeps++
		cancel() // the invocation ends while the publisher waits
		return ctx.Err()
	}))

	errs := p.Publish(ctx, testMessages(2))

	for i, err := range errs {
		var perr *PublishError
		var throttle *sqstypes.RequestThrottled
		if !errors.Is(err, context.Canceled) || !errors.As(err, &throttle) || !errors.As(err, &perr) || perr.Permanent {
			t.Errorf("message %d error = %v, want a transient *PublishError wrapping the throttle and context.Canceled", i, err)
		}
	}
	if len(fake.calls) != 1 || sleeps != 1 {
		t.Errorf("%d calls and %d sleeps, want 1 and 1", len(fake.calls), sleeps)
	}
}

func TestPublishDoesNotWaitPastTheDeadline(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	fake := &fakeSQS{t: t, respond: func(int, *sqs.SendMessageBatchInput) (*sqs.SendMessageBatchOutput, error) {
		return nil, throttled()
	}}
	sleeper := &noSleep{}
	p := NewPublisher(fake, standardQueueURL, WithSleep(sleeper.sleep),
		WithBackoff(func(int) time.Duration { return time.Hour }))

	errs := p.Publish(ctx, testMessages(1))

	var throttle *sqstypes.RequestThrottled
	if !errors.As(errs[0], &throttle) || !strings.Contains(errs[0].Error(), "deadline") {
		t.Errorf("error = %v, want the throttle, giving up before the deadline", errs[0])
	}
	if len(fake.calls) != 1 || len(sleeper.waits) != 0 {
		t.Errorf("%d calls and %d waits, want 1 call and no wait", len(fake.calls), len(sleeper.waits))
	}
}

func TestPublishWithDoneContextMakesNoCall(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	p, fake, _ := newTestPublisher(t, standardQueueURL, nil)

	errs := p.Publish(ctx, testMessages(12))

	for i, err := range errs {
		if !errors.Is(err, context.Canceled) {
			t.Errorf("message %d error = %v, want context.Canceled", i, err)
		}
	}
	if len(fake.calls) != 0 {
		t.Errorf("%d calls, want 0", len(fake.calls))
	}
}

func TestPublishStampsTime(t *testing.T) {
	p, fake, _ := newTestPublisher(t, standardQueueURL, nil)
	m := testMessages(1)[0]
	m.Time = time.Time{}

	wantNoErrors(t, p.Publish(context.Background(), []Message{m}), 1)

	if got := decodeBodies(t, fake.calls)[0].Time; !got.Equal(testTime) {
		t.Errorf("published time = %s, want the clock's %s", got, testTime)
	}
}

func TestPublishAttributes(t *testing.T) {
	tests := []struct {
		name string
		msg  Message
		want map[string]string
	}{
		{
			name: "status from the response",
			msg: Message{ID: "a", FunctionName: "my-function", Qualifier: "GREEN", Outcome: OutcomeReady,
				Previous: &Previous{Status: StatusInProgress}, Response: &Response{Status: StatusReady}},
			want: map[string]string{"outcome": "READY", "status": "READY", "functionName": "my-function", "qualifier": "GREEN"},
		},
		{
			name: "status from the previous configuration",
			msg:  Message{ID: "a", FunctionName: "my-function", Qualifier: "BLUE", Outcome: OutcomeReleased, Previous: &Previous{Status: StatusReady}},
			want: map[string]string{"outcome": "RELEASED", "status": "READY", "functionName": "my-function", "qualifier": "BLUE"},
		},
		{
			name: "empty values are left out",
			msg:  Message{ID: "a", Outcome: OutcomeRejected},
			want: map[string]string{"outcome": "REJECTED"},
		},
		{
			name: "text SQS rejects is replaced",
			msg:  Message{ID: "a", FunctionName: "bad\x00name\xff", Outcome: OutcomeRejected},
			want: map[string]string{"outcome": "REJECTED", "functionName": "bad\uFFFDname\uFFFD"},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			p, fake, _ := newTestPublisher(t, standardQueueURL, nil)

			wantNoErrors(t, p.Publish(context.Background(), []Message{tt.msg}), 1)

			got := map[string]string{}
			for name, v := range fake.calls[0].Entries[0].MessageAttributes {
				got[name] = aws.ToString(v.StringValue)
			}
			if diff := cmp.Diff(tt.want, got); diff != "" {
				t.Errorf("attributes (-want +got):\n%s", diff)
			}
		})
	}
}

func TestPublishFIFO(t *testing.T) {
	p, fake, _ := newTestPublisher(t, fifoQueueURL, nil)
	if !p.FIFO() {
		t.Fatalf("NewPublisher(%q).FIFO() = false, want true", fifoQueueURL)
	}
	msgs := testMessages(2)
	msgs = append(msgs, Message{ID: "bad", Outcome: OutcomeRejected, Reason: "unreadable intent"})

	wantNoErrors(t, p.Publish(context.Background(), msgs), len(msgs))

	var got [][2]string
	for _, e := range fake.calls[0].Entries {
		got = append(got, [2]string{aws.ToString(e.MessageGroupId), aws.ToString(e.MessageDeduplicationId)})
	}
	want := [][2]string{
		{"fn-0:GREEN", DeduplicationID(msgs[0])},
		{"fn-1:GREEN", DeduplicationID(msgs[1])},
		{DefaultGroupID, DeduplicationID(msgs[2])},
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("group and deduplication ids (-want +got):\n%s", diff)
	}
}

func TestIsFIFO(t *testing.T) {
	tests := []struct {
		url  string
		want bool
	}{
		{fifoQueueURL, true},
		{standardQueueURL, false},
		{"http://127.0.0.1:4566/000000000000/prewarm-results.fifo/", true},
		{"http://localhost:4566/000000000000/fifo-results", false},
		{"http://localhost:4566/000000000000/prewarm.fifo?x=1", true},
		{"prewarm-results.fifo", true},
	}
	for _, tt := range tests {
		if got := NewPublisher(nil, tt.url).FIFO(); got != tt.want {
			t.Errorf("NewPublisher(%q).FIFO() = %v, want %v", tt.url, got, tt.want)
		}
	}
}

func TestDeduplicationID(t *testing.T) {
	ready := Message{ID: "e-1", FunctionName: "my-function", Qualifier: "GREEN", Outcome: OutcomeReady,
		Response: &Response{Status: StatusReady}, Time: testTime}
	redelivered := ready
	redelivered.Time = testTime.Add(time.Minute)
	redelivered.Response = &Response{Status: StatusReady, AvailableProvisionedConcurrentExecutions: 40}
	applied := ready
	applied.Outcome, applied.Response = OutcomeApplied, &Response{Status: StatusInProgress}
	otherStatus := ready
	otherStatus.Response = &Response{Status: StatusFailed}
	otherQualifier := ready
	otherQualifier.Qualifier = "BLUE"
	otherFunction := ready
	otherFunction.FunctionName = "other-function"
	otherID := ready
	otherID.ID = "e-2"
	// Without separation "ab"+"c" and "a"+"bc" would collide.
	shifted := Message{ID: "e-1m", FunctionName: "y-function", Qualifier: "GREEN", Outcome: OutcomeReady, Response: &Response{Status: StatusReady}}

	id := DeduplicationID(ready)
	if !regexp.MustCompile(`^[0-9a-f]{64}$`).MatchString(id) {
		t.Errorf("DeduplicationID = %q, want 64 hex digits", id)
	}
	if got := DeduplicationID(redelivered); got != id {
		t.Errorf("a redelivered result has deduplication id %s, want the same %s", got, id)
	}
	for name, m := range map[string]Message{
		"different outcome": applied, "different qualifier": otherQualifier,
		"different function": otherFunction, "different id": otherID, "shifted boundaries": shifted,
	} {
		if DeduplicationID(m) == id {
			t.Errorf("%s: deduplication id equals the original's", name)
		}
	}
	// An intent ends once: another ending of the same intent and target (FAILED after a
	// READY, a SUPERSEDED on redelivery, an APPLIED that ends a wait:false intent) shares it.
	superseded := ready
	superseded.Outcome, superseded.Response = OutcomeSuperseded, nil
	appliedEnd := applied
	appliedEnd.EndsIntent = true
	for name, m := range map[string]Message{"FAILED": otherStatus, "SUPERSEDED": superseded, "APPLIED ending the intent": appliedEnd} {
		if DeduplicationID(m) != id {
			t.Errorf("%s: deduplication id differs from the READY's: the intent would end twice", name)
		}
	}
}

// TestDeduplicationIDOfADecision: a dry run or a rejection redelivered once
// the target's status moved on restates the same decision.
func TestDeduplicationIDOfADecision(t *testing.T) {
	for _, outcome := range []Outcome{OutcomeDryRun, OutcomeRejected} {
		first := Message{ID: "e-1", FunctionName: "my-function", Qualifier: "GREEN", Outcome: outcome,
			Previous: &Previous{RequestedProvisionedConcurrentExecutions: 5, Status: StatusInProgress}}
		again := first
		again.Previous = &Previous{RequestedProvisionedConcurrentExecutions: 5, Status: StatusReady}
		if DeduplicationID(first) != DeduplicationID(again) {
			t.Errorf("%s: a redelivery seeing another status has another deduplication id", outcome)
		}
	}
}

func TestGroupID(t *testing.T) {
	long := strings.Repeat("f", 64)
	arn := "arn:aws:lambda:us-east-1:123456789012:function:" + long
	tests := []struct {
		name string
		msg  Message
		want string
	}{
		{"name and alias", Message{FunctionName: "my-function", Qualifier: "GREEN"}, "my-function:GREEN"},
		{"version", Message{FunctionName: "my-function", Qualifier: "2"}, "my-function:2"},
		{"no qualifier", Message{FunctionName: "my-function"}, "my-function"},
		{"no function", Message{Qualifier: "GREEN"}, DefaultGroupID},
		{"characters SQS refuses", Message{FunctionName: "my function\tü", Qualifier: "GREEN"}, "my_function___:GREEN"},
		{"short ARN", Message{FunctionName: "arn:aws:lambda:us-east-1:123456789012:function:f", Qualifier: "GREEN"},
			"arn:aws:lambda:us-east-1:123456789012:function:f:GREEN"},
	}
	for _, tt := range tests {
		if got := GroupID(tt.msg); got != tt.want {
			t.Errorf("%s: GroupID = %q, want %q", tt.name, got, tt.want)
		}
	}

	a := GroupID(Message{FunctionName: arn, Qualifier: strings.Repeat("A", 100)})
	b := GroupID(Message{FunctionName: arn, Qualifier: strings.Repeat("A", 99) + "B"})
	for _, g := range []string{a, b} {
		if len(g) > maxGroupIDLen || !strings.HasPrefix(g, "arn:aws:lambda:us-east-1:") {
			t.Errorf("GroupID = %q (%d chars), want at most %d chars keeping the ARN prefix", g, len(g), maxGroupIDLen)
		}
	}
	if a == b {
		t.Errorf("two long targets share group id %q", a)
	}
}

func TestTransient(t *testing.T) {
	generic := func(code string, fault smithy.ErrorFault, status int) error {
		return &smithy.OperationError{ServiceID: "SQS", OperationName: "SendMessageBatch", Err: &awshttp.ResponseError{
			ResponseError: &smithyhttp.ResponseError{
				Response: &smithyhttp.Response{Response: &http.Response{StatusCode: status}},
				Err:      &smithy.GenericAPIError{Code: code, Message: "m", Fault: fault},
			},
		}}
	}
	httpOnly := func(status int) error {
		return &smithy.OperationError{ServiceID: "SQS", OperationName: "SendMessageBatch", Err: &smithyhttp.ResponseError{
			Response: &smithyhttp.Response{Response: &http.Response{StatusCode: status}},
			Err:      errors.New("failed to decode response body"),
		}}
	}
	tests := []struct {
		name string
		err  error
		want bool
	}{
		{"RequestThrottled", throttled(), true},
		{"KMS throttling", &sqstypes.KmsThrottled{Message: aws.String("throttled")}, true},
		{"unmodelled ThrottlingException", generic("ThrottlingException", smithy.FaultClient, 400), true},
		{"RequestTimeout", generic("RequestTimeout", smithy.FaultClient, 408), true},
		{"InternalError", generic("InternalError", smithy.FaultServer, 500), true},
		{"503 without a code", httpOnly(503), true},
		{"429 without a code", httpOnly(429), true},
		{"connection reset", &smithyhttp.RequestSendError{Err: &net.OpError{Op: "read", Net: "tcp", Err: errors.New("connection reset by peer")}}, true},
		{"network timeout", &net.OpError{Op: "dial", Net: "tcp", Err: timeoutError{}}, true},
		{"per-attempt timeout", fmt.Errorf("send: %w", context.DeadlineExceeded), true},
		{"queue does not exist", queueMissing(), false},
		{"access denied", generic("AccessDenied", smithy.FaultClient, 403), false},
		{"invalid parameter", generic("InvalidParameterValue", smithy.FaultClient, 400), false},
		{"400 without a code", httpOnly(400), false},
		{"unknown host", &smithyhttp.RequestSendError{Err: &net.DNSError{Err: "no such host", Name: "sqs.invalid", IsNotFound: true}}, false},
		{"cancelled", fmt.Errorf("send: %w", context.Canceled), false},
		{"plain error", errors.New("something"), false},
		{"nil", nil, false},
	}
	for _, tt := range tests {
		if got := transient(tt.err); got != tt.want {
			t.Errorf("%s: transient(%v) = %v, want %v", tt.name, tt.err, got, tt.want)
		}
	}
}

type timeoutError struct{}

func (timeoutError) Error() string   { return "i/o timeout" }
func (timeoutError) Timeout() bool   { return true }
func (timeoutError) Temporary() bool { return true }

func TestJitteredBackoff(t *testing.T) {
	for attempt := 1; attempt <= 40; attempt++ {
		ceiling := min(baseBackoff<<min(attempt-1, 20), maxBackoff)
		for range 20 {
			if d := jitteredBackoff(attempt); d < ceiling/2 || d > ceiling {
				t.Fatalf("jitteredBackoff(%d) = %s, want between %s and %s", attempt, d, ceiling/2, ceiling)
			}
		}
	}
	seen := map[time.Duration]bool{}
	for range 20 {
		seen[jitteredBackoff(3)] = true
	}
	if len(seen) < 2 {
		t.Errorf("jitteredBackoff(3) returned %v every time, want jitter", slices.Collect(maps.Keys(seen)))
	}
}
