package awsproto_test

import (
	"net/url"
	"testing"

	"github.com/prewarm/prewarm/localaws/awsproto"
)

type fuzzValue struct {
	DataType    *string
	StringValue *string
	BinaryValue []byte
	Strings     []string `query:"StringListValue"`
}

type fuzzEntry struct {
	ID    *string `json:"Id"`
	Delay *int
	Attrs map[string]fuzzValue `query:"MessageAttribute,map=Name/Value"`
}

type fuzzInput struct {
	QueueURL *string           `json:"QueueUrl"`
	Max      *int              `json:"MaxNumberOfMessages"`
	Names    []string          `query:"AttributeName"`
	Attrs    map[string]string `query:"Attribute,map=Name/Value"`
	Tags     map[string]string `json:"tags" query:"Tag,map=Key/Value"`
	Entries  []fuzzEntry       `query:"{Action}RequestEntry"`
	Flag     bool
}

// FuzzDecodeQuery feeds arbitrary form bodies to the query decoder: it
// answers with an error or a value, never a panic.
func FuzzDecodeQuery(f *testing.F) {
	f.Add("Action=SendMessageBatch&QueueUrl=q&SendMessageBatchRequestEntry.1.Id=a&SendMessageBatchRequestEntry.1.MessageAttribute.1.Name=k&SendMessageBatchRequestEntry.1.MessageAttribute.1.Value.StringValue=v")
	f.Add("AttributeName.1=All&AttributeName.3=x&Attribute.1.Name=VisibilityTimeout&Attribute.1.Value=5&Tag.1.Key=a&Tag.1.Value=b")
	f.Add("MaxNumberOfMessages=ten&Flag=maybe")
	f.Add("SendMessageBatchRequestEntry.1.MessageAttribute.1.Value.BinaryValue=!!&SendMessageBatchRequestEntry.1.Delay=1e9")
	f.Fuzz(func(t *testing.T, form string) {
		vals, err := url.ParseQuery(form)
		if err != nil {
			return
		}
		var in fuzzInput
		if apiErr := awsproto.DecodeQuery(vals, "SendMessageBatch", &in); apiErr != nil && apiErr.Status != 400 {
			t.Errorf("status %d for a bad form, want 400", apiErr.Status)
		}
	})
}

func TestDecodeQuery(t *testing.T) {
	vals, _ := url.ParseQuery("QueueUrl=q&MaxNumberOfMessages=3&AttributeName.1=A&AttributeName.2=B&Attribute.1.Name=k&Attribute.1.Value=v" +
		"&Tag.1.Key=t&Tag.1.Value=u&SendMessageBatchRequestEntry.1.Id=e1&SendMessageBatchRequestEntry.1.MessageAttribute.1.Name=m" +
		"&SendMessageBatchRequestEntry.1.MessageAttribute.1.Value.DataType=Binary&SendMessageBatchRequestEntry.1.MessageAttribute.1.Value.BinaryValue=AQI%3D" +
		"&SendMessageBatchRequestEntry.1.MessageAttribute.1.Value.StringListValue.1=x&SendMessageBatchRequestEntry.2.Id=e2&Flag=true")
	var in fuzzInput
	if err := awsproto.DecodeQuery(vals, "SendMessageBatch", &in); err != nil {
		t.Fatal(err)
	}
	if *in.QueueURL != "q" || *in.Max != 3 || len(in.Names) != 2 || in.Names[1] != "B" || in.Attrs["k"] != "v" || in.Tags["t"] != "u" || !in.Flag {
		t.Errorf("decoded %+v", in)
	}
	if len(in.Entries) != 2 || *in.Entries[0].ID != "e1" || *in.Entries[1].ID != "e2" {
		t.Fatalf("entries %+v", in.Entries)
	}
	v := in.Entries[0].Attrs["m"]
	if *v.DataType != "Binary" || string(v.BinaryValue) != "\x01\x02" || len(v.Strings) != 1 || v.Strings[0] != "x" {
		t.Errorf("attribute %+v", v)
	}
}
