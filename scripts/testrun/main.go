// Command testrun runs `go test -json ARGS` and prints what `go test ARGS` prints without -v —
// one ok/FAIL line per package, the output of failed tests, build errors — and, as they
// happen, the lines tests print for people to read (those starting with one of -show's
// prefixes, "chaos: " by default), and a line saying what is still running whenever nothing
// has been printed for -every. It exits with go test's exit status.
//
// -also runs another go test beside the main one, printed the same way; make test uses it to
// run each queue type of TestChaos in a process of its own while everything else runs, so
// that the whole takes as long as the slowest of them rather than their sum.
//
// make test runs it, so that the chaos test's summary is printed by the one run of every test
// and a long package does not leave the terminal silent.
package main

import (
	"bufio"
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"os/exec"
	"os/signal"
	"slices"
	"strings"
	"sync"
	"time"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt)
	defer stop()
	code, err := run(ctx, os.Args[1:], os.Stdout, os.Stderr)
	if err != nil {
		fmt.Fprintln(os.Stderr, "testrun:", err)
	}
	os.Exit(code)
}

const usage = `Usage: go run ./scripts/testrun [-show PREFIXES] [-every DURATION] [-also 'ARGS']... [--] GO-TEST-ARGS...

Runs go test -json GO-TEST-ARGS, and go test -json ARGS of each -also beside it,
and prints what go test prints without -v, the lines tests print that start with
one of PREFIXES, and what is still running whenever nothing was printed for
DURATION. Exits with go test's status (the first failing run's). $GO names the go
command (default go).

Flags:
`

func run(ctx context.Context, args []string, stdout, stderr io.Writer) (int, error) {
	flags := flag.NewFlagSet("testrun", flag.ContinueOnError)
	show := flags.String("show", "chaos: ", "comma-separated prefixes of test output lines to print as they come")
	every := flags.Duration("every", 30*time.Second, "after this long without output, say what is still running (0: never)")
	var also [][]string
	flags.Func("also", "another go test to run beside the main one: its arguments, space-separated (repeatable)", func(v string) error {
		if len(strings.Fields(v)) == 0 {
			return errors.New("no arguments")
		}
		also = append(also, strings.Fields(v))
		return nil
	})
	flags.Usage = func() {
		_, _ = fmt.Fprint(flags.Output(), usage) // best effort, as the flag package's own
		flags.PrintDefaults()
	}
	flags.SetOutput(io.Discard)
	err := flags.Parse(args)
	if errors.Is(err, flag.ErrHelp) {
		flags.SetOutput(stdout)
		flags.Usage()
		return 0, nil
	}
	if err != nil {
		flags.SetOutput(stderr)
		_, _ = fmt.Fprintln(stderr, err)
		flags.Usage()
		return 2, nil
	}

	goCmd := os.Getenv("GO")
	if goCmd == "" {
		goCmd = "go"
	}
	runs := append([][]string{flags.Args()}, also...)
	out := &sink{w: stdout, now: time.Now}
	out.last = out.now()
	printers := make([]*printer, len(runs))
	for i := range runs {
		printers[i] = newPrinter(out, splitPrefixes(*show))
	}
	// The runs share stderr; a writer that is not a file is written by a goroutine of each.
	if _, ok := stderr.(*os.File); !ok {
		stderr = &lockedWriter{w: stderr}
	}
	stopTicker := tick(out, printers, *every)
	codes := make([]int, len(runs))
	errs := make([]error, len(runs))
	var wg sync.WaitGroup
	for i, args := range runs {
		wg.Add(1)
		go func() {
			defer wg.Done()
			codes[i], errs[i] = goTest(ctx, goCmd, args, printers[i], stderr)
		}()
	}
	wg.Wait()
	stopTicker()
	code := 0
	for _, c := range codes {
		if c != 0 {
			code = c
			break
		}
	}
	if code != 0 {
		// go test's last line when anything failed, which -json leaves out.
		out.print("FAIL\n")
	}
	if err := errors.Join(errs...); err != nil {
		return max(code, 1), err
	}
	if out.err != nil {
		return 1, fmt.Errorf("write the test output: %w", out.err)
	}
	return code, nil
}

