package deploy

import (
	"fmt"
	"os"
	"regexp"
	"slices"
	"sort"
	"strconv"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/prewarm/prewarm/config"
)

// templatePath is prewarm's SAM template, relative to this package.
const templatePath = "../template.yaml"

// functionID is the logical ID of prewarm's function; `sam build` runs make build-<functionID>.
const functionID = "PrewarmFunction"

// handlerEnvironment lists every environment variable prewarm reads from its configuration
// (SPEC section 6), except the SDK's own (AWS_ENDPOINT_URL and friends), which Lambda or the
// user provides.
var handlerEnvironment = []string{
	"RESULTS_QUEUE_URL",
	"FOLLOWUP_QUEUE_URL",
	"ALLOWED_FUNCTIONS",
	"MAX_CONCURRENCY",
	"POLICY",
	"WAIT_SECONDS",
	"TRACK_TIMEOUT",
	"CONTROL_PLANE_RPS",
	"DRY_RUN",
}

func loadTemplate(t *testing.T) *Template {
	t.Helper()
	tmpl, err := Load(templatePath)
	if err != nil {
		t.Fatalf("Load: %v", err)
	}
	return tmpl
}

// function returns prewarm's function resource.
func function(t *testing.T, tmpl *Template) Resource {
	t.Helper()
	fn, ok := tmpl.Resources[functionID]
	if !ok {
		t.Fatalf("resource %s is missing", functionID)
	}
	if fn.Type != "AWS::Serverless::Function" {
		t.Fatalf("%s has type %s, want AWS::Serverless::Function", functionID, fn.Type)
	}
	return fn
}

// number returns v as a number, resolving a Ref to a parameter to its default.
func number(t *testing.T, tmpl *Template, v any) float64 {
	t.Helper()
	s := newResolver(t, tmpl, nil).scalar(v)
	f, err := strconv.ParseFloat(s, 64)
	if err != nil {
		t.Fatalf("%v is not a number: %v", v, err)
	}
	return f
}

// events returns the function's events of the given types, by name.
func events(t *testing.T, tmpl *Template, types ...string) map[string]map[string]any {
	t.Helper()
	got := map[string]map[string]any{}
	evs, _ := function(t, tmpl).Properties["Events"].(map[string]any)
	for name, e := range evs {
		typ, _ := path(e, "Type").(string)
		if slices.Contains(types, typ) {
			props, _ := path(e, "Properties").(map[string]any)
			got[name] = props
		}
	}
	return got
}

// inputQueue returns the logical ID of the queue that the function's SQS event reads.
func inputQueue(t *testing.T, tmpl *Template) (id string, event map[string]any) {
	t.Helper()
	sqs := events(t, tmpl, "SQS")
	if len(sqs) != 1 {
		t.Fatalf("%s has %d SQS events, want 1", functionID, len(sqs))
	}
	for _, props := range sqs {
		id, attr, ok := getAttOf(props["Queue"])
		if !ok || attr != "Arn" {
			t.Fatalf("SQS event Queue = %v, want !GetAtt <queue>.Arn", props["Queue"])
		}
		if got := tmpl.Resources[id].Type; got != "AWS::SQS::Queue" {
			t.Fatalf("SQS event reads %s of type %q, want AWS::SQS::Queue", id, got)
		}
		return id, props
	}
	t.Fatalf("no SQS event")
	return "", nil
}

func TestFunctionRuntime(t *testing.T) {
	tmpl := loadTemplate(t)
	fn := function(t, tmpl)
	tests := []struct {
		field string
		got   any
		want  any
	}{
		{"Runtime", fn.Properties["Runtime"], "provided.al2023"},
		{"Architectures", fn.Properties["Architectures"], []any{"arm64"}},
		{"Handler", fn.Properties["Handler"], "bootstrap"},
		{"CodeUri", fn.Properties["CodeUri"], "."},
		{"Metadata.BuildMethod", fn.Metadata["BuildMethod"], "makefile"},
		{"LoggingConfig.LogFormat", path(fn.Properties, "LoggingConfig", "LogFormat"), "JSON"},
	}
	for _, tt := range tests {
		if diff := cmp.Diff(tt.want, tt.got); diff != "" {
			t.Errorf("%s.%s mismatch (-want +got):\n%s", functionID, tt.field, diff)
		}
	}
	if _, ok := tmpl.Document["Globals"]; ok {
		t.Errorf("template has Globals; these checks read the function's own properties only")
	}

	timeout := number(t, tmpl, fn.Properties["Timeout"])
	if timeout < 30 || timeout > 900 {
		t.Errorf("Timeout = %v s, want 30..900", timeout)
	}
	if memory := number(t, tmpl, fn.Properties["MemorySize"]); memory < 128 || memory > 256 {
		t.Errorf("MemorySize = %v MB, want 128..256", memory)
	}
	if reserved := number(t, tmpl, fn.Properties["ReservedConcurrentExecutions"]); reserved < 1 {
		t.Errorf("ReservedConcurrentExecutions = %v by default, want at least 1", reserved)
	}
	if wait := number(t, tmpl, path(fn.Properties, "Environment", "Variables", "WAIT_SECONDS")); wait >= timeout {
		t.Errorf("WAIT_SECONDS = %v by default, want it below the timeout (%v s)", wait, timeout)
	}
}

