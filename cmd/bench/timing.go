package main

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"math"
	"os"
	"os/exec"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"

	awsevents "github.com/aws/aws-lambda-go/events"
	"github.com/aws/aws-sdk-go-v2/aws"
	lambdasvc "github.com/aws/aws-sdk-go-v2/service/lambda"
	"github.com/aws/aws-sdk-go-v2/service/sqs"
	"golang.org/x/time/rate"

	"github.com/prewarm/prewarm/config"
	"github.com/prewarm/prewarm/handler"
	"github.com/prewarm/prewarm/localaws"
	"github.com/prewarm/prewarm/localaws/clock"
	"github.com/prewarm/prewarm/localaws/lambdasim"
	"github.com/prewarm/prewarm/provision"
	"github.com/prewarm/prewarm/results"
)

// The timing figures run on the emulator's clock: allocation takes minutes
// in AWS, and the handler's reads and waits are paced by the same clock, so
// a 15-minute allocation is simulated in seconds.

const followUpQueue = "prewarm-followup"

// simEpoch is where the simulated clock starts: well before the wall
// clock, so that the real deadline of an invocation never cuts it short.
var simEpoch = time.Date(2026, 1, 5, 9, 0, 0, 0, time.UTC)

// sim is prewarm wired to the emulator on a simulated clock, with the
// control-plane calls it makes recorded at their simulated time.
type sim struct {
	emu   *emulator
	clk   *clock.Fake
	h     *handler.Handler
	sqs   *sqs.Client
	mu    sync.Mutex
	reads []time.Time // Get and List calls of a function already Put: tracking's
	calls []time.Time // every control-plane call
	put   map[string]bool
}

// recordingLambda records when each control-plane call was made.
type recordingLambda struct {
	provision.LambdaAPI
	s *sim
}

// note records a call on function. A read of a function not yet Put is the
// decision's (its target and mirror source), not tracking's.
func (r recordingLambda) note(function string, read, put bool) {
	r.s.mu.Lock()
	defer r.s.mu.Unlock()
	now := r.s.clk.Now()
	r.s.calls = append(r.s.calls, now)
	if read && r.s.put[function] {
		r.s.reads = append(r.s.reads, now)
	}
	if put {
		r.s.put[function] = true
	}
}

func (r recordingLambda) GetProvisionedConcurrencyConfig(ctx context.Context, in *lambdasvc.GetProvisionedConcurrencyConfigInput, opts ...func(*lambdasvc.Options)) (*lambdasvc.GetProvisionedConcurrencyConfigOutput, error) {
	r.note(aws.ToString(in.FunctionName), true, false)
	return r.LambdaAPI.GetProvisionedConcurrencyConfig(ctx, in, opts...)
}

func (r recordingLambda) ListProvisionedConcurrencyConfigs(ctx context.Context, in *lambdasvc.ListProvisionedConcurrencyConfigsInput, opts ...func(*lambdasvc.Options)) (*lambdasvc.ListProvisionedConcurrencyConfigsOutput, error) {
	r.note(aws.ToString(in.FunctionName), true, false)
	return r.LambdaAPI.ListProvisionedConcurrencyConfigs(ctx, in, opts...)
}

func (r recordingLambda) PutProvisionedConcurrencyConfig(ctx context.Context, in *lambdasvc.PutProvisionedConcurrencyConfigInput, opts ...func(*lambdasvc.Options)) (*lambdasvc.PutProvisionedConcurrencyConfigOutput, error) {
	r.note(aws.ToString(in.FunctionName), false, true)
	return r.LambdaAPI.PutProvisionedConcurrencyConfig(ctx, in, opts...)
}

func (r recordingLambda) DeleteProvisionedConcurrencyConfig(ctx context.Context, in *lambdasvc.DeleteProvisionedConcurrencyConfigInput, opts ...func(*lambdasvc.Options)) (*lambdasvc.DeleteProvisionedConcurrencyConfigOutput, error) {
	r.note(aws.ToString(in.FunctionName), false, false)
	return r.LambdaAPI.DeleteProvisionedConcurrencyConfig(ctx, in, opts...)
}

