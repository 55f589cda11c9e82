package main

import (
	"bytes"
	"context"
	"flag"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
)

var update = flag.Bool("update", false, "rewrite the golden files")

// TestPrintsWhatGoTestPrints feeds recorded go test -json output through the printer: passing
// packages are one ok line, failed tests print their output (subtests indented, result line
// first), build errors and "[no test files]" pass through, and chaos lines are printed
// whether their test passed or not.
func TestPrintsWhatGoTestPrints(t *testing.T) {
	for _, name := range []string{"pass", "mixed"} {
		t.Run(name, func(t *testing.T) {
			in, err := os.Open(filepath.Join("testdata", name+".json"))
			if err != nil {
				t.Fatal(err)
			}
			defer func() { _ = in.Close() }() // opened for reading only
			var out bytes.Buffer
			p := newPrinter(&sink{w: &out, now: time.Now}, []string{"chaos: "})
			if err := p.read(in); err != nil {
				t.Fatal(err)
			}
			golden := filepath.Join("testdata", name+".golden")
			if *update {
				if err := os.WriteFile(golden, out.Bytes(), 0o644); err != nil {
					t.Fatal(err)
				}
			}
			want, err := os.ReadFile(golden)
			if err != nil {
				t.Fatalf("%v (run with -update to create it)", err)
			}
			if diff := cmp.Diff(string(want), out.String()); diff != "" {
				t.Errorf("output (-want +got):\n%s", diff)
			}
		})
	}
}

func TestPassingOutputIsHidden(t *testing.T) {
	in, err := os.ReadFile(filepath.Join("testdata", "pass.json"))
	if err != nil {
		t.Fatal(err)
	}
	var out bytes.Buffer
	if err := newPrinter(&sink{w: &out, now: time.Now}, []string{"chaos: "}).read(bytes.NewReader(in)); err != nil {
		t.Fatal(err)
	}
	for _, hidden := range []string{"hidden", "=== RUN", "--- PASS", "PASS\n"} {
		if strings.Contains(out.String(), hidden) {
			t.Errorf("output of a passing package shows %q:\n%s", hidden, out.String())
		}
	}
	for _, shown := range []string{"chaos: mode=fifo lost=0\n", "ok  \tjt2\t"} {
		if !strings.Contains(out.String(), shown) {
			t.Errorf("output does not show %q:\n%s", shown, out.String())
		}
	}
}

// TestExitStatusIsGoTests runs a stand-in for the go command that replays recorded output and
// exits 1: testrun must exit 1 too, and end with go test's FAIL line.
func TestExitStatusIsGoTests(t *testing.T) {
	recorded, err := filepath.Abs(filepath.Join("testdata", "mixed.json"))
	if err != nil {
		t.Fatal(err)
	}
	fake := filepath.Join(t.TempDir(), "go")
	script := "#!/bin/sh\n[ \"$1 $2\" = 'test -json' ] || { echo \"unexpected arguments: $*\" >&2; exit 9; }\ncat '" + recorded + "'\nexit 1\n"
	if err := os.WriteFile(fake, []byte(script), 0o755); err != nil {
		t.Fatal(err)
	}
	t.Setenv("GO", fake)
	var stdout, stderr bytes.Buffer
	code, err := run(context.Background(), []string{"-every", "0", "./..."}, &stdout, &stderr)
	if err != nil || code != 1 {
		t.Fatalf("run = %d, %v, want 1, nil; stderr %s", code, err, stderr.String())
	}
	if !strings.HasSuffix(stdout.String(), "\nFAIL\n") {
		t.Errorf("output does not end with FAIL:\n%s", stdout.String())
	}
}

// TestAlsoRunsBeside runs a main go test that passes and an -also one that fails: both are
// printed, and the failure is the exit status.
func TestAlsoRunsBeside(t *testing.T) {
	dir := t.TempDir()
	pass, err := filepath.Abs(filepath.Join("testdata", "pass.json"))
	if err != nil {
		t.Fatal(err)
	}
	mixed, err := filepath.Abs(filepath.Join("testdata", "mixed.json"))
	if err != nil {
		t.Fatal(err)
	}
	fake := filepath.Join(dir, "go")
	script := "#!/bin/sh\ncase \"$*\" in\n" +
		"'test -json ./...') cat '" + pass + "' ;;\n" +
		"'test -json -run ^TestFail$ ./jt') cat '" + mixed + "'; exit 1 ;;\n" +
		"*) echo \"unexpected arguments: $*\" >&2; exit 9 ;;\nesac\n"
	if err := os.WriteFile(fake, []byte(script), 0o755); err != nil {
		t.Fatal(err)
	}
	t.Setenv("GO", fake)
	var stdout, stderr bytes.Buffer
	code, err := run(context.Background(), []string{"-every", "0", "-also", "-run ^TestFail$ ./jt", "--", "./..."}, &stdout, &stderr)
	if err != nil || code != 1 {
		t.Fatalf("run = %d, %v, want 1, nil; stderr %s", code, err, stderr.String())
	}
	for _, want := range []string{"ok  \tjt2\t", "chaos: mode=fifo lost=0\n", "--- FAIL: TestFail", "FAIL\tjt\t"} {
		if !strings.Contains(stdout.String(), want) {
			t.Errorf("output does not show %q:\n%s", want, stdout.String())
		}
	}
}

func TestHelpExitsZero(t *testing.T) {
	var stdout, stderr bytes.Buffer
	code, err := run(context.Background(), []string{"-h"}, &stdout, &stderr)
	if err != nil || code != 0 || !strings.Contains(stdout.String(), "Usage: go run ./scripts/testrun") {
		t.Errorf("run -h = %d, %v, stdout %q; want 0, nil and the usage", code, err, stdout.String())
	}
}

func TestRunningNamesTheLongestLeafTests(t *testing.T) {
	now := time.Date(2026, 11, 25, 12, 0, 0, 0, time.UTC)
	p := newPrinter(&sink{w: &bytes.Buffer{}, now: func() time.Time { return now }}, nil)
	at := func(ago time.Duration, pkg, name string) {
		tt := p.test(pkg, name)
		tt.started = now.Add(-ago)
	}
	at(90*time.Second, "github.com/prewarm/prewarm/handler", "TestChaos")
	at(80*time.Second, "github.com/prewarm/prewarm/handler", "TestChaos/fifo")
	at(5*time.Second, "github.com/prewarm/prewarm/rie", "TestBootstrapUnderRuntimeInterfaceEmulator")
	p.test("github.com/prewarm/prewarm/config", "TestLoad").done = true
	got := runningLocked([]*printer{p}, 3)
	want := "handler TestChaos/fifo (1m20s), rie TestBootstrapUnderRuntimeInterfaceEmulator (5s)"
	if got != want {
		t.Errorf("running = %q, want %q", got, want)
	}
}
