// Package esm provides Lambda's SQS event source mapping for local runs: it
// polls a queue with the aws-sdk-go-v2 sqs client, hands each batch to a
// function as an SQS event exactly as Lambda builds it, deletes what
// succeeded and, with ReportBatchItemFailures, leaves the reported failures
// to reappear after the visibility timeout. Moving a message that keeps
// failing to the dead-letter queue is left to the queue's redrive policy,
// as on AWS.
package esm

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/aws-sdk-go-v2/service/sqs"
	"github.com/aws/aws-sdk-go-v2/service/sqs/types"

	"github.com/prewarm/prewarm/localaws/clock"
)

// SQSAPI is the part of *sqs.Client a mapping uses.
type SQSAPI interface {
	GetQueueAttributes(ctx context.Context, params *sqs.GetQueueAttributesInput, optFns ...func(*sqs.Options)) (*sqs.GetQueueAttributesOutput, error)
	ReceiveMessage(ctx context.Context, params *sqs.ReceiveMessageInput, optFns ...func(*sqs.Options)) (*sqs.ReceiveMessageOutput, error)
	DeleteMessageBatch(ctx context.Context, params *sqs.DeleteMessageBatchInput, optFns ...func(*sqs.Options)) (*sqs.DeleteMessageBatchOutput, error)
}

var _ SQSAPI = (*sqs.Client)(nil)

// Config configures a Mapping.
type Config struct {
	// Client polls the queue. When nil, a client for Endpoint with static
	// test credentials is built.
	Client   SQSAPI
	Endpoint string // e.g. http://127.0.0.1:4566; used only when Client is nil
	Region   string // us-east-1 when empty; the queue ARN's region wins

	QueueURL string  // required
	Invoker  Invoker // required: the function

	// BatchSize is the most messages per invocation, 1 to 10 (default 10).
	BatchSize int
	// MaximumBatchingWindow is how long to keep receiving to fill a batch
	// once the first message arrived (default 0: one receive per batch).
	MaximumBatchingWindow time.Duration
	// WaitTimeSeconds is the long-poll wait of each ReceiveMessage: 0 means
	// Lambda's 20, a negative value short polling (for stepping tests).
	WaitTimeSeconds int
	// Concurrency is the number of pollers Run starts (default 1). FIFO
	// order holds with any number, because the queue delivers nothing of a
	// message group while one of its messages is in flight.
	Concurrency int
	// IgnoreBatchItemFailures behaves like a mapping without
	// FunctionResponseTypes [ReportBatchItemFailures]: any successful
	// invocation deletes the whole batch.
	IgnoreBatchItemFailures bool

	Clock   clock.Clock  // clock.Real{} when nil; batching window and idle pauses
	OnBatch func(Batch)  // called after each invoked batch
	Logger  *slog.Logger // discards when nil
}

// Batch reports one invocation.
type Batch struct {
	MessageIDs []string // in event order
	Deleted    []string
	Failed     []string // left on the queue to reappear
	Err        error    // why the whole batch failed; nil otherwise
}

// Stats counts a mapping's work.
type Stats struct {
	Batches     int // invocations, one per received batch
	Received    int // messages handed to the function
	Deleted     int
	Failed      int // messages left to reappear
	BatchErrors int // batches failed as a whole
}

func (s *Stats) add(o Stats) {
	s.Batches += o.Batches
	s.Received += o.Received
	s.Deleted += o.Deleted
	s.Failed += o.Failed
	s.BatchErrors += o.BatchErrors
}

// Mapping is one queue → function event source mapping.
type Mapping struct {
	cfg    Config
	client SQSAPI
	clock  clock.Clock
	log    *slog.Logger

	mu       sync.Mutex
	stats    Stats
	resolved bool
	arn      string
	region   string
}

const (
	maxBatchSize    = 10
	lambdaWait      = 20
	idlePause       = 100 * time.Millisecond
	maxErrorBackoff = 5 * time.Second
)

