package results

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"net/url"
	"path"
	"strconv"
	"strings"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/sqs"
	sqstypes "github.com/aws/aws-sdk-go-v2/service/sqs/types"
)

// SendMessageBatchAPI is the one SQS call the Publisher makes. The signature is copied from
// *sqs.Client, which satisfies it unchanged.
type SendMessageBatchAPI interface {
	SendMessageBatch(ctx context.Context, in *sqs.SendMessageBatchInput, optFns ...func(*sqs.Options)) (*sqs.SendMessageBatchOutput, error)
}

var _ SendMessageBatchAPI = (*sqs.Client)(nil)

// SQS limits that shape a batch.
const (
	maxBatchEntries = 10
	// maxBatchBytes bounds a single message and the sum of a batch: bodies plus attribute names,
	// data types and values, as SQS counts them.
	maxBatchBytes = 1 << 20
	// maxGroupIDLen is the longest MessageGroupId SQS accepts.
	maxGroupIDLen = 128
)

// Message attribute names, for subscribers that filter on them.
const (
	AttributeOutcome      = "outcome"
	AttributeStatus       = "status"
	AttributeFunctionName = "functionName"
	AttributeQualifier    = "qualifier"
)

// DefaultGroupID is the FIFO MessageGroupId of a message that names no function (a REJECTED
// intent that could not be read).
const DefaultGroupID = "prewarm"

// defaultMaxAttempts counts SendMessageBatch calls per entry. The SDK client already retries
// throttling and 5xx inside each call, so this outer loop stays short: it exists for entries
// listed in Failed, which the SDK does not retry.
const defaultMaxAttempts = 3

// Publisher publishes result messages to the results queue. It is safe for concurrent use.
type Publisher struct {
	client      SendMessageBatchAPI
	queueURL    string
	fifo        bool
	maxAttempts int
	backoff     func(attempt int) time.Duration
	sleep       func(ctx context.Context, d time.Duration) error
	now         func() time.Time
}

// Option configures a Publisher.
type Option func(*Publisher)

// WithMaxAttempts sets how many SendMessageBatch calls may carry one message (default 3; at
// least 1).
func WithMaxAttempts(n int) Option {
	return func(p *Publisher) { p.maxAttempts = max(n, 1) }
}

// WithBackoff sets the wait before retry number attempt (1 for the first retry). The default is
// jittered exponential backoff from 100 ms up to 2 s.
func WithBackoff(backoff func(attempt int) time.Duration) Option {
	return func(p *Publisher) {
		if backoff != nil {
			p.backoff = backoff
		}
	}
}

// WithSleep replaces the wait between attempts; it must return early with ctx.Err() when ctx is
// done. Tests use it to retry without sleeping.
func WithSleep(sleep func(ctx context.Context, d time.Duration) error) Option {
	return func(p *Publisher) {
		if sleep != nil {
			p.sleep = sleep
		}
	}
}

// WithClock sets the clock that stamps messages whose Time is zero (default time.Now).
func WithClock(now func() time.Time) Option {
	return func(p *Publisher) {
		if now != nil {
			p.now = now
		}
	}
}

// NewPublisher returns a Publisher sending to queueURL through client. The queue is FIFO when the
// last segment of its URL ends in ".fifo".
func NewPublisher(client SendMessageBatchAPI, queueURL string, opts ...Option) *Publisher {
	p := &Publisher{
		client:      client,
		queueURL:    queueURL,
		fifo:        IsFIFOQueue(queueURL),
		maxAttempts: defaultMaxAttempts,
		backoff:     jitteredBackoff,
		sleep:       sleepContext,
		now:         time.Now,
	}
	for _, opt := range opts {
		opt(p)
	}
	return p
}

// FIFO reports whether the Publisher sends to a FIFO queue.
func (p *Publisher) FIFO() bool { return p.fifo }

