// Package localawstest runs the local AWS emulator inside a Go test: the
// emulator library itself does not import testing.
package localawstest

import (
	"testing"

	"github.com/prewarm/prewarm/localaws"
)

// Start serves a localaws.Server for world on a free local port for the
// length of the test and returns it with its base URL.
func Start(t testing.TB, world localaws.World, opts localaws.Options) (*localaws.Server, string) {
	t.Helper()
	s, err := localaws.New(world, opts)
	if err != nil {
		t.Fatalf("start emulator: %v", err)
	}
	// A test is over when it ends: close every connection at once rather
	// than wait for the ones the SDK opened and never used.
	url, stop, err := s.ListenGrace("127.0.0.1:0", 0)
	if err != nil {
		t.Fatalf("start emulator: %v", err)
	}
	t.Cleanup(stop)
	return s, url
}
