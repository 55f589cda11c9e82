package deploy

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
)

func TestParseShortForms(t *testing.T) {
	tests := []struct {
		name string
		yaml string
		want any
	}{
		{
			name: "Ref",
			yaml: "V: !Ref Queue",
			want: map[string]any{"Ref": "Queue"},
		},
		{
			name: "Ref argument stays text",
			yaml: "V: !Ref 5",
			want: map[string]any{"Ref": "5"},
		},
		{
			name: "Sub string",
			yaml: "V: !Sub arn:${AWS::Partition}:lambda:${AWS::Region}:${AWS::AccountId}:function:${P}",
			want: map[string]any{"Fn::Sub": "arn:${AWS::Partition}:lambda:${AWS::Region}:${AWS::AccountId}:function:${P}"},
		},
		{
			name: "Sub with variables",
			yaml: "V: !Sub ['${A}-x', {A: !Ref B}]",
			want: map[string]any{"Fn::Sub": []any{"${A}-x", map[string]any{"A": map[string]any{"Ref": "B"}}}},
		},
		{
			name: "GetAtt dotted",
			yaml: "V: !GetAtt Queue.Arn",
			want: map[string]any{"Fn::GetAtt": []any{"Queue", "Arn"}},
		},
		{
			name: "GetAtt attribute with a dot",
			yaml: "V: !GetAtt DB.Endpoint.Address",
			want: map[string]any{"Fn::GetAtt": []any{"DB", "Endpoint.Address"}},
		},
		{
			name: "GetAtt list",
			yaml: "V: !GetAtt [Queue, Arn]",
			want: map[string]any{"Fn::GetAtt": []any{"Queue", "Arn"}},
		},
		{
			name: "If with nested tags",
			yaml: "V: !If [IsFIFO, !GetAtt Q.Arn, !Ref AWS::NoValue]",
			want: map[string]any{"Fn::If": []any{
				"IsFIFO",
				map[string]any{"Fn::GetAtt": []any{"Q", "Arn"}},
				map[string]any{"Ref": "AWS::NoValue"},
			}},
		},
		{
			name: "Not Equals",
			yaml: "V: !Not [!Equals [!Ref T, \"\"]]",
			want: map[string]any{"Fn::Not": []any{map[string]any{"Fn::Equals": []any{map[string]any{"Ref": "T"}, ""}}}},
		},
		{
			name: "Condition",
			yaml: "V: !Condition IsFIFO",
			want: map[string]any{"Condition": "IsFIFO"},
		},
		{
			name: "plain scalars keep their types",
			yaml: "V: [60, 1.5, true, \"false\", null, 2010-09-09]",
			want: []any{float64(60), 1.5, true, "false", nil, "2010-09-09"},
		},
		{
			name: "anchors are followed",
			yaml: "A: &a {x: !Ref Q}\nV: *a",
			want: map[string]any{"x": map[string]any{"Ref": "Q"}},
		},
		{
			name: "JSON input",
			yaml: `{"V": {"Fn::GetAtt": ["Q", "Arn"]}}`,
			want: map[string]any{"Fn::GetAtt": []any{"Q", "Arn"}},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			tmpl, err := Parse([]byte(tt.yaml))
			if err != nil {
				t.Fatalf("Parse(%q) error: %v", tt.yaml, err)
			}
			got := tmpl.Document["V"]
			if diff := cmp.Diff(tt.want, got); diff != "" {
				t.Errorf("Parse(%q)[V] mismatch (-want +got):\n%s", tt.yaml, diff)
			}
		})
	}
}

