package server_test

import (
	"net/http"
	"net/http/httptest"
	"net/url"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/gatehouse/gatehouse/internal/notify"
	"github.com/gatehouse/gatehouse/internal/server"
	"github.com/gatehouse/gatehouse/internal/testenv"
	"github.com/gatehouse/gatehouse/internal/testenv/smtptest"
)

const grantPasswordless = "http://auth0.com/oauth/grant-type/passwordless/otp"

// smsBox is a Twilio-compatible Messages API on loopback that keeps what
// it was asked to send.
type smsBox struct {
	mu   sync.Mutex
	sent []url.Values
}

func (b *smsBox) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	user, pass, _ := r.BasicAuth()
	if r.URL.Path != "/2010-04-01/Accounts/ACtest/Messages.json" || user != "ACtest" || pass != "twilio-token" || r.ParseForm() != nil {
		http.Error(w, `{"code":20003,"message":"Authenticate"}`, http.StatusUnauthorized)
		return
	}
	b.mu.Lock()
	b.sent = append(b.sent, r.PostForm)
	b.mu.Unlock()
	w.WriteHeader(http.StatusCreated)
	w.Write([]byte(`{"sid":"SM1","status":"queued"}`))
}

// wait returns the n-th text (from 1) sent to a number.
func (b *smsBox) wait(t *testing.T, to string, n int) string {
	t.Helper()
	for deadline := time.Now().Add(10 * time.Second); time.Now().Before(deadline); time.Sleep(10 * time.Millisecond) {
		b.mu.Lock()
		seen := 0
		for _, v := range b.sent {
			if v.Get("To") == to {
				if seen++; seen == n {
					b.mu.Unlock()
					return v.Get("Body")
				}
			}
		}
		b.mu.Unlock()
	}
	t.Fatalf("no text %d to %s", n, to)
	return ""
}

// pwlTenant is a gatehouse sending mail to a real SMTP listener and texts
// to a local Twilio-compatible server, with an application allowed the
// passwordless grant and both passwordless connections enabled for it.
type pwlTenant struct {
	e                  *testenv.Env
	mail               *smtptest.Server
	sms                *smsBox
	rec                *selfEvents
	clientID, secret   string
	emailConn, smsConn string // ids
}

func newPasswordlessTenant(t *testing.T, emailOptions map[string]any) *pwlTenant {
	t.Helper()
	p := &pwlTenant{mail: smtptest.Start(t), sms: &smsBox{}, rec: &selfEvents{}}
	mailer, err := notify.NewSMTP(notify.SMTPConfig{Host: p.mail.Host, Port: p.mail.Port, Username: smtptest.Username, Password: smtptest.Password,
		From: "gatehouse <no-reply@example.com>", RootCAs: p.mail.CA.Pool})
	if err != nil {
		t.Fatal(err)
	}
	twilio := httptest.NewServer(p.sms)
	t.Cleanup(twilio.Close)
	texts := &notify.Twilio{BaseURL: twilio.URL, AccountSID: "ACtest", AuthToken: "twilio-token", From: "+15550001111"}
	p.e = testenv.Start(t, testenv.WithServerOptions(server.WithNotifiers(mailer, texts), p.rec.option()))
	p.e.API("PATCH", "/tenants/settings", map[string]any{"friendly_name": "Acme Corp"}, 200)
	client := p.e.API("POST", "/clients", map[string]any{"name": "Passwordless App", "app_type": "regular_web",
		"grant_types": []string{grantPasswordless, "refresh_token"}, "token_endpoint_auth_method": "client_secret_post"}, 201)
	p.clientID, p.secret = client["client_id"].(string), client["client_secret"].(string)
	if emailOptions == nil {
		emailOptions = map[string]any{}
	}
	p.emailConn = p.e.API("POST", "/connections", map[string]any{"name": "email", "strategy": "email",
		"enabled_clients": []string{p.clientID}, "options": emailOptions}, 201)["id"].(string)
	p.smsConn = p.e.API("POST", "/connections", map[string]any{"name": "sms", "strategy": "sms",
		"enabled_clients": []string{p.clientID}, "options": map[string]any{"totp": map[string]any{"length": 8, "time_step": 300}}}, 201)["id"].(string)
	return p
}

