package sqlstore

import (
	"context"
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
			doc, err := marshalDoc(c)
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
			var c store.Connection
			if err := unmarshalDoc(doc, &c); err != nil {
				return nil, err
			}
			c.ID, c.Name, c.Strategy = id, name, strategy
			return &c, nil
		},
	})
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
