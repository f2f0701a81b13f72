package tenant

import (
	"context"
	"errors"
	"net/url"
	"slices"

	"github.com/gatehouse/gatehouse/internal/notify"
	"github.com/gatehouse/gatehouse/internal/store"
)

// EmailTemplateInput is the body of POST, PATCH and PUT /email-templates.
type EmailTemplateInput struct {
	Template               Opt[string]      `json:"template"`
	Body                   Opt[string]      `json:"body"`
	From                   Opt[string]      `json:"from"`
	Subject                Opt[string]      `json:"subject"`
	Syntax                 Opt[string]      `json:"syntax"`
	ResultURL              Nullable[string] `json:"resultUrl"`
	URLLifetimeInSeconds   Nullable[int]    `json:"urlLifetimeInSeconds"`
	IncludeEmailInRedirect Opt[bool]        `json:"includeEmailInRedirect"`
	Enabled                Opt[bool]        `json:"enabled"`
}

// EmailTemplateNames are the template names Auth0's Management API knows.
// gatehouse's messages use reset_email, mfa_oob_code and
// enrollment_email; the others are stored for tools that manage them all.
var EmailTemplateNames = []string{
	"verify_email", "verify_email_by_code", "reset_email", "reset_email_by_code", "welcome_email",
	"blocked_account", "stolen_credentials", "enrollment_email", "mfa_oob_code", "user_invitation",
	"change_password", "password_reset", "async_approval",
}

var (
	errNoEmailTemplate   = &Error{Kind: NotFound, Code: "inexistent_email_template", Message: "The template does not exist."}
	errEmailTemplateName = &Error{Kind: Invalid, Code: "invalid_uri",
		Message: "Path validation error: templateName must be one of the email template names"}
)

// maxURLLifetime bounds urlLifetimeInSeconds (Auth0: 30 days).
const maxURLLifetime = 30 * 24 * 3600

func checkTemplateName(name string) error {
	if !slices.Contains(EmailTemplateNames, name) {
		return errEmailTemplateName
	}
	return nil
}

// GetEmailTemplate returns the tenant's template name.
func (s *Service) GetEmailTemplate(ctx context.Context, name string) (*store.EmailTemplate, error) {
	if err := checkTemplateName(name); err != nil {
		return nil, err
	}
	t, err := s.Store.GetEmailTemplate(ctx, name)
	return t, notFound(err, errNoEmailTemplate)
}

// CreateEmailTemplate stores a template (POST, which names it in the
// body): template, body, from, subject, syntax and enabled are required.
func (s *Service) CreateEmailTemplate(ctx context.Context, in *EmailTemplateInput) (_ *store.EmailTemplate, err error) {
	defer s.audit(ctx, "Create an email template", &err)
	t, err := newEmailTemplate(in.Template.V, in)
	if err != nil {
		return nil, err
	}
	if err := s.Store.CreateEmailTemplate(ctx, t); err != nil {
		return nil, conflict(err, "conflict", "Template "+t.Template+" already exists.")
	}
	return t, nil
}

// PutEmailTemplate creates or replaces template name wholesale.
func (s *Service) PutEmailTemplate(ctx context.Context, name string, in *EmailTemplateInput) (_ *store.EmailTemplate, err error) {
	defer s.audit(ctx, "Set an email template", &err)
	if err := checkTemplateName(name); err != nil {
		return nil, err
	}
	t, err := newEmailTemplate(name, in)
	if err != nil {
		return nil, err
	}
	for range 2 {
		_, err = s.Store.UpdateEmailTemplate(ctx, name, func(old *store.EmailTemplate) error { *old = *t; return nil })
		if !errors.Is(err, store.ErrNotFound) {
			break
		}
		// Created by another request between the two calls: replace it.
		if err = s.Store.CreateEmailTemplate(ctx, t); !errors.Is(err, store.ErrConflict) {
			break
		}
	}
	if err != nil {
		return nil, err
	}
	return t, nil
}

