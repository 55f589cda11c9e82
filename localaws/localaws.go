// Package localaws is a local AWS emulator for prewarm: the Lambda control
// plane (lambdasim) and SQS (sqssim) behind one HTTP port, like LocalStack,
// seeded from a World file, with injectable faults (latency, throttling, 5xx,
// connection resets) by operation name, Lambda's 15 requests/s control-plane
// quota, and per-operation statistics at GET /_localaws/stats. Any SigV4
// credentials are accepted.
//
// Tests of other packages run it in process (localawstest.Start) and point the real
// SDK clients at it (SDKConfig); with a clock.Fake in Options,
// provisioned-concurrency transitions and SQS visibility timeouts need no
// sleeping.
package localaws

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"math"
	"math/rand/v2"
	"net"
	"net/http"
	"sync"
	"time"

	"golang.org/x/time/rate"

	"github.com/prewarm/prewarm/localaws/clock"
	"github.com/prewarm/prewarm/localaws/lambdasim"
	"github.com/prewarm/prewarm/localaws/sqssim"
)

// Service is one emulated AWS service behind the shared port.
type Service interface {
	// Operation names the AWS operation r asks for
	// ("PutProvisionedConcurrencyConfig", "SendMessage"), and false when r
	// is not addressed to this service.
	Operation(r *http.Request) (string, bool)
	ServeHTTP(w http.ResponseWriter, r *http.Request)
	// WriteThrottled writes this service's own throttling error for op.
	WriteThrottled(w http.ResponseWriter, op string)
	// WriteServiceError writes this service's own 5xx error for op.
	WriteServiceError(w http.ResponseWriter, op string)
}

// DefaultControlPlaneRPS is Lambda's control-plane quota: 15 requests per
// second per account and Region.
const DefaultControlPlaneRPS = 15

// Options tune a Server beyond its World.
type Options struct {
	Faults Faults
	// ControlPlaneRPS is the Lambda control-plane quota in requests per
	// second, with a burst of the same size (wall time); requests over it
	// are answered 429 TooManyRequestsException. 0 means
	// DefaultControlPlaneRPS; negative turns the quota off.
	ControlPlaneRPS float64
	// Seed seeds the fault dice; 0 picks a random seed (see Server.Seed).
	Seed int64
	// Clock drives the services' state machines; clock.Real{} when nil.
	Clock clock.Clock
}

// Server routes each request to the service that claims it, after faults,
// the control-plane quota and statistics. It is an http.Handler.
type Server struct {
	world    World
	lambda   *lambdasim.Service
	sqs      *sqssim.Service
	services []Service
	faults   Faults
	limiter  *rate.Limiter // nil when the quota is off
	seed     int64

	mu    sync.Mutex // guards rng and stats
	rng   *rand.Rand
	stats map[string]*OperationStats
}

var (
	_ Service = (*lambdasim.Service)(nil)
	_ Service = (*sqssim.Service)(nil)
)

