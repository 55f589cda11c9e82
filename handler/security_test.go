package handler_test

import (
	"encoding/json"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/prewarm/prewarm/handler"
	"github.com/prewarm/prewarm/intent"
	"github.com/prewarm/prewarm/results"
)

// cloudTrailUpdateAlias is the CloudTrail event of an UpdateAlias call on
// function (a name or ARN), as EventBridge delivers it.
func cloudTrailUpdateAlias(function, alias, version string) string {
	return fmt.Sprintf(`{"version":"0","id":"ct-1","detail-type":"AWS API Call via CloudTrail","source":"aws.lambda",`+
		`"account":"123456789012","region":"us-east-1","detail":{"eventSource":"lambda.amazonaws.com",`+
		`"eventName":"UpdateAlias20150331","awsRegion":"us-east-1",`+
		`"requestParameters":{"functionName":%q,"name":%q,"functionVersion":%q},`+
		`"responseElements":{"functionName":%q,"name":%q,"functionVersion":%q}}}`,
		function, alias, version, function, alias, version)
}

// notAllowed are payloads for functions prewarm may not touch, in every
// input form, with what the REJECTED reason must say.
var notAllowed = map[string]struct{ payload, reason string }{
	"name not listed":          {`{"functionName":"payroll","to":"live","concurrency":5}`, "ALLOWED_FUNCTIONS"},
	"prefix without its dash":  {`{"functionName":"checkout","to":"live","concurrency":5}`, "ALLOWED_FUNCTIONS"},
	"other account ARN":        {`{"functionName":"arn:aws:lambda:us-east-1:999999999999:function:my-function","to":"GREEN","concurrency":5}`, "ALLOWED_FUNCTIONS"},
	"other account partial":    {`{"functionName":"999999999999:function:my-function","to":"GREEN","concurrency":5}`, "ALLOWED_FUNCTIONS"},
	"other Region ARN":         {`{"functionName":"arn:aws:lambda:eu-west-1:123456789012:function:my-function","to":"GREEN","concurrency":5}`, "ALLOWED_FUNCTIONS"},
	"other partition ARN":      {`{"functionName":"arn:aws-cn:lambda:cn-north-1:123456789012:function:my-function","to":"GREEN","concurrency":5}`, "ALLOWED_FUNCTIONS"},
	"$LATEST":                  {`{"functionName":"my-function","to":"$LATEST","concurrency":5}`, "$LATEST"},
	"$LATEST in the ARN":       {`{"functionName":"arn:aws:lambda:us-east-1:123456789012:function:my-function:$LATEST","concurrency":5}`, "$LATEST"},
	"API shape":                {`{"FunctionName":"payroll","Qualifier":"live","ProvisionedConcurrentExecutions":5}`, "ALLOWED_FUNCTIONS"},
	"Alias Switch":             {`{"version":"0","id":"ev-x","detail-type":"Alias Switch","source":"prewarm","detail":{"functionName":"payroll","from":"BLUE","to":"GREEN"}}`, "ALLOWED_FUNCTIONS"},
	"PC Change other account":  {`{"version":"0","id":"ev-y","detail-type":"Provisioned Concurrency Change","source":"prewarm","detail":{"functionName":"arn:aws:lambda:us-east-1:999999999999:function:checkout-api","to":"live","concurrency":5}}`, "ALLOWED_FUNCTIONS"},
	"CloudTrail":               {cloudTrailUpdateAlias("payroll", "live", "3"), "ALLOWED_FUNCTIONS"},
	"CloudTrail other account": {cloudTrailUpdateAlias("arn:aws:lambda:us-east-1:999999999999:function:checkout-api", "live", "3"), "ALLOWED_FUNCTIONS"},
	// An alias moved in another account, named by its plain name: the
	// event's account decides, not the name.
	"CloudTrail by name in another account": {strings.Replace(cloudTrailUpdateAlias("checkout-api", "live", "3"),
		`"account":"123456789012","region":"us-east-1"`, `"account":"999999999999","region":"us-east-1"`, 1), "ALLOWED_FUNCTIONS"},
	"CloudTrail by name in another Region": {strings.Replace(cloudTrailUpdateAlias("checkout-api", "live", "3"),
		`"awsRegion":"us-east-1"`, `"awsRegion":"eu-west-1"`, 1), "ALLOWED_FUNCTIONS"},
}

