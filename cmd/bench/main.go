// Command bench is prewarm's benchmark report (make bench): it measures
// prewarm against its floor or reference in one run — cold start and size
// against a hello-world aws-lambda-go binary, a batch of alias switches
// against the critical path of its dependent API calls, a large batch
// against Lambda's control-plane quota, CPU and allocations per event, and
// peak RSS — prints one table and writes it as JSON to bench/out/bench.json.
//
// It needs only Go: the binaries are built into bench/out/bin, the AWS
// Lambda Runtime Interface Emulator is installed into bin/ when missing, and
// AWS is the in-process local emulator.
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"os/signal"
	"path/filepath"
	"runtime"
	"strings"
	"time"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt)
	defer stop()
	err := run(ctx, os.Args[1:], os.Stdout, os.Stderr)
	switch {
	case err == nil:
	case errors.Is(err, errUsage):
		os.Exit(2)
	default:
		fmt.Fprintln(os.Stderr, "bench:", err)
		os.Exit(1)
	}
}

// errUsage reports a command line that could not be parsed; run has already said why.
var errUsage = errors.New("usage")

const usage = `Usage: go run ./cmd/bench [flags]   (make bench)

Measures prewarm against its floor or reference — cold start and size against a
hello-world aws-lambda-go binary, alias switches against their critical path, a
large batch against Lambda's control-plane quota, CPU and allocations per event,
peak RSS — prints one table and writes it as JSON to -out. About 2 minutes on
2 cores with a warm build cache (4 to 5 minutes on a fresh clone).

Flags:
`

// figures in report order.
var figures = []string{"coldstart", "size", "switch", "fifo", "lag", "chaos", "quota", "cpu", "rss"}

