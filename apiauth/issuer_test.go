package apiauth_test

import (
	"context"
	"crypto"
	"crypto/ecdsa"
	"crypto/ed25519"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/rsa"
	"crypto/sha1"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/json"
	"math/big"
	"net/http"
	"net/http/httptest"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	jose "github.com/go-jose/go-jose/v4"

	"github.com/gatehouse/gatehouse/apiauth"
)

const testAudience = "https://api.example.com"

// testKey is a signing key of the test issuer and how its JWKS entry looks.
type testKey struct {
	kid    string
	alg    jose.SignatureAlgorithm // what tokens signed with it say
	jwkAlg string                  // the JWKS entry's alg ("" to omit it)
	priv   crypto.Signer
	cert   *x509.Certificate // published as x5c/x5t when set
}

// rsaPool hands out RSA-2048 keys; generating them is the slow part of the
// suite, so each test takes what it needs from a few made once.
var rsaPool = sync.OnceValues(func() ([]*rsa.PrivateKey, error) {
	keys := make([]*rsa.PrivateKey, 5)
	for i := range keys {
		k, err := rsa.GenerateKey(rand.Reader, 2048)
		if err != nil {
			return nil, err
		}
		keys[i] = k
	}
	return keys, nil
})

func rsaKey(t testing.TB, i int, kid string) *testKey {
	t.Helper()
	pool, err := rsaPool()
	if err != nil {
		t.Fatal(err)
	}
	priv := pool[i]
	tmpl := &x509.Certificate{
		SerialNumber: big.NewInt(int64(i + 1)),
		Subject:      pkix.Name{CommonName: "issuer.test"},
		NotBefore:    time.Now().Add(-time.Hour),
		NotAfter:     time.Now().Add(24 * time.Hour),
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, priv.Public(), priv)
	if err != nil {
		t.Fatal(err)
	}
	cert, err := x509.ParseCertificate(der)
	if err != nil {
		t.Fatal(err)
	}
	return &testKey{kid: kid, alg: jose.RS256, jwkAlg: "RS256", priv: priv, cert: cert}
}

func ecKey(t testing.TB, kid string) *testKey {
	t.Helper()
	priv, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	return &testKey{kid: kid, alg: jose.ES256, jwkAlg: "ES256", priv: priv}
}