// TestNotAllowedRejectedBeforeAnyAWSCall: nothing outside ALLOWED_FUNCTIONS
// reaches the Lambda API, whatever form the request takes.
func TestNotAllowedRejectedBeforeAnyAWSCall(t *testing.T) {
	for name, c := range notAllowed {
		t.Run(name, func(t *testing.T) {
			e := newEnv(t)
			raw, err := e.invoke([]byte(c.payload))
			if err != nil {
				t.Fatal(err)
			}
			var resp handler.Response
			if err := json.Unmarshal(raw, &resp); err != nil {
				t.Fatalf("response %s: %v", raw, err)
			}
			if len(resp.Results) != 1 || resp.Results[0].Outcome != results.OutcomeRejected {
				t.Fatalf("results = %v, want one REJECTED", outcomes(resp.Results))
			}
			if reason := resp.Results[0].Reason; !strings.Contains(reason, c.reason) {
				t.Errorf("reason %q does not mention %s", reason, c.reason)
			}
			if calls := e.lambdaCalls(); len(calls) != 0 {
				t.Errorf("Lambda calls = %v, want none", calls)
			}
		})
	}
	t.Run("SQS batch", func(t *testing.T) {
		e := newEnv(t)
		var bodies []string
		for _, c := range notAllowed {
			bodies = append(bodies, c.payload)
		}
		resp, err := e.invoke(sqsEvent(t, "prewarm-events", bodies...))
		if err != nil {
			t.Fatal(err)
		}
		if failed := batchResponse(t, resp); len(failed) != 0 {
			t.Errorf("batchItemFailures = %v, want none: a rejection is final", failed)
		}
		got := e.published("prewarm-results")
		if len(got) != len(bodies) {
			t.Errorf("%d results for %d records", len(got), len(bodies))
		}
		for _, m := range got {
			if m.Outcome != results.OutcomeRejected {
				t.Errorf("%s:%s %s, want REJECTED", m.FunctionName, m.Qualifier, m.Outcome)
			}
		}
		if calls := e.lambdaCalls(); len(calls) != 0 {
			t.Errorf("Lambda calls = %v, want none", calls)
		}
	})
	// The same forms for an allowed function do reach AWS: the checks above
	// are not passing because nothing works.
	t.Run("allowed ARN in own account and Region", func(t *testing.T) {
		e := newEnv(t)
		if _, err := e.invoke([]byte(`{"functionName":"arn:aws:lambda:us-east-1:123456789012:function:my-function","to":"GREEN","concurrency":5,"wait":false}`)); err != nil {
			t.Fatal(err)
		}
		if diff := cmp.Diff([]string{"my-function:GREEN APPLIED"}, outcomes(e.published("prewarm-results"))); diff != "" {
			t.Errorf("(-want +got):\n%s", diff)
		}
	})
}

// capped is the MAX_CONCURRENCY of TestMaxConcurrencyNeverExceeded. Every
// value its cases ask for fits the account, so a missing cap would show.
const capped = 30

