package awsfault

import (
	"context"
	"errors"
	"fmt"
	"testing"

	"github.com/aws/smithy-go"
)

func TestWrap(t *testing.T) {
	tests := []struct {
		name      string
		err       error
		code      string
		transient bool
	}{
		{"throttling", &smithy.GenericAPIError{Code: "ThrottlingException", Message: "Rate exceeded"}, "ThrottlingException", true},
		{"limit exceeded", &smithy.GenericAPIError{Code: "LimitExceededException"}, "LimitExceededException", true},
		{"concurrent update", &smithy.GenericAPIError{Code: "ConcurrentUpdateException", Message: "Concurrent updates are not allowed"}, "ConcurrentUpdateException", true},
		{"server fault", &smithy.GenericAPIError{Code: "InternalServiceException", Fault: smithy.FaultServer}, "InternalServiceException", true},
		{"validation", &smithy.GenericAPIError{Code: "ValidationException", Message: "bad"}, "ValidationException", false},
		{"not found", &smithy.GenericAPIError{Code: "ObjectNotFoundException"}, "ObjectNotFoundException", false},
		{"deadline", fmt.Errorf("call: %w", context.DeadlineExceeded), "Timeout", true},
		{"reset", errors.New("read: connection reset by peer"), "NetworkError", true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := Wrap("DescribeScalableTargets", "function:f:BLUE", tt.err)
			var e *CallError
			if !errors.As(err, &e) {
				t.Fatalf("Wrap = %T", err)
			}
			if e.Code != tt.code || e.Transient != tt.transient || Code(err) != tt.code {
				t.Errorf("Wrap = %q transient %v, want %q transient %v", e.Code, e.Transient, tt.code, tt.transient)
			}
			if !errors.Is(err, tt.err) {
				t.Error("the wrapped error does not wrap the original")
			}
			if IsTransient(err) != tt.transient || IsTransient(fmt.Errorf("wrapped: %w", err)) != tt.transient {
				t.Error("IsTransient disagrees")
			}
			if want := "DescribeScalableTargets function:f:BLUE: " + tt.code; err.Error()[:len(want)] != want {
				t.Errorf("Error() = %q, want it to start %q", err, want)
			}
		})
	}
	if Wrap("Op", "r", nil) != nil {
		t.Error("Wrap(nil) is not nil")
	}
	once := Wrap("Op", "r", errors.New("x"))
	if again := Wrap("Other", "s", once); again != once {
		t.Error("a wrapped error was wrapped again")
	}
	if err := New("GetMetricData", "f:BLUE", "TooManyPages", "still a token", false); IsTransient(err) || Code(err) != "TooManyPages" {
		t.Errorf("New = %v", err)
	}
	if Code(errors.New("plain")) != "" || IsTransient(errors.New("plain")) {
		t.Error("a plain error has a code or is transient")
	}
}
