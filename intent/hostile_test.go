package intent

import (
	"bytes"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"strings"
	"testing"
)

// hostileCase is one entry of testdata/hostile/cases.json: a payload that
// must never reach AWS, and the reason it is refused.
type hostileCase struct {
	Name string `json:"name"`
	// Body is the payload as text; Base64 holds payloads that are not valid
	// UTF-8; Generate describes payloads too big to check in.
	Body     *string      `json:"body"`
	Base64   string       `json:"base64"`
	Generate *hostileSpec `json:"generate"`
	// Decode is "reject" when Decode refuses the payload, "accept" when it
	// decodes and the handler refuses it (ALLOWED_FUNCTIONS).
	Decode string `json:"decode"`
	// Reason is a substring of the rejection's reason.
	Reason string `json:"reason"`
	// SQSReason, when set, replaces Reason for the payload carried in an SQS
	// event: JSON replaces invalid UTF-8 with U+FFFD on the way.
	SQSReason string `json:"sqsReason"`
}

type hostileSpec struct {
	// Kind "padded": an intent whose correlationId fills the body to Size
	// bytes; "nested": an intent with a field nesting Depth arrays.
	Kind  string `json:"kind"`
	Size  int    `json:"size"`
	Depth int    `json:"depth"`
}

func (c hostileCase) payload() ([]byte, error) {
	switch {
	case c.Body != nil:
		return []byte(*c.Body), nil
	case c.Base64 != "":
		return base64.StdEncoding.DecodeString(c.Base64)
	case c.Generate != nil && c.Generate.Kind == "padded":
		head, tail := `{"functionName":"my-function","to":"GREEN","correlationId":"`, `"}`
		n := c.Generate.Size - len(head) - len(tail)
		if n < 0 {
			return nil, fmt.Errorf("size %d is too small", c.Generate.Size)
		}
		return []byte(head + strings.Repeat("x", n) + tail), nil
	case c.Generate != nil && c.Generate.Kind == "nested":
		d := c.Generate.Depth
		return []byte(`{"functionName":"my-function","to":"GREEN","x":` + strings.Repeat("[", d) + strings.Repeat("]", d) + `}`), nil
	}
	return nil, fmt.Errorf("case %q has no body", c.Name)
}

func loadHostile(t *testing.T) []hostileCase {
	t.Helper()
	b, err := os.ReadFile("testdata/hostile/cases.json")
	if err != nil {
		t.Fatal(err)
	}
	var cases []hostileCase
	dec := json.NewDecoder(bytes.NewReader(b))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&cases); err != nil {
		t.Fatalf("testdata/hostile/cases.json: %v", err)
	}
	return cases
}

// TestHostileCorpus decodes every hostile payload: each is refused with its
// reason, or (for functions outside ALLOWED_FUNCTIONS, which only the
// handler knows) decodes to an intent. The handler's end-to-end test runs
// the same corpus through SQS.
func TestHostileCorpus(t *testing.T) {
	cases := loadHostile(t)
	if len(cases) < 50 {
		t.Errorf("corpus has %d cases, want at least 50", len(cases))
	}
	seen := map[string]bool{}
	for _, c := range cases {
		t.Run(c.Name, func(t *testing.T) {
			if seen[c.Name] {
				t.Fatalf("duplicate case name %q", c.Name)
			}
			seen[c.Name] = true
			if c.Reason == "" {
				t.Fatal("case has no expected reason")
			}
			payload, err := c.payload()
			if err != nil {
				t.Fatal(err)
			}
			m, err := Decode(payload, "hostile-id", TriggerSQS)
			switch c.Decode {
			case "reject":
				var rej *Rejection
				if !errors.As(err, &rej) {
					t.Fatalf("Decode = %+v, %v; want a *Rejection", m, err)
				}
				if !strings.Contains(rej.Reason, c.Reason) {
					t.Errorf("reason %q, want it to contain %q", rej.Reason, c.Reason)
				}
				if len(rej.Reason) > 1024 {
					t.Errorf("reason is %d bytes long: a payload must not inflate its result", len(rej.Reason))
				}
			case "accept":
				if err != nil || m.Kind != KindIntent {
					t.Fatalf("Decode = %+v, %v; want an intent for the handler to refuse", m, err)
				}
			default:
				t.Fatalf("decode %q: want reject or accept", c.Decode)
			}
		})
	}
}

// FuzzValidateQualifier checks that ValidateQualifier never panics and
// accepts only what Lambda can provision: aliases and published versions.
func FuzzValidateQualifier(f *testing.F) {
	for _, s := range []string{"GREEN", "1", "0", "01", "$LATEST", "", "live_2-b", "ＧＲＥＥＮ", "grееn", strings.Repeat("q", 129)} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, q string) {
		err := ValidateQualifier(q)
		if err != nil {
			if err.Error() == "" {
				t.Fatal("empty error")
			}
			return
		}
		if q == Latest || q == "" || len(q) > maxQualifierLen || !nameChars(q) || (allDigits(q) && q[0] == '0') {
			t.Fatalf("ValidateQualifier(%q) accepted it", q)
		}
		// An accepted qualifier is accepted as an ARN suffix too, when the
		// whole functionName stays within Lambda's length limit.
		arn := "123456789012:function:f:" + q
		if len(arn) > maxFunctionNameLen {
			return
		}
		fn, got, err := ParseFunction(arn)
		if err != nil || got != q || fn.Name != "f" {
			t.Fatalf("ParseFunction with qualifier %q = %+v, %q, %v", q, fn, got, err)
		}
	})
}
