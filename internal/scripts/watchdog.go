package scripts

import (
	"log/slog"
	"runtime"
	"runtime/metrics"
	"sync"
	"sync/atomic"
	"time"
)

// Watchdog bounds the memory scripts use. goja keeps no account per
// runtime, so the watchdog watches the process: while runs are active it
// samples the heap every tick, and when the heap is over the limit after a
// forced collection it interrupts the oldest active run, the one most
// likely building the heap (a login's scripts finish in well under a
// millisecond). It waits for that run to end and the heap to be measured
// again before choosing another, so one runaway costs one run.
//
// The sample is runtime/metrics' heap object bytes, which stops no
// goroutine; the forced collection happens only over the limit.
type Watchdog struct {
	limit uint64
	every time.Duration

	mu      sync.Mutex
	runs    map[*run]struct{}
	victim  *run // interrupted, not yet ended
	running bool

	interrupts atomic.Int64
	log        *slog.Logger
}

// DefaultWatchdogTick is how often an active watchdog samples the heap.
const DefaultWatchdogTick = 10 * time.Millisecond

// NewWatchdog returns a watchdog that interrupts runs while the heap is
// over limit bytes.
func NewWatchdog(limit uint64) *Watchdog {
	return &Watchdog{limit: limit, every: DefaultWatchdogTick, runs: make(map[*run]struct{}), log: slog.New(slog.DiscardHandler)}
}

// SetLogger sets where the watchdog reports the runs it stops.
func (w *Watchdog) SetLogger(l *slog.Logger) {
	w.mu.Lock()
	defer w.mu.Unlock()
	w.log = l
}

// Interrupts counts the runs the watchdog stopped.
func (w *Watchdog) Interrupts() int64 { return w.interrupts.Load() }

func (w *Watchdog) add(r *run) {
	w.mu.Lock()
	defer w.mu.Unlock()
	w.runs[r] = struct{}{}
	if !w.running {
		w.running = true
		go w.loop()
	}
}

func (w *Watchdog) remove(r *run) {
	w.mu.Lock()
	defer w.mu.Unlock()
	delete(w.runs, r)
	if w.victim == r {
		w.victim = nil
	}
}

// loop samples while runs are active and exits when none are left, so an
// idle process has no watchdog goroutine.
func (w *Watchdog) loop() {
	t := time.NewTicker(w.every)
	defer t.Stop()
	sample := []metrics.Sample{{Name: "/memory/classes/heap/objects:bytes"}}
	heap := func() uint64 {
		metrics.Read(sample)
		if sample[0].Value.Kind() != metrics.KindUint64 {
			return 0
		}
		return sample[0].Value.Uint64()
	}
	for range t.C {
		w.mu.Lock()
		if len(w.runs) == 0 {
			w.running = false
			w.mu.Unlock()
			return
		}
		waiting := w.victim != nil
		w.mu.Unlock()
		if waiting || heap() <= w.limit {
			continue
		}
		// The sample counts garbage not yet swept; collect before judging.
		runtime.GC()
		if h := heap(); h > w.limit {
			w.stopOldest(h)
		}
	}
}

func (w *Watchdog) stopOldest(heap uint64) {
	w.mu.Lock()
	var oldest *run
	for r := range w.runs {
		if oldest == nil || r.started.Before(oldest.started) {
			oldest = r
		}
	}
	w.victim = oldest
	log := w.log
	w.mu.Unlock()
	if oldest == nil {
		return
	}
	w.interrupts.Add(1)
	log.Warn("scripts: memory limit reached, stopping the oldest script run",
		"heap_bytes", heap, "limit_bytes", w.limit, "run_age", time.Since(oldest.started).String())
	oldest.interrupt(errMemory)
}
