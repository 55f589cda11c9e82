package localaws_test

import (
	"context"
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	lambdasvc "github.com/aws/aws-sdk-go-v2/service/lambda"
	"github.com/aws/aws-sdk-go-v2/service/lambda/types"

	"github.com/prewarm/prewarm/localaws"
	"github.com/prewarm/prewarm/localaws/localawstest"
)

// function stands in for a function's invoke URL (the Runtime Interface
// Emulator's): it answers like the RIE does — the handler's response with
// 200, a function error as a 200 errorMessage/errorType body.
type function struct {
	mu       sync.Mutex
	payloads []string
	got      chan string
}

func (f *function) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	b, _ := io.ReadAll(r.Body)
	f.mu.Lock()
	f.payloads = append(f.payloads, string(b))
	f.mu.Unlock()
	if f.got != nil {
		f.got <- string(b)
	}
	var in struct{ Fail, Init bool }
	_ = json.Unmarshal(b, &in)
	switch {
	case in.Init:
		// The RIE answers 502 with the init error when the function fails
		// to initialise.
		w.WriteHeader(http.StatusBadGateway)
		_, _ = w.Write([]byte(`{"errorMessage":"POLICY: value is not JSON","errorType":"Runtime.ExitError"}`))
	case in.Fail:
		_, _ = w.Write([]byte(`{"errorMessage":"bad input","errorType":"errorString"}`))
	default:
		_, _ = w.Write([]byte(`{"echo":` + string(b) + `}`))
	}
}

func invokeWorld(url string) localaws.World {
	w := localaws.DefaultWorld()
	for i := range w.Functions {
		if w.Functions[i].Name == "my-function" {
			w.Functions[i].InvokeURL = url
		}
	}
	return w
}

