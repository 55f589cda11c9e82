package main

import (
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
)

// Build flags of a Lambda binary: those of make build (static, reproducible,
// without aws-lambda-go's RPC mode, stripped). The hello-world reference is
// built with exactly the same ones.
var lambdaBuildFlags = []string{"-trimpath", "-tags", "lambda.norpc", "-ldflags=-s -w -buildid="}

// symbolsBuildFlags are the same but keep the symbol table, which tells
// which operations a binary links.
var symbolsBuildFlags = []string{"-trimpath", "-tags", "lambda.norpc", "-ldflags=-buildid="}

// The Runtime Interface Emulator, installed as make invoke does.
const (
	rieModule  = "github.com/aws/aws-lambda-runtime-interface-emulator/cmd/aws-lambda-rie"
	rieVersion = "v0.0.0-20261030222936-bef5c4ba774d"
)

// Packages of the binaries compared: prewarm, the floor (the same service
// clients doing the least work of an explicit intent) it is held to, and a
// hello-world and the floor linking every operation prewarm calls, weighed
// beside them for information.
const (
	prewarmPackage  = "./cmd/prewarm"
	floorPackage    = "./bench/floor"
	helloPackage    = "./bench/hello"
	floorOpsPackage = "./bench/floorops"
)

// binaries are the programs the benchmarks run or weigh.
type binaries struct {
	hostPrewarm, hostFloor, hostHello    string
	arm64Prewarm, arm64Floor, arm64Hello string
	// arm64FloorOps is built stripped like the others; the two symbols
	// binaries are prewarm and floorops for linux/arm64 with their symbol
	// tables, to compare the operations they link.
	arm64FloorOps, symPrewarm, symFloorOps string
	rie                                    string
}

// goTool is the go command: $GO when set (make passes it), else go on PATH.
func goTool() string {
	if g := os.Getenv("GO"); g != "" {
		return g
	}
	return "go"
}

// build compiles the four Lambda binaries into dir and finds or installs
// the Runtime Interface Emulator in the module's bin/ (where make invoke
// puts it).
// A non-empty overlay is passed to go build -overlay, to measure a proposed
// change without touching the tree.
func build(ctx context.Context, root, dir, overlay string, logf func(string, ...any)) (binaries, error) {
	b := binaries{
		hostPrewarm:  filepath.Join(dir, "host", "bootstrap"),
		hostFloor:    filepath.Join(dir, "host", "floor"),
		hostHello:    filepath.Join(dir, "host", "hello"),
		arm64Prewarm: filepath.Join(dir, "linux_arm64", "bootstrap"),
		arm64Floor:   filepath.Join(dir, "linux_arm64", "floor"),
		arm64Hello:   filepath.Join(dir, "linux_arm64", "hello"),
		// Built only for linux/arm64, where the figure is.
		arm64FloorOps: filepath.Join(dir, "linux_arm64", "floorops"),
		symPrewarm:    filepath.Join(dir, "linux_arm64_symbols", "bootstrap"),
		symFloorOps:   filepath.Join(dir, "linux_arm64_symbols", "floorops"),
		rie:           filepath.Join(root, "bin", "aws-lambda-rie"),
	}
	arm64 := []string{"GOOS=linux", "GOARCH=arm64", "CGO_ENABLED=0"}
	for _, t := range []struct {
		env      []string
		dir      string
		flags    []string
		packages []string
	}{
		{[]string{"CGO_ENABLED=0"}, filepath.Dir(b.hostPrewarm), lambdaBuildFlags, []string{prewarmPackage, floorPackage, helloPackage}},
		{arm64, filepath.Dir(b.arm64Prewarm), lambdaBuildFlags, []string{prewarmPackage, floorPackage, helloPackage, floorOpsPackage}},
		{arm64, filepath.Dir(b.symPrewarm), symbolsBuildFlags, []string{prewarmPackage, floorOpsPackage}},
	} {
		// One go build for the programs: -o DIR/ names them prewarm, floor,
		// … after their directories.
		logf("build %s into %s (%s)", strings.Join(t.packages, ", "), t.dir, strings.Join(t.env, " "))
		args := append([]string{"build"}, t.flags...)
		if overlay != "" {
			args = append(args, "-overlay", overlay)
		}
		args = append(args, "-o", t.dir+string(filepath.Separator))
		args = append(args, t.packages...)
		if err := goCommand(ctx, root, t.env, args...); err != nil {
			return binaries{}, err
		}
		if err := os.Rename(filepath.Join(t.dir, "prewarm"), filepath.Join(t.dir, "bootstrap")); err != nil {
			return binaries{}, fmt.Errorf("build: %w", err)
		}
	}
	if _, err := os.Stat(b.rie); err != nil {
		logf("install %s@%s into bin/", rieModule, rieVersion)
		env := []string{"GOBIN=" + filepath.Dir(b.rie), "CGO_ENABLED=0"}
		if err := goCommand(ctx, root, env, "install", rieModule+"@"+rieVersion); err != nil {
			return binaries{}, fmt.Errorf("install the Runtime Interface Emulator: %w", err)
		}
	}
	return b, nil
}

