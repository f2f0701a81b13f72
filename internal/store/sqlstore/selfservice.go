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

func ticketTable(s *Store) *table[store.Ticket] {
	return newTable(s, table[store.Ticket]{
		noun:    "ticket",
		name:    "tickets",
		columns: []string{"id", "user_id", "expires_at", "doc"},
		keyOf:   func(t *store.Ticket) string { return t.ID },
		encode: func(t *store.Ticket) ([]any, error) {
			doc, err := marshalDoc(t)
			if err != nil {
				return nil, err
			}
			return []any{t.ID, t.UserID, t.ExpiresAt.UnixMicro(), doc}, nil
		},
		decode: func(sc scanner) (*store.Ticket, error) {
			var id, userID, doc string
			var expires int64
			if err := sc.Scan(&id, &userID, &expires, &doc); err != nil {
				return nil, err
			}
			var t store.Ticket
			if err := unmarshalDoc(doc, &t); err != nil {
				return nil, err
			}
			t.ID, t.UserID = id, userID
			return &t, nil
		},
	})
}

// CreateTicket implements store.SelfService.
func (s *Store) CreateTicket(ctx context.Context, t *store.Ticket) error {
	if _, err := s.w.ExecContext(ctx, `DELETE FROM tickets WHERE expires_at <= $1`, s.now().UnixMicro()); err != nil {
		return fmt.Errorf("create ticket: prune: %w", err)
	}
	return s.tickets.create(ctx, s, t)
}

// GetTicket implements store.SelfService.
func (s *Store) GetTicket(ctx context.Context, id string) (*store.Ticket, error) {
	return s.tickets.get(ctx, s, "id", id)
}

// DeleteTicket implements store.SelfService: one DELETE, so of two
// concurrent callers only one sees the row go.
func (s *Store) DeleteTicket(ctx context.Context, id string) error {
	return s.tickets.delete(ctx, s, id)
}

// UpdatePasswordlessCode implements store.SelfService.
func (s *Store) UpdatePasswordlessCode(ctx context.Context, id string, fn func(*store.PasswordlessCode) error) (*store.PasswordlessCode, error) {
	var out *store.PasswordlessCode
	err := s.updateDoc(ctx, "passwordless_codes", "id", id, func(doc string) (string, time.Time, error) {
		c := store.PasswordlessCode{}
		if doc != "" {
			if err := unmarshalDoc(doc, &c); err != nil {
				return "", time.Time{}, err
			}
		}
		c.ID = id
		if err := fn(&c); err != nil {
			return "", time.Time{}, err
		}
		c.ID = id
		out = &c
		d, err := marshalDoc(c)
		return d, c.ExpiresAt, err
	})
	return out, err
}

// DeletePasswordlessCode implements store.SelfService.
func (s *Store) DeletePasswordlessCode(ctx context.Context, id string) error {
	res, err := s.w.ExecContext(ctx, `DELETE FROM passwordless_codes WHERE id = $1`, id)
	if err != nil {
		return fmt.Errorf("delete passwordless code: %w", err)
	}
	if n, _ := res.RowsAffected(); n == 0 {
		return fmt.Errorf("passwordless code: %w", store.ErrNotFound)
	}
	return nil
}

// UpdateRateBucket implements store.SelfService. It prunes expired
// buckets now and then (at most once a minute per node).
func (s *Store) UpdateRateBucket(ctx context.Context, key string, fn func(*store.RateBucket) error) (*store.RateBucket, error) {
	now := s.now()
	if last := s.lastBucketPrune.Load(); now.UnixMicro()-last > int64(time.Minute/time.Microsecond) &&
		s.lastBucketPrune.CompareAndSwap(last, now.UnixMicro()) {
		if _, err := s.w.ExecContext(ctx, `DELETE FROM rate_buckets WHERE expires_at <= $1`, now.UnixMicro()); err != nil {
			return nil, fmt.Errorf("update rate bucket: prune: %w", err)
		}
	}
	var out *store.RateBucket
	err := s.updateDoc(ctx, "rate_buckets", "key", key, func(doc string) (string, time.Time, error) {
		b := store.RateBucket{}
		if doc != "" {
			if err := unmarshalDoc(doc, &b); err != nil {
				return "", time.Time{}, err
			}
		}
		b.Key = key
		if err := fn(&b); err != nil {
			return "", time.Time{}, err
		}
		b.Key = key
		out = &b
		d, err := marshalDoc(b)
		return d, b.ExpiresAt, err
	})
	return out, err
}

