// Package awsproto provides the AWS wire protocols the emulated services
// speak, so that a service is written as operations that take a decoded
// input and return (output, *Error), and a codec at the edge reads the
// request and writes the answer in the protocol the client used:
//
//   - AWS JSON 1.0 and 1.1 with X-Amz-Target dispatch (SQS, CodeDeploy,
//     CodePipeline, Application Auto Scaling): JSON, one value a service
//     describes with a target prefix and a table of operations;
//   - the AWS query protocol (form-encoded Action=..., XML answers), for
//     services that are also query-compatible (SQS): Query;
//   - REST-JSON (Lambda), whose routes are the service's own: the service
//     matches method and path and hands the codec its output or error
//     (WriteRESTJSON, WriteRESTJSONError).
//
// Every service implements Service, which is what the localaws server
// registers; see the localaws package for the registration itself. A JSON
// 1.1 service is, in full:
//
//	func (s *Sim) API() awsproto.Service {
//		return &awsproto.JSON{
//			Service: "codedeploy", Version: awsproto.JSON11, TargetPrefix: "CodeDeploy_20141006",
//			Operations: map[string]awsproto.Operation{
//				"GetDeployment": awsproto.Op(s.getDeployment),
//			},
//		}
//	}
//
//	func (s *Sim) getDeployment(ctx context.Context, in *getDeploymentInput) (*getDeploymentOutput, *awsproto.Error)
//
// Caller(ctx) tells an operation who sent the request (account, Region,
// access key, host).
package awsproto

import (
	"context"
	"crypto/rand"
	"fmt"
	"net/http"
	"strings"
)

// Service is one emulated AWS service as the server sees it: which requests
// are its own, how it answers them, and the errors the server's injected
// faults answer with.
type Service interface {
	// Name keys the service in fault flags ("sqs:SendMessage"), statistics
	// and the request log; by convention the SigV4 signing name ("lambda",
	// "sqs", "codedeploy").
	Name() string
	// OperationNames lists the operations the service serves, for
	// checking fault flags.
	OperationNames() []string
	// Operation names the operation r asks for, and false when r is not
	// addressed to this service. A request for an operation the service
	// does not serve may still be claimed (and answered as unknown).
	Operation(r *http.Request) (string, bool)
	// ServeOperation answers r, which Operation claimed as op. The context
	// of r carries the Caller.
	ServeOperation(w http.ResponseWriter, r *http.Request, op string)
	// WriteError writes e as the answer to r, in the protocol r came in.
	WriteError(w http.ResponseWriter, r *http.Request, e *Error)
	// Throttled is the error the service answers when it throttles op.
	Throttled(op string) *Error
	// Internal is the service's 5xx error for op.
	Internal(op string) *Error
}

// Error is an AWS API error as an operation returns it; each codec writes
// it in its protocol's shape.
type Error struct {
	// Status is the HTTP status code.
	Status int
	// Code is the error code, the name of the error shape:
	// "ResourceNotFoundException", "QueueDoesNotExist".
	Code string
	// Message is the human-readable message, exactly as AWS words it.
	Message string
	// QueryCode is the code of a query-compatible service's query protocol
	// ("AWS.SimpleQueueService.NonExistentQueue"): AWS JSON answers carry it
	// in x-amzn-query-error, query answers as <Code>. Code when empty.
	QueryCode string
	// Namespace qualifies Code in an AWS JSON __type
	// ("com.amazonaws.sqs#QueueDoesNotExist"); the service's namespace when
	// empty.
	Namespace string
	// Fields are further string members of a JSON error body (Lambda's
	// "Type" and "Reason").
	Fields map[string]string
	// Header holds further response headers (Retry-After).
	Header map[string]string
	// MessageKey is the JSON member the message goes in: "message" when
	// empty (Lambda writes "Message" for some errors).
	MessageKey string
}

// Error implements error.
func (e *Error) Error() string {
	return fmt.Sprintf("%s (%d): %s", e.Code, e.Status, e.Message)
}

// ErrorCode is the code a query-compatible client reports: QueryCode, else
// Code.
func (e *Error) ErrorCode() string {
	if e.QueryCode != "" {
		return e.QueryCode
	}
	return e.Code
}

// Fault is "Sender" for the caller's errors, "Receiver" for the service's.
func (e *Error) Fault() string {
	if e.Status >= 500 {
		return "Receiver"
	}
	return "Sender"
}

func (e *Error) writeHeader(w http.ResponseWriter) {
	for k, v := range e.Header {
		w.Header().Set(k, v)
	}
}

// Operation is one operation of a target-dispatch or query service: decode
// reads the request into the value it is given, in the request's protocol.
// Build it from a typed function with Op.
type Operation func(ctx context.Context, decode func(in any) *Error) (out any, err *Error)

// Op adapts a typed operation: the codec decodes the request into a new I
// and encodes the *O it returns (nil: an empty answer).
func Op[I, O any](f func(context.Context, *I) (*O, *Error)) Operation {
	return func(ctx context.Context, decode func(any) *Error) (any, *Error) {
		in := new(I)
		if err := decode(in); err != nil {
			return nil, err
		}
		out, err := f(ctx, in)
		if err != nil {
			return nil, err
		}
		if out == nil {
			return nil, nil
		}
		return out, nil
	}
}

// CallerInfo is who sent a request, as far as the emulator tells.
type CallerInfo struct {
	// AccountID and Region are those the request is for: from the SigV4
	// credential scope, the emulated default otherwise.
	AccountID, Region string
	// AccessKeyID is the SigV4 access key, "" when unsigned.
	AccessKeyID string
	// Host is the request's Host, for URLs the answer names (queue URLs).
	Host string
}

type callerKey struct{}

// WithCaller returns ctx carrying c.
func WithCaller(ctx context.Context, c CallerInfo) context.Context {
	return context.WithValue(ctx, callerKey{}, c)
}

// Caller returns the CallerInfo of ctx, zero when there is none.
func Caller(ctx context.Context) CallerInfo {
	c, _ := ctx.Value(callerKey{}).(CallerInfo)
	return c
}

// Signature reads the access key and Region of r's SigV4 Authorization
// header (Credential=AKID/DATE/REGION/SERVICE/aws4_request), or of a
// presigned URL's X-Amz-Credential; empty strings when r is unsigned.
func Signature(r *http.Request) (accessKeyID, region string) {
	cred := r.URL.Query().Get("X-Amz-Credential")
	if _, after, ok := strings.Cut(r.Header.Get("Authorization"), "Credential="); ok {
		cred, _, _ = strings.Cut(after, ",")
	}
	parts := strings.Split(strings.TrimSpace(cred), "/")
	if len(parts) < 3 {
		return "", ""
	}
	return parts[0], parts[2]
}

// RequestID returns a random request id in UUID form, as AWS sends in
// x-amzn-RequestId.
func RequestID() string {
	var b [16]byte
	_, _ = rand.Read(b[:])
	b[6] = b[6]&0x0f | 0x40
	b[8] = b[8]&0x3f | 0x80
	return fmt.Sprintf("%x-%x-%x-%x-%x", b[0:4], b[4:6], b[6:8], b[8:10], b[10:])
}