// New checks cfg and returns a mapping; nothing is contacted until Poll,
// Run or Drain.
func New(cfg Config) (*Mapping, error) {
	if cfg.QueueURL == "" {
		return nil, errors.New("new event source mapping: QueueURL is required")
	}
	if cfg.Invoker == nil {
		return nil, fmt.Errorf("new event source mapping for %s: Invoker is required", cfg.QueueURL)
	}
	if cfg.BatchSize == 0 {
		cfg.BatchSize = maxBatchSize
	}
	if cfg.BatchSize < 1 || cfg.BatchSize > maxBatchSize {
		return nil, fmt.Errorf("new event source mapping for %s: BatchSize %d not in 1..%d", cfg.QueueURL, cfg.BatchSize, maxBatchSize)
	}
	if cfg.MaximumBatchingWindow < 0 || cfg.MaximumBatchingWindow > 300*time.Second {
		return nil, fmt.Errorf("new event source mapping for %s: MaximumBatchingWindow %v not in 0..300s", cfg.QueueURL, cfg.MaximumBatchingWindow)
	}
	if cfg.WaitTimeSeconds > 20 {
		return nil, fmt.Errorf("new event source mapping for %s: WaitTimeSeconds %d above 20", cfg.QueueURL, cfg.WaitTimeSeconds)
	}
	if cfg.Concurrency <= 0 {
		cfg.Concurrency = 1
	}
	if cfg.Region == "" {
		cfg.Region = "us-east-1"
	}
	m := &Mapping{cfg: cfg, client: cfg.Client, clock: cfg.Clock, log: cfg.Logger, region: cfg.Region}
	if m.client == nil {
		if cfg.Endpoint == "" {
			return nil, fmt.Errorf("new event source mapping for %s: Client or Endpoint is required", cfg.QueueURL)
		}
		m.client = NewClient(cfg.Endpoint, cfg.Region)
	}
	if m.clock == nil {
		m.clock = clock.Real{}
	}
	if m.log == nil {
		m.log = slog.New(slog.DiscardHandler)
	}
	return m, nil
}

// NewClient returns an sqs client for a local endpoint, with static
// credentials (the emulator accepts any).
func NewClient(endpoint, region string) *sqs.Client {
	cfg := aws.Config{
		Region:      region,
		Credentials: credentials.NewStaticCredentialsProvider("local", "local", ""),
	}
	return sqs.NewFromConfig(cfg, func(o *sqs.Options) { o.BaseEndpoint = aws.String(endpoint) })
}

// Stats returns the counts since New.
func (m *Mapping) Stats() Stats {
	m.mu.Lock()
	defer m.mu.Unlock()
	return m.stats
}

func (m *Mapping) waitSeconds() int32 {
	switch {
	case m.cfg.WaitTimeSeconds < 0:
		return 0
	case m.cfg.WaitTimeSeconds == 0:
		return lambdaWait
	default:
		return int32(m.cfg.WaitTimeSeconds)
	}
}