// IsFIFOQueue reports whether the queue at queueURL is a FIFO queue: the
// last segment of its URL ends in ".fifo".
func IsFIFOQueue(queueURL string) bool {
	name := queueURL
	if u, err := url.Parse(queueURL); err == nil && u.Path != "" {
		name = u.Path
	}
	return strings.HasSuffix(path.Base(strings.TrimRight(name, "/")), ".fifo")
}

// PublishError reports why one message was not published.
type PublishError struct {
	// QueueURL is the results queue.
	QueueURL string
	// ID, FunctionName, Qualifier and Outcome identify the message.
	ID, FunctionName, Qualifier string
	Outcome                     Outcome
	// Attempts counts the SendMessageBatch calls that carried the message.
	Attempts int
	// Code is the SQS error code of the last failure, when SQS gave one.
	Code string
	// Permanent is true when repeating the publish cannot help: SQS blamed the request
	// (SenderFault or a non-transient error) or the message cannot be encoded.
	Permanent bool
	// Err is the last failure.
	Err error
}

func (e *PublishError) Error() string {
	return fmt.Sprintf("publish result %s:%s %s id=%q to %s (attempts=%d): %v",
		e.FunctionName, e.Qualifier, e.Outcome, e.ID, e.QueueURL, e.Attempts, e.Err)
}

func (e *PublishError) Unwrap() error { return e.Err }

// entryFailure is one entry listed in a SendMessageBatch response's Failed.
type entryFailure struct {
	code, message string
	senderFault   bool
}

func (f *entryFailure) Error() string {
	fault := "server fault"
	if f.senderFault {
		fault = "sender fault"
	}
	return fmt.Sprintf("SendMessageBatch entry failed: %s: %s (%s)", f.code, f.message, fault)
}

// entry is one message on its way: the request entry and what became of its attempts.
type entry struct {
	index    int
	msg      Message
	req      sqstypes.SendMessageBatchRequestEntry
	size     int
	attempts int
	last     error
	code     string
}

// Publish sends msgs with SendMessageBatch in batches of at most 10 entries and 1 MiB, in order.
// Entries SQS lists in Failed without SenderFault, and whole calls that failed transiently
// (throttling, 5xx, network), are retried a bounded number of times with jittered backoff while
// ctx allows. The result holds one error per message, nil when that message was published; a
// non-nil error is a *PublishError. No message is dropped without an error.
func (p *Publisher) Publish(ctx context.Context, msgs []Message) []error {
	errs := make([]error, len(msgs))
	var batch []*entry
	size := 0
	for i, m := range msgs {
		e, err := p.prepare(i, m)
		if err != nil {
			errs[i] = p.fail(&entry{index: i, msg: m}, err, "", true)
			continue
		}
		if len(batch) == maxBatchEntries || size+e.size > maxBatchBytes {
			p.send(ctx, batch, errs)
			batch, size = nil, 0
		}
		batch = append(batch, e)
		size += e.size
	}
	if len(batch) > 0 {
		p.send(ctx, batch, errs)
	}
	return errs
}

// prepare encodes message i as a request entry.
func (p *Publisher) prepare(i int, m Message) (*entry, error) {
	if m.Time.IsZero() {
		m.Time = p.now()
	}
	m = normalise(m)
	body, err := Marshal(m)
	if err != nil {
		return nil, fmt.Errorf("encode result message: %w", err)
	}
	attrs := attributes(m)
	size := len(body)
	for name, v := range attrs {
		size += len(name) + len(aws.ToString(v.DataType)) + len(aws.ToString(v.StringValue))
	}
	if size > maxBatchBytes {
		return nil, fmt.Errorf("encoded result message is %d bytes, over the SQS limit of %d", size, maxBatchBytes)
	}
	e := &entry{
		index: i,
		msg:   m,
		size:  size,
		req: sqstypes.SendMessageBatchRequestEntry{
			Id:                aws.String(strconv.Itoa(i)),
			MessageBody:       aws.String(string(body)),
			MessageAttributes: attrs,
		},
	}
	if p.fifo {
		e.req.MessageGroupId = aws.String(GroupID(m))
		e.req.MessageDeduplicationId = aws.String(DeduplicationID(m))
	}
	return e, nil
}

