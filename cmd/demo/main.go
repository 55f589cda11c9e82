// Command demo runs prewarm end to end on the embedded local AWS emulator:
// it starts the emulator, feeds prewarm the sample events in events/ —
// directly and through the SQS queue with the event source mapping — and
// prints each decision and the result messages read back from the results
// queue.
package main

import (
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"os"
	"os/signal"
	"path/filepath"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/aws/aws-lambda-go/lambda"
	"github.com/aws/aws-lambda-go/lambdacontext"
	"github.com/aws/aws-sdk-go-v2/aws"
	lambdasvc "github.com/aws/aws-sdk-go-v2/service/lambda"
	"github.com/aws/aws-sdk-go-v2/service/sqs"

	"github.com/prewarm/prewarm/config"
	"github.com/prewarm/prewarm/handler"
	"github.com/prewarm/prewarm/localaws"
	"github.com/prewarm/prewarm/localaws/esm"
	"github.com/prewarm/prewarm/results"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt)
	defer stop()
	if err := run(ctx, os.Args[1:], os.Stdout); err != nil {
		fmt.Fprintln(os.Stderr, "demo:", err)
		os.Exit(1)
	}
}

func run(ctx context.Context, args []string, stdout io.Writer) error {
	flags := flag.NewFlagSet("demo", flag.ContinueOnError)
	eventsDir := flags.String("events", "events", "folder of sample events")
	verbose := flags.Bool("v", false, "also print prewarm's JSON log lines")
	if err := flags.Parse(args); err != nil {
		return err
	}

	world := localaws.DefaultWorld()
	srv, err := localaws.New(world, localaws.Options{})
	if err != nil {
		return err
	}
	url, stopServer, err := srv.Listen("127.0.0.1:0")
	if err != nil {
		return err
	}
	defer stopServer()

	queueURL := func(name string) string { return url + "/" + world.AccountID + "/" + name }
	env := map[string]string{
		"RESULTS_QUEUE_URL":  queueURL("prewarm-results"),
		"FOLLOWUP_QUEUE_URL": queueURL("prewarm-followup"),
		"ALLOWED_FUNCTIONS":  "my-function,checkout-*,orders-worker,broken-function",
		"MAX_CONCURRENCY":    "100",
		"POLICY":             `{"checkout-*":{"default":10,"max":50}}`,
		"WAIT_SECONDS":       "20",
		"CONTROL_PLANE_RPS":  "10",
	}
	cfg, err := config.Load(func(k string) string { return env[k] })
	if err != nil {
		return err
	}
	logOut := io.Discard
	if *verbose {
		logOut = os.Stderr
	}
	awsCfg := localaws.SDKConfig(url)
	d := &demo{
		out:     stdout,
		h:       handler.FromConfig(cfg, awsCfg, slog.New(slog.NewJSONHandler(logOut, nil)), nil),
		sqs:     sqs.NewFromConfig(awsCfg),
		lambda:  lambdasvc.NewFromConfig(awsCfg),
		results: queueURL("prewarm-results"),
		events:  queueURL("prewarm-events"),
		dir:     *eventsDir,
		srv:     srv,
	}
	fmt.Fprintf(stdout, "prewarm demo — local AWS emulator at %s (account %s, %s; provisioned concurrency READY %s after a change)\n",
		url, world.AccountID, world.Region, time.Duration(world.ReadyAfter))
	fmt.Fprintf(stdout, "ALLOWED_FUNCTIONS=%s  MAX_CONCURRENCY=%s  POLICY=%s\n", env["ALLOWED_FUNCTIONS"], env["MAX_CONCURRENCY"], env["POLICY"])
	return d.all(ctx)
}

type demo struct {
	out     io.Writer
	h       *handler.Handler
	sqs     *sqs.Client
	lambda  *lambdasvc.Client
	results string
	events  string
	dir     string
	srv     *localaws.Server
	invokes int
}

