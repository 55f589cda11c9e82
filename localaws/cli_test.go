package localaws_test

import (
	"bytes"
	"encoding/json"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
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
	// 1000 − 50 reserved (orders-worker) − 10, 20, 5 seeded − 5 just put.
	if got, want := settings.AccountLimit.UnreservedConcurrentExecutions, 910; got != want {
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