// send publishes one batch, retrying what may succeed later, and records the outcome of every
// entry in errs.
func (p *Publisher) send(ctx context.Context, batch []*entry, errs []error) {
	pending := batch
	for attempt := 1; ; attempt++ {
		if err := ctx.Err(); err != nil {
			for _, e := range pending {
				errs[e.index] = p.fail(e, abandon(e.last, err), e.code, false)
			}
			return
		}
		pending = p.attempt(ctx, pending, errs)
		if len(pending) == 0 {
			return
		}
		wait := p.backoff(attempt)
		var stop error
		switch deadline, ok := ctx.Deadline(); {
		case attempt >= p.maxAttempts:
		case ok && time.Until(deadline) <= wait:
			stop = fmt.Errorf("retry in %s would pass the deadline", wait)
		default:
			stop = p.sleep(ctx, wait)
			if stop == nil {
				continue
			}
		}
		for _, e := range pending {
			last := e.last
			if stop != nil {
				last = abandon(e.last, stop)
			}
			errs[e.index] = p.fail(e, last, e.code, false)
		}
		return
	}
}

// abandon explains why a retry was not made after last.
func abandon(last, why error) error {
	if last == nil {
		return why
	}
	return fmt.Errorf("%w (giving up: %w)", last, why)
}

// attempt makes one SendMessageBatch call for pending, records every entry that is settled
// (published or failed for good) in errs, and returns the entries worth another call.
func (p *Publisher) attempt(ctx context.Context, pending []*entry, errs []error) []*entry {
	in := &sqs.SendMessageBatchInput{
		QueueUrl: aws.String(p.queueURL),
		Entries:  make([]sqstypes.SendMessageBatchRequestEntry, len(pending)),
	}
	byID := make(map[string]*entry, len(pending))
	for i, e := range pending {
		e.attempts++
		e.last, e.code = nil, ""
		in.Entries[i] = e.req
		byID[aws.ToString(e.req.Id)] = e
	}

	out, err := p.client.SendMessageBatch(ctx, in)
	if err != nil {
		code := errorCode(err)
		if !transient(err) && ctx.Err() == nil {
			for _, e := range pending {
				errs[e.index] = p.fail(e, err, code, true)
			}
			return nil
		}
		for _, e := range pending {
			e.last, e.code = err, code
		}
		return pending
	}

	for _, s := range out.Successful {
		if e, ok := byID[aws.ToString(s.Id)]; ok {
			errs[e.index] = nil
			delete(byID, aws.ToString(s.Id))
		}
	}
	for _, f := range out.Failed {
		e, ok := byID[aws.ToString(f.Id)]
		if !ok {
			continue
		}
		failure := &entryFailure{code: aws.ToString(f.Code), message: aws.ToString(f.Message), senderFault: f.SenderFault}
		if f.SenderFault {
			errs[e.index] = p.fail(e, failure, failure.code, true)
			delete(byID, aws.ToString(f.Id))
			continue
		}
		e.last, e.code = failure, failure.code
	}

	var retry []*entry
	for _, e := range pending {
		id := aws.ToString(e.req.Id)
		if _, open := byID[id]; !open {
			continue
		}
		if e.last == nil {
			// Neither Successful nor Failed named the entry: it is not known to be published.
			e.last, e.code = fmt.Errorf("SendMessageBatch response did not mention entry %s", id), ""
		}
		retry = append(retry, e)
	}
	return retry
}

// fail builds the error reported for e.
func (p *Publisher) fail(e *entry, err error, code string, permanent bool) error {
	return &PublishError{
		QueueURL:     p.queueURL,
		ID:           e.msg.ID,
		FunctionName: e.msg.FunctionName,
		Qualifier:    e.msg.Qualifier,
		Outcome:      e.msg.Outcome,
		Attempts:     e.attempts,
		Code:         code,
		Permanent:    permanent,
		Err:          err,
	}
}