// resolve learns the queue ARN once, for eventSourceARN and awsRegion.
func (m *Mapping) resolve(ctx context.Context) (arn, region string, err error) {
	m.mu.Lock()
	if m.resolved {
		defer m.mu.Unlock()
		return m.arn, m.region, nil
	}
	m.mu.Unlock()
	out, err := m.client.GetQueueAttributes(ctx, &sqs.GetQueueAttributesInput{
		QueueUrl:       aws.String(m.cfg.QueueURL),
		AttributeNames: []types.QueueAttributeName{types.QueueAttributeNameQueueArn},
	})
	if err != nil {
		return "", "", fmt.Errorf("get queue ARN of %s: %w", m.cfg.QueueURL, err)
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	m.arn = out.Attributes[string(types.QueueAttributeNameQueueArn)]
	if parts := strings.Split(m.arn, ":"); len(parts) == 6 && parts[3] != "" {
		m.region = parts[3]
	}
	m.resolved = true
	return m.arn, m.region, nil
}

// Poll runs one cycle: receive a batch, invoke the function once, delete
// what succeeded. A failed invocation is not an error of Poll (it is
// counted and the batch left to reappear); receive and delete errors are.
func (m *Mapping) Poll(ctx context.Context) (Stats, error) {
	arn, region, err := m.resolve(ctx)
	if err != nil {
		return Stats{}, err
	}
	msgs, err := m.receiveBatch(ctx)
	if err != nil || len(msgs) == 0 {
		return Stats{}, err
	}
	payload, err := marshalEvent(msgs, arn, region)
	if err != nil {
		return Stats{}, fmt.Errorf("build SQS event for %s: %w", m.cfg.QueueURL, err)
	}
	resp, invokeErr := m.cfg.Invoker.Invoke(ctx, payload)
	failed, batchErr := m.outcome(msgs, resp, invokeErr)

	b := Batch{Err: batchErr}
	var toDelete []types.Message
	for _, msg := range msgs {
		id := aws.ToString(msg.MessageId)
		b.MessageIDs = append(b.MessageIDs, id)
		if failed[id] {
			b.Failed = append(b.Failed, id)
		} else {
			toDelete = append(toDelete, msg)
		}
	}
	deleted, notDeleted, delErr := m.delete(ctx, toDelete)
	b.Deleted = deleted
	b.Failed = append(b.Failed, notDeleted...)

	st := Stats{Batches: 1, Received: len(msgs), Deleted: len(b.Deleted), Failed: len(b.Failed)}
	if batchErr != nil {
		st.BatchErrors = 1
		m.log.Warn("sqs batch failed", "queue", m.cfg.QueueURL, "messages", len(msgs), "error", batchErr.Error())
	} else if len(b.Failed) > 0 {
		m.log.Info("sqs batch item failures", "queue", m.cfg.QueueURL, "messages", len(msgs), "failed", b.Failed)
	}
	m.mu.Lock()
	m.stats.add(st)
	m.mu.Unlock()
	if m.cfg.OnBatch != nil {
		m.cfg.OnBatch(b)
	}
	return st, delErr
}

// receiveBatch receives up to BatchSize messages, continuing to receive
// for up to MaximumBatchingWindow once the first message is in hand.
func (m *Mapping) receiveBatch(ctx context.Context) ([]types.Message, error) {
	msgs, err := m.receive(ctx, m.cfg.BatchSize, m.waitSeconds())
	if err != nil || len(msgs) == 0 || m.cfg.MaximumBatchingWindow == 0 {
		return msgs, err
	}
	deadline := m.clock.Now().Add(m.cfg.MaximumBatchingWindow)
	for len(msgs) < m.cfg.BatchSize {
		left := deadline.Sub(m.clock.Now())
		if left <= 0 {
			break
		}
		wait := min(int32((left+time.Second-1)/time.Second), lambdaWait)
		more, err := m.receive(ctx, m.cfg.BatchSize-len(msgs), wait)
		if err != nil {
			// What is in hand is in flight already; invoke with it.
			m.log.Warn("sqs receive while batching", "queue", m.cfg.QueueURL, "error", err.Error())
			break
		}
		msgs = append(msgs, more...)
	}
	return msgs, nil
}

func (m *Mapping) receive(ctx context.Context, n int, wait int32) ([]types.Message, error) {
	out, err := m.client.ReceiveMessage(ctx, &sqs.ReceiveMessageInput{
		QueueUrl:                    aws.String(m.cfg.QueueURL),
		MaxNumberOfMessages:         int32(n),
		WaitTimeSeconds:             wait,
		MessageSystemAttributeNames: []types.MessageSystemAttributeName{types.MessageSystemAttributeNameAll},
		MessageAttributeNames:       []string{"All"},
	})
	if err != nil {
		return nil, fmt.Errorf("receive from %s: %w", m.cfg.QueueURL, err)
	}
	return out.Messages, nil
}

// delete removes msgs in batches of ten and returns the ids deleted and
// those the queue refused (they will reappear).
func (m *Mapping) delete(ctx context.Context, msgs []types.Message) (deleted, failed []string, err error) {
	for start := 0; start < len(msgs); start += maxBatchSize {
		chunk := msgs[start:min(start+maxBatchSize, len(msgs))]
		entries := make([]types.DeleteMessageBatchRequestEntry, len(chunk))
		byEntry := map[string]string{}
		for i, msg := range chunk {
			entryID := strconv.Itoa(i)
			entries[i] = types.DeleteMessageBatchRequestEntry{Id: aws.String(entryID), ReceiptHandle: msg.ReceiptHandle}
			byEntry[entryID] = aws.ToString(msg.MessageId)
		}
		out, dErr := m.client.DeleteMessageBatch(ctx, &sqs.DeleteMessageBatchInput{QueueUrl: aws.String(m.cfg.QueueURL), Entries: entries})
		if dErr != nil {
			for _, msg := range chunk {
				failed = append(failed, aws.ToString(msg.MessageId))
			}
			err = errors.Join(err, fmt.Errorf("delete %d messages from %s: %w", len(chunk), m.cfg.QueueURL, dErr))
			continue
		}
		for _, s := range out.Successful {
			deleted = append(deleted, byEntry[aws.ToString(s.Id)])
		}
		for _, f := range out.Failed {
			id := byEntry[aws.ToString(f.Id)]
			failed = append(failed, id)
			err = errors.Join(err, fmt.Errorf("delete message %s from %s: %s: %s", id, m.cfg.QueueURL, aws.ToString(f.Code), aws.ToString(f.Message)))
		}
	}
	return deleted, failed, err
}

// Run polls with Concurrency pollers until ctx is done. Poll errors are
// logged and retried with backoff, as Lambda's pollers do.
func (m *Mapping) Run(ctx context.Context) error {
	var wg sync.WaitGroup
	for range m.cfg.Concurrency {
		wg.Add(1)
		go func() {
			defer wg.Done()
			m.poller(ctx)
		}()
	}
	wg.Wait()
	return nil
}

func (m *Mapping) poller(ctx context.Context) {
	backoff := idlePause
	for ctx.Err() == nil {
		st, err := m.Poll(ctx)
		var pause time.Duration
		switch {
		case ctx.Err() != nil:
			return
		case err != nil:
			m.log.Warn("sqs poll", "queue", m.cfg.QueueURL, "error", err.Error())
			pause = backoff
			backoff = min(2*backoff, maxErrorBackoff)
		case st.Received == 0 && m.cfg.WaitTimeSeconds < 0:
			pause = idlePause
			backoff = idlePause
		default:
			backoff = idlePause
		}
		if pause > 0 {
			select {
			case <-ctx.Done():
				return
			case <-m.clock.After(pause):
			}
		}
	}
}

// Drain polls until the queue holds no message (visible, in flight or
// delayed) and returns what it did. Failed messages keep it polling until
// they are processed or redriven to the dead-letter queue, so the queue's
// visibility timeout bounds how long a failure takes to come back.
func (m *Mapping) Drain(ctx context.Context) (Stats, error) {
	var total Stats
	for {
		if err := ctx.Err(); err != nil {
			return total, fmt.Errorf("drain %s: %w", m.cfg.QueueURL, err)
		}
		empty, err := m.empty(ctx)
		if err != nil {
			return total, err
		}
		if empty {
			return total, nil
		}
		st, err := m.Poll(ctx)
		total.add(st)
		if err != nil {
			return total, err
		}
		if st.Received == 0 && m.cfg.WaitTimeSeconds < 0 {
			select {
			case <-ctx.Done():
			case <-m.clock.After(idlePause):
			}
		}
	}
}

func (m *Mapping) empty(ctx context.Context) (bool, error) {
	out, err := m.client.GetQueueAttributes(ctx, &sqs.GetQueueAttributesInput{
		QueueUrl: aws.String(m.cfg.QueueURL),
		AttributeNames: []types.QueueAttributeName{
			types.QueueAttributeNameApproximateNumberOfMessages,
			types.QueueAttributeNameApproximateNumberOfMessagesNotVisible,
			types.QueueAttributeNameApproximateNumberOfMessagesDelayed,
		},
	})
	if err != nil {
		return false, fmt.Errorf("count messages of %s: %w", m.cfg.QueueURL, err)
	}
	for _, v := range out.Attributes {
		if n, err := strconv.Atoi(v); err != nil || n != 0 {
			return false, nil
		}
	}
	return true, nil
}
