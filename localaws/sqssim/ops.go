package sqssim

import (
	"context"
	"encoding/json"
	"fmt"
	"maps"
	"net/http"
	"regexp"
	"slices"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/prewarm/prewarm/localaws/awsproto"
)

// API is SQS as the localaws server registers it: AWS JSON 1.0 (what
// aws-sdk-go-v2 speaks), query-compatible, and the query protocol on the
// same operations (older CLIs and SDKs).
func (s *Service) API() awsproto.Service { return s.api }

func (s *Service) newAPI() *awsproto.JSON {
	return &awsproto.JSON{
		Service:         "sqs",
		Version:         awsproto.JSON10,
		TargetPrefix:    targetPrefix,
		Namespace:       errorNamespace,
		QueryCompatible: true,
		MaxBody:         maxRequestBytes,
		Query:           &awsproto.Query{Version: "2012-11-05", XMLNamespace: "http://queue.amazonaws.com/doc/2012-11-05/"},
		Operations: map[string]awsproto.Operation{
			"CreateQueue":                  awsproto.Op(s.createQueue),
			"DeleteQueue":                  awsproto.Op(s.deleteQueue),
			"GetQueueUrl":                  awsproto.Op(s.getQueueURL),
			"ListQueues":                   awsproto.Op(s.listQueues),
			"GetQueueAttributes":           awsproto.Op(s.getQueueAttributes),
			"SetQueueAttributes":           awsproto.Op(s.setQueueAttributes),
			"SendMessage":                  awsproto.Op(s.sendMessage),
			"SendMessageBatch":             awsproto.Op(s.sendMessageBatch),
			"ReceiveMessage":               awsproto.Op(s.receiveMessage),
			"DeleteMessage":                awsproto.Op(s.deleteMessage),
			"DeleteMessageBatch":           awsproto.Op(s.deleteMessageBatch),
			"ChangeMessageVisibility":      awsproto.Op(s.changeMessageVisibility),
			"ChangeMessageVisibilityBatch": awsproto.Op(s.changeMessageVisibilityBatch),
			"PurgeQueue":                   awsproto.Op(s.purgeQueue),
			"TagQueue":                     awsproto.Op(s.tagQueue),
			"UntagQueue":                   awsproto.Op(s.untagQueue),
			"ListQueueTags":                awsproto.Op(s.listQueueTags),
			"AddPermission":                awsproto.Op(s.addPermission),
			"RemovePermission":             awsproto.Op(s.removePermission),
			"ListDeadLetterSourceQueues":   awsproto.Op(s.listDeadLetterSourceQueues),
			"StartMessageMoveTask":         awsproto.Op(s.startMessageMoveTask),
			"ListMessageMoveTasks":         awsproto.Op(s.listMessageMoveTasks),
			"CancelMessageMoveTask":        awsproto.Op(s.cancelMessageMoveTask),
		},
		ThrottleError: func(string) *apiError { return throttled() },
		UnknownError: func(op string) *apiError {
			return &apiError{Status: http.StatusBadRequest, Code: "UnsupportedOperation",
				QueryCode: "AWS.SimpleQueueService.UnsupportedOperation",
				Message:   "The operation " + op + " is not supported by this emulator."}
		},
	}
}

// ServeHTTP answers one SQS request, so the Service serves alone too.
func (s *Service) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	op, ok := s.api.Operation(r)
	if !ok {
		s.api.WriteError(w, r, &apiError{Status: http.StatusBadRequest, Code: "UnknownOperationException",
			Namespace: "com.amazon.coral.service", Message: "Missing or unknown X-Amz-Target for SQS."})
		return
	}
	ctx := r.Context()
	if awsproto.Caller(ctx).Host == "" {
		key, region := awsproto.Signature(r)
		ctx = awsproto.WithCaller(ctx, awsproto.CallerInfo{AccountID: s.accountID, Region: region, AccessKeyID: key, Host: r.Host})
	}
	s.api.ServeOperation(w, r.WithContext(ctx), op)
}

