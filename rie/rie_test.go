package rie_test

import (
	"context"
	"encoding/json"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/service/sqs"
	"github.com/google/go-cmp/cmp"

	"github.com/prewarm/prewarm/localaws"
	"github.com/prewarm/prewarm/localaws/localawstest"
	"github.com/prewarm/prewarm/results"
	"github.com/prewarm/prewarm/rie"
)

// TestBootstrapUnderRuntimeInterfaceEmulator runs the real bootstrap under
// the official Runtime Interface Emulator against the local AWS emulator,
// as `make invoke` does, and checks the response and the published results.
func TestBootstrapUnderRuntimeInterfaceEmulator(t *testing.T) {
	if testing.Short() {
		t.Skip("builds two binaries; skipped with -short")
	}
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
	defer cancel()
	bin, err := filepath.Abs("../bin")
	if err != nil {
		t.Fatal(err)
	}
	rieBinary, err := rie.Install(ctx, bin)
	if err != nil {
		t.Skipf("the Runtime Interface Emulator cannot be built here: %v", err)
	}
	bootstrap := filepath.Join(t.TempDir(), "bootstrap")
	if err := rie.BuildBootstrap(ctx, "../cmd/prewarm", bootstrap); err != nil {
		t.Fatal(err)
	}

	world := localaws.DefaultWorld()
	world.ReadyAfter = localaws.Duration(300 * time.Millisecond)
	srv, url := localawstest.Start(t, world, localaws.Options{ControlPlaneRPS: -1})
	resultsURL := url + "/123456789012/prewarm-results"
	env := []string{
		"PATH=" + os.Getenv("PATH"),
		"AWS_ENDPOINT_URL=" + url,
		"AWS_REGION=us-east-1",
		"AWS_ACCESS_KEY_ID=test", "AWS_SECRET_ACCESS_KEY=test",
		"RESULTS_QUEUE_URL=" + resultsURL,
		"FOLLOWUP_QUEUE_URL=" + url + "/123456789012/prewarm-followup",
		"ALLOWED_FUNCTIONS=my-function,checkout-*,orders-worker,broken-function",
		"WAIT_SECONDS=10",
		"AWS_LAMBDA_LOG_FORMAT=JSON",
	}
	p, err := rie.Start(ctx, rieBinary, bootstrap, env)
	if err != nil {
		t.Fatal(err)
	}
	defer p.Stop()

	payload, err := os.ReadFile("../events/alias-switch.json")
	if err != nil {
		t.Fatal(err)
	}
	resp, err := p.Invoke(ctx, payload)
	if err != nil {
		t.Fatalf("invoke: %v\nlogs:\n%s", err, p.Logs())
	}
	var direct struct {
		Results []results.Message `json:"results"`
	}
	if err := json.Unmarshal(resp, &direct); err != nil {
		t.Fatalf("response %s: %v", resp, err)
	}
	want := []string{"my-function:GREEN APPLIED", "my-function:GREEN READY", "my-function:BLUE RELEASED"}
	if diff := cmp.Diff(want, summarise(direct.Results)); diff != "" {
		t.Errorf("invocation response (-want +got):\n%s", diff)
	}

	sc := sqs.NewFromConfig(localaws.SDKConfig(url))
	bodies, err := results.Drain(ctx, sc, resultsURL)
	if err != nil {
		t.Fatal(err)
	}
	published := make([]results.Message, len(bodies))
	for i, b := range bodies {
		if err := json.Unmarshal([]byte(b), &published[i]); err != nil {
			t.Fatal(err)
		}
	}
	if diff := cmp.Diff(want, summarise(published)); diff != "" {
		t.Errorf("results queue (-want +got):\n%s", diff)
	}
	if pc, ok := srv.Lambda().Config("my-function", "GREEN"); !ok || pc.Requested != 10 || pc.Status != "READY" {
		t.Errorf("my-function:GREEN = %+v, want 10 READY", pc)
	}
	p.Stop()
	if logs := p.Logs(); !strings.Contains(logs, "END RequestId") || !strings.Contains(logs, `"decision"`) {
		t.Errorf("logs lack the emulator's END line or prewarm's decision lines:\n%s", logs)
	}
	// The bootstrap registered for SIGTERM during its init, and the
	// emulator's shutdown reached it.
	if logs := p.Logs(); !strings.Contains(logs, "GoLangEnableSIGTERM") || !strings.Contains(logs, `"message":"shutting down"`) {
		t.Errorf("logs lack the SIGTERM registration or prewarm's shutdown line:\n%s", logs)
	}
}

func summarise(ms []results.Message) []string {
	out := make([]string, len(ms))
	for i, m := range ms {
		out[i] = m.FunctionName + ":" + m.Qualifier + " " + string(m.Outcome)
	}
	return out
}

// TestStartReportsAnEmulatorThatExits starts a "Runtime Interface Emulator" that exits at
// once: Start must return its exit and output, not wait for it a second time.
func TestStartReportsAnEmulatorThatExits(t *testing.T) {
	sh, err := exec.LookPath("sh")
	if err != nil {
		t.Skipf("no sh: %v", err)
	}
	fake := filepath.Join(t.TempDir(), "aws-lambda-rie")
	if err := os.WriteFile(fake, []byte("#!"+sh+"\necho 'cannot start' >&2\nexit 3\n"), 0o755); err != nil {
		t.Fatal(err)
	}
	type started struct {
		p   *rie.Process
		err error
	}
	done := make(chan started, 1)
	go func() {
		p, err := rie.Start(context.Background(), fake, "bootstrap", nil)
		done <- started{p, err}
	}()
	select {
	case s := <-done:
		if s.err == nil {
			s.p.Stop()
			t.Fatal("Start of an emulator that exits: nil error")
		}
		for _, want := range []string{"exited", "exit status 3", "cannot start"} {
			if !strings.Contains(s.err.Error(), want) {
				t.Errorf("Start: %v; want it to contain %q", s.err, want)
			}
		}
	case <-time.After(time.Minute):
		t.Fatal("Start of an emulator that exits has not returned after a minute: it waits for the exit twice")
	}
}