// TestMaxConcurrencyNeverExceeded drives every path that can set
// provisioned concurrency with values above MAX_CONCURRENCY and checks what
// the emulator holds and what prewarm reported.
func TestMaxConcurrencyNeverExceeded(t *testing.T) {
	cases := []struct {
		name string
		// setup prepares the account; it may itself exceed the cap, as
		// another tool could.
		setup   func(e *env)
		payload func(e *env) string
		// target is the qualifier prewarm should have set to the cap.
		function, qualifier string
	}{
		{
			name:     "explicit",
			payload:  func(*env) string { return `{"functionName":"my-function","to":"GREEN","concurrency":60}` },
			function: "my-function", qualifier: "GREEN",
		},
		{
			name:     "explicit with a higher intent max",
			payload:  func(*env) string { return `{"functionName":"my-function","to":"GREEN","concurrency":60,"max":500}` },
			function: "my-function", qualifier: "GREEN",
		},
		{
			name:     "mirror with scale",
			payload:  func(*env) string { return `{"functionName":"my-function","from":"BLUE","to":"GREEN","scale":6}` },
			function: "my-function", qualifier: "GREEN",
		},
		{
			name:     "policy default",
			payload:  func(*env) string { return `{"functionName":"checkout-api","to":"GREEN"}` },
			function: "checkout-api", qualifier: "GREEN",
		},
		{
			name:     "policy default with scale",
			payload:  func(*env) string { return `{"functionName":"checkout-api","to":"GREEN","scale":2.5}` },
			function: "checkout-api", qualifier: "GREEN",
		},
		{
			name: "release standby",
			setup: func(e *env) {
				e.put("my-function", "BLUE", 80)
				e.clk.Advance(10 * time.Second)
			},
			payload: func(*env) string {
				return `{"functionName":"my-function","from":"BLUE","to":"GREEN","concurrency":20,"release":60}`
			},
			function: "my-function", qualifier: "BLUE",
		},
		{
			name: "intent min above the cap",
			payload: func(*env) string {
				return `{"functionName":"my-function","to":"GREEN","concurrency":5,"min":60}`
			},
			function: "my-function", qualifier: "GREEN",
		},
		{
			name: "API shape",
			payload: func(*env) string {
				return `{"FunctionName":"my-function","Qualifier":"GREEN","ProvisionedConcurrentExecutions":60}`
			},
			function: "my-function", qualifier: "GREEN",
		},
		{
			name: "Provisioned Concurrency Change",
			payload: func(*env) string {
				return `{"version":"0","id":"ev-3","detail-type":"Provisioned Concurrency Change","source":"prewarm","detail":{"functionName":"my-function","to":"GREEN","concurrency":60}}`
			},
			function: "my-function", qualifier: "GREEN",
		},
		{
			name: "reconcile drift",
			setup: func(e *env) {
				e.put("my-function", "GREEN", 60)
				e.clk.Advance(10 * time.Second)
			},
			payload:  func(*env) string { return scheduledEvent },
			function: "my-function", qualifier: "GREEN",
		},
		{
			name: "CloudTrail alias move with a policy default",
			setup: func(e *env) {
				if err := e.srv.Lambda().UpdateAlias("checkout-api", "live", "3"); err != nil {
					e.t.Fatal(err)
				}
			},
			payload:  func(*env) string { return cloudTrailUpdateAlias("checkout-api", "live", "3") },
			function: "checkout-api", qualifier: "live",
		},
		{
			name: "CloudTrail alias move keeping the alias's value",
			setup: func(e *env) {
				e.put("my-function", "GREEN", 60)
				e.clk.Advance(10 * time.Second)
				if err := e.srv.Lambda().UpdateAlias("my-function", "GREEN", "3"); err != nil {
					e.t.Fatal(err)
				}
				// The event arrives after the transient routing weights
				// (the world's readyAfter/2) are gone.
				e.clk.Advance(2 * time.Second)
			},
			payload:  func(*env) string { return cloudTrailUpdateAlias("my-function", "GREEN", "3") },
			function: "my-function", qualifier: "GREEN",
		},
		{
			name: "follow-up releasing to a standby",
			setup: func(e *env) {
				e.put("my-function", "GREEN", 20)
				e.put("my-function", "BLUE", 80)
				e.clk.Advance(10 * time.Second)
			},
			payload: func(e *env) string {
				fn, _, err := intent.ParseFunction("my-function")
				if err != nil {
					e.t.Fatal(err)
				}
				body, err := intent.EncodeFollowUp(intent.FollowUp{
					Intent: intent.Intent{
						ID: "ev-4", Trigger: intent.TriggerEventBridge, Function: fn, Qualifier: "GREEN", From: "BLUE",
						Release: intent.Release{Mode: intent.ReleaseStandby, Standby: 60}, Wait: true,
					},
					Value: 20, Strategy: "explicit", Base: 20, Scale: 1, Attempt: 1,
					Started: e.clk.Now().Add(-time.Minute), Deadline: e.clk.Now().Add(time.Hour),
				})
				if err != nil {
					e.t.Fatal(err)
				}
				return string(sqsEvent(e.t, "prewarm-followup", string(body)))
			},
			function: "my-function", qualifier: "BLUE",
		},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			e := newEnv(t,
				withEnv("MAX_CONCURRENCY", fmt.Sprint(capped)),
				withEnv("POLICY", `{"checkout-*":{"default":60,"max":500}}`),
			)
			if c.setup != nil {
				c.setup(e)
			}
			raw, err := e.invokeWithin(invocationBudget, []byte(c.payload(e)))
			if err != nil {
				t.Fatal(err)
			}
			if failed := batchResponse(t, raw); len(failed) != 0 {
				t.Fatalf("batchItemFailures = %v", failed)
			}
			if st := e.pc(c.function, c.qualifier); st.Requested != capped {
				t.Errorf("%s:%s = %+v, want the cap %d", c.function, c.qualifier, st, capped)
			}
			for _, pc := range e.srv.Lambda().Configs() {
				if pc.Requested > capped {
					t.Errorf("%s:%s holds %d, over MAX_CONCURRENCY %d", pc.FunctionName, pc.Qualifier, pc.Requested, capped)
				}
			}
			for _, m := range e.published("prewarm-results") {
				if m.Outcome != results.OutcomeApplied && m.Outcome != results.OutcomeReleased {
					continue
				}
				if m.Response != nil && m.Response.RequestedProvisionedConcurrentExecutions > capped {
					t.Errorf("%s %s:%s put %d, over MAX_CONCURRENCY %d", m.Outcome, m.FunctionName, m.Qualifier, m.Response.RequestedProvisionedConcurrentExecutions, capped)
				}
				if m.Derivation != nil && m.Derivation.Value > capped {
					t.Errorf("%s %s:%s derived %d, over MAX_CONCURRENCY %d", m.Outcome, m.FunctionName, m.Qualifier, m.Derivation.Value, capped)
				}
			}
		})
	}
}

