package server_test

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/auth0/go-auth0/management"

	"github.com/gatehouse/gatehouse/internal/config"
	"github.com/gatehouse/gatehouse/internal/testenv"
	"github.com/gatehouse/gatehouse/internal/testenv/smtptest"
)

// TestAdminNotices follows the administrators' notices to a real SMTP
// listener: a login with a leaked password under the admin_notification
// shield with the "immediately" frequency, and a users import that asked
// for send_completion_email through go-auth0. Neither carries a password.
func TestAdminNotices(t *testing.T) {
	t.Parallel()
	const admins = "admins@example.com"
	e, mail := mailEnv(t, testenv.WithConfig(func(c *config.Config) { c.AdminEmail = admins }))
	tn := e.SeedTenant()
	e.API("PATCH", "/connections/"+tn.ConnectionID, map[string]any{"options": map[string]any{"password_policy": "none"}}, 200)
	const leaked = "letmein" // in the shipped list of leaked passwords
	e.API("POST", "/users", map[string]any{"connection": tn.Connection, "email": "leaky@example.com", "password": leaked}, 201)

	// Detection with only the daily summary sends nothing at the login.
	e.API("PATCH", "/attack-protection/breached-password-detection", map[string]any{"enabled": true,
		"shields": []string{"admin_notification"}, "admin_notification_frequency": []string{"daily"}}, 200)
	expectLogin(t, e, tn, "leaky@example.com", leaked, 200, "")
	e.API("PATCH", "/attack-protection/breached-password-detection", map[string]any{
		"admin_notification_frequency": []string{"immediately"}}, 200)
	expectLogin(t, e, tn, "leaky@example.com", leaked, 200, "")
	m := mail.Wait(t, admins, 10*time.Second)
	text := mailText(t, m)
	if m.Subject != "Breached password detected at login" || !strings.Contains(text, "leaky@example.com") {
		t.Fatalf("breached password notice: %q: %q", m.Subject, text)
	}
	if strings.Contains(text, leaked) {
		t.Fatal("the notice holds the password")
	}
	time.Sleep(200 * time.Millisecond)
	if n := countTo(mail, admins); n != 1 {
		t.Fatalf("%d notices for two leaked logins, one with only the daily summary: want 1", n)
	}

	mgmt, err := management.New(strings.TrimPrefix(e.URL, "http://"), management.WithInsecure(), management.WithStaticToken(e.Mgmt))
	if err != nil {
		t.Fatal(err)
	}
	send := true
	job := &management.Job{ConnectionID: &tn.ConnectionID, SendCompletionEmail: &send, Users: []map[string]any{
		{"email": "moved@import.test", "email_verified": true},
		{"email": "not an address"},
	}}
	if err := mgmt.Job.ImportUsers(context.Background(), job); err != nil {
		t.Fatal(err)
	}
	for deadline := time.Now().Add(30 * time.Second); countTo(mail, admins) < 2; time.Sleep(20 * time.Millisecond) {
		if time.Now().After(deadline) {
			t.Fatal("no import summary mailed")
		}
	}
	summary := mailText(t, mail.Messages()[len(mail.Messages())-1])
	for _, want := range []string{job.GetID(), "Inserted: 1", "Failed: 1", "/api/v2/jobs/" + job.GetID() + "/errors"} {
		if !strings.Contains(summary, want) {
			t.Errorf("import summary lacks %q: %q", want, summary)
		}
	}
}

func countTo(s *smtptest.Server, rcpt string) int {
	n := 0
	for _, m := range s.Messages() {
		for _, to := range m.To {
			if strings.EqualFold(to, rcpt) {
				n++
			}
		}
	}
	return n
}
