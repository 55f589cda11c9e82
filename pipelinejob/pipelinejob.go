// Package pipelinejob provides what prewarm needs of CodePipeline to act as a Lambda invoke
// action: ending the job it was invoked for exactly once, with success and output variables
// (Succeed), a continuation (Continue) or a failure (Fail).
package pipelinejob

import (
	"context"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"unicode/utf8"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/codepipeline"
	"github.com/aws/aws-sdk-go-v2/service/codepipeline/types"

	"github.com/prewarm/prewarm/awsfault"
)

// API is the part of *codepipeline.Client a job's action calls.
type API interface {
	PutJobSuccessResult(ctx context.Context, params *codepipeline.PutJobSuccessResultInput, optFns ...func(*codepipeline.Options)) (*codepipeline.PutJobSuccessResultOutput, error)
	PutJobFailureResult(ctx context.Context, params *codepipeline.PutJobFailureResultInput, optFns ...func(*codepipeline.Options)) (*codepipeline.PutJobFailureResultOutput, error)
}

var _ API = (*codepipeline.Client)(nil)

// Limits of the CodePipeline API on the texts a result carries, in characters; texts are cut
// to as many bytes, which is never more characters however they are counted.
const (
	MaxMessage = 5000 // failureDetails.message
	MaxSummary = 2048 // executionDetails.summary
)

// FailureType is failureDetails.type.
type FailureType string

// Failure types prewarm reports.
const (
	JobFailed          FailureType = "JobFailed"          // the change failed: FAILED, TIMED_OUT
	ConfigurationError FailureType = "ConfigurationError" // the intent was refused: UserParameters, allowlist, guardrails
	PermissionError    FailureType = "PermissionError"    // AWS refused prewarm's calls
)

// Outcome says what a result call did.
type Outcome int

// Outcomes.
const (
	Ended        Outcome = iota + 1 // the job ended (or, with Continue, was continued) as asked
	AlreadyEnded                    // the job had ended before: nothing changed
)

// String returns "ended" or "already ended".
func (o Outcome) String() string {
	switch o {
	case Ended:
		return "ended"
	case AlreadyEnded:
		return "already ended"
	}
	return fmt.Sprintf("Outcome(%d)", int(o))
}

// Error is a failed CodePipeline call.
type Error struct {
	Op        string // "PutJobSuccessResult" or "PutJobFailureResult"
	JobID     string
	Code      string // AWS's error code, or awsfault's
	Message   string
	Transient bool
	Err       error
}

// Error returns "codepipeline OP job JOB: CODE: MESSAGE".
func (e *Error) Error() string {
	return fmt.Sprintf("codepipeline %s job %s: %s: %s", e.Op, e.JobID, e.Code, e.Message)
}

func (e *Error) Unwrap() error { return e.Err }

// IsTransient reports whether err is a CodePipeline error worth another try.
func IsTransient(err error) bool {
	var e *Error
	if errors.As(err, &e) {
		return e.Transient
	}
	return errors.Is(err, context.DeadlineExceeded) || errors.Is(err, context.Canceled)
}

// result judges the error of a result call: a job no longer in progress has been ended by an
// earlier invocation (Lambda retries asynchronous invocations), which is done, not an error.
func result(op, jobID string, err error) (Outcome, error) {
	var ended *types.InvalidJobStateException
	switch {
	case err == nil:
		return Ended, nil
	case errors.As(err, &ended):
		return AlreadyEnded, nil
	}
	f := awsfault.Classify(err)
	return 0, &Error{Op: op, JobID: jobID, Code: f.Code, Message: f.Message, Transient: f.Transient, Err: err}
}

// Succeed ends job jobID successfully, with outputVariables (nil for none) and summary.
func Succeed(ctx context.Context, api API, jobID string, outputVariables map[string]string, summary string) (Outcome, error) {
	_, err := api.PutJobSuccessResult(ctx, &codepipeline.PutJobSuccessResultInput{
		JobId:            aws.String(jobID),
		ExecutionDetails: details(summary),
		OutputVariables:  outputVariables,
	})
	return result("PutJobSuccessResult", jobID, err)
}

// Continue answers job jobID with a continuation token: CodePipeline invokes the action
// again with it (and times the action out 20 minutes after the last answer). Output
// variables cannot go with a continuation.
func Continue(ctx context.Context, api API, jobID, continuationToken, summary string) (Outcome, error) {
	if continuationToken == "" {
		return 0, &Error{Op: "PutJobSuccessResult", JobID: jobID, Code: "ValidationException",
			Message: "a continuation needs a continuation token", Err: errors.New("empty continuation token")}
	}
	_, err := api.PutJobSuccessResult(ctx, &codepipeline.PutJobSuccessResultInput{
		JobId:             aws.String(jobID),
		ContinuationToken: aws.String(continuationToken),
		ExecutionDetails:  details(summary),
	})
	return result("PutJobSuccessResult", jobID, err)
}

// Fail ends job jobID as failed with failureType and message, cut to MaxMessage.
func Fail(ctx context.Context, api API, jobID string, failureType FailureType, message string) (Outcome, error) {
	if message == "" {
		message = "prewarm failed the job"
	}
	_, err := api.PutJobFailureResult(ctx, &codepipeline.PutJobFailureResultInput{
		JobId:          aws.String(jobID),
		FailureDetails: &types.FailureDetails{Type: types.FailureType(failureType), Message: aws.String(Cut(message, MaxMessage))},
	})
	return result("PutJobFailureResult", jobID, err)
}

func details(summary string) *types.ExecutionDetails {
	if summary == "" {
		return nil
	}
	return &types.ExecutionDetails{Summary: aws.String(Cut(summary, MaxSummary))}
}

// Cut returns s shortened to at most limit bytes on a character boundary, ending with "…"
// when it was cut. Invalid UTF-8 is replaced, so the result is always valid.
func Cut(s string, limit int) string {
	s = strings.ToValidUTF8(s, "\uFFFD")
	if len(s) <= limit {
		return s
	}
	ellipsis := "…"
	if limit < len(ellipsis) {
		ellipsis = ""
	}
	cut := max(limit-len(ellipsis), 0)
	for cut > 0 && !utf8.RuneStart(s[cut]) {
		cut--
	}
	return s[:cut] + ellipsis
}

// Output variable names, as a later action reads them (#{NAMESPACE.outcome}).
const (
	VarOutcome   = "outcome"
	VarFunction  = "function"
	VarQualifier = "qualifier"
	VarValue     = "value"
)

// OutputVariables returns the variables a successful job exports: the outcome (READY), the
// function and qualifier that received provisioned concurrency and its value.
func OutputVariables(outcome, function, qualifier string, value int64) map[string]string {
	return map[string]string{
		VarOutcome:   outcome,
		VarFunction:  function,
		VarQualifier: qualifier,
		VarValue:     strconv.FormatInt(value, 10),
	}
}
