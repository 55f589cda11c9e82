package localaws_test

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"net/http"
	"strings"
	"sync"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/credentials"
	lambdasvc "github.com/aws/aws-sdk-go-v2/service/lambda"
	"github.com/aws/aws-sdk-go-v2/service/lambda/types"
	"github.com/aws/aws-sdk-go-v2/service/sqs"
	sqstypes "github.com/aws/aws-sdk-go-v2/service/sqs/types"

	"github.com/prewarm/prewarm/localaws"
	"github.com/prewarm/prewarm/localaws/localawstest"
	"github.com/prewarm/prewarm/localaws/sqssim"
)

// signedFor returns an SQS and a Lambda client that sign for region with
// access key key.
func signedFor(url, region, key string) (*sqs.Client, *lambdasvc.Client) {
	cfg := localaws.SDKConfig(url)
	cfg.Region = region
	cfg.RetryMaxAttempts = 1
	cfg.Credentials = credentials.NewStaticCredentialsProvider(key, "secret", "")
	return sqs.NewFromConfig(cfg), lambdasvc.NewFromConfig(cfg)
}

// AWS keeps Regions and accounts apart: a queue created in us-west-2 is
// not listed in us-west-1, the world's functions live in its own Region,
// and (as LocalStack does) an access key of 12 digits is that account.
func TestRegionsAndAccountsAreKeptApart(t *testing.T) {
	ctx := context.Background()
	_, url := localawstest.Start(t, localaws.DefaultWorld(), noQuota)
	west2, _ := signedFor(url, "us-west-2", "AKIDWEST")
	west1, lambdaWest1 := signedFor(url, "us-west-1", "AKIDWEST")
	other, _ := signedFor(url, "us-west-2", "210987654321")

	created, err := west2.CreateQueue(ctx, &sqs.CreateQueueInput{QueueName: aws.String("only-in-west-2")})
	if err != nil {
		t.Fatal(err)
	}
	list := func(c *sqs.Client) []string {
		t.Helper()
		out, err := c.ListQueues(ctx, &sqs.ListQueuesInput{})
		if err != nil {
			t.Fatal(err)
		}
		return out.QueueUrls
	}
	if got := list(west2); len(got) != 1 || !strings.HasSuffix(got[0], "/123456789012/only-in-west-2") {
		t.Errorf("us-west-2 lists %v, want only the queue created there", got)
	}
	if got := list(west1); len(got) != 0 {
		t.Errorf("us-west-1 lists %v, want nothing", got)
	}
	if got := list(other); len(got) != 0 {
		t.Errorf("another account in us-west-2 lists %v, want nothing", got)
	}
	attrs, err := west2.GetQueueAttributes(ctx, &sqs.GetQueueAttributesInput{QueueUrl: created.QueueUrl, AttributeNames: []sqstypes.QueueAttributeName{"QueueArn"}})
	if err != nil || attrs.Attributes["QueueArn"] != "arn:aws:sqs:us-west-2:123456789012:only-in-west-2" {
		t.Errorf("QueueArn: %v, %v", attrs, err)
	}
	// The world's queues and functions are in us-east-1.
	if _, err := west1.GetQueueUrl(ctx, &sqs.GetQueueUrlInput{QueueName: aws.String("prewarm-results")}); !isType[*sqstypes.QueueDoesNotExist](err) {
		t.Errorf("world queue from us-west-1: %v, want QueueDoesNotExist", err)
	}
	_, err = lambdaWest1.GetFunction(ctx, &lambdasvc.GetFunctionInput{FunctionName: aws.String("my-function")})
	var nf *types.ResourceNotFoundException
	if !errors.As(err, &nf) || nf.ErrorMessage() != "Function not found: arn:aws:lambda:us-west-1:123456789012:function:my-function" {
		t.Errorf("world function from us-west-1: %v", err)
	}
	home, homeLambda := signedFor(url, "us-east-1", "AKIDHOME")
	if _, err := home.GetQueueUrl(ctx, &sqs.GetQueueUrlInput{QueueName: aws.String("prewarm-results")}); err != nil {
		t.Errorf("world queue from its own Region: %v", err)
	}
	if _, err := homeLambda.GetFunction(ctx, &lambdasvc.GetFunctionInput{FunctionName: aws.String("my-function")}); err != nil {
		t.Errorf("world function from its own Region: %v", err)
	}
}

