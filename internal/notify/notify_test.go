package notify

import (
	"bytes"
	"context"
	"io"
	"log/slog"
	"mime/quotedprintable"
	"net/http"
	"net/http/httptest"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/gatehouse/gatehouse/internal/testenv/smtptest"
)

func TestSMTPDelivery(t *testing.T) {
	t.Parallel()
	srv := smtptest.Start(t)
	for _, tc := range []struct {
		name    string
		cfg     SMTPConfig
		wantTLS bool
	}{
		{"STARTTLS and AUTH", SMTPConfig{TLS: TLSStartTLS, Username: smtptest.Username, Password: smtptest.Password, RootCAs: srv.CA.Pool}, true},
		{"plain relay", SMTPConfig{TLS: TLSNone}, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			cfg := tc.cfg
			cfg.Host, cfg.Port, cfg.From = srv.Host, srv.Port, "Example Tenant <no-reply@example.com>"
			m, err := NewSMTP(cfg)
			if err != nil {
				t.Fatal(err)
			}
			to := strings.ReplaceAll(strings.ToLower(tc.name), " ", "-") + "@example.com"
			e, err := Render(TemplateResetEmail, Template{}, Data{Tenant: "Zoë's Tenant", Email: to, URL: "https://id.example.com/reset?ticket=abc123", TTL: 30})
			if err != nil {
				t.Fatal(err)
			}
			if err := m.SendMail(context.Background(), e); err != nil {
				t.Fatal(err)
			}
			got := srv.Wait(t, to, 5*time.Second)
			body, _ := io.ReadAll(quotedprintable.NewReader(strings.NewReader(got.Body)))
			if got.Subject != "Reset your Zoë's Tenant password" || !strings.Contains(string(body), "https://id.example.com/reset?ticket=abc123") {
				t.Fatalf("message: subject %q body %q", got.Subject, body)
			}
			if got.TLS != tc.wantTLS || got.Authed != (cfg.Username != "") {
				t.Fatalf("TLS %v authed %v, want %v %v", got.TLS, got.Authed, tc.wantTLS, cfg.Username != "")
			}
		})
	}
}

func TestSMTPRefusals(t *testing.T) {
	t.Parallel()
	srv := smtptest.Start(t)
	ctx := context.Background()
	wrong, _ := NewSMTP(SMTPConfig{Host: srv.Host, Port: srv.Port, From: "a@example.com", Username: smtptest.Username, Password: "nope", RootCAs: srv.CA.Pool})
	if err := wrong.SendMail(ctx, Email{To: "b@example.com", Subject: "x", Text: "y"}); err == nil {
		t.Error("wrong SMTP password accepted")
	}
	untrusted, _ := NewSMTP(SMTPConfig{Host: srv.Host, Port: srv.Port, From: "a@example.com"})
	if err := untrusted.SendMail(ctx, Email{To: "b@example.com", Subject: "x", Text: "y"}); err == nil {
		t.Error("a certificate from an unknown CA was accepted")
	}
	ok, _ := NewSMTP(SMTPConfig{Host: srv.Host, Port: srv.Port, From: "a@example.com", TLS: TLSNone})
	for _, e := range []Email{
		{To: "b@example.com", Subject: "x\r\nBcc: victim@example.com", Text: "y"},
		{To: "not an address", Subject: "x", Text: "y"},
	} {
		if err := ok.SendMail(ctx, e); err == nil {
			t.Errorf("%+v accepted", e)
		}
	}
	for _, cfg := range []SMTPConfig{{}, {Host: "x", From: "bad"}, {Host: "x", From: "a@b.c", TLS: "ssl3"}} {
		if _, err := NewSMTP(cfg); err == nil {
			t.Errorf("NewSMTP(%+v) accepted", cfg)
		}
	}
}

