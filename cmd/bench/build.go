package main

import (
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
)

// Build flags of a Lambda binary: those of make build (static, reproducible,
// without aws-lambda-go's RPC mode, stripped). The hello-world reference is
// built with exactly the same ones.
var lambdaBuildFlags = []string{"-trimpath", "-tags", "lambda.norpc", "-ldflags=-s -w -buildid="}

// The Runtime Interface Emulator, installed as make invoke does.
const (
	rieModule  = "github.com/aws/aws-lambda-runtime-interface-emulator/cmd/aws-lambda-rie"
	rieVersion = "v0.0.0-20261030222936-bef5c4ba774d"
)

// Packages of the binaries compared: prewarm, the floor (the same service
// clients doing the least work of an explicit intent) it is held to, and a
// hello-world printed beside them for information.
const (
	prewarmPackage = "./cmd/prewarm"
	floorPackage   = "./bench/floor"
	helloPackage   = "./bench/hello"
)

// binaries are the programs the benchmarks run or weigh.
type binaries struct {
	hostPrewarm, hostFloor, hostHello    string
	arm64Prewarm, arm64Floor, arm64Hello string
	rie                                  string
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
		rie:          filepath.Join(root, "bin", "aws-lambda-rie"),
	}
	for _, t := range []struct {
		env []string
		dir string
	}{
		{[]string{"CGO_ENABLED=0"}, filepath.Dir(b.hostPrewarm)},
		{[]string{"GOOS=linux", "GOARCH=arm64", "CGO_ENABLED=0"}, filepath.Dir(b.arm64Prewarm)},
	} {
		// One go build for the programs: -o DIR/ names them prewarm, floor
		// and hello after their directories.
		logf("build %s, %s and %s into %s (%s)", prewarmPackage, floorPackage, helloPackage, t.dir, strings.Join(t.env, " "))
		args := append([]string{"build"}, lambdaBuildFlags...)
		if overlay != "" {
			args = append(args, "-overlay", overlay)
		}
		args = append(args, "-o", t.dir+string(filepath.Separator), prewarmPackage, floorPackage, helloPackage)
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
// floor, and the hello-world for information.
func sizeRows(b binaries) []Row {
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
	r.Detail = fmt.Sprintf("%d vs %d bytes (the floor: aws-lambda-go, config.LoadDefaultConfig and the same service clients doing a Get, a Put and a SendMessage), all GOOS=linux GOARCH=arm64 CGO_ENABLED=0 go build %s",
		int64(p), int64(f), strings.Join(lambdaBuildFlags, " "))
	info := Row{ID: "size_arm64_hello", Name: "  hello-world, for information", Unit: "bytes", ReferenceName: "hello-world", Value: h,
		Detail: fmt.Sprintf("the floor is %.2f× the hello-world: the SDK's configuration loader and clients", f/h)}
	return []Row{r, info}
}