func TestParseSections(t *testing.T) {
	const src = `
Transform: AWS::Serverless-2016-10-31
Parameters:
  Mode: {Type: String, Default: standard, AllowedValues: [standard, fifo], Description: mode}
  Count: {Type: Number, Default: 5}
Conditions:
  IsFIFO: !Equals [!Ref Mode, fifo]
Resources:
  Q:
    Type: AWS::SQS::Queue
    Condition: IsFIFO
    Properties: {SqsManagedSseEnabled: true}
  F:
    Type: AWS::Serverless::Function
    Metadata: {BuildMethod: makefile}
    Properties: {Handler: bootstrap}
  R:
    Type: AWS::SQS::Queue
Outputs:
  QueueURL: {Description: url, Value: !Ref Q, Condition: IsFIFO}
`
	tmpl, err := Parse([]byte(src))
	if err != nil {
		t.Fatalf("Parse: %v", err)
	}
	got := *tmpl
	got.Document = nil
	want := Template{
		Transform: "AWS::Serverless-2016-10-31",
		Parameters: map[string]Parameter{
			"Mode":  {Type: "String", Default: "standard", AllowedValues: []any{"standard", "fifo"}, Description: "mode"},
			"Count": {Type: "Number", Default: float64(5)},
		},
		Conditions: map[string]any{
			"IsFIFO": map[string]any{"Fn::Equals": []any{map[string]any{"Ref": "Mode"}, "fifo"}},
		},
		Resources: map[string]Resource{
			"Q": {Type: "AWS::SQS::Queue", Condition: "IsFIFO", Properties: map[string]any{"SqsManagedSseEnabled": true}},
			"F": {Type: "AWS::Serverless::Function", Metadata: map[string]any{"BuildMethod": "makefile"}, Properties: map[string]any{"Handler": "bootstrap"}},
			"R": {Type: "AWS::SQS::Queue"},
		},
		Outputs: map[string]Output{
			"QueueURL": {Description: "url", Value: map[string]any{"Ref": "Q"}, Condition: "IsFIFO"},
		},
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("Parse sections mismatch (-want +got):\n%s", diff)
	}
	if diff := cmp.Diff([]string{"Q", "R"}, tmpl.ResourcesOfType("AWS::SQS::Queue")); diff != "" {
		t.Errorf("ResourcesOfType mismatch (-want +got):\n%s", diff)
	}
	js, err := tmpl.JSON()
	if err != nil {
		t.Fatalf("JSON: %v", err)
	}
	again, err := Parse(js)
	if err != nil {
		t.Fatalf("Parse(JSON()): %v", err)
	}
	if diff := cmp.Diff(tmpl, again); diff != "" {
		t.Errorf("Parse(JSON()) differs from the YAML parse (-yaml +json):\n%s", diff)
	}
}

// billionLaughs doubles its size with every anchor: 2^30 nodes once expanded.
var billionLaughs = func() string {
	var b strings.Builder
	b.WriteString("a0: &a0 [x, x]\n")
	for i := 1; i <= 30; i++ {
		fmt.Fprintf(&b, "a%d: &a%d [*a%d, *a%d]\n", i, i, i-1, i-1)
	}
	return b.String()
}()

func TestParseErrors(t *testing.T) {
	tests := []struct {
		name string
		yaml string
		want string
	}{
		{name: "unknown tag", yaml: "V: !Reff Q", want: "unknown tag !Reff"},
		{name: "GetAtt without attribute", yaml: "V: !GetAtt Queue", want: "not Resource.Attribute"},
		{name: "duplicate key", yaml: "A: 1\nA: 2", want: "duplicate key \"A\""},
		{name: "not a mapping", yaml: "- a\n- b", want: "not a mapping"},
		{name: "empty", yaml: "", want: "empty document"},
		{name: "bad YAML", yaml: "A: [1, 2", want: "parse template"},
		{name: "alias inside its own anchor", yaml: "A: &a [1, *a]", want: "refers to its own anchor"},
		{name: "alias explosion", yaml: billionLaughs, want: "nodes once aliases are expanded"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := Parse([]byte(tt.yaml))
			if err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Errorf("Parse(%q) error = %v, want it to contain %q", tt.yaml, err, tt.want)
			}
		})
	}
}

func TestLoadNamesThePath(t *testing.T) {
	path := filepath.Join(t.TempDir(), "broken.yaml")
	if err := os.WriteFile(path, []byte("V: !Nope x"), 0o600); err != nil {
		t.Fatal(err)
	}
	_, err := Load(path)
	if err == nil || !strings.Contains(err.Error(), path) {
		t.Errorf("Load(%q) error = %v, want it to name the path", path, err)
	}
	if _, err := Load(filepath.Join(t.TempDir(), "missing.yaml")); err == nil {
		t.Errorf("Load(missing) error = nil, want an error")
	}
}
