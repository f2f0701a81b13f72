package server_test

import (
	"context"
	"encoding/json"
	"net/http"
	"net/url"
	"testing"

	"github.com/gatehouse/gatehouse/apiauth"
	"github.com/gatehouse/gatehouse/internal/testenv"
)

// TestAPISigningAlgorithms mints access tokens for APIs signed each way an
// API may choose and validates them as the API would, with apiauth.
func TestAPISigningAlgorithms(t *testing.T) {
	t.Parallel()
	e := testenv.Start(t)
	tn := e.SeedTenant()
	for _, alg := range []string{"RS256", "PS256", "ES256", "HS256"} {
		t.Run(alg, func(t *testing.T) {
			identifier := "https://" + alg + ".example.com/"
			api := e.API("POST", "/resource-servers", map[string]any{"identifier": identifier, "signing_alg": alg,
				"scopes": []map[string]string{{"value": "read:sample"}}}, 201)
			status, body := e.PasswordGrant(tn, url.Values{"audience": {identifier}, "scope": {"openid read:sample"}})
			if status != 200 {
				t.Fatalf("%d %v", status, body)
			}
			at := body["access_token"].(string)
			h := headerOf(t, at)
			if h["alg"] != alg || (alg != "HS256") != (h["kid"] != nil) {
				t.Fatalf("header = %v", h)
			}
			cfg := apiauth.Config{Issuer: e.Issuer, Audience: identifier}
			if alg == "HS256" {
				cfg.HS256Secret = []byte(api["signing_secret"].(string))
			}
			v, err := apiauth.New(context.Background(), cfg)
			if err != nil {
				t.Fatal(err)
			}
			claims, err := v.Validate(context.Background(), at)
			if err != nil || !claims.HasScope("read:sample") {
				t.Fatalf("apiauth: %+v, %v", claims, err)
			}
			// Asymmetric tokens with openid also open /userinfo; HS256 ones do not.
			req, _ := http.NewRequest("GET", e.URL+"/userinfo", nil)
			req.Header.Set("Authorization", "Bearer "+at)
			status, info, _ := e.Do(req)
			if want := map[bool]int{true: 401, false: 200}[alg == "HS256"]; status != want {
				t.Fatalf("userinfo: %d %v, want %d", status, info, want)
			}
		})
	}
}

// TestKeyLifecycleForEveryAlgorithm rotates and revokes the keys of each
// asymmetric algorithm through the Management API while an API validates
// its access tokens with apiauth: tokens signed before a rotation keep
// verifying, tokens after it carry the promoted key's kid, a key published
// as next is trusted with no JWKS fetch, and a revoked key's tokens are
// refused.
func TestKeyLifecycleForEveryAlgorithm(t *testing.T) {
	t.Parallel()
	e := testenv.Start(t)
	tn := e.SeedTenant()
	ctx := context.Background()
	for _, alg := range []string{"RS256", "PS256", "ES256"} {
		// In turn: each rotation is tenant-wide for its algorithm.
		t.Run(alg, func(t *testing.T) {
			identifier := "https://lifecycle-" + alg + ".example.com/"
			e.API("POST", "/resource-servers", map[string]any{"identifier": identifier, "signing_alg": alg,
				"scopes": []map[string]string{{"value": "read:sample"}}}, 201)
			token := func() (string, string) {
				status, body := e.PasswordGrant(tn, url.Values{"audience": {identifier}, "scope": {"read:sample"}})
				if status != 200 {
					t.Fatalf("%d %v", status, body)
				}
				at := body["access_token"].(string)
				h := headerOf(t, at)
				if h["alg"] != alg {
					t.Fatalf("signed with %v, want %s", h["alg"], alg)
				}
				return at, h["kid"].(string)
			}
			v, err := apiauth.New(ctx, apiauth.Config{Issuer: e.Issuer, Audience: identifier})
			if err != nil {
				t.Fatal(err)
			}
			valid := func(at, what string) {
				t.Helper()
				if _, err := v.Validate(ctx, at); err != nil {
					t.Fatalf("%s: %v", what, err)
				}
			}
			tok1, kid1 := token()
			valid(tok1, "before any rotation")

			first := e.API("POST", "/keys/signing/rotate?alg="+alg, nil, 201)["kid"].(string)
			if err := v.Refresh(ctx); err != nil {
				t.Fatal(err)
			}
			tok2, kid2 := token()
			if kid2 != first || kid2 == kid1 {
				t.Fatalf("after the rotation tokens carry %s, want %s (was %s)", kid2, first, kid1)
			}
			valid(tok2, "signed by the promoted key")
			valid(tok1, "signed by the previous key")
			listed := listKeys(t, e, alg)
			if !hasKey(listed, kid1, "previous") || !hasKey(listed, kid2, "current") || !hasKey(listed, "", "next") {
				t.Fatalf("keys after the rotation: %v", listed)
			}

			// The second rotation promotes the key published as next: the
			// validator, which fetched the JWKS before it, needs no fetch.
			second := e.API("POST", "/keys/signing/rotate?alg="+alg, nil, 201)["kid"].(string)
			tok3, kid3 := token()
			if kid3 != second {
				t.Fatalf("after the second rotation tokens carry %s, want %s", kid3, second)
			}
			valid(tok3, "signed by the key that was next")

			// Revoking the previous key (kid2) withdraws its tokens.
			e.API("PUT", "/keys/signing/"+kid2+"/revoke", nil, 200)
			if err := v.Refresh(ctx); err != nil {
				t.Fatal(err)
			}
			if _, err := v.Validate(ctx, tok2); err == nil {
				t.Fatal("a token signed by the revoked key still validates")
			}
			valid(tok3, "signed by the current key after the revocation")
			// The current key cannot be revoked.
			e.API("PUT", "/keys/signing/"+kid3+"/revoke", nil, 400)
		})
	}
	// An algorithm gatehouse has no keys for is refused.
	e.API("POST", "/keys/signing/rotate?alg=HS256", nil, 400)
}

// listKeys reads GET /api/v2/keys/signing?alg=ALG.
func listKeys(t *testing.T, e *testenv.Env, alg string) []map[string]any {
	t.Helper()
	req, _ := http.NewRequest("GET", e.URL+"/api/v2/keys/signing?alg="+alg, nil)
	req.Header.Set("Authorization", "Bearer "+e.Mgmt)
	resp, err := e.Client.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var out []map[string]any
	if err := json.NewDecoder(resp.Body).Decode(&out); err != nil || resp.StatusCode != 200 {
		t.Fatalf("list keys: %d %v", resp.StatusCode, err)
	}
	return out
}

// hasKey reports whether a signing-key list holds a key (by kid, or any
// when kid is "") with flag set.
func hasKey(list []map[string]any, kid, flag string) bool {
	for _, m := range list {
		if (kid == "" || m["kid"] == kid) && m[flag] == true {
			return true
		}
	}
	return false
}
