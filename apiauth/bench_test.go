package apiauth_test

import (
	"context"
	"crypto/rsa"
	"net/http"
	"net/http/httptest"
	"net/url"
	"testing"
	"time"

	jwtmiddleware "github.com/auth0/go-jwt-middleware/v2"
	"github.com/auth0/go-jwt-middleware/v2/jwks"
	"github.com/auth0/go-jwt-middleware/v2/validator"
	jose "github.com/go-jose/go-jose/v4"
	"github.com/go-jose/go-jose/v4/jwt"

	"github.com/gatehouse/gatehouse/apiauth"
)

// scopeClaims is what a go-jwt-middleware user adds to read the scope, as
// in Auth0's Go API quickstart.
type scopeClaims struct {
	Scope string `json:"scope"`
}

func (scopeClaims) Validate(context.Context) error { return nil }

// BenchmarkRS256 compares, on one RS256 access token as gatehouse mints it:
//   - bare: go-jose parse + verify + registered-claims checks + the scope
//     member, the least any API must do (the reference);
//   - apiauth Validate, and its middleware through an httptest recorder;
//   - auth0/go-jwt-middleware v2 with its caching JWKS provider, configured
//     as its documentation shows, both its validator and its middleware.
func BenchmarkRS256(b *testing.B) {
	key := rsaKey(b, 0, "bench-key")
	ti := newTestIssuer(b, key)
	claims := claimsAt(ti.URL, time.Now())
	claims["scope"] = "openid profile email read:sample write:sample"
	raw := key.sign(b, claims)
	ctx := context.Background()
	noop := http.HandlerFunc(func(http.ResponseWriter, *http.Request) {})
	bearer := func() *http.Request {
		req := httptest.NewRequest(http.MethodGet, "/samples", nil)
		req.Header.Set("Authorization", "Bearer "+raw)
		return req
	}

	b.Run("bare-go-jose", func(b *testing.B) {
		pub := key.priv.Public().(*rsa.PublicKey)
		algs := []jose.SignatureAlgorithm{jose.RS256}
		expected := jwt.Expected{Issuer: ti.URL, AnyAudience: jwt.Audience{testAudience}}
		b.ReportAllocs()
		for b.Loop() {
			tok, err := jwt.ParseSigned(raw, algs)
			if err != nil {
				b.Fatal(err)
			}
			var c struct {
				jwt.Claims
				Scope string `json:"scope"`
			}
			if err := tok.Claims(pub, &c); err != nil {
				b.Fatal(err)
			}
			expected.Time = time.Now()
			if err := c.ValidateWithLeeway(expected, apiauth.DefaultLeeway); err != nil {
				b.Fatal(err)
			}
		}
	})

	v, err := apiauth.New(ctx, apiauth.Config{Issuer: ti.URL, Audience: testAudience})
	if err != nil {
		b.Fatal(err)
	}
	b.Run("apiauth-Validate", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			if _, err := v.Validate(ctx, raw); err != nil {
				b.Fatal(err)
			}
		}
	})
	b.Run("apiauth-Middleware", func(b *testing.B) {
		h := v.Middleware(apiauth.RequireScope("read:sample")(noop))
		req := bearer()
		b.ReportAllocs()
		for b.Loop() {
			rec := httptest.NewRecorder()
			h.ServeHTTP(rec, req)
			if rec.Code != http.StatusOK {
				b.Fatalf("status %d", rec.Code)
			}
		}
	})

	issuerURL, err := url.Parse(ti.URL)
	if err != nil {
		b.Fatal(err)
	}
	provider := jwks.NewCachingProvider(issuerURL, 5*time.Minute)
	jv, err := validator.New(provider.KeyFunc, validator.RS256, ti.URL, []string{testAudience},
		validator.WithCustomClaims(func() validator.CustomClaims { return &scopeClaims{} }),
		validator.WithAllowedClockSkew(apiauth.DefaultLeeway))
	if err != nil {
		b.Fatal(err)
	}
	b.Run("go-jwt-middleware-Validate", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			if _, err := jv.ValidateToken(ctx, raw); err != nil {
				b.Fatal(err)
			}
		}
	})
	b.Run("go-jwt-middleware-Middleware", func(b *testing.B) {
		h := jwtmiddleware.New(jv.ValidateToken).CheckJWT(noop)
		req := bearer()
		b.ReportAllocs()
		for b.Loop() {
			rec := httptest.NewRecorder()
			h.ServeHTTP(rec, req)
			if rec.Code != http.StatusOK {
				b.Fatalf("status %d", rec.Code)
			}
		}
	})
}

// BenchmarkValidateParallel shows that the cached-key path takes no lock.
func BenchmarkValidateParallel(b *testing.B) {
	key := rsaKey(b, 0, "bench-key")
	ti := newTestIssuer(b, key)
	raw := key.sign(b, claimsAt(ti.URL, time.Now()))
	v, err := apiauth.New(context.Background(), apiauth.Config{Issuer: ti.URL, Audience: testAudience})
	if err != nil {
		b.Fatal(err)
	}
	b.ReportAllocs()
	b.RunParallel(func(pb *testing.PB) {
		for pb.Next() {
			if _, err := v.Validate(context.Background(), raw); err != nil {
				b.Error(err)
				return
			}
		}
	})
}
