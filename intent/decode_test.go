package intent

import (
	"bytes"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
)

var update = flag.Bool("update", false, "rewrite the golden files in testdata")

func ptr[T any](v T) *T { return &v }

// view is the golden-file rendering of a Decode outcome.
type view struct {
	Kind      string          `json:"kind,omitempty"`
	Trigger   Trigger         `json:"trigger,omitempty"`
	ID        string          `json:"id,omitempty"`
	Intent    *intentView     `json:"intent,omitempty"`
	FollowUp  *followView     `json:"followUp,omitempty"`
	Hook      *CodeDeployHook `json:"codeDeployHook,omitempty"`
	Job       *jobView        `json:"codePipelineJob,omitempty"`
	Rejection *Rejection      `json:"rejection,omitempty"`
	Other     string          `json:"otherError,omitempty"`
}

type intentView struct {
	ID            string   `json:"id"`
	CorrelationID string   `json:"correlationId,omitempty"`
	Trigger       Trigger  `json:"trigger"`
	Function      Function `json:"function"`
	FunctionName  string   `json:"functionName"`
	Qualifier     string   `json:"qualifier"`
	From          string   `json:"from,omitempty"`
	Concurrency   *int64   `json:"concurrency,omitempty"`
	Scale         float64  `json:"scale,omitempty"`
	Min           *int64   `json:"min,omitempty"`
	Max           *int64   `json:"max,omitempty"`
	Release       string   `json:"release"`
	Standby       int64    `json:"standby,omitempty"`
	Wait          bool     `json:"wait"`
	DryRun        bool     `json:"dryRun"`
	AliasMoved    bool     `json:"aliasMoved"`
}

type jobView struct {
	JobID             string     `json:"jobId"`
	ContinuationToken string     `json:"continuationToken,omitempty"`
	Intent            intentView `json:"intent"`
}

type followView struct {
	Intent    intentView `json:"intent"`
	Value     int64      `json:"value"`
	Strategy  string     `json:"strategy"`
	Base      int64      `json:"base"`
	Scale     float64    `json:"scale"`
	ClampedBy []string   `json:"clampedBy"`
	Attempt   int        `json:"attempt"`
	Started   time.Time  `json:"started"`
	Deadline  time.Time  `json:"deadline"`
}

func viewIntent(in Intent) intentView {
	return intentView{
		ID: in.ID, CorrelationID: in.CorrelationID, Trigger: in.Trigger, Function: in.Function,
		FunctionName: in.Function.String(), Qualifier: in.Qualifier, From: in.From,
		Concurrency: in.Concurrency, Scale: in.Scale, Min: in.Min, Max: in.Max,
		Release: in.Release.Mode.String(), Standby: in.Release.Standby,
		Wait: in.Wait, DryRun: in.DryRun, AliasMoved: in.AliasMoved,
	}
}

func render(t *testing.T, m Message, err error) []byte {
	t.Helper()
	var v view
	var rej *Rejection
	switch {
	case errors.As(err, &rej):
		v.Rejection = rej
	case err != nil:
		v.Other = err.Error()
	default:
		v.Kind, v.Trigger, v.ID = m.Kind.String(), m.Trigger, m.ID
		switch m.Kind {
		case KindIntent:
			iv := viewIntent(m.Intent)
			v.Intent = &iv
		case KindFollowUp:
			f := m.FollowUps[0]
			v.FollowUp = &followView{Intent: viewIntent(f.Intent), Value: f.Value, Strategy: f.Strategy,
				Base: f.Base, Scale: f.Scale, ClampedBy: f.ClampedBy, Attempt: f.Attempt,
				Started: f.Started, Deadline: f.Deadline}
		case KindCodeDeployHook:
			h := m.CodeDeployHook
			v.Hook = &h
		case KindCodePipelineJob:
			j := m.CodePipelineJob
			v.Job = &jobView{JobID: j.JobID, ContinuationToken: j.ContinuationToken, Intent: viewIntent(j.Intent)}
		}
	}
	b, jerr := json.MarshalIndent(v, "", "  ")
	if jerr != nil {
		t.Fatalf("render: %v", jerr)
	}
	return append(b, '\n')
}

// TestDecodeFixtures decodes every testdata/decode/*.json and compares the outcome with the
// .golden file beside it (rewrite them with -update).
func TestDecodeFixtures(t *testing.T) {
	files, err := filepath.Glob("testdata/decode/*.json")
	if err != nil || len(files) == 0 {
		t.Fatalf("no fixtures: %v", err)
	}
	for _, file := range files {
		name := strings.TrimSuffix(filepath.Base(file), ".json")
		t.Run(name, func(t *testing.T) {
			payload, err := os.ReadFile(file)
			if err != nil {
				t.Fatal(err)
			}
			m, err := Decode(payload, "req-1", TriggerSQS)
			got := render(t, m, err)
			golden := strings.TrimSuffix(file, ".json") + ".golden"
			if *update {
				if err := os.WriteFile(golden, got, 0o644); err != nil {
					t.Fatal(err)
				}
			}
			want, err := os.ReadFile(golden)
			if err != nil {
				t.Fatalf("%v (run with -update to create it)", err)
			}
			if diff := cmp.Diff(string(want), string(got)); diff != "" {
				t.Errorf("Decode(%s) mismatch (-want +got):\n%s", file, diff)
			}
		})
	}
}

