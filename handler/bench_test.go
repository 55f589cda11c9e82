package handler

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"runtime"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	awsevents "github.com/aws/aws-lambda-go/events"
	"github.com/aws/aws-lambda-go/lambda"
	"github.com/aws/aws-lambda-go/lambdacontext"
	"github.com/aws/aws-sdk-go-v2/aws"
	lambdasvc "github.com/aws/aws-sdk-go-v2/service/lambda"
	lambdatypes "github.com/aws/aws-sdk-go-v2/service/lambda/types"
	"github.com/aws/aws-sdk-go-v2/service/sqs"
	sqstypes "github.com/aws/aws-sdk-go-v2/service/sqs/types"

	"github.com/prewarm/prewarm/config"
	"github.com/prewarm/prewarm/localaws"
	"github.com/prewarm/prewarm/localaws/lambdasim"
	"github.com/prewarm/prewarm/localaws/localawstest"
	"github.com/prewarm/prewarm/provision"
	"github.com/prewarm/prewarm/results"
)

// The benchmarks below measure CPU time, bytes and allocations per event
// through the whole handler (envelope recognition, decoding, derivation,
// provision's limiter and retry loop, result encoding, logging and metrics)
// at zero latency. The Benchmark*API ones replace only the two SDK clients,
// at the interfaces provision and results consume, so that they count
// prewarm's own work; BenchmarkInvokeEmulator uses the real SDK clients
// against the in-process emulator, whose server side runs in the same
// process and is counted too. make bench (go run ./cmd/bench) summarises
// them; alone: go test -run '^$' -bench . -benchmem ./handler

const benchBatch = 10

// BenchmarkInvokeAPI: one op is one invocation; the per-event metrics
// divide by the events it carries.
func BenchmarkInvokeAPI(b *testing.B) {
	b.Run("sqs-10-explicit", func(b *testing.B) {
		benchInvokeAPI(b, benchBatch, func(i, iter int) string {
			return fmt.Sprintf(`{"functionName":"bench-%02d","to":"GREEN","concurrency":%d,"wait":false}`, i, 1+iter%2)
		}, true)
	})
	b.Run("sqs-10-switch", func(b *testing.B) {
		benchInvokeAPI(b, benchBatch, func(i, iter int) string {
			return fmt.Sprintf(`{"functionName":"bench-%02d","from":"BLUE","to":"GREEN","wait":false}`, i)
		}, true)
	})
	b.Run("direct-explicit", func(b *testing.B) {
		benchInvokeAPI(b, 1, func(i, iter int) string {
			return fmt.Sprintf(`{"functionName":"bench-%02d","to":"GREEN","concurrency":%d,"wait":false}`, i, 1+iter%2)
		}, false)
	})
}

func benchInvokeAPI(b *testing.B, n int, body func(i, iter int) string, viaSQS bool) {
	fake := &benchLambda{pc: map[string]int32{}}
	h := New(benchConfig(b), Deps{
		Control:   provision.New(fake, provision.Options{RPS: 1e9}),
		Publisher: results.NewPublisher(benchSQS{}, "https://sqs.us-east-1.amazonaws.com/123456789012/prewarm-results"),
		Log:       slog.New(slog.NewJSONHandler(io.Discard, nil)),
		Metrics:   NewMetrics(io.Discard, "prewarm"),
	})
	// Two payloads that alternate, so that every invocation changes the
	// targets (a Put each) rather than finding them UNCHANGED.
	payloads := [2][]byte{benchPayload(b, n, 0, body, viaSQS), benchPayload(b, n, 1, body, viaSQS)}
	invoke := lambda.NewHandler(h.Invoke)
	ctx := benchContext()
	run := func(iter int) {
		for i := range n {
			// A source that moves, for the mirror of the switch.
			fake.set(fmt.Sprintf("bench-%02d", i), "BLUE", int32(10+iter%2))
		}
		if _, err := invoke.Invoke(ctx, payloads[iter%2]); err != nil {
			b.Fatal(err)
		}
	}
	run(1) // warm the caches of the first use
	fake.puts.Store(0)
	measurePerEvent(b, n, run)
	if got := fake.puts.Load(); got != int64(b.N*n) {
		b.Fatalf("%d Puts for %d events", got, b.N*n)
	}
}

