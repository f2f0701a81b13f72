package apiauth

import (
	"context"
	"crypto/ecdsa"
	"crypto/ed25519"
	"crypto/elliptic"
	"crypto/rsa"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	jose "github.com/go-jose/go-jose/v4"
)

// maxDocumentSize bounds what is read from the discovery and JWKS endpoints.
const maxDocumentSize = 1 << 20

// failureBackoff is the longest wait before trying again after a failed
// fetch; MinRefreshInterval caps it when that is shorter.
const failureBackoff = 5 * time.Second

// errRateLimited says a fetch was due but MinRefreshInterval forbids it yet.
var errRateLimited = errors.New("apiauth: JWKS refresh rate-limited")

// verificationKey is a JWKS public key pinned to the one algorithm it may
// verify.
type verificationKey struct {
	alg jose.SignatureAlgorithm
	key any // *rsa.PublicKey, *ecdsa.PublicKey or ed25519.PublicKey
}

// keySet is an immutable snapshot of the issuer's JWKS.
type keySet struct {
	byKID     map[string]verificationKey
	refreshAt time.Time // after this the set is stale and a request fetches again
}

func (s *keySet) get(kid string) (verificationKey, bool) {
	if s == nil {
		return verificationKey{}, false
	}
	k, ok := s.byKID[kid]
	return k, ok
}

// flight is one fetch in progress; everyone who needs it waits on done.
type flight struct {
	done chan struct{}
	err  error
}

// keyCache finds the issuer's JWKS through discovery, caches the parsed keys
// and refreshes them: when the cache is stale, when a token names an unknown
// kid (at most once per MinRefreshInterval), and never more than one fetch at
// a time however many requests need it.
type keyCache struct {
	issuer      string
	client      *http.Client
	timeout     time.Duration
	ttl         time.Duration
	minInterval time.Duration

	set atomic.Pointer[keySet] // nil until the first successful fetch

	mu          sync.Mutex
	inFlight    *flight
	nextAttempt time.Time // token-driven fetches wait until then
	jwksURI     string    // from Config or discovery; written only by the fetching goroutine
}

func newKeyCache(cfg Config) *keyCache {
	return &keyCache{
		issuer:      cfg.Issuer,
		client:      cfg.HTTPClient,
		timeout:     cfg.FetchTimeout,
		ttl:         cfg.CacheTTL,
		minInterval: cfg.MinRefreshInterval,
		jwksURI:     cfg.JWKSURI,
	}
}

// key returns the key for kid, fetching the JWKS when the cache is empty or
// stale, or when kid is unknown and a fetch is allowed.
func (c *keyCache) key(ctx context.Context, kid string, now time.Time) (verificationKey, error) {
	ks := c.set.Load()
	if ks != nil && now.Before(ks.refreshAt) {
		if k, ok := ks.byKID[kid]; ok {
			return k, nil // the fast path: no lock, no allocation
		}
	} else {
		// Stale or empty. While someone else refreshes, a known kid is served
		// from the stale set rather than waiting.
		if k, ok := ks.get(kid); ok && c.fetching() {
			return k, nil
		}
		fresh, err := c.refresh(ctx, now, false)
		if fresh != nil {
			ks = fresh
		}
		if ks == nil {
			return verificationKey{}, fmt.Errorf("%w: %w", ErrKeysUnavailable, err)
		}
		// A failed refresh leaves the last good keys in use.
		if k, ok := ks.get(kid); ok {
			return k, nil
		}
	}
	// Unknown kid: the issuer may have started signing with a new key.
	fresh, err := c.refresh(ctx, now, false)
	if k, ok := fresh.get(kid); ok {
		return k, nil
	}
	if err != nil && !errors.Is(err, errRateLimited) {
		return verificationKey{}, fmt.Errorf("%w (kid %q; refresh: %w)", ErrUnknownKey, truncate(kid), err)
	}
	return verificationKey{}, fmt.Errorf("%w (kid %q)", ErrUnknownKey, truncate(kid))
}

