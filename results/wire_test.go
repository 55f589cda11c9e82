package results

import (
	"context"
	"crypto/md5"
	"encoding/binary"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"net/http/httptest"
	"slices"
	"sync"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/aws-sdk-go-v2/service/sqs"
	sqstypes "github.com/aws/aws-sdk-go-v2/service/sqs/types"
	"github.com/google/go-cmp/cmp"
)

// sqsStub answers SendMessageBatch in the AWS JSON 1.0 wire shape, with the MD5 digests the SDK
// checks, and records what arrived. fail, when set, may answer a request with an error instead.
type sqsStub struct {
	t    *testing.T
	fail func(request int, entries []wireEntry) (status int, header http.Header, body string, failed map[string]string)

	mu       sync.Mutex
	requests int
	received []wireEntry
}

type wireAttribute struct {
	DataType    string
	StringValue string
}

type wireEntry struct {
	Id                     string
	MessageBody            string
	MessageAttributes      map[string]wireAttribute
	MessageGroupId         string
	MessageDeduplicationId string
}

func (s *sqsStub) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if got, want := r.Header.Get("X-Amz-Target"), "AmazonSQS.SendMessageBatch"; got != want {
		s.t.Errorf("X-Amz-Target = %q, want %q", got, want)
	}
	if got, want := r.Header.Get("Content-Type"), "application/x-amz-json-1.0"; got != want {
		s.t.Errorf("Content-Type = %q, want %q", got, want)
	}
	var in struct {
		QueueUrl string
		Entries  []wireEntry
	}
	if err := json.NewDecoder(r.Body).Decode(&in); err != nil {
		s.t.Errorf("decode SendMessageBatch request: %v", err)
		w.WriteHeader(http.StatusBadRequest)
		return
	}
	s.mu.Lock()
	request := s.requests
	s.requests++
	s.mu.Unlock()

	var failed map[string]string // entry id -> code, answered as a server-side entry failure
	if s.fail != nil {
		var status int
		var header http.Header
		var body string
		status, header, body, failed = s.fail(request, in.Entries)
		if status != 0 {
			for k, v := range header {
				w.Header()[k] = v
			}
			w.Header().Set("Content-Type", "application/x-amz-json-1.0")
			w.WriteHeader(status)
			_, _ = fmt.Fprint(w, body) // a failed write fails the client's call, which the test sees
			return
		}
	}

	type success struct {
		Id, MessageId, MD5OfMessageBody string
		MD5OfMessageAttributes          string `json:",omitempty"`
	}
	type failure struct {
		Id          string
		SenderFault bool
		Code        string
		Message     string
	}
	out := struct {
		Successful []success
		Failed     []failure
	}{Successful: []success{}, Failed: []failure{}}
	s.mu.Lock()
	for _, e := range in.Entries {
		if code, ok := failed[e.Id]; ok {
			out.Failed = append(out.Failed, failure{Id: e.Id, Code: code, Message: "entry failed"})
			continue
		}
		s.received = append(s.received, e)
		out.Successful = append(out.Successful, success{
			Id:                     e.Id,
			MessageId:              fmt.Sprintf("msg-%d", len(s.received)),
			MD5OfMessageBody:       md5Hex([]byte(e.MessageBody)),
			MD5OfMessageAttributes: md5OfAttributes(e.MessageAttributes),
		})
	}
	s.mu.Unlock()
	w.Header().Set("Content-Type", "application/x-amz-json-1.0")
	if err := json.NewEncoder(w).Encode(out); err != nil {
		s.t.Errorf("encode response: %v", err)
	}
}

// snapshot returns how many requests arrived and the entries accepted so far.
func (s *sqsStub) snapshot() (int, []wireEntry) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.requests, slices.Clone(s.received)
}

func md5Hex(b []byte) string {
	sum := md5.Sum(b)
	return hex.EncodeToString(sum[:])
}

// md5OfAttributes is SQS's digest of string message attributes: for each name in order, the
// length-prefixed name, data type, transport type 1 and length-prefixed value.
func md5OfAttributes(attrs map[string]wireAttribute) string {
	if len(attrs) == 0 {
		return ""
	}
	var buf []byte
	field := func(s string) {
		buf = binary.BigEndian.AppendUint32(buf, uint32(len(s)))
		buf = append(buf, s...)
	}
	names := slices.Sorted(func(yield func(string) bool) {
		for name := range attrs {
			if !yield(name) {
				return
			}
		}
	})
	for _, name := range names {
		field(name)
		field(attrs[name].DataType)
		buf = append(buf, 1)
		field(attrs[name].StringValue)
	}
	return md5Hex(buf)
}

// newWireClient returns the real SQS client pointed at url, with the SDK's own retries off so
// that the Publisher's are what the test sees.
func newWireClient(url string) *sqs.Client {
	cfg := aws.Config{Region: "us-east-1", Credentials: credentials.NewStaticCredentialsProvider("test", "test", "")}
	return sqs.NewFromConfig(cfg, func(o *sqs.Options) {
		o.BaseEndpoint = aws.String(url)
		o.RetryMaxAttempts = 1
	})
}

