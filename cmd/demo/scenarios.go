package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync/atomic"
	"time"

	"github.com/aws/aws-lambda-go/lambda"
	"github.com/aws/aws-lambda-go/lambdacontext"
	"github.com/aws/aws-sdk-go-v2/aws"
	lambdasvc "github.com/aws/aws-sdk-go-v2/service/lambda"
	"github.com/aws/aws-sdk-go-v2/service/sqs"

	"github.com/prewarm/prewarm/autoscale"
	"github.com/prewarm/prewarm/handler"
	"github.com/prewarm/prewarm/localaws"
	"github.com/prewarm/prewarm/localaws/codedeploysim"
	"github.com/prewarm/prewarm/localaws/codepipelinesim"
	"github.com/prewarm/prewarm/localaws/esm"
	"github.com/prewarm/prewarm/results"
)

// A scenario is one step of the demo: what it sends prewarm and the result messages it
// promises. The demo reads back every message the step left on the results queue and fails,
// naming the scenario, unless they are exactly the promised ones.
type scenario struct {
	// name is short and stable: how a failure names the scenario.
	name string
	// title says what the scenario shows; printed above its results.
	title string
	// send does what a user or AWS would: change the world, invoke prewarm, feed its queue.
	send func(context.Context, *demo) error
	// want is every result message the scenario promises, in any order.
	want []outcome
	// check, when set, verifies what the result messages cannot show: the state left behind.
	check func(context.Context, *demo) error
	// source, when set, is what every result message must name as its trigger and the
	// deployment or job it answers.
	source *source
}