func (r recordingLambda) GetAccountSettings(ctx context.Context, in *lambdasvc.GetAccountSettingsInput, opts ...func(*lambdasvc.Options)) (*lambdasvc.GetAccountSettingsOutput, error) {
	r.note("", false, false)
	return r.LambdaAPI.GetAccountSettings(ctx, in, opts...)
}

// newSim starts the emulator for world on a simulated clock and wires
// prewarm to it as the bootstrap does, with the template's settings.
func newSim(world localaws.World, waitSeconds string) (*sim, error) {
	clk := clock.NewFake(simEpoch)
	// The emulator's own quota runs on the wall clock; the simulated calls'
	// rate is checked against it on the simulated clock instead (throttled).
	emu, err := startEmulator(world, localaws.Options{Clock: clk, ControlPlaneRPS: -1, Seed: 1})
	if err != nil {
		return nil, err
	}
	s := &sim{emu: emu, clk: clk, put: map[string]bool{}}
	env := map[string]string{
		"RESULTS_QUEUE_URL":  emu.queueURL(resultsQueue),
		"FOLLOWUP_QUEUE_URL": emu.queueURL(followUpQueue),
		"ALLOWED_FUNCTIONS":  "*",
		"MAX_CONCURRENCY":    "100",
		"WAIT_SECONDS":       waitSeconds,
		"TRACK_TIMEOUT":      "20m",
		"CONTROL_PLANE_RPS":  "10",
		"AWS_REGION":         "us-east-1",
	}
	cfg, err := config.Load(func(k string) string { return env[k] })
	if err != nil {
		emu.stop()
		return nil, err
	}
	awsCfg := localaws.SDKConfig(emu.url)
	lc := lambdasvc.NewFromConfig(awsCfg, func(o *lambdasvc.Options) { o.Retryer = aws.NopRetryer{} })
	s.sqs = sqs.NewFromConfig(awsCfg)
	sleep := func(ctx context.Context, d time.Duration) error {
		if err := ctx.Err(); err != nil {
			return err
		}
		clk.Advance(d)
		return nil
	}
	s.h = handler.New(cfg, handler.Deps{
		Control:   provision.New(recordingLambda{lc, s}, provision.Options{RPS: cfg.ControlPlaneRPS, Sleep: sleep, Now: clk.Now}),
		Publisher: results.NewPublisher(s.sqs, cfg.ResultsQueueURL),
		FollowUps: results.NewFollowUps(s.sqs, cfg.FollowUpQueueURL),
		Log:       slog.New(slog.NewJSONHandler(io.Discard, nil)),
		Now:       clk.Now, Sleep: sleep,
	})
	return s, nil
}

func (s *sim) close() { s.emu.stop() }

// invoke runs one invocation and returns its simulated duration.
func (s *sim) invoke(ctx context.Context, id string, payload []byte) (time.Duration, []string, error) {
	began := s.clk.Now()
	failed, err := invoke(ctx, s.h, id, payload)
	return s.clk.Now().Sub(began), failed, err
}

// results reads and deletes what is on the results queue.
func (s *sim) results(ctx context.Context) ([]results.Message, error) {
	bodies, err := results.Drain(ctx, s.sqs, s.emu.queueURL(resultsQueue))
	if err != nil {
		return nil, err
	}
	out := make([]results.Message, 0, len(bodies))
	for _, b := range bodies {
		var m results.Message
		if err := json.Unmarshal([]byte(b), &m); err != nil {
			return nil, fmt.Errorf("result %s: %w", b, err)
		}
		out = append(out, m)
	}
	return out, nil
}

// nextFollowUps waits on the simulated clock, a second at a time, for the
// follow-ups to become visible, then lets pickup pass (the event source
// mapping's polling and batching window) and returns them as one batch.
func (s *sim) nextFollowUps(ctx context.Context, limit time.Duration, pickup time.Duration) ([]string, error) {
	for waited := time.Duration(0); waited <= limit; waited += time.Second {
		bodies, err := results.Drain(ctx, s.sqs, s.emu.queueURL(followUpQueue))
		if err != nil || len(bodies) > 0 {
			s.clk.Advance(pickup)
			return bodies, err
		}
		s.clk.Advance(time.Second)
	}
	return nil, nil
}

