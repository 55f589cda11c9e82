package watch

import (
	"errors"
	"fmt"
	"strings"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/sqs/types"
	"github.com/aws/smithy-go"
)

// PermanentError is an SQS error that retrying cannot cure: the queue does not exist, access is
// denied, the credentials are refused. Waiting stops at once with it.
type PermanentError struct {
	// Op is the SQS call ("receive", "delete").
	Op string
	// QueueURL is the queue called.
	QueueURL string
	// Err is the SDK's error.
	Err error
}

func (e *PermanentError) Error() string {
	return fmt.Sprintf("%s %s: %v (%s)", e.Op, e.QueueURL, e.Err, e.Hint())
}

// Unwrap returns the SDK's error.
func (e *PermanentError) Unwrap() error { return e.Err }

// Is matches ErrPermanent.
func (e *PermanentError) Is(target error) bool { return target == ErrPermanent }

// Hint says what to check, in the words of the failure.
func (e *PermanentError) Hint() string {
	var qd *types.QueueDoesNotExist
	if errors.As(e.Err, &qd) {
		return "check the queue URL: its account, Region and name"
	}
	var api smithy.APIError
	if errors.As(e.Err, &api) && strings.Contains(api.ErrorCode(), "AccessDenied") {
		return "the credentials in use may not call this queue: grant sqs:ReceiveMessage, sqs:DeleteMessage and sqs:ChangeMessageVisibility on it"
	}
	var region *aws.MissingRegionError
	if errors.As(e.Err, &region) {
		return "set AWS_REGION or pass a queue URL of the Region"
	}
	return "check the AWS credentials and the queue URL"
}

// IsPermanent reports whether err is a *PermanentError.
func IsPermanent(err error) bool { return errors.Is(err, ErrPermanent) }

// permanentCodes are the SQS error codes, in both the JSON and the query protocol's words,
// after which a retry cannot succeed.
var permanentCodes = map[string]bool{
	"AWS.SimpleQueueService.NonExistentQueue": true,
	"QueueDoesNotExist":                       true,
	"AccessDenied":                            true,
	"AccessDeniedException":                   true,
	"KMS.AccessDeniedException":               true,
	"InvalidClientTokenId":                    true,
	"UnrecognizedClientException":             true,
	"SignatureDoesNotMatch":                   true,
	"IncompleteSignature":                     true,
	"MissingAuthenticationToken":              true,
	"InvalidSecurity":                         true,
	"ExpiredToken":                            true,
	"ExpiredTokenException":                   true,
	"InvalidAddress":                          true,
	"InvalidParameterValue":                   true,
	"UnsupportedOperation":                    true,
	"OptInRequired":                           true,
}

// classify wraps err with the operation and queue, as a *PermanentError when retrying cannot
// help. This is the one place that decides transient against permanent.
func classify(op, queueURL string, err error) error {
	var api smithy.APIError
	var region *aws.MissingRegionError
	if (errors.As(err, &api) && permanentCodes[api.ErrorCode()]) || errors.As(err, &region) {
		return &PermanentError{Op: op, QueueURL: queueURL, Err: err}
	}
	return fmt.Errorf("%s %s: %w", op, queueURL, err)
}
