package results

import (
	"bytes"
	"encoding/json"
	"flag"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
	"unicode/utf8"

	"github.com/google/go-cmp/cmp"
)

var update = flag.Bool("update", false, "rewrite testdata/*.golden.json from the current output")

var testTime = time.Date(2026, 3, 14, 9, 26, 53, 589_000_000, time.UTC)

// sample is a named message for golden files.
type sample struct {
	name string
	msg  Message
}

// sampleMessages holds one realistic message of every outcome, as the handler writes them.
func sampleMessages() []sample {
	base := func(o Outcome) Message {
		return Message{
			SchemaVersion: SchemaVersion,
			ID:            "7c1f3a4e-8d2b-4b61-9f0e-2a5c6d7e8f90",
			CorrelationID: "pipeline-exec-42",
			Trigger:       TriggerEventBridge,
			FunctionName:  "my-function",
			Qualifier:     "GREEN",
			Outcome:       o,
			Time:          testTime,
		}
	}
	mirror := &Derivation{Strategy: StrategyMirror, From: "BLUE", Base: 40, Scale: 1, Value: 40, ClampedBy: []string{}}

	applied := base(OutcomeApplied)
	applied.Derivation = mirror
	applied.Previous = &Previous{RequestedProvisionedConcurrentExecutions: 10, Status: StatusReady}
	applied.Response = &Response{RequestedProvisionedConcurrentExecutions: 40, Status: StatusInProgress, LastModified: "2026-03-14T09:26:53+0000"}

	unchanged := base(OutcomeUnchanged)
	unchanged.Derivation = &Derivation{Strategy: StrategyExplicit, Base: 40, Scale: 1, Value: 40}
	unchanged.Previous = &Previous{RequestedProvisionedConcurrentExecutions: 40, Status: StatusReady}

	ready := base(OutcomeReady)
	ready.Trigger = TriggerFollowUp
	ready.Response = &Response{
		RequestedProvisionedConcurrentExecutions: 40, AvailableProvisionedConcurrentExecutions: 40,
		AllocatedProvisionedConcurrentExecutions: 40, Status: StatusReady, LastModified: "2026-03-14T09:28:11+0000",
	}

	failed := base(OutcomeFailed)
	failed.Response = &Response{
		RequestedProvisionedConcurrentExecutions: 40, Status: StatusFailed,
		StatusReason: "FUNCTION_ERROR_INIT_FAILURE", LastModified: "2026-03-14T09:28:11+0000",
	}
	failed.Reason = "provisioned concurrency allocation failed: FUNCTION_ERROR_INIT_FAILURE; BLUE left untouched"

	rejected := Message{
		ID:      "9f8e7d6c",
		Trigger: TriggerDirect,
		Outcome: OutcomeRejected,
		Reason:  `intent: functionName is required`,
		Time:    testTime,
	}

	released := base(OutcomeReleased)
	released.Qualifier = "BLUE"
	released.Previous = &Previous{RequestedProvisionedConcurrentExecutions: 40, Status: StatusReady}
	released.Reason = "release: delete after GREEN is READY"

	timedOut := base(OutcomeTimedOut)
	timedOut.Trigger = TriggerFollowUp
	timedOut.Response = &Response{RequestedProvisionedConcurrentExecutions: 40, AllocatedProvisionedConcurrentExecutions: 12, Status: StatusInProgress, LastModified: "2026-03-14T09:26:53+0000"}
	timedOut.Reason = "still IN_PROGRESS after TRACK_TIMEOUT 15m0s"

	superseded := base(OutcomeSuperseded)
	superseded.Trigger = TriggerSQS
	superseded.Reason = "overtaken by intent 1b2c3d for my-function:GREEN in the same batch"

	dryRun := base(OutcomeDryRun)
	dryRun.Trigger = TriggerSchedule
	dryRun.CorrelationID = ""
	dryRun.Derivation = &Derivation{Strategy: StrategyPolicy, Base: 200, Scale: 1.5, Value: 100, ClampedBy: []string{"MAX_CONCURRENCY=100"}}
	dryRun.Previous = &Previous{RequestedProvisionedConcurrentExecutions: 50, Status: StatusReady}
	dryRun.Reason = "clamped from 300 to 100 by MAX_CONCURRENCY"

	permanent := base(OutcomeFailed)
	permanent.Qualifier = "BLUE"
	permanent.Error = &Error{Code: "ResourceConflictException", Message: "Alias can't be used for Provisioned Concurrency configuration on an already Provisioned version"}
	permanent.Reason = "put provisioned concurrency my-function:BLUE=40 failed permanently"

	return []sample{
		{"applied", applied}, {"unchanged", unchanged}, {"ready", ready}, {"failed", failed},
		{"failed_error", permanent}, {"rejected", rejected}, {"released", released},
		{"timed_out", timedOut}, {"superseded", superseded}, {"dry_run", dryRun},
	}
}