// BenchmarkInvokeEmulator: the same batch of explicit intents with the
// real SDK clients over HTTP to the in-process emulator (zero latency, no
// quota); the emulator's work is included in the figures.
func BenchmarkInvokeEmulator(b *testing.B) {
	b.Run("sqs-10-explicit", func(b *testing.B) {
		world := localaws.DefaultWorld()
		for i := range benchBatch {
			world.Functions = append(world.Functions, lambdasim.Function{
				Name: fmt.Sprintf("bench-%02d", i), Versions: []string{"1", "2"},
				Aliases: map[string]string{"BLUE": "1", "GREEN": "2"},
			})
		}
		srv, url := localawstest.Start(b, world, localaws.Options{ControlPlaneRPS: -1})
		cfg := benchConfig(b)
		cfg.ResultsQueueURL = url + "/123456789012/prewarm-results"
		cfg.ControlPlaneRPS = 1e9
		h := FromConfig(cfg, localaws.SDKConfig(url), slog.New(slog.NewJSONHandler(io.Discard, nil)), io.Discard)
		body := func(i, iter int) string {
			return fmt.Sprintf(`{"functionName":"bench-%02d","to":"GREEN","concurrency":%d,"wait":false}`, i, 1+iter%2)
		}
		payloads := [2][]byte{benchPayload(b, benchBatch, 0, body, true), benchPayload(b, benchBatch, 1, body, true)}
		invoke := lambda.NewHandler(h.Invoke)
		ctx := benchContext()
		run := func(iter int) {
			if _, err := invoke.Invoke(ctx, payloads[iter%2]); err != nil {
				b.Fatal(err)
			}
		}
		run(1)
		before := srv.Stats().Operations["PutProvisionedConcurrencyConfig"].Requests
		measurePerEvent(b, benchBatch, run)
		if got := srv.Stats().Operations["PutProvisionedConcurrencyConfig"].Requests - before; got != int64(b.N*benchBatch) {
			b.Fatalf("%d Puts for %d events", got, b.N*benchBatch)
		}
		// The results queue would otherwise grow with b.N.
		if _, err := sqs.NewFromConfig(localaws.SDKConfig(url)).PurgeQueue(context.Background(), &sqs.PurgeQueueInput{QueueUrl: aws.String(cfg.ResultsQueueURL)}); err != nil {
			b.Logf("purge results: %v", err)
		}
	})
}

// measurePerEvent runs run b.N times and reports CPU time (user + system,
// every goroutine), bytes and allocations per event besides the usual
// per-op figures.
func measurePerEvent(b *testing.B, events int, run func(iter int)) {
	b.ReportAllocs()
	var m0, m1 runtime.MemStats
	runtime.GC()
	runtime.ReadMemStats(&m0)
	cpu0 := cpuTime()
	b.ResetTimer()
	for i := range b.N {
		run(i)
	}
	b.StopTimer()
	cpu1 := cpuTime()
	runtime.ReadMemStats(&m1)
	total := float64(b.N * events)
	b.ReportMetric(float64(cpu1-cpu0)/total/1e3, "cpu-µs/event")
	b.ReportMetric(float64(m1.Mallocs-m0.Mallocs)/total, "allocs/event")
	b.ReportMetric(float64(m1.TotalAlloc-m0.TotalAlloc)/total, "B/event")
}

func cpuTime() time.Duration {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		return 0
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

func benchConfig(b *testing.B) config.Config {
	cfg, err := config.Load(func(k string) string {
		return map[string]string{
			"RESULTS_QUEUE_URL": "https://sqs.us-east-1.amazonaws.com/123456789012/prewarm-results",
			"ALLOWED_FUNCTIONS": "bench-*",
			"AWS_REGION":        "us-east-1",
		}[k]
	})
	if err != nil {
		b.Fatal(err)
	}
	return cfg
}

func benchContext() context.Context {
	ctx := lambdacontext.NewContext(context.Background(), &lambdacontext.LambdaContext{
		AwsRequestID:       "bench-request",
		InvokedFunctionArn: "arn:aws:lambda:us-east-1:123456789012:function:prewarm",
	})
	// No deadline: the workContext margin is not what is measured.
	return ctx
}

func benchPayload(b *testing.B, n, iter int, body func(i, iter int) string, viaSQS bool) []byte {
	if !viaSQS {
		return []byte(body(0, iter))
	}
	ev := awsevents.SQSEvent{Records: make([]awsevents.SQSMessage, n)}
	for i := range ev.Records {
		ev.Records[i] = awsevents.SQSMessage{
			MessageId: fmt.Sprintf("msg-%d", i), Body: body(i, iter), EventSource: "aws:sqs",
			EventSourceARN: "arn:aws:sqs:us-east-1:123456789012:prewarm-events", AWSRegion: "us-east-1",
		}
	}
	p, err := json.Marshal(ev)
	if err != nil {
		b.Fatal(err)
	}
	return p
}

// benchLambda is an in-memory Lambda control plane at the
// provision.LambdaAPI interface: configurations are READY at once.
type benchLambda struct {
	mu   sync.Mutex
	pc   map[string]int32
	puts atomic.Int64
}

var _ provision.LambdaAPI = (*benchLambda)(nil)

func (f *benchLambda) set(function, qualifier string, n int32) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.pc[function+":"+qualifier] = n
}