func run(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	flags := flag.NewFlagSet("bench", flag.ContinueOnError)
	flags.Usage = func() {
		// Best effort, as the flag package's own messages are.
		_, _ = fmt.Fprint(flags.Output(), usage)
		flags.PrintDefaults()
	}
	out := flags.String("out", "bench/out/bench.json", "where to write the JSON report")
	runs := flags.Int("runs", 31, "cold-start runs of each binary, alternating (at least 15)")
	switchReps := flags.Int("switch-reps", 5, "repetitions of the 10-switch batch and of its sequential reference")
	intents := flags.Int("quota-intents", 200, "intents of the control-plane quota figure")
	lagTargets := flags.Int("lag-targets", 50, "targets of the READY-detection lag figure")
	chaosIntents := flags.Int("chaos-intents", 300, "intents of the FIFO chaos figure")
	envs := flags.Int("quota-envs", 2, "concurrent execution environments of the control-plane quota figure")
	count := flags.Int("count", 6, "go test -count of the CPU and allocation benchmarks")
	rssRecords := flags.Int("rss-records", 1000, "records of the peak-RSS batch")
	only := flags.String("only", "", "comma-separated subset of "+strings.Join(figures, ","))
	quiet := flags.Bool("q", false, "no progress lines on stderr")
	overlay := flags.String("overlay", "", "go build -overlay file for the Lambda binaries and the benchmarks, to measure a proposed change")
	var candidates []string
	flags.Func("candidate", "also time this host bootstrap in the cold-start rotation (repeatable)", func(s string) error {
		abs, err := filepath.Abs(s)
		candidates = append(candidates, abs)
		return err
	})
	// Parse quietly, then say it once: usage asked for goes to stdout and is no failure; a
	// mistake goes to stderr with the usage.
	flags.SetOutput(io.Discard)
	err := flags.Parse(args)
	if err == nil && flags.NArg() > 0 {
		err = fmt.Errorf("bench takes no arguments, got %q", flags.Args())
	}
	if errors.Is(err, flag.ErrHelp) {
		flags.SetOutput(stdout)
		flags.Usage()
		return nil
	}
	if err != nil {
		flags.SetOutput(stderr)
		_, _ = fmt.Fprintln(stderr, err)
		flags.Usage()
		return errUsage
	}
	want := map[string]bool{}
	for f := range strings.SplitSeq(*only, ",") {
		if f = strings.TrimSpace(f); f != "" {
			want[f] = true
		}
	}
	selected := func(f string) bool { return len(want) == 0 || want[f] }
	logf := func(format string, a ...any) {
		if !*quiet {
			// Progress lines are best effort; the report is what must be written.
			_, _ = fmt.Fprintf(stderr, "bench: "+format+"\n", a...)
		}
	}

	root, err := moduleRoot()
	if err != nil {
		return err
	}
	began := time.Now()
	rep := Report{Time: began.UTC(), Command: "go run ./cmd/bench " + strings.Join(args, " "), Machine: machine()}
	rep.Command = strings.TrimSpace(rep.Command)

	var bins binaries
	if selected("coldstart") || selected("size") || selected("rss") {
		bins, err = build(ctx, root, filepath.Join(root, "bench", "out", "bin"), *overlay, logf)
		if err != nil {
			return err
		}
	}
	if selected("coldstart") {
		logf("cold start: %d alternating runs of each binary under the RIE", *runs)
		rep.Rows = append(rep.Rows, coldStartRow(ctx, bins, *runs, candidates, logf)...)
	}
	if selected("size") {
		rep.Rows = append(rep.Rows, sizeRows(ctx, bins)...)
	}
	if selected("switch") {
		logf("switch batch: 10 alias switches, 50 ms per API call, %d repetitions", *switchReps)
		rep.Rows = append(rep.Rows, switchRows(ctx, *switchReps, logf)...)
	}
	if selected("fifo") {
		logf("fifo: a FIFO batch of 10 switches, readyAfter 60 s, WAIT_SECONDS 20, on the emulator's clock")
		rep.Rows = append(rep.Rows, fifoRows(ctx, logf)...)
	}
	if selected("lag") {
		logf("lag: %d targets with allocations of 30 s to 15 min, on the emulator's clock (a few seconds)", *lagTargets)
		rep.Rows = append(rep.Rows, lagRows(ctx, *lagTargets, logf)...)
	}
	if selected("chaos") {
		logf("chaos: %d intents through a FIFO input queue under faults (about a minute)", *chaosIntents)
		rep.Rows = append(rep.Rows, chaosRows(ctx, root, *chaosIntents, logf)...)
	}
	if selected("quota") {
		logf("quota: %d intents against 15 requests/s (about %d s)", *intents, (2*(*intents)+(*intents)/10)/15)
		rep.Rows = append(rep.Rows, quotaRows(ctx, *intents, *envs, logf)...)
	}
	if selected("cpu") {
		logf("cpu: go test -run '^$' -bench . -benchmem -count %d ./handler", *count)
		rep.Rows = append(rep.Rows, cpuRows(ctx, root, *count, *overlay)...)
	}
	if selected("rss") {
		logf("rss: the bootstrap answers one batch of %d records", *rssRecords)
		rep.Rows = append(rep.Rows, rssRow(ctx, bins, *rssRecords, logf))
	}
	if ctx.Err() != nil {
		return ctx.Err()
	}

	rep.Duration = time.Since(began).Seconds()
	rep.Pass = true
	for _, r := range rep.Rows {
		if r.Pass != nil && !*r.Pass {
			rep.Pass = false
		}
	}
	if err := printTable(stdout, rep); err != nil {
		return err
	}
	path := *out
	if !filepath.IsAbs(path) {
		path = filepath.Join(root, path)
	}
	if err := writeJSON(path, rep); err != nil {
		return err
	}
	if _, err := fmt.Fprintf(stdout, "written to %s\n", path); err != nil {
		return fmt.Errorf("write the report: %w", err)
	}
	return nil
}

// moduleRoot finds the directory of go.mod from the working directory up.
func moduleRoot() (string, error) {
	dir, err := os.Getwd()
	if err != nil {
		return "", err
	}
	for {
		if _, err := os.Stat(filepath.Join(dir, "go.mod")); err == nil {
			return dir, nil
		}
		parent := filepath.Dir(dir)
		if parent == dir {
			return "", errors.New("no go.mod in the working directory or above it: run bench from the prewarm module")
		}
		dir = parent
	}
}

func machine() Machine {
	m := Machine{GOOS: runtime.GOOS, GOARCH: runtime.GOARCH, CPUs: runtime.NumCPU(), GoVersion: runtime.Version()}
	if b, err := os.ReadFile("/proc/cpuinfo"); err == nil {
		for line := range strings.SplitSeq(string(b), "\n") {
			if k, v, ok := strings.Cut(line, ":"); ok && strings.TrimSpace(k) == "model name" {
				m.CPUModel = strings.TrimSpace(v)
				break
			}
		}
	}
	if m.CPUModel == "" {
		m.CPUModel = "unknown CPU"
	}
	return m
}
