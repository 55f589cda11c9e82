package main

import (
	"bytes"
	"context"
	"errors"
	"strings"
	"testing"
)

func TestHelpExitsZero(t *testing.T) {
	var stdout, stderr bytes.Buffer
	if err := run(context.Background(), []string{"-h"}, &stdout, &stderr); err != nil {
		t.Fatalf("run -h: %v, want nil (exit 0)", err)
	}
	for _, want := range []string{"Usage: go run ./cmd/bench", "-only", "-runs"} {
		if !strings.Contains(stdout.String(), want) {
			t.Errorf("-h printed %q on stdout, want it to contain %q", stdout.String(), want)
		}
	}
	if stderr.Len() != 0 {
		t.Errorf("-h printed %q on stderr, want nothing", stderr.String())
	}
}

func TestBadFlagIsUsageError(t *testing.T) {
	for _, args := range [][]string{{"-no-such-flag"}, {"extra"}} {
		var stdout, stderr bytes.Buffer
		err := run(context.Background(), args, &stdout, &stderr)
		if !errors.Is(err, errUsage) {
			t.Errorf("run %q: %v, want errUsage (exit 2)", args, err)
		}
		if !strings.Contains(stderr.String(), "Usage:") || stdout.Len() != 0 {
			t.Errorf("run %q: stdout %q, stderr %q; want the usage on stderr only", args, stdout.String(), stderr.String())
		}
	}
}