// throttledOnSimClock counts the calls a 15 requests/s quota (burst 15)
// would have refused, judged on the simulated clock.
func throttledOnSimClock(calls []time.Time) int {
	sorted := slices.Clone(calls)
	slices.SortFunc(sorted, func(a, b time.Time) int { return a.Compare(b) })
	lim := rate.NewLimiter(localaws.DefaultControlPlaneRPS, localaws.DefaultControlPlaneRPS)
	n := 0
	for _, t := range sorted {
		if !lim.AllowN(t, 1) {
			n++
		}
	}
	return n
}

func fifoEvent(bodies []string) ([]byte, error) {
	ev := awsevents.SQSEvent{Records: make([]awsevents.SQSMessage, len(bodies))}
	for i, b := range bodies {
		ev.Records[i] = awsevents.SQSMessage{
			MessageId:      fmt.Sprintf("fifo-%02d", i),
			Body:           b,
			EventSource:    "aws:sqs",
			EventSourceARN: "arn:aws:sqs:us-east-1:" + benchAccount + ":prewarm-events.fifo",
			AWSRegion:      "us-east-1",
			Attributes:     map[string]string{"MessageGroupId": fmt.Sprintf("pipeline-%02d", i)},
		}
	}
	return json.Marshal(ev)
}

func simWorld(fs []lambdasim.Function, readyAfter time.Duration) localaws.World {
	w := localaws.DefaultWorld()
	w.Functions = fs
	w.ReadyAfter = localaws.Duration(readyAfter)
	w.AliasWeightsWindow = localaws.Duration(-1)
	return w
}

// fifoRows measures one invocation of a FIFO batch of 10 switches on 10
// functions whose allocation takes 60 s, with WAIT_SECONDS 20: the
// invocation should take one WAIT_SECONDS, not ten.
func fifoRows(ctx context.Context, logf func(string, ...any)) []Row {
	const id, name = "fifo_batch", "FIFO batch of 10 intents on 10 functions, readyAfter 60 s"
	const wait = 20 * time.Second
	s, err := newSim(simWorld(functions("fifo", 10, 10), 60*time.Second), "20")
	if err != nil {
		return []Row{failedRow(id, name, err)}
	}
	defer s.close()
	bodies := make([]string, 10)
	for i := range bodies {
		bodies[i] = fmt.Sprintf(`{"functionName":"fifo-%04d","from":"BLUE","to":"GREEN","release":"delete"}`, i)
	}
	payload, err := fifoEvent(bodies)
	if err != nil {
		return []Row{failedRow(id, name, err)}
	}
	realStart := time.Now()
	took, failed, err := s.invoke(ctx, "fifo-batch", payload)
	if err != nil {
		return []Row{failedRow(id, name, err)}
	}
	took += time.Since(realStart) // the calls themselves take wall time the simulated clock does not see
	first, err := s.results(ctx)
	if err != nil {
		return []Row{failedRow(id, name, err)}
	}
	// Follow the changes to their end, to compare every outcome with what
	// the product promises for a switch.
	seen := outcomesOf(first)
	for range 20 {
		fus, err := s.nextFollowUps(ctx, 15*time.Minute, time.Second)
		if err != nil {
			return []Row{failedRow(id, name, err)}
		}
		if len(fus) == 0 {
			break
		}
		ev, err := sqsEvent(0, fus)
		if err != nil {
			return []Row{failedRow(id, name, err)}
		}
		if _, _, err := s.invoke(ctx, "fifo-followup", ev); err != nil {
			return []Row{failedRow(id, name, err)}
		}
		more, err := s.results(ctx)
		if err != nil {
			return []Row{failedRow(id, name, err)}
		}
		seen = append(seen, outcomesOf(more)...)
	}
	var want []string
	for _, o := range []string{"GREEN APPLIED", "GREEN READY", "BLUE RELEASED"} {
		for i := range 10 {
			want = append(want, fmt.Sprintf("fifo-%04d:%s", i, o))
		}
	}
	slices.Sort(want)
	slices.Sort(seen)
	same := slices.Equal(want, seen) && len(failed) == 0
	logf("fifo: one invocation took %s on the emulator's clock", took.Round(time.Millisecond))
	r := maxRow(Row{ID: id, Name: name, Unit: "s", Detail: fmt.Sprintf(
		"WAIT_SECONDS 20; simulated clock plus the calls' wall time; one-record-at-a-time processing took ≈ 10 × WAIT_SECONDS; %d results, the switch's APPLIED, READY, RELEASED for all 10: %v",
		len(seen), same)}, took.Seconds(), (wait + 3*time.Second).Seconds(), "≤ WAIT_SECONDS + 3 s")
	if !same {
		r.Pass = ptr(false)
		r.Error = fmt.Sprintf("results differ from the switch's promise: got %v", seen)
	}
	return []Row{r}
}

