package main

import (
	"bytes"
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"net/http/httputil"
	neturl "net/url"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/aws/aws-lambda-go/lambda"
	"github.com/aws/aws-lambda-go/lambdacontext"
	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/sqs"
	"github.com/google/go-cmp/cmp"

	"github.com/prewarm/prewarm/config"
	"github.com/prewarm/prewarm/handler"
	"github.com/prewarm/prewarm/localaws"
	"github.com/prewarm/prewarm/localaws/clock"
	"github.com/prewarm/prewarm/localaws/lambdasim"
	"github.com/prewarm/prewarm/localaws/localawstest"
	"github.com/prewarm/prewarm/results"
)

var update = flag.Bool("update", false, "rewrite the golden files in testdata/")

var start = time.Date(2026, 11, 25, 12, 0, 0, 0, time.UTC)

const account = "123456789012"

// world is the emulator's world, each test with its own.
type world struct {
	t        *testing.T
	srv      *localaws.Server
	base     string // the emulator
	endpoint string // what prewarmctl calls: the emulator, or a front with more services
	sqs      *sqs.Client
	env      map[string]string
	now      func() time.Time
}

func newWorld(t *testing.T, opts localaws.Options) *world {
	t.Helper()
	w := &world{t: t, env: map[string]string{}, now: time.Now}
	wd := localaws.DefaultWorld()
	wd.ReadyAfter = localaws.Duration(300 * time.Millisecond)
	w.srv, w.base = localawstest.Start(t, wd, opts)
	w.endpoint = w.base
	w.sqs = sqs.NewFromConfig(localaws.SDKConfig(w.base))
	return w
}

func (w *world) queue(name string) string { return w.base + "/" + account + "/" + name }

// run runs prewarmctl with args and returns its exit code and output.
func (w *world) run(ctx context.Context, args ...string) (code int, stdout, stderr string) {
	var out, errOut bytes.Buffer
	code = run(ctx, args, &env{
		getenv:  func(k string) string { return w.env[k] },
		stdout:  &out,
		stderr:  &errOut,
		loadAWS: func(context.Context) (aws.Config, error) { return localaws.SDKConfig(w.endpoint), nil },
		now:     w.now,
	})
	return code, out.String(), errOut.String()
}

// publish puts result messages on the results queue as prewarm does.
func (w *world) publish(msgs ...results.Message) {
	w.t.Helper()
	for _, m := range msgs {
		body, err := results.Marshal(m)
		if err != nil {
			w.t.Fatal(err)
		}
		if _, err := w.sqs.SendMessage(context.Background(), &sqs.SendMessageInput{QueueUrl: aws.String(w.queue("prewarm-results")), MessageBody: aws.String(string(body))}); err != nil {
			w.t.Fatal(err)
		}
	}
}

func (w *world) messages(queue string) []localawsMessage {
	w.t.Helper()
	msgs, err := w.srv.SQS().Messages(queue)
	if err != nil {
		w.t.Fatal(err)
	}
	out := make([]localawsMessage, len(msgs))
	for i, m := range msgs {
		out[i] = localawsMessage{Body: m.Body, State: m.State}
	}
	return out
}

type localawsMessage struct{ Body, State string }

func msg(corr, qualifier string, outcome results.Outcome, reason string) results.Message {
	return results.Message{ID: "id-" + corr, CorrelationID: corr, Trigger: results.TriggerDirect, FunctionName: "my-function",
		Qualifier: qualifier, Outcome: outcome, Reason: reason, Time: start}
}

func timeout(t *testing.T, d time.Duration) context.Context {
	ctx, cancel := context.WithTimeout(context.Background(), d)
	t.Cleanup(cancel)
	return ctx
}

func TestHelpExitsZero(t *testing.T) {
	w := &world{t: t, env: map[string]string{}, now: time.Now}
	for _, args := range [][]string{{"-h"}, {"--help"}, {"send", "-h"}, {"wait", "--help"}, {"run", "-h"}} {
		code, stdout, _ := w.run(context.Background(), args...)
		if code != 0 || !strings.Contains(stdout, "Exit codes") {
			t.Errorf("prewarmctl %s: exit %d, stdout %q; want 0 and the usage with its exit codes", strings.Join(args, " "), code, stdout)
		}
	}
}