func TestPublishOverTheWire(t *testing.T) {
	for _, queue := range []string{"prewarm-results", "prewarm-results.fifo"} {
		t.Run(queue, func(t *testing.T) {
			stub := &sqsStub{t: t}
			srv := httptest.NewServer(stub)
			defer srv.Close()
			queueURL := srv.URL + "/123456789012/" + queue
			sleeper := &noSleep{}
			p := NewPublisher(newWireClient(srv.URL), queueURL, WithSleep(sleeper.sleep))
			msgs := testMessages(12)
			msgs[3].Outcome, msgs[3].FunctionName, msgs[3].Qualifier, msgs[3].Response = OutcomeRejected, "", "", nil

			wantNoErrors(t, p.Publish(context.Background(), msgs), len(msgs))

			requests, received := stub.snapshot()
			if requests != 2 {
				t.Errorf("%d requests, want 2", requests)
			}
			var got []Message
			for _, e := range received {
				var m Message
				if err := json.Unmarshal([]byte(e.MessageBody), &m); err != nil {
					t.Fatalf("body of entry %s: %v", e.Id, err)
				}
				got = append(got, m)
			}
			if diff := cmp.Diff(msgs, got); diff != "" {
				t.Errorf("bodies received (-want +got):\n%s", diff)
			}
			first, rejected := received[0], received[3]
			wantAttrs := map[string]wireAttribute{
				"outcome": {"String", "APPLIED"}, "status": {"String", "IN_PROGRESS"},
				"functionName": {"String", "fn-0"}, "qualifier": {"String", "GREEN"},
			}
			if diff := cmp.Diff(wantAttrs, first.MessageAttributes); diff != "" {
				t.Errorf("attributes received (-want +got):\n%s", diff)
			}
			if diff := cmp.Diff(map[string]wireAttribute{"outcome": {"String", "REJECTED"}}, rejected.MessageAttributes); diff != "" {
				t.Errorf("attributes of the REJECTED message (-want +got):\n%s", diff)
			}
			var wantGroups, gotGroups [2]string
			if p.FIFO() {
				wantGroups = [2]string{"fn-0:GREEN", DefaultGroupID}
			}
			gotGroups = [2]string{first.MessageGroupId, rejected.MessageGroupId}
			if gotGroups != wantGroups {
				t.Errorf("group ids = %q, want %q", gotGroups, wantGroups)
			}
			if p.FIFO() && first.MessageDeduplicationId != DeduplicationID(msgs[0]) {
				t.Errorf("deduplication id = %q, want %q", first.MessageDeduplicationId, DeduplicationID(msgs[0]))
			}
		})
	}
}

func TestPublishOverTheWireRetriesThrottlingAndEntryFailures(t *testing.T) {
	stub := &sqsStub{t: t}
	stub.fail = func(request int, entries []wireEntry) (int, http.Header, string, map[string]string) {
		switch request {
		case 0:
			return http.StatusForbidden,
				http.Header{"X-Amzn-Query-Error": {"RequestThrottled;Sender"}},
				`{"__type":"com.amazonaws.sqs#RequestThrottled","message":"Request is throttled."}`, nil
		case 1:
			return 0, nil, "", map[string]string{entries[1].Id: "InternalError"}
		}
		return 0, nil, "", nil
	}
	srv := httptest.NewServer(stub)
	defer srv.Close()
	sleeper := &noSleep{}
	p := NewPublisher(newWireClient(srv.URL), srv.URL+"/123456789012/prewarm-results", WithSleep(sleeper.sleep))
	msgs := testMessages(3)

	wantNoErrors(t, p.Publish(context.Background(), msgs), len(msgs))

	requests, received := stub.snapshot()
	if requests != 3 || len(sleeper.waits) != 2 {
		t.Errorf("%d requests and %d waits, want 3 and 2", requests, len(sleeper.waits))
	}
	var ids []string
	for _, e := range received {
		ids = append(ids, e.Id)
	}
	if diff := cmp.Diff([]string{"0", "2", "1"}, ids); diff != "" {
		t.Errorf("entries received in order (-want +got):\n%s", diff)
	}
}

func TestPublishOverTheWireMissingQueue(t *testing.T) {
	stub := &sqsStub{t: t}
	stub.fail = func(int, []wireEntry) (int, http.Header, string, map[string]string) {
		return http.StatusBadRequest,
			http.Header{"X-Amzn-Query-Error": {"AWS.SimpleQueueService.NonExistentQueue;Sender"}},
			`{"__type":"com.amazonaws.sqs#QueueDoesNotExist","message":"The specified queue does not exist."}`, nil
	}
	srv := httptest.NewServer(stub)
	defer srv.Close()
	p := NewPublisher(newWireClient(srv.URL), srv.URL+"/123456789012/missing", WithSleep((&noSleep{}).sleep))

	errs := p.Publish(context.Background(), testMessages(2))

	for i, err := range errs {
		var perr *PublishError
		var missing *sqstypes.QueueDoesNotExist
		if !errors.As(err, &perr) || !perr.Permanent || !errors.As(err, &missing) ||
			perr.Code != "AWS.SimpleQueueService.NonExistentQueue" {
			t.Errorf("message %d error = %v, want a permanent QueueDoesNotExist", i, err)
		}
	}
	if requests, _ := stub.snapshot(); requests != 1 {
		t.Errorf("%d requests, want 1", requests)
	}
}
