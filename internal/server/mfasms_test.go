package server_test

import (
	"context"
	"database/sql"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"sync"
	"testing"

	"github.com/auth0/go-auth0"
	"github.com/auth0/go-auth0/management"

	"github.com/gatehouse/gatehouse/internal/config"
	"github.com/gatehouse/gatehouse/internal/testenv"
)

// twilioMessage is one message a local Twilio-compatible server took.
type twilioMessage struct{ account, user, token, to, from, service, body string }

// twilioServer answers Twilio's Messages API and keeps what it was sent.
type twilioServer struct {
	*httptest.Server
	mu   sync.Mutex
	sent []twilioMessage
}

func startTwilio(t *testing.T) *twilioServer {
	s := &twilioServer{}
	s.Server = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		account, ok := strings.CutPrefix(r.URL.Path, "/2010-04-01/Accounts/")
		account, found := strings.CutSuffix(account, "/Messages.json")
		if !ok || !found || r.Method != "POST" {
			http.NotFound(w, r)
			return
		}
		r.ParseForm()
		m := twilioMessage{account: account, to: r.Form.Get("To"), from: r.Form.Get("From"), service: r.Form.Get("MessagingServiceSid"), body: r.Form.Get("Body")}
		m.user, m.token, _ = r.BasicAuth()
		s.mu.Lock()
		s.sent = append(s.sent, m)
		s.mu.Unlock()
		w.WriteHeader(201)
		w.Write([]byte(`{"sid":"SM1","status":"queued"}`))
	}))
	t.Cleanup(s.Close)
	return s
}

// last returns the latest message, or fails.
func (s *twilioServer) last(t *testing.T, n int) twilioMessage {
	t.Helper()
	s.mu.Lock()
	defer s.mu.Unlock()
	if len(s.sent) != n {
		t.Fatalf("%d messages sent, want %d: %+v", len(s.sent), n, s.sent)
	}
	return s.sent[n-1]
}