func (p *pwlTenant) start(body map[string]any) (int, map[string]any, http.Header) {
	base := map[string]any{"client_id": p.clientID, "client_secret": p.secret, "send": "code"}
	for k, v := range body {
		if v == nil {
			delete(base, k)
			continue
		}
		base[k] = v
	}
	return p.e.Do(testenv.JSONRequest(p.e.URL+"/passwordless/start", base))
}

func (p *pwlTenant) login(realm, username, otp string) (int, map[string]any) {
	return p.e.PostForm("/oauth/token", url.Values{"grant_type": {grantPasswordless}, "client_id": {p.clientID}, "client_secret": {p.secret},
		"realm": {realm}, "username": {username}, "otp": {otp}, "scope": {"openid profile email offline_access"}})
}

var codeRE = regexp.MustCompile(`\b[0-9]{6,8}\b`)

// mailedCode is the code in the n-th message to addr.
func (p *pwlTenant) mailedCode(t *testing.T, addr string, n int) (string, smtptest.Message) {
	t.Helper()
	m := p.mail.WaitN(t, addr, n, 10*time.Second)
	code := codeRE.FindString(mailText(t, m))
	if code == "" {
		t.Fatalf("no code in %q", mailText(t, m))
	}
	return code, m
}

// TestPasswordlessEmail: a code mailed through a real SMTP listener logs
// the user in, creating them the first time; a used, wrong or expired code
// fails as Auth0 fails it, and a code dies after three wrong tries.
func TestPasswordlessEmail(t *testing.T) {
	t.Parallel()
	p := newPasswordlessTenant(t, nil)
	const addr = "pat@example.com"
	status, body, _ := p.start(map[string]any{"connection": "email", "email": "Pat@Example.com", "authParams": map[string]any{"scope": "openid"}})
	if status != 200 || body["email"] != addr || body["email_verified"] != false || !regexp.MustCompile(`^[0-9a-f]{24}$`).MatchString(body["_id"].(string)) {
		t.Fatalf("start = %d %v", status, body)
	}
	if ev := p.rec.wait(t, "cls"); ev.UserName != addr || ev.Connection != "email" || ev.ClientID != p.clientID {
		t.Errorf("cls event %+v", ev)
	}
	code, msg := p.mailedCode(t, addr, 1)
	if msg.Subject != "Your Acme Corp verification code" || len(code) != 6 || !strings.Contains(mailText(t, msg), "3 minutes") {
		t.Errorf("message %q %q", msg.Subject, mailText(t, msg))
	}

	status, tokens := p.login("email", addr, code)
	if status != 200 || tokens["access_token"] == nil || tokens["id_token"] == nil || tokens["refresh_token"] == nil {
		t.Fatalf("login = %d %v", status, tokens)
	}
	login := p.rec.wait(t, "s")
	if !strings.HasPrefix(login.UserID, "email|") || login.Connection != "email" {
		t.Errorf("s event %+v", login)
	}
	p.rec.wait(t, "ss")
	user := p.e.API("GET", "/users/"+url.PathEscape(login.UserID), nil, 200)
	if user["email"] != addr || user["email_verified"] != true || user["identities"].([]any)[0].(map[string]any)["provider"] != "email" {
		t.Errorf("user %v", user)
	}

	wrong := func(status int, body map[string]any, desc string) {
		t.Helper()
		if status != 403 || body["error"] != "invalid_grant" || body["error_description"] != desc {
			t.Errorf("= %d %v, want 403 invalid_grant %q", status, body, desc)
		}
	}
	const wrongCode = "Wrong email or verification code."
	// Used once, the code is spent.
	status, body = p.login("email", addr, code)
	wrong(status, body, wrongCode)
	p.rec.wait(t, "fepotpft")

	// A new code survives two wrong tries, not three.
	p.start(map[string]any{"connection": "email", "email": addr})
	code2, _ := p.mailedCode(t, addr, 2)
	bad := "000000"
	if code2 == bad {
		bad = "111111"
	}
	for range 3 {
		status, body = p.login("email", addr, bad)
		wrong(status, body, wrongCode)
	}
	status, body = p.login("email", addr, code2)
	wrong(status, body, "You've reached the maximum number of attempts. Please try to login again.")

	// A code past its three minutes fails; the next one logs the same user in.
	p.start(map[string]any{"connection": "email", "email": addr})
	code3, _ := p.mailedCode(t, addr, 3)
	p.e.Clock.Advance(181 * time.Second)
	status, body = p.login("email", addr, code3)
	wrong(status, body, wrongCode)
	p.start(map[string]any{"connection": "email", "email": addr})
	code4, _ := p.mailedCode(t, addr, 4)
	if status, body = p.login("email", addr, code4); status != 200 {
		t.Fatalf("second login = %d %v", status, body)
	}
	user = p.e.API("GET", "/users/"+url.PathEscape(login.UserID), nil, 200)
	if user["logins_count"] != float64(2) {
		t.Errorf("logins_count %v: the second login made another user?", user["logins_count"])
	}
}

