package sqssim

import (
	"fmt"
	"net/http"

	"github.com/prewarm/prewarm/localaws/awsproto"
)

const (
	targetPrefix    = "AmazonSQS"
	errorNamespace  = "com.amazonaws.sqs"
	maxRequestBytes = 16 << 20
)

// apiError is an SQS error as an operation returns it; the protocol codec
// at the edge writes it: the JSON __type names the shape, and the
// x-amzn-query-error header (or the query protocol's <Code>) carries the
// legacy query code that SDKs report as the error code.
type apiError = awsproto.Error

func queueDoesNotExist() *apiError {
	return &apiError{Status: http.StatusBadRequest, Code: "QueueDoesNotExist",
		QueryCode: "AWS.SimpleQueueService.NonExistentQueue", Message: "The specified queue does not exist."}
}

// invalidParameter is SQS's InvalidParameterValue: the JSON protocol names
// its shape InvalidParameterValueException (SDKs other than Go report that
// name), the query protocol InvalidParameterValue.
func invalidParameter(format string, args ...any) *apiError {
	return &apiError{Status: http.StatusBadRequest, Code: "InvalidParameterValueException", QueryCode: "InvalidParameterValue",
		Message: fmt.Sprintf(format, args...)}
}

func invalidValue(param string, value any, reason string) *apiError {
	return invalidParameter("Value %v for parameter %s is invalid. Reason: %s", value, param, reason)
}

// missingParameter is SQS's MissingParameter, whose JSON shape is
// MissingRequiredParameterException.
func missingParameter(name string) *apiError {
	return &apiError{Status: http.StatusBadRequest, Code: "MissingRequiredParameterException", QueryCode: "MissingParameter",
		Message: "The request must contain the parameter " + name + "."}
}

func purgeInProgress(queue string) *apiError {
	return &apiError{Status: http.StatusForbidden, Code: "PurgeQueueInProgress", QueryCode: "AWS.SimpleQueueService.PurgeQueueInProgress",
		Message: "Only one PurgeQueue operation on " + queue + " is allowed every 60 seconds."}
}

func invalidAttributeName(name string) *apiError {
	return &apiError{Status: http.StatusBadRequest, Code: "InvalidAttributeName",
		Message: "Unknown Attribute " + name + "."}
}

func receiptHandleInvalid(handle string) *apiError {
	return &apiError{Status: http.StatusNotFound, Code: "ReceiptHandleIsInvalid",
		Message: fmt.Sprintf("The input receipt handle %q is not a valid receipt handle.", handle)}
}

func messageNotInflight() *apiError {
	return &apiError{Status: http.StatusBadRequest, Code: "MessageNotInflight",
		QueryCode: "AWS.SimpleQueueService.MessageNotInflight", Message: "Message is not in flight."}
}

func tooManyEntries(n int) *apiError {
	return &apiError{Status: http.StatusBadRequest, Code: "TooManyEntriesInBatchRequest",
		QueryCode: "AWS.SimpleQueueService.TooManyEntriesInBatchRequest",
		Message:   fmt.Sprintf("Maximum number of entries per request are %d. You have sent %d.", MaxBatchEntries, n)}
}

func emptyBatch(entryType string) *apiError {
	return &apiError{Status: http.StatusBadRequest, Code: "EmptyBatchRequest",
		QueryCode: "AWS.SimpleQueueService.EmptyBatchRequest",
		Message:   "There should be at least one " + entryType + " in the request."}
}

func invalidBatchEntryID() *apiError {
	return &apiError{Status: http.StatusBadRequest, Code: "InvalidBatchEntryId",
		QueryCode: "AWS.SimpleQueueService.InvalidBatchEntryId",
		Message:   "A batch entry id can only contain alphanumeric characters, hyphens and underscores. It can be at most 80 letters long."}
}

func batchIDsNotDistinct(id string) *apiError {
	return &apiError{Status: http.StatusBadRequest, Code: "BatchEntryIdsNotDistinct",
		QueryCode: "AWS.SimpleQueueService.BatchEntryIdsNotDistinct", Message: "Id " + id + " repeated."}
}

func batchTooLong(n int) *apiError {
	return &apiError{Status: http.StatusBadRequest, Code: "BatchRequestTooLong",
		QueryCode: "AWS.SimpleQueueService.BatchRequestTooLong",
		Message:   fmt.Sprintf("Batch requests cannot be longer than %d bytes. You have sent %d bytes.", MaxMessageSize, n)}
}

