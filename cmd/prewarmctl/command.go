package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"strconv"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/cloudformation"
	lambdasvc "github.com/aws/aws-sdk-go-v2/service/lambda"
	"github.com/aws/aws-sdk-go-v2/service/sqs"

	"github.com/prewarm/prewarm/results/watch"
)

// Environment variables that locate prewarm.
const (
	envResultsQueue = "PREWARM_RESULTS_QUEUE_URL"
	envInputQueue   = "PREWARM_INPUT_QUEUE_URL"
	envFunction     = "PREWARM_FUNCTION_NAME"
)

// Stack outputs that locate prewarm (template.yaml's Outputs).
const (
	outputResultsQueue = "ResultsQueueUrl"
	outputInputQueue   = "InputQueueUrl"
	outputFunctionName = "FunctionName"
	outputFunctionARN  = "FunctionArn"
)

// command is one of send, wait and run with its flags.
type command struct {
	name string
	env  *env

	// where prewarm is
	resultsQueue, inputQueue, function, stack string
	// what to send
	via    string
	intent intentFlags
	// what to wait for
	correlationID string
	waitRelease   bool
	noTracking    bool
	timeout       time.Duration
	json          bool

	aws     aws.Config
	outputs map[string]string // the stack's outputs, once read
}

func (c *command) sends() bool { return c.name == "send" || c.name == "run" }
func (c *command) waits() bool { return c.name == "wait" || c.name == "run" }

func (c *command) flags() *flag.FlagSet {
	fs := flag.NewFlagSet("prewarmctl "+c.name, flag.ContinueOnError)
	fs.SetOutput(c.env.stderr)
	fs.StringVar(&c.stack, "stack", "", "CloudFormation stack whose outputs locate prewarm (for example prewarm)")
	fs.DurationVar(&c.timeout, "timeout", defaultWait, "give up (exit 4) after this long")
	fs.BoolVar(&c.json, "json", false, "print one JSON object per line: each result as published, then a summary")
	fs.StringVar(&c.correlationID, "correlation-id", "", c.correlationHelp())
	if c.waits() {
		fs.StringVar(&c.resultsQueue, "results-queue-url", "", "results queue URL (else $"+envResultsQueue+", else the stack's "+outputResultsQueue+")")
		fs.BoolVar(&c.waitRelease, "wait-release", false, "after READY, wait for the RELEASED result of the outgoing qualifier (implied by a sent intent with release)")
		fs.BoolVar(&c.noTracking, "no-tracking", false, "the intent had wait:false: APPLIED or UNCHANGED ends the wait (implied by a sent intent with wait:false)")
	}
	if c.sends() {
		fs.StringVar(&c.inputQueue, "input-queue-url", "", "input queue URL for --via sqs (else $"+envInputQueue+", else the stack's "+outputInputQueue+")")
		fs.StringVar(&c.function, "prewarm-function", "", "the prewarm function's name or ARN for --via event|sync (else $"+envFunction+", else the stack's "+outputFunctionName+")")
		fs.StringVar(&c.via, "via", "", "how to send: event (lambda:Invoke, asynchronous), sync (lambda:Invoke, RequestResponse) or sqs (SendMessage to the input queue); default event when the function is known, else sqs")
		c.intent.register(fs)
	}
	fs.Usage = func() {
		_, _ = fmt.Fprintf(c.env.stdout, "Usage: prewarmctl %s [flags]\n\n%s\nFlags:\n", c.name, commandHelp[c.name])
		fs.SetOutput(c.env.stdout)
		fs.PrintDefaults()
		fs.SetOutput(c.env.stderr)
		_, _ = fmt.Fprintf(c.env.stdout, "\nExit codes: 0 READY, 1 FAILED, 2 TIMED_OUT, 3 REJECTED or SUPERSEDED, 4 could not send or wait, 64 usage (prewarmctl -h).\n")
	}
	return fs
}