// scenarios is the demo, in the order it runs; each scenario starts from the state the
// previous ones left.
func scenarios() []scenario {
	return []scenario{
		{
			name:  "alias-switch",
			title: "Blue/green switch: GREEN mirrors BLUE, BLUE is released only once GREEN is READY",
			send:  direct("alias-switch.json"),
			want: []outcome{
				{"my-function:GREEN", results.OutcomeApplied, "10 (mirror of BLUE)", ""},
				{"my-function:GREEN", results.OutcomeReady, "10 (mirror of BLUE)", ""},
				{"my-function:BLUE", results.OutcomeReleased, "", "provisioned concurrency removed from BLUE"},
			},
		},
		{
			name:  "init-failure",
			title: "A version whose init fails: GREEN ends FAILED, BLUE stays warm",
			send:  direct("init-failure.json"),
			want: []outcome{
				{"broken-function:GREEN", results.OutcomeApplied, "5 (mirror of BLUE)", ""},
				{"broken-function:GREEN", results.OutcomeFailed, "5 (mirror of BLUE)", "FUNCTION_ERROR_INIT_FAILURE"},
			},
			check: stillWarm("broken-function", "BLUE", 5),
		},
		{
			name:  "sqs",
			title: "Through SQS: the switch and a batch mixing good and bad records, delivered by the event source mapping",
			send:  viaSQS("alias-switch-sqs.json", "sqs-batch-mixed.json"),
			want: []outcome{
				{"checkout-api:GREEN", results.OutcomeApplied, "20 (mirror of BLUE)", ""},
				{"checkout-api:GREEN", results.OutcomeReady, "20 (mirror of BLUE)", ""},
				{"checkout-api:BLUE", results.OutcomeReleased, "", "BLUE left at standby 5"},
				{"my-function:GREEN", results.OutcomeApplied, "15 (explicit)", ""},
				{"my-function:GREEN", results.OutcomeReady, "15 (explicit)", ""},
				{"orders-worker:live", results.OutcomeApplied, "50 (explicit)", "by the function's reserved concurrency"},
				{"orders-worker:live", results.OutcomeReady, "50 (explicit)", ""},
				{"", results.OutcomeRejected, "", "body is not JSON"},
				{"my-function:$LATEST", results.OutcomeRejected, "", "$LATEST cannot hold provisioned concurrency"},
				{"payroll:live", results.OutcomeRejected, "", "not allowed by ALLOWED_FUNCTIONS"},
				{"", results.OutcomeRejected, "", `unsupported EventBridge event: source "aws.ec2"`},
			},
		},
		{
			name:  "cloudtrail-alias-move",
			title: "An alias re-pointed outside prewarm (CloudTrail UpdateAlias): re-derived from POLICY and followed to READY",
			send:  cloudTrail,
			want: []outcome{
				{"checkout-api:live", results.OutcomeApplied, "10 (policy)", ""},
				{"checkout-api:live", results.OutcomeReady, "10 (policy)", ""},
			},
		},
		{
			name:  "direct-api-shape",
			title: "The API-shaped direct call on a function with reserved concurrency",
			send:  direct("direct-api-shape.json"),
			want: []outcome{
				{"orders-worker:live", results.OutcomeApplied, "20 (explicit)", ""},
				{"orders-worker:live", results.OutcomeReady, "20 (explicit)", ""},
			},
		},
		{
			name:  "scheduled-scale",
			title: "A scheduled scale (EventBridge Scheduler input, wait:false): APPLIED, not followed",
			send:  direct("scheduled-scale.json"),
			want: []outcome{
				{"checkout-api:BLUE", results.OutcomeApplied, "30 (explicit)", ""},
			},
		},
		{
			name:  "release",
			title: "A release: concurrency 0 removes provisioned concurrency",
			send:  direct("release.json"),
			want: []outcome{
				{"checkout-api:BLUE", results.OutcomeReleased, "0 (explicit)", "provisioned concurrency removed"},
			},
		},
		{
			name:  "reconcile",
			title: "The scheduled reconcile pass: reports what FAILED, brings drift back within POLICY",
			send:  reconcile,
			want: []outcome{
				{"broken-function:GREEN", results.OutcomeFailed, "", "FUNCTION_ERROR_INIT_FAILURE"},
				{"checkout-api:GREEN", results.OutcomeApplied, "50 (policy)", "drifted outside policy"},
				{"checkout-api:GREEN", results.OutcomeReady, "50 (policy)", ""},
			},
		},
		{
			name:  "codedeploy-canary",
			title: "CodeDeploy canary gated by prewarm: version 2 warm before any traffic moves, version 1 released after",
			send:  deploy(canary(canaryDeployment, "1", "2")),
			want: []outcome{
				{"checkout-payments:2", results.OutcomeApplied, "5 (mirror of 1)", ""},
				{"checkout-payments:2", results.OutcomeReady, "5 (mirror of 1)", ""},
				{"checkout-payments:1", results.OutcomeReleased, "", "provisioned concurrency removed from 1"},
			},
			source: &source{trigger: results.TriggerCodeDeploy, deploymentID: canaryDeployment},
			check:  deployed(canaryDeployment, codedeploysim.DeploymentSucceeded, "2", map[string]int32{"1": 0, "2": 5}),
		},
		{
			name:  "codedeploy-rollback",
			title: "CodeDeploy rollback when the new version fails to initialise: alias left on version 2, still warm",
			send:  deploy(canary(failedDeployment, "2", brokenVersion)),
			want: []outcome{
				{"checkout-payments:3", results.OutcomeApplied, "5 (mirror of 2)", ""},
				{"checkout-payments:3", results.OutcomeFailed, "5 (mirror of 2)", "FUNCTION_ERROR_INIT_FAILURE"},
			},
			source: &source{trigger: results.TriggerCodeDeploy, deploymentID: failedDeployment},
			check:  deployed(failedDeployment, codedeploysim.DeploymentFailed, "2", map[string]int32{"2": 5}),
		},
		{
			name:  "codepipeline-job",
			title: "A CodePipeline job: the switch is followed to READY, then the job ends with its output variables",
			send:  pipeline,
			want: []outcome{
				{"my-function:BLUE", results.OutcomeApplied, "15 (mirror of GREEN)", ""},
				{"my-function:BLUE", results.OutcomeReady, "15 (mirror of GREEN)", ""},
				{"my-function:GREEN", results.OutcomeReleased, "", "provisioned concurrency removed from GREEN"},
			},
			source: &source{trigger: results.TriggerCodePipeline, jobID: pipelineJob},
			check: jobEnded(pipelineJob, codepipelinesim.JobSucceeded, map[string]string{
				"outcome": "READY", "function": "my-function", "qualifier": "BLUE", "value": "15",
			}),
		},
		{
			name:  "autoscaling-switch",
			title: "Auto scaling moves with the switch: BLUE's scalable target, policy and scheduled action go to GREEN once it is READY",
			send: given(fmt.Sprintf("catalog-api:BLUE holds %d provisioned, with a scalable target: min %d, max %d, 1 target tracking policy, 1 scheduled action", scaledPC, scaledMin, scaledMax),
				inline(autoScalingIntent)),
			want: []outcome{
				{"catalog-api:GREEN", results.OutcomeApplied, "10 (mirror of BLUE)", ""},
				{"catalog-api:GREEN", results.OutcomeReady, "10 (mirror of BLUE)", ""},
				{"catalog-api:BLUE", results.OutcomeReleased, "", "auto scaling (min 5, max 40, 1 policies, 1 scheduled actions) moved from BLUE to GREEN"},
			},
			check: autoScalingMoved(scaledFunction, "BLUE", "GREEN", scaledMin, scaledMax, 1, 1),
		},
		{
			name:  "demand",
			title: "Sized by demand: GREEN gets what BLUE's peak in CloudWatch needs at 70% utilisation, not BLUE's value",
			send: given(fmt.Sprintf("pricing-api:BLUE holds %d provisioned; CloudWatch shows its ConcurrentExecutions peaked at %d", demandPC, demandPeak),
				inline(demandIntent)),
			want: []outcome{
				{"pricing-api:GREEN", results.OutcomeApplied, "20 (demand: peak 14 over 24h, 4 datapoints ÷ 0.7)", ""},
				{"pricing-api:GREEN", results.OutcomeReady, "20 (demand: peak 14 over 24h, 4 datapoints ÷ 0.7)", ""},
			},
		},
	}
}

