package server_test

import (
	"context"
	"net/url"
	"testing"
	"time"

	"github.com/pquerna/otp/totp"

	"github.com/gatehouse/gatehouse/internal/mfa"
	"github.com/gatehouse/gatehouse/internal/store"
	"github.com/gatehouse/gatehouse/internal/testenv"
)

const (
	grantMFAOTP      = "http://auth0.com/oauth/grant-type/mfa-otp"
	grantMFAOOB      = "http://auth0.com/oauth/grant-type/mfa-oob"
	grantMFARecovery = "http://auth0.com/oauth/grant-type/mfa-recovery-code"
)

// withMFAGrants lets the seed's application use the three MFA grants.
func withMFAGrants(client, api map[string]any) {
	client["grant_types"] = append(client["grant_types"].([]string), grantMFAOTP, grantMFAOOB, grantMFARecovery)
}

// mfaTenant is a seeded tenant whose policy is "Always" with OTP and
// recovery codes enabled.
func mfaTenant(t *testing.T, opts ...testenv.TenantOption) (*testenv.Env, *testenv.Tenant) {
	e := testenv.Start(t)
	tn := e.SeedTenant(opts...)
	e.API("PUT", "/guardian/factors/otp", map[string]any{"enabled": true}, 200)
	e.API("PUT", "/guardian/factors/recovery-code", map[string]any{"enabled": true}, 200)
	e.API("PUT", "/guardian/policies", []string{"all-applications"}, 200)
	return e, tn
}

// mfaRequired runs the password grant and returns the mfa_token.
func mfaRequired(t *testing.T, e *testenv.Env, tn *testenv.Tenant) (string, map[string]any) {
	t.Helper()
	status, body := e.PasswordGrant(tn, nil)
	if status != 403 || body["error"] != "mfa_required" || body["error_description"] != "Multifactor authentication required" {
		t.Fatalf("password grant = %d %v, want 403 mfa_required", status, body)
	}
	tok, _ := body["mfa_token"].(string)
	if len(tok) < 32 {
		t.Fatalf("mfa_token = %q", tok)
	}
	return tok, body
}

func otpGrant(e *testenv.Env, tn *testenv.Tenant, mfaToken, code string) (int, map[string]any) {
	return e.PostForm("/oauth/token", url.Values{
		"grant_type": {grantMFAOTP}, "mfa_token": {mfaToken}, "otp": {code},
		"client_id": {tn.ClientID}, "client_secret": {tn.ClientSecret},
	})
}

// enrolTOTP stores a confirmed TOTP authenticator for the user directly.
func enrolTOTP(t *testing.T, e *testenv.Env, userID string) string {
	t.Helper()
	secret, _, err := mfa.NewTOTP("gatehouse", "ann")
	if err != nil {
		t.Fatal(err)
	}
	err = e.App.Store.CreateAuthenticator(context.Background(), &store.Authenticator{
		ID: "totp|dev_test0000000000", UserID: userID, Kind: "totp", Active: true, Secret: secret, CreatedAt: time.Now()})
	if err != nil {
		t.Fatal(err)
	}
	return secret
}

func TestGuardianPoliciesAndFactors(t *testing.T) {
	t.Parallel()
	e := testenv.Start(t)
	if got := e.API("GET", "/guardian/policies", nil, 200)["list"]; len(got.([]any)) != 0 {
		t.Errorf("fresh policies = %v, want []", got)
	}
	e.API("PUT", "/guardian/policies", []string{"all-applications"}, 200)
	if got := e.API("GET", "/guardian/policies", nil, 200)["list"].([]any); len(got) != 1 || got[0] != "all-applications" {
		t.Errorf("policies = %v", got)
	}
	for _, bad := range []any{[]string{"sometimes"}, map[string]any{}, "x"} {
		e.API("PUT", "/guardian/policies", bad, 400)
	}
	if got := e.API("PUT", "/guardian/factors/otp", map[string]any{"enabled": true}, 200); got["enabled"] != true {
		t.Errorf("put factor = %v", got)
	}
	e.API("PUT", "/guardian/factors/nope", map[string]any{"enabled": true}, 404)
	e.API("PUT", "/guardian/factors/otp", map[string]any{}, 400)
	factors := e.API("GET", "/guardian/factors", nil, 200)["list"].([]any)
	enabled := map[string]bool{}
	for _, f := range factors {
		m := f.(map[string]any)
		enabled[m["name"].(string)] = m["enabled"].(bool)
	}
	if len(enabled) != 8 || !enabled["otp"] || enabled["sms"] {
		t.Errorf("factors = %v", factors)
	}
	e.API("PUT", "/guardian/factors/phone/message-types", map[string]any{"message_types": []string{"sms", "voice"}}, 200)
	if got := e.API("GET", "/guardian/factors/phone/message-types", nil, 200)["message_types"].([]any); len(got) != 2 {
		t.Errorf("message types = %v", got)
	}
	// The tenant settings keep their own shape.
	if got := e.API("GET", "/tenants/settings", nil, 200); got["guardian"] != nil {
		t.Errorf("tenant settings show guardian: %v", got)
	}
	e.API("PATCH", "/tenants/settings", map[string]any{"friendly_name": "x"}, 200)
	if got := e.API("GET", "/guardian/policies", nil, 200)["list"].([]any); len(got) != 1 {
		t.Errorf("a settings patch lost the policy: %v", got)
	}
}

