package deploy

import (
	"fmt"
	"testing"

	"github.com/google/go-cmp/cmp"
)

// noValue stands for AWS::NoValue while a tree is being resolved.
type noValue struct{}

// resolver evaluates the parts of a template that depend on parameter values, the way
// CloudFormation does on deploy: conditions, Fn::If, Ref to parameters and AWS::NoValue.
// Everything else (Ref to resources, Fn::GetAtt, Fn::Sub) is left as written.
type resolver struct {
	t      testing.TB
	tmpl   *Template
	params map[string]string // overrides; defaults otherwise
}

func newResolver(t testing.TB, tmpl *Template, params map[string]string) resolver {
	t.Helper()
	for name := range params {
		if _, ok := tmpl.Parameters[name]; !ok {
			t.Fatalf("resolver: parameter %s is not declared", name)
		}
	}
	return resolver{t: t, tmpl: tmpl, params: params}
}

// param returns the value a parameter has on deploy.
func (r resolver) param(name string) string {
	r.t.Helper()
	if v, ok := r.params[name]; ok {
		return v
	}
	p, ok := r.tmpl.Parameters[name]
	if !ok {
		r.t.Fatalf("parameter %s is not declared", name)
	}
	if p.Default == nil {
		r.t.Fatalf("parameter %s has no default and no value", name)
	}
	return fmt.Sprint(p.Default)
}

// condition evaluates the named condition.
func (r resolver) condition(name string) bool {
	r.t.Helper()
	c, ok := r.tmpl.Conditions[name]
	if !ok {
		r.t.Fatalf("condition %s is not declared", name)
	}
	return r.evalCondition(c)
}

func (r resolver) evalCondition(v any) bool {
	r.t.Helper()
	fn, arg, ok := intrinsic(v)
	if !ok {
		r.t.Fatalf("condition %v is not an intrinsic function", v)
	}
	args, _ := arg.([]any)
	switch fn {
	case "Condition":
		return r.condition(arg.(string))
	case "Fn::Equals":
		if len(args) != 2 {
			r.t.Fatalf("Fn::Equals needs 2 arguments: %v", arg)
		}
		return r.scalar(args[0]) == r.scalar(args[1])
	case "Fn::Not":
		if len(args) != 1 {
			r.t.Fatalf("Fn::Not needs 1 argument: %v", arg)
		}
		return !r.evalCondition(args[0])
	case "Fn::And", "Fn::Or":
		and := fn == "Fn::And"
		for _, a := range args {
			if r.evalCondition(a) != and {
				return !and
			}
		}
		return and
	}
	r.t.Fatalf("unsupported condition function %s", fn)
	return false
}

// scalar resolves v and returns it as text.
func (r resolver) scalar(v any) string {
	r.t.Helper()
	got := r.resolve(v)
	switch got.(type) {
	case map[string]any, []any, noValue:
		r.t.Fatalf("%v does not resolve to a scalar", v)
	}
	return fmt.Sprint(got)
}

// exists reports whether the resource is created with these parameter values.
func (r resolver) exists(id string) bool {
	r.t.Helper()
	res, ok := r.tmpl.Resources[id]
	if !ok {
		return false
	}
	return res.Condition == "" || r.condition(res.Condition)
}

// properties returns the resolved properties of a resource.
func (r resolver) properties(id string) map[string]any {
	r.t.Helper()
	res, ok := r.tmpl.Resources[id]
	if !ok {
		r.t.Fatalf("resource %s is not declared", id)
	}
	props, _ := r.resolve(res.Properties).(map[string]any)
	return props
}

// resolve returns v with conditions decided and parameters substituted; a value that resolves
// to AWS::NoValue disappears from its map or list, and is noValue{} at the top.
func (r resolver) resolve(v any) any {
	r.t.Helper()
	if fn, arg, ok := intrinsic(v); ok {
		switch fn {
		case "Fn::If":
			args, _ := arg.([]any)
			if len(args) != 3 {
				r.t.Fatalf("Fn::If needs 3 arguments: %v", arg)
			}
			name, _ := args[0].(string)
			if r.condition(name) {
				return r.resolve(args[1])
			}
			return r.resolve(args[2])
		case "Ref":
			name, _ := arg.(string)
			if name == "AWS::NoValue" {
				return noValue{}
			}
			if _, ok := r.tmpl.Parameters[name]; ok {
				return r.param(name)
			}
		}
	}
	switch v := v.(type) {
	case map[string]any:
		out := make(map[string]any, len(v))
		for k, e := range v {
			if got := r.resolve(e); got != (noValue{}) {
				out[k] = got
			}
		}
		return out
	case []any:
		out := make([]any, 0, len(v))
		for _, e := range v {
			if got := r.resolve(e); got != (noValue{}) {
				out = append(out, got)
			}
		}
		return out
	}
	return v
}

