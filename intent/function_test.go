package intent

import (
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
)

func TestParseFunction(t *testing.T) {
	tests := []struct {
		in        string
		want      Function
		qualifier string
		str       string // want String(); "" means in
		err       string // want error text; "" means none
	}{
		{in: "my-function", want: Function{Name: "my-function"}},
		{in: "My_Function-2", want: Function{Name: "My_Function-2"}},
		{in: strings.Repeat("f", 64), want: Function{Name: strings.Repeat("f", 64)}},
		{in: "123456789012:function:my-function", want: Function{Name: "my-function", AccountID: "123456789012"}},
		{in: "123456789012:function:my-function:BLUE", want: Function{Name: "my-function", AccountID: "123456789012"}, qualifier: "BLUE", str: "123456789012:function:my-function"},
		{in: "arn:aws:lambda:us-west-2:123456789012:function:my-function", want: Function{Name: "my-function", Partition: "aws", Region: "us-west-2", AccountID: "123456789012"}},
		{in: "arn:aws:lambda:us-west-2:123456789012:function:my-function:12", want: Function{Name: "my-function", Partition: "aws", Region: "us-west-2", AccountID: "123456789012"}, qualifier: "12", str: "arn:aws:lambda:us-west-2:123456789012:function:my-function"},
		{in: "arn:aws-us-gov:lambda:us-gov-west-1:123456789012:function:f", want: Function{Name: "f", Partition: "aws-us-gov", Region: "us-gov-west-1", AccountID: "123456789012"}},
		{in: "arn:aws-iso-b:lambda:us-isob-east-1:123456789012:function:f", want: Function{Name: "f", Partition: "aws-iso-b", Region: "us-isob-east-1", AccountID: "123456789012"}},
		{in: "arn:aws:lambda:us-east-1:123456789012:function:f:$LATEST", want: Function{Name: "f", Partition: "aws", Region: "us-east-1", AccountID: "123456789012"}, qualifier: "$LATEST", str: "arn:aws:lambda:us-east-1:123456789012:function:f"},

		{in: "", err: "functionName is empty"},
		{in: strings.Repeat("f", 65), err: `functionName "fffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffff" has a function name of 65 characters, more than 64`},
		{in: "arn:aws:lambda:us-east-1:123456789012:function:" + strings.Repeat("f", 94), err: "is 141 characters long, more than the 140 Lambda allows"},
		{in: "my function", err: `functionName "my function" has a function name with characters other than letters, digits, '-' and '_'`},
		{in: "my.function", err: "characters other than"},
		{in: "my-function:BLUE", err: `give the qualifier in "to"`},
		{in: "function:my-function", err: "is not a function name"},
		{in: "12345678901:function:f", err: `has an invalid account ID "12345678901" (want 12 digits)`},
		{in: "12345678901a:function:f", err: "invalid account ID"},
		{in: "123456789012:functions:f", err: "is not a function name"},
		{in: "123456789012:function:", err: "has an empty function name"},
		{in: "123456789012:function:f:", err: "ends with an empty qualifier"},
		{in: "123456789012:function:f:a:b", err: "is not a function name"},
		{in: "arn:aws:lambda:us-east-1:123456789012:function", err: "is not a Lambda function ARN"},
		{in: "arn:aws:lambda:us-east-1:123456789012:function:f:B:C", err: "is not a Lambda function ARN"},
		{in: "arn:gcp:lambda:us-east-1:123456789012:function:f", err: `has an invalid partition "gcp"`},
		{in: "arn::lambda:us-east-1:123456789012:function:f", err: "invalid partition"},
		{in: "arn:aws:s3:us-east-1:123456789012:function:f", err: `is an ARN of service "s3", not lambda`},
		{in: "arn:aws:lambda:useast1:123456789012:function:f", err: `has an invalid Region "useast1"`},
		{in: "arn:aws:lambda:us-east-x:123456789012:function:f", err: "invalid Region"},
		{in: "arn:aws:lambda::123456789012:function:f", err: "invalid Region"},
		{in: "arn:aws:lambda:us-east-1::function:f", err: "invalid account ID"},
		{in: "arn:aws:lambda:us-east-1:123456789012:layer:f", err: `is an ARN of resource type "layer", not function`},
		{in: "arn:aws:lambda:us-east-1:123456789012:function:f:blue green", err: "has an invalid qualifier: qualifier \"blue green\" may contain only"},
		{in: "arn:aws:lambda:us-east-1:123456789012:function:f:007", err: "is not a published version number"},
	}
	for _, tt := range tests {
		t.Run(tt.in, func(t *testing.T) {
			got, q, err := ParseFunction(tt.in)
			if tt.err != "" {
				if err == nil || !strings.Contains(err.Error(), tt.err) {
					t.Fatalf("ParseFunction(%q) error = %v, want one containing %q", tt.in, err, tt.err)
				}
				return
			}
			if err != nil {
				t.Fatalf("ParseFunction(%q) error = %v", tt.in, err)
			}
			if diff := cmp.Diff(tt.want, got); diff != "" {
				t.Errorf("ParseFunction(%q) mismatch (-want +got):\n%s", tt.in, diff)
			}
			if q != tt.qualifier {
				t.Errorf("ParseFunction(%q) qualifier = %q, want %q", tt.in, q, tt.qualifier)
			}
			wantStr := tt.str
			if wantStr == "" {
				wantStr = tt.in
			}
			if s := got.String(); s != wantStr {
				t.Errorf("String() = %q, want %q", s, wantStr)
			}
			if got.IsARN() != (got.AccountID != "") {
				t.Errorf("IsARN() = %v for %+v", got.IsARN(), got)
			}
		})
	}
}

func TestValidateQualifier(t *testing.T) {
	tests := []struct {
		q   string
		err string
	}{
		{q: "BLUE"},
		{q: "live-2_a"},
		{q: "1"},
		{q: "4294967296"},
		{q: "v1"},
		{q: "1a"},
		{q: strings.Repeat("a", 128)},
		{q: "", err: "qualifier is empty"},
		{q: "$LATEST", err: "qualifier $LATEST cannot hold provisioned concurrency"},
		{q: "0", err: "is not a published version number"},
		{q: "01", err: "is not a published version number"},
		{q: strings.Repeat("a", 129), err: "characters long, more than 128"},
		{q: "blue/green", err: "may contain only letters"},
		{q: "BLUE:1", err: "may contain only letters"},
		{q: "ünïcode", err: "may contain only letters"},
	}
	for _, tt := range tests {
		err := ValidateQualifier(tt.q)
		switch {
		case tt.err == "" && err != nil:
			t.Errorf("ValidateQualifier(%q) = %v, want nil", tt.q, err)
		case tt.err != "" && (err == nil || !strings.Contains(err.Error(), tt.err)):
			t.Errorf("ValidateQualifier(%q) = %v, want an error containing %q", tt.q, err, tt.err)
		}
	}
}
