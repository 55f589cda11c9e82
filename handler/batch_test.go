package handler_test

import (
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/sqs"
	"github.com/google/go-cmp/cmp"

	"github.com/prewarm/prewarm/handler"
	"github.com/prewarm/prewarm/localaws"
	"github.com/prewarm/prewarm/results"
)

// invocationBudget is the wall-clock deadline given to invocations whose
// control-plane calls are retried: the retries end by it at the latest.
const invocationBudget = 10 * time.Second

// resultsFor returns the outcomes published for the record with id.
func resultsFor(ms []results.Message, id string) []string {
	var out []string
	for _, m := range ms {
		if m.ID == id {
			out = append(out, m.FunctionName+":"+m.Qualifier+" "+string(m.Outcome))
		}
	}
	return out
}

// TestTransientAWSFailureIsBatchItemFailure: a Put that keeps failing
// transiently leaves its record to SQS for another delivery, publishes
// nothing for it, and does not hold back the other records of the batch.
func TestTransientAWSFailureIsBatchItemFailure(t *testing.T) {
	put := "PutProvisionedConcurrencyConfig"
	for name, faults := range map[string]localaws.Faults{
		"5xx":      {ErrorRate: localaws.Rates{put: 1}},
		"throttle": {ThrottleRate: localaws.Rates{put: 1}},
		"reset":    {ResetRate: localaws.Rates{put: 1}},
	} {
		t.Run(name, func(t *testing.T) {
			e := newEnv(t, withFaults(faults))
			resp, err := e.invokeWithin(invocationBudget, sqsEvent(t, "prewarm-events",
				`{"functionName":"checkout-api","to":"GREEN","concurrency":15}`,
				`{"functionName":"broken-function","to":"BLUE","concurrency":0}`,
				`{"functionName":"my-function","to":"BLUE","concurrency":10}`,
				`{"functionName":"payroll","to":"live","concurrency":5}`,
			))
			if err != nil {
				t.Fatal(err)
			}
			if diff := cmp.Diff([]string{"msg-1"}, batchResponse(t, resp)); diff != "" {
				t.Errorf("batchItemFailures (-want +got):\n%s", diff)
			}
			got := e.published("prewarm-results")
			if r := resultsFor(got, "msg-1"); len(r) != 0 {
				t.Errorf("results published for the retried record: %v", r)
			}
			want := []string{"broken-function:BLUE RELEASED", "my-function:BLUE UNCHANGED", "payroll:live REJECTED"}
			if diff := cmp.Diff(want, outcomes(got)); diff != "" {
				t.Errorf("results (-want +got):\n%s", diff)
			}
			if n := e.srv.Stats().Operations[put].Requests; n < 2 {
				t.Errorf("%s sent %d times, want retries", put, n)
			}
			if st := e.pc("checkout-api", "GREEN"); st.Exists {
				t.Errorf("checkout-api:GREEN = %+v, want no configuration", st)
			}
		})
	}
}

// TestPublishFailureIsBatchItemFailure: a result that cannot be published
// must not be lost, so its record goes back to SQS.
func TestPublishFailureIsBatchItemFailure(t *testing.T) {
	batch := func(t *testing.T) []byte {
		return sqsEvent(t, "prewarm-events",
			`{"functionName":"my-function","to":"GREEN","concurrency":15,"wait":false}`,
			`{"functionName":"payroll","to":"live","concurrency":5}`,
		)
	}
	t.Run("queue does not exist", func(t *testing.T) {
		e := newEnv(t)
		e.rewire(results.NewPublisher(e.sqs, e.url+"/"+testAccount+"/no-such-queue", results.WithSleep(noSleep)))
		resp, err := e.invokeWithin(invocationBudget, batch(t))
		if err != nil {
			t.Fatal(err)
		}
		if diff := cmp.Diff([]string{"msg-1", "msg-2"}, batchResponse(t, resp)); diff != "" {
			t.Errorf("batchItemFailures (-want +got):\n%s", diff)
		}
	})
	t.Run("SendMessageBatch fails", func(t *testing.T) {
		e := newEnv(t, withFaults(localaws.Faults{ErrorRate: localaws.Rates{"SendMessageBatch": 1}}))
		// The SDK's own retries would wait in wall time; the publisher's
		// attempts are enough here.
		client := sqs.NewFromConfig(localaws.SDKConfig(e.url), func(o *sqs.Options) { o.Retryer = aws.NopRetryer{} })
		e.rewire(results.NewPublisher(client, e.cfg.ResultsQueueURL, results.WithSleep(noSleep)))
		resp, err := e.invokeWithin(invocationBudget, batch(t))
		if err != nil {
			t.Fatal(err)
		}
		if diff := cmp.Diff([]string{"msg-1", "msg-2"}, batchResponse(t, resp)); diff != "" {
			t.Errorf("batchItemFailures (-want +got):\n%s", diff)
		}
		if n := e.srv.Stats().Operations["SendMessageBatch"].Requests; n == 0 {
			t.Error("no SendMessageBatch was attempted")
		}
	})
}