type demo struct {
	out         *output
	h           *handler.Handler
	sqs         *sqs.Client
	lambda      *lambdasvc.Client
	autoScaling *autoscale.Carrier
	results     string
	events      string
	dir         string
	srv         *localaws.Server
	functionARN string
	hookARN     string
	// clock is the emulator's, which the deployment driver moves ahead.
	clock *demoClock
	// invokes counts invocations, some of them concurrent (the driver's hooks).
	invokes atomic.Int64
}

// run runs every scenario, printing its results and whether they are the promised ones. A
// scenario that cannot be run at all stops the demo; one whose outcomes differ is reported
// and the demo goes on, failing at the end with the names of all such scenarios.
func (d *demo) run(ctx context.Context, ss []scenario) error {
	var unmet []string
	for i, s := range ss {
		d.printf("\n%d. %s\n", i+1, s.title)
		began := time.Now()
		if err := s.send(ctx, d); err != nil {
			return fmt.Errorf("scenario %s: %w", s.name, err)
		}
		msgs, err := d.readResults(ctx)
		if err != nil {
			return fmt.Errorf("scenario %s: %w", s.name, err)
		}
		d.printResults(msgs, began)
		problems := compare(s.want, msgs)
		if s.source != nil {
			problems = append(problems, compareSource(*s.source, msgs)...)
		}
		if s.check != nil {
			if err := s.check(ctx, d); err != nil {
				problems = append(problems, err.Error())
			}
		}
		if len(problems) == 0 {
			d.printf("   ok: as promised (%d %s)\n", len(s.want), plural(len(s.want), "outcome"))
			continue
		}
		unmet = append(unmet, s.name)
		d.printf("   NOT AS PROMISED (scenario %s):\n", s.name)
		for _, p := range problems {
			d.printWrapped("     - ", p)
		}
	}
	d.summary()
	if d.out.err != nil {
		return fmt.Errorf("write the demo's output: %w", d.out.err)
	}
	if len(unmet) > 0 {
		return fmt.Errorf("%d of %d scenarios did not reach their promised outcomes: %s", len(unmet), len(ss), strings.Join(unmet, ", "))
	}
	return nil
}

