package lambdasim_test

import (
	"context"
	"errors"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/credentials"
	lambdasvc "github.com/aws/aws-sdk-go-v2/service/lambda"
	"github.com/aws/smithy-go"
	smithyhttp "github.com/aws/smithy-go/transport/http"

	"github.com/prewarm/prewarm/localaws/clock"
	"github.com/prewarm/prewarm/localaws/lambdasim"
)

const (
	testAccount = "123456789012"
	testRegion  = "us-west-2"
	readyAfter  = 3 * time.Minute
)

// start is the fake clock's origin; LastModified then reads
// 2019-11-21T19:32:12+0000 like AWS's documented example.
var start = time.Date(2019, 11, 21, 19, 32, 12, 0, time.UTC)

func intPtr(n int) *int { return &n }

// testConfig is a small account: my-function (versions 1-3, BLUE→1,
// GREEN→2), orders-worker with 50 reserved, broken-function whose version 2
// fails to initialise.
func testConfig(clk clock.Clock) lambdasim.Config {
	return lambdasim.Config{
		AccountID:  testAccount,
		Region:     testRegion,
		ReadyAfter: readyAfter,
		Clock:      clk,
		Functions: []lambdasim.Function{
			{Name: "my-function", Versions: []string{"1", "2", "3"}, Aliases: map[string]string{"BLUE": "1", "GREEN": "2"}},
			{Name: "orders-worker", Versions: []string{"1", "2"}, Aliases: map[string]string{"live": "2"}, ReservedConcurrency: intPtr(50)},
			{Name: "broken-function", Versions: []string{"1", "2"}, Aliases: map[string]string{"BLUE": "1", "GREEN": "2"}, InitFailureVersions: []string{"2"}},
		},
	}
}

type fixture struct {
	svc    *lambdasim.Service
	client *lambdasvc.Client
	clock  *clock.Fake
	url    string
}

// newFixture serves a Service built from testConfig (changed by mutate)
// over HTTP and returns a real SDK client pointed at it, without retries so
// that every error reaches the test as the server sent it.
func newFixture(t *testing.T, mutate func(*lambdasim.Config)) *fixture {
	t.Helper()
	clk := clock.NewFake(start)
	cfg := testConfig(clk)
	if mutate != nil {
		mutate(&cfg)
	}
	if err := cfg.Validate(); err != nil {
		t.Fatalf("Validate: %v", err)
	}
	svc := lambdasim.New(cfg)
	srv := httptest.NewServer(svc)
	t.Cleanup(srv.Close)
	return &fixture{svc: svc, client: newClient(srv.URL), clock: clk, url: srv.URL}
}

func newClient(url string) *lambdasvc.Client {
	return lambdasvc.NewFromConfig(aws.Config{
		Region:           testRegion,
		Credentials:      credentials.NewStaticCredentialsProvider("AKIDEXAMPLE", "secret", ""),
		BaseEndpoint:     aws.String(url),
		RetryMaxAttempts: 1,
	})
}

// wantAPIError checks err's HTTP status, code and exact message.
func wantAPIError(t *testing.T, err error, status int, code, message string) {
	t.Helper()
	if err == nil {
		t.Fatalf("got no error, want %d %s %q", status, code, message)
	}
	var apiErr smithy.APIError
	if !errors.As(err, &apiErr) {
		t.Fatalf("got %v (%T), want an API error %s", err, err, code)
	}
	if got := apiErr.ErrorCode(); got != code {
		t.Errorf("code: got %q, want %q (%v)", got, code, err)
	}
	if got := apiErr.ErrorMessage(); got != message {
		t.Errorf("message:\n got %q\nwant %q", got, message)
	}
	var respErr *smithyhttp.ResponseError
	if !errors.As(err, &respErr) {
		t.Fatalf("got %v, want an HTTP response error", err)
	}
	if got := respErr.HTTPStatusCode(); got != status {
		t.Errorf("HTTP status: got %d, want %d", got, status)
	}
	var reqErr interface{ ServiceRequestID() string }
	if !errors.As(err, &reqErr) || reqErr.ServiceRequestID() == "" {
		t.Errorf("no request id in %v", err)
	}
}

func isType[T error](err error) bool {
	var target T
	return errors.As(err, &target)
}

// rawRequest sends a hand-made request and returns the response.
func rawRequest(t *testing.T, method, url, body string, header http.Header) *http.Response {
	t.Helper()
	var r *http.Request
	var err error
	if body == "" {
		r, err = http.NewRequestWithContext(context.Background(), method, url, nil)
	} else {
		r, err = http.NewRequestWithContext(context.Background(), method, url, strings.NewReader(body))
	}
	if err != nil {
		t.Fatalf("new request: %v", err)
	}
	for k, v := range header {
		r.Header[k] = v
	}
	resp, err := http.DefaultClient.Do(r)
	if err != nil {
		t.Fatalf("%s %s: %v", method, url, err)
	}
	t.Cleanup(func() { _ = resp.Body.Close() }) // the caller reads it; closing cannot fail the test
	return resp
}
