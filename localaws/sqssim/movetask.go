package sqssim

import (
	"context"
	"net/http"
	"slices"
	"time"
)

// Dead-letter queues: their sources, and moving messages back.

type listDeadLetterSourceQueuesInput struct {
	QueueURL   *string `json:"QueueUrl"`
	MaxResults *int
	NextToken  *string
}

type listDeadLetterSourceQueuesOutput struct {
	QueueURLs []string `json:"queueUrls" query:"QueueUrl"`
	NextToken string   `json:",omitempty"`
}

func (s *Service) listDeadLetterSourceQueues(ctx context.Context, in *listDeadLetterSourceQueuesInput) (*listDeadLetterSourceQueuesOutput, *apiError) {
	if in.MaxResults != nil && (*in.MaxResults < 1 || *in.MaxResults > 1000) {
		return nil, invalidValue("MaxResults", *in.MaxResults, "MaxResults must be an integer between 1 and 1000.")
	}
	out := &listDeadLetterSourceQueuesOutput{QueueURLs: []string{}}
	err := s.withQueue(in.QueueURL, func(dlq *queue) *apiError {
		var names []string
		for name, q := range s.queues {
			if q.redrive != nil && q.redrive.deadLetterTargetARN == dlq.arn {
				names = append(names, name)
			}
		}
		slices.Sort(names)
		start := 0
		if in.NextToken != nil && *in.NextToken != "" {
			start, _ = slices.BinarySearch(names, *in.NextToken)
		}
		names = names[start:]
		if in.MaxResults != nil && len(names) > *in.MaxResults {
			out.NextToken = names[*in.MaxResults]
			names = names[:*in.MaxResults]
		}
		for _, n := range names {
			out.QueueURLs = append(out.QueueURLs, s.queueURL(ctx, n))
		}
		return nil
	})
	if err != nil {
		return nil, err
	}
	return out, nil
}

// Message move tasks (DLQ redrive). The emulator moves every message
// available in the dead-letter queue at once, so a task is COMPLETED by
// the time StartMessageMoveTask answers; ListMessageMoveTasks reports it.

// moveTask is one StartMessageMoveTask.
type moveTask struct {
	handle, status     string
	sourceARN, destARN string
	rate               *int
	moved, toMove      int64
	started            time.Time
}

type startMessageMoveTaskInput struct {
	SourceARN                    *string `json:"SourceArn"`
	DestinationARN               *string `json:"DestinationArn"`
	MaxNumberOfMessagesPerSecond *int
}

type startMessageMoveTaskOutput struct {
	TaskHandle string
}

type listMessageMoveTasksInput struct {
	SourceARN  *string `json:"SourceArn"`
	MaxResults *int
}

type moveTaskEntry struct {
	TaskHandle                        string `json:",omitempty"`
	Status                            string
	SourceArn                         string
	DestinationArn                    string `json:",omitempty"`
	MaxNumberOfMessagesPerSecond      *int   `json:",omitempty"`
	ApproximateNumberOfMessagesMoved  int64
	ApproximateNumberOfMessagesToMove int64
	StartedTimestamp                  int64
}

type listMessageMoveTasksOutput struct {
	Results []moveTaskEntry `json:",omitempty" query:"ListMessageMoveTasksResultEntry"`
}

type cancelMessageMoveTaskInput struct {
	TaskHandle *string
}

func resourceNotFound(msg string) *apiError {
	return &apiError{Status: http.StatusBadRequest, Code: "ResourceNotFoundException", QueryCode: "ResourceNotFoundException", Message: msg}
}

