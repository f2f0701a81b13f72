package server_test

import (
	"context"
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
