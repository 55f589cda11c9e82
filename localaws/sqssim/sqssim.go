// Package sqssim provides an in-memory Amazon SQS that speaks the AWS JSON 1.0
// protocol exactly as aws-sdk-go-v2's sqs client does: standard and FIFO
// queues, visibility timeouts, delays, long polling, deduplication, redrive
// to dead-letter queues, batch limits and AWS-shaped errors. All time comes
// from an injectable clock so tests can step visibility timeouts without
// sleeping.
package sqssim

import (
	"errors"
	"fmt"
	"net/http"
	"sort"
	"strings"
	"sync"
	"time"

	"github.com/prewarm/prewarm/localaws/awsproto"
	"github.com/prewarm/prewarm/localaws/clock"
)

// Config seeds the emulated account.
type Config struct {
	AccountID, Region string
	Queues            []Queue
	Clock             clock.Clock // clock.Real{} when nil
}

// Queue describes a queue that exists from the start.
type Queue struct {
	Name                      string   `json:"name"`
	FIFO                      bool     `json:"fifo"`
	ContentBasedDeduplication bool     `json:"contentBasedDeduplication"`
	VisibilityTimeout         int      `json:"visibilityTimeout"` // seconds, default 30
	DelaySeconds              int      `json:"delaySeconds"`
	Redrive                   *Redrive `json:"redrive"`
}

// Redrive moves a message to DeadLetterQueue once it has been received
// MaxReceiveCount times and is received again.
type Redrive struct {
	DeadLetterQueue string `json:"deadLetterQueue"` // queue name
	MaxReceiveCount int    `json:"maxReceiveCount"`
}

// Defaults and limits of SQS.
const (
	DefaultAccountID         = "000000000000"
	DefaultRegion            = "us-east-1"
	DefaultVisibilityTimeout = 30 * time.Second
	MaxMessageSize           = 1048576 // bytes, message and batch
	MaxBatchEntries          = 10
	DeduplicationWindow      = 5 * time.Minute
	retentionPeriodSeconds   = 345600
)

// ErrQueueDoesNotExist is returned by the Go-level accessors for an unknown
// queue name.
var ErrQueueDoesNotExist = errors.New("queue does not exist")

// Service is the emulated SQS. It is an http.Handler and is safe for
// concurrent use.
type Service struct {
	accountID string
	region    string
	clock     clock.Clock

	api *awsproto.JSON

	mu     sync.Mutex
	queues map[string]*queue // by name
	serial uint64            // receipt-handle nonces
}

// New returns a Service seeded with cfg's queues. A dead-letter queue named
// by a redrive policy but not listed is created with defaults, so a world
// file cannot leave a redrive pointing nowhere.
func New(cfg Config) *Service {
	s := &Service{
		accountID: cfg.AccountID,
		region:    cfg.Region,
		clock:     cfg.Clock,
		queues:    map[string]*queue{},
	}
	if s.accountID == "" {
		s.accountID = DefaultAccountID
	}
	if s.region == "" {
		s.region = DefaultRegion
	}
	if s.clock == nil {
		s.clock = clock.Real{}
	}
	s.api = s.newAPI()
	now := s.clock.Now()
	for _, q := range cfg.Queues {
		s.queues[q.Name] = s.newQueue(q, now)
	}
	for _, q := range cfg.Queues {
		if q.Redrive == nil || q.Redrive.DeadLetterQueue == "" {
			continue
		}
		name := q.Redrive.DeadLetterQueue
		if _, ok := s.queues[name]; !ok {
			s.queues[name] = s.newQueue(Queue{Name: name, FIFO: strings.HasSuffix(name, ".fifo")}, now)
		}
	}
	return s
}

// Validate reports the first queue in c that SQS would refuse to create.
func (c Config) Validate() error {
	seen := map[string]bool{}
	for _, q := range c.Queues {
		if seen[q.Name] {
			return fmt.Errorf("queue %q: listed twice", q.Name)
		}
		seen[q.Name] = true
		fifo := q.FIFO || strings.HasSuffix(q.Name, ".fifo")
		if !validQueueName(q.Name, fifo) {
			return fmt.Errorf("queue %q: %s", q.Name, queueNameRule(fifo))
		}
		if q.VisibilityTimeout < 0 || q.VisibilityTimeout > 43200 {
			return fmt.Errorf("queue %q: visibilityTimeout %d not in 0..43200", q.Name, q.VisibilityTimeout)
		}
		if q.DelaySeconds < 0 || q.DelaySeconds > 900 {
			return fmt.Errorf("queue %q: delaySeconds %d not in 0..900", q.Name, q.DelaySeconds)
		}
		if q.ContentBasedDeduplication && !fifo {
			return fmt.Errorf("queue %q: contentBasedDeduplication needs a FIFO queue", q.Name)
		}
		if r := q.Redrive; r != nil {
			if r.DeadLetterQueue == "" {
				return fmt.Errorf("queue %q: redrive without deadLetterQueue", q.Name)
			}
			if r.MaxReceiveCount < 1 || r.MaxReceiveCount > 1000 {
				return fmt.Errorf("queue %q: redrive maxReceiveCount %d not in 1..1000", q.Name, r.MaxReceiveCount)
			}
			if strings.HasSuffix(r.DeadLetterQueue, ".fifo") != fifo {
				return fmt.Errorf("queue %q: dead-letter queue %q must be of the same type", q.Name, r.DeadLetterQueue)
			}
		}
	}
	return nil
}

