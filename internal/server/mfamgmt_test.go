package server_test

import (
	"context"
	"net/url"
	"testing"
	"time"

	"github.com/pquerna/otp/totp"

	"github.com/gatehouse/gatehouse/internal/store"
)

// TestMFAManagementOfUsers drives the Management API's endpoints for a
// user's second factors against real logins: enrollments and
// authentication methods are listed, a recovery code is regenerated (the
// old one stops working), one enrollment or all of them are deleted (the
// next login enrols again), and a phone goes with its voice twin.
func TestMFAManagementOfUsers(t *testing.T) {
	t.Parallel()
	e, tn := mfaTenant(t, withMFAGrants)
	user := "/users/" + url.PathEscape(tn.UserID)
	secret := enrolTOTP(t, e, tn.UserID)

	recovery := func(code string) (int, map[string]any) {
		mfaToken, _ := mfaRequired(t, e, tn)
		return e.PostForm("/oauth/token", url.Values{"grant_type": {grantMFARecovery}, "mfa_token": {mfaToken}, "recovery_code": {code},
			"client_id": {tn.ClientID}, "client_secret": {tn.ClientSecret}})
	}
	first := e.API("POST", user+"/recovery-code-regeneration", nil, 200)["recovery_code"].(string)
	second := e.API("POST", user+"/recovery-code-regeneration", nil, 200)["recovery_code"].(string)
	if len(first) != 24 || first == second {
		t.Fatalf("recovery codes %q then %q", first, second)
	}
	if status, body := recovery(first); status != 403 || body["error_description"] != "Invalid recovery_code." {
		t.Errorf("replaced recovery code = %d %v", status, body)
	}
	if status, body := recovery(second); status != 200 || body["recovery_code"] == nil {
		t.Errorf("regenerated recovery code = %d %v", status, body)
	}

	enrollments := e.API("GET", user+"/enrollments", nil, 200)["list"].([]any)
	if len(enrollments) != 1 {
		t.Fatalf("enrollments = %v", enrollments)
	}
	en := enrollments[0].(map[string]any)
	if en["id"] != "dev_test0000000000" || en["status"] != "confirmed" || en["type"] != "totp" || en["auth_method"] != "authenticator" {
		t.Errorf("enrollment = %v", en)
	}
	if got := e.API("GET", "/guardian/enrollments/dev_test0000000000", nil, 200); got["id"] != "dev_test0000000000" {
		t.Errorf("guardian enrollment = %v", got)
	}
	e.API("GET", "/guardian/enrollments/dev_nope", nil, 404)
	e.API("GET", "/users/auth0%7Cnobody/enrollments", nil, 404)

	methods := e.API("GET", user+"/authentication-methods", nil, 200)["list"].([]any)
	types := map[string]bool{}
	for _, m := range methods {
		mm := m.(map[string]any)
		types[mm["type"].(string)] = mm["confirmed"].(bool)
	}
	if len(methods) != 2 || !types["totp"] || !types["recovery-code"] {
		t.Errorf("authentication methods = %v", methods)
	}
	if got := e.API("GET", user+"/authentication-methods/"+url.PathEscape("totp|dev_test0000000000"), nil, 200); got["type"] != "totp" {
		t.Errorf("one method = %v", got)
	}
	// Another user's method is not found through this user.
	e.API("GET", "/users/"+url.PathEscape(tn.UserID+"x")+"/authentication-methods/"+url.PathEscape("totp|dev_test0000000000"), nil, 404)

	// A phone enrolled for SMS and voice: deleting one deletes both.
	for _, kind := range []string{"sms", "voice"} {
		if err := e.App.Store.CreateAuthenticator(context.Background(), &store.Authenticator{
			ID: kind + "|dev_phone00000000" + kind[:1], UserID: tn.UserID, Kind: kind, Name: "+14155550123", Active: true, CreatedAt: time.Now()}); err != nil {
			t.Fatal(err)
		}
	}
	phone := e.API("GET", user+"/authentication-methods/"+url.PathEscape("sms|dev_phone00000000s"), nil, 200)
	if phone["type"] != "phone" || phone["phone_number"] != "+14155550123" || phone["preferred_authentication_method"] != "sms" {
		t.Errorf("phone method = %v", phone)
	}
	e.API("DELETE", user+"/authentication-methods/"+url.PathEscape("sms|dev_phone00000000s"), nil, 204)
	if n := len(e.API("GET", user+"/enrollments", nil, 200)["list"].([]any)); n != 1 {
		t.Errorf("after deleting the phone: %d enrollments, want the totp alone", n)
	}

	// The remembered browsers: none kept, the user must exist.
	e.API("POST", user+"/multifactor/actions/invalidate-remember-browser", nil, 204)
	e.API("POST", "/users/auth0%7Cnobody/multifactor/actions/invalidate-remember-browser", nil, 404)

	// Deleting the enrollment: OTP codes stop working.
	e.API("DELETE", "/guardian/enrollments/dev_test0000000000", nil, 204)
	e.API("DELETE", "/guardian/enrollments/dev_test0000000000", nil, 404)
	mfaToken, _ := mfaRequired(t, e, tn)
	code, _ := totp.GenerateCode(secret, time.Now())
	if status, body := otpGrant(e, tn, mfaToken, code); status != 403 || body["error_description"] != "Invalid otp_code." {
		t.Errorf("otp after the enrollment was deleted = %d %v", status, body)
	}

	// The reset: nothing left, the next login is asked to enrol.
	e.API("DELETE", user+"/authenticators", nil, 204)
	if n := len(e.API("GET", user+"/authentication-methods", nil, 200)["list"].([]any)); n != 0 {
		t.Errorf("after the reset: %d methods", n)
	}
	_, body := mfaRequired(t, e, tn)
	if req, _ := body["mfa_requirements"].(map[string]any); req["enroll"] == nil || req["challenge"] != nil {
		t.Errorf("mfa_requirements after the reset = %v", body["mfa_requirements"])
	}
	e.API("DELETE", "/users/auth0%7Cnobody/authenticators", nil, 404)
}