// truncate keeps a client-chosen value short enough for an error message
// that may end up in a log.
func truncate(s string) string {
	const n = 64
	if len(s) <= n {
		return s
	}
	return s[:n] + "..."
}

func (c *keyCache) fetching() bool {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.inFlight != nil
}

// refresh joins the fetch in progress, or starts one if force is set or
// MinRefreshInterval has passed since the last, and waits for it (or for
// ctx). It returns the newest key set, which may be nil or stale, and the
// fetch's error.
func (c *keyCache) refresh(ctx context.Context, now time.Time, force bool) (*keySet, error) {
	c.mu.Lock()
	f := c.inFlight
	if f == nil {
		if !force && now.Before(c.nextAttempt) {
			c.mu.Unlock()
			return c.set.Load(), errRateLimited
		}
		f = &flight{done: make(chan struct{})}
		c.inFlight = f
		c.nextAttempt = now.Add(c.minInterval)
		// The fetch runs on its own so that a caller whose request is
		// cancelled stops waiting without failing everyone else's.
		go c.run(context.WithoutCancel(ctx), f, now)
	}
	c.mu.Unlock()

	select {
	case <-f.done:
		return c.set.Load(), f.err
	case <-ctx.Done():
		return c.set.Load(), ctx.Err()
	}
}

func (c *keyCache) run(ctx context.Context, f *flight, started time.Time) {
	ctx, cancel := context.WithTimeout(ctx, c.timeout)
	defer cancel()
	set, err := c.fetch(ctx, started)

	c.mu.Lock()
	if err != nil {
		retry := started.Add(min(c.minInterval, failureBackoff))
		c.nextAttempt = retry
		if old := c.set.Load(); old != nil && !started.Before(old.refreshAt) {
			// Keep the last good (stale) keys, and look again after the backoff.
			stale := *old
			stale.refreshAt = retry
			c.set.Store(&stale)
		}
	} else {
		c.set.Store(set)
	}
	f.err = err
	c.inFlight = nil
	c.mu.Unlock()
	close(f.done)
}

// fetch reads the JWKS (discovering its location first if needed).
func (c *keyCache) fetch(ctx context.Context, now time.Time) (*keySet, error) {
	if c.jwksURI == "" {
		uri, err := c.discover(ctx)
		if err != nil {
			return nil, err
		}
		c.jwksURI = uri
	}
	var doc struct {
		Keys []json.RawMessage `json:"keys"`
	}
	hdr, err := c.getJSON(ctx, c.jwksURI, &doc)
	if err != nil {
		return nil, fmt.Errorf("apiauth: JWKS: %w", err)
	}
	keys := make(map[string]verificationKey, len(doc.Keys))
	for _, raw := range doc.Keys {
		kid, k, ok := parseJWK(raw)
		if !ok {
			continue // RFC 7517 §5: ignore keys we cannot use
		}
		if _, dup := keys[kid]; !dup {
			keys[kid] = k
		}
	}
	if len(keys) == 0 {
		return nil, fmt.Errorf("apiauth: JWKS at %s has no usable signing key", c.jwksURI)
	}
	ttl := c.ttl
	if maxAge, ok := cacheMaxAge(hdr); ok && maxAge < ttl {
		ttl = max(maxAge, c.minInterval)
	}
	return &keySet{byKID: keys, refreshAt: now.Add(ttl)}, nil
}

// discover reads the issuer's OpenID configuration and returns its jwks_uri.
func (c *keyCache) discover(ctx context.Context) (string, error) {
	base := c.issuer
	if !strings.HasSuffix(base, "/") {
		base += "/"
	}
	var doc struct {
		Issuer  string `json:"issuer"`
		JWKSURI string `json:"jwks_uri"`
	}
	if _, err := c.getJSON(ctx, base+".well-known/openid-configuration", &doc); err != nil {
		return "", fmt.Errorf("apiauth: discovery: %w", err)
	}
	if doc.Issuer != c.issuer {
		return "", fmt.Errorf("apiauth: discovery: document issuer %q is not the configured %q", doc.Issuer, c.issuer)
	}
	u, err := url.Parse(doc.JWKSURI)
	if err != nil || u.Host == "" || (u.Scheme != "https" && u.Scheme != "http") {
		return "", fmt.Errorf("apiauth: discovery: jwks_uri %q is not an absolute http(s) URL", doc.JWKSURI)
	}
	// Keys fetched over plain http from an https issuer could be anyone's.
	if u.Scheme == "http" && strings.HasPrefix(c.issuer, "https:") {
		return "", fmt.Errorf("apiauth: discovery: jwks_uri %q is not https", doc.JWKSURI)
	}
	return doc.JWKSURI, nil
}

