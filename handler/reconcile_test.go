package handler_test

import (
	"context"
	"fmt"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	lambdasvc "github.com/aws/aws-sdk-go-v2/service/lambda"
	lambdatypes "github.com/aws/aws-sdk-go-v2/service/lambda/types"
	"github.com/google/go-cmp/cmp"

	"github.com/prewarm/prewarm/localaws"
	"github.com/prewarm/prewarm/localaws/lambdasim"
	"github.com/prewarm/prewarm/results"
)

const scheduledEvent = `{"version":"0","id":"sched-1","detail-type":"Scheduled Event","source":"aws.events","detail":{}}`

// reconcile runs one scheduled pass and returns what it published.
func (e *env) reconcile() []results.Message {
	e.t.Helper()
	raw, err := e.invokeWithin(invocationBudget, []byte(scheduledEvent))
	if err != nil {
		e.t.Fatalf("reconcile: %v", err)
	}
	if failed := batchResponse(e.t, raw); len(failed) != 0 {
		e.t.Fatalf("reconcile: batchItemFailures = %v", failed)
	}
	return e.published("prewarm-results")
}

func TestReconcileReportsFailedConfiguration(t *testing.T) {
	e := newEnv(t)
	e.put("broken-function", "GREEN", 5) // version 2 fails to initialise
	e.clk.Advance(10 * time.Second)
	e.srv.ResetStats()
	got := e.reconcile()
	if diff := cmp.Diff([]string{"broken-function:GREEN FAILED"}, outcomes(got)); diff != "" {
		t.Fatalf("results (-want +got):\n%s", diff)
	}
	m := got[0]
	if m.Response == nil || m.Response.StatusReason != lambdasim.ReasonInitFailure {
		t.Errorf("response = %+v, want StatusReason %s", m.Response, lambdasim.ReasonInitFailure)
	}
	if m.Trigger != "schedule" || m.ID != "sched-1" {
		t.Errorf("trigger %q id %q, want schedule sched-1", m.Trigger, m.ID)
	}
	if n := e.lambdaCalls()["PutProvisionedConcurrencyConfig"]; n != 0 {
		t.Errorf("%d Puts: a FAILED configuration is reported, not changed", n)
	}
}

// TestReconcileBringsDriftBackWithinPolicy: checkout-* has a policy max of
// 50 in the test configuration. A drifted value is brought back whether it
// is READY or still allocating.
func TestReconcileBringsDriftBackWithinPolicy(t *testing.T) {
	for name, wait := range map[string]time.Duration{"READY": 10 * time.Second, "IN_PROGRESS": 0} {
		t.Run(name, func(t *testing.T) {
			e := newEnv(t)
			e.put("checkout-api", "GREEN", 80)
			e.clk.Advance(wait)
			if st := e.pc("checkout-api", "GREEN"); string(st.Status) != name {
				t.Fatalf("checkout-api:GREEN = %+v before the pass, want %s", st, name)
			}
			got := e.reconcile()
			if diff := cmp.Diff([]string{"checkout-api:GREEN APPLIED", "checkout-api:GREEN READY"}, outcomes(got)); diff != "" {
				t.Fatalf("results (-want +got):\n%s", diff)
			}
			applied := got[0]
			if applied.Previous == nil || applied.Previous.RequestedProvisionedConcurrentExecutions != 80 {
				t.Errorf("APPLIED previous = %+v, want the drifted 80", applied.Previous)
			}
			if applied.Derivation == nil || applied.Derivation.Value != 50 {
				t.Errorf("APPLIED derivation = %+v, want value 50", applied.Derivation)
			}
			if st := e.pc("checkout-api", "GREEN"); st.Requested != 50 || st.Status != "READY" {
				t.Errorf("checkout-api:GREEN = %+v, want 50 READY", st)
			}
			// The next pass finds nothing to do.
			if got := outcomes(e.reconcile()); len(got) != 0 {
				t.Errorf("second pass published %v, want nothing", got)
			}
		})
	}
}

