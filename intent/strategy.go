package intent

import (
	"errors"
	"fmt"
	"math"
	"strings"
	"time"
)

// Strategies an intent may choose.
const (
	// StrategyDemand sizes the target from what the outgoing qualifier ran: the peak of
	// ConcurrentExecutions over Window divided by Utilisation.
	StrategyDemand = "demand"
	// StrategyMirror copies the outgoing qualifier's value; it overrides a policy's demand.
	StrategyMirror = "mirror"
)

// Bounds of a demand window: CloudWatch keeps 1-minute datapoints for 15 days, and one
// datapoint is the least a peak can be read from.
const (
	MinWindow = time.Minute
	MaxWindow = 15 * 24 * time.Hour
)

// ParseWindow parses a demand window written as a Go duration ("24h", "90m"), in whole
// minutes within MinWindow..MaxWindow.
func ParseWindow(s string) (time.Duration, error) {
	w, err := time.ParseDuration(strings.TrimSpace(s))
	switch {
	case err != nil:
		return 0, fmt.Errorf("window %s is not a duration like \"24h\" or \"90m\"", quote(clip(s)))
	case w < MinWindow || w > MaxWindow:
		return 0, fmt.Errorf("window %s is outside %s..%s", quote(clip(s)), formatWindow(MinWindow), formatWindow(MaxWindow))
	case w%time.Minute != 0:
		return 0, fmt.Errorf("window %s is not a whole number of minutes", quote(clip(s)))
	}
	return w, nil
}

// formatWindow prints a window so that ParseWindow reads it back: "24h", "1h30m"; "" for 0.
func formatWindow(w time.Duration) string {
	if w == 0 {
		return ""
	}
	s := w.String()
	if strings.HasSuffix(s, "m0s") {
		s = strings.TrimSuffix(s, "0s")
	}
	if strings.HasSuffix(s, "h0m") {
		s = strings.TrimSuffix(s, "0m")
	}
	return s
}

// validateStrategy checks the strategy fields of an intent.
func (i Intent) validateStrategy() error {
	switch i.Strategy {
	case "", StrategyDemand, StrategyMirror:
	default:
		return fmt.Errorf("strategy must be %q or %q, got %s", StrategyDemand, StrategyMirror, quote(clip(i.Strategy)))
	}
	if i.Strategy != "" && i.Concurrency != nil {
		return fmt.Errorf("strategy %s and concurrency are both given: an explicit concurrency is used as given", i.Strategy)
	}
	if i.Window != 0 && (i.Window < MinWindow || i.Window > MaxWindow || i.Window%time.Minute != 0) {
		return fmt.Errorf("window %s is not whole minutes within %s..%s", i.Window, formatWindow(MinWindow), formatWindow(MaxWindow))
	}
	if u := i.Utilisation; u != 0 && (math.IsNaN(u) || u <= 0 || u > 1) {
		return fmt.Errorf("utilisation %v is not a number in (0, 1]", u)
	}
	if i.Strategy == StrategyMirror && (i.Window != 0 || i.Utilisation != 0) {
		return errors.New("window and utilisation size the demand strategy, but strategy is mirror")
	}
	return nil
}

// strategy decodes the strategy, window and utilisation fields into in.
func (d *decoder) strategy(o object, in *Intent) *Rejection {
	s, ok, err := o.str("strategy")
	if err != nil {
		return d.reject("%v", err)
	}
	if ok {
		in.Strategy = s
		if s == "" {
			return d.reject("strategy is empty (want %q or %q)", StrategyDemand, StrategyMirror)
		}
	}
	w, ok, err := o.str("window")
	if err != nil {
		return d.reject("%v", err)
	}
	if ok {
		if in.Window, err = ParseWindow(w); err != nil {
			return d.reject("%v", err)
		}
	}
	if raw, ok := o["utilisation"]; ok && !isNull(raw) {
		if in.Utilisation, err = positiveFloat("utilisation", raw); err != nil {
			return d.reject("%v", err)
		}
		if in.Utilisation > 1 {
			return d.reject("utilisation must be at most 1, got %v", in.Utilisation)
		}
	}
	if err := in.validateStrategy(); err != nil {
		return d.reject("%v", err)
	}
	return nil
}
