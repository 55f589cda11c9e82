// Package codedeploysim emulates the CodeDeploy operations a Lambda deployment's lifecycle hook
// calls (AWS JSON 1.1, X-Amz-Target: CodeDeploy_20141006.<Op>): GetDeployment,
// ListDeploymentTargets, GetDeploymentTarget and PutLifecycleEventHookExecutionStatus.
// Deployments are seeded from the world file or created in process; the deployment driver
// (localaws/deploysim) moves them through their lifecycle events with the Go methods here.
package codedeploysim

import (
	"context"
	"crypto/rand"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"regexp"
	"slices"
	"sync"
	"time"

	"github.com/prewarm/prewarm/localaws/awsproto"
	"github.com/prewarm/prewarm/localaws/clock"
)

// Lifecycle events of a Lambda deployment, in order, as GetDeploymentTarget lists them.
const (
	EventStart              = "Start"
	EventBeforeAllowTraffic = "BeforeAllowTraffic"
	EventAllowTraffic       = "AllowTraffic"
	EventAfterAllowTraffic  = "AfterAllowTraffic"
	EventEnd                = "End"
)

var lambdaEvents = []string{EventStart, EventBeforeAllowTraffic, EventAllowTraffic, EventAfterAllowTraffic, EventEnd}

// Lifecycle event statuses.
const (
	StatusPending    = "Pending"
	StatusInProgress = "InProgress"
	StatusSucceeded  = "Succeeded"
	StatusFailed     = "Failed"
	StatusSkipped    = "Skipped"
)

// Deployment statuses (deploymentInfo.status).
const (
	DeploymentCreated    = "Created"
	DeploymentInProgress = "InProgress"
	DeploymentSucceeded  = "Succeeded"
	DeploymentFailed     = "Failed"
	DeploymentStopped    = "Stopped"
)

// World is the world file's "codeDeploy" section.
type World struct {
	Deployments []Deployment `json:"deployments,omitempty"`
}

// Deployment describes a Lambda deployment: traffic on Alias of FunctionName moves from
// CurrentVersion to TargetVersion.
type Deployment struct {
	// ID is the deployment id ("d-" and nine upper-case letters or digits); one is made up
	// when empty.
	ID              string `json:"id,omitempty"`
	Application     string `json:"application,omitempty"`
	DeploymentGroup string `json:"deploymentGroup,omitempty"`
	// Config is the deployment configuration, CodeDeployDefault.LambdaAllAtOnce when empty.
	Config         string `json:"deploymentConfig,omitempty"`
	FunctionName   string `json:"functionName"`
	Alias          string `json:"alias"`
	CurrentVersion string `json:"currentVersion"`
	TargetVersion  string `json:"targetVersion"`
	// Hooks name the hook functions, as the AppSpec's Hooks section does.
	Hooks Hooks `json:"hooks,omitempty"`
	// AppSpecJSON writes the AppSpec as JSON instead of YAML.
	AppSpecJSON bool `json:"appSpecJson,omitempty"`
	// NoTarget makes ListDeploymentTargets answer no target, as for a deployment CodeDeploy
	// has not expanded yet: a hook must then read the AppSpec.
	NoTarget bool `json:"noTarget,omitempty"`
	// InProgress seeds the deployment with this hook event (BeforeAllowTraffic or
	// AfterAllowTraffic) running, under ExecutionID (made up when empty).
	InProgress  string `json:"inProgress,omitempty"`
	ExecutionID string `json:"executionId,omitempty"`
}

// Hooks are the hook functions of a deployment.
type Hooks struct {
	BeforeAllowTraffic string `json:"beforeAllowTraffic,omitempty"`
	AfterAllowTraffic  string `json:"afterAllowTraffic,omitempty"`
}

// DefaultConfig is the deployment configuration of a Deployment that names none.
const DefaultConfig = "CodeDeployDefault.LambdaAllAtOnce"

var deploymentIDPattern = regexp.MustCompile(`^d-[A-Z0-9]{9}$`)

