package tenantlog

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"sync"
	"sync/atomic"
	"time"

	"github.com/gatehouse/gatehouse/internal/events"
	"github.com/gatehouse/gatehouse/internal/store"
)

// Defaults of Options.
const (
	DefaultCapacity      = 10000
	DefaultBatch         = 500
	DefaultFlushInterval = time.Second
	DefaultWarnInterval  = time.Minute
	// writeTimeout bounds one batch's write.
	writeTimeout = 10 * time.Second
	// retryDelay is the pause after a failed write before the next try.
	retryDelay = time.Second
)

// Reasons an event is dropped, the label of the dropped-events counter.
const (
	DroppedFull   = "buffer_full" // the queue was full when the event came
	DroppedStore  = "store_error" // the store kept failing and the backlog overflowed, or failed at shutdown
	DroppedClosed = "after_close" // emitted after Close
)

// Options configure a Buffer. Store is required.
type Options struct {
	Store    store.Logs
	Hostname string // the tenant's hostname, every event's hostname
	// Capacity bounds the events queued and not yet written.
	Capacity int
	// Batch is the most events one write stores; a full batch is
	// written at once, a partial one every FlushInterval.
	Batch         int
	FlushInterval time.Duration
	// WarnInterval is how often a warning line reports events dropped
	// since the last one.
	WarnInterval time.Duration
	// Stream, when set, receives each stored event as a JSON line
	// (Auth0's shape), in the order written.
	Stream io.Writer
	// Dropped is told of every dropped event (the metrics counter).
	Dropped func(reason string, n int)
	Log     *slog.Logger
	Now     func() time.Time
}

// Buffer is an events.Emitter that stores events in batches in the
// background. Emit never blocks on I/O. Flush and Close write what was
// emitted before they were called.
type Buffer struct {
	o        Options
	mu       sync.RWMutex // Emit holds it shared; Close exclusively, to close queue
	closed   bool
	queue    chan *store.LogEvent
	flushes  chan chan error
	done     chan struct{}
	dropped  atomic.Uint64 // all reasons, since start
	unwarned atomic.Uint64 // dropped since the last warning
	final    error         // the last write's error at Close
}

// New starts a Buffer's writer goroutine; Close stops it.
func New(o Options) *Buffer {
	if o.Capacity <= 0 {
		o.Capacity = DefaultCapacity
	}
	if o.Batch <= 0 {
		o.Batch = DefaultBatch
	}
	if o.FlushInterval <= 0 {
		o.FlushInterval = DefaultFlushInterval
	}
	if o.WarnInterval <= 0 {
		o.WarnInterval = DefaultWarnInterval
	}
	if o.Log == nil {
		o.Log = slog.New(slog.DiscardHandler)
	}
	if o.Now == nil {
		o.Now = time.Now
	}
	b := &Buffer{o: o, queue: make(chan *store.LogEvent, o.Capacity), flushes: make(chan chan error), done: make(chan struct{})}
	go b.run()
	go b.warnLoop()
	return b
}

// warnLoop reports dropped events every WarnInterval, on its own
// goroutine: a writer stuck on a slow store is when the queue fills.
func (b *Buffer) warnLoop() {
	t := time.NewTicker(b.o.WarnInterval)
	defer t.Stop()
	for {
		select {
		case <-b.done:
			return
		case <-t.C:
			b.warnDropped()
		}
	}
}

// Emit implements events.Emitter: the event joins the queue, or, when the
// queue is full, is counted as dropped.
func (b *Buffer) Emit(_ context.Context, e events.Event) {
	r := Record(e, b.o.Hostname, b.o.Now())
	b.mu.RLock()
	defer b.mu.RUnlock()
	if b.closed {
		b.drop(DroppedClosed, 1)
		return
	}
	select {
	case b.queue <- r:
	default:
		b.drop(DroppedFull, 1)
	}
}

// Queued is the number of events waiting to be written.
func (b *Buffer) Queued() int { return len(b.queue) }

// Dropped is the number of events dropped since the Buffer started.
func (b *Buffer) Dropped() uint64 { return b.dropped.Load() }

func (b *Buffer) drop(reason string, n int) {
	if n <= 0 {
		return
	}
	b.dropped.Add(uint64(n))
	b.unwarned.Add(uint64(n))
	if b.o.Dropped != nil {
		b.o.Dropped(reason, n)
	}
}

// Flush writes every event emitted before it was called, and returns the
// write's error.
func (b *Buffer) Flush(ctx context.Context) error {
	reply := make(chan error, 1)
	select {
	case b.flushes <- reply:
	case <-b.done:
		return errors.New("tenant log: closed")
	case <-ctx.Done():
		return ctx.Err()
	}
	select {
	case err := <-reply:
		return err
	case <-ctx.Done():
		return ctx.Err()
	}
}

