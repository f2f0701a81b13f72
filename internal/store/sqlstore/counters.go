package sqlstore

import (
	"context"
	"database/sql/driver"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/gatehouse/gatehouse/internal/store"
)

// counterColumns are the values of one take, in the order takeSQL binds
// them.
const counterColumns = "kind, key, empty_at, interval_us, burst, cost, expire_us, touched_at, taken, connection, identifier, ip"

// takeSQL is the upsert of one take whose row comes from source (a
// VALUES or SELECT clause): the decision (does one more unit fit? take
// it) is made by the database under the row's lock. A new row always fits
// (burst is at least 1). excluded.touched_at is the request's now.
func (s *Store) takeSQL(source string) string {
	greatest := "MAX"
	if s.dialect == DialectPostgres {
		greatest = "GREATEST"
	}
	// base: when the bucket drains, counted from now; an expired bucket
	// starts empty.
	base := `(CASE WHEN excluded.expire_us > 0 AND c.touched_at < excluded.touched_at - excluded.expire_us
		THEN excluded.touched_at ELSE ` + greatest + `(c.empty_at, excluded.touched_at) END)`
	fits := `(` + base + ` + excluded.interval_us - excluded.touched_at <= excluded.burst * excluded.interval_us)`
	return "INSERT INTO attack_counters AS c (" + counterColumns + ") " + source + ` ON CONFLICT (kind, key) DO UPDATE SET
		taken = CASE WHEN ` + fits + ` THEN 1 ELSE 0 END,
		empty_at = CASE WHEN ` + fits + ` THEN ` + base + ` + excluded.cost * excluded.interval_us ELSE c.empty_at END,
		touched_at = CASE WHEN ` + fits + ` AND excluded.cost > 0 THEN excluded.touched_at ELSE c.touched_at END,
		interval_us = excluded.interval_us, burst = excluded.burst, cost = excluded.cost, expire_us = excluded.expire_us,
		connection = excluded.connection, identifier = excluded.identifier, ip = excluded.ip
		RETURNING kind, key, empty_at, taken`
}

// pgTypes are the PostgreSQL types of counterColumns, for the chained
// takes' SELECT (which, unlike VALUES, does not take them from the table).
var pgTypes = []string{"text", "text", "bigint", "bigint", "integer", "integer", "bigint", "bigint", "integer", "text", "text", "text"}

// chainSQL is TakeCounters' statement on PostgreSQL: one data-modifying
// CTE per take, each inserting its row only when the previous one fitted.
func (s *Store) chainSQL(n int) string {
	var b strings.Builder
	b.WriteString("WITH ")
	for i := range n {
		if i > 0 {
			b.WriteString(", ")
		}
		var source string
		if i == 0 {
			source = "VALUES (" + placeholders(1, len(pgTypes)) + ")"
		} else {
			cols := make([]string, len(pgTypes))
			for j, ty := range pgTypes {
				cols[j] = fmt.Sprintf("$%d::%s", 1+i*len(pgTypes)+j, ty)
			}
			source = fmt.Sprintf("SELECT %s WHERE (SELECT taken FROM t%d) = 1", strings.Join(cols, ", "), i-1)
		}
		fmt.Fprintf(&b, "t%d AS (%s)", i, s.takeSQL(source))
	}
	for i := range n {
		if i > 0 {
			b.WriteString(" UNION ALL")
		}
		fmt.Fprintf(&b, " SELECT kind, key, empty_at, taken FROM t%d", i)
	}
	return b.String()
}

