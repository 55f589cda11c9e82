package config

import (
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/prewarm/prewarm/derive"
	"github.com/prewarm/prewarm/intent"
)

func env(m map[string]string) func(string) string {
	return func(k string) string { return m[k] }
}

func base(extra map[string]string) map[string]string {
	m := map[string]string{
		"RESULTS_QUEUE_URL": "https://sqs.us-east-1.amazonaws.com/123456789012/prewarm-results",
		"ALLOWED_FUNCTIONS": "my-function,team-*",
	}
	for k, v := range extra {
		m[k] = v
	}
	return m
}

func TestLoadDefaults(t *testing.T) {
	c, err := Load(env(base(map[string]string{"AWS_REGION": "us-east-1"})))
	if err != nil {
		t.Fatalf("Load: %v", err)
	}
	got := struct {
		Results, FollowUp, Region string
		Max                       int64
		Wait, Track               time.Duration
		RPS                       float64
		DryRun                    bool
		Names, Prefixes, Patterns []string
	}{c.ResultsQueueURL, c.FollowUpQueueURL, c.Region, c.MaxConcurrency, c.Wait, c.TrackTimeout, c.ControlPlaneRPS, c.DryRun,
		c.Allowed.Names(), c.Allowed.Prefixes(), c.Policy.patterns()}
	want := got
	want.Results = "https://sqs.us-east-1.amazonaws.com/123456789012/prewarm-results"
	want.FollowUp, want.Region = "", "us-east-1"
	want.Max, want.Wait, want.Track, want.RPS, want.DryRun = 100, 20*time.Second, 15*time.Minute, 10, false
	want.Names, want.Prefixes, want.Patterns = []string{"my-function"}, []string{"team-"}, []string{}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("Load defaults mismatch (-want +got):\n%s", diff)
	}
}

func TestLoadValues(t *testing.T) {
	c, err := Load(env(base(map[string]string{
		"FOLLOWUP_QUEUE_URL": "http://127.0.0.1:4566/000000000000/prewarm-events",
		"MAX_CONCURRENCY":    " 250 ",
		"POLICY":             `{"team-*":{"default":10,"scale":1.5},"my-function":{"min":2,"max":50}}`,
		"WAIT_SECONDS":       "5",
		"TRACK_TIMEOUT":      "30m",
		"CONTROL_PLANE_RPS":  "2.5",
		"DRY_RUN":            "TRUE",
	})))
	if err != nil {
		t.Fatalf("Load: %v", err)
	}
	if c.FollowUpQueueURL != "http://127.0.0.1:4566/000000000000/prewarm-events" || c.MaxConcurrency != 250 ||
		c.Wait != 5*time.Second || c.TrackTimeout != 30*time.Minute || c.ControlPlaneRPS != 2.5 || !c.DryRun {
		t.Errorf("Load = %+v", c)
	}
	if diff := cmp.Diff([]string{"my-function", "team-*"}, c.Policy.patterns()); diff != "" {
		t.Errorf("Patterns mismatch (-want +got):\n%s", diff)
	}
}