func TestReconcileTracksInProgressToReady(t *testing.T) {
	e := newEnv(t)
	e.put("my-function", "GREEN", 15) // IN_PROGRESS for the world's 3 s
	e.srv.ResetStats()
	got := e.reconcile()
	if diff := cmp.Diff([]string{"my-function:GREEN READY"}, outcomes(got)); diff != "" {
		t.Fatalf("results (-want +got):\n%s", diff)
	}
	if r := got[0].Response; r == nil || r.RequestedProvisionedConcurrentExecutions != 15 || r.Status != "READY" {
		t.Errorf("READY response = %+v, want 15 READY", r)
	}
	if n := e.lambdaCalls()["PutProvisionedConcurrencyConfig"]; n != 0 {
		t.Errorf("%d Puts while tracking, want none", n)
	}
	if n := len(e.drainBodies("prewarm-followup")); n != 0 {
		t.Errorf("%d follow-ups written by reconcile, want none", n)
	}
}

// TestReconcileExpandsPatternsAcrossPages adds more functions matching
// checkout-* than one ListFunctions page holds, each with a FAILED
// configuration, and expects a result for every one of them.
func TestReconcileExpandsPatternsAcrossPages(t *testing.T) {
	const fleet = 60
	e := newEnv(t, withWorld(func(w *localaws.World) {
		for i := range fleet {
			w.Functions = append(w.Functions, lambdasim.Function{
				Name:                   fmt.Sprintf("checkout-fleet-%02d", i),
				Versions:               []string{"1"},
				Aliases:                map[string]string{"live": "1"},
				InitFailureVersions:    []string{"1"},
				ProvisionedConcurrency: map[string]int{"live": 1},
			})
		}
	}))
	e.clk.Advance(10 * time.Second)
	got := e.reconcile()
	// One record visits a chunk of the pass; the rest continues in
	// follow-ups, each visiting its own chunk.
	continuations := e.drainBodies("prewarm-followup")
	if len(continuations) != 1 {
		t.Fatalf("%d reconcile continuations written, want 1 for the %d functions past the first chunk", len(continuations), fleet-50)
	}
	for _, body := range continuations {
		if _, err := e.invokeWithin(invocationBudget, []byte(body)); err != nil {
			t.Fatalf("continue the pass: %v", err)
		}
		got = append(got, e.published("prewarm-results")...)
	}
	var want []string
	for i := range fleet {
		want = append(want, fmt.Sprintf("checkout-fleet-%02d:live FAILED", i))
	}
	// The pass reads functions concurrently: the order of results is not
	// part of the contract.
	gotOutcomes := outcomes(got)
	slices.Sort(gotOutcomes)
	if diff := cmp.Diff(want, gotOutcomes); diff != "" {
		t.Errorf("results (-want +got):\n%s", diff)
	}
	if n := e.lambdaCalls()["ListFunctions"]; n < 2 {
		t.Errorf("ListFunctions called %d times, want every page read", n)
	}
}

// TestReconcileCoversARNEntries: functions allowed by full or partial ARN
// are reconciled too, and a function allowed both by name and by ARN once.
func TestReconcileCoversARNEntries(t *testing.T) {
	e := newEnv(t, withEnv("ALLOWED_FUNCTIONS", "my-function,"+
		"arn:aws:lambda:us-east-1:123456789012:function:broken-function,"+
		"123456789012:function:orders-worker,"+
		"arn:aws:lambda:us-east-1:123456789012:function:my-function"))
	e.put("broken-function", "GREEN", 5) // fails to initialise
	e.clk.Advance(10 * time.Second)
	e.put("orders-worker", "live", 10) // IN_PROGRESS
	e.put("my-function", "GREEN", 15)  // IN_PROGRESS
	e.srv.ResetStats()
	got := outcomes(e.reconcile())
	slices.Sort(got)
	want := []string{"broken-function:GREEN FAILED", "my-function:GREEN READY", "orders-worker:live READY"}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("results (-want +got):\n%s", diff)
	}
	if n := e.lambdaCalls()["ListProvisionedConcurrencyConfigs"]; n != 3 {
		t.Errorf("ListProvisionedConcurrencyConfigs called %d times, want once for each of 3 functions", n)
	}
}

