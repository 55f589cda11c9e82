// Package localaws is a local AWS emulator for prewarm: the Lambda control
// plane (lambdasim) and SQS (sqssim) behind one HTTP port, like LocalStack,
// seeded from a World file, with injectable faults (latency, throttling,
// 5xx, connection resets) by service and operation, Lambda's 15
// requests/s control-plane quota, and per-operation statistics at
// GET /_localaws/stats. Any SigV4 credentials are accepted; the Region of
// the signature (and an access key of 12 digits, as an account id) picks
// the account and Region a request is for, and each has its own state.
//
// # Services
//
// Each emulated service is an awsproto.Service (its name, the requests it
// claims, its protocol codec) that registers itself with the server in
// one place, the services function in services.go:
//
//	rg.register(Registration{API: rg.sqs.API(), Sim: rg.sqs})
//	rg.register(Registration{API: rg.lambda.API(), Sim: rg.lambda, Quota: 15, QuotaExempt: []string{"GetFunction"}})
//
// A new service is one package plus one such line. Its operations return
// (output, *awsproto.Error) and a codec at the edge speaks the protocol:
// for an AWS JSON 1.1 service with target dispatch
// (X-Amz-Target: CodeDeploy_20141006.GetDeployment) the package's API
// returns an *awsproto.JSON with its operation table, and nothing in
// localaws changes but that line. A service seeded from the world file
// owns a field of World (its own section of the file, e.g.
// "codeDeploy": {...}) and reads it from Env.World when it is built; Env
// also gives the account, Region and clock. Server.Service(name) hands
// tests the service's own value (Registration.Sim). Faults, statistics and the
// request log key every operation as "service:Operation" (a bare operation
// name in a fault flag is accepted when one service alone has it).
//
// Tests of other packages run it in process (localawstest.Start) and point
// the real SDK clients at it (SDKConfig); with a clock.Fake in Options,
// provisioned-concurrency transitions and SQS visibility timeouts need no
// sleeping.
package localaws

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"math"
	"math/rand/v2"
	"net"
	"net/http"
	"regexp"
	"sort"
	"strings"
	"sync"
	"time"

	"github.com/prewarm/prewarm/localaws/awsproto"
	"github.com/prewarm/prewarm/localaws/clock"
	"github.com/prewarm/prewarm/localaws/lambdasim"
	"github.com/prewarm/prewarm/localaws/sqssim"
)

// DefaultControlPlaneRPS is Lambda's control-plane quota: 15 requests per
// second per account and Region.
const DefaultControlPlaneRPS = 15

// Options tune a Server beyond its World.
type Options struct {
	Faults Faults
	// ControlPlaneRPS is the Lambda control-plane quota in requests per
	// second per account and Region, with a burst of the same size (wall
	// time); requests over it are answered 429 TooManyRequestsException.
	// 0 means DefaultControlPlaneRPS; negative turns the quota off.
	ControlPlaneRPS float64
	// Seed seeds the fault dice; 0 picks a random seed (see Server.Seed).
	Seed int64
	// Clock drives the services' state machines; clock.Real{} when nil.
	Clock clock.Clock
	// RequestLog, when set, gets one JSON line per request: service,
	// operation, account, Region, HTTP status, latency and the fault
	// injected, if any.
	RequestLog io.Writer
}

func (o Options) controlPlaneRPS() float64 {
	switch {
	case o.ControlPlaneRPS == 0:
		return DefaultControlPlaneRPS
	case o.ControlPlaneRPS < 0:
		return 0
	}
	return o.ControlPlaneRPS
}

// Server routes each request to the service that claims it, in the account
// and Region the request is signed for, after faults, quotas and
// statistics. It is an http.Handler.
type Server struct {
	world World
	opts  Options
	clock clock.Clock
	seed  int64
	// home is the account and Region of the world file.
	homeAccount, homeRegion string
	// operations maps each operation name to the services that serve it.
	operations map[string][]string

	regionsMu sync.Mutex
	regions   map[string]*region // by account "/" Region

	mu    sync.Mutex // guards rng and stats
	rng   *rand.Rand
	stats map[statKey]*OperationStats

	log *slog.Logger // nil without Options.RequestLog
}

