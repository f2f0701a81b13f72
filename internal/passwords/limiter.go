package passwords

import (
	"context"
	"errors"
	"fmt"
	"runtime"
	"sync/atomic"
	"time"
)

// ErrBusy means a hash could not start in time: the caller should answer
// 503 with Retry-After rather than queue without bound.
var ErrBusy = errors.New("passwords: too many password checks in progress")

// Limiter runs at most N password hashes at once. Further callers wait in a
// bounded queue for at most MaxWait; past the queue's size or the wait they
// get ErrBusy at once. A flood of logins therefore costs at most N hashes of
// CPU and memory (argon2id holds ~19 MiB each) and never starves the rest
// of the server.
type Limiter struct {
	slots      chan struct{}
	waiting    atomic.Int64
	maxWaiting int64
	maxWait    time.Duration
	done       atomic.Int64 // hashes finished, for TrimWhenIdle
	// Observe, when set before use, is told how long each hash took
	// (not counting the wait for a slot).
	Observe func(time.Duration)
	// jobs feeds the low-priority hashing threads; nil: hashes run on the
	// caller's goroutine.
	jobs chan func()
	stop chan struct{} // closed by Stop: the threads leave
}

// Waiting returns how many callers wait for a slot now.
func (l *Limiter) Waiting() int { return int(l.waiting.Load()) }

// Running returns how many hashes run now.
func (l *Limiter) Running() int { return len(l.slots) }

// NewLimiter allows n concurrent hashes, queue callers waiting, each for at
// most maxWait.
func NewLimiter(n, queue int, maxWait time.Duration) *Limiter {
	if n < 1 {
		n = 1
	}
	return &Limiter{slots: make(chan struct{}, n), maxWaiting: int64(queue), maxWait: maxWait}
}

// Do runs fn when a slot is free.
func (l *Limiter) Do(ctx context.Context, fn func()) error {
	select {
	case l.slots <- struct{}{}:
	default:
		if l.waiting.Add(1) > l.maxWaiting {
			l.waiting.Add(-1)
			return ErrBusy
		}
		t := time.NewTimer(l.maxWait)
		select {
		case l.slots <- struct{}{}:
			t.Stop()
			l.waiting.Add(-1)
		case <-t.C:
			l.waiting.Add(-1)
			return ErrBusy
		case <-ctx.Done():
			t.Stop()
			l.waiting.Add(-1)
			return ctx.Err()
		}
	}
	defer func() { <-l.slots; l.done.Add(1) }()
	start := time.Now()
	l.run(fn)
	if l.Observe != nil {
		l.Observe(time.Since(start))
	}
	return nil
}

// run runs fn on a hashing thread when there are some, waiting for it
// whatever the caller's context: the slot is held until the hash is done.
func (l *Limiter) run(fn func()) {
	if l.jobs == nil {
		fn()
		return
	}
	done := make(chan struct{})
	select {
	case l.jobs <- func() { fn(); close(done) }:
		<-done
	case <-l.stop:
		fn()
	}
}

// Stop ends the hashing threads of RunAtLowPriority; hashes after it run
// on their callers' goroutines.
func (l *Limiter) Stop() {
	if l.stop != nil {
		select {
		case <-l.stop:
		default:
			close(l.stop)
		}
	}
}

// RunAtLowPriority moves the hashes onto one operating-system thread per
// slot, each with the scheduling priority nice (1 to 19, as nice(1)), and
// returns how many threads it started (0 where threads have no priority of
// their own: there hashes stay on the caller's goroutine).
//
// Go's scheduler has no priorities: hashes running on every core hold every
// P, and a refresh grant waits for the runtime's 10 ms preemption to get
// one. On threads of their own at a lower priority, with GOMAXPROCS raised
// by the same number (the caller's part: it is the whole process's
// setting), the hashes still use every idle cycle, but the kernel runs the
// other goroutines' threads first whenever both want a core. Call it once,
// before the first Do.
func (l *Limiter) RunAtLowPriority(nice int) (int, error) {
	if nice < 1 || nice > 19 {
		return 0, errors.New("passwords: nice must be 1 to 19")
	}
	if !threadPriorities {
		return 0, nil
	}
	n := cap(l.slots)
	jobs, stop := make(chan func()), make(chan struct{}) // unbuffered: a job is never left behind by Stop
	started := make(chan error, n)
	for range n {
		go func() {
			runtime.LockOSThread() // never unlocked: the thread keeps its priority and dies with the process
			if err := lowerThreadPriority(nice); err != nil {
				started <- err
				runtime.UnlockOSThread()
				return
			}
			started <- nil
			for {
				select {
				case job := <-jobs:
					job()
				case <-stop:
					return // the locked thread ends with its goroutine
				}
			}
		}()
	}
	var errs []error
	for range n {
		errs = append(errs, <-started)
	}
	if err := errors.Join(errs...); err != nil {
		close(stop) // the threads that started leave
		return 0, fmt.Errorf("passwords: lower the hashing threads' priority: %w", err)
	}
	l.jobs, l.stop = jobs, stop
	return n, nil
}

// TrimWhenIdle returns memory to the operating system once hashing has
// stopped: every interval, if hashes ran since the last look and none is
// running now, it calls trim (debug.FreeOSMemory in production). argon2id
// allocates its whole memory cost per hash; without this a server that
// handled one burst of logins keeps that memory for minutes.
func (l *Limiter) TrimWhenIdle(ctx context.Context, interval time.Duration, trim func()) {
	t := time.NewTicker(interval)
	defer t.Stop()
	var seen int64
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
			if n := l.done.Load(); n != seen && len(l.slots) == 0 {
				seen = n
				trim()
			}
		}
	}
}
