// Package lambdasim emulates the part of the AWS Lambda control plane that
// prewarm uses: provisioned concurrency configurations with their
// IN_PROGRESS → READY/FAILED state machine, reserved and account concurrency
// with AWS's limits, aliases (including the transient routing weights AWS
// shows while it moves provisioned concurrency to a re-pointed alias's new
// version) and function listing. It speaks REST-JSON over HTTP exactly like
// the real endpoint, so the real aws-sdk-go-v2 lambda client and the AWS CLI
// work against it, with the paths, status codes and error texts AWS uses.
//
// All time-dependent behaviour reads the injected clock, so tests drive the
// state machine with clock.Fake instead of sleeping.
package lambdasim

import (
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"regexp"
	"slices"
	"sort"
	"strconv"
	"sync"
	"time"

	"github.com/prewarm/prewarm/localaws/clock"
)

// Config seeds the emulated account.
type Config struct {
	AccountID, Region string
	// ConcurrentExecutions is the account's concurrency limit; 1000 when 0.
	ConcurrentExecutions int
	// MinimumUnreserved is the concurrency that must stay unreserved; 100
	// when 0.
	MinimumUnreserved int
	// ReadyAfter is how long a configuration stays IN_PROGRESS before it
	// turns READY or FAILED.
	ReadyAfter time.Duration
	// AliasWeightsWindow is how long an alias with provisioned concurrency
	// shows routing weights after UpdateAlias re-points it; while they show,
	// provisioned-concurrency writes on the alias fail. ReadyAfter/2 when 0;
	// negative turns the window off.
	AliasWeightsWindow time.Duration
	// PutConflictWindow is how soon after a Put a second Put on the same
	// qualifier, still IN_PROGRESS, fails with "A previous request is being
	// processed". 0 turns the check off.
	PutConflictWindow time.Duration
	Functions         []Function
	// Clock drives every transition; clock.Real{} when nil.
	Clock clock.Clock
	// HTTPClient forwards Invoke to the functions' invoke URLs;
	// http.DefaultClient when nil.
	HTTPClient *http.Client
}

// Function is one function of the emulated account.
type Function struct {
	Name                string            `json:"name"`
	Versions            []string          `json:"versions"`
	Aliases             map[string]string `json:"aliases"`
	ReservedConcurrency *int              `json:"reservedConcurrency"`
	// InitFailureVersions lists the versions whose initialisation fails:
	// provisioned concurrency on them (or on an alias pointing to them)
	// ends FAILED with FUNCTION_ERROR_INIT_FAILURE.
	InitFailureVersions []string `json:"initFailureVersions"`
	// ProvisionedConcurrency seeds READY configurations, qualifier → value.
	ProvisionedConcurrency map[string]int `json:"provisionedConcurrency,omitempty"`
	// InvokeURL is where Invoke is forwarded: an HTTP endpoint that runs
	// the function, such as the Runtime Interface Emulator's
	// http://127.0.0.1:8080/2015-03-31/functions/function/invocations.
	// Without one, Invoke answers ResourceNotReadyException.
	InvokeURL string `json:"invokeURL,omitempty"`
}

const (
	defaultConcurrentExecutions = 1000
	defaultMinimumUnreserved    = 100
	maxFunctionNameLen          = 64
)

var (
	namePattern    = regexp.MustCompile(`^[a-zA-Z0-9_-]+$`)
	versionPattern = regexp.MustCompile(`^[0-9]+$`)
)

