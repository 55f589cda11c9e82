package lambdasim_test

import (
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/prewarm/prewarm/localaws/lambdasim"
)

const pcPath = "/2019-09-30/functions/my-function/provisioned-concurrency"

// TestMalformedRequestsAreClientErrors sends requests no SDK would build and
// expects an AWS-shaped 4xx for each, never a 5xx.
func TestMalformedRequestsAreClientErrors(t *testing.T) {
	f := newFixture(t, nil)
	tests := []struct {
		name, method, path, body string
		wantStatus               int
		wantCode                 string
	}{
		{"truncated JSON", "PUT", pcPath + "?Qualifier=BLUE", `{"ProvisionedConcurrentExecutions":`, 400, "InvalidRequestContentException"},
		{"string for a number", "PUT", pcPath + "?Qualifier=BLUE", `{"ProvisionedConcurrentExecutions":"ten"}`, 400, "InvalidRequestContentException"},
		{"fraction", "PUT", pcPath + "?Qualifier=BLUE", `{"ProvisionedConcurrentExecutions":1.5}`, 400, "InvalidRequestContentException"},
		{"out of int32", "PUT", pcPath + "?Qualifier=BLUE", `{"ProvisionedConcurrentExecutions":99999999999}`, 400, "InvalidRequestContentException"},
		{"array body", "PUT", pcPath + "?Qualifier=BLUE", `[1]`, 400, "InvalidRequestContentException"},
		{"trailing data", "PUT", pcPath + "?Qualifier=BLUE", `{} {}`, 400, "InvalidRequestContentException"},
		{"missing value", "PUT", pcPath + "?Qualifier=BLUE", `{}`, 400, "ValidationException"},
		{"negative", "PUT", pcPath + "?Qualifier=BLUE", `{"ProvisionedConcurrentExecutions":-3}`, 400, "ValidationException"},
		{"missing qualifier", "PUT", pcPath, `{"ProvisionedConcurrentExecutions":3}`, 400, "ValidationException"},
		{"bad qualifier", "GET", pcPath + "?Qualifier=a%20b", "", 400, "ValidationException"},
		{"long qualifier", "GET", pcPath + "?Qualifier=" + strings.Repeat("a", 129), "", 400, "ValidationException"},
		{"long function name", "GET", "/2019-09-30/functions/" + strings.Repeat("f", 141) + "/provisioned-concurrency?Qualifier=1", "", 400, "ValidationException"},
		{"bad MaxItems", "GET", pcPath + "?List=ALL&MaxItems=lots", "", 400, "InvalidParameterValueException"},
		{"bad weights type", "PUT", "/2015-03-31/functions/my-function/aliases/GREEN", `{"RoutingConfig":{"AdditionalVersionWeights":{"1":"x"}}}`, 400, "InvalidRequestContentException"},
		{"weight above 1", "PUT", "/2015-03-31/functions/my-function/aliases/GREEN", `{"RoutingConfig":{"AdditionalVersionWeights":{"1":2}}}`, 400, "ValidationException"},
		{"weight on own version", "PUT", "/2015-03-31/functions/my-function/aliases/GREEN", `{"RoutingConfig":{"AdditionalVersionWeights":{"2":0.1}}}`, 400, "InvalidParameterValueException"},
		{"negative reservation", "PUT", "/2017-10-31/functions/my-function/concurrency", `{"ReservedConcurrentExecutions":-1}`, 400, "ValidationException"},
		{"reservation not a number", "PUT", "/2017-10-31/functions/my-function/concurrency", `{"ReservedConcurrentExecutions":true}`, 400, "InvalidRequestContentException"},
		{"bad FunctionVersion filter", "GET", "/2015-03-31/functions?FunctionVersion=SOME", "", 400, "ValidationException"},
		{"unknown path", "GET", "/2015-03-31/nothing-here", "", 404, "UnknownOperationException"},
		{"wrong method", "POST", pcPath + "?Qualifier=BLUE", "{}", 404, "UnknownOperationException"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			resp := rawRequest(t, tt.method, f.url+tt.path, tt.body, nil)
			if resp.StatusCode != tt.wantStatus {
				t.Errorf("status: got %d, want %d", resp.StatusCode, tt.wantStatus)
			}
			if got := resp.Header.Get("X-Amzn-ErrorType"); got != tt.wantCode {
				t.Errorf("X-Amzn-ErrorType: got %q, want %q", got, tt.wantCode)
			}
		})
	}
}

// FuzzServeHTTP checks that no request, however malformed, panics or earns
// a 5xx.
func FuzzServeHTTP(f *testing.F) {
	f.Add("PUT", pcPath+"?Qualifier=BLUE", `{"ProvisionedConcurrentExecutions":5}`)
	f.Add("GET", pcPath+"?List=ALL&MaxItems=2&Marker=BLUE", "")
	f.Add("PUT", "/2015-03-31/functions/my-function/aliases/BLUE", `{"FunctionVersion":"3","RoutingConfig":{"AdditionalVersionWeights":{"2":0.5}}}`)
	f.Add("PUT", "/2017-10-31/functions/arn%3Aaws%3Alambda%3Aus-west-2%3A123456789012%3Afunction%3Amy-function/concurrency", `{"ReservedConcurrentExecutions":3}`)
	f.Add("GET", "/2015-03-31/functions?FunctionVersion=ALL&Marker=my-function%3A2", "")
	f.Add("DELETE", pcPath+"?Qualifier=%24LATEST", "")
	svc := lambdasim.New(testConfig(nil))
	f.Fuzz(func(t *testing.T, method, target, body string) {
		r, err := http.NewRequest(method, "http://localhost"+target, strings.NewReader(body))
		if err != nil {
			t.Skip()
		}
		w := httptest.NewRecorder()
		if _, ok := svc.Operation(r); !ok {
			return
		}
		svc.ServeHTTP(w, r)
		if w.Code >= 500 {
			t.Errorf("%s %s %q: status %d body %s", method, target, body, w.Code, w.Body)
		}
	})
}
