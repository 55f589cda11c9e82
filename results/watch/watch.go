// Package watch reads one run's results from prewarm's results queue, a queue that every
// pipeline run, schedule and reconcile pass shares: it long-polls, takes and deletes only the
// messages that belong to the run (by correlation id or intent id), hands every other message
// back at once with ChangeMessageVisibility 0 so that no other reader waits out a visibility
// timeout, drops the duplicates a standard queue may deliver, retries transient errors with
// jittered back-off and gives up at once on permanent ones.
package watch

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"math/rand/v2"
	"slices"
	"strconv"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/sqs"
	"github.com/aws/aws-sdk-go-v2/service/sqs/types"

	"github.com/prewarm/prewarm/results"
)

// SQSAPI is what a Reader calls (signatures copied from *sqs.Client).
type SQSAPI interface {
	ReceiveMessage(ctx context.Context, params *sqs.ReceiveMessageInput, optFns ...func(*sqs.Options)) (*sqs.ReceiveMessageOutput, error)
	DeleteMessageBatch(ctx context.Context, params *sqs.DeleteMessageBatchInput, optFns ...func(*sqs.Options)) (*sqs.DeleteMessageBatchOutput, error)
	ChangeMessageVisibilityBatch(ctx context.Context, params *sqs.ChangeMessageVisibilityBatchInput, optFns ...func(*sqs.Options)) (*sqs.ChangeMessageVisibilityBatchOutput, error)
}

var _ SQSAPI = (*sqs.Client)(nil)

// Match says which results belong to a reader: those whose correlationId is CorrelationID, and
// those whose id is one of IDs. A Match with neither matches every result.
type Match struct {
	CorrelationID string
	IDs           []string
}

// All reports whether m matches every result.
func (m Match) All() bool { return m.CorrelationID == "" && len(m.IDs) == 0 }

// Owns reports whether msg belongs to the reader.
func (m Match) Owns(msg results.Message) bool {
	if m.All() {
		return true
	}
	return (m.CorrelationID != "" && msg.CorrelationID == m.CorrelationID) || slices.Contains(m.IDs, msg.ID)
}

// Limits and defaults of a Reader.
const (
	// MaxLongPoll is SQS's longest ReceiveMessage wait.
	MaxLongPoll = 20 * time.Second
	// DefaultHold is how long a received message stays hidden if this process dies before it
	// hands the message back or deletes it.
	DefaultHold = 10 * time.Second
	// DefaultIdle is the pause before the next receive when the last one returned only other
	// readers' messages already seen: without it a reader would receive them again at once,
	// forever, while they wait for their own reader.
	DefaultIdle = time.Second
	// DefaultMinBackoff and DefaultMaxBackoff bound the jittered back-off after an error.
	DefaultMinBackoff = 200 * time.Millisecond
	DefaultMaxBackoff = 20 * time.Second
	// maxScanReceives bounds the receives one scan makes to look past full batches of other
	// readers' messages (10 each) before handing them back.
	maxScanReceives = 10
	// batchSize is SQS's largest batch.
	batchSize = 10
)

// Options configure a Reader.
type Options struct {
	// QueueURL is the results queue.
	QueueURL string
	// Match selects the reader's own results.
	Match Match
	// LongPoll bounds one ReceiveMessage wait; 0 or more than MaxLongPoll means MaxLongPoll.
	// A context deadline nearer than that shortens it.
	LongPoll time.Duration
	// Hold is the visibility timeout asked for on receive; 0 means DefaultHold.
	Hold time.Duration
	// Idle is the pause after a receive that found only messages already handed back; 0
	// means DefaultIdle.
	Idle time.Duration
	// MinBackoff and MaxBackoff bound the back-off; 0 means the defaults.
	MinBackoff, MaxBackoff time.Duration
	// Sleep waits for d or until ctx is done; a timer when nil.
	Sleep func(ctx context.Context, d time.Duration) error
	// Jitter returns a number in [0, 1); math/rand/v2's Float64 when nil.
	Jitter func() float64
	// OnRetry, when set, is told of each transient error and the back-off before the next try.
	OnRetry func(err error, backoff time.Duration)
}

// Result is one of the reader's own results, deleted from the queue.
type Result struct {
	// Message is the decoded body.
	Message results.Message
	// Body is the body as published.
	Body string
	// MessageID is the SQS message id.
	MessageID string
}

// Key identifies a result for de-duplication: a standard queue delivers at least once, and
// prewarm may publish the same outcome again when an event is redelivered.
type Key struct {
	ID, Outcome, Qualifier string
}

