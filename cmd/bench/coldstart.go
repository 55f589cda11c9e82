package main

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"syscall"
	"time"

	"github.com/prewarm/prewarm/localaws"
	rieproc "github.com/prewarm/prewarm/rie"
)

// coldStartIntent is the first event each bootstrap answers: one explicit
// intent without waiting (a Get, the account settings, a Put and one
// SendMessageBatch against the emulator; the floor's Get, Put and
// SendMessage). The hello world ignores it.
const coldStartIntent = `{"functionName":"my-function","to":"GREEN","concurrency":1,"wait":false}`

// coldStartRow runs the bootstrap and the hello world (and any candidate
// bootstraps) under the Runtime Interface Emulator, alternately, and
// compares the medians of exec → first response.
func coldStartRow(ctx context.Context, b binaries, runs int, candidates []string, logf func(string, ...any)) []Row {
	const id, name = "cold_start", "cold start under the RIE, exec → first response"
	// Each round runs every binary once, in an order that rotates, so that
	// none always runs on a machine another has just warmed or loaded.
	bins := append([]string{b.hostPrewarm, b.hostFloor, b.hostHello}, candidates...)
	took := make([][]float64, len(bins))
	inits := make([][]float64, len(bins))
	retried := 0
	for i := range runs {
		for k := range bins {
			j := (i + k) % len(bins)
			d, initMS, err := coldStart(ctx, b.rie, bins[j])
			for attempt := 1; err != nil && attempt < 3 && ctx.Err() == nil; attempt++ {
				// A port taken between choosing and binding it, on a busy
				// machine: try that run again on other ports.
				logf("cold start: run %d of %s failed, trying again: %v", i+1, bins[j], firstLine(err))
				retried++
				d, initMS, err = coldStart(ctx, b.rie, bins[j])
			}
			if err != nil {
				return []Row{failedRow(id, name, fmt.Errorf("run %d of %s: %w", i+1, bins[j], err))}
			}
			took[j] = append(took[j], float64(d)/float64(time.Millisecond))
			inits[j] = append(inits[j], initMS)
		}
	}
	prewarm, floor, hello := median(took[0]), median(took[1]), median(took[2])
	logf("cold start: prewarm %.1f ms, floor %.1f ms, hello %.1f ms (medians of %d)", prewarm, floor, hello, runs)
	r := ratioRow(Row{ID: id, Name: name, Unit: "ms", ReferenceName: "floor"}, prewarm, floor, 1.15)
	r.Samples, r.ReferenceSamples = took[0], took[1]
	r.Detail = fmt.Sprintf("medians of %d alternating runs of aws-lambda-rie BINARY, timed from exec to the first invoke response "+
		"(prewarm answers %s against an in-process emulator: GetProvisionedConcurrencyConfig ‖ GetAccountSettings, then Put, then SendMessageBatch; the floor a Get, a Put and a SendMessage); "+
		"init phase alone (the RIE's INIT REPORT): prewarm %.1f ms, floor %.1f ms, hello-world %.1f ms; runs repeated after a failure to start: %d",
		runs, coldStartIntent, median(inits[0]), median(inits[1]), median(inits[2]), retried)
	info := Row{ID: "cold_start_hello", Name: "  hello-world, for information", Unit: "ms", ReferenceName: "hello-world", Value: hello, Samples: took[2],
		Detail: fmt.Sprintf("the floor is %.2f× the hello-world", floor/hello)}
	rows := []Row{r, info}
	for j := 3; j < len(bins); j++ {
		c := ratioRow(Row{ID: fmt.Sprintf("cold_start_candidate_%d", j-2), Name: "  candidate " + filepath.Base(filepath.Dir(bins[j])) + "/" + filepath.Base(bins[j]),
			Unit: "ms", ReferenceName: "floor"}, median(took[j]), floor, 1.15)
		c.Samples = took[j]
		c.Detail = fmt.Sprintf("%s, measured in the same rotation; init phase %.1f ms", bins[j], median(inits[j]))
		rows = append(rows, c)
	}
	return rows
}

var initDurationRE = regexp.MustCompile(`INIT REPORT\(durationMs: ([0-9.]+)\)`)

