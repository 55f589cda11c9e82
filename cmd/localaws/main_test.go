package main

import (
	"bufio"
	"context"
	"encoding/json"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/aws/aws-lambda-go/events"
	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/codedeploy"
	cdtypes "github.com/aws/aws-sdk-go-v2/service/codedeploy/types"
	lambdasvc "github.com/aws/aws-sdk-go-v2/service/lambda"
	"github.com/aws/aws-sdk-go-v2/service/sqs"

	"github.com/prewarm/prewarm/localaws"
)

func noEnv(string) string { return "" }

// startRun runs the command on a free port and returns the emulator's URL,
// the lines it printed after the first, and a function that stops it and
// returns run's error.
func startRun(t *testing.T, args ...string) (url string, lines <-chan string, stop func() error) {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	pr, pw := io.Pipe()
	done := make(chan error, 1)
	go func() {
		err := run(ctx, append([]string{"-addr", "127.0.0.1:0"}, args...), noEnv, pw, io.Discard)
		_ = pw.Close() // a PipeWriter's Close always returns nil
		done <- err
	}()
	sc := bufio.NewScanner(pr)
	if !sc.Scan() {
		cancel()
		t.Fatalf("no startup line; run returned %v", <-done)
	}
	first := sc.Text()
	m := regexp.MustCompile(`listening on (http://\S+) \(world: ([^,]+),`).FindStringSubmatch(first)
	if m == nil {
		cancel()
		t.Fatalf("startup line %q does not say where it listens", first)
	}
	rest := make(chan string, 16)
	go func() {
		defer close(rest)
		for sc.Scan() {
			rest <- sc.Text()
		}
	}()
	stopped := false
	stop = func() error {
		if stopped {
			return nil
		}
		stopped = true
		cancel()
		for range rest {
		}
		return <-done
	}
	t.Cleanup(func() { _ = stop() })
	return m[1], rest, stop
}

func TestRunServesUntilCancelled(t *testing.T) {
	url, _, stop := startRun(t, "-seed", "3", "-control-plane-rps", "0")
	cfg := localaws.SDKConfig(url)
	out, err := lambdasvc.NewFromConfig(cfg).GetAccountSettings(context.Background(), &lambdasvc.GetAccountSettingsInput{})
	if err != nil {
		t.Fatalf("GetAccountSettings: %v", err)
	}
	if got := out.AccountLimit.ConcurrentExecutions; got != 1000 {
		t.Errorf("ConcurrentExecutions: got %d, want 1000", got)
	}
	if err := stop(); err != nil {
		t.Errorf("run: %v", err)
	}
	if _, err := http.Get(url + localaws.HealthPath); err == nil {
		t.Errorf("still serving after shutdown")
	}
}

func TestRunLoadsWorldAndFaults(t *testing.T) {
	p := filepath.Join(t.TempDir(), "world.json")
	world := `{"accountId":"111122223333","region":"eu-west-1","readyAfter":"1s","functions":[{"name":"solo","versions":["1"],"aliases":{"live":"1"}}],"queues":[]}`
	if err := os.WriteFile(p, []byte(world), 0o600); err != nil {
		t.Fatal(err)
	}
	url, _, _ := startRun(t, "-world", p, "-throttle-rate", "GetAccountSettings=1", "-control-plane-rps", "0")
	// The world's account lives in its own Region: a client signs for it.
	cfg := localaws.SDKConfig(url)
	cfg.Region = "eu-west-1"
	lc := lambdasvc.NewFromConfig(cfg, func(o *lambdasvc.Options) { o.RetryMaxAttempts = 1 })
	ctx := context.Background()
	gf, err := lc.GetFunction(ctx, &lambdasvc.GetFunctionInput{FunctionName: aws.String("solo")})
	if err != nil {
		t.Fatal(err)
	}
	if got, want := aws.ToString(gf.Configuration.FunctionArn), "arn:aws:lambda:eu-west-1:111122223333:function:solo"; got != want {
		t.Errorf("FunctionArn: got %q, want %q", got, want)
	}
	if _, err := lc.GetAccountSettings(ctx, &lambdasvc.GetAccountSettingsInput{}); err == nil {
		t.Errorf("GetAccountSettings: throttle rate 1 did not throttle")
	}
}

