package awsproto

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"slices"
	"strings"
)

// AWS JSON protocol versions: the x-amz-json-1.0 / -1.1 content types.
const (
	JSON10 = "1.0"
	JSON11 = "1.1"
)

// DefaultMaxBody is the request size a JSON service accepts when
// JSON.MaxBody is 0.
const DefaultMaxBody = 16 << 20

// JSON is a service of the AWS JSON protocol: POST / with X-Amz-Target
// "<TargetPrefix>.<Operation>" and a JSON body, answered in JSON; errors are
// {"__type": "...", "message": "..."}. With Query set, the same operations
// also answer the query protocol. JSON implements Service.
type JSON struct {
	// Service is the service's name (Service.Name).
	Service string
	// Version is JSON10 or JSON11.
	Version string
	// TargetPrefix is the part of X-Amz-Target before the dot:
	// "AmazonSQS", "CodeDeploy_20141006".
	TargetPrefix string
	// Namespace qualifies error codes in __type ("com.amazonaws.sqs");
	// empty writes the bare code, as most JSON 1.1 services do.
	Namespace string
	// QueryCompatible sends each error's query code in x-amzn-query-error,
	// as services that moved from the query protocol do (SQS).
	QueryCompatible bool
	// Operations are the served operations by name.
	Operations map[string]Operation
	// Query, when set, serves the operations over the query protocol too.
	Query *Query
	// MaxBody is the largest request body accepted; DefaultMaxBody when 0.
	MaxBody int64
	// ThrottleError is the error of a throttled request; 400
	// ThrottlingException "Rate exceeded" when nil.
	ThrottleError func(op string) *Error
	// InternalError is the service's 5xx; 500 InternalFailure when nil.
	InternalError func(op string) *Error
	// UnknownError answers an operation not in Operations; 400
	// UnknownOperationException when nil.
	UnknownError func(op string) *Error
}

var _ Service = (*JSON)(nil)

// Name implements Service.
func (j *JSON) Name() string { return j.Service }

// OperationNames implements Service.
func (j *JSON) OperationNames() []string { return sortedNames(j.Operations) }

// Operation implements Service: a POST whose X-Amz-Target has the
// service's prefix, or a query request for one of its operations.
func (j *JSON) Operation(r *http.Request) (string, bool) {
	if r.Method == http.MethodPost {
		if op, ok := strings.CutPrefix(r.Header.Get("X-Amz-Target"), j.TargetPrefix+"."); ok && op != "" {
			return op, true
		}
	}
	if j.Query != nil {
		return j.Query.operation(r, j.Service)
	}
	return "", false
}

// ServeOperation implements Service.
func (j *JSON) ServeOperation(w http.ResponseWriter, r *http.Request, op string) {
	if j.Query != nil && isQuery(r) {
		j.Query.serve(w, r, op, j)
		return
	}
	body, err := io.ReadAll(io.LimitReader(r.Body, j.maxBody()+1))
	if err != nil {
		j.writeJSONError(w, SerializationError("Could not read the request body."))
		return
	}
	if int64(len(body)) > j.maxBody() {
		j.writeJSONError(w, &Error{Status: http.StatusRequestEntityTooLarge, Code: "RequestEntityTooLarge", Message: "Request body is too large."})
		return
	}
	f, ok := j.Operations[op]
	if !ok {
		j.writeJSONError(w, j.unknown(op))
		return
	}
	out, apiErr := f(r.Context(), func(in any) *Error { return DecodeJSON(body, in) })
	if apiErr != nil {
		j.writeJSONError(w, apiErr)
		return
	}
	j.writeJSON(w, out)
}

// WriteError implements Service.
func (j *JSON) WriteError(w http.ResponseWriter, r *http.Request, e *Error) {
	if j.Query != nil && isQuery(r) {
		j.Query.writeError(w, e)
		return
	}
	j.writeJSONError(w, e)
}

// Throttled implements Service.
func (j *JSON) Throttled(op string) *Error {
	if j.ThrottleError != nil {
		return j.ThrottleError(op)
	}
	return &Error{Status: http.StatusBadRequest, Code: "ThrottlingException", Message: "Rate exceeded"}
}

// Internal implements Service.
func (j *JSON) Internal(op string) *Error {
	if j.InternalError != nil {
		return j.InternalError(op)
	}
	return InternalFailure("The request processing has failed because of an unknown error, exception or failure.")
}

func (j *JSON) unknown(op string) *Error {
	if j.UnknownError != nil {
		return j.UnknownError(op)
	}
	return &Error{Status: http.StatusBadRequest, Code: "UnknownOperationException", Namespace: coralNamespace,
		Message: "The operation " + op + " is not supported by this emulator."}
}

func (j *JSON) maxBody() int64 {
	if j.MaxBody > 0 {
		return j.MaxBody
	}
	return DefaultMaxBody
}

