package config

import (
	"errors"
	"fmt"
	"strings"

	"github.com/prewarm/prewarm/intent"
)

// Allowlist is the parsed ALLOWED_FUNCTIONS: the functions prewarm may act on. The zero
// value allows nothing.
//
// Entries are comma-separated:
//
//	my-function                                              that function
//	team-*                                                   every function whose name starts with team-
//	*                                                        every function
//	123456789012:function:my-function                        that function by partial ARN
//	arn:aws:lambda:us-east-1:123456789012:function:my-function   that function by ARN
//	arn:aws:lambda:us-east-1:123456789012:function:team-*    a name prefix by ARN
//
// Name and prefix entries (and "*") allow functions in prewarm's own account and Region only;
// a function in another account, Region or partition needs an ARN entry.
type Allowlist struct {
	names    map[string]bool
	prefixes []string // "" for "*"
	arns     []arnEntry
	raw      []string
}

// arnEntry is one full or partial ARN entry; region and partition are "" for a partial ARN
// (which names prewarm's own Region).
type arnEntry struct {
	partition, region, account string
	name                       string
	prefix                     bool
}

// ParseAllowlist parses ALLOWED_FUNCTIONS. An empty list, an empty entry, a '*' anywhere but
// at the end of a name, and a qualified ARN are refused.
func ParseAllowlist(s string) (Allowlist, error) {
	a := Allowlist{names: make(map[string]bool)}
	if strings.TrimSpace(s) == "" {
		return Allowlist{}, errors.New("no functions listed")
	}
	for i, e := range strings.Split(s, ",") {
		e = strings.TrimSpace(e)
		if e == "" {
			return Allowlist{}, fmt.Errorf("entry %d is empty", i+1)
		}
		if err := a.add(e); err != nil {
			return Allowlist{}, fmt.Errorf("entry %q: %w", e, err)
		}
		a.raw = append(a.raw, e)
	}
	return a, nil
}

func (a *Allowlist) add(e string) error {
	body, prefix := strings.CutSuffix(e, "*")
	if strings.Contains(body, "*") {
		return errors.New("'*' is allowed only at the end")
	}
	if !strings.Contains(body, ":") {
		if body != "" {
			if err := checkName(body, prefix); err != nil {
				return err
			}
		}
		if prefix {
			a.prefixes = append(a.prefixes, body)
		} else {
			a.names[body] = true
		}
		return nil
	}
	// An ARN. A prefix pattern is parsed with a placeholder name appended.
	probe := body
	if prefix {
		probe += "x"
	}
	fn, qualifier, err := intent.ParseFunction(probe)
	if err != nil {
		return fmt.Errorf("not a function name, prefix or ARN: %w", err)
	}
	if qualifier != "" {
		return errors.New("an ARN with a qualifier: list functions, not aliases or versions")
	}
	if prefix {
		fn.Name = strings.TrimSuffix(fn.Name, "x")
	}
	a.arns = append(a.arns, arnEntry{partition: fn.Partition, region: fn.Region, account: fn.AccountID, name: fn.Name, prefix: prefix})
	return nil
}

// checkName checks a name or a prefix of one.
func checkName(s string, prefix bool) error {
	if len(s) > 64 {
		return errors.New("longer than a function name (64 characters)")
	}
	for i := 0; i < len(s); i++ {
		if !isNameByte(s[i]) {
			what := "a function name"
			if prefix {
				what = "a name prefix"
			}
			return fmt.Errorf("%s may contain only letters, digits, '-' and '_'", what)
		}
	}
	return nil
}

// isNameByte reports whether c may appear in a function name: [a-zA-Z0-9-_].
func isNameByte(c byte) bool {
	return c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '-' || c == '_'
}

// Allows reports whether fn may be acted on. account and region are prewarm's own (from the
// invoked function's ARN and AWS_REGION; "" when unknown). Name and prefix entries match a
// plain name, or an ARN in prewarm's own account and Region (and that Region's partition);
// ARN entries match the function they name wherever it is. When account or region is
// unknown, an ARN is allowed only by an ARN entry.
func (a Allowlist) Allows(fn intent.Function, account, region string) bool {
	// Where fn lives: a plain name and a partial ARN resolve in prewarm's own Region, a plain
	// name in its own account.
	fnAccount, fnRegion, fnPartition := fn.AccountID, fn.Region, fn.Partition
	if fnAccount == "" {
		fnAccount = account
	}
	ownRegion := fn.Region == "" || (region != "" && fn.Region == region && fn.Partition == intent.PartitionOf(region))
	if fnRegion == "" {
		fnRegion = region
		if region != "" {
			fnPartition = intent.PartitionOf(region)
		}
	}
	local := fn.AccountID == "" || (account != "" && fn.AccountID == account && ownRegion)
	if local && a.matchesName(fn.Name) {
		return true
	}
	if fnAccount == "" {
		return false
	}
	for _, e := range a.arns {
		if e.account != fnAccount {
			continue
		}
		if e.region != "" { // a full ARN entry names its Region
			if fnRegion == "" || e.region != fnRegion || e.partition != fnPartition {
				continue
			}
		} else if !ownRegion { // a partial ARN entry names prewarm's own Region
			continue
		}
		if e.name == fn.Name || (e.prefix && strings.HasPrefix(fn.Name, e.name)) {
			return true
		}
	}
	return false
}

func (a Allowlist) matchesName(name string) bool {
	if a.names[name] {
		return true
	}
	for _, p := range a.prefixes {
		if strings.HasPrefix(name, p) {
			return true
		}
	}
	return false
}

// Names returns the exact function names listed, sorted as given; with Prefixes it is what
// a reconcile pass expands with ListFunctions in prewarm's own account and Region.
func (a Allowlist) Names() []string {
	var out []string
	seen := make(map[string]bool)
	for _, e := range a.raw {
		if a.names[e] && !seen[e] {
			out = append(out, e)
			seen[e] = true
		}
	}
	return out
}

// Prefixes returns the name prefixes listed ("" for "*").
func (a Allowlist) Prefixes() []string {
	return append([]string(nil), a.prefixes...)
}

// ARNs returns the exact function ARNs (full or partial) listed, as given. Reconcile can
// address them directly; they are not found by ListFunctions in another account.
func (a Allowlist) ARNs() []string {
	var out []string
	for _, e := range a.arns {
		if e.prefix {
			continue
		}
		out = append(out, intent.Function{Name: e.name, Partition: e.partition, Region: e.region, AccountID: e.account}.String())
	}
	return out
}

// allowsAll reports whether the list contains "*".
func (a Allowlist) allowsAll() bool {
	for _, p := range a.prefixes {
		if p == "" {
			return true
		}
	}
	return false
}

// String returns the list as given, normalised to comma-separated entries.
func (a Allowlist) String() string { return strings.Join(a.raw, ",") }

// ListedPrefixes returns the name prefixes a ListFunctions in account and region expands: the
// prefix entries ("" for "*"), and the ARN prefix entries that name that account and region
// (or, for a partial ARN, that account).
func (a Allowlist) ListedPrefixes(account, region string) []string {
	out := a.Prefixes()
	for _, e := range a.arns {
		if e.prefix && account != "" && e.account == account && (e.region == "" || e.region == region) {
			out = append(out, e.name)
		}
	}
	return out
}