func TestLoadDurations(t *testing.T) {
	tests := []struct {
		name, value string
		want        time.Duration
		err         string
	}{
		{"WAIT_SECONDS", "0", 0, ""},
		{"WAIT_SECONDS", "20", 20 * time.Second, ""},
		{"WAIT_SECONDS", "1.5", 1500 * time.Millisecond, ""},
		{"WAIT_SECONDS", "45s", 45 * time.Second, ""},
		{"WAIT_SECONDS", "15m", 15 * time.Minute, ""},
		{"WAIT_SECONDS", "16m", 0, `WAIT_SECONDS: "16m" is outside 0..15m0s`},
		{"WAIT_SECONDS", "-1", 0, `WAIT_SECONDS: "-1" is outside 0..15m0s`},
		{"WAIT_SECONDS", "soon", 0, `WAIT_SECONDS: "soon" is not a duration (like 20s or 15m) or a number of seconds`},
		{"WAIT_SECONDS", "NaN", 0, `WAIT_SECONDS: "NaN" is out of range`},
		{"TRACK_TIMEOUT", "900", 15 * time.Minute, ""},
		{"TRACK_TIMEOUT", "1h30m", 90 * time.Minute, ""},
		{"TRACK_TIMEOUT", "0", 0, `TRACK_TIMEOUT: "0" is not a positive duration`},
		{"TRACK_TIMEOUT", "-5m", 0, `TRACK_TIMEOUT: "-5m" is not a positive duration`},
		{"TRACK_TIMEOUT", "1e300", 0, `TRACK_TIMEOUT: "1e300" is out of range`},
		{"TRACK_TIMEOUT", "15 minutes", 0, `TRACK_TIMEOUT: "15 minutes" is not a duration`},
	}
	for _, tt := range tests {
		t.Run(tt.name+"="+tt.value, func(t *testing.T) {
			c, err := Load(env(base(map[string]string{tt.name: tt.value})))
			if tt.err != "" {
				if err == nil || err.Error() != tt.err && !strings.HasPrefix(err.Error(), tt.err) {
					t.Fatalf("Load error = %v, want %q", err, tt.err)
				}
				return
			}
			if err != nil {
				t.Fatalf("Load: %v", err)
			}
			got := c.Wait
			if tt.name == "TRACK_TIMEOUT" {
				got = c.TrackTimeout
			}
			if got != tt.want {
				t.Errorf("%s=%q gives %v, want %v", tt.name, tt.value, got, tt.want)
			}
		})
	}
}

