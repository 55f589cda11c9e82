package handler_test

import (
	"context"
	"encoding/json"
	"sync"
	"testing"
	"time"

	awsevents "github.com/aws/aws-lambda-go/events"
	"github.com/google/go-cmp/cmp"

	"github.com/prewarm/prewarm/handler"
	"github.com/prewarm/prewarm/intent"
	"github.com/prewarm/prewarm/localaws"
	"github.com/prewarm/prewarm/provision"
)

// fifoRecord is one record of the FIFO input queue in message group group.
func fifoRecord(messageID, group, body string) awsevents.SQSMessage {
	r := sqsRecord("prewarm-events.fifo", messageID, body)
	r.Attributes = map[string]string{"MessageGroupId": group}
	return r
}

// flakyControl fails the operations named in failing with a transient
// error while they are set, and records the order of writes.
type flakyControl struct {
	handler.Control
	mu      sync.Mutex
	failing map[string]bool
	writes  []string
}

func (f *flakyControl) fail(op string, on bool) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.failing == nil {
		f.failing = map[string]bool{}
	}
	f.failing[op] = on
}

func (f *flakyControl) check(op, function, qualifier string) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.failing[op] {
		return &provision.Error{Op: op, Function: function, Qualifier: qualifier, Code: "ServiceException", Message: "injected", Transient: true}
	}
	return nil
}

func (f *flakyControl) Put(ctx context.Context, function, qualifier string, n int64) (provision.Status, error) {
	if err := f.check("Put", function, qualifier); err != nil {
		return provision.Status{}, err
	}
	f.mu.Lock()
	f.writes = append(f.writes, "Put "+qualifier)
	f.mu.Unlock()
	return f.Control.Put(ctx, function, qualifier, n)
}

func (f *flakyControl) Delete(ctx context.Context, function, qualifier string) error {
	if err := f.check("Delete", function, qualifier); err != nil {
		return err
	}
	f.mu.Lock()
	f.writes = append(f.writes, "Delete "+qualifier)
	f.mu.Unlock()
	return f.Control.Delete(ctx, function, qualifier)
}

// withFlakyControl rewires e's handler through a flakyControl.
func withFlakyControl(e *env) *flakyControl {
	f := &flakyControl{Control: e.control}
	e.rewireWith(func(d *handler.Deps) { d.Control = f })
	return f
}

// TestFIFOFailureHoldsBackOnlyItsGroup: a failure in one message group
// hands back the rest of that group; the other groups are processed and
// acknowledged.
func TestFIFOFailureHoldsBackOnlyItsGroup(t *testing.T) {
	e := newEnv(t)
	f := withFlakyControl(e)
	f.fail("Delete", true)
	resp, err := e.invokeWithin(invocationBudget, sqsBatch(t,
		fifoRecord("a-1", "team-a", `{"functionName":"my-function","to":"BLUE","concurrency":0}`),
		fifoRecord("b-1", "team-b", `{"functionName":"checkout-api","to":"GREEN","concurrency":15,"wait":false}`),
		fifoRecord("a-2", "team-a", `{"functionName":"orders-worker","to":"live","concurrency":5,"wait":false}`),
		fifoRecord("b-2", "team-b", `{"functionName":"orders-worker","to":"BLUE","concurrency":3,"wait":false}`),
	))
	if err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff([]string{"a-1", "a-2"}, batchResponse(t, resp)); diff != "" {
		t.Errorf("batchItemFailures (-want +got):\n%s", diff)
	}
	got := e.published("prewarm-results")
	if diff := cmp.Diff([]string{"checkout-api:GREEN APPLIED", "orders-worker:BLUE APPLIED"}, outcomes(got)); diff != "" {
		t.Errorf("results (-want +got):\n%s", diff)
	}
	if st := e.pc("orders-worker", "live"); st.Exists {
		t.Errorf("orders-worker:live = %+v: a record after the failure in its group was applied", st)
	}
}

