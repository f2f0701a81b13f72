package apiauth_test

import (
	"context"
	"crypto/rand"
	"errors"
	"fmt"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	jose "github.com/go-jose/go-jose/v4"

	"github.com/gatehouse/gatehouse/apiauth"
)

// waitFor polls cond for up to 5 seconds.
func waitFor(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(5 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(time.Millisecond)
	}
}

func TestConcurrentFirstRequestsMakeOneDiscoveryAndOneJWKSFetch(t *testing.T) {
	k1 := rsaKey(t, 0, "k1")
	ti := newTestIssuer(t, k1)
	clock := newFakeClock()
	// The issuer is down when the API starts, so the first requests find an
	// empty cache.
	ti.setDown(true)
	v := newValidator(t, ti, clock, nil)
	ti.setDown(false)
	ti.discoveryHits.Store(0)
	ti.jwksHits.Store(0)

	gate := make(chan struct{})
	ti.mu.Lock()
	ti.gate = gate
	ti.mu.Unlock()

	tok := k1.sign(t, claimsAt(ti.URL, clock.Now()))
	const n = 50
	errs := make(chan error, n)
	var started sync.WaitGroup
	started.Add(n)
	for range n {
		go func() {
			started.Done()
			_, err := v.Validate(context.Background(), tok)
			errs <- err
		}()
	}
	started.Wait()
	waitFor(t, "the discovery request", func() bool { return ti.discoveryHits.Load() == 1 })
	time.Sleep(50 * time.Millisecond) // let every goroutine reach the cache
	close(gate)
	for range n {
		if err := <-errs; err != nil {
			t.Errorf("Validate: %v", err)
		}
	}
	if d, j := ti.hits(); d != 1 || j != 1 {
		t.Errorf("discovery fetches = %d, JWKS fetches = %d; want 1 and 1", d, j)
	}
}

func randomKID(t *testing.T) string {
	b := make([]byte, 12)
	if _, err := rand.Read(b); err != nil {
		t.Fatal(err)
	}
	return fmt.Sprintf("%x", b)
}

func TestFloodOfUnknownKidsIsRateLimited(t *testing.T) {
	k1 := rsaKey(t, 0, "k1")
	ti := newTestIssuer(t, k1)
	clock := newFakeClock()
	v := newValidator(t, ti, clock, nil)
	if _, j := ti.hits(); j != 1 {
		t.Fatalf("JWKS fetches after New = %d, want 1", j)
	}
	// Past MinRefreshInterval since the start-up fetch: one refetch is allowed.
	clock.Advance(apiauth.DefaultMinRefreshInterval)
	good := k1.sign(t, claimsAt(ti.URL, clock.Now()))

	tokens := make([]string, 100)
	for i := range tokens {
		tokens[i] = signWith(t, jose.RS256, k1.priv, randomKID(t), claimsAt(ti.URL, clock.Now()))
	}
	var wg sync.WaitGroup
	var wrong atomic.Int64
	for g := range 10 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for _, tok := range tokens[g*10 : g*10+10] {
				if _, err := v.Validate(context.Background(), tok); !errors.Is(err, apiauth.ErrUnknownKey) {
					wrong.Add(1)
				}
			}
			if _, err := v.Validate(context.Background(), good); err != nil {
				wrong.Add(1)
			}
		}()
	}
	wg.Wait()
	if wrong.Load() != 0 {
		t.Errorf("%d results were not as expected", wrong.Load())
	}
	if _, j := ti.hits(); j != 2 {
		t.Errorf("JWKS fetches after the flood = %d, want 2 (start-up + one refetch)", j)
	}

	// A second flood inside the same interval fetches nothing.
	for i := range 100 {
		tok := signWith(t, jose.RS256, k1.priv, fmt.Sprintf("again-%d", i), claimsAt(ti.URL, clock.Now()))
		if _, err := v.Validate(context.Background(), tok); !errors.Is(err, apiauth.ErrUnknownKey) {
			t.Fatalf("Validate = %v, want ErrUnknownKey", err)
		}
	}
	if _, j := ti.hits(); j != 2 {
		t.Errorf("JWKS fetches after the second flood = %d, want still 2", j)
	}

	clock.Advance(apiauth.DefaultMinRefreshInterval)
	if _, err := v.Validate(context.Background(), tokens[0]); !errors.Is(err, apiauth.ErrUnknownKey) {
		t.Fatalf("Validate = %v, want ErrUnknownKey", err)
	}
	if _, j := ti.hits(); j != 3 {
		t.Errorf("JWKS fetches one interval later = %d, want 3", j)
	}
}

