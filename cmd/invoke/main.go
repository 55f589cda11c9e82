// Command invoke is `sam local invoke` without Docker: it runs the real
// bootstrap under the official AWS Lambda Runtime Interface Emulator,
// pointed at the local AWS emulator, invokes it with an event, and prints
// the response, the function's logs, the result messages it published and,
// for a CodePipeline job, the job's result.
package main

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"net/http"
	"os"
	"os/signal"
	"path"
	"slices"
	"strings"
	"time"

	awsevents "github.com/aws/aws-lambda-go/events"
	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/sqs"
	"github.com/aws/aws-sdk-go-v2/service/sqs/types"

	"github.com/prewarm/prewarm/localaws"
	"github.com/prewarm/prewarm/localaws/codepipelinesim"
	"github.com/prewarm/prewarm/results/watch"
	"github.com/prewarm/prewarm/rie"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt)
	defer stop()
	if err := run(ctx, os.Args[1:], os.Getenv, os.Stdout); err != nil {
		fmt.Fprintln(os.Stderr, "invoke:", err)
		os.Exit(1)
	}
}

// functionEnv is the function's configuration; each can be overridden from
// the caller's environment.
//
// The Runtime Interface Emulator runs every function as account
// 012345678912, not the emulated account 123456789012: the ARN entry lets
// the CloudTrail sample, which names its account, through the allowlist.
var functionEnv = map[string]string{
	"ALLOWED_FUNCTIONS":     "my-function,checkout-*,orders-worker,broken-function,arn:aws:lambda:us-east-1:123456789012:function:checkout-*",
	"MAX_CONCURRENCY":       "100",
	"POLICY":                `{"checkout-*":{"default":10,"max":50}}`,
	"WAIT_SECONDS":          "20",
	"TRACK_TIMEOUT":         "15m",
	"CONTROL_PLANE_RPS":     "10",
	"DRY_RUN":               "false",
	"AWS_LAMBDA_LOG_FORMAT": "JSON",
}

const usage = `Usage: go run ./cmd/invoke -event FILE [flags]   (make invoke EVENT=events/alias-switch.json)

Runs the bootstrap under the AWS Lambda Runtime Interface Emulator against the local AWS
emulator (started in this process when none answers at -endpoint), invokes it with the event,
and prints the function's logs, its response and the result messages of this invocation,
which it takes from the results queue; other runs' results are handed back untouched. For a
CodePipeline job event it then prints the job's result as the emulator recorded it (the
built-in world holds the job of events/codepipeline-job.json in progress).

The function's configuration can be overridden from the environment: ALLOWED_FUNCTIONS,
MAX_CONCURRENCY, POLICY, WAIT_SECONDS, TRACK_TIMEOUT, CONTROL_PLANE_RPS, DRY_RUN,
AWS_LAMBDA_LOG_FORMAT, and RESULTS_QUEUE_URL (a queue of the emulator's world, for example
.../123456789012/prewarm-results.fifo).

Flags:
`

