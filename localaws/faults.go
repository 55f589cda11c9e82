package localaws

import (
	"fmt"
	"math"
	"sort"
	"strconv"
	"strings"
	"time"
)

// Faults are injected by service and operation before a request reaches
// its service. Their keys are "service:Operation" ("sqs:SendMessage"),
// "service:*" (every operation of the service), a bare operation name when
// one service alone has it, or "" for every operation not named otherwise.
type Faults struct {
	// Latency delays each request (wall time).
	Latency Latencies
	// ThrottleRate is the fraction of requests answered with the service's
	// throttling error.
	ThrottleRate Rates
	// ErrorRate is the fraction answered with the service's 5xx error.
	ErrorRate Rates
	// ResetRate is the fraction whose TCP connection is closed without a
	// response.
	ResetRate Rates
}

// Rates maps operations (see Faults for the keys) to a fraction in [0, 1];
// the empty key is the rate of every operation not named. Its flag form is
// "0.2" (all operations), "PutProvisionedConcurrencyConfig=0.5,sqs:*=0.1"
// (only those) or both mixed ("0.05,SendMessage=0.5").
type Rates map[string]float64

// For returns the rate that applies to service's op.
func (r Rates) For(service, op string) float64 { return lookup(r, service, op) }

// lookup finds the value for service's op: "service:op", then "op", then
// "service:*", then "".
func lookup[V any](m map[string]V, service, op string) V {
	for _, k := range [...]string{service + ":" + op, op, service + ":*"} {
		if v, ok := m[k]; ok {
			return v
		}
	}
	return m[""]
}

// Set parses the flag form, replacing r's contents; it implements
// flag.Value.
func (r *Rates) Set(s string) error {
	parsed, err := ParseRates(s)
	if err != nil {
		return err
	}
	*r = parsed
	return nil
}

// String renders r in its flag form.
func (r Rates) String() string {
	return render(r, func(v float64) string { return strconv.FormatFloat(v, 'g', -1, 64) })
}

// ParseRates parses the flag form of Rates.
func ParseRates(s string) (Rates, error) {
	r := Rates{}
	err := parsePerOperation(s, func(op, value string) error {
		v, err := strconv.ParseFloat(value, 64)
		if err != nil || v < 0 || v > 1 || math.IsNaN(v) {
			return fmt.Errorf("rate %q: want a fraction between 0 and 1", value)
		}
		r[op] = v
		return nil
	})
	if err != nil {
		return nil, err
	}
	return r, nil
}

// Latencies maps operations (see Faults for the keys) to a delay; the
// empty key is the delay of every operation not named. Its flag form is "50ms", "SendMessage=1s"
// or both mixed ("10ms,PutProvisionedConcurrencyConfig=200ms").
type Latencies map[string]time.Duration

// For returns the delay that applies to service's op.
func (l Latencies) For(service, op string) time.Duration { return lookup(l, service, op) }

// Set parses the flag form, replacing l's contents; it implements
// flag.Value.
func (l *Latencies) Set(s string) error {
	parsed, err := ParseLatencies(s)
	if err != nil {
		return err
	}
	*l = parsed
	return nil
}

// String renders l in its flag form.
func (l Latencies) String() string {
	return render(l, func(v time.Duration) string { return v.String() })
}

// ParseLatencies parses the flag form of Latencies.
func ParseLatencies(s string) (Latencies, error) {
	l := Latencies{}
	err := parsePerOperation(s, func(op, value string) error {
		v, err := time.ParseDuration(value)
		if err != nil || v < 0 {
			return fmt.Errorf("latency %q: want a non-negative Go duration such as 50ms", value)
		}
		l[op] = v
		return nil
	})
	if err != nil {
		return nil, err
	}
	return l, nil
}

// parsePerOperation splits "default,Op=value,..." and hands each part to
// set, with op "" for the default.
func parsePerOperation(s string, set func(op, value string) error) error {
	for part := range strings.SplitSeq(s, ",") {
		part = strings.TrimSpace(part)
		if part == "" {
			continue
		}
		op, value, named := strings.Cut(part, "=")
		if !named {
			op, value = "", part
		}
		op, value = strings.TrimSpace(op), strings.TrimSpace(value)
		if named && op == "" {
			return fmt.Errorf("%q: operation name missing before '='", part)
		}
		if err := set(op, value); err != nil {
			return err
		}
	}
	return nil
}

func render[V any](m map[string]V, format func(V) string) string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	parts := make([]string, 0, len(keys))
	for _, k := range keys {
		if k == "" {
			parts = append(parts, format(m[k]))
			continue
		}
		parts = append(parts, k+"="+format(m[k]))
	}
	return strings.Join(parts, ",")
}
