package sqlstore

import (
	"context"
	"database/sql"
	"fmt"
	"strconv"
	"strings"
	"time"

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

// The user document's login fields, by their storage names: RecordLogin
// changes them inside the document, in SQL.
const (
	docLastLogin   = "last_login"
	docLastIP      = "last_ip"
	docLoginsCount = "logins_count"
)

// recordLoginSQL updates a user's login fields inside doc and, when $4 is not
// empty, the password hash, in one statement per dialect.
var recordLoginSQL = map[string]string{
	DialectSQLite: `UPDATE users SET
		doc = json_set(doc, '$.` + docLastLogin + `', $2, '$.` + docLastIP + `', $3,
			'$.` + docLoginsCount + `', COALESCE(json_extract(doc, '$.` + docLoginsCount + `'), 0) + 1),
		password_hash = CASE WHEN $4 = '' THEN password_hash ELSE $4 END
		WHERE user_id = $1`,
	DialectPostgres: `UPDATE users SET
		doc = doc || jsonb_build_object('` + docLastLogin + `', $2::text, '` + docLastIP + `', $3::text,
			'` + docLoginsCount + `', COALESCE((doc ->> '` + docLoginsCount + `')::bigint, 0) + 1),
		password_hash = CASE WHEN $4::text = '' THEN password_hash ELSE $4::text END
		WHERE user_id = $1`,
}

// RecordLogin implements store.Users. On PostgreSQL the user update and the
// family insert are one statement (a data-modifying CTE): one round trip, one
// transaction. SQLite has no such CTE, so there they share a transaction on
// the in-process writer connection, committed with other grants' writes
// (see groupWriter).
func (s *Store) RecordLogin(ctx context.Context, l store.Login) error {
	what := fmt.Sprintf("record login of %q", l.UserID)
	args := []any{l.UserID, l.At.UTC().Format(time.RFC3339Nano), l.IP, l.NewPasswordHash}
	update := recordLoginSQL[s.dialect]
	var famArgs []any
	if l.Family != nil {
		var err error
		if famArgs, err = s.families.encode(l.Family); err != nil {
			return fmt.Errorf("%s: %w", what, err)
		}
	}
	const resetSQL = `DELETE FROM attack_counters WHERE kind = $%d AND key = $%d`
	if s.dialect == DialectPostgres {
		// One statement whatever is written: the counter's deletion and
		// the family's insert ride on the user's update as CTEs.
		q, all := update, args
		var with []string
		if l.ResetCounter != nil {
			n := len(all)
			// Only when the user is there: a refused login writes nothing.
			with = append(with, "r AS ("+fmt.Sprintf(resetSQL, n+1, n+2)+" AND EXISTS (SELECT 1 FROM users WHERE user_id = $1))")
			all = append(all, l.ResetCounter.Kind, l.ResetCounter.Key)
		}
		if l.Family != nil {
			with = append(with, "u AS ("+update+" RETURNING 1)")
			q = "INSERT INTO refresh_families (" + strings.Join(s.families.columns, ", ") + ") SELECT " +
				placeholders(len(all)+1, len(famArgs)) + " FROM u"
			all = append(all, famArgs...)
		}
		if len(with) > 0 {
			q = "WITH " + strings.Join(with, ", ") + " " + q
		}
		res, err := s.w.ExecContext(ctx, q, all...)
		return oneRow(what, res, err)
	}
	// SQLite: the user update, the family insert and the counter's reset
	// share a transaction, which the group commit shares with other
	// grants' writes.
	return s.grantWrite(ctx, func(ctx context.Context, ex execer) error {
		res, err := ex.ExecContext(ctx, update, args...)
		if err := oneRow(what, res, err); err != nil {
			return err
		}
		if l.Family != nil {
			if _, err := ex.ExecContext(ctx, s.families.insertSQL, famArgs...); err != nil {
				return writeErr(what, err)
			}
		}
		if l.ResetCounter != nil {
			if _, err := ex.ExecContext(ctx, fmt.Sprintf(resetSQL, 1, 2), l.ResetCounter.Kind, l.ResetCounter.Key); err != nil {
				return fmt.Errorf("%s: reset counter: %w", what, err)
			}
		}
		return nil
	})
}

// oneRow turns a statement that should have changed one row into
// ErrNotFound when it changed none.
func oneRow(what string, res sql.Result, err error) error {
	if err != nil {
		return writeErr(what, err)
	}
	n, err := res.RowsAffected()
	if err != nil {
		return fmt.Errorf("%s: %w", what, err)
	}
	if n == 0 {
		return fmt.Errorf("%s: %w", what, store.ErrNotFound)
	}
	return nil
}

// placeholders returns "$from, ..., $(from+n-1)".
func placeholders(from, n int) string {
	p := make([]string, n)
	for i := range p {
		p[i] = "$" + strconv.Itoa(from+i)
	}
	return strings.Join(p, ", ")
}
