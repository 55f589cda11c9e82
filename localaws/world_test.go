package localaws_test

import (
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/prewarm/prewarm/localaws"
)

func TestDefaultWorldFitsTheSampleEvents(t *testing.T) {
	w := localaws.DefaultWorld()
	if err := w.Validate(); err != nil {
		t.Fatalf("Validate: %v", err)
	}
	if got, want := time.Duration(w.ReadyAfter), 3*time.Second; got != want {
		t.Errorf("readyAfter: got %s, want %s", got, want)
	}
	functions := map[string]bool{}
	for _, f := range w.Functions {
		functions[f.Name] = true
	}
	for _, name := range []string{"my-function", "checkout-api", "orders-worker", "broken-function"} {
		if !functions[name] {
			t.Errorf("function %s missing", name)
		}
	}
	queues := map[string]bool{}
	for _, q := range w.Queues {
		queues[q.Name] = true
	}
	for _, name := range []string{"prewarm-results", "prewarm-results.fifo", "prewarm-events", "prewarm-events-dlq", "prewarm-followup"} {
		if !queues[name] {
			t.Errorf("queue %s missing", name)
		}
	}
	// Each call is a fresh copy.
	w.Functions[0].Name = "changed"
	if localaws.DefaultWorld().Functions[0].Name == "changed" {
		t.Errorf("DefaultWorld shares state between calls")
	}
}

func TestLoadWorld(t *testing.T) {
	dir := t.TempDir()
	write := func(name, body string) string {
		p := filepath.Join(dir, name)
		if err := os.WriteFile(p, []byte(body), 0o600); err != nil {
			t.Fatal(err)
		}
		return p
	}
	good := write("good.json", `{"accountId":"111122223333","region":"eu-west-1","readyAfter":"90s","putConflictWindow":2,
		"functions":[{"name":"f","versions":["1"],"aliases":{"live":"1"},"reservedConcurrency":null,"initFailureVersions":[]}],
		"queues":[{"name":"q"}]}`)
	w, err := localaws.LoadWorld(good)
	if err != nil {
		t.Fatal(err)
	}
	if got, want := time.Duration(w.ReadyAfter), 90*time.Second; got != want {
		t.Errorf("readyAfter: got %s, want %s", got, want)
	}
	if got, want := time.Duration(w.PutConflictWindow), 2*time.Second; got != want {
		t.Errorf("putConflictWindow (number of seconds): got %s, want %s", got, want)
	}

	tests := []struct{ name, body, wantErr string }{
		{"unknown field", `{"readyAfter":"1s","functionz":[]}`, "unknown field"},
		{"bad duration", `{"readyAfter":"soon"}`, "soon"},
		{"alias to unknown version", `{"functions":[{"name":"f","versions":["1"],"aliases":{"A":"2"}}]}`, "unknown version"},
		{"bad queue", `{"queues":[{"name":"bad name"}]}`, "bad name"},
		{"trailing data", `{} []`, "unexpected data"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := localaws.LoadWorld(write(tt.name+".json", tt.body))
			if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
				t.Errorf("got %v, want an error containing %q", err, tt.wantErr)
			}
		})
	}
	if _, err := localaws.LoadWorld(filepath.Join(dir, "missing.json")); err == nil {
		t.Errorf("missing file: got no error")
	}
}

func TestDurationRoundTrip(t *testing.T) {
	b, err := json.Marshal(localaws.Duration(1500 * time.Millisecond))
	if err != nil {
		t.Fatal(err)
	}
	if got, want := string(b), `"1.5s"`; got != want {
		t.Errorf("marshal: got %s, want %s", got, want)
	}
	var d localaws.Duration
	if err := json.Unmarshal(b, &d); err != nil || time.Duration(d) != 1500*time.Millisecond {
		t.Errorf("unmarshal: got %v, %v", time.Duration(d), err)
	}
	if err := json.Unmarshal([]byte(`true`), &d); err == nil {
		t.Errorf("unmarshal true: got no error")
	}
}

func TestParseRatesAndLatencies(t *testing.T) {
	rates := []struct {
		in      string
		want    localaws.Rates
		wantErr bool
	}{
		{"0.2", localaws.Rates{"": 0.2}, false},
		{"PutProvisionedConcurrencyConfig=0.5,GetAccountSettings=0.1", localaws.Rates{"PutProvisionedConcurrencyConfig": 0.5, "GetAccountSettings": 0.1}, false},
		{"0.05, SendMessage=1", localaws.Rates{"": 0.05, "SendMessage": 1}, false},
		{"", localaws.Rates{}, false},
		{"1.5", nil, true},
		{"NaN", nil, true},
		{"=0.1", nil, true},
		{"Op=x", nil, true},
	}
	for _, tt := range rates {
		got, err := localaws.ParseRates(tt.in)
		if (err != nil) != tt.wantErr {
			t.Errorf("ParseRates(%q): err %v, want error %v", tt.in, err, tt.wantErr)
			continue
		}
		if diff := cmp.Diff(tt.want, got); diff != "" {
			t.Errorf("ParseRates(%q) (-want +got):\n%s", tt.in, diff)
		}
	}
	r, _ := localaws.ParseRates("0.1,SendMessage=0.5")
	if r.For("sqs", "SendMessage") != 0.5 || r.For("lambda", "GetAccountSettings") != 0.1 {
		t.Errorf("For: got %v and %v", r.For("sqs", "SendMessage"), r.For("lambda", "GetAccountSettings"))
	}
	// A service:Operation key wins over a bare name, which wins over the
	// service's wildcard, which wins over the default.
	keyed, _ := localaws.ParseRates("0.1,sqs:*=0.2,ReceiveMessage=0.3,sqs:ReceiveMessage=0.4")
	for _, tt := range []struct {
		service, op string
		want        float64
	}{{"sqs", "ReceiveMessage", 0.4}, {"other", "ReceiveMessage", 0.3}, {"sqs", "SendMessage", 0.2}, {"lambda", "GetAlias", 0.1}} {
		if got := keyed.For(tt.service, tt.op); got != tt.want {
			t.Errorf("For(%s, %s) = %v, want %v", tt.service, tt.op, got, tt.want)
		}
	}
	if got, want := r.String(), "0.1,SendMessage=0.5"; got != want {
		t.Errorf("String: got %q, want %q", got, want)
	}

	l, err := localaws.ParseLatencies("10ms,PutProvisionedConcurrencyConfig=200ms")
	if err != nil {
		t.Fatal(err)
	}
	if l.For("lambda", "PutProvisionedConcurrencyConfig") != 200*time.Millisecond || l.For("lambda", "ListFunctions") != 10*time.Millisecond {
		t.Errorf("latencies: got %v", l)
	}
	if _, err := localaws.ParseLatencies("-1s"); err == nil {
		t.Errorf("negative latency accepted")
	}
	var set localaws.Latencies
	if err := set.Set("50ms"); err != nil || set.String() != "50ms" {
		t.Errorf("Set/String: got %q, %v", set.String(), err)
	}
}
