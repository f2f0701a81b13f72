package sqlstore

import (
	"context"
	"database/sql"
	"errors"
	"fmt"

	"github.com/gatehouse/gatehouse/internal/store"
)

// GetTenantSettings implements store.Tenants. The settings are one JSON
// document, so fields gatehouse does not model (TenantSettings.Other) keep.
func (s *Store) GetTenantSettings(ctx context.Context) (*store.TenantSettings, error) {
	var doc string
	err := s.r.QueryRowContext(ctx, `SELECT doc FROM tenant_settings WHERE id = 1`).Scan(&doc)
	if errors.Is(err, sql.ErrNoRows) {
		return &store.TenantSettings{}, nil
	}
	if err != nil {
		return nil, fmt.Errorf("get tenant settings: %w", err)
	}
	var t store.TenantSettings
	if err := unmarshalDoc(doc, &t); err != nil {
		return nil, fmt.Errorf("get tenant settings: %w", err)
	}
	if err := s.openTenantSecrets(&t); err != nil {
		return nil, fmt.Errorf("get tenant settings: %w", err)
	}
	return &t, nil
}

// twilioTokenAAD binds the sealed Twilio auth token to its place.
const twilioTokenAAD = "tenant_settings:guardian.phone.twilio.auth_token"

// sealedTenantDoc is the settings as stored: a copy of t whose Twilio auth
// token is sealed.
func (s *Store) sealedTenantDoc(t *store.TenantSettings) (string, error) {
	if g := t.Guardian; g != nil && g.Phone != nil && g.Phone.Twilio != nil {
		c := t.Clone()
		tw := c.Guardian.Phone.Twilio
		sealed, err := s.sealSecret([]byte(tw.AuthToken), twilioTokenAAD)
		if err != nil {
			return "", err
		}
		tw.SealedAuthToken, tw.AuthToken = sealed, ""
		t = c
	}
	return marshalDoc(t)
}

// openTenantSecrets opens what sealedTenantDoc sealed.
func (s *Store) openTenantSecrets(t *store.TenantSettings) error {
	if g := t.Guardian; g != nil && g.Phone != nil && g.Phone.Twilio != nil {
		tw := g.Phone.Twilio
		plain, err := s.openSecret(tw.SealedAuthToken, twilioTokenAAD)
		if err != nil {
			return err
		}
		tw.AuthToken, tw.SealedAuthToken = string(plain), nil
	}
	return nil
}

// UpdateTenantSettings implements store.Tenants.
func (s *Store) UpdateTenantSettings(ctx context.Context, fn func(*store.TenantSettings) error) (*store.TenantSettings, error) {
	tx, err := s.beginWrite(ctx)
	if err != nil {
		return nil, fmt.Errorf("update tenant settings: %w", err)
	}
	defer tx.Rollback()
	var t store.TenantSettings
	var doc string
	err = tx.QueryRowContext(ctx, `SELECT doc FROM tenant_settings WHERE id = 1`+s.forUpdate()).Scan(&doc)
	switch {
	case errors.Is(err, sql.ErrNoRows):
		// The migration inserts the row; start from zero should it be gone.
	case err != nil:
		return nil, fmt.Errorf("update tenant settings: %w", err)
	default:
		if err := unmarshalDoc(doc, &t); err != nil {
			return nil, fmt.Errorf("update tenant settings: %w", err)
		}
		if err := s.openTenantSecrets(&t); err != nil {
			return nil, fmt.Errorf("update tenant settings: %w", err)
		}
	}
	if err := fn(&t); err != nil {
		return nil, err
	}
	if doc, err = s.sealedTenantDoc(&t); err != nil {
		return nil, fmt.Errorf("update tenant settings: %w", err)
	}
	if _, err := tx.ExecContext(ctx, `INSERT INTO tenant_settings (id, doc) VALUES (1, $1)
		ON CONFLICT (id) DO UPDATE SET doc = excluded.doc`, doc); err != nil {
		return nil, fmt.Errorf("update tenant settings: %w", err)
	}
	if err := tx.Commit(); err != nil {
		return nil, fmt.Errorf("update tenant settings: commit: %w", err)
	}
	return &t, nil
}

// ConfigVersion implements store.Versions. Triggers on the configuration
// tables advance it inside the writing transaction.
func (s *Store) ConfigVersion(ctx context.Context) (int64, error) {
	var v int64
	if err := s.r.QueryRowContext(ctx, "SELECT version FROM config_version WHERE id = 1").Scan(&v); err != nil {
		return 0, fmt.Errorf("config version: %w", err)
	}
	return v, nil
}
