package esm_test

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"runtime"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	awsevents "github.com/aws/aws-lambda-go/events"
	"github.com/aws/aws-lambda-go/lambda"
	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/aws-sdk-go-v2/service/sqs"
	"github.com/aws/aws-sdk-go-v2/service/sqs/types"
	"github.com/google/go-cmp/cmp"

	"github.com/prewarm/prewarm/localaws/clock"
	"github.com/prewarm/prewarm/localaws/esm"
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

func newEnv(t *testing.T, queues ...sqssim.Queue) *env {
	t.Helper()
	clk := clock.NewFake(epoch)
	svc := sqssim.New(sqssim.Config{AccountID: "123456789012", Region: "eu-west-1", Queues: queues, Clock: clk})
	srv := httptest.NewServer(svc)
	t.Cleanup(srv.Close)
	client := sqs.NewFromConfig(aws.Config{
		Region:      "eu-west-1",
		Credentials: credentials.NewStaticCredentialsProvider("AKIDEXAMPLE", "secret", ""),
		HTTPClient:  srv.Client(),
	}, func(o *sqs.Options) { o.BaseEndpoint = aws.String(srv.URL) })
	return &env{t: t, svc: svc, clk: clk, srv: srv, client: client}
}

func (e *env) url(name string) string {
	return e.svc.QueueURL(strings.TrimPrefix(e.srv.URL, "http://"), name)
}

func (e *env) send(name, body string, mut ...func(*sqs.SendMessageInput)) {
	e.t.Helper()
	in := &sqs.SendMessageInput{QueueUrl: aws.String(e.url(name)), MessageBody: aws.String(body)}
	for _, m := range mut {
		m(in)
	}
	if _, err := e.client.SendMessage(context.Background(), in); err != nil {
		e.t.Fatalf("SendMessage(%s): %v", body, err)
	}
}

func (e *env) mapping(queue string, inv esm.Invoker, mut ...func(*esm.Config)) *esm.Mapping {
	e.t.Helper()
	cfg := esm.Config{Client: e.client, QueueURL: e.url(queue), Invoker: inv, WaitTimeSeconds: -1, Clock: e.clk}
	for _, m := range mut {
		m(&cfg)
	}
	m, err := esm.New(cfg)
	if err != nil {
		e.t.Fatal(err)
	}
	return m
}

func (e *env) poll(m *esm.Mapping) esm.Stats {
	e.t.Helper()
	st, err := m.Poll(context.Background())
	if err != nil {
		e.t.Fatalf("Poll: %v", err)
	}
	return st
}

func (e *env) counts(name string) sqssim.Counts {
	e.t.Helper()
	c, err := e.svc.Counts(name)
	if err != nil {
		e.t.Fatal(err)
	}
	return c
}

// handler is an in-process SQS function that fails the bodies in fail and
// records every body it was given, through aws-lambda-go's real decoding.
type handler struct {
	mu   sync.Mutex
	seen []string
	fail func(body string) bool
}

func (h *handler) invoker() esm.Invoker {
	return esm.HandlerInvoker(lambda.NewHandler(func(_ context.Context, ev awsevents.SQSEvent) (awsevents.SQSEventResponse, error) {
		var resp awsevents.SQSEventResponse
		h.mu.Lock()
		defer h.mu.Unlock()
		for _, r := range ev.Records {
			h.seen = append(h.seen, r.Body)
			if h.fail != nil && h.fail(r.Body) {
				resp.BatchItemFailures = append(resp.BatchItemFailures, awsevents.SQSBatchItemFailure{ItemIdentifier: r.MessageId})
			}
		}
		return resp, nil
	}))
}

func (h *handler) bodies() []string {
	h.mu.Lock()
	defer h.mu.Unlock()
	return slices.Clone(h.seen)
}

