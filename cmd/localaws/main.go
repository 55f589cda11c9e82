// Command localaws runs the local AWS emulator: the Lambda control plane
// and Invoke, SQS over both its JSON and query protocols, and the CodeDeploy
// and CodePipeline operations of deployment gates, on one port (default
// 127.0.0.1:4566, like LocalStack), seeded from a world file, with optional
// faults, a request log, SQS event source mappings that invoke a function
// over HTTP, and CodeDeploy Lambda deployments run against the hook
// functions' invoke URLs (-deploy). localaws -h lists the flags and
// environment.
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"maps"
	"os"
	"os/signal"
	"slices"
	"strings"
	"sync"
	"syscall"

	"github.com/aws/aws-sdk-go-v2/service/sqs"

	"github.com/prewarm/prewarm/localaws"
	"github.com/prewarm/prewarm/localaws/esm"
	"github.com/prewarm/prewarm/localaws/lambdadeploy"
	"github.com/prewarm/prewarm/localaws/lambdasim"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	if err := run(ctx, os.Args[1:], os.Getenv, os.Stdout, os.Stderr); err != nil {
		fmt.Fprintln(os.Stderr, "localaws:", err)
		os.Exit(1)
	}
}

// mapping is one -esm QUEUE=INVOKE_URL flag.
type mapping struct{ queue, invokeURL string }

type mappings []mapping

func (m *mappings) String() string {
	parts := make([]string, len(*m))
	for i, x := range *m {
		parts[i] = x.queue + "=" + x.invokeURL
	}
	return strings.Join(parts, " ")
}

// invokeURLs is the repeatable -invoke NAME=URL flag.
type invokeURLs map[string]string

func (v invokeURLs) String() string {
	parts := make([]string, 0, len(v))
	for name, url := range v {
		parts = append(parts, name+"="+url)
	}
	slices.Sort(parts)
	return strings.Join(parts, " ")
}

func (v invokeURLs) Set(s string) error {
	name, url, ok := strings.Cut(s, "=")
	if !ok || name == "" || url == "" {
		return fmt.Errorf("%q: want FUNCTION=INVOKE_URL", s)
	}
	v[name] = url
	return nil
}

func (m *mappings) Set(s string) error {
	queue, url, ok := strings.Cut(s, "=")
	if !ok || queue == "" || url == "" {
		return fmt.Errorf("%q: want QUEUE=INVOKE_URL", s)
	}
	*m = append(*m, mapping{queue: queue, invokeURL: url})
	return nil
}

// deployRun is one -deploy DEPLOYMENT_ID[=INVOKE_URL] flag.
type deployRun struct{ id, invokeURL string }

type deployRuns []deployRun

func (d *deployRuns) String() string {
	parts := make([]string, len(*d))
	for i, x := range *d {
		parts[i] = x.id
		if x.invokeURL != "" {
			parts[i] += "=" + x.invokeURL
		}
	}
	return strings.Join(parts, " ")
}

func (d *deployRuns) Set(s string) error {
	id, url, _ := strings.Cut(s, "=")
	if id == "" || strings.HasSuffix(s, "=") {
		return fmt.Errorf("%q: want DEPLOYMENT_ID or DEPLOYMENT_ID=INVOKE_URL", s)
	}
	*d = append(*d, deployRun{id: id, invokeURL: url})
	return nil
}