func TestEnvironmentWired(t *testing.T) {
	tmpl := loadTemplate(t)
	fn := function(t, tmpl)
	vars, _ := path(fn.Properties, "Environment", "Variables").(map[string]any)

	var names []string
	for name := range vars {
		names = append(names, name)
	}
	sort.Strings(names)
	want := slices.Clone(handlerEnvironment)
	sort.Strings(want)
	if diff := cmp.Diff(want, names); diff != "" {
		t.Errorf("environment variables mismatch (-want +got):\n%s", diff)
	}

	input, _ := inputQueue(t, tmpl)
	queueRefs := map[string]string{"RESULTS_QUEUE_URL": "ResultsQueue", "FOLLOWUP_QUEUE_URL": input}
	for _, name := range handlerEnvironment {
		ref, ok := refOf(vars[name])
		if !ok {
			t.Errorf("%s = %v, want a !Ref", name, vars[name])
			continue
		}
		if queue, isQueue := queueRefs[name]; isQueue {
			if ref != queue {
				t.Errorf("%s = !Ref %s, want !Ref %s", name, ref, queue)
			}
			continue
		}
		p, ok := tmpl.Parameters[ref]
		if !ok {
			t.Errorf("%s = !Ref %s, which is not a parameter", name, ref)
			continue
		}
		if p.Default == nil {
			t.Errorf("parameter %s (%s) has no default", ref, name)
		}
	}
	if got := tmpl.Resources["ResultsQueue"].Type; got != "AWS::SQS::Queue" {
		t.Errorf("ResultsQueue has type %q, want AWS::SQS::Queue", got)
	}
}

func TestParametersDocumented(t *testing.T) {
	tmpl := loadTemplate(t)
	for name, p := range tmpl.Parameters {
		if p.Description == "" {
			t.Errorf("parameter %s has no Description (sam deploy --guided shows it)", name)
		}
		if p.Default == nil {
			t.Errorf("parameter %s has no Default: sam deploy would need an override", name)
		}
		if len(p.AllowedValues) > 0 && !slices.Contains(p.AllowedValues, p.Default) {
			t.Errorf("parameter %s: Default %v is not one of %v", name, p.Default, p.AllowedValues)
		}
		if p.AllowedPattern != "" && !regexp.MustCompile(p.AllowedPattern).MatchString(fmt.Sprint(p.Default)) {
			t.Errorf("parameter %s: Default %v does not match AllowedPattern %s", name, p.Default, p.AllowedPattern)
		}
	}
}

func TestSQSEventReportsBatchItemFailures(t *testing.T) {
	tmpl := loadTemplate(t)
	_, event := inputQueue(t, tmpl)
	if got := list(event["FunctionResponseTypes"]); !slices.Contains(got, any("ReportBatchItemFailures")) {
		t.Errorf("FunctionResponseTypes = %v, want ReportBatchItemFailures", got)
	}
	if size := number(t, tmpl, event["BatchSize"]); size < 1 || size > 10 {
		t.Errorf("BatchSize = %v, want 1..10", size)
	}
	if _, ok := event["MaximumBatchingWindowInSeconds"]; !ok {
		t.Errorf("MaximumBatchingWindowInSeconds is not set")
	}
}

