package main

import (
	"bytes"
	"fmt"
	"io"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/prewarm/prewarm/results"
)

// outcome is one result message a scenario promises, written as the demo prints it.
type outcome struct {
	// target is function:qualifier; "" for a record that named no function.
	target  string
	outcome results.Outcome
	// value is the value column as printed ("10 (mirror of BLUE)"); "" leaves it unchecked.
	value string
	// reason is a part of the reason; "" leaves it unchecked.
	reason string
}

func (o outcome) String() string {
	s := targetOf(o.target) + " " + string(o.outcome)
	if o.value != "" {
		s += " " + o.value
	}
	if o.reason != "" {
		s += fmt.Sprintf(" (reason containing %q)", o.reason)
	}
	return s
}

func (o outcome) matches(m results.Message) bool {
	target := m.FunctionName + ":" + m.Qualifier
	if target == ":" {
		target = ""
	}
	return o.target == target &&
		o.outcome == m.Outcome &&
		(o.value == "" || o.value == valueOf(m)) &&
		strings.Contains(m.Reason, o.reason)
}

// compare matches the messages against the promised outcomes, each message to at most one
// outcome, and describes every promised outcome not reached and every message not promised.
// It returns nothing when they are the same.
func compare(want []outcome, got []results.Message) []string {
	matched := make([]bool, len(got))
	var problems []string
	for _, w := range want {
		found := false
		for i, m := range got {
			if !matched[i] && w.matches(m) {
				matched[i], found = true, true
				break
			}
		}
		if !found {
			problems = append(problems, "not reached: "+w.String())
		}
	}
	for i, m := range got {
		if !matched[i] {
			problems = append(problems, "not promised: "+describe(m))
		}
	}
	return problems
}

// describe is one message on one line, reason whole.
func describe(m results.Message) string {
	parts := []string{targetOf(m.FunctionName + ":" + m.Qualifier), string(m.Outcome)}
	if v := valueOf(m); v != "" {
		parts = append(parts, v)
	}
	if s := statusOf(m); s != "" {
		parts = append(parts, s)
	}
	if d := detailOf(m); d != "" {
		parts = append(parts, "— "+d)
	}
	return strings.Join(parts, " ")
}

// targetOf prints an empty target ("" or ":") as a dash.
func targetOf(t string) string {
	if t == "" || t == ":" {
		return "—"
	}
	return t
}

// valueOf is the value column: the derived value and how it was derived, else the value the
// response requests.
func valueOf(m results.Message) string {
	if d := m.Derivation; d != nil {
		switch d.Strategy {
		case results.StrategyMirror:
			return fmt.Sprintf("%d (mirror of %s)", d.Value, d.From)
		case results.StrategyDemand:
			return demandOf(d)
		}
		return fmt.Sprintf("%d (%s)", d.Value, d.Strategy)
	}
	if m.Response != nil {
		return fmt.Sprint(m.Response.RequestedProvisionedConcurrentExecutions)
	}
	return ""
}

// statusOf is the status AWS answered with, when the message carries a response.
func statusOf(m results.Message) string {
	if m.Response == nil {
		return ""
	}
	return m.Response.Status
}

// detailOf is the reason, after AWS's error code when there is one.
func detailOf(m results.Message) string {
	if m.Error != nil {
		return m.Error.Code + ": " + m.Reason
	}
	return m.Reason
}

// detailWidth is where the detail column wraps, so that a line of the table stays within
// about 130 columns with the widest targets.
const detailWidth = 56

// printResults prints the messages as a table, in the order they were read, times relative to
// began; a long detail wraps onto lines of its own in the detail column, whole.
func (d *demo) printResults(msgs []results.Message, began time.Time) {
	if len(msgs) == 0 {
		d.printf("   (no result messages)\n")
		return
	}
	// Rendered in memory, where writes cannot fail, so that the padding tabwriter leaves at the
	// end of a row without detail can be trimmed.
	var table bytes.Buffer
	tw := tabwriter.NewWriter(&table, 0, 0, 2, ' ', 0)
	row := func(cells ...string) {
		_, _ = fmt.Fprintf(tw, "   \t%s\n", strings.Join(cells, "\t"))
	}
	row("at", "target", "outcome", "value", "status", "detail")
	for _, m := range msgs {
		at := "+" + m.Time.Sub(began).Round(100*time.Millisecond).String()
		lines := wrap(detailOf(m), detailWidth)
		row(at, targetOf(m.FunctionName+":"+m.Qualifier), string(m.Outcome), valueOf(m), statusOf(m), lines[0])
		for _, l := range lines[1:] {
			row("", "", "", "", "", l)
		}
	}
	_ = tw.Flush()
	for line := range strings.Lines(table.String()) {
		d.printf("%s\n", strings.TrimRight(line, " \n"))
	}
}

// printWrapped prints s after prefix, wrapped at word boundaries, continuation lines indented
// under the first.
func (d *demo) printWrapped(prefix, s string) {
	indent := strings.Repeat(" ", len([]rune(prefix)))
	for i, l := range wrap(s, 100) {
		if i == 0 {
			d.printf("%s%s\n", prefix, l)
		} else {
			d.printf("%s%s\n", indent, l)
		}
	}
}

// wrap breaks s at spaces into lines of at most width runes; a word longer than width gets a
// line of its own, whole. It always returns at least one line.
func wrap(s string, width int) []string {
	words := strings.Fields(s)
	if len(words) == 0 {
		return []string{""}
	}
	var lines []string
	line := words[0]
	for _, w := range words[1:] {
		if len([]rune(line))+1+len([]rune(w)) > width {
			lines = append(lines, line)
			line = w
			continue
		}
		line += " " + w
	}
	return append(lines, line)
}

// output keeps the first error of the writer it wraps, so that printing stays one call a line
// and the demo still fails when its output cannot be written.
type output struct {
	w   io.Writer
	err error
}

func (o *output) Write(p []byte) (int, error) {
	if o.err != nil {
		return 0, o.err
	}
	n, err := o.w.Write(p)
	o.err = err
	return n, err
}

func (d *demo) printf(format string, a ...any) {
	// d.out keeps the first write error; run returns it.
	_, _ = fmt.Fprintf(d.out, format, a...)
}