// TestPermanentAWSErrorIsFailedAndAcknowledged: an error that no retry can
// mend is reported once, with AWS's code, and the record is not retried.
func TestPermanentAWSErrorIsFailedAndAcknowledged(t *testing.T) {
	e := newEnv(t)
	resp, err := e.invokeWithin(invocationBudget, sqsEvent(t, "prewarm-events",
		`{"functionName":"checkout-ghost","to":"live","concurrency":5}`,
		`{"functionName":"my-function","to":"PURPLE","concurrency":5}`,
		`{"functionName":"my-function","to":"9","concurrency":5}`,
	))
	if err != nil {
		t.Fatal(err)
	}
	if failed := batchResponse(t, resp); len(failed) != 0 {
		t.Errorf("batchItemFailures = %v, want none: permanent errors are not retried", failed)
	}
	got := e.published("prewarm-results")
	want := []string{"checkout-ghost:live FAILED", "my-function:PURPLE FAILED", "my-function:9 FAILED"}
	if diff := cmp.Diff(want, outcomes(got)); diff != "" {
		t.Fatalf("results (-want +got):\n%s", diff)
	}
	for _, m := range got {
		if m.Error == nil || m.Error.Code != "ResourceNotFoundException" || m.Error.Message == "" {
			t.Errorf("%s:%s error = %+v, want ResourceNotFoundException with AWS's message", m.FunctionName, m.Qualifier, m.Error)
		}
	}
}

// TestFIFOSourceStopsAtFirstFailure: on a FIFO source the records after a
// failed one must not overtake it, so they are handed back untouched.
func TestFIFOSourceStopsAtFirstFailure(t *testing.T) {
	e := newEnv(t, withFaults(localaws.Faults{ErrorRate: localaws.Rates{"PutProvisionedConcurrencyConfig": 1}}))
	resp, err := e.invokeWithin(invocationBudget, sqsEvent(t, "prewarm-events.fifo",
		`{"functionName":"my-function","to":"BLUE","concurrency":0}`,
		`{"functionName":"checkout-api","to":"GREEN","concurrency":15}`,
		`{"functionName":"broken-function","to":"BLUE","concurrency":0}`,
		`{"functionName":"payroll","to":"live","concurrency":5}`,
	))
	if err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff([]string{"msg-2", "msg-3", "msg-4"}, batchResponse(t, resp)); diff != "" {
		t.Errorf("batchItemFailures (-want +got):\n%s", diff)
	}
	if diff := cmp.Diff([]string{"my-function:BLUE RELEASED"}, outcomes(e.published("prewarm-results"))); diff != "" {
		t.Errorf("results (-want +got):\n%s", diff)
	}
	calls := e.lambdaCalls()
	if calls["DeleteProvisionedConcurrencyConfig"] != 1 || calls["GetProvisionedConcurrencyConfig"] != 2 {
		t.Errorf("Lambda calls = %v, want the Get and Delete of record 1 and the Get of record 2 only", calls)
	}
	if st := e.pc("broken-function", "BLUE"); st.Requested != 5 {
		t.Errorf("broken-function:BLUE = %+v, want its 5 untouched", st)
	}
}