func throttled() *apiError {
	return &apiError{Status: http.StatusForbidden, Code: "RequestThrottled", QueryCode: "RequestThrottled", Message: "Rate exceeded"}
}

func messageTooLong(limit int) *apiError {
	return invalidParameter("One or more parameters are invalid. Reason: Message must be shorter than %d bytes.", limit)
}

type attributeValue struct {
	DataType         *string  `json:"DataType,omitempty"`
	StringValue      *string  `json:"StringValue,omitempty"`
	BinaryValue      []byte   `json:"BinaryValue,omitempty"`
	StringListValues []string `json:"StringListValues,omitempty" query:"StringListValue"`
	BinaryListValues [][]byte `json:"BinaryListValues,omitempty" query:"BinaryListValue"`
}

// Wire shapes. Field names are the SQS API member names; `query` tags name
// them in the query protocol where it differs (see awsproto.Query).

type createQueueInput struct {
	QueueName  *string
	Attributes map[string]string `query:"Attribute,map=Name/Value"`
	Tags       map[string]string `json:"tags" query:"Tag,map=Key/Value"`
}

type queueURLInput struct {
	QueueURL *string `json:"QueueUrl"`
}

type getQueueURLInput struct {
	QueueName              *string
	QueueOwnerAWSAccountID *string `json:"QueueOwnerAWSAccountId"`
}

type getQueueAttributesInput struct {
	QueueURL       *string  `json:"QueueUrl"`
	AttributeNames []string `query:"AttributeName"`
}

type setQueueAttributesInput struct {
	QueueURL   *string           `json:"QueueUrl"`
	Attributes map[string]string `query:"Attribute,map=Name/Value"`
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
	MessageAttributes       map[string]attributeValue `query:"MessageAttribute,map=Name/Value"`
	MessageSystemAttributes map[string]attributeValue `query:"MessageSystemAttribute,map=Name/Value"`
	MessageDeduplicationID  *string                   `json:"MessageDeduplicationId"`
	MessageGroupID          *string                   `json:"MessageGroupId"`
}

type sendMessageBatchEntry struct {
	ID                      *string `json:"Id"`
	MessageBody             *string
	DelaySeconds            *int
	MessageAttributes       map[string]attributeValue `query:"MessageAttribute,map=Name/Value"`
	MessageSystemAttributes map[string]attributeValue `query:"MessageSystemAttribute,map=Name/Value"`
	MessageDeduplicationID  *string                   `json:"MessageDeduplicationId"`
	MessageGroupID          *string                   `json:"MessageGroupId"`
}

type sendMessageBatchInput struct {
	QueueURL *string                 `json:"QueueUrl"`
	Entries  []sendMessageBatchEntry `query:"{Action}RequestEntry"`
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
	QueueURL                    *string  `json:"QueueUrl"`
	AttributeNames              []string `query:"AttributeName"`
	MessageSystemAttributeNames []string `query:"MessageSystemAttributeName"`
	MessageAttributeNames       []string `query:"MessageAttributeName"`
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
	Attributes             map[string]string         `json:",omitempty" query:"Attribute,map=Name/Value"`
	MD5OfMessageAttributes string                    `json:",omitempty"`
	MessageAttributes      map[string]attributeValue `json:",omitempty" query:"MessageAttribute,map=Name/Value"`
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
	QueueURL *string      `json:"QueueUrl"`
	Entries  []batchEntry `query:"{Action}RequestEntry"`
}

type empty struct{}

type queueURLOutput struct {
	QueueURL string `json:"QueueUrl"`
}

type listQueuesOutput struct {
	QueueURLs []string `json:"QueueUrls,omitempty" query:"QueueUrl"`
}

type attributesOutput struct {
	Attributes map[string]string `json:",omitempty" query:"Attribute,map=Name/Value"`
}

type sendBatchOutput struct {
	Successful []sendResult `query:"{Action}ResultEntry"`
	Failed     []batchError `query:"BatchResultErrorEntry"`
}

type receiveOutput struct {
	Messages []wireMessage `json:",omitempty" query:"Message"`
}

type idResult struct {
	ID string `json:"Id"`
}

type changeVisibilityInput struct {
	QueueURL          *string `json:"QueueUrl"`
	ReceiptHandle     *string
	VisibilityTimeout *int
}

func newID() string { return awsproto.RequestID() }
