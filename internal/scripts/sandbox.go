package scripts

import (
	"container/list"
	"crypto/sha256"
	_ "embed"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"runtime"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/dop251/goja"
)

// Defaults for Options fields left zero.
const (
	DefaultTimeout          = 20 * time.Second
	DefaultMaxCallStack     = 5000
	DefaultMaxOutputBytes   = 64 << 10
	DefaultMemoryLimit      = 1 << 30
	DefaultCacheSize        = 1024
	DefaultHTTPTimeout      = 10 * time.Second
	DefaultMaxResponseBytes = 1 << 20
	defaultRunsPerRuntime   = 1000
	maxMessageBytes         = 1000
	maxLogBytes             = 8 << 10
)

// Options configure a Sandbox. Zero values take the defaults above.
type Options struct {
	// Timeout bounds one entry-point call (all rules and Actions of one
	// login, or one database script call), Auth0's 20 s by default.
	Timeout time.Duration
	// MaxCallStack bounds the JavaScript call depth.
	MaxCallStack int
	// MaxOutputBytes bounds what a run produces (claims, metadata, a
	// profile) once serialised as JSON.
	MaxOutputBytes int
	// Watchdog stops runs while the process heap is over its limit. Share
	// one between the sandboxes of a process; nil makes one with
	// MemoryLimit.
	Watchdog *Watchdog
	// MemoryLimit is the heap size (bytes) over which the Sandbox's own
	// watchdog stops runs; ignored when Watchdog is set.
	MemoryLimit uint64
	// CacheSize bounds the number of compiled script versions kept.
	CacheSize int
	// PoolSize bounds the number of idle runtimes kept for reuse.
	PoolSize int
	// HTTPTimeout bounds one outbound request a script makes.
	HTTPTimeout time.Duration
	// MaxResponseBytes bounds the body of one outbound response.
	MaxResponseBytes int64
	// Transport carries scripts' outbound requests; nil uses a clone of
	// http.DefaultTransport.
	Transport http.RoundTripper
	// Logger receives one line per failed run; nil discards.
	Logger *slog.Logger
}

// Sandbox runs tenants' JavaScript. It is safe for concurrent use: each run
// takes a runtime from the pool for itself and gives it back (or drops it
// when the run was interrupted) when it ends.
type Sandbox struct {
	opts      Options
	watchdog  *Watchdog
	transport http.RoundTripper
	log       *slog.Logger
	prelude   *goja.Program

	cache programCache
	pool  chan *vm

	compiles atomic.Int64
	runtimes atomic.Int64
}

// Stats are counters for tests and metrics.
type Stats struct {
	// Compiles counts script versions compiled (cache misses).
	Compiles int64
	// Runtimes counts JavaScript runtimes created.
	Runtimes int64
}

//go:embed prelude.js
var preludeSource string

// New returns a Sandbox with opts.
func New(opts Options) (*Sandbox, error) {
	if opts.Timeout <= 0 {
		opts.Timeout = DefaultTimeout
	}
	if opts.MaxCallStack <= 0 {
		opts.MaxCallStack = DefaultMaxCallStack
	}
	if opts.MaxOutputBytes <= 0 {
		opts.MaxOutputBytes = DefaultMaxOutputBytes
	}
	if opts.MemoryLimit == 0 {
		opts.MemoryLimit = DefaultMemoryLimit
	}
	if opts.CacheSize <= 0 {
		opts.CacheSize = DefaultCacheSize
	}
	if opts.PoolSize <= 0 {
		opts.PoolSize = max(4, 4*runtime.GOMAXPROCS(0))
	}
	if opts.HTTPTimeout <= 0 {
		opts.HTTPTimeout = DefaultHTTPTimeout
	}
	if opts.MaxResponseBytes <= 0 {
		opts.MaxResponseBytes = DefaultMaxResponseBytes
	}
	prelude, err := goja.Compile("gatehouse-prelude.js", preludeSource, true)
	if err != nil {
		return nil, fmt.Errorf("scripts: compile prelude: %w", err)
	}
	s := &Sandbox{
		opts:      opts,
		watchdog:  opts.Watchdog,
		transport: opts.Transport,
		log:       opts.Logger,
		prelude:   prelude,
		pool:      make(chan *vm, opts.PoolSize),
	}
	if s.watchdog == nil {
		s.watchdog = NewWatchdog(opts.MemoryLimit)
	}
	if s.transport == nil {
		s.transport = http.DefaultTransport.(*http.Transport).Clone()
	}
	if s.log == nil {
		s.log = slog.New(slog.DiscardHandler)
	}
	s.cache.init(opts.CacheSize)
	return s, nil
}

