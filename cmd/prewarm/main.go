// Command prewarm is the Lambda bootstrap: it reads its configuration from
// the environment, builds the AWS clients once, and serves invocations.
package main

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"os"
	"runtime/debug"

	"github.com/aws/aws-lambda-go/lambda"
	"github.com/aws/aws-lambda-go/lambdacontext"
	awsconfig "github.com/aws/aws-sdk-go-v2/config"

	"github.com/prewarm/prewarm/config"
	"github.com/prewarm/prewarm/handler"
)

func main() {
	gc := holdFirstCollection(os.Getenv, debug.SetGCPercent, releaseAfterFirstCollection)
	log := lambdacontext.NewLogger()
	h, err := build(context.Background(), os.Getenv, os.Stdout, log)
	if err != nil {
		// One clear line naming the variable, then a failed cold start.
		log.Error("prewarm cannot start", "error", err.Error())
		os.Exit(1)
	}
	invoke := func(ctx context.Context, payload json.RawMessage) (any, error) {
		gc.invoked()
		return h.Invoke(ctx, payload)
	}
	// Lambda sends SIGTERM only between invocations, when every result of
	// the last one has been published: there is nothing left to flush, so
	// exit at once instead of waiting to be killed.
	lambda.StartWithOptions(invoke, lambda.WithEnableSIGTERM(func() {
		log.Info("shutting down")
		os.Exit(0)
	}))
}

// build reads the configuration and wires the handler.
func build(ctx context.Context, getenv func(string) string, stdout io.Writer, log *slog.Logger) (*handler.Handler, error) {
	cfg, err := config.Load(getenv)
	if err != nil {
		return nil, err
	}
	awsCfg, err := awsconfig.LoadDefaultConfig(ctx)
	if err != nil {
		return nil, fmt.Errorf("load AWS configuration: %w", err)
	}
	return handler.FromConfig(cfg, awsCfg, log, stdout), nil
}
