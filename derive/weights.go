package derive

import (
	"fmt"
	"sort"
	"strings"
	"time"
)

// DefaultWeightsGrace is how long after its provisioned concurrency went FAILED an alias may
// keep routing weights before reconcile reports them: AWS adds weights for seconds while it
// re-points an alias, so only weights that outlast that are a deployment's leftovers.
const DefaultWeightsGrace = 5 * time.Minute

// LeftBehind describes routing weights left on an alias after its provisioned concurrency
// FAILED, which is what a failed initialisation leaves under SAM's alias provisioned
// concurrency: every later deploy fails until the weights are cleared.
type LeftBehind struct {
	// Function and Alias name the alias.
	Function, Alias string
	// Weights are the alias's AdditionalVersionWeights.
	Weights map[string]float64
	// Since is how long ago the provisioned concurrency went FAILED.
	Since time.Duration
	// Reason is a sentence for the reconcile result.
	Reason string
	// Command is the AWS CLI command that clears the weights.
	Command string
}

// WeightsLeftBehind reports weights left behind on fn:alias: the alias has routing weights,
// its provisioned concurrency is FAILED, and it went FAILED (lastModified) at least grace
// before now (DefaultWeightsGrace when grace ≤ 0). It is false for every other alias,
// including one whose weights may still be AWS's own, mid-update.
func WeightsLeftBehind(fn, alias string, weights map[string]float64, pc State, lastModified, now time.Time, grace time.Duration) (LeftBehind, bool) {
	if grace <= 0 {
		grace = DefaultWeightsGrace
	}
	if len(weights) == 0 || pc.Status != StatusFailed || lastModified.IsZero() {
		return LeftBehind{}, false
	}
	since := now.Sub(lastModified)
	if since < grace {
		return LeftBehind{}, false
	}
	versions := make([]string, 0, len(weights))
	for v := range weights {
		versions = append(versions, v)
	}
	sort.Strings(versions)
	shares := make([]string, len(versions))
	for i, v := range versions {
		shares[i] = fmt.Sprintf("version %s at %v", v, weights[v])
	}
	lb := LeftBehind{
		Function: fn,
		Alias:    alias,
		Weights:  weights,
		Since:    since,
		Command:  ClearWeightsCommand(fn, alias),
	}
	lb.Reason = fmt.Sprintf("%s:%s still routes to %s %s after its provisioned concurrency went FAILED: clear the weights with %s",
		fn, alias, strings.Join(shares, ", "), since.Truncate(time.Second), lb.Command)
	return lb, true
}

// ParseLastModified reads the LastModified of a provisioned concurrency configuration as AWS
// writes it ("2019-11-21T19:32:12+0000", also with milliseconds or in RFC 3339); false when it
// is none of these.
func ParseLastModified(s string) (time.Time, bool) {
	for _, layout := range []string{"2006-01-02T15:04:05-0700", "2006-01-02T15:04:05.000-0700", time.RFC3339Nano} {
		if t, err := time.Parse(layout, s); err == nil {
			return t, true
		}
	}
	return time.Time{}, false
}

// ClearWeightsCommand returns the AWS CLI command that removes fn:alias's routing weights.
func ClearWeightsCommand(fn, alias string) string {
	return fmt.Sprintf("aws lambda update-alias --function-name %s --name %s --routing-config '{}'", shellWord(fn), shellWord(alias))
}

// shellWord quotes s for a POSIX shell unless it is made of characters a function name, an
// ARN or an alias may contain.
func shellWord(s string) string {
	if plainWord(s) {
		return s
	}
	return "'" + strings.ReplaceAll(s, "'", `'\''`) + "'"
}

// plainWord reports whether s is non-empty and made of ASCII letters, digits and _ : . -, the
// characters a shell takes literally (the pattern ^[A-Za-z0-9_:.-]+$).
func plainWord(s string) bool {
	for i := 0; i < len(s); i++ {
		switch c := s[i]; {
		case 'a' <= c && c <= 'z', 'A' <= c && c <= 'Z', '0' <= c && c <= '9', c == '_', c == ':', c == '.', c == '-':
		default:
			return false
		}
	}
	return s != ""
}