// TestFIFOGroupRetriedInOrder: once the failure clears, the group's
// records received again are applied in their order.
func TestFIFOGroupRetriedInOrder(t *testing.T) {
	e := newEnv(t)
	f := withFlakyControl(e)
	group := []awsevents.SQSMessage{
		fifoRecord("a-1", "team-a", `{"functionName":"my-function","to":"GREEN","concurrency":30,"wait":false}`),
		fifoRecord("a-2", "team-a", `{"functionName":"my-function","from":"GREEN","to":"BLUE","scale":0.5,"wait":false}`),
	}
	f.fail("Put", true)
	resp, err := e.invokeWithin(invocationBudget, sqsBatch(t, group...))
	if err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff([]string{"a-1", "a-2"}, batchResponse(t, resp)); diff != "" {
		t.Fatalf("batchItemFailures (-want +got):\n%s", diff)
	}
	f.fail("Put", false)
	resp, err = e.invokeWithin(invocationBudget, sqsBatch(t, group...))
	if err != nil {
		t.Fatal(err)
	}
	if failed := batchResponse(t, resp); len(failed) != 0 {
		t.Fatalf("batchItemFailures = %v on redelivery, want none", failed)
	}
	if diff := cmp.Diff([]string{"Put GREEN", "Put BLUE"}, f.writes); diff != "" {
		t.Errorf("writes (-want +got):\n%s", diff)
	}
	if st := e.pc("my-function", "BLUE"); st.Requested != 15 {
		t.Errorf("BLUE = %+v, want 15: half of GREEN's 30, which the record before set", st)
	}
}

// TestSameFunctionPutInOrderWhileAllocating: two intents for one function
// in one batch are Put in order, the second without waiting for the first
// to be READY, and both are followed to READY in the same invocation.
func TestSameFunctionPutInOrderWhileAllocating(t *testing.T) {
	e := newEnv(t, withWorld(func(w *localaws.World) { w.ReadyAfter = localaws.Duration(12 * time.Second) }))
	f := withFlakyControl(e)
	resp, err := e.invokeWithin(invocationBudget, sqsEvent(t, "prewarm-events",
		`{"functionName":"orders-worker","to":"BLUE","concurrency":12}`,
		`{"functionName":"orders-worker","to":"GREEN","concurrency":7}`,
	))
	if err != nil {
		t.Fatal(err)
	}
	if failed := batchResponse(t, resp); len(failed) != 0 {
		t.Fatalf("batchItemFailures = %v", failed)
	}
	if diff := cmp.Diff([]string{"Put BLUE", "Put GREEN"}, f.writes); diff != "" {
		t.Errorf("writes (-want +got):\n%s", diff)
	}
	got := outcomes(e.published("prewarm-results"))
	want := []string{"orders-worker:BLUE APPLIED", "orders-worker:GREEN APPLIED", "orders-worker:BLUE READY", "orders-worker:GREEN READY"}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("results (-want +got):\n%s", diff)
	}
	// Both were read together: several targets of one function share a List.
	if n := e.lambdaCalls()["ListProvisionedConcurrencyConfigs"]; n == 0 {
		t.Error("no ListProvisionedConcurrencyConfigs: the two targets were read one Get each")
	}
}

// TestReleaseFailureAfterReadyIsRetried: when releasing the outgoing alias
// fails after the target became READY, the release is tried again (in the
// follow-up), READY is published once, and the pipeline gets RELEASED.
func TestReleaseFailureAfterReadyIsRetried(t *testing.T) {
	e := newEnv(t)
	f := withFlakyControl(e)
	f.fail("Delete", true)
	resp, err := e.invokeWithin(invocationBudget, sqsEvent(t, "prewarm-events", switchMyFunction))
	if err != nil {
		t.Fatal(err)
	}
	if failed := batchResponse(t, resp); len(failed) != 0 {
		t.Fatalf("batchItemFailures = %v, want none: the release goes on in a follow-up", failed)
	}
	seen := outcomes(e.published("prewarm-results"))
	if st := e.pc("my-function", "BLUE"); st.Requested != 10 {
		t.Fatalf("BLUE = %+v while its release fails, want its 10", st)
	}
	f.fail("Delete", false)
	bodies := e.followUps(t)
	if len(bodies) != 1 {
		t.Fatalf("%d follow-ups, want 1 carrying the release", len(bodies))
	}
	if _, err := e.invokeWithin(invocationBudget, sqsEvent(t, "prewarm-followup", bodies[0])); err != nil {
		t.Fatal(err)
	}
	seen = append(seen, outcomes(e.published("prewarm-results"))...)
	want := []string{"my-function:GREEN APPLIED", "my-function:GREEN READY", "my-function:BLUE RELEASED"}
	if diff := cmp.Diff(want, seen); diff != "" {
		t.Errorf("results (-want +got):\n%s", diff)
	}
	if st := e.pc("my-function", "BLUE"); st.Exists {
		t.Errorf("BLUE = %+v, want released", st)
	}
}

