package clock

import (
	"testing"
	"time"
)

func TestFakeAfterFiresOnlyWhenDue(t *testing.T) {
	start := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	f := NewFake(start)
	ch := f.After(3 * time.Second)
	f.Advance(2 * time.Second)
	select {
	case <-ch:
		t.Fatal("After fired before its time")
	default:
	}
	f.Advance(time.Second)
	select {
	case got := <-ch:
		if want := start.Add(3 * time.Second); !got.Equal(want) {
			t.Fatalf("After delivered %v, want %v", got, want)
		}
	default:
		t.Fatal("After did not fire when due")
	}
	if got, want := f.Now(), start.Add(3*time.Second); !got.Equal(want) {
		t.Fatalf("Now() = %v, want %v", got, want)
	}
}