// Stats reports the Sandbox's counters.
func (s *Sandbox) Stats() Stats {
	return Stats{Compiles: s.compiles.Load(), Runtimes: s.runtimes.Load()}
}

// Script is one stored script version.
type Script struct {
	// ID is the rule's or Action's id (rul_..., an Action id); may be empty.
	ID string
	// Name names the script in failures and logs.
	Name string
	// Source is the JavaScript as the tenant wrote it.
	Source string
}

func (sc Script) label() string {
	if sc.Name != "" {
		return sc.Name
	}
	return sc.ID
}

// ---- compiled programs ----------------------------------------------------

// shape says how a source is wrapped before compiling.
type shape byte

const (
	// shapeFunction: the source is one function expression (a rule, a
	// database script); the program evaluates to that function.
	shapeFunction shape = 'f'
	// shapeModule: the source is a CommonJS module (an Action); the program
	// evaluates to a function(exports, module, require) that runs it.
	shapeModule shape = 'm'
)

type programKey [sha256.Size]byte

type compiled struct {
	key  programKey
	prog *goja.Program
	err  error // a compile error is cached too: a broken script is not recompiled per login
}

// programCache holds compiled versions by the hash of their shape and
// source, least recently used first out. A changed script hashes to a new
// entry; every node compiles what it runs.
type programCache struct {
	mu    sync.Mutex
	max   int
	byKey map[programKey]*list.Element
	order *list.List
}

func (c *programCache) init(n int) {
	c.max = n
	c.byKey = make(map[programKey]*list.Element)
	c.order = list.New()
}

func (s *Sandbox) compile(sh shape, src string) *compiled {
	h := sha256.New()
	h.Write([]byte{byte(sh)})
	h.Write([]byte(src))
	var key programKey
	h.Sum(key[:0])

	c := &s.cache
	c.mu.Lock()
	if el, ok := c.byKey[key]; ok {
		c.order.MoveToFront(el)
		c.mu.Unlock()
		return el.Value.(*compiled)
	}
	c.mu.Unlock()

	// Compile outside the lock; two nodes of one process racing on a new
	// version both compile it, and one copy wins.
	s.compiles.Add(1)
	entry := &compiled{key: key}
	switch sh {
	case shapeFunction:
		body := strings.TrimRight(strings.TrimSpace(src), "; \t\r\n")
		entry.prog, entry.err = goja.Compile("script.js", "("+body+"\n)", false)
	case shapeModule:
		entry.prog, entry.err = goja.Compile("action.js", "(function (exports, module, require) {"+src+"\n})", false)
	}

	c.mu.Lock()
	defer c.mu.Unlock()
	if el, ok := c.byKey[key]; ok {
		c.order.MoveToFront(el)
		return el.Value.(*compiled)
	}
	c.byKey[key] = c.order.PushFront(entry)
	for c.order.Len() > c.max {
		last := c.order.Back()
		c.order.Remove(last)
		delete(c.byKey, last.Value.(*compiled).key)
	}
	return entry
}

// ---- runtimes -------------------------------------------------------------

// vm is one goja runtime with the helpers installed. It belongs to one run
// at a time.
type vm struct {
	rt   *goja.Runtime
	lib  *goja.Object // what the prelude returned: constructors and builders
	runs int
	// entries caches, per compiled version, the function a shapeFunction
	// program evaluates to or the exports of a shapeModule program, so a
	// pooled runtime evaluates each version once (Auth0 likewise keeps a
	// module loaded in a warm container).
	entries map[programKey]goja.Value
	cur     *run
}

