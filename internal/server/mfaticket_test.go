package server_test

import (
	"context"
	"net/url"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/auth0/go-auth0/management"
	"github.com/pquerna/otp/totp"

	"github.com/gatehouse/gatehouse/internal/testenv"
)

var (
	secretRE   = regexp.MustCompile(`<code id="secret">([A-Z2-7]+)</code>`)
	recoveryRE = regexp.MustCompile(`<code id="recovery-code">([A-Z0-9]{24})</code>`)
)

// TestMFAEnrollmentTicket: an enrolment ticket made through go-auth0 is
// mailed; its page (no scripts, strict CSP, an inline SVG QR code) takes
// the first code by a real form post and activates the authenticator
// app; then a password login answers mfa_required and the mfa-otp grant
// with the enrolled secret succeeds, and the recovery code shown works.
func TestMFAEnrollmentTicket(t *testing.T) {
	t.Parallel()
	rec := &selfEvents{}
	e, mail := mailEnv(t, testenv.WithServerOptions(rec.option()))
	tn := e.SeedTenant(withMFAGrants)
	m, err := management.New(strings.TrimPrefix(e.URL, "http://"), management.WithInsecure(), management.WithStaticToken(e.Mgmt))
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	// The otp factor must be on.
	if _, err := m.Guardian.Enrollment.CreateTicket(ctx, &management.CreateEnrollmentTicket{UserID: tn.UserID}); err == nil {
		t.Fatal("a ticket while otp is off")
	}
	e.API("PUT", "/guardian/factors/otp", map[string]any{"enabled": true}, 200)
	e.API("PUT", "/guardian/factors/recovery-code", map[string]any{"enabled": true}, 200)
	e.API("PUT", "/guardian/policies", []string{"all-applications"}, 200)
	e.API("POST", "/guardian/enrollments/ticket", map[string]any{}, 400)
	e.API("POST", "/guardian/enrollments/ticket", map[string]any{"user_id": tn.UserID, "factor": "push-notification"}, 400)
	e.API("POST", "/guardian/enrollments/ticket", map[string]any{"user_id": tn.UserID, "factor": "pigeon"}, 400)
	e.API("POST", "/guardian/enrollments/ticket", map[string]any{"user_id": "auth0|nobody"}, 404)
	e.API("POST", "/guardian/enrollments/ticket", map[string]any{"user_id": tn.UserID, "email": "not an address", "send_mail": true}, 400)

	ticket, err := m.Guardian.Enrollment.CreateTicket(ctx, &management.CreateEnrollmentTicket{UserID: tn.UserID, SendMail: true,
		Email: "ann.phone@example.com", Factor: "otp"})
	if err != nil {
		t.Fatal(err)
	}
	if !strings.HasPrefix(ticket.TicketURL, e.Issuer+"lo/guardian_enroll?ticket=") || len(ticket.TicketID) != 64 ||
		strings.Contains(ticket.TicketURL, ticket.TicketID) {
		t.Fatalf("ticket = %+v", ticket)
	}
	msg := mail.Wait(t, "ann.phone@example.com", 10*time.Second)
	if link := linkRE.FindString(mailText(t, msg)); link != ticket.TicketURL {
		t.Fatalf("mailed link %q, ticket %q", link, ticket.TicketURL)
	}

	c := browser(t)
	status, page, h := get(t, c, ticket.TicketURL)
	if status != 200 || !strings.Contains(h.Get("Content-Security-Policy"), "default-src 'none'") || strings.Contains(page, "<script") ||
		!strings.Contains(page, "<svg") || !strings.Contains(page, `<path fill="#000" d="M4 4h1v1h-1z`) {
		t.Fatalf("enrolment page = %d %v\n%s", status, h, page)
	}
	secret := secretRE.FindStringSubmatch(page)[1]
	if !strings.Contains(page, "otpauth://totp/") || !strings.Contains(page, "secret="+secret) {
		t.Fatalf("no otpauth URI for %s in\n%s", secret, page)
	}
	// A reload shows the same secret.
	if _, again, _ := get(t, c, ticket.TicketURL); secretRE.FindStringSubmatch(again)[1] != secret {
		t.Fatal("the secret changed on reload")
	}
	form := formFields(t, page)
	submit := func(code string) (int, string) {
		form.Set("code", code)
		status, body, _ := postForm(t, c, ticket.TicketURL, form)
		return status, body
	}
	// No CSRF cookie (another browser): refused.
	form.Set("code", "123456")
	if status, _, _ := postForm(t, browser(t), ticket.TicketURL, form); status != 403 {
		t.Fatalf("post without the cookie = %d", status)
	}
	if status, body := submit("000000"); status != 400 || !strings.Contains(body, "That code was not accepted") || secretRE.FindStringSubmatch(body)[1] != secret {
		t.Fatalf("wrong code = %d\n%s", status, body)
	}
	first, _ := totp.GenerateCode(secret, time.Now())
	status, body := submit(first)
	if status != 200 || !strings.Contains(body, "Your authenticator app is set up") {
		t.Fatalf("good code = %d\n%s", status, body)
	}
	if ev := rec.wait(t, "gd_enrollment_complete"); ev.UserID != tn.UserID {
		t.Errorf("gd_enrollment_complete = %+v", ev)
	}
	rc := recoveryRE.FindStringSubmatch(body)
	if rc == nil {
		t.Fatalf("no recovery code shown:\n%s", body)
	}
	// The ticket is used up.
	if status, _, _ := get(t, c, ticket.TicketURL); status != 404 {
		t.Fatalf("used ticket = %d", status)
	}
	if status, _ := submit(first); status != 404 {
		t.Fatalf("used ticket posted = %d", status)
	}

	// A password login now needs the second factor: the enrolled app's next code.
	mfaToken, _ := mfaRequired(t, e, tn)
	_, list := bearerJSON(e, "GET", "/mfa/authenticators", mfaToken, nil)
	if l := list["list"].([]any); len(l) != 2 || l[0].(map[string]any)["active"] != true || l[1].(map[string]any)["active"] != true {
		t.Fatalf("authenticators = %v", l)
	}
	next, _ := totp.GenerateCode(secret, time.Now().Add(30*time.Second))
	status, tokens := otpGrant(e, tn, mfaToken, next)
	if status != 200 || tokens["access_token"] == nil {
		t.Fatalf("mfa-otp grant = %d %v", status, tokens)
	}
	mfaToken, _ = mfaRequired(t, e, tn)
	status, tokens = e.PostForm("/oauth/token", url.Values{"grant_type": {grantMFARecovery}, "mfa_token": {mfaToken}, "recovery_code": {rc[1]},
		"client_id": {tn.ClientID}, "client_secret": {tn.ClientSecret}})
	if status != 200 || tokens["recovery_code"] == nil {
		t.Fatalf("recovery grant = %d %v", status, tokens)
	}

	// Enrolled: a ticket without allow_multiple_enrollments shows so; with it, a second app.
	single := e.API("POST", "/guardian/enrollments/ticket", map[string]any{"user_id": tn.UserID}, 200)
	if status, body, _ := get(t, c, single["ticket_url"].(string)); status != 409 || !strings.Contains(body, "Already set up") {
		t.Fatalf("enrolled user, single ticket = %d\n%s", status, body)
	}
	multi := e.API("POST", "/guardian/enrollments/ticket", map[string]any{"user_id": tn.UserID, "allow_multiple_enrollments": true}, 200)
	if status, _, _ := get(t, c, multi["ticket_url"].(string)); status != 200 {
		t.Fatalf("multiple enrolments ticket = %d", status)
	}
	// Tickets expire (five days).
	late, err := m.Guardian.Enrollment.CreateTicket(ctx, &management.CreateEnrollmentTicket{UserID: tn.UserID, AllowMultipleEnrollments: true})
	if err != nil {
		t.Fatal(err)
	}
	e.Clock.Advance(5*24*time.Hour + time.Minute)
	if status, _, _ := get(t, c, late.TicketURL); status != 404 {
		t.Fatalf("expired ticket = %d", status)
	}
}
