package sqssim_test

import (
	"encoding/xml"
	"io"
	"net/http"
	"net/url"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/prewarm/prewarm/localaws/sqssim"
)

// The query protocol (form-encoded Action=..., XML answers) is what older
// CLIs and SDKs speak to SQS; these tests post the forms botocore's query
// serializer writes and read the XML back as its parser would.

func postQuery(t *testing.T, e *env, form url.Values) (int, http.Header, []byte) {
	t.Helper()
	form.Set("Version", "2012-11-05")
	req, _ := http.NewRequest(http.MethodPost, e.srv.URL+"/", strings.NewReader(form.Encode()))
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded; charset=utf-8")
	req.Header.Set("Authorization", "AWS4-HMAC-SHA256 Credential=AKIDQUERY/20261202/us-east-1/sqs/aws4_request, SignedHeaders=host, Signature=x")
	resp, err := e.srv.Client().Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer func() { _ = resp.Body.Close() }() // read to the end below; nothing to report
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, resp.Header, b
}

type xmlAttr struct {
	Name  string `xml:"Name"`
	Value string `xml:"Value"`
}

type xmlMessageAttr struct {
	Name  string `xml:"Name"`
	Value struct {
		StringValue string `xml:"StringValue"`
		BinaryValue string `xml:"BinaryValue"`
		DataType    string `xml:"DataType"`
	} `xml:"Value"`
}

type xmlMessage struct {
	MessageID              string           `xml:"MessageId"`
	ReceiptHandle          string           `xml:"ReceiptHandle"`
	MD5OfBody              string           `xml:"MD5OfBody"`
	Body                   string           `xml:"Body"`
	Attributes             []xmlAttr        `xml:"Attribute"`
	MD5OfMessageAttributes string           `xml:"MD5OfMessageAttributes"`
	MessageAttributes      []xmlMessageAttr `xml:"MessageAttribute"`
}