// attributes returns the message attributes subscribers filter on. SQS rejects empty attribute
// values, so empty ones are left out.
func attributes(m Message) map[string]sqstypes.MessageAttributeValue {
	attrs := make(map[string]sqstypes.MessageAttributeValue, 4)
	for name, v := range map[string]string{
		AttributeOutcome:      string(m.Outcome),
		AttributeStatus:       m.Status(),
		AttributeFunctionName: m.FunctionName,
		AttributeQualifier:    m.Qualifier,
	} {
		if v == "" {
			continue
		}
		attrs[name] = sqstypes.MessageAttributeValue{DataType: aws.String("String"), StringValue: aws.String(sqsText(v))}
	}
	return attrs
}

// sqsText replaces what SQS does not accept in message text (invalid UTF-8, control characters
// other than tab, newline and carriage return, surrogates, U+FFFE and U+FFFF) with U+FFFD.
func sqsText(s string) string {
	return strings.Map(func(r rune) rune {
		switch {
		case r == '\t' || r == '\n' || r == '\r',
			r >= 0x20 && r <= 0xD7FF,
			r >= 0xE000 && r <= 0xFFFD,
			r >= 0x10000 && r <= 0x10FFFF:
			return r
		}
		return '\uFFFD'
	}, strings.ToValidUTF8(s, "\uFFFD"))
}

// GroupID returns the FIFO MessageGroupId of m: "functionName:qualifier", so that results for one
// target arrive in order, restricted to the characters SQS allows and to 128 characters. A message
// naming no function goes to DefaultGroupID.
func GroupID(m Message) string {
	if m.FunctionName == "" {
		return DefaultGroupID
	}
	group := m.FunctionName
	if m.Qualifier != "" {
		group += ":" + m.Qualifier
	}
	clean := []byte(group)
	for i, c := range clean {
		if c < 0x21 || c > 0x7E { // SQS allows alphanumerics and ASCII punctuation
			clean[i] = '_'
		}
	}
	if len(clean) <= maxGroupIDLen {
		return string(clean)
	}
	// Keep distinct long names distinct: a prefix and a digest of the whole.
	sum := sha256.Sum256([]byte(group))
	digest := hex.EncodeToString(sum[:8])
	return string(clean[:maxGroupIDLen-len(digest)-1]) + "-" + digest
}

// DeduplicationID returns the FIFO MessageDeduplicationId of m: the hex SHA-256 of its id,
// function, qualifier, outcome and status. A redelivered intent publishes the same id and SQS
// drops the copy, while APPLIED and READY for one intent, or results for two targets of one
// scheduled reconcile, stay distinct.
//
// Every result that ends an intent for a qualifier (READY, FAILED, TIMED_OUT, REJECTED,
// SUPERSEDED, DRY_RUN, RELEASED, an UNCHANGED that nothing follows, an APPLIED that nothing
// follows) shares one id, whatever its outcome: an intent ends once. A redelivery that finds
// its work done restates it (UNCHANGED, status READY), and one that arrives with a later
// intent for the same target in its batch would be SUPERSEDED by it; within the deduplication
// window SQS drops both rather than publish a second ending. An UNCHANGED while the
// allocation is IN_PROGRESS shares the id of the APPLIED it restates.
func DeduplicationID(m Message) string {
	outcome, status := m.Outcome, m.Status()
	if m.Terminal() || m.EndsIntent {
		// One intent ends once for each qualifier: whatever a redelivery of it finds later
		// (its own result restated, or a later intent of the same batch overtaking it), a
		// second ending within the deduplication window is dropped, not published.
		outcome, status = "END", ""
	} else if outcome == OutcomeUnchanged && status == StatusInProgress {
		outcome = OutcomeApplied // restates the APPLIED before it
	}
	h := sha256.New()
	for _, part := range []string{m.ID, m.FunctionName, m.Qualifier, string(outcome), status} {
		// Length-prefixed so that no two different tuples hash the same input.
		// A hash.Hash's Write never returns an error.
		_, _ = fmt.Fprintf(h, "%d:%s;", len(part), part)
	}
	return hex.EncodeToString(h.Sum(nil))
}
