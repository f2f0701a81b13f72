package apiauth_test

import (
	"context"
	"crypto/x509"
	"encoding/base64"
	"encoding/json"
	"encoding/pem"
	"errors"
	"slices"
	"strings"
	"testing"
	"time"

	jose "github.com/go-jose/go-jose/v4"

	"github.com/gatehouse/gatehouse/apiauth"
)

var hsSecret = []byte("0123456789abcdef0123456789abcdef-api-signing-secret")

// fixture is an issuer publishing one key of each supported shape, and two
// validators for it: one that refuses HS256, one with the shared secret.
type fixture struct {
	ti                    *testIssuer
	clock                 *fakeClock
	plain, withSecret     *apiauth.Validator
	rs, noAlg, ps, ec, ed *testKey
}

func newFixture(t *testing.T) *fixture {
	t.Helper()
	f := &fixture{
		clock: newFakeClock(),
		rs:    rsaKey(t, 0, "k-rs"),
		noAlg: rsaKey(t, 1, "k-noalg"),
		ps:    rsaKey(t, 2, "k-ps"),
		ec:    ecKey(t, "k-ec"),
		ed:    edKey(t, "k-ed"),
	}
	f.noAlg.jwkAlg = ""
	f.ps.alg, f.ps.jwkAlg, f.ps.cert = jose.PS256, "PS256", nil
	f.ti = newTestIssuer(t)
	set := jose.JSONWebKeySet{}
	for _, k := range []*testKey{f.rs, f.noAlg, f.ps, f.ec, f.ed} {
		set.Keys = append(set.Keys, k.jwk())
	}
	// A symmetric key in a JWKS must never make HS256 acceptable.
	set.Keys = append(set.Keys, jose.JSONWebKey{Key: hsSecret, KeyID: "k-oct", Algorithm: "HS256", Use: "sig"})
	f.ti.setRawJWKS(t, set)
	f.plain = newValidator(t, f.ti, f.clock, nil)
	f.withSecret = newValidator(t, f.ti, f.clock, func(c *apiauth.Config) { c.HS256Secret = hsSecret })
	return f
}

func (f *fixture) claims() map[string]any { return claimsAt(f.ti.URL, f.clock.Now()) }

func TestValidateAcceptsTokensSignedWithPublishedKeys(t *testing.T) {
	f := newFixture(t)
	now := f.clock.Now()
	tests := []struct {
		name   string
		token  func(t *testing.T) string
		secret bool
	}{
		{"RS256 with x5c", func(t *testing.T) string { return f.rs.sign(t, f.claims()) }, false},
		{"RSA key without alg defaults to RS256", func(t *testing.T) string { return f.noAlg.sign(t, f.claims()) }, false},
		{"PS256 key", func(t *testing.T) string { return f.ps.sign(t, f.claims()) }, false},
		{"ES256 key", func(t *testing.T) string { return f.ec.sign(t, f.claims()) }, false},
		{"EdDSA key", func(t *testing.T) string { return f.ed.sign(t, f.claims()) }, false},
		{"HS256 with the configured secret", func(t *testing.T) string {
			return signWith(t, jose.HS256, hsSecret, "", f.claims())
		}, true},
		{"RS256 accepted by a validator that also has a secret", func(t *testing.T) string { return f.rs.sign(t, f.claims()) }, true},
		{"aud as a plain string", func(t *testing.T) string {
			return f.rs.sign(t, with(f.claims(), "aud", testAudience))
		}, false},
		{"expired but within leeway", func(t *testing.T) string {
			return f.rs.sign(t, with(f.claims(), "exp", now.Add(-29*time.Second).Unix()))
		}, false},
		{"nbf ahead but within leeway", func(t *testing.T) string {
			return f.rs.sign(t, with(f.claims(), "nbf", now.Add(29*time.Second).Unix()))
		}, false},
		{"fractional exp", func(t *testing.T) string {
			return f.rs.sign(t, with(f.claims(), "exp", float64(now.Unix())+3600.5))
		}, false},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			v := f.plain
			if tc.secret {
				v = f.withSecret
			}
			c, err := v.Validate(context.Background(), tc.token(t))
			if err != nil {
				t.Fatalf("Validate: %v", err)
			}
			if c.Subject != "auth0|64f0c2aa" || c.Issuer != f.ti.URL || !slices.Contains(c.Audience, testAudience) {
				t.Errorf("claims = %+v", c)
			}
		})
	}
}

