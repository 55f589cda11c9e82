// Package deploy checks the AWS SAM template that deploys prewarm (template.yaml at the
// repository root). Load reads a template, YAML or JSON, into CloudFormation's JSON form —
// short-form intrinsic tags such as !Ref, !Sub, !GetAtt and !If become {"Ref": …},
// {"Fn::Sub": …}, {"Fn::GetAtt": […]} and {"Fn::If": […]} — so that tests can assert the
// properties prewarm relies on and validate the document against the SAM JSON schema.
package deploy

import (
	"encoding/json"
	"fmt"
	"os"
	"sort"
	"strings"

	"go.yaml.in/yaml/v3"
)

// Template is a SAM or CloudFormation template in CloudFormation's JSON form.
type Template struct {
	// Transform is the template's Transform section (a string or a list of strings).
	Transform any `json:"Transform"`
	// Parameters by logical name.
	Parameters map[string]Parameter `json:"Parameters"`
	// Conditions by name, as intrinsic-function trees.
	Conditions map[string]any `json:"Conditions"`
	// Resources by logical ID.
	Resources map[string]Resource `json:"Resources"`
	// Outputs by logical name.
	Outputs map[string]Output `json:"Outputs"`
	// Document is the whole template, as encoding/json would decode its JSON form.
	Document map[string]any `json:"-"`
}

// Parameter is one entry of the Parameters section.
type Parameter struct {
	// Type is the parameter type, for example String or Number.
	Type string `json:"Type"`
	// Default is the default value: a string or a number, nil when there is none.
	Default any `json:"Default"`
	// AllowedValues lists the values the parameter accepts, when restricted.
	AllowedValues []any `json:"AllowedValues"`
	// AllowedPattern is the regular expression a String value must match, when restricted.
	AllowedPattern string `json:"AllowedPattern"`
	// MinValue and MaxValue bound a Number value, when restricted: numbers, nil when unset.
	MinValue any `json:"MinValue"`
	MaxValue any `json:"MaxValue"`
	// Description is the text shown by sam deploy --guided and the console.
	Description string `json:"Description"`
}

// Resource is one entry of the Resources section.
type Resource struct {
	// Type is the resource type, for example AWS::Serverless::Function.
	Type string `json:"Type"`
	// Condition names the condition that decides whether the resource is created.
	Condition string `json:"Condition"`
	// Properties are the resource's properties.
	Properties map[string]any `json:"Properties"`
	// Metadata is the resource's Metadata section (BuildMethod for sam build).
	Metadata map[string]any `json:"Metadata"`
}

// Output is one entry of the Outputs section.
type Output struct {
	// Description says what the output is.
	Description string `json:"Description"`
	// Value is the output's value, often an intrinsic function.
	Value any `json:"Value"`
	// Condition names the condition that decides whether the output exists.
	Condition string `json:"Condition"`
}

// Load reads and parses the template at path.
func Load(path string) (*Template, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("load template: %w", err)
	}
	t, err := Parse(data)
	if err != nil {
		return nil, fmt.Errorf("load template %s: %w", path, err)
	}
	return t, nil
}

// Parse parses a template written in YAML (with or without short-form intrinsic tags) or JSON.
func Parse(data []byte) (*Template, error) {
	var root yaml.Node
	if err := yaml.Unmarshal(data, &root); err != nil {
		return nil, fmt.Errorf("parse template: %w", err)
	}
	if root.Kind == 0 {
		return nil, fmt.Errorf("parse template: empty document")
	}
	conv := converter{budget: maxNodes, expanding: map[*yaml.Node]bool{}}
	value, err := conv.jsonValue(&root)
	if err != nil {
		return nil, fmt.Errorf("parse template: %w", err)
	}
	// A round trip through encoding/json gives Document the exact shape (float64 numbers,
	// map[string]any, []any) that JSON tooling expects, and fills the typed sections.
	raw, err := json.Marshal(value)
	if err != nil {
		return nil, fmt.Errorf("parse template: encode as JSON: %w", err)
	}
	var doc map[string]any
	if err := json.Unmarshal(raw, &doc); err != nil {
		return nil, fmt.Errorf("parse template: the document is not a mapping: %w", err)
	}
	var t Template
	if err := json.Unmarshal(raw, &t); err != nil {
		return nil, fmt.Errorf("parse template: %w", err)
	}
	t.Document = doc
	return &t, nil
}

// JSON returns the template in CloudFormation's JSON form.
func (t *Template) JSON() ([]byte, error) {
	b, err := json.Marshal(t.Document)
	if err != nil {
		return nil, fmt.Errorf("encode template as JSON: %w", err)
	}
	return b, nil
}

// ResourcesOfType returns the logical IDs of the resources of type typ, sorted.
func (t *Template) ResourcesOfType(typ string) []string {
	var ids []string
	for id, r := range t.Resources {
		if r.Type == typ {
			ids = append(ids, id)
		}
	}
	sort.Strings(ids)
	return ids
}

