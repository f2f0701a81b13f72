package sqlstore

import (
	"context"

	"github.com/gatehouse/gatehouse/internal/store"
)

func emailTemplateTable(s *Store) *table[store.EmailTemplate] {
	return newTable(s, table[store.EmailTemplate]{
		noun:    "email template",
		name:    "email_templates",
		columns: []string{"name", "doc"},
		keyOf:   func(t *store.EmailTemplate) string { return t.Template },
		encode: func(t *store.EmailTemplate) ([]any, error) {
			doc, err := marshalDoc(t)
			if err != nil {
				return nil, err
			}
			return []any{t.Template, doc}, nil
		},
		decode: func(sc scanner) (*store.EmailTemplate, error) {
			var name, doc string
			if err := sc.Scan(&name, &doc); err != nil {
				return nil, err
			}
			var t store.EmailTemplate
			if err := unmarshalDoc(doc, &t); err != nil {
				return nil, err
			}
			t.Template = name
			return &t, nil
		},
	})
}

// CreateEmailTemplate implements store.EmailTemplates.
func (s *Store) CreateEmailTemplate(ctx context.Context, t *store.EmailTemplate) error {
	return s.emailTemplates.create(ctx, s, t)
}

// GetEmailTemplate implements store.EmailTemplates.
func (s *Store) GetEmailTemplate(ctx context.Context, name string) (*store.EmailTemplate, error) {
	return s.emailTemplates.get(ctx, s, "name", name)
}

// UpdateEmailTemplate implements store.EmailTemplates.
func (s *Store) UpdateEmailTemplate(ctx context.Context, name string, fn func(*store.EmailTemplate) error) (*store.EmailTemplate, error) {
	return s.emailTemplates.update(ctx, s, name, func(t *store.EmailTemplate) error {
		if err := fn(t); err != nil {
			return err
		}
		t.Template = name
		return nil
	})
}
