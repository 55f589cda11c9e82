package sqssim

import (
	"crypto/rand"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"strings"
)

const (
	targetPrefix    = "AmazonSQS."
	contentType     = "application/x-amz-json-1.0"
	errorNamespace  = "com.amazonaws.sqs"
	maxRequestBytes = 16 << 20
)

// apiError is an SQS error as it goes on the wire: the JSON __type names the
// shape, the x-amzn-query-error header carries the legacy query code that
// the SDK reports as the error code.
type apiError struct {
	status    int
	shape     string // e.g. QueueDoesNotExist
	namespace string // errorNamespace when empty
	queryCode string // e.g. AWS.SimpleQueueService.NonExistentQueue; shape when empty
	receiver  bool   // fault is the service's, not the caller's
	message   string
}

func (e *apiError) Error() string { return e.code() + ": " + e.message }

func (e *apiError) code() string {
	if e.queryCode != "" {
		return e.queryCode
	}
	return e.shape
}

func writeError(w http.ResponseWriter, e *apiError) {
	ns := e.namespace
	if ns == "" {
		ns = errorNamespace
	}
	fault := "Sender"
	if e.receiver {
		fault = "Receiver"
	}
	body, _ := json.Marshal(struct {
		Type    string `json:"__type"`
		Message string `json:"message"`
	}{ns + "#" + e.shape, e.message})
	h := w.Header()
	h.Set("Content-Type", contentType)
	h.Set("x-amzn-query-error", e.code()+";"+fault)
	h.Set("x-amzn-RequestId", newID())
	w.WriteHeader(e.status)
	_, _ = w.Write(body)
}

func writeJSON(w http.ResponseWriter, v any) {
	body, err := json.Marshal(v)
	if err != nil {
		writeError(w, internalError(fmt.Sprintf("encode response: %v", err)))
		return
	}
	h := w.Header()
	h.Set("Content-Type", contentType)
	h.Set("x-amzn-RequestId", newID())
	w.WriteHeader(http.StatusOK)
	_, _ = w.Write(body)
}

// decode reads r's JSON body into v, answering malformed input the way SQS
// does instead of failing the server.
func decode(r *http.Request, v any) *apiError {
	body, err := io.ReadAll(io.LimitReader(r.Body, maxRequestBytes+1))
	if err != nil {
		return serializationError("Could not read the request body.")
	}
	if len(body) > maxRequestBytes {
		return &apiError{status: http.StatusRequestEntityTooLarge, shape: "RequestEntityTooLarge",
			message: "Request body is too large."}
	}
	if len(strings.TrimSpace(string(body))) == 0 {
		body = []byte("{}")
	}
	if err := json.Unmarshal(body, v); err != nil {
		var typeErr *json.UnmarshalTypeError
		if errors.As(err, &typeErr) && typeErr.Field != "" {
			return serializationError(fmt.Sprintf("Unexpected value for field %s: %s is not a %s.", typeErr.Field, typeErr.Value, typeErr.Type))
		}
		return serializationError("Malformed JSON request body: " + err.Error())
	}
	return nil
}

func serializationError(msg string) *apiError {
	return &apiError{status: http.StatusBadRequest, shape: "SerializationException",
		namespace: "com.amazon.coral.service", message: msg}
}

func internalError(msg string) *apiError {
	return &apiError{status: http.StatusInternalServerError, shape: "InternalFailure",
		namespace: "com.amazon.coral.service", receiver: true, message: msg}
}

func queueDoesNotExist() *apiError {
	return &apiError{status: http.StatusBadRequest, shape: "QueueDoesNotExist",
		queryCode: "AWS.SimpleQueueService.NonExistentQueue", message: "The specified queue does not exist."}
}

func invalidParameter(format string, args ...any) *apiError {
	return &apiError{status: http.StatusBadRequest, shape: "InvalidParameterValue",
		message: fmt.Sprintf(format, args...)}
}

func invalidValue(param string, value any, reason string) *apiError {
	return invalidParameter("Value %v for parameter %s is invalid. Reason: %s", value, param, reason)
}

func missingParameter(name string) *apiError {
	return &apiError{status: http.StatusBadRequest, shape: "MissingParameter",
		message: "The request must contain the parameter " + name + "."}
}

func invalidAttributeName(name string) *apiError {
	return &apiError{status: http.StatusBadRequest, shape: "InvalidAttributeName",
		message: "Unknown Attribute " + name + "."}
}

func receiptHandleInvalid(handle string) *apiError {
	return &apiError{status: http.StatusNotFound, shape: "ReceiptHandleIsInvalid",
		message: fmt.Sprintf("The input receipt handle %q is not a valid receipt handle.", handle)}
}

func messageNotInflight() *apiError {
	return &apiError{status: http.StatusBadRequest, shape: "MessageNotInflight",
		queryCode: "AWS.SimpleQueueService.MessageNotInflight", message: "Message is not in flight."}
}

func tooManyEntries(n int) *apiError {
	return &apiError{status: http.StatusBadRequest, shape: "TooManyEntriesInBatchRequest",
		queryCode: "AWS.SimpleQueueService.TooManyEntriesInBatchRequest",
		message:   fmt.Sprintf("Maximum number of entries per request are %d. You have sent %d.", MaxBatchEntries, n)}
}

func emptyBatch(entryType string) *apiError {
	return &apiError{status: http.StatusBadRequest, shape: "EmptyBatchRequest",
		queryCode: "AWS.SimpleQueueService.EmptyBatchRequest",
		message:   "There should be at least one " + entryType + " in the request."}
}