// UpdateEmailTemplate changes the properties present in in.
func (s *Service) UpdateEmailTemplate(ctx context.Context, name string, in *EmailTemplateInput) (_ *store.EmailTemplate, err error) {
	defer s.audit(ctx, "Update an email template", &err)
	if err := checkTemplateName(name); err != nil {
		return nil, err
	}
	if in.Template.Set && in.Template.V != name {
		return nil, invalidProp("template", "The template name cannot be changed")
	}
	t, err := s.Store.UpdateEmailTemplate(ctx, name, func(t *store.EmailTemplate) error { return applyEmailTemplate(t, in) })
	return t, notFound(err, errNoEmailTemplate)
}

func newEmailTemplate(name string, in *EmailTemplateInput) (*store.EmailTemplate, error) {
	for _, req := range []struct {
		set  bool
		name string
	}{{in.Template.Set, "template"}, {in.Body.Set, "body"}, {in.From.Set, "from"}, {in.Subject.Set, "subject"},
		{in.Syntax.Set, "syntax"}, {in.Enabled.Set, "enabled"}} {
		if !req.set {
			return nil, invalidBody("Missing required property: %s", req.name)
		}
	}
	if in.Template.V != name {
		return nil, invalidProp("template", "The template name must be the one in the path")
	}
	if err := checkTemplateName(name); err != nil {
		return nil, invalidProp("template", "No enum match for: %s", name)
	}
	t := &store.EmailTemplate{Template: name}
	return t, applyEmailTemplate(t, in)
}

// applyEmailTemplate copies the present properties onto t, checking the
// texts are ones the substitution can render.
func applyEmailTemplate(t *store.EmailTemplate, in *EmailTemplateInput) error {
	for _, f := range []struct {
		prop string
		o    Opt[string]
		dst  *string
	}{{"body", in.Body, &t.Body}, {"subject", in.Subject, &t.Subject}, {"from", in.From, &t.From}} {
		if !f.o.Set {
			continue
		}
		if err := notify.Check(f.o.V); err != nil {
			return invalidProp(f.prop, "%s", err.Error())
		}
		*f.dst = f.o.V
	}
	if in.Syntax.Set {
		if in.Syntax.V != "liquid" {
			return invalidProp("syntax", "No enum match for: %s", in.Syntax.V)
		}
		t.Syntax = in.Syntax.V
	}
	if r := in.ResultURL; r.Set {
		t.ResultURL = ""
		if !r.Null && r.V != "" {
			if u, err := url.Parse(r.V); err != nil || (u.Scheme != "https" && u.Scheme != "http") || u.Host == "" {
				return invalidProp("resultUrl", "Object didn't pass validation for format absolute-uri: %s", r.V)
			}
			t.ResultURL = r.V
		}
	}
	if l := in.URLLifetimeInSeconds; l.Set {
		t.URLLifetimeInSeconds = 0
		if !l.Null {
			if l.V < 0 || l.V > maxURLLifetime {
				return invalidProp("urlLifetimeInSeconds", "Value must be between 0 and %d", maxURLLifetime)
			}
			t.URLLifetimeInSeconds = l.V
		}
	}
	setIf(&t.IncludeEmailInRedirect, in.IncludeEmailInRedirect)
	setIf(&t.Enabled, in.Enabled)
	return nil
}

// EmailOverride is the tenant's enabled template name as notify renders
// it (empty fields keep gatehouse's own text), and the stored template
// (nil when there is none or it is disabled). A store failure falls back
// to gatehouse's text: a message must not wait on a custom one.
func EmailOverride(ctx context.Context, st store.EmailTemplates, name string) (notify.Template, *store.EmailTemplate) {
	t, err := st.GetEmailTemplate(ctx, name)
	if err != nil || !t.Enabled {
		return notify.Template{}, nil
	}
	return notify.Template{Subject: t.Subject, Body: t.Body, From: t.From}, t
}
