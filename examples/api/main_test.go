package main

import (
	"context"
	"net/http"
	"net/http/httptest"
	"net/url"
	"testing"

	"github.com/gatehouse/gatehouse/apiauth"
	"github.com/gatehouse/gatehouse/internal/testenv"
)

// TestSampleAPIAgainstGatehouse calls each route with tokens from a real
// gatehouse.
func TestSampleAPIAgainstGatehouse(t *testing.T) {
	e := testenv.Start(t)
	tn := e.SeedTenant()
	v, err := apiauth.New(context.Background(), apiauth.Config{Issuer: e.Issuer, Audience: tn.API})
	if err != nil {
		t.Fatal(err)
	}
	api := httptest.NewServer(newHandler(v))
	defer api.Close()

	token := func(scope string) string {
		status, body := e.PasswordGrant(tn, url.Values{"scope": {scope}})
		if status != 200 {
			t.Fatalf("token: %d %v", status, body)
		}
		return body["access_token"].(string)
	}
	withScope, withoutScope := token("openid read:sample"), token("openid write:sample")
	cases := []struct {
		path, token string
		want        int
	}{
		{"/api/public", "", 200},
		{"/api/private", "", 401},
		{"/api/private", withoutScope, 200},
		{"/api/private", withoutScope + "x", 401},
		{"/api/private-scoped", withScope, 200},
		{"/api/private-scoped", withoutScope, 403},
	}
	for _, c := range cases {
		req, _ := http.NewRequest("GET", api.URL+c.path, nil)
		if c.token != "" {
			req.Header.Set("Authorization", "Bearer "+c.token)
		}
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if resp.StatusCode != c.want {
			t.Errorf("GET %s: %d, want %d", c.path, resp.StatusCode, c.want)
		}
	}
}