func (d *demo) all(ctx context.Context) error {
	steps := []struct {
		title string
		run   func(context.Context) error
	}{
		{"Blue/green switch: GREEN mirrors BLUE, BLUE is released only once GREEN is READY", d.direct("alias-switch.json")},
		{"A version whose init fails: GREEN ends FAILED, BLUE stays warm", d.initFailure},
		{"Through SQS: the switch and a batch mixing good and bad records, delivered by the event source mapping", d.viaSQS("alias-switch-sqs.json", "sqs-batch-mixed.json")},
		{"An alias re-pointed outside prewarm (CloudTrail UpdateAlias): re-derived from POLICY and followed to READY", d.cloudTrail},
		{"The API-shaped direct call on a function with reserved concurrency", d.direct("direct-api-shape.json")},
		{"A scheduled scale (EventBridge Scheduler input, wait:false)", d.direct("scheduled-scale.json")},
		{"A release: concurrency 0 removes provisioned concurrency", d.direct("release.json")},
		{"The scheduled reconcile pass", d.reconcile},
	}
	for i, s := range steps {
		fmt.Fprintf(d.out, "\n%d. %s\n", i+1, s.title)
		if err := s.run(ctx); err != nil {
			return fmt.Errorf("step %d: %w", i+1, err)
		}
	}
	return d.summary()
}

func (d *demo) load(name string) ([]byte, error) {
	return os.ReadFile(filepath.Join(d.dir, name))
}

// invoke pushes payload through aws-lambda-go's decoding path, as Lambda does.
func (d *demo) invoke(ctx context.Context, payload []byte) ([]byte, error) {
	d.invokes++
	ctx = lambdacontext.NewContext(ctx, &lambdacontext.LambdaContext{
		AwsRequestID:       fmt.Sprintf("demo-request-%d", d.invokes),
		InvokedFunctionArn: "arn:aws:lambda:us-east-1:123456789012:function:prewarm",
	})
	ctx, cancel := context.WithTimeout(ctx, time.Minute)
	defer cancel()
	return lambda.NewHandler(d.h.Invoke).Invoke(ctx, payload)
}

func (d *demo) direct(name string) func(context.Context) error {
	return func(ctx context.Context) error {
		payload, err := d.load(name)
		if err != nil {
			return err
		}
		fmt.Fprintf(d.out, "   aws lambda invoke --payload file://events/%s\n", name)
		began := time.Now()
		if _, err := d.invoke(ctx, payload); err != nil && !errors.Is(err, handler.ErrRetry) {
			return err
		}
		return d.printResults(ctx, began)
	}
}

func (d *demo) initFailure(ctx context.Context) error {
	if err := d.direct("init-failure.json")(ctx); err != nil {
		return err
	}
	out, err := d.lambda.GetProvisionedConcurrencyConfig(ctx, &lambdasvc.GetProvisionedConcurrencyConfigInput{
		FunctionName: aws.String("broken-function"), Qualifier: aws.String("BLUE"),
	})
	if err != nil {
		return fmt.Errorf("read broken-function:BLUE: %w", err)
	}
	fmt.Fprintf(d.out, "   broken-function:BLUE still has %d provisioned, %s\n", aws.ToInt32(out.AllocatedProvisionedConcurrentExecutions), out.Status)
	return nil
}

func (d *demo) viaSQS(names ...string) func(context.Context) error {
	return func(ctx context.Context) error {
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
				return fmt.Errorf("%s: %w", name, err)
			}
			for _, r := range batch.Records {
				if _, err := d.sqs.SendMessage(ctx, &sqs.SendMessageInput{QueueUrl: aws.String(d.events), MessageBody: aws.String(r.Body)}); err != nil {
					return fmt.Errorf("send to prewarm-events: %w", err)
				}
				sent++
			}
		}
		fmt.Fprintf(d.out, "   %d messages sent to prewarm-events (bodies of %s)\n", sent, strings.Join(names, ", "))
		began := time.Now()
		m, err := esm.New(esm.Config{
			Client: d.sqs, QueueURL: d.events, BatchSize: 10, WaitTimeSeconds: 1,
			MaximumBatchingWindow: 200 * time.Millisecond,
			Invoker:               esm.FuncInvoker(d.invoke),
			OnBatch: func(b esm.Batch) {
				fmt.Fprintf(d.out, "   event source mapping: batch of %d, %d deleted, %d reported for retry\n", len(b.MessageIDs), len(b.Deleted), len(b.Failed))
			},
		})
		if err != nil {
			return err
		}
		drainCtx, cancel := context.WithTimeout(ctx, 2*time.Minute)
		defer cancel()
		if _, err := m.Drain(drainCtx); err != nil {
			return err
		}
		return d.printResults(ctx, began)
	}
}