func TestSameTargetTwiceInOneBatch(t *testing.T) {
	e := newEnv(t)
	resp, err := e.invokeWithin(invocationBudget, sqsEvent(t, "prewarm-events",
		`{"functionName":"my-function","to":"GREEN","concurrency":15,"wait":false}`,
		`{"functionName":"my-function","to":"GREEN","concurrency":25,"wait":false}`,
	))
	if err != nil {
		t.Fatal(err)
	}
	if failed := batchResponse(t, resp); len(failed) != 0 {
		t.Errorf("batchItemFailures = %v, want none", failed)
	}
	got := e.published("prewarm-results")
	if diff := cmp.Diff([]string{"my-function:GREEN SUPERSEDED"}, resultsFor(got, "msg-1")); diff != "" {
		t.Errorf("first intent (-want +got):\n%s", diff)
	}
	if diff := cmp.Diff([]string{"my-function:GREEN APPLIED"}, resultsFor(got, "msg-2")); diff != "" {
		t.Errorf("second intent (-want +got):\n%s", diff)
	}
	if n := e.srv.Stats().Operations["PutProvisionedConcurrencyConfig"].Requests; n != 1 {
		t.Errorf("PutProvisionedConcurrencyConfig sent %d times, want 1: the superseded intent makes no call", n)
	}
	if st := e.pc("my-function", "GREEN"); st.Requested != 25 {
		t.Errorf("GREEN = %+v, want the later intent's 25", st)
	}
}

// TestSameFunctionAppliesInOrder: a mirror reads what the record before it
// in the batch set on the same function.
func TestSameFunctionAppliesInOrder(t *testing.T) {
	e := newEnv(t)
	resp, err := e.invokeWithin(invocationBudget, sqsEvent(t, "prewarm-events",
		`{"functionName":"my-function","to":"BLUE","concurrency":40,"wait":false}`,
		`{"functionName":"my-function","from":"BLUE","to":"GREEN","wait":false}`,
	))
	if err != nil {
		t.Fatal(err)
	}
	if failed := batchResponse(t, resp); len(failed) != 0 {
		t.Errorf("batchItemFailures = %v, want none", failed)
	}
	got := e.published("prewarm-results")
	if diff := cmp.Diff([]string{"my-function:BLUE APPLIED", "my-function:GREEN APPLIED"}, outcomes(got)); diff != "" {
		t.Fatalf("results (-want +got):\n%s", diff)
	}
	if d := got[1].Derivation; d == nil || d.Strategy != "mirror" || d.Base != 40 {
		t.Errorf("GREEN derivation = %+v, want a mirror of BLUE's new 40", d)
	}
	if st := e.pc("my-function", "GREEN"); st.Requested != 40 {
		t.Errorf("GREEN = %+v, want 40 mirrored from BLUE as the record before set it", st)
	}
}

// TestControlPlaneCallsPerExplicitIntent: an explicit intent costs at most
// a Get and a Put (or Delete), plus one account-settings read for the whole
// invocation.
func TestControlPlaneCallsPerExplicitIntent(t *testing.T) {
	e := newEnv(t)
	bodies := []string{
		`{"functionName":"my-function","to":"GREEN","concurrency":15,"wait":false}`,
		`{"functionName":"my-function","to":"BLUE","concurrency":0}`,
		`{"functionName":"checkout-api","to":"GREEN","concurrency":15,"wait":false}`,
		`{"functionName":"orders-worker","to":"live","concurrency":20,"wait":false}`,
		`{"functionName":"broken-function","to":"BLUE","concurrency":7,"wait":false}`,
	}
	resp, err := e.invokeWithin(invocationBudget, sqsEvent(t, "prewarm-events", bodies...))
	if err != nil {
		t.Fatal(err)
	}
	if failed := batchResponse(t, resp); len(failed) != 0 {
		t.Fatalf("batchItemFailures = %v, want none", failed)
	}
	want := []string{
		"my-function:GREEN APPLIED", "my-function:BLUE RELEASED", "checkout-api:GREEN APPLIED",
		"orders-worker:live APPLIED", "broken-function:BLUE APPLIED",
	}
	if diff := cmp.Diff(want, outcomes(e.published("prewarm-results"))); diff != "" {
		t.Fatalf("results (-want +got):\n%s", diff)
	}
	calls := e.lambdaCalls()
	if calls["GetAccountSettings"] != 1 {
		t.Errorf("GetAccountSettings called %d times, want 1", calls["GetAccountSettings"])
	}
	var perIntent int64
	for op, n := range calls {
		if op != "GetAccountSettings" {
			perIntent += n
		}
	}
	if limit := int64(2 * len(bodies)); perIntent > limit {
		t.Errorf("%d control-plane calls for %d explicit intents, want at most %d: %v", perIntent, len(bodies), limit, calls)
	}
	if calls["PutProvisionedConcurrencyConfig"] != 4 || calls["DeleteProvisionedConcurrencyConfig"] != 1 {
		t.Errorf("calls = %v, want 4 Puts and 1 Delete", calls)
	}
}

