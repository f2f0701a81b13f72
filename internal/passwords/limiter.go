package passwords

import (
	"context"
	"errors"
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
	if l.Observe == nil {
		fn()
		return nil
	}
	start := time.Now()
	fn()
	l.Observe(time.Since(start))
	return nil
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