func run(ctx context.Context, args []string, getenv func(string) string, stdout io.Writer) error {
	flags := flag.NewFlagSet("invoke", flag.ContinueOnError)
	flags.SetOutput(io.Discard)
	event := flags.String("event", "", "event file to invoke with (required)")
	bootstrap := flags.String("bootstrap", "bin/host/bootstrap", "bootstrap built for this machine")
	rieBinary := flags.String("rie", "bin/aws-lambda-rie", "the Runtime Interface Emulator")
	endpoint := flags.String("endpoint", "http://127.0.0.1:4566", "local AWS emulator; started in this process when nothing answers there")
	printUsage := func(w io.Writer) {
		_, _ = fmt.Fprint(w, usage)
		flags.SetOutput(w)
		flags.PrintDefaults()
		flags.SetOutput(io.Discard)
	}
	if err := flags.Parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			printUsage(stdout)
			return nil
		}
		return fmt.Errorf("%w (go run ./cmd/invoke -h for help)", err)
	}
	if *event == "" {
		return errors.New("-event FILE is required (make invoke EVENT=events/alias-switch.json)")
	}
	payload, err := readEvent(*event)
	if err != nil {
		return err
	}

	url := *endpoint
	// The CodePipeline jobs of an emulator started here; one already running keeps its own.
	var jobs *codepipelinesim.Service
	if !healthy(ctx, url) {
		srv, err := localaws.New(localaws.DefaultWorld(), localaws.Options{})
		if err != nil {
			return err
		}
		var stopServer func()
		url, stopServer, err = srv.Listen("127.0.0.1:0")
		if err != nil {
			return err
		}
		defer stopServer()
		jobs = srv.CodePipeline()
		_, _ = fmt.Fprintf(stdout, "== local AWS emulator started at %s (built-in world; run `make emulator` to keep one running)\n", url)
	} else {
		_, _ = fmt.Fprintf(stdout, "== using the local AWS emulator already running at %s\n", url)
	}
	sqsClient := sqs.NewFromConfig(localaws.SDKConfig(url))
	account := localaws.DefaultWorld().AccountID
	resultsURL, err := resultsQueue(ctx, sqsClient, getenv("RESULTS_QUEUE_URL"), url+"/"+account+"/prewarm-results")
	if err != nil {
		return err
	}
	env := []string{
		"PATH=" + getenv("PATH"),
		"AWS_ENDPOINT_URL=" + url,
		"AWS_REGION=us-east-1",
		"AWS_ACCESS_KEY_ID=test",
		"AWS_SECRET_ACCESS_KEY=test",
		"RESULTS_QUEUE_URL=" + resultsURL,
		"FOLLOWUP_QUEUE_URL=" + url + "/" + account + "/prewarm-followup",
	}
	for name, value := range functionEnv {
		if v := getenv(name); v != "" {
			value = v
		}
		env = append(env, name+"="+value)
	}

	p, err := rie.Start(ctx, *rieBinary, *bootstrap, env)
	if err != nil {
		return err
	}
	defer p.Stop()
	_, _ = fmt.Fprintf(stdout, "== invoking %s with %s\n", *bootstrap, *event)
	invokeCtx, cancel := context.WithTimeout(ctx, 2*time.Minute)
	defer cancel()
	resp, invokeErr := p.Invoke(invokeCtx, payload)
	p.Stop()
	logs := p.Logs()

	_, _ = fmt.Fprintln(stdout, "== function logs")
	_, _ = fmt.Fprint(stdout, logs)
	_, _ = fmt.Fprintln(stdout, "== response")
	_, _ = fmt.Fprintln(stdout, indent(resp))
	if invokeErr != nil && len(bytes.TrimSpace(resp)) == 0 {
		if initErr := initError(logs); initErr != "" {
			// The Runtime Interface Emulator answers 502 with an empty body; the reason is in
			// the function's own log lines.
			invokeErr = fmt.Errorf("the function failed its cold start: %s", initErr)
		}
	}

	// Take only this invocation's results: other runs share the queue.
	ids := invocationIDs(payload, resp, logs)
	if len(ids) == 0 {
		_, _ = fmt.Fprintf(stdout, "== no id of this invocation is known; results left on %s\n", resultsURL)
		return invokeErr
	}
	reader := watch.New(sqsClient, watch.Options{QueueURL: resultsURL, Match: watch.Match{IDs: ids}})
	msgs, err := reader.Collect(ctx)
	if err != nil {
		return err
	}
	_, _ = fmt.Fprintf(stdout, "== %d result message(s) of this invocation on %s\n", len(msgs), resultsURL)
	for _, m := range msgs {
		_, _ = fmt.Fprintln(stdout, indent([]byte(m.Body)))
	}
	if job := pipelineJobID(payload); job != "" {
		reportJob(stdout, jobs, job, url)
	}
	return invokeErr
}

// pipelineJobID is the job id of a CodePipeline.job event, "" for any other event.
func pipelineJobID(payload []byte) string {
	var ev awsevents.CodePipelineJobEvent
	if json.Unmarshal(payload, &ev) != nil {
		return ""
	}
	return ev.CodePipelineJob.ID
}

// reportJob prints the result job id received, as the emulator recorded it. jobs is the
// CodePipeline of the emulator started in this process, nil for one already running at url,
// whose results are not readable over its API.
func reportJob(w io.Writer, jobs *codepipelinesim.Service, id, url string) {
	if jobs == nil {
		_, _ = fmt.Fprintf(w, "== CodePipeline job %s: its result is recorded by the emulator at %s; a job takes one result (POST %s%s seeds the world's jobs again)\n", id, url, url, localaws.ResetPath)
		return
	}
	status, r, ok := jobs.Status(id)
	switch {
	case !ok:
		_, _ = fmt.Fprintf(w, "== CodePipeline job %s: not in the emulator's world, so its result was refused with JobNotFoundException; seed it under codePipeline.jobs in a world file (LOCALAWS_WORLD=FILE make emulator)\n", id)
	case r == nil:
		_, _ = fmt.Fprintf(w, "== CodePipeline job %s: %s, no result recorded\n", id, status)
	default:
		_, _ = fmt.Fprintf(w, "== CodePipeline job %s: %s\n", id, status)
		b, err := json.Marshal(r)
		if err != nil {
			b = []byte(err.Error())
		}
		_, _ = fmt.Fprintln(w, indent(b))
	}
}

// readEvent reads the event file, refusing one that is not JSON with the file and the
// position of the error, as an editor shows them.
func readEvent(name string) ([]byte, error) {
	payload, err := os.ReadFile(name)
	if err != nil {
		return nil, fmt.Errorf("read event: %w", err)
	}
	var v any
	if err := json.Unmarshal(payload, &v); err != nil {
		var syntax *json.SyntaxError
		if errors.As(err, &syntax) {
			line, col := position(payload, syntax.Offset)
			return nil, fmt.Errorf("%s:%d:%d: the event is not valid JSON: %v", name, line, col, err)
		}
		return nil, fmt.Errorf("%s: the event is not valid JSON: %w", name, err)
	}
	return payload, nil
}

