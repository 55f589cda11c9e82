package main

import (
	"runtime"
	"sync"
	"sync/atomic"
)

// coldStartGCPercent is GOGC until the first collection, or until the
// second invocation starts, whichever comes first.
//
// Package initialisation (the AWS SDK's service schemas and endpoint tables)
// leaves about 2.6 MB on the heap, nearly all of it live for the life of the
// process, and Go starts its first collection as the heap nears 4 MB: during
// the first invocation, where it costs 1.5 to 2 ms of a 17 ms cold start
// under the Runtime Interface Emulator. At 200 the first collection waits
// until the heap nears 8 MB, which the first invocation of an intent or of a
// small batch does not reach. Once it has run, or once the second invocation
// starts, collections are paced by GOGC's own value again.
const coldStartGCPercent = 200

// gcHold holds the first collection back.
type gcHold struct {
	release     func()
	invocations atomic.Int64
}

// sentinel is an object nothing refers to: its cleanup runs after the first
// collection. It holds a pointer so that it is never batched with other
// small objects.
type sentinel struct{ _ *int }

// holdFirstCollection sets GOGC to coldStartGCPercent through setGCPercent
// (debug.SetGCPercent in production), unless the environment sets GOGC,
// which is then left as it is. afterFirstCollection arranges for its
// argument to be called after the first collection
// (releaseAfterFirstCollection in production).
func holdFirstCollection(getenv func(string) string, setGCPercent func(int) int, afterFirstCollection func(release func())) *gcHold {
	if getenv("GOGC") != "" {
		return &gcHold{release: func() {}}
	}
	previous := setGCPercent(coldStartGCPercent)
	var once sync.Once
	g := &gcHold{release: func() { once.Do(func() { setGCPercent(previous) }) }}
	afterFirstCollection(g.release)
	return g
}

// releaseAfterFirstCollection calls release, in a goroutine of its own,
// after the first collection.
func releaseAfterFirstCollection(release func()) {
	runtime.AddCleanup(&sentinel{}, func(release func()) { release() }, release)
}

// invoked is called as each invocation starts; the second ends the hold.
func (g *gcHold) invoked() {
	if g.invocations.Add(1) == 2 {
		g.release()
	}
}