func TestInputQueueRedrive(t *testing.T) {
	tmpl := loadTemplate(t)
	id, event := inputQueue(t, tmpl)
	props := tmpl.Resources[id].Properties

	dlq, attr, ok := getAttOf(path(props, "RedrivePolicy", "deadLetterTargetArn"))
	if !ok || attr != "Arn" || tmpl.Resources[dlq].Type != "AWS::SQS::Queue" {
		t.Fatalf("%s RedrivePolicy.deadLetterTargetArn = %v, want !GetAtt <queue>.Arn", id, path(props, "RedrivePolicy", "deadLetterTargetArn"))
	}
	if dlq == id {
		t.Errorf("%s redrives to itself", id)
	}
	if got := number(t, tmpl, path(props, "RedrivePolicy", "maxReceiveCount")); got != 5 {
		t.Errorf("maxReceiveCount = %v, want 5", got)
	}

	// Lambda advises a visibility timeout of at least 6 × the function timeout plus the
	// batching window, so a batch still being processed is not delivered again.
	timeout := number(t, tmpl, function(t, tmpl).Properties["Timeout"])
	window := number(t, tmpl, event["MaximumBatchingWindowInSeconds"])
	if got, min := number(t, tmpl, props["VisibilityTimeout"]), 6*timeout+window; got < min {
		t.Errorf("%s VisibilityTimeout = %v, want at least 6×%v+%v = %v", id, got, timeout, window, min)
	}
}

func TestQueuesEncrypted(t *testing.T) {
	tmpl := loadTemplate(t)
	queues := tmpl.ResourcesOfType("AWS::SQS::Queue")
	if len(queues) < 3 {
		t.Fatalf("queues = %v, want at least input, dead-letter and results", queues)
	}
	for _, id := range queues {
		props := tmpl.Resources[id].Properties
		if props["SqsManagedSseEnabled"] != true && props["KmsMasterKeyId"] == nil {
			t.Errorf("queue %s is not encrypted: want SqsManagedSseEnabled: true or KmsMasterKeyId", id)
		}
	}
}

func TestResultsQueueType(t *testing.T) {
	tmpl := loadTemplate(t)
	tests := []struct {
		queueType string
		want      map[string]any
	}{
		{"standard", map[string]any{}},
		{"fifo", map[string]any{"FifoQueue": true, "ContentBasedDeduplication": false}},
	}
	for _, tt := range tests {
		r := newResolver(t, tmpl, map[string]string{"ResultsQueueType": tt.queueType})
		props := r.properties("ResultsQueue")
		got := map[string]any{}
		for _, k := range []string{"FifoQueue", "ContentBasedDeduplication"} {
			if v, ok := props[k]; ok {
				got[k] = v
			}
		}
		if diff := cmp.Diff(tt.want, got); diff != "" {
			t.Errorf("ResultsQueueType=%s: results queue mismatch (-want +got):\n%s", tt.queueType, diff)
		}
		// A FIFO queue's name must end in .fifo: either CloudFormation generates it, or it
		// is written with the suffix.
		if name, ok := props["QueueName"]; ok && tt.queueType == "fifo" {
			if s, isSub := subOf(name); !isSub || !strings.HasSuffix(s, ".fifo") {
				t.Errorf("ResultsQueueType=fifo: QueueName = %v, want a name ending in .fifo", name)
			}
		}
	}
}