func TestStaleCacheIsRefreshedAndWithdrawnKeysAreRefused(t *testing.T) {
	k1, k2 := rsaKey(t, 0, "k1"), rsaKey(t, 1, "k2")
	ti := newTestIssuer(t, k1)
	clock := newFakeClock()
	v := newValidator(t, ti, clock, nil)
	ctx := context.Background()
	claims := claimsAt(ti.URL, clock.Now())
	tok1, tok2 := k1.sign(t, claims), k2.sign(t, claims)
	if _, err := v.Validate(ctx, tok1); err != nil {
		t.Fatal(err)
	}

	ti.setKeys(t, k2)
	clock.Advance(apiauth.DefaultCacheTTL - time.Second)
	if _, err := v.Validate(ctx, tok1); err != nil {
		t.Fatalf("before the cache is stale: %v", err)
	}
	clock.Advance(time.Second)
	if _, err := v.Validate(ctx, tok1); !errors.Is(err, apiauth.ErrUnknownKey) {
		t.Fatalf("withdrawn key after refresh: err = %v, want ErrUnknownKey", err)
	}
	if _, err := v.Validate(ctx, tok2); err != nil {
		t.Fatalf("new key after refresh: %v", err)
	}
	if d, j := ti.hits(); d != 1 || j != 2 {
		t.Errorf("fetches = %d discovery, %d JWKS; want 1 and 2", d, j)
	}
}

func TestCacheLifetimeFollowsCacheControl(t *testing.T) {
	tests := []struct {
		name         string
		cacheControl string
		fresh        time.Duration // still cached at this age
		stale        time.Duration // fetched again at this age
	}{
		{"no header uses CacheTTL", "", 4 * time.Minute, 5 * time.Minute},
		{"shorter max-age wins", "public, max-age=90", 89 * time.Second, 90 * time.Second},
		{"max-age is floored at MinRefreshInterval", "max-age=5", 59 * time.Second, time.Minute},
		{"no-store is floored at MinRefreshInterval", "no-store", 59 * time.Second, time.Minute},
		{"longer max-age is capped at CacheTTL", "max-age=86400", 4 * time.Minute, 5 * time.Minute},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			k1 := rsaKey(t, 0, "k1")
			ti := newTestIssuer(t, k1)
			ti.cacheControl = tc.cacheControl
			clock := newFakeClock()
			start := clock.Now()
			v := newValidator(t, ti, clock, nil)
			tok := k1.sign(t, claimsAt(ti.URL, clock.Now()))

			clock.Advance(tc.fresh)
			if _, err := v.Validate(context.Background(), tok); err != nil {
				t.Fatal(err)
			}
			if _, j := ti.hits(); j != 1 {
				t.Fatalf("at age %v: %d JWKS fetches, want 1", tc.fresh, j)
			}
			clock.Advance(start.Add(tc.stale).Sub(clock.Now()))
			if _, err := v.Validate(context.Background(), tok); err != nil {
				t.Fatal(err)
			}
			if _, j := ti.hits(); j != 2 {
				t.Fatalf("at age %v: %d JWKS fetches, want 2", tc.stale, j)
			}
		})
	}
}

func TestFailedRefreshKeepsTheLastGoodKeysAndBacksOff(t *testing.T) {
	k1 := rsaKey(t, 0, "k1")
	ti := newTestIssuer(t, k1)
	clock := newFakeClock()
	v := newValidator(t, ti, clock, nil)
	tok := k1.sign(t, claimsAt(ti.URL, clock.Now()))
	validate := func() {
		t.Helper()
		if _, err := v.Validate(context.Background(), tok); err != nil {
			t.Fatalf("Validate: %v", err)
		}
	}

	ti.setDown(true)
	clock.Advance(apiauth.DefaultCacheTTL)
	validate() // refresh fails; the cached key still serves
	if _, j := ti.hits(); j != 2 {
		t.Fatalf("JWKS fetches = %d, want 2", j)
	}
	clock.Advance(4 * time.Second)
	validate()
	if _, j := ti.hits(); j != 2 {
		t.Fatalf("JWKS fetches within the backoff = %d, want 2", j)
	}
	ti.setDown(false)
	clock.Advance(time.Second)
	validate()
	if _, j := ti.hits(); j != 3 {
		t.Fatalf("JWKS fetches after the backoff = %d, want 3", j)
	}
	clock.Advance(time.Minute)
	validate()
	if _, j := ti.hits(); j != 3 {
		t.Fatalf("JWKS fetches after a good refresh = %d, want 3", j)
	}
}

