// Package housekeeping is the background clean-up of what the store keeps
// but no request can use any more: refresh-token families past their
// absolute or idle expiry, used client-assertion jtis past theirs, attack
// protection's counters that have drained (a drained counter answers as a
// missing one), and tenant log events older than the retention limit. It deletes in bounded
// batches, and on a shared database one node at a time.
package housekeeping

import (
	"context"
	"fmt"
	"log/slog"
	"time"

	"github.com/gatehouse/gatehouse/internal/store"
)

// Defaults for the server's clean-up.
const (
	DefaultInterval = 10 * time.Minute
	DefaultBatch    = 500
	// maxBatches bounds one round per kind; a larger backlog waits for
	// the next round.
	maxBatches = 200
)

// DefaultLogRetention is how long the tenant's log keeps an event unless
// configured otherwise (--log-retention-days).
const DefaultLogRetention = 30 * 24 * time.Hour

// Cleaner deletes expired records. The zero Batch means DefaultBatch.
type Cleaner struct {
	Store store.Housekeeping
	Now   func() time.Time
	Log   *slog.Logger
	Batch int
	// Logs, when set, loses its events dated more than LogRetention ago
	// (a zero LogRetention keeps them all).
	Logs         store.Logs
	LogRetention time.Duration
	// Counters, when set, loses the attack-protection counters that are
	// empty or past their expiry.
	Counters interface {
		DeleteExpiredCounters(ctx context.Context, now time.Time, limit int) (int, error)
	}
}

// Deleted counts what one round removed.
type Deleted struct {
	Families, Nonces, Counters, Logs int
}

// Round runs one clean-up under the store's lock. ran is false when another
// node holds the lock (it is cleaning up meanwhile).
func (c *Cleaner) Round(ctx context.Context) (d Deleted, ran bool, err error) {
	batch := c.Batch
	if batch <= 0 {
		batch = DefaultBatch
	}
	now := c.Now()
	ran, err = c.Store.Exclusive(ctx, func(ctx context.Context) error {
		var err error
		if d.Families, err = drain(ctx, c.Store.DeleteExpiredRefreshFamilies, now, batch); err != nil {
			return err
		}
		if d.Nonces, err = drain(ctx, c.Store.DeleteExpiredNonces, now, batch); err != nil {
			return err
		}
		if c.Counters != nil {
			if d.Counters, err = drain(ctx, c.Counters.DeleteExpiredCounters, now, batch); err != nil {
				return err
			}
		}
		if c.Logs != nil && c.LogRetention > 0 {
			d.Logs, err = drain(ctx, c.Logs.DeleteLogsBefore, now.Add(-c.LogRetention), batch)
		}
		return err
	})
	return d, ran, err
}

// drain deletes batch after batch until one comes back short.
func drain(ctx context.Context, del func(context.Context, time.Time, int) (int, error), now time.Time, batch int) (int, error) {
	total := 0
	for range maxBatches {
		n, err := del(ctx, now, batch)
		total += n
		if err != nil {
			return total, fmt.Errorf("housekeeping: %w", err)
		}
		if n < batch {
			break
		}
	}
	return total, nil
}

// Run calls Round every interval until ctx ends.
func (c *Cleaner) Run(ctx context.Context, interval time.Duration) {
	t := time.NewTicker(interval)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
			d, ran, err := c.Round(ctx)
			switch {
			case err != nil && ctx.Err() == nil:
				c.Log.Warn("housekeeping", slog.Any("err", err))
			case ran && d.Families+d.Nonces+d.Counters+d.Logs > 0:
				c.Log.Info("housekeeping: deleted expired records",
					slog.Int("refresh_families", d.Families), slog.Int("nonces", d.Nonces),
					slog.Int("attack_counters", d.Counters), slog.Int("log_events", d.Logs))
			}
		}
	}
}