// Validate reports the first problem with d.
func (d Deployment) Validate() error {
	switch {
	case d.ID != "" && !deploymentIDPattern.MatchString(d.ID):
		return fmt.Errorf("deployment id %q is not d- and nine upper-case letters or digits", d.ID)
	case d.FunctionName == "" || d.Alias == "" || d.CurrentVersion == "" || d.TargetVersion == "":
		return fmt.Errorf("deployment %s: functionName, alias, currentVersion and targetVersion are required", d.ID)
	case d.CurrentVersion == d.TargetVersion:
		return fmt.Errorf("deployment %s: currentVersion and targetVersion are both %s", d.ID, d.CurrentVersion)
	case d.InProgress != "" && d.InProgress != EventBeforeAllowTraffic && d.InProgress != EventAfterAllowTraffic:
		return fmt.Errorf("deployment %s: inProgress %q is neither %s nor %s", d.ID, d.InProgress, EventBeforeAllowTraffic, EventAfterAllowTraffic)
	case d.ExecutionID != "" && d.InProgress == "":
		return fmt.Errorf("deployment %s: executionId without inProgress", d.ID)
	}
	if _, ok := configs[d.configName()]; !ok {
		return fmt.Errorf("deployment %s: deploymentConfig %q is not one of %v", d.ID, d.Config, ConfigNames())
	}
	return nil
}

func (d Deployment) configName() string { return configName(d.Config) }

// Config configures a Service.
type Config struct {
	AccountID, Region string
	World             World
	Clock             clock.Clock // clock.Real{} when nil
}

// Validate reports the first problem with c's world.
func (c Config) Validate() error {
	seen := map[string]bool{}
	for _, d := range c.World.Deployments {
		if err := d.Validate(); err != nil {
			return fmt.Errorf("codeDeploy: %w", err)
		}
		if d.ID != "" && seen[d.ID] {
			return fmt.Errorf("codeDeploy: deployment %s is listed twice", d.ID)
		}
		seen[d.ID] = true
	}
	return nil
}

// Service is one account and Region's CodeDeploy.
type Service struct {
	accountID, region string
	clock             clock.Clock

	mu          sync.Mutex
	deployments map[string]*deployment
	changed     chan struct{} // closed and replaced on every change
}

type deployment struct {
	spec         Deployment
	status       string
	events       []*lifecycleEvent
	executions   map[string]*execution
	targetWeight float64
	created      time.Time
	completed    time.Time
	errorCode    string
	errorMessage string
}

type lifecycleEvent struct {
	name, status string
	start, end   time.Time
}

type execution struct {
	id, event, status string
}

// New returns the service seeded with cfg.World.
func New(cfg Config) (*Service, error) {
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	s := &Service{accountID: cfg.AccountID, region: cfg.Region, clock: cfg.Clock, deployments: map[string]*deployment{}, changed: make(chan struct{})}
	if s.clock == nil {
		s.clock = clock.Real{}
	}
	for _, d := range cfg.World.Deployments {
		id, err := s.Create(d)
		if err != nil {
			return nil, err
		}
		if d.InProgress != "" {
			if _, err := s.beginHook(id, d.InProgress, d.ExecutionID); err != nil {
				return nil, err
			}
		}
	}
	return s, nil
}