func TestLoadErrors(t *testing.T) {
	tests := []struct {
		name string
		env  map[string]string
		want string
	}{
		{"no results queue", map[string]string{"RESULTS_QUEUE_URL": ""}, "RESULTS_QUEUE_URL: required"},
		{"results queue not a URL", map[string]string{"RESULTS_QUEUE_URL": "prewarm-results"}, `RESULTS_QUEUE_URL: "prewarm-results" is not an http(s) queue URL`},
		{"results queue ftp", map[string]string{"RESULTS_QUEUE_URL": "ftp://host/q"}, `RESULTS_QUEUE_URL: "ftp://host/q" is not an http(s) queue URL`},
		{"follow-up queue without host", map[string]string{"FOLLOWUP_QUEUE_URL": "https:///q"}, `FOLLOWUP_QUEUE_URL: "https:///q" is not an http(s) queue URL`},
		{"no allowlist", map[string]string{"ALLOWED_FUNCTIONS": "  "}, `ALLOWED_FUNCTIONS: required: comma-separated function names, prefix* patterns or ARNs ("*" allows every function in the account and Region)`},
		{"allowlist empty entry", map[string]string{"ALLOWED_FUNCTIONS": "a,,b"}, "ALLOWED_FUNCTIONS: entry 2 is empty"},
		{"allowlist bad name", map[string]string{"ALLOWED_FUNCTIONS": "a,my.fn"}, `ALLOWED_FUNCTIONS: entry "my.fn": a function name may contain only letters, digits, '-' and '_'`},
		{"allowlist inner star", map[string]string{"ALLOWED_FUNCTIONS": "a*b"}, `ALLOWED_FUNCTIONS: entry "a*b": '*' is allowed only at the end`},
		{"allowlist qualified ARN", map[string]string{"ALLOWED_FUNCTIONS": "arn:aws:lambda:us-east-1:123456789012:function:f:BLUE"}, `ALLOWED_FUNCTIONS: entry "arn:aws:lambda:us-east-1:123456789012:function:f:BLUE": an ARN with a qualifier: list functions, not aliases or versions`},
		{"allowlist bad ARN", map[string]string{"ALLOWED_FUNCTIONS": "arn:aws:lambda:us-east-1:1234:function:f"}, `ALLOWED_FUNCTIONS: entry "arn:aws:lambda:us-east-1:1234:function:f": not a function name, prefix or ARN: functionName "arn:aws:lambda:us-east-1:1234:function:f" has an invalid account ID "1234" (want 12 digits)`},
		{"MAX_CONCURRENCY zero", map[string]string{"MAX_CONCURRENCY": "0"}, `MAX_CONCURRENCY: "0" is not an integer in 1..2147483647`},
		{"MAX_CONCURRENCY float", map[string]string{"MAX_CONCURRENCY": "1.5"}, `MAX_CONCURRENCY: "1.5" is not an integer in 1..2147483647`},
		{"MAX_CONCURRENCY overflow", map[string]string{"MAX_CONCURRENCY": "2147483648"}, `MAX_CONCURRENCY: "2147483648" is not an integer in 1..2147483647`},
		{"POLICY not JSON", map[string]string{"POLICY": "{default:1}"}, "POLICY: value is not JSON: invalid character 'd' looking for beginning of object key string"},
		{"POLICY min above max", map[string]string{"POLICY": `{"*":{"min":5,"max":2}}`}, `POLICY: pattern "*": min 5 is greater than max 2`},
		{"CONTROL_PLANE_RPS zero", map[string]string{"CONTROL_PLANE_RPS": "0"}, `CONTROL_PLANE_RPS: "0" is not a finite number greater than 0`},
		{"CONTROL_PLANE_RPS Inf", map[string]string{"CONTROL_PLANE_RPS": "+Inf"}, `CONTROL_PLANE_RPS: "+Inf" is not a finite number greater than 0`},
		{"CONTROL_PLANE_RPS NaN", map[string]string{"CONTROL_PLANE_RPS": "NaN"}, `CONTROL_PLANE_RPS: "NaN" is not a finite number greater than 0`},
		{"CONTROL_PLANE_RPS word", map[string]string{"CONTROL_PLANE_RPS": "fast"}, `CONTROL_PLANE_RPS: "fast" is not a finite number greater than 0`},
		{"DRY_RUN word", map[string]string{"DRY_RUN": "yes"}, `DRY_RUN: "yes" is not a boolean (true or false)`},
		{"several at once, one line", map[string]string{"RESULTS_QUEUE_URL": "", "DRY_RUN": "maybe", "MAX_CONCURRENCY": "-3"},
			`RESULTS_QUEUE_URL: required; MAX_CONCURRENCY: "-3" is not an integer in 1..2147483647; DRY_RUN: "maybe" is not a boolean (true or false)`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := Load(env(base(tt.env)))
			if err == nil {
				t.Fatalf("Load succeeded, want %q", tt.want)
			}
			if got := err.Error(); got != tt.want {
				t.Errorf("Load error\n got %q\nwant %q", got, tt.want)
			}
			if strings.Contains(err.Error(), "\n") {
				t.Errorf("error spans lines: %q", err.Error())
			}
			var ve *VarError
			if !errors.As(err, &ve) || !strings.HasPrefix(tt.want, ve.Name+": ") {
				t.Errorf("errors.As(*VarError) = %+v, want the first variable of %q", ve, tt.want)
			}
		})
	}
}

func TestParseAllowlist(t *testing.T) {
	a, err := ParseAllowlist(" my-function , team-* ,*, 123456789012:function:shared , arn:aws:lambda:eu-west-1:210987654321:function:remote, arn:aws:lambda:eu-west-1:210987654321:function:batch-* ,my-function")
	if err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff([]string{"my-function"}, a.Names()); diff != "" {
		t.Errorf("Names mismatch (-want +got):\n%s", diff)
	}
	if diff := cmp.Diff([]string{"team-", ""}, a.Prefixes()); diff != "" {
		t.Errorf("Prefixes mismatch (-want +got):\n%s", diff)
	}
	if diff := cmp.Diff([]string{"123456789012:function:shared", "arn:aws:lambda:eu-west-1:210987654321:function:remote"}, a.ARNs()); diff != "" {
		t.Errorf("ARNs mismatch (-want +got):\n%s", diff)
	}
	if !a.allowsAll() {
		t.Error("allowsAll() = false with a * entry")
	}
	if got, want := a.String(), "my-function,team-*,*,123456789012:function:shared,arn:aws:lambda:eu-west-1:210987654321:function:remote,arn:aws:lambda:eu-west-1:210987654321:function:batch-*,my-function"; got != want {
		t.Errorf("String() = %q, want %q", got, want)
	}
}

