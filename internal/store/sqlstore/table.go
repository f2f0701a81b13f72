package sqlstore

import (
	"bytes"
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"strconv"
	"strings"

	"github.com/gatehouse/gatehouse/internal/store"
)

// scanner is a *sql.Row or *sql.Rows.
type scanner interface {
	Scan(dest ...any) error
}

// table maps one aggregate T to a table whose rows are written and read as
// the same list of columns; the first column is the record's key. Every
// table also has seq, an increasing row number that orders lists.
type table[T any] struct {
	noun    string // for errors: "client", "user", ...
	name    string
	columns []string
	keyOf   func(*T) string
	encode  func(*T) ([]any, error) // values for columns, in order
	decode  func(scanner) (*T, error)

	// Statements built once from the above.
	selectSQL, insertSQL, lockSQL, updateSQL, deleteSQL string
}

func newTable[T any](s *Store, t table[T]) *table[T] {
	cols := strings.Join(t.columns, ", ")
	key := t.columns[0]
	params := make([]string, len(t.columns))
	sets := make([]string, len(t.columns))
	for i, c := range t.columns {
		params[i] = "$" + strconv.Itoa(i+1)
		sets[i] = c + " = " + params[i]
	}
	t.selectSQL = "SELECT " + cols + " FROM " + t.name
	t.insertSQL = "INSERT INTO " + t.name + " (" + cols + ") VALUES (" + strings.Join(params, ", ") + ")"
	t.lockSQL = "SELECT seq, " + cols + " FROM " + t.name + " WHERE " + key + " = $1" + s.forUpdate()
	t.updateSQL = "UPDATE " + t.name + " SET " + strings.Join(sets, ", ") + " WHERE seq = $" + strconv.Itoa(len(t.columns)+1)
	t.deleteSQL = "DELETE FROM " + t.name + " WHERE " + key + " = $1"
	return &t
}

func (t *table[T]) create(ctx context.Context, s *Store, v *T) error {
	if v == nil {
		return fmt.Errorf("create %s: nil record", t.noun)
	}
	key := t.keyOf(v)
	if key == "" {
		return fmt.Errorf("create %s: empty %s", t.noun, t.columns[0])
	}
	args, err := t.encode(v)
	if err != nil {
		return fmt.Errorf("create %s %q: %w", t.noun, key, err)
	}
	if _, err := s.w.ExecContext(ctx, t.insertSQL, args...); err != nil {
		return writeErr(fmt.Sprintf("create %s %q", t.noun, key), err)
	}
	return nil
}

// get returns the row whose column col equals val.
func (t *table[T]) get(ctx context.Context, s *Store, col, val string) (*T, error) {
	return t.one(ctx, s, fmt.Sprintf("get %s %q", t.noun, val), " WHERE "+col+" = $1", val)
}

// one returns the first row matching where, or ErrNotFound; what names the
// lookup in errors.
func (t *table[T]) one(ctx context.Context, s *Store, what, where string, args ...any) (*T, error) {
	v, err := t.decode(s.r.QueryRowContext(ctx, t.selectSQL+where, args...))
	if errors.Is(err, sql.ErrNoRows) {
		return nil, fmt.Errorf("%s: %w", what, store.ErrNotFound)
	}
	if err != nil {
		return nil, fmt.Errorf("%s: %w", what, err)
	}
	return v, nil
}

// query returns every row matching where (may be empty), in insertion
// order, with suffix (LIMIT/OFFSET) appended.
func (t *table[T]) query(ctx context.Context, q interface {
	QueryContext(context.Context, string, ...any) (*sql.Rows, error)
}, where, suffix string, args ...any) ([]*T, error) {
	rows, err := q.QueryContext(ctx, t.selectSQL+where+" ORDER BY seq"+suffix, args...)
	if err != nil {
		return nil, fmt.Errorf("list %ss: %w", t.noun, err)
	}
	defer rows.Close()
	var out []*T
	for rows.Next() {
		v, err := t.decode(rows)
		if err != nil {
			return nil, fmt.Errorf("list %ss: %w", t.noun, err)
		}
		out = append(out, v)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("list %ss: %w", t.noun, err)
	}
	return out, nil
}

// page returns one page of the rows matching the filter and their total.
func (t *table[T]) page(ctx context.Context, s *Store, f filter, p store.Page) ([]*T, int, error) {
	where, args := f.sql()
	var total int
	if err := s.r.QueryRowContext(ctx, "SELECT COUNT(*) FROM "+t.name+where, args...).Scan(&total); err != nil {
		return nil, 0, fmt.Errorf("count %ss: %w", t.noun, err)
	}
	n := len(args)
	suffix := fmt.Sprintf(" LIMIT $%d OFFSET $%d", n+1, n+2)
	items, err := t.query(ctx, s.r, where, suffix, append(args, p.Limit(), p.Offset())...)
	if err != nil {
		return nil, 0, err
	}
	return items, total, nil
}

