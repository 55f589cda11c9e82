package derive

import (
	"fmt"
	"math"
	"math/big"
	"strconv"
	"strings"
	"time"
)

// Demand parameters when neither the intent nor the policy sets them.
const (
	// DefaultWindow is how far back the demand strategy looks.
	DefaultWindow = 24 * time.Hour
	// DefaultUtilisation is the share of the provisioned concurrency the peak should use:
	// at 0.7 a peak of 70 asks for 100, leaving room for bursts the 1-minute Maximum misses.
	DefaultUtilisation = 0.7
)

// Demand is the demand signal of one qualifier over a window, as CloudWatch reports it.
type Demand struct {
	// Qualifier is the alias or version the metrics are of (normally From).
	Qualifier string
	// Peak is the Maximum of ConcurrentExecutions over the window.
	Peak float64
	// Spillover is the Sum of ProvisionedConcurrencySpilloverInvocations over the window:
	// invocations that found every provisioned environment busy.
	Spillover float64
	// Window is the span the metrics cover.
	Window time.Duration
	// Datapoints is how many 1-minute ConcurrentExecutions datapoints the window had; 0
	// means no data.
	Datapoints int
}

// DemandUsed records the metrics a demand-derived base came from, for the result's
// derivation.
type DemandUsed struct {
	Qualifier   string
	Peak        float64
	Spillover   float64
	Window      time.Duration
	Utilisation float64
	Datapoints  int
	// RaisedBySpillover is set when spillover raised the base to one above From's value.
	RaisedBySpillover bool
}

// Choice is the strategy an intent and its policy rule ask for, with the demand
// parameters resolved.
type Choice struct {
	// Demand is set when the demand strategy is asked for.
	Demand bool
	// Window is the demand window to read: the intent's, else the rule's, else DefaultWindow.
	Window time.Duration
	// Utilisation is the target utilisation: the intent's, else the rule's, else
	// DefaultUtilisation.
	Utilisation float64
}

// Choose resolves the strategy and the demand parameters: the intent's (strategy, window,
// utilisation; zero when not given), else the rule's, else the defaults. An intent's
// StrategyMirror overrides a rule's StrategyDemand. The caller reads the demand signal over
// Window when Demand is set and the intent has no explicit concurrency.
func Choose(strategy string, window time.Duration, utilisation float64, rule *Rule) Choice {
	c := Choice{Window: window, Utilisation: utilisation}
	if strategy == "" && rule != nil {
		strategy = rule.Strategy
	}
	c.Demand = strategy == StrategyDemand
	if c.Window <= 0 && rule != nil {
		c.Window = rule.Window
	}
	if c.Window <= 0 {
		c.Window = DefaultWindow
	}
	if c.Utilisation == 0 && rule != nil && rule.Utilisation != nil {
		c.Utilisation = *rule.Utilisation
	}
	if c.Utilisation == 0 {
		c.Utilisation = DefaultUtilisation
	}
	return c
}

// unusable says why a demand signal cannot size the target; "" when it can.
func unusable(dm *Demand, from string) string {
	switch {
	case dm == nil && from == "":
		return "no demand signal was read (no from)"
	case dm == nil:
		return fmt.Sprintf("no demand signal was read for %s", from)
	case dm.Datapoints <= 0:
		return fmt.Sprintf("no ConcurrentExecutions datapoints for %s over the last %s", dm.Qualifier, FormatWindow(dm.Window))
	case math.IsNaN(dm.Peak) || math.IsInf(dm.Peak, 0) || dm.Peak < 0:
		return fmt.Sprintf("peak ConcurrentExecutions %v of %s is not a count", dm.Peak, dm.Qualifier)
	case dm.Peak == 0:
		return fmt.Sprintf("%s ran no executions over the last %s (%d datapoints)", dm.Qualifier, FormatWindow(dm.Window), dm.Datapoints)
	}
	return ""
}

// mirrorBase returns the value a mirror takes: From's requested value, or its auto scaling
// desired capacity when that is higher (fromAAS set).
func mirrorBase(in Input) (v int64, fromAAS bool) {
	if in.Mirror != nil && *in.Mirror > 0 {
		v = *in.Mirror
	}
	if a := in.AutoScalingDesired; a != nil && *a > v {
		return *a, true
	}
	return v, false
}

// divCeil returns ceil(peak ÷ u) for a finite peak ≥ 0 and u in (0, 1], saturating at the
// int64 range (Decide saturates the base further, saying so). Both are taken as their shortest decimals, so 7 ÷ 0.7 is 10, not 11.
func divCeil(peak, u float64) int64 {
	p, okP := new(big.Rat).SetString(strconv.FormatFloat(peak, 'g', -1, 64))
	q, okQ := new(big.Rat).SetString(strconv.FormatFloat(u, 'g', -1, 64))
	if !okP || !okQ || q.Sign() <= 0 {
		return 0
	}
	p.Quo(p, q)
	n, m := new(big.Int).QuoRem(p.Num(), p.Denom(), new(big.Int))
	if m.Sign() > 0 {
		n.Add(n, big.NewInt(1))
	}
	if !n.IsInt64() {
		return math.MaxInt64
	}
	return n.Int64()
}

// FormatWindow prints a window the way it is written: "24h", "90m" as "1h30m", "30m".
func FormatWindow(w time.Duration) string {
	s := w.String()
	if strings.HasSuffix(s, "m0s") {
		s = strings.TrimSuffix(s, "0s")
	}
	if strings.HasSuffix(s, "h0m") {
		s = strings.TrimSuffix(s, "0m")
	}
	return s
}
