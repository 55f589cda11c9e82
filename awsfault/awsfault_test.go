package awsfault

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/http"
	"testing"

	"github.com/aws/smithy-go"
	smithyhttp "github.com/aws/smithy-go/transport/http"
)

func response(status int, err error) error {
	return &smithyhttp.ResponseError{Response: &smithyhttp.Response{Response: &http.Response{StatusCode: status}}, Err: err}
}

func TestClassify(t *testing.T) {
	tests := []struct {
		name string
		err  error
		want Fault
	}{
		{"throttling", response(400, &smithy.GenericAPIError{Code: "ThrottlingException", Message: "Rate exceeded"}),
			Fault{Code: "ThrottlingException", Message: "Rate exceeded", Transient: true}},
		{"server fault", &smithy.GenericAPIError{Code: "InternalFailure", Message: "boom", Fault: smithy.FaultServer},
			Fault{Code: "InternalFailure", Message: "boom", Transient: true}},
		{"503 without a fault", response(503, &smithy.GenericAPIError{Code: "ServiceUnavailable", Message: "later"}),
			Fault{Code: "ServiceUnavailable", Message: "later", Transient: true}},
		{"client error", response(400, &smithy.GenericAPIError{Code: "DeploymentDoesNotExistException", Message: "no d-1"}),
			Fault{Code: "DeploymentDoesNotExistException", Message: "no d-1"}},
		{"deadline", fmt.Errorf("op: %w", context.DeadlineExceeded),
			Fault{Code: "Timeout", Message: "op: context deadline exceeded", Transient: true}},
		{"network", &net.OpError{Op: "dial", Net: "tcp", Err: errors.New("connection refused")},
			Fault{Code: "NetworkError", Message: "dial tcp: connection refused", Transient: true}},
		{"403 without an AWS error", response(403, errors.New("forbidden")),
			Fault{Code: "HTTP403", Message: "http response error StatusCode: 403, forbidden"}},
		{"reset", errors.New("unexpected EOF"), Fault{Code: "NetworkError", Message: "unexpected EOF", Transient: true}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := Classify(tt.err); got != tt.want {
				t.Errorf("Classify(%v) = %+v, want %+v", tt.err, got, tt.want)
			}
		})
	}
}
