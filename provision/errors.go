package provision

import (
	"context"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/aws/aws-sdk-go-v2/service/lambda/types"
	"github.com/aws/smithy-go"

	"github.com/prewarm/prewarm/awsfault"
)

// Error is a failed Lambda control-plane call, classified once: Transient
// errors are worth retrying (later in the same invocation, or by SQS
// redelivery); the others are final and reported with AWS's code and message.
type Error struct {
	Op        string // the API operation, e.g. "PutProvisionedConcurrencyConfig"
	Function  string
	Qualifier string
	Code      string // AWS error code, or "NetworkError", "Timeout"
	Message   string
	Transient bool
	// RetryAfter is AWS's Retry-After hint for throttling, zero when absent.
	RetryAfter time.Duration
	// Weights marks "Alias with weights can not be used with Provisioned
	// Concurrency": transient while AWS finishes an alias update, final if
	// the alias really routes by weight.
	Weights bool
	Err     error
}

func (e *Error) Error() string {
	target := e.Function
	if e.Qualifier != "" {
		target += ":" + e.Qualifier
	}
	return fmt.Sprintf("%s %s: %s: %s", e.Op, target, e.Code, e.Message)
}

func (e *Error) Unwrap() error { return e.Err }

// Message texts AWS uses for conditions that the code does not tell apart.
const (
	msgPreviousRequest = "A previous request is being processed"
	msgAliasWeights    = "Alias with weights can not be used with Provisioned Concurrency"
	msgReserved        = "should not be greater than the reservedConcurrentExecution"
	msgAliasOnVersion  = "already Provisioned version"
	msgVersionOfAlias  = "pointed by a Provisioned Concurrency alias"
)

// Explain says in words what a permanent error means for the user: AWS's
// conflict messages name neither the other qualifier nor what to do.
func (e *Error) Explain() string {
	switch {
	case strings.Contains(e.Message, msgAliasOnVersion):
		return fmt.Sprintf("the version that alias %s points to already has provisioned concurrency, on the version itself or through another alias; release it there first", e.Qualifier)
	case strings.Contains(e.Message, msgVersionOfAlias):
		return fmt.Sprintf("an alias with provisioned concurrency points to version %s; provision that alias instead", e.Qualifier)
	case e.Weights:
		return fmt.Sprintf("alias %s routes traffic by weight; provisioned concurrency needs an alias without AdditionalVersionWeights", e.Qualifier)
	case e.Code == "ResourceNotFoundException":
		return fmt.Sprintf("%s:%s does not exist", e.Function, e.Qualifier)
	}
	return fmt.Sprintf("%s failed: %s", e.Op, e.Message)
}

// classify is the one place that decides whether a control-plane error is
// transient: what holds for every AWS service (server faults, the SDK's
// throttling codes, 5xx, network errors, deadlines) is awsfault's, and this
// adds what Lambda's control plane means by its own errors.
func classify(op, function, qualifier string, err error) *Error {
	f := awsfault.Classify(err)
	e := &Error{Op: op, Function: function, Qualifier: qualifier, Code: f.Code, Message: f.Message, Transient: f.Transient, Err: err}
	var (
		throttled *types.TooManyRequestsException
		conflict  *types.ResourceConflictException
		api       smithy.APIError
	)
	switch {
	case errors.As(err, &throttled):
		e.Code, e.Message, e.Transient = "TooManyRequestsException", throttled.ErrorMessage(), true
		if throttled.RetryAfterSeconds != nil {
			if s, perr := strconv.ParseFloat(*throttled.RetryAfterSeconds, 64); perr == nil && s > 0 {
				e.RetryAfter = time.Duration(s * float64(time.Second))
			}
		}
	case errors.As(err, &conflict):
		// A conflict is final, but for a Put still being processed.
		e.Code, e.Message = "ResourceConflictException", conflict.ErrorMessage()
		e.Transient = strings.Contains(e.Message, msgPreviousRequest)
	case errors.As(err, &api) && strings.Contains(e.Message, msgAliasWeights):
		// Transient while AWS finishes an alias update; Controller.do bounds
		// it by WeightsWindow.
		e.Weights, e.Transient = true, true
	}
	return e
}

// IsTransient reports whether err is a control-plane error worth retrying.
func IsTransient(err error) bool {
	var e *Error
	if errors.As(err, &e) {
		return e.Transient
	}
	return errors.Is(err, context.DeadlineExceeded) || errors.Is(err, context.Canceled)
}

// IsReservationLimit reports whether err is AWS refusing a value above the
// function's reserved concurrency.
func IsReservationLimit(err error) bool {
	var e *Error
	return errors.As(err, &e) && e.Code == "InvalidParameterValueException" && strings.Contains(e.Message, msgReserved)
}