func TestEventRulesTargetTheInputQueue(t *testing.T) {
	tmpl := loadTemplate(t)
	input, _ := inputQueue(t, tmpl)

	for _, cloudTrail := range []string{"true", "false"} {
		t.Run("CloudTrailRuleEnabled="+cloudTrail, func(t *testing.T) {
			r := newResolver(t, tmpl, map[string]string{"CloudTrailRuleEnabled": cloudTrail})
			var rules []string
			detailTypes := map[string]bool{}
			for _, id := range tmpl.ResourcesOfType("AWS::Events::Rule") {
				if !r.exists(id) {
					continue
				}
				rules = append(rules, id)
				props := r.properties(id)
				for _, target := range list(props["Targets"]) {
					q, attr, ok := getAttOf(path(target, "Arn"))
					if !ok || q != input || attr != "Arn" {
						t.Errorf("rule %s targets %v, want !GetAtt %s.Arn (events go through the queue)", id, path(target, "Arn"), input)
					}
				}
				pattern := path(props, "EventPattern")
				for _, dt := range list(path(pattern, "detail-type")) {
					detailTypes[fmt.Sprint(dt)] = true
				}
				if slices.Contains(list(path(pattern, "detail", "eventName")), any("UpdateAlias20150331")) {
					if bus := props["EventBusName"]; bus != nil && bus != "default" {
						t.Errorf("CloudTrail rule %s is on bus %v; AWS API events arrive on the default bus only", id, bus)
					}
					// The rule is resolved: the wildcards hold the pattern's value.
					names := list(path(pattern, "detail", "requestParameters", "functionName"))
					want := r.param("AllowedFunctionPattern")
					if len(names) == 0 {
						t.Errorf("CloudTrail rule %s matches every function; want only AllowedFunctionPattern", id)
					}
					for _, n := range names {
						w := path(n, "wildcard")
						sub, _ := subOf(w)
						if w != want && sub != "*:function:${AllowedFunctionPattern}" {
							t.Errorf("CloudTrail rule %s functionName filter %v, want wildcards on AllowedFunctionPattern", id, n)
						}
					}
				}
			}
			for _, dt := range []string{"Alias Switch", "Provisioned Concurrency Change"} {
				if !detailTypes[dt] {
					t.Errorf("no rule matches detail-type %q", dt)
				}
			}
			if got := detailTypes["AWS API Call via CloudTrail"]; got != (cloudTrail == "true") {
				t.Errorf("a rule for CloudTrail API calls exists = %v, want %v", got, cloudTrail == "true")
			}

			// The queue policy admits exactly the rules that exist, nothing else.
			var sourceARNs []string
			for _, id := range tmpl.ResourcesOfType("AWS::SQS::QueuePolicy") {
				props := r.properties(id)
				for _, st := range list(path(props, "PolicyDocument", "Statement")) {
					if diff := cmp.Diff(map[string]any{"Service": "events.amazonaws.com"}, path(st, "Principal")); diff != "" {
						t.Errorf("queue policy %s principal mismatch (-want +got):\n%s", id, diff)
					}
					if diff := cmp.Diff([]any{"sqs:SendMessage"}, list(path(st, "Action"))); diff != "" {
						t.Errorf("queue policy %s actions mismatch (-want +got):\n%s", id, diff)
					}
					for _, arn := range list(path(st, "Condition", "ArnEquals", "aws:SourceArn")) {
						rule, attr, ok := getAttOf(arn)
						if !ok || attr != "Arn" {
							t.Errorf("queue policy %s source %v, want !GetAtt <rule>.Arn", id, arn)
						}
						sourceARNs = append(sourceARNs, rule)
					}
				}
			}
			sort.Strings(sourceARNs)
			if diff := cmp.Diff(rules, sourceARNs); diff != "" {
				t.Errorf("queue policy aws:SourceArn mismatch with the rules (-rules +policy):\n%s", diff)
			}
		})
	}
}

func TestDeploymentEventsRuleParameters(t *testing.T) {
	tmpl := loadTemplate(t)
	props := tmpl.Resources["DeploymentEventsRule"].Properties
	bus, _ := refOf(props["EventBusName"])
	if got := tmpl.Parameters[bus].Default; got != "default" {
		t.Errorf("EventBusName = !Ref %q with default %v, want a parameter defaulting to \"default\"", bus, got)
	}
	sources := list(path(props, "EventPattern", "source"))
	if len(sources) != 1 {
		t.Fatalf("EventPattern.source = %v, want one !Ref to a parameter", sources)
	}
	source, _ := refOf(sources[0])
	if got := tmpl.Parameters[source].Default; got != "prewarm" {
		t.Errorf("EventPattern.source = !Ref %q with default %v, want a parameter defaulting to \"prewarm\"", source, got)
	}
}

func TestReconcileSchedule(t *testing.T) {
	tmpl := loadTemplate(t)
	schedules := events(t, tmpl, "Schedule", "ScheduleV2")
	if len(schedules) != 1 {
		t.Fatalf("%s has %d schedule events, want 1", functionID, len(schedules))
	}
	var event string
	for name := range schedules {
		event = name
	}
	for _, tt := range []struct{ enabled, want string }{{"true", "ENABLED"}, {"false", "DISABLED"}} {
		r := newResolver(t, tmpl, map[string]string{"ReconcileEnabled": tt.enabled})
		props := r.resolve(schedules[event]).(map[string]any)
		if got := props["State"]; got != tt.want {
			t.Errorf("ReconcileEnabled=%s: schedule State = %v, want %s", tt.enabled, got, tt.want)
		}
		if got, ok := props["Schedule"].(string); !ok || !regexp.MustCompile(`^(rate|cron)\(`).MatchString(got) {
			t.Errorf("ReconcileEnabled=%s: Schedule = %v, want a rate() or cron() expression", tt.enabled, props["Schedule"])
		}
	}
}