func outcomesOf(ms []results.Message) []string {
	out := make([]string, len(ms))
	for i, m := range ms {
		out[i] = m.FunctionName + ":" + m.Qualifier + " " + string(m.Outcome)
	}
	return out
}

// lagRows measures the READY-detection lag — from AWS turning a target
// READY to prewarm publishing READY — over targets whose allocation takes
// from 30 s to 15 min, with the calls spent per tracked target-minute.
func lagRows(ctx context.Context, targets int, logf func(string, ...any)) []Row {
	const id, name = "ready_lag", "READY-detection lag, allocations of 30 s to 15 min"
	fs := functions("lag", targets, 5)
	readyAfter := map[string]time.Duration{}
	for i := range fs {
		d := 30*time.Second + time.Duration(float64(870*time.Second)*float64(i)/float64(max(targets-1, 1)))
		d = d.Round(time.Second)
		fs[i].ReadyAfter = d.String()
		readyAfter[fs[i].Name] = d
	}
	s, err := newSim(simWorld(fs, time.Minute), "20")
	if err != nil {
		return []Row{failedRow(id, name, err)}
	}
	defer s.close()
	bodies := make([]string, targets)
	for i := range bodies {
		bodies[i] = fmt.Sprintf(`{"functionName":"lag-%04d","from":"BLUE","to":"GREEN","release":"delete"}`, i)
	}
	// One batch for all: the template's batching window gathers the
	// switches of a deployment; from then on they travel in one follow-up.
	ev, err := sqsEvent(0, bodies)
	if err != nil {
		return []Row{failedRow(id, name, err)}
	}
	applied := map[string]time.Time{}
	ready := map[string]time.Time{}
	invocations := 1
	record := func(ms []results.Message) {
		for _, m := range ms {
			switch m.Outcome {
			case results.OutcomeApplied:
				applied[m.FunctionName] = m.Time
			case results.OutcomeReady:
				ready[m.FunctionName] = m.Time
			}
		}
	}
	if _, _, err := s.invoke(ctx, "lag-0", ev); err != nil {
		return []Row{failedRow(id, name, err)}
	}
	ms, err := s.results(ctx)
	if err != nil {
		return []Row{failedRow(id, name, err)}
	}
	record(ms)
	for len(ready) < targets {
		fus, err := s.nextFollowUps(ctx, 16*time.Minute, time.Second)
		if err != nil {
			return []Row{failedRow(id, name, err)}
		}
		if len(fus) == 0 {
			return []Row{failedRow(id, name, fmt.Errorf("%d of %d targets READY and no follow-up left", len(ready), targets))}
		}
		ev, err := sqsEvent(invocations*100, fus)
		if err != nil {
			return []Row{failedRow(id, name, err)}
		}
		invocations++
		if _, _, err := s.invoke(ctx, fmt.Sprintf("lag-%d", invocations), ev); err != nil {
			return []Row{failedRow(id, name, err)}
		}
		ms, err := s.results(ctx)
		if err != nil {
			return []Row{failedRow(id, name, err)}
		}
		record(ms)
	}
	var lags []float64
	var trackedMinutes float64
	var end time.Time
	for fn, at := range ready {
		put, ok := applied[fn]
		if !ok {
			return []Row{failedRow(id, name, fmt.Errorf("%s READY without APPLIED", fn))}
		}
		lags = append(lags, at.Sub(put.Add(readyAfter[fn])).Seconds())
		trackedMinutes += at.Sub(put).Minutes()
		end = maxTime(end, at)
	}
	slices.Sort(lags)
	s.mu.Lock()
	reads := 0
	for _, t := range s.reads {
		if !t.After(end) {
			reads++
		}
	}
	throttled := throttledOnSimClock(s.calls)
	s.mu.Unlock()
	perMinute := float64(reads) / trackedMinutes
	p50, p95 := percentile(lags, 0.50), percentile(lags, 0.95)
	logf("lag: p50 %.2f s, p95 %.2f s over %d targets, %.1f reads per tracked target-minute, %d invocations", p50, p95, targets, perMinute, invocations)
	p95Row := maxRow(Row{ID: id + "_p95", Name: name + ", p95", Unit: "s", Samples: lags, Detail: fmt.Sprintf(
		"%d targets, readyAfter spread evenly from 30 s to 15 min, one follow-up picked up 1 s after it is visible; p50 %.2f s, max %.2f s",
		targets, p50, lags[len(lags)-1])}, p95, 5, "≤ 5 s")
	callsRow := maxRow(Row{ID: "ready_reads_per_target_minute", Name: "  Get/List calls per tracked target-minute", Unit: "calls", Detail: fmt.Sprintf(
		"%d reads while tracking (a function's reads before its Put are the decision's, not counted) over %.1f tracked target-minutes, %d invocations", reads, trackedMinutes, invocations)}, perMinute, 12, "≤ 12")
	thRow := maxRow(Row{ID: "ready_throttled", Name: "  calls over 15/s on the emulator's clock", Unit: "", Detail: fmt.Sprintf(
		"%d control-plane calls, CONTROL_PLANE_RPS 10", len(s.calls))}, float64(throttled), 0, "0")
	return []Row{p95Row, callsRow, thRow}
}

