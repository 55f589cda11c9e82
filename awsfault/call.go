package awsfault

import (
	"context"
	"errors"
	"fmt"
)

// CallError is a failed call of a service outside the Lambda control plane (CloudWatch,
// Application Auto Scaling), classified once, with the operation and what it was about.
type CallError struct {
	// Op is the API operation, e.g. "GetMetricData".
	Op string
	// Resource names what the call was about, e.g. "function:my-function:BLUE".
	Resource string
	Fault
	Err error
}

// Error returns "OP RESOURCE: CODE: MESSAGE".
func (e *CallError) Error() string {
	return fmt.Sprintf("%s %s: %s: %s", e.Op, e.Resource, e.Code, e.Message)
}

func (e *CallError) Unwrap() error { return e.Err }

// transientCodes are error codes that are neither throttling nor server faults by Classify's
// rules but clear on their own.
var transientCodes = map[string]bool{
	// Application Auto Scaling: another update of the same scalable target is running.
	"ConcurrentUpdateException": true,
}

// Wrap classifies err, the error of op on resource, as a *CallError; nil stays nil and an
// error already wrapped is returned as it is.
func Wrap(op, resource string, err error) error {
	if err == nil {
		return nil
	}
	var already *CallError
	if errors.As(err, &already) {
		return err
	}
	f := Classify(err)
	if transientCodes[f.Code] {
		f.Transient = true
	}
	return &CallError{Op: op, Resource: resource, Fault: f, Err: err}
}

// New returns a *CallError for an answer AWS gave that cannot be used, under a code of the
// caller's own (such as "TooManyPages").
func New(op, resource, code, message string, transient bool) error {
	return &CallError{Op: op, Resource: resource, Fault: Fault{Code: code, Message: message, Transient: transient}}
}

// IsTransient reports whether err, a *CallError or a context error, is worth another try.
func IsTransient(err error) bool {
	var e *CallError
	if errors.As(err, &e) {
		return e.Transient
	}
	return errors.Is(err, context.DeadlineExceeded) || errors.Is(err, context.Canceled)
}

// Code returns the code of a *CallError, "" for any other error.
func Code(err error) string {
	var e *CallError
	if errors.As(err, &e) {
		return e.Code
	}
	return ""
}
