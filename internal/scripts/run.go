package scripts

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"time"

	"github.com/dop251/goja"
)

// job is work posted onto a run's goroutine: the completion of something
// Go did asynchronously (an HTTP response, a timer), which calls back into
// JavaScript. It returns the error a JavaScript callback threw.
type job func() error

// run is one entry-point call: one runtime, one deadline, one event loop.
// Everything that touches the runtime happens on the goroutine that called
// the entry point; other goroutines only post jobs or interrupt.
type run struct {
	sb      *Sandbox
	v       *vm
	ctx     context.Context // outbound requests; canceled when the run ends
	cancel  context.CancelFunc
	hosts   []string
	started time.Time
	script  string // the script now running, for failures

	jobs     chan job
	finished chan struct{} // closed when the run ends: posters stop waiting
	pending  int           // async operations whose completion has not run yet
	timers   map[int64]*timer
	nextID   int64

	logs     []string
	logBytes int

	deadline  *time.Timer
	stopCtx   func() bool
	mu        sync.Mutex
	done      bool
	stopped   bool
	reason    *Failure
	stop      chan struct{} // closed on interrupt
	discarded bool          // the runtime must not go back to the pool
}

type timer struct {
	t        *time.Timer
	canceled bool
}

// begin takes a runtime and arms the run's limits.
func (s *Sandbox) begin(ctx context.Context, hosts []string) (*run, error) {
	v, err := s.getVM()
	if err != nil {
		return nil, &Failure{Kind: KindInternal, Message: err.Error()}
	}
	v.runs++
	r := &run{
		sb:       s,
		v:        v,
		hosts:    hosts,
		started:  time.Now(),
		jobs:     make(chan job, 16),
		finished: make(chan struct{}),
		stop:     make(chan struct{}),
	}
	r.ctx, r.cancel = context.WithCancel(context.WithoutCancel(ctx))
	v.cur = r
	r.deadline = time.AfterFunc(s.opts.Timeout, func() { r.interrupt(errTimeout) })
	r.stopCtx = context.AfterFunc(ctx, func() { r.interrupt(errCanceled) })
	s.watchdog.add(r)
	return r, nil
}

// interrupt stops the run for reason; safe from any goroutine, first
// reason wins, and a finished run is left alone (so a late timer cannot
// interrupt the runtime's next user).
func (r *run) interrupt(reason *Failure) {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.done || r.stopped {
		return
	}
	r.stopped = true
	r.reason = reason
	close(r.stop)
	r.v.rt.Interrupt(reason)
}

// end disarms the limits and returns the runtime to the pool unless the
// run was interrupted or broke.
func (r *run) end() {
	r.mu.Lock()
	r.done = true
	stopped := r.stopped
	r.mu.Unlock()
	r.deadline.Stop()
	r.stopCtx()
	r.sb.watchdog.remove(r)
	close(r.finished)
	r.cancel()
	for _, t := range r.timers {
		t.t.Stop()
	}
	if stopped || r.discarded {
		// An interrupted runtime may hold what the script built (the memory
		// watchdog's case) and half-done global state: drop it.
		r.v.cur = nil
		return
	}
	r.v.rt.ClearInterrupt()
	r.sb.putVM(r.v)
}

// post hands a job to the run's goroutine; it gives up once the run ended.
func (r *run) post(j job) {
	select {
	case r.jobs <- j:
	case <-r.finished:
	}
}

// wait runs posted jobs until done reports true. It fails when nothing is
// pending any more (the script cannot finish) or the run is interrupted.
func (r *run) wait(done func() bool) error {
	for !done() {
		if r.pending == 0 {
			return &Failure{Kind: KindNoResult, Message: "the script ended without calling back or settling its promise"}
		}
		select {
		case j := <-r.jobs:
			if err := j(); err != nil {
				return r.failure(err)
			}
		case <-r.stop:
			return r.stopReason()
		}
	}
	return nil
}

func (r *run) stopReason() *Failure {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.reason
}

// guard runs Go code that reads JavaScript values (which may run getters,
// proxies, toString) and turns what it throws into a Failure.
func (r *run) guard(f func()) (err error) {
	defer func() {
		if x := recover(); x != nil {
			switch e := x.(type) {
			case *goja.InterruptedError:
				err = r.failure(e)
			case *goja.StackOverflowError:
				err = r.failure(e)
			case *Failure:
				err = e
			default:
				r.discarded = true
				err = &Failure{Kind: KindInternal, Message: fmt.Sprint(x)}
			}
		}
	}()
	if ex := r.v.rt.Try(f); ex != nil {
		return r.failure(ex)
	}
	return nil
}