// goTest runs go test -json args, handing its events to p, and returns its exit status.
func goTest(ctx context.Context, goCmd string, args []string, p *printer, stderr io.Writer) (int, error) {
	cmd := exec.CommandContext(ctx, goCmd, append([]string{"test", "-json"}, args...)...)
	cmd.Stderr = stderr
	events, err := cmd.StdoutPipe()
	if err != nil {
		return 1, fmt.Errorf("go test %s: %w", strings.Join(args, " "), err)
	}
	if err := cmd.Start(); err != nil {
		return 1, fmt.Errorf("start %s test: %w", goCmd, err)
	}
	readErr := p.read(events)
	waitErr := cmd.Wait()
	if readErr != nil {
		return 1, fmt.Errorf("read the output of go test %s: %w", strings.Join(args, " "), readErr)
	}
	var exit *exec.ExitError
	if errors.As(waitErr, &exit) {
		return exit.ExitCode(), nil
	}
	if waitErr != nil {
		return 1, fmt.Errorf("go test %s: %w", strings.Join(args, " "), waitErr)
	}
	return 0, nil
}

func splitPrefixes(s string) []string {
	var out []string
	for p := range strings.SplitSeq(s, ",") {
		if p != "" {
			out = append(out, p)
		}
	}
	return out
}

// event is one line of go test -json (cmd/test2json).
type event struct {
	Action  string
	Package string
	Test    string
	Output  string
	// ImportPath is set on build-output and build-fail events.
	ImportPath string
}

// test is one test's output so far: its result line ("--- FAIL: …") apart from the rest, so
// that a failure prints as go test prints it, result line first.
type test struct {
	name     string
	lines    []string
	result   string
	failed   bool
	done     bool
	started  time.Time
	children []*test
}

// lockedWriter serialises writes to w.
type lockedWriter struct {
	mu sync.Mutex
	w  io.Writer
}

func (l *lockedWriter) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.w.Write(p)
}

// sink is the output every printer writes to; its mutex guards the printers' state too.
type sink struct {
	mu   sync.Mutex
	w    io.Writer
	err  error     // the first write error; nothing is written after it
	last time.Time // when something was last printed
	now  func() time.Time
}

func (o *sink) print(s string) {
	o.mu.Lock()
	defer o.mu.Unlock()
	o.printLocked(s)
}

func (o *sink) printLocked(s string) {
	if o.err != nil {
		return
	}
	_, o.err = io.WriteString(o.w, s)
	o.last = o.now()
}

// printer turns the events of one go test run into go test's output.
type printer struct {
	out      *sink
	prefixes []string
	tests    map[string]*test // by package + " " + test name
}

func newPrinter(out *sink, prefixes []string) *printer {
	return &printer{out: out, prefixes: prefixes, tests: map[string]*test{}}
}

// read handles every event until r ends. A line that is not an event is printed as it is.
func (p *printer) read(r io.Reader) error {
	sc := bufio.NewScanner(r)
	sc.Buffer(make([]byte, 64*1024), 16*1024*1024)
	for sc.Scan() {
		var e event
		if err := json.Unmarshal(sc.Bytes(), &e); err != nil || e.Action == "" {
			p.out.print(sc.Text() + "\n")
			continue
		}
		p.handle(e)
	}
	return sc.Err()
}

func (p *printer) handle(e event) {
	p.out.mu.Lock()
	defer p.out.mu.Unlock()
	switch e.Action {
	case "build-output":
		p.printLocked(e.Output)
		return
	case "start", "build-fail":
		return
	}
	if e.Test == "" {
		switch e.Action {
		case "output":
			// go test without -v prints no PASS line for a package, only its ok line.
			if e.Output != "PASS\n" {
				p.printLocked(e.Output)
			}
		case "fail":
			// A test binary that crashed or timed out leaves tests without a result: print
			// what they said.
			for _, t := range p.unfinished(e.Package) {
				p.printTestLocked(t, true)
			}
		}
		if e.Action == "pass" || e.Action == "fail" || e.Action == "skip" {
			p.forget(e.Package)
		}
		return
	}
	t := p.test(e.Package, e.Test)
	switch e.Action {
	case "run":
		t.started = p.out.now()
	case "output":
		switch {
		case p.shown(e.Output):
			p.printLocked(e.Output)
		case isFrame(e.Output):
		case isResult(e.Output):
			t.result = e.Output
		default:
			t.lines = append(t.lines, e.Output)
		}
	case "pass", "skip":
		t.done = true
	case "fail":
		t.done, t.failed = true, true
		if !strings.Contains(e.Test, "/") {
			p.printTestLocked(t, false)
		}
	}
}