// TestMFASMSProviderSettings: the tenant's Twilio account, selected
// provider and message templates through go-auth0's Guardian calls; the
// auth token is write-only and sealed at rest; once Twilio is selected the
// MFA codes go through the tenant's account with its templates, and back
// on auth0 through the server's --sms-* account.
func TestMFASMSProviderSettings(t *testing.T) {
	t.Parallel()
	tw := startTwilio(t)
	e := testenv.Start(t, testenv.WithConfig(func(c *config.Config) {
		c.SMSURL, c.SMSAccountSID, c.SMSAuthToken, c.SMSFrom = tw.URL, "ACserver", "server-token", "+15550001111"
	}))
	tn := e.SeedTenant(withMFAGrants)
	e.API("PUT", "/guardian/factors/sms", map[string]any{"enabled": true}, 200)
	e.API("PUT", "/guardian/policies", []string{"all-applications"}, 200)
	m, err := management.New(strings.TrimPrefix(e.URL, "http://"), management.WithInsecure(), management.WithStaticToken(e.Mgmt))
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	sms, phone := m.Guardian.MultiFactor.SMS, m.Guardian.MultiFactor.Phone

	// The defaults: Auth0's provider (the server's) and Auth0's texts.
	if p, err := phone.Provider(ctx); err != nil || p.GetProvider() != "auth0" {
		t.Fatalf("default provider = %v %v", p, err)
	}
	if tpl, err := sms.Template(ctx); err != nil || !strings.HasPrefix(tpl.GetVerificationMessage(), "{{code}} is your verification code") {
		t.Fatalf("default templates = %v %v", tpl, err)
	}
	if got, err := sms.Twilio(ctx); err != nil || got.GetSID() != "" {
		t.Fatalf("twilio before = %v %v", got, err)
	}

	err = sms.UpdateTwilio(ctx, &management.MultiFactorProviderTwilio{From: auth0.String("+15559998888"), SID: auth0.String("ACtenant"),
		AuthToken: auth0.String("tenant-token-8c1f")})
	if err != nil {
		t.Fatal(err)
	}
	got, err := sms.Twilio(ctx)
	if err != nil || got.GetSID() != "ACtenant" || got.GetFrom() != "+15559998888" || got.AuthToken != nil {
		t.Fatalf("twilio after = %+v %v", got, err)
	}
	// The phone factor's paths show the same settings.
	if v := e.API("GET", "/guardian/factors/phone/providers/twilio", nil, 200); v["sid"] != "ACtenant" || v["auth_token"] != nil {
		t.Fatalf("phone twilio = %v", v)
	}
	// At rest the token is sealed.
	db, err := sql.Open("sqlite", e.App.Config.SQLitePath())
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	var doc string
	if err := db.QueryRow(`SELECT doc FROM tenant_settings WHERE id = 1`).Scan(&doc); err != nil {
		t.Fatal(err)
	}
	if strings.Contains(doc, "tenant-token-8c1f") || !strings.Contains(doc, "sealed_auth_token") {
		t.Fatalf("tenant settings on disk: %s", doc)
	}

	err = sms.UpdateTemplate(ctx, &management.MultiFactorSMSTemplate{
		EnrollmentMessage:   auth0.String("Welcome to {{tenant.friendly_name}}: {{code}}"),
		VerificationMessage: auth0.String("Sign-in code {{ code }}"),
	})
	if err != nil {
		t.Fatal(err)
	}
	e.API("PATCH", "/tenants/settings", map[string]any{"friendly_name": "Acme"}, 200)
	if err := phone.UpdateProvider(ctx, &management.MultiFactorProvider{Provider: auth0.String("twilio")}); err != nil {
		t.Fatal(err)
	}
	if p := e.API("GET", "/guardian/factors/sms/selected-provider", nil, 200); p["provider"] != "twilio" {
		t.Fatalf("sms selected provider = %v", p)
	}

	// Enrolling a phone: the code goes through the tenant's account.
	mfaToken, _ := mfaRequired(t, e, tn)
	status, body := bearerJSON(e, "POST", "/mfa/associate", mfaToken, map[string]any{"authenticator_types": []string{"oob"},
		"oob_channels": []string{"sms"}, "phone_number": "+15557654321"})
	if status != 200 || body["oob_channel"] != "sms" {
		t.Fatalf("associate sms = %d %v", status, body)
	}
	msg := tw.last(t, 1)
	code := sixDigits.FindString(msg.body)
	if msg.account != "ACtenant" || msg.user != "ACtenant" || msg.token != "tenant-token-8c1f" || msg.from != "+15559998888" ||
		msg.to != "+15557654321" || msg.body != "Welcome to Acme: "+code {
		t.Fatalf("enrolment message = %+v", msg)
	}
	status, tokens := e.PostForm("/oauth/token", url.Values{"grant_type": {grantMFAOOB}, "mfa_token": {mfaToken},
		"oob_code": {body["oob_code"].(string)}, "binding_code": {code}, "client_id": {tn.ClientID}, "client_secret": {tn.ClientSecret}})
	if status != 200 {
		t.Fatalf("mfa-oob grant = %d %v", status, tokens)
	}

	// A messaging service replaces the number; a PUT without the token keeps it.
	if err := sms.UpdateTwilio(ctx, &management.MultiFactorProviderTwilio{MessagingServiceSid: auth0.String("MG0123")}); err != nil {
		t.Fatal(err)
	}
	challenge := func() string {
		t.Helper()
		mfaToken, _ := mfaRequired(t, e, tn)
		status, body := e.PostJSON("/mfa/challenge", map[string]any{"mfa_token": mfaToken, "client_id": tn.ClientID,
			"client_secret": tn.ClientSecret, "challenge_type": "oob"})
		if status != 200 {
			t.Fatalf("challenge = %d %v", status, body)
		}
		return body["oob_code"].(string)
	}
	challenge()
	msg = tw.last(t, 2)
	if msg.account != "ACtenant" || msg.token != "tenant-token-8c1f" || msg.service != "MG0123" || msg.from != "" ||
		!strings.HasPrefix(msg.body, "Sign-in code ") || sixDigits.FindString(msg.body) == "" {
		t.Fatalf("verification message = %+v", msg)
	}

	// Back on auth0: the server's account sends.
	if err := phone.UpdateProvider(ctx, &management.MultiFactorProvider{Provider: auth0.String("auth0")}); err != nil {
		t.Fatal(err)
	}
	challenge()
	msg = tw.last(t, 3)
	if msg.account != "ACserver" || msg.token != "server-token" || msg.from != "+15550001111" {
		t.Fatalf("message through the server's provider = %+v", msg)
	}

	// Refusals, in the Management API's error shape.
	for _, c := range []struct {
		path string
		body any
	}{
		{"/guardian/factors/phone/selected-provider", map[string]any{"provider": "pigeon"}},
		{"/guardian/factors/phone/selected-provider", map[string]any{"provider": "phone-message-hook"}},
		{"/guardian/factors/sms/selected-provider", map[string]any{}},
		{"/guardian/factors/sms/templates", map[string]any{"enrollment_message": "x"}},
		{"/guardian/factors/sms/templates", map[string]any{"enrollment_message": "x", "verification_message": ""}},
		{"/guardian/factors/sms/providers/twilio", map[string]any{"from": "not a number"}},
		{"/guardian/factors/sms/providers/twilio", map[string]any{"sid": 42}},
		{"/guardian/factors/sms/providers/twilio", []string{"x"}},
	} {
		if b := e.API("PUT", c.path, c.body, 400); b["statusCode"] != float64(400) {
			t.Errorf("PUT %s %v = %v", c.path, c.body, b)
		}
	}
}