func TestAccountSettingsReadOncePerInvocation(t *testing.T) {
	e := newEnv(t)
	batch := sqsEvent(t, "prewarm-events",
		`{"functionName":"my-function","to":"GREEN","concurrency":15}`,
		`{"functionName":"my-function","to":"3","concurrency":5}`,
		`{"functionName":"checkout-api","to":"GREEN","concurrency":12}`,
		`{"functionName":"checkout-api","to":"3","concurrency":12}`,
		`{"functionName":"orders-worker","to":"live","concurrency":10}`,
		`{"functionName":"orders-worker","to":"BLUE","concurrency":10}`,
		`{"functionName":"broken-function","to":"BLUE","concurrency":8}`,
		`{"version":"0","id":"ev-9","detail-type":"Alias Switch","source":"prewarm","detail":{"functionName":"broken-function","from":"BLUE","to":"GREEN"}}`,
	)
	resp, err := e.invokeWithin(invocationBudget, batch)
	if err != nil {
		t.Fatal(err)
	}
	if failed := batchResponse(t, resp); len(failed) != 0 {
		t.Fatalf("batchItemFailures = %v, want none", failed)
	}
	applied := 0
	for _, m := range e.published("prewarm-results") {
		if m.Outcome == results.OutcomeApplied {
			applied++
		}
	}
	if applied != 8 {
		t.Errorf("%d intents APPLIED, want 8", applied)
	}
	if n := e.lambdaCalls()["GetAccountSettings"]; n != 1 {
		t.Errorf("GetAccountSettings called %d times in one invocation, want 1", n)
	}
	// The figure changes with every Put: the next invocation reads it anew.
	if _, err := e.invokeWithin(invocationBudget, []byte(`{"functionName":"my-function","to":"GREEN","concurrency":16,"wait":false}`)); err != nil {
		t.Fatal(err)
	}
	if n := e.lambdaCalls()["GetAccountSettings"]; n != 2 {
		t.Errorf("GetAccountSettings called %d times in two invocations, want 2", n)
	}
}

func TestDirectInvocationErrors(t *testing.T) {
	t.Run("transient", func(t *testing.T) {
		e := newEnv(t, withFaults(localaws.Faults{ErrorRate: localaws.Rates{"PutProvisionedConcurrencyConfig": 1}}))
		_, err := e.invokeWithin(invocationBudget, []byte(`{"functionName":"my-function","to":"GREEN","concurrency":15}`))
		if !errors.Is(err, handler.ErrRetry) {
			t.Errorf("error = %v, want ErrRetry so the caller tries again", err)
		}
		if got := outcomes(e.published("prewarm-results")); len(got) != 0 {
			t.Errorf("results = %v, want none for a change that did not happen", got)
		}
	})
	t.Run("publish fails", func(t *testing.T) {
		e := newEnv(t)
		e.rewire(results.NewPublisher(e.sqs, e.url+"/"+testAccount+"/no-such-queue", results.WithSleep(noSleep)))
		_, err := e.invokeWithin(invocationBudget, []byte(`{"functionName":"my-function","to":"GREEN","concurrency":15,"wait":false}`))
		if !errors.Is(err, handler.ErrRetry) {
			t.Errorf("error = %v, want ErrRetry: the result was not published", err)
		}
	})
	t.Run("permanent", func(t *testing.T) {
		e := newEnv(t)
		raw, err := e.invokeWithin(invocationBudget, []byte(`{"functionName":"my-function","to":"PURPLE","concurrency":15}`))
		if err != nil {
			t.Fatalf("error = %v, want none: retrying cannot help", err)
		}
		var resp handler.Response
		if err := json.Unmarshal(raw, &resp); err != nil {
			t.Fatalf("response %s: %v", raw, err)
		}
		if diff := cmp.Diff([]string{"my-function:PURPLE FAILED"}, outcomes(resp.Results)); diff != "" {
			t.Fatalf("response (-want +got):\n%s", diff)
		}
		if awsErr := resp.Results[0].Error; awsErr == nil || awsErr.Code != "ResourceNotFoundException" {
			t.Errorf("error = %+v, want ResourceNotFoundException", awsErr)
		}
		if diff := cmp.Diff([]string{"my-function:PURPLE FAILED"}, outcomes(e.published("prewarm-results"))); diff != "" {
			t.Errorf("published (-want +got):\n%s", diff)
		}
	})
}

