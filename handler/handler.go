// Package handler is prewarm's Lambda entry point: it recognises the payload
// (an SQS batch, an EventBridge envelope or a bare intent), derives and
// applies provisioned concurrency, follows it to READY, and publishes every
// outcome to the results queue, answering SQS with the records to retry.
package handler

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	awsevents "github.com/aws/aws-lambda-go/events"
	"github.com/aws/aws-lambda-go/lambdacontext"

	"github.com/prewarm/prewarm/autoscale"
	"github.com/prewarm/prewarm/config"
	"github.com/prewarm/prewarm/demand"
	"github.com/prewarm/prewarm/derive"
	"github.com/prewarm/prewarm/intent"
	"github.com/prewarm/prewarm/provision"
	"github.com/prewarm/prewarm/results"
)

// Control is the Lambda control-plane work the handler needs.
type Control interface {
	Get(ctx context.Context, function, qualifier string) (provision.Status, error)
	Put(ctx context.Context, function, qualifier string, n int64) (provision.Status, error)
	Delete(ctx context.Context, function, qualifier string) error
	List(ctx context.Context, function string) ([]provision.QualifiedStatus, error)
	Reservation(ctx context.Context, function string) (n int64, ok bool, err error)
	Unreserved(ctx context.Context) (int64, error)
	FunctionNames(ctx context.Context, keep func(name string) bool) ([]string, error)
	AliasWeights(ctx context.Context, function, alias string) (map[string]float64, error)
	ClearAliasWeights(ctx context.Context, function, alias string) error
}

// Demand reads the demand signal of a qualifier over a window.
type Demand interface {
	Read(ctx context.Context, function, qualifier string, window time.Duration) (derive.Demand, error)
}

// AutoScaling is the part of Application Auto Scaling a switch carries
// over: the outgoing alias's scalable target, policies and scheduled
// actions, registered on the incoming alias once it is READY.
type AutoScaling interface {
	Plan(ctx context.Context, function, from string) (autoscale.Plan, error)
	Register(ctx context.Context, p autoscale.Plan, to string) (autoscale.Registration, error)
	Finish(ctx context.Context, p autoscale.Plan, to string) error
	Targets(ctx context.Context) (map[string][]autoscale.Target, error)
}

var (
	_ Demand      = (*demand.Reader)(nil)
	_ AutoScaling = (*autoscale.Carrier)(nil)
)

// Publisher sends result messages, answering one error per message.
type Publisher interface {
	Publish(ctx context.Context, msgs []results.Message) []error
}

// FollowUpSender writes prewarm's own continuation messages to the
// follow-up queue, delivered after delay; group and dedup order and
// deduplicate them on a FIFO queue.
type FollowUpSender interface {
	SendFollowUp(ctx context.Context, body []byte, delay time.Duration, group, dedup string) error
}

var (
	_ Control        = (*provision.Controller)(nil)
	_ Publisher      = (*results.Publisher)(nil)
	_ FollowUpSender = (*results.FollowUps)(nil)
)

// Handler processes prewarm's events. Its zero value is not usable; call New.
type Handler struct {
	cfg       config.Config
	control   Control
	publisher Publisher
	followUps FollowUpSender
	// codeDeploy and codePipeline answer the deployment gates; nil when
	// not wired (tests of other paths).
	codeDeploy   CodeDeploy
	codePipeline CodePipeline
	// demand reads CloudWatch for the demand strategy; nil leaves it to
	// fall back.
	demand Demand
	// autoScaling carries Application Auto Scaling over from the outgoing
	// alias; nil for none.
	autoScaling AutoScaling
	log         *slog.Logger
	metrics     *Metrics

	// now and sleep are the clock; tests drive them with the emulator's.
	now   func() time.Time
	sleep func(ctx context.Context, d time.Duration) error

	// Margin is kept free before the invocation deadline for publishing
	// and follow-ups.
	margin time.Duration
	// pollEvery is the gap between two reads of a tracked target.
	pollEvery time.Duration

	// retriesSeen is the control plane's retry count already reported.
	retriesSeen atomic.Int64
}