// TestDecodeAWSEvents refuses every sample event of the other AWS services, with a reason
// naming what it looks like.
func TestDecodeAWSEvents(t *testing.T) {
	files, err := filepath.Glob("testdata/awsevents/*.json")
	if err != nil || len(files) < 100 {
		t.Fatalf("want the aws-lambda-go sample events, got %d files: %v", len(files), err)
	}
	var got bytes.Buffer
	for _, file := range files {
		payload, err := os.ReadFile(file)
		if err != nil {
			t.Fatal(err)
		}
		m, err := Decode(payload, "req-1", TriggerDirect)
		var rej *Rejection
		if !errors.As(err, &rej) {
			t.Errorf("Decode(%s) = %+v, %v; want a *Rejection", file, m, err)
			continue
		}
		if strings.HasPrefix(rej.Reason, "unknown field") {
			t.Errorf("Decode(%s) reason %q names no event; want what it looks like", file, rej.Reason)
		}
		fmt.Fprintf(&got, "%s: %s\n", filepath.Base(file), rej.Reason)
	}
	golden := "testdata/awsevents.golden"
	if *update {
		if err := os.WriteFile(golden, got.Bytes(), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	want, err := os.ReadFile(golden)
	if err != nil {
		t.Fatalf("%v (run with -update to create it)", err)
	}
	if diff := cmp.Diff(string(want), got.String()); diff != "" {
		t.Errorf("reasons mismatch (-want +got):\n%s", diff)
	}
	// The events the brief singles out must say what they are.
	for file, want := range map[string]string{
		"sqs-event.json":                   "SQS batch",
		"s3-event.json":                    "S3 event",
		"sns-event.json":                   "SNS event",
		"kinesis-event.json":               "Kinesis stream event",
		"dynamodb-event.json":              "DynamoDB stream event",
		"apigw-request.json":               "API Gateway",
		"apigw-v2-request-iam.json":        "API Gateway",
		"codedeploy-deployment-event.json": `source "aws.codedeploy", detail-type "CodeDeploy Deployment State-change Notification"`,
		"cloudwatch-logs-event.json":       "CloudWatch Logs",
	} {
		line := ""
		for _, l := range strings.Split(got.String(), "\n") {
			if strings.HasPrefix(l, file+": ") {
				line = l
			}
		}
		if !strings.Contains(line, want) {
			t.Errorf("%s: reason %q does not contain %q", file, line, want)
		}
	}
}

func TestDecodeValid(t *testing.T) {
	tests := []struct {
		name    string
		payload string
		bare    Trigger
		want    Message
	}{
		{
			name:    "API request shape",
			payload: `{"FunctionName":"my-function","Qualifier":"BLUE","ProvisionedConcurrentExecutions":100}`,
			bare:    TriggerDirect,
			want: Message{Kind: KindIntent, Trigger: TriggerDirect, ID: "req-1", Intent: Intent{
				ID: "req-1", Trigger: TriggerDirect, Function: Function{Name: "my-function"},
				Qualifier: "BLUE", Concurrency: ptr[int64](100), Wait: true,
			}},
		},
		{
			name:    "minimal bare intent from SQS",
			payload: `{"functionName":"f","to":"live"}`,
			bare:    TriggerSQS,
			want: Message{Kind: KindIntent, Trigger: TriggerSQS, ID: "req-1", Intent: Intent{
				ID: "req-1", Trigger: TriggerSQS, Function: Function{Name: "f"}, Qualifier: "live", Wait: true,
			}},
		},
		{
			name:    "unknown bare trigger recorded as direct",
			payload: `{"functionName":"f","to":"live"}`,
			bare:    TriggerSchedule,
			want: Message{Kind: KindIntent, Trigger: TriggerDirect, ID: "req-1", Intent: Intent{
				ID: "req-1", Trigger: TriggerDirect, Function: Function{Name: "f"}, Qualifier: "live", Wait: true,
			}},
		},
		{
			name:    "synonyms that agree",
			payload: `{"functionName":"f","FunctionName":"f","to":"B","qualifier":"B","Qualifier":"B","concurrency":3,"ProvisionedConcurrentExecutions":3}`,
			bare:    TriggerDirect,
			want: Message{Kind: KindIntent, Trigger: TriggerDirect, ID: "req-1", Intent: Intent{
				ID: "req-1", Trigger: TriggerDirect, Function: Function{Name: "f"}, Qualifier: "B",
				Concurrency: ptr[int64](3), Wait: true,
			}},
		},
		{
			name:    "qualifier only in the ARN",
			payload: `{"functionName":"arn:aws-cn:lambda:cn-north-1:123456789012:function:f:3","concurrency":0}`,
			bare:    TriggerDirect,
			want: Message{Kind: KindIntent, Trigger: TriggerDirect, ID: "req-1", Intent: Intent{
				ID: "req-1", Trigger: TriggerDirect,
				Function:  Function{Name: "f", Partition: "aws-cn", Region: "cn-north-1", AccountID: "123456789012"},
				Qualifier: "3", Concurrency: ptr[int64](0), Wait: true,
			}},
		},
		{
			name:    "ARN qualifier agreeing with to",
			payload: `{"functionName":"123456789012:function:f:GREEN","to":"GREEN"}`,
			bare:    TriggerDirect,
			want: Message{Kind: KindIntent, Trigger: TriggerDirect, ID: "req-1", Intent: Intent{
				ID: "req-1", Trigger: TriggerDirect, Function: Function{Name: "f", AccountID: "123456789012"},
				Qualifier: "GREEN", Wait: true,
			}},
		},
		{
			name:    "explicit id wins over the EventBridge id",
			payload: `{"version":"0","id":"ev-1","detail-type":"Alias Switch","source":"x","detail":{"id":"mine","functionName":"f","from":"A","to":"B"}}`,
			bare:    TriggerDirect,
			want: Message{Kind: KindIntent, Trigger: TriggerEventBridge, ID: "mine", Intent: Intent{
				ID: "mine", Trigger: TriggerEventBridge, Function: Function{Name: "f"}, Qualifier: "B", From: "A", Wait: true,
			}},
		},
		{
			name:    "nulls for optional fields are absent",
			payload: `{"functionName":"f","to":"B","from":null,"concurrency":null,"scale":null,"min":null,"max":null,"release":null,"wait":null,"dryRun":null,"correlationId":null,"id":null}`,
			bare:    TriggerDirect,
			want: Message{Kind: KindIntent, Trigger: TriggerDirect, ID: "req-1", Intent: Intent{
				ID: "req-1", Trigger: TriggerDirect, Function: Function{Name: "f"}, Qualifier: "B", Wait: true,
			}},
		},
		{
			name:    "boundaries: concurrency 2^31-1, min = max, release standby, tiny scale",
			payload: `{"functionName":"f","to":"B","from":"A","concurrency":2147483647,"min":7,"max":7,"release":2147483647,"scale":1e-300,"wait":true,"dryRun":false}`,
			bare:    TriggerDirect,
			want: Message{Kind: KindIntent, Trigger: TriggerDirect, ID: "req-1", Intent: Intent{
				ID: "req-1", Trigger: TriggerDirect, Function: Function{Name: "f"}, Qualifier: "B", From: "A",
				Concurrency: ptr[int64](2147483647), Min: ptr[int64](7), Max: ptr[int64](7),
				Release: Release{Mode: ReleaseStandby, Standby: 2147483647}, Scale: 1e-300, Wait: true,
			}},
		},
		{
			name:    "64-character name, 128-character alias, whitespace around the body",
			payload: "\n\t {\"functionName\":\"" + strings.Repeat("a", 64) + "\",\"to\":\"" + strings.Repeat("Z", 128) + "\"} \n",
			bare:    TriggerDirect,
			want: Message{Kind: KindIntent, Trigger: TriggerDirect, ID: "req-1", Intent: Intent{
				ID: "req-1", Trigger: TriggerDirect, Function: Function{Name: strings.Repeat("a", 64)},
				Qualifier: strings.Repeat("Z", 128), Wait: true,
			}},
		},
		{
			name:    "scheduled event with an empty id uses the default",
			payload: `{"detail-type":"Scheduled Event","source":"aws.events","detail":{}}`,
			bare:    TriggerSQS,
			want:    Message{Kind: KindReconcile, Trigger: TriggerSchedule, ID: "req-1"},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := Decode([]byte(tt.payload), "req-1", tt.bare)
			if err != nil {
				t.Fatalf("Decode: %v", err)
			}
			if diff := cmp.Diff(tt.want, got); diff != "" {
				t.Errorf("Decode mismatch (-want +got):\n%s", diff)
			}
		})
	}
}

func TestDecodeRejections(t *testing.T) {
	long := func(n int) string { return strings.Repeat("a", n) }
	tests := []struct {
		name    string
		payload string
		want    Rejection // ID defaults to "req-1", Trigger to TriggerDirect
	}{
		// Not JSON, not an object.
		{"empty", ``, Rejection{Reason: "body is empty"}},
		{"not JSON", `hello`, Rejection{Reason: "body is not JSON: invalid character 'h' looking for beginning of value"}},
		{"truncated", `{"functionName":"f"`, Rejection{Reason: "body is not JSON: unexpected end of input"}},
		{"trailing data", `{"functionName":"f","to":"B"} {}`, Rejection{Reason: "body is not JSON: more than one value (trailing data after the first)"}},
		{"array", `[{"functionName":"f"}]`, Rejection{Reason: "body is a JSON array, not an object"}},
		{"string", `"{\"functionName\":\"f\"}"`, Rejection{Reason: "body is a JSON string, not an object"}},
		{"null", `null`, Rejection{Reason: "body is a JSON null, not an object"}},
		{"non-UTF-8", "{\"functionName\":\"f\xff\",\"to\":\"B\"}", Rejection{Reason: "body is not valid UTF-8"}},
		{"too deep", strings.Repeat(`{"a":`, 17) + `1` + strings.Repeat(`}`, 17), Rejection{Reason: "body nests deeper than 16 levels"}},
		{"duplicate key", `{"id":"x","functionName":"f","to":"B","concurrency":1,"concurrency":100}`, Rejection{Reason: `duplicate key "concurrency" in an object`, ID: "x", FunctionName: "f", Qualifier: "B"}},
		{"duplicate key in a detail", `{"detail-type":"Alias Switch","source":"s","id":"e","detail":{"functionName":"f","to":"B","to":"C"}}`, Rejection{Reason: `duplicate key "to" in an object`, ID: "e", FunctionName: "f", Qualifier: "C"}},

		// Fields.
		{"unknown field with suggestion", `{"functionName":"f","to":"B","concurency":3}`, Rejection{Reason: `unknown field "concurency" (did you mean "concurrency"?)`, FunctionName: "f", Qualifier: "B"}},
		{"unknown field, case", `{"functionname":"f","to":"B"}`, Rejection{Reason: `unknown field "functionname" (did you mean "functionName"?)`, Qualifier: "B"}},
		{"several unknown fields", `{"functionName":"f","to":"B","x":1,"y":2}`, Rejection{Reason: `unknown fields "x" and 1 more`, FunctionName: "f", Qualifier: "B"}},
		{"missing functionName", `{"to":"B"}`, Rejection{Reason: "functionName is required", Qualifier: "B"}},
		{"null functionName", `{"functionName":null,"to":"B"}`, Rejection{Reason: "functionName is required, got null", Qualifier: "B"}},
		{"empty functionName", `{"functionName":"","to":"B"}`, Rejection{Reason: "functionName is required, got an empty string", Qualifier: "B"}},
		{"functionName not a string", `{"functionName":5,"to":"B"}`, Rejection{Reason: "functionName must be a string, got a JSON number", Qualifier: "B"}},
		{"function names disagree", `{"functionName":"f","FunctionName":"g","to":"B"}`, Rejection{Reason: `functionName "f" and FunctionName "g" disagree`, FunctionName: "f", Qualifier: "B"}},
		{"name too long", `{"functionName":"` + long(65) + `","to":"B"}`, Rejection{Reason: `functionName "` + long(65)[:80-15] + `" has a function name of 65 characters, more than 64`, FunctionName: long(65), Qualifier: "B"}},
		{"ARN too long", `{"functionName":"arn:aws:lambda:us-east-1:123456789012:function:` + long(100) + `","to":"B"}`, Rejection{Reason: `functionName "arn:aws:lambda:us-east-1:123456789012:function:aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa"… is 147 characters long, more than the 140 Lambda allows`, FunctionName: "arn:aws:lambda:us-east-1:123456789012:function:" + long(93), Qualifier: "B"}},
		{"bad name characters", `{"functionName":"my.function","to":"B"}`, Rejection{Reason: `functionName "my.function" has a function name with characters other than letters, digits, '-' and '_'`, FunctionName: "my.function", Qualifier: "B"}},
		{"name with a qualifier suffix", `{"functionName":"f:B","to":"B"}`, Rejection{Reason: `functionName "f:B" is not a function name, a partial ARN (ACCOUNT:function:NAME) or a full ARN; give the qualifier in "to"`, FunctionName: "f:B", Qualifier: "B"}},
		{"ARN with a short account", `{"functionName":"arn:aws:lambda:us-east-1:12345:function:f","to":"B"}`, Rejection{Reason: `functionName "arn:aws:lambda:us-east-1:12345:function:f" has an invalid account ID "12345" (want 12 digits)`, FunctionName: "arn:aws:lambda:us-east-1:12345:function:f", Qualifier: "B"}},
		{"ARN of another service", `{"functionName":"arn:aws:sqs:us-east-1:123456789012:function:f","to":"B"}`, Rejection{Reason: `functionName "arn:aws:sqs:us-east-1:123456789012:function:f" is an ARN of service "sqs", not lambda`, FunctionName: "arn:aws:sqs:us-east-1:123456789012:function:f", Qualifier: "B"}},
		{"ARN qualifier disagrees", `{"functionName":"arn:aws:lambda:us-east-1:123456789012:function:f:BLUE","to":"GREEN"}`, Rejection{Reason: `functionName qualifier "BLUE" disagrees with to "GREEN"`, FunctionName: "arn:aws:lambda:us-east-1:123456789012:function:f:BLUE", Qualifier: "GREEN"}},
		{"missing to", `{"functionName":"f"}`, Rejection{Reason: "to (the alias or version that receives provisioned concurrency) is required", FunctionName: "f"}},
		{"null to", `{"functionName":"f","to":null}`, Rejection{Reason: "to is required, got null", FunctionName: "f"}},
		{"qualifiers disagree", `{"functionName":"f","to":"B","Qualifier":"C"}`, Rejection{Reason: `to "B" and Qualifier "C" disagree`, FunctionName: "f", Qualifier: "B"}},
		{"$LATEST", `{"functionName":"f","to":"$LATEST"}`, Rejection{Reason: "to: qualifier $LATEST cannot hold provisioned concurrency: use an alias or a published version", FunctionName: "f", Qualifier: "$LATEST"}},
		{"$LATEST in the ARN", `{"functionName":"123456789012:function:f:$LATEST"}`, Rejection{Reason: "to: qualifier $LATEST cannot hold provisioned concurrency: use an alias or a published version", FunctionName: "123456789012:function:f:$LATEST", Qualifier: "$LATEST"}},
		{"alias too long", `{"functionName":"f","to":"` + long(129) + `"}`, Rejection{Reason: `to: qualifier "` + long(80) + `"… is 129 characters long, more than 128`, FunctionName: "f", Qualifier: long(129)}},
		{"alias bad characters", `{"functionName":"f","to":"blue green"}`, Rejection{Reason: `to: qualifier "blue green" may contain only letters, digits, '-' and '_'`, FunctionName: "f", Qualifier: "blue green"}},
		{"version 0", `{"functionName":"f","to":"0"}`, Rejection{Reason: `to: qualifier "0" is not a published version number (versions start at 1)`, FunctionName: "f", Qualifier: "0"}},
		{"from equals to", `{"functionName":"f","from":"B","to":"B"}`, Rejection{Reason: `from and to are both "B": nothing moves`, FunctionName: "f", Qualifier: "B"}},
		{"from $LATEST", `{"functionName":"f","from":"$LATEST","to":"B"}`, Rejection{Reason: "from: qualifier $LATEST cannot hold provisioned concurrency: use an alias or a published version", FunctionName: "f", Qualifier: "B"}},
		{"from empty", `{"functionName":"f","from":"","to":"B"}`, Rejection{Reason: "from: qualifier is empty", FunctionName: "f", Qualifier: "B"}},

		// Numbers.
		{"concurrency float", `{"functionName":"f","to":"B","concurrency":1.5}`, Rejection{Reason: "concurrency must be an integer, got 1.5", FunctionName: "f", Qualifier: "B"}},
		{"concurrency whole float", `{"functionName":"f","to":"B","concurrency":100.0}`, Rejection{Reason: "concurrency must be an integer, got 100.0", FunctionName: "f", Qualifier: "B"}},
		{"concurrency exponent", `{"functionName":"f","to":"B","concurrency":1e2}`, Rejection{Reason: "concurrency must be an integer, got 1e2", FunctionName: "f", Qualifier: "B"}},
		{"concurrency string", `{"functionName":"f","to":"B","concurrency":"100"}`, Rejection{Reason: "concurrency must be an integer, got a JSON string", FunctionName: "f", Qualifier: "B"}},
		{"concurrency negative", `{"functionName":"f","to":"B","concurrency":-1}`, Rejection{Reason: "concurrency must not be negative, got -1", FunctionName: "f", Qualifier: "B"}},
		{"concurrency above int32", `{"functionName":"f","to":"B","concurrency":2147483648}`, Rejection{Reason: "concurrency 2147483648 is larger than 2147483647", FunctionName: "f", Qualifier: "B"}},
		{"concurrency above int64", `{"functionName":"f","to":"B","concurrency":99999999999999999999}`, Rejection{Reason: "concurrency 99999999999999999999 is larger than 2147483647", FunctionName: "f", Qualifier: "B"}},
		{"concurrency below int64", `{"functionName":"f","to":"B","concurrency":-99999999999999999999}`, Rejection{Reason: "concurrency must not be negative, got -99999999999999999999", FunctionName: "f", Qualifier: "B"}},
		{"concurrency synonyms disagree", `{"functionName":"f","to":"B","concurrency":1,"ProvisionedConcurrentExecutions":2}`, Rejection{Reason: "concurrency 1 and ProvisionedConcurrentExecutions 2 disagree", FunctionName: "f", Qualifier: "B"}},
		{"PascalCase concurrency float", `{"FunctionName":"f","Qualifier":"B","ProvisionedConcurrentExecutions":2.5}`, Rejection{Reason: "ProvisionedConcurrentExecutions must be an integer, got 2.5", FunctionName: "f", Qualifier: "B"}},
		{"scale zero", `{"functionName":"f","to":"B","scale":0}`, Rejection{Reason: "scale must be greater than 0, got 0", FunctionName: "f", Qualifier: "B"}},
		{"scale negative", `{"functionName":"f","to":"B","scale":-2}`, Rejection{Reason: "scale must be greater than 0, got -2", FunctionName: "f", Qualifier: "B"}},
		{"scale NaN string", `{"functionName":"f","to":"B","scale":"NaN"}`, Rejection{Reason: "scale must be a number, got a JSON string", FunctionName: "f", Qualifier: "B"}},
		{"scale Infinity string", `{"functionName":"f","to":"B","scale":"Infinity"}`, Rejection{Reason: "scale must be a number, got a JSON string", FunctionName: "f", Qualifier: "B"}},
		{"scale bare NaN", `{"functionName":"f","to":"B","scale":NaN}`, Rejection{Reason: "body is not JSON: invalid character 'N' looking for beginning of value"}},
		{"scale overflow", `{"functionName":"f","to":"B","scale":1e309}`, Rejection{Reason: "scale 1e309 is out of range", FunctionName: "f", Qualifier: "B"}},
		{"scale underflow", `{"functionName":"f","to":"B","scale":1e-400}`, Rejection{Reason: "scale must be greater than 0, got 1e-400", FunctionName: "f", Qualifier: "B"}},
		{"min negative", `{"functionName":"f","to":"B","min":-1}`, Rejection{Reason: "min must not be negative, got -1", FunctionName: "f", Qualifier: "B"}},
		{"max float", `{"functionName":"f","to":"B","max":2.5}`, Rejection{Reason: "max must be an integer, got 2.5", FunctionName: "f", Qualifier: "B"}},
		{"min above max", `{"functionName":"f","to":"B","min":10,"max":5}`, Rejection{Reason: "min 10 is greater than max 5", FunctionName: "f", Qualifier: "B"}},

		// Release, flags, identifiers.
		{"release unknown word", `{"functionName":"f","from":"A","to":"B","release":"keep"}`, Rejection{Reason: `release must be "none", "delete" or a standby number ≥ 1, got "keep"`, FunctionName: "f", Qualifier: "B"}},
		{"release zero", `{"functionName":"f","from":"A","to":"B","release":0}`, Rejection{Reason: `release must be at least 1, got 0 (use "delete" to remove the outgoing provisioned concurrency)`, FunctionName: "f", Qualifier: "B"}},
		{"release float", `{"functionName":"f","from":"A","to":"B","release":1.5}`, Rejection{Reason: `release must be an integer, got 1.5 (use "delete" to remove the outgoing provisioned concurrency)`, FunctionName: "f", Qualifier: "B"}},
		{"release bool", `{"functionName":"f","from":"A","to":"B","release":true}`, Rejection{Reason: `release must be "none", "delete" or a standby number ≥ 1, got a JSON boolean`, FunctionName: "f", Qualifier: "B"}},
		{"release without from", `{"functionName":"f","to":"B","release":"delete"}`, Rejection{Reason: "release needs from: it names the outgoing qualifier to release", FunctionName: "f", Qualifier: "B"}},
		{"release without wait", `{"functionName":"f","from":"A","to":"B","release":"delete","wait":false}`, Rejection{Reason: "release needs wait: the outgoing qualifier is released only after the target is READY", FunctionName: "f", Qualifier: "B"}},
		{"release with concurrency 0", `{"functionName":"f","from":"A","to":"B","release":"delete","concurrency":0}`, Rejection{Reason: "release needs a target that becomes READY, but concurrency 0 removes the target's provisioned concurrency", FunctionName: "f", Qualifier: "B"}},
		{"wait string", `{"functionName":"f","to":"B","wait":"false"}`, Rejection{Reason: "wait must be true or false, got a JSON string", FunctionName: "f", Qualifier: "B"}},
		{"dryRun number", `{"functionName":"f","to":"B","dryRun":1}`, Rejection{Reason: "dryRun must be true or false, got a JSON number", FunctionName: "f", Qualifier: "B"}},
		{"aliasMoved is prewarm's own", `{"functionName":"f","to":"B","aliasMoved":true}`, Rejection{Reason: `unknown field "aliasMoved"`, FunctionName: "f", Qualifier: "B"}},
		{"empty id", `{"id":"","functionName":"f","to":"B"}`, Rejection{Reason: "id is empty", FunctionName: "f", Qualifier: "B"}},
		{"id not a string", `{"id":7,"functionName":"f","to":"B"}`, Rejection{Reason: "id must be a string, got a JSON number", FunctionName: "f", Qualifier: "B"}},
		{"correlationId object", `{"correlationId":{},"functionName":"f","to":"B"}`, Rejection{Reason: "correlationId must be a string, got a JSON object", FunctionName: "f", Qualifier: "B"}},
		{"id too long", `{"id":"` + long(257) + `","functionName":"f","to":"B"}`, Rejection{Reason: "id is longer than 256 characters", ID: long(140), FunctionName: "f", Qualifier: "B"}},
		{"recovered identifiers", `{"id":"deploy-9","correlationId":"run-3","functionName":"f","to":"B","concurrency":-5}`, Rejection{Reason: "concurrency must not be negative, got -5", ID: "deploy-9", CorrelationID: "run-3", FunctionName: "f", Qualifier: "B"}},

		// Envelopes.
		{"EventBridge envelope without detail", `{"id":"e","detail-type":"Alias Switch","source":"s"}`, Rejection{Reason: `EventBridge envelope "Alias Switch" from "s" has no detail`, ID: "e", Trigger: TriggerEventBridge}},
		{"EventBridge detail not an object", `{"id":"e","detail-type":"Alias Switch","source":"s","detail":"x"}`, Rejection{Reason: "EventBridge envelope: detail must be an object, got a JSON string", ID: "e", Trigger: TriggerEventBridge}},
		{"EventBridge without source", `{"id":"e","detail-type":"Alias Switch","detail":{}}`, Rejection{Reason: `EventBridge envelope of detail-type "Alias Switch" has no source`, ID: "e", Trigger: TriggerEventBridge}},
		{"EventBridge unsupported", `{"id":"e","detail-type":"Object Created","source":"aws.s3","detail":{}}`, Rejection{Reason: `unsupported EventBridge event: source "aws.s3", detail-type "Object Created"`, ID: "e", Trigger: TriggerEventBridge}},
		{"Alias Switch invalid detail", `{"id":"e","detail-type":"Alias Switch","source":"s","detail":{"functionName":"f","from":"A","to":"B","concurrency":1.5}}`, Rejection{Reason: "Alias Switch detail: concurrency must be an integer, got 1.5", ID: "e", FunctionName: "f", Qualifier: "B", Trigger: TriggerEventBridge}},
		{"CloudTrail from another service", `{"id":"e","detail-type":"AWS API Call via CloudTrail","source":"aws.lambda","detail":{"eventSource":"s3.amazonaws.com","eventName":"UpdateAlias20150331"}}`, Rejection{Reason: `unsupported CloudTrail event: eventSource "s3.amazonaws.com" is not lambda.amazonaws.com`, ID: "e", Trigger: TriggerCloudTrail}},
		{"CloudTrail without requestParameters", `{"id":"e","detail-type":"AWS API Call via CloudTrail","source":"aws.lambda","detail":{"eventName":"UpdateAlias20150331"}}`, Rejection{Reason: "CloudTrail UpdateAlias20150331 has no requestParameters", ID: "e", Trigger: TriggerCloudTrail}},
		{"CloudTrail without alias name", `{"id":"e","detail-type":"AWS API Call via CloudTrail","source":"aws.lambda","detail":{"eventName":"UpdateAlias20150331","requestParameters":{"functionName":"f"}}}`, Rejection{Reason: "CloudTrail UpdateAlias20150331 has no requestParameters.name", ID: "e", FunctionName: "f", Trigger: TriggerCloudTrail}},
		{"CloudTrail ARN qualifier disagrees", `{"id":"e","detail-type":"AWS API Call via CloudTrail","source":"aws.lambda","detail":{"eventName":"UpdateAlias20150331","requestParameters":{"functionName":"123456789012:function:f:X","name":"live"}}}`, Rejection{Reason: `functionName qualifier "X" disagrees with alias name "live"`, ID: "e", FunctionName: "123456789012:function:f:X", Qualifier: "live", Trigger: TriggerCloudTrail}},
		{"follow-up with other fields", `{"prewarmFollowUp":{},"functionName":"f"}`, Rejection{Reason: "follow-up message has fields besides prewarmFollowUp", Trigger: TriggerFollowUp}},
		{"follow-up without intent", `{"prewarmFollowUp":{"value":1}}`, Rejection{Reason: "prewarmFollowUp.intent is required", Trigger: TriggerFollowUp}},
		{"follow-up with a bad intent", `{"prewarmFollowUp":{"intent":{"trigger":"cron","functionName":"f","to":"B"}}}`, Rejection{Reason: `prewarmFollowUp.intent: trigger "cron" is unknown`, FunctionName: "f", Qualifier: "B", Trigger: TriggerFollowUp}},
		{"follow-up without times", `{"prewarmFollowUp":{"intent":{"trigger":"sqs","functionName":"f","to":"B"},"value":3,"base":3}}`, Rejection{Reason: "prewarmFollowUp.started is required", FunctionName: "f", Qualifier: "B", Trigger: TriggerFollowUp}},

		// Look-alikes.
		{"SNS notification in SQS", `{"Type":"Notification","MessageId":"m","TopicArn":"arn:aws:sns:us-east-1:123456789012:t","Message":"{}"}`, Rejection{Reason: "body looks like an SNS notification delivered to SQS without raw message delivery, not a prewarm intent"}},
		{"Records of something else", `{"Records":[{"eventSource":"aws:lambda-url"}]}`, Rejection{Reason: `body looks like an event batch from "aws:lambda-url", not a prewarm intent`}},
		{"Records empty", `{"Records":[]}`, Rejection{Reason: `body has "Records" but is not an event prewarm accepts`}},
		{"CloudFormation custom resource", `{"RequestType":"Create","ResponseURL":"https://example.com","StackId":"s"}`, Rejection{Reason: "body looks like a CloudFormation custom resource request, not a prewarm intent"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			m, err := Decode([]byte(tt.payload), "req-1", TriggerDirect)
			var got *Rejection
			if !errors.As(err, &got) {
				t.Fatalf("Decode(%s) = %+v, %v; want a *Rejection", tt.payload, m, err)
			}
			want := tt.want
			if want.ID == "" {
				want.ID = "req-1"
			}
			if want.Trigger == "" {
				want.Trigger = TriggerDirect
			}
			if diff := cmp.Diff(&want, got); diff != "" {
				t.Errorf("Decode(%.120s) rejection mismatch (-want +got):\n%s", tt.payload, diff)
			}
		})
	}
}

func TestDecodeLimits(t *testing.T) {
	t.Run("payload larger than MaxPayloadBytes is refused unparsed", func(t *testing.T) {
		payload := []byte(`{"functionName":"f","to":"B","correlationId":"` + strings.Repeat("x", MaxPayloadBytes) + `"}`)
		_, err := Decode(payload, "req-1", TriggerSQS)
		want := &Rejection{Reason: fmt.Sprintf("body is %d bytes, more than the 262144 accepted", len(payload)), ID: "req-1", Trigger: TriggerSQS}
		var got *Rejection
		if !errors.As(err, &got) {
			t.Fatalf("Decode = %v; want a *Rejection", err)
		}
		if diff := cmp.Diff(want, got); diff != "" {
			t.Errorf("mismatch (-want +got):\n%s", diff)
		}
	})
	t.Run("nesting at the limit is accepted by the JSON walk", func(t *testing.T) {
		payload := []byte(strings.Repeat(`[`, MaxDepth) + strings.Repeat(`]`, MaxDepth))
		if err := CheckJSON("body", payload); err != nil {
			t.Errorf("CheckJSON(depth %d) = %v; want nil", MaxDepth, err)
		}
		payload = []byte(strings.Repeat(`[`, MaxDepth+1) + strings.Repeat(`]`, MaxDepth+1))
		if err := CheckJSON("body", payload); err == nil {
			t.Errorf("CheckJSON(depth %d) = nil; want an error", MaxDepth+1)
		}
	})
	t.Run("the same key in different objects is not a duplicate", func(t *testing.T) {
		payload := []byte(`{"a":{"x":1},"b":{"x":[{"x":1},{"x":2}]},"x":3}`)
		if err := CheckJSON("body", payload); err != nil {
			t.Errorf("CheckJSON = %v; want nil", err)
		}
	})
}

func TestRejectionError(t *testing.T) {
	tests := []struct {
		r    Rejection
		want string
	}{
		{Rejection{Reason: "body is empty"}, "reject payload: body is empty"},
		{Rejection{Reason: "r", ID: "i", Trigger: TriggerSQS}, "reject sqs payload i: r"},
		{Rejection{Reason: "r", ID: "i", FunctionName: "f", Qualifier: "B", Trigger: TriggerDirect}, "reject direct payload i f:B: r"},
	}
	for _, tt := range tests {
		if got := tt.r.Error(); got != tt.want {
			t.Errorf("Error() = %q, want %q", got, tt.want)
		}
	}
}

// TestCloudTrailRegionWithoutAccount: an UpdateAlias event that names a
// Region but no account (neither in the detail nor the envelope) cannot
// say which function moved; it is rejected rather than applied to the
// same name in prewarm's own Region.
func TestCloudTrailRegionWithoutAccount(t *testing.T) {
	body := `{"version":"0","id":"ct-1","detail-type":"AWS API Call via CloudTrail","source":"aws.lambda","detail":` +
		`{"eventSource":"lambda.amazonaws.com","eventName":"UpdateAlias20150331","awsRegion":"eu-west-1",` +
		`"requestParameters":{"functionName":"checkout-api","name":"live","functionVersion":"3"}}}`
	_, err := Decode([]byte(body), "msg-1", TriggerSQS)
	var rej *Rejection
	if !errors.As(err, &rej) || !strings.Contains(rej.Reason, "no account") || rej.FunctionName != "checkout-api" {
		t.Fatalf("Decode = %v, want a rejection naming the missing account", err)
	}
}

// TestCodePipelineJobKeepsNoCredentials decodes job events, good and bad, and finds the
// artifact credentials in no rejection, message or String().
func TestCodePipelineJobKeepsNoCredentials(t *testing.T) {
	const (
		key     = "AKIAIOSFODNN7EXAMPLE"
		secret  = "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY"
		session = "FQoGZXIvYXdzEXAMPLESESSIONTOKEN"
	)
	creds := `"artifactCredentials":{"accessKeyId":"` + key + `","secretAccessKey":"` + secret + `","sessionToken":"` + session + `"}`
	job := func(id, params, rest string) string {
		return `{"CodePipeline.job":{"id":"` + id + `","data":{"actionConfiguration":{"configuration":{"UserParameters":` + params + `}},` + rest + `}}}`
	}
	const id = "11111111-abcd-1111-abcd-111111abcdef"
	tests := []struct {
		name    string
		payload string
		wantErr bool
	}{
		{"accepted", job(id, `"{\"functionName\":\"f\",\"to\":\"GREEN\"}"`, creds), false},
		{"bad UserParameters", job(id, `"{\"functionName\":\"f\"}"`, creds), true},
		{"UserParameters not JSON", job(id, `"GREEN"`, creds), true},
		{"bad job id", job("job-1", `"{\"functionName\":\"f\",\"to\":\"GREEN\"}"`, creds), true},
		{"credentials of the wrong type", job(id, `"{}"`, `"artifactCredentials":{"accessKeyId":1,"secretAccessKey":"`+secret+`","sessionToken":["`+session+`"]}`), true},
		{"duplicate credential", job(id, `"{}"`, `"artifactCredentials":{"secretAccessKey":"`+secret+`","secretAccessKey":"`+secret+`"}`), true},
		{"credentials broken JSON", job(id, `"{}"`, `"artifactCredentials":{"secretAccessKey":"`+secret+`\u00"}`), true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			m, err := Decode([]byte(tt.payload), "req-1", TriggerDirect)
			if (err != nil) != tt.wantErr {
				t.Fatalf("Decode = %+v, %v; want error %v", m, err, tt.wantErr)
			}
			seen := fmt.Sprintf("%v|%+v|%v|%+v|%s", err, err, m, m, m.CodePipelineJob)
			var rej *Rejection
			if errors.As(err, &rej) {
				seen += fmt.Sprintf("|%+v|%s", *rej, rej.Reason)
				if tt.name != "bad job id" && tt.name != "credentials broken JSON" && (rej.JobID != id || rej.Trigger != TriggerCodePipeline) {
					t.Errorf("rejection %+v does not name job %s", rej, id)
				}
			}
			for _, c := range []string{key, secret, session, secret[:12]} {
				if strings.Contains(seen, c) {
					t.Errorf("%q is in %s", c, seen)
				}
			}
		})
	}
}

