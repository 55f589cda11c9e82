package deploy

import (
	"bytes"
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	"github.com/santhosh-tekuri/jsonschema/v6"
)

// samSchemaPath is the JSON schema of SAM templates published by the SAM project, kept in the
// shared folder beside the repository.
const samSchemaPath = "../../shared/schemas/sam.schema.json"

func TestTemplateMatchesSAMSchema(t *testing.T) {
	f, err := os.Open(samSchemaPath)
	if errors.Is(err, os.ErrNotExist) {
		t.Skipf("SAM schema not found at %s (it lives in ../shared beside the repository)", samSchemaPath)
	}
	if err != nil {
		t.Fatalf("open SAM schema: %v", err)
	}
	defer func() { _ = f.Close() }() // opened for reading only
	schemaDoc, err := jsonschema.UnmarshalJSON(f)
	if err != nil {
		t.Fatalf("decode SAM schema: %v", err)
	}
	c := jsonschema.NewCompiler()
	c.UseRegexpEngine(schemaRegexp)
	if err := c.AddResource("sam.schema.json", schemaDoc); err != nil {
		t.Fatalf("add SAM schema: %v", err)
	}
	schema, err := c.Compile("sam.schema.json")
	if err != nil {
		t.Fatalf("compile SAM schema: %v", err)
	}

	for _, p := range append([]string{templatePath}, exampleTemplates(t)...) {
		tmpl, err := Load(p)
		if err != nil {
			t.Fatal(err)
		}
		js, err := tmpl.JSON()
		if err != nil {
			t.Fatal(err)
		}
		doc, err := jsonschema.UnmarshalJSON(bytes.NewReader(js))
		if err != nil {
			t.Fatalf("decode %s as JSON: %v", p, err)
		}
		if err := schema.Validate(doc); err != nil {
			t.Errorf("%s does not match the SAM schema:\n%v", p, err)
		}
	}

	tmpl := loadTemplate(t)
	js, err := tmpl.JSON()
	if err != nil {
		t.Fatal(err)
	}

	// The check must be able to fail: a misspelt property of the SQS event is rejected.
	broken, err := jsonschema.UnmarshalJSON(strings.NewReader(strings.Replace(string(js), `"FunctionResponseTypes"`, `"FunctionResponseType"`, 1)))
	if err != nil {
		t.Fatal(err)
	}
	if err := schema.Validate(broken); err == nil {
		t.Errorf("the SAM schema accepted an SQS event with FunctionResponseType (misspelt); the check is not working")
	}
}

// notPrefixPattern is the one regular expression of the SAM schema that Go's RE2 syntax lacks:
// a negative lookahead at the start, `^(?!AWS::Serverless::).+$` (any resource type that is not
// a SAM one).
var notPrefixPattern = regexp.MustCompile(`^\^\(\?!([A-Za-z0-9:]+)\)\.\+\$$`)

// notPrefix matches a non-empty single-line string that does not start with prefix.
type notPrefix struct{ source, prefix string }

func (n notPrefix) MatchString(s string) bool {
	return s != "" && !strings.Contains(s, "\n") && !strings.HasPrefix(s, n.prefix)
}

func (n notPrefix) String() string { return n.source }

// schemaRegexp compiles the schema's patterns with Go's regexp, except ^(?!PREFIX).+$.
func schemaRegexp(s string) (jsonschema.Regexp, error) {
	if m := notPrefixPattern.FindStringSubmatch(s); m != nil {
		return notPrefix{source: s, prefix: m[1]}, nil
	}
	return regexp.Compile(s)
}

func TestSchemaRegexp(t *testing.T) {
	re, err := schemaRegexp("^(?!AWS::Serverless::).+$")
	if err != nil {
		t.Fatal(err)
	}
	for s, want := range map[string]bool{
		"AWS::SQS::Queue":           true,
		"AWS::Serverless::Function": false,
		"":                          false,
	} {
		if got := re.MatchString(s); got != want {
			t.Errorf("MatchString(%q) = %v, want %v", s, got, want)
		}
	}
	if _, err := schemaRegexp("^(?!x"); err == nil {
		t.Errorf("schemaRegexp accepted an invalid pattern")
	}
}

func TestCFNLintClean(t *testing.T) {
	cfnLint, err := exec.LookPath("cfn-lint")
	if err != nil {
		t.Skip("cfn-lint is not installed (pip install cfn-lint); the template lint check is skipped")
	}
	files := []string{"template.yaml"}
	for _, p := range exampleTemplates(t) {
		files = append(files, filepath.Join("examples", filepath.Base(p)))
	}
	cmd := exec.Command(cfnLint, append([]string{"--"}, files...)...)
	cmd.Dir = ".."
	out, err := cmd.CombinedOutput()
	if err != nil || strings.TrimSpace(string(out)) != "" {
		t.Errorf("cfn-lint %s: %v\n%s", strings.Join(files, " "), err, out)
	}
}

// examplesGlob is the example templates beside prewarm's, linted and schema-checked like it.
const examplesGlob = "../examples/*.yaml"

func exampleTemplates(t *testing.T) []string {
	t.Helper()
	paths, err := filepath.Glob(examplesGlob)
	if err != nil {
		t.Fatal(err)
	}
	if len(paths) == 0 {
		t.Fatalf("no example templates match %s", examplesGlob)
	}
	return paths
}
