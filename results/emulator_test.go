package results

import (
	"context"
	"encoding/json"
	"net/http/httptest"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/sqs"
	sqstypes "github.com/aws/aws-sdk-go-v2/service/sqs/types"
	"github.com/google/go-cmp/cmp"

	"github.com/prewarm/prewarm/localaws/sqssim"
)

// receiveAll reads and deletes every message visible on queueURL.
func receiveAll(t *testing.T, client *sqs.Client, queueURL string) []sqstypes.Message {
	t.Helper()
	ctx := context.Background()
	var all []sqstypes.Message
	for {
		out, err := client.ReceiveMessage(ctx, &sqs.ReceiveMessageInput{
			QueueUrl:              aws.String(queueURL),
			MaxNumberOfMessages:   10,
			MessageAttributeNames: []string{"All"},
		})
		if err != nil {
			t.Fatalf("ReceiveMessage %s: %v", queueURL, err)
		}
		if len(out.Messages) == 0 {
			return all
		}
		for _, m := range out.Messages {
			if _, err := client.DeleteMessage(ctx, &sqs.DeleteMessageInput{QueueUrl: aws.String(queueURL), ReceiptHandle: m.ReceiptHandle}); err != nil {
				t.Fatalf("DeleteMessage %s: %v", queueURL, err)
			}
		}
		all = append(all, out.Messages...)
	}
}

// TestPublishThroughEmulator publishes with the real SQS client to prewarm's own SQS emulator and
// reads the results back as a pipeline would.
func TestPublishThroughEmulator(t *testing.T) {
	srv := httptest.NewServer(sqssim.New(sqssim.Config{
		AccountID: "123456789012", Region: "us-east-1",
		Queues: []sqssim.Queue{{Name: "prewarm-results"}, {Name: "prewarm-results.fifo", FIFO: true}},
	}))
	defer srv.Close()
	client := newWireClient(srv.URL)

	msgs := testMessages(12)
	ready := msgs[0]
	ready.Outcome = OutcomeReady
	ready.Response = &Response{RequestedProvisionedConcurrentExecutions: 1, AvailableProvisionedConcurrentExecutions: 1,
		AllocatedProvisionedConcurrentExecutions: 1, Status: StatusReady, LastModified: "2026-03-14T09:28:11+0000"}
	msgs = append(msgs, ready, Message{SchemaVersion: SchemaVersion, ID: "unreadable", Trigger: TriggerDirect, Outcome: OutcomeRejected, Reason: "intent: invalid JSON", Time: testTime})

	for _, tt := range []struct {
		queue string
		// sends is how often the batch is published: a FIFO queue drops the repeats.
		sends int
		want  []Message
	}{
		{queue: "prewarm-results", sends: 1, want: msgs},
		{queue: "prewarm-results.fifo", sends: 2, want: msgs},
	} {
		t.Run(tt.queue, func(t *testing.T) {
			queueURL := srv.URL + "/123456789012/" + tt.queue
			p := NewPublisher(client, queueURL, WithSleep((&noSleep{}).sleep))
			for range tt.sends {
				wantNoErrors(t, p.Publish(context.Background(), msgs), len(msgs))
			}

			received := receiveAll(t, client, queueURL)

			var got []Message
			for _, r := range received {
				var m Message
				if err := json.Unmarshal([]byte(aws.ToString(r.Body)), &m); err != nil {
					t.Fatalf("body %q: %v", aws.ToString(r.Body), err)
				}
				got = append(got, m)
				wantAttrs := map[string]string{"outcome": string(m.Outcome)}
				for name, v := range map[string]string{"status": m.Status(), "functionName": m.FunctionName, "qualifier": m.Qualifier} {
					if v != "" {
						wantAttrs[name] = v
					}
				}
				gotAttrs := map[string]string{}
				for name, v := range r.MessageAttributes {
					gotAttrs[name] = aws.ToString(v.StringValue)
				}
				if diff := cmp.Diff(wantAttrs, gotAttrs); diff != "" {
					t.Errorf("attributes of %s %s (-want +got):\n%s", m.ID, m.Outcome, diff)
				}
			}
			// A standard queue does not promise order: compare keyed by id and outcome.
			sortMessages := cmp.Transformer("byKey", func(ms []Message) map[string]Message {
				byKey := map[string]Message{}
				for _, m := range ms {
					byKey[m.ID+"/"+string(m.Outcome)] = m
				}
				return byKey
			})
			if len(got) != len(tt.want) {
				t.Errorf("received %d messages, want %d", len(got), len(tt.want))
			}
			if diff := cmp.Diff(tt.want, got, sortMessages); diff != "" {
				t.Errorf("messages received (-want +got):\n%s", diff)
			}
		})
	}
}
