package sqssim_test

import (
	"context"
	"encoding/json"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/sqs"
	"github.com/aws/aws-sdk-go-v2/service/sqs/types"
	"github.com/google/go-cmp/cmp"

	"github.com/prewarm/prewarm/localaws/sqssim"
)

func TestQueueTags(t *testing.T) {
	e := newEnv(t)
	ctx := context.Background()
	created, err := e.client.CreateQueue(ctx, &sqs.CreateQueueInput{QueueName: aws.String("tagged"), Tags: map[string]string{"team": "a", "env": "dev"}})
	if err != nil {
		t.Fatal(err)
	}
	tags := func() map[string]string {
		t.Helper()
		out, err := e.client.ListQueueTags(ctx, &sqs.ListQueueTagsInput{QueueUrl: created.QueueUrl})
		if err != nil {
			t.Fatal(err)
		}
		return out.Tags
	}
	if diff := cmp.Diff(map[string]string{"team": "a", "env": "dev"}, tags()); diff != "" {
		t.Errorf("tags from CreateQueue (-want +got):\n%s", diff)
	}
	if _, err := e.client.TagQueue(ctx, &sqs.TagQueueInput{QueueUrl: created.QueueUrl, Tags: map[string]string{"team": "b", "cost": "1"}}); err != nil {
		t.Fatal(err)
	}
	if _, err := e.client.UntagQueue(ctx, &sqs.UntagQueueInput{QueueUrl: created.QueueUrl, TagKeys: []string{"env", "absent"}}); err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff(map[string]string{"team": "b", "cost": "1"}, tags()); diff != "" {
		t.Errorf("tags after TagQueue/UntagQueue (-want +got):\n%s", diff)
	}
	// The query protocol reads the same tags.
	_, _, b := postQuery(t, e, url.Values{"Action": {"ListQueueTags"}, "QueueUrl": {aws.ToString(created.QueueUrl)}})
	if !strings.Contains(string(b), "<Tag><Key>cost</Key><Value>1</Value></Tag><Tag><Key>team</Key><Value>b</Value></Tag>") {
		t.Errorf("ListQueueTags over query: %s", b)
	}
}

func TestAddAndRemovePermission(t *testing.T) {
	e := newEnv(t, sqssim.Queue{Name: "q"})
	ctx := context.Background()
	policy := func() map[string]any {
		t.Helper()
		out, err := e.client.GetQueueAttributes(ctx, &sqs.GetQueueAttributesInput{QueueUrl: e.url("q"), AttributeNames: []types.QueueAttributeName{"Policy"}})
		if err != nil {
			t.Fatal(err)
		}
		raw, ok := out.Attributes["Policy"]
		if !ok {
			return nil
		}
		var doc map[string]any
		if err := json.Unmarshal([]byte(raw), &doc); err != nil {
			t.Fatalf("Policy %q: %v", raw, err)
		}
		return doc
	}
	if _, err := e.client.AddPermission(ctx, &sqs.AddPermissionInput{QueueUrl: e.url("q"), Label: aws.String("send"),
		AWSAccountIds: []string{"111122223333"}, Actions: []string{"SendMessage"}}); err != nil {
		t.Fatal(err)
	}
	doc := policy()
	want := []any{map[string]any{"Sid": "send", "Effect": "Allow", "Principal": map[string]any{"AWS": []any{"arn:aws:iam::111122223333:root"}},
		"Action": []any{"SQS:SendMessage"}, "Resource": "arn:aws:sqs:us-east-1:123456789012:q"}}
	if diff := cmp.Diff(want, doc["Statement"]); diff != "" {
		t.Errorf("policy statements (-want +got):\n%s", diff)
	}
	_, err := e.client.AddPermission(ctx, &sqs.AddPermissionInput{QueueUrl: e.url("q"), Label: aws.String("send"),
		AWSAccountIds: []string{"111122223333"}, Actions: []string{"SendMessage"}})
	if code := errorCode(t, err); code != "InvalidParameterValue" {
		t.Errorf("duplicate label: %v", err)
	}
	if _, err := e.client.RemovePermission(ctx, &sqs.RemovePermissionInput{QueueUrl: e.url("q"), Label: aws.String("send")}); err != nil {
		t.Fatal(err)
	}
	if doc := policy(); doc != nil {
		t.Errorf("policy after removing the only permission: %v", doc)
	}
	_, err = e.client.RemovePermission(ctx, &sqs.RemovePermissionInput{QueueUrl: e.url("q"), Label: aws.String("send")})
	if code := errorCode(t, err); code != "InvalidParameterValue" {
		t.Errorf("removing an unknown label: %v", err)
	}
}