func (d *demo) load(name string) ([]byte, error) {
	b, err := os.ReadFile(filepath.Join(d.dir, name))
	if err != nil {
		return nil, fmt.Errorf("read the sample event (run from the repository root, or set -events): %w", err)
	}
	return b, nil
}

// invoke pushes payload through aws-lambda-go's decoding path, as Lambda does, with the
// Lambda context Lambda gives: a request id and the ARN prewarm was invoked by.
func (d *demo) invoke(ctx context.Context, payload []byte) ([]byte, error) {
	ctx = lambdacontext.NewContext(ctx, &lambdacontext.LambdaContext{
		AwsRequestID:       fmt.Sprintf("demo-request-%d", d.invokes.Add(1)),
		InvokedFunctionArn: d.functionARN,
	})
	ctx, cancel := context.WithTimeout(ctx, time.Minute)
	defer cancel()
	return lambda.NewHandler(d.h.Invoke).Invoke(ctx, payload)
}

// direct invokes prewarm with a sample event, as `aws lambda invoke` does.
func direct(name string) func(context.Context, *demo) error {
	return func(ctx context.Context, d *demo) error {
		payload, err := d.load(name)
		if err != nil {
			return err
		}
		d.printf("   aws lambda invoke --payload file://events/%s\n", name)
		if _, err := d.invoke(ctx, payload); err != nil && !errors.Is(err, handler.ErrRetry) {
			return fmt.Errorf("invoke with events/%s: %w", name, err)
		}
		return nil
	}
}

// stillWarm checks that function:qualifier still holds want provisioned concurrency, READY.
func stillWarm(function, qualifier string, want int32) func(context.Context, *demo) error {
	return func(ctx context.Context, d *demo) error {
		out, err := d.lambda.GetProvisionedConcurrencyConfig(ctx, &lambdasvc.GetProvisionedConcurrencyConfigInput{
			FunctionName: aws.String(function), Qualifier: aws.String(qualifier),
		})
		if err != nil {
			return fmt.Errorf("read %s:%s: %w", function, qualifier, err)
		}
		got := aws.ToInt32(out.AllocatedProvisionedConcurrentExecutions)
		d.printf("   %s:%s still has %d provisioned, %s\n", function, qualifier, got, out.Status)
		if got != want || out.Status != "READY" {
			return fmt.Errorf("%s:%s has %d provisioned, %s; want %d, READY", function, qualifier, got, out.Status, want)
		}
		return nil
	}
}