func TestRunWiresEventSourceMapping(t *testing.T) {
	got := make(chan events.SQSEvent, 1)
	fn := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		var ev events.SQSEvent
		if err := json.NewDecoder(r.Body).Decode(&ev); err != nil {
			t.Errorf("decode event: %v", err)
		}
		select {
		case got <- ev:
		default:
		}
		_, _ = w.Write([]byte(`{"batchItemFailures":[]}`))
	}))
	defer fn.Close()

	url, lines, stop := startRun(t, "-esm", "prewarm-events="+fn.URL, "-control-plane-rps", "0")
	if line := <-lines; !strings.Contains(line, "prewarm-events -> "+fn.URL) {
		t.Errorf("mapping line: got %q", line)
	}
	sc := sqs.NewFromConfig(localaws.SDKConfig(url))
	ctx := context.Background()
	q, err := sc.GetQueueUrl(ctx, &sqs.GetQueueUrlInput{QueueName: aws.String("prewarm-events")})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := sc.SendMessage(ctx, &sqs.SendMessageInput{QueueUrl: q.QueueUrl, MessageBody: aws.String(`{"functionName":"my-function"}`)}); err != nil {
		t.Fatal(err)
	}
	select {
	case ev := <-got:
		if len(ev.Records) != 1 || ev.Records[0].Body != `{"functionName":"my-function"}` || ev.Records[0].EventSource != "aws:sqs" {
			t.Errorf("event: got %+v", ev)
		}
	case <-time.After(30 * time.Second):
		t.Fatal("the mapping did not invoke the function")
	}
	if err := stop(); err != nil {
		t.Errorf("run: %v", err)
	}
}

func TestRunRejectsBadFlags(t *testing.T) {
	tests := []struct {
		name string
		args []string
	}{
		{"rate above 1", []string{"-throttle-rate", "2"}},
		{"bad latency", []string{"-latency", "soon"}},
		{"bad esm", []string{"-esm", "no-url"}},
		{"esm on unknown queue", []string{"-esm", "nope=http://127.0.0.1:1/"}},
		{"bad invoke", []string{"-invoke", "my-function"}},
		{"invoke of unknown function", []string{"-invoke", "nope=http://127.0.0.1:1/"}},
		{"invoke URL not http", []string{"-invoke", "my-function=ftp://x/"}},
		{"missing world", []string{"-world", filepath.Join(t.TempDir(), "missing.json")}},
		{"bad deploy", []string{"-deploy", "d-ABCDEF123="}},
		{"deploy of unknown deployment", []string{"-deploy", "d-NOSUCH999=http://127.0.0.1:1/"}},
		{"deploy hook without invoke URL", []string{"-world", deployWorld(t, ""), "-deploy", "d-RUNTEST01"}},
		{"extra argument", []string{"serve"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := run(context.Background(), append([]string{"-addr", "127.0.0.1:0"}, tt.args...), noEnv, io.Discard, io.Discard)
			if err == nil {
				t.Errorf("run %v: got no error", tt.args)
			}
		})
	}
}

func TestRunWiresInvoke(t *testing.T) {
	fn := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		b, _ := io.ReadAll(r.Body)
		_, _ = w.Write([]byte(`{"got":` + string(b) + `}`))
	}))
	defer fn.Close()
	url, _, _ := startRun(t, "-invoke", "my-function="+fn.URL)
	lc := lambdasvc.NewFromConfig(localaws.SDKConfig(url))
	out, err := lc.Invoke(context.Background(), &lambdasvc.InvokeInput{FunctionName: aws.String("my-function"), Qualifier: aws.String("BLUE"), Payload: []byte(`1`)})
	if err != nil {
		t.Fatal(err)
	}
	if string(out.Payload) != `{"got":1}` || aws.ToString(out.ExecutedVersion) != "1" {
		t.Errorf("Invoke: %s, version %q", out.Payload, aws.ToString(out.ExecutedVersion))
	}
}

func TestRunLogsRequests(t *testing.T) {
	var stderr syncWriter
	ctx, cancel := context.WithCancel(context.Background())
	pr, pw := io.Pipe()
	done := make(chan error, 1)
	go func() {
		done <- run(ctx, []string{"-addr", "127.0.0.1:0", "-log"}, noEnv, pw, &stderr)
		_ = pw.Close() // a PipeWriter's Close always returns nil
	}()
	sc := bufio.NewScanner(pr)
	if !sc.Scan() {
		t.Fatal("no startup line")
	}
	go func() {
		for sc.Scan() {
		}
	}()
	url := regexp.MustCompile(`http://\S+`).FindString(sc.Text())
	sqc := sqs.NewFromConfig(localaws.SDKConfig(url))
	if _, err := sqc.GetQueueUrl(context.Background(), &sqs.GetQueueUrlInput{QueueName: aws.String("prewarm-results")}); err != nil {
		t.Fatal(err)
	}
	cancel()
	if err := <-done; err != nil {
		t.Fatal(err)
	}
	if got := stderr.String(); !strings.Contains(got, `"operation":"GetQueueUrl"`) || !strings.Contains(got, `"status":200`) {
		t.Errorf("stderr %q has no request line for GetQueueUrl", got)
	}
}

type syncWriter struct {
	mu sync.Mutex
	b  strings.Builder
}

func (w *syncWriter) Write(p []byte) (int, error) {
	w.mu.Lock()
	defer w.mu.Unlock()
	return w.b.Write(p)
}

func (w *syncWriter) String() string {
	w.mu.Lock()
	defer w.mu.Unlock()
	return w.b.String()
}

