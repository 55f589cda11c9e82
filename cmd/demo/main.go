// Command demo runs prewarm end to end on the embedded local AWS emulator:
// it starts the emulator, feeds prewarm the sample events in events/
// (directly, and through the SQS queue with the event source mapping), runs
// CodeDeploy canary deployments with the emulator's driver and prewarm as
// their hooks, ends a CodePipeline job through prewarm, prints the result
// messages read back from the results queue, and checks them against the
// outcomes each scenario promises. It exits 1, naming the scenarios, when
// one is not reached.
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"os"
	"os/signal"
	"time"

	"github.com/aws/aws-sdk-go-v2/service/sqs"

	"github.com/aws/aws-sdk-go-v2/service/applicationautoscaling"
	lambdasvc "github.com/aws/aws-sdk-go-v2/service/lambda"

	"github.com/prewarm/prewarm/autoscale"
	"github.com/prewarm/prewarm/config"
	"github.com/prewarm/prewarm/handler"
	"github.com/prewarm/prewarm/localaws"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt)
	defer stop()
	err := run(ctx, os.Args[1:], os.Stdout, os.Stderr)
	switch {
	case err == nil:
	case errors.Is(err, errUsage):
		os.Exit(2)
	default:
		fmt.Fprintln(os.Stderr, "demo:", err)
		os.Exit(1)
	}
}

// errUsage reports a command line that could not be parsed; the flag
// package has already said why.
var errUsage = errors.New("usage")

const usage = `Usage: go run ./cmd/demo [flags]   (make demo)

Runs prewarm end to end on the embedded local AWS emulator: the sample events
of -events, directly and through the SQS input queue with an event source
mapping, then CodeDeploy canary deployments with prewarm as their hooks and a
CodePipeline job. Prints every result message read back from the results
queue and checks it against the outcomes each scenario promises; exits 1,
naming the scenarios, when one is not reached. About 55 s, with the default
-ready-after or a shorter one: prewarm reads a tracked target every 5 s.

Flags:
`

func run(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	flags := flag.NewFlagSet("demo", flag.ContinueOnError)
	eventsDir := flags.String("events", "events", "folder of sample events")
	verbose := flags.Bool("v", false, "also print prewarm's JSON log lines on stderr")
	world := localaws.DefaultWorld()
	readyAfter := flags.Duration("ready-after", time.Duration(world.ReadyAfter), "how long the emulator keeps provisioned concurrency IN_PROGRESS after a change")
	flags.Usage = func() {
		// Best effort, as the flag package's own messages are.
		_, _ = fmt.Fprint(flags.Output(), usage)
		flags.PrintDefaults()
	}
	// Parse quietly, then say it once: usage asked for goes to stdout and is no failure; a
	// mistake goes to stderr with the usage.
	flags.SetOutput(io.Discard)
	err := flags.Parse(args)
	if err == nil && flags.NArg() > 0 {
		err = fmt.Errorf("demo takes no arguments, got %q", flags.Args())
	}
	if errors.Is(err, flag.ErrHelp) {
		flags.SetOutput(stdout)
		flags.Usage()
		return nil
	}
	if err != nil {
		flags.SetOutput(stderr)
		_, _ = fmt.Fprintln(stderr, err)
		flags.Usage()
		return errUsage
	}
	world.ReadyAfter = localaws.Duration(*readyAfter)
	logOut := io.Discard
	if *verbose {
		logOut = stderr
	}
	d, stopDemo, err := newDemo(world, *eventsDir, stdout, logOut)
	if err != nil {
		return err
	}
	defer stopDemo()
	return d.run(ctx, scenarios())
}

// newDemo starts the emulator with world and wires prewarm to it as the template would, with
// the demo's configuration; stop shuts the emulator down.
func newDemo(world localaws.World, eventsDir string, stdout, logOut io.Writer) (d *demo, stop func(), err error) {
	world = withScalingFunctions(withBrokenVersion(world))
	clk := &demoClock{}
	srv, err := localaws.New(world, localaws.Options{Clock: clk})
	if err != nil {
		return nil, nil, fmt.Errorf("start the local AWS emulator: %w", err)
	}
	url, stop, err := srv.Listen("127.0.0.1:0")
	if err != nil {
		return nil, nil, fmt.Errorf("start the local AWS emulator: %w", err)
	}

	queueURL := func(name string) string { return url + "/" + world.AccountID + "/" + name }
	// The function's environment as Lambda would give it: AWS_REGION is always set there, and
	// name entries of ALLOWED_FUNCTIONS match ARNs only in prewarm's own Region.
	env := map[string]string{
		"AWS_REGION":         world.Region,
		"RESULTS_QUEUE_URL":  queueURL("prewarm-results"),
		"FOLLOWUP_QUEUE_URL": queueURL("prewarm-followup"),
		"ALLOWED_FUNCTIONS":  "my-function,checkout-*,orders-worker,broken-function,catalog-api,pricing-api",
		"MAX_CONCURRENCY":    "100",
		"POLICY":             `{"checkout-*":{"default":10,"max":50}}`,
		"WAIT_SECONDS":       "20",
		"CONTROL_PLANE_RPS":  "10",
	}
	cfg, err := config.Load(func(k string) string { return env[k] })
	if err != nil {
		stop()
		return nil, nil, fmt.Errorf("the demo's configuration: %w", err)
	}
	awsCfg := localaws.SDKConfig(url)
	d = &demo{
		out:    &output{w: stdout},
		h:      handler.FromConfig(cfg, awsCfg, slog.New(slog.NewJSONHandler(logOut, nil)), nil),
		sqs:    sqs.NewFromConfig(awsCfg),
		lambda: lambdasvc.NewFromConfig(awsCfg),
		// Reads the state the auto scaling scenario leaves, as prewarm reads it.
		autoScaling: autoscale.New(applicationautoscaling.NewFromConfig(awsCfg)),
		results:     queueURL("prewarm-results"),
		events:      queueURL("prewarm-events"),
		dir:         eventsDir,
		srv:         srv,
		// prewarm learns its own account from the ARN it was invoked by.
		functionARN: fmt.Sprintf("arn:aws:lambda:%s:%s:function:prewarm", world.Region, world.AccountID),
		hookARN:     fmt.Sprintf("arn:aws:lambda:%s:%s:function:%s", world.Region, world.AccountID, hookFunction),
		clock:       clk,
	}
	d.printf("prewarm demo — local AWS emulator at %s (account %s, %s; provisioned concurrency READY %s after a change)\n",
		url, world.AccountID, world.Region, time.Duration(world.ReadyAfter))
	d.printf("ALLOWED_FUNCTIONS=%s  MAX_CONCURRENCY=%s  POLICY=%s\n", env["ALLOWED_FUNCTIONS"], env["MAX_CONCURRENCY"], env["POLICY"])
	return d, stop, nil
}
