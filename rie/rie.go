// Package rie runs a Lambda bootstrap under the official AWS Lambda Runtime
// Interface Emulator, the way `sam local invoke` does inside Docker, and
// invokes it over HTTP.
package rie

import (
	"bytes"
	"context"
	"encoding/json"

	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"strconv"
	"sync"
	"syscall"
	"time"
)

// Module and Version pin the Runtime Interface Emulator that `go install`
// builds.
const (
	Module  = "github.com/aws/aws-lambda-runtime-interface-emulator/cmd/aws-lambda-rie"
	Version = "v0.0.0-20261030222936-bef5c4ba774d"
)

// Process is a bootstrap running under the emulator.
type Process struct {
	cmd       *exec.Cmd
	invokeURL string
	logs      *Output
	// exited is closed once the emulator has exited, with exitErr set: every waiter sees it,
	// however many there are.
	exited   chan struct{}
	exitErr  error
	stopOnce sync.Once
}

// Start runs rieBinary with bootstrap as its handler command and env as
// the function's environment, on free loopback ports, and waits until it
// accepts invocations.
func Start(ctx context.Context, rieBinary, bootstrap string, env []string) (*Process, error) {
	addrs, err := FreeAddrs(2)
	if err != nil {
		return nil, err
	}
	rieAddr, apiAddr := addrs[0], addrs[1]
	logs := &Output{}
	cmd := exec.Command(rieBinary,
		"--runtime-interface-emulator-address", rieAddr,
		"--runtime-api-address", apiAddr,
		bootstrap)
	cmd.Env = env
	cmd.Stdout, cmd.Stderr = logs, logs
	if err := cmd.Start(); err != nil {
		return nil, fmt.Errorf("start %s: %w", rieBinary, err)
	}
	p := &Process{cmd: cmd, invokeURL: "http://" + rieAddr + "/2015-03-31/functions/function/invocations", logs: logs, exited: make(chan struct{})}
	go func() {
		p.exitErr = cmd.Wait()
		close(p.exited)
	}()
	if err := p.waitListening(ctx, rieAddr); err != nil {
		p.Stop()
		return nil, err
	}
	return p, nil
}

func (p *Process) waitListening(ctx context.Context, addr string) error {
	deadline := time.Now().Add(10 * time.Second)
	for {
		conn, err := net.DialTimeout("tcp", addr, 200*time.Millisecond)
		if err == nil {
			_ = conn.Close() // only the dial mattered
			return nil
		}
		select {
		case <-p.exited:
			return fmt.Errorf("runtime interface emulator exited: %v\n%s", p.exitErr, p.logs.String())
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(10 * time.Millisecond):
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("runtime interface emulator not listening on %s after 10s\n%s", addr, p.logs.String())
		}
	}
}

// InvokeURL is where the emulator accepts invocations.
func (p *Process) InvokeURL() string { return p.invokeURL }

// FunctionError is an invocation that the function answered with an error.
type FunctionError struct {
	Type    string `json:"errorType"`
	Message string `json:"errorMessage"`
}

func (e *FunctionError) Error() string { return e.Type + ": " + e.Message }

// Invoke sends payload and returns the function's response; an error
// response from the function is a *FunctionError.
func (p *Process) Invoke(ctx context.Context, payload []byte) ([]byte, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, p.invokeURL, bytes.NewReader(payload))
	if err != nil {
		return nil, err
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return nil, fmt.Errorf("invoke %s: %w", p.invokeURL, err)
	}
	defer func() { _ = resp.Body.Close() }() // read to the end below; nothing to report
	body, err := io.ReadAll(resp.Body)
	if err != nil {
		return nil, fmt.Errorf("read invocation response: %w", err)
	}
	if resp.StatusCode != http.StatusOK {
		return body, fmt.Errorf("invoke: HTTP %d: %s", resp.StatusCode, body)
	}
	var fe FunctionError
	if json.Unmarshal(body, &fe) == nil && fe.Type != "" {
		return body, &fe
	}
	return body, nil
}

// Logs returns what the emulator and the function printed so far.
func (p *Process) Logs() string { return p.logs.String() }

// Stop ends the emulator and its function; calling it again does nothing.
func (p *Process) Stop() {
	p.stopOnce.Do(func() {
		_ = p.cmd.Process.Signal(syscall.SIGTERM)
		select {
		case <-p.exited:
		case <-time.After(3 * time.Second):
			_ = p.cmd.Process.Kill()
			<-p.exited
		}
	})
}

// FreeAddrs returns n distinct free loopback addresses, holding them all
// open until it has them so that none is handed out twice.
func FreeAddrs(n int) ([]string, error) {
	var addrs []string
	var lns []net.Listener
	defer func() {
		for _, ln := range lns {
			_ = ln.Close() // held only to reserve the port
		}
	}()
	for range n {
		ln, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			return nil, fmt.Errorf("find a free port: %w", err)
		}
		lns = append(lns, ln)
		addrs = append(addrs, "127.0.0.1:"+strconv.Itoa(ln.Addr().(*net.TCPAddr).Port))
	}
	return addrs, nil
}

// BuildBootstrap builds the Lambda program in pkg (a package path or
// directory) for this machine into out, as make invoke does: static,
// without aws-lambda-go's RPC mode.
func BuildBootstrap(ctx context.Context, pkg, out string) error {
	build := exec.CommandContext(ctx, "go", "build", "-trimpath", "-tags", "lambda.norpc", "-o", out, pkg)
	build.Env = append(os.Environ(), "CGO_ENABLED=0")
	if msg, err := build.CombinedOutput(); err != nil {
		return fmt.Errorf("build %s: %w\n%s", pkg, err, msg)
	}
	return nil
}

// Install builds the pinned emulator into gobin with `go install` unless
// it is there already, and returns its path.
func Install(ctx context.Context, gobin string) (string, error) {
	path := gobin + "/aws-lambda-rie"
	if _, err := exec.LookPath(path); err == nil {
		return path, nil
	}
	cmd := exec.CommandContext(ctx, "go", "install", Module+"@"+Version)
	cmd.Env = append(cmd.Environ(), "GOBIN="+gobin)
	if out, err := cmd.CombinedOutput(); err != nil {
		return "", fmt.Errorf("go install %s@%s: %w\n%s", Module, Version, err, out)
	}
	return path, nil
}

// Output collects a child process's output from both of its pipes.
type Output struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (b *Output) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.Write(p)
}

func (b *Output) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.String()
}