// run serves until ctx is done. LOCALAWS_ADDR and LOCALAWS_WORLD give the
// defaults of -addr and -world.
func run(ctx context.Context, args []string, getenv func(string) string, stdout, stderr io.Writer) error {
	fs := flag.NewFlagSet("localaws", flag.ContinueOnError)
	// Parse reports errors through run's error; -h prints the usage to
	// stdout below.
	fs.SetOutput(io.Discard)
	fs.Usage = func() {}
	addr := fs.String("addr", envOr(getenv, "LOCALAWS_ADDR", "127.0.0.1:4566"), "listen address")
	worldFile := fs.String("world", getenv("LOCALAWS_WORLD"), "world file (JSON); the built-in default when empty")
	printWorld := fs.Bool("print-world", false, "print the built-in world file and exit")
	var faults localaws.Faults
	fs.Var(&faults.Latency, "latency", "added latency: 50ms for every operation, or Op=200ms, service:Op=200ms, service:*=200ms,... (mixable)")
	fs.Var(&faults.ThrottleRate, "throttle-rate", "fraction of requests throttled: 0.2, or Op=0.5, sqs:Op=0.5, sqs:*=0.5,... (mixable; an unknown operation is refused)")
	fs.Var(&faults.ErrorRate, "error-rate", "fraction of requests answered with a 5xx: 0.05, or Op=0.5, service:Op=0.5,... (mixable)")
	fs.Var(&faults.ResetRate, "reset-rate", "fraction of connections reset without a response: 0.02, or Op=0.5, service:Op=0.5,... (mixable)")
	rps := fs.Float64("control-plane-rps", localaws.DefaultControlPlaneRPS, "Lambda control-plane quota in requests/s (burst the same); 0 turns it off")
	seed := fs.Int64("seed", 0, "seed of the fault dice; 0 picks one and prints it")
	requestLog := fs.Bool("log", false, "log one JSON line per request to stderr: service, operation, account, Region, status, latency, injected fault")
	invokes := invokeURLs{}
	fs.Var(invokes, "invoke", "serve Invoke of function FUNCTION by forwarding to INVOKE_URL: FUNCTION=INVOKE_URL, e.g. the Runtime Interface Emulator's http://127.0.0.1:8080/2015-03-31/functions/function/invocations (repeatable)")
	var esms mappings
	fs.Var(&esms, "esm", "event source mapping QUEUE=INVOKE_URL: poll queue QUEUE and invoke the function at INVOKE_URL (repeatable)")
	var deploys deployRuns
	fs.Var(&deploys, "deploy", "run the world file's CodeDeploy deployment DEPLOYMENT_ID once listening, invoking its hooks at INVOKE_URL (DEPLOYMENT_ID=INVOKE_URL) or at each hook function's invoke URL (-invoke or the world's invokeURL) (repeatable)")
	if err := fs.Parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			usage(stdout, fs)
			return nil
		}
		return fmt.Errorf("%w (localaws -h lists the flags)", err)
	}
	if fs.NArg() > 0 {
		return fmt.Errorf("unexpected arguments %q", fs.Args())
	}
	if *printWorld {
		_, err := stdout.Write(localaws.DefaultWorldJSON())
		return err
	}

	world, worldName := localaws.DefaultWorld(), "built-in default"
	if *worldFile != "" {
		w, err := localaws.LoadWorld(*worldFile)
		if err != nil {
			return err
		}
		world, worldName = w, *worldFile
	}
	for _, name := range slices.Sorted(maps.Keys(invokes)) {
		i := slices.IndexFunc(world.Functions, func(f lambdasim.Function) bool { return f.Name == name })
		if i < 0 {
			return fmt.Errorf("-invoke %s: no function %q in the world", name, name)
		}
		world.Functions[i].InvokeURL = invokes[name]
	}
	opts := localaws.Options{Faults: faults, ControlPlaneRPS: *rps, Seed: *seed}
	if *requestLog {
		opts.RequestLog = stderr
	}
	if *rps <= 0 {
		opts.ControlPlaneRPS = -1
	}
	srv, err := localaws.New(world, opts)
	if err != nil {
		return err
	}
	for _, m := range esms {
		if !strings.Contains(m.queue, "/") && !slices.Contains(srv.SQS().Queues(), m.queue) {
			return fmt.Errorf("-esm %s: no queue %q in the world", m.queue, m.queue)
		}
	}
	drivers, err := deployDrivers(srv, world, deploys)
	if err != nil {
		return err
	}
	url, stop, err := srv.Listen(*addr)
	if errors.Is(err, syscall.EADDRINUSE) {
		return fmt.Errorf("%s is already in use (another localaws or LocalStack?): choose another address with -addr 127.0.0.1:4567 or LOCALAWS_ADDR=127.0.0.1:4567", *addr)
	}
	if err != nil {
		return err
	}
	defer stop()
	// Progress lines for whoever watches the terminal: a failed write there cannot stop the
	// emulator serving, so it is not an error of the run (here and below).
	_, _ = fmt.Fprintf(stdout, "localaws listening on %s (world: %s, %d functions, %d queues; control-plane quota %s; fault seed %d)\n",
		url, worldName, len(world.Functions), len(srv.SQS().Queues()), quota(opts.ControlPlaneRPS), srv.Seed())

	log := slog.New(slog.NewJSONHandler(stderr, nil))
	sqsConfig := localaws.SDKConfig(url)
	_, sqsConfig.Region = world.Home()
	client := sqs.NewFromConfig(sqsConfig)
	var wg sync.WaitGroup
	esmCtx, cancel := context.WithCancel(ctx)
	defer func() {
		cancel()
		wg.Wait()
	}()
	for _, m := range esms {
		queueURL := m.queue
		if !strings.Contains(queueURL, "/") {
			queueURL = srv.SQS().QueueURL(strings.TrimPrefix(url, "http://"), m.queue)
		}
		mp, err := esm.New(esm.Config{
			Client:   client,
			QueueURL: queueURL,
			Invoker:  esm.HTTPInvoker{URL: m.invokeURL},
			Logger:   log.With("queue", m.queue),
		})
		if err != nil {
			return err
		}
		_, _ = fmt.Fprintf(stdout, "event source mapping %s -> %s\n", queueURL, m.invokeURL)
		wg.Add(1)
		go func() {
			defer wg.Done()
			_ = mp.Run(esmCtx)
		}()
	}

	var outMu sync.Mutex
	for i, dr := range drivers {
		id := deploys[i].id
		_, _ = fmt.Fprintf(stdout, "codedeploy deployment %s running\n", id)
		wg.Add(1)
		go func() {
			defer wg.Done()
			res, err := dr.Run(esmCtx, id)
			outMu.Lock()
			defer outMu.Unlock()
			switch {
			case err != nil:
				_, _ = fmt.Fprintf(stdout, "codedeploy deployment %s stopped: %v\n", id, err)
			case res.ErrorCode != "":
				_, _ = fmt.Fprintf(stdout, "codedeploy deployment %s %s: %s: %s\n", id, res.Status, res.ErrorCode, res.ErrorMessage)
			default:
				_, _ = fmt.Fprintf(stdout, "codedeploy deployment %s %s\n", id, res.Status)
			}
		}()
	}

	<-ctx.Done()
	_, _ = fmt.Fprintln(stdout, "localaws shutting down")
	return nil
}

