package deploy

import (
	"fmt"
	"regexp"
	"slices"
	"strings"
	"testing"
)

// The input queue's policy is tested by evaluating it, the way IAM does, for the requests that
// must get through and those that must not: a Deny whose conditions look right can still lock
// out EventBridge (a service principal has no aws:PrincipalArn) or let other accounts' rules in.

// request is what IAM knows of a request to a queue, for the keys the policies test.
type request struct {
	name   string
	action string
	// principalARN is the IAM principal's ARN (aws:PrincipalArn); empty for an AWS service
	// principal, whose requests carry no such key.
	principalARN string
	// service is the AWS service principal, for example events.amazonaws.com.
	service string
	// sourceARN is aws:SourceArn, which only a service calling on behalf of a resource sets.
	sourceARN string
	// insecure is a request without TLS (aws:SecureTransport false).
	insecure bool
}

// decision is what a queue policy makes of a request.
type decision struct {
	denied  bool
	allowed bool // by a statement of the queue policy itself
}

// evaluate applies the resolved policy document to req; values turns policy values into text.
func evaluate(t *testing.T, doc any, req request, values func(any) []string) decision {
	t.Helper()
	var d decision
	for _, st := range list(path(doc, "Statement")) {
		if !principalMatches(t, path(st, "Principal"), req) || !actionMatches(values(path(st, "Action")), req.action) {
			continue
		}
		if !conditionsHold(t, path(st, "Condition"), req, values) {
			continue
		}
		switch path(st, "Effect") {
		case "Deny":
			d.denied = true
		case "Allow":
			d.allowed = true
		}
	}
	return d
}

func principalMatches(t *testing.T, p any, req request) bool {
	t.Helper()
	if p == "*" {
		return true
	}
	m, ok := p.(map[string]any)
	if !ok {
		t.Fatalf("unsupported Principal %v", p)
	}
	for k, v := range m {
		for _, e := range list(v) {
			switch k {
			case "Service":
				if e == req.service && req.service != "" {
					return true
				}
			case "AWS":
				if e == req.principalARN && req.principalARN != "" {
					return true
				}
			default:
				t.Fatalf("unsupported Principal %v", p)
			}
		}
	}
	return false
}

func actionMatches(actions []string, action string) bool {
	for _, a := range actions {
		if a == action || strings.HasSuffix(a, ":*") && strings.HasPrefix(action, strings.TrimSuffix(a, "*")) {
			return true
		}
	}
	return false
}

// conditionsHold evaluates a Condition block: every operator and key must hold.
func conditionsHold(t *testing.T, cond any, req request, values func(any) []string) bool {
	t.Helper()
	if cond == nil {
		return true
	}
	m, ok := cond.(map[string]any)
	if !ok {
		t.Fatalf("Condition %v is not a mapping", cond)
	}
	for op, keys := range m {
		km, _ := keys.(map[string]any)
		for key, v := range km {
			want := values(v)
			var got string
			var present bool
			switch key {
			case "aws:PrincipalArn":
				got, present = req.principalARN, req.principalARN != ""
			case "aws:SourceArn":
				got, present = req.sourceARN, req.sourceARN != ""
			case "aws:SecureTransport":
				got, present = fmt.Sprint(!req.insecure), true
			default:
				t.Fatalf("condition key %s is not modelled by this test", key)
			}
			matchesAny := slices.ContainsFunc(want, func(w string) bool { return arnLike(w, got) })
			var holds bool
			switch op {
			case "ArnEquals", "ArnLike":
				holds = present && matchesAny
			case "ArnNotEquals", "ArnNotLike":
				// A negated operator on a key the request lacks is true.
				holds = !present || !matchesAny
			case "Bool":
				holds = present && slices.Contains(want, got)
			default:
				t.Fatalf("condition operator %s is not modelled by this test", op)
			}
			if !holds {
				return false
			}
		}
	}
	return true
}

// arnLike matches an ARN condition value, with * and ? wildcards, as IAM's ArnLike does.
func arnLike(pattern, s string) bool {
	re := "^" + strings.NewReplacer(`\*`, ".*", `\?`, ".").Replace(regexp.QuoteMeta(pattern)) + "$"
	return regexp.MustCompile(re).MatchString(s)
}

