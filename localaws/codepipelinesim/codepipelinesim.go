// Package codepipelinesim emulates the CodePipeline operations a Lambda invoke action calls to
// end its job (AWS JSON 1.1, X-Amz-Target: CodePipeline_20150709.<Op>): PutJobSuccessResult
// and PutJobFailureResult. Jobs are seeded from the world file's "codePipeline" section or
// created in process (by a test or a driver), which also builds the CodePipeline.job event to
// invoke the function with; each job's result is recorded, and a job takes one result only.
package codepipelinesim

import (
	"context"
	"crypto/rand"
	"encoding/json"
	"fmt"
	"maps"
	"net/http"
	"regexp"
	"sync"
	"time"
	"unicode/utf8"

	awsevents "github.com/aws/aws-lambda-go/events"

	"github.com/prewarm/prewarm/localaws/awsproto"
	"github.com/prewarm/prewarm/localaws/clock"
)

// Job statuses.
const (
	JobInProgress = "InProgress"
	JobSucceeded  = "Succeeded"
	JobFailed     = "Failed"
	// JobContinued is a job answered with a continuation token: it is over, and a new job of
	// the same action carries the token.
	JobContinued = "Continued"
)

// World is the world file's "codePipeline" section: jobs in progress from the start, as
// CodePipeline holds them while a Lambda invoke action waits for its function.
type World struct {
	Jobs []Job `json:"jobs,omitempty"`
}

// Job is a Lambda invoke action's job.
type Job struct {
	// ID is a lower-case UUID, the CodePipeline.job event's id; one is made up when empty,
	// except in the world file, where it is required.
	ID string `json:"id"`
	// FunctionName is the invoked function (configuration.FunctionName).
	FunctionName string `json:"functionName,omitempty"`
	// UserParameters is the action's configuration.UserParameters.
	UserParameters string `json:"userParameters,omitempty"`
	// ContinuationToken is set on a job that continues an earlier one.
	ContinuationToken string `json:"continuationToken,omitempty"`
}

// Result is the answer a job received.
type Result struct {
	// Status is JobSucceeded, JobFailed or JobContinued.
	Status string `json:"status"`
	// Success: the output variables, the summary and, for a continuation, the token and the
	// job that carries it.
	OutputVariables   map[string]string `json:"outputVariables,omitempty"`
	Summary           string            `json:"summary,omitempty"`
	ContinuationToken string            `json:"continuationToken,omitempty"`
	NextJobID         string            `json:"nextJobId,omitempty"`
	// Failure: failureDetails.type and message.
	FailureType    string    `json:"failureType,omitempty"`
	FailureMessage string    `json:"failureMessage,omitempty"`
	At             time.Time `json:"at"`
}

// Config configures a Service.
type Config struct {
	AccountID, Region string
	// World seeds jobs, each in progress.
	World World
	Clock clock.Clock // clock.Real{} when nil
}

// Validate reports the first problem with c's world.
func (c Config) Validate() error {
	seen := map[string]bool{}
	for i, j := range c.World.Jobs {
		switch {
		case j.ID == "":
			return fmt.Errorf("codePipeline: job %d: id is required (the id of the CodePipeline.job event that answers it)", i+1)
		case !jobIDPattern.MatchString(j.ID):
			return fmt.Errorf("codePipeline: job id %q is not a lower-case UUID", j.ID)
		case seen[j.ID]:
			return fmt.Errorf("codePipeline: job %s is listed twice", j.ID)
		}
		seen[j.ID] = true
	}
	return nil
}

// Service is one account and Region's CodePipeline job results.
type Service struct {
	accountID, region string
	clock             clock.Clock

	mu      sync.Mutex
	jobs    map[string]*job
	order   []string
	changed chan struct{}
}

type job struct {
	spec   Job
	status string
	result *Result
}

// New returns the service with the jobs of cfg.World in progress.
func New(cfg Config) (*Service, error) {
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	s := &Service{accountID: cfg.AccountID, region: cfg.Region, clock: cfg.Clock, jobs: map[string]*job{}, changed: make(chan struct{})}
	if s.clock == nil {
		s.clock = clock.Real{}
	}
	for _, j := range cfg.World.Jobs {
		if _, err := s.CreateJob(j); err != nil {
			return nil, err
		}
	}
	return s, nil
}

var jobIDPattern = regexp.MustCompile(`^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$`)

// CreateJob adds job j, in progress, and returns its id.
func (s *Service) CreateJob(j Job) (string, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.create(j)
}