// TestPasswordlessSMS: the code goes through a Twilio-compatible API on
// loopback, with the connection's length; the user is sms|... with the
// number verified.
func TestPasswordlessSMS(t *testing.T) {
	t.Parallel()
	p := newPasswordlessTenant(t, nil)
	const phone = "+15550100999"
	status, body, _ := p.start(map[string]any{"connection": "sms", "phone_number": "+1 555-010-0999", "send": nil})
	if status != 200 || body["phone_number"] != phone || body["phone_verified"] != false {
		t.Fatalf("start = %d %v", status, body)
	}
	p.rec.wait(t, "cs")
	text := p.sms.wait(t, phone, 1)
	code := codeRE.FindString(text)
	if len(code) != 8 || !strings.Contains(text, "Acme Corp") || !strings.Contains(text, "5 minutes") {
		t.Fatalf("text %q", text)
	}
	if status, body := p.login("sms", phone, "12345678"); status != 403 || body["error_description"] != "Wrong phone number or verification code." {
		t.Errorf("wrong code = %d %v", status, body)
	}
	status, tokens := p.login("sms", phone, code)
	if status != 200 {
		t.Fatalf("login = %d %v", status, tokens)
	}
	login := p.rec.wait(t, "s")
	user := p.e.API("GET", "/users/"+url.PathEscape(login.UserID), nil, 200)
	if !strings.HasPrefix(login.UserID, "sms|") || user["phone_number"] != phone || user["phone_verified"] != true {
		t.Errorf("user %v", user)
	}
	// The same number logs the same user in again.
	p.start(map[string]any{"connection": "sms", "phone_number": phone})
	if status, body := p.login("sms", phone, codeRE.FindString(p.sms.wait(t, phone, 2))); status != 200 {
		t.Fatalf("second login = %d %v", status, body)
	}
	if user := p.e.API("GET", "/users/"+url.PathEscape(login.UserID), nil, 200); user["logins_count"] != float64(2) {
		t.Errorf("logins_count %v: the second login made another user?", user["logins_count"])
	}
}

// TestPasswordlessStartRefusals: Auth0's error bodies for what
// /passwordless/start refuses, and disable_signup sending nothing to a
// stranger while answering the same.
func TestPasswordlessStartRefusals(t *testing.T) {
	t.Parallel()
	p := newPasswordlessTenant(t, map[string]any{"disable_signup": true})
	other := p.e.API("POST", "/clients", map[string]any{"name": "Password App", "app_type": "regular_web",
		"grant_types": []string{"password"}, "token_endpoint_auth_method": "client_secret_post"}, 201)
	for _, tc := range []struct {
		name   string
		body   map[string]any
		status int
		code   string
	}{
		{"grant not allowed", map[string]any{"client_id": other["client_id"], "client_secret": other["client_secret"], "connection": "email", "email": "a@x.test"},
			403, "unauthorized_client"},
		{"wrong secret", map[string]any{"client_secret": "nope", "connection": "email", "email": "a@x.test"}, 401, "access_denied"},
		{"no connection", map[string]any{"email": "a@x.test"}, 400, "bad.connection"},
		{"database connection", map[string]any{"connection": "Username-Password-Authentication", "email": "a@x.test"}, 400, "bad.connection"},
		{"no email", map[string]any{"connection": "email"}, 400, "bad.email"},
		{"bad email", map[string]any{"connection": "email", "email": "food"}, 400, "bad.email"},
		{"bad phone", map[string]any{"connection": "sms", "phone_number": "12ab"}, 400, "bad.phone_number"},
		{"link", map[string]any{"connection": "email", "email": "a@x.test", "send": "link"}, 400, "bad.send"},
		{"authParams not an object", map[string]any{"connection": "email", "email": "a@x.test", "authParams": "x"}, 400, "bad.authParams"},
		{"number as email", map[string]any{"connection": "email", "email": 5}, 400, "bad.email"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			status, body, _ := p.start(tc.body)
			if status != tc.status || body["error"] != tc.code || body["error_description"] == "" {
				t.Errorf("= %d %v, want %d %s", status, body, tc.status, tc.code)
			}
		})
	}
	req, _ := http.NewRequest("POST", p.e.URL+"/passwordless/start", strings.NewReader(`{"client_id":"x",`))
	req.Header.Set("Content-Type", "application/json")
	if status, body, _ := p.e.Do(req); status != 400 || body["error"] != "bad.request" {
		t.Errorf("malformed JSON = %d %v", status, body)
	}

	// disable_signup: a stranger gets the same answer and no code.
	if status, body, _ := p.start(map[string]any{"connection": "email", "email": "stranger@example.com"}); status != 200 || body["email"] != "stranger@example.com" {
		t.Fatalf("stranger = %d %v", status, body)
	}
	if ev := p.rec.wait(t, "cls"); !strings.Contains(ev.Description, "nothing sent") {
		t.Errorf("cls event %+v", ev)
	}
	time.Sleep(200 * time.Millisecond)
	if n := len(p.mail.Messages()); n != 0 {
		t.Errorf("%d messages sent with signup disabled", n)
	}
}

