package apiauth

import (
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"errors"
	"net/http"
	"slices"
	"strings"
	"testing"
	"time"

	jose "github.com/go-jose/go-jose/v4"
	"github.com/go-jose/go-jose/v4/jwt"
)

// refuseTransport fails every request, so a fuzzed validator never touches
// the network.
type refuseTransport struct{}

func (refuseTransport) RoundTrip(*http.Request) (*http.Response, error) {
	return nil, errors.New("no network in fuzzing")
}

func FuzzValidate(f *testing.F) {
	const iss, aud = "https://auth.example.com/", "https://api.example.com"
	now := time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC)
	priv, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		f.Fatal(err)
	}
	v, err := New(context.Background(), Config{
		Issuer:      iss,
		Audience:    aud,
		HTTPClient:  &http.Client{Transport: refuseTransport{}},
		HS256Secret: []byte(strings.Repeat("s", 32)),
		Now:         func() time.Time { return now },
	})
	if err != nil {
		f.Fatal(err)
	}
	v.keys.set.Store(&keySet{
		byKID:     map[string]verificationKey{"k1": {alg: jose.ES256, key: priv.Public()}},
		refreshAt: now.Add(time.Hour),
	})

	signer, err := jose.NewSigner(jose.SigningKey{Algorithm: jose.ES256, Key: jose.JSONWebKey{Key: priv, KeyID: "k1"}}, nil)
	if err != nil {
		f.Fatal(err)
	}
	good, err := jwt.Signed(signer).Claims(map[string]any{
		"iss": iss, "aud": []string{aud}, "sub": "u", "exp": now.Add(time.Hour).Unix(), "scope": "a b",
	}).Serialize()
	if err != nil {
		f.Fatal(err)
	}
	f.Add(good)
	f.Add(good[:len(good)-2])
	f.Add("eyJhbGciOiJub25lIn0.e30.")
	f.Add("eyJhbGciOiJIUzI1NiJ9.e30.AAAA")
	f.Add("a.b.c.d.e")
	f.Add("")

	f.Fuzz(func(t *testing.T, token string) {
		c, err := v.Validate(context.Background(), token)
		if err != nil {
			if c != nil {
				t.Fatal("claims returned with an error")
			}
			if !errors.Is(err, ErrInvalidToken) && !errors.Is(err, ErrKeysUnavailable) {
				t.Fatalf("unclassified error %v", err)
			}
			return
		}
		if c.Issuer != iss || !slices.Contains(c.Audience, aud) || !now.Before(c.ExpiresAt.Add(v.leeway)) {
			t.Fatalf("accepted claims %+v", c)
		}
	})
}

func FuzzBearerToken(f *testing.F) {
	for _, s := range []string{"Bearer abc.def.ghi", "bearer a==", "Basic x", "Bearer", "Bearer  a b", "Bearer =", ""} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, header string) {
		tok, e := bearerToken(http.Header{"Authorization": {header}})
		if e != nil {
			if tok != "" || e.Status == 0 || e.Err == nil {
				t.Fatalf("error %+v with token %q", e, tok)
			}
			return
		}
		if !isB64Token(tok) || !strings.HasSuffix(header, tok) || !strings.EqualFold(header[:6], "bearer") {
			t.Fatalf("header %q gave token %q", header, tok)
		}
	})
}