func (s *Service) newQueue(q Queue, now time.Time) *queue {
	vis := DefaultVisibilityTimeout
	if q.VisibilityTimeout > 0 {
		vis = time.Duration(q.VisibilityTimeout) * time.Second
	}
	nq := &queue{
		name:         q.Name,
		arn:          s.QueueARN(q.Name),
		fifo:         q.FIFO || strings.HasSuffix(q.Name, ".fifo"),
		contentDedup: q.ContentBasedDeduplication,
		visibility:   vis,
		delay:        time.Duration(q.DelaySeconds) * time.Second,
		created:      now,
		modified:     now,
		dedup:        map[string]dedupEntry{},
		changed:      make(chan struct{}),
		extra:        map[string]string{},
		tags:         map[string]string{},
	}
	if q.Redrive != nil && q.Redrive.DeadLetterQueue != "" {
		nq.redrive = &redrivePolicy{
			deadLetterTargetARN: s.QueueARN(q.Redrive.DeadLetterQueue),
			maxReceiveCount:     max(q.Redrive.MaxReceiveCount, 1),
		}
	}
	return nq
}

// QueueURL is the URL of queue name as seen by a client that reached the
// service at host (the request's Host), in LocalStack's form.
func (s *Service) QueueURL(host, name string) string {
	return "http://" + host + "/" + s.accountID + "/" + name
}

// QueueARN is the ARN of queue name.
func (s *Service) QueueARN(name string) string {
	return "arn:aws:sqs:" + s.region + ":" + s.accountID + ":" + name
}

// Queues lists the queue names, sorted.
func (s *Service) Queues() []string {
	s.mu.Lock()
	defer s.mu.Unlock()
	names := make([]string, 0, len(s.queues))
	for n := range s.queues {
		names = append(names, n)
	}
	sort.Strings(names)
	return names
}

// Counts is a snapshot of a queue's messages by state.
type Counts struct {
	Visible  int // ready to be received
	InFlight int // received and not yet visible again
	Delayed  int // sent with a delay that has not passed
}

// Total is every message the queue holds.
func (c Counts) Total() int { return c.Visible + c.InFlight + c.Delayed }

// Counts returns the message counts of queue name.
func (s *Service) Counts(name string) (Counts, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	q, ok := s.queues[name]
	if !ok {
		return Counts{}, fmt.Errorf("sqs counts %s: %w", name, ErrQueueDoesNotExist)
	}
	return q.counts(s.clock.Now()), nil
}

// Message is a snapshot of one stored message.
type Message struct {
	ID              string
	Body            string
	State           string // "visible", "inflight" or "delayed"
	ReceiveCount    int
	GroupID         string
	DeduplicationID string
	SequenceNumber  string
	Attributes      map[string]string // string-valued message attributes
}

// Messages returns a snapshot of queue name's messages in queue order.
func (s *Service) Messages(name string) ([]Message, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	q, ok := s.queues[name]
	if !ok {
		return nil, fmt.Errorf("sqs messages %s: %w", name, ErrQueueDoesNotExist)
	}
	now := s.clock.Now()
	out := make([]Message, 0, len(q.messages))
	for _, m := range q.messages {
		attrs := map[string]string{}
		for k, v := range m.attrs {
			if v.StringValue != nil {
				attrs[k] = *v.StringValue
			}
		}
		out = append(out, Message{
			ID:              m.id,
			Body:            m.body,
			State:           m.state(now),
			ReceiveCount:    m.receiveCount,
			GroupID:         m.groupID,
			DeduplicationID: m.dedupID,
			SequenceNumber:  m.sequence,
			Attributes:      attrs,
		})
	}
	return out, nil
}

// LongPolling reports how many ReceiveMessage calls are waiting on queue
// name right now, so tests can send only once a receiver is parked.
func (s *Service) LongPolling(name string) int {
	s.mu.Lock()
	defer s.mu.Unlock()
	if q, ok := s.queues[name]; ok {
		return q.waiting
	}
	return 0
}

// Operation names the SQS operation r asks for, and false when r is not an
// SQS request.
func (s *Service) Operation(r *http.Request) (string, bool) { return s.api.Operation(r) }

// WriteThrottled writes what SQS answers when it throttles op: the modelled
// RequestThrottled error, which the SDK's retryer classifies as a throttle.
func (s *Service) WriteThrottled(w http.ResponseWriter, op string) {
	s.api.WriteError(w, &http.Request{Header: http.Header{}}, throttled())
}

// WriteServiceError writes SQS's 500 InternalFailure for op, which the SDK
// retries.
func (s *Service) WriteServiceError(w http.ResponseWriter, op string) {
	s.api.WriteError(w, &http.Request{Header: http.Header{}}, s.api.Internal(op))
}