// Validate reports the first inconsistency in c: names AWS would not
// accept, aliases pointing to unknown versions, duplicate functions,
// reservations or seeded provisioned concurrency that break the account
// limits.
func (c Config) Validate() error {
	s := newState(c)
	seen := map[string]bool{}
	for _, f := range c.Functions {
		if len(f.Name) == 0 || len(f.Name) > maxFunctionNameLen || !namePattern.MatchString(f.Name) {
			return fmt.Errorf("function %q: name must be 1-%d characters of [a-zA-Z0-9-_]", f.Name, maxFunctionNameLen)
		}
		if seen[f.Name] {
			return fmt.Errorf("function %q: listed twice", f.Name)
		}
		seen[f.Name] = true
		for _, v := range f.Versions {
			if !versionPattern.MatchString(v) {
				return fmt.Errorf("function %q: version %q is not a published version number", f.Name, v)
			}
		}
		for a, v := range f.Aliases {
			if !validAliasName(a) {
				return fmt.Errorf("function %q: alias %q must be 1-128 characters of [a-zA-Z0-9-_], not all digits", f.Name, a)
			}
			if !slices.Contains(f.Versions, v) {
				return fmt.Errorf("function %q: alias %s points to unknown version %q", f.Name, a, v)
			}
		}
		for _, v := range f.InitFailureVersions {
			if !slices.Contains(f.Versions, v) {
				return fmt.Errorf("function %q: init failure version %q is not a listed version", f.Name, v)
			}
		}
		if f.InvokeURL != "" {
			if u, err := url.Parse(f.InvokeURL); err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
				return fmt.Errorf("function %q: invokeURL %q is not an http(s) URL", f.Name, f.InvokeURL)
			}
		}
		if r := f.ReservedConcurrency; r != nil && *r < 0 {
			return fmt.Errorf("function %q: reserved concurrency %d is negative", f.Name, *r)
		}
	}
	if u := s.unreserved(); u < s.minUnreserved {
		return fmt.Errorf("reserved concurrency leaves %d unreserved, below the minimum of %d", u, s.minUnreserved)
	}
	for _, f := range c.Functions {
		for _, q := range sortedKeys(f.ProvisionedConcurrency) {
			if err := s.seed(f.Name, q, f.ProvisionedConcurrency[q]); err != nil {
				return fmt.Errorf("function %q: provisioned concurrency on %s: %w", f.Name, q, err)
			}
		}
	}
	return nil
}

// Service is the emulated Lambda control plane. It is safe for concurrent
// use.
type Service struct {
	mu     sync.Mutex
	st     *state
	client *http.Client
}

// New returns the control plane seeded from cfg. Seeds that Validate would
// reject are skipped; call Validate first to report them.
func New(cfg Config) *Service {
	st := newState(cfg)
	for _, f := range cfg.Functions {
		for _, q := range sortedKeys(f.ProvisionedConcurrency) {
			_ = st.seed(f.Name, q, f.ProvisionedConcurrency[q])
		}
	}
	client := cfg.HTTPClient
	if client == nil {
		client = http.DefaultClient
	}
	return &Service{st: st, client: client}
}

// state is the account; every method expects Service.mu held.
type state struct {
	accountID, region    string
	concurrentExecutions int
	minUnreserved        int
	readyAfter           time.Duration
	weightsWindow        time.Duration
	putConflictWindow    time.Duration
	clock                clock.Clock
	created              time.Time
	functions            map[string]*function
}

type function struct {
	name        string
	versions    []string
	aliases     map[string]*alias
	reserved    *int
	initFailure map[string]bool
	invokeURL   string
	// pc holds the provisioned-concurrency configurations by qualifier
	// (alias name or version number).
	pc map[string]*provisioned
}

type alias struct {
	name, version, description string
	weights                    map[string]float64
	revisionID                 string
	// movingFrom and movingUntil describe the routing weights AWS shows
	// while it moves provisioned concurrency to the alias's new version.
	movingFrom  string
	movingUntil time.Time
}

type provisioned struct {
	requested    int
	lastModified time.Time
	readyAt      time.Time
	// carried is the allocation a configuration that moved with its alias
	// keeps reporting (Allocated and Available) while the new version is
	// provisioned, as AWS does.
	carried int
}

