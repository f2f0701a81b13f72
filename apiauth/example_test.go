package apiauth_test

import (
	"context"
	"crypto/rand"
	"crypto/rsa"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log"
	"net/http"
	"net/http/httptest"
	"strings"
	"time"

	jose "github.com/go-jose/go-jose/v4"
	"github.com/go-jose/go-jose/v4/jwt"

	"github.com/gatehouse/gatehouse/apiauth"
)

// exampleIssuer stands in for a gatehouse tenant: it serves discovery and
// the JWKS, and mints access tokens for https://api.example.com.
type exampleIssuer struct {
	*httptest.Server
	signer jose.Signer
}

func startExampleIssuer() *exampleIssuer {
	key, err := rsa.GenerateKey(rand.Reader, 2048)
	if err != nil {
		log.Fatal(err)
	}
	signer, err := jose.NewSigner(
		jose.SigningKey{Algorithm: jose.RS256, Key: jose.JSONWebKey{Key: key, KeyID: "key-1"}},
		(&jose.SignerOptions{}).WithType("JWT"))
	if err != nil {
		log.Fatal(err)
	}
	ei := &exampleIssuer{signer: signer}
	mux := http.NewServeMux()
	mux.HandleFunc("GET /.well-known/openid-configuration", func(w http.ResponseWriter, r *http.Request) {
		_ = json.NewEncoder(w).Encode(map[string]string{
			"issuer":   ei.Issuer(),
			"jwks_uri": ei.Issuer() + ".well-known/jwks.json",
		})
	})
	mux.HandleFunc("GET /.well-known/jwks.json", func(w http.ResponseWriter, r *http.Request) {
		_ = json.NewEncoder(w).Encode(jose.JSONWebKeySet{Keys: []jose.JSONWebKey{
			{Key: key.Public(), KeyID: "key-1", Algorithm: "RS256", Use: "sig"},
		}})
	})
	ei.Server = httptest.NewServer(mux)
	return ei
}

func (ei *exampleIssuer) Issuer() string { return ei.URL + "/" }

func (ei *exampleIssuer) Mint(scope string) string {
	now := time.Now()
	tok, err := jwt.Signed(ei.signer).Claims(map[string]any{
		"iss":                      ei.Issuer(),
		"sub":                      "auth0|user-42",
		"aud":                      "https://api.example.com",
		"iat":                      now.Unix(),
		"exp":                      now.Add(time.Hour).Unix(),
		"azp":                      "my-client",
		"scope":                    scope,
		"https://example.com/plan": "gold",
	}).Serialize()
	if err != nil {
		log.Fatal(err)
	}
	return tok
}

// An API that serves /samples to tokens with the read:samples scope.
func Example() {
	issuer := startExampleIssuer()
	defer issuer.Close()

	v, err := apiauth.New(context.Background(), apiauth.Config{
		Issuer:   issuer.Issuer(), // e.g. "https://auth.example.com/"
		Audience: "https://api.example.com",
	})
	if err != nil {
		log.Fatal(err)
	}
	mux := http.NewServeMux()
	mux.Handle("GET /samples", apiauth.RequireScope("read:samples")(
		http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			claims, _ := apiauth.ClaimsFrom(r.Context())
			fmt.Fprintf(w, "samples of %s", claims.Subject)
		})))
	api := httptest.NewServer(v.Middleware(mux))
	defer api.Close()

	for _, token := range []string{issuer.Mint("read:samples"), issuer.Mint("write:samples"), ""} {
		req, err := http.NewRequest(http.MethodGet, api.URL+"/samples", nil)
		if err != nil {
			log.Fatal(err)
		}
		if token != "" {
			req.Header.Set("Authorization", "Bearer "+token)
		}
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			log.Fatal(err)
		}
		body, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		fmt.Println(strings.TrimSpace(fmt.Sprint(resp.StatusCode, " ", resp.Header.Get("WWW-Authenticate"))))
		fmt.Println(strings.TrimSpace(string(body)))
	}
	// Output:
	// 200
	// samples of auth0|user-42
	// 403 Bearer realm="api", error="insufficient_scope", error_description="the access token lacks read:samples", scope="read:samples"
	// {"error":"insufficient_scope","error_description":"the access token lacks read:samples"}
	// 401 Bearer realm="api"
	// {"error":"unauthorized","error_description":"a bearer token is required"}
}

// Checking a token outside HTTP, e.g. in a gRPC interceptor or a queue
// consumer, and reading a custom claim.
func ExampleValidator_Validate() {
	issuer := startExampleIssuer()
	defer issuer.Close()
	ctx := context.Background()
	v, err := apiauth.New(ctx, apiauth.Config{Issuer: issuer.Issuer(), Audience: "https://api.example.com"})
	if err != nil {
		log.Fatal(err)
	}

	claims, err := v.Validate(ctx, issuer.Mint("read:samples write:samples"))
	if err != nil {
		log.Fatal(err)
	}
	var custom struct {
		Plan string `json:"https://example.com/plan"`
	}
	if err := claims.Decode(&custom); err != nil {
		log.Fatal(err)
	}
	fmt.Println(claims.Subject, claims.AuthorizedParty, claims.Scope, custom.Plan)

	_, err = v.Validate(ctx, "eyJhbGciOiJub25lIn0.e30.") // {"alg":"none"}
	fmt.Println(errors.Is(err, apiauth.ErrInvalidToken), errors.Is(err, apiauth.ErrUnsupportedAlgorithm))
	// Output:
	// auth0|user-42 my-client [read:samples write:samples] gold
	// true true
}
