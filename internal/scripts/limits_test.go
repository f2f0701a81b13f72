package scripts

import (
	"context"
	"sync"
	"testing"
	"time"
)

func ruleInput(src string) PostLoginInput {
	in := baseInput()
	in.Rules = []Script{{ID: "rul_1", Name: "limit", Source: src}}
	return in
}

func TestLimits(t *testing.T) {
	t.Parallel()
	s := newSandbox(t, Options{Timeout: 2 * time.Second, MaxCallStack: 500, MaxOutputBytes: 4 << 10})
	tests := []struct {
		name string
		src  string
		kind Kind
	}{
		{"an endless loop is cut at the time limit", `function (user, context, callback) { for (;;) {} }`, KindTimeout},
		{"an endless loop that catches everything is still cut", `function (user, context, callback) { for (;;) { try { for (;;) {} } catch (e) {} } }`, KindTimeout},
		{"a callback that never comes while a timer keeps firing is cut", `function (user, context, callback) { (function tick() { setTimeout(tick, 1); })(); }`, KindTimeout},
		{"deep recursion is stopped", `function (user, context, callback) { function f(n) { return f(n + 1) + 1; } f(0); }`, KindRecursion},
		{"recursion through a built-in is stopped", `function (user, context, callback) { function f() { [1].map(f); } f(); }`, KindRecursion},
		{"recursion through toString is stopped", `function (user, context, callback) { var o = { toString: function () { return 'x' + o; } }; String(o); }`, KindRecursion},
		{"recursion caught by the script is still stopped", `function (user, context, callback) { function f() { try { f(); } catch (e) { f(); } } f(); }`, KindRecursion},
		{"a huge claim is refused", `function (user, context, callback) { context.accessToken['https://x/big'] = new Array(10000).join('x'); callback(null, user, context); }`, KindOutputTooLarge},
		{"a huge sparse array is refused", `function (user, context, callback) { var a = []; a.length = 1e9; context.idToken['https://x/a'] = a; callback(null, user, context); }`, KindOutputTooLarge},
		{"a cyclic claim is refused", `function (user, context, callback) { var a = {}; a.self = a; context.idToken['https://x/a'] = a; callback(null, user, context); }`, KindOutputTooLarge},
		{"huge metadata is refused", `function (user, context, callback) { auth0.users.updateAppMetadata(user.user_id, { big: new Array(5000).join('y') }).then(function () { callback(null, user, context); }); }`, KindOutputTooLarge},
		// Built-ins run as Go code that no interrupt reaches: huge inputs are refused up front.
		{"filling a billion-element array is refused", `function (user, context, callback) { new Array(1e9).fill(1); }`, KindError},
		{"repeating a string a billion times is refused", `function (user, context, callback) { 'x'.repeat(1e9); }`, KindError},
		{"joining into a huge string is refused", `function (user, context, callback) { new Array(1e4).fill('x'.repeat(1e5)).join(''); }`, KindError},
		{"a 4 GiB typed array is refused", `function (user, context, callback) { new Uint8Array(Math.pow(2, 32)); }`, KindError},
		{"a 4 GiB Buffer is refused", `function (user, context, callback) { Buffer.alloc(Math.pow(2, 32)); }`, KindError},
		{"Array.from a billion is refused", `function (user, context, callback) { Array.from({ length: 1e9 }); }`, KindError},
		{"a getter that loops while claims are read is cut", `function (user, context, callback) { Object.defineProperty(context.accessToken, 'https://x/g', { enumerable: true, get: function () { for (;;) {} } }); callback(null, user, context); }`, KindTimeout},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			_, err := s.PostLogin(context.Background(), ruleInput(tc.src))
			if KindOf(err) != tc.kind {
				t.Fatalf("err = %v, want %v", err, tc.kind)
			}
		})
	}
	// The pool was not poisoned: an ordinary run still works afterwards.
	res, err := s.PostLogin(context.Background(), ruleInput(seedRule))
	if err != nil || res.AccessTokenClaims["http://foo/bar"] != "value" {
		t.Fatalf("after the limits: %v %v", res, err)
	}
}