func TestAllows(t *testing.T) {
	const own, region = "123456789012", "us-east-1"
	list := "my-function,team-*,arn:aws:lambda:eu-west-1:210987654321:function:remote,arn:aws:lambda:eu-west-1:210987654321:function:batch-*,345678901234:function:partner,456789012345:function:*"
	a, err := ParseAllowlist(list)
	if err != nil {
		t.Fatal(err)
	}
	fn := func(s string) intent.Function {
		t.Helper()
		f, _, err := intent.ParseFunction(s)
		if err != nil {
			t.Fatal(err)
		}
		return f
	}
	tests := []struct {
		fn              string
		account, region string
		want            bool
	}{
		// Names and prefixes: own account and Region.
		{"my-function", own, region, true},
		{"my-function", "", "", true},
		{"team-api", own, region, true},
		{"team-", own, region, true},
		{"other", own, region, false},
		{"my-function-2", own, region, false},
		{"arn:aws:lambda:us-east-1:123456789012:function:my-function", own, region, true},
		{"123456789012:function:team-x", own, region, true},
		// A name entry does not reach another account, Region or partition.
		{"arn:aws:lambda:us-east-1:999999999999:function:my-function", own, region, false},
		{"arn:aws:lambda:us-west-2:123456789012:function:my-function", own, region, false},
		{"arn:aws-cn:lambda:us-east-1:123456789012:function:my-function", own, region, false},
		{"999999999999:function:my-function", own, region, false},
		// Unknown own account or Region: ARNs need ARN entries.
		{"arn:aws:lambda:us-east-1:123456789012:function:my-function", "", region, false},
		{"arn:aws:lambda:us-east-1:123456789012:function:my-function", own, "", false},
		{"123456789012:function:my-function", "", region, false},
		// ARN entries.
		{"arn:aws:lambda:eu-west-1:210987654321:function:remote", own, region, true},
		{"arn:aws:lambda:eu-west-1:210987654321:function:remote", "", "", true},
		{"arn:aws:lambda:eu-west-2:210987654321:function:remote", own, region, false},
		{"arn:aws:lambda:eu-west-1:210987654321:function:remote2", own, region, false},
		{"arn:aws:lambda:eu-west-1:210987654321:function:batch-nightly", own, region, true},
		{"arn:aws:lambda:eu-west-1:210987654321:function:batc", own, region, false},
		{"remote", "210987654321", "eu-west-1", true}, // prewarm itself runs there
		{"remote", own, region, false},
		// Partial ARN entries name prewarm's own Region.
		{"345678901234:function:partner", own, region, true},
		{"arn:aws:lambda:us-east-1:345678901234:function:partner", own, region, true},
		{"arn:aws:lambda:us-west-2:345678901234:function:partner", own, region, false},
		{"arn:aws:lambda:us-east-1:345678901234:function:partner", own, "", false},
		{"456789012345:function:anything", own, region, true},
		{"arn:aws:lambda:us-east-1:456789012345:function:anything", own, region, true},
	}
	for _, tt := range tests {
		if got := a.Allows(fn(tt.fn), tt.account, tt.region); got != tt.want {
			t.Errorf("Allows(%s, %q, %q) = %v, want %v", tt.fn, tt.account, tt.region, got, tt.want)
		}
	}

	star, err := ParseAllowlist("*")
	if err != nil {
		t.Fatal(err)
	}
	for _, tt := range []struct {
		fn   string
		want bool
	}{
		{"anything", true},
		{"arn:aws:lambda:us-east-1:123456789012:function:anything", true},
		{"arn:aws:lambda:us-east-1:999999999999:function:anything", false},
	} {
		if got := star.Allows(fn(tt.fn), own, region); got != tt.want {
			t.Errorf("* Allows(%s) = %v, want %v", tt.fn, got, tt.want)
		}
	}
	if (Allowlist{}).Allows(fn("f"), own, region) {
		t.Error("the zero Allowlist allows a function")
	}
}