// TestReconcileReportsWeightsLeftBehind: an alias whose provisioned
// concurrency FAILED while it still routes by weight, minutes later, is
// what a failed initialisation leaves under SAM's alias provisioned
// concurrency; reconcile's FAILED result says so, with the command that
// clears the weights.
func TestReconcileReportsWeightsLeftBehind(t *testing.T) {
	e := newEnv(t)
	e.put("broken-function", "GREEN", 5) // version 2 fails to initialise
	// CodeDeploy's traffic shift leaves GREEN routing 90% to version 1.
	e.routeAlias("broken-function", "GREEN", map[string]float64{"1": 0.9})
	e.clk.Advance(10 * time.Minute)
	e.srv.ResetStats()
	var reason string
	for _, m := range e.reconcile() {
		if m.FunctionName == "broken-function" && m.Qualifier == "GREEN" && m.Outcome == "FAILED" {
			reason = m.Reason
		}
	}
	if !strings.Contains(reason, "update-alias") || !strings.Contains(reason, "--routing-config") {
		t.Errorf("FAILED reason %q, want the weights left behind and the command that clears them", reason)
	}
	if n := e.lambdaCalls()["UpdateAlias"]; n != 0 {
		t.Errorf("UpdateAlias called %d times without the policy's clearWeights", n)
	}
	if _, w, _ := e.srv.Lambda().Alias("broken-function", "GREEN"); !cmp.Equal(map[string]float64{"1": 0.9}, w) {
		t.Errorf("GREEN's weights %v; want them left as they were", w)
	}
}

// TestReconcileClearsWeightsWhenThePolicySaysSo: with clearWeights in the
// function's policy rule, reconcile clears the weights itself.
func TestReconcileClearsWeightsWhenThePolicySaysSo(t *testing.T) {
	e := newEnv(t, withEnv("POLICY", `{"broken-function":{"clearWeights":true}}`))
	e.put("broken-function", "GREEN", 5)
	e.routeAlias("broken-function", "GREEN", map[string]float64{"1": 0.9})
	e.clk.Advance(10 * time.Minute)
	e.srv.ResetStats()
	var reason string
	for _, m := range e.reconcile() {
		if m.FunctionName == "broken-function" && m.Qualifier == "GREEN" && m.Outcome == "FAILED" {
			reason = m.Reason
		}
	}
	if n := e.lambdaCalls()["UpdateAlias"]; n != 1 || !strings.Contains(reason, "cleared") {
		t.Errorf("UpdateAlias called %d times, reason %q; want the weights cleared once and said so", n, reason)
	}
	if v, w, _ := e.srv.Lambda().Alias("broken-function", "GREEN"); v != "2" || len(w) != 0 {
		t.Errorf("GREEN on version %s with weights %v; want on version 2 without weights", v, w)
	}
}

// routeAlias sets function:alias's routing weights through the real client,
// as CodeDeploy's traffic shifting does (AWS takes them on an alias with
// provisioned concurrency too).
func (e *env) routeAlias(function, alias string, weights map[string]float64) {
	e.t.Helper()
	_, err := e.lambda.UpdateAlias(context.Background(), &lambdasvc.UpdateAliasInput{
		FunctionName: aws.String(function), Name: aws.String(alias),
		RoutingConfig: &lambdatypes.AliasRoutingConfiguration{AdditionalVersionWeights: weights},
	})
	if err != nil {
		e.t.Fatalf("update alias %s:%s with weights %v: %v", function, alias, weights, err)
	}
}