func TestQueryProtocolSendReceiveDelete(t *testing.T) {
	e := newEnv(t, sqssim.Queue{Name: "q"})
	queueURL := *e.url("q")

	status, h, b := postQuery(t, e, url.Values{"Action": {"GetQueueUrl"}, "QueueName": {"q"}})
	var gotURL struct {
		XMLName xml.Name `xml:"http://queue.amazonaws.com/doc/2012-11-05/ GetQueueUrlResponse"`
		URL     string   `xml:"GetQueueUrlResult>QueueUrl"`
		ID      string   `xml:"ResponseMetadata>RequestId"`
	}
	if err := xml.Unmarshal(b, &gotURL); err != nil || status != 200 || gotURL.URL != queueURL || gotURL.ID == "" {
		t.Fatalf("GetQueueUrl: %d %s (%v)", status, b, err)
	}
	if ct := h.Get("Content-Type"); ct != "text/xml" {
		t.Errorf("Content-Type %q, want text/xml", ct)
	}

	status, _, b = postQuery(t, e, url.Values{
		"Action": {"SendMessage"}, "QueueUrl": {queueURL}, "MessageBody": {"a <b> & c\nd"},
		"MessageAttribute.1.Name": {"color"}, "MessageAttribute.1.Value.DataType": {"String"}, "MessageAttribute.1.Value.StringValue": {"blue"},
		"MessageAttribute.2.Name": {"blob"}, "MessageAttribute.2.Value.DataType": {"Binary"}, "MessageAttribute.2.Value.BinaryValue": {"AQID"},
	})
	var sent struct {
		MessageID    string `xml:"SendMessageResult>MessageId"`
		MD5Body      string `xml:"SendMessageResult>MD5OfMessageBody"`
		MD5Attribute string `xml:"SendMessageResult>MD5OfMessageAttributes"`
	}
	if err := xml.Unmarshal(b, &sent); err != nil || status != 200 || sent.MessageID == "" {
		t.Fatalf("SendMessage: %d %s (%v)", status, b, err)
	}
	msgs, _ := e.svc.Messages("q")
	if len(msgs) != 1 || msgs[0].Body != "a <b> & c\nd" || msgs[0].Attributes["color"] != "blue" {
		t.Fatalf("stored: %+v", msgs)
	}

	status, _, b = postQuery(t, e, url.Values{
		"Action": {"ReceiveMessage"}, "QueueUrl": {queueURL}, "MaxNumberOfMessages": {"10"},
		"AttributeName.1": {"All"}, "MessageAttributeName.1": {"All"},
	})
	var recv struct {
		Messages []xmlMessage `xml:"ReceiveMessageResult>Message"`
	}
	if err := xml.Unmarshal(b, &recv); err != nil || status != 200 || len(recv.Messages) != 1 {
		t.Fatalf("ReceiveMessage: %d %s (%v)", status, b, err)
	}
	m := recv.Messages[0]
	if m.Body != "a <b> & c\nd" || m.MessageID != sent.MessageID || m.MD5OfBody != sent.MD5Body || m.MD5OfMessageAttributes != sent.MD5Attribute {
		t.Errorf("message: %+v, sent %+v", m, sent)
	}
	attrs := map[string]string{}
	for _, a := range m.Attributes {
		attrs[a.Name] = a.Value
	}
	if attrs["ApproximateReceiveCount"] != "1" || attrs["SenderId"] != "AKIDQUERY" {
		t.Errorf("attributes: %v", attrs)
	}
	if len(m.MessageAttributes) != 2 || m.MessageAttributes[0].Name != "blob" || m.MessageAttributes[0].Value.BinaryValue != "AQID" ||
		m.MessageAttributes[1].Value.StringValue != "blue" || m.MessageAttributes[1].Value.DataType != "String" {
		t.Errorf("message attributes: %+v", m.MessageAttributes)
	}

	status, _, b = postQuery(t, e, url.Values{"Action": {"DeleteMessage"}, "QueueUrl": {queueURL}, "ReceiptHandle": {m.ReceiptHandle}})
	var deleted struct {
		XMLName xml.Name `xml:"DeleteMessageResponse"`
		ID      string   `xml:"ResponseMetadata>RequestId"`
	}
	if err := xml.Unmarshal(b, &deleted); err != nil || status != 200 || deleted.ID == "" || strings.Contains(string(b), "DeleteMessageResult") {
		t.Errorf("DeleteMessage: %d %s (%v)", status, b, err)
	}
	if c := e.counts("q"); c.Total() != 0 {
		t.Errorf("counts after delete: %+v", c)
	}
}