// TakeCounters implements store.Counters: on PostgreSQL one statement, on
// SQLite one transaction on the single writer connection.
func (s *Store) TakeCounters(ctx context.Context, now time.Time, takes ...store.CounterTake) ([]store.CounterResult, error) {
	if len(takes) == 0 {
		return nil, nil
	}
	at := now.UnixMicro()
	args := make([]any, 0, len(pgTypes)*len(takes))
	index := make(map[store.CounterKey]int, len(takes))
	for i, t := range takes {
		if t.Burst < 1 || t.Interval <= 0 || t.Cost < 0 || t.Cost > t.Burst {
			return nil, fmt.Errorf("take counter %s/%s: burst %d, interval %s, cost %d", t.Kind, t.Key, t.Burst, t.Interval, t.Cost)
		}
		if _, dup := index[t.CounterKey]; dup {
			return nil, fmt.Errorf("take counter %s/%s: named twice", t.Kind, t.Key)
		}
		index[t.CounterKey] = i
		iv := t.Interval.Microseconds()
		args = append(args, t.Kind, t.Key, at+int64(t.Cost)*iv, iv, t.Burst, t.Cost, t.Expire.Microseconds(), at, 1,
			t.Connection, t.Identifier, t.IP)
	}
	out := make([]store.CounterResult, len(takes))
	for i, t := range takes {
		out[i] = store.CounterResult{CounterKey: t.CounterKey, Skipped: true}
	}
	record := func(k store.CounterKey, empty, taken int64) error {
		i, ok := index[k]
		if !ok {
			return fmt.Errorf("take counters: unexpected row %s/%s", k.Kind, k.Key)
		}
		e := time.UnixMicro(empty)
		out[i] = store.CounterResult{CounterKey: k, Taken: taken == 1, Empty: e, Level: store.LevelAt(e, now, takes[i].Interval)}
		return nil
	}
	if s.dialect == DialectPostgres {
		rows, err := s.w.QueryContext(ctx, s.chainSQL(len(takes)), args...)
		if err != nil {
			return nil, fmt.Errorf("take counters: %w", err)
		}
		defer rows.Close()
		for rows.Next() {
			var k store.CounterKey
			var empty, taken int64
			if err := rows.Scan(&k.Kind, &k.Key, &empty, &taken); err != nil {
				return nil, fmt.Errorf("take counters: %w", err)
			}
			if err := record(k, empty, taken); err != nil {
				return nil, err
			}
		}
		if err := rows.Err(); err != nil {
			return nil, fmt.Errorf("take counters: %w", err)
		}
		return out, nil
	}
	// SQLite: one writer, so the takes of a transaction are never
	// interleaved with another's. The transaction commits with
	// synchronous=NORMAL, which in WAL mode skips its fsync: the next
	// durable commit (the login's record, a rotation) syncs it along, and a
	// power cut before then forgets a few attempts' counts rather than any
	// login. An fsync per attempt would double what protection costs.
	conn, err := s.w.Conn(ctx)
	if err != nil {
		return nil, fmt.Errorf("take counters: %w", err)
	}
	defer conn.Close()
	if _, err := conn.ExecContext(ctx, "PRAGMA synchronous = NORMAL"); err != nil {
		return nil, fmt.Errorf("take counters: %w", err)
	}
	defer func() {
		if _, err := conn.ExecContext(context.WithoutCancel(ctx), "PRAGMA synchronous = FULL"); err != nil {
			// Never leave the writer less durable: drop the connection.
			conn.Raw(func(any) error { return driver.ErrBadConn })
		}
	}()
	tx, err := conn.BeginTx(ctx, nil)
	if err != nil {
		return nil, fmt.Errorf("take counters: begin: %w", err)
	}
	defer tx.Rollback()
	q := s.takeSQL("VALUES (" + placeholders(1, len(pgTypes)) + ")")
	for i := range takes {
		var k store.CounterKey
		var empty, taken int64
		row := tx.QueryRowContext(ctx, q, args[i*len(pgTypes):(i+1)*len(pgTypes)]...)
		if err := row.Scan(&k.Kind, &k.Key, &empty, &taken); err != nil {
			return nil, fmt.Errorf("take counters: %w", err)
		}
		if err := record(k, empty, taken); err != nil {
			return nil, err
		}
		if taken != 1 {
			break
		}
	}
	if err := tx.Commit(); err != nil {
		return nil, fmt.Errorf("take counters: commit: %w", err)
	}
	return out, nil
}

