package main

import (
	"runtime"
	"sync"
	"testing"
	"time"
)

// fakeGCPercent stands for debug.SetGCPercent.
type fakeGCPercent struct {
	mu      sync.Mutex
	percent int
	calls   int
}

func (f *fakeGCPercent) set(p int) int {
	f.mu.Lock()
	defer f.mu.Unlock()
	previous := f.percent
	f.percent, f.calls = p, f.calls+1
	return previous
}

func (f *fakeGCPercent) get() int {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.percent
}

func noEnv(string) string { return "" }

// never stands for releaseAfterFirstCollection when no collection comes.
func never(func()) {}

func TestHoldFirstCollectionUntilTheSecondInvocation(t *testing.T) {
	f := &fakeGCPercent{percent: 100}
	g := holdFirstCollection(noEnv, f.set, never)
	if p := f.get(); p != coldStartGCPercent {
		t.Fatalf("GOGC %d during the first invocation, want %d", p, coldStartGCPercent)
	}
	g.invoked()
	if p := f.get(); p != coldStartGCPercent {
		t.Fatalf("GOGC %d once the first invocation started, want %d", p, coldStartGCPercent)
	}
	g.invoked()
	if p := f.get(); p != 100 {
		t.Fatalf("GOGC %d once the second invocation started, want 100 back", p)
	}
	f.set(80) // set by someone else since: later invocations leave it
	g.invoked()
	g.invoked()
	g.release()
	if p := f.get(); p != 80 {
		t.Fatalf("GOGC %d after later invocations, want 80 left alone", p)
	}
}

func TestHoldFirstCollectionEndsWithTheFirstCollection(t *testing.T) {
	f := &fakeGCPercent{percent: 100}
	g := holdFirstCollection(noEnv, f.set, releaseAfterFirstCollection)
	g.invoked()
	runtime.GC()
	for deadline := time.Now().Add(5 * time.Second); f.get() != 100; time.Sleep(time.Millisecond) {
		if time.Now().After(deadline) {
			t.Fatalf("GOGC still %d after a collection, want 100 back", f.get())
		}
	}
	g.invoked()
	if f.calls != 2 {
		t.Errorf("SetGCPercent called %d times, want 2 (hold, release)", f.calls)
	}
}

func TestHoldFirstCollectionLeavesAChosenGOGC(t *testing.T) {
	f := &fakeGCPercent{percent: 50}
	g := holdFirstCollection(func(k string) string {
		if k == "GOGC" {
			return "50"
		}
		return ""
	}, f.set, releaseAfterFirstCollection)
	g.invoked()
	g.invoked()
	if f.calls != 0 || f.get() != 50 {
		t.Fatalf("GOGC %d after %d SetGCPercent calls, want 50 untouched", f.get(), f.calls)
	}
}