func TestMFARequiredByPolicy(t *testing.T) {
	t.Parallel()
	e, tn := mfaTenant(t, withMFAGrants)
	_, body := mfaRequired(t, e, tn)
	req, _ := body["mfa_requirements"].(map[string]any)
	enroll, _ := req["enroll"].([]any)
	if len(enroll) != 1 || enroll[0].(map[string]any)["type"] != "otp" || req["challenge"] != nil {
		t.Errorf("mfa_requirements = %v, want enroll otp", body["mfa_requirements"])
	}
	enrolTOTP(t, e, tn.UserID)
	_, body = mfaRequired(t, e, tn)
	challenge, _ := body["mfa_requirements"].(map[string]any)["challenge"].([]any)
	if len(challenge) != 1 || challenge[0].(map[string]any)["type"] != "otp" {
		t.Errorf("mfa_requirements = %v, want challenge otp", body["mfa_requirements"])
	}
	// "Never" gives tokens straight away.
	e.API("PUT", "/guardian/policies", []string{}, 200)
	if status, body := e.PasswordGrant(tn, nil); status != 200 {
		t.Fatalf("policy never: %d %v", status, body)
	}
	// The MFA API's audience always needs a second factor.
	if status, body := e.PasswordGrant(tn, url.Values{"audience": {e.Issuer + "mfa/"}, "scope": {"enroll read:authenticators"}}); status != 403 || body["error"] != "mfa_required" {
		t.Fatalf("mfa audience: %d %v", status, body)
	}
}

func TestMFAOTPGrant(t *testing.T) {
	t.Parallel()
	e, tn := mfaTenant(t, withMFAGrants)
	secret := enrolTOTP(t, e, tn.UserID)
	mfaToken, _ := mfaRequired(t, e, tn)

	if status, body := otpGrant(e, tn, mfaToken, "000000"); status != 403 || body["error"] != "invalid_grant" || body["error_description"] != "Invalid otp_code." {
		t.Errorf("wrong code = %d %v", status, body)
	}
	// A code of five minutes ago is expired.
	old, _ := totp.GenerateCode(secret, time.Now().Add(-5*time.Minute))
	if status, body := otpGrant(e, tn, mfaToken, old); status != 403 || body["error_description"] != "Invalid otp_code." {
		t.Errorf("expired code = %d %v", status, body)
	}
	code, _ := totp.GenerateCode(secret, time.Now())
	status, body := otpGrant(e, tn, mfaToken, code)
	if status != 200 {
		t.Fatalf("otp grant = %d %v", status, body)
	}
	if body["refresh_token"] == nil || body["id_token"] == nil || body["scope"] != "openid profile email read:sample offline_access" {
		t.Errorf("tokens = %v", body)
	}
	for _, tok := range []string{body["access_token"].(string), body["id_token"].(string)} {
		c := claimsOf(t, tok)
		amr, _ := c["amr"].([]any)
		if len(amr) != 1 || amr[0] != "mfa" {
			t.Errorf("amr = %v", c["amr"])
		}
	}
	if c := claimsOf(t, body["access_token"].(string)); c["gty"] != "password" || c["sub"] != tn.UserID {
		t.Errorf("access token = %v", c)
	}
	// The mfa_token is spent, and the same code does not work twice.
	if status, body := otpGrant(e, tn, mfaToken, code); status != 403 || body["error_description"] != "Malformed mfa_token" {
		t.Errorf("spent mfa_token = %d %v", status, body)
	}
	again, _ := mfaRequired(t, e, tn)
	if status, body := otpGrant(e, tn, again, code); status != 403 || body["error_description"] != "Invalid otp_code." {
		t.Errorf("replayed code = %d %v", status, body)
	}
	// The refresh token works.
	status, body = e.PostForm("/oauth/token", url.Values{"grant_type": {"refresh_token"}, "refresh_token": {body["refresh_token"].(string)},
		"client_id": {tn.ClientID}, "client_secret": {tn.ClientSecret}})
	if status != 200 {
		t.Errorf("refresh after mfa = %d %v", status, body)
	}
}