type statKey struct{ service, operation string }

// New builds a Server for world.
func New(world World, opts Options) (*Server, error) {
	if err := world.Validate(); err != nil {
		return nil, fmt.Errorf("new emulator: %w", err)
	}
	clk := opts.Clock
	if clk == nil {
		clk = clock.Real{}
	}
	s := &Server{
		world: world,
		opts:  opts,
		clock: clk,
		seed:  opts.Seed,
		stats: map[statKey]*OperationStats{},
	}
	s.homeAccount, s.homeRegion = world.account()
	if opts.RequestLog != nil {
		s.log = slog.New(slog.NewJSONHandler(opts.RequestLog, nil))
	}
	if err := s.Reset(); err != nil {
		return nil, fmt.Errorf("new emulator: %w", err)
	}
	s.operations = map[string][]string{}
	for _, svc := range s.home().services {
		for _, op := range svc.API.OperationNames() {
			s.operations[op] = append(s.operations[op], svc.API.Name())
		}
	}
	if err := s.checkFaults(opts.Faults); err != nil {
		return nil, fmt.Errorf("new emulator: %w", err)
	}
	if s.seed == 0 {
		s.seed = rand.Int64N(math.MaxInt64-1) + 1
	}
	s.rng = rand.New(rand.NewPCG(uint64(s.seed), 0x7072657761726d)) // "prewarm"
	return s, nil
}

// Reset restores the state of the world file: every account and Region is
// built anew (the world's own from the file, others empty) and the
// statistics are zeroed. Clients keep their connections; requests in
// flight finish against the state they started on.
func (s *Server) Reset() error {
	rg, err := newRegion(Env{World: s.world, AccountID: s.homeAccount, Region: s.homeRegion, Clock: s.clock, Options: s.opts})
	if err != nil {
		return err
	}
	s.regionsMu.Lock()
	s.regions = map[string]*region{regionKey(s.homeAccount, s.homeRegion): rg}
	s.regionsMu.Unlock()
	s.ResetStats()
	return nil
}

func regionKey(account, region string) string { return account + "/" + region }

func (s *Server) home() *region {
	s.regionsMu.Lock()
	defer s.regionsMu.Unlock()
	return s.regions[regionKey(s.homeAccount, s.homeRegion)]
}

var accountIDPattern = regexp.MustCompile(`^[0-9]{12}$`)

// caller tells whom r is from: the Region of its signature and, when the
// access key is 12 digits, that account (LocalStack's convention); the
// world's account and Region otherwise.
func (s *Server) caller(r *http.Request) awsproto.CallerInfo {
	key, region := awsproto.Signature(r)
	c := awsproto.CallerInfo{AccountID: s.homeAccount, Region: s.homeRegion, AccessKeyID: key, Host: r.Host}
	if region != "" {
		c.Region = region
	}
	if accountIDPattern.MatchString(key) {
		c.AccountID = key
	}
	return c
}

// regionOf returns the services of c's account and Region, built empty
// the first time.
func (s *Server) regionOf(c awsproto.CallerInfo) (*region, error) {
	k := regionKey(c.AccountID, c.Region)
	s.regionsMu.Lock()
	defer s.regionsMu.Unlock()
	if rg := s.regions[k]; rg != nil {
		return rg, nil
	}
	rg, err := newRegion(Env{AccountID: c.AccountID, Region: c.Region, Clock: s.clock, Options: s.opts})
	if err != nil {
		return nil, err
	}
	s.regions[k] = rg
	return rg, nil
}

