package notify

import (
	"bytes"
	"fmt"
	"strings"
	"text/template"
)

// Template names, as the Management API's email templates call them.
const (
	TemplateResetEmail        = "reset_email"
	TemplateVerifyEmail       = "verify_email"
	TemplatePasswordlessEmail = "passwordless_email"
	TemplateMFACode           = "mfa_oob_code"
	TemplateBlockedAccount    = "blocked_account"
	TemplateEnrollmentEmail   = "enrollment_email"
)

// Data is what a template may use: {{.Tenant}}, {{.Email}}, {{.URL}},
// {{.Code}}, {{.TTL}} (minutes).
type Data struct {
	Tenant string
	Email  string
	URL    string
	Code   string
	TTL    int
}

// Template is a subject and a plain-text body, both text/template.
type Template struct {
	Subject string
	Body    string
}

// defaults are plain, readable texts; an operator can override any of them.
var defaults = map[string]Template{
	TemplateResetEmail: {
		Subject: "Reset your {{.Tenant}} password",
		Body: "Someone asked to reset the password of your {{.Tenant}} account ({{.Email}}).\n\n" +
			"To choose a new password, open this link within {{.TTL}} minutes:\n\n{{.URL}}\n\n" +
			"If it was not you, ignore this message: your password stays as it is.\n",
	},
	TemplateVerifyEmail: {
		Subject: "Verify your email for {{.Tenant}}",
		Body:    "Please confirm that {{.Email}} is your email address for {{.Tenant}} by opening this link:\n\n{{.URL}}\n",
	},
	TemplatePasswordlessEmail: {
		Subject: "Your {{.Tenant}} verification code",
		Body:    "Your verification code for {{.Tenant}} is:\n\n    {{.Code}}\n\nIt expires in {{.TTL}} minutes. If you did not ask for it, ignore this message.\n",
	},
	TemplateMFACode: {
		Subject: "Your {{.Tenant}} sign-in code",
		Body:    "Your sign-in code for {{.Tenant}} is:\n\n    {{.Code}}\n\nIt expires in {{.TTL}} minutes.\n",
	},
	TemplateEnrollmentEmail: {
		Subject: "Set up a second factor for {{.Tenant}}",
		Body: "Your {{.Tenant}} account ({{.Email}}) is to be protected with a code from an authenticator app.\n\n" +
			"To set it up, open this link within {{.TTL}} minutes:\n\n{{.URL}}\n\n" +
			"If you did not expect this message, tell your administrator.\n",
	},
	TemplateBlockedAccount: {
		Subject: "Sign-in attempts to your {{.Tenant}} account were blocked",
		Body: "We blocked sign-in attempts to your {{.Tenant}} account ({{.Email}}) after too many failed tries.\n\n" +
			"{{if .URL}}To unblock your account, open this link:\n\n{{.URL}}\n\n{{end}}If it was you, reset your password to sign in again.\n",
	},
}

// Render fills in template name, using override when it is not empty
// (an operator's own text), else the default.
func Render(name string, override Template, d Data) (Email, error) {
	t, ok := defaults[name]
	if !ok {
		return Email{}, fmt.Errorf("notify: no template %q", name)
	}
	if override.Subject != "" {
		t.Subject = override.Subject
	}
	if override.Body != "" {
		t.Body = override.Body
	}
	subject, err := execute(name+".subject", t.Subject, d)
	if err != nil {
		return Email{}, err
	}
	body, err := execute(name+".body", t.Body, d)
	if err != nil {
		return Email{}, err
	}
	return Email{To: d.Email, Subject: strings.Join(strings.Fields(subject), " "), Text: body}, nil
}

// Check parses an operator's template without running it.
func Check(t Template) error {
	for _, s := range []string{t.Subject, t.Body} {
		if _, err := template.New("t").Option("missingkey=error").Parse(s); err != nil {
			return fmt.Errorf("notify: template: %w", err)
		}
	}
	return nil
}

func execute(name, text string, d Data) (string, error) {
	t, err := template.New(name).Option("missingkey=error").Parse(text)
	if err != nil {
		return "", fmt.Errorf("notify: template %s: %w", name, err)
	}
	var b bytes.Buffer
	if err := t.Execute(&b, d); err != nil {
		return "", fmt.Errorf("notify: template %s: %w", name, err)
	}
	return b.String(), nil
}
