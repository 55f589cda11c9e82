package sqssim

import (
	"context"
	"encoding/json"
	"slices"
)

// Permissions: AddPermission and RemovePermission edit the statements of
// the queue's Policy attribute, as SQS does.

type addPermissionInput struct {
	QueueURL      *string `json:"QueueUrl"`
	Label         *string
	AWSAccountIDs []string `json:"AWSAccountIds" query:"AWSAccountId"`
	Actions       []string `query:"ActionName"`
}

type removePermissionInput struct {
	QueueURL *string `json:"QueueUrl"`
	Label    *string
}

type policyDocument struct {
	Version   string            `json:"Version"`
	ID        string            `json:"Id,omitempty"`
	Statement []json.RawMessage `json:"Statement"`
}

type policyStatement struct {
	Sid       string `json:"Sid"`
	Effect    string `json:"Effect"`
	Principal struct {
		AWS []string `json:"AWS"`
	} `json:"Principal"`
	Action   []string `json:"Action"`
	Resource string   `json:"Resource"`
}

// permissionActions are the actions AddPermission grants.
var permissionActions = []string{"*", "SendMessage", "ReceiveMessage", "DeleteMessage", "ChangeMessageVisibility",
	"GetQueueAttributes", "GetQueueUrl", "ListDeadLetterSourceQueues", "PurgeQueue", "ListQueueTags"}

func (q *queue) policy() (policyDocument, *apiError) {
	doc := policyDocument{Version: "2012-10-17", ID: q.arn + "/SQSDefaultPolicy"}
	raw, ok := q.extra["Policy"]
	if !ok {
		return doc, nil
	}
	if err := json.Unmarshal([]byte(raw), &doc); err != nil {
		return doc, invalidValue("Policy", raw, "The queue's policy is not valid JSON.")
	}
	return doc, nil
}

func statementSid(raw json.RawMessage) string {
	var st struct{ Sid string }
	_ = json.Unmarshal(raw, &st)
	return st.Sid
}

func (s *Service) addPermission(_ context.Context, in *addPermissionInput) (*empty, *apiError) {
	return nil, s.withQueue(in.QueueURL, func(q *queue) *apiError {
		switch {
		case in.Label == nil || *in.Label == "":
			return missingParameter("Label")
		case len(in.AWSAccountIDs) == 0:
			return missingParameter("AWSAccountIds")
		case len(in.Actions) == 0:
			return missingParameter("Actions")
		}
		for _, a := range in.Actions {
			if !slices.Contains(permissionActions, a) {
				return invalidValue("ActionName", a, "Please refer to the appropriate WSDL for a list of valid actions.")
			}
		}
		doc, err := q.policy()
		if err != nil {
			return err
		}
		for _, raw := range doc.Statement {
			if statementSid(raw) == *in.Label {
				return invalidValue("Label", *in.Label, "Already exists.")
			}
		}
		st := policyStatement{Sid: *in.Label, Effect: "Allow", Resource: q.arn}
		for _, id := range in.AWSAccountIDs {
			st.Principal.AWS = append(st.Principal.AWS, "arn:aws:iam::"+id+":root")
		}
		for _, a := range in.Actions {
			st.Action = append(st.Action, "SQS:"+a)
		}
		b, _ := json.Marshal(st)
		doc.Statement = append(doc.Statement, b)
		policy, _ := json.Marshal(doc)
		q.extra["Policy"] = string(policy)
		return nil
	})
}

func (s *Service) removePermission(_ context.Context, in *removePermissionInput) (*empty, *apiError) {
	return nil, s.withQueue(in.QueueURL, func(q *queue) *apiError {
		if in.Label == nil || *in.Label == "" {
			return missingParameter("Label")
		}
		doc, err := q.policy()
		if err != nil {
			return err
		}
		i := slices.IndexFunc(doc.Statement, func(raw json.RawMessage) bool { return statementSid(raw) == *in.Label })
		if i < 0 {
			return invalidValue("Label", *in.Label, "can't find label.")
		}
		doc.Statement = slices.Delete(doc.Statement, i, i+1)
		if len(doc.Statement) == 0 {
			delete(q.extra, "Policy")
			return nil
		}
		policy, _ := json.Marshal(doc)
		q.extra["Policy"] = string(policy)
		return nil
	})
}
