package sqssim

import (
	"encoding/base64"
	"encoding/json"
	"fmt"
	"strconv"
	"strings"
	"time"
)

// queue is one queue's state; every field is guarded by Service.mu.
type queue struct {
	name, arn    string
	fifo         bool
	contentDedup bool
	visibility   time.Duration
	delay        time.Duration
	receiveWait  time.Duration
	maxSize      int // 0 means MaxMessageSize
	retention    int // seconds, 0 means the default
	redrive      *redrivePolicy
	created      time.Time
	modified     time.Time
	extra        map[string]string // attributes stored and echoed only (Policy, KMS, ...)
	tags         map[string]string
	moveTasks    []*moveTask // newest last

	lastPurge time.Time // zero until the first PurgeQueue

	messages []*message // in send order; for FIFO also sequence order
	dedup    map[string]dedupEntry
	sequence uint64

	// changed is closed and replaced whenever a receiver might now find a
	// message; long polls wait on it.
	changed chan struct{}
	waiting int // receives parked in a long poll
}

type redrivePolicy struct {
	deadLetterTargetARN string
	maxReceiveCount     int
}

// String renders the policy as GetQueueAttributes returns it.
func (p *redrivePolicy) String() string {
	b, _ := json.Marshal(struct {
		DeadLetterTargetArn string `json:"deadLetterTargetArn"`
		MaxReceiveCount     int    `json:"maxReceiveCount"`
	}{p.deadLetterTargetARN, p.maxReceiveCount})
	return string(b)
}

type dedupEntry struct {
	messageID string
	sequence  string
	expires   time.Time
}

type message struct {
	id           string
	body         string
	md5Body      string
	attrs        map[string]attributeValue
	sysAttrs     map[string]attributeValue
	senderID     string
	sent         time.Time
	visibleAt    time.Time
	receiveCount int
	firstReceive time.Time
	receipt      string // latest receipt handle; "" until first received
	groupID      string
	dedupID      string
	sequence     string
	dlqSourceARN string
}

const (
	stateVisible  = "visible"
	stateInFlight = "inflight"
	stateDelayed  = "delayed"
)

func (m *message) state(now time.Time) string {
	switch {
	case !now.Before(m.visibleAt):
		return stateVisible
	case m.receipt != "":
		return stateInFlight
	default:
		return stateDelayed
	}
}

func (q *queue) notify() {
	close(q.changed)
	q.changed = make(chan struct{})
}

func (q *queue) counts(now time.Time) Counts {
	var c Counts
	for _, m := range q.messages {
		switch m.state(now) {
		case stateVisible:
			c.Visible++
		case stateInFlight:
			c.InFlight++
		default:
			c.Delayed++
		}
	}
	return c
}

// nextVisible is when the next hidden message becomes visible, zero if none.
func (q *queue) nextVisible(now time.Time) time.Time {
	var next time.Time
	for _, m := range q.messages {
		if m.visibleAt.After(now) && (next.IsZero() || m.visibleAt.Before(next)) {
			next = m.visibleAt
		}
	}
	return next
}

func (q *queue) maxMessageSize() int {
	if q.maxSize > 0 {
		return q.maxSize
	}
	return MaxMessageSize
}

func (q *queue) find(id string) (int, *message) {
	for i, m := range q.messages {
		if m.id == id {
			return i, m
		}
	}
	return -1, nil
}

func (q *queue) remove(i int) {
	q.messages = append(q.messages[:i], q.messages[i+1:]...)
}

// nextSequence returns the next FIFO sequence number: 20 digits, growing.
func (q *queue) nextSequence() string {
	q.sequence++
	return strconv.FormatUint(10000000000000000000+q.sequence, 10)
}

// sendParams is one message to enqueue, from SendMessage or a batch entry.
type sendParams struct {
	body     *string
	delay    *int
	attrs    map[string]attributeValue
	sysAttrs map[string]attributeValue
	dedupID  *string
	groupID  *string
	senderID string
}

