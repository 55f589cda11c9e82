package intent

import (
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
)

func TestDecodeStrategy(t *testing.T) {
	type fields struct {
		Strategy    string
		Window      time.Duration
		Utilisation float64
	}
	tests := []struct {
		name    string
		payload string
		want    fields
		reject  string // substring of the rejection; "" means accepted
	}{
		{"none", `{"functionName":"f","to":"GREEN","from":"BLUE"}`, fields{}, ""},
		{"demand", `{"functionName":"f","to":"GREEN","from":"BLUE","strategy":"demand"}`, fields{Strategy: StrategyDemand}, ""},
		{"demand with window and utilisation", `{"functionName":"f","to":"GREEN","from":"BLUE","strategy":"demand","window":"6h","utilisation":0.5}`,
			fields{StrategyDemand, 6 * time.Hour, 0.5}, ""},
		{"window in minutes", `{"functionName":"f","to":"GREEN","strategy":"demand","window":"90m"}`, fields{StrategyDemand, 90 * time.Minute, 0}, ""},
		{"the largest window", `{"functionName":"f","to":"GREEN","strategy":"demand","window":"360h"}`, fields{StrategyDemand, MaxWindow, 0}, ""},
		{"utilisation 1", `{"functionName":"f","to":"GREEN","strategy":"demand","utilisation":1}`, fields{StrategyDemand, 0, 1}, ""},
		{"window without a strategy: for the policy's demand", `{"functionName":"f","to":"GREEN","window":"1h"}`, fields{Window: time.Hour}, ""},
		{"mirror", `{"functionName":"f","to":"GREEN","from":"BLUE","strategy":"mirror"}`, fields{Strategy: StrategyMirror}, ""},
		{"null fields are absent", `{"functionName":"f","to":"GREEN","strategy":null,"window":null,"utilisation":null}`, fields{}, ""},

		{"unknown strategy", `{"functionName":"f","to":"GREEN","strategy":"policy"}`, fields{}, `strategy must be "demand" or "mirror", got "policy"`},
		{"empty strategy", `{"functionName":"f","to":"GREEN","strategy":""}`, fields{}, "strategy is empty"},
		{"strategy not a string", `{"functionName":"f","to":"GREEN","strategy":1}`, fields{}, "strategy"},
		{"strategy with concurrency", `{"functionName":"f","to":"GREEN","strategy":"demand","concurrency":5}`, fields{}, "strategy demand and concurrency are both given"},
		{"window not a duration", `{"functionName":"f","to":"GREEN","strategy":"demand","window":"a day"}`, fields{}, `window "a day" is not a duration`},
		{"window a number", `{"functionName":"f","to":"GREEN","strategy":"demand","window":86400}`, fields{}, "window"},
		{"window too short", `{"functionName":"f","to":"GREEN","strategy":"demand","window":"30s"}`, fields{}, "is outside 1m..360h"},
		{"window too long", `{"functionName":"f","to":"GREEN","strategy":"demand","window":"361h"}`, fields{}, "is outside 1m..360h"},
		{"window negative", `{"functionName":"f","to":"GREEN","strategy":"demand","window":"-1h"}`, fields{}, "is outside"},
		{"window of seconds", `{"functionName":"f","to":"GREEN","strategy":"demand","window":"90s"}`, fields{}, "not a whole number of minutes"},
		{"utilisation 0", `{"functionName":"f","to":"GREEN","strategy":"demand","utilisation":0}`, fields{}, "utilisation must be greater than 0"},
		{"utilisation above 1", `{"functionName":"f","to":"GREEN","strategy":"demand","utilisation":1.2}`, fields{}, "utilisation must be at most 1"},
		{"utilisation a string", `{"functionName":"f","to":"GREEN","strategy":"demand","utilisation":"0.7"}`, fields{}, "utilisation must be a number"},
		{"utilisation with mirror", `{"functionName":"f","to":"GREEN","strategy":"mirror","utilisation":0.7}`, fields{}, "strategy is mirror"},
		{"American spelling", `{"functionName":"f","to":"GREEN","strategy":"demand","utilization":0.7}`, fields{}, `unknown field "utilization" (did you mean "utilisation"?)`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			m, err := Decode([]byte(tt.payload), "req-1", TriggerDirect)
			if tt.reject != "" {
				var rej *Rejection
				if !errors.As(err, &rej) {
					t.Fatalf("Decode = %+v, %v; want a rejection containing %q", m, err, tt.reject)
				}
				if !strings.Contains(rej.Reason, tt.reject) {
					t.Fatalf("rejection %q, want it to contain %q", rej.Reason, tt.reject)
				}
				return
			}
			if err != nil {
				t.Fatalf("Decode: %v", err)
			}
			in := m.Intent
			if diff := cmp.Diff(tt.want, fields{in.Strategy, in.Window, in.Utilisation}); diff != "" {
				t.Errorf("strategy fields mismatch (-want +got):\n%s", diff)
			}
		})
	}
}

func TestStrategyFollowUpRoundTrip(t *testing.T) {
	m, err := Decode([]byte(`{"functionName":"f","to":"GREEN","from":"BLUE","strategy":"demand","window":"1h30m","utilisation":0.65}`), "req-1", TriggerDirect)
	if err != nil {
		t.Fatal(err)
	}
	start := time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)
	f := FollowUp{Intent: m.Intent, Value: 93, Strategy: "demand", Base: 93, Scale: 1, ClampedBy: []string{}, Started: start, Deadline: start.Add(time.Minute)}
	body, err := EncodeFollowUp(f)
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(string(body), `"strategy":"demand","window":"1h30m","utilisation":0.65`) {
		t.Errorf("follow-up body %s does not carry the strategy fields", body)
	}
	got, err := Decode(body, "req-2", TriggerSQS)
	if err != nil {
		t.Fatalf("Decode(follow-up): %v\n%s", err, body)
	}
	if diff := cmp.Diff(f, got.FollowUps[0]); diff != "" {
		t.Errorf("round trip mismatch (-want +got):\n%s", diff)
	}
}

func TestFormatWindow(t *testing.T) {
	for _, w := range []time.Duration{time.Minute, 59 * time.Minute, time.Hour, 90 * time.Minute, 24 * time.Hour, 25*time.Hour + time.Minute, MaxWindow} {
		s := formatWindow(w)
		back, err := ParseWindow(s)
		if err != nil || back != w {
			t.Errorf("ParseWindow(formatWindow(%v) = %q) = %v, %v", w, s, back, err)
		}
		if strings.HasSuffix(s, "0s") || strings.HasSuffix(s, "h0m") {
			t.Errorf("formatWindow(%v) = %q, want no zero units", w, s)
		}
	}
	if got := formatWindow(0); got != "" {
		t.Errorf("formatWindow(0) = %q, want empty", got)
	}
}
