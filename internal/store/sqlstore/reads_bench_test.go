package sqlstore_test

import (
	"path/filepath"
	"testing"

	"github.com/gatehouse/gatehouse/internal/store"
	"github.com/gatehouse/gatehouse/internal/store/sqlstore"
)

// BenchmarkRefreshGrantReads compares the refresh grant's read, a family
// and its user in one statement, with the two lookups it replaced, on
// each backend, one after the other on the same store:
//
//	go test -run '^$' -bench RefreshGrantReads -count 6 ./internal/store/sqlstore
func BenchmarkRefreshGrantReads(b *testing.B) {
	backends := []struct {
		name string
		open func(b *testing.B) *sqlstore.Store
	}{
		{"sqlite", func(b *testing.B) *sqlstore.Store {
			return open(b, filepath.Join(b.TempDir(), "g.db"), newSealer(b))
		}},
		{"postgres", func(b *testing.B) *sqlstore.Store {
			return open(b, postgresServer(b).newDatabase(b), newSealer(b))
		}},
	}
	for _, be := range backends {
		b.Run(be.name, func(b *testing.B) {
			s := be.open(b)
			ctx := b.Context()
			u := &store.User{UserID: "auth0|1", ConnectionID: "con_1", Connection: "db", Email: "ada@example.test",
				PasswordHash: "$2a$10$0123456789012345678901uAbCdEfGhIjKlMnOpQrStUvWxYz0123", AppMetadata: map[string]any{"plan": "gold"}}
			f := &store.RefreshFamily{ID: "fam_1", UserID: u.UserID, ClientID: "client_1", Scope: []string{"openid", "offline_access"},
				Rotating: true, Current: [][]byte{make([]byte, 32)}}
			if err := s.CreateUser(ctx, u); err != nil {
				b.Fatal(err)
			}
			if err := s.CreateRefreshFamily(ctx, f); err != nil {
				b.Fatal(err)
			}
			b.Run("two-statements", func(b *testing.B) {
				for b.Loop() {
					f, err := s.GetRefreshFamily(ctx, "fam_1")
					if err != nil {
						b.Fatal(err)
					}
					if _, err := s.GetUser(ctx, f.UserID); err != nil {
						b.Fatal(err)
					}
				}
			})
			b.Run("joined", func(b *testing.B) {
				for b.Loop() {
					if _, u, err := s.GetRefreshFamilyWithUser(ctx, "fam_1"); err != nil || u == nil {
						b.Fatal(u, err)
					}
				}
			})
		})
	}
}