func TestValidateReturnsTypedClaims(t *testing.T) {
	f := newFixture(t)
	now := f.clock.Now()
	tok := f.rs.sign(t, with(f.claims(),
		"nbf", now.Add(-time.Minute).Unix(),
		"permissions", []string{"read:sample", "write:sample"},
		"gty", []string{"refresh_token", "password"},
		"https://example.com/roles", []string{"admin"},
	))
	c, err := f.plain.Validate(context.Background(), tok)
	if err != nil {
		t.Fatal(err)
	}
	want := apiauth.Claims{
		Issuer:          f.ti.URL,
		Subject:         "auth0|64f0c2aa",
		Audience:        []string{testAudience, f.ti.URL + "userinfo"},
		ExpiresAt:       now.Add(24 * time.Hour),
		IssuedAt:        now,
		NotBefore:       now.Add(-time.Minute),
		AuthorizedParty: "client-abc",
		Scope:           []string{"openid", "profile", "read:sample"},
		Permissions:     []string{"read:sample", "write:sample"},
		GrantType:       "refresh_token",
	}
	switch {
	case c.Issuer != want.Issuer, c.Subject != want.Subject, !slices.Equal(c.Audience, want.Audience),
		!c.ExpiresAt.Equal(want.ExpiresAt), !c.IssuedAt.Equal(want.IssuedAt), !c.NotBefore.Equal(want.NotBefore),
		c.AuthorizedParty != want.AuthorizedParty, !slices.Equal(c.Scope, want.Scope),
		!slices.Equal(c.Permissions, want.Permissions), c.GrantType != want.GrantType:
		t.Errorf("claims\n got %+v\nwant %+v", *c, want)
	}
	if !c.HasScope("read:sample") || c.HasScope("read") || !c.HasPermission("write:sample") || c.HasPermission("delete:sample") {
		t.Error("HasScope/HasPermission disagree with the claims")
	}
	var custom struct {
		Roles []string `json:"https://example.com/roles"`
	}
	if err := c.Decode(&custom); err != nil || !slices.Equal(custom.Roles, []string{"admin"}) {
		t.Errorf("Decode = %v, %v", custom.Roles, err)
	}
}

