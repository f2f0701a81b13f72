package store

import (
	"context"
	"time"
)

// CounterKey names one shared counter: its kind (what it counts: brute
// force failures, same-user logins, failed logins of an IP...) and a key
// within the kind.
type CounterKey struct {
	Kind string `json:"kind"`
	Key  string `json:"key"`
}

// CounterTake asks a counter for Cost units. A counter is a bucket of
// Burst units that drains one unit every Interval (the generic cell rate
// algorithm: the row keeps one time, the moment the bucket is empty
// again). A take succeeds when one more unit fits; with Cost 0 it only
// looks. Expire, when set, empties a bucket untouched for that long.
type CounterTake struct {
	CounterKey
	Burst    int
	Interval time.Duration
	Cost     int
	Expire   time.Duration
	// Connection, Identifier and IP label the counter so that it can be
	// listed and deleted by them (the user-blocks endpoints).
	Connection, Identifier, IP string
}

// CounterResult is one take's outcome.
type CounterResult struct {
	CounterKey
	// Taken is true when a unit fitted (and, with Cost > 0, was taken).
	Taken bool
	// Skipped is true when an earlier take of the call did not fit, so
	// this one was not tried.
	Skipped bool
	// Level is how many units are in the bucket after the take,
	// rounded up.
	Level int
	// Empty is when the bucket drains to nothing.
	Empty time.Time
}

// Counter is a stored counter, as listed.
type Counter struct {
	CounterKey
	Connection string
	Identifier string
	IP         string
	// Empty is when the bucket drains to nothing; Interval the time one
	// unit takes; Touched the last take.
	Empty    time.Time
	Interval time.Duration
	Touched  time.Time
}

// Level is the counter's units at now, rounded up.
func (c *Counter) Level(now time.Time) int {
	return level(c.Empty, now, c.Interval)
}

// LevelAt is the units of a bucket that empties at empty, at now.
func LevelAt(empty, now time.Time, interval time.Duration) int {
	return level(empty, now, interval)
}

func level(empty, now time.Time, interval time.Duration) int {
	d := empty.Sub(now)
	if d <= 0 || interval <= 0 {
		return 0
	}
	return int((d + interval - 1) / interval)
}

// Counters are attack protection's shared counters. Every change is one
// atomic statement on the database, never a read-modify-write in the
// process, so any number of nodes share them exactly.
type Counters interface {
	// TakeCounters applies the takes in order, each atomically and only
	// while every earlier one fitted (a refused take skips the rest), in
	// one statement or transaction, and returns one result per take. Two
	// takes must not name the same counter.
	TakeCounters(ctx context.Context, now time.Time, takes ...CounterTake) ([]CounterResult, error)
	// ReturnCounter gives back units taken from a counter (an attempt
	// that turned out not to count). A missing counter is not an error.
	ReturnCounter(ctx context.Context, k CounterKey, units int, interval time.Duration) error
	// DeleteCounter deletes one counter; a missing one is not an error.
	DeleteCounter(ctx context.Context, k CounterKey) error
	// ListCounters lists the counters of a kind labelled with identifier
	// (any identifier when empty) and ip (any when empty).
	ListCounters(ctx context.Context, kind, identifier, ip string) ([]*Counter, error)
	// DeleteCounters deletes the counters ListCounters would list and
	// returns how many.
	DeleteCounters(ctx context.Context, kind, identifier, ip string) (int, error)
	// DeleteExpiredCounters deletes up to limit counters that are empty
	// or expired at now, and returns how many.
	DeleteExpiredCounters(ctx context.Context, now time.Time, limit int) (int, error)
}