func (j *JSON) contentType() string {
	v := j.Version
	if v == "" {
		v = JSON10
	}
	return "application/x-amz-json-" + v
}

// coralNamespace is the namespace of the errors AWS's front end answers
// before a request reaches the service (malformed bodies, unknown targets).
const coralNamespace = "com.amazon.coral.service"

// SerializationError is AWS's answer to a body that is not the JSON the
// operation takes.
func SerializationError(msg string) *Error {
	return &Error{Status: http.StatusBadRequest, Code: "SerializationException", Namespace: coralNamespace, Message: msg}
}

// InternalFailure is AWS's generic 500.
func InternalFailure(msg string) *Error {
	return &Error{Status: http.StatusInternalServerError, Code: "InternalFailure", Namespace: coralNamespace, Message: msg}
}

// DecodeJSON decodes an AWS JSON request body into v; an empty body is {}.
// Malformed input is a SerializationException, as AWS answers it.
func DecodeJSON(body []byte, v any) *Error {
	if len(bytes.TrimSpace(body)) == 0 {
		body = []byte("{}")
	}
	if err := json.Unmarshal(body, v); err != nil {
		var typeErr *json.UnmarshalTypeError
		if errors.As(err, &typeErr) && typeErr.Field != "" {
			return SerializationError(fmt.Sprintf("Unexpected value for field %s: %s is not a %s.", typeErr.Field, typeErr.Value, typeErr.Type))
		}
		return SerializationError("Malformed JSON request body: " + err.Error())
	}
	return nil
}

func (j *JSON) writeJSON(w http.ResponseWriter, out any) {
	if out == nil {
		out = struct{}{}
	}
	body, err := json.Marshal(out)
	if err != nil {
		j.writeJSONError(w, InternalFailure(fmt.Sprintf("encode response: %v", err)))
		return
	}
	h := w.Header()
	h.Set("Content-Type", j.contentType())
	h.Set("x-amzn-RequestId", RequestID())
	w.WriteHeader(http.StatusOK)
	_, _ = w.Write(body)
}

func (j *JSON) writeJSONError(w http.ResponseWriter, e *Error) {
	ns := e.Namespace
	if ns == "" {
		ns = j.Namespace
	}
	typ := e.Code
	if ns != "" {
		typ = ns + "#" + e.Code
	}
	body := map[string]string{"__type": typ}
	for k, v := range e.Fields {
		body[k] = v
	}
	body[messageKey(e)] = e.Message
	b, _ := json.Marshal(body)
	h := w.Header()
	e.writeHeader(w)
	h.Set("Content-Type", j.contentType())
	if j.QueryCompatible {
		h.Set("x-amzn-query-error", e.ErrorCode()+";"+e.Fault())
	}
	h.Set("x-amzn-RequestId", RequestID())
	w.WriteHeader(e.Status)
	_, _ = w.Write(b)
}

func messageKey(e *Error) string {
	if e.MessageKey != "" {
		return e.MessageKey
	}
	return "message"
}

// WriteRESTJSON writes a REST-JSON answer: out as the JSON body with
// status, or only the status when out is nil.
func WriteRESTJSON(w http.ResponseWriter, status int, out any) {
	if out == nil {
		w.WriteHeader(status)
		return
	}
	b, err := json.Marshal(out)
	if err != nil {
		// Every value written here is built from plain maps and structs;
		// failing to encode one is a programming error, answered as AWS
		// would answer an internal failure rather than with a panic.
		WriteRESTJSONError(w, &Error{Status: http.StatusInternalServerError, Code: "ServiceException",
			Message: "An internal error occurred. Please try again later.", MessageKey: "Message", Fields: map[string]string{"Type": "Service"}})
		return
	}
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("Content-Length", fmt.Sprint(len(b)))
	w.WriteHeader(status)
	_, _ = w.Write(b)
}

// WriteRESTJSONError writes e as a REST-JSON service (Lambda) does: the
// code in X-Amzn-ErrorType, the body {"message": ...} with e's Fields.
func WriteRESTJSONError(w http.ResponseWriter, e *Error) {
	body := map[string]string{}
	for k, v := range e.Fields {
		body[k] = v
	}
	body[messageKey(e)] = e.Message
	w.Header().Set("X-Amzn-ErrorType", e.Code)
	if w.Header().Get("X-Amzn-RequestId") == "" {
		w.Header().Set("X-Amzn-RequestId", RequestID())
	}
	e.writeHeader(w)
	b, _ := json.Marshal(body)
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("Content-Length", fmt.Sprint(len(b)))
	w.WriteHeader(e.Status)
	_, _ = w.Write(b)
}

// sortedNames returns m's keys in order.
func sortedNames[V any](m map[string]V) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	return keys
}
