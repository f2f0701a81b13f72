package sqlstore

import (
	"context"
	"errors"
	"fmt"
	"strings"

	"github.com/gatehouse/gatehouse/internal/store"
)

// errRowConflict means a statement of a batch broke a uniqueness rule the
// pre-checks did not see (a concurrent writer): PostgreSQL has then aborted
// the transaction, so the batch is redone one row per transaction.
var errRowConflict = errors.New("import row conflict")

// ImportUsers implements store.UserImports. A batch is one transaction
// (one commit, one fsync on SQLite), which is what makes bulk imports fast.
func (s *Store) ImportUsers(ctx context.Context, connectionID string, batch []*store.User, merge func(stored, incoming *store.User) (*store.User, error)) ([]store.ImportResult, error) {
	res, err := s.importBatch(ctx, connectionID, batch, merge)
	if !errors.Is(err, errRowConflict) {
		return res, err
	}
	res = make([]store.ImportResult, len(batch))
	for i, u := range batch {
		one, err := s.importBatch(ctx, connectionID, []*store.User{u}, merge)
		switch {
		case errors.Is(err, errRowConflict):
			res[i] = store.ImportResult{Err: fmt.Errorf("import user: %w", store.ErrConflict)}
		case err != nil:
			return nil, err
		default:
			res[i] = one[0]
		}
	}
	return res, nil
}

func (s *Store) importBatch(ctx context.Context, connectionID string, batch []*store.User, merge func(stored, incoming *store.User) (*store.User, error)) ([]store.ImportResult, error) {
	tx, err := s.beginWrite(ctx)
	if err != nil {
		return nil, fmt.Errorf("import users: %w", err)
	}
	defer tx.Rollback()
	t := s.users
	findSQL := "SELECT seq, " + strings.Join(t.columns, ", ") + " FROM users WHERE connection_id = $1 AND (user_id = $2 OR email_lower = $3) ORDER BY seq LIMIT 2" + s.forUpdate()
	takenSQL := "SELECT COUNT(*) FROM users WHERE (user_id = $1 AND seq <> $4) OR (connection_id = $2 AND username_lower = $3 AND seq <> $4) OR (connection_id = $2 AND email_lower = $5 AND seq <> $4)"
	out := make([]store.ImportResult, len(batch))
	for i, in := range batch {
		in.ConnectionID = connectionID
		rows, err := tx.QueryContext(ctx, findSQL, connectionID, in.UserID, nullIfEmpty(strings.ToLower(in.Email)))
		if err != nil {
			return nil, fmt.Errorf("import users: find: %w", err)
		}
		var found []*store.User
		var seqs []int64
		for rows.Next() {
			var seq int64
			u, err := t.decode(prefixScanner{rows, &seq})
			if err != nil {
				rows.Close()
				return nil, fmt.Errorf("import users: %w", err)
			}
			found, seqs = append(found, u), append(seqs, seq)
		}
		rows.Close()
		if err := rows.Err(); err != nil {
			return nil, fmt.Errorf("import users: find: %w", err)
		}
		if len(found) > 1 {
			out[i] = store.ImportResult{Err: fmt.Errorf("import user: the user_id and the email belong to two users: %w", store.ErrConflict)}
			continue
		}
		v, outcome, seq := in, store.ImportInserted, int64(-1)
		if len(found) == 1 {
			if v, err = merge(found[0], in); err != nil {
				out[i] = store.ImportResult{Err: err}
				continue
			}
			outcome, seq = store.ImportUpdated, seqs[0]
		}
		var taken int
		if err := tx.QueryRowContext(ctx, takenSQL, v.UserID, connectionID,
			nullIfEmpty(strings.ToLower(v.Username)), seq, nullIfEmpty(strings.ToLower(v.Email))).Scan(&taken); err != nil {
			return nil, fmt.Errorf("import users: check: %w", err)
		}
		if taken > 0 {
			out[i] = store.ImportResult{Err: fmt.Errorf("import user: %w", store.ErrConflict)}
			continue
		}
		args, err := t.encode(v)
		if err != nil {
			out[i] = store.ImportResult{Err: err}
			continue
		}
		if outcome == store.ImportInserted {
			_, err = tx.ExecContext(ctx, t.insertSQL, args...)
		} else {
			_, err = tx.ExecContext(ctx, t.updateSQL, append(args, seq)...)
		}
		if isUniqueViolation(err) {
			return nil, errRowConflict
		}
		if err != nil {
			return nil, fmt.Errorf("import users: write: %w", err)
		}
		out[i] = store.ImportResult{Outcome: outcome, User: v}
	}
	if err := tx.Commit(); err != nil {
		if isUniqueViolation(err) {
			return nil, errRowConflict
		}
		return nil, fmt.Errorf("import users: commit: %w", err)
	}
	return out, nil
}

// eachUserBatch is how many users EachUser reads per query.
const eachUserBatch = 500

// EachUser implements store.UserImports, reading by seq in batches (no
// read transaction is held across fn).
func (s *Store) EachUser(ctx context.Context, connectionID string, fn func(*store.User) error) error {
	t := s.users
	q := "SELECT seq, " + strings.Join(t.columns, ", ") + " FROM users WHERE connection_id = $1 AND seq > $2 ORDER BY seq LIMIT $3"
	var after int64
	for {
		rows, err := s.r.QueryContext(ctx, q, connectionID, after, eachUserBatch)
		if err != nil {
			return fmt.Errorf("list users of %q: %w", connectionID, err)
		}
		var batch []*store.User
		for rows.Next() {
			u, err := t.decode(prefixScanner{rows, &after})
			if err != nil {
				rows.Close()
				return fmt.Errorf("list users of %q: %w", connectionID, err)
			}
			batch = append(batch, u)
		}
		rows.Close()
		if err := rows.Err(); err != nil {
			return fmt.Errorf("list users of %q: %w", connectionID, err)
		}
		for _, u := range batch {
			if err := fn(u); err != nil {
				return err
			}
		}
		if len(batch) < eachUserBatch {
			return nil
		}
	}
}