func edKey(t testing.TB, kid string) *testKey {
	t.Helper()
	_, priv, err := ed25519.GenerateKey(rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	return &testKey{kid: kid, alg: jose.EdDSA, jwkAlg: "EdDSA", priv: priv}
}

func (k *testKey) jwk() jose.JSONWebKey {
	j := jose.JSONWebKey{Key: k.priv.Public(), KeyID: k.kid, Algorithm: k.jwkAlg, Use: "sig"}
	if k.cert != nil {
		j.Certificates = []*x509.Certificate{k.cert}
		sum := sha1.Sum(k.cert.Raw)
		j.CertificateThumbprintSHA1 = sum[:]
	}
	return j
}

// sign mints a token with k, its alg and kid.
func (k *testKey) sign(t testing.TB, claims any) string {
	t.Helper()
	return signWith(t, k.alg, k.priv, k.kid, claims)
}

// signWith signs claims (a map, or raw JSON bytes) as a compact JWS.
func signWith(t testing.TB, alg jose.SignatureAlgorithm, key any, kid string, claims any) string {
	t.Helper()
	opts := (&jose.SignerOptions{}).WithType("JWT")
	if kid != "" {
		opts = opts.WithHeader("kid", kid)
	}
	signer, err := jose.NewSigner(jose.SigningKey{Algorithm: alg, Key: key}, opts)
	if err != nil {
		t.Fatal(err)
	}
	payload, ok := claims.([]byte)
	if !ok {
		if payload, err = json.Marshal(claims); err != nil {
			t.Fatal(err)
		}
	}
	jws, err := signer.Sign(payload)
	if err != nil {
		t.Fatal(err)
	}
	s, err := jws.CompactSerialize()
	if err != nil {
		t.Fatal(err)
	}
	return s
}

// testIssuer serves discovery and a JWKS over real HTTP on loopback and
// counts the fetches.
type testIssuer struct {
	srv *httptest.Server
	URL string // the issuer identifier, with the trailing slash

	mu           sync.Mutex
	jwks         []byte
	cacheControl string
	docIssuer    string        // discovery's issuer; default URL
	down         bool          // answer 503 to everything
	gate         chan struct{} // when set, discovery waits for it to close

	discoveryHits atomic.Int64
	jwksHits      atomic.Int64
}

func newTestIssuer(t testing.TB, keys ...*testKey) *testIssuer {
	t.Helper()
	ti := &testIssuer{}
	mux := http.NewServeMux()
	mux.HandleFunc("GET /.well-known/openid-configuration", func(w http.ResponseWriter, r *http.Request) {
		ti.discoveryHits.Add(1)
		ti.mu.Lock()
		down, gate, iss := ti.down, ti.gate, ti.docIssuer
		ti.mu.Unlock()
		if gate != nil {
			<-gate
		}
		if down {
			http.Error(w, "down", http.StatusServiceUnavailable)
			return
		}
		if iss == "" {
			iss = ti.URL
		}
		w.Header().Set("Content-Type", "application/json")
		_ = json.NewEncoder(w).Encode(map[string]any{
			"issuer":   iss,
			"jwks_uri": ti.URL + ".well-known/jwks.json",
		})
	})
	mux.HandleFunc("GET /.well-known/jwks.json", func(w http.ResponseWriter, r *http.Request) {
		ti.jwksHits.Add(1)
		ti.mu.Lock()
		down, body, cc := ti.down, ti.jwks, ti.cacheControl
		ti.mu.Unlock()
		if down {
			http.Error(w, "down", http.StatusServiceUnavailable)
			return
		}
		if cc != "" {
			w.Header().Set("Cache-Control", cc)
		}
		w.Header().Set("Content-Type", "application/json")
		_, _ = w.Write(body)
	})
	ti.srv = httptest.NewServer(mux)
	t.Cleanup(ti.srv.Close)
	ti.URL = ti.srv.URL + "/"
	ti.setKeys(t, keys...)
	return ti
}

// setKeys replaces the published JWKS.
func (ti *testIssuer) setKeys(t testing.TB, keys ...*testKey) {
	t.Helper()
	set := jose.JSONWebKeySet{Keys: []jose.JSONWebKey{}}
	for _, k := range keys {
		set.Keys = append(set.Keys, k.jwk())
	}
	ti.setRawJWKS(t, set)
}

func (ti *testIssuer) setRawJWKS(t testing.TB, v any) {
	t.Helper()
	body, err := json.Marshal(v)
	if err != nil {
		t.Fatal(err)
	}
	ti.mu.Lock()
	ti.jwks = body
	ti.mu.Unlock()
}

func (ti *testIssuer) setDown(down bool) {
	ti.mu.Lock()
	ti.down = down
	ti.mu.Unlock()
}

func (ti *testIssuer) hits() (discovery, jwks int64) {
	return ti.discoveryHits.Load(), ti.jwksHits.Load()
}

// fakeClock is Config.Now for tests.
type fakeClock struct {
	mu sync.Mutex
	t  time.Time
}

func newFakeClock() *fakeClock {
	return &fakeClock{t: time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC)}
}

func (c *fakeClock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.t
}

func (c *fakeClock) Advance(d time.Duration) {
	c.mu.Lock()
	c.t = c.t.Add(d)
	c.mu.Unlock()
}

// claimsAt are the claims gatehouse puts in a password-grant access token
// issued at now.
func claimsAt(iss string, now time.Time) map[string]any {
	return map[string]any{
		"iss":   iss,
		"sub":   "auth0|64f0c2aa",
		"aud":   []string{testAudience, iss + "userinfo"},
		"iat":   now.Unix(),
		"exp":   now.Add(24 * time.Hour).Unix(),
		"azp":   "client-abc",
		"scope": "openid profile read:sample",
		"gty":   "password",
	}
}

// with returns a copy of m with the given members set (nil deletes).
func with(m map[string]any, kv ...any) map[string]any {
	out := make(map[string]any, len(m))
	for k, v := range m {
		out[k] = v
	}
	for i := 0; i+1 < len(kv); i += 2 {
		if kv[i+1] == nil {
			delete(out, kv[i].(string))
			continue
		}
		out[kv[i].(string)] = kv[i+1]
	}
	return out
}

func newValidator(t testing.TB, ti *testIssuer, clock *fakeClock, mod func(*apiauth.Config)) *apiauth.Validator {
	t.Helper()
	cfg := apiauth.Config{Issuer: ti.URL, Audience: testAudience, Now: clock.Now}
	if mod != nil {
		mod(&cfg)
	}
	v, err := apiauth.New(context.Background(), cfg)
	if err != nil {
		t.Fatal(err)
	}
	return v
}
