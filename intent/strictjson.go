package intent

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math"
	"sort"
	"strconv"
	"strings"
)

// MaxDepth is how deeply objects and arrays may nest in a payload. The deepest legitimate
// input, a CloudTrail event forwarded through EventBridge, nests about six levels.
const MaxDepth = 16

// CheckJSON walks payload token by token and reports the first reason it is not one well-formed
// JSON value without duplicate object keys and nested at most MaxDepth deep; subject names
// payload in the messages ("body is empty", "value is not JSON: …"). encoding/json itself
// silently keeps the last of duplicate keys, which would let a deployment intent or a
// POLICY say two different things at once.
func CheckJSON(subject string, payload []byte) error {
	dec := json.NewDecoder(bytes.NewReader(payload))
	dec.UseNumber()
	var stack []*jsonFrame
	done := false // one complete top-level value has been read
	// ended records that a value is complete: the enclosing object expects a key next.
	ended := func() {
		if len(stack) == 0 {
			done = true
			return
		}
		if top := stack[len(stack)-1]; top.object {
			top.wantKey = true
		}
	}
	for {
		tok, err := dec.Token()
		if err == io.EOF {
			if !done {
				if len(bytes.TrimSpace(payload)) == 0 {
					return errors.New(subject + " is empty")
				}
				return errors.New(subject + " is not JSON: unexpected end of input")
			}
			return nil
		}
		if err != nil {
			return fmt.Errorf("%s is not JSON: %v", subject, syntaxError(payload, err))
		}
		if done {
			return errors.New(subject + " is not JSON: more than one value (trailing data after the first)")
		}
		if n := len(stack); n > 0 && stack[n-1].object && stack[n-1].wantKey {
			top := stack[n-1]
			if d, ok := tok.(json.Delim); ok && d == '}' {
				stack = stack[:n-1]
				ended()
				continue
			}
			key, _ := tok.(string) // the decoder guarantees a string here
			if _, dup := top.keys[key]; dup {
				return fmt.Errorf("duplicate key %s in an object", quote(key))
			}
			top.keys[key] = struct{}{}
			top.wantKey = false
			continue
		}
		switch d, _ := tok.(json.Delim); d {
		case '{', '[':
			if len(stack) >= MaxDepth {
				return fmt.Errorf("%s nests deeper than %d levels", subject, MaxDepth)
			}
			f := &jsonFrame{object: d == '{', wantKey: d == '{'}
			if f.object {
				f.keys = make(map[string]struct{})
			}
			stack = append(stack, f)
		case '}', ']':
			stack = stack[:len(stack)-1]
			ended()
		default:
			ended()
		}
	}
}

// syntaxError returns the scanner's description of what is wrong with payload, which names
// what was expected ("looking for beginning of object key string"), and err when it has none.
func syntaxError(payload []byte, err error) error {
	var raw json.RawMessage
	if uerr := json.Unmarshal(payload, &raw); uerr != nil {
		return uerr
	}
	return err
}

// jsonFrame is one open object or array in CheckJSON's walk.
type jsonFrame struct {
	object  bool
	wantKey bool
	keys    map[string]struct{}
}

// object is a JSON object whose members are still raw.
type object map[string]json.RawMessage

// jsonKind names the JSON type of raw for messages: "object", "array", "string", "number",
// "boolean" or "null".
func jsonKind(raw json.RawMessage) string {
	raw = bytes.TrimSpace(raw)
	if len(raw) == 0 {
		return "nothing"
	}
	switch raw[0] {
	case '{':
		return "object"
	case '[':
		return "array"
	case '"':
		return "string"
	case 't', 'f':
		return "boolean"
	case 'n':
		return "null"
	default:
		return "number"
	}
}

func isNull(raw json.RawMessage) bool { return jsonKind(raw) == "null" }

// has reports whether o holds key with a value other than null.
func (o object) has(key string) bool {
	raw, ok := o[key]
	return ok && !isNull(raw)
}

// str returns o[key] as a string; ok is false when key is absent or null.
func (o object) str(key string) (s string, ok bool, err error) {
	raw, present := o[key]
	if !present || isNull(raw) {
		return "", false, nil
	}
	if jsonKind(raw) != "string" {
		return "", false, fmt.Errorf("%s must be a string, got a JSON %s", key, jsonKind(raw))
	}
	if err := json.Unmarshal(raw, &s); err != nil {
		return "", false, fmt.Errorf("%s: %v", key, err)
	}
	return s, true, nil
}

// lenientStr returns o[key] when it is a string and "" otherwise; for recovering
// identifiers to name in a rejection.
func (o object) lenientStr(key string) string {
	s, _, err := o.str(key)
	if err != nil {
		return ""
	}
	return s
}