func maxTime(a, b time.Time) time.Time {
	if b.After(a) {
		return b
	}
	return a
}

// percentile is the nearest-rank percentile of sorted xs.
func percentile(sorted []float64, p float64) float64 {
	if len(sorted) == 0 {
		return math.NaN()
	}
	i := int(math.Ceil(p*float64(len(sorted)))) - 1
	return sorted[min(max(i, 0), len(sorted)-1)]
}

var chaosLine = regexp.MustCompile(`chaos: mode=fifo .*`)

// chaosRows runs the chaos test through a FIFO input queue (300 intents,
// 20% throttles, 5% 5xx, 2% resets) and reads its line.
func chaosRows(ctx context.Context, root string, intents int, logf func(string, ...any)) []Row {
	const id, name = "chaos_fifo", "chaos through a FIFO input queue"
	cmd := exec.CommandContext(ctx, "go", "test", "-count=1", "-run", "^TestChaos$/^fifo$", "-v", "./handler")
	cmd.Dir = root
	cmd.Env = append(os.Environ(), "PREWARM_CHAOS_INTENTS="+strconv.Itoa(intents))
	out, err := cmd.CombinedOutput()
	line := chaosLine.FindString(string(out))
	if err != nil || line == "" {
		tail := string(out)
		if len(tail) > 2000 {
			tail = tail[len(tail)-2000:]
		}
		return []Row{failedRow(id, name, fmt.Errorf("go test TestChaos: %v\n%s", err, tail))}
	}
	fields := map[string]string{}
	for _, kv := range strings.Fields(line)[1:] {
		if k, v, ok := strings.Cut(kv, "="); ok {
			fields[k] = v
		}
	}
	elapsed, err := time.ParseDuration(fields["elapsed"])
	if err != nil {
		return []Row{failedRow(id, name, fmt.Errorf("chaos line %q: %w", line, err))}
	}
	logf("chaos: %s", line)
	r := maxRow(Row{ID: id, Name: fmt.Sprintf("%s, %d intents under faults", name, intents), Unit: "s", Detail: line}, elapsed.Seconds(), 120, "≤ 2 min")
	if fields["lost"] != "0" || fields["duplicates"] != "0" || fields["final-mismatch"] != "0" {
		r.Pass = ptr(false)
		r.Error = "intents lost, duplicated or left at the wrong value: " + line
	}
	return []Row{r}
}
