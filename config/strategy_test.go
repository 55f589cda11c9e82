package config

import (
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/prewarm/prewarm/derive"
)

func TestParsePolicyStrategy(t *testing.T) {
	p, err := ParsePolicy(`{"web":{"strategy":"demand","window":"6h","utilisation":0.6,"max":200},"api-*":{"strategy":"demand"},"batch":{"strategy":"mirror","default":4}}`)
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name string
		want derive.Rule
	}{
		{"web", derive.Rule{Strategy: derive.StrategyDemand, Window: 6 * time.Hour, Utilisation: pf(0.6), Max: p64(200)}},
		{"api-x", derive.Rule{Strategy: derive.StrategyDemand}},
		{"batch", derive.Rule{Strategy: "mirror", Default: p64(4)}},
	}
	for _, tt := range tests {
		got, ok := p.Rule(tt.name)
		if !ok {
			t.Fatalf("Rule(%s) did not match", tt.name)
		}
		if diff := cmp.Diff(tt.want, got); diff != "" {
			t.Errorf("Rule(%s) mismatch (-want +got):\n%s", tt.name, diff)
		}
	}
	// Rule hands out copies: changing one changes nothing in the policy.
	r, _ := p.Rule("web")
	*r.Utilisation = 0.1
	if again, _ := p.Rule("web"); *again.Utilisation != 0.6 {
		t.Errorf("Rule(web).Utilisation = %v after changing a copy, want 0.6", *again.Utilisation)
	}
}

func TestParsePolicyStrategyErrors(t *testing.T) {
	tests := []struct{ in, want string }{
		{`{"a":{"strategy":"policy"}}`, `pattern "a": strategy must be "demand" or "mirror", got "policy"`},
		{`{"a":{"strategy":1}}`, `pattern "a": strategy must be "demand" or "mirror", got 1`},
		{`{"a":{"window":"forever"}}`, `pattern "a": window "forever" is not a duration like "24h" or "90m"`},
		{`{"a":{"window":24}}`, `pattern "a": window must be a duration like "24h", got 24`},
		{`{"a":{"window":"400h"}}`, `pattern "a": window "400h" is outside 1m..360h`},
		{`{"a":{"window":"61s"}}`, `pattern "a": window "61s" is not a whole number of minutes`},
		{`{"a":{"utilisation":0}}`, `pattern "a": utilisation must be a number in (0, 1], got 0`},
		{`{"a":{"utilisation":1.01}}`, `pattern "a": utilisation must be a number in (0, 1], got 1.01`},
		{`{"a":{"utilisation":"0.7"}}`, `pattern "a": utilisation must be a number in (0, 1], got "0.7"`},
		{`{"a":{"utilisation":null}}`, `pattern "a": utilisation must be a number in (0, 1], got null`},
		{`{"a":{"clearWeights":"yes"}}`, `pattern "a": clearWeights must be true or false, got "yes"`},
		{`{"a":{"utilization":0.7}}`, `pattern "a": unknown key "utilization" (want default, min, max, scale, strategy, window, utilisation, clearWeights)`},
	}
	for _, tt := range tests {
		_, err := ParsePolicy(tt.in)
		if err == nil || err.Error() != tt.want {
			t.Errorf("ParsePolicy(%s) error\n got %v\nwant %s", tt.in, err, tt.want)
		}
	}
}