// intrinsic reports whether v is an intrinsic function ({"Ref": …}, {"Fn::X": …}, {"Condition": …})
// and returns its name and argument.
func intrinsic(v any) (name string, arg any, ok bool) {
	m, isMap := v.(map[string]any)
	if !isMap || len(m) != 1 {
		return "", nil, false
	}
	for k, a := range m {
		if k == "Ref" || k == "Condition" || len(k) > 4 && k[:4] == "Fn::" {
			return k, a, true
		}
	}
	return "", nil, false
}

// refOf returns X for {"Ref": X}.
func refOf(v any) (string, bool) {
	fn, arg, ok := intrinsic(v)
	if !ok || fn != "Ref" {
		return "", false
	}
	s, ok := arg.(string)
	return s, ok
}

// getAttOf returns X, Y for {"Fn::GetAtt": [X, Y]}.
func getAttOf(v any) (resource, attribute string, ok bool) {
	fn, arg, isFn := intrinsic(v)
	if !isFn || fn != "Fn::GetAtt" {
		return "", "", false
	}
	args, _ := arg.([]any)
	if len(args) != 2 {
		return "", "", false
	}
	resource, ok1 := args[0].(string)
	attribute, ok2 := args[1].(string)
	return resource, attribute, ok1 && ok2
}

// subOf returns S for {"Fn::Sub": S}.
func subOf(v any) (string, bool) {
	fn, arg, ok := intrinsic(v)
	if !ok || fn != "Fn::Sub" {
		return "", false
	}
	s, ok := arg.(string)
	return s, ok
}

// list returns v as a list: a single value becomes a list of one.
func list(v any) []any {
	if l, ok := v.([]any); ok {
		return l
	}
	if v == nil {
		return nil
	}
	return []any{v}
}

// path follows keys through nested maps.
func path(v any, keys ...string) any {
	for _, k := range keys {
		m, ok := v.(map[string]any)
		if !ok {
			return nil
		}
		v = m[k]
	}
	return v
}

func TestResolver(t *testing.T) {
	tmpl, err := Parse([]byte(`
Parameters:
  Mode: {Type: String, Default: standard}
  Topic: {Type: String, Default: ""}
Conditions:
  IsFIFO: !Equals [!Ref Mode, fifo]
  HasTopic: !Not [!Equals [!Ref Topic, ""]]
  Both: !And [!Condition IsFIFO, !Condition HasTopic]
  Either: !Or [!Condition IsFIFO, !Condition HasTopic]
Resources:
  Q:
    Type: AWS::SQS::Queue
    Condition: IsFIFO
    Properties:
      FifoQueue: !If [IsFIFO, true, !Ref AWS::NoValue]
      Tags: [!If [HasTopic, !Ref Topic, !Ref AWS::NoValue], !Ref Mode, !GetAtt X.Arn]
`))
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		params               map[string]string
		exists, both, either bool
		wantFIFO             any
		wantTags             []any
	}{
		{
			params: nil, exists: false, both: false, either: false,
			wantFIFO: nil, wantTags: []any{"standard", map[string]any{"Fn::GetAtt": []any{"X", "Arn"}}},
		},
		{
			params: map[string]string{"Mode": "fifo", "Topic": "t"}, exists: true, both: true, either: true,
			wantFIFO: true, wantTags: []any{"t", "fifo", map[string]any{"Fn::GetAtt": []any{"X", "Arn"}}},
		},
		{
			params: map[string]string{"Topic": "t"}, exists: false, both: false, either: true,
			wantFIFO: nil, wantTags: []any{"t", "standard", map[string]any{"Fn::GetAtt": []any{"X", "Arn"}}},
		},
	}
	for _, tt := range tests {
		r := newResolver(t, tmpl, tt.params)
		if got := r.exists("Q"); got != tt.exists {
			t.Errorf("%v: exists(Q) = %v, want %v", tt.params, got, tt.exists)
		}
		if got := r.condition("Both"); got != tt.both {
			t.Errorf("%v: Both = %v, want %v", tt.params, got, tt.both)
		}
		if got := r.condition("Either"); got != tt.either {
			t.Errorf("%v: Either = %v, want %v", tt.params, got, tt.either)
		}
		props := r.properties("Q")
		if got := props["FifoQueue"]; got != tt.wantFIFO {
			t.Errorf("%v: FifoQueue = %v, want %v", tt.params, got, tt.wantFIFO)
		}
		if diff := cmp.Diff(tt.wantTags, props["Tags"]); diff != "" {
			t.Errorf("%v: Tags mismatch (-want +got):\n%s", tt.params, diff)
		}
	}
}
