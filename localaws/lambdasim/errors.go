package lambdasim

import (
	"encoding/json"
	"fmt"
	"net/http"
)

// Error is a Lambda API error as the control plane answers it: the HTTP
// status, the code sent in X-Amzn-ErrorType and the message. The Go
// accessors of Service return it too, so tests see the same text a client
// would.
type Error struct {
	// Status is the HTTP status code.
	Status int
	// Code is the AWS error code, e.g. "ResourceNotFoundException".
	Code string
	// Message is the human-readable message, exactly as AWS words it.
	Message string

	// typ is the body's "Type" field ("User", "Service"); empty omits it.
	typ string
	// capitalMessage writes "Message" instead of "message" (AWS does this for
	// ResourceNotFoundException and ServiceException).
	capitalMessage bool
	// reason is the TooManyRequestsException "Reason" field.
	reason string
	// retryAfter is the Retry-After header value in seconds.
	retryAfter string
}

// Error implements error.
func (e *Error) Error() string {
	return fmt.Sprintf("%s (%d): %s", e.Code, e.Status, e.Message)
}

// write sends e the way Lambda's REST-JSON endpoint does.
func (e *Error) write(w http.ResponseWriter) {
	body := map[string]string{}
	if e.typ != "" {
		body["Type"] = e.typ
	}
	if e.capitalMessage {
		body["Message"] = e.Message
	} else {
		body["message"] = e.Message
	}
	if e.reason != "" {
		body["Reason"] = e.reason
	}
	w.Header().Set("X-Amzn-ErrorType", e.Code)
	if w.Header().Get("X-Amzn-RequestId") == "" {
		w.Header().Set("X-Amzn-RequestId", newRequestID())
	}
	if e.retryAfter != "" {
		w.Header().Set("Retry-After", e.retryAfter)
	}
	writeJSON(w, e.Status, body)
}

// The AWS messages below are reproduced verbatim (see AWS-FACTS.md); tests
// compare them character for character.
const (
	msgPutLatest         = "Provisioned Concurrency Configs cannot be applied to unpublished function versions."
	msgGetLatest         = "The function resource provided must be an alias or a published version."
	msgConfigNotFound    = "No Provisioned Concurrency Config found for this function"
	msgAliasOnProvVer    = "Alias can't be used for Provisioned Concurrency configuration on an already Provisioned version"
	msgVersionByPCAlias  = "Version is pointed by a Provisioned Concurrency alias"
	msgAboveReserved     = "Requested Provisioned Concurrency should not be greater than the reservedConcurrentExecution for function"
	msgAliasWithWeights  = "Alias with weights can not be used with Provisioned Concurrency"
	msgPreviousRequest   = "A previous request is being processed. Please try again shortly"
	msgRateExceeded      = "Rate exceeded"
	msgQualifierMismatch = "The derived qualifier from the function name does not match the specified qualifier."
	msgRevisionMismatch  = "The Revision Id provided does not match the latest Revision Id. Call the GetAlias API to retrieve the latest Revision Id"
	msgServiceError      = "An internal error occurred. Please try again later."
)

func errValidation(msg string) *Error {
	return &Error{Status: http.StatusBadRequest, Code: "ValidationException", Message: msg}
}

// errValidationf formats the "1 validation error detected" message AWS's
// model validation produces.
func errValidationf(format string, args ...any) *Error {
	return errValidation("1 validation error detected: " + fmt.Sprintf(format, args...))
}

func errInvalidParameter(msg string) *Error {
	return &Error{Status: http.StatusBadRequest, Code: "InvalidParameterValueException", Message: msg, typ: "User"}
}

// errAccountLimit is the InvalidParameterValueException of the account
// concurrency checks, which AWS sends without a Type.
func errAccountLimit(msg string) *Error {
	return &Error{Status: http.StatusBadRequest, Code: "InvalidParameterValueException", Message: msg}
}

func errInvalidContent(msg string) *Error {
	return &Error{Status: http.StatusBadRequest, Code: "InvalidRequestContentException", Message: msg, typ: "User"}
}

func errNotFound(msg string) *Error {
	return &Error{Status: http.StatusNotFound, Code: "ResourceNotFoundException", Message: msg, typ: "User", capitalMessage: true}
}

func errConfigNotFound() *Error {
	return &Error{Status: http.StatusNotFound, Code: "ProvisionedConcurrencyConfigNotFoundException", Message: msgConfigNotFound, typ: "User"}
}

func errConflict(msg string) *Error {
	return &Error{Status: http.StatusConflict, Code: "ResourceConflictException", Message: msg, typ: "User"}
}

func errPreconditionFailed(msg string) *Error {
	return &Error{Status: http.StatusPreconditionFailed, Code: "PreconditionFailedException", Message: msg, typ: "User"}
}

func errTooManyRequests() *Error {
	return &Error{
		Status: http.StatusTooManyRequests, Code: "TooManyRequestsException", Message: msgRateExceeded,
		typ: "User", reason: "CallerRateLimitExceeded", retryAfter: "1",
	}
}

func errService() *Error {
	return &Error{Status: http.StatusInternalServerError, Code: "ServiceException", Message: msgServiceError, typ: "Service", capitalMessage: true}
}

// errUnknownOperation is what Lambda answers for a path it does not serve.
func errUnknownOperation() *Error {
	return &Error{Status: http.StatusNotFound, Code: "UnknownOperationException", Message: "Unknown operation", typ: "User"}
}

// WriteUnknownOperation writes Lambda's answer to a request no emulated
// operation serves (404 UnknownOperationException).
func WriteUnknownOperation(w http.ResponseWriter) { errUnknownOperation().write(w) }

func writeJSON(w http.ResponseWriter, status int, v any) {
	b, err := json.Marshal(v)
	if err != nil {
		// Every value written here is built from plain maps and structs;
		// failing to encode one is a programming error, answered as AWS would
		// answer an internal failure rather than with a panic.
		status = http.StatusInternalServerError
		w.Header().Set("X-Amzn-ErrorType", "ServiceException")
		b = []byte(`{"Type":"Service","Message":"An internal error occurred. Please try again later."}`)
	}
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("Content-Length", fmt.Sprint(len(b)))
	w.WriteHeader(status)
	_, _ = w.Write(b)
}