// failure turns what a call into JavaScript returned into a *Failure named
// after the running script.
func (r *run) failure(err error) *Failure {
	var f *Failure
	var interrupted *goja.InterruptedError
	var overflow *goja.StackOverflowError
	var ex *goja.Exception
	switch {
	case errors.As(err, &f):
		cp := *f
		f = &cp
	case errors.As(err, &interrupted):
		if reason, ok := interrupted.Value().(*Failure); ok {
			cp := *reason
			f = &cp
		} else {
			f = &Failure{Kind: KindInternal, Message: "interrupted"}
		}
		r.discarded = true
	case errors.As(err, &overflow):
		f = &Failure{Kind: KindRecursion, Message: "maximum call stack size exceeded"}
		r.discarded = true
	case errors.As(err, &ex):
		f = r.errorValue(ex.Value())
	default:
		f = &Failure{Kind: KindInternal, Message: err.Error()}
	}
	if f.Script == "" {
		f.Script = r.script
	}
	return f
}

// errorValue reads a JavaScript error (an Error object, a string, anything
// thrown or passed to a callback) as a Failure: UnauthorizedError denies,
// everything else is the script's error.
func (r *run) errorValue(v goja.Value) *Failure {
	f := &Failure{Kind: KindError, Script: r.script}
	read := func() {
		if obj, ok := v.(*goja.Object); ok {
			if name := obj.Get("name"); name != nil && !goja.IsUndefined(name) {
				f.Name = name.String()
			}
			if code := obj.Get("code"); code != nil {
				if s, ok := code.Export().(string); ok {
					f.Code = s
				}
			}
			if msg := obj.Get("message"); msg != nil && !goja.IsUndefined(msg) {
				f.Message = msg.String()
			} else {
				f.Message = obj.String()
			}
			return
		}
		if v != nil {
			f.Message = v.String()
		}
	}
	if err := r.guard(read); err != nil {
		return err.(*Failure)
	}
	f.Name, f.Code = truncate(f.Name, 100), truncate(f.Code, 100)
	f.Message = truncate(f.Message, maxMessageBytes)
	if f.Name == "UnauthorizedError" {
		f.Kind = KindDenied
	}
	return f
}

// call calls a JavaScript function on the run's goroutine.
func (r *run) call(fn goja.Value, args ...goja.Value) (goja.Value, error) {
	callable, ok := goja.AssertFunction(fn)
	if !ok {
		return nil, &Failure{Kind: KindInternal, Script: r.script, Message: "not a function"}
	}
	v, err := callable(goja.Undefined(), args...)
	if err != nil {
		return nil, r.failure(err)
	}
	return v, nil
}

// settle waits for v, when it is a promise, to settle, and returns its
// value or the failure its rejection means.
func (r *run) settle(v goja.Value) (goja.Value, error) {
	obj, ok := v.(*goja.Object)
	if !ok {
		return v, nil
	}
	p, ok := obj.Export().(*goja.Promise)
	if !ok {
		return v, nil
	}
	if err := r.wait(func() bool { return p.State() != goja.PromiseStatePending }); err != nil {
		return nil, err
	}
	if p.State() == goja.PromiseStateRejected {
		return nil, r.errorValue(p.Result())
	}
	return p.Result(), nil
}

// setTimer schedules fn on the run's loop after d; it counts as pending
// work until it fires or is cleared.
func (r *run) setTimer(fn goja.Value, d time.Duration, args []goja.Value) int64 {
	if r.timers == nil {
		r.timers = make(map[int64]*timer)
	}
	r.nextID++
	id := r.nextID
	t := &timer{}
	r.timers[id] = t
	r.pending++
	t.t = time.AfterFunc(d, func() {
		r.post(func() error {
			r.pending--
			delete(r.timers, id)
			if t.canceled {
				return nil
			}
			_, err := r.call(fn, args...)
			return err
		})
	})
	return id
}

func (r *run) clearTimer(id int64) {
	t, ok := r.timers[id]
	if !ok || t.canceled {
		return
	}
	t.canceled = true
	if t.t.Stop() {
		// It will never post: its pending count goes now.
		r.pending--
		delete(r.timers, id)
	}
}

func (r *run) logLine(line string) {
	if r.logBytes >= maxLogBytes {
		return
	}
	line = truncate(line, maxLogBytes-r.logBytes)
	r.logBytes += len(line)
	r.logs = append(r.logs, line)
}
