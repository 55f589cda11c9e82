// Command prewarmctl is prewarm's pipeline command: it sends an intent to the prewarm function
// (lambda:Invoke or the input queue) and waits for the outcome on the results queue by
// correlation id, taking only its own results and handing every other run's back at once.
//
//	go install github.com/prewarm/prewarm/cmd/prewarmctl@latest
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"os/signal"
	"strings"
	"syscall"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/config"
)

// Exit codes, as documented in usage and the README.
const (
	exitReady     = 0  // READY (and released when asked), or another successful end
	exitFailed    = 1  // FAILED
	exitTimedOut  = 2  // TIMED_OUT: prewarm gave up tracking
	exitRejected  = 3  // REJECTED or SUPERSEDED
	exitCannot    = 4  // could not send or wait: the command's own --timeout, a permanent AWS error
	exitUsage     = 64 // usage error (EX_USAGE)
	defaultWait   = 20 * time.Minute
	commandPrefix = "prewarmctl: "
)

const usage = `prewarmctl sends an intent to prewarm and waits for its outcome on the results queue.

Usage:
  prewarmctl send [flags]   send an intent; prints its correlation id
  prewarmctl wait [flags]   wait for the results of --correlation-id
  prewarmctl run  [flags]   send, then wait
  prewarmctl <command> -h   the flags of a command

Where prewarm is: --results-queue-url, --input-queue-url and --prewarm-function, else the
environment (PREWARM_RESULTS_QUEUE_URL, PREWARM_INPUT_QUEUE_URL, PREWARM_FUNCTION_NAME), else
the outputs of the CloudFormation stack named by --stack (ResultsQueueUrl, InputQueueUrl,
FunctionName). AWS credentials, Region and endpoints come from the SDK's usual sources
(AWS_PROFILE, AWS_REGION, AWS_ENDPOINT_URL, AWS_ENDPOINT_URL_SQS, ...).

Waiting takes only the results of its own correlation id from the results queue, hands every
other run's back at once, and ends when each target reached a terminal outcome (and, when a
release was asked, after RELEASED followed READY).

Exit codes:
  0   READY (and RELEASED when a release was asked), or UNCHANGED, DRY_RUN, RELEASED
  1   FAILED
  2   TIMED_OUT (prewarm gave up tracking)
  3   REJECTED or SUPERSEDED
  4   could not send or wait: --timeout passed, or a permanent AWS error (queue does not exist,
      access denied, bad credentials)
  64  usage error
`

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	os.Exit(run(ctx, os.Args[1:], &env{
		getenv: os.Getenv,
		stdout: os.Stdout,
		stderr: os.Stderr,
		loadAWS: func(ctx context.Context) (aws.Config, error) {
			return config.LoadDefaultConfig(ctx)
		},
		now: time.Now,
	}))
}

// env is what a run reads and writes outside its arguments.
type env struct {
	getenv         func(string) string
	stdout, stderr io.Writer
	loadAWS        func(ctx context.Context) (aws.Config, error)
	now            func() time.Time
	// sleep waits between retries; a timer when nil (tests shorten it).
	sleep func(ctx context.Context, d time.Duration) error
}

// run executes one command line and returns the exit code.
func run(ctx context.Context, args []string, e *env) int {
	if len(args) == 0 {
		_, _ = fmt.Fprint(e.stderr, usage)
		return exitUsage
	}
	switch args[0] {
	case "-h", "-help", "--help", "help":
		_, _ = fmt.Fprint(e.stdout, usage)
		return exitReady
	case "send", "wait", "run":
	default:
		_, _ = fmt.Fprintf(e.stderr, "%sunknown command %q\n\n%s", commandPrefix, args[0], usage)
		return exitUsage
	}
	c := &command{name: args[0], env: e}
	flags := c.flags()
	if err := flags.Parse(args[1:]); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return exitReady
		}
		return exitUsage
	}
	if flags.NArg() > 0 {
		_, _ = fmt.Fprintf(e.stderr, "%s%s: unexpected argument %q\n", commandPrefix, c.name, flags.Arg(0))
		flags.Usage()
		return exitUsage
	}
	return c.run(ctx)
}

// usageError is a command line that cannot be run.
type usageError struct{ msg string }

func (e *usageError) Error() string { return e.msg }

func usagef(format string, args ...any) error { return &usageError{fmt.Sprintf(format, args...)} }

// fail reports err and returns its exit code.
func (c *command) fail(err error) int {
	var u *usageError
	if errors.As(err, &u) {
		_, _ = fmt.Fprintf(c.env.stderr, "%s%s: %v (prewarmctl %s -h for help)\n", commandPrefix, c.name, err, c.name)
		return exitUsage
	}
	_, _ = fmt.Fprintf(c.env.stderr, "%s%s: %v\n", commandPrefix, c.name, strings.TrimSpace(err.Error()))
	return exitCannot
}
