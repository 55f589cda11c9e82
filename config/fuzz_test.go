package config

import (
	"testing"
	"time"

	"github.com/prewarm/prewarm/intent"
)

// FuzzParseAllowlist checks that parsing and matching never panic and that an accepted list
// prints back to a list that parses to the same entries.
func FuzzParseAllowlist(f *testing.F) {
	for _, s := range []string{"my-function", "team-*,*", "arn:aws:lambda:us-east-1:123456789012:function:f", "123456789012:function:*", "a,,b", "a*b"} {
		f.Add(s, "my-function")
	}
	f.Fuzz(func(t *testing.T, list, name string) {
		a, err := ParseAllowlist(list)
		if err != nil {
			return
		}
		again, err := ParseAllowlist(a.String())
		if err != nil || again.String() != a.String() {
			t.Fatalf("ParseAllowlist(%q).String() = %q does not parse back: %v", list, a.String(), err)
		}
		if fn, _, err := intent.ParseFunction(name); err == nil {
			got := a.Allows(fn, "123456789012", "us-east-1")
			if got != again.Allows(fn, "123456789012", "us-east-1") {
				t.Fatalf("Allows(%q) differs after a round trip", name)
			}
			if a.allowsAll() && !fn.IsARN() && !got {
				t.Fatalf("* does not allow %q", name)
			}
		}
	})
}

// FuzzParsePolicy checks that ParsePolicy never panics and that every rule it accepts is
// consistent.
func FuzzParsePolicy(f *testing.F) {
	f.Add(`{"*":{"default":1},"api-*":{"default":10,"min":2,"max":50,"scale":1.5}}`, "api-x")
	f.Add(`{"a":{"min":5,"max":4}}`, "a")
	f.Add(`{"w*":{"strategy":"demand","window":"6h","utilisation":0.6}}`, "web")
	f.Fuzz(func(t *testing.T, s, name string) {
		p, err := ParsePolicy(s)
		if err != nil {
			return
		}
		r, ok := p.Rule(name)
		if !ok {
			return
		}
		if r.Min != nil && r.Max != nil && *r.Min > *r.Max {
			t.Fatalf("rule %q has min %d > max %d", name, *r.Min, *r.Max)
		}
		if r.Default != nil && *r.Default < 1 {
			t.Fatalf("rule %q has default %d", name, *r.Default)
		}
		if r.Scale != nil && !(*r.Scale > 0) {
			t.Fatalf("rule %q has scale %v", name, *r.Scale)
		}
		if u := r.Utilisation; u != nil && !(*u > 0 && *u <= 1) {
			t.Fatalf("rule %q has utilisation %v", name, *u)
		}
		if r.Window < 0 || r.Window%time.Minute != 0 || (r.Strategy != "" && r.Strategy != "demand" && r.Strategy != "mirror") {
			t.Fatalf("rule %q has window %v, strategy %q", name, r.Window, r.Strategy)
		}
	})
}