func TestUsageErrors(t *testing.T) {
	w := &world{t: t, env: map[string]string{}, now: time.Now}
	for _, tt := range []struct {
		args []string
		want string
	}{
		{nil, "Usage"},
		{[]string{"frobnicate"}, `unknown command "frobnicate"`},
		{[]string{"wait", "--no-such-flag"}, "flag provided but not defined"},
		{[]string{"wait"}, "--correlation-id is required"},
		{[]string{"wait", "--correlation-id", "x"}, "no results queue"},
		{[]string{"send", "--function", "my-function"}, "to"},
		{[]string{"send", "--intent", "{", "--via", "sqs"}, "intent"},
		{[]string{"send", "--intent", `{"functionName":"f","to":"GREEN"}`, "--to", "BLUE"}, "exclude each other"},
		{[]string{"send", "--function", "f", "--to", "GREEN", "--via", "pigeon"}, `--via "pigeon"`},
		{[]string{"send", "--intent", `{"functionName":"f","to":"GREEN","correlationId":"a"}`, "--correlation-id", "b"}, "differs"},
		{[]string{"wait", "--correlation-id", "x", "--timeout", "0s"}, "--timeout must be positive"},
		{[]string{"wait", "--correlation-id", "x", "extra"}, `unexpected argument "extra"`},
		{[]string{"run", "--prewarm-function", "prewarm", "--function", "f", "--to", "GREEN"}, "no results queue"},
	} {
		code, _, stderr := w.run(context.Background(), tt.args...)
		if code != exitUsage || !strings.Contains(stderr, tt.want) {
			t.Errorf("prewarmctl %q: exit %d, stderr %q; want %d mentioning %q", tt.args, code, stderr, exitUsage, tt.want)
		}
	}
}

// TestWaitExitCodes publishes each kind of run's results and waits for them.
func TestWaitExitCodes(t *testing.T) {
	for _, tt := range []struct {
		name string
		msgs []results.Message
		args []string
		want int
	}{
		{"ready", []results.Message{msg("c", "GREEN", results.OutcomeApplied, ""), msg("c", "GREEN", results.OutcomeReady, "READY after 4s")}, nil, exitReady},
		{"ready and released", []results.Message{msg("c", "GREEN", results.OutcomeReady, ""), msg("c", "BLUE", results.OutcomeReleased, "")}, []string{"--wait-release"}, exitReady},
		{"failed", []results.Message{msg("c", "GREEN", results.OutcomeApplied, ""), msg("c", "GREEN", results.OutcomeFailed, "allocation failed: FUNCTION_ERROR_INIT_FAILURE")}, nil, exitFailed},
		{"timed out", []results.Message{msg("c", "GREEN", results.OutcomeTimedOut, "still IN_PROGRESS")}, nil, exitTimedOut},
		{"rejected", []results.Message{msg("c", "", results.OutcomeRejected, "not allowed")}, nil, exitRejected},
		{"superseded", []results.Message{msg("c", "GREEN", results.OutcomeSuperseded, "")}, nil, exitRejected},
		{"dry run", []results.Message{msg("c", "GREEN", results.OutcomeDryRun, "")}, nil, exitReady},
		{"applied, not tracked", []results.Message{msg("c", "GREEN", results.OutcomeApplied, "")}, []string{"--no-tracking"}, exitReady},
		{"release never comes", []results.Message{msg("c", "GREEN", results.OutcomeReady, "")}, []string{"--wait-release", "--timeout", "2s"}, exitCannot},
		{"nothing comes", nil, []string{"--timeout", "2s"}, exitCannot},
	} {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			w := newWorld(t, localaws.Options{})
			w.publish(tt.msgs...)
			w.publish(msg("other", "GREEN", results.OutcomeReady, "another run's"))
			args := append([]string{"wait", "--correlation-id", "c", "--results-queue-url", w.queue("prewarm-results")}, tt.args...)
			code, stdout, stderr := w.run(timeout(t, 10*time.Second), args...)
			if code != tt.want {
				t.Fatalf("exit %d, want %d\nstdout:\n%s\nstderr:\n%s", code, tt.want, stdout, stderr)
			}
			if n := strings.Count(stdout, "my-function:"); n < len(tt.msgs) {
				t.Errorf("%d progress lines for %d results:\n%s", n, len(tt.msgs), stdout)
			}
			if left := w.messages("prewarm-results"); len(left) != 1 || !strings.Contains(left[0].Body, `"other"`) || left[0].State != "visible" {
				t.Errorf("queue holds %+v; want only the other run's result, visible", left)
			}
			if n := w.srv.Stats().Operations["ReceiveMessage"].Requests; code == exitCannot && n > 6 {
				t.Errorf("%d receives in a 2s wait; want a paced wait, not a spin", n)
			}
		})
	}
}

