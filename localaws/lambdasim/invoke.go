package lambdasim

import (
	"bytes"
	"context"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"time"

	"github.com/prewarm/prewarm/localaws/awsproto"
)

// opInvoke is the data-plane operation the control plane forwards to a
// function's invoke URL.
const opInvoke = "Invoke"

// Invocation types of the X-Amz-Invocation-Type header.
const (
	invocationRequestResponse = "RequestResponse"
	invocationEvent           = "Event"
	invocationDryRun          = "DryRun"
)

// eventTimeout bounds an asynchronous (Event) invocation, Lambda's longest
// function timeout.
const eventTimeout = 15 * time.Minute

// invocation is an Invoke resolved against the account: where to send it
// and which version runs.
type invocation struct {
	url, version string
}

// resolveInvoke finds the function and version an Invoke names, answering
// as AWS does when either is missing. Callers hold s.mu.
func (st *state) resolveInvoke(req *request) (invocation, *Error) {
	fn, arnQualifier, err := st.parseFunctionName(req.function)
	if err != nil {
		return invocation{}, err
	}
	q := req.query.Get("Qualifier")
	switch {
	case q != "" && arnQualifier != "" && q != arnQualifier:
		return invocation{}, errInvalidParameter(msgQualifierMismatch)
	case q == "":
		q = arnQualifier
	}
	f := st.functions[fn]
	if f == nil {
		return invocation{}, errNotFound("Function not found: " + st.functionARN(fn))
	}
	version := "$LATEST"
	switch {
	case q == "" || q == "$LATEST":
	case versionPattern.MatchString(q):
		if !f.hasVersion(q) {
			return invocation{}, errNotFound("Function not found: " + st.qualifiedARN(fn, q))
		}
		version = q
	default:
		a := f.aliases[q]
		if a == nil {
			return invocation{}, errNotFound("Function not found: " + st.qualifiedARN(fn, q))
		}
		version = a.version
	}
	if f.invokeURL == "" {
		return invocation{}, &Error{Status: http.StatusBadGateway, Code: "ResourceNotReadyException", Fields: userType,
			Message: fmt.Sprintf("The emulated function %s has no invoke URL to run it: give it one with \"invokeURL\" in the world file or -invoke %s=URL", fn, fn)}
	}
	return invocation{url: f.invokeURL, version: version}, nil
}

// invoke answers Invoke: RequestResponse forwards the payload to the
// function's invoke URL and answers with the function's response (200,
// X-Amz-Function-Error: Unhandled when the function failed); Event answers
// 202 at once and invokes in the background; DryRun only checks (204).
func (s *Service) invoke(w http.ResponseWriter, r *http.Request, req *request) {
	s.mu.Lock()
	inv, apiErr := s.st.resolveInvoke(req)
	s.mu.Unlock()
	if apiErr != nil {
		awsproto.WriteRESTJSONError(w, apiErr)
		return
	}
	typ := r.Header.Get("X-Amz-Invocation-Type")
	switch typ {
	case "", invocationRequestResponse:
	case invocationEvent:
		go func() {
			ctx, cancel := context.WithTimeout(context.Background(), eventTimeout)
			defer cancel()
			_, _, _ = s.forward(ctx, inv, req.body)
		}()
		w.WriteHeader(http.StatusAccepted)
		return
	case invocationDryRun:
		w.WriteHeader(http.StatusNoContent)
		return
	default:
		awsproto.WriteRESTJSONError(w, errValidationf("Value '%s' at 'invocationType' failed to satisfy constraint: Member must satisfy enum value set: [RequestResponse, Event, DryRun]", typ))
		return
	}
	payload, failed, err := s.forward(r.Context(), inv, req.body)
	if err != nil {
		awsproto.WriteRESTJSONError(w, &Error{Status: http.StatusInternalServerError, Code: "ServiceException", Fields: map[string]string{"Type": "Service"},
			MessageKey: "Message", Message: fmt.Sprintf("Invoke could not reach the function at %s: %v", inv.url, err)})
		return
	}
	h := w.Header()
	h.Set("Content-Type", "application/json")
	h.Set("X-Amz-Executed-Version", inv.version)
	if failed {
		h.Set("X-Amz-Function-Error", "Unhandled")
	}
	if r.Header.Get("X-Amz-Log-Type") == "Tail" {
		id := h.Get("X-Amzn-RequestId")
		logs := fmt.Sprintf("START RequestId: %s Version: %s\nEND RequestId: %s\nREPORT RequestId: %s\n", id, inv.version, id, id)
		h.Set("X-Amz-Log-Result", base64.StdEncoding.EncodeToString([]byte(logs)))
	}
	w.WriteHeader(http.StatusOK)
	_, _ = w.Write(payload)
}

// forward POSTs payload to the function and returns its response and
// whether the function failed: a non-2xx answer (the Runtime Interface
// Emulator answers 502 when initialisation failed), a Lambda error payload
// ({"errorMessage": ..., "errorType": ...}, how the Runtime Interface
// Emulator answers a function error, with 200) or a timeout. err means the
// invoke URL could not be reached.
func (s *Service) forward(ctx context.Context, inv invocation, payload []byte) (body []byte, failed bool, err error) {
	if len(bytes.TrimSpace(payload)) == 0 {
		payload = []byte("{}")
	}
	hr, err := http.NewRequestWithContext(ctx, http.MethodPost, inv.url, bytes.NewReader(payload))
	if err != nil {
		return nil, false, err
	}
	hr.Header.Set("Content-Type", "application/json")
	resp, err := s.client.Do(hr)
	if err != nil {
		return nil, false, err
	}
	defer func() { _ = resp.Body.Close() }() // read below; a close error cannot change the response
	body, err = io.ReadAll(io.LimitReader(resp.Body, maxRequestBody+1))
	if err != nil {
		return nil, false, err
	}
	switch {
	case len(body) > maxRequestBody:
		return functionErrorPayload("Function.ResponseSizeTooLarge", fmt.Sprintf("Response payload size exceeded maximum allowed payload size (%d bytes).", maxRequestBody)), true, nil
	case resp.StatusCode < 200 || resp.StatusCode > 299:
		if isErrorPayload(body) {
			return body, true, nil
		}
		return functionErrorPayload("Runtime.Unknown", fmt.Sprintf("The function's invoke URL answered HTTP %d: %s", resp.StatusCode, bytes.TrimSpace(body))), true, nil
	case bytes.HasPrefix(body, []byte("Task timed out after")):
		return functionErrorPayload("Sandbox.Timedout", string(body)), true, nil
	}
	return body, isErrorPayload(body), nil
}

// isErrorPayload recognises Lambda's error payload: an object with
// errorMessage or errorType.
func isErrorPayload(body []byte) bool {
	var probe map[string]json.RawMessage
	if json.Unmarshal(body, &probe) != nil {
		return false
	}
	_, hasType := probe["errorType"]
	_, hasMessage := probe["errorMessage"]
	return hasType || hasMessage
}

func functionErrorPayload(typ, msg string) []byte {
	b, _ := json.Marshal(struct {
		ErrorMessage string `json:"errorMessage"`
		ErrorType    string `json:"errorType"`
	}{msg, typ})
	return b
}
