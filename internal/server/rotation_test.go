package server_test

import (
	"context"
	"net/url"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/gatehouse/gatehouse/apiauth"
	"github.com/gatehouse/gatehouse/internal/testenv"
)

// TestKeyRotationWithoutAFailedRequest rotates gatehouse's signing key
// through the Management API while an API validates fresh tokens with
// apiauth: the next key is in the JWKS before it signs anything, so no
// request fails. Revoking the previous key then makes its tokens fail.
func TestKeyRotationWithoutAFailedRequest(t *testing.T) {
	e := testenv.Start(t)
	tn := e.SeedTenant()
	m2m := e.API("POST", "/clients", map[string]any{"name": "m2m", "app_type": "non_interactive", "grant_types": []string{"client_credentials"}}, 201)
	e.API("POST", "/client-grants", map[string]any{"client_id": m2m["client_id"], "audience": tn.API, "scope": []string{"read:sample"}}, 201)
	token := func() string {
		status, body := e.PostForm("/oauth/token", url.Values{"grant_type": {"client_credentials"},
			"client_id": {m2m["client_id"].(string)}, "client_secret": {m2m["client_secret"].(string)}, "audience": {tn.API}})
		if status != 200 {
			t.Errorf("token: %d %v", status, body)
			return ""
		}
		return body["access_token"].(string)
	}
	ctx := context.Background()
	v, err := apiauth.New(ctx, apiauth.Config{Issuer: e.Issuer, Audience: tn.API,
		CacheTTL: 300 * time.Millisecond, MinRefreshInterval: 100 * time.Millisecond})
	if err != nil {
		t.Fatal(err)
	}
	oldToken := token()
	if _, err := v.Validate(ctx, oldToken); err != nil {
		t.Fatal(err)
	}

	var ok, failed atomic.Int64
	stop := make(chan struct{})
	var wg sync.WaitGroup
	for range 3 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for {
				select {
				case <-stop:
					return
				default:
				}
				if tok := token(); tok != "" {
					if _, err := v.Validate(ctx, tok); err != nil {
						failed.Add(1)
						t.Errorf("a fresh token was refused: %v", err)
					} else {
						ok.Add(1)
					}
				}
			}
		}()
	}
	time.Sleep(200 * time.Millisecond)
	rotated := e.API("POST", "/keys/signing/rotate", nil, 201)
	time.Sleep(500 * time.Millisecond)
	keys := e.API("GET", "/keys/signing", nil, 200)["list"].([]any)
	var previous string
	for _, k := range keys {
		if k := k.(map[string]any); k["previous"] == true {
			previous = k["kid"].(string)
		}
	}
	if previous == "" || previous == rotated["kid"] {
		t.Fatalf("keys after rotation: %v", keys)
	}
	e.API("PUT", "/keys/signing/"+previous+"/revoke", nil, 200)
	time.Sleep(500 * time.Millisecond)
	close(stop)
	wg.Wait()
	if failed.Load() != 0 || ok.Load() == 0 {
		t.Fatalf("%d validations failed, %d passed", failed.Load(), ok.Load())
	}
	// The revoked key has left the JWKS: its tokens fail once the cache
	// refreshes.
	time.Sleep(400 * time.Millisecond)
	if _, err := v.Validate(ctx, oldToken); err == nil {
		t.Fatal("a token signed by the revoked key still validates")
	}
	t.Logf("%d validations across rotation and revocation, none failed", ok.Load())
}
