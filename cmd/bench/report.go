package main

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"math"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"text/tabwriter"
	"time"
)

// Row is one figure of the report: prewarm's value, the floor or reference
// measured in the same run, their ratio, and the target it is held to.
type Row struct {
	// ID names the figure for scripts ("cold_start", "size_arm64", …).
	ID string `json:"id"`
	// Name is the figure in words.
	Name string `json:"name"`
	Unit string `json:"unit"`
	// Value is prewarm's measurement.
	Value float64 `json:"value"`
	// Reference is the floor or reference it is compared with; nil when the
	// target is absolute.
	Reference     *float64 `json:"reference,omitempty"`
	ReferenceName string   `json:"referenceName,omitempty"`
	// Ratio is Value / Reference.
	Ratio *float64 `json:"ratio,omitempty"`
	// Target in words ("≤ 1.3×", "≤ 64 MiB", "0"); "" for figures reported
	// without one.
	Target string `json:"target,omitempty"`
	// Pass is nil for figures without a target.
	Pass *bool `json:"pass,omitempty"`
	// Detail says how the figure was measured and what bounds it.
	Detail string `json:"detail,omitempty"`
	// Samples are the individual measurements, when there are several.
	Samples []float64 `json:"samples,omitempty"`
	// ReferenceSamples are the reference's individual measurements.
	ReferenceSamples []float64 `json:"referenceSamples,omitempty"`
	// Error is set when the figure could not be measured.
	Error string `json:"error,omitempty"`
}

// Report is the JSON written to bench/out/bench.json.
type Report struct {
	Time    time.Time `json:"time"`
	Command string    `json:"command"`
	Machine Machine   `json:"machine"`
	Rows    []Row     `json:"rows"`
	// Pass is true when every figure with a target met it.
	Pass     bool    `json:"pass"`
	Duration float64 `json:"durationSeconds"`
}

// Machine describes where the report was measured.
type Machine struct {
	GOOS      string `json:"goos"`
	GOARCH    string `json:"goarch"`
	CPUs      int    `json:"cpus"`
	CPUModel  string `json:"cpuModel"`
	GoVersion string `json:"goVersion"`
}

// ratioRow fills a row compared against a reference, passing when the
// ratio is at most limit.
func ratioRow(r Row, value, reference, limit float64) Row {
	r.Value, r.Reference = value, &reference
	if reference > 0 {
		ratio := value / reference
		r.Ratio = &ratio
		pass := ratio <= limit
		r.Pass = &pass
	}
	r.Target = "≤ " + trimFloat(limit) + "×"
	return r
}

// maxRow fills a row held to an absolute ceiling.
func maxRow(r Row, value, limit float64, target string) Row {
	r.Value = value
	pass := value <= limit
	r.Pass, r.Target = &pass, target
	return r
}

func failedRow(id, name string, err error) Row {
	pass := false
	return Row{ID: id, Name: name, Error: err.Error(), Pass: &pass, Target: "measured"}
}

func median(xs []float64) float64 {
	if len(xs) == 0 {
		return math.NaN()
	}
	s := slices.Clone(xs)
	slices.Sort(s)
	if len(s)%2 == 1 {
		return s[len(s)/2]
	}
	return (s[len(s)/2-1] + s[len(s)/2]) / 2
}

func trimFloat(f float64) string {
	return strings.TrimSuffix(strings.TrimRight(fmt.Sprintf("%.3f", f), "0"), ".")
}

func formatValue(v float64, unit string) string {
	switch {
	case math.IsNaN(v):
		return "—"
	case unit == "bytes":
		return fmt.Sprintf("%.2f MiB", v/(1<<20))
	case unit == "KiB":
		return fmt.Sprintf("%.1f MiB", v/1024)
	case unit == "s":
		return fmt.Sprintf("%.1f s", v)
	case unit == "calls":
		return fmt.Sprintf("%.2f calls", v)
	case v == math.Trunc(v) && math.Abs(v) < 1e9:
		return strings.TrimSpace(fmt.Sprintf("%d %s", int64(v), unit))
	case math.Abs(v) >= 100:
		return fmt.Sprintf("%.0f %s", v, unit)
	case math.Abs(v) >= 10:
		return fmt.Sprintf("%.1f %s", v, unit)
	}
	return fmt.Sprintf("%.2f %s", v, unit)
}

// printTable writes the report as one aligned table, then the details.
func printTable(w io.Writer, rep Report) error {
	// Rendered in memory, where writes cannot fail, and written out at once.
	var buf bytes.Buffer
	tw := tabwriter.NewWriter(&buf, 0, 0, 2, ' ', 0)
	_, _ = fmt.Fprintln(tw, "figure\tprewarm\tfloor / reference\tratio\ttarget\tresult")
	for _, r := range rep.Rows {
		ref, ratio, result := "", "", ""
		if r.Reference != nil {
			ref = formatValue(*r.Reference, r.Unit)
			if r.ReferenceName != "" {
				ref += " (" + r.ReferenceName + ")"
			}
		}
		if r.Ratio != nil {
			ratio = fmt.Sprintf("%.2f×", *r.Ratio)
		}
		switch {
		case r.Error != "":
			result = "ERROR"
		case r.Pass == nil:
			result = "info"
		case *r.Pass:
			result = "pass"
		default:
			result = "FAIL"
		}
		value := formatValue(r.Value, r.Unit)
		if r.Error != "" {
			value = "—"
		}
		_, _ = fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\t%s\n", r.Name, value, ref, ratio, r.Target, result)
	}
	_ = tw.Flush()
	fmt.Fprintln(&buf)
	for _, r := range rep.Rows {
		switch {
		case r.Error != "":
			fmt.Fprintf(&buf, "- %s: could not be measured: %s\n", r.Name, r.Error)
		case r.Detail != "":
			fmt.Fprintf(&buf, "- %s: %s\n", r.Name, r.Detail)
		}
	}
	verdict := "every figure with a target meets it"
	if !rep.Pass {
		verdict = "some figures miss their target (see above)"
	}
	fmt.Fprintf(&buf, "\n%s, %s/%s, %d CPUs (%s); bench took %.0f s; %s.\n",
		rep.Machine.GoVersion, rep.Machine.GOOS, rep.Machine.GOARCH, rep.Machine.CPUs, rep.Machine.CPUModel, rep.Duration, verdict)
	if _, err := w.Write(buf.Bytes()); err != nil {
		return fmt.Errorf("write the report table: %w", err)
	}
	return nil
}

func writeJSON(path string, rep Report) error {
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		return fmt.Errorf("write report: %w", err)
	}
	b, err := json.MarshalIndent(rep, "", "  ")
	if err != nil {
		return fmt.Errorf("write report: %w", err)
	}
	if err := os.WriteFile(path, append(b, '\n'), 0o644); err != nil {
		return fmt.Errorf("write report: %w", err)
	}
	return nil
}