func TestEventIsBuiltLikeLambda(t *testing.T) {
	e := newEnv(t, sqssim.Queue{Name: "in.fifo", FIFO: true})
	e.send("in.fifo", `{"n":1}`, func(in *sqs.SendMessageInput) {
		in.MessageGroupId = aws.String("g")
		in.MessageDeduplicationId = aws.String("d1")
		in.MessageAttributes = map[string]types.MessageAttributeValue{
			"kind": {DataType: aws.String("String"), StringValue: aws.String("switch")},
		}
	})
	var payload []byte
	m := e.mapping("in.fifo", esm.FuncInvoker(func(_ context.Context, p []byte) ([]byte, error) {
		payload = p
		return nil, nil
	}))
	if st := e.poll(m); st != (esm.Stats{Batches: 1, Received: 1, Deleted: 1}) {
		t.Errorf("stats = %+v", st)
	}
	var raw struct {
		Records []map[string]json.RawMessage `json:"Records"`
	}
	if err := json.Unmarshal(payload, &raw); err != nil || len(raw.Records) != 1 {
		t.Fatalf("payload %s: %v", payload, err)
	}
	var keys []string
	for k := range raw.Records[0] {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	want := []string{"attributes", "awsRegion", "body", "eventSource", "eventSourceARN", "md5OfBody", "md5OfMessageAttributes", "messageAttributes", "messageId", "receiptHandle"}
	if diff := cmp.Diff(want, keys); diff != "" {
		t.Errorf("record keys (-want +got):\n%s", diff)
	}

	var ev awsevents.SQSEvent
	if err := json.Unmarshal(payload, &ev); err != nil {
		t.Fatal(err)
	}
	r := ev.Records[0]
	if got, want := []string{r.EventSource, r.EventSourceARN, r.AWSRegion, r.Body, r.Md5OfBody},
		[]string{"aws:sqs", "arn:aws:sqs:eu-west-1:123456789012:in.fifo", "eu-west-1", `{"n":1}`, "082c26c8a6bc75226a31da5495cc9292"}; !cmp.Equal(got, want) {
		t.Errorf("record fields = %q, want %q", got, want)
	}
	var attrKeys []string
	for k := range r.Attributes {
		attrKeys = append(attrKeys, k)
	}
	slices.Sort(attrKeys)
	wantAttrs := []string{"ApproximateFirstReceiveTimestamp", "ApproximateReceiveCount", "MessageDeduplicationId", "MessageGroupId", "SenderId", "SentTimestamp", "SequenceNumber"}
	if diff := cmp.Diff(wantAttrs, attrKeys); diff != "" {
		t.Errorf("attributes (-want +got):\n%s", diff)
	}
	if r.Attributes["MessageGroupId"] != "g" || r.Attributes["MessageDeduplicationId"] != "d1" || r.Attributes["ApproximateReceiveCount"] != "1" {
		t.Errorf("attributes = %v", r.Attributes)
	}
	wantAttr := awsevents.SQSMessageAttribute{StringValue: aws.String("switch"), StringListValues: []string{}, BinaryListValues: [][]byte{}, DataType: "String"}
	if diff := cmp.Diff(wantAttr, r.MessageAttributes["kind"]); diff != "" {
		t.Errorf("message attribute (-want +got):\n%s", diff)
	}
	if r.Md5OfMessageAttributes == "" {
		t.Error("md5OfMessageAttributes missing")
	}
}

func TestReportedFailuresReappearAndTheRestAreDeleted(t *testing.T) {
	e := newEnv(t, sqssim.Queue{Name: "q"})
	for _, b := range []string{"1", "2", "3", "4", "5"} {
		e.send("q", b)
	}
	failing := map[string]bool{"2": true, "4": true}
	h := &handler{fail: func(b string) bool { return failing[b] }}
	var batches []esm.Batch
	m := e.mapping("q", h.invoker(), func(c *esm.Config) { c.OnBatch = func(b esm.Batch) { batches = append(batches, b) } })

	if got, want := e.poll(m), (esm.Stats{Batches: 1, Received: 5, Deleted: 3, Failed: 2}); got != want {
		t.Errorf("first poll = %+v, want %+v", got, want)
	}
	if got, want := e.counts("q"), (sqssim.Counts{InFlight: 2}); got != want {
		t.Errorf("counts = %+v, want %+v", got, want)
	}
	if got := e.poll(m); got.Received != 0 {
		t.Errorf("failed items reappeared before the visibility timeout: %+v", got)
	}
	e.clk.Advance(30 * time.Second)
	failing = map[string]bool{}
	if got, want := e.poll(m), (esm.Stats{Batches: 1, Received: 2, Deleted: 2}); got != want {
		t.Errorf("retry poll = %+v, want %+v", got, want)
	}
	if diff := cmp.Diff([]string{"1", "2", "3", "4", "5", "2", "4"}, h.bodies()); diff != "" {
		t.Errorf("invocations (-want +got):\n%s", diff)
	}
	if got := e.counts("q"); got.Total() != 0 {
		t.Errorf("queue left %+v", got)
	}
	if len(batches) != 2 || len(batches[0].Failed) != 2 || batches[0].Err != nil {
		t.Errorf("OnBatch reports = %+v", batches)
	}
	if got, want := m.Stats(), (esm.Stats{Batches: 2, Received: 7, Deleted: 5, Failed: 2}); got != want {
		t.Errorf("cumulative stats = %+v, want %+v", got, want)
	}
}

func TestResponsesThatFailTheWholeBatch(t *testing.T) {
	tests := []struct {
		name     string
		response func(ids []string) ([]byte, error)
		whole    bool // the whole batch fails
	}{
		{"unknown itemIdentifier", func([]string) ([]byte, error) {
			return []byte(`{"batchItemFailures":[{"itemIdentifier":"not-in-batch"}]}`), nil
		}, true},
		{"empty itemIdentifier", func([]string) ([]byte, error) {
			return []byte(`{"batchItemFailures":[{"itemIdentifier":""}]}`), nil
		}, true},
		{"missing itemIdentifier", func([]string) ([]byte, error) {
			return []byte(`{"batchItemFailures":[{"id":"x"}]}`), nil
		}, true},
		{"one valid one invalid", func(ids []string) ([]byte, error) {
			return []byte(fmt.Sprintf(`{"batchItemFailures":[{"itemIdentifier":%q},{"itemIdentifier":"nope"}]}`, ids[0])), nil
		}, true},
		{"unparsable", func([]string) ([]byte, error) { return []byte(`{"batchItemFailures":[`), nil }, true},
		{"not an object", func([]string) ([]byte, error) { return []byte(`"done"`), nil }, true},
		{"invocation error", func([]string) ([]byte, error) { return nil, errors.New("boom") }, true},
		{"empty response", func([]string) ([]byte, error) { return nil, nil }, false},
		{"null", func([]string) ([]byte, error) { return []byte(`null`), nil }, false},
		{"empty object", func([]string) ([]byte, error) { return []byte(`{}`), nil }, false},
		{"empty list", func([]string) ([]byte, error) { return []byte(`{"batchItemFailures":[]}`), nil }, false},
		{"null list", func([]string) ([]byte, error) { return []byte(`{"batchItemFailures":null}`), nil }, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			e := newEnv(t, sqssim.Queue{Name: "q"})
			for i := range 3 {
				e.send("q", fmt.Sprint(i))
			}
			var batch esm.Batch
			m := e.mapping("q", esm.FuncInvoker(func(_ context.Context, p []byte) ([]byte, error) {
				var ev awsevents.SQSEvent
				if err := json.Unmarshal(p, &ev); err != nil {
					t.Fatal(err)
				}
				var ids []string
				for _, r := range ev.Records {
					ids = append(ids, r.MessageId)
				}
				return tt.response(ids)
			}), func(c *esm.Config) { c.OnBatch = func(b esm.Batch) { batch = b } })
			st := e.poll(m)
			want := esm.Stats{Batches: 1, Received: 3, Deleted: 3}
			wantCounts := sqssim.Counts{}
			if tt.whole {
				want = esm.Stats{Batches: 1, Received: 3, Failed: 3, BatchErrors: 1}
				wantCounts = sqssim.Counts{InFlight: 3}
			}
			if st != want {
				t.Errorf("stats = %+v, want %+v", st, want)
			}
			if got := e.counts("q"); got != wantCounts {
				t.Errorf("counts = %+v, want %+v", got, wantCounts)
			}
			if (batch.Err != nil) != tt.whole {
				t.Errorf("batch error = %v, want error=%v", batch.Err, tt.whole)
			}
		})
	}
}

