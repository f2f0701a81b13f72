package passwords

import (
	"context"
	"errors"
	"sync"
	"sync/atomic"
	"testing"
	"time"
)

func TestLimiterBoundsConcurrencyAndQueue(t *testing.T) {
	l := NewLimiter(2, 3, time.Second)
	release := make(chan struct{})
	var running, peak atomic.Int64
	var wg sync.WaitGroup
	var busy atomic.Int64
	for range 10 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			err := l.Do(context.Background(), func() {
				n := running.Add(1)
				for {
					p := peak.Load()
					if n <= p || peak.CompareAndSwap(p, n) {
						break
					}
				}
				<-release
				running.Add(-1)
			})
			if errors.Is(err, ErrBusy) {
				busy.Add(1)
			}
		}()
	}
	// 2 run, 3 wait, 5 are refused at once.
	deadline := time.Now().Add(5 * time.Second)
	for busy.Load() < 5 && time.Now().Before(deadline) {
		time.Sleep(time.Millisecond)
	}
	if got := busy.Load(); got != 5 {
		t.Fatalf("%d callers refused, want 5", got)
	}
	close(release)
	wg.Wait()
	if peak.Load() != 2 {
		t.Fatalf("peak concurrency %d, want 2", peak.Load())
	}
}

func TestLimiterWaitIsBounded(t *testing.T) {
	l := NewLimiter(1, 10, 20*time.Millisecond)
	hold := make(chan struct{})
	go l.Do(context.Background(), func() { <-hold })
	defer close(hold)
	time.Sleep(5 * time.Millisecond)
	if err := l.Do(context.Background(), func() {}); !errors.Is(err, ErrBusy) {
		t.Fatalf("err = %v, want ErrBusy after the wait", err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if err := l.Do(ctx, func() {}); !errors.Is(err, context.Canceled) {
		t.Fatalf("err = %v, want context.Canceled", err)
	}
}

func TestTrimWhenIdle(t *testing.T) {
	l := NewLimiter(1, 1, time.Second)
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	trims := make(chan struct{}, 10)
	go l.TrimWhenIdle(ctx, 5*time.Millisecond, func() { trims <- struct{}{} })
	time.Sleep(30 * time.Millisecond)
	if len(trims) != 0 {
		t.Fatal("trimmed before any hash ran")
	}
	l.Do(ctx, func() {})
	select {
	case <-trims:
	case <-time.After(5 * time.Second):
		t.Fatal("no trim after hashing stopped")
	}
	time.Sleep(30 * time.Millisecond)
	if len(trims) != 0 {
		t.Fatal("trimmed again with no new hashes")
	}
}

func TestRunAtLowPriority(t *testing.T) {
	t.Parallel()
	l := NewLimiter(2, 8, 5*time.Second)
	n, err := l.RunAtLowPriority(10)
	if err != nil {
		t.Fatal(err)
	}
	if !threadPriorities {
		if n != 0 {
			t.Fatalf("started %d threads where threads have no priority", n)
		}
		return
	}
	if n != 2 {
		t.Fatalf("started %d hashing threads, want one per slot (2)", n)
	}
	var wg sync.WaitGroup
	nices := make([]int, 8)
	for i := range nices {
		wg.Add(1)
		go func() {
			defer wg.Done()
			if err := l.Do(t.Context(), func() {
				nices[i], _ = threadNice()
				time.Sleep(time.Millisecond)
			}); err != nil {
				t.Error(err)
			}
		}()
	}
	wg.Wait()
	for i, nice := range nices {
		if nice != 10 {
			t.Errorf("hash %d ran at nice %d, want 10", i, nice)
		}
	}
	if mine, _ := threadNice(); mine == 10 {
		t.Error("the caller's thread was lowered too")
	}
	if _, err := NewLimiter(1, 1, time.Second).RunAtLowPriority(0); err == nil {
		t.Error("nice 0 accepted")
	}
}