func (c *keyCache) getJSON(ctx context.Context, uri string, v any) (http.Header, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, uri, nil)
	if err != nil {
		return nil, err
	}
	req.Header.Set("Accept", "application/json")
	resp, err := c.client.Do(req)
	if err != nil {
		return nil, err
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		// Drain a little so the connection can be reused.
		_, _ = io.Copy(io.Discard, io.LimitReader(resp.Body, 4096))
		return nil, fmt.Errorf("GET %s: %s", uri, resp.Status)
	}
	body, err := io.ReadAll(io.LimitReader(resp.Body, maxDocumentSize+1))
	if err != nil {
		return nil, fmt.Errorf("GET %s: %w", uri, err)
	}
	if len(body) > maxDocumentSize {
		return nil, fmt.Errorf("GET %s: response larger than %d bytes", uri, maxDocumentSize)
	}
	if err := json.Unmarshal(body, v); err != nil {
		return nil, fmt.Errorf("GET %s: %w", uri, err)
	}
	return resp.Header, nil
}

// parseJWK turns one JWKS entry into a verification key pinned to an
// algorithm: the declared alg, or the key type's default when alg is absent.
// Symmetric keys, encryption keys, private keys and algorithms that do not
// fit the key are refused: a JWKS never makes HS256 acceptable.
func parseJWK(raw []byte) (string, verificationKey, bool) {
	var jwk jose.JSONWebKey
	if err := jwk.UnmarshalJSON(raw); err != nil {
		return "", verificationKey{}, false
	}
	if (jwk.Use != "" && jwk.Use != "sig") || !jwk.IsPublic() || !jwk.Valid() {
		return "", verificationKey{}, false
	}
	alg := jose.SignatureAlgorithm(jwk.Algorithm)
	switch k := jwk.Key.(type) {
	case *rsa.PublicKey:
		switch alg {
		case "":
			alg = jose.RS256
		case jose.RS256, jose.RS384, jose.RS512, jose.PS256, jose.PS384, jose.PS512:
		default:
			return "", verificationKey{}, false
		}
	case *ecdsa.PublicKey:
		var want jose.SignatureAlgorithm
		switch k.Curve {
		case elliptic.P256():
			want = jose.ES256
		case elliptic.P384():
			want = jose.ES384
		case elliptic.P521():
			want = jose.ES512
		}
		if want == "" || (alg != "" && alg != want) {
			return "", verificationKey{}, false
		}
		alg = want
	case ed25519.PublicKey:
		if alg != "" && alg != jose.EdDSA {
			return "", verificationKey{}, false
		}
		alg = jose.EdDSA
	default:
		return "", verificationKey{}, false
	}
	return jwk.KeyID, verificationKey{alg: alg, key: jwk.Key}, true
}

// cacheMaxAge reads max-age from Cache-Control; no-store and no-cache count
// as zero (the caller floors it at MinRefreshInterval).
func cacheMaxAge(h http.Header) (time.Duration, bool) {
	for _, line := range h.Values("Cache-Control") {
		for _, d := range strings.Split(line, ",") {
			name, val, _ := strings.Cut(strings.TrimSpace(d), "=")
			switch strings.ToLower(name) {
			case "no-store", "no-cache":
				return 0, true
			case "max-age":
				n, err := strconv.ParseInt(strings.Trim(val, `"`), 10, 64)
				if err != nil || n < 0 {
					continue
				}
				return time.Duration(min(n, int64(365*24*time.Hour/time.Second))) * time.Second, true
			}
		}
	}
	return 0, false
}