func TestIgnoreBatchItemFailuresDeletesEverything(t *testing.T) {
	e := newEnv(t, sqssim.Queue{Name: "q"})
	e.send("q", "a")
	h := &handler{fail: func(string) bool { return true }}
	m := e.mapping("q", h.invoker(), func(c *esm.Config) { c.IgnoreBatchItemFailures = true })
	if got, want := e.poll(m), (esm.Stats{Batches: 1, Received: 1, Deleted: 1}); got != want {
		t.Errorf("stats = %+v, want %+v", got, want)
	}
	if got := e.counts("q"); got.Total() != 0 {
		t.Errorf("queue left %+v, want the failed message deleted", got)
	}
}

func TestAlwaysFailingMessageLandsInDeadLetterQueue(t *testing.T) {
	e := newEnv(t,
		sqssim.Queue{Name: "events", VisibilityTimeout: 30, Redrive: &sqssim.Redrive{DeadLetterQueue: "events-dlq", MaxReceiveCount: 3}},
		sqssim.Queue{Name: "events-dlq"})
	e.send("events", "poison")
	e.send("events", "fine")
	h := &handler{fail: func(b string) bool { return b == "poison" }}
	m := e.mapping("events", h.invoker())
	for range 5 {
		e.poll(m)
		e.clk.Advance(30 * time.Second)
	}
	if diff := cmp.Diff([]string{"poison", "fine", "poison", "poison"}, h.bodies()); diff != "" {
		t.Errorf("invocations (-want +got):\n%s", diff)
	}
	if got := e.counts("events"); got.Total() != 0 {
		t.Errorf("source queue left %+v", got)
	}
	dead, err := e.svc.Messages("events-dlq")
	if err != nil {
		t.Fatal(err)
	}
	if len(dead) != 1 || dead[0].Body != "poison" {
		t.Errorf("DLQ = %+v, want the poison message", dead)
	}
}

