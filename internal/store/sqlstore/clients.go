package sqlstore

import (
	"context"
	"fmt"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/gatehouse/gatehouse/internal/store"
)

// clientDoc is how a client is stored: the API document plus the fields the
// API never shows. The secret is not in it; it has its own sealed column.
type clientDoc struct {
	store.Client
	Credentials []store.ClientCredential `json:"credentials"`
	CreatedAt   time.Time                `json:"created_at"`
}

func clientTable(s *Store) *table[store.Client] {
	return newTable(s, table[store.Client]{
		noun:    "client",
		name:    "clients",
		columns: []string{"client_id", "secret", "doc"},
		keyOf:   func(c *store.Client) string { return c.ClientID },
		encode: func(c *store.Client) ([]any, error) {
			secret, err := s.sealSecret([]byte(c.ClientSecret), "client_secret:"+c.ClientID)
			if err != nil {
				return nil, err
			}
			d := clientDoc{Client: *c, Credentials: c.Credentials, CreatedAt: c.CreatedAt}
			d.ClientSecret = ""
			doc, err := marshalDoc(d)
			if err != nil {
				return nil, err
			}
			return []any{c.ClientID, secret, doc}, nil
		},
		decode: func(sc scanner) (*store.Client, error) {
			var (
				id     string
				secret []byte
				doc    string
				d      clientDoc
			)
			if err := sc.Scan(&id, &secret, &doc); err != nil {
				return nil, err
			}
			if err := unmarshalDoc(doc, &d); err != nil {
				return nil, err
			}
			plain, err := s.openSecret(secret, "client_secret:"+id)
			if err != nil {
				return nil, err
			}
			c := d.Client
			c.ClientID = id
			c.ClientSecret = string(plain)
			c.Credentials = d.Credentials
			c.CreatedAt = d.CreatedAt
			return &c, nil
		},
	})
}

// CreateClient implements store.Clients.
func (s *Store) CreateClient(ctx context.Context, c *store.Client) error {
	return s.clients.create(ctx, s, c)
}

// GetClient implements store.Clients.
func (s *Store) GetClient(ctx context.Context, clientID string) (*store.Client, error) {
	return s.clients.get(ctx, s, "client_id", clientID)
}

// ListClients implements store.Clients.
func (s *Store) ListClients(ctx context.Context, p store.Page) ([]*store.Client, int, error) {
	return s.clients.page(ctx, s, nil, p)
}

// UpdateClient implements store.Clients.
func (s *Store) UpdateClient(ctx context.Context, clientID string, fn func(*store.Client) error) (*store.Client, error) {
	return s.clients.update(ctx, s, clientID, fn)
}

// DeleteClient implements store.Clients: the client, its client grants,
// its refresh families and its place in every connection's enabled_clients
// go in one transaction.
func (s *Store) DeleteClient(ctx context.Context, clientID string) error {
	what := fmt.Sprintf("delete client %q", clientID)
	tx, err := s.beginWrite(ctx)
	if err != nil {
		return fmt.Errorf("%s: %w", what, err)
	}
	defer tx.Rollback()
	res, err := tx.ExecContext(ctx, s.clients.deleteSQL, clientID)
	if err := deleted(what, res, err); err != nil {
		return err
	}
	for _, table := range []string{"client_grants", "refresh_families"} {
		if _, err := tx.ExecContext(ctx, "DELETE FROM "+table+" WHERE client_id = $1", clientID); err != nil {
			return fmt.Errorf("%s: %s: %w", what, table, err)
		}
	}
	// Connections are few; each one that enables the client is rewritten
	// through its own encoding, whatever the document's format.
	conns, err := s.connections.query(ctx, tx, "", s.forUpdate())
	if err != nil {
		return fmt.Errorf("%s: %w", what, err)
	}
	for _, c := range conns {
		if !c.EnabledFor(clientID) {
			continue
		}
		c.EnabledClients = slices.DeleteFunc(c.EnabledClients, func(id string) bool { return id == clientID })
		args, err := s.connections.encode(c)
		if err != nil {
			return fmt.Errorf("%s: connection %q: %w", what, c.ID, err)
		}
		if _, err := tx.ExecContext(ctx, s.connections.updateByKeySQL(), append(args, c.ID)...); err != nil {
			return fmt.Errorf("%s: connection %q: %w", what, c.ID, err)
		}
	}
	if err := tx.Commit(); err != nil {
		return fmt.Errorf("%s: commit: %w", what, err)
	}
	return nil
}

// updateByKeySQL rewrites the row whose key column equals the parameter
// after the columns' own.
func (t *table[T]) updateByKeySQL() string {
	sets := make([]string, len(t.columns))
	for i, c := range t.columns {
		sets[i] = c + " = $" + strconv.Itoa(i+1)
	}
	return "UPDATE " + t.name + " SET " + strings.Join(sets, ", ") + " WHERE " + t.columns[0] + " = $" + strconv.Itoa(len(t.columns)+1)
}