// TestRepeatedSwitchFinishesRelease: without a follow-up queue a failed
// release hands the record back; delivered again, the switch finds its
// target READY and finishes the release instead of stopping at UNCHANGED.
func TestRepeatedSwitchFinishesRelease(t *testing.T) {
	e := newEnv(t, withEnv("FOLLOWUP_QUEUE_URL", ""))
	f := withFlakyControl(e)
	f.fail("Delete", true)
	resp, err := e.invokeWithin(invocationBudget, sqsEvent(t, "prewarm-events", switchMyFunction))
	if err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff([]string{"msg-1"}, batchResponse(t, resp)); diff != "" {
		t.Fatalf("batchItemFailures (-want +got):\n%s", diff)
	}
	first := outcomes(e.published("prewarm-results"))
	f.fail("Delete", false)
	resp, err = e.invokeWithin(invocationBudget, sqsEvent(t, "prewarm-events", switchMyFunction))
	if err != nil {
		t.Fatal(err)
	}
	if failed := batchResponse(t, resp); len(failed) != 0 {
		t.Fatalf("redelivery: batchItemFailures = %v", failed)
	}
	again := outcomes(e.published("prewarm-results"))
	if diff := cmp.Diff([]string{"my-function:GREEN APPLIED", "my-function:GREEN READY"}, first); diff != "" {
		t.Errorf("first delivery (-want +got):\n%s", diff)
	}
	if diff := cmp.Diff([]string{"my-function:GREEN UNCHANGED", "my-function:BLUE RELEASED"}, again); diff != "" {
		t.Errorf("redelivery (-want +got):\n%s", diff)
	}
	if st := e.pc("my-function", "BLUE"); st.Exists {
		t.Errorf("BLUE = %+v, want released", st)
	}
}

// forgedFollowUp is a follow-up body for my-function GREEN with the given
// tracking window, as anyone able to write to the input queue could send.
func forgedFollowUp(t *testing.T, value int64, started, deadline time.Time) string {
	t.Helper()
	fn, _, err := intent.ParseFunction("my-function")
	if err != nil {
		t.Fatal(err)
	}
	body, err := intent.EncodeFollowUp(intent.FollowUp{
		Intent: intent.Intent{
			ID: "forged", Trigger: intent.TriggerSQS, Function: fn, Qualifier: "GREEN", From: "BLUE",
			Release: intent.Release{Mode: intent.ReleaseDelete}, Wait: true,
		},
		Value: value, Base: value, Scale: 1, Strategy: "explicit", Started: started, Deadline: deadline,
	})
	if err != nil {
		t.Fatal(err)
	}
	return string(body)
}

// TestFollowUpHonoursDryRun: a follow-up already queued when DRY_RUN is
// turned on (or forged) releases nothing: it reports what it would do.
func TestFollowUpHonoursDryRun(t *testing.T) {
	e := newEnv(t, withEnv("DRY_RUN", "true"))
	e.put("my-function", "GREEN", 8)
	e.clk.Advance(10 * time.Second)
	now := e.clk.Now()
	if _, err := e.invokeWithin(invocationBudget, sqsEvent(t, "prewarm-events", forgedFollowUp(t, 8, now, now.Add(time.Minute)))); err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff([]string{"my-function:GREEN READY", "my-function:BLUE DRY_RUN"}, outcomes(e.published("prewarm-results"))); diff != "" {
		t.Errorf("results (-want +got):\n%s", diff)
	}
	if st := e.pc("my-function", "BLUE"); st.Requested != 10 {
		t.Errorf("BLUE = %+v under DRY_RUN, want its 10 untouched", st)
	}
}