// Create adds deployment d (status Created, every event Pending) and returns its id.
func (s *Service) Create(d Deployment) (string, error) {
	if err := d.Validate(); err != nil {
		return "", fmt.Errorf("create deployment: %w", err)
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if d.ID == "" {
		d.ID = newDeploymentID()
	}
	if s.deployments[d.ID] != nil {
		return "", fmt.Errorf("create deployment: %s exists", d.ID)
	}
	d.Config = d.configName()
	dep := &deployment{spec: d, status: DeploymentCreated, executions: map[string]*execution{}, created: s.clock.Now()}
	for _, name := range lambdaEvents {
		dep.events = append(dep.events, &lifecycleEvent{name: name, status: StatusPending})
	}
	s.deployments[d.ID] = dep
	s.notify()
	return d.ID, nil
}

// notify wakes the waiters; s.mu is held.
func (s *Service) notify() {
	close(s.changed)
	s.changed = make(chan struct{})
}

func (s *Service) lookup(id string) (*deployment, error) {
	d := s.deployments[id]
	if d == nil {
		return nil, fmt.Errorf("deployment %s does not exist", id)
	}
	return d, nil
}

func (d *deployment) event(name string) *lifecycleEvent {
	for _, e := range d.events {
		if e.name == name {
			return e
		}
	}
	return nil
}

// Start marks the deployment InProgress and its Start event Succeeded.
func (s *Service) Start(id string) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	d, err := s.lookup(id)
	if err != nil {
		return fmt.Errorf("start deployment: %w", err)
	}
	now := s.clock.Now()
	d.status = DeploymentInProgress
	e := d.event(EventStart)
	e.status, e.start, e.end = StatusSucceeded, now, now
	s.notify()
	return nil
}

// BeginHook marks hook event (BeforeAllowTraffic or AfterAllowTraffic) InProgress and returns
// the id of its new hook execution, which the hook function reports against.
func (s *Service) BeginHook(id, event string) (string, error) {
	return s.beginHook(id, event, "")
}

func (s *Service) beginHook(id, event, executionID string) (string, error) {
	if event != EventBeforeAllowTraffic && event != EventAfterAllowTraffic {
		return "", fmt.Errorf("begin hook of %s: %q is not a hook event", id, event)
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	d, err := s.lookup(id)
	if err != nil {
		return "", fmt.Errorf("begin hook %s: %w", event, err)
	}
	now := s.clock.Now()
	if d.status == DeploymentCreated {
		d.status = DeploymentInProgress
	}
	// Events before this one ran (or are left as they ended).
	for _, e := range d.events {
		if e.name == event {
			break
		}
		if e.status == StatusPending {
			e.status, e.start, e.end = StatusSucceeded, now, now
		}
	}
	if executionID == "" {
		executionID = newExecutionID(id, event)
	}
	e := d.event(event)
	e.status, e.start = StatusInProgress, now
	d.executions[executionID] = &execution{id: executionID, event: event, status: StatusInProgress}
	s.notify()
	return executionID, nil
}

// SetEvent sets a lifecycle event's status (the driver runs AllowTraffic and End with it).
func (s *Service) SetEvent(id, event, status string) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	d, err := s.lookup(id)
	if err != nil {
		return fmt.Errorf("set event %s: %w", event, err)
	}
	e := d.event(event)
	if e == nil {
		return fmt.Errorf("set event of %s: %q is not a lifecycle event", id, event)
	}
	now := s.clock.Now()
	if e.start.IsZero() {
		e.start = now
	}
	e.status = status
	if status != StatusInProgress && status != StatusPending {
		e.end = now
	}
	s.notify()
	return nil
}

// SetTargetWeight records the share of traffic on the target version (targetVersionWeight).
func (s *Service) SetTargetWeight(id string, weight float64) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	d, err := s.lookup(id)
	if err != nil {
		return fmt.Errorf("set target weight: %w", err)
	}
	d.targetWeight = weight
	s.notify()
	return nil
}

