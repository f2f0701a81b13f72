package sqlstore

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/gatehouse/gatehouse/internal/store"
)

// logsLockKey is the first half of the transaction advisory lock under
// which a PostgreSQL node gives out log ids ("logs" in ASCII): appends
// from every node take turns, so ids rise in commit order and a checkpoint
// reader never passes an id that a slower writer fills in later.
const logsLockKey int32 = 0x6c6f6773

// logInsertRows bounds the rows of one INSERT statement (6 parameters
// each, far below either database's limit).
const logInsertRows = 200

// log ids: "900", the write time as YYYYMMDDhhmmssffffff, then a
// six-digit sequence for ids given out within one microsecond.
const (
	logIDPrefix  = "900"
	logIDTimeLen = 20
	logIDSeqLen  = 6
	logIDLen     = len(logIDPrefix) + logIDTimeLen + logIDSeqLen
	logIDMaxSeq  = 999999
)

// logIDTime renders t as the time part of a log id.
func logIDTime(t time.Time) string {
	t = t.UTC()
	return t.Format("20060102150405") + fmt.Sprintf("%06d", t.Nanosecond()/1000)
}

// nextLogID returns the first id after last (empty: none) for a write at
// now: the time part of now, or of last if that is later (a clock that
// stepped back, another node's clock ahead), with the sequence moved on.
func nextLogID(last string, now time.Time) (string, error) {
	timePart, seq := logIDTime(now), 0
	if len(last) == logIDLen && strings.HasPrefix(last, logIDPrefix) {
		lastTime := last[len(logIDPrefix) : len(logIDPrefix)+logIDTimeLen]
		if lastTime >= timePart {
			n, err := strconv.Atoi(last[len(logIDPrefix)+logIDTimeLen:])
			if err != nil {
				return "", fmt.Errorf("log id %q: %w", last, err)
			}
			timePart, seq = lastTime, n+1
			if n >= logIDMaxSeq {
				// A million ids in one microsecond, or a clock far behind
				// another node's: the time part moves on by a microsecond.
				t, err := time.Parse("20060102150405.000000", lastTime[:14]+"."+lastTime[14:])
				if err != nil {
					return "", fmt.Errorf("log id %q: %w", last, err)
				}
				timePart, seq = logIDTime(t.Add(time.Microsecond)), 0
			}
		}
	}
	return fmt.Sprintf("%s%s%06d", logIDPrefix, timePart, seq), nil
}

// AppendLogs implements store.Logs: one transaction that reads the last
// id and inserts the batch. SQLite's single writer and PostgreSQL's
// advisory lock make the appends of every writer take turns.
func (s *Store) AppendLogs(ctx context.Context, events []*store.LogEvent) error {
	if len(events) == 0 {
		return nil
	}
	tx, err := s.beginWrite(ctx)
	if err != nil {
		return fmt.Errorf("append logs: %w", err)
	}
	defer tx.Rollback()
	if s.dialect == DialectPostgres {
		if _, err := tx.ExecContext(ctx, `SELECT pg_advisory_xact_lock($1, hashtext(current_schema()))`, logsLockKey); err != nil {
			return fmt.Errorf("append logs: lock: %w", err)
		}
	}
	var last sql.NullString
	if err := tx.QueryRowContext(ctx, `SELECT max(log_id) FROM logs`).Scan(&last); err != nil {
		return fmt.Errorf("append logs: last id: %w", err)
	}
	now := s.now()
	ids := make([]string, len(events))
	prev := last.String
	for i := range events {
		if ids[i], err = nextLogID(prev, now); err != nil {
			return fmt.Errorf("append logs: %w", err)
		}
		prev = ids[i]
	}
	for start := 0; start < len(events); start += logInsertRows {
		end := min(start+logInsertRows, len(events))
		var q strings.Builder
		q.WriteString("INSERT INTO logs (log_id, date, type, user_id, client_id, doc) VALUES ")
		args := make([]any, 0, 6*(end-start))
		for i := start; i < end; i++ {
			e := *events[i]
			e.LogID = ids[i]
			doc, err := marshalDoc(&e)
			if err != nil {
				return fmt.Errorf("append logs: %w", err)
			}
			if i > start {
				q.WriteString(", ")
			}
			n := len(args)
			fmt.Fprintf(&q, "($%d, $%d, $%d, $%d, $%d, $%d)", n+1, n+2, n+3, n+4, n+5, n+6)
			args = append(args, e.LogID, e.Date.UnixMicro(), e.Type, e.UserID, e.ClientID, doc)
		}
		if _, err := tx.ExecContext(ctx, q.String(), args...); err != nil {
			return writeErr("append logs", err)
		}
	}
	if err := tx.Commit(); err != nil {
		return fmt.Errorf("append logs: commit: %w", err)
	}
	for i, e := range events {
		e.LogID = ids[i]
	}
	return nil
}

