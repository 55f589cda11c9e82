package localaws_test

import (
	"context"
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	lambdasvc "github.com/aws/aws-sdk-go-v2/service/lambda"
	"github.com/aws/aws-sdk-go-v2/service/lambda/types"
	"github.com/aws/aws-sdk-go-v2/service/sqs"
	sqstypes "github.com/aws/aws-sdk-go-v2/service/sqs/types"
	"github.com/aws/smithy-go"
	smithyhttp "github.com/aws/smithy-go/transport/http"
	"github.com/google/go-cmp/cmp"

	"github.com/prewarm/prewarm/localaws"
	"github.com/prewarm/prewarm/localaws/clock"
	"github.com/prewarm/prewarm/localaws/lambdasim"
	"github.com/prewarm/prewarm/localaws/localawstest"
)

// clients returns real SDK clients for the emulator at url, without
// retries so every injected fault reaches the test.
func clients(url string) (*lambdasvc.Client, *sqs.Client) {
	cfg := localaws.SDKConfig(url)
	cfg.RetryMaxAttempts = 1
	return lambdasvc.NewFromConfig(cfg), sqs.NewFromConfig(cfg)
}

// noQuota turns the control-plane quota off for tests that are not about
// it.
var noQuota = localaws.Options{ControlPlaneRPS: -1}

func getStats(t *testing.T, url string) localaws.Stats {
	t.Helper()
	resp, err := http.Get(url + localaws.StatsPath)
	if err != nil {
		t.Fatal(err)
	}
	defer func() { _ = resp.Body.Close() }() // decoded below; nothing to report
	var s localaws.Stats
	if err := json.NewDecoder(resp.Body).Decode(&s); err != nil {
		t.Fatal(err)
	}
	return s
}

func TestRoutesLambdaAndSQS(t *testing.T) {
	ctx := context.Background()
	clk := clock.NewFake(time.Date(2026, 11, 25, 12, 0, 0, 0, time.UTC))
	srv, url := localawstest.Start(t, localaws.DefaultWorld(), localaws.Options{Clock: clk, ControlPlaneRPS: -1})
	lc, sc := clients(url)

	out, err := lc.PutProvisionedConcurrencyConfig(ctx, &lambdasvc.PutProvisionedConcurrencyConfigInput{
		FunctionName: aws.String("my-function"), Qualifier: aws.String("GREEN"), ProvisionedConcurrentExecutions: aws.Int32(10),
	})
	if err != nil {
		t.Fatal(err)
	}
	if out.Status != types.ProvisionedConcurrencyStatusEnumInProgress {
		t.Errorf("put: got %s, want IN_PROGRESS", out.Status)
	}
	clk.Advance(3 * time.Second)
	if pc, ok := srv.Lambda().Config("my-function", "GREEN"); !ok || pc.Status != lambdasim.StatusReady {
		t.Errorf("after readyAfter: got %+v", pc)
	}
	// The seeded BLUE configuration is READY from the start.
	got, err := lc.GetProvisionedConcurrencyConfig(ctx, &lambdasvc.GetProvisionedConcurrencyConfigInput{FunctionName: aws.String("my-function"), Qualifier: aws.String("BLUE")})
	if err != nil || got.Status != types.ProvisionedConcurrencyStatusEnumReady {
		t.Errorf("seeded BLUE: got %+v, %v", got, err)
	}
	_, err = lc.GetAccountSettings(ctx, &lambdasvc.GetAccountSettingsInput{})
	if err != nil {
		t.Fatal(err)
	}

	q, err := sc.GetQueueUrl(ctx, &sqs.GetQueueUrlInput{QueueName: aws.String("prewarm-results")})
	if err != nil {
		t.Fatalf("GetQueueUrl: %v", err)
	}
	if _, err := sc.SendMessage(ctx, &sqs.SendMessageInput{QueueUrl: q.QueueUrl, MessageBody: aws.String(`{"outcome":"READY"}`)}); err != nil {
		t.Fatalf("SendMessage: %v", err)
	}
	msgs, err := sc.ReceiveMessage(ctx, &sqs.ReceiveMessageInput{QueueUrl: q.QueueUrl, MaxNumberOfMessages: 10})
	if err != nil || len(msgs.Messages) != 1 || aws.ToString(msgs.Messages[0].Body) != `{"outcome":"READY"}` {
		t.Errorf("ReceiveMessage: got %+v, %v", msgs, err)
	}

	stats := getStats(t, url)
	want := map[string]int64{"PutProvisionedConcurrencyConfig": 1, "GetProvisionedConcurrencyConfig": 1, "GetAccountSettings": 1, "GetQueueUrl": 1, "SendMessage": 1, "ReceiveMessage": 1}
	gotReq := map[string]int64{}
	for op, s := range stats.Operations {
		gotReq[op] = s.Requests
	}
	if diff := cmp.Diff(want, gotReq); diff != "" {
		t.Errorf("requests by operation (-want +got):\n%s", diff)
	}

	resp, err := http.Post(url+localaws.ResetStatsPath, "application/json", nil)
	if err != nil || resp.StatusCode != http.StatusNoContent {
		t.Fatalf("reset-stats: %v %v", resp, err)
	}
	_ = resp.Body.Close() // only the status matters
	if got := getStats(t, url); len(got.Operations) != 0 {
		t.Errorf("after reset: got %+v", got)
	}
}

