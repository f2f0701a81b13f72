package sqlstore

import (
	"context"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/gatehouse/gatehouse/internal/store"
)

// configChannel is the NOTIFY channel of configuration writes and
// nodeSetting the session setting naming the writing node (see
// migrations/postgres/0013_config_notify.sql).
const (
	configChannel = "gatehouse_config"
	nodeSetting   = "gatehouse.node"
)

// Backoff bounds between attempts to (re)establish the watch.
const (
	watchBackoffMin = 100 * time.Millisecond
	watchBackoffMax = 10 * time.Second
)

var _ store.ConfigWatcher = (*Store)(nil)

// NodeID implements store.ConfigWatcher: the id this store's PostgreSQL
// connections announce their configuration writes under ("" on SQLite).
func (s *Store) NodeID() string { return s.node }

// WatchConfig implements store.ConfigWatcher on PostgreSQL: one dedicated
// connection (not from the pool, which would take it back) LISTENs on the
// configuration channel. On SQLite it returns errors.ErrUnsupported.
func (s *Store) WatchConfig(ctx context.Context, changed func(store.ConfigChange), status func(error)) error {
	if s.dialect != DialectPostgres {
		return fmt.Errorf("sqlstore: watch configuration on %s: %w", s.dialect, errors.ErrUnsupported)
	}
	backoff := watchBackoffMin
	for {
		established, err := s.listen(ctx, changed, func() { status(nil) })
		if ctx.Err() != nil {
			return ctx.Err()
		}
		status(err)
		if established {
			backoff = watchBackoffMin
		}
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(backoff):
		}
		backoff = min(2*backoff, watchBackoffMax)
	}
}

// listen holds one listening connection until it fails or ctx ends, and
// reports whether LISTEN was in place.
func (s *Store) listen(ctx context.Context, changed func(store.ConfigChange), connected func()) (established bool, err error) {
	conn, err := pgx.Connect(ctx, s.dsn)
	if err != nil {
		return false, fmt.Errorf("sqlstore: watch: connect: %w", err)
	}
	defer conn.Close(context.WithoutCancel(ctx))
	if _, err := conn.Exec(ctx, "LISTEN "+configChannel); err != nil {
		return false, fmt.Errorf("sqlstore: watch: listen: %w", err)
	}
	connected()
	for {
		n, err := conn.WaitForNotification(ctx)
		if err != nil {
			return true, fmt.Errorf("sqlstore: watch: %w", err)
		}
		if c, ok := parseConfigChange(n.Payload); ok {
			changed(c)
		}
	}
}

// parseConfigChange reads a "<version> <node>" payload.
func parseConfigChange(payload string) (store.ConfigChange, bool) {
	v, node, _ := strings.Cut(payload, " ")
	version, err := strconv.ParseInt(v, 10, 64)
	if err != nil || version <= 0 {
		return store.ConfigChange{}, false
	}
	return store.ConfigChange{Version: version, Node: node}, true
}
