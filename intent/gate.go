package intent

import (
	"encoding/json"
	"errors"
	"fmt"
	"strings"

	awsevents "github.com/aws/aws-lambda-go/events"
)

// Keys that recognise the two deployment gates: CodeDeploy sends a lifecycle hook exactly
// these two keys; CodePipeline's Lambda invoke action wraps its job in jobKey.
const (
	hookDeploymentKey = "DeploymentId"
	hookExecutionKey  = "LifecycleEventHookExecutionId"
	jobKey            = "CodePipeline.job"
)

// maxExecutionIDLen bounds a hook execution id. CodeDeploy's are opaque base64 tokens of a few
// hundred characters; nothing documents a limit, so this one is generous.
const maxExecutionIDLen = 2048

// isDeploymentID reports whether s is a CodeDeploy deployment id: "d-" followed by 1 to 62
// upper-case letters and digits (nine of them today), the pattern ^d-[A-Z0-9]{1,62}$. Checked
// byte by byte rather than with a compiled regexp, which would cost every cold start its
// compilation.
func isDeploymentID(s string) bool {
	rest, ok := strings.CutPrefix(s, "d-")
	if !ok || len(rest) < 1 || len(rest) > 62 {
		return false
	}
	for i := 0; i < len(rest); i++ {
		if c := rest[i]; (c < 'A' || c > 'Z') && (c < '0' || c > '9') {
			return false
		}
	}
	return true
}

// isJobID reports whether s is a CodePipeline job id as the CodePipeline API defines it: a
// lower-case UUID, the pattern ^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$.
func isJobID(s string) bool {
	if len(s) != 36 {
		return false
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		switch i {
		case 8, 13, 18, 23:
			if c != '-' {
				return false
			}
		default:
			if (c < '0' || c > '9') && (c < 'a' || c > 'f') {
				return false
			}
		}
	}
	return true
}

// CodeDeployHook is a CodeDeploy lifecycle hook invocation. It names neither the lifecycle
// event nor the versions: those are read from the deployment.
type CodeDeployHook struct {
	// DeploymentID is the deployment ("d-…").
	DeploymentID string
	// ExecutionID is the LifecycleEventHookExecutionId the hook's status is reported against.
	ExecutionID string
}

// String returns "CodeDeploy deployment DEPLOYMENT hook execution EXECUTION" with the
// execution id shortened.
func (h CodeDeployHook) String() string {
	return fmt.Sprintf("CodeDeploy deployment %s hook execution %s", h.DeploymentID, clip(h.ExecutionID))
}

// CodePipelineJob is a CodePipeline Lambda invoke action's job. The event's artifact
// credentials are deliberately not kept: prewarm reads no artifacts, and what is not held
// cannot be logged.
type CodePipelineJob struct {
	// JobID is the job to end with PutJobSuccessResult or PutJobFailureResult.
	JobID string
	// ContinuationToken is set when CodePipeline invokes again for a job that an earlier
	// invocation answered with a continuation token.
	ContinuationToken string
	// Intent is the action's UserParameters, decoded as a bare intent (trigger codepipeline,
	// id defaulting to the job id).
	Intent Intent
}

// String returns "CodePipeline job JOB for FUNCTION:QUALIFIER", noting a continuation.
func (j CodePipelineJob) String() string {
	s := fmt.Sprintf("CodePipeline job %s for %s:%s", j.JobID, j.Intent.Function.Name, j.Intent.Qualifier)
	if j.ContinuationToken != "" {
		s += " (continued)"
	}
	return s
}

// codeDeployHook decodes a lifecycle hook event. Keys beyond the two CodeDeploy sends are
// ignored, as for other AWS events: the two ids are the whole contract.
func (d *decoder) codeDeployHook(o object) (Message, *Rejection) {
	d.rej.Trigger = TriggerCodeDeploy
	deployment, okDeployment, err := o.str(hookDeploymentKey)
	if err != nil {
		return Message{}, d.reject("CodeDeploy lifecycle hook: %v", err)
	}
	execution, okExecution, err := o.str(hookExecutionKey)
	if err != nil {
		return Message{}, d.reject("CodeDeploy lifecycle hook: %v", err)
	}
	if okExecution && execution != "" {
		d.rej.ID = recovered(execution)
	}
	switch {
	case !okDeployment || deployment == "":
		return Message{}, d.reject("CodeDeploy lifecycle hook has no %s", hookDeploymentKey)
	case !isDeploymentID(deployment):
		return Message{}, d.reject("CodeDeploy lifecycle hook %s %s is not a deployment id (d- and up to 62 upper-case letters or digits)", hookDeploymentKey, quote(deployment))
	case !okExecution || execution == "":
		return Message{}, d.reject("CodeDeploy lifecycle hook for deployment %s has no %s", deployment, hookExecutionKey)
	case len(execution) > maxExecutionIDLen:
		return Message{}, d.reject("CodeDeploy lifecycle hook %s is longer than %d characters", hookExecutionKey, maxExecutionIDLen)
	case !printableToken(execution):
		return Message{}, d.reject("CodeDeploy lifecycle hook %s holds a space or a character outside printable ASCII", hookExecutionKey)
	}
	h := CodeDeployHook{DeploymentID: deployment, ExecutionID: execution}
	return Message{Kind: KindCodeDeployHook, Trigger: TriggerCodeDeploy, ID: execution, CodeDeployHook: h}, nil
}