func TestMarshalGolden(t *testing.T) {
	for _, s := range sampleMessages() {
		name, m := s.name, s.msg
		t.Run(name, func(t *testing.T) {
			body, err := Marshal(m)
			if err != nil {
				t.Fatalf("Marshal: %v", err)
			}
			var got bytes.Buffer
			if err := json.Indent(&got, body, "", "  "); err != nil {
				t.Fatalf("Marshal produced invalid JSON %s: %v", body, err)
			}
			got.WriteByte('\n')

			golden := filepath.Join("testdata", name+".golden.json")
			if *update {
				if err := os.WriteFile(golden, got.Bytes(), 0o644); err != nil {
					t.Fatal(err)
				}
			}
			want, err := os.ReadFile(golden)
			if err != nil {
				t.Fatalf("%v (run go test ./results -update to create it)", err)
			}
			if diff := cmp.Diff(string(want), got.String()); diff != "" {
				t.Errorf("Marshal(%s) mismatch (-want +got):\n%s", name, diff)
			}

			// The golden file decodes back to the message it was written from.
			var back Message
			if err := json.Unmarshal(want, &back); err != nil {
				t.Fatalf("Unmarshal golden: %v", err)
			}
			if diff := cmp.Diff(normalise(m), back); diff != "" {
				t.Errorf("golden round trip mismatch (-want +got):\n%s", diff)
			}
		})
	}
}

func TestMarshalShape(t *testing.T) {
	tests := []struct {
		name string
		msg  Message
		want string
	}{
		{
			name: "empty optional fields are omitted and schemaVersion is filled in",
			msg:  Message{ID: "a", Trigger: TriggerDirect, Outcome: OutcomeRejected, Time: testTime},
			want: `{"schemaVersion":1,"id":"a","trigger":"direct","functionName":"","qualifier":"","outcome":"REJECTED","time":"2026-03-14T09:26:53.589Z"}`,
		},
		{
			name: "nil clampedBy is an empty array",
			msg: Message{ID: "a", Trigger: TriggerDirect, FunctionName: "f", Qualifier: "1", Outcome: OutcomeDryRun,
				Derivation: &Derivation{Strategy: StrategyExplicit, Base: 3, Scale: 1, Value: 3}, Time: testTime},
			want: `{"schemaVersion":1,"id":"a","trigger":"direct","functionName":"f","qualifier":"1","outcome":"DRY_RUN",` +
				`"derivation":{"strategy":"explicit","base":3,"scale":1,"value":3,"clampedBy":[]},"time":"2026-03-14T09:26:53.589Z"}`,
		},
		{
			name: "time is written in UTC",
			msg:  Message{ID: "a", Trigger: TriggerDirect, Outcome: OutcomeRejected, Time: time.Date(2026, 3, 14, 11, 0, 0, 0, time.FixedZone("CET", 3600))},
			want: `{"schemaVersion":1,"id":"a","trigger":"direct","functionName":"","qualifier":"","outcome":"REJECTED","time":"2026-03-14T10:00:00Z"}`,
		},
		{
			name: "U+FFFF, which SQS rejects, is escaped",
			msg:  Message{ID: "a\uffff", Trigger: TriggerDirect, Outcome: OutcomeRejected, Time: testTime},
			want: `{"schemaVersion":1,"id":"a\uffff","trigger":"direct","functionName":"","qualifier":"","outcome":"REJECTED","time":"2026-03-14T09:26:53.589Z"}`,
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := Marshal(tt.msg)
			if err != nil {
				t.Fatalf("Marshal: %v", err)
			}
			if diff := cmp.Diff(tt.want, string(got)); diff != "" {
				t.Errorf("Marshal mismatch (-want +got):\n%s", diff)
			}
			// encoding/json gives the same bytes through MarshalJSON.
			viaJSON, err := json.Marshal(tt.msg)
			if err != nil {
				t.Fatalf("json.Marshal: %v", err)
			}
			if diff := cmp.Diff(tt.want, string(viaJSON)); diff != "" {
				t.Errorf("json.Marshal mismatch (-want +got):\n%s", diff)
			}
		})
	}
}