func TestPartitionOf(t *testing.T) {
	for region, want := range map[string]string{
		"us-east-1": "aws", "eu-central-2": "aws", "cn-north-1": "aws-cn", "us-gov-west-1": "aws-us-gov",
		"us-iso-east-1": "aws-iso", "us-isob-east-1": "aws-iso-b", "eu-isoe-west-1": "aws-iso-e",
		"us-isof-south-1": "aws-iso-f", "eusc-de-east-1": "aws-eusc",
	} {
		if got := intent.PartitionOf(region); got != want {
			t.Errorf("intent.PartitionOf(%q) = %q, want %q", region, got, want)
		}
	}
}

func TestParsePolicy(t *testing.T) {
	p, err := ParsePolicy(`{
		"*":            {"default": 1},
		"api-*":        {"default": 10, "min": 2, "max": 50, "scale": 1.5},
		"api-admin-*":  {"max": 5},
		"api-admin-x":  {"default": 3},
		"billing":      {}
	}`)
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name string
		want derive.Rule
		ok   bool
	}{
		{"api-orders", derive.Rule{Default: p64(10), Min: p64(2), Max: p64(50), Scale: pf(1.5)}, true},
		{"api-admin-users", derive.Rule{Max: p64(5)}, true},
		{"api-admin-x", derive.Rule{Default: p64(3)}, true},
		{"billing", derive.Rule{}, true},
		{"billing-2", derive.Rule{Default: p64(1)}, true},
		{"api-", derive.Rule{Default: p64(10), Min: p64(2), Max: p64(50), Scale: pf(1.5)}, true},
	}
	for _, tt := range tests {
		got, ok := p.Rule(tt.name)
		if ok != tt.ok {
			t.Errorf("Rule(%q) ok = %v, want %v", tt.name, ok, tt.ok)
		}
		if diff := cmp.Diff(tt.want, got); diff != "" {
			t.Errorf("Rule(%q) mismatch (-want +got):\n%s", tt.name, diff)
		}
	}
	// The rule returned is a copy: changing it does not change the policy.
	r, _ := p.Rule("api-orders")
	*r.Default = 999
	if again, _ := p.Rule("api-orders"); *again.Default != 10 {
		t.Errorf("Rule returned shared state: default is now %d", *again.Default)
	}
	if diff := cmp.Diff([]string{"*", "api-*", "api-admin-*", "api-admin-x", "billing"}, p.patterns()); diff != "" {
		t.Errorf("Patterns mismatch (-want +got):\n%s", diff)
	}

	noStar, err := ParsePolicy(`{"api-*":{"default":1}}`)
	if err != nil {
		t.Fatal(err)
	}
	if _, ok := noStar.Rule("web"); ok {
		t.Error("Rule(web) matched without a * pattern")
	}
	if _, ok := (Policy{}).Rule("web"); ok {
		t.Error("the zero Policy matched")
	}
	empty, err := ParsePolicy("  ")
	if err != nil || len(empty.patterns()) != 0 {
		t.Errorf("ParsePolicy(blank) = %v, %v; want an empty policy", empty.patterns(), err)
	}
}