// coldStart starts the RIE with bin behind it, a fresh emulator for it to
// call, and times exec → first successful invoke response.
func coldStart(ctx context.Context, rie, bin string) (time.Duration, float64, error) {
	srv, err := localaws.New(localaws.DefaultWorld(), localaws.Options{})
	if err != nil {
		return 0, 0, err
	}
	url, stop, err := srv.Listen("127.0.0.1:0")
	if err != nil {
		return 0, 0, err
	}
	defer stop()
	addrs, err := rieproc.FreeAddrs(2)
	if err != nil {
		return 0, 0, err
	}
	rieAddr := addrs[0]
	cmd := exec.CommandContext(ctx, rie,
		"--log-level", "info",
		"--runtime-interface-emulator-address", rieAddr,
		"--runtime-api-address", addrs[1],
		bin)
	cmd.Env = lambdaEnv(url, map[string]string{
		"RESULTS_QUEUE_URL": url + "/123456789012/prewarm-results",
		"ALLOWED_FUNCTIONS": "my-function",
	})
	var out rieproc.Output
	cmd.Stdout, cmd.Stderr = &out, &out
	// Own process group, so that the function process dies with the RIE.
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}

	client := &http.Client{Transport: &http.Transport{DisableKeepAlives: true}}
	invokeURL := "http://" + rieAddr + "/2015-03-31/functions/function/invocations"
	began := time.Now()
	if err := cmd.Start(); err != nil {
		return 0, 0, fmt.Errorf("start %s: %w", rie, err)
	}
	defer func() {
		_ = syscall.Kill(-cmd.Process.Pid, syscall.SIGKILL)
		_ = cmd.Wait()
	}()
	deadline := began.Add(30 * time.Second)
	for {
		resp, err := client.Post(invokeURL, "application/json", strings.NewReader(coldStartIntent))
		if err == nil {
			body, _ := io.ReadAll(resp.Body)
			_ = resp.Body.Close() // read to the end: nothing left to report
			elapsed := time.Since(began)
			if resp.StatusCode != http.StatusOK || bytes.Contains(body, []byte(`"errorType"`)) {
				return 0, 0, fmt.Errorf("invoke answered %s: %s\n%s", resp.Status, body, out.String())
			}
			return elapsed, initDuration(&out), nil
		}
		if !errors.Is(err, syscall.ECONNREFUSED) || time.Now().After(deadline) {
			return 0, 0, fmt.Errorf("invoke %s: %w\n%s", invokeURL, err, out.String())
		}
		time.Sleep(time.Millisecond)
	}
}

// initDuration reads the duration of the function's init phase from the
// RIE's log (its REPORT line's "Init Duration" measures something else).
func initDuration(out *rieproc.Output) float64 {
	for range 100 {
		if m := initDurationRE.FindStringSubmatch(out.String()); m != nil {
			v, _ := strconv.ParseFloat(m[1], 64)
			return v
		}
		time.Sleep(time.Millisecond)
	}
	return 0
}

// lambdaEnv is the environment of a Lambda binary run locally: static
// credentials, the emulator as every AWS endpoint, no shared config files,
// plus vars.
func lambdaEnv(endpoint string, vars map[string]string) []string {
	env := []string{
		"PATH=" + os.Getenv("PATH"),
		"AWS_ENDPOINT_URL=" + endpoint,
		"AWS_REGION=" + localaws.TestRegion,
		"AWS_ACCESS_KEY_ID=" + localaws.TestAccessKeyID,
		"AWS_SECRET_ACCESS_KEY=" + localaws.TestSecretAccessKey,
		"AWS_CONFIG_FILE=" + os.DevNull,
		"AWS_SHARED_CREDENTIALS_FILE=" + os.DevNull,
		"AWS_EC2_METADATA_DISABLED=true",
		"AWS_LAMBDA_FUNCTION_NAME=prewarm",
		"AWS_LAMBDA_FUNCTION_MEMORY_SIZE=128",
	}
	for k, v := range vars {
		env = append(env, k+"="+v)
	}
	return env
}

func firstLine(err error) string {
	line, _, _ := strings.Cut(err.Error(), "\n")
	return line
}