func TestFIFOStopAtFirstFailureKeepsOrder(t *testing.T) {
	e := newEnv(t, sqssim.Queue{Name: "q.fifo", FIFO: true, ContentBasedDeduplication: true})
	for i := 1; i <= 5; i++ {
		e.send("q.fifo", fmt.Sprint("m", i), func(in *sqs.SendMessageInput) { in.MessageGroupId = aws.String("g") })
	}
	var mu sync.Mutex
	var processed []string
	failOnce := map[string]bool{"m3": true}
	// The function stops at the first failure and reports it and everything
	// after it, as Lambda requires for FIFO sources.
	inv := esm.HandlerInvoker(lambda.NewHandler(func(_ context.Context, ev awsevents.SQSEvent) (awsevents.SQSEventResponse, error) {
		mu.Lock()
		defer mu.Unlock()
		var resp awsevents.SQSEventResponse
		for i, r := range ev.Records {
			if failOnce[r.Body] {
				delete(failOnce, r.Body)
				for _, rest := range ev.Records[i:] {
					resp.BatchItemFailures = append(resp.BatchItemFailures, awsevents.SQSBatchItemFailure{ItemIdentifier: rest.MessageId})
				}
				return resp, nil
			}
			processed = append(processed, r.Body)
		}
		return resp, nil
	}))
	m := e.mapping("q.fifo", inv)
	if got, want := e.poll(m), (esm.Stats{Batches: 1, Received: 5, Deleted: 2, Failed: 3}); got != want {
		t.Errorf("first poll = %+v, want %+v", got, want)
	}
	if got := e.poll(m); got.Received != 0 {
		t.Errorf("group delivered while its messages were in flight: %+v", got)
	}
	e.clk.Advance(30 * time.Second)
	if got, want := e.poll(m), (esm.Stats{Batches: 1, Received: 3, Deleted: 3}); got != want {
		t.Errorf("retry poll = %+v, want %+v", got, want)
	}
	if diff := cmp.Diff([]string{"m1", "m2", "m3", "m4", "m5"}, processed); diff != "" {
		t.Errorf("processing order (-want +got):\n%s", diff)
	}
}

func TestBatchSizeAndDrain(t *testing.T) {
	e := newEnv(t, sqssim.Queue{Name: "q"})
	for i := range 25 {
		e.send("q", fmt.Sprint(i))
	}
	var sizes []int
	h := &handler{}
	m := e.mapping("q", h.invoker(), func(c *esm.Config) {
		c.BatchSize = 7
		c.OnBatch = func(b esm.Batch) { sizes = append(sizes, len(b.MessageIDs)) }
	})
	st, err := m.Drain(context.Background())
	if err != nil {
		t.Fatalf("Drain: %v", err)
	}
	if want := (esm.Stats{Batches: 4, Received: 25, Deleted: 25}); st != want {
		t.Errorf("Drain stats = %+v, want %+v", st, want)
	}
	if diff := cmp.Diff([]int{7, 7, 7, 4}, sizes); diff != "" {
		t.Errorf("batch sizes (-want +got):\n%s", diff)
	}
}

