package sqlstore

import (
	"context"
	"database/sql"
	"strings"

	"github.com/gatehouse/gatehouse/internal/store"
)

// userTable keeps the fields the API never shows (connection, password hash)
// in columns and lower-cased email and username for case-insensitive lookup
// and uniqueness within a connection.
func userTable(s *Store) *table[store.User] {
	return newTable(s, table[store.User]{
		noun:    "user",
		name:    "users",
		columns: []string{"user_id", "connection_id", "connection_name", "email_lower", "username_lower", "password_hash", "doc"},
		keyOf:   func(u *store.User) string { return u.UserID },
		encode: func(u *store.User) ([]any, error) {
			doc, err := marshalDoc(u)
			if err != nil {
				return nil, err
			}
			return []any{
				u.UserID, u.ConnectionID, u.Connection,
				nullIfEmpty(strings.ToLower(u.Email)), nullIfEmpty(strings.ToLower(u.Username)),
				u.PasswordHash, doc,
			}, nil
		},
		decode: func(sc scanner) (*store.User, error) {
			var (
				userID, connID, connName, hash, doc string
				emailLower, usernameLower           sql.NullString
				u                                   store.User
			)
			if err := sc.Scan(&userID, &connID, &connName, &emailLower, &usernameLower, &hash, &doc); err != nil {
				return nil, err
			}
			if err := unmarshalDoc(doc, &u); err != nil {
				return nil, err
			}
			u.UserID, u.ConnectionID, u.Connection, u.PasswordHash = userID, connID, connName, hash
			return &u, nil
		},
	})
}

// CreateUser implements store.Users.
func (s *Store) CreateUser(ctx context.Context, u *store.User) error {
	return s.users.create(ctx, s, u)
}

// GetUser implements store.Users.
func (s *Store) GetUser(ctx context.Context, userID string) (*store.User, error) {
	return s.users.get(ctx, s, "user_id", userID)
}

// userByIdentifierWhere selects a connection's user by lower-cased email
// or username ($2); both are indexed with the connection.
const userByIdentifierWhere = ` WHERE connection_id = $1 AND (email_lower = $2 OR username_lower = $2)
	ORDER BY CASE WHEN email_lower = $2 THEN 0 ELSE 1 END LIMIT 1`

// UserByIdentifier implements store.Users. Should one user's email equal
// another's username, the email match wins.
func (s *Store) UserByIdentifier(ctx context.Context, connectionID, identifier string) (*store.User, error) {
	return s.users.one(ctx, s, "user by identifier", userByIdentifierWhere, connectionID, strings.ToLower(identifier))
}

// ListUsers implements store.Users.
func (s *Store) ListUsers(ctx context.Context, q store.UserQuery, p store.Page) ([]*store.User, int, error) {
	return s.users.page(ctx, s, filter{{"connection_name", q.Connection}, {"email_lower", strings.ToLower(q.Email)}}, p)
}

// UpdateUser implements store.Users.
func (s *Store) UpdateUser(ctx context.Context, userID string, fn func(*store.User) error) (*store.User, error) {
	return s.users.update(ctx, s, userID, fn)
}

// DeleteUser implements store.Users.
func (s *Store) DeleteUser(ctx context.Context, userID string) error {
	return s.users.delete(ctx, s, userID)
}