func invalidBatchEntryID() *apiError {
	return &apiError{status: http.StatusBadRequest, shape: "InvalidBatchEntryId",
		queryCode: "AWS.SimpleQueueService.InvalidBatchEntryId",
		message:   "A batch entry id can only contain alphanumeric characters, hyphens and underscores. It can be at most 80 letters long."}
}

func batchIDsNotDistinct(id string) *apiError {
	return &apiError{status: http.StatusBadRequest, shape: "BatchEntryIdsNotDistinct",
		queryCode: "AWS.SimpleQueueService.BatchEntryIdsNotDistinct", message: "Id " + id + " repeated."}
}

func batchTooLong(n int) *apiError {
	return &apiError{status: http.StatusBadRequest, shape: "BatchRequestTooLong",
		queryCode: "AWS.SimpleQueueService.BatchRequestTooLong",
		message:   fmt.Sprintf("Batch requests cannot be longer than %d bytes. You have sent %d bytes.", MaxMessageSize, n)}
}

func messageTooLong(limit int) *apiError {
	return invalidParameter("One or more parameters are invalid. Reason: Message must be shorter than %d bytes.", limit)
}

// Wire shapes. Field names are the SQS API member names.

type attributeValue struct {
	DataType         *string  `json:"DataType,omitempty"`
	StringValue      *string  `json:"StringValue,omitempty"`
	BinaryValue      []byte   `json:"BinaryValue,omitempty"`
	StringListValues []string `json:"StringListValues,omitempty"`
	BinaryListValues [][]byte `json:"BinaryListValues,omitempty"`
}

type createQueueInput struct {
	QueueName  *string
	Attributes map[string]string
	Tags       map[string]string `json:"tags"`
}

type queueURLInput struct {
	QueueURL *string `json:"QueueUrl"`
}

type getQueueURLInput struct {
	QueueName              *string
	QueueOwnerAWSAccountID *string `json:"QueueOwnerAWSAccountId"`
}

type getQueueAttributesInput struct {
	QueueURL       *string `json:"QueueUrl"`
	AttributeNames []string
}

type setQueueAttributesInput struct {
	QueueURL   *string `json:"QueueUrl"`
	Attributes map[string]string
}

type listQueuesInput struct {
	QueueNamePrefix *string
	MaxResults      *int
	NextToken       *string
}

type sendMessageInput struct {
	QueueURL                *string `json:"QueueUrl"`
	MessageBody             *string
	DelaySeconds            *int
	MessageAttributes       map[string]attributeValue
	MessageSystemAttributes map[string]attributeValue
	MessageDeduplicationID  *string `json:"MessageDeduplicationId"`
	MessageGroupID          *string `json:"MessageGroupId"`
}

type sendMessageBatchEntry struct {
	ID                      *string `json:"Id"`
	MessageBody             *string
	DelaySeconds            *int
	MessageAttributes       map[string]attributeValue
	MessageSystemAttributes map[string]attributeValue
	MessageDeduplicationID  *string `json:"MessageDeduplicationId"`
	MessageGroupID          *string `json:"MessageGroupId"`
}

type sendMessageBatchInput struct {
	QueueURL *string `json:"QueueUrl"`
	Entries  []sendMessageBatchEntry
}

type sendResult struct {
	ID                           string `json:"Id,omitempty"`
	MessageID                    string `json:"MessageId"`
	MD5OfMessageBody             string
	MD5OfMessageAttributes       string `json:",omitempty"`
	MD5OfMessageSystemAttributes string `json:",omitempty"`
	SequenceNumber               string `json:",omitempty"`
}

type batchError struct {
	ID          string `json:"Id"`
	SenderFault bool
	Code        string
	Message     string
}

type receiveMessageInput struct {
	QueueURL                    *string `json:"QueueUrl"`
	AttributeNames              []string
	MessageSystemAttributeNames []string
	MessageAttributeNames       []string
	MaxNumberOfMessages         *int
	VisibilityTimeout           *int
	WaitTimeSeconds             *int
	ReceiveRequestAttemptID     *string `json:"ReceiveRequestAttemptId"`
}

type wireMessage struct {
	MessageID              string `json:"MessageId"`
	ReceiptHandle          string
	MD5OfBody              string
	Body                   string
	Attributes             map[string]string         `json:",omitempty"`
	MD5OfMessageAttributes string                    `json:",omitempty"`
	MessageAttributes      map[string]attributeValue `json:",omitempty"`
}

type deleteMessageInput struct {
	QueueURL      *string `json:"QueueUrl"`
	ReceiptHandle *string
}

type batchEntry struct {
	ID                *string `json:"Id"`
	ReceiptHandle     *string
	VisibilityTimeout *int
}

type batchInput struct {
	QueueURL *string `json:"QueueUrl"`
	Entries  []batchEntry
}

type idResult struct {
	ID string `json:"Id"`
}

type changeVisibilityInput struct {
	QueueURL          *string `json:"QueueUrl"`
	ReceiptHandle     *string
	VisibilityTimeout *int
}

func newID() string {
	var b [16]byte
	_, _ = rand.Read(b[:])
	b[6] = b[6]&0x0f | 0x40
	b[8] = b[8]&0x3f | 0x80
	return fmt.Sprintf("%x-%x-%x-%x-%x", b[0:4], b[4:6], b[6:8], b[8:10], b[10:16])
}