// Deps are the Handler's collaborators.
type Deps struct {
	Control   Control
	Publisher Publisher
	// FollowUps may be nil when FOLLOWUP_QUEUE_URL is not set.
	FollowUps FollowUpSender
	// CodeDeploy answers lifecycle hooks, CodePipeline ends jobs.
	CodeDeploy   CodeDeploy
	CodePipeline CodePipeline
	// Demand reads what a qualifier ran, for the demand strategy.
	Demand Demand
	// AutoScaling moves scalable targets with a switch.
	AutoScaling AutoScaling
	Log         *slog.Logger
	// Metrics receives Embedded Metric Format lines; nil for none.
	Metrics *Metrics
	Now     func() time.Time
	Sleep   func(ctx context.Context, d time.Duration) error
	// Margin before the invocation deadline (default 3s).
	Margin time.Duration
	// PollInterval is the gap between two reads of a tracked target
	// (default 5s, what keeps the READY-detection lag under 5 s at p95).
	PollInterval time.Duration
}

// New returns a Handler for cfg.
func New(cfg config.Config, d Deps) *Handler {
	h := &Handler{
		cfg: cfg, control: d.Control, publisher: d.Publisher, followUps: d.FollowUps,
		codeDeploy: d.CodeDeploy, codePipeline: d.CodePipeline, demand: d.Demand, autoScaling: d.AutoScaling,
		log: d.Log, metrics: d.Metrics, now: d.Now, sleep: d.Sleep,
		margin: d.Margin, pollEvery: d.PollInterval,
	}
	if h.log == nil {
		h.log = slog.New(slog.DiscardHandler)
	}
	if h.now == nil {
		h.now = time.Now
	}
	if h.sleep == nil {
		h.sleep = provision.Sleep
	}
	if h.margin <= 0 {
		h.margin = 3 * time.Second
	}
	if h.pollEvery <= 0 {
		h.pollEvery = pollEvery
	}
	return h
}

// Response answers a direct invocation: every result published for it.
type Response struct {
	Results []results.Message `json:"results"`
}

// ErrRetry is returned to a direct invocation whose work failed transiently,
// so that the caller (or Lambda's asynchronous retry) tries again.
var ErrRetry = errors.New("transient failure; retry the invocation")

// Invoke handles one raw payload. It has the signature lambda.NewHandler
// accepts.
func (h *Handler) Invoke(ctx context.Context, payload json.RawMessage) (any, error) {
	defer h.reportRetries()
	inv := h.newInvocation(ctx)
	if records, ok := sqsRecords(payload); ok {
		return h.handleSQS(ctx, inv, records), nil
	}
	r := &record{index: 0, id: inv.requestID}
	r.decode(payload, inv.requestID, intent.TriggerDirect)
	h.process(ctx, inv, []*record{r}, false)
	published := r.published
	if published == nil {
		published = []results.Message{} // "results": [] when nothing was published, as a reconcile may
	}
	if r.failed {
		return Response{Results: published}, fmt.Errorf("%w: %s", ErrRetry, r.failure)
	}
	return Response{Results: published}, nil
}

// reportRetries emits the control-plane retries made since the last report,
// when the control plane counts them.
func (h *Handler) reportRetries() {
	counter, ok := h.control.(interface{ Retries() int64 })
	if !ok {
		return
	}
	total := counter.Retries()
	if seen := h.retriesSeen.Swap(total); total > seen {
		h.metrics.Retries(total - seen)
	}
}

// sqsRecords recognises an SQS batch: a top-level "Records" array whose
// entries come from aws:sqs.
func sqsRecords(payload []byte) ([]awsevents.SQSMessage, bool) {
	trimmed := bytes.TrimSpace(payload)
	if len(trimmed) == 0 || trimmed[0] != '{' || !bytes.Contains(trimmed, []byte(`"Records"`)) {
		return nil, false
	}
	var ev awsevents.SQSEvent
	if err := json.Unmarshal(trimmed, &ev); err != nil || len(ev.Records) == 0 {
		return nil, false
	}
	for _, m := range ev.Records {
		if m.EventSource != "aws:sqs" {
			return nil, false
		}
	}
	return ev.Records, true
}