func TestHelpListsEnvironmentAndExitsZero(t *testing.T) {
	var out, errOut strings.Builder
	if err := run(context.Background(), []string{"-h"}, noEnv, &out, &errOut); err != nil {
		t.Fatalf("-h: %v, want no error (exit 0)", err)
	}
	for _, want := range []string{"LOCALAWS_ADDR", "LOCALAWS_WORLD", "-addr", "-invoke", "-log", "/_localaws/reset"} {
		if !strings.Contains(out.String(), want) {
			t.Errorf("usage does not mention %s:\n%s", want, out.String())
		}
	}
	err := run(context.Background(), []string{"-no-such-flag"}, noEnv, io.Discard, io.Discard)
	if err == nil || !strings.Contains(err.Error(), "localaws -h") {
		t.Errorf("unknown flag: %v, want an error pointing at -h", err)
	}
}

func TestAddressInUseSaysHowToChooseAnother(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer func() { _ = ln.Close() }() // held only to keep the port in use
	err = run(context.Background(), []string{"-addr", ln.Addr().String()}, noEnv, io.Discard, io.Discard)
	if err == nil || !strings.Contains(err.Error(), "already in use") || !strings.Contains(err.Error(), "-addr") || !strings.Contains(err.Error(), "LOCALAWS_ADDR") {
		t.Errorf("port in use: %v, want it to say how to choose another (-addr, LOCALAWS_ADDR)", err)
	}
}

func TestPrintWorld(t *testing.T) {
	var out strings.Builder
	if err := run(context.Background(), []string{"-print-world"}, noEnv, &out, io.Discard); err != nil {
		t.Fatal(err)
	}
	if _, err := localaws.ParseWorld([]byte(out.String())); err != nil {
		t.Errorf("printed world does not parse: %v", err)
	}
}

// deployWorld writes a world file with one deployment of checkout:live from 1 to 2 whose
// hooks are CodeDeployHook_prewarm (given invokeURL when not empty).
func deployWorld(t *testing.T, invokeURL string) string {
	t.Helper()
	hook := `{"name":"CodeDeployHook_prewarm","versions":["1"],"aliases":{}}`
	if invokeURL != "" {
		hook = `{"name":"CodeDeployHook_prewarm","versions":["1"],"aliases":{},"invokeURL":"` + invokeURL + `"}`
	}
	world := `{"functions":[{"name":"checkout","versions":["1","2"],"aliases":{"live":"1"}},` + hook + `],"queues":[],
	  "codeDeploy":{"deployments":[{"id":"d-RUNTEST01","functionName":"checkout","alias":"live","currentVersion":"1","targetVersion":"2",
	    "deploymentConfig":"AllAtOnce","hooks":{"beforeAllowTraffic":"CodeDeployHook_prewarm","afterAllowTraffic":"CodeDeployHook_prewarm"}}]}}`
	p := filepath.Join(t.TempDir(), "world.json")
	if err := os.WriteFile(p, []byte(world), 0o600); err != nil {
		t.Fatal(err)
	}
	return p
}

// TestRunWiresDeployment runs a deployment from the world file against a hook function at
// its invoke URL, which answers through the emulator's CodeDeploy.
func TestRunWiresDeployment(t *testing.T) {
	emulator := make(chan string, 1)
	var mu sync.Mutex
	var hooks []string
	fn := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		var ev struct{ DeploymentId, LifecycleEventHookExecutionId string }
		if err := json.NewDecoder(r.Body).Decode(&ev); err != nil {
			t.Errorf("decode hook event: %v", err)
		}
		url := <-emulator
		emulator <- url
		mu.Lock()
		hooks = append(hooks, ev.DeploymentId)
		mu.Unlock()
		cd := codedeploy.NewFromConfig(localaws.SDKConfig(url))
		if _, err := cd.PutLifecycleEventHookExecutionStatus(r.Context(), &codedeploy.PutLifecycleEventHookExecutionStatusInput{
			DeploymentId: aws.String(ev.DeploymentId), LifecycleEventHookExecutionId: aws.String(ev.LifecycleEventHookExecutionId), Status: cdtypes.LifecycleEventStatusSucceeded,
		}); err != nil {
			t.Errorf("answer the hook: %v", err)
		}
		_, _ = w.Write([]byte("null"))
	}))
	defer fn.Close()

	url, lines, stop := startRun(t, "-world", deployWorld(t, fn.URL), "-deploy", "d-RUNTEST01")
	emulator <- url
	want := []string{"codedeploy deployment d-RUNTEST01 running", "codedeploy deployment d-RUNTEST01 Succeeded"}
	for _, w := range want {
		select {
		case line := <-lines:
			if line != w {
				t.Fatalf("line %q, want %q", line, w)
			}
		case <-time.After(30 * time.Second):
			t.Fatalf("no line %q", w)
		}
	}
	if err := stop(); err != nil {
		t.Errorf("run: %v", err)
	}
	mu.Lock()
	defer mu.Unlock()
	if len(hooks) != 2 {
		t.Errorf("the hook ran %d times; want twice", len(hooks))
	}
}