func TestIssuerDownAtStart(t *testing.T) {
	k1 := rsaKey(t, 0, "k1")
	ti := newTestIssuer(t, k1)
	ti.setDown(true)
	clock := newFakeClock()
	v := newValidator(t, ti, clock, nil) // New succeeds anyway
	if err := v.Refresh(context.Background()); err == nil {
		t.Fatal("Refresh succeeded with the issuer down")
	}
	tok := k1.sign(t, claimsAt(ti.URL, clock.Now()))

	_, err := v.Validate(context.Background(), tok)
	if !errors.Is(err, apiauth.ErrKeysUnavailable) || errors.Is(err, apiauth.ErrInvalidToken) {
		t.Fatalf("Validate = %v, want ErrKeysUnavailable and not ErrInvalidToken", err)
	}
	ti.setDown(false)
	// Refresh failed a moment ago, so a token waits for the backoff...
	if _, err := v.Validate(context.Background(), tok); !errors.Is(err, apiauth.ErrKeysUnavailable) {
		t.Fatalf("Validate within the backoff = %v, want ErrKeysUnavailable", err)
	}
	clock.Advance(5 * time.Second)
	if _, err := v.Validate(context.Background(), tok); err != nil {
		t.Fatalf("Validate once the issuer is back: %v", err)
	}
}

func TestFirstRequestRetriesAtOnceAfterAFailedStart(t *testing.T) {
	k1 := rsaKey(t, 0, "k1")
	ti := newTestIssuer(t, k1)
	ti.setDown(true)
	clock := newFakeClock()
	v := newValidator(t, ti, clock, nil)
	ti.setDown(false)
	if _, err := v.Validate(context.Background(), k1.sign(t, claimsAt(ti.URL, clock.Now()))); err != nil {
		t.Fatalf("Validate: %v", err)
	}
}

func TestRefreshRefusesBadDocuments(t *testing.T) {
	k1 := rsaKey(t, 0, "k1")
	tests := []struct {
		name  string
		setup func(t *testing.T, ti *testIssuer)
		want  string
	}{
		{"discovery names another issuer", func(t *testing.T, ti *testIssuer) {
			ti.docIssuer = "https://evil.example.com/"
		}, "is not the configured"},
		{"JWKS has only unusable keys", func(t *testing.T, ti *testIssuer) {
			ti.setRawJWKS(t, jose.JSONWebKeySet{Keys: []jose.JSONWebKey{
				{Key: hsSecret, KeyID: "oct", Algorithm: "HS256"},
				{Key: k1.priv.Public(), KeyID: "enc", Algorithm: "RSA-OAEP", Use: "enc"},
				{Key: k1.priv.Public(), KeyID: "wrong-alg", Algorithm: "ES256"},
			}})
		}, "no usable signing key"},
		{"JWKS is not JSON", func(t *testing.T, ti *testIssuer) {
			ti.mu.Lock()
			ti.jwks = []byte("<html>")
			ti.mu.Unlock()
		}, "JWKS"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			ti := newTestIssuer(t, k1)
			tc.setup(t, ti)
			clock := newFakeClock()
			v := newValidator(t, ti, clock, nil)
			err := v.Refresh(context.Background())
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("Refresh = %v, want an error containing %q", err, tc.want)
			}
			_, err = v.Validate(context.Background(), k1.sign(t, claimsAt(ti.URL, clock.Now())))
			if !errors.Is(err, apiauth.ErrKeysUnavailable) {
				t.Fatalf("Validate = %v, want ErrKeysUnavailable", err)
			}
		})
	}
}

func TestJWKSURISkipsDiscovery(t *testing.T) {
	k1 := rsaKey(t, 0, "k1")
	ti := newTestIssuer(t, k1)
	clock := newFakeClock()
	v := newValidator(t, ti, clock, func(c *apiauth.Config) { c.JWKSURI = ti.URL + ".well-known/jwks.json" })
	if _, err := v.Validate(context.Background(), k1.sign(t, claimsAt(ti.URL, clock.Now()))); err != nil {
		t.Fatal(err)
	}
	if d, j := ti.hits(); d != 0 || j != 1 {
		t.Errorf("fetches = %d discovery, %d JWKS; want 0 and 1", d, j)
	}
}