func TestAlarms(t *testing.T) {
	tmpl := loadTemplate(t)
	input, _ := inputQueue(t, tmpl)
	dlq, _, _ := getAttOf(path(tmpl.Resources[input].Properties, "RedrivePolicy", "deadLetterTargetArn"))

	var dlqAlarm, errorsAlarm bool
	for _, id := range tmpl.ResourcesOfType("AWS::CloudWatch::Alarm") {
		p := tmpl.Resources[id].Properties
		dims := list(p["Dimensions"])
		if len(dims) != 1 || p["ComparisonOperator"] != "GreaterThanThreshold" || p["Threshold"] != float64(0) {
			continue
		}
		switch {
		case p["Namespace"] == "AWS/SQS" && p["MetricName"] == "ApproximateNumberOfMessagesVisible":
			q, attr, _ := getAttOf(path(dims[0], "Value"))
			dlqAlarm = path(dims[0], "Name") == "QueueName" && q == dlq && attr == "QueueName"
		case p["Namespace"] == "AWS/Lambda" && p["MetricName"] == "Errors":
			fn, _ := refOf(path(dims[0], "Value"))
			errorsAlarm = path(dims[0], "Name") == "FunctionName" && fn == functionID
		}
	}
	if !dlqAlarm {
		t.Errorf("no alarm on %s ApproximateNumberOfMessagesVisible > 0", dlq)
	}
	if !errorsAlarm {
		t.Errorf("no alarm on %s Errors > 0", functionID)
	}
}

func TestOutputs(t *testing.T) {
	tmpl := loadTemplate(t)
	refs := map[string]bool{}
	atts := map[string]bool{}
	for _, o := range tmpl.Outputs {
		if o.Description == "" {
			t.Errorf("output %v has no Description", o.Value)
		}
		if ref, ok := refOf(o.Value); ok {
			refs[ref] = true
		}
		if res, attr, ok := getAttOf(o.Value); ok {
			atts[res+"."+attr] = true
		}
	}
	for _, q := range tmpl.ResourcesOfType("AWS::SQS::Queue") {
		if !refs[q] {
			t.Errorf("no output gives the URL of queue %s (!Ref %s)", q, q)
		}
		if !atts[q+".Arn"] {
			t.Errorf("no output gives the ARN of queue %s (!GetAtt %s.Arn)", q, q)
		}
	}
	if !atts[functionID+".Arn"] {
		t.Errorf("no output gives the function ARN (!GetAtt %s.Arn)", functionID)
	}
}

// statement is one IAM policy statement granted to prewarm.
type statement struct {
	where     string
	actions   []string
	resources []any
}

// grants collects every IAM statement that reaches prewarm's function.
func grants(t *testing.T, tmpl *Template) []statement {
	t.Helper()
	fn := function(t, tmpl)
	role, attr, ok := getAttOf(fn.Properties["Role"])
	if !ok || attr != "Arn" || tmpl.Resources[role].Type != "AWS::IAM::Role" {
		t.Fatalf("%s Role = %v, want !GetAtt <role in this template>.Arn", functionID, fn.Properties["Role"])
	}
	if fn.Properties["Policies"] != nil {
		t.Errorf("%s has Policies, which SAM ignores when Role is set", functionID)
	}
	props := tmpl.Resources[role].Properties
	if props["ManagedPolicyArns"] != nil {
		t.Errorf("role %s attaches managed policies %v; AWS managed Lambda policies grant on Resource \"*\"", role, props["ManagedPolicyArns"])
	}
	docs := map[string]any{}
	for i, p := range list(props["Policies"]) {
		docs[fmt.Sprintf("%s.Policies[%d]", role, i)] = path(p, "PolicyDocument")
	}
	for _, typ := range []string{"AWS::IAM::Policy", "AWS::IAM::ManagedPolicy", "AWS::IAM::RolePolicy"} {
		for _, id := range tmpl.ResourcesOfType(typ) {
			docs[id] = path(tmpl.Resources[id].Properties, "PolicyDocument")
		}
	}

	var out []statement
	for where, doc := range docs {
		for i, st := range list(path(doc, "Statement")) {
			m, _ := st.(map[string]any)
			w := fmt.Sprintf("%s statement %d (%v)", where, i, m["Sid"])
			for _, k := range []string{"NotAction", "NotResource"} {
				if _, ok := m[k]; ok {
					t.Errorf("%s uses %s", w, k)
				}
			}
			if m["Effect"] != "Allow" {
				continue
			}
			s := statement{where: w, resources: list(m["Resource"])}
			for _, a := range list(m["Action"]) {
				s.actions = append(s.actions, fmt.Sprint(a))
			}
			out = append(out, s)
		}
	}
	if len(out) == 0 {
		t.Fatalf("no IAM statements reach %s", functionID)
	}
	return out
}

