package sqlstore

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/gatehouse/gatehouse/internal/store"
)

// familyTable stores the whole family, token hashes included, in doc; the
// key columns back lookups and bulk revocation, and expires_at the
// clean-up of dead families.
func familyTable(s *Store) *table[store.RefreshFamily] {
	return newTable(s, table[store.RefreshFamily]{
		noun:    "refresh family",
		name:    "refresh_families",
		columns: []string{"id", "user_id", "client_id", "audience", "version", "expires_at", "doc"},
		keyOf:   func(f *store.RefreshFamily) string { return f.ID },
		encode: func(f *store.RefreshFamily) ([]any, error) {
			doc, err := s.familyDoc(f)
			if err != nil {
				return nil, err
			}
			return []any{f.ID, f.UserID, f.ClientID, f.Audience, f.Version, familyExpiry(f), doc}, nil
		},
		decode: func(sc scanner) (*store.RefreshFamily, error) {
			var id, userID, clientID, audience, doc string
			var version int64
			var expiresAt sql.NullInt64 // derived from doc
			if err := sc.Scan(&id, &userID, &clientID, &audience, &version, &expiresAt, &doc); err != nil {
				return nil, err
			}
			var d storedFamily
			if err := unmarshalDoc(doc, &d); err != nil {
				return nil, err
			}
			f := d.RefreshFamily
			f.ID, f.UserID, f.ClientID, f.Audience, f.Version = id, userID, clientID, audience, version
			data, err := s.openSecret(d.SealedConnectorData, connectorDataAAD(id))
			if err != nil {
				return nil, err
			}
			f.ConnectorData = data
			return &f, nil
		},
	})
}

// storedFamily is how a family is stored: its connector data (an upstream
// refresh token) sealed, bound to the family.
type storedFamily struct {
	store.RefreshFamily
	SealedConnectorData []byte `json:"sealed_connector_data,omitempty"`
}

func connectorDataAAD(familyID string) string {
	return "refresh_family:" + familyID + ":connector_data"
}

// familyDoc is f's doc column.
func (s *Store) familyDoc(f *store.RefreshFamily) (string, error) {
	if len(f.ConnectorData) == 0 {
		return marshalDoc(f)
	}
	sealed, err := s.sealSecret(f.ConnectorData, connectorDataAAD(f.ID))
	if err != nil {
		return "", err
	}
	return marshalDoc(storedFamily{RefreshFamily: *f, SealedConnectorData: sealed})
}

// familyExpiry is when f dies, in Unix microseconds: the earlier of its
// absolute and idle expiry; NULL when it has neither.
func familyExpiry(f *store.RefreshFamily) any {
	var at time.Time
	for _, t := range []time.Time{f.ExpiresAt, f.IdleExpiresAt} {
		if !t.IsZero() && (at.IsZero() || t.Before(at)) {
			at = t
		}
	}
	if at.IsZero() {
		return nil
	}
	return at.UnixMicro()
}

// CreateRefreshFamily implements store.RefreshFamilies.
func (s *Store) CreateRefreshFamily(ctx context.Context, f *store.RefreshFamily) error {
	return s.families.create(ctx, s, f)
}

// GetRefreshFamily implements store.RefreshFamilies.
func (s *Store) GetRefreshFamily(ctx context.Context, id string) (*store.RefreshFamily, error) {
	return s.families.get(ctx, s, "id", id)
}

// familyWithUserSQL selects a family's columns and then its user's, which
// are all NULL when the user is gone.
func familyWithUserSQL(families *table[store.RefreshFamily], users *table[store.User]) string {
	cols := make([]string, 0, len(families.columns)+len(users.columns))
	for _, c := range families.columns {
		cols = append(cols, "f."+c)
	}
	for _, c := range users.columns {
		cols = append(cols, "u."+c)
	}
	return "SELECT " + strings.Join(cols, ", ") + " FROM " + families.name + " f LEFT JOIN " + users.name +
		" u ON u." + users.columns[0] + " = f.user_id WHERE f.id = $1"
}

