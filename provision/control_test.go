package provision_test

import (
	"context"
	"errors"
	"net/http"
	"net/http/httptest"
	"strconv"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	lambdasvc "github.com/aws/aws-sdk-go-v2/service/lambda"

	"github.com/prewarm/prewarm/localaws"
	"github.com/prewarm/prewarm/localaws/localawstest"
	"github.com/prewarm/prewarm/provision"
)

// recorder counts the sleeps the controller asks for instead of sleeping.
type recorder struct{ sleeps []time.Duration }

func (r *recorder) sleep(_ context.Context, d time.Duration) error {
	r.sleeps = append(r.sleeps, d)
	return nil
}

// newController builds a Controller over the real SDK client pointed at
// url, with SDK retries off as in production.
func newController(url string, rec *recorder) *provision.Controller {
	client := lambdasvc.NewFromConfig(localaws.SDKConfig(url), func(o *lambdasvc.Options) { o.Retryer = aws.NopRetryer{} })
	return provision.New(client, provision.Options{RPS: 1000, Sleep: rec.sleep, MaxAttempts: 4, WeightsWindow: time.Hour})
}

func startEmulator(t *testing.T, faults localaws.Faults) (*localaws.Server, string) {
	t.Helper()
	return localawstest.Start(t, localaws.DefaultWorld(), localaws.Options{Faults: faults, ControlPlaneRPS: -1, Seed: 1})
}

func TestPermanentErrorsAreNotRetried(t *testing.T) {
	srv, url := startEmulator(t, localaws.Faults{})
	rec := &recorder{}
	c := newController(url, rec)
	_, err := c.Put(context.Background(), "my-function", "$LATEST", 5)
	var e *provision.Error
	if !errors.As(err, &e) {
		t.Fatalf("Put on $LATEST: %v, want a *provision.Error", err)
	}
	if e.Transient || e.Code != "InvalidParameterValueException" || !strings.Contains(e.Message, "unpublished function versions") {
		t.Errorf("error = %+v, want a permanent InvalidParameterValueException", e)
	}
	if got := srv.Stats().Operations["PutProvisionedConcurrencyConfig"].Requests; got != 1 {
		t.Errorf("%d Put requests, want 1", got)
	}
	if !strings.Contains(err.Error(), "PutProvisionedConcurrencyConfig my-function:$LATEST") {
		t.Errorf("error text %q does not name the operation and target", err)
	}
}

func TestNotFoundIsTheZeroStatus(t *testing.T) {
	_, url := startEmulator(t, localaws.Faults{})
	c := newController(url, &recorder{})
	st, err := c.Get(context.Background(), "my-function", "GREEN")
	if err != nil || st.Exists {
		t.Fatalf("Get on a qualifier without configuration = %+v, %v; want the zero Status", st, err)
	}
	_, err = c.Get(context.Background(), "no-such-function", "BLUE")
	var e *provision.Error
	if !errors.As(err, &e) || e.Code != "ResourceNotFoundException" || e.Transient {
		t.Fatalf("Get on a missing function: %v, want a permanent ResourceNotFoundException", err)
	}
}

func TestTransientErrorsAreRetriedThenReported(t *testing.T) {
	for _, tc := range []struct {
		name   string
		faults localaws.Faults
		code   string
	}{
		{"throttled", localaws.Faults{ThrottleRate: localaws.Rates{"": 1}}, "TooManyRequestsException"},
		{"5xx", localaws.Faults{ErrorRate: localaws.Rates{"": 1}}, "ServiceException"},
		{"connection reset", localaws.Faults{ResetRate: localaws.Rates{"": 1}}, "NetworkError"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			srv, url := startEmulator(t, tc.faults)
			rec := &recorder{}
			c := newController(url, rec)
			_, err := c.Put(context.Background(), "my-function", "GREEN", 5)
			var e *provision.Error
			if !errors.As(err, &e) || !e.Transient || e.Code != tc.code {
				t.Fatalf("Put: %v, want a transient %s", err, tc.code)
			}
			if got := srv.Stats().Operations["PutProvisionedConcurrencyConfig"].Requests; got != 4 {
				t.Errorf("%d attempts, want MaxAttempts 4", got)
			}
			if len(rec.sleeps) != 3 || c.Retries() != 3 {
				t.Errorf("slept %v with %d retries, want 3 backoffs between 4 attempts", rec.sleeps, c.Retries())
			}
			if !provision.IsTransient(err) {
				t.Error("IsTransient = false")
			}
		})
	}
}

func TestRetryAfterIsHonoured(t *testing.T) {
	var calls atomic.Int32
	// A throttle with a long Retry-After, then success.
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if calls.Add(1) == 1 {
			w.Header().Set("X-Amzn-ErrorType", "TooManyRequestsException")
			w.Header().Set("Retry-After", "7")
			w.WriteHeader(http.StatusTooManyRequests)
			_, _ = w.Write([]byte(`{"Type":"User","message":"Rate exceeded","Reason":"CallerRateLimitExceeded"}`))
			return
		}
		w.WriteHeader(http.StatusAccepted)
		_, _ = w.Write([]byte(`{"RequestedProvisionedConcurrentExecutions":5,"AvailableProvisionedConcurrentExecutions":0,"AllocatedProvisionedConcurrentExecutions":0,"Status":"IN_PROGRESS","LastModified":"2026-11-25T12:00:00+0000"}`))
	}))
	defer srv.Close()
	rec := &recorder{}
	c := newController(srv.URL, rec)
	st, err := c.Put(context.Background(), "my-function", "GREEN", 5)
	if err != nil || st.Requested != 5 || st.Status != "IN_PROGRESS" {
		t.Fatalf("Put = %+v, %v", st, err)
	}
	if len(rec.sleeps) != 1 || rec.sleeps[0] != 7*time.Second {
		t.Errorf("slept %v, want exactly Retry-After's 7s", rec.sleeps)
	}
}

