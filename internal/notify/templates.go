package notify

import (
	"fmt"
	"html"
	"regexp"
	"strconv"
	"strings"
)

// Template names, as the Management API's email templates call them.
// TemplatePasswordlessEmail is not one of them: Auth0 keeps the
// passwordless email in the email connection's options.
const (
	TemplateResetEmail        = "reset_email"
	TemplateVerifyEmail       = "verify_email"
	TemplatePasswordlessEmail = "passwordless_email"
	TemplateMFACode           = "mfa_oob_code"
	TemplateBlockedAccount    = "blocked_account"
	TemplateEnrollmentEmail   = "enrollment_email"
)

// Data is what a template may use. In a template's text the values are
// Liquid-style variables: {{ friendly_name }} (Tenant), {{ user.email }}
// and {{ email }} (Email), {{ url }} (URL), {{ code }} (Code),
// {{ application.name }} (Application) and {{ ttl_minutes }} (TTL).
type Data struct {
	Tenant      string
	Email       string
	URL         string
	Code        string
	TTL         int // minutes
	Application string
}

func (d Data) vars() map[string]string {
	return map[string]string{
		"friendly_name": d.Tenant, "tenant": d.Tenant,
		"user.email": d.Email, "email": d.Email, "user.name": d.Email,
		"url": d.URL, "code": d.Code, "password": d.Code,
		"application.name": d.Application,
		"ttl_minutes":      strconv.Itoa(d.TTL),
	}
}

// Template is an operator's own subject, body and sender for a message;
// an empty field keeps the default.
type Template struct {
	Subject string
	Body    string
	From    string
}

// defaults are plain, readable texts.
var defaults = map[string]Template{
	TemplateResetEmail: {
		Subject: "Reset your {{ friendly_name }} password",
		Body: "Someone asked to reset the password of your {{ friendly_name }} account ({{ user.email }}).\n\n" +
			"To choose a new password, open this link within {{ ttl_minutes }} minutes:\n\n{{ url }}\n\n" +
			"If it was not you, ignore this message: your password stays as it is.\n",
	},
	TemplateVerifyEmail: {
		Subject: "Verify your email for {{ friendly_name }}",
		Body:    "Please confirm that {{ user.email }} is your email address for {{ friendly_name }} by opening this link:\n\n{{ url }}\n",
	},
	TemplatePasswordlessEmail: {
		Subject: "Your {{ friendly_name }} verification code",
		Body:    "Your verification code for {{ friendly_name }} is:\n\n    {{ code }}\n\nIt expires in {{ ttl_minutes }} minutes. If you did not ask for it, ignore this message.\n",
	},
	TemplateMFACode: {
		Subject: "Your {{ friendly_name }} sign-in code",
		Body:    "Your sign-in code for {{ friendly_name }} is:\n\n    {{ code }}\n\nIt expires in {{ ttl_minutes }} minutes.\n",
	},
	TemplateEnrollmentEmail: {
		Subject: "Set up a second factor for {{ friendly_name }}",
		Body: "Your {{ friendly_name }} account ({{ user.email }}) is to be protected with a code from an authenticator app.\n\n" +
			"To set it up, open this link within {{ ttl_minutes }} minutes:\n\n{{ url }}\n\n" +
			"If you did not expect this message, tell your administrator.\n",
	},
	TemplateBlockedAccount: {
		Subject: "Sign-in attempts to your {{ friendly_name }} account were blocked",
		Body: "We blocked sign-in attempts to your {{ friendly_name }} account ({{ user.email }}) after too many failed tries.\n\n" +
			"{{ unblock }}If it was you, reset your password to sign in again.\n",
	},
}

// Render fills in template name, with the fields override sets in place
// of the defaults. A body with HTML tags is sent as HTML, its
// substituted values escaped.
func Render(name string, override Template, d Data) (Email, error) {
	t, ok := defaults[name]
	if !ok {
		return Email{}, fmt.Errorf("notify: no template %q", name)
	}
	vars := d.vars()
	if name == TemplateBlockedAccount && override.Body == "" {
		vars["unblock"] = ""
		if d.URL != "" {
			vars["unblock"] = "To unblock your account, open this link:\n\n" + d.URL + "\n\n"
		}
	}
	if override.Subject != "" {
		t.Subject = override.Subject
	}
	if override.Body != "" {
		t.Body = override.Body
	}
	subject, err := Substitute(t.Subject, vars, nil)
	if err != nil {
		return Email{}, fmt.Errorf("notify: template %s subject: %w", name, err)
	}
	from, err := Substitute(override.From, vars, nil)
	if err != nil {
		return Email{}, fmt.Errorf("notify: template %s from: %w", name, err)
	}
	e := Email{To: d.Email, From: from, Subject: strings.Join(strings.Fields(subject), " ")}
	if IsHTML(t.Body) {
		e.HTML, err = Substitute(t.Body, vars, html.EscapeString)
	} else {
		e.Text, err = Substitute(t.Body, vars, nil)
	}
	if err != nil {
		return Email{}, fmt.Errorf("notify: template %s body: %w", name, err)
	}
	return e, nil
}

// SMSText renders the text message of a code: template (a connection's
// own, where Auth0's @@password@@ also stands for the code) or the
// default.
func SMSText(template string, d Data) string {
	if template == "" {
		template = "Your {{ friendly_name }} verification code is {{ code }}. It expires in {{ ttl_minutes }} minutes."
	}
	template = strings.ReplaceAll(template, "@@password@@", "{{ code }}")
	s, err := Substitute(template, d.vars(), nil)
	if err != nil {
		// A template Check refused cannot be stored; this is a last resort.
		return "Your verification code is " + d.Code
	}
	return s
}

var tagRE = regexp.MustCompile(`<[a-zA-Z!/][^<>]*>`)

// IsHTML reports whether a body holds HTML tags.
func IsHTML(body string) bool { return tagRE.MatchString(body) }

// maxTemplateBytes bounds a template's text.
const maxTemplateBytes = 100 << 10

// Check refuses text a template cannot hold: more than 100 KiB, Liquid
// tags ({% %}), filters, or an unclosed {{.
func Check(text string) error {
	if len(text) > maxTemplateBytes {
		return fmt.Errorf("a template has at most %d bytes", maxTemplateBytes)
	}
	_, err := Substitute(text, nil, nil)
	return err
}

// Substitute replaces each {{ name }} in text with vars[name] (nothing for
// a name it does not know, as Liquid renders an undefined variable),
// passed through escape when that is not nil. It is substitution only:
// Liquid's tags ({% if %}, loops) and filters are refused.
func Substitute(text string, vars map[string]string, escape func(string) string) (string, error) {
	if strings.Contains(text, "{%") {
		return "", fmt.Errorf("liquid tags ({%% ... %%}) are not supported, only {{ variable }}")
	}
	var b strings.Builder
	for {
		i := strings.Index(text, "{{")
		if i < 0 {
			b.WriteString(text)
			return b.String(), nil
		}
		j := strings.Index(text[i+2:], "}}")
		if j < 0 {
			return "", fmt.Errorf("a {{ is not closed")
		}
		name := strings.TrimSpace(text[i+2 : i+2+j])
		if name == "" || strings.ContainsAny(name, "|{}\"'()") {
			return "", fmt.Errorf("{{ %.40s }}: only a variable name may stand between {{ and }}", name)
		}
		b.WriteString(text[:i])
		v := vars[name]
		if escape != nil {
			v = escape(v)
		}
		b.WriteString(v)
		text = text[i+2+j+2:]
	}
}
