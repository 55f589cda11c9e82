package deploy

import (
	"os"
	"testing"

	"github.com/google/go-cmp/cmp"
)

// FuzzParse checks that Parse never panics and that a parsed template survives its own JSON
// form unchanged.
func FuzzParse(f *testing.F) {
	if data, err := os.ReadFile(templatePath); err == nil {
		f.Add(data)
	}
	for _, s := range []string{
		"V: !Ref Q",
		"V: !GetAtt A.B.C",
		"V: !If [C, !Sub '${X}', !Ref AWS::NoValue]",
		"A: &a {x: 1}\nB: *a",
		`{"Resources": {"Q": {"Type": "AWS::SQS::Queue"}}}`,
		"Parameters: {P: {Type: String, Default: 2010-09-09}}",
	} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		tmpl, err := Parse(data)
		if err != nil {
			return
		}
		js, err := tmpl.JSON()
		if err != nil {
			t.Fatalf("JSON of a parsed template: %v", err)
		}
		again, err := Parse(js)
		if err != nil {
			t.Fatalf("Parse(JSON()) = %v for %s", err, js)
		}
		if diff := cmp.Diff(tmpl.Document, again.Document); diff != "" {
			t.Errorf("JSON round trip changed the document (-first +again):\n%s", diff)
		}
	})
}