// GetLog implements store.Logs.
func (s *Store) GetLog(ctx context.Context, logID string) (*store.LogEvent, error) {
	var doc string
	err := s.r.QueryRowContext(ctx, `SELECT doc FROM logs WHERE log_id = $1`, logID).Scan(&doc)
	if errors.Is(err, sql.ErrNoRows) {
		return nil, fmt.Errorf("get log %q: %w", logID, store.ErrNotFound)
	}
	if err != nil {
		return nil, fmt.Errorf("get log %q: %w", logID, err)
	}
	return decodeLog(doc)
}

func decodeLog(doc string) (*store.LogEvent, error) {
	var e store.LogEvent
	if err := unmarshalDoc(doc, &e); err != nil {
		return nil, err
	}
	return &e, nil
}

// ListLogs implements store.Logs.
func (s *Store) ListLogs(ctx context.Context, q store.LogQuery, p store.Page) ([]*store.LogEvent, int, error) {
	var conds []string
	var args []any
	arg := func(v any) string {
		args = append(args, v)
		return "$" + strconv.Itoa(len(args))
	}
	if len(q.Types) > 0 {
		ph := make([]string, len(q.Types))
		for i, t := range q.Types {
			ph[i] = arg(t)
		}
		conds = append(conds, "type IN ("+strings.Join(ph, ", ")+")")
	}
	if q.UserID != "" {
		conds = append(conds, "user_id = "+arg(q.UserID))
	}
	if q.ClientID != "" {
		conds = append(conds, "client_id = "+arg(q.ClientID))
	}
	if !q.From.IsZero() {
		conds = append(conds, "date >= "+arg(q.From.UnixMicro()))
	}
	if !q.To.IsZero() {
		conds = append(conds, "date <= "+arg(q.To.UnixMicro()))
	}
	where := ""
	if len(conds) > 0 {
		where = " WHERE " + strings.Join(conds, " AND ")
	}
	total := -1
	if q.Totals {
		if err := s.r.QueryRowContext(ctx, "SELECT count(*) FROM logs"+where, args...).Scan(&total); err != nil {
			return nil, 0, fmt.Errorf("count logs: %w", err)
		}
	}
	order := " ORDER BY date DESC, log_id DESC"
	if q.Ascending {
		order = " ORDER BY date, log_id"
	}
	page := " LIMIT " + arg(p.Limit()) + " OFFSET " + arg(p.Offset())
	events, err := s.queryLogs(ctx, "SELECT doc FROM logs"+where+order+page, args...)
	if err != nil {
		return nil, 0, fmt.Errorf("list logs: %w", err)
	}
	return events, total, nil
}

// LogsAfter implements store.Logs.
func (s *Store) LogsAfter(ctx context.Context, from string, take int) ([]*store.LogEvent, error) {
	if take <= 0 {
		return nil, fmt.Errorf("logs after %q: take %d", from, take)
	}
	events, err := s.queryLogs(ctx, `SELECT doc FROM logs WHERE log_id > $1 ORDER BY log_id LIMIT $2`, from, take)
	if err != nil {
		return nil, fmt.Errorf("logs after %q: %w", from, err)
	}
	return events, nil
}

func (s *Store) queryLogs(ctx context.Context, q string, args ...any) ([]*store.LogEvent, error) {
	rows, err := s.r.QueryContext(ctx, q, args...)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var out []*store.LogEvent
	for rows.Next() {
		var doc string
		if err := rows.Scan(&doc); err != nil {
			return nil, err
		}
		e, err := decodeLog(doc)
		if err != nil {
			return nil, err
		}
		out = append(out, e)
	}
	return out, rows.Err()
}

// DeleteLogsBefore implements store.Logs.
func (s *Store) DeleteLogsBefore(ctx context.Context, cutoff time.Time, limit int) (int, error) {
	return s.deleteBatch(ctx, "delete old logs", `DELETE FROM logs WHERE log_id IN
		(SELECT log_id FROM logs WHERE date < $1 LIMIT $2)`, cutoff, limit)
}

var _ store.Logs = (*Store)(nil)
