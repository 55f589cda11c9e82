package intent

import (
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"testing"
	"time"

	awsevents "github.com/aws/aws-lambda-go/events"
	"github.com/google/go-cmp/cmp"
)

// FuzzDecode checks that Decode never panics and that every outcome is either a
// *Rejection with a reason or a message that re-validates and survives a trip through a
// follow-up message. Seeds: testdata/fuzz/FuzzDecode plus every decode fixture.
func FuzzDecode(f *testing.F) {
	for _, glob := range []string{"testdata/decode/*.json", "testdata/awsevents/sqs-event.json", "testdata/awsevents/codedeploy-deployment-event.json", "testdata/awsevents/codepipeline-job-event.json"} {
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
		case KindCodeDeployHook:
			checkHook(t, m)
		case KindCodePipelineJob:
			checkJob(t, m)
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

func checkHook(t *testing.T, m Message) {
	t.Helper()
	h := m.CodeDeployHook
	if m.Trigger != TriggerCodeDeploy || m.ID != h.ExecutionID || !isDeploymentID(h.DeploymentID) ||
		!printableToken(h.ExecutionID) || len(h.ExecutionID) > maxExecutionIDLen {
		t.Fatalf("hook message %+v", m)
	}
}

func checkJob(t *testing.T, m Message) {
	t.Helper()
	j := m.CodePipelineJob
	if err := j.Intent.Validate(); err != nil {
		t.Fatalf("job intent does not re-validate: %v\n%+v", err, j.Intent)
	}
	if m.Trigger != TriggerCodePipeline || j.Intent.Trigger != TriggerCodePipeline || m.ID != j.Intent.ID || !isJobID(j.JobID) {
		t.Fatalf("job message %+v", m)
	}
}

// FuzzCodeDeployHook builds hook events from arbitrary ids: Decode never panics, a hook it
// accepts carries exactly the ids sent, and a refusal still names the trigger.
func FuzzCodeDeployHook(f *testing.F) {
	f.Add("d-ABCDEF123", "eyJlbmNyeXB0ZWREYXRhIjoiQkxBSCJ9")
	f.Add("d-", "x")
	f.Add("d-abc", "")
	f.Add("D-ABC", "a b")
	f.Fuzz(func(t *testing.T, deployment, execution string) {
		payload, err := json.Marshal(map[string]string{hookDeploymentKey: deployment, hookExecutionKey: execution})
		if err != nil {
			t.Skip()
		}
		m, err := Decode(payload, "fuzz-id", TriggerDirect)
		if err != nil {
			var rej *Rejection
			if !errors.As(err, &rej) || rej.Trigger != TriggerCodeDeploy || rej.Reason == "" {
				t.Fatalf("Decode(%s) = %v; want a codedeploy *Rejection with a reason", payload, err)
			}
			return
		}
		if m.Kind != KindCodeDeployHook {
			t.Fatalf("Decode(%s) kind %v", payload, m.Kind)
		}
		checkHook(t, m)
		if m.CodeDeployHook.DeploymentID != deployment || m.CodeDeployHook.ExecutionID != execution {
			t.Fatalf("Decode(%s) = %+v", payload, m.CodeDeployHook)
		}
	})
}

// FuzzCodePipelineJob builds job events from an arbitrary job id, UserParameters and artifact
// credentials: Decode never panics; a refusal with a well-formed job id carries it; and the
// credentials appear in no rejection, no String() and no %+v of the message.
func FuzzCodePipelineJob(f *testing.F) {
	f.Add("11111111-abcd-1111-abcd-111111abcdef", `{"functionName":"my-function","to":"GREEN"}`, "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY")
	f.Add("11111111-abcd-1111-abcd-111111abcdef", `{"functionName":"my-function","to":"GREEN","secret":1}`, "AKIAIOSFODNN7EXAMPLE")
	f.Add("not-a-job", `{}`, "FQoGZXIvYXdzEXAMPLE")
	f.Add("11111111-abcd-1111-abcd-111111abcdef", `not json`, "FQoGZXIvYXdzEXAMPLE")
	f.Fuzz(func(t *testing.T, jobID, params, secret string) {
		decode := func(secret string) (Message, error, bool) {
			ev := awsevents.CodePipelineJobEvent{CodePipelineJob: awsevents.CodePipelineJob{ID: jobID, Data: awsevents.CodePipelineData{
				ActionConfiguration: awsevents.CodePipelineActionConfiguration{Configuration: awsevents.CodePipelineConfiguration{UserParameters: params}},
				ArtifactCredentials: awsevents.CodePipelineArtifactCredentials{SecretAccessKey: secret, SessionToken: secret, AccessKeyID: secret},
			}}}
			payload, err := json.Marshal(ev)
			if err != nil {
				return Message{}, nil, false
			}
			m, err := Decode(payload, "fuzz-id", TriggerDirect)
			return m, err, true
		}
		m, err, ok := decode(secret)
		if !ok {
			t.Skip()
		}
		// Whatever the credentials are, the outcome is the same: nothing of them is kept.
		other, otherErr, _ := decode("other-" + secret)
		if fmt.Sprint(err) != fmt.Sprint(otherErr) || fmt.Sprintf("%+v", m) != fmt.Sprintf("%+v", other) {
			t.Fatalf("the outcome depends on the artifact credentials: %v / %v\n%+v\n%+v", err, otherErr, m, other)
		}
		if err != nil {
			var rej *Rejection
			if !errors.As(err, &rej) || rej.Trigger == "" || rej.Reason == "" {
				t.Fatalf("Decode = %v; want a *Rejection with a trigger and a reason", err)
			}
			if rej.Trigger == TriggerCodePipeline && isJobID(jobID) && rej.JobID != jobID {
				t.Fatalf("rejection %+v lost job id %q", rej, jobID)
			}
			return
		}
		if m.Kind != KindCodePipelineJob {
			t.Fatalf("kind %v", m.Kind)
		}
		checkJob(t, m)
		if m.CodePipelineJob.JobID != jobID {
			t.Fatalf("job id %q, sent %q", m.CodePipelineJob.JobID, jobID)
		}
	})
}
