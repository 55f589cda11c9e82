// Command floor is the floor binary of prewarm's benchmarks (make bench):
// aws-lambda-go, config.LoadDefaultConfig and exactly the service clients
// prewarm links, doing the least work of an explicit intent — a Get, a Put
// and a SendMessage — built with the same flags as the bootstrap. Cold
// start and size are held to it: what is above it is prewarm's own.
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
	"github.com/aws/aws-sdk-go-v2/service/applicationautoscaling"
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
}

func main() {
	cfg, err := config.LoadDefaultConfig(context.Background())
	if err != nil {
		fmt.Fprintln(os.Stderr, "floor:", err)
		os.Exit(1)
	}
	lc := lambdasvc.NewFromConfig(cfg)
	sc := sqs.NewFromConfig(cfg)
	// Built as prewarm builds them, so that the floor links what it links.
	_ = codedeploy.NewFromConfig(cfg)
	_ = codepipeline.NewFromConfig(cfg)
	_ = cloudwatch.NewFromConfig(cfg)
	_ = applicationautoscaling.NewFromConfig(cfg)
	queue := os.Getenv("RESULTS_QUEUE_URL")
	lambda.Start(func(ctx context.Context, in intent) (string, error) {
		target := &lambdasvc.GetProvisionedConcurrencyConfigInput{FunctionName: aws.String(in.FunctionName), Qualifier: aws.String(in.To)}
		if _, err := lc.GetProvisionedConcurrencyConfig(ctx, target); err != nil {
			// Not found is an answer: the target has no configuration yet.
			var api smithy.APIError
			if !errors.As(err, &api) {
				return "", err
			}
		}
		out, err := lc.PutProvisionedConcurrencyConfig(ctx, &lambdasvc.PutProvisionedConcurrencyConfigInput{
			FunctionName: aws.String(in.FunctionName), Qualifier: aws.String(in.To), ProvisionedConcurrentExecutions: aws.Int32(in.Concurrency),
		})
		if err != nil {
			return "", err
		}
		body, err := json.Marshal(map[string]any{"functionName": in.FunctionName, "qualifier": in.To, "status": out.Status})
		if err != nil {
			return "", err
		}
		if _, err := sc.SendMessage(ctx, &sqs.SendMessageInput{QueueUrl: aws.String(queue), MessageBody: aws.String(string(body))}); err != nil {
			return "", err
		}
		return string(out.Status), nil
	})
}