func TestBatchingWindowWaitsToFillTheBatch(t *testing.T) {
	e := newEnv(t, sqssim.Queue{Name: "q"})
	for i := range 3 {
		e.send("q", fmt.Sprint(i))
	}
	var sizes []int
	m := e.mapping("q", (&handler{}).invoker(), func(c *esm.Config) {
		c.BatchSize = 5
		c.MaximumBatchingWindow = 10 * time.Second
		c.OnBatch = func(b esm.Batch) { sizes = append(sizes, len(b.MessageIDs)) }
	})
	done := make(chan esm.Stats, 1)
	go func() {
		st, err := m.Poll(context.Background())
		if err != nil {
			t.Errorf("Poll: %v", err)
		}
		done <- st
	}()
	waitFor(t, func() bool { return e.svc.LongPolling("q") == 1 })
	e.send("q", "3")
	e.send("q", "4")
	// The first arrival may end the wait with one message; the window
	// keeps receiving until the batch is full.
	for {
		select {
		case st := <-done:
			if st.Received != 5 || !cmp.Equal(sizes, []int{5}) {
				t.Errorf("stats %+v, batch sizes %v; want one batch of 5", st, sizes)
			}
			return
		default:
			runtime.Gosched()
			time.Sleep(time.Millisecond)
		}
	}
}

func TestRunWithConcurrentPollers(t *testing.T) {
	e := newEnv(t, sqssim.Queue{Name: "q"})
	const n = 60
	for i := range n {
		e.send("q", fmt.Sprint(i))
	}
	h := &handler{fail: func(b string) bool { return b == "7" }}
	m := e.mapping("q", h.invoker(), func(c *esm.Config) {
		c.Concurrency = 4
		c.BatchSize = 3
		c.WaitTimeSeconds = 0 // Lambda's 20 s long poll, on the fake clock
	})
	ctx, cancel := context.WithCancel(context.Background())
	ran := make(chan error, 1)
	go func() { ran <- m.Run(ctx) }()
	waitFor(t, func() bool { return m.Stats().Deleted == n-1 })
	cancel()
	if err := <-ran; err != nil {
		t.Errorf("Run: %v", err)
	}
	seen := map[string]int{}
	for _, b := range h.bodies() {
		seen[b]++
	}
	for i := range n {
		if got := seen[fmt.Sprint(i)]; got != 1 {
			t.Errorf("message %d invoked %d times, want once", i, got)
		}
	}
	if got, want := e.counts("q"), (sqssim.Counts{InFlight: 1}); got != want {
		t.Errorf("counts = %+v, want the failed message in flight %+v", got, want)
	}
}

func TestHTTPInvoker(t *testing.T) {
	tests := []struct {
		name    string
		status  int
		header  string
		body    string
		wantErr bool
		fnErr   bool
	}{
		{"ok", 200, "", `{"batchItemFailures":[]}`, false, false},
		{"function error body", 200, "", `{"errorMessage":"bad input","errorType":"errorString"}`, true, true},
		{"function error header", 200, "Unhandled", `"oops"`, true, true},
		{"server error", 502, "", `bad gateway`, true, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var gotBody, gotType string
			srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				b, _ := io.ReadAll(r.Body)
				gotBody, gotType = string(b), r.Header.Get("Content-Type")
				if r.Method != http.MethodPost || r.URL.Path != "/2015-03-31/functions/function/invocations" {
					http.Error(w, "wrong request", http.StatusNotFound)
					return
				}
				if tt.header != "" {
					w.Header().Set("X-Amz-Function-Error", tt.header)
				}
				w.WriteHeader(tt.status)
				_, _ = io.WriteString(w, tt.body)
			}))
			defer srv.Close()
			inv := esm.HTTPInvoker{URL: srv.URL + "/2015-03-31/functions/function/invocations", Client: srv.Client()}
			resp, err := inv.Invoke(context.Background(), []byte(`{"Records":[]}`))
			if gotBody != `{"Records":[]}` || gotType != "application/json" {
				t.Errorf("server got body %q content type %q", gotBody, gotType)
			}
			if (err != nil) != tt.wantErr {
				t.Fatalf("Invoke error = %v, want error=%v", err, tt.wantErr)
			}
			var fe *esm.FunctionError
			if got := errors.As(err, &fe); got != tt.fnErr {
				t.Errorf("errors.As FunctionError = %v, want %v (%v)", got, tt.fnErr, err)
			}
			if !tt.wantErr && string(resp) != tt.body {
				t.Errorf("response = %q, want %q", resp, tt.body)
			}
		})
	}
}

