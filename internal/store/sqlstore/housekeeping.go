package sqlstore

import (
	"context"
	"database/sql/driver"
	"errors"
	"fmt"
	"time"

	"github.com/gatehouse/gatehouse/internal/store"
)

// housekeepingLockKey is the first half of the pg_try_advisory_lock key
// that keeps the clean-up to one node at a time ("gate" in ASCII); the
// second half is the schema's hash, so two tenants in two schemas of one
// database do not wait on each other.
const housekeepingLockKey int32 = 0x67617465

// DeleteExpiredRefreshFamilies implements store.Housekeeping.
func (s *Store) DeleteExpiredRefreshFamilies(ctx context.Context, now time.Time, limit int) (int, error) {
	return s.deleteBatch(ctx, "delete expired refresh families", `DELETE FROM refresh_families WHERE seq IN
		(SELECT seq FROM refresh_families WHERE expires_at <= $1 LIMIT $2)`, now, limit)
}

// DeleteExpiredNonces implements store.Housekeeping.
func (s *Store) DeleteExpiredNonces(ctx context.Context, now time.Time, limit int) (int, error) {
	return s.deleteBatch(ctx, "delete expired nonces", `DELETE FROM nonces WHERE key IN
		(SELECT key FROM nonces WHERE expires_at <= $1 LIMIT $2)`, now, limit)
}

// deleteBatch runs one bounded DELETE: its own short transaction, so a
// large backlog never holds locks for long.
func (s *Store) deleteBatch(ctx context.Context, what, q string, now time.Time, limit int) (int, error) {
	if limit <= 0 {
		return 0, fmt.Errorf("%s: limit %d", what, limit)
	}
	res, err := s.w.ExecContext(ctx, q, now.UnixMicro(), limit)
	if err != nil {
		return 0, fmt.Errorf("%s: %w", what, err)
	}
	n, err := res.RowsAffected()
	if err != nil {
		return 0, fmt.Errorf("%s: %w", what, err)
	}
	return int(n), nil
}

// Exclusive implements store.Housekeeping. On PostgreSQL the lock is a
// session advisory lock held on one pooled connection for the duration of
// fn, so it is shared by every node on the database and released should
// this one die; on SQLite, whose database one process serves, it is a
// mutex.
func (s *Store) Exclusive(ctx context.Context, fn func(context.Context) error) (ok bool, err error) {
	if s.dialect != DialectPostgres {
		if !s.housekeeping.TryLock() {
			return false, nil
		}
		defer s.housekeeping.Unlock()
		return true, fn(ctx)
	}
	conn, err := s.w.Conn(ctx)
	if err != nil {
		return false, fmt.Errorf("housekeeping lock: %w", err)
	}
	defer conn.Close()
	if err := conn.QueryRowContext(ctx, `SELECT pg_try_advisory_lock($1, hashtext(current_schema()))`,
		housekeepingLockKey).Scan(&ok); err != nil {
		return false, fmt.Errorf("housekeeping lock: %w", err)
	}
	if !ok {
		return false, nil
	}
	defer func() {
		// Unlock even when ctx has ended; a failure leaves the lock to the
		// session, so the connection is discarded rather than pooled.
		if _, uerr := conn.ExecContext(context.WithoutCancel(ctx), `SELECT pg_advisory_unlock($1, hashtext(current_schema()))`,
			housekeepingLockKey); uerr != nil {
			conn.Raw(func(any) error { return driver.ErrBadConn })
			err = errors.Join(err, fmt.Errorf("housekeeping unlock: %w", uerr))
		}
	}()
	return true, fn(ctx)
}

var _ store.Housekeeping = (*Store)(nil)
