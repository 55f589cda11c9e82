package main

import (
	"bufio"
	"bytes"
	"context"
	"fmt"
	"os/exec"
	"regexp"
	"strconv"
	"strings"
)

// benchLabels name the handler benchmarks in the report.
var benchLabels = map[string]string{
	"BenchmarkInvokeAPI/sqs-10-explicit":      "SQS batch of 10 explicit intents",
	"BenchmarkInvokeAPI/sqs-10-switch":        "SQS batch of 10 switches (mirror)",
	"BenchmarkInvokeAPI/direct-explicit":      "one direct explicit intent",
	"BenchmarkInvokeEmulator/sqs-10-explicit": "SQS batch of 10, real SDK + emulator",
}

var benchOrder = []string{
	"BenchmarkInvokeAPI/sqs-10-explicit",
	"BenchmarkInvokeAPI/sqs-10-switch",
	"BenchmarkInvokeAPI/direct-explicit",
	"BenchmarkInvokeEmulator/sqs-10-explicit",
}

// cpuRows runs the handler's testing.B benchmarks and summarises the
// medians of their per-event figures.
func cpuRows(ctx context.Context, root string, count int, overlay string) []Row {
	args := []string{"test", "-run", "^$", "-bench", ".", "-benchmem", "-count", strconv.Itoa(count)}
	if overlay != "" {
		args = append(args, "-overlay", overlay)
	}
	args = append(args, "./handler")
	cmd := exec.CommandContext(ctx, goTool(), args...)
	cmd.Dir = root
	out, err := cmd.CombinedOutput()
	if err != nil {
		return []Row{failedRow("cpu", "CPU and allocations per event", fmt.Errorf("go %s: %w\n%s", strings.Join(args, " "), err, out))}
	}
	metrics := parseBench(out)
	var rows []Row
	for _, name := range benchOrder {
		m, ok := metrics[name]
		if !ok {
			continue
		}
		label := benchLabels[name]
		n := len(m["cpu-µs/event"])
		cpu := Row{ID: "cpu_" + strings.ReplaceAll(strings.TrimPrefix(name, "Benchmark"), "/", "_"), Name: "CPU per event: " + label,
			Unit: "µs", Value: median(m["cpu-µs/event"]), Samples: m["cpu-µs/event"]}
		cpu.Detail = fmt.Sprintf("%s, median of %d: %.1f µs CPU (user+system, all goroutines), %.0f allocs, %.1f KiB per event; "+
			"%.0f allocs/op, %.0f B/op, %.0f µs/op wall", name, n, median(m["cpu-µs/event"]), median(m["allocs/event"]),
			median(m["B/event"])/1024, median(m["allocs/op"]), median(m["B/op"]), median(m["ns/op"])/1e3)
		allocs := Row{ID: cpu.ID + "_allocs", Name: "  allocations per event", Unit: "allocs", Value: median(m["allocs/event"]), Samples: m["allocs/event"]}
		rows = append(rows, cpu, allocs)
	}
	if len(rows) == 0 {
		return []Row{failedRow("cpu", "CPU and allocations per event", fmt.Errorf("no benchmark results in:\n%s", out))}
	}
	return rows
}

var benchLine = regexp.MustCompile(`^(Benchmark\S+?)(-\d+)?\s+(\d+)\s+(.*)$`)

// parseBench reads go test -bench output: benchmark → unit → values.
func parseBench(out []byte) map[string]map[string][]float64 {
	res := map[string]map[string][]float64{}
	sc := bufio.NewScanner(bytes.NewReader(out))
	for sc.Scan() {
		m := benchLine.FindStringSubmatch(sc.Text())
		if m == nil {
			continue
		}
		fields := strings.Fields(m[4])
		for i := 0; i+1 < len(fields); i += 2 {
			v, err := strconv.ParseFloat(fields[i], 64)
			if err != nil {
				continue
			}
			if res[m[1]] == nil {
				res[m[1]] = map[string][]float64{}
			}
			res[m[1]][fields[i+1]] = append(res[m[1]][fields[i+1]], v)
		}
	}
	return res
}
