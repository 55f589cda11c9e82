package handler

import (
	"io"
	"log/slog"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/applicationautoscaling"
	"github.com/aws/aws-sdk-go-v2/service/cloudwatch"
	"github.com/aws/aws-sdk-go-v2/service/codedeploy"
	"github.com/aws/aws-sdk-go-v2/service/codepipeline"
	lambdasvc "github.com/aws/aws-sdk-go-v2/service/lambda"
	"github.com/aws/aws-sdk-go-v2/service/sqs"

	"github.com/prewarm/prewarm/autoscale"
	"github.com/prewarm/prewarm/config"
	"github.com/prewarm/prewarm/demand"
	"github.com/prewarm/prewarm/provision"
	"github.com/prewarm/prewarm/results"
)

// FromConfig wires a Handler to real AWS clients built from awsCfg (which
// AWS_ENDPOINT_URL may point at the local emulator). Metrics go to
// metricsOut as Embedded Metric Format lines, nothing when it is nil.
func FromConfig(cfg config.Config, awsCfg aws.Config, log *slog.Logger, metricsOut io.Writer) *Handler {
	// prewarm retries control-plane calls itself, under its own rate limit
	// and honouring Retry-After; the SDK's retries would bypass both.
	lambdaClient := lambdasvc.NewFromConfig(awsCfg, func(o *lambdasvc.Options) {
		o.Retryer = aws.NopRetryer{}
	})
	sqsClient := sqs.NewFromConfig(awsCfg)
	deps := Deps{
		Control:      provision.New(lambdaClient, provision.Options{RPS: cfg.ControlPlaneRPS}),
		Publisher:    results.NewPublisher(sqsClient, cfg.ResultsQueueURL),
		CodeDeploy:   codedeploy.NewFromConfig(awsCfg),
		CodePipeline: codepipeline.NewFromConfig(awsCfg),
		Demand:       demand.New(cloudwatch.NewFromConfig(awsCfg)),
		AutoScaling:  autoscale.New(applicationautoscaling.NewFromConfig(awsCfg)),
		Log:          log,
	}
	if metricsOut != nil {
		deps.Metrics = NewMetrics(metricsOut, "prewarm")
	}
	if cfg.FollowUpQueueURL != "" {
		deps.FollowUps = results.NewFollowUps(sqsClient, cfg.FollowUpQueueURL)
	}
	return New(cfg, deps)
}
