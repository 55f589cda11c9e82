package esm

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"sync"
)

// Invoker runs the function on one event payload and returns its response.
// An error means the invocation failed (the whole batch is retried).
type Invoker interface {
	Invoke(ctx context.Context, payload []byte) ([]byte, error)
}

// FuncInvoker adapts a function. With Concurrency above 1 it is called
// concurrently; wrap an aws-lambda-go handler with HandlerInvoker instead.
type FuncInvoker func(ctx context.Context, payload []byte) ([]byte, error)

// Invoke calls f.
func (f FuncInvoker) Invoke(ctx context.Context, payload []byte) ([]byte, error) {
	return f(ctx, payload)
}

// HandlerInvoker runs an in-process aws-lambda-go handler, for example
// lambda.NewHandler(fn), one invocation at a time like a single execution
// environment. The handler reuses its response buffer between invocations,
// so the response is copied before the next one may start.
func HandlerInvoker(h Invoker) Invoker {
	return &handlerInvoker{h: h}
}

type handlerInvoker struct {
	mu sync.Mutex
	h  Invoker
}

func (i *handlerInvoker) Invoke(ctx context.Context, payload []byte) ([]byte, error) {
	i.mu.Lock()
	defer i.mu.Unlock()
	resp, err := i.h.Invoke(ctx, payload)
	return bytes.Clone(resp), err
}

// FunctionError is an error the function itself returned (Lambda's
// errorType / errorMessage).
type FunctionError struct {
	Type    string `json:"errorType"`
	Message string `json:"errorMessage"`
}

func (e *FunctionError) Error() string {
	if e.Type == "" {
		return "function error: " + e.Message
	}
	return "function error " + e.Type + ": " + e.Message
}

// maxResponseBytes is Lambda's synchronous response limit.
const maxResponseBytes = 6 << 20

// HTTPInvoker invokes a function over HTTP, for example the Runtime
// Interface Emulator's
// http://127.0.0.1:8080/2015-03-31/functions/function/invocations.
type HTTPInvoker struct {
	URL    string
	Client *http.Client // http.DefaultClient when nil
}

// Invoke POSTs payload to h.URL. A non-2xx status, an
// X-Amz-Function-Error header or an errorType/errorMessage body (how the
// Runtime Interface Emulator reports a function error) is an error.
func (h HTTPInvoker) Invoke(ctx context.Context, payload []byte) ([]byte, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, h.URL, bytes.NewReader(payload))
	if err != nil {
		return nil, fmt.Errorf("invoke %s: %w", h.URL, err)
	}
	req.Header.Set("Content-Type", "application/json")
	client := h.Client
	if client == nil {
		client = http.DefaultClient
	}
	resp, err := client.Do(req)
	if err != nil {
		return nil, fmt.Errorf("invoke %s: %w", h.URL, err)
	}
	defer func() { _ = resp.Body.Close() }() // read below; a close error cannot change the response
	body, err := io.ReadAll(io.LimitReader(resp.Body, maxResponseBytes+1))
	if err != nil {
		return nil, fmt.Errorf("invoke %s: read response: %w", h.URL, err)
	}
	if len(body) > maxResponseBytes {
		return nil, fmt.Errorf("invoke %s: response larger than %d bytes", h.URL, maxResponseBytes)
	}
	if resp.StatusCode < 200 || resp.StatusCode > 299 {
		return nil, fmt.Errorf("invoke %s: HTTP %d: %s", h.URL, resp.StatusCode, truncate(body))
	}
	if fe := functionError(body); fe != nil || resp.Header.Get("X-Amz-Function-Error") != "" {
		if fe == nil {
			fe = &FunctionError{Type: resp.Header.Get("X-Amz-Function-Error"), Message: string(truncate(body))}
		}
		return nil, fmt.Errorf("invoke %s: %w", h.URL, fe)
	}
	return body, nil
}

// functionError recognises Lambda's error payload.
func functionError(body []byte) *FunctionError {
	var probe map[string]json.RawMessage
	if json.Unmarshal(body, &probe) != nil {
		return nil
	}
	_, hasType := probe["errorType"]
	_, hasMessage := probe["errorMessage"]
	if !hasType && !hasMessage {
		return nil
	}
	var fe FunctionError
	_ = json.Unmarshal(body, &fe)
	return &fe
}

func truncate(b []byte) []byte {
	const limit = 512
	if len(b) > limit {
		return append(b[:limit:limit], "…"...)
	}
	return b
}
