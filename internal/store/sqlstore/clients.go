package sqlstore

import (
	"context"
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

// DeleteClient implements store.Clients.
func (s *Store) DeleteClient(ctx context.Context, clientID string) error {
	return s.clients.delete(ctx, s, clientID)
}
