package upstream_test

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/gatehouse/gatehouse/internal/testenv"
	"github.com/gatehouse/gatehouse/internal/upstream"
)

// TestLoginAgainstAnotherGatehouse: a second gatehouse plays the upstream
// identity provider.
func TestLoginAgainstAnotherGatehouse(t *testing.T) {
	t.Parallel()
	idp := testenv.Start(t)
	tn := idp.SeedTenant()
	ctx := context.Background()
	c, err := upstream.New(ctx, upstream.Config{Issuer: idp.Issuer, ClientID: tn.ClientID, ClientSecret: tn.ClientSecret})
	if err != nil {
		t.Fatal(err)
	}
	id, err := c.Login(ctx, tn.Username, tn.Password)
	if err != nil {
		t.Fatal(err)
	}
	if id.Subject != tn.UserID || id.Email != tn.Username || id.GivenName != "Ann" {
		t.Fatalf("identity = %+v, want %s %s", id, tn.UserID, tn.Username)
	}
	// offline_access is asked for: the provider's refresh token comes back,
	// and exchanging it tells that the user may still sign in.
	if id.RefreshToken == "" {
		t.Fatal("no refresh token from a provider that grants offline_access")
	}
	if next, err := c.Refresh(ctx, id.RefreshToken); err != nil || next == "" {
		t.Fatalf("Refresh = %q, %v", next, err)
	}
	if _, err := c.Login(ctx, tn.Username, "wrong password"); !errors.Is(err, upstream.ErrWrongCredentials) {
		t.Fatalf("wrong password: %v", err)
	}
	if _, err := c.Login(ctx, "nobody@example.com", "x"); !errors.Is(err, upstream.ErrWrongCredentials) {
		t.Fatalf("unknown user: %v", err)
	}
	if err := c.Ping(ctx); err != nil {
		t.Fatalf("Ping: %v", err)
	}
}

// TestForgedIDTokenRefused: a token endpoint that answers with an ID token
// the issuer did not sign is "unavailable", never a login.
func TestForgedIDTokenRefused(t *testing.T) {
	t.Parallel()
	idp := testenv.Start(t)
	tn := idp.SeedTenant()
	forger := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		// header.payload.signature with a payload naming the real issuer
		w.Write([]byte(`{"id_token":"eyJhbGciOiJSUzI1NiIsImtpZCI6IngifQ.eyJpc3MiOiJ4Iiwic3ViIjoiYWRtaW4ifQ.c2ln","token_type":"Bearer"}`))
	}))
	defer forger.Close()
	ctx := context.Background()
	c, err := upstream.New(ctx, upstream.Config{Issuer: idp.Issuer, TokenURL: forger.URL, ClientID: tn.ClientID, ClientSecret: tn.ClientSecret})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := c.Login(ctx, tn.Username, tn.Password); !errors.Is(err, upstream.ErrUnavailable) || !errors.Is(err, upstream.ErrTokenRefused) {
		t.Fatalf("forged id_token: %v, want ErrTokenRefused (an ErrUnavailable)", err)
	}
}

func TestProviderDown(t *testing.T) {
	t.Parallel()
	idp := testenv.Start(t)
	tn := idp.SeedTenant()
	ctx := context.Background()
	dead := httptest.NewServer(http.NotFoundHandler())
	dead.Close()
	c, err := upstream.New(ctx, upstream.Config{Issuer: idp.Issuer, TokenURL: dead.URL, ClientID: tn.ClientID, ClientSecret: tn.ClientSecret})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := c.Login(ctx, tn.Username, tn.Password); !errors.Is(err, upstream.ErrUnavailable) {
		t.Fatalf("provider down: %v, want ErrUnavailable", err)
	}
	if _, err := upstream.New(ctx, upstream.Config{Issuer: dead.URL + "/", ClientID: "x", ClientSecret: "y"}); !errors.Is(err, upstream.ErrUnavailable) {
		t.Fatalf("New with the provider down: %v, want ErrUnavailable", err)
	}
}

// TestDiscoveryURL: with only the discovery document's URL (as for Azure
// AD, whose document names the tenant's id in its issuer), the issuer is
// the one the document names, and a configured issuer must agree with it.
func TestDiscoveryURL(t *testing.T) {
	t.Parallel()
	idp := testenv.Start(t)
	tn := idp.SeedTenant()
	ctx := context.Background()
	doc := idp.Issuer + ".well-known/openid-configuration"
	c, err := upstream.New(ctx, upstream.Config{DiscoveryURL: doc, ClientID: tn.ClientID, ClientSecret: tn.ClientSecret})
	if err != nil {
		t.Fatal(err)
	}
	id, err := c.Login(ctx, tn.Username, tn.Password)
	if err != nil || id.Sub != tn.UserID || id.OID != "" {
		t.Fatalf("Login = %+v, %v", id, err)
	}
	if err := c.Ping(ctx); err != nil {
		t.Fatalf("Ping: %v", err)
	}
	if _, err := upstream.New(ctx, upstream.Config{Issuer: "https://elsewhere.example/", DiscoveryURL: doc,
		ClientID: tn.ClientID, ClientSecret: tn.ClientSecret}); err == nil {
		t.Fatal("a discovery document naming another issuer was accepted")
	}
}