// checkFaults refuses fault keys that name no operation: a misspelt name
// would otherwise silently inject nothing.
func (s *Server) checkFaults(f Faults) error {
	if err := f.validate(); err != nil {
		return err
	}
	services := map[string]map[string]bool{}
	for _, svc := range s.home().services {
		ops := map[string]bool{}
		for _, op := range svc.API.OperationNames() {
			ops[op] = true
		}
		services[svc.API.Name()] = ops
	}
	check := func(kind, key string) error {
		if key == "" {
			return nil
		}
		if svc, op, ok := strings.Cut(key, ":"); ok {
			ops, known := services[svc]
			switch {
			case !known:
				return fmt.Errorf("%s %q: no service %q (services: %s)", kind, key, svc, strings.Join(sortedKeys(services), ", "))
			case op != "*" && !ops[op]:
				return fmt.Errorf("%s %q: %s has no operation %q%s", kind, key, svc, op, suggest(op, sortedKeys(ops)))
			}
			return nil
		}
		switch owners := s.operations[key]; len(owners) {
		case 0:
			return fmt.Errorf("%s %q: no service has an operation %q%s", kind, key, key, suggest(key, sortedKeys(s.operations)))
		case 1:
			return nil
		default:
			return fmt.Errorf("%s %q: ambiguous, served by %s; name it as service:%s", kind, key, strings.Join(owners, " and "), key)
		}
	}
	for kind, keys := range map[string][]string{
		"latency": sortedKeys(f.Latency), "throttle rate": sortedKeys(f.ThrottleRate),
		"error rate": sortedKeys(f.ErrorRate), "reset rate": sortedKeys(f.ResetRate),
	} {
		for _, k := range keys {
			if err := check(kind, k); err != nil {
				return err
			}
		}
	}
	return nil
}

// suggest names the closest known operation to a misspelt one.
func suggest(op string, known []string) string {
	best, bestDist := "", 4
	for _, k := range known {
		if d := editDistance(strings.ToLower(op), strings.ToLower(k)); d < bestDist {
			best, bestDist = k, d
		}
	}
	if best == "" {
		return ""
	}
	return fmt.Sprintf(" (did you mean %s?)", best)
}

func editDistance(a, b string) int {
	prev := make([]int, len(b)+1)
	for j := range prev {
		prev[j] = j
	}
	for i := 1; i <= len(a); i++ {
		cur := make([]int, len(b)+1)
		cur[0] = i
		for j := 1; j <= len(b); j++ {
			cost := 1
			if a[i-1] == b[j-1] {
				cost = 0
			}
			cur[j] = min(prev[j]+1, cur[j-1]+1, prev[j-1]+cost)
		}
		prev = cur
	}
	return prev[len(b)]
}

func sortedKeys[V any](m map[string]V) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	return keys
}

func (f Faults) validate() error {
	for name, r := range map[string]Rates{"throttle": f.ThrottleRate, "error": f.ErrorRate, "reset": f.ResetRate} {
		for op, v := range r {
			if v < 0 || v > 1 || math.IsNaN(v) {
				return fmt.Errorf("%s rate %v for %q: want a fraction between 0 and 1", name, v, op)
			}
		}
	}
	for op, d := range f.Latency {
		if d < 0 {
			return fmt.Errorf("latency %s for %q is negative", d, op)
		}
	}
	return nil
}

// Lambda is the emulated Lambda control plane of the world's account and
// Region, for Go-level inspection.
func (s *Server) Lambda() *lambdasim.Service { return s.home().lambda }

// SQS is the emulated SQS of the world's account and Region, for Go-level
// inspection.
func (s *Server) SQS() *sqssim.Service { return s.home().sqs }

// Service returns the Registration.Sim of the service named name in the
// world's account and Region, nil when there is none: a test asserts it to
// the service's type (srv.Service("sqs").(*sqssim.Service)).
func (s *Server) Service(name string) any {
	for _, svc := range s.home().services {
		if svc.API.Name() == name {
			return svc.Sim
		}
	}
	return nil
}

// World is the world the server was built from.
func (s *Server) World() World { return s.world }

// Seed is the seed of the fault dice, to repeat a run with -seed.
func (s *Server) Seed() int64 { return s.seed }

// Paths of the emulator's own endpoints.
const (
	StatsPath      = "/_localaws/stats"
	ResetStatsPath = "/_localaws/reset-stats"
	ResetPath      = "/_localaws/reset"
	HealthPath     = "/_localaws/health"
)

