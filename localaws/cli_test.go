package localaws_test

import (
	"bytes"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/prewarm/prewarm/localaws"
	"github.com/prewarm/prewarm/localaws/clock"
	"github.com/prewarm/prewarm/localaws/localawstest"
)

// awsCLI runs the AWS CLI against the emulator with throwaway credentials
// and no shared config, so no real account is ever involved.
func awsCLI(t *testing.T, url string, args ...string) (stdout, stderr string, err error) {
	t.Helper()
	bin, lookErr := exec.LookPath("aws")
	if lookErr != nil {
		t.Skip("aws CLI not installed; skipping the CLI compatibility check")
	}
	return awsCLIAt(t, bin, url, args...)
}

// awsCLIAt runs the AWS CLI at bin like awsCLI.
func awsCLIAt(t *testing.T, bin, url string, args ...string) (stdout, stderr string, err error) {
	t.Helper()
	dir := t.TempDir()
	cmd := exec.Command(bin, append([]string{"--endpoint-url", url, "--output", "json"}, args...)...)
	var env []string
	for _, kv := range os.Environ() {
		if !strings.HasPrefix(kv, "AWS_") {
			env = append(env, kv)
		}
	}
	cmd.Env = append(env,
		"AWS_ACCESS_KEY_ID="+localaws.TestAccessKeyID,
		"AWS_SECRET_ACCESS_KEY="+localaws.TestSecretAccessKey,
		"AWS_DEFAULT_REGION="+localaws.TestRegion,
		"AWS_CONFIG_FILE="+filepath.Join(dir, "config"),
		"AWS_SHARED_CREDENTIALS_FILE="+filepath.Join(dir, "credentials"),
		"AWS_EC2_METADATA_DISABLED=true",
		"AWS_PAGER=",
	)
	var out, errOut bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &errOut
	err = cmd.Run()
	return out.String(), errOut.String(), err
}

func TestAWSCLI(t *testing.T) {
	if _, err := exec.LookPath("aws"); err != nil {
		t.Skip("aws CLI not installed; skipping the CLI compatibility check")
	}
	clk := clock.NewFake(time.Date(2019, 11, 21, 19, 32, 12, 0, time.UTC))
	_, url := localawstest.Start(t, localaws.DefaultWorld(), localaws.Options{Clock: clk, ControlPlaneRPS: -1})

	out, stderr, err := awsCLI(t, url, "lambda", "put-provisioned-concurrency-config",
		"--function-name", "my-function", "--qualifier", "GREEN", "--provisioned-concurrent-executions", "5")
	if err != nil {
		t.Fatalf("put: %v\n%s", err, stderr)
	}
	var put map[string]any
	if err := json.Unmarshal([]byte(out), &put); err != nil {
		t.Fatalf("put output %q: %v", out, err)
	}
	if put["Status"] != "IN_PROGRESS" || put["LastModified"] != "2019-11-21T19:32:12+0000" {
		t.Errorf("put: got %v", put)
	}

	clk.Advance(3 * time.Second)
	out, stderr, err = awsCLI(t, url, "lambda", "get-provisioned-concurrency-config",
		"--function-name", "arn:aws:lambda:us-east-1:123456789012:function:my-function", "--qualifier", "GREEN")
	if err != nil {
		t.Fatalf("get: %v\n%s", err, stderr)
	}
	if !strings.Contains(out, `"READY"`) {
		t.Errorf("get: got %s, want READY", out)
	}

	_, stderr, err = awsCLI(t, url, "lambda", "put-provisioned-concurrency-config",
		"--function-name", "my-function", "--qualifier", "$LATEST", "--provisioned-concurrent-executions", "5")
	if err == nil {
		t.Fatalf("put on $LATEST succeeded")
	}
	const want = "An error occurred (InvalidParameterValueException) when calling the PutProvisionedConcurrencyConfig operation: Provisioned Concurrency Configs cannot be applied to unpublished function versions."
	if !strings.Contains(stderr, want) {
		t.Errorf("put on $LATEST: stderr %q, want %q", stderr, want)
	}

	out, stderr, err = awsCLI(t, url, "lambda", "get-account-settings")
	if err != nil {
		t.Fatalf("get-account-settings: %v\n%s", err, stderr)
	}
	var settings struct {
		AccountLimit struct{ UnreservedConcurrentExecutions int }
	}
	if err := json.Unmarshal([]byte(out), &settings); err != nil {
		t.Fatal(err)
	}
	// 1000 − 50 reserved (orders-worker) − 10, 20, 5, 5 seeded − 5 just put.
	if got, want := settings.AccountLimit.UnreservedConcurrentExecutions, 905; got != want {
		t.Errorf("unreserved: got %d, want %d", got, want)
	}

	out, stderr, err = awsCLI(t, url, "sqs", "get-queue-url", "--queue-name", "prewarm-results")
	if err != nil {
		t.Fatalf("sqs get-queue-url: %v\n%s", err, stderr)
	}
	if !strings.Contains(out, "/123456789012/prewarm-results") {
		t.Errorf("sqs get-queue-url: got %s", out)
	}
}

