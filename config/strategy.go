package config

import (
	"bytes"
	"encoding/json"
	"fmt"
	"strconv"

	"github.com/prewarm/prewarm/derive"
	"github.com/prewarm/prewarm/intent"
)

// parseStrategyKey parses a rule's strategy, window, utilisation or clearWeights into r; done reports
// whether k was one of them.
func parseStrategyKey(r *derive.Rule, k string, raw json.RawMessage) (done bool, err error) {
	switch k {
	case "strategy":
		var s string
		if json.Unmarshal(raw, &s) != nil {
			return true, fmt.Errorf("strategy must be %q or %q, got %s", intent.StrategyDemand, intent.StrategyMirror, clipValue(string(raw)))
		}
		if s != intent.StrategyDemand && s != intent.StrategyMirror {
			return true, fmt.Errorf("strategy must be %q or %q, got %q", intent.StrategyDemand, intent.StrategyMirror, s)
		}
		r.Strategy = s
	case "window":
		var s string
		if json.Unmarshal(raw, &s) != nil {
			return true, fmt.Errorf("window must be a duration like \"24h\", got %s", clipValue(string(raw)))
		}
		w, err := intent.ParseWindow(s)
		if err != nil {
			return true, err
		}
		r.Window = w
	case "utilisation":
		v := string(bytes.TrimSpace(raw))
		u, err := strconv.ParseFloat(v, 64)
		if v == "" || v[0] != '-' && (v[0] < '0' || v[0] > '9') || err != nil || !(u > 0 && u <= 1) {
			return true, fmt.Errorf("utilisation must be a number in (0, 1], got %s", clipValue(v))
		}
		r.Utilisation = &u
	case "clearWeights":
		var b bool
		if json.Unmarshal(raw, &b) != nil {
			return true, fmt.Errorf("clearWeights must be true or false, got %s", clipValue(string(raw)))
		}
		r.ClearWeights = b
	default:
		return false, nil
	}
	return true, nil
}
