// Package awsfault classifies the errors of AWS SDK calls once, by what a caller can do about
// them: a transient error (throttling, a server fault, a network failure, a deadline) is worth
// another try later; any other is final and is reported with AWS's code and message.
//
// It holds the rules that do not depend on a service. A service whose errors need more (the
// Lambda control plane's "A previous request is being processed", say) adds its rules in front,
// as provision does.
package awsfault

import (
	"context"
	"errors"
	"net"
	"strconv"

	"github.com/aws/aws-sdk-go-v2/aws/retry"
	"github.com/aws/smithy-go"
	smithyhttp "github.com/aws/smithy-go/transport/http"
)

// Fault is what a failed call amounts to.
type Fault struct {
	// Code is AWS's error code, or "Timeout", "NetworkError" or "HTTP<status>" when the call
	// got no AWS error back.
	Code string
	// Message is AWS's message, or the error's text.
	Message string
	// Transient says another try may succeed.
	Transient bool
}

// Classify returns the Fault of err, a non-nil error from an SDK call.
func Classify(err error) Fault {
	var (
		api     smithy.APIError
		netErr  net.Error
		respErr *smithyhttp.ResponseError
	)
	switch {
	case errors.As(err, &api):
		f := Fault{Code: api.ErrorCode(), Message: api.ErrorMessage()}
		f.Transient = api.ErrorFault() == smithy.FaultServer ||
			retry.IsErrorThrottles(retry.DefaultThrottles).IsErrorThrottle(err).Bool() ||
			(errors.As(err, &respErr) && respErr.HTTPStatusCode() >= 500)
		return f
	case errors.Is(err, context.DeadlineExceeded), errors.Is(err, context.Canceled):
		return Fault{Code: "Timeout", Message: err.Error(), Transient: true}
	case errors.As(err, &respErr) && respErr.HTTPStatusCode() > 0 && respErr.HTTPStatusCode() < 500:
		return Fault{Code: "HTTP" + strconv.Itoa(respErr.HTTPStatusCode()), Message: err.Error()}
	case errors.As(err, &netErr), errors.As(err, &respErr):
		return Fault{Code: "NetworkError", Message: err.Error(), Transient: true}
	}
	// Connection resets and truncated responses surface as plain errors from the transport;
	// they are worth another try.
	return Fault{Code: "NetworkError", Message: err.Error(), Transient: true}
}