func (s *Service) create(j Job) (string, error) {
	if j.ID == "" {
		j.ID = newJobID()
	}
	if !jobIDPattern.MatchString(j.ID) {
		return "", fmt.Errorf("create job: id %q is not a lower-case UUID", j.ID)
	}
	if s.jobs[j.ID] != nil {
		return "", fmt.Errorf("create job: %s exists", j.ID)
	}
	s.jobs[j.ID] = &job{spec: j, status: JobInProgress}
	s.order = append(s.order, j.ID)
	s.notify()
	return j.ID, nil
}

func (s *Service) notify() {
	close(s.changed)
	s.changed = make(chan struct{})
}

// Event returns the CodePipeline.job event that invokes the function for job id, with
// artifact credentials as CodePipeline sends them (made-up ones here).
func (s *Service) Event(id string) ([]byte, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	j := s.jobs[id]
	if j == nil {
		return nil, fmt.Errorf("job event: job %s does not exist", id)
	}
	ev := awsevents.CodePipelineJobEvent{CodePipelineJob: awsevents.CodePipelineJob{
		ID: id, AccountID: s.accountID,
		Data: awsevents.CodePipelineData{
			ActionConfiguration: awsevents.CodePipelineActionConfiguration{Configuration: awsevents.CodePipelineConfiguration{
				FunctionName: j.spec.FunctionName, UserParameters: j.spec.UserParameters,
			}},
			InputArtifacts:  []awsevents.CodePipelineInputArtifact{},
			OutPutArtifacts: []awsevents.CodePipelineOutputArtifact{},
			ArtifactCredentials: awsevents.CodePipelineArtifactCredentials{
				AccessKeyID: "ASIALOCALAWSEXAMPLE1", SecretAccessKey: "localaws/artifact/secret/" + id[:8], SessionToken: "localaws-artifact-session-" + id,
			},
			ContinuationToken: j.spec.ContinuationToken,
		},
	}}
	b, err := json.Marshal(ev)
	if err != nil {
		return nil, fmt.Errorf("job event %s: %w", id, err)
	}
	return b, nil
}

// Status returns job id's status and its result (nil while in progress); false when there
// is no such job.
func (s *Service) Status(id string) (string, *Result, bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	j := s.jobs[id]
	if j == nil {
		return "", nil, false
	}
	if j.result == nil {
		return j.status, nil, true
	}
	r := *j.result
	r.OutputVariables = maps.Clone(r.OutputVariables)
	return j.status, &r, true
}

// Wait blocks until job id has a result or ctx is done.
func (s *Service) Wait(ctx context.Context, id string) (Result, error) {
	for {
		s.mu.Lock()
		j, changed := s.jobs[id], s.changed
		var r *Result
		if j != nil && j.result != nil {
			c := *j.result
			r = &c
		}
		s.mu.Unlock()
		switch {
		case j == nil:
			return Result{}, fmt.Errorf("wait for job %s: no such job", id)
		case r != nil:
			return *r, nil
		}
		select {
		case <-ctx.Done():
			return Result{}, fmt.Errorf("wait for job %s: %w", id, ctx.Err())
		case <-changed:
		}
	}
}

// Jobs returns the ids of every job, in the order they were created.
func (s *Service) Jobs() []string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]string(nil), s.order...)
}

// API returns the service's wire protocol, for registration with the emulator.
func (s *Service) API() awsproto.Service {
	return &awsproto.JSON{
		Service: "codepipeline", Version: awsproto.JSON11, TargetPrefix: "CodePipeline_20150709",
		Operations: map[string]awsproto.Operation{
			"PutJobSuccessResult": awsproto.Op(s.putJobSuccessResult),
			"PutJobFailureResult": awsproto.Op(s.putJobFailureResult),
		},
	}
}

func newJobID() string {
	var b [16]byte
	_, _ = rand.Read(b[:])
	b[6] = b[6]&0x0f | 0x40
	b[8] = b[8]&0x3f | 0x80
	return fmt.Sprintf("%x-%x-%x-%x-%x", b[0:4], b[4:6], b[6:8], b[8:10], b[10:])
}

func apiError(code, format string, args ...any) *awsproto.Error {
	return &awsproto.Error{Status: http.StatusBadRequest, Code: code, Message: fmt.Sprintf(format, args...)}
}

// Limits of the API (characters).
const (
	maxMessage  = 5000
	maxSummary  = 2048
	maxTokenLen = 2048
)

// inProgress finds the job a result is for. s.mu is held.
func (s *Service) inProgress(id string) (*job, *awsproto.Error) {
	if !jobIDPattern.MatchString(id) {
		return nil, apiError("ValidationException", "1 validation error detected: Value '%s' at 'jobId' failed to satisfy constraint: Member must satisfy regular expression pattern: [0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}", id)
	}
	j := s.jobs[id]
	if j == nil {
		return nil, apiError("JobNotFoundException", "The job was specified in an invalid format or cannot be found.")
	}
	if j.status != JobInProgress {
		return nil, apiError("InvalidJobStateException", "The job %s is in state %s; a result can only be recorded for a job in progress.", id, j.status)
	}
	return j, nil
}

