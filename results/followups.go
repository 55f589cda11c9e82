package results

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/sqs"
)

// SendMessageAPI is what FollowUps calls (the signature of *sqs.Client).
type SendMessageAPI interface {
	SendMessage(ctx context.Context, params *sqs.SendMessageInput, optFns ...func(*sqs.Options)) (*sqs.SendMessageOutput, error)
}

var _ SendMessageAPI = (*sqs.Client)(nil)

// FollowUps writes prewarm's own continuation messages (tracking that goes
// on past one invocation, the rest of a reconcile pass) to the follow-up
// queue, normally prewarm's input queue.
type FollowUps struct {
	client   SendMessageAPI
	queueURL string
	fifo     bool
}

// NewFollowUps returns a FollowUps writing to queueURL.
func NewFollowUps(client SendMessageAPI, queueURL string) *FollowUps {
	return &FollowUps{client: client, queueURL: queueURL, fifo: IsFIFOQueue(queueURL)}
}

// maxDelay is SQS's longest per-message delay.
const maxDelay = 900 * time.Second

// SendFollowUp writes body to be delivered after delay, in whole seconds up
// to SQS's 900 (a FIFO queue takes no per-message delay: the message is
// delivered at once and the reader waits). On a FIFO queue group keeps one
// target's follow-ups in order and dedup deduplicates a follow-up written
// twice.
func (f *FollowUps) SendFollowUp(ctx context.Context, body []byte, delay time.Duration, group, dedup string) error {
	in := &sqs.SendMessageInput{QueueUrl: aws.String(f.queueURL), MessageBody: aws.String(string(body))}
	if f.fifo {
		sum := sha256.Sum256([]byte(dedup))
		in.MessageGroupId = aws.String(group)
		in.MessageDeduplicationId = aws.String(hex.EncodeToString(sum[:]))
	} else {
		in.DelaySeconds = int32(min(max(delay, 0), maxDelay) / time.Second)
	}
	if _, err := f.client.SendMessage(ctx, in); err != nil {
		return fmt.Errorf("send follow-up to %s: %w", f.queueURL, err)
	}
	return nil
}