// position is the 1-based line and column (in bytes) of the byte encoding/json's
// SyntaxError.Offset points at: the offending byte, or just past the end of a truncated
// document.
func position(b []byte, offset int64) (line, col int) {
	offset = min(max(offset, 0), int64(len(b)))
	before := b[:offset]
	line = bytes.Count(before, []byte("\n")) + 1
	col = len(before) - bytes.LastIndexByte(before, '\n')
	if offset > 0 && offset < int64(len(b)) {
		col-- // Offset counts the offending byte itself; at the end it points past the last
	}
	return line, max(col, 1)
}

// resultsQueue is the results queue of the invocation: RESULTS_QUEUE_URL when set, which must
// name a queue of the emulator, else def.
func resultsQueue(ctx context.Context, client *sqs.Client, fromEnv, def string) (string, error) {
	if fromEnv == "" {
		return def, nil
	}
	name := path.Base(fromEnv)
	out, err := client.GetQueueUrl(ctx, &sqs.GetQueueUrlInput{QueueName: aws.String(name)})
	if err != nil {
		var missing *types.QueueDoesNotExist
		if !errors.As(err, &missing) {
			return "", fmt.Errorf("RESULTS_QUEUE_URL=%s: look up queue %q: %w", fromEnv, name, err)
		}
		have := "none"
		if list, err := client.ListQueues(ctx, &sqs.ListQueuesInput{}); err == nil {
			var names []string
			for _, u := range list.QueueUrls {
				names = append(names, path.Base(u))
			}
			have = strings.Join(names, ", ")
		}
		return "", fmt.Errorf("RESULTS_QUEUE_URL=%s: the local emulator has no queue %q (it has %s); name one of those, or add the queue to the world file of `make emulator`", fromEnv, name, have)
	}
	return aws.ToString(out.QueueUrl), nil
}

// initError is the function's own explanation of a failed cold start, from the bootstrap's
// log lines: the Runtime Interface Emulator answers such an invocation 502 with an empty body.
func initError(logs string) string {
	var found []string
	for line := range strings.Lines(logs) {
		var entry struct {
			Level   string `json:"level"`
			Message string `json:"message"`
			Error   string `json:"error"`
		}
		line = strings.TrimSpace(line)
		if json.Unmarshal([]byte(line), &entry) != nil {
			// A text-format log line of the bootstrap.
			if strings.Contains(line, "level=ERROR") {
				found = append(found, line)
			}
			continue
		}
		if strings.EqualFold(entry.Level, "ERROR") {
			msg := entry.Message
			if entry.Error != "" {
				msg += ": " + entry.Error
			}
			found = append(found, msg)
		}
	}
	if len(found) > 0 {
		return strings.Join(found, "; ")
	}
	for line := range strings.Lines(logs) {
		if _, after, ok := strings.Cut(line, "(rapid) Init failed error="); ok {
			return strings.TrimSpace(after)
		}
	}
	return ""
}

// invocationIDs are the ids the invocation's results carry: the ids in the event (an
// EventBridge id, SQS message ids, an intent's own id, and those inside SQS record bodies),
// the results of a direct invocation's response, and the request id the Runtime Interface
// Emulator gave the invocation (the default id of a bare intent).
func invocationIDs(payload, resp []byte, logs string) []string {
	var ids []string
	add := func(id string) {
		if id != "" && !slices.Contains(ids, id) {
			ids = append(ids, id)
		}
	}
	var walk func(v any)
	walk = func(v any) {
		switch v := v.(type) {
		case map[string]any:
			for k, x := range v {
				switch s, _ := x.(string); k {
				case "id", "messageId", "DeploymentId", "LifecycleEventHookExecutionId":
					add(s)
				case "body":
					var inner any
					if json.Unmarshal([]byte(s), &inner) == nil {
						walk(inner)
					}
				}
				walk(x)
			}
		case []any:
			for _, x := range v {
				walk(x)
			}
		}
	}
	var event any
	if json.Unmarshal(payload, &event) == nil {
		walk(event)
	}
	var direct struct {
		Results []struct {
			ID string `json:"id"`
		} `json:"results"`
	}
	if json.Unmarshal(resp, &direct) == nil {
		for _, r := range direct.Results {
			add(r.ID)
		}
	}
	for line := range strings.Lines(logs) {
		if _, after, ok := strings.Cut(line, "START RequestId: "); ok {
			add(strings.Fields(after + " ")[0])
		}
	}
	return ids
}

func healthy(ctx context.Context, url string) bool {
	ctx, cancel := context.WithTimeout(ctx, 500*time.Millisecond)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, url+localaws.HealthPath, nil)
	if err != nil {
		return false
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return false
	}
	_ = resp.Body.Close()
	return resp.StatusCode == http.StatusOK
}

// indent pretty-prints JSON, keeping its field order.
func indent(b []byte) string {
	var out bytes.Buffer
	if err := json.Indent(&out, b, "", "  "); err != nil {
		return string(b)
	}
	return out.String()
}
