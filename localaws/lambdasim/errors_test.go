package lambdasim_test

import (
	"context"
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	lambdasvc "github.com/aws/aws-sdk-go-v2/service/lambda"
	"github.com/aws/aws-sdk-go-v2/service/lambda/types"
	"github.com/aws/smithy-go"
	"github.com/google/go-cmp/cmp"

	"github.com/prewarm/prewarm/localaws/lambdasim"
)

func putPC(ctx context.Context, c *lambdasvc.Client, fn, q string, n int32) error {
	_, err := c.PutProvisionedConcurrencyConfig(ctx, &lambdasvc.PutProvisionedConcurrencyConfigInput{
		FunctionName: aws.String(fn), Qualifier: aws.String(q), ProvisionedConcurrentExecutions: aws.Int32(n),
	})
	return err
}

func getPC(ctx context.Context, c *lambdasvc.Client, fn, q string) (*lambdasvc.GetProvisionedConcurrencyConfigOutput, error) {
	return c.GetProvisionedConcurrencyConfig(ctx, &lambdasvc.GetProvisionedConcurrencyConfigInput{
		FunctionName: aws.String(fn), Qualifier: aws.String(q),
	})
}

func deletePC(ctx context.Context, c *lambdasvc.Client, fn, q string) error {
	_, err := c.DeleteProvisionedConcurrencyConfig(ctx, &lambdasvc.DeleteProvisionedConcurrencyConfigInput{
		FunctionName: aws.String(fn), Qualifier: aws.String(q),
	})
	return err
}