func TestMFATokenErrors(t *testing.T) {
	t.Parallel()
	e, tn := mfaTenant(t, withMFAGrants)
	mfaToken, _ := mfaRequired(t, e, tn)
	for _, tc := range []struct {
		name       string
		token      string
		status     int
		err, descr string
	}{
		{"malformed", "not-a-token", 403, "invalid_grant", "Malformed mfa_token"},
		{"missing", "", 400, "invalid_request", "Missing required parameter: mfa_token"},
	} {
		status, body := otpGrant(e, tn, tc.token, "123456")
		if status != tc.status || body["error"] != tc.err || body["error_description"] != tc.descr {
			t.Errorf("%s: %d %v", tc.name, status, body)
		}
	}
	e.Clock.Advance(11 * time.Minute)
	if status, body := otpGrant(e, tn, mfaToken, "123456"); status != 403 || body["error"] != "expired_token" || body["error_description"] != "mfa_token is expired" {
		t.Errorf("expired mfa_token = %d %v", status, body)
	}
}

func TestMFAGrantNeedsTheGrantType(t *testing.T) {
	t.Parallel()
	e, tn := mfaTenant(t)
	mfaToken, _ := mfaRequired(t, e, tn)
	if status, body := otpGrant(e, tn, mfaToken, "123456"); status != 403 || body["error"] != "unauthorized_client" {
		t.Errorf("otp grant without the grant type = %d %v", status, body)
	}
}

func TestMFAFailedCodeBucket(t *testing.T) {
	t.Parallel()
	e, tn := mfaTenant(t, withMFAGrants)
	secret := enrolTOTP(t, e, tn.UserID)
	mfaToken, _ := mfaRequired(t, e, tn)
	for i := range 10 {
		if status, body := otpGrant(e, tn, mfaToken, "000000"); status != 403 {
			t.Fatalf("wrong code %d = %d %v", i, status, body)
		}
	}
	code, _ := totp.GenerateCode(secret, e.Clock.Now())
	if status, body := otpGrant(e, tn, mfaToken, code); status != 429 || body["error"] != "too_many_attempts" ||
		body["error_description"] != "Too many failed codes. Wait for some minutes before retrying." {
		t.Fatalf("11th code = %d %v", status, body)
	}
	// One code comes back every six minutes; the mfa_token lasts ten.
	e.Clock.Advance(6*time.Minute + time.Second)
	code, _ = totp.GenerateCode(secret, e.Clock.Now())
	if status, body := otpGrant(e, tn, mfaToken, code); status != 200 {
		t.Fatalf("after a refill = %d %v", status, body)
	}
}

func TestMFARecoveryCodeGrant(t *testing.T) {
	t.Parallel()
	e, tn := mfaTenant(t, withMFAGrants)
	code, hash := mfa.NewRecoveryCode()
	if err := e.App.Store.CreateAuthenticator(context.Background(), &store.Authenticator{
		ID: "recovery-code|dev_test000000000", UserID: tn.UserID, Kind: "recovery-code", Active: true, CodeHash: hash}); err != nil {
		t.Fatal(err)
	}
	grant := func(rc string) (int, map[string]any) {
		mfaToken, _ := mfaRequired(t, e, tn)
		return e.PostForm("/oauth/token", url.Values{"grant_type": {grantMFARecovery}, "mfa_token": {mfaToken}, "recovery_code": {rc},
			"client_id": {tn.ClientID}, "client_secret": {tn.ClientSecret}})
	}
	status, body := grant(code)
	next, _ := body["recovery_code"].(string)
	if status != 200 || len(next) != 24 || body["access_token"] == nil {
		t.Fatalf("recovery grant = %d %v", status, body)
	}
	if status, body := grant(code); status != 403 || body["error_description"] != "Invalid recovery_code." {
		t.Errorf("used recovery code = %d %v", status, body)
	}
	if status, body := grant(next); status != 200 || body["recovery_code"] == next {
		t.Errorf("new recovery code = %d %v", status, body)
	}
}
