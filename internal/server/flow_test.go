package server_test

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/gatehouse/gatehouse/internal/testenv"

	jwtmiddleware "github.com/auth0/go-jwt-middleware/v2"
	"github.com/auth0/go-jwt-middleware/v2/jwks"
	"github.com/auth0/go-jwt-middleware/v2/validator"
	"github.com/coreos/go-oidc/v3/oidc"
	"golang.org/x/oauth2"
)

// claimsOf decodes a JWT payload without verifying it (tests verify with
// real client libraries elsewhere).
func claimsOf(t *testing.T, jwt string) map[string]any {
	t.Helper()
	parts := strings.Split(jwt, ".")
	if len(parts) != 3 {
		t.Fatalf("not a JWT: %q", jwt)
	}
	b, err := base64.RawURLEncoding.DecodeString(parts[1])
	if err != nil {
		t.Fatal(err)
	}
	var c map[string]any
	if err := json.Unmarshal(b, &c); err != nil {
		t.Fatal(err)
	}
	return c
}

func headerOf(t *testing.T, jwt string) map[string]any {
	t.Helper()
	b, _ := base64.RawURLEncoding.DecodeString(strings.Split(jwt, ".")[0])
	var h map[string]any
	json.Unmarshal(b, &h)
	return h
}

// TestSeedFlow walks the seed document: request tokens with the password
// grant, call an API that validates them, refresh them.
func TestSeedFlow(t *testing.T) {
	t.Parallel()
	e := testenv.Start(t)
	tn := e.SeedTenant()

	status, body := e.PasswordGrant(tn, nil)
	if status != 200 {
		t.Fatalf("password grant: %d %v", status, body)
	}
	if body["token_type"] != "Bearer" || body["expires_in"].(float64) != 86400 {
		t.Errorf("token_type/expires_in = %v/%v", body["token_type"], body["expires_in"])
	}
	if body["scope"] != "openid profile email read:sample offline_access" {
		t.Errorf("scope = %q", body["scope"])
	}
	at := body["access_token"].(string)
	c := claimsOf(t, at)
	if c["iss"] != e.Issuer || c["sub"] != tn.UserID || c["azp"] != tn.ClientID || c["gty"] != "password" {
		t.Errorf("access token claims = %v", c)
	}
	aud, _ := c["aud"].([]any)
	if len(aud) != 2 || aud[0] != tn.API || aud[1] != e.Issuer+"userinfo" {
		t.Errorf("aud = %v", c["aud"])
	}
	if h := headerOf(t, at); h["alg"] != "RS256" || h["typ"] != "JWT" || h["kid"] == nil {
		t.Errorf("header = %v", h)
	}
	id := claimsOf(t, body["id_token"].(string))
	if id["aud"] != tn.ClientID || id["email"] != tn.Username || id["iss"] != e.Issuer {
		t.Errorf("id token claims = %v", id)
	}
	if _, ok := id["updated_at"].(string); !ok {
		t.Errorf("updated_at = %#v, want an ISO string", id["updated_at"])
	}
	rt, _ := body["refresh_token"].(string)
	if rt == "" {
		t.Fatal("no refresh token")
	}

	// Call API: go-jwt-middleware, configured as its README says.
	api := protectedAPI(t, e.Issuer, tn.API)
	for _, c := range []struct {
		token string
		want  int
	}{{at, 200}, {"", 401}, {at + "x", 401}} {
		req, _ := http.NewRequest("GET", "/private", nil)
		if c.token != "" {
			req.Header.Set("Authorization", "Bearer "+c.token)
		}
		rec := &recorder{header: http.Header{}}
		api.ServeHTTP(rec, req)
		if rec.status != c.want {
			t.Errorf("API with token %.10q: %d, want %d", c.token, rec.status, c.want)
		}
	}

	// Refresh tokens.
	status, body = e.PostForm("/oauth/token", url.Values{
		"grant_type": {"refresh_token"}, "refresh_token": {rt},
		"client_id": {tn.ClientID}, "client_secret": {tn.ClientSecret},
	})
	if status != 200 || body["access_token"] == nil || body["id_token"] == nil {
		t.Fatalf("refresh: %d %v", status, body)
	}
	if _, rotated := body["refresh_token"]; rotated {
		t.Error("a non-rotating client got a new refresh token")
	}
	if claimsOf(t, body["access_token"].(string))["gty"] != "refresh_token" {
		t.Error("refreshed token gty is not refresh_token")
	}

	// /userinfo with the access token.
	req, _ := http.NewRequest("GET", e.URL+"/userinfo", nil)
	req.Header.Set("Authorization", "Bearer "+at)
	status, info, _ := e.Do(req)
	if status != 200 || info["sub"] != tn.UserID || info["email"] != tn.Username || info["given_name"] != "Ann" {
		t.Fatalf("userinfo: %d %v", status, info)
	}
}

type recorder struct {
	header http.Header
	status int
}

func (r *recorder) Header() http.Header { return r.header }
func (r *recorder) Write(b []byte) (int, error) {
	if r.status == 0 {
		r.status = 200
	}
	return len(b), nil
}
func (r *recorder) WriteHeader(s int) { r.status = s }