func TestValidateRefuses(t *testing.T) {
	f := newFixture(t)
	now := f.clock.Now()
	pool, err := rsaPool()
	if err != nil {
		t.Fatal(err)
	}
	stranger := pool[3] // a key the issuer never published
	pubDER, err := x509.MarshalPKIXPublicKey(f.rs.priv.Public())
	if err != nil {
		t.Fatal(err)
	}
	pubPEM := pem.EncodeToMemory(&pem.Block{Type: "PUBLIC KEY", Bytes: pubDER})
	b64 := base64.RawURLEncoding.EncodeToString

	tests := []struct {
		name   string
		token  func(t *testing.T) string
		secret bool // validate with the validator that accepts HS256
		want   error
	}{
		{"garbage", func(*testing.T) string { return "not-a-jwt" }, false, apiauth.ErrMalformedToken},
		{"two segments", func(*testing.T) string { return "a.b" }, false, apiauth.ErrMalformedToken},
		{"oversized", func(*testing.T) string { return strings.Repeat("a", 70<<10) + ".b.c" }, false, apiauth.ErrMalformedToken},
		{"alg none", func(*testing.T) string {
			return b64([]byte(`{"alg":"none","typ":"JWT"}`)) + "." + b64(mustJSON(t, f.claims())) + "."
		}, false, apiauth.ErrUnsupportedAlgorithm},
		{"alg none with a secret configured", func(*testing.T) string {
			return b64([]byte(`{"alg":"none","typ":"JWT","kid":"k-rs"}`)) + "." + b64(mustJSON(t, f.claims())) + "."
		}, true, apiauth.ErrUnsupportedAlgorithm},
		{"signed by an unpublished key under a published kid", func(t *testing.T) string {
			return signWith(t, jose.RS256, stranger, "k-rs", f.claims())
		}, false, apiauth.ErrInvalidSignature},
		{"payload swapped after signing", func(t *testing.T) string {
			parts := strings.Split(f.rs.sign(t, f.claims()), ".")
			parts[1] = b64(mustJSON(t, with(f.claims(), "scope", "admin")))
			return strings.Join(parts, ".")
		}, false, apiauth.ErrInvalidSignature},
		{"RS256 re-signed as HS256 with the RSA public key, HS256 not configured", func(t *testing.T) string {
			return signWith(t, jose.HS256, pubPEM, "k-rs", f.claims())
		}, false, apiauth.ErrUnsupportedAlgorithm},
		{"RS256 re-signed as HS256 with the RSA public key, HS256 configured", func(t *testing.T) string {
			return signWith(t, jose.HS256, pubPEM, "k-rs", f.claims())
		}, true, apiauth.ErrInvalidSignature},
		{"HS256 signed with a JWKS oct key, HS256 not configured", func(t *testing.T) string {
			return signWith(t, jose.HS256, hsSecret, "k-oct", f.claims())
		}, false, apiauth.ErrUnsupportedAlgorithm},
		{"HS256 with the wrong secret", func(t *testing.T) string {
			return signWith(t, jose.HS256, []byte("another-secret-of-at-least-32-bytes!!"), "", f.claims())
		}, true, apiauth.ErrInvalidSignature},
		{"RS256 under a key declared PS256", func(t *testing.T) string {
			return signWith(t, jose.RS256, f.ps.priv, "k-ps", f.claims())
		}, false, apiauth.ErrUnsupportedAlgorithm},
		{"PS256 under an RSA key without alg", func(t *testing.T) string {
			return signWith(t, jose.PS256, f.noAlg.priv, "k-noalg", f.claims())
		}, false, apiauth.ErrUnsupportedAlgorithm},
		{"unknown kid", func(t *testing.T) string {
			return signWith(t, jose.RS256, f.rs.priv, "k-unknown", f.claims())
		}, false, apiauth.ErrUnknownKey},
		{"no kid", func(t *testing.T) string {
			return signWith(t, jose.RS256, f.rs.priv, "", f.claims())
		}, false, apiauth.ErrUnknownKey},
		{"expired beyond leeway", func(t *testing.T) string {
			return f.rs.sign(t, with(f.claims(), "exp", now.Add(-31*time.Second).Unix()))
		}, false, apiauth.ErrTokenExpired},
		{"no exp", func(t *testing.T) string {
			return f.rs.sign(t, with(f.claims(), "exp", nil))
		}, false, apiauth.ErrMissingExpiry},
		{"not yet valid", func(t *testing.T) string {
			return f.rs.sign(t, with(f.claims(), "nbf", now.Add(31*time.Second).Unix()))
		}, false, apiauth.ErrTokenNotYetValid},
		{"issued in the future", func(t *testing.T) string {
			return f.rs.sign(t, with(f.claims(), "iat", now.Add(31*time.Second).Unix()))
		}, false, apiauth.ErrTokenIssuedInFuture},
		{"wrong issuer", func(t *testing.T) string {
			return f.rs.sign(t, with(f.claims(), "iss", "https://evil.example.com/"))
		}, false, apiauth.ErrInvalidIssuer},
		{"issuer without the trailing slash", func(t *testing.T) string {
			return f.rs.sign(t, with(f.claims(), "iss", strings.TrimSuffix(f.ti.URL, "/")))
		}, false, apiauth.ErrInvalidIssuer},
		{"issuer under a differently cased member name", func(t *testing.T) string {
			return f.rs.sign(t, with(f.claims(), "iss", nil, "ISS", f.ti.URL))
		}, false, apiauth.ErrInvalidIssuer},
		{"wrong audience", func(t *testing.T) string {
			return f.rs.sign(t, with(f.claims(), "aud", "https://other.example.com"))
		}, false, apiauth.ErrInvalidAudience},
		{"audience array without ours", func(t *testing.T) string {
			return f.rs.sign(t, with(f.claims(), "aud", []string{"https://other.example.com", f.ti.URL + "userinfo"}))
		}, false, apiauth.ErrInvalidAudience},
		{"no audience", func(t *testing.T) string {
			return f.rs.sign(t, with(f.claims(), "aud", nil))
		}, false, apiauth.ErrInvalidAudience},
		{"payload is not JSON", func(t *testing.T) string {
			return f.rs.sign(t, []byte("hello"))
		}, false, apiauth.ErrMalformedToken},
		{"duplicate claim", func(t *testing.T) string {
			body := strings.Replace(string(mustJSON(t, f.claims())), `"scope":`, `"scope":"admin","scope":`, 1)
			return f.rs.sign(t, []byte(body))
		}, false, apiauth.ErrMalformedToken},
		{"exp of the wrong type", func(t *testing.T) string {
			return f.rs.sign(t, with(f.claims(), "exp", "tomorrow"))
		}, false, apiauth.ErrMalformedToken},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			v := f.plain
			if tc.secret {
				v = f.withSecret
			}
			c, err := v.Validate(context.Background(), tc.token(t))
			if !errors.Is(err, tc.want) {
				t.Fatalf("Validate error = %v, want %v (claims %+v)", err, tc.want, c)
			}
			if !errors.Is(err, apiauth.ErrInvalidToken) {
				t.Errorf("error %v does not match ErrInvalidToken", err)
			}
			if c != nil {
				t.Errorf("claims returned with an error: %+v", c)
			}
		})
	}
}