// TestErrorsAsRecordedAgainstAWS reproduces every row of the AWS-FACTS
// error table through the real SDK client.
func TestErrorsAsRecordedAgainstAWS(t *testing.T) {
	const arn = "arn:aws:lambda:us-west-2:123456789012:function:"
	tests := []struct {
		name    string
		mutate  func(*lambdasim.Config)
		setup   func(ctx context.Context, t *testing.T, f *fixture)
		call    func(ctx context.Context, c *lambdasvc.Client) error
		status  int
		code    string
		message string
		isType  func(error) bool
	}{
		{
			name:    "put 0",
			call:    func(ctx context.Context, c *lambdasvc.Client) error { return putPC(ctx, c, "my-function", "BLUE", 0) },
			status:  400,
			code:    "ValidationException",
			message: "1 validation error detected: Value '0' at 'provisionedConcurrentExecutions' failed to satisfy constraint: Member must have value greater than or equal to 1",
			isType:  isType[smithy.APIError],
		},
		{
			name: "put on $LATEST",
			call: func(ctx context.Context, c *lambdasvc.Client) error {
				return putPC(ctx, c, "my-function", "$LATEST", 5)
			},
			status:  400,
			code:    "InvalidParameterValueException",
			message: "Provisioned Concurrency Configs cannot be applied to unpublished function versions.",
			isType:  isType[*types.InvalidParameterValueException],
		},
		{
			name: "get on $LATEST",
			call: func(ctx context.Context, c *lambdasvc.Client) error {
				_, err := getPC(ctx, c, "my-function", "$LATEST")
				return err
			},
			status:  400,
			code:    "InvalidParameterValueException",
			message: "The function resource provided must be an alias or a published version.",
			isType:  isType[*types.InvalidParameterValueException],
		},
		{
			name: "delete on $LATEST",
			call: func(ctx context.Context, c *lambdasvc.Client) error {
				return deletePC(ctx, c, "my-function", "$LATEST")
			},
			status:  400,
			code:    "InvalidParameterValueException",
			message: "The function resource provided must be an alias or a published version.",
			isType:  isType[*types.InvalidParameterValueException],
		},
		{
			name: "get with no configuration",
			call: func(ctx context.Context, c *lambdasvc.Client) error {
				_, err := getPC(ctx, c, "my-function", "GREEN")
				return err
			},
			status:  404,
			code:    "ProvisionedConcurrencyConfigNotFoundException",
			message: "No Provisioned Concurrency Config found for this function",
			isType:  isType[*types.ProvisionedConcurrencyConfigNotFoundException],
		},
		{
			name:    "alias does not exist",
			call:    func(ctx context.Context, c *lambdasvc.Client) error { return putPC(ctx, c, "my-function", "PURPLE", 5) },
			status:  404,
			code:    "ResourceNotFoundException",
			message: "Cannot find alias arn: " + arn + "my-function:PURPLE",
			isType:  isType[*types.ResourceNotFoundException],
		},
		{
			name: "function missing",
			call: func(ctx context.Context, c *lambdasvc.Client) error {
				_, err := getPC(ctx, c, "no-such-function", "BLUE")
				return err
			},
			status:  404,
			code:    "ResourceNotFoundException",
			message: "Cannot find alias arn: " + arn + "no-such-function:BLUE",
			isType:  isType[*types.ResourceNotFoundException],
		},
		{
			name:    "version does not exist",
			call:    func(ctx context.Context, c *lambdasvc.Client) error { return putPC(ctx, c, "my-function", "9", 5) },
			status:  404,
			code:    "ResourceNotFoundException",
			message: "Function not found: " + arn + "my-function:9",
			isType:  isType[*types.ResourceNotFoundException],
		},
		{
			name: "list on a missing function",
			call: func(ctx context.Context, c *lambdasvc.Client) error {
				_, err := c.ListProvisionedConcurrencyConfigs(ctx, &lambdasvc.ListProvisionedConcurrencyConfigsInput{FunctionName: aws.String("no-such-function")})
				return err
			},
			status:  404,
			code:    "ResourceNotFoundException",
			message: "Function not found: " + arn + "no-such-function",
			isType:  isType[*types.ResourceNotFoundException],
		},
		{
			name: "put on an alias whose version already has PC",
			setup: func(ctx context.Context, t *testing.T, f *fixture) {
				mustPut(ctx, t, f.client, "my-function", "1", 5)
			},
			call:    func(ctx context.Context, c *lambdasvc.Client) error { return putPC(ctx, c, "my-function", "BLUE", 5) },
			status:  409,
			code:    "ResourceConflictException",
			message: "Alias can't be used for Provisioned Concurrency configuration on an already Provisioned version",
			isType:  isType[*types.ResourceConflictException],
		},
		{
			name: "put on an alias whose version another alias provisions",
			setup: func(ctx context.Context, t *testing.T, f *fixture) {
				mustPut(ctx, t, f.client, "my-function", "BLUE", 5)
				if err := f.svc.UpdateAlias("my-function", "GREEN", "1"); err != nil {
					t.Fatal(err)
				}
			},
			call:    func(ctx context.Context, c *lambdasvc.Client) error { return putPC(ctx, c, "my-function", "GREEN", 5) },
			status:  409,
			code:    "ResourceConflictException",
			message: "Alias can't be used for Provisioned Concurrency configuration on an already Provisioned version",
			isType:  isType[*types.ResourceConflictException],
		},
		{
			name: "put on a version a PC alias points to",
			setup: func(ctx context.Context, t *testing.T, f *fixture) {
				mustPut(ctx, t, f.client, "my-function", "BLUE", 5)
			},
			call:    func(ctx context.Context, c *lambdasvc.Client) error { return putPC(ctx, c, "my-function", "1", 5) },
			status:  409,
			code:    "ResourceConflictException",
			message: "Version is pointed by a Provisioned Concurrency alias",
			isType:  isType[*types.ResourceConflictException],
		},
		{
			name: "put above reserved concurrency",
			setup: func(ctx context.Context, t *testing.T, f *fixture) {
				mustPut(ctx, t, f.client, "orders-worker", "1", 30)
			},
			call: func(ctx context.Context, c *lambdasvc.Client) error {
				return putPC(ctx, c, "orders-worker", "live", 21)
			},
			status:  400,
			code:    "InvalidParameterValueException",
			message: "Requested Provisioned Concurrency should not be greater than the reservedConcurrentExecution for function",
			isType:  isType[*types.InvalidParameterValueException],
		},
		{
			name:    "put above unreserved concurrency",
			call:    func(ctx context.Context, c *lambdasvc.Client) error { return putPC(ctx, c, "my-function", "BLUE", 951) },
			status:  400,
			code:    "InvalidParameterValueException",
			message: "Specified ConcurrentExecutions for function is greater than account's unreserved concurrency [950].",
			isType:  isType[*types.InvalidParameterValueException],
		},
		{
			name:    "put leaving less than the minimum unreserved",
			call:    func(ctx context.Context, c *lambdasvc.Client) error { return putPC(ctx, c, "my-function", "BLUE", 851) },
			status:  400,
			code:    "InvalidParameterValueException",
			message: "Specified ConcurrentExecutions for function decreases account's UnreservedConcurrentExecution below its minimum value of [100].",
			isType:  isType[*types.InvalidParameterValueException],
		},
		{
			name: "put on an alias with routing weights",
			setup: func(ctx context.Context, t *testing.T, f *fixture) {
				_, err := f.client.UpdateAlias(ctx, &lambdasvc.UpdateAliasInput{
					FunctionName: aws.String("my-function"), Name: aws.String("GREEN"),
					RoutingConfig: &types.AliasRoutingConfiguration{AdditionalVersionWeights: map[string]float64{"1": 0.1}},
				})
				if err != nil {
					t.Fatal(err)
				}
			},
			call:    func(ctx context.Context, c *lambdasvc.Client) error { return putPC(ctx, c, "my-function", "GREEN", 5) },
			status:  400,
			code:    "InvalidParameterValueException",
			message: "Alias with weights can not be used with Provisioned Concurrency",
			isType:  isType[*types.InvalidParameterValueException],
		},
		{
			name:   "second put while one is processing",
			mutate: func(c *lambdasim.Config) { c.PutConflictWindow = 10 * time.Second },
			setup: func(ctx context.Context, t *testing.T, f *fixture) {
				mustPut(ctx, t, f.client, "my-function", "BLUE", 5)
			},
			call:    func(ctx context.Context, c *lambdasvc.Client) error { return putPC(ctx, c, "my-function", "BLUE", 6) },
			status:  409,
			code:    "ResourceConflictException",
			message: "A previous request is being processed. Please try again shortly",
			isType:  isType[*types.ResourceConflictException],
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			ctx := context.Background()
			f := newFixture(t, tt.mutate)
			if tt.setup != nil {
				tt.setup(ctx, t, f)
			}
			err := tt.call(ctx, f.client)
			wantAPIError(t, err, tt.status, tt.code, tt.message)
			if !tt.isType(err) {
				t.Errorf("errors.As: %v (%T) is not the expected type", err, err)
			}
		})
	}
}

