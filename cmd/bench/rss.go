package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"strconv"
	"strings"
	"sync/atomic"
	"time"

	awsevents "github.com/aws/aws-lambda-go/events"

	"github.com/prewarm/prewarm/localaws"
	rieproc "github.com/prewarm/prewarm/rie"
)

const rssLimitMiB = 64

// rssRow runs the real bootstrap as a child process behind a minimal Lambda
// Runtime API that hands it one batch of records, and reads its peak RSS
// once it has answered; the reference is the same bootstrap answering a
// one-record batch.
func rssRow(ctx context.Context, b binaries, records int, logf func(string, ...any)) Row {
	const id = "rss_peak"
	name := fmt.Sprintf("peak RSS, one batch of %d records", records)
	big, err := peakRSS(ctx, b.hostPrewarm, records)
	if err != nil {
		return failedRow(id, name, err)
	}
	small, err := peakRSS(ctx, b.hostPrewarm, 1)
	if err != nil {
		return failedRow(id, name, err)
	}
	logf("rss: %.1f MiB for %d records, %.1f MiB for 1", big/1024, records, small/1024)
	r := maxRow(Row{ID: id, Name: name, Unit: "KiB", Reference: &small, ReferenceName: "1 record"}, big, rssLimitMiB*1024,
		fmt.Sprintf("≤ %d MiB", rssLimitMiB))
	ratio := big / small
	r.Ratio = &ratio
	r.Detail = fmt.Sprintf("the host bootstrap as a child process behind a minimal Runtime API (VmHWM once it has answered), fed one direct payload of %d SQS records "+
		"(more than an event source mapping's 10; the handler accepts any Records array) of {concurrency:1, wait:false} "+
		"on %d functions; emulator quota off and CONTROL_PLANE_RPS=1000, since memory does not depend on the rate", records, records)
	return r
}

// peakRSS returns the bootstrap's maximum resident set in KiB after it
// answered one batch of n records.
func peakRSS(ctx context.Context, bootstrap string, n int) (float64, error) {
	world := localaws.DefaultWorld()
	world.Functions = append(world.Functions, functions("rss", n, 0)...)
	world.ConcurrentExecutions = 100000
	e, err := startEmulator(world, localaws.Options{ControlPlaneRPS: -1})
	if err != nil {
		return 0, err
	}
	defer e.stop()

	bodies := make([]string, n)
	for i := range bodies {
		bodies[i] = fmt.Sprintf(`{"functionName":"rss-%04d","to":"GREEN","concurrency":1,"wait":false}`, i)
	}
	payload, err := sqsEvent(0, bodies)
	if err != nil {
		return 0, err
	}
	rt, err := startRuntimeAPI(payload)
	if err != nil {
		return 0, err
	}
	defer rt.close()

	cmd := exec.CommandContext(ctx, bootstrap)
	cmd.Env = append(lambdaEnv(e.url, map[string]string{
		"RESULTS_QUEUE_URL": e.queueURL(resultsQueue),
		"ALLOWED_FUNCTIONS": "rss-*",
		"CONTROL_PLANE_RPS": "1000",
	}), "AWS_LAMBDA_RUNTIME_API="+rt.addr)
	var out rieproc.Output
	cmd.Stdout, cmd.Stderr = &out, &out
	if err := cmd.Start(); err != nil {
		return 0, fmt.Errorf("start %s: %w", bootstrap, err)
	}
	var answer []byte
	select {
	case answer = <-rt.response:
	case <-time.After(3 * time.Minute):
		err = errors.New("no response within 3 minutes")
	case <-ctx.Done():
		err = ctx.Err()
	}
	// The function is done once it asks for the next event; Lambda would
	// freeze it there, the benchmark reads its peak and ends it.
	select {
	case <-rt.waiting:
	case <-time.After(10 * time.Second):
	}
	hwm, hwmErr := highWaterMark(cmd.Process.Pid)
	_ = cmd.Process.Kill()
	_ = cmd.Wait()
	if err == nil {
		err = hwmErr
	}
	if err != nil {
		return 0, fmt.Errorf("%s: %w\n%s", bootstrap, err, out.String())
	}
	var resp awsevents.SQSEventResponse
	if err := json.Unmarshal(answer, &resp); err != nil {
		return 0, fmt.Errorf("%s answered %s: %w", bootstrap, answer, err)
	}
	if len(resp.BatchItemFailures) > 0 {
		return 0, fmt.Errorf("%s reported %d of %d records for retry", bootstrap, len(resp.BatchItemFailures), n)
	}
	if puts := e.requests("PutProvisionedConcurrencyConfig"); puts != int64(n) {
		return 0, fmt.Errorf("%d Puts for %d records", puts, n)
	}
	return hwm, nil
}