// update loads the row keyed by key, holding it against concurrent writers,
// applies fn and writes the result back, all in one transaction. The row is
// rewritten by seq, so fn may change key and unique fields too; the unique
// rules still apply (ErrConflict).
func (t *table[T]) update(ctx context.Context, s *Store, key string, fn func(*T) error) (*T, error) {
	tx, err := s.beginWrite(ctx)
	if err != nil {
		return nil, fmt.Errorf("update %s %q: %w", t.noun, key, err)
	}
	defer tx.Rollback()
	var seq int64
	v, err := t.decode(prefixScanner{tx.QueryRowContext(ctx, t.lockSQL, key), &seq})
	if errors.Is(err, sql.ErrNoRows) {
		return nil, fmt.Errorf("update %s %q: %w", t.noun, key, store.ErrNotFound)
	}
	if err != nil {
		return nil, fmt.Errorf("update %s %q: %w", t.noun, key, err)
	}
	if err := fn(v); err != nil {
		return nil, err
	}
	if t.keyOf(v) == "" {
		return nil, fmt.Errorf("update %s %q: empty %s", t.noun, key, t.columns[0])
	}
	args, err := t.encode(v)
	if err != nil {
		return nil, fmt.Errorf("update %s %q: %w", t.noun, key, err)
	}
	if _, err := tx.ExecContext(ctx, t.updateSQL, append(args, seq)...); err != nil {
		return nil, writeErr(fmt.Sprintf("update %s %q", t.noun, key), err)
	}
	if err := tx.Commit(); err != nil {
		return nil, fmt.Errorf("update %s %q: commit: %w", t.noun, key, err)
	}
	return v, nil
}

func (t *table[T]) delete(ctx context.Context, s *Store, key string) error {
	res, err := s.w.ExecContext(ctx, t.deleteSQL, key)
	return deleted(fmt.Sprintf("delete %s %q", t.noun, key), res, err)
}

// deleted turns the result of a DELETE of one row into ErrNotFound when no
// row was deleted.
func deleted(what string, res sql.Result, err error) error {
	if err != nil {
		return fmt.Errorf("%s: %w", what, err)
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

// prefixScanner scans a leading column into first, then the rest as asked.
type prefixScanner struct {
	scanner
	first any
}

func (p prefixScanner) Scan(dest ...any) error {
	return p.scanner.Scan(append([]any{p.first}, dest...)...)
}

// valueRow is a row already scanned into driver values, scanned again
// into a decoder's destinations: it lets two tables' decoders share one
// joined row. It converts what the decoders scan into: text, integers,
// and sql.Scanner destinations (which take NULL too).
type valueRow []any

func (r valueRow) Scan(dest ...any) error {
	if len(dest) != len(r) {
		return fmt.Errorf("sqlstore: %d destinations for %d columns", len(dest), len(r))
	}
	for i, d := range dest {
		if err := assign(d, r[i]); err != nil {
			return fmt.Errorf("sqlstore: column %d: %w", i, err)
		}
	}
	return nil
}

func assign(dest, v any) error {
	switch d := dest.(type) {
	case sql.Scanner:
		return d.Scan(v)
	case *string:
		switch v := v.(type) {
		case string:
			*d = v
			return nil
		case []byte:
			*d = string(v)
			return nil
		}
	case *int64:
		if n, ok := v.(int64); ok {
			*d = n
			return nil
		}
	}
	return fmt.Errorf("cannot store %T in %T", v, dest)
}

// cond is one column = value condition of a filter.
type cond struct{ col, val string }

// filter is an AND of conditions; a condition with an empty value does not
// filter.
type filter []cond

func (f filter) sql() (string, []any) {
	var conds []string
	var args []any
	for _, c := range f {
		if c.val == "" {
			continue
		}
		args = append(args, c.val)
		conds = append(conds, c.col+" = $"+strconv.Itoa(len(args)))
	}
	if len(conds) == 0 {
		return "", nil
	}
	return " WHERE " + strings.Join(conds, " AND "), args
}

// marshalDoc encodes a record document. HTML escaping is off so raw JSON
// fields (connection options, ...) keep their bytes.
func marshalDoc(v any) (string, error) {
	var b bytes.Buffer
	enc := json.NewEncoder(&b)
	enc.SetEscapeHTML(false)
	if err := enc.Encode(v); err != nil {
		return "", fmt.Errorf("encode document: %w", err)
	}
	doc := bytes.TrimSuffix(b.Bytes(), []byte("\n"))
	if bytes.Contains(doc, []byte(`\ud`)) || bytes.Contains(doc, []byte(`\uD`)) {
		var err error
		if doc, err = withoutSurrogateEscapes(doc); err != nil {
			return "", err
		}
	}
	return string(doc), nil
}

// withoutSurrogateEscapes re-encodes a document whose raw JSON fields
// escape UTF-16 surrogates (encoding/json never does): PostgreSQL's JSONB
// refuses a lone one, so both stores keep U+FFFD in its place, as
// encoding/json reads it; a pair becomes the character it encodes.
func withoutSurrogateEscapes(doc []byte) ([]byte, error) {
	dec := json.NewDecoder(bytes.NewReader(doc))
	dec.UseNumber() // numbers keep their digits
	var v any
	if err := dec.Decode(&v); err != nil {
		return nil, fmt.Errorf("encode document: %w", err)
	}
	var b bytes.Buffer
	enc := json.NewEncoder(&b)
	enc.SetEscapeHTML(false)
	if err := enc.Encode(v); err != nil {
		return nil, fmt.Errorf("encode document: %w", err)
	}
	return bytes.TrimSuffix(b.Bytes(), []byte("\n")), nil
}

func unmarshalDoc(doc string, v any) error {
	if err := json.Unmarshal([]byte(doc), v); err != nil {
		return fmt.Errorf("decode document: %w", err)
	}
	return nil
}

// nullIfEmpty stores an empty string as NULL, which UNIQUE indexes ignore.
func nullIfEmpty(s string) any {
	if s == "" {
		return nil
	}
	return s
}
