package lambdasim_test

import (
	"context"
	"encoding/json"
	"io"
	"slices"
	"strings"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	lambdasvc "github.com/aws/aws-sdk-go-v2/service/lambda"
	"github.com/google/go-cmp/cmp"
)

// Each test here reproduces a behaviour recorded against AWS (AWS-FACTS.md
// and the responses LocalStack's snapshot tests recorded).

// AWS: reserved concurrency belongs to the function; PutFunctionConcurrency
// with a qualified ARN, $LATEST included, is 400.
func TestPutFunctionConcurrencyRefusesQualifiedARN(t *testing.T) {
	f := newFixture(t, nil)
	for _, name := range []string{
		"arn:aws:lambda:us-west-2:123456789012:function:my-function:$LATEST",
		"arn:aws:lambda:us-west-2:123456789012:function:my-function:BLUE",
	} {
		_, err := f.client.PutFunctionConcurrency(context.Background(), &lambdasvc.PutFunctionConcurrencyInput{
			FunctionName: aws.String(name), ReservedConcurrentExecutions: aws.Int32(5)})
		wantAPIError(t, err, 400, "InvalidParameterValueException",
			"This operation is permitted on Lambda functions only. Aliases and versions do not support this operation. Please specify either a function name or an unqualified function ARN.")
	}
	if r := f.svc.ReservedConcurrency("my-function"); r != nil {
		t.Errorf("reserved concurrency set to %d", *r)
	}
}

// AWS: a function ARN naming another Region is not found in this one.
func TestFunctionARNInAnotherRegionIsNotFound(t *testing.T) {
	f := newFixture(t, nil)
	ctx := context.Background()
	_, err := f.client.GetFunction(ctx, &lambdasvc.GetFunctionInput{FunctionName: aws.String("arn:aws:lambda:eu-west-1:123456789012:function:my-function")})
	wantAPIError(t, err, 404, "ResourceNotFoundException", "Functions from 'eu-west-1' are not reachable in this region ('us-west-2')")
	_, err = f.client.GetProvisionedConcurrencyConfig(ctx, &lambdasvc.GetProvisionedConcurrencyConfigInput{
		FunctionName: aws.String("arn:aws:lambda:eu-west-1:123456789012:function:my-function"), Qualifier: aws.String("BLUE")})
	wantAPIError(t, err, 404, "ResourceNotFoundException", "Functions from 'eu-west-1' are not reachable in this region ('us-west-2')")
	// The same function in its own Region is found.
	if _, err := f.client.GetFunction(ctx, &lambdasvc.GetFunctionInput{FunctionName: aws.String("arn:aws:lambda:us-west-2:123456789012:function:my-function")}); err != nil {
		t.Errorf("own Region: %v", err)
	}
}

// AWS words "not found" per operation: UpdateAlias of an unknown alias says
// "Alias not found", GetFunction with an unknown alias "Function not found"
// with the qualified ARN (GetAlias keeps "Cannot find alias arn").
func TestNotFoundMessagesPerOperation(t *testing.T) {
	f := newFixture(t, nil)
	ctx := context.Background()
	const arn = "arn:aws:lambda:us-west-2:123456789012:function:my-function:PURPLE"
	_, err := f.client.UpdateAlias(ctx, &lambdasvc.UpdateAliasInput{FunctionName: aws.String("my-function"), Name: aws.String("PURPLE"), FunctionVersion: aws.String("1")})
	wantAPIError(t, err, 404, "ResourceNotFoundException", "Alias not found: "+arn)
	_, err = f.client.GetFunction(ctx, &lambdasvc.GetFunctionInput{FunctionName: aws.String("my-function"), Qualifier: aws.String("PURPLE")})
	wantAPIError(t, err, 404, "ResourceNotFoundException", "Function not found: "+arn)
	_, err = f.client.GetAlias(ctx, &lambdasvc.GetAliasInput{FunctionName: aws.String("my-function"), Name: aws.String("PURPLE")})
	wantAPIError(t, err, 404, "ResourceNotFoundException", "Cannot find alias arn: "+arn)
}

// AWS: GetFunction's Configuration carries RevisionId, Role, CodeSha256,
// State and LastUpdateStatus; ListFunctions items carry the same
// configuration without State and LastUpdateStatus.
func TestFunctionConfigurationFields(t *testing.T) {
	f := newFixture(t, nil)
	keysOf := func(path string, pick func(map[string]json.RawMessage) map[string]json.RawMessage) []string {
		t.Helper()
		resp := rawRequest(t, "GET", f.url+path, "", nil)
		b, _ := io.ReadAll(resp.Body)
		var top map[string]json.RawMessage
		if err := json.Unmarshal(b, &top); err != nil {
			t.Fatalf("%s: %v", path, err)
		}
		var keys []string
		for k := range pick(top) {
			keys = append(keys, k)
		}
		return sortStrings(keys)
	}
	common := []string{"Architectures", "CodeSha256", "CodeSize", "Description", "EphemeralStorage", "FunctionArn", "FunctionName",
		"Handler", "LastModified", "LoggingConfig", "MemorySize", "PackageType", "RevisionId", "Role", "Runtime", "SnapStart",
		"Timeout", "TracingConfig", "Version"}
	got := keysOf("/2015-03-31/functions/my-function", func(m map[string]json.RawMessage) map[string]json.RawMessage {
		var c map[string]json.RawMessage
		_ = json.Unmarshal(m["Configuration"], &c)
		return c
	})
	if diff := cmp.Diff(sortStrings(append([]string{"LastUpdateStatus", "State"}, common...)), got); diff != "" {
		t.Errorf("GetFunction Configuration fields (-want +got):\n%s", diff)
	}
	got = keysOf("/2015-03-31/functions/", func(m map[string]json.RawMessage) map[string]json.RawMessage {
		var items []map[string]json.RawMessage
		_ = json.Unmarshal(m["Functions"], &items)
		return items[0]
	})
	if diff := cmp.Diff(common, got); diff != "" {
		t.Errorf("ListFunctions item fields (-want +got):\n%s", diff)
	}
	gf, err := f.client.GetFunction(context.Background(), &lambdasvc.GetFunctionInput{FunctionName: aws.String("my-function")})
	if err != nil {
		t.Fatal(err)
	}
	if gf.Configuration.State != "Active" || gf.Configuration.LastUpdateStatus != "Successful" || aws.ToString(gf.Configuration.Role) == "" {
		t.Errorf("Configuration: State %q, LastUpdateStatus %q, Role %q", gf.Configuration.State, gf.Configuration.LastUpdateStatus, aws.ToString(gf.Configuration.Role))
	}
}

func sortStrings(s []string) []string {
	out := slices.Clone(s)
	slices.Sort(out)
	return out
}

// AWS: an Invoke payload over 6 MB is 413 RequestTooLargeException, named
// after the operation's old name InvokeFunction.
func TestInvokePayloadLimit(t *testing.T) {
	f := newFixture(t, nil)
	resp := rawRequest(t, "POST", f.url+"/2015-03-31/functions/my-function/invocations", strings.Repeat("x", 6<<20+1), nil)
	b, _ := io.ReadAll(resp.Body)
	var body map[string]string
	_ = json.Unmarshal(b, &body)
	if resp.StatusCode != 413 || resp.Header.Get("X-Amzn-ErrorType") != "RequestTooLargeException" ||
		body["message"] != "Request must be smaller than 6291456 bytes for the InvokeFunction operation" {
		t.Errorf("got %d %q %s", resp.StatusCode, resp.Header.Get("X-Amzn-ErrorType"), b)
	}
}
