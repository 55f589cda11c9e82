package handler_test

import (
	"bytes"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"os"
	"strings"
	"testing"

	awsevents "github.com/aws/aws-lambda-go/events"

	"github.com/prewarm/prewarm/results"
)

// hostileCase mirrors an entry of intent/testdata/hostile/cases.json.
type hostileCase struct {
	Name     string  `json:"name"`
	Body     *string `json:"body"`
	Base64   string  `json:"base64"`
	Generate *struct {
		Kind  string `json:"kind"`
		Size  int    `json:"size"`
		Depth int    `json:"depth"`
	} `json:"generate"`
	Decode    string `json:"decode"`
	Reason    string `json:"reason"`
	SQSReason string `json:"sqsReason"`
}

func (c hostileCase) payload(t *testing.T) string {
	t.Helper()
	switch {
	case c.Body != nil:
		return *c.Body
	case c.Base64 != "":
		b, err := base64.StdEncoding.DecodeString(c.Base64)
		if err != nil {
			t.Fatalf("case %q: %v", c.Name, err)
		}
		return string(b)
	case c.Generate != nil && c.Generate.Kind == "padded":
		head, tail := `{"functionName":"my-function","to":"GREEN","correlationId":"`, `"}`
		return head + strings.Repeat("x", c.Generate.Size-len(head)-len(tail)) + tail
	case c.Generate != nil && c.Generate.Kind == "nested":
		d := c.Generate.Depth
		return `{"functionName":"my-function","to":"GREEN","x":` + strings.Repeat("[", d) + strings.Repeat("]", d) + `}`
	}
	t.Fatalf("case %q has no body", c.Name)
	return ""
}

// TestHostileCorpusThroughSQS sends the whole hostile corpus through the
// handler as SQS batches of ten against the emulator: every record is
// acknowledged (none in batchItemFailures, so none retried), each gets one
// REJECTED result with its reason, and not one Lambda control-plane call is
// made.
func TestHostileCorpusThroughSQS(t *testing.T) {
	raw, err := os.ReadFile("../intent/testdata/hostile/cases.json")
	if err != nil {
		t.Fatal(err)
	}
	var cases []hostileCase
	if err := json.Unmarshal(raw, &cases); err != nil {
		t.Fatal(err)
	}
	e := newEnv(t)
	for start := 0; start < len(cases); start += 10 {
		chunk := cases[start:min(start+10, len(cases))]
		ev := awsevents.SQSEvent{}
		for i, c := range chunk {
			n := start + i
			ev.Records = append(ev.Records, awsevents.SQSMessage{
				MessageId:      fmt.Sprintf("hostile-%d", n),
				ReceiptHandle:  fmt.Sprintf("rh-%d", n),
				Body:           c.payload(t),
				Attributes:     map[string]string{"ApproximateReceiveCount": "1"},
				EventSource:    "aws:sqs",
				EventSourceARN: "arn:aws:sqs:us-east-1:123456789012:prewarm-events",
				AWSRegion:      "us-east-1",
			})
		}
		payload, err := json.Marshal(ev)
		if err != nil {
			t.Fatal(err)
		}
		resp, err := e.invoke(payload)
		if err != nil {
			t.Fatalf("batch from case %d: %v", start, err)
		}
		if failed := batchResponse(t, resp); len(failed) != 0 {
			t.Errorf("batch from case %d: records handed back for retry: %v", start, failed)
		}
	}
	got := e.drain("prewarm-results")
	if len(got) != len(cases) {
		t.Fatalf("%d results for %d hostile records: %v", len(got), len(cases), outcomes(got))
	}
	// The handler publishes in record order.
	for i, c := range cases {
		m := got[i]
		if c.SQSReason != "" {
			c.Reason = c.SQSReason
		}
		if m.Outcome != results.OutcomeRejected || !strings.Contains(m.Reason, c.Reason) {
			t.Errorf("%s: %s %q, want REJECTED with reason containing %q", c.Name, m.Outcome, m.Reason, c.Reason)
		}
		if m.Trigger == "" || m.ID == "" {
			t.Errorf("%s: result without trigger or id: %+v", c.Name, m)
		}
	}
	if calls := e.lambdaCalls(); len(calls) != 0 {
		t.Errorf("Lambda control-plane calls for rejected input: %v", calls)
	}
	if n := len(e.drainBodies("prewarm-followup")); n != 0 {
		t.Errorf("%d follow-ups for rejected input", n)
	}
}

// hostileBodies is the corpus's literal payloads, for seeding FuzzHandlerPayload.
func hostileBodies(t testing.TB) []string {
	raw, err := os.ReadFile("../intent/testdata/hostile/cases.json")
	if err != nil {
		t.Fatal(err)
	}
	var cases []hostileCase
	if err := json.NewDecoder(bytes.NewReader(raw)).Decode(&cases); err != nil {
		t.Fatal(err)
	}
	var out []string
	for _, c := range cases {
		if c.Body != nil {
			out = append(out, *c.Body)
		}
	}
	return out
}