// ReturnCounter implements store.Counters.
func (s *Store) ReturnCounter(ctx context.Context, k store.CounterKey, units int, interval time.Duration) error {
	if units < 0 {
		return errors.New("return counter: negative units")
	}
	_, err := s.w.ExecContext(ctx, `UPDATE attack_counters SET empty_at = empty_at - $3 WHERE kind = $1 AND key = $2`,
		k.Kind, k.Key, int64(units)*interval.Microseconds())
	if err != nil {
		return fmt.Errorf("return counter %s/%s: %w", k.Kind, k.Key, err)
	}
	return nil
}

// DeleteCounter implements store.Counters.
func (s *Store) DeleteCounter(ctx context.Context, k store.CounterKey) error {
	if _, err := s.w.ExecContext(ctx, `DELETE FROM attack_counters WHERE kind = $1 AND key = $2`, k.Kind, k.Key); err != nil {
		return fmt.Errorf("delete counter %s/%s: %w", k.Kind, k.Key, err)
	}
	return nil
}

// counterWhere selects a kind's counters by identifier and ip, each
// ignored when empty.
const counterWhere = ` WHERE kind = $1 AND ($2 = '' OR identifier = $2) AND ($3 = '' OR ip = $3)`

// ListCounters implements store.Counters.
func (s *Store) ListCounters(ctx context.Context, kind, identifier, ip string) ([]*store.Counter, error) {
	rows, err := s.r.QueryContext(ctx, `SELECT kind, key, connection, identifier, ip, empty_at, interval_us, touched_at
		FROM attack_counters`+counterWhere+` ORDER BY touched_at, key`, kind, identifier, ip)
	if err != nil {
		return nil, fmt.Errorf("list counters: %w", err)
	}
	defer rows.Close()
	var out []*store.Counter
	for rows.Next() {
		var c store.Counter
		var empty, iv, touched int64
		if err := rows.Scan(&c.Kind, &c.Key, &c.Connection, &c.Identifier, &c.IP, &empty, &iv, &touched); err != nil {
			return nil, fmt.Errorf("list counters: %w", err)
		}
		c.Empty, c.Interval, c.Touched = time.UnixMicro(empty), time.Duration(iv)*time.Microsecond, time.UnixMicro(touched)
		out = append(out, &c)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("list counters: %w", err)
	}
	return out, nil
}

// DeleteCounters implements store.Counters.
func (s *Store) DeleteCounters(ctx context.Context, kind, identifier, ip string) (int, error) {
	res, err := s.w.ExecContext(ctx, `DELETE FROM attack_counters`+counterWhere, kind, identifier, ip)
	if err != nil {
		return 0, fmt.Errorf("delete counters: %w", err)
	}
	n, err := res.RowsAffected()
	if err != nil {
		return 0, fmt.Errorf("delete counters: %w", err)
	}
	return int(n), nil
}

// DeleteExpiredCounters implements store.Counters.
func (s *Store) DeleteExpiredCounters(ctx context.Context, now time.Time, limit int) (int, error) {
	if limit <= 0 {
		return 0, fmt.Errorf("delete expired counters: limit %d", limit)
	}
	res, err := s.w.ExecContext(ctx, `DELETE FROM attack_counters WHERE (kind, key) IN
		(SELECT kind, key FROM attack_counters
		 WHERE empty_at <= $1 OR (expire_us > 0 AND touched_at + expire_us <= $1) LIMIT $2)`, now.UnixMicro(), limit)
	if err != nil {
		return 0, fmt.Errorf("delete expired counters: %w", err)
	}
	n, err := res.RowsAffected()
	if err != nil {
		return 0, fmt.Errorf("delete expired counters: %w", err)
	}
	return int(n), nil
}
