package lambdasim

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math"
	"net/http"
	"net/url"
	"regexp"
	"slices"
	"strconv"
	"strings"

	"github.com/prewarm/prewarm/localaws/awsproto"
)

const (
	maxInt32       = math.MaxInt32
	maxRequestBody = 6 << 20
	maxNameLen     = 140
	maxQualifier   = 128

	functionNameRegex = `(arn:(aws[a-zA-Z-]*)?:lambda:)?([a-z]{2}(-gov)?-[a-z]+-\d{1}:)?(\d{12}:)?(function:)?([a-zA-Z0-9-_]+)(:(\$LATEST|[a-zA-Z0-9-_]+))?`
	qualifierRegex    = `(|[a-zA-Z0-9$_-]+)`
)

var (
	functionNamePattern = regexp.MustCompile(`^` + functionNameRegex + `$`)
	qualifierPattern    = regexp.MustCompile(`^[a-zA-Z0-9$_-]+$`)
)

// request is one routed call: the operation and its decoded HTTP bindings.
type request struct {
	op       string
	function string // the FunctionName label, unescaped
	alias    string // the alias Name label, unescaped
	query    url.Values
	body     []byte
}

type handler func(st *state, req *request) (status int, body any, err *Error)

var handlers = map[string]handler{
	"PutProvisionedConcurrencyConfig":    (*state).putProvisionedConcurrency,
	"GetProvisionedConcurrencyConfig":    (*state).getProvisionedConcurrency,
	"DeleteProvisionedConcurrencyConfig": (*state).deleteProvisionedConcurrency,
	"ListProvisionedConcurrencyConfigs":  (*state).listProvisionedConcurrency,
	"GetAccountSettings":                 (*state).getAccountSettings,
	"GetFunctionConcurrency":             (*state).getFunctionConcurrency,
	"PutFunctionConcurrency":             (*state).putFunctionConcurrency,
	"DeleteFunctionConcurrency":          (*state).deleteFunctionConcurrency,
	"GetAlias":                           (*state).getAlias,
	"ListAliases":                        (*state).listAliases,
	"UpdateAlias":                        (*state).updateAlias,
	"ListFunctions":                      (*state).listFunctions,
	"GetFunction":                        (*state).getFunction,
}

// route maps a request to an operation and its path labels. The paths and
// their API-version prefixes are those of the aws-sdk-go-v2 lambda client;
// a trailing slash (botocore, and so the AWS CLI, sends one on some paths)
// is ignored.
func route(r *http.Request) (*request, bool) {
	segs, ok := pathSegments(r)
	if !ok || len(segs) < 2 {
		return nil, false
	}
	req := &request{query: r.URL.Query()}
	m := r.Method
	switch {
	case len(segs) == 2 && segs[0] == "2016-08-19" && segs[1] == "account-settings" && m == http.MethodGet:
		req.op = "GetAccountSettings"
	case len(segs) == 2 && segs[0] == "2015-03-31" && segs[1] == "functions" && m == http.MethodGet:
		req.op = "ListFunctions"
	case len(segs) < 3 || segs[1] != "functions":
		return nil, false
	case len(segs) == 3 && segs[0] == "2015-03-31" && m == http.MethodGet:
		req.op = "GetFunction"
	case len(segs) == 4 && segs[0] == "2019-09-30" && segs[3] == "provisioned-concurrency":
		switch m {
		case http.MethodPut:
			req.op = "PutProvisionedConcurrencyConfig"
		case http.MethodGet:
			req.op = "GetProvisionedConcurrencyConfig"
			if req.query.Has("List") {
				req.op = "ListProvisionedConcurrencyConfigs"
			}
		case http.MethodDelete:
			req.op = "DeleteProvisionedConcurrencyConfig"
		}
	case len(segs) == 4 && segs[3] == "concurrency":
		switch {
		case segs[0] == "2019-09-30" && m == http.MethodGet:
			req.op = "GetFunctionConcurrency"
		case segs[0] == "2017-10-31" && m == http.MethodPut:
			req.op = "PutFunctionConcurrency"
		case segs[0] == "2017-10-31" && m == http.MethodDelete:
			req.op = "DeleteFunctionConcurrency"
		}
	case len(segs) == 4 && segs[0] == "2015-03-31" && segs[3] == "invocations" && m == http.MethodPost:
		req.op = opInvoke
	case len(segs) == 4 && segs[0] == "2015-03-31" && segs[3] == "aliases" && m == http.MethodGet:
		req.op = "ListAliases"
	case len(segs) == 5 && segs[0] == "2015-03-31" && segs[3] == "aliases":
		req.alias = segs[4]
		switch m {
		case http.MethodGet:
			req.op = "GetAlias"
		case http.MethodPut:
			req.op = "UpdateAlias"
		}
	}
	if req.op == "" {
		return nil, false
	}
	if len(segs) >= 3 {
		req.function = segs[2]
	}
	return req, true
}