func TestUnknownOperation(t *testing.T) {
	_, url := localawstest.Start(t, localaws.DefaultWorld(), noQuota)
	for _, path := range []string{"/", "/2015-03-31/functions/my-function/policy", "/nothing"} {
		resp, err := http.Post(url+path, "application/json", strings.NewReader("{}"))
		if err != nil {
			t.Fatal(err)
		}
		_ = resp.Body.Close() // only the status and headers matter
		if resp.StatusCode != http.StatusNotFound || resp.Header.Get("X-Amzn-ErrorType") != "UnknownOperationException" {
			t.Errorf("POST %s: got %d %q, want 404 UnknownOperationException", path, resp.StatusCode, resp.Header.Get("X-Amzn-ErrorType"))
		}
	}
}

func TestFaults(t *testing.T) {
	ctx := context.Background()
	put := func(c *lambdasvc.Client) error {
		_, err := c.PutProvisionedConcurrencyConfig(ctx, &lambdasvc.PutProvisionedConcurrencyConfigInput{
			FunctionName: aws.String("my-function"), Qualifier: aws.String("GREEN"), ProvisionedConcurrentExecutions: aws.Int32(3),
		})
		return err
	}
	settings := func(c *lambdasvc.Client) error {
		_, err := c.GetAccountSettings(ctx, &lambdasvc.GetAccountSettingsInput{})
		return err
	}
	isThrottled := func(err error) bool {
		var tm *types.TooManyRequestsException
		return errors.As(err, &tm) && aws.ToString(tm.RetryAfterSeconds) != ""
	}
	isServiceError := func(err error) bool {
		var re *smithyhttp.ResponseError
		return isType[*types.ServiceException](err) && errors.As(err, &re) && re.HTTPStatusCode() >= 500
	}
	// A dropped connection reaches the client as a send failure: no API
	// error and no HTTP status.
	isReset := func(err error) bool {
		var re *smithyhttp.ResponseError
		var apiErr smithy.APIError
		return err != nil && !errors.As(err, &apiErr) && (!errors.As(err, &re) || re.HTTPStatusCode() == 0)
	}
	tests := []struct {
		name      string
		faults    func() localaws.Faults
		putErr    func(error) bool
		otherErr  func(error) bool // GetAccountSettings
		wantStats localaws.OperationStats
	}{
		{
			name:      "throttle all",
			faults:    func() localaws.Faults { return localaws.Faults{ThrottleRate: localaws.Rates{"": 1}} },
			putErr:    isThrottled,
			otherErr:  isThrottled,
			wantStats: localaws.OperationStats{Requests: 1, Throttled: 1},
		},
		{
			name:      "5xx all",
			faults:    func() localaws.Faults { return localaws.Faults{ErrorRate: localaws.Rates{"": 1}} },
			putErr:    isServiceError,
			otherErr:  isServiceError,
			wantStats: localaws.OperationStats{Requests: 1, Errors: 1},
		},
		{
			name:      "reset all",
			faults:    func() localaws.Faults { return localaws.Faults{ResetRate: localaws.Rates{"": 1}} },
			putErr:    isReset,
			otherErr:  isReset,
			wantStats: localaws.OperationStats{Requests: 1, Errors: 1, Resets: 1},
		},
		{
			name: "throttle only the named operation",
			faults: func() localaws.Faults {
				return localaws.Faults{ThrottleRate: localaws.Rates{"PutProvisionedConcurrencyConfig": 1}}
			},
			putErr:    isThrottled,
			otherErr:  func(err error) bool { return err == nil },
			wantStats: localaws.OperationStats{Requests: 1, Throttled: 1},
		},
		{
			name: "default overridden for a named operation",
			faults: func() localaws.Faults {
				return localaws.Faults{ErrorRate: localaws.Rates{"": 1, "GetAccountSettings": 0}}
			},
			putErr:    isServiceError,
			otherErr:  func(err error) bool { return err == nil },
			wantStats: localaws.OperationStats{Requests: 1, Errors: 1},
		},
		{
			name:      "latency only delays",
			faults:    func() localaws.Faults { return localaws.Faults{Latency: localaws.Latencies{"": time.Millisecond}} },
			putErr:    func(err error) bool { return err == nil },
			otherErr:  func(err error) bool { return err == nil },
			wantStats: localaws.OperationStats{Requests: 1},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, url := localawstest.Start(t, localaws.DefaultWorld(), localaws.Options{Faults: tt.faults(), ControlPlaneRPS: -1, Seed: 1})
			lc, _ := clients(url)
			if err := put(lc); !tt.putErr(err) {
				t.Errorf("put: unexpected outcome %v (%T)", err, err)
			}
			if err := settings(lc); !tt.otherErr(err) {
				t.Errorf("GetAccountSettings: unexpected outcome %v (%T)", err, err)
			}
			if diff := cmp.Diff(tt.wantStats, getStats(t, url).Operations["PutProvisionedConcurrencyConfig"]); diff != "" {
				t.Errorf("stats of the put (-want +got):\n%s", diff)
			}
		})
	}
}

