package sqlstore

import (
	"context"
	"fmt"

	"github.com/gatehouse/gatehouse/internal/store"
)

func grantTable(s *Store) *table[store.ClientGrant] {
	return newTable(s, table[store.ClientGrant]{
		noun:    "client grant",
		name:    "client_grants",
		columns: []string{"id", "client_id", "audience", "doc"},
		keyOf:   func(g *store.ClientGrant) string { return g.ID },
		encode: func(g *store.ClientGrant) ([]any, error) {
			doc, err := marshalDoc(g)
			if err != nil {
				return nil, err
			}
			return []any{g.ID, g.ClientID, g.Audience, doc}, nil
		},
		decode: func(sc scanner) (*store.ClientGrant, error) {
			var id, clientID, audience, doc string
			if err := sc.Scan(&id, &clientID, &audience, &doc); err != nil {
				return nil, err
			}
			var g store.ClientGrant
			if err := unmarshalDoc(doc, &g); err != nil {
				return nil, err
			}
			g.ID, g.ClientID, g.Audience = id, clientID, audience
			return &g, nil
		},
	})
}

// CreateClientGrant implements store.ClientGrants.
func (s *Store) CreateClientGrant(ctx context.Context, g *store.ClientGrant) error {
	return s.grants.create(ctx, s, g)
}

// GetClientGrant implements store.ClientGrants.
func (s *Store) GetClientGrant(ctx context.Context, id string) (*store.ClientGrant, error) {
	return s.grants.get(ctx, s, "id", id)
}

// FindClientGrant implements store.ClientGrants.
func (s *Store) FindClientGrant(ctx context.Context, clientID, audience string) (*store.ClientGrant, error) {
	return s.grants.one(ctx, s, fmt.Sprintf("find client grant (%q, %q)", clientID, audience),
		" WHERE client_id = $1 AND audience = $2", clientID, audience)
}

// ListClientGrants implements store.ClientGrants.
func (s *Store) ListClientGrants(ctx context.Context, clientID, audience string, p store.Page) ([]*store.ClientGrant, int, error) {
	return s.grants.page(ctx, s, filter{{"client_id", clientID}, {"audience", audience}}, p)
}

// UpdateClientGrant implements store.ClientGrants.
func (s *Store) UpdateClientGrant(ctx context.Context, id string, fn func(*store.ClientGrant) error) (*store.ClientGrant, error) {
	return s.grants.update(ctx, s, id, fn)
}

// DeleteClientGrant implements store.ClientGrants.
func (s *Store) DeleteClientGrant(ctx context.Context, id string) error {
	return s.grants.delete(ctx, s, id)
}