// installedCLIs lists the distinct AWS CLIs on the machine: the one on PATH
// (pip's awscli v1 speaks SQS's JSON protocol) and Debian's /usr/bin/aws
// (awscli 2.9 speaks the query protocol).
func installedCLIs() []string {
	var bins []string
	seen := map[string]bool{}
	for _, cand := range []string{"aws", "/usr/bin/aws"} {
		bin, err := exec.LookPath(cand)
		if err != nil {
			continue
		}
		real, err := filepath.EvalSymlinks(bin)
		if err != nil || seen[real] {
			continue
		}
		seen[real] = true
		bins = append(bins, bin)
	}
	return bins
}

// TestAWSCLISQSEitherProtocol drives SQS with every installed AWS CLI, each
// in its own protocol (AWS JSON 1.0 or query), on the same port, and checks
// it reads the answers (including the MD5s it verifies) and the errors.
func TestAWSCLISQSEitherProtocol(t *testing.T) {
	bins := installedCLIs()
	if len(bins) == 0 {
		t.Skip("no AWS CLI installed; the query protocol is tested without one in sqssim")
	}
	srv, err := localaws.New(localaws.DefaultWorld(), localaws.Options{ControlPlaneRPS: -1})
	if err != nil {
		t.Fatal(err)
	}
	var mu sync.Mutex
	var protocol string
	ts := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		mu.Lock()
		if r.Header.Get("X-Amz-Target") != "" {
			protocol = "json"
		} else if strings.HasPrefix(r.Header.Get("Content-Type"), "application/x-www-form-urlencoded") {
			protocol = "query"
		}
		mu.Unlock()
		srv.ServeHTTP(w, r)
	}))
	defer ts.Close()
	for _, bin := range bins {
		t.Run(bin, func(t *testing.T) {
			version, _, _ := awsCLIAt(t, bin, ts.URL, "--version")
			queueURL := srv.SQS().QueueURL(strings.TrimPrefix(ts.URL, "http://"), "prewarm-results")
			out, stderr, err := awsCLIAt(t, bin, ts.URL, "sqs", "send-message", "--queue-url", queueURL,
				"--message-body", `{"outcome":"READY"} <&>`, "--message-attributes", `{"kind":{"DataType":"String","StringValue":"result"}}`)
			if err != nil {
				t.Fatalf("send-message: %v\n%s", err, stderr)
			}
			var sent struct{ MessageId string }
			if err := json.Unmarshal([]byte(out), &sent); err != nil || sent.MessageId == "" {
				t.Fatalf("send-message output %q: %v, want a MessageId", out, err)
			}
			mu.Lock()
			spoke := protocol
			mu.Unlock()
			t.Logf("%s speaks the %s protocol to SQS", strings.TrimSpace(version), spoke)
			out, stderr, err = awsCLIAt(t, bin, ts.URL, "sqs", "receive-message", "--queue-url", queueURL,
				"--attribute-names", "All", "--message-attribute-names", "All", "--max-number-of-messages", "10")
			if err != nil {
				t.Fatalf("receive-message: %v\n%s", err, stderr)
			}
			var got struct {
				Messages []struct {
					MessageId         string
					Body              string
					ReceiptHandle     string
					Attributes        map[string]string
					MessageAttributes map[string]struct{ StringValue string }
				}
			}
			if err := json.Unmarshal([]byte(out), &got); err != nil || len(got.Messages) != 1 {
				t.Fatalf("receive-message output %q: %v", out, err)
			}
			m := got.Messages[0]
			if m.MessageId != sent.MessageId || m.Body != `{"outcome":"READY"} <&>` || m.Attributes["ApproximateReceiveCount"] != "1" || m.MessageAttributes["kind"].StringValue != "result" {
				t.Errorf("message: %+v", m)
			}
			if _, stderr, err := awsCLIAt(t, bin, ts.URL, "sqs", "delete-message", "--queue-url", queueURL, "--receipt-handle", m.ReceiptHandle); err != nil {
				t.Errorf("delete-message: %v\n%s", err, stderr)
			}
			_, stderr, err = awsCLIAt(t, bin, ts.URL, "sqs", "get-queue-url", "--queue-name", "no-such-queue")
			if err == nil || !strings.Contains(stderr, "(AWS.SimpleQueueService.NonExistentQueue)") || !strings.Contains(stderr, "The specified queue does not exist.") {
				t.Errorf("get-queue-url of a missing queue: %v\n%s", err, stderr)
			}
		})
	}
}