// pathSegments splits the escaped path and unescapes each segment, so an
// ARN label whose colons the client percent-encoded comes back whole.
func pathSegments(r *http.Request) ([]string, bool) {
	p := strings.Trim(r.URL.EscapedPath(), "/")
	if p == "" {
		return nil, false
	}
	raw := strings.Split(p, "/")
	segs := make([]string, len(raw))
	for i, s := range raw {
		u, err := url.PathUnescape(s)
		if err != nil || u == "" {
			return nil, false
		}
		segs[i] = u
	}
	return segs, true
}

// Operation names the Lambda operation r asks for, and false when r is not
// one this control plane serves.
func (s *Service) Operation(r *http.Request) (string, bool) {
	req, ok := route(r)
	if !ok {
		return "", false
	}
	return req.op, true
}

// ServeHTTP answers a Lambda control-plane request.
func (s *Service) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	w.Header().Set("X-Amzn-RequestId", newRequestID())
	req, ok := route(r)
	if !ok {
		awsproto.WriteRESTJSONError(w, errUnknownOperation())
		return
	}
	body, err := io.ReadAll(http.MaxBytesReader(w, r.Body, maxRequestBody))
	if err != nil {
		var tooLarge *http.MaxBytesError
		if errors.As(err, &tooLarge) {
			// AWS names Invoke by its old name, InvokeFunction, here.
			name := req.op
			if name == opInvoke {
				name = "InvokeFunction"
			}
			awsproto.WriteRESTJSONError(w, &Error{Status: http.StatusRequestEntityTooLarge, Code: "RequestTooLargeException",
				Message: "Request must be smaller than 6291456 bytes for the " + name + " operation", Fields: userType})
			return
		}
		awsproto.WriteRESTJSONError(w, errInvalidContent("Could not read request body: "+err.Error()))
		return
	}
	req.body = body
	if req.op == opInvoke {
		s.invoke(w, r, req)
		return
	}
	s.mu.Lock()
	status, out, apiErr := handlers[req.op](s.st, req)
	s.mu.Unlock()
	if apiErr != nil {
		awsproto.WriteRESTJSONError(w, apiErr)
		return
	}
	awsproto.WriteRESTJSON(w, status, out)
}

// WriteThrottled writes Lambda's throttling error: 429
// TooManyRequestsException, "Rate exceeded", Retry-After and Reason
// CallerRateLimitExceeded.
func (s *Service) WriteThrottled(w http.ResponseWriter, op string) {
	awsproto.WriteRESTJSONError(w, errTooManyRequests())
}

// WriteServiceError writes Lambda's 500 ServiceException.
func (s *Service) WriteServiceError(w http.ResponseWriter, op string) {
	awsproto.WriteRESTJSONError(w, errService())
}

// API is the control plane as the localaws server registers it: REST-JSON,
// named "lambda".
func (s *Service) API() awsproto.Service { return api{s} }

type api struct{ s *Service }

func (a api) Name() string { return "lambda" }
func (a api) OperationNames() []string {
	return append(sortedKeys(handlers), opInvoke)
}
func (a api) Operation(r *http.Request) (string, bool)                        { return a.s.Operation(r) }
func (a api) ServeOperation(w http.ResponseWriter, r *http.Request, _ string) { a.s.ServeHTTP(w, r) }
func (a api) WriteError(w http.ResponseWriter, _ *http.Request, e *Error) {
	awsproto.WriteRESTJSONError(w, e)
}
func (a api) Throttled(string) *Error { return errTooManyRequests() }
func (a api) Internal(string) *Error  { return errService() }

// newRequestID returns a random request id in UUID form, as Lambda sends in
// X-Amzn-RequestId.
func newRequestID() string { return awsproto.RequestID() }

// decodeBody decodes a JSON request body into v; an empty body leaves v
// zero so that the required-member checks answer it.
func decodeBody(b []byte, v any) *Error {
	if len(bytes.TrimSpace(b)) == 0 {
		return nil
	}
	dec := json.NewDecoder(bytes.NewReader(b))
	if err := dec.Decode(v); err != nil {
		return errInvalidContent("Could not parse request body into json: " + describeJSONError(err))
	}
	if dec.More() {
		return errInvalidContent("Could not parse request body into json: unexpected data after the JSON object")
	}
	return nil
}

