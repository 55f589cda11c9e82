package lambdasim

import (
	"fmt"
	"net/http"

	"github.com/prewarm/prewarm/localaws/awsproto"
)

// Error is a Lambda API error as the control plane answers it: the HTTP
// status, the code sent in X-Amzn-ErrorType and the message. The Go
// accessors of Service return it too, so tests see the same text a client
// would.
type Error = awsproto.Error

// userType marks an error body with "Type":"User", as Lambda does for most
// of its errors.
var userType = map[string]string{"Type": "User"}

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
	msgUnqualifiedOnly   = "This operation is permitted on Lambda functions only. Aliases and versions do not support this operation. Please specify either a function name or an unqualified function ARN."
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
	return &Error{Status: http.StatusBadRequest, Code: "InvalidParameterValueException", Message: msg, Fields: userType}
}

// errAccountLimit is the InvalidParameterValueException of the account
// concurrency checks, which AWS sends without a Type.
func errAccountLimit(msg string) *Error {
	return &Error{Status: http.StatusBadRequest, Code: "InvalidParameterValueException", Message: msg}
}

func errInvalidContent(msg string) *Error {
	return &Error{Status: http.StatusBadRequest, Code: "InvalidRequestContentException", Message: msg, Fields: userType}
}

func errNotFound(msg string) *Error {
	return &Error{Status: http.StatusNotFound, Code: "ResourceNotFoundException", Message: msg, Fields: userType, MessageKey: "Message"}
}

func errConfigNotFound() *Error {
	return &Error{Status: http.StatusNotFound, Code: "ProvisionedConcurrencyConfigNotFoundException", Message: msgConfigNotFound, Fields: userType}
}

func errConflict(msg string) *Error {
	return &Error{Status: http.StatusConflict, Code: "ResourceConflictException", Message: msg, Fields: userType}
}

func errPreconditionFailed(msg string) *Error {
	return &Error{Status: http.StatusPreconditionFailed, Code: "PreconditionFailedException", Message: msg, Fields: userType}
}

func errTooManyRequests() *Error {
	return &Error{
		Status: http.StatusTooManyRequests, Code: "TooManyRequestsException", Message: msgRateExceeded,
		Fields: map[string]string{"Type": "User", "Reason": "CallerRateLimitExceeded"},
		Header: map[string]string{"Retry-After": "1"},
	}
}

func errService() *Error {
	return &Error{Status: http.StatusInternalServerError, Code: "ServiceException", Message: msgServiceError, Fields: map[string]string{"Type": "Service"}, MessageKey: "Message"}
}

// errUnknownOperation is what Lambda answers for a path it does not serve.
func errUnknownOperation() *Error {
	return &Error{Status: http.StatusNotFound, Code: "UnknownOperationException", Message: "Unknown operation", Fields: userType}
}

// WriteUnknownOperation writes Lambda's answer to a request no emulated
// operation serves (404 UnknownOperationException).
func WriteUnknownOperation(w http.ResponseWriter) {
	awsproto.WriteRESTJSONError(w, errUnknownOperation())
}