func TestNoRetryPastTheDeadline(t *testing.T) {
	_, url := startEmulator(t, localaws.Faults{ThrottleRate: localaws.Rates{"": 1}})
	rec := &recorder{}
	client := lambdasvc.NewFromConfig(localaws.SDKConfig(url), func(o *lambdasvc.Options) { o.Retryer = aws.NopRetryer{} })
	c := provision.New(client, provision.Options{RPS: 1000, Sleep: rec.sleep, BaseDelay: time.Minute, MaxDelay: time.Minute})
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	_, err := c.Get(ctx, "my-function", "BLUE")
	if !provision.IsTransient(err) {
		t.Fatalf("Get: %v, want the transient throttle", err)
	}
	if len(rec.sleeps) != 0 {
		t.Errorf("slept %v although the next attempt would start after the deadline", rec.sleeps)
	}
}

func TestAliasWeightsAreWaitedOutThenFinal(t *testing.T) {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("X-Amzn-ErrorType", "InvalidParameterValueException")
		w.WriteHeader(http.StatusBadRequest)
		_, _ = w.Write([]byte(`{"Type":"User","message":"Alias with weights can not be used with Provisioned Concurrency"}`))
	}))
	defer srv.Close()
	now := time.Date(2026, 11, 25, 12, 0, 0, 0, time.UTC)
	client := lambdasvc.NewFromConfig(localaws.SDKConfig(srv.URL), func(o *lambdasvc.Options) { o.Retryer = aws.NopRetryer{} })
	c := provision.New(client, provision.Options{
		RPS: 1000, MaxAttempts: 2, WeightsWindow: 30 * time.Second,
		Now:   func() time.Time { return now },
		Sleep: func(_ context.Context, d time.Duration) error { now = now.Add(d); return nil },
	})
	_, err := c.Put(context.Background(), "my-function", "live", 5)
	var e *provision.Error
	if !errors.As(err, &e) || !e.Weights || e.Transient {
		t.Fatalf("Put: %+v, want a final weights error after the window", err)
	}
	if elapsed := now.Sub(time.Date(2026, 11, 25, 12, 0, 0, 0, time.UTC)); elapsed < 30*time.Second {
		t.Errorf("gave up after %s (%d calls): the weights were not waited out for the whole window", elapsed, c.Calls())
	}
}

func TestReservationAndAccount(t *testing.T) {
	_, url := startEmulator(t, localaws.Faults{})
	c := newController(url, &recorder{})
	ctx := context.Background()
	n, ok, err := c.Reservation(ctx, "orders-worker")
	if err != nil || !ok || n != 50 {
		t.Errorf("Reservation(orders-worker) = %d, %v, %v; want 50", n, ok, err)
	}
	if _, ok, err := c.Reservation(ctx, "my-function"); err != nil || ok {
		t.Errorf("Reservation(my-function) = %v, %v; want none", ok, err)
	}
	// 1000 − 50 reserved − (10 + 20 + 5 + 5) PC of functions without reservation.
	if u, err := c.Unreserved(ctx); err != nil || u != 910 {
		t.Errorf("Unreserved = %d, %v; want 910", u, err)
	}
	_, err = c.Put(ctx, "orders-worker", "live", 60)
	if !provision.IsReservationLimit(err) {
		t.Errorf("Put above the reservation: %v, want IsReservationLimit", err)
	}
}

func TestListsPaginate(t *testing.T) {
	world := localaws.DefaultWorld()
	var versions []string
	aliases := map[string]string{}
	pc := map[string]int{}
	for i := 1; i <= 120; i++ {
		v := strconv.Itoa(i)
		versions = append(versions, v)
		pc[v] = 1
	}
	world.Functions = append(world.Functions, localaws.DefaultWorld().Functions[0])
	world.Functions[len(world.Functions)-1].Name = "many-versions"
	world.Functions[len(world.Functions)-1].Versions = versions
	world.Functions[len(world.Functions)-1].Aliases = aliases
	world.Functions[len(world.Functions)-1].ProvisionedConcurrency = pc
	srv, url := localawstest.Start(t, world, localaws.Options{ControlPlaneRPS: -1})
	c := newController(url, &recorder{})
	configs, err := c.List(context.Background(), "many-versions")
	if err != nil || len(configs) != 120 {
		t.Fatalf("List = %d configs, %v; want 120", len(configs), err)
	}
	if got := srv.Stats().Operations["ListProvisionedConcurrencyConfigs"].Requests; got != 3 {
		t.Errorf("%d list pages, want 3 of at most 50", got)
	}
	names, err := c.FunctionNames(context.Background(), func(name string) bool { return strings.HasPrefix(name, "my-") || name == "many-versions" })
	if err != nil || len(names) != 2 {
		t.Errorf("FunctionNames = %v, %v; want my-function and many-versions", names, err)
	}
}
