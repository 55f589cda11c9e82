package config

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"sort"
	"strconv"
	"strings"

	"github.com/prewarm/prewarm/derive"
	"github.com/prewarm/prewarm/intent"
)

// Policy is the parsed POLICY: per function-name pattern a default, min, max and scale. The
// zero value has no rules.
type Policy struct {
	exact    map[string]derive.Rule
	prefixes []prefixRule // longest prefix first
}

type prefixRule struct {
	prefix string // "" for "*"
	rule   derive.Rule
}

const maxInt32 = 1<<31 - 1

// ParsePolicy parses POLICY, a JSON object of pattern → rule:
//
//	{"api-*": {"default": 10, "min": 2, "max": 50, "scale": 1.5}, "billing": {"default": 5},
//	 "web": {"strategy": "demand", "window": "6h", "utilisation": 0.6, "max": 200}}
//
// A pattern is a function name, a name prefix ending in '*', or "*". Every rule field is
// optional; default, min and max are integers 0..2^31−1 (default ≥ 1), scale a finite number
// > 0, strategy "demand" or "mirror", window a duration in whole minutes within 1m..360h and
// utilisation a number in (0, 1], clearWeights a boolean. Unknown keys, duplicate keys (intent.CheckJSON), bad numbers, min > max and a default
// outside [min, max] are refused. An empty or blank string is an empty policy.
func ParsePolicy(s string) (Policy, error) {
	if strings.TrimSpace(s) == "" {
		return Policy{}, nil
	}
	if err := intent.CheckJSON("value", []byte(s)); err != nil {
		return Policy{}, err
	}
	var raw map[string]json.RawMessage
	if err := json.Unmarshal([]byte(s), &raw); err != nil {
		return Policy{}, fmt.Errorf("not a JSON object of pattern to rule: %v", err)
	}
	if raw == nil {
		return Policy{}, errors.New("not a JSON object of pattern to rule: null")
	}
	p := Policy{exact: make(map[string]derive.Rule)}
	patterns := make([]string, 0, len(raw))
	for k := range raw {
		patterns = append(patterns, k)
	}
	sort.Strings(patterns)
	for _, pat := range patterns {
		rule, err := parseRule(raw[pat])
		if err != nil {
			return Policy{}, fmt.Errorf("pattern %q: %w", pat, err)
		}
		body, prefix := strings.CutSuffix(pat, "*")
		if strings.Contains(body, "*") || strings.Contains(body, ":") || (!prefix && body == "") {
			return Policy{}, fmt.Errorf("pattern %q: want a function name, a name prefix ending in '*', or \"*\"", pat)
		}
		if body != "" {
			if err := checkName(body, prefix); err != nil {
				return Policy{}, fmt.Errorf("pattern %q: %w", pat, err)
			}
		}
		if prefix {
			p.prefixes = append(p.prefixes, prefixRule{prefix: body, rule: rule})
		} else {
			p.exact[body] = rule
		}
	}
	sort.SliceStable(p.prefixes, func(i, j int) bool { return len(p.prefixes[i].prefix) > len(p.prefixes[j].prefix) })
	return p, nil
}

var ruleKeys = map[string]bool{"default": true, "min": true, "max": true, "scale": true,
	"strategy": true, "window": true, "utilisation": true, "clearWeights": true}