// TestFollowUpIsBoundedByConfiguration: what a follow-up claims is not
// trusted: its deadline is cut to TRACK_TIMEOUT from its start, and a value
// above MAX_CONCURRENCY is refused.
func TestFollowUpIsBoundedByConfiguration(t *testing.T) {
	e := newEnv(t, withWorld(func(w *localaws.World) { w.ReadyAfter = localaws.Duration(time.Hour) }))
	e.put("my-function", "GREEN", 8)
	now := e.clk.Now()
	resp, err := e.invokeWithin(invocationBudget, sqsEvent(t, "prewarm-events",
		forgedFollowUp(t, 8, now.Add(-20*time.Minute), now.Add(24*time.Hour)),
		forgedFollowUp(t, 5000, now, now.Add(time.Minute)),
	))
	if err != nil {
		t.Fatal(err)
	}
	if failed := batchResponse(t, resp); len(failed) != 0 {
		t.Fatalf("batchItemFailures = %v", failed)
	}
	got := e.published("prewarm-results")
	if diff := cmp.Diff([]string{"my-function:GREEN REJECTED", "my-function:GREEN TIMED_OUT"}, outcomes(got)); diff != "" {
		t.Fatalf("results (-want +got):\n%s", diff)
	}
	if st := e.pc("my-function", "BLUE"); st.Requested != 10 {
		t.Errorf("BLUE = %+v, want its 10 untouched", st)
	}
	if n := len(e.drainBodies("prewarm-followup")); n != 0 {
		t.Errorf("%d follow-ups written, want none: the forged deadline was cut", n)
	}
}

// TestSupersededOnlyByAnIntentThatApplies: when the later intent for a
// target is rejected by its derivation, the earlier one is applied rather
// than reported SUPERSEDED, so the target is not left with nothing.
func TestSupersededOnlyByAnIntentThatApplies(t *testing.T) {
	e := newEnv(t)
	resp, err := e.invokeWithin(invocationBudget, sqsEvent(t, "prewarm-events",
		`{"functionName":"my-function","to":"GREEN","concurrency":15,"wait":false}`,
		`{"functionName":"my-function","from":"3","to":"GREEN","wait":false}`,
	))
	if err != nil {
		t.Fatal(err)
	}
	if failed := batchResponse(t, resp); len(failed) != 0 {
		t.Fatalf("batchItemFailures = %v", failed)
	}
	got := e.published("prewarm-results")
	if diff := cmp.Diff([]string{"my-function:GREEN APPLIED"}, resultsFor(got, "msg-1")); diff != "" {
		t.Errorf("first intent (-want +got):\n%s", diff)
	}
	if diff := cmp.Diff([]string{"my-function:GREEN REJECTED"}, resultsFor(got, "msg-2")); diff != "" {
		t.Errorf("second intent (-want +got):\n%s", diff)
	}
	if st := e.pc("my-function", "GREEN"); st.Requested != 15 {
		t.Errorf("GREEN = %+v, want the first intent's 15", st)
	}
}

// TestOneFollowUpCarriesSeveralTargets: the targets still allocating at the
// end of an invocation continue in one follow-up message.
func TestOneFollowUpCarriesSeveralTargets(t *testing.T) {
	e := newEnv(t, withEnv("WAIT_SECONDS", "2"), withWorld(func(w *localaws.World) { w.ReadyAfter = localaws.Duration(time.Minute) }))
	if _, err := e.invokeWithin(invocationBudget, sqsEvent(t, "prewarm-events",
		`{"functionName":"my-function","to":"GREEN","concurrency":4}`,
		`{"functionName":"checkout-api","to":"GREEN","concurrency":6}`,
	)); err != nil {
		t.Fatal(err)
	}
	bodies := e.followUps(t)
	if len(bodies) != 1 {
		t.Fatalf("%d follow-ups, want 1 for both targets", len(bodies))
	}
	var msg struct {
		Changes []json.RawMessage `json:"prewarmFollowUps"`
	}
	if err := json.Unmarshal([]byte(bodies[0]), &msg); err != nil || len(msg.Changes) != 2 {
		t.Fatalf("follow-up %s: want 2 changes (%v)", bodies[0], err)
	}
}