func newState(cfg Config) *state {
	st := &state{
		accountID:            cfg.AccountID,
		region:               cfg.Region,
		concurrentExecutions: cfg.ConcurrentExecutions,
		minUnreserved:        cfg.MinimumUnreserved,
		readyAfter:           cfg.ReadyAfter,
		weightsWindow:        cfg.AliasWeightsWindow,
		putConflictWindow:    cfg.PutConflictWindow,
		clock:                cfg.Clock,
		functions:            map[string]*function{},
	}
	if st.accountID == "" {
		st.accountID = "123456789012"
	}
	if st.region == "" {
		st.region = "us-east-1"
	}
	if st.concurrentExecutions == 0 {
		st.concurrentExecutions = defaultConcurrentExecutions
	}
	if st.minUnreserved == 0 {
		st.minUnreserved = defaultMinimumUnreserved
	}
	if st.weightsWindow == 0 {
		st.weightsWindow = st.readyAfter / 2
	}
	if st.clock == nil {
		st.clock = clock.Real{}
	}
	st.created = st.clock.Now()
	for _, fc := range cfg.Functions {
		f := &function{
			name:        fc.Name,
			versions:    slices.Clone(fc.Versions),
			aliases:     map[string]*alias{},
			initFailure: map[string]bool{},
			invokeURL:   fc.InvokeURL,
			pc:          map[string]*provisioned{},
		}
		sort.Slice(f.versions, func(i, j int) bool { return versionLess(f.versions[i], f.versions[j]) })
		f.versions = slices.Compact(f.versions)
		if fc.ReservedConcurrency != nil {
			r := *fc.ReservedConcurrency
			f.reserved = &r
		}
		for _, v := range fc.InitFailureVersions {
			f.initFailure[v] = true
		}
		for name, v := range fc.Aliases {
			f.aliases[name] = &alias{name: name, version: v, revisionID: st.nextRevisionID()}
		}
		st.functions[f.name] = f
	}
	return st
}

// seed installs a READY configuration, checked like a Put.
func (st *state) seed(fn, qualifier string, n int) error {
	f := st.functions[fn]
	if f == nil {
		return errors.New("unknown function")
	}
	if n < 1 {
		return fmt.Errorf("value %d is below 1", n)
	}
	if _, err := st.resolvePC(fn, qualifier, msgPutLatest); err != nil {
		return err
	}
	if err := st.checkPut(f, qualifier, n); err != nil {
		return err
	}
	now := st.clock.Now()
	f.pc[qualifier] = &provisioned{requested: n, lastModified: now, readyAt: now}
	return nil
}

// nextRevisionID returns a fresh alias RevisionId.
func (st *state) nextRevisionID() string { return newRequestID() }

// functionARN is the unqualified ARN of fn.
func (st *state) functionARN(fn string) string {
	return fmt.Sprintf("arn:aws:lambda:%s:%s:function:%s", st.region, st.accountID, fn)
}

// qualifiedARN is the ARN of fn's version or alias.
func (st *state) qualifiedARN(fn, qualifier string) string {
	return st.functionARN(fn) + ":" + qualifier
}

// unreserved is ConcurrentExecutions − Σ reserved − Σ PC of functions
// without a reservation.
func (st *state) unreserved() int {
	u := st.concurrentExecutions
	for _, f := range st.functions {
		if f.reserved != nil {
			u -= *f.reserved
			continue
		}
		for _, p := range f.pc {
			u -= p.requested
		}
	}
	return u
}

// sumPC is the requested provisioned concurrency of f, leaving out the
// configuration on skip.
func (f *function) sumPC(skip string) int {
	n := 0
	for q, p := range f.pc {
		if q != skip {
			n += p.requested
		}
	}
	return n
}

func (f *function) hasVersion(v string) bool { return slices.Contains(f.versions, v) }

// versionOf resolves a qualifier (alias or version) to a version number.
func (f *function) versionOf(qualifier string) string {
	if a := f.aliases[qualifier]; a != nil {
		return a.version
	}
	return qualifier
}

func validAliasName(name string) bool {
	return len(name) >= 1 && len(name) <= 128 && namePattern.MatchString(name) && !versionPattern.MatchString(name)
}

func versionLess(a, b string) bool {
	x, errX := strconv.ParseUint(a, 10, 64)
	y, errY := strconv.ParseUint(b, 10, 64)
	if errX == nil && errY == nil {
		return x < y
	}
	return a < b
}

func sortedKeys[V any](m map[string]V) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	return keys
}