func TestMarshalTruncatesLongText(t *testing.T) {
	long := strings.Repeat("é", 10_000) // two bytes a rune: the cut must not split one
	m := Message{
		ID: "a", Trigger: TriggerDirect, FunctionName: strings.Repeat("f", 5000), Outcome: OutcomeFailed,
		Error:  &Error{Code: "InvalidParameterValueException", Message: long},
		Reason: long, Time: testTime,
	}
	body, err := Marshal(m)
	if err != nil {
		t.Fatalf("Marshal: %v", err)
	}
	var got Message
	if err := json.Unmarshal(body, &got); err != nil {
		t.Fatalf("Unmarshal: %v", err)
	}
	for _, f := range []struct {
		name  string
		value string
		limit int
	}{
		{"reason", got.Reason, MaxReasonBytes},
		{"error.message", got.Error.Message, MaxReasonBytes},
		{"functionName", got.FunctionName, maxFieldBytes},
	} {
		if len(f.value) > f.limit || len(f.value) < f.limit-8 {
			t.Errorf("%s is %d bytes, want just under %d", f.name, len(f.value), f.limit)
		}
		if !utf8.ValidString(f.value) || !strings.HasSuffix(f.value, truncationMark) {
			t.Errorf("%s = ...%q, want valid UTF-8 ending in %q", f.name, f.value[len(f.value)-10:], truncationMark)
		}
	}
	if m.Error.Message != long {
		t.Error("Marshal modified the caller's Error")
	}
}

func TestTerminal(t *testing.T) {
	tests := []struct {
		outcome  Outcome
		response *Response
		previous *Previous
		want     bool
	}{
		{outcome: OutcomeApplied, response: &Response{Status: StatusInProgress}, want: false},
		{outcome: OutcomeReady, response: &Response{Status: StatusReady}, want: true},
		{outcome: OutcomeFailed, response: &Response{Status: StatusFailed}, want: true},
		{outcome: OutcomeFailed, want: true},
		{outcome: OutcomeRejected, want: true},
		{outcome: OutcomeReleased, want: true},
		{outcome: OutcomeTimedOut, response: &Response{Status: StatusInProgress}, want: true},
		{outcome: OutcomeSuperseded, want: true},
		{outcome: OutcomeDryRun, want: true},
		{outcome: OutcomeUnchanged, previous: &Previous{Status: StatusReady}, want: true},
		{outcome: OutcomeUnchanged, previous: &Previous{Status: StatusInProgress}, want: false},
		{outcome: OutcomeUnchanged, response: &Response{Status: StatusInProgress}, want: false},
		{outcome: "SOMETHING_ELSE", want: false},
	}
	for _, tt := range tests {
		m := Message{Outcome: tt.outcome, Response: tt.response, Previous: tt.previous}
		if got := m.Terminal(); got != tt.want {
			t.Errorf("Message{Outcome: %s, status %q}.Terminal() = %v, want %v", tt.outcome, m.Status(), got, tt.want)
		}
	}
}

func TestOutcomeValid(t *testing.T) {
	seen := map[Outcome]bool{}
	for _, s := range sampleMessages() {
		seen[s.msg.Outcome] = true
		if !s.msg.Outcome.Valid() {
			t.Errorf("Outcome(%q).Valid() = false, want true", s.msg.Outcome)
		}
	}
	if got, want := len(seen), 9; got != want {
		t.Errorf("samples cover %d outcomes, want all %d", got, want)
	}
	for _, o := range []Outcome{"", "ready", "PENDING"} {
		if o.Valid() {
			t.Errorf("Outcome(%q).Valid() = true, want false", o)
		}
	}
}

// FuzzMessageRoundTrip checks that whatever a consumer can decode, Marshal encodes into a body
// SQS accepts, and that encoding is stable.
func FuzzMessageRoundTrip(f *testing.F) {
	files, _ := filepath.Glob(filepath.Join("testdata", "*.golden.json"))
	for _, file := range files {
		b, err := os.ReadFile(file)
		if err != nil {
			f.Fatal(err)
		}
		f.Add(b)
	}
	f.Add([]byte(`{"id":"\ufffe","reason":"\u0000\ud800"}`))
	f.Fuzz(func(t *testing.T, data []byte) {
		var m Message
		if err := json.Unmarshal(data, &m); err != nil {
			return
		}
		if y := m.Time.UTC().Year(); y < 0 || y > 9999 {
			return // not representable in RFC 3339 once converted to UTC
		}
		body, err := Marshal(m)
		if err != nil {
			t.Fatalf("Marshal(%+v): %v", m, err)
		}
		if s := string(body); sqsText(s) != s {
			t.Fatalf("body holds text SQS rejects: %q", s)
		}
		var back Message
		if err := json.Unmarshal(body, &back); err != nil {
			t.Fatalf("Unmarshal(%s): %v", body, err)
		}
		again, err := Marshal(back)
		if err != nil {
			t.Fatalf("Marshal again: %v", err)
		}
		if diff := cmp.Diff(string(body), string(again)); diff != "" {
			t.Fatalf("encoding is not stable (-first +second):\n%s", diff)
		}
	})
}
