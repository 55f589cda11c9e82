package handler_test

import (
	"bytes"
	"encoding/json"
	"flag"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
)

var update = flag.Bool("update", false, "rewrite the golden files in testdata/golden")

// TestEventsGolden runs every sample in events/ through the real Lambda
// decoding path against the emulator and compares the invocation's
// response and every message published to the results queue with a golden
// file.
func TestEventsGolden(t *testing.T) {
	files, err := filepath.Glob("../events/*.json")
	if err != nil || len(files) == 0 {
		t.Fatalf("no sample events found: %v", err)
	}
	for _, file := range files {
		name := strings.TrimSuffix(filepath.Base(file), ".json")
		t.Run(name, func(t *testing.T) {
			payload, err := os.ReadFile(file)
			if err != nil {
				t.Fatal(err)
			}
			e := newEnv(t)
			resp, invokeErr := e.invoke(payload)
			got := goldenRecord{Results: e.drain("prewarm-results")}
			if invokeErr != nil {
				got.Error = invokeErr.Error()
			} else {
				got.Response = json.RawMessage(resp)
			}
			gotJSON, err := json.MarshalIndent(got, "", "  ")
			if err != nil {
				t.Fatal(err)
			}
			gotJSON = append(gotJSON, '\n')
			path := filepath.Join("testdata", "golden", name+".golden.json")
			if *update {
				if err := os.WriteFile(path, gotJSON, 0o644); err != nil {
					t.Fatal(err)
				}
				return
			}
			want, err := os.ReadFile(path)
			if err != nil {
				t.Fatalf("%v (run go test ./handler -run TestEventsGolden -update)", err)
			}
			if diff := cmp.Diff(string(want), string(gotJSON)); diff != "" {
				t.Errorf("%s: result differs from %s (-want +got):\n%s", name, path, diff)
			}
		})
	}
}

type goldenRecord struct {
	Response json.RawMessage `json:"response,omitempty"`
	Error    string          `json:"error,omitempty"`
	Results  any             `json:"results"`
}

func init() {
	// Indent the raw response like the rest of the file.
	_ = bytes.MinRead
}
