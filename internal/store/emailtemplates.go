package store

import "context"

// EmailTemplates stores the tenant's own texts for the emails gatehouse
// sends (the Management API's /email-templates), by template name.
type EmailTemplates interface {
	// CreateEmailTemplate stores a template; ErrConflict when its name
	// has one.
	CreateEmailTemplate(ctx context.Context, t *EmailTemplate) error
	// GetEmailTemplate returns the template of that name; ErrNotFound
	// when the tenant has none.
	GetEmailTemplate(ctx context.Context, name string) (*EmailTemplate, error)
	// UpdateEmailTemplate applies fn to the stored template and saves it,
	// atomically; ErrNotFound when there is none. fn may not rename it.
	UpdateEmailTemplate(ctx context.Context, name string, fn func(*EmailTemplate) error) (*EmailTemplate, error)
}

// EmailTemplate is one of the tenant's email texts, in the Management
// API's shape.
type EmailTemplate struct {
	Template               string `json:"template"` // its name: reset_email, verify_email...
	Body                   string `json:"body"`
	From                   string `json:"from"`
	Subject                string `json:"subject"`
	Syntax                 string `json:"syntax"`
	ResultURL              string `json:"resultUrl,omitempty"`
	URLLifetimeInSeconds   int    `json:"urlLifetimeInSeconds,omitempty"`
	IncludeEmailInRedirect bool   `json:"includeEmailInRedirect"`
	Enabled                bool   `json:"enabled"`
}