func mustPut(ctx context.Context, t *testing.T, c *lambdasvc.Client, fn, q string, n int32) {
	t.Helper()
	if err := putPC(ctx, c, fn, q, n); err != nil {
		t.Fatalf("put %s:%s=%d: %v", fn, q, n, err)
	}
}

// TestThrottledAndServiceErrors checks the errors the server writes for
// injected faults: 429 with Retry-After and Reason, and 500.
func TestThrottledAndServiceErrors(t *testing.T) {
	svc := lambdasim.New(testConfig(nil))
	var mode string
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		op, ok := svc.Operation(r)
		if !ok {
			t.Errorf("operation of %s %s not recognised", r.Method, r.URL)
		}
		if mode == "throttle" {
			svc.WriteThrottled(w, op)
			return
		}
		svc.WriteServiceError(w, op)
	}))
	defer srv.Close()
	c := newClient(srv.URL)
	ctx := context.Background()

	mode = "throttle"
	err := putPC(ctx, c, "my-function", "BLUE", 5)
	wantAPIError(t, err, 429, "TooManyRequestsException", "Rate exceeded")
	var tooMany *types.TooManyRequestsException
	if !errors.As(err, &tooMany) {
		t.Fatalf("got %T, want *types.TooManyRequestsException", err)
	}
	if got, want := aws.ToString(tooMany.RetryAfterSeconds), "1"; got != want {
		t.Errorf("RetryAfterSeconds: got %q, want %q", got, want)
	}
	if got, want := tooMany.Reason, types.ThrottleReasonCallerRateLimitExceeded; got != want {
		t.Errorf("Reason: got %q, want %q", got, want)
	}

	mode = "error"
	_, err = c.GetAccountSettings(ctx, &lambdasvc.GetAccountSettingsInput{})
	wantAPIError(t, err, 500, "ServiceException", "An internal error occurred. Please try again later.")
	if !isType[*types.ServiceException](err) {
		t.Errorf("got %T, want *types.ServiceException", err)
	}
}

// TestErrorWireFormat pins the body field spelling per error: Message for
// ResourceNotFoundException and ServiceException, message otherwise, and no
// Type on ValidationException and the account-limit errors.
func TestErrorWireFormat(t *testing.T) {
	f := newFixture(t, nil)
	tests := []struct {
		name, method, path, body string
		wantCode                 string
		wantBody                 map[string]string
	}{
		{
			name: "not found", method: "GET", path: "/2019-09-30/functions/my-function/provisioned-concurrency?Qualifier=9",
			wantCode: "ResourceNotFoundException",
			wantBody: map[string]string{"Type": "User", "Message": "Function not found: arn:aws:lambda:us-west-2:123456789012:function:my-function:9"},
		},
		{
			name: "validation", method: "PUT", path: "/2019-09-30/functions/my-function/provisioned-concurrency?Qualifier=BLUE", body: `{"ProvisionedConcurrentExecutions":0}`,
			wantCode: "ValidationException",
			wantBody: map[string]string{"message": "1 validation error detected: Value '0' at 'provisionedConcurrentExecutions' failed to satisfy constraint: Member must have value greater than or equal to 1"},
		},
		{
			name: "account limit", method: "PUT", path: "/2019-09-30/functions/my-function/provisioned-concurrency?Qualifier=BLUE", body: `{"ProvisionedConcurrentExecutions":900}`,
			wantCode: "InvalidParameterValueException",
			wantBody: map[string]string{"message": "Specified ConcurrentExecutions for function decreases account's UnreservedConcurrentExecution below its minimum value of [100]."},
		},
		{
			name: "config not found", method: "GET", path: "/2019-09-30/functions/my-function/provisioned-concurrency?Qualifier=BLUE",
			wantCode: "ProvisionedConcurrencyConfigNotFoundException",
			wantBody: map[string]string{"Type": "User", "message": "No Provisioned Concurrency Config found for this function"},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			resp := rawRequest(t, tt.method, f.url+tt.path, tt.body, nil)
			if got := resp.Header.Get("X-Amzn-ErrorType"); got != tt.wantCode {
				t.Errorf("X-Amzn-ErrorType: got %q, want %q", got, tt.wantCode)
			}
			b, _ := io.ReadAll(resp.Body)
			var got map[string]string
			if err := json.Unmarshal(b, &got); err != nil {
				t.Fatalf("body %s: %v", b, err)
			}
			if diff := cmp.Diff(tt.wantBody, got); diff != "" {
				t.Errorf("body (-want +got):\n%s", diff)
			}
		})
	}
}