// Close stops taking events, writes those queued and stops the writer.
// Events it could not write by the time ctx ends are counted as dropped.
func (b *Buffer) Close(ctx context.Context) error {
	b.mu.Lock()
	if !b.closed {
		b.closed = true
		close(b.queue)
	}
	b.mu.Unlock()
	select {
	case <-b.done:
		return b.final
	case <-ctx.Done():
		return fmt.Errorf("tenant log: close: %w", ctx.Err())
	}
}

// run is the writer: it gathers events into batches and writes a batch
// when it is full, on every tick, on Flush and at Close.
func (b *Buffer) run() {
	defer close(b.done)
	tick := time.NewTicker(b.o.FlushInterval)
	defer tick.Stop()
	var pending []*store.LogEvent
	var retryAt time.Time
	write := func() error {
		if len(pending) == 0 {
			return nil
		}
		n, err := b.write(pending)
		pending = append(pending[:0], pending[n:]...)
		if err == nil {
			retryAt = time.Time{}
			return nil
		}
		retryAt = time.Now().Add(retryDelay)
		b.o.Log.Warn("tenant log: write failed; events kept for a retry", slog.Int("events", len(pending)), slog.Any("err", err))
		// A store that keeps failing must not grow the backlog without
		// bound: beyond the capacity the oldest go, counted.
		if over := len(pending) - b.o.Capacity; over > 0 {
			b.streamOut(pending[:over])
			b.drop(DroppedStore, over)
			pending = append(pending[:0], pending[over:]...)
		}
		return err
	}
	for {
		select {
		case e, ok := <-b.queue:
			if !ok {
				b.final = b.closeWrite(pending)
				b.warnDropped()
				return
			}
			pending = append(pending, e)
			if len(pending) >= b.o.Batch && time.Now().After(retryAt) {
				write()
			}
		case <-tick.C:
			if time.Now().After(retryAt) {
				write()
			}
		case reply := <-b.flushes:
			pending = b.drain(pending)
			reply <- write()
		}
	}
}

// drain moves whatever is queued now into pending.
func (b *Buffer) drain(pending []*store.LogEvent) []*store.LogEvent {
	for {
		select {
		case e, ok := <-b.queue:
			if !ok {
				return pending
			}
			pending = append(pending, e)
		default:
			return pending
		}
	}
}

// closeWrite writes the last events at shutdown, retrying a failing store
// a few times before counting them dropped.
func (b *Buffer) closeWrite(pending []*store.LogEvent) error {
	var err error
	for attempt := range 3 {
		if len(pending) == 0 {
			return nil
		}
		var n int
		n, err = b.write(pending)
		pending = pending[n:]
		if err == nil {
			return nil
		}
		time.Sleep(time.Duration(attempt+1) * 100 * time.Millisecond)
	}
	b.o.Log.Error("tenant log: events lost at shutdown", slog.Int("events", len(pending)), slog.Any("err", err))
	b.streamOut(pending)
	b.drop(DroppedStore, len(pending))
	return fmt.Errorf("tenant log: %d events not stored: %w", len(pending), err)
}

// write stores events in batches, streams each stored batch, and returns
// how many it stored.
func (b *Buffer) write(events []*store.LogEvent) (int, error) {
	done := 0
	for done < len(events) {
		n := min(len(events)-done, b.o.Batch)
		ctx, cancel := context.WithTimeout(context.Background(), writeTimeout)
		err := b.o.Store.AppendLogs(ctx, events[done:done+n])
		cancel()
		if err != nil {
			return done, err
		}
		b.streamOut(events[done : done+n])
		done += n
	}
	return done, nil
}

// streamOut writes events to the stream as JSON lines in one write.
func (b *Buffer) streamOut(events []*store.LogEvent) {
	if b.o.Stream == nil || len(events) == 0 {
		return
	}
	var buf bytes.Buffer
	enc := json.NewEncoder(&buf)
	enc.SetEscapeHTML(false)
	for _, e := range events {
		if err := enc.Encode(ViewOf(e)); err != nil {
			continue
		}
	}
	if _, err := b.o.Stream.Write(buf.Bytes()); err != nil {
		b.o.Log.Warn("tenant log: stream write failed", slog.Any("err", err))
	}
}

// warnDropped reports the events dropped since the last report.
func (b *Buffer) warnDropped() {
	if n := b.unwarned.Swap(0); n > 0 {
		b.o.Log.Warn("tenant log: events dropped", slog.Uint64("dropped", n), slog.Uint64("dropped_total", b.dropped.Load()),
			slog.Int("capacity", b.o.Capacity))
	}
}