type executionDetails struct {
	Summary             *string `json:"summary"`
	ExternalExecutionID *string `json:"externalExecutionId"`
	PercentComplete     *int    `json:"percentComplete"`
}

type putJobSuccessResultInput struct {
	JobID             string            `json:"jobId"`
	ContinuationToken *string           `json:"continuationToken"`
	ExecutionDetails  *executionDetails `json:"executionDetails"`
	OutputVariables   map[string]string `json:"outputVariables"`
}

var variableName = regexp.MustCompile(`^[A-Za-z0-9@\-_]+$`)

func (s *Service) putJobSuccessResult(_ context.Context, in *putJobSuccessResultInput) (*struct{}, *awsproto.Error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	j, err := s.inProgress(in.JobID)
	if err != nil {
		return nil, err
	}
	r := Result{Status: JobSucceeded, At: s.clock.Now()}
	if d := in.ExecutionDetails; d != nil && d.Summary != nil {
		if n := utf8.RuneCountInString(*d.Summary); n < 1 || n > maxSummary {
			return nil, apiError("ValidationException", "1 validation error detected: Value at 'executionDetails.summary' failed to satisfy constraint: Member must have length between 1 and %d", maxSummary)
		}
		r.Summary = *d.Summary
	}
	for k := range in.OutputVariables {
		if !variableName.MatchString(k) {
			return nil, apiError("ValidationException", "Output variable name %q must match [A-Za-z0-9@\\-_]+", k)
		}
	}
	if in.ContinuationToken != nil {
		if len(in.OutputVariables) > 0 {
			return nil, apiError("ValidationException", "Output variables cannot be specified with a continuation token.")
		}
		if n := len(*in.ContinuationToken); n < 1 || n > maxTokenLen {
			return nil, apiError("ValidationException", "1 validation error detected: Value at 'continuationToken' failed to satisfy constraint: Member must have length between 1 and %d", maxTokenLen)
		}
		next, cerr := s.create(Job{FunctionName: j.spec.FunctionName, UserParameters: j.spec.UserParameters, ContinuationToken: *in.ContinuationToken})
		if cerr != nil {
			return nil, awsproto.InternalFailure(cerr.Error())
		}
		r.Status, r.ContinuationToken, r.NextJobID = JobContinued, *in.ContinuationToken, next
	}
	r.OutputVariables = maps.Clone(in.OutputVariables)
	j.status, j.result = r.Status, &r
	s.notify()
	return nil, nil
}

type failureDetails struct {
	Type                string  `json:"type"`
	Message             *string `json:"message"`
	ExternalExecutionID *string `json:"externalExecutionId"`
}

type putJobFailureResultInput struct {
	JobID          string          `json:"jobId"`
	FailureDetails *failureDetails `json:"failureDetails"`
}

var failureTypes = map[string]bool{
	"JobFailed": true, "ConfigurationError": true, "PermissionError": true,
	"RevisionOutOfSync": true, "RevisionUnavailable": true, "SystemUnavailable": true,
}

func (s *Service) putJobFailureResult(_ context.Context, in *putJobFailureResultInput) (*struct{}, *awsproto.Error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	j, err := s.inProgress(in.JobID)
	if err != nil {
		return nil, err
	}
	d := in.FailureDetails
	switch {
	case d == nil:
		return nil, apiError("ValidationException", "1 validation error detected: Value null at 'failureDetails' failed to satisfy constraint: Member must not be null")
	case !failureTypes[d.Type]:
		return nil, apiError("ValidationException", "1 validation error detected: Value '%s' at 'failureDetails.type' failed to satisfy constraint: Member must satisfy enum value set: [JobFailed, ConfigurationError, PermissionError, RevisionOutOfSync, RevisionUnavailable, SystemUnavailable]", d.Type)
	case d.Message == nil:
		return nil, apiError("ValidationException", "1 validation error detected: Value null at 'failureDetails.message' failed to satisfy constraint: Member must not be null")
	}
	if n := utf8.RuneCountInString(*d.Message); n < 1 || n > maxMessage {
		return nil, apiError("ValidationException", "1 validation error detected: Value at 'failureDetails.message' failed to satisfy constraint: Member must have length between 1 and %d", maxMessage)
	}
	r := Result{Status: JobFailed, FailureType: d.Type, FailureMessage: *d.Message, At: s.clock.Now()}
	j.status, j.result = r.Status, &r
	s.notify()
	return nil, nil
}
