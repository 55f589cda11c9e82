// Command invoke is `sam local invoke` without Docker: it runs the real
// bootstrap under the official AWS Lambda Runtime Interface Emulator,
// pointed at the local AWS emulator, invokes it with an event, and prints
// the response, the function's logs and the result messages it published.
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
	"time"

	"github.com/aws/aws-sdk-go-v2/service/sqs"

	"github.com/prewarm/prewarm/localaws"
	"github.com/prewarm/prewarm/results"
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

func run(ctx context.Context, args []string, getenv func(string) string, stdout io.Writer) error {
	flags := flag.NewFlagSet("invoke", flag.ContinueOnError)
	event := flags.String("event", "", "event file to invoke with (required)")
	bootstrap := flags.String("bootstrap", "bin/host/bootstrap", "bootstrap built for this machine")
	rieBinary := flags.String("rie", "bin/aws-lambda-rie", "the Runtime Interface Emulator")
	endpoint := flags.String("endpoint", "http://127.0.0.1:4566", "local AWS emulator; started in this process when nothing answers there")
	if err := flags.Parse(args); err != nil {
		return err
	}
	if *event == "" {
		return errors.New("-event FILE is required (make invoke EVENT=events/alias-switch.json)")
	}
	payload, err := os.ReadFile(*event)
	if err != nil {
		return err
	}

	url := *endpoint
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
		fmt.Fprintf(stdout, "== local AWS emulator started at %s (built-in world; run `make emulator` to keep one running)\n", url)
	} else {
		fmt.Fprintf(stdout, "== using the local AWS emulator already running at %s\n", url)
	}
	account := localaws.DefaultWorld().AccountID
	resultsURL := url + "/" + account + "/prewarm-results"
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
	fmt.Fprintf(stdout, "== invoking %s with %s\n", *bootstrap, *event)
	invokeCtx, cancel := context.WithTimeout(ctx, 2*time.Minute)
	defer cancel()
	resp, invokeErr := p.Invoke(invokeCtx, payload)
	p.Stop()

	fmt.Fprintln(stdout, "== function logs")
	fmt.Fprint(stdout, p.Logs())
	fmt.Fprintln(stdout, "== response")
	fmt.Fprintln(stdout, indent(resp))
	msgs, err := results.Drain(ctx, sqs.NewFromConfig(localaws.SDKConfig(url)), resultsURL)
	if err != nil {
		return err
	}
	fmt.Fprintf(stdout, "== %d result message(s) on %s\n", len(msgs), resultsURL)
	for _, m := range msgs {
		fmt.Fprintln(stdout, indent([]byte(m)))
	}
	return invokeErr
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
	resp.Body.Close()
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
