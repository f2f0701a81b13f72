package sqlstore

import (
	"context"
	"database/sql"
	"errors"
	"fmt"

	"github.com/gatehouse/gatehouse/internal/store"
)

// authenticatorTable keeps the TOTP secret sealed in its own column, bound
// to the authenticator's id.
func authenticatorTable(s *Store) *table[store.Authenticator] {
	return newTable(s, table[store.Authenticator]{
		noun:    "authenticator",
		name:    "mfa_authenticators",
		columns: []string{"id", "user_id", "secret", "doc"},
		keyOf:   func(a *store.Authenticator) string { return a.ID },
		encode: func(a *store.Authenticator) ([]any, error) {
			secret, err := s.sealSecret([]byte(a.Secret), "mfa_secret:"+a.ID)
			if err != nil {
				return nil, err
			}
			doc, err := marshalDoc(a)
			if err != nil {
				return nil, err
			}
			return []any{a.ID, a.UserID, secret, doc}, nil
		},
		decode: func(sc scanner) (*store.Authenticator, error) {
			var id, userID, doc string
			var secret []byte
			if err := sc.Scan(&id, &userID, &secret, &doc); err != nil {
				return nil, err
			}
			var a store.Authenticator
			if err := unmarshalDoc(doc, &a); err != nil {
				return nil, err
			}
			plain, err := s.openSecret(secret, "mfa_secret:"+id)
			if err != nil {
				return nil, err
			}
			a.ID, a.UserID, a.Secret = id, userID, string(plain)
			return &a, nil
		},
	})
}

func mfaTransactionTable(s *Store) *table[store.MFATransaction] {
	return newTable(s, table[store.MFATransaction]{
		noun:    "mfa transaction",
		name:    "mfa_transactions",
		columns: []string{"id", "expires_at", "doc"},
		keyOf:   func(t *store.MFATransaction) string { return t.ID },
		encode: func(t *store.MFATransaction) ([]any, error) {
			d := storedMFATransaction{MFATransaction: *t}
			var err error
			if d.SealedConnectorData, err = s.sealSecret(t.ConnectorData, mfaConnectorDataAAD(t.ID)); err != nil {
				return nil, err
			}
			doc, err := marshalDoc(d)
			if err != nil {
				return nil, err
			}
			return []any{t.ID, t.ExpiresAt.UnixMicro(), doc}, nil
		},
		decode: func(sc scanner) (*store.MFATransaction, error) {
			var id, doc string
			var expires int64
			if err := sc.Scan(&id, &expires, &doc); err != nil {
				return nil, err
			}
			var d storedMFATransaction
			if err := unmarshalDoc(doc, &d); err != nil {
				return nil, err
			}
			t := d.MFATransaction
			t.ID = id
			data, err := s.openSecret(d.SealedConnectorData, mfaConnectorDataAAD(id))
			if err != nil {
				return nil, err
			}
			t.ConnectorData = data
			return &t, nil
		},
	})
}

// storedMFATransaction is how a transaction is stored: the paused login's
// connector data (an upstream refresh token) sealed, bound to the
// transaction.
type storedMFATransaction struct {
	store.MFATransaction
	SealedConnectorData []byte `json:"sealed_connector_data,omitempty"`
}

func mfaConnectorDataAAD(id string) string { return "mfa_transaction:" + id + ":connector_data" }

// CreateAuthenticator implements store.MFA.
func (s *Store) CreateAuthenticator(ctx context.Context, a *store.Authenticator) error {
	return s.authenticators.create(ctx, s, a)
}

// ListAuthenticators implements store.MFA.
func (s *Store) ListAuthenticators(ctx context.Context, userID string) ([]*store.Authenticator, error) {
	return s.authenticators.query(ctx, s.r, " WHERE user_id = $1", "", userID)
}

// GetAuthenticator implements store.MFA.
func (s *Store) GetAuthenticator(ctx context.Context, id string) (*store.Authenticator, error) {
	return s.authenticators.get(ctx, s, "id", id)
}

// UpdateAuthenticator implements store.MFA.
func (s *Store) UpdateAuthenticator(ctx context.Context, id string, fn func(*store.Authenticator) error) (*store.Authenticator, error) {
	return s.authenticators.update(ctx, s, id, fn)
}