// Finish ends the deployment with status (Succeeded, Failed or Stopped) and, for a failure,
// AWS's error code and message. Events still running fail, events not reached are skipped,
// and hook executions still open can no longer be answered.
func (s *Service) Finish(id, status, code, message string) error {
	if status != DeploymentSucceeded && status != DeploymentFailed && status != DeploymentStopped {
		return fmt.Errorf("finish deployment %s: %q is not a final status", id, status)
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	d, err := s.lookup(id)
	if err != nil {
		return fmt.Errorf("finish deployment: %w", err)
	}
	now := s.clock.Now()
	d.status, d.completed, d.errorCode, d.errorMessage = status, now, code, message
	for _, e := range d.events {
		switch e.status {
		case StatusInProgress:
			e.status, e.end = StatusFailed, now
			if status == DeploymentSucceeded {
				e.status = StatusSucceeded
			}
		case StatusPending:
			e.status = StatusSkipped
			if status == DeploymentSucceeded {
				e.status, e.start, e.end = StatusSucceeded, now, now
			}
		}
	}
	for _, x := range d.executions {
		if x.status == StatusInProgress {
			x.status = StatusFailed
		}
	}
	s.notify()
	return nil
}

// HookStatus returns a hook execution's status: InProgress until the hook reports, then
// Succeeded or Failed; false when there is no such execution.
func (s *Service) HookStatus(id, executionID string) (string, bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	d := s.deployments[id]
	if d == nil || d.executions[executionID] == nil {
		return "", false
	}
	return d.executions[executionID].status, true
}

// WaitHook blocks until the hook execution has reported (Succeeded or Failed) or ctx is done.
func (s *Service) WaitHook(ctx context.Context, id, executionID string) (string, error) {
	for {
		s.mu.Lock()
		d := s.deployments[id]
		var x *execution
		if d != nil {
			x = d.executions[executionID]
		}
		if x == nil {
			s.mu.Unlock()
			return "", fmt.Errorf("wait for hook: deployment %s has no hook execution %s", id, executionID)
		}
		status, changed := x.status, s.changed
		s.mu.Unlock()
		if status != StatusInProgress {
			return status, nil
		}
		select {
		case <-ctx.Done():
			return "", fmt.Errorf("wait for hook %s of %s: %w", executionID, id, ctx.Err())
		case <-changed:
		}
	}
}

// Info is a deployment as tests read it.
type Info struct {
	Deployment
	Status       string
	Events       []Event
	TargetWeight float64
	ErrorCode    string
	ErrorMessage string
}

// Event is a lifecycle event and its status.
type Event struct {
	Name, Status string
}

// Deployment returns deployment id as it stands, and false when there is none.
func (s *Service) Deployment(id string) (Info, bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	d := s.deployments[id]
	if d == nil {
		return Info{}, false
	}
	info := Info{Deployment: d.spec, Status: d.status, TargetWeight: d.targetWeight, ErrorCode: d.errorCode, ErrorMessage: d.errorMessage}
	for _, e := range d.events {
		info.Events = append(info.Events, Event{Name: e.name, Status: e.status})
	}
	return info, true
}

// Deployments returns the ids of every deployment, in order.
func (s *Service) Deployments() []string {
	s.mu.Lock()
	defer s.mu.Unlock()
	ids := make([]string, 0, len(s.deployments))
	for id := range s.deployments {
		ids = append(ids, id)
	}
	slices.Sort(ids)
	return ids
}

const idAlphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789"

func newDeploymentID() string {
	b := make([]byte, 9)
	_, _ = rand.Read(b)
	for i := range b {
		b[i] = idAlphabet[int(b[i])%len(idAlphabet)]
	}
	return "d-" + string(b)
}

// newExecutionID makes an opaque execution id shaped like CodeDeploy's (base64 of a JSON
// document).
func newExecutionID(deploymentID, event string) string {
	nonce := make([]byte, 12)
	_, _ = rand.Read(nonce)
	doc, _ := json.Marshal(map[string]string{"deploymentId": deploymentID, "lifecycleEvent": event, "nonce": base64.RawURLEncoding.EncodeToString(nonce)})
	return base64.StdEncoding.EncodeToString(doc)
}

// API returns the service's wire protocol, for registration with the emulator.
func (s *Service) API() awsproto.Service {
	return &awsproto.JSON{
		Service: "codedeploy", Version: awsproto.JSON11, TargetPrefix: "CodeDeploy_20141006",
		Operations: map[string]awsproto.Operation{
			"GetDeployment":                        awsproto.Op(s.getDeployment),
			"ListDeploymentTargets":                awsproto.Op(s.listDeploymentTargets),
			"GetDeploymentTarget":                  awsproto.Op(s.getDeploymentTarget),
			"PutLifecycleEventHookExecutionStatus": awsproto.Op(s.putLifecycleEventHookExecutionStatus),
		},
	}
}
