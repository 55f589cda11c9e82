package lambdasim

import (
	"fmt"
	"net/http"
	"sort"
	"time"
)

// Provisioned-concurrency statuses as AWS spells them.
const (
	StatusInProgress = "IN_PROGRESS"
	StatusReady      = "READY"
	StatusFailed     = "FAILED"

	// ReasonInitFailure is the StatusReason of a configuration whose
	// version fails to initialise.
	ReasonInitFailure = "FUNCTION_ERROR_INIT_FAILURE"

	// lastModifiedLayout is how AWS formats the LastModified of a
	// provisioned-concurrency configuration: 2019-11-21T19:32:12+0000.
	lastModifiedLayout = "2006-01-02T15:04:05-0700"

	maxPCListItems = 50
)

// ProvisionedConcurrency is a snapshot of one configuration.
type ProvisionedConcurrency struct {
	FunctionName string
	// Qualifier is the alias or version the configuration is on.
	Qualifier string
	// Version is the version the qualifier resolves to now.
	Version      string
	Requested    int
	Allocated    int
	Available    int
	Status       string
	StatusReason string
	LastModified time.Time
}

// configJSON is the wire form of Put/Get responses and list items.
type configJSON struct {
	FunctionArn  string `json:"FunctionArn,omitempty"`
	Requested    int    `json:"RequestedProvisionedConcurrentExecutions"`
	Available    int    `json:"AvailableProvisionedConcurrentExecutions"`
	Allocated    int    `json:"AllocatedProvisionedConcurrentExecutions"`
	Status       string `json:"Status"`
	StatusReason string `json:"StatusReason,omitempty"`
	LastModified string `json:"LastModified"`
}

// snapshot computes the configuration's state at now: IN_PROGRESS until
// readyAt, then READY, or FAILED when the version it resolves to fails to
// initialise.
func (st *state) snapshot(f *function, qualifier string, p *provisioned, now time.Time) ProvisionedConcurrency {
	v := f.versionOf(qualifier)
	pc := ProvisionedConcurrency{
		FunctionName: f.name,
		Qualifier:    qualifier,
		Version:      v,
		Requested:    p.requested,
		Status:       StatusInProgress,
		LastModified: p.lastModified,
	}
	switch {
	case now.Before(p.readyAt):
		pc.Allocated, pc.Available = p.carried, p.carried
	case f.initFailure[v]:
		pc.Status, pc.StatusReason = StatusFailed, ReasonInitFailure
	default:
		pc.Status = StatusReady
		pc.Allocated, pc.Available = p.requested, p.requested
	}
	return pc
}

func (st *state) wire(pc ProvisionedConcurrency, withARN bool) configJSON {
	c := configJSON{
		Requested:    pc.Requested,
		Available:    pc.Available,
		Allocated:    pc.Allocated,
		Status:       pc.Status,
		StatusReason: pc.StatusReason,
		LastModified: pc.LastModified.UTC().Format(lastModifiedLayout),
	}
	if withARN {
		c.FunctionArn = st.qualifiedARN(pc.FunctionName, pc.Qualifier)
	}
	return c
}

// resolvePC checks that qualifier names an existing published version or
// alias of fn, answering with AWS's errors; latestMsg is the text for
// $LATEST, which differs between Put and Get/Delete.
func (st *state) resolvePC(fn, qualifier, latestMsg string) (*function, *Error) {
	if qualifier == "$LATEST" {
		return nil, errInvalidParameter(latestMsg)
	}
	f := st.functions[fn]
	if versionPattern.MatchString(qualifier) {
		if f == nil || !f.hasVersion(qualifier) {
			return nil, errNotFound("Function not found: " + st.qualifiedARN(fn, qualifier))
		}
		return f, nil
	}
	if f == nil || f.aliases[qualifier] == nil {
		return nil, errNotFound("Cannot find alias arn: " + st.qualifiedARN(fn, qualifier))
	}
	return f, nil
}

// checkPut applies AWS's rules for putting n on f's qualifier (already
// resolved): one configuration per version, no weighted aliases, no second
// Put while one is processing, and the reserved and account limits, where
// replacing a configuration counts only the difference.
func (st *state) checkPut(f *function, qualifier string, n int) *Error {
	now := st.clock.Now()
	if a := f.aliases[qualifier]; a != nil {
		if a.version == "$LATEST" {
			return errInvalidParameter(msgPutLatest)
		}
		if len(a.routingWeights(now)) > 0 {
			return errInvalidParameter(msgAliasWithWeights)
		}
		if f.pc[a.version] != nil || f.pcAliasOn(a.version, a.name) != "" {
			return errConflict(msgAliasOnProvVer)
		}
	} else if f.pcAliasOn(qualifier, "") != "" {
		return errConflict(msgVersionByPCAlias)
	}
	old := 0
	if p := f.pc[qualifier]; p != nil {
		old = p.requested
		if st.putConflictWindow > 0 && now.Before(p.readyAt) && now.Sub(p.lastModified) < st.putConflictWindow {
			return errConflict(msgPreviousRequest)
		}
	}
	if f.reserved != nil {
		if f.sumPC(qualifier)+n > *f.reserved {
			return errInvalidParameter(msgAboveReserved)
		}
		return nil
	}
	if delta := n - old; delta > 0 {
		u := st.unreserved()
		if delta > u {
			return errAccountLimit(fmt.Sprintf("Specified ConcurrentExecutions for function is greater than account's unreserved concurrency [%d].", u))
		}
		if u-delta < st.minUnreserved {
			return errAccountLimit(fmt.Sprintf("Specified ConcurrentExecutions for function decreases account's UnreservedConcurrentExecution below its minimum value of [%d].", st.minUnreserved))
		}
	}
	return nil
}

