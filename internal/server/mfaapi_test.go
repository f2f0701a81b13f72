package server_test

import (
	"net/http"
	"net/url"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/pquerna/otp/totp"

	"github.com/gatehouse/gatehouse/internal/notify"
	"github.com/gatehouse/gatehouse/internal/server"
	"github.com/gatehouse/gatehouse/internal/testenv"
	"github.com/gatehouse/gatehouse/internal/testenv/smtptest"
)

// bearerJSON sends v as JSON to path with a bearer token.
func bearerJSON(e *testenv.Env, method, path, bearer string, v any) (int, map[string]any) {
	req := testenv.JSONRequest(e.URL+path, v)
	req.Method = method
	if v == nil {
		req, _ = http.NewRequest(method, e.URL+path, nil)
	}
	req.Header.Set("Authorization", "Bearer "+bearer)
	status, body, _ := e.Do(req)
	return status, body
}

// TestMFAEnrolOTPThenLogIn is the spec's sequence 3: not enrolled, enrol OTP
// with the mfa_token, confirm with the first code, then log in with codes.
func TestMFAEnrolOTPThenLogIn(t *testing.T) {
	t.Parallel()
	e, tn := mfaTenant(t, withMFAGrants)
	mfaToken, _ := mfaRequired(t, e, tn)
	if status, body := bearerJSON(e, "GET", "/mfa/authenticators", mfaToken, nil); status != 200 || len(body["list"].([]any)) != 0 {
		t.Fatalf("authenticators before = %d %v", status, body)
	}
	status, body := bearerJSON(e, "POST", "/mfa/associate", mfaToken, map[string]any{"authenticator_types": []string{"otp"}})
	if status != 200 || body["authenticator_type"] != "otp" {
		t.Fatalf("associate = %d %v", status, body)
	}
	secret := body["secret"].(string)
	uri := body["barcode_uri"].(string)
	if !strings.HasPrefix(uri, "otpauth://totp/") || !strings.Contains(uri, "secret="+secret) || !strings.Contains(uri, "&") {
		t.Errorf("barcode_uri = %q", uri)
	}
	codes, _ := body["recovery_codes"].([]any)
	if len(codes) != 1 || !regexp.MustCompile(`^[A-Z0-9]{24}$`).MatchString(codes[0].(string)) {
		t.Fatalf("recovery_codes = %v", body["recovery_codes"])
	}
	code, _ := totp.GenerateCode(secret, time.Now())
	if status, body := otpGrant(e, tn, mfaToken, code); status != 200 || claimsOf(t, body["access_token"].(string))["amr"] == nil {
		t.Fatalf("confirming otp grant = %d %v", status, body)
	}
	// Now enrolled: a second enrolment with an mfa_token is refused, and
	// the listing shows the active authenticators.
	next, _ := mfaRequired(t, e, tn)
	if status, body := bearerJSON(e, "POST", "/mfa/associate", next, map[string]any{"authenticator_types": []string{"otp"}}); status != 403 || body["error_description"] != "User is already enrolled." {
		t.Errorf("second associate = %d %v", status, body)
	}
	_, body = bearerJSON(e, "GET", "/mfa/authenticators", next, nil)
	kinds := map[string]bool{}
	for _, a := range body["list"].([]any) {
		m := a.(map[string]any)
		kinds[m["authenticator_type"].(string)] = m["active"].(bool)
	}
	if !kinds["otp"] || !kinds["recovery-code"] {
		t.Errorf("authenticators = %v", body["list"])
	}
	// An OTP challenge needs nothing sent.
	status, body = e.PostJSON("/mfa/challenge", map[string]any{"mfa_token": next, "client_id": tn.ClientID, "client_secret": tn.ClientSecret, "challenge_type": "otp oob"})
	if status != 200 || body["challenge_type"] != "otp" {
		t.Errorf("challenge = %d %v", status, body)
	}
	// The recovery code shown at enrolment works.
	status, body = e.PostForm("/oauth/token", url.Values{"grant_type": {grantMFARecovery}, "mfa_token": {next}, "recovery_code": {codes[0].(string)},
		"client_id": {tn.ClientID}, "client_secret": {tn.ClientSecret}})
	if status != 200 || body["recovery_code"] == nil {
		t.Errorf("recovery grant = %d %v", status, body)
	}
}

