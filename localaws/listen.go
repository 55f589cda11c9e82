package localaws

import (
	"context"
	"fmt"
	"net"
	"net/http"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/credentials"
)

// shutdownGrace is how long stop waits for requests in flight (an SQS long
// poll lasts up to 20 s) before it closes their connections.
const shutdownGrace = 2 * time.Second

// Listen serves s on addr ("127.0.0.1:0" picks a free port) and returns its
// base URL and a function that stops serving, waiting briefly for requests
// in flight.
func (s *Server) Listen(addr string) (url string, stop func(), err error) {
	return s.ListenGrace(addr, shutdownGrace)
}

// ListenGrace serves s on addr; stop waits up to grace for requests in
// flight, and closes every connection at once when grace is 0.
func (s *Server) ListenGrace(addr string, grace time.Duration) (url string, stop func(), err error) {
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		return "", nil, fmt.Errorf("listen on %s: %w", addr, err)
	}
	hs := &http.Server{Handler: s, ReadHeaderTimeout: 10 * time.Second}
	done := make(chan struct{})
	go func() {
		defer close(done)
		// Serve returns ErrServerClosed after stop, or the listener's
		// failure; either way the server is done.
		_ = hs.Serve(ln)
	}()
	stop = func() {
		if grace <= 0 {
			_ = hs.Close()
			<-done
			return
		}
		ctx, cancel := context.WithTimeout(context.Background(), grace)
		defer cancel()
		if err := hs.Shutdown(ctx); err != nil {
			_ = hs.Close()
		}
		<-done
	}
	return "http://" + ln.Addr().String(), stop, nil
}

// Static credentials the emulator is happy with; it accepts any.
const (
	TestAccessKeyID     = "AKIDLOCALAWS"
	TestSecretAccessKey = "localaws-secret"
	TestRegion          = defaultRegion
)

// SDKConfig returns an aws.Config for the real SDK clients
// (lambda.NewFromConfig, sqs.NewFromConfig) pointed at the emulator at
// url, with static credentials and Region us-east-1; nothing is read from
// the environment or shared config files.
func SDKConfig(url string) aws.Config {
	return aws.Config{
		Region:       TestRegion,
		Credentials:  credentials.NewStaticCredentialsProvider(TestAccessKeyID, TestSecretAccessKey, ""),
		BaseEndpoint: aws.String(url),
	}
}
