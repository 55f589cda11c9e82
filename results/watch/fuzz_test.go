package watch

import (
	"testing"

	"github.com/prewarm/prewarm/results"
)

// FuzzDecode feeds arbitrary bodies to the reader's decoder: it never panics, and what it
// accepts is a result message with a known outcome whose key survives a round trip.
func FuzzDecode(f *testing.F) {
	f.Add(`{"schemaVersion":1,"id":"a","correlationId":"c","trigger":"direct","functionName":"f","qualifier":"GREEN","outcome":"READY","time":"2026-11-25T12:00:00Z"}`)
	f.Add(`{"outcome":"NOPE"}`)
	f.Add(`[]`)
	f.Add(``)
	f.Fuzz(func(t *testing.T, body string) {
		m, ok := decode(body)
		if !ok {
			return
		}
		if !m.Outcome.Valid() {
			t.Fatalf("accepted outcome %q", m.Outcome)
		}
		if len(m.ID) > 1000 || len(m.Qualifier) > 1000 {
			return // Marshal shortens long fields
		}
		b, err := results.Marshal(m)
		if err != nil {
			return // a time outside RFC 3339's range
		}
		again, ok := decode(string(b))
		if !ok || KeyOf(again) != KeyOf(m) {
			t.Fatalf("round trip of %q: key %v, want %v", b, KeyOf(again), KeyOf(m))
		}
	})
}
