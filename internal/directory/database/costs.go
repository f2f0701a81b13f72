package database

import (
	"context"
	"slices"
	"sync"
	"time"
)

// costBook learns what one verification of each hash class costs here and
// says how long a refusal must take so that it tells nothing: as long as a
// wrong password for a user of the slowest class in use.
//
// Why: the store holds hashes of several classes at once (the native one,
// bcrypt imported from Auth0, and whatever later imports bring, each with
// its own cost). An unknown user costs one native dummy verification; a
// wrong password costs its stored hash's verification; so without padding
// the time of a refusal says which class, hence whether the user exists.
// Padding every refusal to the slowest class's cost removes that, for any
// set of classes, without knowing their costs in advance: they are
// measured on the verifications the server runs anyway.
//
// The floor is the slowest class's upper quartile, not its median: a
// refusal of that class takes max(its own time, floor), whose median is the
// floor itself as long as the floor is at or above the class's current
// median; the margin keeps that true while the machine's load moves the
// times away from the samples in the window. Every refusal then has the
// floor as its median, whatever its class. (Scaling each refusal's own
// time by the ratio of the classes' costs instead was measured too: it
// follows load at once but carries the noise of one verification,
// multiplied, and its ratios spread twice as wide.)
//
// A class is learned on its first verification in this process; a class
// stays in the book after its last user has been rehashed (padding a little
// long is harmless, forgetting would reopen the leak).
type costBook struct {
	mu      sync.Mutex
	classes map[string]*costSamples
	floor   time.Duration // max over classes of their upper quartile
}

// Bounds of the book. A hash class is chosen by whoever wrote the stored
// hashes (an operator, an import), so the number of classes is small; the
// cap only keeps a pathological store from growing the map without end.
const (
	costWindow   = 16 // recent verifications kept per class
	maxClasses   = 64
	maxRefusalAt = 2 * time.Second // a refusal is never padded past this
)

// costSamples is a ring of a class's recent verification times.
type costSamples struct {
	d        [costWindow]time.Duration
	n        int // filled entries
	next     int
	quartile time.Duration // upper quartile of the window
}

func (s *costSamples) add(d time.Duration) {
	s.d[s.next] = d
	s.next = (s.next + 1) % costWindow
	s.n = min(s.n+1, costWindow)
	v := slices.Clone(s.d[:s.n])
	slices.Sort(v)
	s.quartile = v[len(v)*3/4]
}

// observe records that one verification of class took d (time inside the
// hash slot, without the wait for it).
func (b *costBook) observe(class string, d time.Duration) {
	b.mu.Lock()
	defer b.mu.Unlock()
	s, ok := b.classes[class]
	if !ok {
		if len(b.classes) >= maxClasses {
			return
		}
		if b.classes == nil {
			b.classes = make(map[string]*costSamples)
		}
		s = &costSamples{}
		b.classes[class] = s
	}
	s.add(d)
	b.floor = 0
	for _, s := range b.classes {
		b.floor = max(b.floor, s.quartile)
	}
}

// knows reports whether class has been measured in this process.
func (b *costBook) knows(class string) bool {
	b.mu.Lock()
	defer b.mu.Unlock()
	_, ok := b.classes[class]
	return ok
}

// refusalTime is how long a refusal must take whose hash work took spent:
// the floor, at most maxRefusalAt, or spent when that is longer.
func (b *costBook) refusalTime(spent time.Duration) time.Duration {
	b.mu.Lock()
	defer b.mu.Unlock()
	return max(spent, min(b.floor, maxRefusalAt))
}

// pad waits, outside the hash limiter's slot, until a refusal whose hash
// work took spent has taken refusalTime; it returns early if ctx ends (the
// client is gone).
func (b *costBook) pad(ctx context.Context, spent time.Duration) {
	wait := b.refusalTime(spent) - spent
	if wait <= 0 {
		return
	}
	t := time.NewTimer(wait)
	defer t.Stop()
	select {
	case <-t.C:
	case <-ctx.Done():
	}
}
