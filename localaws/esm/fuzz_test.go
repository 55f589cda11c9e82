package esm_test

import (
	"errors"
	"testing"

	"github.com/prewarm/prewarm/localaws/esm"
)

// FuzzParseBatchItemFailures: any response either parses or is
// ErrInvalidResponse, and a parsed one never reports an empty identifier.
func FuzzParseBatchItemFailures(f *testing.F) {
	for _, s := range []string{``, `null`, `{}`, `{"batchItemFailures":[{"itemIdentifier":"a"}]}`,
		`{"batchItemFailures":[{"itemIdentifier":""}]}`, `{"batchItemFailures":null}`, `"x"`, `[`} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, resp []byte) {
		ids, err := esm.ParseBatchItemFailures(resp)
		if err != nil {
			if !errors.Is(err, esm.ErrInvalidResponse) {
				t.Fatalf("error %v is not ErrInvalidResponse", err)
			}
			return
		}
		for _, id := range ids {
			if id == "" {
				t.Fatalf("empty identifier accepted from %q", resp)
			}
		}
	})
}