func TestIAMLeastPrivilege(t *testing.T) {
	tmpl := loadTemplate(t)
	stmts := grants(t, tmpl)

	// Lambda allows only "*" as the resource of these two; both are read-only.
	unscoped := map[string]bool{"lambda:GetAccountSettings": true, "lambda:ListFunctions": true}

	pattern := "${AllowedFunctionPattern}"
	if _, ok := tmpl.Parameters["AllowedFunctionPattern"]; !ok {
		t.Fatalf("parameter AllowedFunctionPattern is missing")
	}
	functionARN := "arn:${AWS::Partition}:lambda:${AWS::Region}:${AWS::AccountId}:function:" + pattern
	wantFunctionResources := []string{functionARN, functionARN + ":*"}

	queues := tmpl.ResourcesOfType("AWS::SQS::Queue")
	logGroups := tmpl.ResourcesOfType("AWS::Logs::LogGroup")
	lambdaActions := map[string]bool{}
	sendTargets := map[string]bool{}

	for _, s := range stmts {
		for _, a := range s.actions {
			if strings.ContainsAny(a, "*?") {
				t.Errorf("%s grants wildcard action %q", s.where, a)
			}
		}
		for _, a := range s.actions {
			service, _, _ := strings.Cut(a, ":")
			switch {
			case service == "lambda" && unscoped[a]:
				lambdaActions[a] = true
			case service == "lambda":
				lambdaActions[a] = true
				var got []string
				for _, r := range s.resources {
					sub, _ := subOf(r)
					got = append(got, sub)
				}
				if diff := cmp.Diff(wantFunctionResources, got); diff != "" {
					t.Errorf("%s: %s resources mismatch (-want +got):\n%s", s.where, a, diff)
				}
			case service == "sqs":
				for _, r := range s.resources {
					q, attr, ok := getAttOf(r)
					if !ok || attr != "Arn" || !slices.Contains(queues, q) {
						t.Errorf("%s: %s on %v, want only this template's queues", s.where, a, r)
					}
					if a == "sqs:SendMessage" {
						sendTargets[q] = true
					}
				}
			case service == "logs":
				for _, r := range s.resources {
					lg, attr, ok := getAttOf(r)
					if !ok || attr != "Arn" || !slices.Contains(logGroups, lg) {
						t.Errorf("%s: %s on %v, want only this template's log group", s.where, a, r)
					}
				}
			default:
				t.Errorf("%s grants %s, which prewarm does not call", s.where, a)
			}
		}
		for _, r := range s.resources {
			if r != "*" {
				continue
			}
			for _, a := range s.actions {
				if !unscoped[a] {
					t.Errorf("%s grants %s on Resource \"*\"", s.where, a)
				}
			}
		}
	}

	wantLambda := []string{
		"lambda:DeleteProvisionedConcurrencyConfig",
		"lambda:GetAccountSettings",
		"lambda:GetAlias",
		"lambda:GetFunction",
		"lambda:GetFunctionConcurrency",
		"lambda:GetProvisionedConcurrencyConfig",
		"lambda:ListFunctions",
		"lambda:ListProvisionedConcurrencyConfigs",
		"lambda:PutProvisionedConcurrencyConfig",
	}
	var gotLambda []string
	for a := range lambdaActions {
		gotLambda = append(gotLambda, a)
	}
	sort.Strings(gotLambda)
	if diff := cmp.Diff(wantLambda, gotLambda); diff != "" {
		t.Errorf("lambda actions mismatch (-want +got):\n%s", diff)
	}

	input, _ := inputQueue(t, tmpl)
	if diff := cmp.Diff(map[string]bool{"ResultsQueue": true, input: true}, sendTargets); diff != "" {
		t.Errorf("sqs:SendMessage targets mismatch (-want +got):\n%s", diff)
	}
}

