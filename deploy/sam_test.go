package deploy

import (
	"bytes"
	"encoding/json"
	"fmt"
	"maps"
	"os"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/prewarm/prewarm/config"
	"github.com/prewarm/prewarm/localaws"
)

// templatePath is prewarm's SAM template, relative to this package.
const templatePath = "../template.yaml"

// functionID is the logical ID of prewarm's function; `sam build` runs make build-<functionID>.
const functionID = "PrewarmFunction"

// hookFunctionID is the logical ID of the same bootstrap deployed as a CodeDeploy hook.
const hookFunctionID = "CodeDeployHookFunction"

// functionIDs are every function of the template, each built by make build-<ID>.
var functionIDs = []string{functionID, hookFunctionID}

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

// templateEnvironment lists the variables the template gives each function: prewarm's
// configuration, AWS_ENDPOINT_URL (declared so that sam local invoke --env-vars can set it),
// and for the hook HOOK_RELEASE.
var templateEnvironment = map[string][]string{
	functionID:     append(slices.Clone(handlerEnvironment), "AWS_ENDPOINT_URL"),
	hookFunctionID: append(slices.Clone(handlerEnvironment), "AWS_ENDPOINT_URL", "HOOK_RELEASE"),
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
	return functionByID(t, tmpl, functionID)
}

// functionByID returns the function resource with logical ID id.
func functionByID(t *testing.T, tmpl *Template, id string) Resource {
	t.Helper()
	fn, ok := tmpl.Resources[id]
	if !ok {
		t.Fatalf("resource %s is missing", id)
	}
	if fn.Type != "AWS::Serverless::Function" {
		t.Fatalf("%s has type %s, want AWS::Serverless::Function", id, fn.Type)
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
	for _, id := range functionIDs {
		fn := functionByID(t, tmpl, id)
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
				t.Errorf("%s.%s mismatch (-want +got):\n%s", id, tt.field, diff)
			}
		}

		timeout := number(t, tmpl, fn.Properties["Timeout"])
		if timeout < 30 || timeout > 900 {
			t.Errorf("%s Timeout = %v s, want 30..900", id, timeout)
		}
		if memory := number(t, tmpl, fn.Properties["MemorySize"]); memory < 128 || memory > 256 {
			t.Errorf("%s MemorySize = %v MB, want 128..256", id, memory)
		}
		if reserved := number(t, tmpl, fn.Properties["ReservedConcurrentExecutions"]); reserved < 1 {
			t.Errorf("%s ReservedConcurrentExecutions = %v by default, want at least 1", id, reserved)
		}
	}
	if _, ok := tmpl.Document["Globals"]; ok {
		t.Errorf("template has Globals; these checks read the function's own properties only")
	}
}

// waitMargin is the time an invocation needs after WAIT_SECONDS of polling: publishing the
// results and writing the follow-ups.
const waitMargin = 5

// TestWaitSecondsFitTheTimeout: polling for READY stops after WAIT_SECONDS, and the results
// and follow-ups are written after it, so both the default and the largest value the parameter
// accepts must leave a margin before the function times out.
func TestWaitSecondsFitTheTimeout(t *testing.T) {
	tmpl := loadTemplate(t)
	p := tmpl.Parameters["WaitSeconds"]
	if p.MaxValue == nil {
		t.Fatalf("parameter WaitSeconds has no MaxValue: any value could exceed the timeout")
	}
	for _, id := range functionIDs {
		fn := functionByID(t, tmpl, id)
		ref, _ := refOf(path(fn.Properties, "Environment", "Variables", "WAIT_SECONDS"))
		if ref != "WaitSeconds" {
			t.Fatalf("%s WAIT_SECONDS = !Ref %q, want !Ref WaitSeconds", id, ref)
		}
		timeout := number(t, tmpl, fn.Properties["Timeout"])
		for what, v := range map[string]any{"Default": p.Default, "MaxValue": p.MaxValue} {
			if wait := number(t, tmpl, v); wait+waitMargin > timeout {
				t.Errorf("WaitSeconds %s %v + %d s margin exceeds %s Timeout %v s", what, wait, waitMargin, id, timeout)
			}
		}
	}
}