// TestReleaseStandbyOnlyLowers: a numeric release lowers the outgoing
// qualifier to the standby value; it never adds capacity there, which would
// escape the guardrails the derivation applies to every target.
func TestReleaseStandbyOnlyLowers(t *testing.T) {
	cases := []struct {
		name, from string
		standby    int
		want       provisionedValue
	}{
		{name: "above standby is lowered", from: "BLUE", standby: 4, want: provisionedValue{true, 4}},
		{name: "below standby is left", from: "BLUE", standby: 25, want: provisionedValue{true, 10}},
		{name: "none is not created", from: "3", standby: 25, want: provisionedValue{false, 0}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			e := newEnv(t)
			payload := fmt.Sprintf(`{"functionName":"my-function","from":%q,"to":"GREEN","concurrency":20,"release":%d}`, c.from, c.standby)
			if _, err := e.invoke([]byte(payload)); err != nil {
				t.Fatal(err)
			}
			want := []string{"my-function:GREEN APPLIED", "my-function:GREEN READY", "my-function:" + c.from + " RELEASED"}
			if diff := cmp.Diff(want, outcomes(e.published("prewarm-results"))); diff != "" {
				t.Errorf("results (-want +got):\n%s", diff)
			}
			st := e.pc("my-function", c.from)
			if got := (provisionedValue{st.Exists, st.Requested}); got != c.want {
				t.Errorf("%s = %+v, want %+v", c.from, got, c.want)
			}
		})
	}
}

// provisionedValue is whether a qualifier holds provisioned concurrency and
// how much.
type provisionedValue struct {
	Exists    bool
	Requested int64
}