func TestRefreshIgnoresTheRateLimit(t *testing.T) {
	k1 := rsaKey(t, 0, "k1")
	ti := newTestIssuer(t, k1)
	v := newValidator(t, ti, newFakeClock(), nil)
	for range 2 {
		if err := v.Refresh(context.Background()); err != nil {
			t.Fatal(err)
		}
	}
	if _, j := ti.hits(); j != 3 {
		t.Errorf("JWKS fetches = %d, want 3", j)
	}
}

// TestKeyRotationWithoutFailedRequests rotates the issuer's signing key while
// clients call the API continuously: the next key is published, tokens move
// to it, the old key is withdrawn. No request with a current token may fail,
// and the old key's tokens must be refused once it is gone.
func TestKeyRotationWithoutFailedRequests(t *testing.T) {
	k1, k2 := rsaKey(t, 0, "k1"), rsaKey(t, 1, "k2")
	ti := newTestIssuer(t, k1)
	clock := newFakeClock()
	v := newValidator(t, ti, clock, nil)
	api := httptest.NewServer(v.Middleware(apiauth.RequireScope("read:sample")(
		http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			if _, ok := apiauth.ClaimsFrom(r.Context()); !ok {
				w.WriteHeader(http.StatusInternalServerError)
			}
		}))))
	t.Cleanup(api.Close)
	client := api.Client()
	call := func(tok string) (int, error) {
		req, err := http.NewRequest(http.MethodGet, api.URL+"/samples", nil)
		if err != nil {
			return 0, err
		}
		req.Header.Set("Authorization", "Bearer "+tok)
		resp, err := client.Do(req)
		if err != nil {
			return 0, err
		}
		resp.Body.Close()
		return resp.StatusCode, nil
	}

	claims := claimsAt(ti.URL, clock.Now())
	tok1, tok2 := k1.sign(t, claims), k2.sign(t, claims)
	var current atomic.Pointer[string]
	current.Store(&tok1)

	var served, failed atomic.Int64
	// A request for tok1 still in flight when k1 is withdrawn may rightly
	// fail: on a loaded machine one can outlast a whole phase.
	var k1Withdrawn atomic.Bool
	var firstFailure atomic.Pointer[string]
	stop := make(chan struct{})
	var wg sync.WaitGroup
	for range 4 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for {
				select {
				case <-stop:
					return
				default:
				}
				tok := *current.Load()
				status, err := call(tok)
				if (err != nil || status != http.StatusOK) && !(tok == tok1 && k1Withdrawn.Load()) {
					failed.Add(1)
					msg := fmt.Sprintf("status %d, err %v", status, err)
					firstFailure.CompareAndSwap(nil, &msg)
				}
				served.Add(1)
			}
		}()
	}
	progress := func(what string) {
		t.Helper()
		target := served.Load() + 50
		waitFor(t, what, func() bool { return served.Load() >= target })
	}
	expectStatus := func(tok string, want int) {
		t.Helper()
		if got, err := call(tok); err != nil || got != want {
			t.Fatalf("status = %d (%v), want %d", got, err, want)
		}
	}

	progress("requests with the first key")

	// The issuer publishes k2 and, a little later, starts signing with it.
	// The first k2 token makes the validator refetch; the ones that arrive
	// meanwhile wait for that fetch instead of failing.
	ti.setKeys(t, k1, k2)
	clock.Advance(apiauth.DefaultMinRefreshInterval + time.Second)
	current.Store(&tok2)
	progress("requests with the second key")
	expectStatus(tok1, http.StatusOK) // both keys are published

	// k1 is withdrawn; once the cache is stale the validator drops it.
	k1Withdrawn.Store(true)
	ti.setKeys(t, k2)
	clock.Advance(apiauth.DefaultCacheTTL)
	progress("requests after the old key left")
	// A refresh still in flight serves known kids from the stale set, so
	// the old key goes once that refresh lands.
	waitFor(t, "the old key to be refused", func() bool {
		status, err := call(tok1)
		return err == nil && status == http.StatusUnauthorized
	})
	expectStatus(tok2, http.StatusOK)

	close(stop)
	wg.Wait()
	if n := failed.Load(); n != 0 {
		t.Fatalf("%d of %d requests failed during rotation; first: %s", n, served.Load(), *firstFailure.Load())
	}
	if d, j := ti.hits(); d != 1 || j != 3 {
		t.Errorf("fetches = %d discovery, %d JWKS; want 1 and 3", d, j)
	}
	t.Logf("%d requests served during rotation", served.Load())
}
