// Package awsfault classifies the errors of prewarm's AWS calls outside the Lambda control
// plane (CloudWatch, Application Auto Scaling): each failed call becomes one *Error that says
// whether it is worth retrying, decided here and nowhere else.
package awsfault

import (
	"context"
	"errors"
	"fmt"
	"net"
	"strconv"

	"github.com/aws/aws-sdk-go-v2/aws/retry"
	"github.com/aws/smithy-go"
	smithyhttp "github.com/aws/smithy-go/transport/http"
)

// Error is a failed AWS call, classified.
type Error struct {
	// Op is the API operation, e.g. "GetMetricData".
	Op string
	// Resource names what the call was about, e.g. "function:my-function:BLUE".
	Resource string
	// Code is AWS's error code, or "NetworkError", "Timeout", "HTTP<status>" or one of this
	// package's own codes for answers that make no sense.
	Code    string
	Message string
	// Transient errors are worth another try later (SQS redelivery, the next reconcile).
	Transient bool
	Err       error
}

// Error returns "OP RESOURCE: CODE: MESSAGE".
func (e *Error) Error() string {
	return fmt.Sprintf("%s %s: %s: %s", e.Op, e.Resource, e.Code, e.Message)
}

func (e *Error) Unwrap() error { return e.Err }

// transientCodes are error codes that are neither throttling nor server faults by the SDK's
// tables but clear on their own.
var transientCodes = map[string]bool{
	// Application Auto Scaling: another update of the same scalable target is running.
	"ConcurrentUpdateException": true,
	// CloudWatch: the service could not complete the query this time (the shape's name,
	// and the query-compatible code the client reports).
	"InternalServiceFault": true,
	"InternalServiceError": true,
}

// Classify wraps err, the error of op on resource; nil stays nil.
func Classify(op, resource string, err error) error {
	if err == nil {
		return nil
	}
	var already *Error
	if errors.As(err, &already) {
		return err
	}
	e := &Error{Op: op, Resource: resource, Err: err}
	var (
		api     smithy.APIError
		netErr  net.Error
		respErr *smithyhttp.ResponseError
	)
	switch {
	case errors.As(err, &api):
		e.Code, e.Message = api.ErrorCode(), api.ErrorMessage()
		e.Transient = api.ErrorFault() == smithy.FaultServer || transientCodes[e.Code] ||
			retry.IsErrorThrottles(retry.DefaultThrottles).IsErrorThrottle(err).Bool()
		if errors.As(err, &respErr) && respErr.HTTPStatusCode() >= 500 {
			e.Transient = true
		}
	case errors.Is(err, context.DeadlineExceeded), errors.Is(err, context.Canceled):
		e.Code, e.Message, e.Transient = "Timeout", err.Error(), true
	case errors.As(err, &respErr) && respErr.HTTPStatusCode() > 0 && respErr.HTTPStatusCode() < 500:
		e.Code, e.Message = "HTTP"+strconv.Itoa(respErr.HTTPStatusCode()), err.Error()
	case errors.As(err, &netErr), errors.As(err, &respErr):
		e.Code, e.Message, e.Transient = "NetworkError", err.Error(), true
	default:
		// Connection resets and truncated responses surface as plain errors from the
		// transport; they are worth another try.
		e.Code, e.Message, e.Transient = "NetworkError", err.Error(), true
	}
	return e
}

// New returns a classified error for an answer AWS gave that cannot be used (a code of this
// package's own, such as "PartialData").
func New(op, resource, code, message string, transient bool) error {
	return &Error{Op: op, Resource: resource, Code: code, Message: message, Transient: transient}
}

// IsTransient reports whether err is worth another try.
func IsTransient(err error) bool {
	var e *Error
	if errors.As(err, &e) {
		return e.Transient
	}
	return errors.Is(err, context.DeadlineExceeded) || errors.Is(err, context.Canceled)
}

// Code returns the code of a classified error, "" for any other.
func Code(err error) string {
	var e *Error
	if errors.As(err, &e) {
		return e.Code
	}
	return ""
}
