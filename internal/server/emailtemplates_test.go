package server_test

import (
	"net/url"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/gatehouse/gatehouse/internal/testenv"
)

// TestEmailTemplates: the Management API's email templates, and an
// enabled reset_email reaching the mailbox in place of gatehouse's text,
// with the values it substitutes escaped in HTML.
func TestEmailTemplates(t *testing.T) {
	t.Parallel()
	e, mail := mailEnv(t)
	tn := e.SeedTenant()
	e.API("PATCH", "/tenants/settings", map[string]any{"friendly_name": "Acme <b>Corp</b>"}, 200)

	e.API("GET", "/email-templates/reset_email", nil, 404)
	e.API("GET", "/email-templates/no_such_template", nil, 400)
	e.API("POST", "/email-templates", map[string]any{"template": "reset_email", "body": "x"}, 400)
	full := map[string]any{"template": "reset_email", "syntax": "liquid", "enabled": false, "from": "{{ application.name }} <help@example.com>",
		"subject":   "Password help for {{ friendly_name }}",
		"body":      `<html><body><p>Hello {{ user.email }}, {{ application.name }} at {{ friendly_name }}:</p><a href="{{ url }}">reset</a></body></html>`,
		"resultUrl": "https://app.example.com/after-reset", "urlLifetimeInSeconds": 600}
	created := e.API("POST", "/email-templates", full, 201)
	if created["template"] != "reset_email" || created["enabled"] != false || created["urlLifetimeInSeconds"] != float64(600) {
		t.Fatalf("created %v", created)
	}
	e.API("POST", "/email-templates", full, 409)
	e.API("PATCH", "/email-templates/reset_email", map[string]any{"body": "{% if url %}x{% endif %}"}, 400)
	e.API("PATCH", "/email-templates/reset_email", map[string]any{"syntax": "handlebars"}, 400)
	e.API("PATCH", "/email-templates/verify_email", map[string]any{"enabled": true}, 404)

	ask := func() {
		t.Helper()
		status, body, _ := e.Do(testenv.JSONRequest(e.URL+"/dbconnections/change_password",
			map[string]any{"client_id": tn.ClientID, "email": tn.Username, "connection": tn.Connection}))
		if status != 200 {
			t.Fatalf("change_password = %d %v", status, body)
		}
	}
	// Disabled: gatehouse's own text.
	ask()
	if m := mail.WaitN(t, tn.Username, 1, 10*time.Second); m.Subject != "Reset your Acme <b>Corp</b> password" {
		t.Errorf("disabled template used: %q", m.Subject)
	}

	if got := e.API("PATCH", "/email-templates/reset_email", map[string]any{"enabled": true}, 200); got["enabled"] != true || got["body"] != full["body"] {
		t.Fatalf("patched %v", got)
	}
	if got := e.API("GET", "/email-templates/reset_email", nil, 200); got["resultUrl"] != "https://app.example.com/after-reset" {
		t.Fatalf("read %v", got)
	}
	ask()
	m := mail.WaitN(t, tn.Username, 2, 10*time.Second)
	html := mailText(t, m)
	if m.Subject != "Password help for Acme <b>Corp</b>" || !strings.HasPrefix(m.Header.Get("Content-Type"), "text/html") ||
		!strings.Contains(m.Header.Get("From"), "Seed App") {
		t.Errorf("message %q %q %q", m.Subject, m.Header.Get("Content-Type"), m.Header.Get("From"))
	}
	if !strings.Contains(html, "Hello ann@example.com, Seed App at Acme &lt;b&gt;Corp&lt;/b&gt;:") || strings.Contains(html, "<b>") {
		t.Errorf("body not escaped: %s", html)
	}
	link := linkRE.FindString(html)
	link = strings.TrimSuffix(link[:strings.IndexAny(link+`"`, `"`)], `"`)
	link = strings.ReplaceAll(link, "&amp;", "&")
	if !strings.HasPrefix(link, e.Issuer+"lo/reset?ticket=") {
		t.Fatalf("link %q in %s", link, html)
	}
	// The page honours the template's result URL.
	b := browser(t)
	b.Transport = e.Client.Transport
	_, page, _ := get(t, b, link)
	fields := formFields(t, page)
	fields.Set("password", "An0ther long password!")
	fields.Set("confirm", "An0ther long password!")
	status, _, hdr := postForm(t, b, link, fields)
	if loc, _ := url.Parse(hdr.Get("Location")); status != 303 || loc.Host != "app.example.com" {
		t.Errorf("after reset = %d %v", status, hdr)
	}

	// PUT replaces wholesale, and creates.
	put := e.API("PUT", "/email-templates/verify_email", map[string]any{"template": "verify_email", "syntax": "liquid", "enabled": true,
		"from": "", "subject": "Verify", "body": "Open {{ url }}"}, 200)
	if put["subject"] != "Verify" || put["resultUrl"] != nil {
		t.Errorf("put %v", put)
	}
	e.API("PUT", "/email-templates/verify_email", map[string]any{"template": "verify_email", "syntax": "liquid", "enabled": false,
		"from": "", "subject": "Again", "body": "b"}, 200)
	if got := e.API("GET", "/email-templates/verify_email", nil, 200); got["subject"] != "Again" || got["enabled"] != false {
		t.Errorf("after second put %v", got)
	}
}

