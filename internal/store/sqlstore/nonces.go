package sqlstore

import (
	"context"
	"fmt"
	"time"

	"github.com/gatehouse/gatehouse/internal/store"
)

// UseNonce implements store.Nonces with one upsert: a new key is inserted,
// an expired one is taken over, and a live one changes nothing, which is
// the conflict. At most once per noncePruneInterval it first deletes the
// expired nonces.
func (s *Store) UseNonce(ctx context.Context, key string, expiresAt time.Time) error {
	if key == "" {
		return fmt.Errorf("use nonce: empty key")
	}
	now := s.now().UnixMicro()
	if last := s.lastPrune.Load(); now-last >= noncePruneInterval.Microseconds() && s.lastPrune.CompareAndSwap(last, now) {
		if _, err := s.w.ExecContext(ctx, `DELETE FROM nonces WHERE expires_at <= $1`, now); err != nil {
			return fmt.Errorf("use nonce: prune: %w", err)
		}
	}
	res, err := s.w.ExecContext(ctx, `INSERT INTO nonces (key, expires_at) VALUES ($1, $2)
		ON CONFLICT (key) DO UPDATE SET expires_at = excluded.expires_at
		WHERE nonces.expires_at <= $3`, key, expiresAt.UnixMicro(), now)
	if err != nil {
		return fmt.Errorf("use nonce: %w", err)
	}
	n, err := res.RowsAffected()
	if err != nil {
		return fmt.Errorf("use nonce: %w", err)
	}
	if n == 0 {
		return fmt.Errorf("use nonce: %w", store.ErrConflict)
	}
	return nil
}
