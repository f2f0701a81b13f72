package waad_test

import (
	"context"
	"net/url"
	"testing"
	"time"

	"github.com/pquerna/otp/totp"

	"github.com/gatehouse/gatehouse/internal/mfa"
	"github.com/gatehouse/gatehouse/internal/store"
)

// A waad login that goes through the downstream's MFA step keeps the
// upstream's refresh token through the mfa_token (sealed with the
// transaction), so the refresh family it ends in is checked too: the user
// blocked upstream loses refresh.
func TestWaadRefreshCheckSurvivesMFA(t *testing.T) {
	t.Parallel()
	s := startWaad(t)
	ctx := context.Background()
	userID := "waad|" + s.utn.UserID
	if status, body := s.login("corp", s.utn.Username, s.utn.Password); status != 200 {
		t.Fatalf("first login: %d %v", status, body)
	}
	secret, _, err := mfa.NewTOTP("gatehouse", "ann")
	if err != nil {
		t.Fatal(err)
	}
	if err := s.down.App.Store.CreateAuthenticator(ctx, &store.Authenticator{
		ID: "totp|dev_test0000000000", UserID: userID, Kind: "totp", Active: true, Secret: secret, CreatedAt: time.Now()}); err != nil {
		t.Fatal(err)
	}
	const otpGrant = "http://auth0.com/oauth/grant-type/mfa-otp"
	s.down.API("PATCH", "/clients/"+s.dtn.ClientID, map[string]any{"grant_types": []string{"password",
		"http://auth0.com/oauth/grant-type/password-realm", "refresh_token", otpGrant}}, 200)
	s.down.API("PUT", "/guardian/factors/otp", map[string]any{"enabled": true}, 200)
	s.down.API("PUT", "/guardian/policies", []string{"all-applications"}, 200)

	status, body := s.login("corp", s.utn.Username, s.utn.Password)
	if status != 403 || body["error"] != "mfa_required" {
		t.Fatalf("login under the MFA policy: %d %v, want 403 mfa_required", status, body)
	}
	code, err := totp.GenerateCode(secret, time.Now())
	if err != nil {
		t.Fatal(err)
	}
	status, body = s.down.PostForm("/oauth/token", url.Values{"grant_type": {otpGrant}, "mfa_token": {body["mfa_token"].(string)},
		"otp": {code}, "client_id": {s.dtn.ClientID}, "client_secret": {s.dtn.ClientSecret}})
	if status != 200 || body["refresh_token"] == nil {
		t.Fatalf("mfa-otp grant: %d %v", status, body)
	}
	rt := body["refresh_token"].(string)
	fams, err := s.down.App.Store.ListRefreshFamilies(ctx, userID, "")
	if err != nil || len(fams) != 2 {
		t.Fatalf("families: %v (%v)", fams, err)
	}
	for _, f := range fams {
		if len(f.ConnectorData) == 0 {
			t.Errorf("family %s keeps no upstream session", f.ID)
		}
	}
	if status, body := s.refresh(rt); status != 200 {
		t.Fatalf("refresh: %d %v", status, body)
	}
	s.up.API("PATCH", "/users/"+url.PathEscape(s.utn.UserID), map[string]any{"blocked": true}, 200)
	if status, body := s.refresh(rt); status != 403 || body["error"] != "invalid_grant" {
		t.Errorf("refresh of a user blocked upstream after MFA: %d %v, want 403 invalid_grant", status, body)
	}
}
