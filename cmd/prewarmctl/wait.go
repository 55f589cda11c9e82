package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/prewarm/prewarm/results"
	"github.com/prewarm/prewarm/results/watch"
)

// summary is the last line of --json output.
type summary struct {
	CorrelationID string          `json:"correlationId"`
	Outcome       results.Outcome `json:"outcome,omitempty"`
	ExitCode      int             `json:"exitCode"`
	FunctionName  string          `json:"functionName,omitempty"`
	Qualifier     string          `json:"qualifier,omitempty"`
	Reason        string          `json:"reason,omitempty"`
	Results       int             `json:"results"`
	Released      bool            `json:"released,omitempty"`
	Error         string          `json:"error,omitempty"`
	Seconds       float64         `json:"seconds"`
}

// wait reads the results of c.correlationID from queue until the run is over and returns the
// exit code.
func (c *command) wait(ctx context.Context, started time.Time, queue string, plan *sendPlan) int {
	expect := watch.Expect{Release: c.waitRelease, NoTracking: c.noTracking}
	if plan != nil {
		e := plan.expect()
		expect.Release = expect.Release || e.Release
		expect.NoTracking = expect.NoTracking || e.NoTracking
	}
	if !c.json {
		_, _ = fmt.Fprintf(c.env.stdout, "waiting for correlation id %s on %s (up to %s)\n", c.correlationID, queue, c.timeout)
	}
	r := c.reader(queue)
	run := watch.NewRun(expect)
	count := 0
	for !run.Done() {
		got, err := r.Receive(ctx)
		for _, res := range got {
			count++
			run.Add(res.Message)
			c.progress(started, res)
		}
		if err != nil {
			if run.Done() {
				break
			}
			return c.finish(started, run, count, couldNotWait(err, run))
		}
	}
	return c.finish(started, run, count, nil)
}

// couldNotWait explains why waiting stopped before the run was over.
func couldNotWait(err error, run *watch.Run) error {
	if watch.IsPermanent(err) {
		return err
	}
	if errors.Is(err, context.Canceled) {
		return fmt.Errorf("interrupted: %w", err)
	}
	if v := run.Verdict(); v.Outcome != "" {
		return fmt.Errorf("%w; last outcome %s for %s:%s", err, v.Outcome, v.Message.FunctionName, v.Message.Qualifier)
	}
	return fmt.Errorf("%w; no result arrived (is prewarm running, and sending to this queue?)", err)
}

// progress prints one result as it arrives.
func (c *command) progress(started time.Time, res watch.Result) {
	if c.json {
		_, _ = fmt.Fprintln(c.env.stdout, strings.TrimSpace(res.Body))
		return
	}
	m := res.Message
	var parts []string
	if d := m.Derivation; d != nil {
		parts = append(parts, fmt.Sprintf("value %d", d.Value))
	} else if m.Response != nil {
		parts = append(parts, fmt.Sprintf("requested %d", m.Response.RequestedProvisionedConcurrentExecutions))
	}
	if m.Response != nil && m.Response.Status != "" {
		parts = append(parts, m.Response.Status)
	}
	line := fmt.Sprintf("%-7s %s:%s %s", seconds(c.env.now().Sub(started)), m.FunctionName, m.Qualifier, m.Outcome)
	if len(parts) > 0 {
		line += " (" + strings.Join(parts, ", ") + ")"
	}
	if reason := explain(m); reason != "" {
		line += " " + reason
	}
	_, _ = fmt.Fprintln(c.env.stdout, line)
}

// explain is the message's reason, with AWS's error when it carries one.
func explain(m results.Message) string {
	reason := m.Reason
	if e := m.Error; e != nil && !strings.Contains(reason, e.Message) {
		reason = strings.TrimSpace(reason + " " + e.Code + ": " + e.Message)
	}
	return reason
}

// exitCode maps a run's verdict to the documented exit codes.
func exitCode(v watch.Verdict) int {
	switch v.Outcome {
	case results.OutcomeFailed:
		return exitFailed
	case results.OutcomeTimedOut:
		return exitTimedOut
	case results.OutcomeRejected, results.OutcomeSuperseded:
		return exitRejected
	case "":
		return exitCannot
	}
	return exitReady
}

// finish prints the summary and returns the exit code; waitErr is set when waiting stopped
// before the run was over.
func (c *command) finish(started time.Time, run *watch.Run, count int, waitErr error) int {
	v := run.Verdict()
	s := summary{
		CorrelationID: c.correlationID,
		Outcome:       v.Outcome,
		FunctionName:  v.Message.FunctionName,
		Qualifier:     v.Message.Qualifier,
		Reason:        explain(v.Message),
		Results:       count,
		Seconds:       c.env.now().Sub(started).Round(100 * time.Millisecond).Seconds(),
	}
	s.ExitCode = exitCode(v)
	s.Released = run.Released()
	if waitErr != nil {
		s.ExitCode, s.Error = exitCannot, waitErr.Error()
	}
	if c.json {
		b, _ := json.Marshal(map[string]summary{"summary": s})
		_, _ = fmt.Fprintf(c.env.stdout, "%s\n", b)
		if waitErr != nil {
			_, _ = fmt.Fprintf(c.env.stderr, "%s%s: %v\n", commandPrefix, c.name, waitErr)
		}
		return s.ExitCode
	}
	if waitErr != nil {
		_, _ = fmt.Fprintf(c.env.stderr, "%s%s: could not wait: %v\n", commandPrefix, c.name, waitErr)
		return s.ExitCode
	}
	line := fmt.Sprintf("%s %s:%s after %s (%d results", v.Outcome, s.FunctionName, s.Qualifier, time.Duration(s.Seconds*float64(time.Second)), count)
	if s.Released {
		line += ", released"
	}
	line += ")"
	if !v.OK() && s.Reason != "" {
		line += ": " + s.Reason
	}
	_, _ = fmt.Fprintf(c.env.stdout, "%s%s; exit %d\n", commandPrefix, line, s.ExitCode)
	return s.ExitCode
}
