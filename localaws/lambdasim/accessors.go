package lambdasim

import (
	"fmt"
	"maps"
)

// Go-level access for tests: read the state a client cannot see directly,
// and arrange situations (reservations, failing versions, re-pointed
// aliases) without going through HTTP. Errors that AWS would answer are
// *Error with AWS's code and message.

// Config returns the provisioned-concurrency configuration on function's
// qualifier (alias or version) as it stands now, and false when there is
// none.
func (s *Service) Config(function, qualifier string) (ProvisionedConcurrency, bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	f := s.st.functions[function]
	if f == nil || f.pc[qualifier] == nil {
		return ProvisionedConcurrency{}, false
	}
	return s.st.snapshot(f, qualifier, f.pc[qualifier], s.st.clock.Now()), true
}

// Configs returns every configuration of the account, by function name and
// then qualifier (versions before aliases).
func (s *Service) Configs() []ProvisionedConcurrency {
	s.mu.Lock()
	defer s.mu.Unlock()
	now := s.st.clock.Now()
	var out []ProvisionedConcurrency
	for _, name := range sortedKeys(s.st.functions) {
		f := s.st.functions[name]
		for _, q := range sortedQualifiers(f.pc) {
			out = append(out, s.st.snapshot(f, q, f.pc[q], now))
		}
	}
	return out
}

// PutProvisionedConcurrency does what the API operation does, with the same
// checks, and returns the new configuration (IN_PROGRESS).
func (s *Service) PutProvisionedConcurrency(function, qualifier string, n int) (ProvisionedConcurrency, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if n < 1 {
		return ProvisionedConcurrency{}, errValidationf("Value '%d' at 'provisionedConcurrentExecutions' failed to satisfy constraint: Member must have value greater than or equal to 1", n)
	}
	f, err := s.st.resolvePC(function, qualifier, msgPutLatest)
	if err != nil {
		return ProvisionedConcurrency{}, err
	}
	if err := s.st.checkPut(f, qualifier, n); err != nil {
		return ProvisionedConcurrency{}, err
	}
	return s.st.put(f, qualifier, n), nil
}

// SetReservedConcurrency sets (nil: removes) function's reserved
// concurrency without AWS's checks, so tests can build any account state.
func (s *Service) SetReservedConcurrency(function string, n *int) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	f := s.st.functions[function]
	if f == nil {
		return errNotFound("Function not found: " + s.st.functionARN(function))
	}
	if n == nil {
		f.reserved = nil
		return nil
	}
	r := *n
	f.reserved = &r
	return nil
}

// ReservedConcurrency returns function's reserved concurrency, nil when none
// is set or the function does not exist.
func (s *Service) ReservedConcurrency(function string) *int {
	s.mu.Lock()
	defer s.mu.Unlock()
	f := s.st.functions[function]
	if f == nil || f.reserved == nil {
		return nil
	}
	r := *f.reserved
	return &r
}

// UnreservedConcurrency is the account's UnreservedConcurrentExecutions.
func (s *Service) UnreservedConcurrency() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.st.unreserved()
}

// UpdateAlias re-points function's alias to version as the UpdateAlias
// operation does: provisioned concurrency on the alias moves along and
// restarts IN_PROGRESS, and the transient routing weights show for the
// weights window.
func (s *Service) UpdateAlias(function, alias, version string) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	f, a, err := s.st.lookupAlias(function, alias)
	if err != nil {
		return err
	}
	if err := s.st.repoint(f, a, version, nil, false); err != nil {
		return err
	}
	return nil
}

// RouteAlias points function's alias at version with routing weights (nil: none) as
// UpdateAlias with a RoutingConfig does, with the same checks: a CodeDeploy traffic shift.
// As on AWS, an alias that holds provisioned concurrency takes the weights and its
// configuration is left as it is; Put and Delete of provisioned concurrency on the alias
// are refused until the weights are cleared.
func (s *Service) RouteAlias(function, alias, version string, weights map[string]float64) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	f, a, err := s.st.lookupAlias(function, alias)
	if err != nil {
		return err
	}
	if err := s.st.repoint(f, a, version, weights, true); err != nil {
		return err
	}
	return nil
}

// Alias returns the version function's alias points to and the routing
// weights it shows now, and false when either does not exist.
func (s *Service) Alias(function, alias string) (version string, weights map[string]float64, ok bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	f := s.st.functions[function]
	if f == nil || f.aliases[alias] == nil {
		return "", nil, false
	}
	a := f.aliases[alias]
	return a.version, maps.Clone(a.routingWeights(s.st.clock.Now())), true
}

// SetInitFailure makes function's version fail (or stop failing) to
// initialise. It applies to configurations as they are next read, so a
// READY configuration on that version reads FAILED afterwards.
func (s *Service) SetInitFailure(function, version string, failing bool) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	f := s.st.functions[function]
	if f == nil || !f.hasVersion(version) {
		return errNotFound("Function not found: " + s.st.qualifiedARN(function, version))
	}
	if failing {
		f.initFailure[version] = true
	} else {
		delete(f.initFailure, version)
	}
	return nil
}

// FunctionARN is the ARN of function in the emulated account and Region,
// with ":qualifier" appended when qualifier is not empty.
func (s *Service) FunctionARN(function, qualifier string) string {
	s.mu.Lock()
	defer s.mu.Unlock()
	if qualifier == "" {
		return s.st.functionARN(function)
	}
	return fmt.Sprintf("%s:%s", s.st.functionARN(function), qualifier)
}