func TestSQSFaultsUseSQSErrors(t *testing.T) {
	ctx := context.Background()
	_, url := localawstest.Start(t, localaws.DefaultWorld(), localaws.Options{
		Faults: localaws.Faults{ThrottleRate: localaws.Rates{"SendMessage": 1}}, ControlPlaneRPS: -1,
	})
	_, sc := clients(url)
	q, err := sc.GetQueueUrl(ctx, &sqs.GetQueueUrlInput{QueueName: aws.String("prewarm-events")})
	if err != nil {
		t.Fatal(err)
	}
	_, err = sc.SendMessage(ctx, &sqs.SendMessageInput{QueueUrl: q.QueueUrl, MessageBody: aws.String("x")})
	var apiErr smithy.APIError
	if !errors.As(err, &apiErr) || apiErr.ErrorCode() != "RequestThrottled" {
		t.Errorf("SendMessage: got %v, want RequestThrottled", err)
	}
	if got := getStats(t, url).Operations["SendMessage"]; got.Throttled != 1 {
		t.Errorf("stats: got %+v, want 1 throttled", got)
	}
}

func TestFaultDiceAreSeeded(t *testing.T) {
	ctx := context.Background()
	run := func() []bool {
		_, url := localawstest.Start(t, localaws.DefaultWorld(), localaws.Options{
			Faults: localaws.Faults{ThrottleRate: localaws.Rates{"": 0.5}}, ControlPlaneRPS: -1, Seed: 42,
		})
		lc, _ := clients(url)
		var out []bool
		for range 20 {
			_, err := lc.GetAccountSettings(ctx, &lambdasvc.GetAccountSettingsInput{})
			out = append(out, err != nil)
		}
		return out
	}
	first, second := run(), run()
	if diff := cmp.Diff(first, second); diff != "" {
		t.Errorf("same seed, different faults (-first +second):\n%s", diff)
	}
	n := 0
	for _, throttled := range first {
		if throttled {
			n++
		}
	}
	if n == 0 || n == len(first) {
		t.Errorf("rate 0.5 throttled %d of %d", n, len(first))
	}
}

