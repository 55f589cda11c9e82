package localaws_test

import (
	"context"
	"encoding/xml"
	"io"
	"net/http"
	"strings"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	lambdasvc "github.com/aws/aws-sdk-go-v2/service/lambda"
	"github.com/aws/aws-sdk-go-v2/service/sqs"

	"github.com/prewarm/prewarm/localaws"
	"github.com/prewarm/prewarm/localaws/awsproto"
	"github.com/prewarm/prewarm/localaws/lambdasim"
	"github.com/prewarm/prewarm/localaws/localawstest"
	"github.com/prewarm/prewarm/localaws/sqssim"
)

// TestFaultKeysNameServiceAndOperation: a fault names "service:Operation",
// a bare operation one service alone has, or "service:*"; a name no
// service serves is refused at start-up rather than silently injecting
// nothing.
func TestFaultKeysNameServiceAndOperation(t *testing.T) {
	for _, tt := range []struct {
		key     string
		wantErr string
	}{
		{key: "sqs:SendMessage"},
		{key: "SendMessage"},
		{key: "lambda:*"},
		{key: "SendMesage", wantErr: `no service has an operation "SendMesage" (did you mean SendMessage?)`},
		{key: "sqs:PutProvisionedConcurrencyConfig", wantErr: `sqs has no operation "PutProvisionedConcurrencyConfig"`},
		{key: "kinesis:PutRecord", wantErr: `no service "kinesis" (services: application-autoscaling, codedeploy, codepipeline, lambda, monitoring, sqs)`},
	} {
		_, err := localaws.New(localaws.DefaultWorld(), localaws.Options{Faults: localaws.Faults{ThrottleRate: localaws.Rates{tt.key: 0.5}}})
		switch {
		case tt.wantErr == "" && err != nil:
			t.Errorf("%s: %v", tt.key, err)
		case tt.wantErr != "" && (err == nil || !strings.Contains(err.Error(), tt.wantErr)):
			t.Errorf("%s: got %v, want an error containing %q", tt.key, err, tt.wantErr)
		}
	}
	if _, err := localaws.New(localaws.DefaultWorld(), localaws.Options{Faults: localaws.Faults{Latency: localaws.Latencies{"GetAlas": 1}}}); err == nil {
		t.Errorf("a misspelt latency key was accepted")
	}
}

// TestServiceScopedFaultAndStats: "sqs:*" throttles every SQS operation and
// no Lambda one, and the statistics count each operation under its service
// as well as under its bare name.
func TestServiceScopedFaultAndStats(t *testing.T) {
	ctx := context.Background()
	srv, url := localawstest.Start(t, localaws.DefaultWorld(), localaws.Options{
		Faults: localaws.Faults{ThrottleRate: localaws.Rates{"sqs:*": 1}}, ControlPlaneRPS: -1,
	})
	lc, sc := clients(url)
	if _, err := sc.GetQueueUrl(ctx, &sqs.GetQueueUrlInput{QueueName: aws.String("prewarm-results")}); err == nil {
		t.Errorf("GetQueueUrl: sqs:* = 1 did not throttle")
	}
	if _, err := lc.GetAccountSettings(ctx, &lambdasvc.GetAccountSettingsInput{}); err != nil {
		t.Errorf("GetAccountSettings: %v", err)
	}
	st := srv.Stats()
	if got := st.Of("sqs:GetQueueUrl"); got.Requests != 1 || got.Throttled != 1 {
		t.Errorf("sqs:GetQueueUrl: got %+v, want 1 request throttled", got)
	}
	if got := st.Of("GetQueueUrl"); got.Requests != 1 {
		t.Errorf("bare GetQueueUrl: got %+v", got)
	}
	if got := st.Services["lambda"]["GetAccountSettings"]; got.Requests != 1 || got.Throttled != 0 {
		t.Errorf("lambda:GetAccountSettings: got %+v", got)
	}
	if got := getStats(t, url).Services["sqs"]["GetQueueUrl"].Throttled; got != 1 {
		t.Errorf("GET %s: services.sqs.GetQueueUrl.throttled = %d, want 1", localaws.StatsPath, got)
	}
}