// pcAliasOn names an alias other than skip that has provisioned
// concurrency and points to version, or "".
func (f *function) pcAliasOn(version, skip string) string {
	for _, name := range sortedKeys(f.aliases) {
		a := f.aliases[name]
		if name != skip && a.version == version && f.pc[name] != nil {
			return name
		}
	}
	return ""
}

// put installs n on qualifier after checkPut; the configuration restarts
// IN_PROGRESS.
func (st *state) put(f *function, qualifier string, n int) ProvisionedConcurrency {
	now := st.clock.Now()
	p := &provisioned{requested: n, lastModified: now, readyAt: now.Add(st.readyAfter)}
	f.pc[qualifier] = p
	return st.snapshot(f, qualifier, p, now)
}

type putPCInput struct {
	ProvisionedConcurrentExecutions *int64
}

func (st *state) putProvisionedConcurrency(req *request) (int, any, *Error) {
	var in putPCInput
	if err := decodeBody(req.body, &in); err != nil {
		return 0, nil, err
	}
	fn, q, err := st.functionAndQualifier(req)
	if err != nil {
		return 0, nil, err
	}
	if in.ProvisionedConcurrentExecutions == nil {
		return 0, nil, errValidationf("Value null at 'provisionedConcurrentExecutions' failed to satisfy constraint: Member must not be null")
	}
	n := *in.ProvisionedConcurrentExecutions
	if n < 1 {
		return 0, nil, errValidationf("Value '%d' at 'provisionedConcurrentExecutions' failed to satisfy constraint: Member must have value greater than or equal to 1", n)
	}
	if n > maxInt32 {
		return 0, nil, errInvalidContent(fmt.Sprintf("Could not parse request body into json: Numeric value (%d) out of range of int", n))
	}
	f, err := st.resolvePC(fn, q, msgPutLatest)
	if err != nil {
		return 0, nil, err
	}
	if err := st.checkPut(f, q, int(n)); err != nil {
		return 0, nil, err
	}
	return http.StatusAccepted, st.wire(st.put(f, q, int(n)), false), nil
}

func (st *state) getProvisionedConcurrency(req *request) (int, any, *Error) {
	fn, q, err := st.functionAndQualifier(req)
	if err != nil {
		return 0, nil, err
	}
	f, err := st.resolvePC(fn, q, msgGetLatest)
	if err != nil {
		return 0, nil, err
	}
	p := f.pc[q]
	if p == nil {
		return 0, nil, errConfigNotFound()
	}
	return http.StatusOK, st.wire(st.snapshot(f, q, p, st.clock.Now()), false), nil
}

func (st *state) deleteProvisionedConcurrency(req *request) (int, any, *Error) {
	fn, q, err := st.functionAndQualifier(req)
	if err != nil {
		return 0, nil, err
	}
	f, err := st.resolvePC(fn, q, msgGetLatest)
	if err != nil {
		return 0, nil, err
	}
	if a := f.aliases[q]; a != nil && len(a.routingWeights(st.clock.Now())) > 0 {
		return 0, nil, errInvalidParameter(msgAliasWithWeights)
	}
	delete(f.pc, q)
	return http.StatusNoContent, nil, nil
}

type listPCOutput struct {
	ProvisionedConcurrencyConfigs []configJSON
	NextMarker                    string `json:",omitempty"`
}

func (st *state) listProvisionedConcurrency(req *request) (int, any, *Error) {
	fn, _, err := st.parseFunctionName(req.function)
	if err != nil {
		return 0, nil, err
	}
	maxItems, err := req.maxItems(maxPCListItems, maxPCListItems)
	if err != nil {
		return 0, nil, err
	}
	f := st.functions[fn]
	if f == nil {
		return 0, nil, errNotFound("Function not found: " + st.functionARN(fn))
	}
	keys := sortedQualifiers(f.pc)
	page, next := paginate(keys, req.query.Get("Marker"), maxItems, qualifierLess)
	now := st.clock.Now()
	out := listPCOutput{ProvisionedConcurrencyConfigs: []configJSON{}, NextMarker: next}
	for _, q := range page {
		out.ProvisionedConcurrencyConfigs = append(out.ProvisionedConcurrencyConfigs, st.wire(st.snapshot(f, q, f.pc[q], now), true))
	}
	return http.StatusOK, out, nil
}

// qualifierLess orders versions numerically before aliases by name.
func qualifierLess(a, b string) bool {
	va, vb := versionPattern.MatchString(a), versionPattern.MatchString(b)
	if va != vb {
		return va
	}
	if va {
		return versionLess(a, b)
	}
	return a < b
}

func sortedQualifiers[V any](m map[string]V) []string {
	keys := sortedKeys(m)
	sort.SliceStable(keys, func(i, j int) bool { return qualifierLess(keys[i], keys[j]) })
	return keys
}

// paginate returns up to max keys following marker (the last key of the
// previous page, which may since have been removed) and the marker of the
// next page, "" when there is none.
func paginate(keys []string, marker string, max int, less func(a, b string) bool) ([]string, string) {
	start := 0
	if marker != "" {
		start = sort.Search(len(keys), func(i int) bool { return less(marker, keys[i]) })
	}
	end := min(start+max, len(keys))
	page := keys[start:end]
	if end < len(keys) && len(page) > 0 {
		return page, page[len(page)-1]
	}
	return page, ""
}