// validate checks p against q the way SQS does before accepting a message.
func (q *queue) validate(p sendParams) *apiError {
	if p.body == nil || *p.body == "" {
		return missingParameter("MessageBody")
	}
	if bad, ok := invalidCharacter(*p.body); ok {
		return &apiError{Status: 400, Code: "InvalidMessageContents", Message: fmt.Sprintf(
			"Invalid binary character '#x%X' was found in the message body, the set of allowed characters is #x9 | #xA | #xD | #x20 to #xD7FF | #xE000 to #xFFFD | #x10000 to #x10FFFF", bad)}
	}
	size := len(*p.body)
	if len(p.attrs) > 10 {
		return invalidParameter("Number of message attributes [%d] exceeds the allowed maximum [10].", len(p.attrs))
	}
	for name, v := range p.attrs {
		if err := validateAttribute(name, v); err != nil {
			return err
		}
		size += attributeSize(name, v)
	}
	if size > q.maxMessageSize() {
		return messageTooLong(q.maxMessageSize())
	}
	for name, v := range p.sysAttrs {
		if name != "AWSTraceHeader" {
			return invalidParameter("Message system attribute name '%s' is invalid.", name)
		}
		if deref(v.DataType) != "String" || v.StringValue == nil {
			return invalidParameter("Message system attribute 'AWSTraceHeader' must be of DataType String with a StringValue.")
		}
	}
	if p.delay != nil {
		d := *p.delay
		if d < 0 || d > 900 {
			return invalidValue("DelaySeconds", d, "Must be >= 0 and <= 900, if provided.")
		}
		if q.fifo && d != 0 {
			return invalidValue("DelaySeconds", d, "The request include parameter that is not valid for this queue type.")
		}
	}
	if !q.fifo {
		if p.dedupID != nil {
			return invalidValue("MessageDeduplicationId", *p.dedupID, "The request include parameter that is not valid for this queue type.")
		}
		if p.groupID != nil && !validFIFOTag(*p.groupID) {
			return invalidValue("MessageGroupId", *p.groupID, "MessageGroupId can only include alphanumeric and punctuation characters. 1 to 128 in length.")
		}
		return nil
	}
	if p.groupID == nil || *p.groupID == "" {
		return missingParameter("MessageGroupId")
	}
	if !validFIFOTag(*p.groupID) {
		return invalidValue("MessageGroupId", *p.groupID, "MessageGroupId can only include alphanumeric and punctuation characters. 1 to 128 in length.")
	}
	if p.dedupID == nil && !q.contentDedup {
		return invalidParameter("The queue should either have ContentBasedDeduplication enabled or MessageDeduplicationId provided explicitly")
	}
	if p.dedupID != nil && !validFIFOTag(*p.dedupID) {
		return invalidValue("MessageDeduplicationId", *p.dedupID, "MessageDeduplicationId can only include alphanumeric and punctuation characters. 1 to 128 in length.")
	}
	return nil
}

// enqueue stores a validated message and returns what SendMessage answers.
// A FIFO duplicate inside the deduplication window answers with the
// original message id and is not stored again.
func (s *Service) enqueue(q *queue, p sendParams, now time.Time) sendResult {
	res := sendResult{
		MD5OfMessageBody:             md5Hex(*p.body),
		MD5OfMessageAttributes:       attributesMD5(p.attrs),
		MD5OfMessageSystemAttributes: attributesMD5(p.sysAttrs),
	}
	m := &message{
		id:        newID(),
		body:      *p.body,
		md5Body:   res.MD5OfMessageBody,
		attrs:     p.attrs,
		sysAttrs:  p.sysAttrs,
		senderID:  p.senderID,
		sent:      now,
		visibleAt: now.Add(q.delay),
		groupID:   deref(p.groupID),
	}
	// A message's own DelaySeconds, 0 included, replaces the queue's.
	if p.delay != nil {
		m.visibleAt = now.Add(time.Duration(*p.delay) * time.Second)
	}
	if q.fifo {
		m.dedupID = deref(p.dedupID)
		if p.dedupID == nil {
			m.dedupID = sha256Hex(*p.body)
		}
		for id, e := range q.dedup {
			if !now.Before(e.expires) {
				delete(q.dedup, id)
			}
		}
		if e, ok := q.dedup[m.dedupID]; ok {
			res.MessageID, res.SequenceNumber = e.messageID, e.sequence
			return res
		}
		m.sequence = q.nextSequence()
		q.dedup[m.dedupID] = dedupEntry{messageID: m.id, sequence: m.sequence, expires: now.Add(DeduplicationWindow)}
	}
	q.messages = append(q.messages, m)
	q.notify()
	res.MessageID, res.SequenceNumber = m.id, m.sequence
	return res
}