// TestTimeoutsKeepFIFOResultsDeduplicated: SQS drops a FIFO message whose deduplication id it
// has seen in the last 5 minutes. A record handed back is received again one visibility
// timeout after its first receive, may wait out the batching window and is published before
// the function times out: all of it must fit in those 5 minutes for the redelivery's result
// to be dropped as a duplicate.
func TestTimeoutsKeepFIFOResultsDeduplicated(t *testing.T) {
	const deduplicationWindow = 300
	tmpl := loadTemplate(t)
	id, event := inputQueue(t, tmpl)
	visibility := number(t, tmpl, tmpl.Resources[id].Properties["VisibilityTimeout"])
	window := number(t, tmpl, event["MaximumBatchingWindowInSeconds"])
	timeout := number(t, tmpl, function(t, tmpl).Properties["Timeout"])
	if got := visibility + window + timeout; got >= deduplicationWindow {
		t.Errorf("VisibilityTimeout %v + batching window %v + Timeout %v = %v s, want under SQS's %d s deduplication window",
			visibility, window, timeout, got, deduplicationWindow)
	}
	if visibility < 6*timeout {
		t.Errorf("VisibilityTimeout = %v, want at least 6 x Timeout (%v)", visibility, 6*timeout)
	}
}

func TestEnvironmentWired(t *testing.T) {
	tmpl := loadTemplate(t)
	input, _ := inputQueue(t, tmpl)
	queueRefs := map[string]string{"RESULTS_QUEUE_URL": "ResultsQueue", "FOLLOWUP_QUEUE_URL": input}
	paramRefs := map[string]string{"AWS_ENDPOINT_URL": "EndpointURL", "HOOK_RELEASE": "HookRelease"}

	for _, id := range functionIDs {
		vars, _ := path(functionByID(t, tmpl, id).Properties, "Environment", "Variables").(map[string]any)
		names := slices.Sorted(maps.Keys(vars))
		want := slices.Sorted(slices.Values(templateEnvironment[id]))
		if diff := cmp.Diff(want, names); diff != "" {
			t.Errorf("%s environment variables mismatch (-want +got):\n%s", id, diff)
		}
		for _, name := range templateEnvironment[id] {
			ref, ok := refOf(vars[name])
			if !ok {
				t.Errorf("%s %s = %v, want a !Ref", id, name, vars[name])
				continue
			}
			if queue, isQueue := queueRefs[name]; isQueue {
				if ref != queue {
					t.Errorf("%s %s = !Ref %s, want !Ref %s", id, name, ref, queue)
				}
				continue
			}
			if param, isFixed := paramRefs[name]; isFixed && ref != param {
				t.Errorf("%s %s = !Ref %s, want !Ref %s", id, name, ref, param)
			}
			p, ok := tmpl.Parameters[ref]
			if !ok {
				t.Errorf("%s %s = !Ref %s, which is not a parameter", id, name, ref)
				continue
			}
			if p.Default == nil {
				t.Errorf("parameter %s (%s) has no default", ref, name)
			}
		}
	}

	// The hook is configured exactly like the main function, plus HOOK_RELEASE.
	mainVars := path(function(t, tmpl).Properties, "Environment", "Variables").(map[string]any)
	hookVars := maps.Clone(path(functionByID(t, tmpl, hookFunctionID).Properties, "Environment", "Variables").(map[string]any))
	delete(hookVars, "HOOK_RELEASE")
	if diff := cmp.Diff(mainVars, hookVars); diff != "" {
		t.Errorf("%s environment differs from %s's beyond HOOK_RELEASE (-main +hook):\n%s", hookFunctionID, functionID, diff)
	}
	if got := tmpl.Resources["ResultsQueue"].Type; got != "AWS::SQS::Queue" {
		t.Errorf("ResultsQueue has type %q, want AWS::SQS::Queue", got)
	}
	if got := tmpl.Resources["EndpointURL"]; got.Type != "" {
		t.Errorf("EndpointURL is a resource, want a parameter")
	}
	if d := tmpl.Parameters["EndpointURL"].Default; d != "" {
		t.Errorf("parameter EndpointURL defaults to %v, want empty: on AWS the SDK's own endpoints", d)
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

	// Only the input queue may use the dead-letter queue. Its ARN is written out from its name
	// (a !GetAtt would be a reference cycle with the redrive policy above).
	allow := path(tmpl.Resources[dlq].Properties, "RedriveAllowPolicy")
	if got := path(allow, "redrivePermission"); got != "byQueue" {
		t.Errorf("%s RedriveAllowPolicy.redrivePermission = %v, want byQueue", dlq, got)
	}
	name, ok := subOf(props["QueueName"])
	if !ok {
		t.Fatalf("%s QueueName = %v, want a !Sub naming it for the RedriveAllowPolicy", id, props["QueueName"])
	}
	want := []any{map[string]any{"Fn::Sub": "arn:${AWS::Partition}:sqs:${AWS::Region}:${AWS::AccountId}:" + name}}
	if diff := cmp.Diff(want, list(path(allow, "sourceQueueArns"))); diff != "" {
		t.Errorf("%s RedriveAllowPolicy.sourceQueueArns mismatch (-want +got):\n%s", dlq, diff)
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
			detailTypes := map[string]bool{}
			for _, id := range tmpl.ResourcesOfType("AWS::Events::Rule") {
				if !r.exists(id) {
					continue
				}
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

// TestReconcileSchedule: the schedule feeds the input queue, like every other event, rather
// than invoking the function: a failing pass is then retried as a batch item failure and ends
// in the dead-letter queue instead of Lambda's asynchronous retries and the errors alarm.
func TestReconcileSchedule(t *testing.T) {
	tmpl := loadTemplate(t)
	input, _ := inputQueue(t, tmpl)
	if direct := events(t, tmpl, "Schedule", "ScheduleV2"); len(direct) > 0 {
		t.Errorf("%s has schedule events %v; the schedule must go through the input queue", functionID, slices.Sorted(maps.Keys(direct)))
	}
	if evs := functionByID(t, tmpl, hookFunctionID).Properties["Events"]; evs != nil {
		t.Errorf("%s has events %v; only CodeDeploy invokes it", hookFunctionID, evs)
	}

	var scheduled []string
	for _, id := range tmpl.ResourcesOfType("AWS::Events::Rule") {
		if tmpl.Resources[id].Properties["ScheduleExpression"] != nil {
			scheduled = append(scheduled, id)
		}
	}
	if len(scheduled) != 1 {
		t.Fatalf("scheduled rules = %v, want exactly one (the reconcile pass)", scheduled)
	}
	rule := scheduled[0]
	for _, tt := range []struct{ enabled, want string }{{"true", "ENABLED"}, {"false", "DISABLED"}} {
		r := newResolver(t, tmpl, map[string]string{"ReconcileEnabled": tt.enabled})
		if !r.exists(rule) {
			t.Fatalf("ReconcileEnabled=%s: rule %s does not exist", tt.enabled, rule)
		}
		props := r.properties(rule)
		if got := props["State"]; got != tt.want {
			t.Errorf("ReconcileEnabled=%s: %s State = %v, want %s", tt.enabled, rule, got, tt.want)
		}
		if got, ok := props["ScheduleExpression"].(string); !ok || !regexp.MustCompile(`^(rate|cron)\(`).MatchString(got) {
			t.Errorf("ReconcileEnabled=%s: ScheduleExpression = %v, want a rate() or cron() expression", tt.enabled, props["ScheduleExpression"])
		}
		if bus := props["EventBusName"]; bus != nil && bus != "default" {
			t.Errorf("%s is on bus %v; scheduled rules run on the default bus only", rule, bus)
		}
		targets := list(props["Targets"])
		if len(targets) != 1 {
			t.Fatalf("%s has %d targets, want 1 (the input queue)", rule, len(targets))
		}
		if q, attr, _ := getAttOf(path(targets[0], "Arn")); q != input || attr != "Arn" {
			t.Errorf("%s targets %v, want !GetAtt %s.Arn", rule, path(targets[0], "Arn"), input)
		}
		// EventBridge delivers the plain Scheduled Event as the message body: a transformed or
		// constant input would not be recognised as a reconcile.
		for _, k := range []string{"Input", "InputPath", "InputTransformer"} {
			if v := path(targets[0], k); v != nil {
				t.Errorf("%s target sets %s = %v, want the event as it is", rule, k, v)
			}
		}
	}
}

func TestAlarms(t *testing.T) {
	tmpl := loadTemplate(t)
	input, _ := inputQueue(t, tmpl)
	dlq, _, _ := getAttOf(path(tmpl.Resources[input].Properties, "RedrivePolicy", "deadLetterTargetArn"))

	// dimension renders an alarm's dimensions as Name=Value, resources as !Ref X / X.Attr.
	dimension := func(d any) string {
		v := path(d, "Value")
		if ref, ok := refOf(v); ok {
			v = "!Ref " + ref
		} else if res, attr, ok := getAttOf(v); ok {
			v = res + "." + attr
		}
		return fmt.Sprintf("%v=%v", path(d, "Name"), v)
	}
	type metric struct{ namespace, name, dimensions string }
	found := map[metric]string{}
	for _, id := range tmpl.ResourcesOfType("AWS::CloudWatch::Alarm") {
		p := tmpl.Resources[id].Properties
		var dims []string
		for _, d := range list(p["Dimensions"]) {
			dims = append(dims, dimension(d))
		}
		if p["ComparisonOperator"] != "GreaterThanThreshold" {
			t.Errorf("alarm %s ComparisonOperator = %v, want GreaterThanThreshold", id, p["ComparisonOperator"])
		}
		if p["TreatMissingData"] != "notBreaching" {
			t.Errorf("alarm %s TreatMissingData = %v, want notBreaching (no data is no trouble)", id, p["TreatMissingData"])
		}
		found[metric{fmt.Sprint(p["Namespace"]), fmt.Sprint(p["MetricName"]), strings.Join(dims, ",")}] = id

		// Every alarm notifies AlarmTopicArn when one is given, and nothing otherwise.
		for topic, want := range map[string]any{"": nil, "arn:aws:sns:us-east-1:123456789012:ops": []any{"arn:aws:sns:us-east-1:123456789012:ops"}} {
			props := newResolver(t, tmpl, map[string]string{"AlarmTopicArn": topic}).properties(id)
			if got := props["AlarmActions"]; !cmp.Equal(want, got) {
				t.Errorf("AlarmTopicArn=%q: alarm %s AlarmActions = %v, want %v", topic, id, got, want)
			}
		}
	}
	for _, want := range []metric{
		{"AWS/SQS", "ApproximateNumberOfMessagesVisible", "QueueName=" + dlq + ".QueueName"},
		{"AWS/SQS", "ApproximateAgeOfOldestMessage", "QueueName=" + input + ".QueueName"},
		{"AWS/Lambda", "Errors", "FunctionName=!Ref " + functionID},
		// prewarm's own EMF metrics (handler/metrics.go): the undimensioned totals, and the
		// results it could not publish.
		{"prewarm", "BatchItemFailures", ""},
		{"prewarm", "AWSErrors", ""},
		{"prewarm", "Throttles", ""},
		{"prewarm", "Results", "Outcome=PUBLISH_FAILED"},
	} {
		if _, ok := found[want]; !ok {
			t.Errorf("no alarm on %s %s (dimensions %q); alarms: %v", want.namespace, want.name, want.dimensions, found)
		}
	}
}

func TestOutputs(t *testing.T) {
	tmpl := loadTemplate(t)
	refs := map[string]bool{}
	atts := map[string]bool{}
	for name, o := range tmpl.Outputs {
		if o.Description == "" {
			t.Errorf("output %s has no Description", name)
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
	for _, fn := range functionIDs {
		if !refs[fn] {
			t.Errorf("no output gives the name of function %s (!Ref %s)", fn, fn)
		}
		if !atts[fn+".Arn"] {
			t.Errorf("no output gives the ARN of function %s (!GetAtt %s.Arn)", fn, fn)
		}
	}

	// Tools read these outputs by name (prewarmctl --stack, the README's commands): they keep
	// their names and values.
	input, _ := inputQueue(t, tmpl)
	for name, want := range map[string]any{
		"FunctionName":               map[string]any{"Ref": functionID},
		"FunctionArn":                map[string]any{"Fn::GetAtt": []any{functionID, "Arn"}},
		"CodeDeployHookFunctionName": map[string]any{"Ref": hookFunctionID},
		"CodeDeployHookFunctionArn":  map[string]any{"Fn::GetAtt": []any{hookFunctionID, "Arn"}},
		"InputQueueUrl":              map[string]any{"Ref": input},
		"InputQueueArn":              map[string]any{"Fn::GetAtt": []any{input, "Arn"}},
		"FollowUpQueueUrl":           map[string]any{"Ref": input},
		"ResultsQueueUrl":            map[string]any{"Ref": "ResultsQueue"},
		"ResultsQueueArn":            map[string]any{"Fn::GetAtt": []any{"ResultsQueue", "Arn"}},
		"DeadLetterQueueUrl":         map[string]any{"Ref": "DeadLetterQueue"},
		"DeadLetterQueueArn":         map[string]any{"Fn::GetAtt": []any{"DeadLetterQueue", "Arn"}},
		"EventBusName":               map[string]any{"Ref": "EventBusName"},
		"EventSource":                map[string]any{"Ref": "EventSource"},
	} {
		if diff := cmp.Diff(want, tmpl.Outputs[name].Value); diff != "" {
			t.Errorf("output %s mismatch (-want +got):\n%s", name, diff)
		}
	}
}

// statement is one IAM policy statement granted to prewarm.
type statement struct {
	where     string
	actions   []string
	resources []any
}

// role returns the logical ID of the role of function id, which must be in this template.
func role(t *testing.T, tmpl *Template, id string) string {
	t.Helper()
	fn := functionByID(t, tmpl, id)
	r, attr, ok := getAttOf(fn.Properties["Role"])
	if !ok || attr != "Arn" || tmpl.Resources[r].Type != "AWS::IAM::Role" {
		t.Fatalf("%s Role = %v, want !GetAtt <role in this template>.Arn", id, fn.Properties["Role"])
	}
	return r
}

// grants collects every IAM statement that reaches the function id.
func grants(t *testing.T, tmpl *Template, id string) []statement {
	t.Helper()
	fn := functionByID(t, tmpl, id)
	r := role(t, tmpl, id)
	if fn.Properties["Policies"] != nil {
		t.Errorf("%s has Policies, which SAM ignores when Role is set", id)
	}
	props := tmpl.Resources[r].Properties
	if props["ManagedPolicyArns"] != nil {
		t.Errorf("role %s attaches managed policies %v; AWS managed Lambda policies grant on Resource \"*\"", r, props["ManagedPolicyArns"])
	}
	docs := map[string]any{}
	for i, p := range list(props["Policies"]) {
		docs[fmt.Sprintf("%s.Policies[%d]", r, i)] = path(p, "PolicyDocument")
	}
	for _, typ := range []string{"AWS::IAM::Policy", "AWS::IAM::ManagedPolicy", "AWS::IAM::RolePolicy"} {
		for _, pid := range tmpl.ResourcesOfType(typ) {
			docs[pid] = path(tmpl.Resources[pid].Properties, "PolicyDocument")
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
		t.Fatalf("no IAM statements reach %s", id)
	}
	return out
}

// unscopedActions take no resource-level permissions: IAM only accepts "*" for them.
var unscopedActions = map[string]bool{
	// Read-only.
	"lambda:GetAccountSettings": true,
	"lambda:ListFunctions":      true,
	// A job is named by its id in the request; CodePipeline checks it.
	"codepipeline:PutJobSuccessResult": true,
	"codepipeline:PutJobFailureResult": true,
	// Read-only; the Service Authorization Reference gives them no resource type (unlike
	// PutLifecycleEventHookExecutionStatus: deploymentgroup).
	"codedeploy:ListDeploymentTargets": true,
	"codedeploy:GetDeploymentTarget":   true,
	// Metrics and scalable targets have no ARN the caller could name in advance.
	"cloudwatch:GetMetricData":                         true,
	"application-autoscaling:DescribeScalableTargets":  true,
	"application-autoscaling:DescribeScalingPolicies":  true,
	"application-autoscaling:DescribeScheduledActions": true,
	"application-autoscaling:RegisterScalableTarget":   true,
	"application-autoscaling:DeregisterScalableTarget": true,
	"application-autoscaling:PutScalingPolicy":         true,
	"application-autoscaling:PutScheduledAction":       true,
	"application-autoscaling:DeleteScalingPolicy":      true,
	"application-autoscaling:DeleteScheduledAction":    true,
}

// permissions is what one function's role may do.
type permissions struct {
	// actions are the IAM actions granted, sorted.
	actions []string
	// sendTargets are the queues it may send to, sorted.
	sendTargets []string
	// receives says whether it may consume a queue (ReceiveMessage and the rest).
	receives bool
}

func TestIAMLeastPrivilege(t *testing.T) {
	tmpl := loadTemplate(t)
	input, _ := inputQueue(t, tmpl)
	pcActions := []string{
		"lambda:DeleteProvisionedConcurrencyConfig",
		"lambda:GetAccountSettings",
		"lambda:GetFunctionConcurrency",
		"lambda:GetProvisionedConcurrencyConfig",
		"lambda:ListProvisionedConcurrencyConfigs",
		"lambda:PutProvisionedConcurrencyConfig",
	}
	want := map[string]permissions{
		functionID: {
			actions: slices.Sorted(slices.Values(append(slices.Clone(pcActions),
				"lambda:ListFunctions", // reconcile expands patterns
				"lambda:GetAlias",      // reconcile reads the weights of an alias whose PC FAILED
				"lambda:UpdateAlias",   // and clears them when the policy says clearWeights
				// The demand strategy and the auto scaling carried over by a switch.
				"cloudwatch:GetMetricData",
				"application-autoscaling:DescribeScalableTargets", "application-autoscaling:DescribeScalingPolicies",
				"application-autoscaling:DescribeScheduledActions", "application-autoscaling:RegisterScalableTarget",
				"application-autoscaling:DeregisterScalableTarget", "application-autoscaling:PutScalingPolicy",
				"application-autoscaling:PutScheduledAction", "application-autoscaling:DeleteScalingPolicy",
				"application-autoscaling:DeleteScheduledAction",
				"codepipeline:PutJobFailureResult",
				"codepipeline:PutJobSuccessResult",
				// A hook's follow-ups come back through the input queue to this function.
				"codedeploy:PutLifecycleEventHookExecutionStatus",
				"sqs:SendMessage", "sqs:ReceiveMessage", "sqs:DeleteMessage",
				"sqs:ChangeMessageVisibility", "sqs:GetQueueAttributes",
				"logs:CreateLogStream", "logs:PutLogEvents",
			))),
			// The dead-letter queue is the on-failure destination of the asynchronous
			// invocations of both functions, which Lambda sends with the function's role.
			sendTargets: slices.Sorted(slices.Values([]string{"ResultsQueue", input, "DeadLetterQueue"})),
			receives:    true,
		},
		hookFunctionID: {
			actions: slices.Sorted(slices.Values(append(slices.Clone(pcActions),
				"cloudwatch:GetMetricData", // a version sized by demand
				"codedeploy:GetDeploymentTarget",
				"codedeploy:ListDeploymentTargets",
				"codedeploy:PutLifecycleEventHookExecutionStatus",
				"sqs:SendMessage",
				"logs:CreateLogStream", "logs:PutLogEvents",
			))),
			sendTargets: slices.Sorted(slices.Values([]string{"ResultsQueue", input, "DeadLetterQueue"})),
		},
	}

	if _, ok := tmpl.Parameters["AllowedFunctionPattern"]; !ok {
		t.Fatalf("parameter AllowedFunctionPattern is missing")
	}
	if _, ok := tmpl.Parameters["HookDeploymentGroups"]; !ok {
		t.Fatalf("parameter HookDeploymentGroups is missing")
	}
	functionARN := "arn:${AWS::Partition}:lambda:${AWS::Region}:${AWS::AccountId}:function:${AllowedFunctionPattern}"
	wantFunctionResources := []string{functionARN, functionARN + ":*"}
	wantDeploymentGroups := []string{"arn:${AWS::Partition}:codedeploy:${AWS::Region}:${AWS::AccountId}:deploymentgroup:${HookDeploymentGroups}"}
	queues := tmpl.ResourcesOfType("AWS::SQS::Queue")
	logGroups := tmpl.ResourcesOfType("AWS::Logs::LogGroup")

	roles := map[string]string{}
	for _, id := range functionIDs {
		r := role(t, tmpl, id)
		if other, shared := roles[r]; shared {
			t.Errorf("%s and %s share role %s; each gets only what it calls", other, id, r)
		}
		roles[r] = id

		var got permissions
		actions := map[string]bool{}
		sendTargets := map[string]bool{}
		ownLogGroup, _ := refOf(path(functionByID(t, tmpl, id).Properties, "LoggingConfig", "LogGroup"))
		for _, s := range grants(t, tmpl, id) {
			subs := func() []string {
				var out []string
				for _, r := range s.resources {
					sub, _ := subOf(r)
					out = append(out, sub)
				}
				return out
			}
			for _, a := range s.actions {
				if strings.ContainsAny(a, "*?") {
					t.Errorf("%s grants wildcard action %q", s.where, a)
				}
				actions[a] = true
				service, _, _ := strings.Cut(a, ":")
				switch {
				case unscopedActions[a]:
					if diff := cmp.Diff([]any{"*"}, s.resources); diff != "" {
						t.Errorf("%s: %s takes no resource-level permission, want Resource \"*\" alone (-want +got):\n%s", s.where, a, diff)
					}
				case service == "lambda":
					if diff := cmp.Diff(wantFunctionResources, subs()); diff != "" {
						t.Errorf("%s: %s resources mismatch (-want +got):\n%s", s.where, a, diff)
					}
				case service == "codedeploy":
					if diff := cmp.Diff(wantDeploymentGroups, subs()); diff != "" {
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
						} else if q != input {
							t.Errorf("%s: %s on %s, want only the input queue", s.where, a, q)
						} else {
							got.receives = true
						}
					}
				case service == "cloudwatch" || service == "application-autoscaling":
					// unscoped: checked above
				case service == "logs":
					for _, r := range s.resources {
						lg, attr, ok := getAttOf(r)
						if !ok || attr != "Arn" || !slices.Contains(logGroups, lg) || lg != ownLogGroup {
							t.Errorf("%s: %s on %v, want only %s's own log group (%s)", s.where, a, r, id, ownLogGroup)
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
					if !unscopedActions[a] {
						t.Errorf("%s grants %s on Resource \"*\"", s.where, a)
					}
				}
			}
		}
		got.actions = slices.Sorted(maps.Keys(actions))
		got.sendTargets = slices.Sorted(maps.Keys(sendTargets))
		if diff := cmp.Diff(want[id], got, cmp.AllowUnexported(permissions{})); diff != "" {
			t.Errorf("%s permissions mismatch (-want +got):\n%s", id, diff)
		}
	}
}

// TestHookFunction: CodeDeploy's role for Lambda deployments (what SAM generates for a
// DeploymentPreference) may invoke only functions named CodeDeployHook_*; CodeDeploy invokes
// hooks asynchronously, so what fails every retry must land somewhere visible.
func TestHookFunction(t *testing.T) {
	tmpl := loadTemplate(t)
	resolved := newResolver(t, tmpl, nil).properties(functionID)
	hook := tmpl.Resources[hookFunctionID].Properties

	if got, _ := refOf(function(t, tmpl).Properties["FunctionName"]); got != "FunctionName" {
		t.Errorf("%s FunctionName = %v, want !Ref FunctionName", functionID, function(t, tmpl).Properties["FunctionName"])
	}
	if got := resolved["FunctionName"]; got != "prewarm" {
		t.Errorf("%s is named %v by default, want prewarm (the README's aws lambda invoke)", functionID, got)
	}
	name, ok := subOf(hook["FunctionName"])
	if !ok || name != "CodeDeployHook_${FunctionName}" {
		t.Errorf("%s FunctionName = %v, want !Sub CodeDeployHook_${FunctionName}", hookFunctionID, hook["FunctionName"])
	}
	// Lambda function names are at most 64 characters.
	longest := regexp.MustCompile(`\{1,(\d+)\}\$$`).FindStringSubmatch(tmpl.Parameters["FunctionName"].AllowedPattern)
	if longest == nil {
		t.Fatalf("FunctionName AllowedPattern %q does not bound the length", tmpl.Parameters["FunctionName"].AllowedPattern)
	}
	if n, _ := strconv.Atoi(longest[1]); n+len("CodeDeployHook_") > 64 {
		t.Errorf("FunctionName may have %d characters: CodeDeployHook_ + it exceeds Lambda's 64", n)
	}

	// CodeDeploy invokes hooks asynchronously, CodePipeline its Lambda actions too: both
	// functions retry (prewarm answers a hook or a job once, so retries are safe) and keep what
	// fails every retry, in a queue of this template that the function's role may send to.
	for _, id := range functionIDs {
		config := path(functionByID(t, tmpl, id).Properties, "EventInvokeConfig")
		if got := number(t, tmpl, path(config, "MaximumRetryAttempts")); got < 1 || got > 2 {
			t.Errorf("%s MaximumRetryAttempts = %v, want 1..2", id, got)
		}
		if got := number(t, tmpl, path(config, "MaximumEventAgeInSeconds")); got > 3600 {
			t.Errorf("%s MaximumEventAgeInSeconds = %v, want at most CodeDeploy's one-hour hook limit", id, got)
		}
		onFailure := path(config, "DestinationConfig", "OnFailure")
		q, attr, ok := getAttOf(path(onFailure, "Destination"))
		if path(onFailure, "Type") != "SQS" || !ok || attr != "Arn" || tmpl.Resources[q].Type != "AWS::SQS::Queue" {
			t.Errorf("%s on-failure destination = %v, want an SQS queue of this template", id, onFailure)
			continue
		}
		var canSend bool
		for _, s := range grants(t, tmpl, id) {
			canSend = canSend || slices.Contains(s.actions, "sqs:SendMessage") && slices.ContainsFunc(s.resources, func(r any) bool {
				res, _, _ := getAttOf(r)
				return res == q
			})
		}
		if !canSend {
			t.Errorf("%s's role may not send to its on-failure destination %s: Lambda sends it with that role", id, q)
		}
	}

	p := tmpl.Parameters["HookRelease"]
	re := regexp.MustCompile(p.AllowedPattern)
	for value, accepted := range map[string]bool{"delete": true, "0": true, "5": true, "keep": false, "-1": false, "1.5": false} {
		if got := re.MatchString(value); got != accepted {
			t.Errorf("HookRelease %q accepted = %v, want %v", value, got, accepted)
		}
	}
	if p.Default != "delete" {
		t.Errorf("HookRelease defaults to %v, want delete", p.Default)
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
	queueURL := "https://sqs.us-east-1.amazonaws.com/123456789012/prewarm-queue"

	for name, params := range map[string]map[string]string{
		"defaults":  nil,
		"samconfig": samconfigOverrides(t, "default.deploy.parameters"),
	} {
		for _, id := range functionIDs {
			t.Run(name+"/"+id, func(t *testing.T) {
				vars := path(functionByID(t, tmpl, id).Properties, "Environment", "Variables")
				r := newResolver(t, tmpl, params)
				env := map[string]string{"AWS_REGION": "us-east-1"}
				for k, v := range r.resolve(vars).(map[string]any) {
					if _, isRef := refOf(v); isRef {
						v = queueURL // a resource: the queue's URL on deploy
					}
					env[k] = fmt.Sprint(v)
				}
				if _, err := config.Load(func(k string) string { return env[k] }); err != nil {
					t.Errorf("config.Load with %s's environment %v: %v", id, env, err)
				}
			})
		}
	}
}

// envFilePath is the --env-vars file of sam local invoke, keyed by function logical ID.
const envFilePath = "../env.json"

// TestEnvFile: sam local invoke --env-vars env.json only overrides the variables the template
// declares, so env.json must name exactly those, for every function, and point them at the
// local emulator as a container sees it (host.docker.internal) and at the emulator's queues.
func TestEnvFile(t *testing.T) {
	tmpl := loadTemplate(t)
	data, err := os.ReadFile(envFilePath)
	if err != nil {
		t.Fatalf("read env.json: %v", err)
	}
	var file map[string]map[string]string
	dec := json.NewDecoder(bytes.NewReader(data))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&file); err != nil {
		t.Fatalf("env.json is not {\"LogicalId\": {\"VARIABLE\": \"value\"}}: %v", err)
	}
	if diff := cmp.Diff(slices.Sorted(slices.Values(functionIDs)), slices.Sorted(maps.Keys(file))); diff != "" {
		t.Errorf("env.json functions mismatch with the template's (-template +env.json):\n%s", diff)
	}

	world := localaws.DefaultWorld()
	queues := map[string]bool{}
	for _, q := range world.Queues {
		queues[q.Name] = true
	}
	const endpoint = "http://host.docker.internal:4566"
	for _, id := range functionIDs {
		vars := file[id]
		declared, _ := path(functionByID(t, tmpl, id).Properties, "Environment", "Variables").(map[string]any)
		if diff := cmp.Diff(slices.Sorted(maps.Keys(declared)), slices.Sorted(maps.Keys(vars))); diff != "" {
			t.Errorf("env.json %s variables mismatch with the template's (-template +env.json):\n%s", id, diff)
		}
		if got := vars["AWS_ENDPOINT_URL"]; got != endpoint {
			t.Errorf("env.json %s AWS_ENDPOINT_URL = %q, want %q (the emulator seen from a container)", id, got, endpoint)
		}
		for _, name := range []string{"RESULTS_QUEUE_URL", "FOLLOWUP_QUEUE_URL"} {
			queue, ok := strings.CutPrefix(vars[name], endpoint+"/"+world.AccountID+"/")
			if !ok || !queues[queue] {
				t.Errorf("env.json %s %s = %q, want %s/%s/<a queue of localaws/world.json>", id, name, vars[name], endpoint, world.AccountID)
			}
		}
		env := maps.Clone(vars)
		env["AWS_REGION"] = world.Region
		if _, err := config.Load(func(k string) string { return env[k] }); err != nil {
			t.Errorf("config.Load with env.json's %s: %v", id, err)
		}
	}
}

// TestControlPlaneBudgetFitsTheAccountQuota: every execution environment
// has its own rate limiter, so the defaults must keep their sum under
// Lambda's 15 requests/s per account, shared with other tools.
func TestControlPlaneBudgetFitsTheAccountQuota(t *testing.T) {
	tmpl := loadTemplate(t)
	rps := number(t, tmpl, tmpl.Parameters["ControlPlaneRPS"].Default)
	var envs float64
	for _, id := range functionIDs {
		envs += number(t, tmpl, functionByID(t, tmpl, id).Properties["ReservedConcurrentExecutions"])
	}
	if total := rps * envs; total >= 15 {
		t.Errorf("ControlPlaneRPS %v x %v environments (the reserved concurrency of %v) = %v requests/s, not under the account's 15",
			rps, envs, functionIDs, total)
	}
}