func (d *demo) cloudTrail(ctx context.Context) error {
	if _, err := d.lambda.UpdateAlias(ctx, &lambdasvc.UpdateAliasInput{
		FunctionName: aws.String("checkout-api"), Name: aws.String("live"), FunctionVersion: aws.String("3"),
	}); err != nil {
		return fmt.Errorf("update alias checkout-api:live: %w", err)
	}
	fmt.Fprintln(d.out, "   a deploy ran: aws lambda update-alias --function-name checkout-api --name live --function-version 3")
	return d.direct("cloudtrail-update-alias.json")(ctx)
}

func (d *demo) reconcile(ctx context.Context) error {
	// Drift, as a console edit would leave it: above POLICY's max of 50.
	if _, err := d.lambda.PutProvisionedConcurrencyConfig(ctx, &lambdasvc.PutProvisionedConcurrencyConfigInput{
		FunctionName: aws.String("checkout-api"), Qualifier: aws.String("GREEN"), ProvisionedConcurrentExecutions: aws.Int32(80),
	}); err != nil {
		return fmt.Errorf("put checkout-api:BLUE: %w", err)
	}
	fmt.Fprintln(d.out, "   someone set checkout-api:GREEN to 80 by hand (POLICY max is 50)")
	return d.direct("reconcile.json")(ctx)
}

// printResults reads the results queue and prints every message on it.
func (d *demo) printResults(ctx context.Context, began time.Time) error {
	msgs, err := d.readResults(ctx)
	if err != nil {
		return err
	}
	tw := tabwriter.NewWriter(d.out, 0, 0, 2, ' ', 0)
	fmt.Fprintln(tw, "   \tat\ttarget\toutcome\tvalue\tstatus\tdetail")
	for _, m := range msgs {
		value, status := "", ""
		if m.Derivation != nil {
			value = fmt.Sprint(m.Derivation.Value)
			if m.Derivation.Strategy == "mirror" {
				value += " (mirror of " + m.Derivation.From + ")"
			} else {
				value += " (" + m.Derivation.Strategy + ")"
			}
		}
		if m.Response != nil {
			status = m.Response.Status
			if value == "" {
				value = fmt.Sprint(m.Response.RequestedProvisionedConcurrentExecutions)
			}
		}
		detail := m.Reason
		if m.Error != nil {
			detail = m.Error.Code + ": " + detail
		}
		at := "+" + m.Time.Sub(began).Round(100*time.Millisecond).String()
		target := m.FunctionName + ":" + m.Qualifier
		if target == ":" {
			target = "—"
		}
		fmt.Fprintf(tw, "   \t%s\t%s\t%s\t%s\t%s\t%s\n", at, target, m.Outcome, value, status, clip(detail, 90))
	}
	return tw.Flush()
}

func clip(s string, n int) string {
	if r := []rune(s); len(r) > n {
		return string(r[:n-1]) + "…"
	}
	return s
}

// readResults receives and deletes every message on the results queue.
func (d *demo) readResults(ctx context.Context) ([]results.Message, error) {
	bodies, err := results.Drain(ctx, d.sqs, d.results)
	if err != nil {
		return nil, err
	}
	out := make([]results.Message, len(bodies))
	for i, b := range bodies {
		if err := json.Unmarshal([]byte(b), &out[i]); err != nil {
			return nil, fmt.Errorf("result is not JSON: %w", err)
		}
	}
	return out, nil
}

func (d *demo) summary() error {
	stats := d.srv.Stats()
	var calls, throttled int64
	for op, s := range stats.Operations {
		if isLambda(op) {
			calls += s.Requests
			throttled += s.Throttled
		}
	}
	fmt.Fprintf(d.out, "\nLambda control-plane calls: %d (%d throttled). Every result above was read back from the results queue.\n", calls, throttled)
	return nil
}

func isLambda(op string) bool {
	switch op {
	case "SendMessage", "SendMessageBatch", "ReceiveMessage", "DeleteMessage", "DeleteMessageBatch",
		"GetQueueAttributes", "GetQueueUrl", "ChangeMessageVisibility", "PurgeQueue", "CreateQueue":
		return false
	}
	return true
}