func TestDeadLetterSourcesAndRedriveBack(t *testing.T) {
	e := newEnv(t,
		sqssim.Queue{Name: "a", VisibilityTimeout: 1, Redrive: &sqssim.Redrive{DeadLetterQueue: "dlq", MaxReceiveCount: 1}},
		sqssim.Queue{Name: "b", Redrive: &sqssim.Redrive{DeadLetterQueue: "dlq", MaxReceiveCount: 1}},
		sqssim.Queue{Name: "dlq"}, sqssim.Queue{Name: "elsewhere"})
	ctx := context.Background()
	src, err := e.client.ListDeadLetterSourceQueues(ctx, &sqs.ListDeadLetterSourceQueuesInput{QueueUrl: e.url("dlq")})
	if err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff([]string{*e.url("a"), *e.url("b")}, src.QueueUrls); diff != "" {
		t.Errorf("dead-letter sources (-want +got):\n%s", diff)
	}

	// Two messages end up in the DLQ; a move task with no destination
	// returns each to the queue it came from.
	e.send("a", "one")
	e.receive("a", 1)
	e.clk.Advance(time.Second)
	e.receive("a", 1) // moves "one" to the DLQ
	if c := e.counts("dlq"); c.Visible != 1 {
		t.Fatalf("DLQ counts %+v, want 1 visible", c)
	}
	const dlqARN = "arn:aws:sqs:us-east-1:123456789012:dlq"
	if _, err := e.client.StartMessageMoveTask(ctx, &sqs.StartMessageMoveTaskInput{SourceArn: aws.String("arn:aws:sqs:us-east-1:123456789012:elsewhere")}); errorCode(t, err) != "InvalidParameterValue" {
		t.Errorf("move from a queue that is no DLQ: %v", err)
	}
	started, err := e.client.StartMessageMoveTask(ctx, &sqs.StartMessageMoveTaskInput{SourceArn: aws.String(dlqARN)})
	if err != nil || aws.ToString(started.TaskHandle) == "" {
		t.Fatalf("StartMessageMoveTask: %+v, %v", started, err)
	}
	if c := e.counts("dlq"); c.Total() != 0 {
		t.Errorf("DLQ after the move: %+v", c)
	}
	back := e.receive("a", 1)
	if len(back) != 1 || aws.ToString(back[0].Body) != "one" || back[0].Attributes["ApproximateReceiveCount"] != "1" {
		t.Errorf("redriven message: %+v", bodies(back))
	}
	tasks, err := e.client.ListMessageMoveTasks(ctx, &sqs.ListMessageMoveTasksInput{SourceArn: aws.String(dlqARN), MaxResults: aws.Int32(10)})
	if err != nil || len(tasks.Results) != 1 {
		t.Fatalf("ListMessageMoveTasks: %+v, %v", tasks, err)
	}
	task := tasks.Results[0]
	if aws.ToString(task.Status) != "COMPLETED" || task.ApproximateNumberOfMessagesMoved != 1 || aws.ToInt64(task.ApproximateNumberOfMessagesToMove) != 1 || aws.ToString(task.SourceArn) != dlqARN {
		t.Errorf("task: status %q, moved %d of %d, source %q", aws.ToString(task.Status), task.ApproximateNumberOfMessagesMoved, aws.ToInt64(task.ApproximateNumberOfMessagesToMove), aws.ToString(task.SourceArn))
	}

	// With a destination, messages go there instead.
	e.clk.Advance(time.Second)
	e.receive("a", 1) // moves "one" to the DLQ again
	if _, err := e.client.StartMessageMoveTask(ctx, &sqs.StartMessageMoveTaskInput{SourceArn: aws.String(dlqARN),
		DestinationArn: aws.String("arn:aws:sqs:us-east-1:123456789012:elsewhere")}); err != nil {
		t.Fatal(err)
	}
	if got := bodies(e.receive("elsewhere", 10)); !cmp.Equal(got, []string{"one"}) {
		t.Errorf("elsewhere received %v", got)
	}
}