func TestValidateIgnoresDifferentlyCasedScope(t *testing.T) {
	f := newFixture(t)
	tok := f.rs.sign(t, with(f.claims(), "scope", "read:sample", "Scope", "admin"))
	c, err := f.plain.Validate(context.Background(), tok)
	if err != nil {
		t.Fatal(err)
	}
	if c.HasScope("admin") || !slices.Equal(c.Scope, []string{"read:sample"}) {
		t.Errorf("Scope = %q: a member named Scope must not count as scope", c.Scope)
	}
}

func TestNewRefusesInvalidConfig(t *testing.T) {
	tests := []struct {
		name string
		cfg  apiauth.Config
	}{
		{"no issuer", apiauth.Config{Audience: testAudience}},
		{"relative issuer", apiauth.Config{Issuer: "auth.example.com/", Audience: testAudience}},
		{"issuer with another scheme", apiauth.Config{Issuer: "ftp://auth.example.com/", Audience: testAudience}},
		{"no audience", apiauth.Config{Issuer: "https://auth.example.com/"}},
		{"bad JWKS URI", apiauth.Config{Issuer: "https://auth.example.com/", Audience: testAudience, JWKSURI: "/jwks.json"}},
		{"short HS256 secret", apiauth.Config{Issuer: "https://auth.example.com/", Audience: testAudience, HS256Secret: []byte("short")}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			v, err := apiauth.New(context.Background(), tc.cfg)
			if err == nil || v != nil {
				t.Fatalf("New = %v, %v; want an error", v, err)
			}
		})
	}
}

func mustJSON(t testing.TB, v any) []byte {
	t.Helper()
	b, err := json.Marshal(v)
	if err != nil {
		t.Fatal(err)
	}
	return b
}