func (f *benchLambda) GetProvisionedConcurrencyConfig(_ context.Context, in *lambdasvc.GetProvisionedConcurrencyConfigInput, _ ...func(*lambdasvc.Options)) (*lambdasvc.GetProvisionedConcurrencyConfigOutput, error) {
	f.mu.Lock()
	n, ok := f.pc[aws.ToString(in.FunctionName)+":"+aws.ToString(in.Qualifier)]
	f.mu.Unlock()
	if !ok {
		return nil, &lambdatypes.ProvisionedConcurrencyConfigNotFoundException{Message: aws.String("No Provisioned Concurrency Config found for this function")}
	}
	return &lambdasvc.GetProvisionedConcurrencyConfigOutput{
		RequestedProvisionedConcurrentExecutions: aws.Int32(n), AllocatedProvisionedConcurrentExecutions: aws.Int32(n),
		AvailableProvisionedConcurrentExecutions: aws.Int32(n), Status: lambdatypes.ProvisionedConcurrencyStatusEnumReady,
		LastModified: aws.String("2026-11-25T12:00:00+0000"),
	}, nil
}

func (f *benchLambda) PutProvisionedConcurrencyConfig(_ context.Context, in *lambdasvc.PutProvisionedConcurrencyConfigInput, _ ...func(*lambdasvc.Options)) (*lambdasvc.PutProvisionedConcurrencyConfigOutput, error) {
	f.set(aws.ToString(in.FunctionName), aws.ToString(in.Qualifier), aws.ToInt32(in.ProvisionedConcurrentExecutions))
	f.puts.Add(1)
	return &lambdasvc.PutProvisionedConcurrencyConfigOutput{
		RequestedProvisionedConcurrentExecutions: in.ProvisionedConcurrentExecutions,
		AllocatedProvisionedConcurrentExecutions: aws.Int32(0), AvailableProvisionedConcurrentExecutions: aws.Int32(0),
		Status: lambdatypes.ProvisionedConcurrencyStatusEnumInProgress, LastModified: aws.String("2026-11-25T12:00:00+0000"),
	}, nil
}

func (f *benchLambda) DeleteProvisionedConcurrencyConfig(_ context.Context, in *lambdasvc.DeleteProvisionedConcurrencyConfigInput, _ ...func(*lambdasvc.Options)) (*lambdasvc.DeleteProvisionedConcurrencyConfigOutput, error) {
	f.mu.Lock()
	delete(f.pc, aws.ToString(in.FunctionName)+":"+aws.ToString(in.Qualifier))
	f.mu.Unlock()
	return &lambdasvc.DeleteProvisionedConcurrencyConfigOutput{}, nil
}

func (f *benchLambda) ListProvisionedConcurrencyConfigs(context.Context, *lambdasvc.ListProvisionedConcurrencyConfigsInput, ...func(*lambdasvc.Options)) (*lambdasvc.ListProvisionedConcurrencyConfigsOutput, error) {
	return &lambdasvc.ListProvisionedConcurrencyConfigsOutput{}, nil
}

func (f *benchLambda) GetFunctionConcurrency(context.Context, *lambdasvc.GetFunctionConcurrencyInput, ...func(*lambdasvc.Options)) (*lambdasvc.GetFunctionConcurrencyOutput, error) {
	return &lambdasvc.GetFunctionConcurrencyOutput{}, nil
}

func (f *benchLambda) GetAccountSettings(context.Context, *lambdasvc.GetAccountSettingsInput, ...func(*lambdasvc.Options)) (*lambdasvc.GetAccountSettingsOutput, error) {
	return &lambdasvc.GetAccountSettingsOutput{AccountLimit: &lambdatypes.AccountLimit{
		ConcurrentExecutions: 100000, UnreservedConcurrentExecutions: aws.Int32(90000),
	}}, nil
}

func (f *benchLambda) ListFunctions(context.Context, *lambdasvc.ListFunctionsInput, ...func(*lambdasvc.Options)) (*lambdasvc.ListFunctionsOutput, error) {
	return &lambdasvc.ListFunctionsOutput{}, nil
}

func (f *benchLambda) UpdateAlias(context.Context, *lambdasvc.UpdateAliasInput, ...func(*lambdasvc.Options)) (*lambdasvc.UpdateAliasOutput, error) {
	return &lambdasvc.UpdateAliasOutput{}, nil
}

func (f *benchLambda) GetAlias(context.Context, *lambdasvc.GetAliasInput, ...func(*lambdasvc.Options)) (*lambdasvc.GetAliasOutput, error) {
	return &lambdasvc.GetAliasOutput{}, nil
}

// benchSQS accepts every entry of a SendMessageBatch.
type benchSQS struct{}

var _ results.SendMessageBatchAPI = benchSQS{}

func (benchSQS) SendMessageBatch(_ context.Context, in *sqs.SendMessageBatchInput, _ ...func(*sqs.Options)) (*sqs.SendMessageBatchOutput, error) {
	out := &sqs.SendMessageBatchOutput{Successful: make([]sqstypes.SendMessageBatchResultEntry, len(in.Entries))}
	for i, e := range in.Entries {
		out.Successful[i] = sqstypes.SendMessageBatchResultEntry{Id: e.Id, MessageId: aws.String(fmt.Sprintf("m-%d", i))}
	}
	return out, nil
}