func TestParsePolicyErrors(t *testing.T) {
	tests := []struct {
		in, want string
	}{
		{`[]`, "not a JSON object of pattern to rule: json: cannot unmarshal array into Go value of type map[string]json.RawMessage"},
		{`null`, "not a JSON object of pattern to rule: null"},
		{`{"a":{"default":1}} x`, "value is not JSON: invalid character 'x' after top-level value"},
		{`{"a":{"default":1},"a":{"default":2}}`, `duplicate key "a" in an object`},
		{`{"a":{"default":1,"default":2}}`, `duplicate key "default" in an object`},
		{`{"a":{"default":1}} {}`, "value is not JSON: more than one value (trailing data after the first)"},
		{strings.Repeat(`{"a":`, 17) + `1` + strings.Repeat(`}`, 17), "value nests deeper than 16 levels"},
		{`{"a":{"defualt":1}}`, `pattern "a": unknown key "defualt" (want default, min, max, scale, strategy, window, utilisation, clearWeights)`},
		{`{"a":5}`, `pattern "a": rule must be an object like {"default":10,"min":1,"max":50,"scale":1.5}`},
		{`{"a":{"default":0}}`, `pattern "a": default 0 is outside 1..2147483647`},
		{`{"a":{"default":1.5}}`, `pattern "a": default must be an integer, got 1.5`},
		{`{"a":{"default":"5"}}`, `pattern "a": default must be an integer, got "5"`},
		{`{"a":{"min":-1}}`, `pattern "a": min -1 is outside 0..2147483647`},
		{`{"a":{"max":2147483648}}`, `pattern "a": max 2147483648 is outside 0..2147483647`},
		{`{"a":{"max":1e3}}`, `pattern "a": max must be an integer, got 1e3`},
		{`{"a":{"min":5,"max":4}}`, `pattern "a": min 5 is greater than max 4`},
		{`{"a":{"default":3,"min":5}}`, `pattern "a": default 3 is below min 5`},
		{`{"a":{"default":9,"max":5}}`, `pattern "a": default 9 is above max 5`},
		{`{"a":{"scale":0}}`, `pattern "a": scale must be greater than 0, got 0`},
		{`{"a":{"scale":-1}}`, `pattern "a": scale must be greater than 0, got -1`},
		{`{"a":{"scale":1e309}}`, `pattern "a": scale 1e309 is out of range`},
		{`{"a":{"scale":"NaN"}}`, `pattern "a": scale must be a number, got "NaN"`},
		{`{"a":{"scale":null}}`, `pattern "a": scale must be a number, got null`},
		{`{"a*b":{}}`, `pattern "a*b": want a function name, a name prefix ending in '*', or "*"`},
		{`{"":{}}`, `pattern "": want a function name, a name prefix ending in '*', or "*"`},
		{`{"arn:aws:lambda:us-east-1:123456789012:function:f":{}}`, `pattern "arn:aws:lambda:us-east-1:123456789012:function:f": want a function name, a name prefix ending in '*', or "*"`},
		{`{"my fn":{}}`, `pattern "my fn": a function name may contain only letters, digits, '-' and '_'`},
	}
	for _, tt := range tests {
		_, err := ParsePolicy(tt.in)
		if err == nil || err.Error() != tt.want {
			t.Errorf("ParsePolicy(%s) error\n got %v\nwant %s", tt.in, err, tt.want)
		}
	}
}

func p64(v int64) *int64    { return &v }
func pf(v float64) *float64 { return &v }

func TestLoadHookRelease(t *testing.T) {
	for _, tt := range []struct {
		value string
		want  intent.Release
		err   string
	}{
		{"", intent.Release{Mode: intent.ReleaseDelete}, ""},
		{"delete", intent.Release{Mode: intent.ReleaseDelete}, ""},
		{"3", intent.Release{Mode: intent.ReleaseStandby, Standby: 3}, ""},
		{"0", intent.Release{}, `HOOK_RELEASE: "0" is neither "delete" nor a standby value`},
		{"keep", intent.Release{}, `HOOK_RELEASE: "keep" is neither "delete" nor a standby value`},
	} {
		c, err := Load(env(base(map[string]string{"HOOK_RELEASE": tt.value})))
		switch {
		case tt.err != "" && (err == nil || !strings.Contains(err.Error(), tt.err)):
			t.Errorf("HOOK_RELEASE=%q: error %v, want %q", tt.value, err, tt.err)
		case tt.err == "" && err != nil:
			t.Errorf("HOOK_RELEASE=%q: %v", tt.value, err)
		case tt.err == "" && c.HookRelease != tt.want:
			t.Errorf("HOOK_RELEASE=%q: %+v, want %+v", tt.value, c.HookRelease, tt.want)
		}
	}
}