// An injected fault answers a query-protocol request in XML, as AWS's
// query endpoint would: RequestThrottled for SQS.
func TestQueryProtocolFaultsAnswerInXML(t *testing.T) {
	_, url := localawstest.Start(t, localaws.DefaultWorld(), localaws.Options{
		Faults: localaws.Faults{ThrottleRate: localaws.Rates{"sqs:GetQueueUrl": 1}}, ControlPlaneRPS: -1,
	})
	resp, err := http.Post(url+"/", "application/x-www-form-urlencoded", strings.NewReader("Action=GetQueueUrl&Version=2012-11-05&QueueName=prewarm-results"))
	if err != nil {
		t.Fatal(err)
	}
	defer func() { _ = resp.Body.Close() }() // read to the end below; nothing to report
	b, _ := io.ReadAll(resp.Body)
	var e struct {
		Code string `xml:"Error>Code"`
	}
	if err := xml.Unmarshal(b, &e); err != nil || resp.StatusCode != 403 || e.Code != "RequestThrottled" {
		t.Errorf("throttled query request: %d %s (%v), want 403 RequestThrottled in XML", resp.StatusCode, b, err)
	}
}

func TestServiceReturnsTheRegisteredSim(t *testing.T) {
	srv, _ := localawstest.Start(t, localaws.DefaultWorld(), noQuota)
	if got, ok := srv.Service("sqs").(*sqssim.Service); !ok || got != srv.SQS() {
		t.Errorf(`Service("sqs") = %T, want the world's *sqssim.Service`, srv.Service("sqs"))
	}
	if got, ok := srv.Service("lambda").(*lambdasim.Service); !ok || got != srv.Lambda() {
		t.Errorf(`Service("lambda") = %T`, srv.Service("lambda"))
	}
	if srv.Service("kinesis") != nil {
		t.Errorf("Service of an unregistered name is not nil")
	}
}

type thingInput struct {
	ThingID string `json:"thingId"`
}

type thingOutput struct {
	Name, Region string
}

// TestAJSON11ServiceRegistersLikeTheBuiltInOnes registers a JSON 1.1
// target-dispatch service written outside localaws (as CodeDeploy's or
// CodePipeline's are) and checks that routing, faults keyed
// service:Operation, statistics and Regions apply to it as to the
// built-in services.
func TestAJSON11ServiceRegistersLikeTheBuiltInOnes(t *testing.T) {
	things := func(env localaws.Env) (localaws.Registration, error) {
		api := &awsproto.JSON{
			Service: "things", Version: awsproto.JSON11, TargetPrefix: "Things_20200101",
			Operations: map[string]awsproto.Operation{
				"GetThing": awsproto.Op(func(ctx context.Context, in *thingInput) (*thingOutput, *awsproto.Error) {
					return &thingOutput{Name: in.ThingID, Region: env.Region}, nil
				}),
				"PutThing": awsproto.Op(func(ctx context.Context, in *thingInput) (*thingOutput, *awsproto.Error) { return nil, nil }),
			},
		}
		return localaws.Registration{API: api, Sim: env.Region}, nil
	}
	srv, url := localawstest.Start(t, localaws.DefaultWorld(), localaws.Options{
		ControlPlaneRPS: -1, Services: []localaws.ServiceBuilder{things},
		Faults: localaws.Faults{ErrorRate: localaws.Rates{"things:PutThing": 1}},
	})
	call := func(op, region string) (int, string) {
		t.Helper()
		req, _ := http.NewRequest(http.MethodPost, url+"/", strings.NewReader(`{"thingId":"t1"}`))
		req.Header.Set("X-Amz-Target", "Things_20200101."+op)
		req.Header.Set("Content-Type", "application/x-amz-json-1.1")
		req.Header.Set("Authorization", "AWS4-HMAC-SHA256 Credential=AKID/20261202/"+region+"/things/aws4_request, SignedHeaders=host, Signature=x")
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer func() { _ = resp.Body.Close() }() // read to the end below; nothing to report
		b, _ := io.ReadAll(resp.Body)
		return resp.StatusCode, string(b)
	}
	if status, body := call("GetThing", "eu-west-1"); status != 200 || body != `{"Name":"t1","Region":"eu-west-1"}` {
		t.Errorf("GetThing: %d %s", status, body)
	}
	if status, body := call("PutThing", "us-east-1"); status != 500 || !strings.Contains(body, "InternalFailure") {
		t.Errorf("PutThing with error rate 1: %d %s", status, body)
	}
	st := srv.Stats()
	if st.Of("things:GetThing").Requests != 1 || st.Of("things:PutThing").Errors != 1 {
		t.Errorf("stats: %+v", st.Services["things"])
	}
	if got := srv.Service("things"); got != "us-east-1" {
		t.Errorf(`Service("things") = %v, want the world Region's instance`, got)
	}
	// Its operation names are known to the fault checks.
	_, err := localaws.New(localaws.DefaultWorld(), localaws.Options{Services: []localaws.ServiceBuilder{things},
		Faults: localaws.Faults{ThrottleRate: localaws.Rates{"GetThin": 1}}})
	if err == nil || !strings.Contains(err.Error(), "did you mean GetThing?") {
		t.Errorf("misspelt operation of a registered service: %v", err)
	}
}
