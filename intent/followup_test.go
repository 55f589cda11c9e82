package intent

import (
	"encoding/json"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
)

func sampleFollowUp() FollowUp {
	started := time.Date(2024, 11, 21, 19, 32, 12, 500, time.UTC)
	return FollowUp{
		Intent: Intent{
			ID: "deploy-1", CorrelationID: "run-7", Trigger: TriggerEventBridge,
			Function:  Function{Name: "checkout", Partition: "aws", Region: "eu-west-1", AccountID: "123456789012"},
			Qualifier: "GREEN", From: "BLUE", Scale: 1.5, Min: ptr[int64](2), Max: ptr[int64](90),
			Release: Release{Mode: ReleaseStandby, Standby: 3}, Wait: true, DryRun: false,
		},
		Value: 60, Strategy: "mirror", Base: 40, Scale: 1.5, ClampedBy: []string{"policy.max"},
		Attempt: 3, Started: started, Deadline: started.Add(15 * time.Minute),
	}
}

func TestFollowUpRoundTrip(t *testing.T) {
	tests := []struct {
		name   string
		modify func(*FollowUp)
	}{
		{"every field", func(*FollowUp) {}},
		{"release delete, explicit value, alias moved", func(f *FollowUp) {
			f.Intent.Release = Release{Mode: ReleaseDelete}
			f.Intent.Concurrency = ptr[int64](1)
			f.Intent.AliasMoved = true
			f.Intent.Trigger = TriggerCloudTrail
		}},
		{"resumed from a follow-up, reconcile trigger", func(f *FollowUp) {
			f.Intent.Trigger = TriggerSchedule
			f.Attempt = 9
		}},
		{"followup trigger", func(f *FollowUp) { f.Intent.Trigger = TriggerFollowUp }},
		{"a CodeDeploy hook waits, READY reported, next read set", func(f *FollowUp) {
			f.Intent.Trigger = TriggerCodeDeploy
			f.Gate = Gate{DeploymentID: "d-ABCDEF123", ExecutionID: "ZXhlY3V0aW9uLTE="}
			f.Reported, f.Next, f.DerivedFrom = "READY", f.Started.Add(time.Minute), "3"
		}},
		{"a CodePipeline job waits for its answer", func(f *FollowUp) {
			f.Intent.Trigger = TriggerCodePipeline
			f.Gate = Gate{JobID: "11111111-abcd-1111-abcd-111111abcdef"}
			f.Unanswered = "FAILED"
		}},
		{"sized by demand, raised by spillover", func(f *FollowUp) {
			f.Strategy, f.Scale = "demand", 1
			f.Demand = &Demand{Qualifier: "BLUE", Peak: 14, Spillover: 3, Window: "24h0m0s", Utilisation: 0.7, Datapoints: 1440, RaisedBySpillover: true}
		}},
		{"demand fell back to the mirror, from auto scaling", func(f *FollowUp) {
			f.Fallback, f.FromAutoScaling = "no datapoints for BLUE over 24h: mirrored instead", true
		}},
		{"minimal, nil clampedBy, no id", func(f *FollowUp) {
			f.Intent = Intent{Trigger: TriggerDirect, Function: Function{Name: "f"}, Qualifier: "7"}
			f.ClampedBy = nil
			f.Strategy = ""
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f := sampleFollowUp()
			tt.modify(&f)
			body, err := EncodeFollowUp(f)
			if err != nil {
				t.Fatalf("EncodeFollowUp: %v", err)
			}
			got, err := Decode(body, "", TriggerSQS)
			if err != nil {
				t.Fatalf("Decode(%s): %v", body, err)
			}
			want := f
			if want.ClampedBy == nil {
				want.ClampedBy = []string{}
			}
			wantMsg := Message{Kind: KindFollowUp, Trigger: TriggerFollowUp, ID: f.Intent.ID, FollowUps: []FollowUp{want}}
			if diff := cmp.Diff(wantMsg, got); diff != "" {
				t.Errorf("round trip mismatch (-want +got):\n%s\nbody: %s", diff, body)
			}
		})
	}
}

func TestFollowUpWireShape(t *testing.T) {
	body, err := EncodeFollowUp(sampleFollowUp())
	if err != nil {
		t.Fatal(err)
	}
	var top map[string]map[string]json.RawMessage
	if err := json.Unmarshal(body, &top); err != nil {
		t.Fatal(err)
	}
	inner, ok := top["prewarmFollowUp"]
	if !ok || len(top) != 1 {
		t.Fatalf("body %s: want one key prewarmFollowUp", body)
	}
	if got, want := string(inner["intent"]), `{"id":"deploy-1","correlationId":"run-7","trigger":"eventbridge","functionName":"arn:aws:lambda:eu-west-1:123456789012:function:checkout","to":"GREEN","from":"BLUE","scale":1.5,"min":2,"max":90,"release":3,"wait":true}`; got != want {
		t.Errorf("intent = %s\nwant     %s", got, want)
	}
}