// TestWaitJSON pins the --json output: the results as published, then the summary.
func TestWaitJSON(t *testing.T) {
	w := newWorld(t, localaws.Options{})
	w.now = func() time.Time { return start }
	applied := msg("c", "GREEN", results.OutcomeApplied, "")
	applied.Derivation = &results.Derivation{Strategy: results.StrategyMirror, From: "BLUE", Base: 10, Scale: 1, Value: 10}
	ready := msg("c", "GREEN", results.OutcomeReady, "READY after 4s")
	ready.Response = &results.Response{RequestedProvisionedConcurrentExecutions: 10, AvailableProvisionedConcurrentExecutions: 10,
		AllocatedProvisionedConcurrentExecutions: 10, Status: results.StatusReady, LastModified: "2026-11-25T12:00:04+0000"}
	released := msg("c", "BLUE", results.OutcomeReleased, "my-function:GREEN is READY; provisioned concurrency removed from BLUE")
	w.publish(applied, ready, ready, released) // READY twice: a standard queue's duplicate
	code, stdout, stderr := w.run(timeout(t, 10*time.Second), "wait", "--json", "--wait-release", "--correlation-id", "c", "--results-queue-url", w.queue("prewarm-results"))
	if code != exitReady {
		t.Fatalf("exit %d\n%s%s", code, stdout, stderr)
	}
	golden(t, "wait.golden.jsonl", stdout)
	for i, line := range strings.Split(strings.TrimSpace(stdout), "\n") {
		if !json.Valid([]byte(line)) {
			t.Errorf("line %d is not JSON: %s", i+1, line)
		}
	}
}