// maxBufferedRequest is more than any service accepts (Lambda's 6 MB).
const maxBufferedRequest = 8 << 20

// ServeHTTP implements http.Handler.
func (s *Server) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	switch r.URL.Path {
	case StatsPath:
		writeJSON(w, http.StatusOK, s.Stats())
		return
	case ResetStatsPath, ResetPath:
		if r.Method != http.MethodPost {
			w.Header().Set("Allow", http.MethodPost)
			http.Error(w, "POST to reset", http.StatusMethodNotAllowed)
			return
		}
		if r.URL.Path == ResetStatsPath {
			s.ResetStats()
		} else if err := s.Reset(); err != nil {
			http.Error(w, err.Error(), http.StatusInternalServerError)
			return
		}
		w.WriteHeader(http.StatusNoContent)
		return
	case HealthPath:
		writeJSON(w, http.StatusOK, map[string]string{"status": "ok"})
		return
	}

	// Read the whole request before answering, as AWS does, so that an
	// early fault answer never leaves the client writing into a connection
	// the server has given up on; routing may read it too (the query
	// protocol names its operation in the body). The services enforce
	// their own limits.
	body, err := io.ReadAll(io.LimitReader(r.Body, maxBufferedRequest))
	if err != nil {
		return
	}
	rewind := func() { r.Body = io.NopCloser(bytes.NewReader(body)) }
	rewind()

	c := s.caller(r)
	rg, err := s.regionOf(c)
	if err != nil {
		http.Error(w, err.Error(), http.StatusInternalServerError)
		return
	}
	svc, op := rg.route(r)
	rewind()
	if svc == nil {
		lambdasim.WriteUnknownOperation(w)
		return
	}
	r = r.WithContext(awsproto.WithCaller(r.Context(), c))
	api, name := svc.API, svc.API.Name()
	s.count(name, op, func(o *OperationStats) { o.Requests++ })
	rec := &statusRecorder{ResponseWriter: w}
	w = rec
	fault := ""
	if s.log != nil {
		began := time.Now()
		defer func() {
			s.log.Info("request", "service", name, "operation", op, "account", c.AccountID, "region", c.Region,
				"status", rec.status, "latencyMs", time.Since(began).Milliseconds(), "fault", fault)
		}()
	}

	if d := s.opts.Faults.Latency.For(name, op); d > 0 {
		fault = "latency"
		t := time.NewTimer(d)
		select {
		case <-t.C:
		case <-r.Context().Done():
			t.Stop()
			return
		}
	}
	if s.roll(s.opts.Faults.ResetRate.For(name, op)) && s.reset(w) {
		fault = addFault(fault, "reset")
		s.count(name, op, func(o *OperationStats) { o.Errors++; o.Resets++ })
		return
	}
	if svc.limiter != nil && !svc.exempt[op] && !svc.limiter.Allow() {
		fault = addFault(fault, "quota")
		s.count(name, op, func(o *OperationStats) { o.Throttled++ })
		api.WriteError(w, r, api.Throttled(op))
		return
	}
	if s.roll(s.opts.Faults.ThrottleRate.For(name, op)) {
		fault = addFault(fault, "throttle")
		s.count(name, op, func(o *OperationStats) { o.Throttled++ })
		api.WriteError(w, r, api.Throttled(op))
		return
	}
	if s.roll(s.opts.Faults.ErrorRate.For(name, op)) {
		fault = addFault(fault, "error")
		s.count(name, op, func(o *OperationStats) { o.Errors++ })
		api.WriteError(w, r, api.Internal(op))
		return
	}
	api.ServeOperation(rec, r, op)
	switch {
	case rec.status == http.StatusTooManyRequests:
		s.count(name, op, func(o *OperationStats) { o.Throttled++ })
	case rec.status >= 500:
		s.count(name, op, func(o *OperationStats) { o.Errors++ })
	}
}

// addFault records one more injected fault: "latency,throttle".
func addFault(faults, f string) string {
	if faults == "" {
		return f
	}
	return faults + "," + f
}