func (s *Service) startMessageMoveTask(_ context.Context, in *startMessageMoveTaskInput) (*startMessageMoveTaskOutput, *apiError) {
	if in.SourceARN == nil || *in.SourceARN == "" {
		return nil, missingParameter("SourceArn")
	}
	if r := in.MaxNumberOfMessagesPerSecond; r != nil && (*r < 1 || *r > 500) {
		return nil, invalidValue("MaxNumberOfMessagesPerSecond", *r, "Must be between 1 and 500, if provided.")
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	dlq := s.queueByARN(*in.SourceARN)
	if dlq == nil {
		return nil, resourceNotFound("The resource that you specified for the SourceArn parameter doesn't exist.")
	}
	isDLQ := false
	for _, q := range s.queues {
		if q.redrive != nil && q.redrive.deadLetterTargetARN == dlq.arn {
			isDLQ = true
		}
	}
	if !isDLQ {
		return nil, invalidParameter("Source queue must be configured as a Dead Letter Queue.")
	}
	var dest *queue
	if in.DestinationARN != nil && *in.DestinationARN != "" {
		if dest = s.queueByARN(*in.DestinationARN); dest == nil {
			return nil, resourceNotFound("The resource that you specified for the DestinationArn parameter doesn't exist.")
		}
	}
	for _, t := range dlq.moveTasks {
		if t.status == "RUNNING" {
			return nil, invalidParameter("There is already a task running. Only one active task is allowed for a source queue arn at a given time.")
		}
	}
	now := s.clock.Now()
	task := &moveTask{handle: newID(), status: "COMPLETED", sourceARN: dlq.arn, rate: in.MaxNumberOfMessagesPerSecond, started: now}
	if dest != nil {
		task.destARN = dest.arn
	}
	var kept []*message
	for _, m := range dlq.messages {
		target := dest
		if target == nil {
			target = s.queueByARN(m.dlqSourceARN)
		}
		if m.state(now) != stateVisible || target == nil || target.fifo != dlq.fifo {
			kept = append(kept, m)
			continue
		}
		task.toMove++
		moved := *m
		// Back on a source queue the message counts its receives afresh,
		// or its next receive would move it straight back.
		moved.receipt, moved.receiveCount, moved.firstReceive = "", 0, time.Time{}
		moved.visibleAt, moved.dlqSourceARN = now, ""
		if target.fifo {
			moved.sequence = target.nextSequence()
		}
		target.messages = append(target.messages, &moved)
		target.notify()
		task.moved++
	}
	dlq.messages = kept
	dlq.moveTasks = append(dlq.moveTasks, task)
	return &startMessageMoveTaskOutput{TaskHandle: task.handle}, nil
}

func (s *Service) listMessageMoveTasks(_ context.Context, in *listMessageMoveTasksInput) (*listMessageMoveTasksOutput, *apiError) {
	if in.SourceARN == nil || *in.SourceARN == "" {
		return nil, missingParameter("SourceArn")
	}
	limit := 1
	if in.MaxResults != nil {
		if *in.MaxResults < 1 || *in.MaxResults > 10 {
			return nil, invalidValue("MaxResults", *in.MaxResults, "Must be between 1 and 10, if provided.")
		}
		limit = *in.MaxResults
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	dlq := s.queueByARN(*in.SourceARN)
	if dlq == nil {
		return nil, resourceNotFound("The resource that you specified for the SourceArn parameter doesn't exist.")
	}
	out := &listMessageMoveTasksOutput{}
	for i := len(dlq.moveTasks) - 1; i >= 0 && len(out.Results) < limit; i-- {
		t := dlq.moveTasks[i]
		e := moveTaskEntry{Status: t.status, SourceArn: t.sourceARN, DestinationArn: t.destARN, MaxNumberOfMessagesPerSecond: t.rate,
			ApproximateNumberOfMessagesMoved: t.moved, ApproximateNumberOfMessagesToMove: t.toMove, StartedTimestamp: t.started.UnixMilli()}
		if t.status == "RUNNING" {
			e.TaskHandle = t.handle
		}
		out.Results = append(out.Results, e)
	}
	return out, nil
}

// cancelMessageMoveTask can only answer that the task is not running: the
// emulator's tasks complete as they start.
func (s *Service) cancelMessageMoveTask(_ context.Context, in *cancelMessageMoveTaskInput) (*empty, *apiError) {
	if in.TaskHandle == nil || *in.TaskHandle == "" {
		return nil, missingParameter("TaskHandle")
	}
	return nil, resourceNotFound("Task does not exist.")
}