// New builds a Server for world.
func New(world World, opts Options) (*Server, error) {
	if err := world.Validate(); err != nil {
		return nil, fmt.Errorf("new emulator: %w", err)
	}
	if err := opts.Faults.validate(); err != nil {
		return nil, fmt.Errorf("new emulator: %w", err)
	}
	clk := opts.Clock
	if clk == nil {
		clk = clock.Real{}
	}
	s := &Server{
		world:  world,
		lambda: lambdasim.New(world.lambdaConfig(clk)),
		sqs:    sqssim.New(world.sqsConfig(clk)),
		faults: opts.Faults,
		seed:   opts.Seed,
		stats:  map[string]*OperationStats{},
	}
	// SQS claims requests by their X-Amz-Target header, Lambda by path.
	s.services = []Service{s.sqs, s.lambda}
	if s.seed == 0 {
		s.seed = rand.Int64N(math.MaxInt64-1) + 1
	}
	s.rng = rand.New(rand.NewPCG(uint64(s.seed), 0x7072657761726d)) // "prewarm"
	rps := opts.ControlPlaneRPS
	if rps == 0 {
		rps = DefaultControlPlaneRPS
	}
	if rps > 0 {
		s.limiter = rate.NewLimiter(rate.Limit(rps), max(1, int(math.Ceil(rps))))
	}
	return s, nil
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

// Lambda is the emulated Lambda control plane, for Go-level inspection.
func (s *Server) Lambda() *lambdasim.Service { return s.lambda }

// SQS is the emulated SQS, for Go-level inspection.
func (s *Server) SQS() *sqssim.Service { return s.sqs }

// World is the world the server was built from.
func (s *Server) World() World { return s.world }

// Seed is the seed of the fault dice, to repeat a run with -seed.
func (s *Server) Seed() int64 { return s.seed }

// Paths of the emulator's own endpoints.
const (
	StatsPath      = "/_localaws/stats"
	ResetStatsPath = "/_localaws/reset-stats"
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
	case ResetStatsPath:
		if r.Method != http.MethodPost {
			w.Header().Set("Allow", http.MethodPost)
			http.Error(w, "POST to reset the statistics", http.StatusMethodNotAllowed)
			return
		}
		s.ResetStats()
		w.WriteHeader(http.StatusNoContent)
		return
	case HealthPath:
		writeJSON(w, http.StatusOK, map[string]string{"status": "ok"})
		return
	}
	svc, op := s.route(r)
	if svc == nil {
		lambdasim.WriteUnknownOperation(w)
		return
	}
	s.count(op, func(o *OperationStats) { o.Requests++ })

	// Read the whole request before answering, as AWS does, so that an
	// early fault answer never leaves the client writing into a connection
	// the server has given up on. The services enforce their own limits.
	body, err := io.ReadAll(io.LimitReader(r.Body, maxBufferedRequest))
	if err != nil {
		return
	}
	r.Body = io.NopCloser(bytes.NewReader(body))

	if d := s.faults.Latency.For(op); d > 0 {
		t := time.NewTimer(d)
		select {
		case <-t.C:
		case <-r.Context().Done():
			t.Stop()
			return
		}
	}
	if s.roll(s.faults.ResetRate.For(op)) && s.reset(w) {
		s.count(op, func(o *OperationStats) { o.Errors++; o.Resets++ })
		return
	}
	if svc == Service(s.lambda) && op != "GetFunction" && s.limiter != nil && !s.limiter.Allow() {
		s.count(op, func(o *OperationStats) { o.Throttled++ })
		svc.WriteThrottled(w, op)
		return
	}
	if s.roll(s.faults.ThrottleRate.For(op)) {
		s.count(op, func(o *OperationStats) { o.Throttled++ })
		svc.WriteThrottled(w, op)
		return
	}
	if s.roll(s.faults.ErrorRate.For(op)) {
		s.count(op, func(o *OperationStats) { o.Errors++ })
		svc.WriteServiceError(w, op)
		return
	}
	rec := &statusRecorder{ResponseWriter: w}
	svc.ServeHTTP(rec, r)
	switch {
	case rec.status == http.StatusTooManyRequests:
		s.count(op, func(o *OperationStats) { o.Throttled++ })
	case rec.status >= 500:
		s.count(op, func(o *OperationStats) { o.Errors++ })
	}
}

func (s *Server) route(r *http.Request) (Service, string) {
	for _, svc := range s.services {
		if op, ok := svc.Operation(r); ok {
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
	Operations map[string]OperationStats `json:"operations"`
}

// Stats returns a copy of the per-operation counters.
func (s *Server) Stats() Stats {
	s.mu.Lock()
	defer s.mu.Unlock()
	out := Stats{Operations: make(map[string]OperationStats, len(s.stats))}
	for op, o := range s.stats {
		out.Operations[op] = *o
	}
	return out
}

// ResetStats zeroes the counters.
func (s *Server) ResetStats() {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.stats = map[string]*OperationStats{}
}

func (s *Server) count(op string, f func(*OperationStats)) {
	s.mu.Lock()
	defer s.mu.Unlock()
	o := s.stats[op]
	if o == nil {
		o = &OperationStats{}
		s.stats[op] = o
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