// TestDeadlineLeavesNoRecordBehind gives an invocation less time than its
// Puts take: every record either has its result published or is handed
// back to SQS.
func TestDeadlineLeavesNoRecordBehind(t *testing.T) {
	e := newEnv(t, withFaults(localaws.Faults{Latency: localaws.Latencies{"PutProvisionedConcurrencyConfig": time.Minute}}))
	// The handler keeps 3 s for publishing: 0.5 s remain for the Puts.
	resp, err := e.invokeWithin(3500*time.Millisecond, sqsEvent(t, "prewarm-events",
		`{"functionName":"my-function","to":"GREEN","concurrency":15}`,
		`{"functionName":"payroll","to":"live","concurrency":5}`,
		`{"functionName":"checkout-api","to":"GREEN","concurrency":15}`,
		`{"functionName":"broken-function","to":"BLUE","concurrency":5}`,
		`{"functionName":"my-function","to":"$LATEST","concurrency":5}`,
		`{"functionName":"orders-worker","to":"live","concurrency":10}`,
	))
	if err != nil {
		t.Fatal(err)
	}
	failed := batchResponse(t, resp)
	if diff := cmp.Diff([]string{"msg-1", "msg-3", "msg-6"}, failed); diff != "" {
		t.Errorf("batchItemFailures (-want +got):\n%s", diff)
	}
	got := e.published("prewarm-results")
	for i := 1; i <= 6; i++ {
		id := fmt.Sprintf("msg-%d", i)
		published := len(resultsFor(got, id)) > 0
		retried := slices.Contains(failed, id)
		if published == retried {
			t.Errorf("%s: published %v, retried %v; want exactly one", id, published, retried)
		}
	}
}

// TestSameFunctionByNameAndARN: the ARN of prewarm's own function and its
// name are one target; a same-named function in another account is not.
func TestSameFunctionByNameAndARN(t *testing.T) {
	e := newEnv(t, withEnv("ALLOWED_FUNCTIONS", "my-function,arn:aws:lambda:us-east-1:999999999999:function:my-function"))
	resp, err := e.invoke(sqsEvent(t, "prewarm-events",
		`{"functionName":"my-function","to":"GREEN","concurrency":7,"wait":false}`,
		`{"functionName":"arn:aws:lambda:us-east-1:123456789012:function:my-function","to":"GREEN","concurrency":8,"wait":false}`,
	))
	if err != nil {
		t.Fatal(err)
	}
	if failed := batchResponse(t, resp); len(failed) != 0 {
		t.Fatalf("failures: %v", failed)
	}
	got := outcomes(e.drain("prewarm-results"))
	if diff := cmp.Diff([]string{"my-function:GREEN SUPERSEDED", "my-function:GREEN APPLIED"}, got); diff != "" {
		t.Errorf("name then own ARN (-want +got):\n%s", diff)
	}
	if st := e.pc("my-function", "GREEN"); st.Requested != 8 {
		t.Errorf("GREEN = %d, want the later 8", st.Requested)
	}

	// The emulator has one account, so the other account's ARN reaches the
	// same emulated function; what matters is that prewarm treats the two as
	// different targets and supersedes neither.
	e = newEnv(t, withEnv("ALLOWED_FUNCTIONS", "my-function,arn:aws:lambda:us-east-1:999999999999:function:my-function"))
	if _, err := e.invoke(sqsEvent(t, "prewarm-events",
		`{"functionName":"my-function","to":"GREEN","concurrency":7,"wait":false}`,
		`{"functionName":"arn:aws:lambda:us-east-1:999999999999:function:my-function","to":"GREEN","concurrency":8,"wait":false}`,
	)); err != nil {
		t.Fatal(err)
	}
	got = outcomes(e.drain("prewarm-results"))
	if diff := cmp.Diff([]string{"my-function:GREEN APPLIED", "my-function:GREEN APPLIED"}, got); diff != "" {
		t.Errorf("own name then another account's ARN (-want +got):\n%s", diff)
	}
}