// shortForms maps CloudFormation's short-form YAML tags to the keys of their full form.
var shortForms = map[string]string{
	"!Ref":          "Ref",
	"!Condition":    "Condition",
	"!And":          "Fn::And",
	"!Base64":       "Fn::Base64",
	"!Cidr":         "Fn::Cidr",
	"!Equals":       "Fn::Equals",
	"!FindInMap":    "Fn::FindInMap",
	"!ForEach":      "Fn::ForEach",
	"!GetAZs":       "Fn::GetAZs",
	"!GetAtt":       "Fn::GetAtt",
	"!If":           "Fn::If",
	"!ImportValue":  "Fn::ImportValue",
	"!Join":         "Fn::Join",
	"!Length":       "Fn::Length",
	"!Not":          "Fn::Not",
	"!Or":           "Fn::Or",
	"!Select":       "Fn::Select",
	"!Split":        "Fn::Split",
	"!Sub":          "Fn::Sub",
	"!ToJsonString": "Fn::ToJsonString",
	"!Transform":    "Fn::Transform",
}

// maxNodes bounds the size of a template after aliases are expanded, so that a document of
// nested aliases (a "billion laughs") is an error instead of a hang. prewarm's template has
// about a thousand nodes.
const maxNodes = 100_000

// converter turns YAML nodes into their JSON form.
type converter struct {
	// budget is the number of nodes still allowed.
	budget int
	// expanding holds the anchors being expanded, to reject an alias inside its own anchor.
	expanding map[*yaml.Node]bool
}

// jsonValue converts a YAML node into the value its JSON form holds.
func (c *converter) jsonValue(n *yaml.Node) (any, error) {
	c.budget--
	if c.budget < 0 {
		return nil, fmt.Errorf("line %d: more than %d nodes once aliases are expanded", n.Line, maxNodes)
	}
	switch n.Kind {
	case yaml.DocumentNode:
		if len(n.Content) == 0 {
			return nil, nil
		}
		return c.jsonValue(n.Content[0])
	case yaml.AliasNode:
		return c.alias(n)
	}

	tag := n.Tag
	if strings.HasPrefix(tag, "!") && !strings.HasPrefix(tag, "!!") {
		key, ok := shortForms[tag]
		if !ok {
			return nil, fmt.Errorf("line %d: unknown tag %s", n.Line, tag)
		}
		inner, err := c.untaggedValue(n)
		if err != nil {
			return nil, err
		}
		if tag == "!GetAtt" {
			// !GetAtt Resource.Attribute is the short form of ["Resource", "Attribute"]; the
			// attribute may itself contain dots (Endpoint.Address).
			if s, ok := inner.(string); ok {
				resource, attribute, found := strings.Cut(s, ".")
				if !found {
					return nil, fmt.Errorf("line %d: !GetAtt %q is not Resource.Attribute", n.Line, s)
				}
				inner = []any{resource, attribute}
			}
		}
		return map[string]any{key: inner}, nil
	}
	return c.untaggedValue(n)
}

// alias expands an alias to its anchor.
func (c *converter) alias(n *yaml.Node) (any, error) {
	if n.Alias == nil || c.expanding[n.Alias] {
		return nil, fmt.Errorf("line %d: alias *%s refers to its own anchor", n.Line, n.Value)
	}
	c.expanding[n.Alias] = true
	defer delete(c.expanding, n.Alias)
	return c.jsonValue(n.Alias)
}

// untaggedValue converts a node ignoring a short-form tag on it.
func (c *converter) untaggedValue(n *yaml.Node) (any, error) {
	switch n.Kind {
	case yaml.MappingNode:
		m := make(map[string]any, len(n.Content)/2)
		for i := 0; i+1 < len(n.Content); i += 2 {
			k, v := n.Content[i], n.Content[i+1]
			if k.Kind != yaml.ScalarNode {
				return nil, fmt.Errorf("line %d: mapping key is not a scalar", k.Line)
			}
			if _, dup := m[k.Value]; dup {
				return nil, fmt.Errorf("line %d: duplicate key %q", k.Line, k.Value)
			}
			value, err := c.jsonValue(v)
			if err != nil {
				return nil, err
			}
			m[k.Value] = value
		}
		return m, nil
	case yaml.SequenceNode:
		s := make([]any, 0, len(n.Content))
		for _, e := range n.Content {
			value, err := c.jsonValue(e)
			if err != nil {
				return nil, err
			}
			s = append(s, value)
		}
		return s, nil
	case yaml.ScalarNode:
		if strings.HasPrefix(n.Tag, "!") && !strings.HasPrefix(n.Tag, "!!") {
			// The argument of a short-form function is text: !Ref 5 names "5".
			return n.Value, nil
		}
		if n.ShortTag() == "!!timestamp" {
			// CloudFormation reads dates as text: AWSTemplateFormatVersion: 2010-09-09.
			return n.Value, nil
		}
		var v any
		if err := n.Decode(&v); err != nil {
			return nil, fmt.Errorf("line %d: %w", n.Line, err)
		}
		return v, nil
	case yaml.AliasNode:
		return c.alias(n)
	}
	return nil, fmt.Errorf("line %d: unsupported YAML node kind %d", n.Line, n.Kind)
}