func TestEncodeFollowUpRefusesInvalid(t *testing.T) {
	tests := []struct {
		name   string
		modify func(*FollowUp)
		err    string
	}{
		{"no qualifier", func(f *FollowUp) { f.Intent.Qualifier = "" }, "qualifier is empty"},
		{"gate with both forms", func(f *FollowUp) {
			f.Gate = Gate{DeploymentID: "d-ABCDEF123", ExecutionID: "x", JobID: "11111111-abcd-1111-abcd-111111abcdef"}
		}, "not a CodePipeline job id alone"},
		{"unanswered without a gate", func(f *FollowUp) { f.Unanswered = "READY" }, "unanswered without a gate"},
		{"unknown trigger", func(f *FollowUp) { f.Intent.Trigger = "cron" }, `trigger "cron" is unknown`},
		{"no trigger", func(f *FollowUp) { f.Intent.Trigger = "" }, `trigger "" is unknown`},
		{"negative value", func(f *FollowUp) { f.Value = -1 }, "value -1 is outside"},
		{"NaN scale", func(f *FollowUp) { f.Scale = nanValue() }, "is not a finite number"},
		{"no deadline", func(f *FollowUp) { f.Deadline = time.Time{} }, "started and deadline are required"},
		{"deadline before start", func(f *FollowUp) { f.Deadline = f.Started.Add(-time.Second) }, "is before started"},
		{"unknown strategy", func(f *FollowUp) { f.Strategy = "guess" }, `strategy "guess" is unknown`},
		{"demand without a qualifier", func(f *FollowUp) { f.Demand = &Demand{Window: "1h", Utilisation: 0.7} }, "demand.qualifier"},
		{"demand utilisation 0", func(f *FollowUp) { f.Demand = &Demand{Qualifier: "BLUE", Window: "1h"} }, "demand.utilisation 0 is not in (0, 1]"},
		{"demand window not a duration", func(f *FollowUp) {
			f.Demand = &Demand{Qualifier: "BLUE", Window: "a day", Utilisation: 0.7}
		}, `demand.window "a day"`},
		{"negative peak", func(f *FollowUp) { f.Demand = &Demand{Qualifier: "BLUE", Peak: -1, Window: "1h", Utilisation: 0.7} }, "demand.peak -1"},
		{"fallback too long", func(f *FollowUp) { f.Fallback = strings.Repeat("x", 1025) }, "fallback is longer than 1024 bytes"},
		{"bad function", func(f *FollowUp) { f.Intent.Function = Function{Name: "a b"} }, "characters other than"},
		{"region without partition", func(f *FollowUp) { f.Intent.Function = Function{Name: "f", Region: "us-east-1"} }, "is not well formed"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f := sampleFollowUp()
			tt.modify(&f)
			_, err := EncodeFollowUp(f)
			if err == nil || !strings.Contains(err.Error(), tt.err) {
				t.Errorf("EncodeFollowUp error = %v, want one containing %q", err, tt.err)
			}
		})
	}
}

func nanValue() float64 {
	zero := 0.0
	return zero / zero
}

// TestFollowUpDemandRefused: a follow-up's demand is decoded as strictly as the rest.
func TestFollowUpDemandRefused(t *testing.T) {
	f := sampleFollowUp()
	f.Demand = &Demand{Qualifier: "BLUE", Peak: 14, Window: "24h0m0s", Utilisation: 0.7, Datapoints: 10}
	body, err := EncodeFollowUp(f)
	if err != nil {
		t.Fatal(err)
	}
	for _, tt := range []struct{ old, new, reason string }{
		{`"datapoints":10`, `"datapoints":10,"extra":1`, "demand: unknown field"},
		{`"datapoints":10`, `"datapoints":1.5`, "demand must be an object"},
		{`"peak":14`, `"peak":"14"`, "demand must be an object"},
		{`"utilisation":0.7`, `"utilisation":7`, "demand.utilisation 7 is not in (0, 1]"},
		{`"demand":{`, `"fromAutoScaling":"yes","demand":{`, "fromAutoScaling must be a boolean"},
	} {
		bad := strings.Replace(string(body), tt.old, tt.new, 1)
		if bad == string(body) {
			t.Fatalf("%q is not in %s", tt.old, body)
		}
		_, err := Decode([]byte(bad), "", TriggerSQS)
		if err == nil || !strings.Contains(err.Error(), tt.reason) {
			t.Errorf("Decode(%s) error = %v, want one containing %q", bad, err, tt.reason)
		}
	}
}

// TestLargestFollowUpsFitAMessage: MaxFollowUps changes with every field
// prewarm writes at its longest still make a message Decode accepts (SQS's
// 256 KiB).
func TestLargestFollowUpsFitAMessage(t *testing.T) {
	fs := make([]FollowUp, MaxFollowUps)
	for i := range fs {
		f := sampleFollowUp()
		f.Intent.ID = strings.Repeat("i", maxIDLen)
		f.Intent.CorrelationID = strings.Repeat("c", maxIDLen)
		f.Intent.Function = Function{Name: strings.Repeat("f", 64), Partition: "aws-us-gov", Region: "us-gov-west-1", AccountID: "123456789012"}
		f.Intent.Qualifier = strings.Repeat("q", 128)
		f.Intent.Trigger = TriggerCodeDeploy
		f.Strategy, f.Fallback, f.FromAutoScaling = "demand", strings.Repeat("x", maxFallbackLen), true
		f.ClampedBy = []string{"policy.min", "policy.max", "MAX_CONCURRENCY", "reserved", "account.unreserved"}
		f.Demand = &Demand{Qualifier: strings.Repeat("b", 128), Peak: 1e6 + 0.125, Spillover: 1e6 + 0.125, Window: "336h0m0s", Utilisation: 0.123456789, Datapoints: 20160, RaisedBySpillover: true}
		f.Gate = Gate{DeploymentID: "d-ABCDEF123", ExecutionID: strings.Repeat("e", maxExecutionIDLen)}
		f.Reported, f.Unanswered, f.DerivedFrom, f.Next = "READY", "FAILED", strings.Repeat("d", 128), f.Started.Add(time.Minute)
		fs[i] = f
	}
	body, err := EncodeFollowUps(fs)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := Decode(body, "", TriggerSQS); err != nil {
		t.Fatalf("Decode of the largest follow-ups (%d bytes): %v", len(body), err)
	}
	t.Logf("largest follow-up message: %d bytes", len(body))
}