// viaSQS sends the record bodies of SQS sample events to prewarm's input queue and lets the
// event source mapping deliver them until the queue is empty.
func viaSQS(names ...string) func(context.Context, *demo) error {
	return func(ctx context.Context, d *demo) error {
		sent := 0
		for _, name := range names {
			payload, err := d.load(name)
			if err != nil {
				return err
			}
			var batch struct {
				Records []struct {
					Body string `json:"body"`
				}
			}
			if err := json.Unmarshal(payload, &batch); err != nil {
				return fmt.Errorf("events/%s: %w", name, err)
			}
			for _, r := range batch.Records {
				if _, err := d.sqs.SendMessage(ctx, &sqs.SendMessageInput{QueueUrl: aws.String(d.events), MessageBody: aws.String(r.Body)}); err != nil {
					return fmt.Errorf("send to prewarm-events: %w", err)
				}
				sent++
			}
		}
		d.printf("   %d messages sent to prewarm-events (bodies of %s)\n", sent, strings.Join(names, ", "))
		m, err := esm.New(esm.Config{
			Client: d.sqs, QueueURL: d.events, BatchSize: 10, WaitTimeSeconds: 1,
			MaximumBatchingWindow: 200 * time.Millisecond,
			Invoker:               esm.FuncInvoker(d.invoke),
			OnBatch: func(b esm.Batch) {
				d.printf("   event source mapping: batch of %d, %d deleted, %d reported for retry\n", len(b.MessageIDs), len(b.Deleted), len(b.Failed))
			},
		})
		if err != nil {
			return fmt.Errorf("event source mapping on prewarm-events: %w", err)
		}
		drainCtx, cancel := context.WithTimeout(ctx, 2*time.Minute)
		defer cancel()
		if _, err := m.Drain(drainCtx); err != nil {
			return fmt.Errorf("event source mapping on prewarm-events: %w", err)
		}
		return nil
	}
}

// cloudTrail re-points an alias as a deploy tool would, then delivers the CloudTrail event
// that AWS would send for it.
func cloudTrail(ctx context.Context, d *demo) error {
	if _, err := d.lambda.UpdateAlias(ctx, &lambdasvc.UpdateAliasInput{
		FunctionName: aws.String("checkout-api"), Name: aws.String("live"), FunctionVersion: aws.String("3"),
	}); err != nil {
		return fmt.Errorf("update alias checkout-api:live: %w", err)
	}
	d.printf("   a deploy ran: aws lambda update-alias --function-name checkout-api --name live --function-version 3\n")
	return direct("cloudtrail-update-alias.json")(ctx, d)
}

// reconcile leaves drift as a console edit would, then runs the scheduled pass.
func reconcile(ctx context.Context, d *demo) error {
	if _, err := d.lambda.PutProvisionedConcurrencyConfig(ctx, &lambdasvc.PutProvisionedConcurrencyConfigInput{
		FunctionName: aws.String("checkout-api"), Qualifier: aws.String("GREEN"), ProvisionedConcurrentExecutions: aws.Int32(80),
	}); err != nil {
		return fmt.Errorf("put provisioned concurrency checkout-api:GREEN=80: %w", err)
	}
	d.printf("   someone set checkout-api:GREEN to 80 by hand (POLICY max is 50)\n")
	return direct("reconcile.json")(ctx, d)
}

func plural(n int, word string) string {
	if n == 1 {
		return word
	}
	return word + "s"
}

// readResults receives and deletes every message on the results queue, and returns them in
// the order they were decided (a standard queue does not keep the order they were sent in).
func (d *demo) readResults(ctx context.Context) ([]results.Message, error) {
	bodies, err := results.Drain(ctx, d.sqs, d.results)
	if err != nil {
		return nil, err
	}
	out := make([]results.Message, len(bodies))
	for i, b := range bodies {
		if err := json.Unmarshal([]byte(b), &out[i]); err != nil {
			return nil, fmt.Errorf("result message %d on prewarm-results is not JSON: %w", i+1, err)
		}
	}
	slices.SortStableFunc(out, func(a, b results.Message) int { return a.Time.Compare(b.Time) })
	return out, nil
}

func (d *demo) summary() {
	stats := d.srv.Stats()
	var calls, throttled int64
	for op, s := range stats.Operations {
		if isLambda(op) {
			calls += s.Requests
			throttled += s.Throttled
		}
	}
	d.printf("\nLambda control-plane calls: %d (%d throttled). Every result above was read back from the results queue.\n", calls, throttled)
}

func isLambda(op string) bool {
	switch op {
	case "SendMessage", "SendMessageBatch", "ReceiveMessage", "DeleteMessage", "DeleteMessageBatch",
		"GetQueueAttributes", "GetQueueUrl", "ChangeMessageVisibility", "PurgeQueue", "CreateQueue":
		return false
	}
	return true
}