func TestInvokeForwardsToTheFunction(t *testing.T) {
	fn := &function{}
	fs := httptest.NewServer(fn)
	defer fs.Close()
	_, url := localawstest.Start(t, invokeWorld(fs.URL), noQuota)
	lc, _ := clients(url)
	ctx := context.Background()

	out, err := lc.Invoke(ctx, &lambdasvc.InvokeInput{FunctionName: aws.String("my-function"), Qualifier: aws.String("GREEN"), Payload: []byte(`{"x":1}`)})
	if err != nil {
		t.Fatal(err)
	}
	if string(out.Payload) != `{"echo":{"x":1}}` || out.StatusCode != 200 || aws.ToString(out.ExecutedVersion) != "2" || out.FunctionError != nil {
		t.Errorf("RequestResponse: payload %s, status %d, version %q, function error %v", out.Payload, out.StatusCode, aws.ToString(out.ExecutedVersion), out.FunctionError)
	}

	// A function error is a successful Invoke with X-Amz-Function-Error.
	out, err = lc.Invoke(ctx, &lambdasvc.InvokeInput{FunctionName: aws.String("arn:aws:lambda:us-east-1:123456789012:function:my-function"), Payload: []byte(`{"Fail":true}`)})
	if err != nil {
		t.Fatal(err)
	}
	if aws.ToString(out.FunctionError) != "Unhandled" || string(out.Payload) != `{"errorMessage":"bad input","errorType":"errorString"}` || aws.ToString(out.ExecutedVersion) != "$LATEST" {
		t.Errorf("function error: %q %s %q", aws.ToString(out.FunctionError), out.Payload, aws.ToString(out.ExecutedVersion))
	}
	out, err = lc.Invoke(ctx, &lambdasvc.InvokeInput{FunctionName: aws.String("my-function"), Payload: []byte(`{"Init":true}`)})
	if err != nil || aws.ToString(out.FunctionError) != "Unhandled" || !strings.Contains(string(out.Payload), "POLICY: value is not JSON") {
		t.Errorf("init failure: %+v, %v", out, err)
	}

	// DryRun checks without invoking; Event answers 202 and invokes later.
	before := len(fn.payloads)
	out, err = lc.Invoke(ctx, &lambdasvc.InvokeInput{FunctionName: aws.String("my-function"), InvocationType: types.InvocationTypeDryRun})
	if err != nil || out.StatusCode != 204 {
		t.Errorf("DryRun: %+v, %v", out, err)
	}
	fn.mu.Lock()
	if len(fn.payloads) != before {
		t.Errorf("DryRun invoked the function")
	}
	fn.mu.Unlock()
	fn.got = make(chan string, 1)
	out, err = lc.Invoke(ctx, &lambdasvc.InvokeInput{FunctionName: aws.String("my-function"), InvocationType: types.InvocationTypeEvent, Payload: []byte(`{"async":true}`)})
	if err != nil || out.StatusCode != 202 || len(out.Payload) != 0 {
		t.Fatalf("Event: %+v, %v", out, err)
	}
	select {
	case got := <-fn.got:
		if got != `{"async":true}` {
			t.Errorf("Event payload %q", got)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("the Event invocation never reached the function")
	}
}

func TestInvokeErrors(t *testing.T) {
	_, url := localawstest.Start(t, invokeWorld("http://127.0.0.1:1/unreachable"), noQuota)
	lc, _ := clients(url)
	ctx := context.Background()
	// A function the world gives no invoke URL: an AWS-shaped error that
	// says how to give it one.
	_, err := lc.Invoke(ctx, &lambdasvc.InvokeInput{FunctionName: aws.String("checkout-api")})
	var notReady *types.ResourceNotReadyException
	if !errors.As(err, &notReady) || !strings.Contains(notReady.ErrorMessage(), "-invoke checkout-api=URL") {
		t.Errorf("no invoke URL: %v", err)
	}
	_, err = lc.Invoke(ctx, &lambdasvc.InvokeInput{FunctionName: aws.String("my-function"), Qualifier: aws.String("PURPLE")})
	var notFound *types.ResourceNotFoundException
	if !errors.As(err, &notFound) || notFound.ErrorMessage() != "Function not found: arn:aws:lambda:us-east-1:123456789012:function:my-function:PURPLE" {
		t.Errorf("unknown alias: %v", err)
	}
	_, err = lc.Invoke(ctx, &lambdasvc.InvokeInput{FunctionName: aws.String("my-function")})
	if !isType[*types.ServiceException](err) || !strings.Contains(err.Error(), "http://127.0.0.1:1/unreachable") {
		t.Errorf("unreachable invoke URL: %v", err)
	}
}

// TestAWSCLIInvoke runs the README's pipeline step, aws lambda invoke with
// a raw JSON payload, against the emulator, with every installed CLI
// (awscli v1 sends the payload raw and has no --cli-binary-format).
func TestAWSCLIInvoke(t *testing.T) {
	bins := installedCLIs()
	if len(bins) == 0 {
		t.Skip("no AWS CLI installed")
	}
	fn := &function{}
	fs := httptest.NewServer(fn)
	defer fs.Close()
	w := invokeWorld(fs.URL)
	w.Functions = append(w.Functions, w.Functions[0])
	w.Functions[len(w.Functions)-1].Name = "prewarm"
	w.Functions[len(w.Functions)-1].InvokeURL = fs.URL
	w.Functions[len(w.Functions)-1].ProvisionedConcurrency = nil
	_, url := localawstest.Start(t, w, noQuota)
	for _, bin := range bins {
		t.Run(bin, func(t *testing.T) {
			args := []string{"lambda", "invoke", "--function-name", "prewarm", "--cli-binary-format", "raw-in-base64-out",
				"--payload", `{"functionName":"checkout-api","from":"BLUE","to":"GREEN","release":"delete","correlationId":"run-1"}`}
			if version, _, _ := awsCLIAt(t, bin, url, "--version"); strings.HasPrefix(version, "aws-cli/1.") {
				args = append(args[:4], args[6:]...)
			}
			outFile := filepath.Join(t.TempDir(), "out.json")
			stdout, stderr, err := awsCLIAt(t, bin, url, append(args, outFile)...)
			if err != nil {
				t.Fatalf("aws lambda invoke: %v\n%s", err, stderr)
			}
			var meta struct {
				StatusCode      int
				ExecutedVersion string
				FunctionError   string
			}
			if err := json.Unmarshal([]byte(stdout), &meta); err != nil || meta.StatusCode != 200 || meta.ExecutedVersion != "$LATEST" || meta.FunctionError != "" {
				t.Errorf("invoke output %q (%v)", stdout, err)
			}
			b, err := os.ReadFile(outFile)
			if err != nil || !strings.Contains(string(b), `"correlationId":"run-1"`) {
				t.Errorf("out.json: %s (%v)", b, err)
			}
		})
	}
}