// TestCodePipelineJobRejectionNamesTheJob: a job whose intent is refused can still be ended.
func TestCodePipelineJobRejectionNamesTheJob(t *testing.T) {
	payload := `{"CodePipeline.job":{"id":"11111111-abcd-1111-abcd-111111abcdef","data":{"actionConfiguration":{"configuration":{"UserParameters":"{\"functionName\":\"f\",\"to\":\"$LATEST\",\"id\":\"mine\"}"}}}}}`
	_, err := Decode([]byte(payload), "req-1", TriggerDirect)
	var rej *Rejection
	if !errors.As(err, &rej) {
		t.Fatalf("Decode = %v; want a *Rejection", err)
	}
	if rej.JobID != "11111111-abcd-1111-abcd-111111abcdef" || rej.ID != "mine" || rej.Trigger != TriggerCodePipeline {
		t.Errorf("rejection %+v; want job 11111111-…, id mine, trigger codepipeline", rej)
	}
	if want := "reject codepipeline payload mine f:$LATEST of job 11111111-abcd-1111-abcd-111111abcdef: "; !strings.HasPrefix(rej.Error(), want) {
		t.Errorf("Error() = %q; want prefix %q", rej.Error(), want)
	}
}

// TestGateStrings: the String forms name the gate and shorten long ids.
func TestGateStrings(t *testing.T) {
	h := CodeDeployHook{DeploymentID: "d-ABCDEF123", ExecutionID: strings.Repeat("x", 300)}
	if got, want := h.String(), "CodeDeploy deployment d-ABCDEF123 hook execution "+strings.Repeat("x", 40)+"…"; got != want {
		t.Errorf("hook String() = %q, want %q", got, want)
	}
	j := CodePipelineJob{JobID: "j", ContinuationToken: "t", Intent: Intent{Function: Function{Name: "f"}, Qualifier: "GREEN"}}
	if got, want := j.String(), "CodePipeline job j for f:GREEN (continued)"; got != want {
		t.Errorf("job String() = %q, want %q", got, want)
	}
}
