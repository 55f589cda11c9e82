package awsproto_test

import (
	"context"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/prewarm/prewarm/localaws/awsproto"
)

type getThingInput struct {
	ThingID *string `json:"thingId"`
}

type getThingOutput struct {
	Name   string `json:"name"`
	Region string `json:"region"`
}

// thingService is a JSON 1.1 target-dispatch service written the way a
// new service package writes one: a table of typed operations.
func thingService() *awsproto.JSON {
	return &awsproto.JSON{
		Service: "things", Version: awsproto.JSON11, TargetPrefix: "Things_20200101",
		Operations: map[string]awsproto.Operation{
			"GetThing": awsproto.Op(func(ctx context.Context, in *getThingInput) (*getThingOutput, *awsproto.Error) {
				if in.ThingID == nil {
					return nil, &awsproto.Error{Status: 400, Code: "ThingIdRequiredException", Message: "thingId is required"}
				}
				return &getThingOutput{Name: "thing " + *in.ThingID, Region: awsproto.Caller(ctx).Region}, nil
			}),
		},
	}
}

// serve routes like the localaws server does: the service claims the
// request, then answers it.
func serve(svc awsproto.Service) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		op, ok := svc.Operation(r)
		if !ok {
			http.NotFound(w, r)
			return
		}
		_, region := awsproto.Signature(r)
		r = r.WithContext(awsproto.WithCaller(r.Context(), awsproto.CallerInfo{Region: region}))
		svc.ServeOperation(w, r, op)
	})
}

func post(t *testing.T, url, target, body string) (*http.Response, map[string]any) {
	t.Helper()
	req, err := http.NewRequest(http.MethodPost, url, strings.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Content-Type", "application/x-amz-json-1.1")
	req.Header.Set("Authorization", "AWS4-HMAC-SHA256 Credential=AKID/20261202/eu-west-1/things/aws4_request, SignedHeaders=host, Signature=x")
	if target != "" {
		req.Header.Set("X-Amz-Target", target)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer func() { _ = resp.Body.Close() }() // read to the end below; nothing to report
	b, _ := io.ReadAll(resp.Body)
	var out map[string]any
	if err := json.Unmarshal(b, &out); err != nil {
		t.Fatalf("body %q: %v", b, err)
	}
	return resp, out
}

func TestJSON11TargetDispatch(t *testing.T) {
	srv := httptest.NewServer(serve(thingService()))
	defer srv.Close()

	resp, out := post(t, srv.URL, "Things_20200101.GetThing", `{"thingId":"7"}`)
	if resp.StatusCode != 200 || resp.Header.Get("Content-Type") != "application/x-amz-json-1.1" {
		t.Errorf("GetThing: %d %q", resp.StatusCode, resp.Header.Get("Content-Type"))
	}
	if diff := cmp.Diff(map[string]any{"name": "thing 7", "region": "eu-west-1"}, out); diff != "" {
		t.Errorf("GetThing (-want +got):\n%s", diff)
	}

	// Errors carry the bare shape name in __type (no namespace was set)
	// and no query-compatibility header.
	resp, out = post(t, srv.URL, "Things_20200101.GetThing", `{}`)
	if diff := cmp.Diff(map[string]any{"__type": "ThingIdRequiredException", "message": "thingId is required"}, out); diff != "" || resp.StatusCode != 400 {
		t.Errorf("missing id: %d (-want +got):\n%s", resp.StatusCode, diff)
	}
	if h := resp.Header.Get("x-amzn-query-error"); h != "" {
		t.Errorf("x-amzn-query-error %q on a service that is not query-compatible", h)
	}

	resp, out = post(t, srv.URL, "Things_20200101.GetThing", `{"thingId":7}`)
	if resp.StatusCode != 400 || out["__type"] != "com.amazon.coral.service#SerializationException" {
		t.Errorf("wrong type: %d %v", resp.StatusCode, out)
	}
	resp, out = post(t, srv.URL, "Things_20200101.Frob", `{}`)
	if resp.StatusCode != 400 || out["__type"] != "com.amazon.coral.service#UnknownOperationException" {
		t.Errorf("unknown operation: %d %v", resp.StatusCode, out)
	}
	// Another service's target is not claimed.
	if resp, _ := http.Post(srv.URL, "application/x-amz-json-1.1", strings.NewReader("{}")); resp.StatusCode != 404 {
		t.Errorf("no target: got %d, want the router's 404", resp.StatusCode)
	}
}

func TestSignature(t *testing.T) {
	for _, tt := range []struct{ auth, key, region string }{
		{"AWS4-HMAC-SHA256 Credential=AKIDEXAMPLE/20261202/us-west-2/sqs/aws4_request, SignedHeaders=host, Signature=abc", "AKIDEXAMPLE", "us-west-2"},
		{"AWS4-HMAC-SHA256 Credential=111122223333/20261202/eu-west-1/lambda/aws4_request,SignedHeaders=host,Signature=abc", "111122223333", "eu-west-1"},
		{"", "", ""},
		{"Bearer x", "", ""},
	} {
		r := httptest.NewRequest(http.MethodGet, "/", nil)
		r.Header.Set("Authorization", tt.auth)
		if key, region := awsproto.Signature(r); key != tt.key || region != tt.region {
			t.Errorf("Signature(%q) = %q, %q; want %q, %q", tt.auth, key, region, tt.key, tt.region)
		}
	}
}