func TestControlPlaneQuota(t *testing.T) {
	ctx := context.Background()
	srv, url := localawstest.Start(t, localaws.DefaultWorld(), localaws.Options{ControlPlaneRPS: 5})
	lc, sc := clients(url)
	// The bucket starts full: a burst of 5 passes.
	for i := range 5 {
		if _, err := lc.GetAccountSettings(ctx, &lambdasvc.GetAccountSettingsInput{}); err != nil {
			t.Fatalf("request %d of the burst: %v", i+1, err)
		}
	}
	// Beyond the burst the bucket refills at 5/s, far slower than these
	// requests arrive, so one of them is throttled with Lambda's 429.
	var throttled error
	for range 1000 {
		_, err := lc.GetAccountSettings(ctx, &lambdasvc.GetAccountSettingsInput{})
		if err != nil {
			throttled = err
			break
		}
	}
	var tm *types.TooManyRequestsException
	if !errors.As(throttled, &tm) {
		t.Fatalf("got %v, want TooManyRequestsException", throttled)
	}
	if aws.ToString(tm.RetryAfterSeconds) == "" || tm.Reason != types.ThrottleReasonCallerRateLimitExceeded {
		t.Errorf("throttle: RetryAfterSeconds %q, Reason %q", aws.ToString(tm.RetryAfterSeconds), tm.Reason)
	}
	if got := srv.Stats().Operations["GetAccountSettings"]; got.Throttled < 1 {
		t.Errorf("stats: got %+v, want throttled counted", got)
	}
	// GetFunction has its own quota and SQS is not the Lambda control plane.
	if _, err := lc.GetFunction(ctx, &lambdasvc.GetFunctionInput{FunctionName: aws.String("my-function")}); err != nil {
		t.Errorf("GetFunction: %v", err)
	}
	if _, err := sc.GetQueueUrl(ctx, &sqs.GetQueueUrlInput{QueueName: aws.String("prewarm-events")}); err != nil {
		t.Errorf("GetQueueUrl: %v", err)
	}
}

func TestQuotaOfAlmostNothing(t *testing.T) {
	ctx := context.Background()
	_, url := localawstest.Start(t, localaws.DefaultWorld(), localaws.Options{ControlPlaneRPS: 0.001})
	lc, _ := clients(url)
	if _, err := lc.ListFunctions(ctx, &lambdasvc.ListFunctionsInput{}); err != nil {
		t.Fatalf("first request (burst of 1): %v", err)
	}
	if _, err := lc.ListFunctions(ctx, &lambdasvc.ListFunctionsInput{}); !isType[*types.TooManyRequestsException](err) {
		t.Errorf("second request: got %v, want TooManyRequestsException", err)
	}
}

