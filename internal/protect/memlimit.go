package protect

import (
	"sync"
	"time"
)

// memLimiter is a generic cell rate limiter held in memory: burst units,
// one more every interval, per key. It keeps at most maxKeys keys; past
// that it forgets every drained one, and if none has drained, all.
type memLimiter struct {
	burst    int
	interval time.Duration
	maxKeys  int

	mu  sync.Mutex
	tat map[string]time.Time // when each key's bucket is empty again
}

func newMemLimiter(burst int, interval time.Duration, maxKeys int) *memLimiter {
	return &memLimiter{burst: burst, interval: interval, maxKeys: maxKeys, tat: map[string]time.Time{}}
}

// take takes a unit for key; when none is left it returns how long until
// one is.
func (l *memLimiter) take(key string, now time.Time) (bool, time.Duration) {
	l.mu.Lock()
	defer l.mu.Unlock()
	base := l.tat[key]
	if base.Before(now) {
		base = now
	}
	next := base.Add(l.interval)
	if limit := now.Add(time.Duration(l.burst) * l.interval); next.After(limit) {
		return false, next.Sub(limit)
	}
	if _, known := l.tat[key]; !known && len(l.tat) >= l.maxKeys {
		l.sweep(now)
	}
	l.tat[key] = next
	return true, 0
}

func (l *memLimiter) sweep(now time.Time) {
	for k, t := range l.tat {
		if !t.After(now) {
			delete(l.tat, k)
		}
	}
	if len(l.tat) >= l.maxKeys {
		clear(l.tat)
	}
}
