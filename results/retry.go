package results

import (
	"context"
	"errors"
	"math/rand/v2"
	"net"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws/retry"
	sqstypes "github.com/aws/aws-sdk-go-v2/service/sqs/types"
	"github.com/aws/smithy-go"
)

// transient reports whether a failed SendMessageBatch call may succeed if made again:
// throttling, server faults (5xx), the SDK's retryable codes and network failures. Everything
// else (a missing queue, access denied, an invalid request) is permanent. This is the one place
// the publisher decides it; the SDK's own retryer (aws/retry) uses the same code lists.
func transient(err error) bool {
	if err == nil || errors.Is(err, context.Canceled) {
		return false
	}
	var requestThrottled *sqstypes.RequestThrottled
	var kmsThrottled *sqstypes.KmsThrottled
	if errors.As(err, &requestThrottled) || errors.As(err, &kmsThrottled) {
		return true
	}
	var apiErr smithy.APIError
	if errors.As(err, &apiErr) {
		code := apiErr.ErrorCode()
		if _, ok := retry.DefaultThrottleErrorCodes[code]; ok {
			return true
		}
		if _, ok := retry.DefaultRetryableErrorCodes[code]; ok {
			return true
		}
		if apiErr.ErrorFault() == smithy.FaultServer {
			return true
		}
	}
	var status interface{ HTTPStatusCode() int }
	if errors.As(err, &status) {
		if code := status.HTTPStatusCode(); code == 429 || code >= 500 {
			return true
		}
		if apiErr != nil {
			return false // a modelled 4xx answer: the request itself is wrong
		}
	}
	var dnsErr *net.DNSError
	if errors.As(err, &dnsErr) && dnsErr.IsNotFound {
		return false // a wrong endpoint does not heal
	}
	var conn interface{ ConnectionError() bool }
	if errors.As(err, &conn) && conn.ConnectionError() {
		return true
	}
	var netErr net.Error
	if errors.As(err, &netErr) {
		return true
	}
	// A per-attempt timeout that is not the caller's deadline (the caller's is checked first).
	return errors.Is(err, context.DeadlineExceeded)
}

// errorCode returns the API error code carried by err, or "".
func errorCode(err error) string {
	var apiErr smithy.APIError
	if errors.As(err, &apiErr) {
		return apiErr.ErrorCode()
	}
	return ""
}

// Backoff bounds of the default retry policy.
const (
	baseBackoff = 100 * time.Millisecond
	maxBackoff  = 2 * time.Second
)

// jitteredBackoff waits between half and all of an exponentially growing delay, so that
// publishers throttled together do not retry together.
func jitteredBackoff(attempt int) time.Duration {
	d := maxBackoff
	if attempt >= 1 && attempt < 16 {
		d = min(baseBackoff<<(attempt-1), maxBackoff)
	}
	return d/2 + rand.N(d/2+1)
}

// sleepContext waits d or until ctx is done.
func sleepContext(ctx context.Context, d time.Duration) error {
	if d <= 0 {
		return ctx.Err()
	}
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-ctx.Done():
		return ctx.Err()
	case <-t.C:
		return nil
	}
}