// samconfigOverrides returns the parameter_overrides of samconfig.toml's deploy section.
func samconfigOverrides(t *testing.T, section string) map[string]string {
	t.Helper()
	data, err := os.ReadFile("../samconfig.toml")
	if err != nil {
		t.Fatalf("read samconfig.toml: %v", err)
	}
	var current string
	for _, line := range strings.Split(string(data), "\n") {
		line = strings.TrimSpace(line)
		if strings.HasPrefix(line, "[") {
			current = strings.Trim(line, "[]")
			continue
		}
		key, value, ok := strings.Cut(line, "=")
		if !ok || current != section || strings.TrimSpace(key) != "parameter_overrides" {
			continue
		}
		// A TOML basic string: the escapes used here (\") are Go's.
		s, err := strconv.Unquote(strings.TrimSpace(value))
		if err != nil {
			t.Fatalf("samconfig.toml [%s] parameter_overrides: %v", section, err)
		}
		out := map[string]string{}
		for _, m := range regexp.MustCompile(`(\w+)=("(?:[^"\\]|\\.)*"|\S+)`).FindAllStringSubmatch(s, -1) {
			v := m[2]
			if u, err := strconv.Unquote(v); err == nil {
				v = u
			}
			out[m[1]] = v
		}
		return out
	}
	t.Fatalf("samconfig.toml [%s] has no parameter_overrides", section)
	return nil
}

func TestSamconfigOverridesMatchTemplate(t *testing.T) {
	tmpl := loadTemplate(t)
	for _, section := range []string{"default.deploy.parameters", "default.local_invoke.parameters"} {
		overrides := samconfigOverrides(t, section)
		if len(overrides) == 0 {
			t.Errorf("[%s] parameter_overrides is empty", section)
		}
		for name, value := range overrides {
			p, ok := tmpl.Parameters[name]
			if !ok {
				t.Errorf("[%s] overrides %s, which the template does not declare", section, name)
				continue
			}
			if len(p.AllowedValues) > 0 && !slices.ContainsFunc(p.AllowedValues, func(v any) bool { return fmt.Sprint(v) == value }) {
				t.Errorf("[%s] %s=%q is not one of %v", section, name, value, p.AllowedValues)
			}
			if p.AllowedPattern != "" && !regexp.MustCompile(p.AllowedPattern).MatchString(value) {
				t.Errorf("[%s] %s=%q does not match AllowedPattern %s", section, name, value, p.AllowedPattern)
			}
		}
	}
}

// TestEnvironmentDefaultsLoad feeds the environment the template gives the function, with
// the parameter defaults and with samconfig.toml's overrides, to prewarm's configuration
// loader: a default the loader rejects would fail every cold start after a deploy.
func TestEnvironmentDefaultsLoad(t *testing.T) {
	tmpl := loadTemplate(t)
	vars := path(function(t, tmpl).Properties, "Environment", "Variables")
	queueURL := "https://sqs.us-east-1.amazonaws.com/123456789012/prewarm-queue"

	for name, params := range map[string]map[string]string{
		"defaults":  nil,
		"samconfig": samconfigOverrides(t, "default.deploy.parameters"),
	} {
		t.Run(name, func(t *testing.T) {
			r := newResolver(t, tmpl, params)
			env := map[string]string{"AWS_REGION": "us-east-1"}
			for k, v := range r.resolve(vars).(map[string]any) {
				if _, isRef := refOf(v); isRef {
					v = queueURL // a resource: the queue's URL on deploy
				}
				env[k] = fmt.Sprint(v)
			}
			if _, err := config.Load(func(k string) string { return env[k] }); err != nil {
				t.Errorf("config.Load with the template's environment %v: %v", env, err)
			}
		})
	}
}

// TestControlPlaneBudgetFitsTheAccountQuota: every execution environment
// has its own rate limiter, so the defaults must keep their sum under
// Lambda's 15 requests/s per account, shared with other tools.
func TestControlPlaneBudgetFitsTheAccountQuota(t *testing.T) {
	tmpl := loadTemplate(t)
	rps := number(t, tmpl, tmpl.Parameters["ControlPlaneRPS"].Default)
	envs := number(t, tmpl, tmpl.Parameters["ReservedConcurrency"].Default)
	if total := rps * envs; total >= 15 {
		t.Errorf("ControlPlaneRPS %v x ReservedConcurrency %v = %v requests/s, not under the account's 15", rps, envs, total)
	}
}
