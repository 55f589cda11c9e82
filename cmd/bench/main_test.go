package main

import (
	"bytes"
	"context"
	"errors"
	"slices"
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

// TestClientMethod: the operation methods of SDK clients are told apart from
// everything else a symbol table holds.
func TestClientMethod(t *testing.T) {
	for line, want := range map[string]string{
		"  4d8680      61328 T github.com/aws/aws-sdk-go-v2/service/sqs.(*Client).SendMessageBatch":         "sqs SendMessageBatch",
		"  4d8680 T github.com/aws/aws-sdk-go-v2/service/applicationautoscaling.(*Client).PutScalingPolicy": "applicationautoscaling PutScalingPolicy",
		"  4d8680 T github.com/aws/aws-sdk-go-v2/service/sqs.(*Client).SendMessage.func1":                   "",
		"  4d8680 T github.com/aws/aws-sdk-go-v2/service/sqs.(*Client).invokeOperation":                     "",
		"  4d8680 T github.com/aws/aws-sdk-go-v2/service/lambda/types.(*Client).Get":                        "",
	} {
		got := ""
		if m := clientMethod.FindStringSubmatch(strings.TrimSpace(line)); m != nil {
			got = m[1] + " " + m[2]
		}
		if got != want {
			t.Errorf("%q: %q, want %q", line, got, want)
		}
	}
	if d := difference([]string{"a", "b", "c"}, []string{"b"}); !slices.Equal(d, []string{"a", "c"}) {
		t.Errorf("difference = %v", d)
	}
}
