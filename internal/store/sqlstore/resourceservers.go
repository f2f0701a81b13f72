package sqlstore

import (
	"context"

	"github.com/gatehouse/gatehouse/internal/store"
)

func resourceServerTable(s *Store) *table[store.ResourceServer] {
	return newTable(s, table[store.ResourceServer]{
		noun:    "resource server",
		name:    "resource_servers",
		columns: []string{"id", "identifier", "secret", "doc"},
		keyOf:   func(rs *store.ResourceServer) string { return rs.ID },
		encode: func(rs *store.ResourceServer) ([]any, error) {
			secret, err := s.sealSecret([]byte(rs.SigningSecret), "signing_secret:"+rs.ID)
			if err != nil {
				return nil, err
			}
			d := *rs
			d.SigningSecret = ""
			doc, err := marshalDoc(d)
			if err != nil {
				return nil, err
			}
			return []any{rs.ID, rs.Identifier, secret, doc}, nil
		},
		decode: func(sc scanner) (*store.ResourceServer, error) {
			var (
				id, identifier, doc string
				secret              []byte
				rs                  store.ResourceServer
			)
			if err := sc.Scan(&id, &identifier, &secret, &doc); err != nil {
				return nil, err
			}
			if err := unmarshalDoc(doc, &rs); err != nil {
				return nil, err
			}
			plain, err := s.openSecret(secret, "signing_secret:"+id)
			if err != nil {
				return nil, err
			}
			rs.ID, rs.Identifier, rs.SigningSecret = id, identifier, string(plain)
			return &rs, nil
		},
	})
}

// CreateResourceServer implements store.ResourceServers.
func (s *Store) CreateResourceServer(ctx context.Context, rs *store.ResourceServer) error {
	return s.resourceServers.create(ctx, s, rs)
}

// GetResourceServer implements store.ResourceServers.
func (s *Store) GetResourceServer(ctx context.Context, id string) (*store.ResourceServer, error) {
	return s.resourceServers.get(ctx, s, "id", id)
}

// ResourceServerByIdentifier implements store.ResourceServers.
func (s *Store) ResourceServerByIdentifier(ctx context.Context, identifier string) (*store.ResourceServer, error) {
	return s.resourceServers.get(ctx, s, "identifier", identifier)
}

// ListResourceServers implements store.ResourceServers.
func (s *Store) ListResourceServers(ctx context.Context, p store.Page) ([]*store.ResourceServer, int, error) {
	return s.resourceServers.page(ctx, s, nil, p)
}

// UpdateResourceServer implements store.ResourceServers.
func (s *Store) UpdateResourceServer(ctx context.Context, id string, fn func(*store.ResourceServer) error) (*store.ResourceServer, error) {
	return s.resourceServers.update(ctx, s, id, fn)
}

// DeleteResourceServer implements store.ResourceServers.
func (s *Store) DeleteResourceServer(ctx context.Context, id string) error {
	return s.resourceServers.delete(ctx, s, id)
}
