package sqlstore

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"

	"github.com/gatehouse/gatehouse/internal/store"
)

func connectionTable(s *Store) *table[store.Connection] {
	return newTable(s, table[store.Connection]{
		noun:    "connection",
		name:    "connections",
		columns: []string{"id", "name", "strategy", "doc"},
		keyOf:   func(c *store.Connection) string { return c.ID },
		encode: func(c *store.Connection) ([]any, error) {
			d := connectionDoc{Connection: *c}
			opts, sealed, err := s.sealOptions(c.ID, c.Options)
			if err != nil {
				return nil, err
			}
			d.Options, d.Sealed = opts, sealed
			doc, err := marshalDoc(d)
			if err != nil {
				return nil, err
			}
			return []any{c.ID, c.Name, c.Strategy, doc}, nil
		},
		decode: func(sc scanner) (*store.Connection, error) {
			var id, name, strategy, doc string
			if err := sc.Scan(&id, &name, &strategy, &doc); err != nil {
				return nil, err
			}
			var d connectionDoc
			if err := unmarshalDoc(doc, &d); err != nil {
				return nil, err
			}
			c := d.Connection
			c.ID, c.Name, c.Strategy = id, name, strategy
			if len(d.Sealed) > 0 {
				opts, err := s.openOptions(id, c.Options, d.Sealed)
				if err != nil {
					return nil, err
				}
				c.Options = opts
			}
			return &c, nil
		},
	})
}

// connectionDoc is how a connection is stored: the secrets among its
// options (store.SecretOptionKeys) are taken out of the options and kept
// sealed, each bound to its connection and key.
type connectionDoc struct {
	store.Connection
	Sealed map[string][]byte `json:"sealed_options,omitempty"`
}

func optionAAD(connectionID, key string) string {
	return "connection_option:" + connectionID + ":" + key
}

// sealOptions returns the options without their secret keys, and those
// keys' values sealed. Options that are not a JSON object hold no secret.
func (s *Store) sealOptions(connectionID string, options json.RawMessage) (json.RawMessage, map[string][]byte, error) {
	if len(bytes.TrimSpace(options)) == 0 {
		return options, nil, nil
	}
	var m map[string]json.RawMessage
	if err := json.Unmarshal(options, &m); err != nil {
		return options, nil, nil
	}
	var sealed map[string][]byte
	for _, k := range store.SecretOptionKeys {
		v, ok := m[k]
		if !ok {
			continue
		}
		ct, err := s.sealer.Seal(v, optionAAD(connectionID, k))
		if err != nil {
			return nil, nil, fmt.Errorf("seal connection option %s: %w", k, err)
		}
		if sealed == nil {
			sealed = map[string][]byte{}
		}
		sealed[k] = ct
		delete(m, k)
	}
	if sealed == nil {
		return options, nil, nil
	}
	out, err := marshalDoc(m)
	if err != nil {
		return nil, nil, fmt.Errorf("connection options: %w", err)
	}
	return json.RawMessage(out), sealed, nil
}

// openOptions puts the sealed secrets back into the options.
func (s *Store) openOptions(connectionID string, options json.RawMessage, sealed map[string][]byte) (json.RawMessage, error) {
	m := map[string]json.RawMessage{}
	if len(bytes.TrimSpace(options)) > 0 {
		if err := json.Unmarshal(options, &m); err != nil {
			return nil, fmt.Errorf("connection %s: options: %w", connectionID, err)
		}
	}
	for k, ct := range sealed {
		v, err := s.sealer.Open(ct, optionAAD(connectionID, k))
		if err != nil {
			return nil, fmt.Errorf("open connection option %s: %w", k, err)
		}
		m[k] = v
	}
	out, err := marshalDoc(m)
	if err != nil {
		return nil, fmt.Errorf("connection %s: options: %w", connectionID, err)
	}
	return json.RawMessage(out), nil
}

// CreateConnection implements store.Connections.
func (s *Store) CreateConnection(ctx context.Context, c *store.Connection) error {
	return s.connections.create(ctx, s, c)
}

// GetConnection implements store.Connections.
func (s *Store) GetConnection(ctx context.Context, id string) (*store.Connection, error) {
	return s.connections.get(ctx, s, "id", id)
}

// ConnectionByName implements store.Connections.
func (s *Store) ConnectionByName(ctx context.Context, name string) (*store.Connection, error) {
	return s.connections.get(ctx, s, "name", name)
}

// ListConnections implements store.Connections.
func (s *Store) ListConnections(ctx context.Context, strategy string, p store.Page) ([]*store.Connection, int, error) {
	return s.connections.page(ctx, s, filter{{"strategy", strategy}}, p)
}

// UpdateConnection implements store.Connections.
func (s *Store) UpdateConnection(ctx context.Context, id string, fn func(*store.Connection) error) (*store.Connection, error) {
	return s.connections.update(ctx, s, id, fn)
}

// DeleteConnection implements store.Connections. The connection's users go
// in the same transaction.
func (s *Store) DeleteConnection(ctx context.Context, id string) error {
	tx, err := s.beginWrite(ctx)
	if err != nil {
		return fmt.Errorf("delete connection %q: %w", id, err)
	}
	defer tx.Rollback()
	res, err := tx.ExecContext(ctx, s.connections.deleteSQL, id)
	if err := deleted(fmt.Sprintf("delete connection %q", id), res, err); err != nil {
		return err
	}
	if _, err := tx.ExecContext(ctx, `DELETE FROM users WHERE connection_id = $1`, id); err != nil {
		return fmt.Errorf("delete connection %q: users: %w", id, err)
	}
	if err := tx.Commit(); err != nil {
		return fmt.Errorf("delete connection %q: commit: %w", id, err)
	}
	return nil
}