// withQueue runs do on the queue queueURL names, holding s.mu throughout.
func (s *Service) withQueue(queueURL *string, do func(q *queue) *apiError) *apiError {
	s.mu.Lock()
	defer s.mu.Unlock()
	q, err := s.lookup(queueURL)
	if err != nil {
		return err
	}
	return do(q)
}

// lookup resolves a QueueUrl: its last path segment names the queue.
// Callers hold s.mu.
func (s *Service) lookup(queueURL *string) (*queue, *apiError) {
	if queueURL == nil || *queueURL == "" {
		return nil, missingParameter("QueueUrl")
	}
	u := strings.TrimRight(*queueURL, "/")
	q, ok := s.queues[u[strings.LastIndexByte(u, '/')+1:]]
	if !ok {
		return nil, queueDoesNotExist()
	}
	return q, nil
}

func (s *Service) createQueue(ctx context.Context, in *createQueueInput) (*queueURLOutput, *apiError) {
	if in.QueueName == nil {
		return nil, missingParameter("QueueName")
	}
	name := *in.QueueName
	fifo := false
	if v, ok := in.Attributes["FifoQueue"]; ok {
		b, err := strconv.ParseBool(v)
		if err != nil {
			return nil, invalidValue("FifoQueue", v, "Invalid value for the parameter FifoQueue.")
		}
		// A standard queue has no FifoQueue attribute, not even "false".
		if !b {
			return nil, invalidAttributeName("FifoQueue")
		}
		fifo = b
	}
	if !validQueueName(name, fifo) {
		return nil, invalidParameter("%s", queueNameRule(fifo))
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	now := s.clock.Now()
	if existing, ok := s.queues[name]; ok {
		for k, v := range in.Attributes {
			got, known := existing.attribute(k, now)
			want, err := normalizeAttribute(k, v)
			if err != nil || !known || got != want {
				return nil, &apiError{Status: http.StatusBadRequest, Code: "QueueNameExists", QueryCode: "QueueAlreadyExists",
					Message: "A queue already exists with the same name and a different value for attribute " + k}
			}
		}
		return &queueURLOutput{QueueURL: s.queueURL(ctx, name)}, nil
	}
	q := s.newQueue(Queue{Name: name, FIFO: fifo}, now)
	if err := s.applyAttributes(q, in.Attributes, true); err != nil {
		return nil, err
	}
	if err := checkTags(in.Tags); err != nil {
		return nil, err
	}
	maps.Copy(q.tags, in.Tags)
	s.queues[name] = q
	return &queueURLOutput{QueueURL: s.queueURL(ctx, name)}, nil
}

// queueURL is the URL of queue name for the caller of ctx.
func (s *Service) queueURL(ctx context.Context, name string) string {
	return s.QueueURL(awsproto.Caller(ctx).Host, name)
}

func (s *Service) deleteQueue(_ context.Context, in *queueURLInput) (*empty, *apiError) {
	return nil, s.withQueue(in.QueueURL, func(q *queue) *apiError {
		delete(s.queues, q.name)
		q.messages = nil
		q.notify()
		return nil
	})
}

func (s *Service) getQueueURL(ctx context.Context, in *getQueueURLInput) (*queueURLOutput, *apiError) {
	if in.QueueName == nil {
		return nil, missingParameter("QueueName")
	}
	s.mu.Lock()
	_, ok := s.queues[*in.QueueName]
	s.mu.Unlock()
	if !ok {
		return nil, queueDoesNotExist()
	}
	return &queueURLOutput{QueueURL: s.queueURL(ctx, *in.QueueName)}, nil
}

func (s *Service) listQueues(ctx context.Context, in *listQueuesInput) (*listQueuesOutput, *apiError) {
	prefix := deref(in.QueueNamePrefix)
	var urls []string
	for _, n := range s.Queues() {
		if strings.HasPrefix(n, prefix) {
			urls = append(urls, s.queueURL(ctx, n))
		}
	}
	if in.MaxResults != nil && *in.MaxResults > 0 && len(urls) > *in.MaxResults {
		urls = urls[:*in.MaxResults]
	}
	if len(urls) > 1000 {
		urls = urls[:1000]
	}
	return &listQueuesOutput{QueueURLs: urls}, nil
}

// queueAttributeNames are the attributes "All" expands to, in AWS's order.
var queueAttributeNames = []string{
	"ApproximateNumberOfMessages", "ApproximateNumberOfMessagesDelayed", "ApproximateNumberOfMessagesNotVisible",
	"CreatedTimestamp", "DelaySeconds", "LastModifiedTimestamp", "MaximumMessageSize", "MessageRetentionPeriod",
	"QueueArn", "ReceiveMessageWaitTimeSeconds", "VisibilityTimeout", "RedrivePolicy", "FifoQueue",
	"ContentBasedDeduplication", "DeduplicationScope", "FifoThroughputLimit", "SqsManagedSseEnabled",
	"Policy", "KmsMasterKeyId", "KmsDataKeyReusePeriodSeconds", "RedriveAllowPolicy",
}

// attribute returns the value GetQueueAttributes reports for name, and
// false when q has no such attribute.
func (q *queue) attribute(name string, now time.Time) (string, bool) {
	itoa := strconv.Itoa
	switch name {
	case "ApproximateNumberOfMessages":
		return itoa(q.counts(now).Visible), true
	case "ApproximateNumberOfMessagesNotVisible":
		return itoa(q.counts(now).InFlight), true
	case "ApproximateNumberOfMessagesDelayed":
		return itoa(q.counts(now).Delayed), true
	case "CreatedTimestamp":
		return strconv.FormatInt(q.created.Unix(), 10), true
	case "LastModifiedTimestamp":
		return strconv.FormatInt(q.modified.Unix(), 10), true
	case "DelaySeconds":
		return itoa(int(q.delay / time.Second)), true
	case "MaximumMessageSize":
		return itoa(q.maxMessageSize()), true
	case "MessageRetentionPeriod":
		if q.retention > 0 {
			return itoa(q.retention), true
		}
		return itoa(retentionPeriodSeconds), true
	case "QueueArn":
		return q.arn, true
	case "ReceiveMessageWaitTimeSeconds":
		return itoa(int(q.receiveWait / time.Second)), true
	case "VisibilityTimeout":
		return itoa(int(q.visibility / time.Second)), true
	case "RedrivePolicy":
		if q.redrive == nil {
			return "", false
		}
		return q.redrive.String(), true
	case "FifoQueue":
		return "true", q.fifo
	case "ContentBasedDeduplication":
		return strconv.FormatBool(q.contentDedup), q.fifo
	case "DeduplicationScope":
		if v, ok := q.extra[name]; ok {
			return v, q.fifo
		}
		return "queue", q.fifo
	case "FifoThroughputLimit":
		if v, ok := q.extra[name]; ok {
			return v, q.fifo
		}
		return "perQueue", q.fifo
	case "SqsManagedSseEnabled":
		if v, ok := q.extra[name]; ok {
			return v, true
		}
		_, kms := q.extra["KmsMasterKeyId"]
		return strconv.FormatBool(!kms), true
	default:
		v, ok := q.extra[name]
		return v, ok
	}
}

func (s *Service) getQueueAttributes(_ context.Context, in *getQueueAttributesInput) (*attributesOutput, *apiError) {
	out := &attributesOutput{}
	return out, s.withQueue(in.QueueURL, func(q *queue) *apiError {
		names := in.AttributeNames
		for _, n := range names {
			if n == "All" {
				names = queueAttributeNames
				break
			}
			if !slices.Contains(queueAttributeNames, n) {
				return invalidAttributeName(n)
			}
		}
		now := s.clock.Now()
		attrs := map[string]string{}
		for _, n := range names {
			if v, ok := q.attribute(n, now); ok {
				attrs[n] = v
			}
		}
		if len(attrs) > 0 {
			out.Attributes = attrs
		}
		return nil
	})
}

func (s *Service) setQueueAttributes(_ context.Context, in *setQueueAttributesInput) (*empty, *apiError) {
	return nil, s.withQueue(in.QueueURL, func(q *queue) *apiError {
		if err := s.applyAttributes(q, in.Attributes, false); err != nil {
			return err
		}
		q.modified = s.clock.Now()
		q.notify()
		return nil
	})
}

// applyAttributes validates all of attrs first and then sets them on q.
// Callers hold s.mu.
func (s *Service) applyAttributes(q *queue, attrs map[string]string, creating bool) *apiError {
	intIn := func(name, v string, lo, hi int) (int, *apiError) {
		n, err := strconv.Atoi(v)
		if err != nil || n < lo || n > hi {
			return 0, invalidParameter("Invalid value for the parameter %s.", name)
		}
		return n, nil
	}
	var sets []func()
	for name, v := range attrs {
		switch name {
		case "VisibilityTimeout":
			n, err := intIn(name, v, 0, 43200)
			if err != nil {
				return err
			}
			sets = append(sets, func() { q.visibility = time.Duration(n) * time.Second })
		case "DelaySeconds":
			n, err := intIn(name, v, 0, 900)
			if err != nil {
				return err
			}
			sets = append(sets, func() { q.delay = time.Duration(n) * time.Second })
		case "ReceiveMessageWaitTimeSeconds":
			n, err := intIn(name, v, 0, 20)
			if err != nil {
				return err
			}
			sets = append(sets, func() { q.receiveWait = time.Duration(n) * time.Second })
		case "MaximumMessageSize":
			n, err := intIn(name, v, 1024, MaxMessageSize)
			if err != nil {
				return err
			}
			sets = append(sets, func() { q.maxSize = n })
		case "MessageRetentionPeriod":
			n, err := intIn(name, v, 60, 1209600)
			if err != nil {
				return err
			}
			sets = append(sets, func() { q.retention = n })
		case "FifoQueue":
			if !creating {
				return invalidAttributeName(name)
			}
			// Already applied by createQueue.
		case "ContentBasedDeduplication", "DeduplicationScope", "FifoThroughputLimit":
			if !q.fifo {
				return invalidAttributeName(name)
			}
			if name == "ContentBasedDeduplication" {
				b, err := strconv.ParseBool(v)
				if err != nil {
					return invalidParameter("Invalid value for the parameter %s.", name)
				}
				sets = append(sets, func() { q.contentDedup = b })
				continue
			}
			sets = append(sets, func() { q.extra[name] = v })
		case "RedrivePolicy":
			if v == "" {
				sets = append(sets, func() { q.redrive = nil })
				continue
			}
			p, err := s.parseRedrivePolicy(q, v)
			if err != nil {
				return err
			}
			sets = append(sets, func() { q.redrive = p })
		case "Policy", "KmsMasterKeyId":
			// An empty value removes the attribute.
			if v == "" {
				sets = append(sets, func() { delete(q.extra, name) })
				continue
			}
			sets = append(sets, func() { q.extra[name] = v })
		case "KmsDataKeyReusePeriodSeconds", "RedriveAllowPolicy", "SqsManagedSseEnabled":
			sets = append(sets, func() { q.extra[name] = v })
		default:
			return invalidAttributeName(name)
		}
	}
	for _, set := range sets {
		set()
	}
	return nil
}

func (s *Service) parseRedrivePolicy(q *queue, raw string) (*redrivePolicy, *apiError) {
	var p struct {
		DeadLetterTargetARN string          `json:"deadLetterTargetArn"`
		MaxReceiveCount     json.RawMessage `json:"maxReceiveCount"`
	}
	if err := json.Unmarshal([]byte(raw), &p); err != nil {
		return nil, invalidValue("RedrivePolicy", raw, "Redrive policy is not a valid JSON map.")
	}
	if p.DeadLetterTargetARN == "" || len(p.MaxReceiveCount) == 0 {
		return nil, invalidValue("RedrivePolicy", raw, "Redrive policy does not contain mandatory attribute: deadLetterTargetArn and maxReceiveCount.")
	}
	n, err := strconv.Atoi(strings.Trim(string(p.MaxReceiveCount), `"`))
	if err != nil || n < 1 || n > 1000 {
		return nil, invalidValue("RedrivePolicy", raw, fmt.Sprintf("Invalid value for maxReceiveCount: %s, valid values are from 1 to 1000 both inclusive.", strings.Trim(string(p.MaxReceiveCount), `"`)))
	}
	dlq := s.queueByARN(p.DeadLetterTargetARN)
	if dlq == nil {
		return nil, invalidValue("RedrivePolicy", raw, "Dead letter target does not exist.")
	}
	if dlq.fifo != q.fifo {
		return nil, invalidValue("RedrivePolicy", raw, "Dead-letter target queue type must be the same as the source queue type.")
	}
	return &redrivePolicy{deadLetterTargetARN: p.DeadLetterTargetARN, maxReceiveCount: n}, nil
}

// normalizeAttribute renders an attribute value the way attribute reports
// it, so CreateQueue can tell an identical re-create from a conflicting one.
func normalizeAttribute(name, v string) (string, error) {
	switch name {
	case "VisibilityTimeout", "DelaySeconds", "ReceiveMessageWaitTimeSeconds", "MaximumMessageSize", "MessageRetentionPeriod":
		n, err := strconv.Atoi(v)
		return strconv.Itoa(n), err
	case "FifoQueue", "ContentBasedDeduplication", "SqsManagedSseEnabled":
		b, err := strconv.ParseBool(v)
		return strconv.FormatBool(b), err
	case "RedrivePolicy":
		var p struct {
			DeadLetterTargetARN string          `json:"deadLetterTargetArn"`
			MaxReceiveCount     json.RawMessage `json:"maxReceiveCount"`
		}
		if err := json.Unmarshal([]byte(v), &p); err != nil {
			return "", err
		}
		n, err := strconv.Atoi(strings.Trim(string(p.MaxReceiveCount), `"`))
		return (&redrivePolicy{deadLetterTargetARN: p.DeadLetterTargetARN, maxReceiveCount: n}).String(), err
	default:
		return v, nil
	}
}

// senderID is the SenderId of the caller's messages: its access key, or
// the account when the request is unsigned.
func (s *Service) senderID(ctx context.Context) string {
	if key := awsproto.Caller(ctx).AccessKeyID; key != "" {
		return key
	}
	return s.accountID
}

func (s *Service) sendMessage(ctx context.Context, in *sendMessageInput) (*sendResult, *apiError) {
	p := sendParams{
		body: in.MessageBody, delay: in.DelaySeconds, attrs: in.MessageAttributes, sysAttrs: in.MessageSystemAttributes,
		dedupID: in.MessageDeduplicationID, groupID: in.MessageGroupID, senderID: s.senderID(ctx),
	}
	var out sendResult
	err := s.withQueue(in.QueueURL, func(q *queue) *apiError {
		if err := q.validate(p); err != nil {
			return err
		}
		out = s.enqueue(q, p, s.clock.Now())
		return nil
	})
	if err != nil {
		return nil, err
	}
	return &out, nil
}

var batchEntryID = regexp.MustCompile(`^[A-Za-z0-9_-]{1,80}$`)

// checkBatchIDs applies the request-level rules every batch operation
// shares: 1 to 10 entries, ids well-formed and distinct.
func checkBatchIDs(ids []*string, entryType string) *apiError {
	if len(ids) == 0 {
		return emptyBatch(entryType)
	}
	if len(ids) > MaxBatchEntries {
		return tooManyEntries(len(ids))
	}
	seen := map[string]bool{}
	for _, id := range ids {
		if id == nil {
			return missingParameter("Id")
		}
		if !batchEntryID.MatchString(*id) {
			return invalidBatchEntryID()
		}
		if seen[*id] {
			return batchIDsNotDistinct(*id)
		}
		seen[*id] = true
	}
	return nil
}

func (s *Service) sendMessageBatch(ctx context.Context, in *sendMessageBatchInput) (*sendBatchOutput, *apiError) {
	ids := make([]*string, len(in.Entries))
	total := 0
	for i, e := range in.Entries {
		ids[i] = e.ID
		total += len(deref(e.MessageBody))
		for name, v := range e.MessageAttributes {
			total += attributeSize(name, v)
		}
	}
	if err := checkBatchIDs(ids, "SendMessageBatchRequestEntry"); err != nil {
		return nil, err
	}
	if total > MaxMessageSize {
		return nil, batchTooLong(total)
	}
	sender := s.senderID(ctx)
	out := &sendBatchOutput{Successful: []sendResult{}, Failed: []batchError{}}
	err := s.withQueue(in.QueueURL, func(q *queue) *apiError {
		if q.fifo {
			// A FIFO batch missing a group or deduplication id fails as a
			// whole; a missing group id is InvalidParameterValue here, not
			// the MissingParameter of SendMessage.
			for _, e := range in.Entries {
				if e.MessageGroupID == nil || *e.MessageGroupID == "" {
					return invalidParameter("The request must contain the parameter MessageGroupId.")
				}
				if e.MessageDeduplicationID == nil && !q.contentDedup {
					return invalidParameter("The queue should either have ContentBasedDeduplication enabled or MessageDeduplicationId provided explicitly")
				}
			}
		}
		now := s.clock.Now()
		for _, e := range in.Entries {
			p := sendParams{
				body: e.MessageBody, delay: e.DelaySeconds, attrs: e.MessageAttributes, sysAttrs: e.MessageSystemAttributes,
				dedupID: e.MessageDeduplicationID, groupID: e.MessageGroupID, senderID: sender,
			}
			if err := q.validate(p); err != nil {
				out.Failed = append(out.Failed, entryFailure(*e.ID, err))
				continue
			}
			res := s.enqueue(q, p, now)
			res.ID = *e.ID
			out.Successful = append(out.Successful, res)
		}
		return nil
	})
	if err != nil {
		return nil, err
	}
	return out, nil
}

func (s *Service) receiveMessage(ctx context.Context, in *receiveMessageInput) (*receiveOutput, *apiError) {
	limit := 1
	if in.MaxNumberOfMessages != nil {
		limit = *in.MaxNumberOfMessages
		if limit < 1 || limit > 10 {
			return nil, invalidValue("MaxNumberOfMessages", limit, "Must be between 1 and 10, if provided.")
		}
	}
	if v := in.VisibilityTimeout; v != nil && (*v < 0 || *v > 43200) {
		return nil, invalidValue("VisibilityTimeout", *v, "Must be >= 0 and <= 43200, if provided.")
	}
	if v := in.WaitTimeSeconds; v != nil && (*v < 0 || *v > 20) {
		return nil, invalidValue("WaitTimeSeconds", *v, "Must be >= 0 and <= 20, if provided.")
	}
	sel := newSelection(append(append([]string{}, in.AttributeNames...), in.MessageSystemAttributeNames...), in.MessageAttributeNames)

	s.mu.Lock()
	q, err := s.lookup(in.QueueURL)
	if err != nil {
		s.mu.Unlock()
		return nil, err
	}
	wait := q.receiveWait
	if in.WaitTimeSeconds != nil {
		wait = time.Duration(*in.WaitTimeSeconds) * time.Second
	}
	deadline := s.clock.Now().Add(wait)
	for {
		now := s.clock.Now()
		vis := q.visibility
		if in.VisibilityTimeout != nil {
			vis = time.Duration(*in.VisibilityTimeout) * time.Second
		}
		if got := s.collect(q, limit, vis, now); len(got) > 0 || !now.Before(deadline) {
			msgs := make([]wireMessage, 0, len(got))
			for _, m := range got {
				msgs = append(msgs, sel.render(q, m))
			}
			s.mu.Unlock()
			out := &receiveOutput{}
			if len(msgs) > 0 {
				out.Messages = msgs
			}
			return out, nil
		}
		changed := q.changed
		pause := deadline.Sub(now)
		if next := q.nextVisible(now); !next.IsZero() && next.Sub(now) < pause {
			pause = next.Sub(now)
		}
		q.waiting++
		s.mu.Unlock()
		gone := false
		select {
		case <-changed:
		case <-s.clock.After(pause):
		case <-ctx.Done():
			gone = true
		}
		s.mu.Lock()
		q.waiting--
		if gone {
			s.mu.Unlock()
			return nil, nil // nobody is listening any more
		}
		if s.queues[q.name] != q {
			s.mu.Unlock()
			return nil, queueDoesNotExist()
		}
	}
}

// purgeInterval is how often SQS lets a queue be purged.
const purgeInterval = 60 * time.Second

// selection is which attributes a ReceiveMessage asked for.
type selection struct {
	allSystem bool
	system    map[string]bool
	allUser   bool
	user      map[string]bool
	prefixes  []string
}

func newSelection(system, user []string) selection {
	sel := selection{system: map[string]bool{}, user: map[string]bool{}}
	for _, n := range system {
		if n == "All" {
			sel.allSystem = true
		}
		sel.system[n] = true
	}
	// MessageAttributeNames: "All", ".*" and "*" select every attribute,
	// "Prefix.*" those whose names start with Prefix.
	for _, n := range user {
		switch {
		case n == "All" || n == ".*" || n == "*":
			sel.allUser = true
		case strings.HasSuffix(n, ".*"):
			sel.prefixes = append(sel.prefixes, strings.TrimSuffix(n, ".*"))
		default:
			sel.user[n] = true
		}
	}
	return sel
}

func (sel selection) wantSystem(name string) bool { return sel.allSystem || sel.system[name] }

func (sel selection) wantUser(name string) bool {
	if sel.allUser || sel.user[name] {
		return true
	}
	for _, p := range sel.prefixes {
		if strings.HasPrefix(name, p) {
			return true
		}
	}
	return false
}

func millis(t time.Time) string { return strconv.FormatInt(t.UnixMilli(), 10) }

// render builds the wire form of a just-received message with the
// attributes sel asked for; MD5OfMessageAttributes covers exactly the
// returned message attributes, as SQS computes it.
func (sel selection) render(q *queue, m *message) wireMessage {
	wm := wireMessage{MessageID: m.id, ReceiptHandle: m.receipt, MD5OfBody: m.md5Body, Body: m.body}
	sys := map[string]string{
		"SenderId":                         m.senderID,
		"SentTimestamp":                    millis(m.sent),
		"ApproximateReceiveCount":          strconv.Itoa(m.receiveCount),
		"ApproximateFirstReceiveTimestamp": millis(m.firstReceive),
	}
	if m.groupID != "" {
		sys["MessageGroupId"] = m.groupID
	}
	if q.fifo {
		sys["MessageDeduplicationId"] = m.dedupID
		sys["SequenceNumber"] = m.sequence
	}
	if v, ok := m.sysAttrs["AWSTraceHeader"]; ok {
		sys["AWSTraceHeader"] = deref(v.StringValue)
	}
	if m.dlqSourceARN != "" {
		sys["DeadLetterQueueSourceArn"] = m.dlqSourceARN
	}
	for k, v := range sys {
		if sel.wantSystem(k) {
			if wm.Attributes == nil {
				wm.Attributes = map[string]string{}
			}
			wm.Attributes[k] = v
		}
	}
	names := make([]string, 0, len(m.attrs))
	for k := range m.attrs {
		names = append(names, k)
	}
	sort.Strings(names)
	for _, k := range names {
		if sel.wantUser(k) {
			if wm.MessageAttributes == nil {
				wm.MessageAttributes = map[string]attributeValue{}
			}
			wm.MessageAttributes[k] = m.attrs[k]
		}
	}
	wm.MD5OfMessageAttributes = attributesMD5(wm.MessageAttributes)
	return wm
}

func (s *Service) deleteMessage(_ context.Context, in *deleteMessageInput) (*empty, *apiError) {
	return nil, s.withQueue(in.QueueURL, func(q *queue) *apiError {
		if in.ReceiptHandle == nil {
			return missingParameter("ReceiptHandle")
		}
		return s.deleteByReceipt(q, *in.ReceiptHandle, s.clock.Now())
	})
}

// entryFailure is the Failed entry of a batch response for entry id.
func entryFailure(id string, err *apiError) batchError {
	return batchError{ID: id, SenderFault: true, Code: err.ErrorCode(), Message: err.Message}
}

type batchOutput struct {
	Successful []idResult   `query:"{Action}ResultEntry"`
	Failed     []batchError `query:"BatchResultErrorEntry"`
}

func (s *Service) eachBatchEntry(in *batchInput, entryType string,
	do func(q *queue, e batchEntry, now time.Time) *apiError) (*batchOutput, *apiError) {
	ids := make([]*string, len(in.Entries))
	for i, e := range in.Entries {
		ids[i] = e.ID
	}
	if err := checkBatchIDs(ids, entryType); err != nil {
		return nil, err
	}
	out := &batchOutput{Successful: []idResult{}, Failed: []batchError{}}
	err := s.withQueue(in.QueueURL, func(q *queue) *apiError {
		now := s.clock.Now()
		for _, e := range in.Entries {
			if e.ReceiptHandle == nil {
				out.Failed = append(out.Failed, entryFailure(*e.ID, missingParameter("ReceiptHandle")))
				continue
			}
			if err := do(q, e, now); err != nil {
				out.Failed = append(out.Failed, entryFailure(*e.ID, err))
				continue
			}
			out.Successful = append(out.Successful, idResult{ID: *e.ID})
		}
		return nil
	})
	if err != nil {
		return nil, err
	}
	return out, nil
}

func (s *Service) deleteMessageBatch(_ context.Context, in *batchInput) (*batchOutput, *apiError) {
	return s.eachBatchEntry(in, "DeleteMessageBatchRequestEntry", func(q *queue, e batchEntry, now time.Time) *apiError {
		return s.deleteByReceipt(q, *e.ReceiptHandle, now)
	})
}

func (s *Service) changeMessageVisibility(_ context.Context, in *changeVisibilityInput) (*empty, *apiError) {
	return nil, s.withQueue(in.QueueURL, func(q *queue) *apiError {
		if in.ReceiptHandle == nil {
			return missingParameter("ReceiptHandle")
		}
		return s.changeVisibility(q, *in.ReceiptHandle, in.VisibilityTimeout, s.clock.Now())
	})
}

func (s *Service) changeMessageVisibilityBatch(_ context.Context, in *batchInput) (*batchOutput, *apiError) {
	return s.eachBatchEntry(in, "ChangeMessageVisibilityBatchRequestEntry", func(q *queue, e batchEntry, now time.Time) *apiError {
		vis := e.VisibilityTimeout
		if vis == nil {
			zero := 0
			vis = &zero // the SDK omits a zero VisibilityTimeout in batch entries
		}
		return s.changeVisibility(q, *e.ReceiptHandle, vis, now)
	})
}

func (s *Service) purgeQueue(_ context.Context, in *queueURLInput) (*empty, *apiError) {
	return nil, s.withQueue(in.QueueURL, func(q *queue) *apiError {
		now := s.clock.Now()
		if !q.lastPurge.IsZero() && now.Sub(q.lastPurge) < purgeInterval {
			return purgeInProgress(q.name)
		}
		q.lastPurge = now
		clear(q.messages)
		q.messages = q.messages[:0]
		q.notify()
		return nil
	})
}