// route finds the service that claims r and the operation it names.
func (rg *region) route(r *http.Request) (*registered, string) {
	for _, svc := range rg.services {
		if op, ok := svc.API.Operation(r); ok {
			return svc, op
		}
	}
	return nil, ""
}

// roll reports whether a fault with probability p happens.
func (s *Server) roll(p float64) bool {
	if p <= 0 {
		return false
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.rng.Float64() < p
}

// reset closes the client's connection without a response, with a TCP RST
// where the connection allows it. It reports false when the connection
// cannot be taken over (HTTP/2), and the request then proceeds.
func (s *Server) reset(w http.ResponseWriter) bool {
	conn, _, err := http.NewResponseController(w).Hijack()
	if err != nil {
		return false
	}
	if tcp, ok := conn.(*net.TCPConn); ok {
		_ = tcp.SetLinger(0)
	}
	_ = conn.Close()
	return true
}

// statusRecorder remembers the status a service wrote.
type statusRecorder struct {
	http.ResponseWriter
	status int
}

func (r *statusRecorder) WriteHeader(code int) {
	if r.status == 0 {
		r.status = code
	}
	r.ResponseWriter.WriteHeader(code)
}

func (r *statusRecorder) Write(b []byte) (int, error) {
	if r.status == 0 {
		r.status = http.StatusOK
	}
	return r.ResponseWriter.Write(b)
}

// Unwrap lets http.ResponseController reach the connection (flushes of
// long polls).
func (r *statusRecorder) Unwrap() http.ResponseWriter { return r.ResponseWriter }

// OperationStats counts one operation's requests and the faults they met.
type OperationStats struct {
	Requests int64 `json:"requests"`
	// Throttled counts 429/throttling answers: injected, over the quota, or
	// from the service.
	Throttled int64 `json:"throttled"`
	// Errors counts 5xx answers (injected or not) and dropped connections.
	Errors int64 `json:"errors"`
	// Resets counts dropped connections.
	Resets int64 `json:"resets"`
}

// Stats is the body of GET /_localaws/stats.
type Stats struct {
	// Operations counts by bare operation name, as readers of the
	// statistics before services were named expect; an operation name two
	// services share sums both.
	Operations map[string]OperationStats `json:"operations"`
	// Services counts by service and operation: "sqs" → "SendMessage".
	Services map[string]map[string]OperationStats `json:"services"`
}

// Of returns the counters of "service:Operation", or of a bare operation
// name summed over the services that have it.
func (st Stats) Of(key string) OperationStats {
	if svc, op, ok := strings.Cut(key, ":"); ok {
		return st.Services[svc][op]
	}
	return st.Operations[key]
}

// Stats returns a copy of the per-operation counters.
func (s *Server) Stats() Stats {
	s.mu.Lock()
	defer s.mu.Unlock()
	out := Stats{Operations: map[string]OperationStats{}, Services: map[string]map[string]OperationStats{}}
	for k, o := range s.stats {
		sum := out.Operations[k.operation]
		sum.Requests += o.Requests
		sum.Throttled += o.Throttled
		sum.Errors += o.Errors
		sum.Resets += o.Resets
		out.Operations[k.operation] = sum
		if out.Services[k.service] == nil {
			out.Services[k.service] = map[string]OperationStats{}
		}
		out.Services[k.service][k.operation] = *o
	}
	return out
}

// ResetStats zeroes the counters.
func (s *Server) ResetStats() {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.stats = map[statKey]*OperationStats{}
}

func (s *Server) count(service, op string, f func(*OperationStats)) {
	s.mu.Lock()
	defer s.mu.Unlock()
	k := statKey{service, op}
	o := s.stats[k]
	if o == nil {
		o = &OperationStats{}
		s.stats[k] = o
	}
	f(o)
}

func writeJSON(w http.ResponseWriter, status int, v any) {
	b, err := json.Marshal(v)
	if err != nil {
		http.Error(w, "encode: "+err.Error(), http.StatusInternalServerError)
		return
	}
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	_, _ = w.Write(b)
}