// TestManyConcurrentClients drives Lambda and SQS from many goroutines with
// faults on; run with -race.
func TestManyConcurrentClients(t *testing.T) {
	ctx := context.Background()
	clk := clock.NewFake(time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC))
	srv, url := localawstest.Start(t, localaws.DefaultWorld(), localaws.Options{
		Clock: clk, ControlPlaneRPS: -1, Seed: 7,
		Faults: localaws.Faults{ThrottleRate: localaws.Rates{"": 0.1}, ErrorRate: localaws.Rates{"": 0.05}},
	})
	q := srv.SQS().QueueURL(strings.TrimPrefix(url, "http://"), "prewarm-events")
	var wg sync.WaitGroup
	for i := range 12 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			lc, sc := clients(url)
			fn := []string{"my-function", "checkout-api", "orders-worker"}[i%3]
			for j := range 15 {
				_, _ = lc.PutProvisionedConcurrencyConfig(ctx, &lambdasvc.PutProvisionedConcurrencyConfigInput{
					FunctionName: aws.String(fn), Qualifier: aws.String("GREEN"), ProvisionedConcurrentExecutions: aws.Int32(int32(1 + j%5)),
				})
				_, _ = lc.GetProvisionedConcurrencyConfig(ctx, &lambdasvc.GetProvisionedConcurrencyConfigInput{FunctionName: aws.String(fn), Qualifier: aws.String("GREEN")})
				_, _ = lc.ListProvisionedConcurrencyConfigs(ctx, &lambdasvc.ListProvisionedConcurrencyConfigsInput{FunctionName: aws.String(fn)})
				_, _ = sc.SendMessage(ctx, &sqs.SendMessageInput{QueueUrl: aws.String(q), MessageBody: aws.String("m")})
				_, _ = sc.ReceiveMessage(ctx, &sqs.ReceiveMessageInput{QueueUrl: aws.String(q), MaxNumberOfMessages: 2, MessageSystemAttributeNames: []sqstypes.MessageSystemAttributeName{"All"}})
				if j%5 == 0 {
					clk.Advance(time.Second)
					_ = srv.Stats()
				}
			}
		}()
	}
	wg.Wait()
	st := srv.Stats()
	if got := st.Operations["PutProvisionedConcurrencyConfig"].Requests; got != 12*15 {
		t.Errorf("put requests: got %d, want %d", got, 12*15)
	}
}

func TestSDKConfigNeedsNoEnvironment(t *testing.T) {
	t.Setenv("AWS_ACCESS_KEY_ID", "")
	t.Setenv("AWS_SECRET_ACCESS_KEY", "")
	t.Setenv("AWS_PROFILE", "does-not-exist")
	_, url := localawstest.Start(t, localaws.DefaultWorld(), noQuota)
	lc := lambdasvc.NewFromConfig(localaws.SDKConfig(url))
	out, err := lc.GetFunctionConcurrency(context.Background(), &lambdasvc.GetFunctionConcurrencyInput{FunctionName: aws.String("orders-worker")})
	if err != nil || aws.ToInt32(out.ReservedConcurrentExecutions) != 50 {
		t.Errorf("GetFunctionConcurrency: got %+v, %v", out, err)
	}
}

func TestHealth(t *testing.T) {
	_, url := localawstest.Start(t, localaws.DefaultWorld(), noQuota)
	resp, err := http.Get(url + localaws.HealthPath)
	if err != nil {
		t.Fatal(err)
	}
	defer func() { _ = resp.Body.Close() }() // read to the end below; nothing to report
	b, _ := io.ReadAll(resp.Body)
	if resp.StatusCode != 200 || !strings.Contains(string(b), "ok") {
		t.Errorf("health: got %d %s", resp.StatusCode, b)
	}
}

func TestNewRejectsBadInput(t *testing.T) {
	w := localaws.DefaultWorld()
	w.Functions[0].Aliases["BLUE"] = "99"
	if _, err := localaws.New(w, localaws.Options{}); err == nil {
		t.Errorf("New accepted an alias to a missing version")
	}
	if _, err := localaws.New(localaws.DefaultWorld(), localaws.Options{Faults: localaws.Faults{ErrorRate: localaws.Rates{"": 2}}}); err == nil {
		t.Errorf("New accepted an error rate of 2")
	}
}

func isType[T error](err error) bool {
	var target T
	return errors.As(err, &target)
}