// TestPasswordlessConnectionTemplate: an email connection's own subject,
// sender and HTML template reach the mailbox.
func TestPasswordlessConnectionTemplate(t *testing.T) {
	t.Parallel()
	p := newPasswordlessTenant(t, map[string]any{"syntax": "liquid", "from": "{{ application.name }} <codes@example.com>",
		"subject": "Sign in to {{ application.name }}", "template": "<p>Code: <b>{{ code }}</b> for {{ email }}</p>"})
	if status, body, _ := p.start(map[string]any{"connection": "email", "email": "tpl@example.com"}); status != 200 {
		t.Fatalf("start = %d %v", status, body)
	}
	code, m := p.mailedCode(t, "tpl@example.com", 1)
	if m.Subject != "Sign in to Passwordless App" || !strings.Contains(m.Header.Get("From"), "Passwordless App") ||
		!strings.Contains(mailText(t, m), "<b>"+code+"</b> for tpl@example.com") {
		t.Errorf("message %q %q %q", m.Subject, m.Header.Get("From"), mailText(t, m))
	}
	if status, body := p.login("email", "tpl@example.com", code); status != 200 {
		t.Errorf("login = %d %v", status, body)
	}
}

// TestMFACodeTemplate: an enabled mfa_oob_code template carries the MFA
// email code.
func TestMFACodeTemplate(t *testing.T) {
	t.Parallel()
	e, mail := mailEnv(t)
	tn := e.SeedTenant(withMFAGrants)
	e.API("PUT", "/guardian/factors/email", map[string]any{"enabled": true}, 200)
	e.API("PUT", "/guardian/policies", []string{"all-applications"}, 200)
	e.API("PUT", "/email-templates/mfa_oob_code", map[string]any{"template": "mfa_oob_code", "syntax": "liquid", "enabled": true,
		"from": "", "subject": "Second step", "body": "Type {{ code }} to finish."}, 200)
	mfaToken, _ := mfaRequired(t, e, tn)
	status, body := bearerJSON(e, "POST", "/mfa/associate", mfaToken, map[string]any{"authenticator_types": []string{"oob"},
		"oob_channels": []string{"email"}, "email": "second@example.com"})
	if status != 200 {
		t.Fatalf("associate = %d %v", status, body)
	}
	m := mail.Wait(t, "second@example.com", 10*time.Second)
	if text := mailText(t, m); m.Subject != "Second step" || !sixDigitsSentence.MatchString(text) {
		t.Errorf("message %q %q", m.Subject, text)
	}
}

var sixDigitsSentence = regexp.MustCompile(`^Type [0-9]{6} to finish\.\s*$`)