func TestQueryProtocolBatchesAndAttributes(t *testing.T) {
	e := newEnv(t, sqssim.Queue{Name: "q"})
	queueURL := *e.url("q")
	status, _, b := postQuery(t, e, url.Values{
		"Action": {"SendMessageBatch"}, "QueueUrl": {queueURL},
		"SendMessageBatchRequestEntry.1.Id": {"a"}, "SendMessageBatchRequestEntry.1.MessageBody": {"one"},
		"SendMessageBatchRequestEntry.2.Id": {"b"}, "SendMessageBatchRequestEntry.2.MessageBody": {"two"}, "SendMessageBatchRequestEntry.2.DelaySeconds": {"901"},
	})
	var batch struct {
		OK []struct {
			ID        string `xml:"Id"`
			MessageID string `xml:"MessageId"`
		} `xml:"SendMessageBatchResult>SendMessageBatchResultEntry"`
		Failed []struct {
			ID          string `xml:"Id"`
			SenderFault bool   `xml:"SenderFault"`
			Code        string `xml:"Code"`
		} `xml:"SendMessageBatchResult>BatchResultErrorEntry"`
	}
	if err := xml.Unmarshal(b, &batch); err != nil || status != 200 {
		t.Fatalf("SendMessageBatch: %d %s (%v)", status, b, err)
	}
	if len(batch.OK) != 1 || batch.OK[0].ID != "a" || len(batch.Failed) != 1 || batch.Failed[0].ID != "b" || !batch.Failed[0].SenderFault || batch.Failed[0].Code != "InvalidParameterValue" {
		t.Errorf("batch: %+v", batch)
	}

	status, _, b = postQuery(t, e, url.Values{
		"Action": {"SetQueueAttributes"}, "QueueUrl": {queueURL},
		"Attribute.1.Name": {"VisibilityTimeout"}, "Attribute.1.Value": {"45"},
	})
	if status != 200 {
		t.Fatalf("SetQueueAttributes: %d %s", status, b)
	}
	status, _, b = postQuery(t, e, url.Values{"Action": {"GetQueueAttributes"}, "QueueUrl": {queueURL}, "AttributeName.1": {"VisibilityTimeout"}, "AttributeName.2": {"QueueArn"}})
	var got struct {
		Attributes []xmlAttr `xml:"GetQueueAttributesResult>Attribute"`
	}
	if err := xml.Unmarshal(b, &got); err != nil || status != 200 {
		t.Fatalf("GetQueueAttributes: %d %s (%v)", status, b, err)
	}
	want := []xmlAttr{{"QueueArn", "arn:aws:sqs:us-east-1:123456789012:q"}, {"VisibilityTimeout", "45"}}
	if diff := cmp.Diff(want, got.Attributes); diff != "" {
		t.Errorf("attributes (-want +got):\n%s", diff)
	}
}

// AWS's query errors are an ErrorResponse carrying the query code:
// <Error><Type>Sender</Type><Code>AWS.SimpleQueueService.NonExistentQueue</Code>…
func TestQueryProtocolErrors(t *testing.T) {
	e := newEnv(t, sqssim.Queue{Name: "q"})
	type xmlError struct {
		XMLName xml.Name `xml:"http://queue.amazonaws.com/doc/2012-11-05/ ErrorResponse"`
		Type    string   `xml:"Error>Type"`
		Code    string   `xml:"Error>Code"`
		Message string   `xml:"Error>Message"`
		ID      string   `xml:"RequestId"`
	}
	for _, tt := range []struct {
		name   string
		form   url.Values
		status int
		want   xmlError
	}{
		{"no queue", url.Values{"Action": {"GetQueueUrl"}, "QueueName": {"nope"}}, 400,
			xmlError{Type: "Sender", Code: "AWS.SimpleQueueService.NonExistentQueue", Message: "The specified queue does not exist."}},
		{"missing parameter", url.Values{"Action": {"SendMessage"}, "QueueUrl": {*e.url("q")}}, 400,
			xmlError{Type: "Sender", Code: "MissingParameter", Message: "The request must contain the parameter MessageBody."}},
		{"bad number", url.Values{"Action": {"ReceiveMessage"}, "QueueUrl": {*e.url("q")}, "MaxNumberOfMessages": {"ten"}}, 400,
			xmlError{Type: "Sender", Code: "InvalidParameterValue", Message: "Value ten for parameter MaxNumberOfMessages is invalid. Reason: must be an integer."}},
		{"unknown action", url.Values{"Action": {"Frobnicate"}}, 400,
			xmlError{Type: "Sender", Code: "AWS.SimpleQueueService.UnsupportedOperation", Message: "The operation Frobnicate is not supported by this emulator."}},
	} {
		t.Run(tt.name, func(t *testing.T) {
			status, _, b := postQuery(t, e, tt.form)
			var got xmlError
			if err := xml.Unmarshal(b, &got); err != nil {
				t.Fatalf("%s: %v", b, err)
			}
			if got.ID == "" {
				t.Errorf("no RequestId in %s", b)
			}
			got.XMLName, got.ID = xml.Name{}, ""
			if diff := cmp.Diff(tt.want, got); diff != "" || status != tt.status {
				t.Errorf("status %d, want %d; error (-want +got):\n%s", status, tt.status, diff)
			}
		})
	}
}
