package results

import (
	"context"
	"fmt"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/sqs"
)

// DrainAPI is what Drain calls (signatures copied from *sqs.Client).
type DrainAPI interface {
	ReceiveMessage(ctx context.Context, params *sqs.ReceiveMessageInput, optFns ...func(*sqs.Options)) (*sqs.ReceiveMessageOutput, error)
	DeleteMessage(ctx context.Context, params *sqs.DeleteMessageInput, optFns ...func(*sqs.Options)) (*sqs.DeleteMessageOutput, error)
}

var _ DrainAPI = (*sqs.Client)(nil)

// Drain receives and deletes every message visible on queueURL, in the
// order received, and returns their bodies: what a test or the demo does to
// see everything published on a queue it has to itself. On a queue that
// other runs share, read only your own results with results/watch, which
// hands the others back.
func Drain(ctx context.Context, client DrainAPI, queueURL string) ([]string, error) {
	var bodies []string
	for {
		out, err := client.ReceiveMessage(ctx, &sqs.ReceiveMessageInput{QueueUrl: aws.String(queueURL), MaxNumberOfMessages: 10})
		if err != nil {
			return bodies, fmt.Errorf("receive from %s: %w", queueURL, err)
		}
		if len(out.Messages) == 0 {
			return bodies, nil
		}
		for _, m := range out.Messages {
			bodies = append(bodies, aws.ToString(m.Body))
			if _, err := client.DeleteMessage(ctx, &sqs.DeleteMessageInput{QueueUrl: aws.String(queueURL), ReceiptHandle: m.ReceiptHandle}); err != nil {
				return bodies, fmt.Errorf("delete from %s: %w", queueURL, err)
			}
		}
	}
}
