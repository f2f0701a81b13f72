package harness

import (
	"context"
	"net/http"
	"sync"
	"sync/atomic"
	"time"
)

// Worker sends one request and reports its outcome. A worker is called from
// one goroutine only, so it may keep state (a refresh-token chain).
type Worker func(ctx context.Context) Result

// Class is a group of workers whose requests are summarised together.
type Class struct {
	Name    string
	Workers []Worker
}

// LoadConfig bounds a run. Every run stops by itself: after Warmup+Duration,
// or, with Count, after Count measured requests per class or Warmup+Limit,
// whichever comes first.
type LoadConfig struct {
	Warmup   time.Duration // requests started before this are not measured
	Duration time.Duration // measured window (without Count)
	Count    int           // measured requests per class; 0: run for Duration
	Limit    time.Duration // cap on a Count run after the warmup
	// Backoff makes a worker that got 503 wait for Retry-After, as a
	// well-behaved client does, instead of hammering the server.
	Backoff bool
}

// RunLoad runs every class's workers at once and summarises each class.
// A request still in flight at the end is let finish, so no refresh-token
// chain is cut half-way, but only requests that finished in the window
// count.
func RunLoad(ctx context.Context, cfg LoadConfig, classes ...Class) []Summary {
	measureFrom := time.Now().Add(cfg.Warmup)
	end := measureFrom.Add(cfg.Duration)
	if cfg.Count > 0 {
		end = measureFrom.Add(cfg.Limit)
	}

	type outcome struct {
		rec  Recorder
		last time.Time // when the last measured request finished
	}
	outcomes := make([][]outcome, len(classes))
	var wg sync.WaitGroup
	for ci, c := range classes {
		outcomes[ci] = make([]outcome, len(c.Workers))
		issued := new(atomic.Int64)
		for wi, work := range c.Workers {
			out := &outcomes[ci][wi]
			wg.Go(func() {
				for ctx.Err() == nil && time.Now().Before(end) {
					t0 := time.Now()
					measured := !t0.Before(measureFrom)
					if measured && cfg.Count > 0 && issued.Add(1) > int64(cfg.Count) {
						return
					}
					res := work(ctx)
					done := time.Now()
					if measured && !done.After(end) && ctx.Err() == nil {
						out.rec.Add(res, done.Sub(t0))
						out.last = done
					}
					if cfg.Backoff && res.Status == http.StatusServiceUnavailable && res.RetryAfter > 0 {
						sleep(ctx, min(res.RetryAfter, time.Until(end)))
					}
				}
			})
		}
	}
	wg.Wait()

	summaries := make([]Summary, len(classes))
	for ci := range classes {
		var all Recorder
		var last time.Time
		for _, o := range outcomes[ci] {
			all.Merge(&o.rec)
			if o.last.After(last) {
				last = o.last
			}
		}
		elapsed := cfg.Duration
		if cfg.Count > 0 {
			elapsed = 0
			if !last.IsZero() {
				elapsed = last.Sub(measureFrom)
			}
		}
		summaries[ci] = all.Summarize(elapsed)
	}
	return summaries
}

func sleep(ctx context.Context, d time.Duration) {
	if d <= 0 {
		return
	}
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C:
	case <-ctx.Done():
	}
}