// POST /_localaws/reset restores the world file's state without a restart.
func TestResetRestoresTheWorld(t *testing.T) {
	ctx := context.Background()
	srv, url := localawstest.Start(t, localaws.DefaultWorld(), noQuota)
	lc, sc := clients(url)
	if _, err := lc.PutProvisionedConcurrencyConfig(ctx, &lambdasvc.PutProvisionedConcurrencyConfigInput{
		FunctionName: aws.String("my-function"), Qualifier: aws.String("GREEN"), ProvisionedConcurrentExecutions: aws.Int32(7)}); err != nil {
		t.Fatal(err)
	}
	q := srv.SQS().QueueURL(strings.TrimPrefix(url, "http://"), "prewarm-results")
	if _, err := sc.SendMessage(ctx, &sqs.SendMessageInput{QueueUrl: aws.String(q), MessageBody: aws.String("x")}); err != nil {
		t.Fatal(err)
	}
	if _, err := sc.CreateQueue(ctx, &sqs.CreateQueueInput{QueueName: aws.String("scratch")}); err != nil {
		t.Fatal(err)
	}
	if resp, err := http.Get(url + localaws.ResetPath); err != nil || resp.StatusCode != http.StatusMethodNotAllowed {
		t.Errorf("GET reset: %v %v, want 405", resp, err)
	}
	resp, err := http.Post(url+localaws.ResetPath, "application/json", nil)
	if err != nil || resp.StatusCode != http.StatusNoContent {
		t.Fatalf("POST reset: %v %v", resp, err)
	}
	_ = resp.Body.Close() // only the status matters
	if _, ok := srv.Lambda().Config("my-function", "GREEN"); ok {
		t.Errorf("GREEN's configuration survived the reset")
	}
	if pc, ok := srv.Lambda().Config("my-function", "BLUE"); !ok || pc.Requested != 10 {
		t.Errorf("the world's seeded BLUE configuration: %+v, %v", pc, ok)
	}
	if c, err := srv.SQS().Counts("prewarm-results"); err != nil || c.Total() != 0 {
		t.Errorf("prewarm-results after reset: %+v, %v", c, err)
	}
	if _, err := sc.GetQueueUrl(ctx, &sqs.GetQueueUrlInput{QueueName: aws.String("scratch")}); !isType[*sqstypes.QueueDoesNotExist](err) {
		t.Errorf("scratch queue after reset: %v", err)
	}
	if got := srv.Stats(); len(got.Operations) != 1 || got.Operations["GetQueueUrl"].Requests != 1 {
		t.Errorf("statistics after reset: %+v, want only the request since", got.Operations)
	}
}

type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) lines() []string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return strings.Split(strings.TrimSpace(s.b.String()), "\n")
}

// The request log has one JSON line per request: operation, status,
// latency and the fault injected.
func TestRequestLog(t *testing.T) {
	var log syncBuffer
	_, url := localawstest.Start(t, localaws.DefaultWorld(), localaws.Options{
		ControlPlaneRPS: -1, RequestLog: &log,
		Faults: localaws.Faults{ThrottleRate: localaws.Rates{"lambda:GetAccountSettings": 1}},
	})
	lc, sc := clients(url)
	ctx := context.Background()
	_, _ = lc.GetAccountSettings(ctx, &lambdasvc.GetAccountSettingsInput{})
	_, _ = sc.GetQueueUrl(ctx, &sqs.GetQueueUrlInput{QueueName: aws.String("nope")})
	type line struct {
		Service, Operation, Region, Fault string
		Status                            int
		LatencyMs                         *int64
	}
	var got []line
	for _, l := range log.lines() {
		var e line
		if err := json.Unmarshal([]byte(l), &e); err != nil {
			t.Fatalf("log line %q: %v", l, err)
		}
		if e.LatencyMs == nil {
			t.Errorf("no latency in %q", l)
		}
		e.LatencyMs = nil
		got = append(got, e)
	}
	want := []line{
		{Service: "lambda", Operation: "GetAccountSettings", Region: "us-east-1", Fault: "throttle", Status: 429},
		{Service: "sqs", Operation: "GetQueueUrl", Region: "us-east-1", Status: 400},
	}
	if len(got) != len(want) || got[0] != want[0] || got[1] != want[1] {
		t.Errorf("log lines:\n got %+v\nwant %+v", got, want)
	}
}

// A redrive naming a queue the world file does not define is a start-up
// error, not a silently created queue.
func TestWorldRedriveMustNameAQueueOfTheWorld(t *testing.T) {
	w := localaws.DefaultWorld()
	w.Queues = append(w.Queues, sqssim.Queue{Name: "work", Redrive: &sqssim.Redrive{DeadLetterQueue: "work-dql", MaxReceiveCount: 3}})
	_, err := localaws.New(w, localaws.Options{})
	if err == nil || !strings.Contains(err.Error(), `redrive to "work-dql", which the world does not define`) {
		t.Errorf("New: %v", err)
	}
}