// protectedAPI is the seed's sample API guarded by go-jwt-middleware.
func protectedAPI(t *testing.T, issuer, audience string) http.Handler {
	u, _ := url.Parse(issuer)
	provider := jwks.NewCachingProvider(u, 5*time.Minute)
	v, err := validator.New(provider.KeyFunc, validator.RS256, issuer, []string{audience})
	if err != nil {
		t.Fatal(err)
	}
	mw := jwtmiddleware.New(v.ValidateToken, jwtmiddleware.WithErrorHandler(func(w http.ResponseWriter, r *http.Request, err error) {
		w.WriteHeader(http.StatusUnauthorized)
	}))
	return mw.CheckJWT(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Write([]byte(`{"ok":true}`))
	}))
}

// TestXOAuth2 uses golang.org/x/oauth2 as an application would: the
// password grant, then a TokenSource that refreshes an expired token.
func TestXOAuth2(t *testing.T) {
	t.Parallel()
	e := testenv.Start(t)
	tn := e.SeedTenant()
	for _, style := range []struct {
		name   string
		style  oauth2.AuthStyle
		method string
	}{
		{"params", oauth2.AuthStyleInParams, "client_secret_post"},
		{"header", oauth2.AuthStyleInHeader, "client_secret_basic"},
	} {
		t.Run(style.name, func(t *testing.T) {
			e.API("PATCH", "/clients/"+tn.ClientID, map[string]any{"token_endpoint_auth_method": style.method}, 200)
			conf := &oauth2.Config{
				ClientID: tn.ClientID, ClientSecret: tn.ClientSecret,
				Endpoint: oauth2.Endpoint{TokenURL: e.URL + "/oauth/token", AuthStyle: style.style},
				Scopes:   []string{"openid", "offline_access", "read:sample"},
			}
			ctx := context.Background()
			tok, err := conf.PasswordCredentialsToken(ctx, tn.Username, tn.Password)
			if err != nil {
				t.Fatal(err)
			}
			if tok.RefreshToken == "" || tok.Extra("id_token") == nil {
				t.Fatalf("token = %+v", tok)
			}
			// Without audience the access token is for /userinfo.
			if aud := claimsOf(t, tok.AccessToken)["aud"]; aud != e.Issuer+"userinfo" {
				t.Errorf("aud = %v", aud)
			}
			tok.Expiry = time.Now().Add(-time.Minute)
			fresh, err := conf.TokenSource(ctx, tok).Token()
			if err != nil {
				t.Fatal(err)
			}
			if fresh.AccessToken == tok.AccessToken || !fresh.Valid() {
				t.Fatal("token source did not refresh")
			}
			_, err = (&oauth2.Config{ClientID: tn.ClientID, ClientSecret: "wrong", Endpoint: conf.Endpoint}).
				PasswordCredentialsToken(ctx, tn.Username, tn.Password)
			var re *oauth2.RetrieveError
			if !asRetrieve(err, &re) || re.Response.StatusCode != 401 || re.ErrorCode != "access_denied" {
				t.Fatalf("wrong secret: %v", err)
			}
		})
	}
}

func asRetrieve(err error, re **oauth2.RetrieveError) bool {
	r, ok := err.(*oauth2.RetrieveError)
	*re = r
	return ok
}

// TestOIDC verifies ID tokens with coreos/go-oidc through discovery.
func TestOIDC(t *testing.T) {
	t.Parallel()
	e := testenv.Start(t)
	tn := e.SeedTenant()
	ctx := context.Background()
	provider, err := oidc.NewProvider(ctx, e.Issuer)
	if err != nil {
		t.Fatal(err)
	}
	if provider.Endpoint().TokenURL != e.Issuer+"oauth/token" {
		t.Errorf("token endpoint = %s", provider.Endpoint().TokenURL)
	}
	status, body := e.PasswordGrant(tn, nil)
	if status != 200 {
		t.Fatalf("%d %v", status, body)
	}
	idt, err := provider.Verifier(&oidc.Config{ClientID: tn.ClientID}).Verify(ctx, body["id_token"].(string))
	if err != nil {
		t.Fatal(err)
	}
	var claims struct {
		Email string `json:"email"`
	}
	if err := idt.Claims(&claims); err != nil || claims.Email != tn.Username || idt.Subject != tn.UserID {
		t.Fatalf("claims %+v, sub %s, %v", claims, idt.Subject, err)
	}
	if _, err := provider.Verifier(&oidc.Config{ClientID: "someone-else"}).Verify(ctx, body["id_token"].(string)); err == nil {
		t.Error("an ID token verified for another client")
	}
	// UserInfo through go-oidc, with the access token.
	info, err := provider.UserInfo(ctx, oauth2.StaticTokenSource(&oauth2.Token{AccessToken: body["access_token"].(string)}))
	if err != nil || info.Email != tn.Username {
		t.Fatalf("userinfo = %+v, %v", info, err)
	}
}

func mustGet(t *testing.T, u string) *http.Request {
	t.Helper()
	req, err := http.NewRequest("GET", u, nil)
	if err != nil {
		t.Fatal(err)
	}
	return req
}