func TestMappingThroughHTTPInvoker(t *testing.T) {
	e := newEnv(t, sqssim.Queue{Name: "q"})
	e.send("q", "ok")
	e.send("q", "bad")
	h := &handler{fail: func(b string) bool { return b == "bad" }}
	fn := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		payload, _ := io.ReadAll(r.Body)
		resp, err := h.invoker().Invoke(r.Context(), payload)
		if err != nil {
			_ = json.NewEncoder(w).Encode(esm.FunctionError{Type: "error", Message: err.Error()})
			return
		}
		_, _ = w.Write(resp)
	}))
	defer fn.Close()
	m := e.mapping("q", esm.HTTPInvoker{URL: fn.URL, Client: fn.Client()})
	if got, want := e.poll(m), (esm.Stats{Batches: 1, Received: 2, Deleted: 1, Failed: 1}); got != want {
		t.Errorf("stats = %+v, want %+v", got, want)
	}
}

func TestNewRejectsBadConfig(t *testing.T) {
	inv := esm.FuncInvoker(func(context.Context, []byte) ([]byte, error) { return nil, nil })
	tests := []struct {
		name string
		cfg  esm.Config
	}{
		{"no queue", esm.Config{Endpoint: "http://x", Invoker: inv}},
		{"no invoker", esm.Config{Endpoint: "http://x", QueueURL: "http://x/1/q"}},
		{"no client", esm.Config{QueueURL: "http://x/1/q", Invoker: inv}},
		{"batch too big", esm.Config{Endpoint: "http://x", QueueURL: "http://x/1/q", Invoker: inv, BatchSize: 11}},
		{"wait too long", esm.Config{Endpoint: "http://x", QueueURL: "http://x/1/q", Invoker: inv, WaitTimeSeconds: 21}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if _, err := esm.New(tt.cfg); err == nil {
				t.Error("New succeeded, want an error")
			}
		})
	}
	if _, err := esm.New(esm.Config{Endpoint: "http://x", QueueURL: "http://x/1/q", Invoker: inv}); err != nil {
		t.Errorf("New with Endpoint: %v", err)
	}
}

func TestParseBatchItemFailures(t *testing.T) {
	tests := []struct {
		in      string
		want    []string
		invalid bool
	}{
		{``, nil, false},
		{`null`, nil, false},
		{`{}`, []string{}, false},
		{`{"batchItemFailures":[{"itemIdentifier":"a"},{"itemIdentifier":"b"}]}`, []string{"a", "b"}, false},
		{`{"batchItemFailures":[{"itemIdentifier":null}]}`, nil, true},
		{`{"batchItemFailures":"a"}`, nil, true},
		{`[1]`, nil, true},
	}
	for _, tt := range tests {
		got, err := esm.ParseBatchItemFailures([]byte(tt.in))
		if tt.invalid {
			if !errors.Is(err, esm.ErrInvalidResponse) {
				t.Errorf("ParseBatchItemFailures(%s) error = %v, want ErrInvalidResponse", tt.in, err)
			}
			continue
		}
		if err != nil {
			t.Errorf("ParseBatchItemFailures(%s): %v", tt.in, err)
		}
		if diff := cmp.Diff(tt.want, got); diff != "" {
			t.Errorf("ParseBatchItemFailures(%s) (-want +got):\n%s", tt.in, diff)
		}
	}
}

// waitFor yields until cond holds; it synchronises with goroutines, it
// does not measure time.
func waitFor(t *testing.T, cond func() bool) {
	t.Helper()
	for !cond() {
		runtime.Gosched()
		time.Sleep(time.Millisecond)
	}
}