// DeleteAuthenticator implements store.MFA.
func (s *Store) DeleteAuthenticator(ctx context.Context, id string) error {
	return s.authenticators.delete(ctx, s, id)
}

// DeleteAuthenticators implements store.MFA.
func (s *Store) DeleteAuthenticators(ctx context.Context, userID string) (int, error) {
	res, err := s.w.ExecContext(ctx, `DELETE FROM mfa_authenticators WHERE user_id = $1`, userID)
	if err != nil {
		return 0, fmt.Errorf("delete authenticators of %q: %w", userID, err)
	}
	n, err := res.RowsAffected()
	if err != nil {
		return 0, fmt.Errorf("delete authenticators of %q: %w", userID, err)
	}
	return int(n), nil
}

// CreateMFATransaction implements store.MFA. It first deletes the
// transactions that expired, so the table holds only live ones.
func (s *Store) CreateMFATransaction(ctx context.Context, t *store.MFATransaction) error {
	if _, err := s.w.ExecContext(ctx, `DELETE FROM mfa_transactions WHERE expires_at <= $1`, s.now().UnixMicro()); err != nil {
		return fmt.Errorf("create mfa transaction: prune: %w", err)
	}
	return s.mfaTxs.create(ctx, s, t)
}

// GetMFATransaction implements store.MFA.
func (s *Store) GetMFATransaction(ctx context.Context, id string) (*store.MFATransaction, error) {
	return s.mfaTxs.get(ctx, s, "id", id)
}

// UpdateMFATransaction implements store.MFA.
func (s *Store) UpdateMFATransaction(ctx context.Context, id string, fn func(*store.MFATransaction) error) (*store.MFATransaction, error) {
	return s.mfaTxs.update(ctx, s, id, fn)
}

// DeleteMFATransaction implements store.MFA: one DELETE, so of two
// concurrent callers only one sees the row go.
func (s *Store) DeleteMFATransaction(ctx context.Context, id string) error {
	return s.mfaTxs.delete(ctx, s, id)
}

// UpdateMFABucket implements store.MFA with the row locked (PostgreSQL)
// or the database's single writer (SQLite) for the read-modify-write; a
// user's first write retries as updateDoc's does, so that concurrent first
// attempts are all counted.
func (s *Store) UpdateMFABucket(ctx context.Context, userID string, fn func(*store.MFABucket) error) (*store.MFABucket, error) {
	for range 3 {
		b, err := s.tryUpdateMFABucket(ctx, userID, fn)
		if err != nil || b != nil {
			return b, err
		}
	}
	return nil, errors.New("update mfa bucket: the row kept appearing under a concurrent first write")
}

// tryUpdateMFABucket is one attempt of UpdateMFABucket: nil and no error
// when another writer inserted the user's first bucket meanwhile.
func (s *Store) tryUpdateMFABucket(ctx context.Context, userID string, fn func(*store.MFABucket) error) (*store.MFABucket, error) {
	tx, err := s.beginWrite(ctx)
	if err != nil {
		return nil, fmt.Errorf("update mfa bucket: %w", err)
	}
	defer tx.Rollback()
	b := store.MFABucket{UserID: userID}
	var doc string
	err = tx.QueryRowContext(ctx, `SELECT doc FROM mfa_buckets WHERE user_id = $1`+s.forUpdate(), userID).Scan(&doc)
	missing := errors.Is(err, sql.ErrNoRows)
	switch {
	case missing:
	case err != nil:
		return nil, fmt.Errorf("update mfa bucket: %w", err)
	default:
		if err := unmarshalDoc(doc, &b); err != nil {
			return nil, fmt.Errorf("update mfa bucket: %w", err)
		}
	}
	if err := fn(&b); err != nil {
		return nil, err
	}
	b.UserID = userID
	if doc, err = marshalDoc(b); err != nil {
		return nil, fmt.Errorf("update mfa bucket: %w", err)
	}
	done, err := writeLockedRow(ctx, tx, "mfa_buckets", "user_id", userID, missing, []string{"doc"}, doc)
	if err != nil || !done {
		return nil, err
	}
	return &b, nil
}