// TestDiscoveredTokenEndpointStaysOnTLS: a discovery document read over
// https that names a plain http token endpoint is refused, so the typed
// password never leaves TLS because of what a document says.
func TestDiscoveredTokenEndpointStaysOnTLS(t *testing.T) {
	t.Parallel()
	var issuer string
	srv := httptest.NewTLSServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		fmt.Fprintf(w, `{"issuer":%q,"token_endpoint":"http://idp.example.com/oauth/token","jwks_uri":%q}`, issuer, issuer+"jwks")
	}))
	defer srv.Close()
	issuer = srv.URL + "/"
	_, err := upstream.New(context.Background(), upstream.Config{DiscoveryURL: srv.URL + "/.well-known/openid-configuration",
		ClientID: "a", ClientSecret: "b", HTTPClient: srv.Client()})
	if err == nil || !strings.Contains(err.Error(), "plain http") {
		t.Fatalf("New = %v, want a refusal of the http token endpoint", err)
	}
}

// TestRefusals: how a token endpoint's refusals read (Azure AD's answers
// as it sends them: 400 invalid_grant with its AADSTS codes).
func TestRefusals(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		name   string
		status int
		body   string
		want   error
	}{
		{"Azure AD: wrong password", 400, `{"error":"invalid_grant","error_description":"AADSTS50126: Error validating credentials","error_codes":[50126]}`, upstream.ErrWrongCredentials},
		{"Azure AD: MFA required", 400, `{"error":"invalid_grant","error_description":"AADSTS50076: ...","error_codes":[50076]}`, upstream.ErrInteractionRequired},
		{"Azure AD: consent required", 400, `{"error":"invalid_grant","error_codes":[65001]}`, upstream.ErrInteractionRequired},
		{"Auth0: MFA required", 403, `{"error":"mfa_required","mfa_token":"x"}`, upstream.ErrInteractionRequired},
		{"OpenID: interaction_required", 400, `{"error":"interaction_required"}`, upstream.ErrInteractionRequired},
		{"Auth0: wrong password", 403, `{"error":"invalid_grant","error_description":"Wrong email or password."}`, upstream.ErrWrongCredentials},
		{"wrong client", 401, `{"error":"invalid_client"}`, upstream.ErrUnavailable},
		{"5xx saying invalid_grant", 500, `{"error":"invalid_grant"}`, upstream.ErrUnavailable},
		{"not JSON", 502, `<html>bad gateway</html>`, upstream.ErrUnavailable},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				w.Header().Set("Content-Type", "application/json")
				w.WriteHeader(tc.status)
				w.Write([]byte(tc.body))
			}))
			defer srv.Close()
			c, err := upstream.New(context.Background(), upstream.Config{Issuer: srv.URL + "/", TokenURL: srv.URL + "/token", ClientID: "a", ClientSecret: "b"})
			if err != nil {
				t.Fatal(err)
			}
			if _, err := c.Login(context.Background(), "ann", "pw"); !errors.Is(err, tc.want) {
				t.Errorf("Login = %v, want %v", err, tc.want)
			}
		})
	}
}

// TestRefreshAnswers: how Refresh reads a token endpoint's answers to a
// refresh grant (Azure AD's, Auth0's and gatehouse's shapes).
func TestRefreshAnswers(t *testing.T) {
	t.Parallel()
	idp := testenv.Start(t)
	tn := idp.SeedTenant()
	tests := []struct {
		name    string
		status  int
		body    string
		want    string // the token to keep
		wantErr error
	}{
		{"rotated", 200, `{"access_token":"a","refresh_token":"next"}`, "next", nil},
		{"not rotated", 200, `{"access_token":"a"}`, "old", nil},
		{"Azure AD: user disabled", 400, `{"error":"invalid_grant","error_codes":[50057]}`, "", upstream.ErrRefreshRefused},
		{"gatehouse: user deleted", 403, `{"error":"invalid_grant"}`, "", upstream.ErrRefreshRefused},
		{"gatehouse: user blocked", 401, `{"error":"unauthorized","error_description":"user is blocked"}`, "", upstream.ErrRefreshRefused},
		{"Azure AD: MFA now required", 400, `{"error":"interaction_required"}`, "", upstream.ErrRefreshRefused},
		{"the connection's own client refused", 401, `{"error":"invalid_client"}`, "", upstream.ErrUnavailable},
		{"server error", 500, `{"error":"server_error"}`, "", upstream.ErrUnavailable},
		{"not JSON", 502, `<html>bad gateway</html>`, "", upstream.ErrUnavailable},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				if r.PostFormValue("grant_type") != "refresh_token" || r.PostFormValue("refresh_token") != "old" ||
					r.PostFormValue("client_id") != tn.ClientID || r.PostFormValue("client_secret") != tn.ClientSecret {
					t.Errorf("refresh request: %v", r.PostForm)
				}
				w.Header().Set("Content-Type", "application/json")
				w.WriteHeader(tc.status)
				w.Write([]byte(tc.body))
			}))
			defer srv.Close()
			ctx := context.Background()
			c, err := upstream.New(ctx, upstream.Config{Issuer: idp.Issuer, TokenURL: srv.URL, ClientID: tn.ClientID, ClientSecret: tn.ClientSecret})
			if err != nil {
				t.Fatal(err)
			}
			got, err := c.Refresh(ctx, "old")
			if got != tc.want || !errors.Is(err, tc.wantErr) || (tc.wantErr == nil) != (err == nil) {
				t.Errorf("Refresh = %q, %v; want %q, %v", got, err, tc.want, tc.wantErr)
			}
			if errors.Is(tc.wantErr, upstream.ErrRefreshRefused) && errors.Is(err, upstream.ErrUnavailable) {
				t.Errorf("a refusal is also unavailable: %v", err)
			}
		})
	}
}
