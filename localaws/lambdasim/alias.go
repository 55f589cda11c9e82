package lambdasim

import (
	"fmt"
	"maps"
	"net/http"
	"time"
)

const (
	maxAliasListItems = 10000
	defaultListItems  = 50
	// movingWeight is the weight shown for the old version while AWS moves
	// provisioned concurrency to a re-pointed alias's new version.
	movingWeight = 0.5
)

// routingWeights is the alias's AdditionalVersionWeights at now: the ones
// set through UpdateAlias, or the transient ones of a move.
func (a *alias) routingWeights(now time.Time) map[string]float64 {
	if len(a.weights) > 0 {
		return a.weights
	}
	if a.movingFrom != "" && now.Before(a.movingUntil) {
		return map[string]float64{a.movingFrom: movingWeight}
	}
	return nil
}

type routingJSON struct {
	AdditionalVersionWeights map[string]float64 `json:",omitempty"`
}

type aliasJSON struct {
	AliasArn        string
	Name            string
	FunctionVersion string
	Description     string
	RoutingConfig   *routingJSON `json:",omitempty"`
	RevisionId      string
}

// aliasWire is the alias as GetAlias and ListAliases show it, with the
// transient weights of a move while they last.
func (st *state) aliasWire(f *function, a *alias, now time.Time) aliasJSON {
	out := aliasJSON{
		AliasArn:        st.qualifiedARN(f.name, a.name),
		Name:            a.name,
		FunctionVersion: a.version,
		Description:     a.description,
		RevisionId:      a.revisionID,
	}
	if w := a.routingWeights(now); len(w) > 0 {
		out.RoutingConfig = &routingJSON{AdditionalVersionWeights: maps.Clone(w)}
	}
	return out
}

// lookupAlias finds fn's alias, answering as AWS does when either is
// missing.
func (st *state) lookupAlias(label, name string) (*function, *alias, *Error) {
	f, err := st.lookupFunction(label)
	if err != nil {
		return nil, nil, err
	}
	a := f.aliases[name]
	if a == nil {
		return nil, nil, errNotFound("Cannot find alias arn: " + st.qualifiedARN(f.name, name))
	}
	return f, a, nil
}

func (st *state) getAlias(req *request) (int, any, *Error) {
	f, a, err := st.lookupAlias(req.function, req.alias)
	if err != nil {
		return 0, nil, err
	}
	return http.StatusOK, st.aliasWire(f, a, st.clock.Now()), nil
}

type listAliasesOutput struct {
	Aliases    []aliasJSON
	NextMarker string `json:",omitempty"`
}

func (st *state) listAliases(req *request) (int, any, *Error) {
	f, err := st.lookupFunction(req.function)
	if err != nil {
		return 0, nil, err
	}
	maxItems, err := req.maxItems(defaultListItems, maxAliasListItems)
	if err != nil {
		return 0, nil, err
	}
	version := req.query.Get("FunctionVersion")
	var names []string
	for _, name := range sortedKeys(f.aliases) {
		if version == "" || f.aliases[name].version == version {
			names = append(names, name)
		}
	}
	page, next := paginate(names, req.query.Get("Marker"), maxItems, func(a, b string) bool { return a < b })
	now := st.clock.Now()
	out := listAliasesOutput{Aliases: []aliasJSON{}, NextMarker: next}
	for _, name := range page {
		out.Aliases = append(out.Aliases, st.aliasWire(f, f.aliases[name], now))
	}
	return http.StatusOK, out, nil
}

type updateAliasInput struct {
	FunctionVersion *string
	Description     *string
	RoutingConfig   *routingJSON
	RevisionId      *string
}

func (st *state) updateAlias(req *request) (int, any, *Error) {
	var in updateAliasInput
	if err := decodeBody(req.body, &in); err != nil {
		return 0, nil, err
	}
	f, err := st.lookupFunction(req.function)
	if err != nil {
		return 0, nil, err
	}
	a := f.aliases[req.alias]
	if a == nil {
		return 0, nil, errNotFound("Alias not found: " + st.qualifiedARN(f.name, req.alias))
	}
	if in.RevisionId != nil && *in.RevisionId != a.revisionID {
		return 0, nil, errPreconditionFailed(msgRevisionMismatch)
	}
	version := a.version
	if in.FunctionVersion != nil {
		version = *in.FunctionVersion
	}
	var weights map[string]float64
	if in.RoutingConfig != nil {
		weights = in.RoutingConfig.AdditionalVersionWeights
	}
	if err := st.repoint(f, a, version, weights, in.RoutingConfig != nil); err != nil {
		return 0, nil, err
	}
	if in.Description != nil {
		a.description = *in.Description
	}
	// AWS's UpdateAlias answer shows only the weights the caller set, not
	// the transient ones of a provisioned-concurrency move (GetAlias does).
	out := st.aliasWire(f, a, st.clock.Now())
	out.RoutingConfig = nil
	if len(a.weights) > 0 {
		out.RoutingConfig = &routingJSON{AdditionalVersionWeights: maps.Clone(a.weights)}
	}
	return http.StatusOK, out, nil
}

// repoint moves alias a to version and, when setWeights, replaces its
// routing weights. An alias with provisioned concurrency takes its
// configuration along: it restarts IN_PROGRESS on the new version and, for
// the weights window, the alias shows the transient routing weights AWS
// adds during the move. As on AWS, an alias with provisioned concurrency
// takes routing weights (CodeDeploy's traffic shifting): the configuration
// is left as it is and keeps serving the alias's version, and only
// Put/Delete of provisioned concurrency on the alias are refused while the
// weights are in place (checkPut, deleteProvisionedConcurrency).
func (st *state) repoint(f *function, a *alias, version string, weights map[string]float64, setWeights bool) *Error {
	if version != "$LATEST" && !f.hasVersion(version) {
		return errNotFound("Function not found: " + st.qualifiedARN(f.name, version))
	}
	for v, w := range weights {
		if !f.hasVersion(v) {
			return errNotFound("Function not found: " + st.qualifiedARN(f.name, v))
		}
		if w < 0 || w > 1 {
			return errValidationf("Value '%v' at 'routingConfig.additionalVersionWeights' failed to satisfy constraint: Member must have value between 0.0 and 1.0", w)
		}
		if v == version {
			return errInvalidParameter(fmt.Sprintf("Invalid function version %s. Function version %s is already included in routing configuration.", v, v))
		}
	}
	p := f.pc[a.name]
	now := st.clock.Now()
	if p != nil && version != a.version {
		if version == "$LATEST" {
			return errInvalidParameter(msgPutLatest)
		}
		if f.pc[version] != nil || f.pcAliasOn(version, a.name) != "" {
			return errConflict(msgAliasOnProvVer)
		}
	}
	if version != a.version {
		if p != nil {
			p.carried = st.snapshot(f, a.name, p, now).Allocated
			p.lastModified, p.readyAt = now, now.Add(f.readyAfter)
			if st.weightsWindow > 0 {
				a.movingFrom, a.movingUntil = a.version, now.Add(st.weightsWindow)
			}
		}
		a.version = version
	}
	if setWeights {
		a.weights = maps.Clone(weights)
	}
	a.revisionID = st.nextRevisionID()
	return nil
}