func (h *Handler) handleSQS(ctx context.Context, inv *invocation, msgs []awsevents.SQSMessage) awsevents.SQSEventResponse {
	records := make([]*record, len(msgs))
	for i, m := range msgs {
		r := &record{index: i, id: m.MessageId, messageID: m.MessageId, group: m.Attributes["MessageGroupId"]}
		r.decode([]byte(m.Body), m.MessageId, intent.TriggerSQS)
		records[i] = r
	}
	fifo := strings.HasSuffix(msgs[0].EventSourceARN, ".fifo")
	h.process(ctx, inv, records, fifo)
	if fifo {
		// Lambda's FIFO contract, per message group: a record that failed
		// hands back every record after it in its group, so the group is
		// received again in order. Other groups are not held back.
		failedGroups := map[string]string{}
		for _, r := range records {
			if first, ok := failedGroups[r.group]; ok {
				r.fail("record %s before it in message group %s failed", first, r.group)
			} else if r.isFailed() {
				failedGroups[r.group] = r.messageID
			}
		}
	}
	h.metrics.batchItemFailures(countFailed(records))
	resp := awsevents.SQSEventResponse{BatchItemFailures: []awsevents.SQSBatchItemFailure{}}
	for _, r := range records {
		if r.failed {
			resp.BatchItemFailures = append(resp.BatchItemFailures, awsevents.SQSBatchItemFailure{ItemIdentifier: r.messageID})
			h.log.WarnContext(ctx, "record will be retried", "messageId", r.messageID, "reason", r.failure)
		}
	}
	return resp
}

func countFailed(records []*record) int {
	n := 0
	for _, r := range records {
		if r.isFailed() {
			n++
		}
	}
	return n
}

// invocation is the state shared by the records of one invocation.
type invocation struct {
	requestID string
	// account and region are prewarm's own: the invoked function's
	// account, and AWS_REGION (else the invoked function's Region).
	account, region string
	// start is when the invocation began: its WAIT_SECONDS run from here.
	start time.Time

	// headroom serialises the derivations that spend the account's
	// unreserved concurrency.
	headroom sync.Mutex

	mu          sync.Mutex
	unreserved  *int64
	reservation map[string]reservation
}

type reservation struct {
	n  int64
	ok bool
}

func (h *Handler) newInvocation(ctx context.Context) *invocation {
	inv := &invocation{reservation: map[string]reservation{}, start: h.now(), region: h.cfg.Region}
	if lc, ok := lambdacontext.FromContext(ctx); ok {
		inv.requestID = lc.AwsRequestID
		// arn:aws:lambda:REGION:ACCOUNT:function:NAME[:QUALIFIER]
		if parts := strings.Split(lc.InvokedFunctionArn, ":"); len(parts) >= 5 {
			inv.account = parts[4]
			if inv.region == "" {
				inv.region = parts[3]
			}
		}
	}
	return inv
}

// unreservedConcurrency reads the account's unreserved concurrency at most
// once per invocation.
func (h *Handler) unreservedConcurrency(ctx context.Context, inv *invocation) (int64, error) {
	inv.mu.Lock()
	defer inv.mu.Unlock()
	if inv.unreserved != nil {
		return *inv.unreserved, nil
	}
	n, err := h.control.Unreserved(ctx)
	if err != nil {
		return 0, err
	}
	inv.unreserved = &n
	return n, nil
}

// cachedUnreserved is the account's unreserved concurrency as this
// invocation last knew it (after unreservedConcurrency read it).
func (inv *invocation) cachedUnreserved() int64 {
	inv.mu.Lock()
	defer inv.mu.Unlock()
	if inv.unreserved == nil {
		return 0
	}
	return *inv.unreserved
}

// adjustUnreserved keeps the cached account figure true after this
// invocation gave function delta more provisioned concurrency (or took some
// back). A function known to have its own reservation draws on that, not on
// the account's unreserved concurrency.
func (inv *invocation) adjustUnreserved(function string, delta int64) {
	inv.mu.Lock()
	defer inv.mu.Unlock()
	if inv.reservation[function].ok {
		return
	}
	if inv.unreserved != nil {
		n := *inv.unreserved - delta
		inv.unreserved = &n
	}
}

func (h *Handler) functionReservation(ctx context.Context, inv *invocation, function string) (int64, bool, error) {
	inv.mu.Lock()
	r, cached := inv.reservation[function]
	inv.mu.Unlock()
	if cached {
		return r.n, r.ok, nil
	}
	n, ok, err := h.control.Reservation(ctx, function)
	if err != nil {
		return 0, false, err
	}
	inv.mu.Lock()
	inv.reservation[function] = reservation{n: n, ok: ok}
	inv.mu.Unlock()
	return n, ok, nil
}
