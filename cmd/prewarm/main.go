// Command prewarm is the Lambda bootstrap: it reads its configuration from
// the environment, builds the AWS clients once, and serves invocations.
package main

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"os"

	"github.com/aws/aws-lambda-go/lambda"
	"github.com/aws/aws-lambda-go/lambdacontext"
	"github.com/aws/aws-sdk-go-v2/aws"
	awsconfig "github.com/aws/aws-sdk-go-v2/config"
	lambdasvc "github.com/aws/aws-sdk-go-v2/service/lambda"
	"github.com/aws/aws-sdk-go-v2/service/sqs"

	"github.com/prewarm/prewarm/config"
	"github.com/prewarm/prewarm/handler"
	"github.com/prewarm/prewarm/provision"
	"github.com/prewarm/prewarm/results"
)

func main() {
	log := lambdacontext.NewLogger()
	h, err := build(context.Background(), os.Getenv, os.Stdout, log)
	if err != nil {
		// One clear line naming the variable, then a failed cold start.
		log.Error("prewarm cannot start", "error", err.Error())
		os.Exit(1)
	}
	lambda.StartWithOptions(h.Invoke, lambda.WithEnableSIGTERM(func() {
		log.Info("shutting down")
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
	// prewarm retries control-plane calls itself, under its own rate limit
	// and honouring Retry-After; the SDK's retries would bypass both.
	lambdaClient := lambdasvc.NewFromConfig(awsCfg, func(o *lambdasvc.Options) {
		o.Retryer = aws.NopRetryer{}
	})
	sqsClient := sqs.NewFromConfig(awsCfg)
	deps := handler.Deps{
		Control:   provision.New(lambdaClient, provision.Options{RPS: cfg.ControlPlaneRPS}),
		Publisher: results.NewPublisher(sqsClient, cfg.ResultsQueueURL),
		Log:       log,
		Metrics:   handler.NewMetrics(stdout, "prewarm"),
		Region:    awsCfg.Region,
	}
	if cfg.FollowUpQueueURL != "" {
		deps.FollowUps = sqsClient
	}
	return handler.New(cfg, deps), nil
}