func parseRule(raw json.RawMessage) (derive.Rule, error) {
	var fields map[string]json.RawMessage
	if t := bytes.TrimSpace(raw); len(t) == 0 || t[0] != '{' {
		return derive.Rule{}, errors.New(`rule must be an object like {"default":10,"min":1,"max":50,"scale":1.5}`)
	}
	if err := json.Unmarshal(raw, &fields); err != nil {
		return derive.Rule{}, err
	}
	keys := make([]string, 0, len(fields))
	for k := range fields {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	var r derive.Rule
	for _, k := range keys {
		v := fields[k]
		if !ruleKeys[k] {
			return derive.Rule{}, fmt.Errorf("unknown key %q (want default, min, max, scale, strategy, window, utilisation, clearWeights)", k)
		}
		if done, err := parseStrategyKey(&r, k, v); done || err != nil {
			if err != nil {
				return derive.Rule{}, err
			}
			continue
		}
		if k == "scale" {
			f, err := parseScale(v)
			if err != nil {
				return derive.Rule{}, err
			}
			r.Scale = &f
			continue
		}
		lo := int64(0)
		if k == "default" {
			lo = 1
		}
		n, err := parseCount(k, v, lo)
		if err != nil {
			return derive.Rule{}, err
		}
		switch k {
		case "default":
			r.Default = &n
		case "min":
			r.Min = &n
		case "max":
			r.Max = &n
		}
	}
	switch {
	case r.Min != nil && r.Max != nil && *r.Min > *r.Max:
		return derive.Rule{}, fmt.Errorf("min %d is greater than max %d", *r.Min, *r.Max)
	case r.Default != nil && r.Min != nil && *r.Default < *r.Min:
		return derive.Rule{}, fmt.Errorf("default %d is below min %d", *r.Default, *r.Min)
	case r.Default != nil && r.Max != nil && *r.Default > *r.Max:
		return derive.Rule{}, fmt.Errorf("default %d is above max %d", *r.Default, *r.Max)
	}
	return r, nil
}

// startsNumber reports whether s starts as a JSON number does: with '-' or a digit.
func startsNumber(s string) bool {
	return s != "" && (s[0] == '-' || s[0] >= '0' && s[0] <= '9')
}

// parseCount parses a JSON integer literal in [lo, 2^31−1].
func parseCount(key string, raw json.RawMessage, lo int64) (int64, error) {
	s := string(bytes.TrimSpace(raw))
	if !startsNumber(s) || strings.ContainsAny(s, ".eE") {
		return 0, fmt.Errorf("%s must be an integer, got %s", key, clipValue(s))
	}
	n, err := strconv.ParseInt(s, 10, 64)
	if err != nil || n > maxInt32 {
		return 0, fmt.Errorf("%s %s is outside %d..%d", key, clipValue(s), lo, maxInt32)
	}
	if n < lo {
		return 0, fmt.Errorf("%s %d is outside %d..%d", key, n, lo, maxInt32)
	}
	return n, nil
}

func parseScale(raw json.RawMessage) (float64, error) {
	s := string(bytes.TrimSpace(raw))
	if !startsNumber(s) {
		return 0, fmt.Errorf("scale must be a number, got %s", clipValue(s))
	}
	f, err := strconv.ParseFloat(s, 64)
	if err != nil || math.IsInf(f, 0) || math.IsNaN(f) {
		return 0, fmt.Errorf("scale %s is out of range", clipValue(s))
	}
	if f <= 0 {
		return 0, fmt.Errorf("scale must be greater than 0, got %s", clipValue(s))
	}
	return f, nil
}

// Rule returns the rule for a function name: an exact pattern beats the longest matching
// prefix, and "*" matches every name. The rule's pointers are fresh copies.
func (p Policy) Rule(functionName string) (derive.Rule, bool) {
	if r, ok := p.exact[functionName]; ok {
		return copyRule(r), true
	}
	for _, pr := range p.prefixes {
		if strings.HasPrefix(functionName, pr.prefix) {
			return copyRule(pr.rule), true
		}
	}
	return derive.Rule{}, false
}

// patterns returns the policy's patterns, sorted.
func (p Policy) patterns() []string {
	out := make([]string, 0, len(p.exact)+len(p.prefixes))
	for k := range p.exact {
		out = append(out, k)
	}
	for _, pr := range p.prefixes {
		out = append(out, pr.prefix+"*")
	}
	sort.Strings(out)
	return out
}

func copyRule(r derive.Rule) derive.Rule {
	cp := func(v *int64) *int64 {
		if v == nil {
			return nil
		}
		x := *v
		return &x
	}
	out := derive.Rule{Default: cp(r.Default), Min: cp(r.Min), Max: cp(r.Max), Strategy: r.Strategy, Window: r.Window, ClearWeights: r.ClearWeights}
	if r.Scale != nil {
		s := *r.Scale
		out.Scale = &s
	}
	if r.Utilisation != nil {
		u := *r.Utilisation
		out.Utilisation = &u
	}
	return out
}