// obj returns o[key] decoded as an object; ok is false when key is absent or null.
func (o object) obj(key string) (object, bool, error) {
	raw, present := o[key]
	if !present || isNull(raw) {
		return nil, false, nil
	}
	if jsonKind(raw) != "object" {
		return nil, false, fmt.Errorf("%s must be an object, got a JSON %s", key, jsonKind(raw))
	}
	var v object
	if err := json.Unmarshal(raw, &v); err != nil {
		return nil, false, fmt.Errorf("%s: %v", key, err)
	}
	return v, true, nil
}

// integer parses raw as a JSON integer literal within [lo, hi]. Fractions and exponents
// are refused even when their value is whole: a concurrency is a count.
func integer(key string, raw json.RawMessage, lo, hi int64) (int64, error) {
	if k := jsonKind(raw); k != "number" {
		return 0, fmt.Errorf("%s must be an integer, got a JSON %s", key, k)
	}
	s := string(bytes.TrimSpace(raw))
	if strings.ContainsAny(s, ".eE") {
		return 0, fmt.Errorf("%s must be an integer, got %s", key, clip(s))
	}
	v, err := strconv.ParseInt(s, 10, 64)
	if err != nil || v > hi {
		if strings.HasPrefix(s, "-") {
			return 0, fmt.Errorf("%s must not be negative, got %s", key, clip(s))
		}
		return 0, fmt.Errorf("%s %s is larger than %d", key, clip(s), hi)
	}
	if v < lo {
		if lo == 0 {
			return 0, fmt.Errorf("%s must not be negative, got %d", key, v)
		}
		return 0, fmt.Errorf("%s must be at least %d, got %d", key, lo, v)
	}
	return v, nil
}

// positiveFloat parses raw as a finite JSON number greater than 0.
func positiveFloat(key string, raw json.RawMessage) (float64, error) {
	if k := jsonKind(raw); k != "number" {
		return 0, fmt.Errorf("%s must be a number, got a JSON %s", key, k)
	}
	s := string(bytes.TrimSpace(raw))
	v, err := strconv.ParseFloat(s, 64)
	if err != nil || math.IsInf(v, 0) || math.IsNaN(v) {
		return 0, fmt.Errorf("%s %s is out of range", key, clip(s))
	}
	if v <= 0 {
		return 0, fmt.Errorf("%s must be greater than 0, got %s", key, clip(s))
	}
	return v, nil
}

// boolean parses raw as JSON true or false.
func boolean(key string, raw json.RawMessage) (bool, error) {
	switch string(bytes.TrimSpace(raw)) {
	case "true":
		return true, nil
	case "false":
		return false, nil
	}
	return false, fmt.Errorf("%s must be true or false, got a JSON %s", key, jsonKind(raw))
}

// unknownKeys returns the keys of o not in known, sorted.
func unknownKeys(o object, known map[string]bool) []string {
	var out []string
	for k := range o {
		if !known[k] {
			out = append(out, k)
		}
	}
	sort.Strings(out)
	return out
}

// unknownFieldReason explains the first unknown field, suggesting the field that was
// probably meant.
func unknownFieldReason(unknown []string, known map[string]bool) string {
	k := unknown[0]
	msg := fmt.Sprintf("unknown field %s", quote(k))
	if len(unknown) > 1 {
		msg = fmt.Sprintf("unknown fields %s and %d more", quote(k), len(unknown)-1)
	}
	if s := suggest(k, known); s != "" {
		msg += fmt.Sprintf(" (did you mean %q?)", s)
	}
	return msg
}

// suggest returns the known key closest to k (case-insensitively, within two edits), or "".
func suggest(k string, known map[string]bool) string {
	if len(k) > 64 {
		return ""
	}
	limit := 2 // edits tolerated; fewer for short keys, where two edits reach anything
	if len(k) <= 4 {
		limit = 1
	}
	best, bestD := "", limit+1
	names := make([]string, 0, len(known))
	for n := range known {
		names = append(names, n)
	}
	sort.Strings(names)
	bestCase := 0
	for _, n := range names {
		d := editDistance(strings.ToLower(k), strings.ToLower(n))
		c := editDistance(k, n) // breaks ties: functionname suggests functionName, not FunctionName
		if d < bestD || (d == bestD && best != "" && c < bestCase) {
			best, bestD, bestCase = n, d, c
		}
	}
	return best
}

func editDistance(a, b string) int {
	prev := make([]int, len(b)+1)
	cur := make([]int, len(b)+1)
	for j := range prev {
		prev[j] = j
	}
	for i := 1; i <= len(a); i++ {
		cur[0] = i
		for j := 1; j <= len(b); j++ {
			cost := 1
			if a[i-1] == b[j-1] {
				cost = 0
			}
			cur[j] = min(prev[j]+1, cur[j-1]+1, prev[j-1]+cost)
		}
		prev, cur = cur, prev
	}
	return prev[len(b)]
}

// clip shortens a raw literal for a message.
func clip(s string) string {
	if len(s) > 40 {
		return s[:40] + "…"
	}
	return s
}
