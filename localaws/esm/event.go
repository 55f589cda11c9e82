package esm

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"

	awsevents "github.com/aws/aws-lambda-go/events"
	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/sqs/types"
)

// EventSource is the eventSource of every record Lambda delivers from SQS.
const EventSource = "aws:sqs"

// lambdaAttributes are the message system attributes Lambda copies into a
// record's attributes.
var lambdaAttributes = []string{
	"ApproximateReceiveCount", "SentTimestamp", "SenderId", "ApproximateFirstReceiveTimestamp",
	"SequenceNumber", "MessageGroupId", "MessageDeduplicationId", "AWSTraceHeader", "DeadLetterQueueSourceArn",
}

// Event builds the SQS event Lambda would deliver for msgs.
func Event(msgs []types.Message, eventSourceARN, region string) awsevents.SQSEvent {
	ev := awsevents.SQSEvent{Records: make([]awsevents.SQSMessage, 0, len(msgs))}
	for _, msg := range msgs {
		rec := awsevents.SQSMessage{
			MessageId:              aws.ToString(msg.MessageId),
			ReceiptHandle:          aws.ToString(msg.ReceiptHandle),
			Body:                   aws.ToString(msg.Body),
			Md5OfBody:              aws.ToString(msg.MD5OfBody),
			Md5OfMessageAttributes: aws.ToString(msg.MD5OfMessageAttributes),
			Attributes:             map[string]string{},
			MessageAttributes:      map[string]awsevents.SQSMessageAttribute{},
			EventSourceARN:         eventSourceARN,
			EventSource:            EventSource,
			AWSRegion:              region,
		}
		for _, k := range lambdaAttributes {
			if v, ok := msg.Attributes[k]; ok {
				rec.Attributes[k] = v
			}
		}
		for k, v := range msg.MessageAttributes {
			a := awsevents.SQSMessageAttribute{
				StringValue:      v.StringValue,
				BinaryValue:      v.BinaryValue,
				StringListValues: v.StringListValues,
				BinaryListValues: v.BinaryListValues,
				DataType:         aws.ToString(v.DataType),
			}
			// Lambda sends empty lists, not null.
			if a.StringListValues == nil {
				a.StringListValues = []string{}
			}
			if a.BinaryListValues == nil {
				a.BinaryListValues = [][]byte{}
			}
			rec.MessageAttributes[k] = a
		}
		ev.Records = append(ev.Records, rec)
	}
	return ev
}

func marshalEvent(msgs []types.Message, arn, region string) ([]byte, error) {
	return json.Marshal(Event(msgs, arn, region))
}

// ErrInvalidResponse marks a function response that fails the whole batch:
// unparsable, or naming an item that is empty or not in the batch.
var ErrInvalidResponse = errors.New("invalid batch response")

// outcome decides which messages of the batch failed. With
// ReportBatchItemFailures an absent, null or empty batchItemFailures list
// means all succeeded; an invocation error, an unparsable response or an
// itemIdentifier that is empty or not in the batch fails the whole batch.
func (m *Mapping) outcome(msgs []types.Message, resp []byte, invokeErr error) (failed map[string]bool, batchErr error) {
	all := func() map[string]bool {
		f := make(map[string]bool, len(msgs))
		for _, msg := range msgs {
			f[aws.ToString(msg.MessageId)] = true
		}
		return f
	}
	if invokeErr != nil {
		return all(), fmt.Errorf("invoke function: %w", invokeErr)
	}
	if m.cfg.IgnoreBatchItemFailures {
		return nil, nil
	}
	ids, err := ParseBatchItemFailures(resp)
	if err != nil {
		return all(), err
	}
	inBatch := all()
	failed = map[string]bool{}
	for _, id := range ids {
		if !inBatch[id] {
			return all(), fmt.Errorf("%w: itemIdentifier %q is not in the batch", ErrInvalidResponse, id)
		}
		failed[id] = true
	}
	return failed, nil
}

// ParseBatchItemFailures reads a function's SQSEventResponse and returns
// the reported item identifiers. An empty or null response, or an object
// without batchItemFailures, reports none. An unparsable response, or an
// entry whose itemIdentifier is missing or empty, is ErrInvalidResponse.
func ParseBatchItemFailures(resp []byte) ([]string, error) {
	trimmed := bytes.TrimSpace(resp)
	if len(trimmed) == 0 || bytes.Equal(trimmed, []byte("null")) {
		return nil, nil
	}
	var r struct {
		BatchItemFailures []struct {
			ItemIdentifier *string `json:"itemIdentifier"`
		} `json:"batchItemFailures"`
	}
	if err := json.Unmarshal(trimmed, &r); err != nil {
		return nil, fmt.Errorf("%w: %v", ErrInvalidResponse, err)
	}
	ids := make([]string, 0, len(r.BatchItemFailures))
	for _, f := range r.BatchItemFailures {
		if f.ItemIdentifier == nil || *f.ItemIdentifier == "" {
			return nil, fmt.Errorf("%w: empty itemIdentifier", ErrInvalidResponse)
		}
		ids = append(ids, *f.ItemIdentifier)
	}
	return ids, nil
}