// highWaterMark returns the peak resident set of process pid in KiB: VmHWM
// from /proc/PID/status. The child's ru_maxrss (wait4) would not do: Go
// starts children with vfork semantics, so until exec the child shares the
// parent's memory, and Linux carries that high-water mark over into the
// child's maxrss — the benchmark's own RSS, emulator included, would be
// reported instead of the bootstrap's.
func highWaterMark(pid int) (float64, error) {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/status", pid))
	if err != nil {
		return 0, fmt.Errorf("peak RSS of process %d (needs Linux /proc): %w", pid, err)
	}
	for line := range strings.SplitSeq(string(b), "\n") {
		if v, ok := strings.CutPrefix(line, "VmHWM:"); ok {
			kib, err := strconv.ParseFloat(strings.TrimSpace(strings.TrimSuffix(strings.TrimSpace(v), "kB")), 64)
			if err != nil {
				return 0, fmt.Errorf("peak RSS of process %d: %q: %w", pid, line, err)
			}
			return kib, nil
		}
	}
	return 0, fmt.Errorf("peak RSS of process %d: no VmHWM in /proc/%d/status", pid, pid)
}

// runtimeAPI is the part of the Lambda Runtime API a Go function uses:
// it hands out one event, then holds the next request open.
type runtimeAPI struct {
	addr     string
	srv      *http.Server
	response chan []byte
	waiting  chan struct{}
}

func startRuntimeAPI(payload []byte) (*runtimeAPI, error) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return nil, fmt.Errorf("runtime API: %w", err)
	}
	rt := &runtimeAPI{addr: ln.Addr().String(), response: make(chan []byte, 1), waiting: make(chan struct{}, 1)}
	var served atomic.Bool
	mux := http.NewServeMux()
	const requestID = "rss-request-1"
	mux.HandleFunc("GET /2018-06-01/runtime/invocation/next", func(w http.ResponseWriter, r *http.Request) {
		if served.Swap(true) {
			select {
			case rt.waiting <- struct{}{}:
			default:
			}
			<-r.Context().Done()
			return
		}
		w.Header().Set("Lambda-Runtime-Aws-Request-Id", requestID)
		w.Header().Set("Lambda-Runtime-Deadline-Ms", strconv.FormatInt(time.Now().Add(5*time.Minute).UnixMilli(), 10))
		w.Header().Set("Lambda-Runtime-Invoked-Function-Arn", "arn:aws:lambda:us-east-1:"+benchAccount+":function:prewarm")
		_, _ = w.Write(payload)
	})
	answer := func(w http.ResponseWriter, r *http.Request) {
		body, _ := io.ReadAll(r.Body)
		w.WriteHeader(http.StatusAccepted)
		select {
		case rt.response <- body:
		default:
		}
	}
	mux.HandleFunc("POST /2018-06-01/runtime/invocation/{id}/response", answer)
	mux.HandleFunc("POST /2018-06-01/runtime/invocation/{id}/error", answer)
	mux.HandleFunc("POST /2018-06-01/runtime/init/error", answer)
	rt.srv = &http.Server{Handler: mux, ReadHeaderTimeout: 10 * time.Second}
	go func() { _ = rt.srv.Serve(ln) }()
	return rt, nil
}

func (rt *runtimeAPI) close() { _ = rt.srv.Close() }