// TestSelfServiceRateLimits: codes to one address and reset links to one
// address stop at their bucket with 429 and Retry-After.
func TestSelfServiceRateLimits(t *testing.T) {
	t.Parallel()
	p := newPasswordlessTenant(t, nil)
	for i := range 6 {
		status, body, hdr := p.start(map[string]any{"connection": "email", "email": "flood@example.com"})
		if i < 5 && status != 200 {
			t.Fatalf("code %d = %d %v", i+1, status, body)
		}
		if i == 5 && (status != 429 || body["error"] != "too_many_requests" || hdr.Get("Retry-After") == "") {
			t.Fatalf("sixth code = %d %v %v", status, body, hdr)
		}
	}
	// Another address is not held back.
	if status, body, _ := p.start(map[string]any{"connection": "email", "email": "calm@example.com"}); status != 200 {
		t.Fatalf("other address = %d %v", status, body)
	}

	tn := p.e.SeedTenant()
	for i := range 6 {
		status, body, hdr := p.e.Do(testenv.JSONRequest(p.e.URL+"/dbconnections/change_password",
			map[string]any{"client_id": tn.ClientID, "email": tn.Username, "connection": tn.Connection}))
		if i < 5 && status != 200 {
			t.Fatalf("reset %d = %d %v", i+1, status, body)
		}
		if i == 5 && (status != 429 || body["code"] != "too_many_requests" || body["statusCode"] != float64(429) || hdr.Get("Retry-After") == "") {
			t.Fatalf("sixth reset = %d %v %v", status, body, hdr)
		}
	}
}

// TestPasswordlessConnectionOptions: the Management API checks the
// options of email and sms connections.
func TestPasswordlessConnectionOptions(t *testing.T) {
	t.Parallel()
	e := testenv.Start(t)
	for _, tc := range []struct {
		name    string
		options map[string]any
		status  int
	}{
		{"defaults", map[string]any{}, 201},
		{"auth0 shape", map[string]any{"from": "{{ application.name }} <root@example.com>", "subject": "Welcome to {{ application.name }}",
			"syntax": "liquid", "template": "<p>Your code is {{ code }}</p>", "totp": map[string]any{"time_step": 300, "length": 6},
			"disable_signup": false, "brute_force_protection": true}, 201},
		{"short code", map[string]any{"totp": map[string]any{"length": 2}}, 400},
		{"long life", map[string]any{"totp": map[string]any{"time_step": 999999}}, 400},
		{"liquid logic", map[string]any{"template": "{% if send == 'link' %}x{% endif %}"}, 400},
		{"wrong type", map[string]any{"disable_signup": "yes"}, 400},
	} {
		t.Run(tc.name, func(t *testing.T) {
			body := e.API("POST", "/connections", map[string]any{"name": "email-" + strings.ReplaceAll(tc.name, " ", "-"), "strategy": "email", "options": tc.options}, tc.status)
			if tc.status == 201 && body["strategy"] != "email" {
				t.Errorf("created %v", body)
			}
		})
	}
}