// GetRefreshFamilyWithUser implements store.RefreshFamilies: one
// statement, whose row each table decodes its own part of.
func (s *Store) GetRefreshFamilyWithUser(ctx context.Context, id string) (*store.RefreshFamily, *store.User, error) {
	nf := len(s.families.columns)
	values := make(valueRow, nf+len(s.users.columns))
	dest := make([]any, len(values))
	for i := range values {
		dest[i] = &values[i]
	}
	err := s.r.QueryRowContext(ctx, s.familyWithUserSQL, id).Scan(dest...)
	if errors.Is(err, sql.ErrNoRows) {
		return nil, nil, fmt.Errorf("get refresh family %q: %w", id, store.ErrNotFound)
	}
	if err != nil {
		return nil, nil, fmt.Errorf("get refresh family %q with its user: %w", id, err)
	}
	f, err := s.families.decode(values[:nf])
	if err != nil {
		return nil, nil, fmt.Errorf("get refresh family %q: %w", id, err)
	}
	if values[nf] == nil { // no user row joined
		return f, nil, nil
	}
	u, err := s.users.decode(values[nf:])
	if err != nil {
		return nil, nil, fmt.Errorf("get refresh family %q: user %q: %w", id, f.UserID, err)
	}
	return f, u, nil
}

// casFamilySQL writes a family back only if its version is still the one
// it was read at: one statement, no held lock, which is what lets a refresh
// grant cost one read and one write.
//
// A family's user, client and audience are fixed at its creation, so the
// statement leaves those columns alone: naming an indexed column in SET
// makes SQLite rewrite its index entry even when the value is the same.
const casFamilySQL = `UPDATE refresh_families SET doc = $1, expires_at = $2, version = version + 1
	WHERE id = $3 AND version = $4`

// ReplaceRefreshFamily implements store.RefreshFamilies. On SQLite the
// write joins the group commit (see groupWriter).
func (s *Store) ReplaceRefreshFamily(ctx context.Context, f *store.RefreshFamily) error {
	doc, err := s.familyDoc(f)
	if err != nil {
		return fmt.Errorf("replace refresh family %q: %w", f.ID, err)
	}
	args := []any{doc, familyExpiry(f), f.ID, f.Version}
	var n int64
	err = s.grantWrite(ctx, func(ctx context.Context, ex execer) error {
		res, err := ex.ExecContext(ctx, casFamilySQL, args...)
		if err != nil {
			return err
		}
		n, err = res.RowsAffected()
		return err
	})
	if err != nil {
		return fmt.Errorf("replace refresh family %q: %w", f.ID, err)
	}
	if n == 0 {
		if _, err := s.GetRefreshFamily(ctx, f.ID); err != nil {
			return err
		}
		return fmt.Errorf("replace refresh family %q: %w", f.ID, store.ErrConflict)
	}
	f.Version++
	return nil
}

// DeleteRefreshFamily implements store.RefreshFamilies.
func (s *Store) DeleteRefreshFamily(ctx context.Context, id string) error {
	return s.families.delete(ctx, s, id)
}

// DeleteRefreshFamilies implements store.RefreshFamilies. An empty clientID
// selects the user's families of every client; an empty userID is refused,
// as it would select everyone's.
func (s *Store) DeleteRefreshFamilies(ctx context.Context, userID, clientID, audience string) (int, error) {
	if userID == "" {
		return 0, errors.New("delete refresh families: empty user id")
	}
	where, args := filter{{"user_id", userID}, {"client_id", clientID}, {"audience", audience}}.sql()
	res, err := s.w.ExecContext(ctx, "DELETE FROM refresh_families"+where, args...)
	if err != nil {
		return 0, fmt.Errorf("delete refresh families: %w", err)
	}
	n, err := res.RowsAffected()
	if err != nil {
		return 0, fmt.Errorf("delete refresh families: %w", err)
	}
	return int(n), nil
}

// ListRefreshFamilies implements store.RefreshFamilies. An empty clientID
// lists the user's families of every client.
func (s *Store) ListRefreshFamilies(ctx context.Context, userID, clientID string) ([]*store.RefreshFamily, error) {
	if userID == "" {
		return nil, errors.New("list refresh families: empty user id")
	}
	where, args := filter{{"user_id", userID}, {"client_id", clientID}}.sql()
	return s.families.query(ctx, s.r, where, "", args...)
}