// KeyOf is m's de-duplication key.
func KeyOf(m results.Message) Key {
	return Key{ID: m.ID, Outcome: string(m.Outcome), Qualifier: m.Qualifier}
}

// Reader reads one run's results. It is not safe for concurrent use.
type Reader struct {
	client SQSAPI
	opts   Options
	seen   map[Key]bool
	// handedBack holds the SQS message ids of other readers' messages handed back, to tell a
	// receive that found something new from one that found only what is waiting for others.
	handedBack map[string]bool
	failures   int
}

// New returns a Reader of opts.QueueURL.
func New(client SQSAPI, opts Options) *Reader {
	if opts.LongPoll <= 0 || opts.LongPoll > MaxLongPoll {
		opts.LongPoll = MaxLongPoll
	}
	if opts.Hold <= 0 {
		opts.Hold = DefaultHold
	}
	if opts.Idle <= 0 {
		opts.Idle = DefaultIdle
	}
	if opts.MinBackoff <= 0 {
		opts.MinBackoff = DefaultMinBackoff
	}
	if opts.MaxBackoff <= 0 {
		opts.MaxBackoff = DefaultMaxBackoff
	}
	if opts.Sleep == nil {
		opts.Sleep = sleep
	}
	if opts.Jitter == nil {
		opts.Jitter = rand.Float64
	}
	return &Reader{client: client, opts: opts, seen: map[Key]bool{}, handedBack: map[string]bool{}}
}

// Receive waits for the reader's next results: it long-polls until at least one new result of
// its own arrives, ctx ends, or one full long poll passes with nothing new, and returns the new
// results in the order received (possibly none). Transient errors are retried with back-off
// until ctx ends; a permanent error is returned at once as a *PermanentError. Results already
// taken are returned with the error.
func (r *Reader) Receive(ctx context.Context) ([]Result, error) {
	var got []Result
	for {
		wait := r.longPoll(ctx)
		own, quiet, err := r.scan(ctx, wait)
		got = append(got, own...)
		switch {
		case err == nil:
			r.failures = 0
			if len(got) > 0 || (!quiet && wait == r.opts.LongPoll) {
				return got, nil
			}
			// Only other readers' messages, received back at once, or a poll cut short by the
			// deadline: pause, then poll again within this call, so that a caller looping on
			// Receive never spins.
			if err := r.opts.Sleep(ctx, r.opts.Idle); err != nil {
				return got, r.stopped(ctx, err)
			}
		case ctx.Err() != nil:
			return got, r.stopped(ctx, err)
		case IsPermanent(err):
			return got, err
		default:
			d := r.backoff()
			if r.opts.OnRetry != nil {
				r.opts.OnRetry(err, d)
			}
			if err := r.opts.Sleep(ctx, d); err != nil {
				return got, r.stopped(ctx, err)
			}
		}
	}
}

// Collect returns the reader's results that are on the queue now, without waiting for more:
// what a caller reads back once it knows the run's invocation has ended. It stops at the first
// receive that brings nothing new.
func (r *Reader) Collect(ctx context.Context) ([]Result, error) {
	var got []Result
	for {
		own, _, err := r.scan(ctx, 0)
		got = append(got, own...)
		switch {
		case err == nil:
			r.failures = 0
			if len(own) == 0 {
				return got, nil
			}
		case ctx.Err() != nil:
			return got, r.stopped(ctx, err)
		case IsPermanent(err):
			return got, err
		default:
			d := r.backoff()
			if r.opts.OnRetry != nil {
				r.opts.OnRetry(err, d)
			}
			if err := r.opts.Sleep(ctx, d); err != nil {
				return got, r.stopped(ctx, err)
			}
		}
	}
}

// stopped is the error for a wait ended by ctx.
func (r *Reader) stopped(ctx context.Context, err error) error {
	if cause := context.Cause(ctx); cause != nil {
		return fmt.Errorf("read results from %s: %w", r.opts.QueueURL, cause)
	}
	return fmt.Errorf("read results from %s: %w", r.opts.QueueURL, err)
}

// longPoll is the ReceiveMessage wait: opts.LongPoll, shortened to end before ctx's deadline.
func (r *Reader) longPoll(ctx context.Context) time.Duration {
	wait := r.opts.LongPoll
	if deadline, ok := ctx.Deadline(); ok {
		// Leave a second for the answer to travel before the deadline.
		wait = min(wait, time.Until(deadline)-time.Second)
	}
	return max(0, wait.Truncate(time.Second))
}