// collect hands out up to limit visible messages, hiding each for vis, and
// moves messages past their redrive maxReceiveCount to the dead-letter
// queue instead of delivering them. On a FIFO queue a message group with a
// message in flight (or a delayed head) delivers nothing, so order within
// the group holds.
func (s *Service) collect(q *queue, limit int, vis time.Duration, now time.Time) []*message {
	var out []*message
	blocked := map[string]bool{}
	moved := map[*message]bool{}
	for _, m := range q.messages {
		if len(out) == limit {
			break
		}
		if q.fifo && blocked[m.groupID] {
			continue
		}
		if m.state(now) != stateVisible {
			blocked[m.groupID] = true
			continue
		}
		if q.redrive != nil && m.receiveCount >= q.redrive.maxReceiveCount {
			if dlq := s.queueByARN(q.redrive.deadLetterTargetARN); dlq != nil && dlq != q {
				moved[m] = true
				s.moveToDeadLetter(q, dlq, m, now)
				continue
			}
		}
		m.receiveCount++
		if m.firstReceive.IsZero() {
			m.firstReceive = now
		}
		m.receipt = s.newReceipt(q, m)
		m.visibleAt = now.Add(vis)
		out = append(out, m)
	}
	if len(moved) > 0 {
		kept := q.messages[:0]
		for _, m := range q.messages {
			if !moved[m] {
				kept = append(kept, m)
			}
		}
		clear(q.messages[len(kept):])
		q.messages = kept
	}
	return out
}

// moveToDeadLetter moves m to dlq as SQS does: body, attributes and
// AWSTraceHeader carry over, DeadLetterQueueSourceArn is added, and the
// receive count goes on counting (the DLQ receive is one more).
func (s *Service) moveToDeadLetter(src, dlq *queue, m *message, now time.Time) {
	moved := *m
	moved.receipt = ""
	moved.visibleAt = now
	moved.dlqSourceARN = src.arn
	moved.sequence = ""
	if dlq.fifo {
		moved.sequence = dlq.nextSequence()
	}
	dlq.messages = append(dlq.messages, &moved)
	dlq.notify()
}

func (s *Service) queueByARN(arn string) *queue {
	i := strings.LastIndexByte(arn, ':')
	if i < 0 {
		return nil
	}
	q := s.queues[arn[i+1:]]
	if q == nil || q.arn != arn {
		return nil
	}
	return q
}

// Receipt handles name the queue and message and carry a nonce, so each
// receive yields a new handle and a handle from an earlier receive still
// identifies its message.
func (s *Service) newReceipt(q *queue, m *message) string {
	s.serial++
	raw := q.name + "\x00" + m.id + "\x00" + strconv.FormatUint(s.serial, 10) + "\x00" + newID()
	return base64.RawURLEncoding.EncodeToString([]byte(raw))
}

func parseReceipt(handle string) (queueName, messageID string, ok bool) {
	raw, err := base64.RawURLEncoding.DecodeString(handle)
	if err != nil {
		return "", "", false
	}
	parts := strings.Split(string(raw), "\x00")
	if len(parts) != 4 || parts[0] == "" || parts[1] == "" {
		return "", "", false
	}
	return parts[0], parts[1], true
}

// deleteByReceipt deletes the message handle names. A handle from an
// earlier receive deletes the message from a standard queue (as AWS does in
// practice). On a FIFO queue only the latest handle deletes, and only
// while its visibility timeout lasts: once it has passed AWS answers that
// the handle has expired and the message is delivered again; a handle an
// earlier receive superseded succeeds without effect, as the SQS
// documentation describes, so a redelivered message's order is never
// broken by a late delete.
func (s *Service) deleteByReceipt(q *queue, handle string, now time.Time) *apiError {
	name, id, ok := parseReceipt(handle)
	if !ok || name != q.name {
		return receiptHandleInvalid(handle)
	}
	i, m := q.find(id)
	if m == nil {
		return nil
	}
	if q.fifo && m.receipt != handle {
		return nil
	}
	if q.fifo && m.state(now) == stateVisible {
		return invalidValue("ReceiptHandle", handle, "The receipt handle has expired.")
	}
	q.remove(i)
	q.notify()
	return nil
}