// TestEndlessLoopDoesNotHoldUpOthers runs logins while a rule spins: they
// all complete while the spinning run is still going, and the spinning run
// ends when its request does.
func TestEndlessLoopDoesNotHoldUpOthers(t *testing.T) {
	t.Parallel()
	s := newSandbox(t, Options{Timeout: time.Hour})
	ctx, cancel := context.WithCancel(context.Background())
	spun := make(chan error, 1)
	go func() {
		_, err := s.PostLogin(ctx, ruleInput(`function (user, context, callback) { for (;;) {} }`))
		spun <- err
	}()

	var wg sync.WaitGroup
	errs := make(chan error, 200)
	for range 4 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for range 50 {
				res, err := s.PostLogin(context.Background(), ruleInput(seedRule))
				if err == nil && res.AccessTokenClaims["http://foo/bar"] != "value" {
					err = &Failure{Kind: KindInternal, Message: "claim missing"}
				}
				errs <- err
			}
		}()
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		if err != nil {
			t.Fatal(err)
		}
	}
	select {
	case err := <-spun:
		t.Fatalf("the endless loop ended before it was canceled: %v", err)
	default:
	}
	cancel()
	if err := <-spun; KindOf(err) != KindCanceled {
		t.Fatalf("endless loop: %v, want canceled", err)
	}
}

// TestUnboundedAllocationIsStopped is not parallel: the watchdog judges the
// whole process's heap, so it runs with nothing else in flight.
func TestUnboundedAllocationIsStopped(t *testing.T) {
	w := NewWatchdog(48 << 20)
	s := newSandbox(t, Options{Timeout: time.Minute, Watchdog: w})
	for _, src := range []string{
		`function (user, context, callback) { var a=[]; for(;;) a.push(new Array(1e6).fill(1)) }`,
		`function (user, context, callback) { var s = 'x'; for (;;) s += s; }`,
		`function (user, context, callback) { var m = {}; for (var i = 0;; i++) m['k' + i] = { i: i, s: 'v' + i }; }`,
	} {
		_, err := s.PostLogin(context.Background(), ruleInput(src))
		if KindOf(err) != KindMemory {
			t.Fatalf("%s: err = %v, want memory limit", src, err)
		}
	}
	if w.Interrupts() != 3 {
		t.Fatalf("watchdog interrupts = %d", w.Interrupts())
	}
	// The process lives on and so does the sandbox.
	if _, err := s.PostLogin(context.Background(), ruleInput(seedRule)); err != nil {
		t.Fatal(err)
	}
}

func TestCompileCache(t *testing.T) {
	t.Parallel()
	s := newSandbox(t, Options{CacheSize: 2})
	in := baseInput()
	in.Rules = []Script{{ID: "r1", Source: seedRule}}
	in.Actions = []Action{{Script: Script{ID: "a1", Source: `exports.onExecutePostLogin = async () => {};`}}}
	for range 20 {
		if _, err := s.PostLogin(context.Background(), in); err != nil {
			t.Fatal(err)
		}
	}
	if got := s.Stats().Compiles; got != 2 {
		t.Fatalf("compiles after 20 runs of two scripts = %d, want 2", got)
	}
	// A changed script is a new version, compiled once.
	in.Rules[0].Source = seedRule + "\n// v2"
	for range 5 {
		if _, err := s.PostLogin(context.Background(), in); err != nil {
			t.Fatal(err)
		}
	}
	if got := s.Stats().Compiles; got != 3 {
		t.Fatalf("compiles after a change = %d, want 3", got)
	}
	// The cache holds two versions: the first rule version was evicted.
	in.Rules[0].Source = seedRule
	if _, err := s.PostLogin(context.Background(), in); err != nil {
		t.Fatal(err)
	}
	if got := s.Stats().Compiles; got != 4 {
		t.Fatalf("compiles after eviction = %d, want 4", got)
	}
	if got := s.Stats().Runtimes; got > 2 {
		t.Fatalf("sequential runs created %d runtimes, want them pooled", got)
	}
}