// codePipelineJob decodes a CodePipeline job event; its UserParameters is the intent. No
// reason given here quotes anything from the event but the job id and the intent, so the
// artifact credentials never reach a rejection.
func (d *decoder) codePipelineJob(payload []byte) (Message, *Rejection) {
	d.rej.Trigger = TriggerCodePipeline
	var ev awsevents.CodePipelineJobEvent
	if err := json.Unmarshal(payload, &ev); err != nil {
		var o object
		if json.Unmarshal(payload, &o) == nil {
			d.recoverGate(o)
		}
		return Message{}, d.reject("CodePipeline job event: %s", jsonErrorReason(err))
	}
	job := ev.CodePipelineJob
	switch {
	case job.ID == "":
		return Message{}, d.reject("CodePipeline job event has no id")
	case !isJobID(job.ID):
		return Message{}, d.reject("CodePipeline job id %s is not a job id (a lower-case UUID)", quote(job.ID))
	}
	d.rej.ID, d.rej.JobID = job.ID, job.ID
	if len(job.Data.ContinuationToken) > MaxPayloadBytes/4 {
		return Message{}, d.reject("CodePipeline job continuationToken is longer than %d characters", MaxPayloadBytes/4)
	}
	const subject = "CodePipeline job UserParameters"
	params := []byte(job.Data.ActionConfiguration.Configuration.UserParameters)
	if len(params) == 0 {
		return Message{}, d.reject("%s is empty: it must be the intent JSON, for example {\"functionName\":\"my-function\",\"to\":\"GREEN\"}", subject)
	}
	if err := CheckJSON(subject, params); err != nil {
		return Message{}, d.reject("%v", err)
	}
	if k := jsonKind(params); k != "object" {
		return Message{}, d.reject("%s is a JSON %s, not an intent object", subject, k)
	}
	var o object
	if err := json.Unmarshal(params, &o); err != nil {
		return Message{}, d.reject("%s is not JSON: %v", subject, err)
	}
	in, rej := d.intent(o, TriggerCodePipeline, job.ID, intentFields)
	if rej != nil {
		rej.Reason = subject + ": " + rej.Reason
		return Message{}, rej
	}
	j := CodePipelineJob{JobID: job.ID, ContinuationToken: job.Data.ContinuationToken, Intent: in}
	return Message{Kind: KindCodePipelineJob, Trigger: TriggerCodePipeline, ID: in.ID, CodePipelineJob: j}, nil
}

// recoverGate recovers the trigger and the ids of a hook or job event that failed the strict
// checks, so that a job can still be ended; false when o is neither.
func (d *decoder) recoverGate(o object) bool {
	if job, ok, err := o.obj(jobKey); err == nil && ok {
		d.rej.Trigger = TriggerCodePipeline
		if id := job.lenientStr("id"); isJobID(id) {
			d.rej.ID, d.rej.JobID = id, id
		}
		return true
	}
	if o.has(hookDeploymentKey) || o.has(hookExecutionKey) {
		d.rej.Trigger = TriggerCodeDeploy
		if x := o.lenientStr(hookExecutionKey); x != "" {
			d.rej.ID = recovered(x)
		}
		return true
	}
	return false
}

// jsonErrorReason describes an error of json.Unmarshal into the event type without any value
// from the event: a type error names only the field and the wanted type.
func jsonErrorReason(err error) string {
	var te *json.UnmarshalTypeError
	if errors.As(err, &te) && te.Type != nil {
		want := te.Type.Kind().String()
		switch want {
		case "struct":
			want = "object"
		case "slice":
			want = "array"
		case "ptr":
			want = "string or null"
		}
		return fmt.Sprintf("%s must be a JSON %s", te.Field, want)
	}
	return "not the CodePipeline job shape"
}

// printableToken reports whether s is non-empty printable ASCII without spaces.
func printableToken(s string) bool {
	for i := 0; i < len(s); i++ {
		if s[i] <= ' ' || s[i] > '~' {
			return false
		}
	}
	return s != ""
}
