package sqlstore

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/gatehouse/gatehouse/internal/store"
)

// keyDoc is how a signing key is stored: the public document plus its
// creation time. The private key has its own sealed column.
type keyDoc struct {
	store.SigningKey
	CreatedAt time.Time `json:"created_at"`
}

func keyTable(s *Store) *table[store.SigningKey] {
	return newTable(s, table[store.SigningKey]{
		noun:    "signing key",
		name:    "signing_keys",
		columns: []string{"kid", "private_key", "doc"},
		keyOf:   func(k *store.SigningKey) string { return k.KID },
		encode: func(k *store.SigningKey) ([]any, error) {
			if len(k.PrivateKeyDER) == 0 {
				return nil, errors.New("no private key")
			}
			priv, err := s.sealSecret(k.PrivateKeyDER, "signing_key:"+k.KID)
			if err != nil {
				return nil, err
			}
			doc, err := marshalDoc(keyDoc{SigningKey: *k, CreatedAt: k.CreatedAt})
			if err != nil {
				return nil, err
			}
			return []any{k.KID, priv, doc}, nil
		},
		decode: func(sc scanner) (*store.SigningKey, error) {
			var (
				kid, doc string
				priv     []byte
				d        keyDoc
			)
			if err := sc.Scan(&kid, &priv, &doc); err != nil {
				return nil, err
			}
			if err := unmarshalDoc(doc, &d); err != nil {
				return nil, err
			}
			der, err := s.openSecret(priv, "signing_key:"+kid)
			if err != nil {
				return nil, err
			}
			k := d.SigningKey
			k.KID, k.PrivateKeyDER, k.CreatedAt = kid, der, d.CreatedAt
			return &k, nil
		},
	})
}

// ListSigningKeys implements store.SigningKeys. Keys come in the order the
// last ReplaceSigningKeys returned them.
func (s *Store) ListSigningKeys(ctx context.Context) ([]*store.SigningKey, error) {
	return s.keys.query(ctx, s.r, "", "")
}

// ReplaceSigningKeys implements store.SigningKeys. The new set is written
// whole, in the order fn returns it.
func (s *Store) ReplaceSigningKeys(ctx context.Context, fn func([]*store.SigningKey) ([]*store.SigningKey, error)) error {
	tx, err := s.beginWrite(ctx)
	if err != nil {
		return fmt.Errorf("replace signing keys: %w", err)
	}
	defer tx.Rollback()
	if s.dialect == DialectPostgres {
		// Self-conflicting but leaves plain reads alone. SQLite's BEGIN
		// IMMEDIATE already excludes other writers.
		if _, err := tx.ExecContext(ctx, `LOCK TABLE signing_keys IN SHARE ROW EXCLUSIVE MODE`); err != nil {
			return fmt.Errorf("replace signing keys: lock: %w", err)
		}
	}
	old, err := s.keys.query(ctx, tx, "", "")
	if err != nil {
		return fmt.Errorf("replace signing keys: %w", err)
	}
	keys, err := fn(old)
	if err != nil {
		return err
	}
	if _, err := tx.ExecContext(ctx, `DELETE FROM signing_keys`); err != nil {
		return fmt.Errorf("replace signing keys: delete: %w", err)
	}
	for _, k := range keys {
		if k == nil || k.KID == "" {
			return errors.New("replace signing keys: a key without kid")
		}
		args, err := s.keys.encode(k)
		if err != nil {
			return fmt.Errorf("replace signing keys: key %q: %w", k.KID, err)
		}
		if _, err := tx.ExecContext(ctx, s.keys.insertSQL, args...); err != nil {
			return writeErr(fmt.Sprintf("replace signing keys: insert %q", k.KID), err)
		}
	}
	if err := tx.Commit(); err != nil {
		return fmt.Errorf("replace signing keys: commit: %w", err)
	}
	return nil
}
