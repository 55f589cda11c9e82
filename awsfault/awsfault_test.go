package awsfault

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"testing"

	"github.com/aws/smithy-go"
	smithyhttp "github.com/aws/smithy-go/transport/http"
)

func TestClassify(t *testing.T) {
	resp := func(status int, err error) error {
		return &smithyhttp.ResponseError{Response: &smithyhttp.Response{Response: &http.Response{StatusCode: status}}, Err: err}
	}
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
		{"5xx without a fault", resp(503, &smithy.GenericAPIError{Code: "Unavailable"}), "Unavailable", true},
		{"validation", &smithy.GenericAPIError{Code: "ValidationException", Message: "bad"}, "ValidationException", false},
		{"not found", &smithy.GenericAPIError{Code: "ObjectNotFoundException"}, "ObjectNotFoundException", false},
		{"4xx without a code", resp(403, errors.New("forbidden")), "HTTP403", false},
		{"5xx without a code", resp(502, errors.New("bad gateway")), "NetworkError", true},
		{"deadline", fmt.Errorf("call: %w", context.DeadlineExceeded), "Timeout", true},
		{"reset", errors.New("read: connection reset by peer"), "NetworkError", true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := Classify("DescribeScalableTargets", "function:f:BLUE", tt.err)
			var e *Error
			if !errors.As(err, &e) {
				t.Fatalf("Classify = %T", err)
			}
			if e.Code != tt.code || e.Transient != tt.transient {
				t.Errorf("Classify = %q transient %v, want %q transient %v", e.Code, e.Transient, tt.code, tt.transient)
			}
			if !errors.Is(err, tt.err) {
				t.Error("the classified error does not wrap the original")
			}
			if IsTransient(err) != tt.transient || IsTransient(fmt.Errorf("wrapped: %w", err)) != tt.transient {
				t.Error("IsTransient disagrees")
			}
		})
	}
	if Classify("Op", "r", nil) != nil {
		t.Error("Classify(nil) is not nil")
	}
	once := Classify("Op", "r", errors.New("x"))
	if again := Classify("Other", "s", once); again != once {
		t.Error("a classified error was classified again")
	}
}
