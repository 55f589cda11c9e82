package watch_test

import (
	"context"
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/prewarm/prewarm/localaws"
	"github.com/prewarm/prewarm/localaws/clock"
	"github.com/prewarm/prewarm/results"
	"github.com/prewarm/prewarm/results/watch"
)

// BenchmarkLatencyWithAnotherReader measures how long a reader waits for its result after it
// is published, while another run's reader long-polls the same queue and so receives the
// result first about half the time: the time per op is publish → received, handing back
// included. A reader that hid others' results would take a visibility timeout here.
func BenchmarkLatencyWithAnotherReader(b *testing.B) {
	h := newHarness(b, localaws.Options{Clock: clock.Real{}})
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	other := watch.New(h.sqs, watch.Options{QueueURL: h.url, Match: watch.Match{CorrelationID: "other"}, Idle: 10 * time.Millisecond})
	var wg sync.WaitGroup
	defer wg.Wait()
	defer cancel()
	wg.Go(func() {
		for ctx.Err() == nil {
			_, _ = other.Receive(ctx)
		}
	})
	mine := watch.New(h.sqs, watch.Options{QueueURL: h.url, Match: watch.Match{CorrelationID: "mine"}, Idle: 10 * time.Millisecond})
	var total time.Duration
	for i := 0; b.Loop(); i++ {
		got := make(chan time.Time, 1)
		go func() {
			for {
				rs, err := mine.Receive(ctx)
				if len(rs) > 0 || err != nil {
					got <- time.Now()
					return
				}
			}
		}()
		for h.srv.SQS().LongPolling(resultsQueue) < 2 {
			time.Sleep(time.Millisecond)
		}
		sent := time.Now()
		h.publish(b, result(fmt.Sprint("m", i), "mine", "GREEN", results.OutcomeReady))
		total += (<-got).Sub(sent)
	}
	b.ReportMetric(float64(total.Microseconds())/float64(b.N)/1000, "ms/result")
	b.ReportMetric(float64(h.srv.Stats().Operations["ChangeMessageVisibilityBatch"].Requests)/float64(b.N), "handbacks/op")
}