// updateDoc is a read-modify-write of one (key, expires_at, doc) row in
// one transaction, the row locked (PostgreSQL) or under the single writer
// (SQLite). fn gets "" when there is no row yet.
//
// A missing row cannot be locked, so on PostgreSQL two first writers
// would both read nothing and the later one's upsert would overwrite the
// earlier one's update. The first write therefore inserts only if the row
// is still missing; a writer that finds it was beaten starts again, and
// then reads and locks the row the other one committed.
func (s *Store) updateDoc(ctx context.Context, tableName, keyCol, key string, fn func(doc string) (string, time.Time, error)) error {
	for range 3 {
		done, err := s.tryUpdateDoc(ctx, tableName, keyCol, key, fn)
		if err != nil || done {
			return err
		}
	}
	return fmt.Errorf("update %s: the row kept appearing under a concurrent first write", tableName)
}

// tryUpdateDoc is one attempt of updateDoc; done is false when the row was
// missing at the read and another writer inserted it first.
func (s *Store) tryUpdateDoc(ctx context.Context, tableName, keyCol, key string, fn func(doc string) (string, time.Time, error)) (done bool, err error) {
	tx, err := s.beginWrite(ctx)
	if err != nil {
		return false, fmt.Errorf("update %s: %w", tableName, err)
	}
	defer tx.Rollback()
	var doc string
	err = tx.QueryRowContext(ctx, `SELECT doc FROM `+tableName+` WHERE `+keyCol+` = $1`+s.forUpdate(), key).Scan(&doc)
	missing := errors.Is(err, sql.ErrNoRows)
	if err != nil && !missing {
		return false, fmt.Errorf("update %s: %w", tableName, err)
	}
	newDoc, expires, err := fn(doc)
	if err != nil {
		return false, err
	}
	return writeLockedRow(ctx, tx, tableName, keyCol, key, missing, []string{"expires_at", "doc"}, expires.UnixMicro(), newDoc)
}

// writeLockedRow ends a read-modify-write of one row: it updates the row
// read (and locked) in tx, or, when the read found none, inserts it only
// if it is still missing, and commits. done is false, with nothing
// written, when another writer inserted the row first; the caller starts
// again and then reads and locks that row.
func writeLockedRow(ctx context.Context, tx *sql.Tx, tableName, keyCol, key string, missing bool, cols []string, vals ...any) (done bool, err error) {
	args := append([]any{key}, vals...)
	var q string
	if missing {
		q = `INSERT INTO ` + tableName + ` (` + keyCol + `, ` + strings.Join(cols, ", ") + `) VALUES (` +
			placeholders(1, len(args)) + `) ON CONFLICT (` + keyCol + `) DO NOTHING`
	} else {
		set := make([]string, len(cols))
		for i, c := range cols {
			set[i] = fmt.Sprintf("%s = $%d", c, i+2)
		}
		q = `UPDATE ` + tableName + ` SET ` + strings.Join(set, ", ") + ` WHERE ` + keyCol + ` = $1`
	}
	res, err := tx.ExecContext(ctx, q, args...)
	if err != nil {
		return false, fmt.Errorf("update %s: %w", tableName, err)
	}
	if n, err := res.RowsAffected(); err != nil {
		return false, fmt.Errorf("update %s: %w", tableName, err)
	} else if n == 0 {
		return false, nil
	}
	if err := tx.Commit(); err != nil {
		return false, fmt.Errorf("update %s: commit: %w", tableName, err)
	}
	return true, nil
}