// test returns the record of a test, creating it (and linking it to its parent) when new.
func (p *printer) test(pkg, name string) *test {
	key := pkg + " " + name
	if t, ok := p.tests[key]; ok {
		return t
	}
	t := &test{name: name, started: p.out.now()}
	p.tests[key] = t
	if i := strings.LastIndex(name, "/"); i > 0 {
		parent := p.test(pkg, name[:i])
		parent.children = append(parent.children, t)
	}
	return t
}

// printTestLocked prints a failed test as go test does: its result line, its output, then its
// failed subtests. all prints every subtest, finished or not.
func (p *printer) printTestLocked(t *test, all bool) {
	// -v prints subtests flat; without it they are indented by depth.
	indent := strings.Repeat("    ", strings.Count(t.name, "/"))
	if t.result != "" {
		p.printLocked(indent + t.result)
	} else if !t.done {
		p.printLocked(fmt.Sprintf("%s--- %s (no result: the test binary ended while it ran)\n", indent, t.name))
	}
	for _, l := range t.lines {
		p.printLocked(indent + l)
	}
	for _, c := range t.children {
		if c.failed || (all && !c.done) {
			p.printTestLocked(c, all)
		}
	}
}

// unfinished returns the top-level tests of pkg that have no result.
func (p *printer) unfinished(pkg string) []*test {
	var out []*test
	for key, t := range p.tests {
		if strings.HasPrefix(key, pkg+" ") && !t.done && !strings.Contains(t.name, "/") {
			out = append(out, t)
		}
	}
	slices.SortFunc(out, func(a, b *test) int { return a.started.Compare(b.started) })
	return out
}

func (p *printer) forget(pkg string) {
	for key := range p.tests {
		if strings.HasPrefix(key, pkg+" ") {
			delete(p.tests, key)
		}
	}
}

func (p *printer) shown(line string) bool {
	for _, prefix := range p.prefixes {
		if strings.HasPrefix(line, prefix) {
			return true
		}
	}
	return false
}

// isFrame reports the lines -v adds around tests, which go test without -v does not print.
func isFrame(line string) bool {
	for _, f := range []string{"=== RUN", "=== PAUSE", "=== CONT", "=== NAME"} {
		if strings.HasPrefix(strings.TrimLeft(line, " "), f) {
			return true
		}
	}
	return false
}

func isResult(line string) bool {
	trimmed := strings.TrimLeft(line, " ")
	return strings.HasPrefix(trimmed, "--- FAIL: ") || strings.HasPrefix(trimmed, "--- PASS: ") || strings.HasPrefix(trimmed, "--- SKIP: ")
}

func (p *printer) printLocked(s string) { p.out.printLocked(s) }

// tick says what is still running each time nothing was printed for every; stop ends it.
func tick(out *sink, printers []*printer, every time.Duration) (stop func()) {
	if every <= 0 {
		return func() {}
	}
	began := out.now()
	done := make(chan struct{})
	var wg sync.WaitGroup
	wg.Add(1)
	go func() {
		defer wg.Done()
		t := time.NewTicker(every / 4)
		defer t.Stop()
		for {
			select {
			case <-done:
				return
			case <-t.C:
				out.mu.Lock()
				if out.now().Sub(out.last) >= every {
					if s := runningLocked(printers, 3); s != "" {
						out.printLocked(fmt.Sprintf("testrun: still running after %s: %s\n", out.now().Sub(began).Round(time.Second), s))
					}
				}
				out.mu.Unlock()
			}
		}
	}()
	return func() { close(done); wg.Wait() }
}

// runningLocked describes up to n of the longest-running tests that have no running
// subtest, as "pkg TestName (1m10s)".
func runningLocked(printers []*printer, n int) string {
	type running struct {
		pkg, name string
		since     time.Time
	}
	var rs []running
	for _, p := range printers {
		for key, t := range p.tests {
			if t.done || slices.ContainsFunc(t.children, func(c *test) bool { return !c.done }) {
				continue
			}
			pkg, _, _ := strings.Cut(key, " ")
			rs = append(rs, running{pkg, t.name, t.started})
		}
	}
	slices.SortFunc(rs, func(a, b running) int { return a.since.Compare(b.since) })
	var parts []string
	for i, r := range rs {
		if i == n {
			parts = append(parts, fmt.Sprintf("and %d more", len(rs)-n))
			break
		}
		short := r.pkg[strings.LastIndex(r.pkg, "/")+1:]
		parts = append(parts, fmt.Sprintf("%s %s (%s)", short, r.name, printers[0].out.now().Sub(r.since).Round(time.Second)))
	}
	return strings.Join(parts, ", ")
}
