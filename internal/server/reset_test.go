package server_test

import (
	"io"
	"mime/quotedprintable"
	"net/http"
	"net/http/cookiejar"
	"net/url"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/gatehouse/gatehouse/internal/notify"
	"github.com/gatehouse/gatehouse/internal/server"
	"github.com/gatehouse/gatehouse/internal/testenv"
	"github.com/gatehouse/gatehouse/internal/testenv/smtptest"
)

// mailEnv is a gatehouse that sends email to a real SMTP listener.
func mailEnv(t *testing.T, opts ...testenv.Option) (*testenv.Env, *smtptest.Server) {
	t.Helper()
	mail := smtptest.Start(t)
	mailer, err := notify.NewSMTP(notify.SMTPConfig{Host: mail.Host, Port: mail.Port, Username: smtptest.Username, Password: smtptest.Password,
		From: "gatehouse <no-reply@example.com>", RootCAs: mail.CA.Pool})
	if err != nil {
		t.Fatal(err)
	}
	return testenv.Start(t, append(opts, testenv.WithServerOptions(server.WithNotifiers(mailer, nil)))...), mail
}

// body decodes a message's quoted-printable text.
func mailText(t *testing.T, m smtptest.Message) string {
	t.Helper()
	b, err := io.ReadAll(quotedprintable.NewReader(strings.NewReader(m.Body)))
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

var linkRE = regexp.MustCompile(`https?://\S+`)

// browser is an HTTP client with cookies that does not follow redirects.
func browser(t *testing.T) *http.Client {
	jar, _ := cookiejar.New(nil)
	return &http.Client{Jar: jar, CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
}

func get(t *testing.T, c *http.Client, u string) (int, string, http.Header) {
	t.Helper()
	resp, err := c.Get(u)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, string(b), resp.Header
}

func postForm(t *testing.T, c *http.Client, u string, v url.Values) (int, string, http.Header) {
	t.Helper()
	resp, err := c.PostForm(u, v)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, string(b), resp.Header
}

var hiddenRE = regexp.MustCompile(`name="(ticket|csrf)" value="([^"]+)"`)

func formFields(t *testing.T, page string) url.Values {
	t.Helper()
	v := url.Values{}
	for _, m := range hiddenRE.FindAllStringSubmatch(page, -1) {
		v.Set(m[1], strings.ReplaceAll(m[2], "&#43;", "+"))
	}
	if v.Get("ticket") == "" || v.Get("csrf") == "" {
		t.Fatalf("no ticket or csrf field in %s", page)
	}
	return v
}

// TestPasswordReset: change_password mails a link; the page behind it
// sets a new password with a real form post; the user logs in with it;
// the old password and the used link fail.
func TestPasswordReset(t *testing.T) {
	t.Parallel()
	rec := &selfEvents{}
	e, mail := mailEnv(t, testenv.WithServerOptions(rec.option()))
	tn := e.SeedTenant()
	e.API("PATCH", "/tenants/settings", map[string]any{"friendly_name": "Acme Corp"}, 200)
	e.API("PATCH", "/connections/"+tn.ConnectionID, map[string]any{"options": map[string]any{"passwordPolicy": "good"}}, 200)

	ask := func(email string) (int, string) {
		req := testenv.JSONRequest(e.URL+"/dbconnections/change_password", map[string]any{"client_id": tn.ClientID, "email": email, "connection": tn.Connection})
		resp, err := e.Client.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		return resp.StatusCode, string(b)
	}
	// Nobody and somebody get the same answer.
	if status, text := ask("nobody@example.com"); status != 200 || text != "We've just sent you an email to reset your password." {
		t.Fatalf("unknown user = %d %q", status, text)
	}
	if status, text := ask("ANN@example.com"); status != 200 || text != "We've just sent you an email to reset your password." {
		t.Fatalf("known user = %d %q", status, text)
	}
	msg := mail.Wait(t, tn.Username, 10*time.Second)
	text := mailText(t, msg)
	if msg.Subject != "Reset your Acme Corp password" || !strings.Contains(text, "Acme Corp") {
		t.Errorf("message %q %q", msg.Subject, text)
	}
	link := linkRE.FindString(text)
	if !strings.HasPrefix(link, e.Issuer+"lo/reset?ticket=") {
		t.Fatalf("link %q in %q", link, text)
	}
	rec.wait(t, "scpr")
	if len(mail.Messages()) != 1 {
		t.Errorf("%d messages: the unknown address got one", len(mail.Messages()))
	}

	b := browser(t)
	b.Transport = e.Client.Transport
	status, page, hdr := get(t, b, link)
	if status != 200 || !strings.Contains(page, `<form method="post"`) || !strings.Contains(hdr.Get("Content-Security-Policy"), "default-src 'none'") ||
		hdr.Get("Referrer-Policy") != "no-referrer" || !strings.Contains(page, "At least 8 characters in length") {
		t.Fatalf("page = %d %v %s", status, hdr, page)
	}
	fields := formFields(t, page)

	// Without the CSRF cookie (another browser), the post is refused.
	other := browser(t)
	other.Transport = e.Client.Transport
	if status, _, _ := postForm(t, other, link, url.Values{"ticket": {fields.Get("ticket")}, "csrf": {fields.Get("csrf")},
		"password": {"N3w password!"}, "confirm": {"N3w password!"}}); status != 403 {
		t.Errorf("post without the cookie = %d", status)
	}
	// Without the CSRF field, refused too.
	if status, _, _ := postForm(t, b, link, url.Values{"ticket": {fields.Get("ticket")}, "password": {"N3w password!"}, "confirm": {"N3w password!"}}); status != 403 {
		t.Errorf("post without the field = %d", status)
	}
	// A weak password keeps the ticket.
	weak := url.Values{"ticket": {fields.Get("ticket")}, "csrf": {fields.Get("csrf")}, "password": {"abcdefgh"}, "confirm": {"abcdefgh"}}
	if status, page, _ := postForm(t, b, link, weak); status != 400 || !strings.Contains(page, "Password is too weak") {
		t.Errorf("weak password = %d %s", status, page)
	}
	ok := url.Values{"ticket": {fields.Get("ticket")}, "csrf": {fields.Get("csrf")}, "password": {"N3w password!"}, "confirm": {"N3w password!"}}
	if status, page, _ := postForm(t, b, link, ok); status != 200 || !strings.Contains(page, "Your password has been changed.") {
		t.Fatalf("reset = %d %s", status, page)
	}
	if ev := rec.wait(t, "scp"); ev.UserID != tn.UserID {
		t.Errorf("scp event %+v", ev)
	}
	// The link is spent.
	if status, _, _ := postForm(t, b, link, ok); status != 404 {
		t.Errorf("second use = %d", status)
	}
	if status, _, _ := get(t, b, link); status != 404 {
		t.Errorf("opening the used link = %d", status)
	}
	// The new password logs in, the old one no longer does.
	if status, body := e.PasswordGrant(tn, nil); status != 403 || body["error"] != "invalid_grant" {
		t.Errorf("old password = %d %v", status, body)
	}
	fresh := *tn
	fresh.Password = "N3w password!"
	if status, body := e.PasswordGrant(&fresh, nil); status != 200 {
		t.Errorf("new password = %d %v", status, body)
	}
}

// TestTickets: the Management API's password-change and
// email-verification tickets, their result_url, and expiry.
func TestTickets(t *testing.T) {
	t.Parallel()
	e := testenv.Start(t)
	tn := e.SeedTenant()
	b := browser(t)
	b.Transport = e.Client.Transport

	body := e.API("POST", "/tickets/email-verification", map[string]any{"user_id": tn.UserID, "result_url": "https://app.example.com/verified",
		"includeEmailInRedirect": true}, 201)
	link := body["ticket"].(string)
	if e.API("GET", "/users/"+tn.UserID, nil, 200)["email_verified"] != false {
		t.Fatal("verified before the link")
	}
	status, _, hdr := get(t, b, link)
	loc, _ := url.Parse(hdr.Get("Location"))
	if status != 303 || loc.Host != "app.example.com" || loc.Query().Get("success") != "true" || loc.Query().Get("email") != tn.Username {
		t.Fatalf("verification = %d %v", status, hdr)
	}
	if e.API("GET", "/users/"+tn.UserID, nil, 200)["email_verified"] != true {
		t.Error("email not verified")
	}
	if status, _, _ := get(t, b, link); status != 404 {
		t.Errorf("second verification = %d", status)
	}

	// A password-change ticket named by email and connection, with a short
	// life: it expires.
	body = e.API("POST", "/tickets/password-change", map[string]any{"email": tn.Username, "connection_id": tn.ConnectionID, "ttl_sec": 60,
		"mark_email_as_verified": true}, 201)
	link = body["ticket"].(string)
	if status, _, _ := get(t, b, link); status != 200 {
		t.Fatalf("fresh ticket = %d", status)
	}
	e.Clock.Advance(2 * time.Minute)
	if status, _, _ := get(t, b, link); status != 404 {
		t.Errorf("expired ticket = %d", status)
	}
	for _, bad := range []map[string]any{{}, {"user_id": "auth0|nope"}, {"user_id": tn.UserID, "result_url": "javascript:alert(1)"}, {"user_id": tn.UserID, "ttl_sec": -1}} {
		req := testenv.JSONRequest(e.URL+"/api/v2/tickets/password-change", bad)
		req.Header.Set("Authorization", "Bearer "+e.Mgmt)
		if status, body, _ := e.Do(req); status < 400 || status >= 500 || body["statusCode"] == nil {
			t.Errorf("%v = %d %v", bad, status, body)
		}
	}
}