func describeJSONError(err error) string {
	var typeErr *json.UnmarshalTypeError
	if errors.As(err, &typeErr) {
		return fmt.Sprintf("Cannot deserialize value of type %s from %s for field %q", typeErr.Type, typeErr.Value, typeErr.Field)
	}
	return err.Error()
}

// functionAndQualifier resolves the FunctionName label (name, full or
// partial ARN, optionally qualified) and the Qualifier query parameter.
func (st *state) functionAndQualifier(req *request) (string, string, *Error) {
	fn, arnQualifier, err := st.parseFunctionName(req.function)
	if err != nil {
		return "", "", err
	}
	q := req.query.Get("Qualifier")
	switch {
	case q != "" && arnQualifier != "" && q != arnQualifier:
		return "", "", errInvalidParameter(msgQualifierMismatch)
	case q == "":
		q = arnQualifier
	}
	if q == "" {
		return "", "", errValidationf("Value null at 'qualifier' failed to satisfy constraint: Member must not be null")
	}
	if len(q) > maxQualifier {
		return "", "", errValidationf("Value '%s' at 'qualifier' failed to satisfy constraint: Member must have length less than or equal to %d", q, maxQualifier)
	}
	if !qualifierPattern.MatchString(q) {
		return "", "", errValidationf("Value '%s' at 'qualifier' failed to satisfy constraint: Member must satisfy regular expression pattern: %s", q, qualifierRegex)
	}
	return fn, q, nil
}

// parseFunctionName is the package-level parseFunctionName, refusing as AWS
// does an ARN of a function in another Region: this account's control
// plane answers only for its own Region.
func (st *state) parseFunctionName(s string) (string, string, *Error) {
	fn, q, err := parseFunctionName(s)
	if err != nil {
		return "", "", err
	}
	if parts := strings.Split(s, ":"); len(parts) >= 4 && parts[0] == "arn" && parts[3] != "" && parts[3] != st.region {
		return "", "", errNotFound(fmt.Sprintf("Functions from '%s' are not reachable in this region ('%s')", parts[3], st.region))
	}
	return fn, q, nil
}

// parseFunctionName accepts a function name, a full ARN
// (arn:aws:lambda:REGION:ACCOUNT:function:NAME[:QUALIFIER]), a partial ARN
// (ACCOUNT:function:NAME[:QUALIFIER]) or NAME:QUALIFIER, and returns the
// name and the qualifier suffix.
func parseFunctionName(s string) (string, string, *Error) {
	if len(s) > maxNameLen {
		return "", "", errValidationf("Value '%s' at 'functionName' failed to satisfy constraint: Member must have length less than or equal to %d", s, maxNameLen)
	}
	if !functionNamePattern.MatchString(s) {
		return "", "", errValidationf("Value '%s' at 'functionName' failed to satisfy constraint: Member must satisfy regular expression pattern: %s", s, functionNameRegex)
	}
	parts := strings.Split(s, ":")
	// In an ARN the name follows "function"; a bare "function:x" is the
	// function named "function" with qualifier x.
	if i := slices.Index(parts, "function"); i > 0 && i+1 < len(parts) {
		parts = parts[i+1:]
	}
	switch len(parts) {
	case 1:
		return parts[0], "", nil
	case 2:
		return parts[0], parts[1], nil
	}
	return "", "", errValidationf("Value '%s' at 'functionName' failed to satisfy constraint: Member must satisfy regular expression pattern: %s", s, functionNameRegex)
}

// maxItems reads the MaxItems query parameter: def when absent, else
// 1..limit.
func (req *request) maxItems(def, limit int) (int, *Error) {
	raw := req.query.Get("MaxItems")
	if raw == "" {
		return def, nil
	}
	n, err := strconv.Atoi(raw)
	if err != nil {
		return 0, errInvalidParameter(fmt.Sprintf("Invalid value for MaxItems: %q is not an integer", raw))
	}
	if n < 1 {
		return 0, errValidationf("Value '%d' at 'maxItems' failed to satisfy constraint: Member must have value greater than or equal to 1", n)
	}
	if n > limit {
		return 0, errValidationf("Value '%d' at 'maxItems' failed to satisfy constraint: Member must have value less than or equal to %d", n, limit)
	}
	return n, nil
}