func goCommand(ctx context.Context, dir string, env []string, args ...string) error {
	cmd := exec.CommandContext(ctx, goTool(), args...)
	cmd.Dir = dir
	cmd.Env = append(os.Environ(), env...)
	out, err := cmd.CombinedOutput()
	if err != nil {
		return fmt.Errorf("go %s: %w\n%s", strings.Join(args, " "), err, out)
	}
	return nil
}

func fileSize(path string) (float64, error) {
	fi, err := os.Stat(path)
	if err != nil {
		return 0, fmt.Errorf("size of %s: %w", path, err)
	}
	return float64(fi.Size()), nil
}

// sizeRows compares the stripped linux/arm64 binaries: prewarm against the
// floor, against the floor linking the same operations, and the
// hello-world for information.
func sizeRows(ctx context.Context, b binaries) []Row {
	const id, name = "size_arm64", "bootstrap size, linux/arm64 stripped"
	p, err := fileSize(b.arm64Prewarm)
	if err != nil {
		return []Row{failedRow(id, name, err)}
	}
	f, err := fileSize(b.arm64Floor)
	if err != nil {
		return []Row{failedRow(id, name, err)}
	}
	h, err := fileSize(b.arm64Hello)
	if err != nil {
		return []Row{failedRow(id, name, err)}
	}
	r := ratioRow(Row{ID: id, Name: name, Unit: "bytes", ReferenceName: "floor"}, p, f, 1.10)
	r.Detail = fmt.Sprintf("%d vs %d bytes (the floor: aws-lambda-go, config.LoadDefaultConfig and the same service clients doing a Get, a Put and a SendMessage; "+
		"the SDK links an operation's model only where it is called, so the operations prewarm calls beyond those three are above this floor: see the next row), "+
		"all GOOS=linux GOARCH=arm64 CGO_ENABLED=0 go build %s",
		int64(p), int64(f), strings.Join(lambdaBuildFlags, " "))
	info := Row{ID: "size_arm64_hello", Name: "  hello-world, for information", Unit: "bytes", ReferenceName: "hello-world", Value: h,
		Detail: fmt.Sprintf("the floor is %.2f× the hello-world: the SDK's configuration loader and clients", f/h)}
	return []Row{r, floorOpsRow(ctx, b, p, f), info}
}

// floorOpsRow weighs prewarm against the floor that also links every
// operation prewarm calls — the same client code — once it has checked that
// the two link the same operations. It is held to the same 1.10×.
func floorOpsRow(ctx context.Context, b binaries, prewarm, floor float64) Row {
	const id, name = "size_arm64_floor_ops", "  against the floor linking the same operations"
	o, err := fileSize(b.arm64FloorOps)
	if err != nil {
		return failedRow(id, name, err)
	}
	want, err := linkedOperations(ctx, b.symPrewarm)
	if err != nil {
		return failedRow(id, name, err)
	}
	got, err := linkedOperations(ctx, b.symFloorOps)
	if err != nil {
		return failedRow(id, name, err)
	}
	if missing, extra := difference(want, got), difference(got, want); len(missing)+len(extra) > 0 {
		return failedRow(id, name, fmt.Errorf("%s does not link what prewarm links: missing %v, extra %v", floorOpsPackage, missing, extra))
	}
	r := ratioRow(Row{ID: id, Name: name, Unit: "bytes", ReferenceName: "floor + operations"}, prewarm, o, 1.10)
	r.Detail = fmt.Sprintf("%d vs %d bytes; %s: the floor plus one call of each of the %d operations prewarm links (%s), "+
		"%.3f× the floor with no code of prewarm's; what prewarm adds above it is its own code; the same build flags",
		int64(prewarm), int64(o), floorOpsPackage, len(want), strings.Join(want, ", "), o/floor)
	return r
}

// difference returns the elements of a that are not in b.
func difference(a, b []string) []string {
	var d []string
	for _, x := range a {
		if !slices.Contains(b, x) {
			d = append(d, x)
		}
	}
	return d
}

// clientMethod matches an operation method of an SDK client in a symbol
// table: "github.com/aws/aws-sdk-go-v2/service/sqs.(*Client).SendMessage".
var clientMethod = regexp.MustCompile(`aws-sdk-go-v2/service/([a-z0-9]+)\.\(\*Client\)\.([A-Z][A-Za-z0-9]+)$`)

// credentialServices are the clients config.LoadDefaultConfig links for
// credentials; every binary has them.
var credentialServices = map[string]bool{"sts": true, "sso": true, "ssooidc": true, "signin": true}

// linkedOperations lists "service:Operation" for every SDK operation the
// binary at path links (it needs its symbol table), sorted.
func linkedOperations(ctx context.Context, path string) ([]string, error) {
	out, err := exec.CommandContext(ctx, goTool(), "tool", "nm", path).Output()
	if err != nil {
		return nil, fmt.Errorf("go tool nm %s: %w", path, err)
	}
	var ops []string
	for line := range strings.Lines(string(out)) {
		m := clientMethod.FindStringSubmatch(strings.TrimSpace(line))
		if m == nil || credentialServices[m[1]] {
			continue
		}
		ops = append(ops, m[1]+":"+m[2])
	}
	slices.Sort(ops)
	return slices.Compact(ops), nil
}