func (s *Service) changeVisibility(q *queue, handle string, vis *int, now time.Time) *apiError {
	if vis == nil {
		return missingParameter("VisibilityTimeout")
	}
	if *vis < 0 || *vis > 43200 {
		return invalidValue("VisibilityTimeout", *vis, "Must be between 0 and 43200, if provided.")
	}
	name, id, ok := parseReceipt(handle)
	if !ok || name != q.name {
		return receiptHandleInvalid(handle)
	}
	_, m := q.find(id)
	if m == nil {
		return receiptHandleInvalid(handle)
	}
	// On a standard queue the latest handle still changes the visibility
	// of a message whose timeout has lapsed, while nobody has received it
	// again (AWS answers MessageNotInflight only for a message never
	// received).
	switch {
	case q.fifo && (m.state(now) != stateInFlight || m.receipt != handle):
		return messageNotInflight()
	case !q.fifo && m.state(now) != stateInFlight && m.receipt != handle:
		return messageNotInflight()
	}
	m.visibleAt = now.Add(time.Duration(*vis) * time.Second)
	if *vis == 0 {
		q.notify()
	}
	return nil
}

func invalidCharacter(s string) (rune, bool) {
	for _, r := range s {
		switch {
		case r == 0x9 || r == 0xA || r == 0xD:
		case r >= 0x20 && r <= 0xD7FF:
		case r >= 0xE000 && r <= 0xFFFD:
		case r >= 0x10000 && r <= 0x10FFFF:
		default:
			return r, true
		}
	}
	return 0, false
}

func validFIFOTag(s string) bool {
	if len(s) == 0 || len(s) > 128 {
		return false
	}
	for i := 0; i < len(s); i++ {
		if c := s[i]; c < 0x21 || c > 0x7E {
			return false
		}
	}
	return true
}

func validateAttribute(name string, v attributeValue) *apiError {
	if name == "" || len(name) > 256 || !validAttributeName(name) {
		return invalidParameter("Message (user) attribute '%s' has an invalid name.", name)
	}
	dt := deref(v.DataType)
	switch {
	case dt == "":
		return invalidParameter("The message attribute '%s' must contain a non-empty message attribute type.", name)
	case strings.HasPrefix(dt, "String"), strings.HasPrefix(dt, "Number"):
		if v.StringValue == nil || *v.StringValue == "" {
			return invalidParameter("The message attribute '%s' must contain non-empty message attribute value for message attribute type '%s'.", name, dt)
		}
		if strings.HasPrefix(dt, "Number") {
			if _, err := strconv.ParseFloat(*v.StringValue, 64); err != nil {
				return invalidParameter("Can't cast the value of message (user) attribute '%s' to a number.", name)
			}
		}
	case strings.HasPrefix(dt, "Binary"):
		if len(v.BinaryValue) == 0 {
			return invalidParameter("The message attribute '%s' must contain non-empty message attribute value for message attribute type '%s'.", name, dt)
		}
	default:
		return invalidParameter("The message attribute '%s' has an invalid message attribute type, the set of supported type prefixes is Binary, Number, and String.", name)
	}
	return nil
}

func validAttributeName(name string) bool {
	lower := strings.ToLower(name)
	if strings.HasPrefix(lower, "aws.") || strings.HasPrefix(lower, "amazon.") ||
		strings.HasPrefix(name, ".") || strings.HasSuffix(name, ".") || strings.Contains(name, "..") {
		return false
	}
	for _, c := range name {
		if !isAlnum(c) && c != '_' && c != '-' && c != '.' {
			return false
		}
	}
	return true
}

// isAlnum reports whether c is an ASCII letter or digit.
func isAlnum(c rune) bool {
	return c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9'
}

func attributeSize(name string, v attributeValue) int {
	n := len(name) + len(deref(v.DataType)) + len(deref(v.StringValue)) + len(v.BinaryValue)
	for _, s := range v.StringListValues {
		n += len(s)
	}
	for _, b := range v.BinaryListValues {
		n += len(b)
	}
	return n
}

func validQueueName(name string, fifo bool) bool {
	base := name
	if fifo {
		var ok bool
		if base, ok = strings.CutSuffix(name, ".fifo"); !ok {
			return false
		}
	}
	if len(name) < 1 || len(name) > 80 || base == "" {
		return false
	}
	for _, c := range base {
		if !isAlnum(c) && c != '_' && c != '-' {
			return false
		}
	}
	return true
}

func queueNameRule(fifo bool) string {
	if fifo {
		return "The name of a FIFO queue can only include alphanumeric characters, hyphens, or underscores, must end with .fifo suffix and be 1 to 80 in length."
	}
	return "Can only include alphanumeric characters, hyphens, or underscores. 1 to 80 in length"
}
