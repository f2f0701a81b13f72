package passwords

import "runtime"

// Collector hands argon2id's memory back to the heap as each hash ends.
//
// An argon2id hash allocates its whole memory cost (about 19 MiB with
// OWASP's parameters) and drops it when it returns. Left to the garbage
// collector's pacing, that garbage piles up until the heap doubles its live
// size, and one allocation of 19 MiB overshoots the pacer's goal at once:
// under a login flood with two hashes at a time the server peaked at
// 140–155 MiB although about 40 MiB of hash memory was ever in use.
//
// The hash calls Collect before it gives its limiter slot back, so a new
// hash cannot start in that slot until the old one's memory is free: the
// heap holds at most one hash's memory per slot plus the base. The freed
// spans stay in the heap for the next hash to reuse, so no page is faulted
// in again (a soft memory limit would return them to the operating system
// and fault them back on every hash). The collection's mark phase has
// little to do (the hash memory holds no pointers); BENCHMARKS.md gives
// its cost.
type Collector struct {
	gc func()
}

// NewCollector returns a Collector that runs a full garbage collection.
func NewCollector() *Collector { return &Collector{gc: runtime.GC} }

// Collect runs the collection and returns when it is done. A nil Collector
// does nothing, so a Hasher without one behaves as the runtime paces it.
func (c *Collector) Collect() {
	if c == nil {
		return
	}
	c.gc()
}