func TestTemplates(t *testing.T) {
	t.Parallel()
	d := Data{Tenant: "Acme <Co>", Email: "a@x.com", Code: "123456", TTL: 5, URL: "https://id.example.com/r?a=1&b=2", Application: "App"}
	for _, tc := range []struct {
		name     string
		template string
		override Template
		subject  string
		text     string // a part of the plain body, "" when HTML
		html     string // a part of the HTML body
		wantErr  bool
	}{
		{name: "default", template: TemplatePasswordlessEmail, subject: "Your Acme <Co> verification code", text: "    123456\n"},
		{name: "subject override", template: TemplatePasswordlessEmail, override: Template{Subject: "Code for {{ friendly_name }}"},
			subject: "Code for Acme <Co>", text: "123456"},
		{name: "plain body", template: TemplateResetEmail, override: Template{Body: "Hi {{user.email}}, go to {{ url }} ({{ nope }})."},
			subject: "Reset your Acme <Co> password", text: "Hi a@x.com, go to https://id.example.com/r?a=1&b=2 ()."},
		{name: "html body escapes values", template: TemplateResetEmail, override: Template{Body: "<p>{{ friendly_name }}: <a href=\"{{ url }}\">reset</a> for {{ application.name }}</p>"},
			subject: "Reset your Acme <Co> password", html: `<p>Acme &lt;Co&gt;: <a href="https://id.example.com/r?a=1&amp;b=2">reset</a> for App</p>`},
		{name: "blocked without link", template: TemplateBlockedAccount, subject: "Sign-in attempts to your Acme <Co> account were blocked", text: "tries.\n\nIf it was you"},
		{name: "liquid tag", template: TemplateResetEmail, override: Template{Body: "{% if url %}x{% endif %}"}, wantErr: true},
		{name: "filter", template: TemplateResetEmail, override: Template{Body: "{{ url | upcase }}"}, wantErr: true},
		{name: "unclosed", template: TemplateResetEmail, override: Template{Subject: "{{ url"}, wantErr: true},
		{name: "unknown template", template: "nope", wantErr: true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			dd := d
			if tc.template == TemplateBlockedAccount {
				dd.URL = ""
			}
			e, err := Render(tc.template, tc.override, dd)
			if tc.wantErr {
				if err == nil {
					t.Fatalf("rendered %+v", e)
				}
				return
			}
			if err != nil || e.Subject != tc.subject || e.To != "a@x.com" {
				t.Fatalf("%+v %v", e, err)
			}
			if tc.text != "" && (!strings.Contains(e.Text, tc.text) || e.HTML != "") {
				t.Fatalf("text %q, html %q", e.Text, e.HTML)
			}
			if tc.html != "" && (!strings.Contains(e.HTML, tc.html) || e.Text != "") {
				t.Fatalf("html %q, text %q", e.HTML, e.Text)
			}
		})
	}
	// gatehouse's own texts use only the variables Data has.
	known := d.vars()
	known["unblock"] = ""
	for name, tpl := range defaults {
		for _, text := range []string{tpl.Subject, tpl.Body} {
			for _, m := range regexp.MustCompile(`\{\{(.*?)\}\}`).FindAllStringSubmatch(text, -1) {
				if _, ok := known[strings.TrimSpace(m[1])]; !ok {
					t.Errorf("%s uses an unknown variable %q", name, m[0])
				}
			}
		}
	}
	if err := Check("{{ url"); err == nil {
		t.Error("a broken template passed Check")
	}
	if got := SMSText("Code: @@password@@ for {{ application.name }}", d); got != "Code: 123456 for App" {
		t.Errorf("sms text %q", got)
	}
}

func TestTwilio(t *testing.T) {
	t.Parallel()
	var got struct{ path, user, pass, to, from, body string }
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		got.path = r.URL.Path
		got.user, got.pass, _ = r.BasicAuth()
		r.ParseForm()
		got.to, got.from, got.body = r.Form.Get("To"), r.Form.Get("From"), r.Form.Get("Body")
		if got.to == "+15550000000" {
			w.WriteHeader(400)
			w.Write([]byte(`{"code":21211,"message":"The 'To' number is not a valid phone number."}`))
			return
		}
		w.WriteHeader(201)
		w.Write([]byte(`{"sid":"SM1","status":"queued"}`))
	}))
	defer srv.Close()
	tw := &Twilio{BaseURL: srv.URL, AccountSID: "AC123", AuthToken: "tok", From: "+15551234567"}
	if err := tw.SendSMS(context.Background(), "+15557654321", "Your code is 123456"); err != nil {
		t.Fatal(err)
	}
	if got.path != "/2010-04-01/Accounts/AC123/Messages.json" || got.user != "AC123" || got.pass != "tok" ||
		got.to != "+15557654321" || got.from != "+15551234567" || got.body != "Your code is 123456" {
		t.Fatalf("request: %+v", got)
	}
	if err := tw.SendSMS(context.Background(), "+15550000000", "x"); err == nil || !strings.Contains(err.Error(), "21211") {
		t.Fatalf("provider error: %v", err)
	}
}

func TestLogImplementations(t *testing.T) {
	t.Parallel()
	var buf bytes.Buffer
	log := slog.New(slog.NewJSONHandler(&buf, nil))
	LogMailer{Logger: log}.SendMail(context.Background(), Email{To: "a@x.com", Subject: "s", Text: "link https://x/y"})
	LogSMS{Logger: log}.SendSMS(context.Background(), "+1555", "code 42")
	out := buf.String()
	if !strings.Contains(out, `"level":"WARN"`) || !strings.Contains(out, "https://x/y") || !strings.Contains(out, "code 42") {
		t.Fatalf("log: %s", out)
	}
}