func TestArnLike(t *testing.T) {
	for _, tt := range []struct {
		pattern, s string
		want       bool
	}{
		{"arn:aws:iam::1:role/deploy-*", "arn:aws:iam::1:role/deploy-prod", true},
		{"arn:aws:iam::1:role/deploy-*", "arn:aws:iam::1:role/other", false},
		{"PrewarmRole.Arn", "PrewarmRole.Arn", true},
		{"a.b", "aXb", false},
		{"arn:aws:iam::1:user/c?", "arn:aws:iam::1:user/ci", true},
	} {
		if got := arnLike(tt.pattern, tt.s); got != tt.want {
			t.Errorf("arnLike(%q, %q) = %v, want %v", tt.pattern, tt.s, got, tt.want)
		}
	}
}

// policyValues turns a resolved policy value into the strings it stands for: the attribute of a
// resource is "Resource.Attribute", a !Sub has its parameters filled in and its attributes so
// named, a !Split is split.
func policyValues(t *testing.T, r resolver) func(any) []string {
	var values func(any) []string
	sub := regexp.MustCompile(`\$\{([^}]+)\}`)
	values = func(v any) []string {
		t.Helper()
		if fn, arg, ok := intrinsic(v); ok {
			switch fn {
			case "Fn::GetAtt":
				res, attr, _ := getAttOf(v)
				return []string{res + "." + attr}
			case "Fn::Sub":
				s, ok := arg.(string)
				if !ok {
					t.Fatalf("Fn::Sub with variables is not modelled: %v", v)
				}
				return []string{sub.ReplaceAllStringFunc(s, func(m string) string {
					name := m[2 : len(m)-1]
					if _, isParam := r.tmpl.Parameters[name]; isParam {
						return r.param(name)
					}
					return name
				})}
			case "Fn::Split":
				args, _ := arg.([]any)
				sep, _ := args[0].(string)
				var out []string
				for _, s := range values(args[1]) {
					out = append(out, strings.Split(s, sep)...)
				}
				return out
			}
			t.Fatalf("%s is not modelled in a policy value: %v", fn, v)
		}
		var out []string
		for _, e := range list(v) {
			switch e := e.(type) {
			case string:
				out = append(out, e)
			default:
				out = append(out, values(e)...)
			}
		}
		return out
	}
	return values
}

// queuePolicies returns, for each queue, the resolved policy documents applied to it.
func queuePolicies(t *testing.T, r resolver) map[string][]any {
	t.Helper()
	out := map[string][]any{}
	for _, id := range r.tmpl.ResourcesOfType("AWS::SQS::QueuePolicy") {
		if !r.exists(id) {
			continue
		}
		props := r.properties(id)
		for _, q := range list(props["Queues"]) {
			ref, ok := refOf(q)
			if !ok {
				t.Fatalf("%s Queues entry %v is not a !Ref to a queue", id, q)
			}
			out[ref] = append(out[ref], props["PolicyDocument"])
		}
	}
	return out
}