// TestMFAAccessTokenManagesAuthenticators: an MFA API token (after MFA)
// lists and deletes; an mfa_token cannot delete.
func TestMFAAccessTokenManagesAuthenticators(t *testing.T) {
	t.Parallel()
	e, tn := mfaTenant(t, withMFAGrants)
	secret := enrolTOTP(t, e, tn.UserID)
	_, body := e.PasswordGrant(tn, url.Values{"audience": {e.Issuer + "mfa/"}, "scope": {"enroll read:authenticators remove:authenticators"}})
	mfaToken := body["mfa_token"].(string)
	if status, body := bearerJSON(e, "DELETE", "/mfa/authenticators/totp|dev_test0000000000", mfaToken, nil); status != 401 {
		t.Errorf("delete with mfa_token = %d %v", status, body)
	}
	code, _ := totp.GenerateCode(secret, time.Now())
	status, body := otpGrant(e, tn, mfaToken, code)
	if status != 200 || body["expires_in"].(float64) != 600 {
		t.Fatalf("mfa audience token = %d %v", status, body)
	}
	at := body["access_token"].(string)
	if status, body := bearerJSON(e, "GET", "/mfa/authenticators", at, nil); status != 200 || len(body["list"].([]any)) != 1 {
		t.Errorf("list = %d %v", status, body)
	}
	if status, body := bearerJSON(e, "DELETE", "/mfa/authenticators/totp|dev_nope", at, nil); status != 404 {
		t.Errorf("delete unknown = %d %v", status, body)
	}
	if status, body := bearerJSON(e, "DELETE", "/mfa/authenticators/totp|dev_test0000000000", at, nil); status != 204 {
		t.Errorf("delete = %d %v", status, body)
	}
	if status, _ := bearerJSON(e, "GET", "/mfa/authenticators", "garbage", nil); status != 401 {
		t.Errorf("bad bearer = %d", status)
	}
}

var sixDigits = regexp.MustCompile(`\b[0-9]{6}\b`)

// TestMFAEmailOOB enrols an email authenticator and confirms it with the
// code read from a real SMTP listener; then challenges by email.
func TestMFAEmailOOB(t *testing.T) {
	t.Parallel()
	mail := smtptest.Start(t)
	mailer, err := notify.NewSMTP(notify.SMTPConfig{Host: mail.Host, Port: mail.Port, Username: smtptest.Username, Password: smtptest.Password,
		From: "gatehouse <no-reply@example.com>", RootCAs: mail.CA.Pool})
	if err != nil {
		t.Fatal(err)
	}
	e := testenv.Start(t, testenv.WithServerOptions(server.WithNotifiers(mailer, nil)))
	tn := e.SeedTenant(withMFAGrants)
	e.API("PUT", "/guardian/factors/email", map[string]any{"enabled": true}, 200)
	e.API("PUT", "/guardian/policies", []string{"all-applications"}, 200)

	mfaToken, _ := mfaRequired(t, e, tn)
	status, body := bearerJSON(e, "POST", "/mfa/associate", mfaToken, map[string]any{"authenticator_types": []string{"oob"}, "oob_channels": []string{"email"}, "email": "second@example.com"})
	if status != 200 || body["oob_channel"] != "email" || body["binding_method"] != "prompt" || body["recovery_codes"] != nil {
		t.Fatalf("associate email = %d %v", status, body)
	}
	oob := body["oob_code"].(string)
	msg := mail.Wait(t, "second@example.com", 10*time.Second)
	code := sixDigits.FindString(msg.Body)
	grant := func(tok, oob, binding string) (int, map[string]any) {
		return e.PostForm("/oauth/token", url.Values{"grant_type": {grantMFAOOB}, "mfa_token": {tok}, "oob_code": {oob}, "binding_code": {binding},
			"client_id": {tn.ClientID}, "client_secret": {tn.ClientSecret}})
	}
	wrong := "000000"
	if code == wrong {
		wrong = "111111"
	}
	if status, body := grant(mfaToken, oob, wrong); status != 403 || body["error_description"] != "Invalid binding_code." {
		t.Errorf("wrong binding code = %d %v", status, body)
	}
	if status, body := grant(mfaToken, oob, code); status != 200 || body["access_token"] == nil {
		t.Fatalf("email oob grant = %d %v (mail %q)", status, body, msg.Body)
	}
	// Enrolled: the next login challenges by email.
	next, _ := mfaRequired(t, e, tn)
	status, body = e.PostJSON("/mfa/challenge", map[string]any{"mfa_token": next, "client_id": tn.ClientID, "client_secret": tn.ClientSecret, "challenge_type": "oob"})
	if status != 200 || body["challenge_type"] != "oob" || body["binding_method"] != "prompt" {
		t.Fatalf("challenge = %d %v", status, body)
	}
	var second string
	for deadline := time.Now().Add(10 * time.Second); second == "" && time.Now().Before(deadline); time.Sleep(20 * time.Millisecond) {
		if msgs := mail.Messages(); len(msgs) >= 2 {
			second = sixDigits.FindString(msgs[1].Body)
		}
	}
	if status, body := grant(next, body["oob_code"].(string), second); status != 200 {
		t.Fatalf("challenged oob grant = %d %v", status, body)
	}
}

func TestMFAChallengeNotEnrolled(t *testing.T) {
	t.Parallel()
	e, tn := mfaTenant(t, withMFAGrants)
	mfaToken, _ := mfaRequired(t, e, tn)
	status, body := e.PostJSON("/mfa/challenge", map[string]any{"mfa_token": mfaToken, "client_id": tn.ClientID, "client_secret": tn.ClientSecret})
	if status != 400 || body["error"] != "unsupported_challenge_type" {
		t.Errorf("challenge not enrolled = %d %v", status, body)
	}
	status, body = e.PostJSON("/mfa/challenge", map[string]any{"mfa_token": "nope", "client_id": tn.ClientID, "client_secret": tn.ClientSecret})
	if status != 403 || body["error_description"] != "Malformed mfa_token" {
		t.Errorf("challenge bad token = %d %v", status, body)
	}
}
