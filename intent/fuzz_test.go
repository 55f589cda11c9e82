package intent

import (
	"errors"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
)

// FuzzDecode checks that Decode never panics and that every outcome is either a
// *Rejection with a reason or a message that re-validates and survives a trip through a
// follow-up message. Seeds: testdata/fuzz/FuzzDecode plus every decode fixture.
func FuzzDecode(f *testing.F) {
	for _, glob := range []string{"testdata/decode/*.json", "testdata/awsevents/sqs-event.json", "testdata/awsevents/codedeploy-deployment-event.json"} {
		files, _ := filepath.Glob(glob)
		for _, file := range files {
			if b, err := os.ReadFile(file); err == nil {
				f.Add(b)
			}
		}
	}
	f.Fuzz(func(t *testing.T, payload []byte) {
		m, err := Decode(payload, "fuzz-id", TriggerSQS)
		m2, err2 := Decode(payload, "fuzz-id", TriggerSQS)
		if diff := cmp.Diff(m, m2); diff != "" || (err == nil) != (err2 == nil) {
			t.Fatalf("Decode is not deterministic: %s", diff)
		}
		if err != nil {
			var rej *Rejection
			if !errors.As(err, &rej) {
				t.Fatalf("Decode error %T %v is not a *Rejection", err, err)
			}
			if rej.Reason == "" {
				t.Fatalf("rejection without a reason: %+v", rej)
			}
			if len(rej.FunctionName) > maxRecoveredIdentifierLength || len(rej.Qualifier) > maxRecoveredIdentifierLength ||
				len(rej.ID) > maxRecoveredIdentifierLength || len(rej.CorrelationID) > maxRecoveredIdentifierLength {
				t.Fatalf("rejection carries an unbounded identifier: %+v", rej)
			}
			return
		}
		switch m.Kind {
		case KindIntent:
			in := m.Intent
			if err := in.Validate(); err != nil {
				t.Fatalf("decoded intent does not re-validate: %v\n%+v", err, in)
			}
			if m.ID != in.ID || m.Trigger != in.Trigger || in.ID == "" {
				t.Fatalf("message %+v disagrees with its intent", m)
			}
			start := time.Date(2025, 1, 2, 3, 4, 5, 0, time.UTC)
			roundTrip(t, FollowUp{Intent: in, Value: 1, Base: 1, Scale: 1, ClampedBy: []string{}, Started: start, Deadline: start.Add(time.Minute)})
		case KindFollowUp:
			if len(m.FollowUps) == 0 || len(m.FollowUps) > MaxFollowUps {
				t.Fatalf("follow-up message carries %d changes", len(m.FollowUps))
			}
			for _, f := range m.FollowUps {
				if err := f.Validate(); err != nil {
					t.Fatalf("decoded follow-up does not re-validate: %v", err)
				}
			}
			if m.Trigger != TriggerFollowUp || m.ID != m.FollowUps[0].Intent.ID {
				t.Fatalf("follow-up message %+v has the wrong trigger or id", m)
			}
			for _, f := range m.FollowUps {
				roundTrip(t, f)
			}
		case KindReconcile:
			if m.Trigger != TriggerSchedule || m.ID == "" {
				t.Fatalf("reconcile message %+v", m)
			}
		default:
			t.Fatalf("unknown kind %v", m.Kind)
		}
	})
}

func roundTrip(t *testing.T, f FollowUp) {
	t.Helper()
	body, err := EncodeFollowUp(f)
	if err != nil {
		t.Fatalf("EncodeFollowUp(%+v): %v", f, err)
	}
	got, err := Decode(body, "fuzz-id", TriggerSQS)
	if err != nil {
		t.Fatalf("Decode(EncodeFollowUp) = %v\nbody: %s", err, body)
	}
	if len(got.FollowUps) != 1 {
		t.Fatalf("Decode(EncodeFollowUp) carries %d changes, want 1", len(got.FollowUps))
	}
	if diff := cmp.Diff(f, got.FollowUps[0]); diff != "" {
		t.Fatalf("follow-up round trip mismatch (-want +got):\n%s", diff)
	}
}

// FuzzParseFunction checks that ParseFunction never panics and that what it accepts prints
// back to something it parses the same way.
func FuzzParseFunction(f *testing.F) {
	f.Fuzz(func(t *testing.T, s string) {
		fn, q, err := ParseFunction(s)
		if err != nil {
			if err.Error() == "" {
				t.Fatal("empty error")
			}
			return
		}
		if len(s) > maxFunctionNameLen || fn.Name == "" {
			t.Fatalf("ParseFunction(%q) accepted %+v", s, fn)
		}
		again, q2, err := ParseFunction(fn.String())
		if err != nil || again != fn || q2 != "" {
			t.Fatalf("ParseFunction(%q) = %+v; re-parsing %q gave %+v, %q, %v", s, fn, fn.String(), again, q2, err)
		}
		want := fn.String()
		if q != "" {
			if !fn.IsARN() {
				t.Fatalf("ParseFunction(%q): a qualifier %q from a plain name", s, q)
			}
			want += ":" + q
		}
		if want != s {
			t.Fatalf("ParseFunction(%q) = %+v, %q, which prints as %q", s, fn, q, want)
		}
		if err := fn.validate(); err != nil {
			t.Fatalf("parsed function does not validate: %v", err)
		}
	})
}