func (s *Sandbox) getVM() (*vm, error) {
	select {
	case v := <-s.pool:
		return v, nil
	default:
	}
	return s.newVM()
}

func (s *Sandbox) putVM(v *vm) {
	v.cur = nil
	if v.runs >= defaultRunsPerRuntime {
		return
	}
	select {
	case s.pool <- v:
	default:
	}
}

func (s *Sandbox) newVM() (v *vm, err error) {
	s.runtimes.Add(1)
	rt := goja.New()
	rt.SetMaxCallStackSize(s.opts.MaxCallStack)
	v = &vm{rt: rt, entries: make(map[programKey]goja.Value)}
	fn, err := rt.RunProgram(s.prelude)
	if err != nil {
		return nil, fmt.Errorf("scripts: run prelude: %w", err)
	}
	call, ok := goja.AssertFunction(fn)
	if !ok {
		return nil, fmt.Errorf("scripts: prelude is not a function")
	}
	lib, err := call(goja.Undefined(), s.natives(v))
	if err != nil {
		return nil, fmt.Errorf("scripts: install helpers: %w", err)
	}
	v.lib = lib.ToObject(rt)
	globals := v.lib.Get("globals").ToObject(rt)
	for _, k := range globals.Keys() {
		if err := rt.Set(k, globals.Get(k)); err != nil {
			return nil, fmt.Errorf("scripts: set global %s: %w", k, err)
		}
	}
	if err := rt.Set("global", rt.GlobalObject()); err != nil {
		return nil, fmt.Errorf("scripts: set global: %w", err)
	}
	return v, nil
}

// libFunc returns one of the prelude's builder functions.
func (v *vm) libFunc(name string) goja.Callable {
	f, ok := goja.AssertFunction(v.lib.Get(name))
	if !ok {
		panic("scripts: prelude lacks " + name)
	}
	return f
}

// entry returns the value a compiled version evaluates to in this runtime:
// the function for shapeFunction, module.exports for shapeModule.
func (v *vm) entry(r *run, c *compiled, sh shape) (goja.Value, error) {
	if val, ok := v.entries[c.key]; ok {
		return val, nil
	}
	if c.err != nil {
		return nil, &Failure{Kind: KindCompile, Message: compileMessage(c.err)}
	}
	val, err := v.rt.RunProgram(c.prog)
	if err != nil {
		return nil, r.failure(err)
	}
	if sh == shapeModule {
		wrapper, ok := goja.AssertFunction(val)
		if !ok {
			return nil, &Failure{Kind: KindInternal, Message: "module wrapper is not a function"}
		}
		module := v.rt.NewObject()
		exports := v.rt.NewObject()
		_ = module.Set("exports", exports)
		if _, err := wrapper(goja.Undefined(), exports, module, v.rt.Get("require")); err != nil {
			return nil, r.failure(err)
		}
		if err := r.guard(func() { val = module.Get("exports") }); err != nil {
			return nil, err
		}
	}
	if len(v.entries) >= 256 {
		clear(v.entries)
	}
	v.entries[c.key] = val
	return val, nil
}

func compileMessage(err error) string {
	msg := err.Error()
	if i := strings.IndexByte(msg, '\n'); i >= 0 {
		msg = msg[:i]
	}
	return truncate(msg, maxMessageBytes)
}

func truncate(s string, n int) string {
	s = strings.ToValidUTF8(s, "\uFFFD")
	if len(s) <= n {
		return s
	}
	cut := n
	for cut > 0 && !utf8Start(s[cut]) {
		cut--
	}
	return s[:cut] + "…"
}

func utf8Start(b byte) bool { return b&0xC0 != 0x80 }

// CheckModule compiles an Action's code (keeping it in the cache for its
// first run) and reports a syntax error in the script's own terms.
func (s *Sandbox) CheckModule(source string) error {
	if c := s.compile(shapeModule, source); c.err != nil {
		return errors.New(compileMessage(c.err))
	}
	return nil
}

// CheckFunction is CheckModule for a rule or a database script.
func (s *Sandbox) CheckFunction(source string) error {
	if c := s.compile(shapeFunction, source); c.err != nil {
		return errors.New(compileMessage(c.err))
	}
	return nil
}
