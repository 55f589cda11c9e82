// Command floorops is the floor binary (bench/floor) that also links every
// AWS operation prewarm calls: the same Get, Put and SendMessage, and, on
// an event no benchmark sends, one call of each other operation. make bench
// weighs prewarm against it for information: what prewarm adds above it is
// its own code, not the SDK's operation models. The operation set is
// checked against prewarm's by make bench (sizeRows).
package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"os"

	"github.com/aws/aws-lambda-go/lambda"
	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/config"
	aas "github.com/aws/aws-sdk-go-v2/service/applicationautoscaling"
	"github.com/aws/aws-sdk-go-v2/service/cloudwatch"
	"github.com/aws/aws-sdk-go-v2/service/codedeploy"
	"github.com/aws/aws-sdk-go-v2/service/codepipeline"
	lambdasvc "github.com/aws/aws-sdk-go-v2/service/lambda"
	"github.com/aws/aws-sdk-go-v2/service/sqs"
	"github.com/aws/smithy-go"
)

type intent struct {
	FunctionName string `json:"functionName"`
	To           string `json:"to"`
	Concurrency  int32  `json:"concurrency"`
	// Every makes the invocation call every other operation once.
	Every bool `json:"every"`
}

type clients struct {
	lambda   *lambdasvc.Client
	sqs      *sqs.Client
	deploy   *codedeploy.Client
	pipeline *codepipeline.Client
	metrics  *cloudwatch.Client
	scaling  *aas.Client
}

func main() {
	cfg, err := config.LoadDefaultConfig(context.Background())
	if err != nil {
		fmt.Fprintln(os.Stderr, "floorops:", err)
		os.Exit(1)
	}
	c := clients{
		lambda: lambdasvc.NewFromConfig(cfg), sqs: sqs.NewFromConfig(cfg),
		deploy: codedeploy.NewFromConfig(cfg), pipeline: codepipeline.NewFromConfig(cfg),
		metrics: cloudwatch.NewFromConfig(cfg), scaling: aas.NewFromConfig(cfg),
	}
	queue := os.Getenv("RESULTS_QUEUE_URL")
	lambda.Start(func(ctx context.Context, in intent) (string, error) {
		if in.Every {
			return "", c.every(ctx)
		}
		target := &lambdasvc.GetProvisionedConcurrencyConfigInput{FunctionName: aws.String(in.FunctionName), Qualifier: aws.String(in.To)}
		if _, err := c.lambda.GetProvisionedConcurrencyConfig(ctx, target); err != nil {
			var api smithy.APIError
			if !errors.As(err, &api) {
				return "", err
			}
		}
		out, err := c.lambda.PutProvisionedConcurrencyConfig(ctx, &lambdasvc.PutProvisionedConcurrencyConfigInput{
			FunctionName: aws.String(in.FunctionName), Qualifier: aws.String(in.To), ProvisionedConcurrentExecutions: aws.Int32(in.Concurrency),
		})
		if err != nil {
			return "", err
		}
		body, err := json.Marshal(map[string]any{"functionName": in.FunctionName, "qualifier": in.To, "status": out.Status})
		if err != nil {
			return "", err
		}
		if _, err := c.sqs.SendMessage(ctx, &sqs.SendMessageInput{QueueUrl: aws.String(queue), MessageBody: aws.String(string(body))}); err != nil {
			return "", err
		}
		return string(out.Status), nil
	})
}

// every calls each operation prewarm calls beyond the floor's three, with
// empty input: only what it links matters.
func (c clients) every(ctx context.Context) error {
	calls := []func() error{
		func() error {
			_, err := c.lambda.GetAccountSettings(ctx, &lambdasvc.GetAccountSettingsInput{})
			return err
		},
		func() error { _, err := c.lambda.GetAlias(ctx, &lambdasvc.GetAliasInput{}); return err },
		func() error { _, err := c.lambda.UpdateAlias(ctx, &lambdasvc.UpdateAliasInput{}); return err },
		func() error {
			_, err := c.lambda.GetFunctionConcurrency(ctx, &lambdasvc.GetFunctionConcurrencyInput{})
			return err
		},
		func() error { _, err := c.lambda.ListFunctions(ctx, &lambdasvc.ListFunctionsInput{}); return err },
		func() error {
			_, err := c.lambda.ListProvisionedConcurrencyConfigs(ctx, &lambdasvc.ListProvisionedConcurrencyConfigsInput{})
			return err
		},
		func() error {
			_, err := c.lambda.DeleteProvisionedConcurrencyConfig(ctx, &lambdasvc.DeleteProvisionedConcurrencyConfigInput{})
			return err
		},
		func() error { _, err := c.sqs.SendMessageBatch(ctx, &sqs.SendMessageBatchInput{}); return err },
		func() error {
			_, err := c.deploy.ListDeploymentTargets(ctx, &codedeploy.ListDeploymentTargetsInput{})
			return err
		},
		func() error {
			_, err := c.deploy.GetDeploymentTarget(ctx, &codedeploy.GetDeploymentTargetInput{})
			return err
		},
		func() error {
			_, err := c.deploy.PutLifecycleEventHookExecutionStatus(ctx, &codedeploy.PutLifecycleEventHookExecutionStatusInput{})
			return err
		},
		func() error {
			_, err := c.pipeline.PutJobSuccessResult(ctx, &codepipeline.PutJobSuccessResultInput{})
			return err
		},
		func() error {
			_, err := c.pipeline.PutJobFailureResult(ctx, &codepipeline.PutJobFailureResultInput{})
			return err
		},
		func() error { _, err := c.metrics.GetMetricData(ctx, &cloudwatch.GetMetricDataInput{}); return err },
		func() error {
			_, err := c.scaling.DescribeScalableTargets(ctx, &aas.DescribeScalableTargetsInput{})
			return err
		},
		func() error {
			_, err := c.scaling.RegisterScalableTarget(ctx, &aas.RegisterScalableTargetInput{})
			return err
		},
		func() error {
			_, err := c.scaling.DeregisterScalableTarget(ctx, &aas.DeregisterScalableTargetInput{})
			return err
		},
		func() error {
			_, err := c.scaling.DescribeScalingPolicies(ctx, &aas.DescribeScalingPoliciesInput{})
			return err
		},
		func() error { _, err := c.scaling.PutScalingPolicy(ctx, &aas.PutScalingPolicyInput{}); return err },
		func() error {
			_, err := c.scaling.DescribeScheduledActions(ctx, &aas.DescribeScheduledActionsInput{})
			return err
		},
		func() error {
			_, err := c.scaling.PutScheduledAction(ctx, &aas.PutScheduledActionInput{})
			return err
		},
	}
	var errs []error
	for _, call := range calls {
		errs = append(errs, call())
	}
	return errors.Join(errs...)
}