// TestDryRunChangesNothing: DRY_RUN (configuration) and dryRun (intent)
// publish the decision and send no Put or Delete.
func TestDryRunChangesNothing(t *testing.T) {
	intents := []string{
		`{"functionName":"my-function","to":"GREEN","concurrency":15}`,
		`{"functionName":"my-function","to":"BLUE","concurrency":0}`,
		`{"functionName":"checkout-api","to":"GREEN"}`,
		`{"functionName":"broken-function","from":"BLUE","to":"GREEN","release":"delete"}`,
		`{"version":"0","id":"ev-5","detail-type":"Alias Switch","source":"prewarm","detail":{"functionName":"orders-worker","from":"BLUE","to":"live","concurrency":10,"release":"delete"}}`,
	}
	want := []string{
		"my-function:GREEN DRY_RUN", "my-function:BLUE DRY_RUN", "checkout-api:GREEN DRY_RUN",
		"broken-function:GREEN DRY_RUN", "orders-worker:live DRY_RUN",
	}
	check := func(t *testing.T, e *env, raw []byte) {
		t.Helper()
		if failed := batchResponse(t, raw); len(failed) != 0 {
			t.Errorf("batchItemFailures = %v", failed)
		}
		if diff := cmp.Diff(want, outcomes(e.published("prewarm-results"))); diff != "" {
			t.Errorf("results (-want +got):\n%s", diff)
		}
		calls := e.lambdaCalls()
		if calls["PutProvisionedConcurrencyConfig"] != 0 || calls["DeleteProvisionedConcurrencyConfig"] != 0 {
			t.Errorf("Lambda calls = %v, want no Put or Delete", calls)
		}
	}
	t.Run("DRY_RUN", func(t *testing.T) {
		e := newEnv(t, withEnv("DRY_RUN", "true"))
		before := e.srv.Lambda().Configs()
		raw, err := e.invoke(sqsEvent(t, "prewarm-events", intents...))
		if err != nil {
			t.Fatal(err)
		}
		check(t, e, raw)
		if diff := cmp.Diff(before, e.srv.Lambda().Configs()); diff != "" {
			t.Errorf("configurations changed (-before +after):\n%s", diff)
		}
	})
	t.Run("dryRun", func(t *testing.T) {
		e := newEnv(t)
		before := e.srv.Lambda().Configs()
		bodies := make([]string, len(intents))
		for i, b := range intents {
			var o map[string]any
			if err := json.Unmarshal([]byte(b), &o); err != nil {
				t.Fatal(err)
			}
			target := o
			if d, ok := o["detail"].(map[string]any); ok {
				target = d
			}
			target["dryRun"] = true
			nb, err := json.Marshal(o)
			if err != nil {
				t.Fatal(err)
			}
			bodies[i] = string(nb)
		}
		raw, err := e.invoke(sqsEvent(t, "prewarm-events", bodies...))
		if err != nil {
			t.Fatal(err)
		}
		check(t, e, raw)
		if diff := cmp.Diff(before, e.srv.Lambda().Configs()); diff != "" {
			t.Errorf("configurations changed (-before +after):\n%s", diff)
		}
	})
	t.Run("DRY_RUN reconcile", func(t *testing.T) {
		e := newEnv(t, withEnv("DRY_RUN", "true"))
		e.put("checkout-api", "GREEN", 80)
		e.clk.Advance(10 * time.Second)
		e.srv.ResetStats()
		if _, err := e.invoke([]byte(scheduledEvent)); err != nil {
			t.Fatal(err)
		}
		if diff := cmp.Diff([]string{"checkout-api:GREEN DRY_RUN"}, outcomes(e.published("prewarm-results"))); diff != "" {
			t.Errorf("results (-want +got):\n%s", diff)
		}
		if n := e.lambdaCalls()["PutProvisionedConcurrencyConfig"]; n != 0 {
			t.Errorf("%d Puts in a dry run", n)
		}
		if st := e.pc("checkout-api", "GREEN"); st.Requested != 80 {
			t.Errorf("checkout-api:GREEN = %+v, want the drifted 80 left alone", st)
		}
	})
}

// TestRegionFromTheInvokedFunction: without AWS_REGION, prewarm's own
// Region is the invoked function's, so a CloudTrail alias move in its own
// account and Region is allowed by a name entry, and one in another Region
// is not.
func TestRegionFromTheInvokedFunction(t *testing.T) {
	for _, tt := range []struct {
		name, region string
		want         string
	}{
		{"own Region", "us-east-1", "checkout-api:live APPLIED"},
		{"another Region", "eu-west-1", "checkout-api:live REJECTED"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			e := newEnv(t, withEnv("AWS_REGION", ""), withEnv("POLICY", `{"checkout-*":{"default":10}}`))
			ev := strings.ReplaceAll(cloudTrailUpdateAlias("checkout-api", "live", "3"), `"us-east-1"`, `"`+tt.region+`"`)
			if _, err := e.invoke([]byte(ev)); err != nil {
				t.Fatal(err)
			}
			got := outcomes(e.published("prewarm-results"))
			if len(got) == 0 || got[0] != tt.want {
				t.Errorf("results %v, want %s first", got, tt.want)
			}
		})
	}
}