// deployDrivers builds a deployment driver for each -deploy flag, after checking that the
// deployment is the world's and that something invokes each of its hooks.
func deployDrivers(srv *localaws.Server, world localaws.World, deploys deployRuns) ([]*lambdadeploy.Driver, error) {
	var drivers []*lambdadeploy.Driver
	for _, dr := range deploys {
		info, ok := srv.CodeDeploy().Deployment(dr.id)
		if !ok {
			return nil, fmt.Errorf("-deploy %s: no deployment %q in the world's codeDeploy section", dr.id, dr.id)
		}
		cfg := lambdadeploy.Config{CodeDeploy: srv.CodeDeploy(), Lambda: srv.Lambda(), Invokers: map[string]esm.Invoker{}}
		if dr.invokeURL != "" {
			cfg.Invoker = esm.HTTPInvoker{URL: dr.invokeURL}
		}
		for _, fn := range []string{info.Hooks.BeforeAllowTraffic, info.Hooks.AfterAllowTraffic} {
			i := slices.IndexFunc(world.Functions, func(f lambdasim.Function) bool { return f.Name == fn })
			switch {
			case fn == "" || cfg.Invoker != nil:
			case i >= 0 && world.Functions[i].InvokeURL != "":
				cfg.Invokers[fn] = esm.HTTPInvoker{URL: world.Functions[i].InvokeURL}
			default:
				return nil, fmt.Errorf("-deploy %s: hook function %s has no invoke URL: give one with -deploy %s=INVOKE_URL or -invoke %s=INVOKE_URL", dr.id, fn, dr.id, fn)
			}
		}
		if cfg.Invoker == nil && len(cfg.Invokers) == 0 {
			// No hooks: the run shifts traffic only.
			cfg.Invoker = esm.FuncInvoker(func(context.Context, []byte) ([]byte, error) { return nil, nil })
		}
		d, err := lambdadeploy.New(cfg)
		if err != nil {
			return nil, fmt.Errorf("-deploy %s: %w", dr.id, err)
		}
		drivers = append(drivers, d)
	}
	return drivers, nil
}

// usage prints what localaws serves, its flags and the environment
// variables that give their defaults.
func usage(w io.Writer, fs *flag.FlagSet) {
	_, _ = fmt.Fprint(w, `Usage: localaws [flags]

Runs the local AWS emulator on one port, like LocalStack: the Lambda control
plane and Invoke (REST-JSON), SQS (AWS JSON 1.0 and the query protocol),
CodeDeploy and CodePipeline (AWS JSON 1.1), seeded from a world file, with
optional faults, SQS event source mappings and CodeDeploy deployments.
Point clients at it with --endpoint-url / AWS_ENDPOINT_URL; any credentials
work, and the Region they sign for picks the Region.

Flags:
`)
	fs.SetOutput(w)
	fs.PrintDefaults()
	fs.SetOutput(io.Discard)
	_, _ = fmt.Fprint(w, `
Environment:
  LOCALAWS_ADDR   default of -addr (127.0.0.1:4566)
  LOCALAWS_WORLD  default of -world (the built-in world when empty)

Endpoints of the emulator itself:
  GET  /_localaws/stats        requests, throttles and errors by service and operation
  POST /_localaws/reset-stats  zero the statistics
  POST /_localaws/reset        restore the world file's state
  GET  /_localaws/health       {"status":"ok"}
`)
}

func quota(rps float64) string {
	if rps < 0 {
		return "off"
	}
	return fmt.Sprintf("%g/s", rps)
}

func envOr(getenv func(string) string, key, def string) string {
	if v := getenv(key); v != "" {
		return v
	}
	return def
}
