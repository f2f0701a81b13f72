package server_test

import (
	"context"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/auth0/go-auth0/management"
)

// TestVerificationEmail: go-auth0's Job.VerifyEmail mails a link (read
// from a real SMTP listener) whose page marks the email verified; a
// signup sends one only once the tenant enabled its verify_email
// template, and then in the template's words.
func TestVerificationEmail(t *testing.T) {
	t.Parallel()
	e, mail := mailEnv(t)
	tn := e.SeedTenant()
	created := e.API("POST", "/users", map[string]any{"connection": tn.Connection, "email": "unverified@example.com",
		"password": "a long and unusual passphrase", "email_verified": false}, 201)
	id := created["user_id"].(string)
	m, err := management.New(strings.TrimPrefix(e.URL, "http://"), management.WithInsecure(), management.WithStaticToken(e.Mgmt))
	if err != nil {
		t.Fatal(err)
	}
	job := &management.Job{UserID: &id}
	if err := m.Job.VerifyEmail(context.Background(), job); err != nil {
		t.Fatalf("go-auth0 Job.VerifyEmail: %v", err)
	}
	if job.GetType() != "verification_email" || job.GetStatus() != "completed" || job.GetID() == "" {
		t.Fatalf("job %+v", job)
	}
	if read, err := m.Job.Read(context.Background(), job.GetID()); err != nil || read.GetType() != "verification_email" {
		t.Fatalf("job read back: %+v, %v", read, err)
	}
	follow := func(to string) string {
		t.Helper()
		msg := mail.Wait(t, to, 10*time.Second)
		link := linkRE.FindString(mailText(t, msg))
		if !strings.Contains(link, "/lo/verify_email?ticket=") {
			t.Fatalf("verification email to %s: %q", to, mailText(t, msg))
		}
		status, page, _ := get(t, browser(t), link)
		if status != http.StatusOK {
			t.Fatalf("verification page: %d %s", status, page)
		}
		return msg.Subject
	}
	follow("unverified@example.com")
	if u := e.API("GET", "/users/"+url.PathEscape(id), nil, 200); u["email_verified"] != true {
		t.Fatalf("after the link: %v", u)
	}
	e.API("POST", "/jobs/verification-email", map[string]any{}, 400)
	e.API("POST", "/jobs/verification-email", map[string]any{"user_id": "auth0|nobody"}, 404)

	signup := func(email string) {
		t.Helper()
		if status, body := e.PostJSON("/dbconnections/signup", map[string]any{"client_id": tn.ClientID, "connection": tn.Connection,
			"email": email, "password": "another unusual passphrase"}); status != 200 {
			t.Fatalf("signup %s: %d %v", email, status, body)
		}
	}
	signup("quiet@example.com")
	e.API("POST", "/email-templates", map[string]any{"template": "verify_email", "enabled": true, "syntax": "liquid",
		"from": "accounts@example.com", "subject": "Confirm {{ user.email }}", "body": "Open {{ url }} to confirm."}, 201)
	signup("welcome@example.com")
	if subject := follow("welcome@example.com"); subject != "Confirm welcome@example.com" {
		t.Fatalf("signup verification subject %q", subject)
	}
	for _, msg := range mail.Messages() {
		for _, to := range msg.To {
			if to == "quiet@example.com" {
				t.Fatalf("a signup before the template was enabled got mail: %q", msg.Subject)
			}
		}
	}
}