var commandHelp = map[string]string{
	"send": "Sends an intent to prewarm and prints its correlation id (generated unless given).\n" +
		"The intent is --intent JSON (or @FILE), or built from --function, --to, --from, ...",
	"wait": "Waits for the results of --correlation-id on the results queue.",
	"run":  "Sends an intent as send does, then waits for its results as wait does.",
}

func (c *command) correlationHelp() string {
	if c.name == "wait" {
		return "correlation id to wait for (required)"
	}
	return "correlation id to send (default: generated)"
}

func (c *command) run(ctx context.Context) int {
	if c.timeout <= 0 {
		return c.fail(usagef("--timeout must be positive"))
	}
	ctx, cancel := context.WithTimeoutCause(ctx, c.timeout, fmt.Errorf("--timeout %s passed", c.timeout))
	defer cancel()
	started := c.env.now()

	var plan *sendPlan
	if c.sends() {
		p, err := c.plan()
		if err != nil {
			return c.fail(err)
		}
		plan = p
	} else if c.correlationID == "" {
		return c.fail(usagef("--correlation-id is required"))
	}
	if err := c.loadAWS(ctx); err != nil {
		return c.fail(err)
	}
	// Find the results queue before sending, so that run never sends what it cannot wait for.
	var queue string
	if c.waits() {
		q, err := c.locate(ctx, c.resultsQueue, envResultsQueue, outputResultsQueue)
		if err != nil {
			return c.fail(err)
		}
		if q == "" {
			return c.fail(usagef("no results queue: give --results-queue-url, $%s or --stack", envResultsQueue))
		}
		queue = q
	}
	if plan != nil {
		if err := c.send(ctx, plan); err != nil {
			return c.fail(err)
		}
		if !c.waits() {
			return exitReady
		}
	}
	return c.wait(ctx, started, queue, plan)
}

// loadAWS loads the SDK configuration and checks the credentials once, so that missing
// credentials end the command at once with the SDK's own explanation.
func (c *command) loadAWS(ctx context.Context) error {
	cfg, err := c.env.loadAWS(ctx)
	if err != nil {
		return fmt.Errorf("load AWS configuration: %w", err)
	}
	if cfg.Credentials == nil {
		return errors.New("no AWS credentials: configure AWS_PROFILE, AWS_ACCESS_KEY_ID/AWS_SECRET_ACCESS_KEY or a role")
	}
	if _, err := cfg.Credentials.Retrieve(ctx); err != nil {
		return fmt.Errorf("AWS credentials: %w", err)
	}
	c.aws = cfg
	return nil
}

// locate returns the value of a flag, else of the environment variable, else of the stack's
// output, else "".
func (c *command) locate(ctx context.Context, flagValue, envName string, outputs ...string) (string, error) {
	if flagValue != "" {
		return flagValue, nil
	}
	if v := c.env.getenv(envName); v != "" {
		return v, nil
	}
	if c.stack == "" {
		return "", nil
	}
	if c.outputs == nil {
		out, err := stackOutputs(ctx, cloudformation.NewFromConfig(c.aws), c.stack)
		if err != nil {
			return "", err
		}
		c.outputs = out
	}
	for _, o := range outputs {
		if v := c.outputs[o]; v != "" {
			return v, nil
		}
	}
	return "", nil
}

func (c *command) sqsClient() *sqs.Client { return sqs.NewFromConfig(c.aws) }

func (c *command) lambdaClient() *lambdasvc.Client { return lambdasvc.NewFromConfig(c.aws) }

func (c *command) reader(queueURL string) *watch.Reader {
	return watch.New(c.sqsClient(), watch.Options{
		QueueURL: queueURL,
		Match:    watch.Match{CorrelationID: c.correlationID},
		Sleep:    c.env.sleep,
		OnRetry: func(err error, d time.Duration) {
			_, _ = fmt.Fprintf(c.env.stderr, "%s%v; retrying in %s\n", commandPrefix, err, d.Round(time.Millisecond))
		},
	})
}

// seconds renders d for progress lines.
func seconds(d time.Duration) string {
	return "+" + strconv.FormatFloat(d.Seconds(), 'f', 1, 64) + "s"
}