func TestInputQueuePolicy(t *testing.T) {
	tmpl := loadTemplate(t)
	input, _ := inputQueue(t, tmpl)
	const account = "arn:aws:iam::123456789012:"
	senders := account + "role/deploy-*," + account + "user/ci"

	for _, params := range []map[string]string{
		{"CloudTrailRuleEnabled": "false", "AllowedSenderArns": ""},
		{"CloudTrailRuleEnabled": "true", "AllowedSenderArns": senders},
	} {
		t.Run(fmt.Sprint(params), func(t *testing.T) {
			r := newResolver(t, tmpl, params)
			docs := queuePolicies(t, r)[input]
			if len(docs) != 1 {
				t.Fatalf("%d policies apply to %s, want 1 (a queue has one policy)", len(docs), input)
			}
			values := policyValues(t, r)
			cloudTrail := params["CloudTrailRuleEnabled"] == "true"
			withSenders := params["AllowedSenderArns"] != ""

			type want struct{ denied, allowed bool }
			cases := []struct {
				req  request
				want want
			}{
				{request{name: "other account's rule", action: "sqs:SendMessage", service: "events.amazonaws.com", sourceARN: "arn:aws:events:us-east-1:999999999999:rule/x"}, want{denied: true}},
				{request{name: "SNS topic", action: "sqs:SendMessage", service: "sns.amazonaws.com", sourceARN: "arn:aws:sns:us-east-1:123456789012:t"}, want{denied: true}},
				{request{name: "another role", action: "sqs:SendMessage", principalARN: account + "role/intruder"}, want{denied: true}},
				{request{name: "allowed sender role", action: "sqs:SendMessage", principalARN: account + "role/deploy-prod"}, want{denied: !withSenders}},
				{request{name: "allowed sender user", action: "sqs:SendMessage", principalARN: account + "user/ci"}, want{denied: !withSenders}},
				{request{name: "lookalike of an allowed sender", action: "sqs:SendMessage", principalARN: account + "user/ci2"}, want{denied: true}},
			}
			// Every EventBridge rule of the stack that targets the queue gets through, and is
			// admitted by the queue policy itself (EventBridge has no IAM policy of its own).
			for _, id := range tmpl.ResourcesOfType("AWS::Events::Rule") {
				if !r.exists(id) {
					continue
				}
				cases = append(cases, struct {
					req  request
					want want
				}{request{name: "rule " + id, action: "sqs:SendMessage", service: "events.amazonaws.com", sourceARN: id + ".Arn"}, want{allowed: true}})
			}
			if !cloudTrail {
				cases = append(cases, struct {
					req  request
					want want
				}{request{name: "rule AliasUpdateRule, not created", action: "sqs:SendMessage", service: "events.amazonaws.com", sourceARN: "AliasUpdateRule.Arn"}, want{denied: true}})
			}
			// Every role of the stack sends follow-ups; none may do anything without TLS.
			for _, id := range tmpl.ResourcesOfType("AWS::IAM::Role") {
				arn := id + ".Arn"
				cases = append(cases,
					struct {
						req  request
						want want
					}{request{name: id + " sends", action: "sqs:SendMessage", principalARN: arn}, want{}},
					struct {
						req  request
						want want
					}{request{name: id + " receives", action: "sqs:ReceiveMessage", principalARN: arn}, want{}},
					struct {
						req  request
						want want
					}{request{name: id + " without TLS", action: "sqs:SendMessage", principalARN: arn, insecure: true}, want{denied: true}},
					struct {
						req  request
						want want
					}{request{name: id + " receives without TLS", action: "sqs:ReceiveMessage", principalARN: arn, insecure: true}, want{denied: true}},
				)
			}
			for _, c := range cases {
				d := evaluate(t, docs[0], c.req, values)
				if d.denied != c.want.denied || (!d.denied && d.allowed != c.want.allowed) {
					t.Errorf("%s: denied=%v allowed=%v, want denied=%v allowed=%v", c.req.name, d.denied, d.allowed, c.want.denied, c.want.allowed)
				}
			}
		})
	}
}

// TestQueuePolicyCanFail: the evaluation catches the classic mistake, a Deny keyed on
// aws:PrincipalArn alone, which denies EventBridge's service principal too.
func TestQueuePolicyCanFail(t *testing.T) {
	tmpl, err := Parse([]byte(`
Resources:
  Rule: {Type: AWS::Events::Rule}
  Role: {Type: AWS::IAM::Role}
  Queue: {Type: AWS::SQS::Queue}
  Policy:
    Type: AWS::SQS::QueuePolicy
    Properties:
      Queues: [!Ref Queue]
      PolicyDocument:
        Statement:
          - Effect: Allow
            Principal: {Service: events.amazonaws.com}
            Action: sqs:SendMessage
            Condition: {ArnEquals: {aws:SourceArn: !GetAtt Rule.Arn}}
          - Effect: Deny
            Principal: "*"
            Action: sqs:SendMessage
            Condition: {ArnNotLike: {aws:PrincipalArn: !GetAtt Role.Arn}}
`))
	if err != nil {
		t.Fatal(err)
	}
	r := newResolver(t, tmpl, nil)
	doc := queuePolicies(t, r)["Queue"][0]
	d := evaluate(t, doc, request{action: "sqs:SendMessage", service: "events.amazonaws.com", sourceARN: "Rule.Arn"}, policyValues(t, r))
	if !d.denied {
		t.Errorf("a Deny on aws:PrincipalArn alone did not deny EventBridge: the evaluation is wrong")
	}
}

func TestQueuesRequireTLS(t *testing.T) {
	tmpl := loadTemplate(t)
	r := newResolver(t, tmpl, nil)
	policies := queuePolicies(t, r)
	values := policyValues(t, r)
	for _, q := range tmpl.ResourcesOfType("AWS::SQS::Queue") {
		var denied bool
		for _, doc := range policies[q] {
			d := evaluate(t, doc, request{action: "sqs:ReceiveMessage", principalARN: "arn:aws:iam::123456789012:role/reader", insecure: true}, values)
			denied = denied || d.denied
			// The statement must name this queue: a policy applies only to the resources it names.
			for _, st := range list(path(doc, "Statement")) {
				if path(st, "Effect") == "Deny" && !slices.Contains(values(path(st, "Resource")), q+".Arn") {
					t.Errorf("a Deny of the policy on %s has Resource %v, not the queue", q, values(path(st, "Resource")))
				}
			}
		}
		if !denied {
			t.Errorf("queue %s accepts requests without TLS: want a Deny on aws:SecureTransport false", q)
		}
	}
}