// scan receives once with wait, then again at once while batches come back full, so that a
// backlog of other readers' messages does not hide the reader's own; it deletes the reader's
// own messages, hands every other one back, and returns the own results not seen before.
// quiet reports that messages came, and every one was another reader's already handed back
// once.
func (r *Reader) scan(ctx context.Context, wait time.Duration) (own []Result, quiet bool, err error) {
	var others []types.Message
	defer func() {
		// Hand back even when ctx has ended: the other readers must not wait for Hold.
		hctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 5*time.Second)
		defer cancel()
		r.handBack(hctx, others)
	}()
	received, fresh := 0, false
	defer func() { quiet = received > 0 && !fresh }()
	for range maxScanReceives {
		out, err := r.client.ReceiveMessage(ctx, &sqs.ReceiveMessageInput{
			QueueUrl:            aws.String(r.opts.QueueURL),
			MaxNumberOfMessages: batchSize,
			WaitTimeSeconds:     int32(wait / time.Second),
			VisibilityTimeout:   int32(max(time.Second, r.opts.Hold) / time.Second),
		})
		if err != nil {
			return own, false, classify("receive", r.opts.QueueURL, err)
		}
		received += len(out.Messages)
		var mine []types.Message
		for _, m := range out.Messages {
			msg, ok := decode(aws.ToString(m.Body))
			if !ok || !r.opts.Match.Owns(msg) {
				others = append(others, m)
				if !r.handedBack[aws.ToString(m.MessageId)] {
					fresh = true
				}
				continue
			}
			fresh = true
			mine = append(mine, m)
			if k := KeyOf(msg); !r.seen[k] {
				r.seen[k] = true
				own = append(own, Result{Message: msg, Body: aws.ToString(m.Body), MessageID: aws.ToString(m.MessageId)})
			}
		}
		if err := r.delete(ctx, mine); err != nil {
			return own, false, err
		}
		if len(out.Messages) < batchSize {
			break
		}
		wait = 0
	}
	return own, false, nil
}

// decode reads a result message body; anything else on the queue is another reader's.
func decode(body string) (results.Message, bool) {
	var m results.Message
	if err := json.Unmarshal([]byte(body), &m); err != nil || !m.Outcome.Valid() {
		return results.Message{}, false
	}
	return m, true
}

// delete removes the reader's own messages. An entry SQS could not delete comes back after
// Hold and is dropped then as a duplicate.
func (r *Reader) delete(ctx context.Context, msgs []types.Message) error {
	for batch := range slices.Chunk(msgs, batchSize) {
		entries := make([]types.DeleteMessageBatchRequestEntry, len(batch))
		for i, m := range batch {
			entries[i] = types.DeleteMessageBatchRequestEntry{Id: aws.String(strconv.Itoa(i)), ReceiptHandle: m.ReceiptHandle}
		}
		if _, err := r.client.DeleteMessageBatch(ctx, &sqs.DeleteMessageBatchInput{QueueUrl: aws.String(r.opts.QueueURL), Entries: entries}); err != nil {
			return classify("delete", r.opts.QueueURL, err)
		}
	}
	return nil
}

// handBack makes other readers' messages visible again at once. It is best effort: a message
// it could not hand back becomes visible after Hold anyway.
func (r *Reader) handBack(ctx context.Context, msgs []types.Message) {
	for batch := range slices.Chunk(msgs, batchSize) {
		entries := make([]types.ChangeMessageVisibilityBatchRequestEntry, len(batch))
		for i, m := range batch {
			entries[i] = types.ChangeMessageVisibilityBatchRequestEntry{Id: aws.String(strconv.Itoa(i)), ReceiptHandle: m.ReceiptHandle, VisibilityTimeout: 0}
			r.handedBack[aws.ToString(m.MessageId)] = true
		}
		_, _ = r.client.ChangeMessageVisibilityBatch(ctx, &sqs.ChangeMessageVisibilityBatchInput{QueueUrl: aws.String(r.opts.QueueURL), Entries: entries})
	}
}

// backoff is the next jittered pause after an error: full jitter over an exponentially
// growing ceiling, never below MinBackoff.
func (r *Reader) backoff() time.Duration {
	ceiling := r.opts.MinBackoff << min(r.failures, 16)
	if ceiling <= 0 || ceiling > r.opts.MaxBackoff {
		ceiling = r.opts.MaxBackoff
	}
	r.failures++
	return r.opts.MinBackoff + time.Duration(r.opts.Jitter()*float64(ceiling-r.opts.MinBackoff))
}

func sleep(ctx context.Context, d time.Duration) error {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}

// ErrPermanent is matched by every *PermanentError with errors.Is.
var ErrPermanent = errors.New("permanent error")
