package main

import (
	"context"
	"io"
	"log/slog"
	"strings"
	"testing"
)

func TestBadConfigurationNamesTheVariable(t *testing.T) {
	for _, tc := range []struct {
		name string
		env  map[string]string
		want []string
	}{
		{"nothing set", map[string]string{}, []string{"RESULTS_QUEUE_URL", "ALLOWED_FUNCTIONS"}},
		{"bad cap", map[string]string{"RESULTS_QUEUE_URL": "http://127.0.0.1:4566/123456789012/prewarm-results", "ALLOWED_FUNCTIONS": "app-*", "MAX_CONCURRENCY": "lots"}, []string{"MAX_CONCURRENCY", `"lots"`}},
		{"bad policy", map[string]string{"RESULTS_QUEUE_URL": "http://127.0.0.1:4566/123456789012/prewarm-results", "ALLOWED_FUNCTIONS": "app-*", "POLICY": `{"app-*":{"defualt":3}}`}, []string{"POLICY"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := build(context.Background(), func(k string) string { return tc.env[k] }, io.Discard, slog.New(slog.DiscardHandler))
			if err == nil {
				t.Fatal("build succeeded with a bad configuration")
			}
			for _, w := range tc.want {
				if !strings.Contains(err.Error(), w) {
					t.Errorf("error %q does not name %s", err, w)
				}
			}
		})
	}
}

func TestGoodConfigurationBuilds(t *testing.T) {
	env := map[string]string{
		"RESULTS_QUEUE_URL": "http://127.0.0.1:4566/123456789012/prewarm-results",
		"ALLOWED_FUNCTIONS": "app-*",
		"AWS_REGION":        "us-east-1",
	}
	t.Setenv("AWS_REGION", "us-east-1")
	t.Setenv("AWS_ACCESS_KEY_ID", "test")
	t.Setenv("AWS_SECRET_ACCESS_KEY", "test")
	h, err := build(context.Background(), func(k string) string { return env[k] }, io.Discard, slog.New(slog.DiscardHandler))
	if err != nil || h == nil {
		t.Fatalf("build = %v, %v", h, err)
	}
}