func golden(t *testing.T, name, got string) {
	t.Helper()
	path := filepath.Join("testdata", name)
	if *update {
		if err := os.MkdirAll("testdata", 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(path, []byte(got), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	want, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("%v (go test -update writes it)", err)
	}
	if diff := cmp.Diff(string(want), got); diff != "" {
		t.Errorf("%s (-want +got):\n%s", path, diff)
	}
}

// TestWaitersTakeOnlyTheirOwn runs two waiters at once on one queue. The emulator's clock is
// fake and never moves, so a waiter gets a result the other received only if the other handed
// it back at once: hiding it for a visibility timeout would leave this test to its deadline.
func TestWaitersTakeOnlyTheirOwn(t *testing.T) {
	w := newWorld(t, localaws.Options{Clock: fakeClock()})
	w.publish(
		msg("run-a", "GREEN", results.OutcomeApplied, ""),
		msg("run-b", "GREEN", results.OutcomeApplied, ""),
		msg("run-b", "GREEN", results.OutcomeReady, ""),
		msg("run-a", "GREEN", results.OutcomeFailed, "allocation failed"),
	)
	ctx := timeout(t, 10*time.Second)
	type outcome struct {
		code   int
		stdout string
	}
	got := map[string]outcome{}
	var mu sync.Mutex
	var wg sync.WaitGroup
	for _, corr := range []string{"run-a", "run-b"} {
		wg.Go(func() {
			code, stdout, stderr := w.run(ctx, "wait", "--correlation-id", corr, "--results-queue-url", w.queue("prewarm-results"))
			if stderr != "" {
				t.Errorf("%s: stderr %s", corr, stderr)
			}
			mu.Lock()
			got[corr] = outcome{code, stdout}
			mu.Unlock()
		})
	}
	wg.Wait()
	if got["run-a"].code != exitFailed || got["run-b"].code != exitReady {
		t.Errorf("exit codes a=%d b=%d; want %d and %d\n%s\n%s", got["run-a"].code, got["run-b"].code, exitFailed, exitReady, got["run-a"].stdout, got["run-b"].stdout)
	}
	for corr, o := range got {
		if n := strings.Count(o.stdout, "my-function:GREEN"); n != 3 { // two progress lines and the summary
			t.Errorf("%s printed %d result lines; want its own two and the summary:\n%s", corr, n, o.stdout)
		}
	}
	if left := w.messages("prewarm-results"); len(left) != 0 {
		t.Errorf("queue holds %+v; want empty", left)
	}
}

// TestPermanentQueueError waits on a misspelt queue: it stops at once, says so, and made one
// receive.
func TestPermanentQueueError(t *testing.T) {
	w := newWorld(t, localaws.Options{})
	code, _, stderr := w.run(timeout(t, 10*time.Second), "wait", "--correlation-id", "c", "--results-queue-url", w.queue("prewarm-resluts"))
	if code != exitCannot || !strings.Contains(stderr, "does not exist") || !strings.Contains(stderr, "prewarm-resluts") {
		t.Errorf("exit %d, stderr %q; want %d naming the queue and saying it does not exist", code, stderr, exitCannot)
	}
	if n := w.srv.Stats().Operations["ReceiveMessage"].Requests; n != 1 {
		t.Errorf("%d ReceiveMessage calls; want 1", n)
	}
}

// TestTransientErrorsAreRetried fails most receives with 5xx answers and throttles: the wait
// reports each retry and still ends READY.
func TestTransientErrorsAreRetried(t *testing.T) {
	w := newWorld(t, localaws.Options{Seed: 3, Faults: localaws.Faults{
		ErrorRate:    localaws.Rates{"ReceiveMessage": 0.5},
		ThrottleRate: localaws.Rates{"ReceiveMessage": 0.3},
	}})
	w.publish(msg("c", "GREEN", results.OutcomeReady, ""))
	var out, errOut bytes.Buffer
	var pauses []time.Duration
	code := run(timeout(t, 20*time.Second), []string{"wait", "--correlation-id", "c", "--results-queue-url", w.queue("prewarm-results")}, &env{
		getenv: func(string) string { return "" }, stdout: &out, stderr: &errOut, now: time.Now,
		loadAWS: func(context.Context) (aws.Config, error) {
			cfg := localaws.SDKConfig(w.base)
			cfg.Retryer = func() aws.Retryer { return aws.NopRetryer{} }
			return cfg, nil
		},
		sleep: func(ctx context.Context, d time.Duration) error { pauses = append(pauses, d); return ctx.Err() },
	})
	if code != exitReady {
		t.Fatalf("exit %d\n%s%s", code, out.String(), errOut.String())
	}
	st := w.srv.Stats().Operations["ReceiveMessage"]
	failed := int(st.Errors + st.Throttled)
	if failed == 0 || len(pauses) != failed || strings.Count(errOut.String(), "retrying in") != failed {
		t.Errorf("%d failed receives, %d pauses, stderr:\n%s\nwant one reported back-off per failure", failed, len(pauses), errOut.String())
	}
}

// TestSendViaSQS sends an intent built from flags to the input queue.
func TestSendViaSQS(t *testing.T) {
	w := newWorld(t, localaws.Options{})
	w.env[envInputQueue] = w.queue("prewarm-events")
	code, stdout, stderr := w.run(timeout(t, 10*time.Second), "send", "--via", "sqs", "--function", "my-function", "--from", "BLUE", "--to", "GREEN", "--release", "delete", "--correlation-id", "pipeline-7")
	if code != 0 || stdout != "pipeline-7\n" {
		t.Fatalf("exit %d, stdout %q, stderr %q; want 0 and the correlation id", code, stdout, stderr)
	}
	msgs := w.messages("prewarm-events")
	want := `{"functionName":"my-function","to":"GREEN","from":"BLUE","release":"delete","correlationId":"pipeline-7"}`
	if len(msgs) != 1 || msgs[0].Body != want {
		t.Errorf("input queue holds %+v; want %s", msgs, want)
	}
}

// TestSendGeneratesCorrelationID sends a raw intent without one.
func TestSendGeneratesCorrelationID(t *testing.T) {
	w := newWorld(t, localaws.Options{})
	code, stdout, stderr := w.run(timeout(t, 10*time.Second), "send", "--input-queue-url", w.queue("prewarm-events"), "--intent", `{"FunctionName":"orders-worker","Qualifier":"live","ProvisionedConcurrentExecutions":20}`)
	id := strings.TrimSpace(stdout)
	if code != 0 || !strings.HasPrefix(id, "prewarmctl-") {
		t.Fatalf("exit %d, stdout %q, stderr %q; want a generated correlation id", code, stdout, stderr)
	}
	msgs := w.messages("prewarm-events")
	want := `{"FunctionName":"orders-worker","Qualifier":"live","ProvisionedConcurrentExecutions":20,"correlationId":"` + id + `"}`
	if len(msgs) != 1 || msgs[0].Body != want {
		t.Errorf("input queue holds %+v; want %s", msgs, want)
	}
}

// lambdaFront serves Lambda's Invoke in front of the emulator, which answers everything else.
type lambdaFront struct {
	mu    sync.Mutex
	calls []invocation
	serve func(w http.ResponseWriter, kind string, payload []byte)
}

type invocation struct {
	Function, Type string
	Payload        string
}

func (w *world) withLambda(t *testing.T, serve func(w http.ResponseWriter, kind string, payload []byte)) *lambdaFront {
	front := &lambdaFront{serve: serve}
	target, _ := neturl.Parse(w.base)
	proxy := httputil.NewSingleHostReverseProxy(target)
	srv := httptest.NewServer(http.HandlerFunc(func(rw http.ResponseWriter, r *http.Request) {
		name, ok := strings.CutPrefix(r.URL.Path, "/2015-03-31/functions/")
		if !ok || !strings.HasSuffix(name, "/invocations") || r.Method != http.MethodPost {
			proxy.ServeHTTP(rw, r)
			return
		}
		payload, _ := io.ReadAll(r.Body)
		kind := r.Header.Get("X-Amz-Invocation-Type")
		front.mu.Lock()
		front.calls = append(front.calls, invocation{strings.TrimSuffix(name, "/invocations"), kind, string(payload)})
		front.mu.Unlock()
		front.serve(rw, kind, payload)
	}))
	t.Cleanup(srv.Close)
	w.endpoint = srv.URL
	return front
}

// TestSendViaInvoke sends through lambda:Invoke, asynchronously and synchronously.
func TestSendViaInvoke(t *testing.T) {
	w := newWorld(t, localaws.Options{})
	front := w.withLambda(t, func(rw http.ResponseWriter, kind string, payload []byte) {
		if kind == "Event" {
			rw.WriteHeader(http.StatusAccepted)
			return
		}
		_, _ = rw.Write([]byte(`{"results":[]}`))
	})
	w.env[envFunction] = "prewarm"
	for _, via := range []string{"event", "sync"} {
		code, stdout, stderr := w.run(timeout(t, 10*time.Second), "send", "--via", via, "--function", "my-function", "--to", "GREEN", "--concurrency", "5", "--correlation-id", "c-"+via)
		if code != 0 || stdout != "c-"+via+"\n" {
			t.Errorf("--via %s: exit %d, stdout %q, stderr %q", via, code, stdout, stderr)
		}
	}
	want := []invocation{
		{"prewarm", "Event", `{"functionName":"my-function","to":"GREEN","concurrency":5,"correlationId":"c-event"}`},
		{"prewarm", "RequestResponse", `{"functionName":"my-function","to":"GREEN","concurrency":5,"correlationId":"c-sync"}`},
	}
	if diff := cmp.Diff(want, front.calls); diff != "" {
		t.Errorf("invocations (-want +got):\n%s", diff)
	}
}

// TestSendFunctionError reports the function's own error from a synchronous invocation.
func TestSendFunctionError(t *testing.T) {
	w := newWorld(t, localaws.Options{})
	w.withLambda(t, func(rw http.ResponseWriter, kind string, payload []byte) {
		rw.Header().Set("X-Amz-Function-Error", "Unhandled")
		_, _ = rw.Write([]byte(`{"errorType":"errorString","errorMessage":"transient failure; retry the invocation"}`))
	})
	code, _, stderr := w.run(timeout(t, 10*time.Second), "send", "--via", "sync", "--prewarm-function", "prewarm", "--function", "my-function", "--to", "GREEN")
	if code != exitCannot || !strings.Contains(stderr, "transient failure; retry the invocation") {
		t.Errorf("exit %d, stderr %q; want %d with the function's error", code, stderr, exitCannot)
	}
}

// newWorldWithPrewarm is a world whose function prewarm runs prewarm's handler, configured for
// the world's queues (env overriding), behind the emulator's lambda:Invoke: it plays the
// Runtime Interface Emulator, with a 502 for a failed cold start as the RIE answers.
func newWorldWithPrewarm(t *testing.T, env map[string]string) *world {
	t.Helper()
	w := &world{t: t, env: map[string]string{}, now: time.Now}
	started := make(chan struct{}) // closed once w.base is set
	var invokes sync.WaitGroup
	fn := httptest.NewServer(http.HandlerFunc(func(rw http.ResponseWriter, r *http.Request) {
		invokes.Add(1)
		defer invokes.Done()
		<-started
		payload, _ := io.ReadAll(r.Body)
		cfg, err := config.Load(func(k string) string {
			if v, ok := env[k]; ok {
				return v
			}
			return map[string]string{
				"RESULTS_QUEUE_URL": w.queue("prewarm-results"),
				"ALLOWED_FUNCTIONS": "my-function,broken-function",
				"WAIT_SECONDS":      "20",
			}[k]
		})
		if err != nil {
			rw.WriteHeader(http.StatusBadGateway)
			return
		}
		h := handler.FromConfig(cfg, localaws.SDKConfig(w.base), slog.New(slog.DiscardHandler), nil)
		ctx := lambdacontext.NewContext(r.Context(), &lambdacontext.LambdaContext{AwsRequestID: "req-1"})
		ctx, cancel := context.WithTimeout(ctx, time.Minute)
		defer cancel()
		out, err := lambda.NewHandler(h.Invoke).Invoke(ctx, payload)
		if err != nil {
			b, _ := json.Marshal(map[string]string{"errorType": "errorString", "errorMessage": err.Error()})
			_, _ = rw.Write(b)
			return
		}
		_, _ = rw.Write(out)
	}))
	t.Cleanup(func() { fn.Close(); invokes.Wait() })
	wd := localaws.DefaultWorld()
	wd.ReadyAfter = localaws.Duration(300 * time.Millisecond)
	wd.Functions = append(wd.Functions, lambdasim.Function{Name: "prewarm", Versions: []string{"1"}, InvokeURL: fn.URL})
	w.srv, w.base = localawstest.Start(t, wd, localaws.Options{})
	w.endpoint = w.base
	w.sqs = sqs.NewFromConfig(localaws.SDKConfig(w.base))
	close(started)
	return w
}

// TestRunEndToEnd runs prewarm itself behind the emulator's lambda:Invoke: run sends a switch
// with a release and waits through READY to RELEASED, asynchronously and synchronously.
func TestRunEndToEnd(t *testing.T) {
	w := newWorldWithPrewarm(t, nil)
	w.env[envFunction] = "prewarm"
	w.env[envResultsQueue] = w.queue("prewarm-results")
	w.publish(msg("someone-else", "GREEN", results.OutcomeApplied, ""))
	for i, via := range []string{"event", "sync"} {
		from, to := "BLUE", "GREEN"
		if i == 1 {
			from, to = "GREEN", "BLUE"
		}
		code, stdout, stderr := w.run(timeout(t, 30*time.Second), "run", "--via", via, "--function", "my-function", "--from", from, "--to", to, "--release", "delete")
		if code != exitReady {
			t.Fatalf("--via %s: exit %d\nstdout:\n%s\nstderr:\n%s", via, code, stdout, stderr)
		}
		for _, want := range []string{"my-function:" + to + " APPLIED", "my-function:" + to + " READY", "my-function:" + from + " RELEASED", "released); exit 0"} {
			if !strings.Contains(stdout, want) {
				t.Errorf("--via %s: stdout lacks %q:\n%s", via, want, stdout)
			}
		}
	}
	if left := w.messages("prewarm-results"); len(left) != 1 || !strings.Contains(left[0].Body, "someone-else") {
		t.Errorf("queue holds %+v; want only the other run's result", left)
	}
}

// TestRunFailedAllocation follows an allocation that fails to exit 1, through the emulator.
func TestRunFailedAllocation(t *testing.T) {
	w := newWorldWithPrewarm(t, nil)
	code, stdout, stderr := w.run(timeout(t, 30*time.Second), "run", "--prewarm-function", "prewarm", "--results-queue-url", w.queue("prewarm-results"),
		"--function", "broken-function", "--from", "BLUE", "--to", "GREEN", "--release", "delete")
	if code != exitFailed || !strings.Contains(stdout, "FUNCTION_ERROR_INIT_FAILURE") {
		t.Errorf("exit %d; want %d with the status reason\nstdout:\n%s\nstderr:\n%s", code, exitFailed, stdout, stderr)
	}
}

// TestRunColdStartFails invokes a prewarm whose configuration is bad, synchronously: the
// command stops at once, exit 4, saying the function failed.
func TestRunColdStartFails(t *testing.T) {
	w := newWorldWithPrewarm(t, map[string]string{"MAX_CONCURRENCY": "abc"})
	code, _, stderr := w.run(timeout(t, 30*time.Second), "run", "--via", "sync", "--prewarm-function", "prewarm", "--results-queue-url", w.queue("prewarm-results"),
		"--function", "my-function", "--to", "GREEN", "--concurrency", "5")
	if code != exitCannot || !strings.Contains(stderr, "invoke prewarm (RequestResponse): the function failed (Unhandled)") {
		t.Errorf("exit %d, stderr %q; want %d and the function's failure", code, stderr, exitCannot)
	}
}

// TestStackOutputs finds the queue and the function from the stack's outputs.
func TestStackOutputs(t *testing.T) {
	w := newWorld(t, localaws.Options{})
	target, _ := neturl.Parse(w.base)
	proxy := httputil.NewSingleHostReverseProxy(target)
	var described []string
	srv := httptest.NewServer(http.HandlerFunc(func(rw http.ResponseWriter, r *http.Request) {
		body, _ := io.ReadAll(r.Body)
		form, _ := neturl.ParseQuery(string(body))
		if form.Get("Action") != "DescribeStacks" {
			r.Body = io.NopCloser(bytes.NewReader(body))
			proxy.ServeHTTP(rw, r)
			return
		}
		described = append(described, form.Get("StackName"))
		rw.Header().Set("Content-Type", "text/xml")
		_, _ = fmt.Fprintf(rw, `<DescribeStacksResponse xmlns="http://cloudformation.amazonaws.com/doc/2010-05-15/">
  <DescribeStacksResult><Stacks><member><StackName>prewarm</StackName><StackStatus>CREATE_COMPLETE</StackStatus>
    <Outputs>
      <member><OutputKey>ResultsQueueUrl</OutputKey><OutputValue>%s</OutputValue></member>
      <member><OutputKey>InputQueueUrl</OutputKey><OutputValue>%s</OutputValue></member>
      <member><OutputKey>FunctionName</OutputKey><OutputValue>prewarm</OutputValue></member>
    </Outputs></member></Stacks></DescribeStacksResult>
  <ResponseMetadata><RequestId>1</RequestId></ResponseMetadata>
</DescribeStacksResponse>`, w.queue("prewarm-results"), w.queue("prewarm-events"))
	}))
	defer srv.Close()
	w.endpoint = srv.URL
	w.publish(msg("c", "GREEN", results.OutcomeReady, ""))
	code, stdout, stderr := w.run(timeout(t, 10*time.Second), "run", "--stack", "prewarm", "--via", "sqs", "--correlation-id", "c", "--function", "my-function", "--to", "GREEN")
	if code != exitReady {
		t.Fatalf("exit %d\n%s%s", code, stdout, stderr)
	}
	if diff := cmp.Diff([]string{"prewarm"}, described); diff != "" {
		t.Errorf("DescribeStacks calls (-want +got):\n%s", diff)
	}
	if msgs := w.messages("prewarm-events"); len(msgs) != 1 {
		t.Errorf("input queue holds %d messages; want the intent", len(msgs))
	}
}

func fakeClock() *clock.Fake { return clock.NewFake(start) }

// TestRefusedCredentials answers every receive as SQS does for refused credentials or a
// denied action: one call, exit 4, the reason shown.
func TestRefusedCredentials(t *testing.T) {
	for _, tt := range []struct{ shape, queryCode, message string }{
		{"com.amazon.coral.service#AccessDeniedException", "AccessDenied", "User: arn:aws:iam::123456789012:user/ci is not authorized to perform: sqs:receivemessage"},
		{"com.amazon.coral.service#UnrecognizedClientException", "InvalidClientTokenId", "The security token included in the request is invalid."},
	} {
		t.Run(tt.queryCode, func(t *testing.T) {
			calls := 0
			srv := httptest.NewServer(http.HandlerFunc(func(rw http.ResponseWriter, r *http.Request) {
				calls++
				rw.Header().Set("Content-Type", "application/x-amz-json-1.0")
				rw.Header().Set("x-amzn-query-error", tt.queryCode+";Sender")
				rw.WriteHeader(http.StatusForbidden)
				_, _ = fmt.Fprintf(rw, `{"__type":%q,"message":%q}`, tt.shape, tt.message)
			}))
			defer srv.Close()
			w := &world{t: t, env: map[string]string{envResultsQueue: srv.URL + "/123456789012/prewarm-results"}, now: time.Now, endpoint: srv.URL}
			code, _, stderr := w.run(timeout(t, 10*time.Second), "wait", "--correlation-id", "c")
			if code != exitCannot || !strings.Contains(stderr, tt.message) {
				t.Errorf("exit %d, stderr %q; want %d with %q", code, stderr, exitCannot, tt.message)
			}
			if calls != 1 {
				t.Errorf("%d calls; want 1", calls)
			}
		})
	}
}

// TestExitCodesDocumented keeps the README's table and the usage in step with the code.
func TestExitCodesDocumented(t *testing.T) {
	readme, err := os.ReadFile("../../README.md")
	if err != nil {
		t.Fatal(err)
	}
	for _, code := range []int{exitReady, exitFailed, exitTimedOut, exitRejected, exitCannot, exitUsage} {
		if !strings.Contains(string(readme), fmt.Sprintf("\n| %d | ", code)) {
			t.Errorf("README.md has no row for exit code %d", code)
		}
		if !strings.Contains(usage, fmt.Sprintf("\n  %-3d ", code)) {
			t.Errorf("usage does not list exit code %d", code)
		}
	}
}
