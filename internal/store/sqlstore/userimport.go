package sqlstore

import (
	"context"
	"errors"
	"fmt"
	"strconv"
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

// importRec is a stored (or, in this batch, pending) user an import row
// may match.
type importRec struct {
	seq     int64 // -1 while pending insertion
	pending int   // index into inserts while pending
	u       *store.User
}

// importBatch writes a batch with one query to find every stored user the
// batch can match, one multi-row INSERT per 200 new users and an UPDATE
// per merged user; uniqueness is judged in memory against what the query
// found and what the batch adds, and a unique violation the database still
// sees (a concurrent writer) returns errRowConflict.
func (s *Store) importBatch(ctx context.Context, connectionID string, batch []*store.User, merge func(stored, incoming *store.User) (*store.User, error)) ([]store.ImportResult, error) {
	tx, err := s.beginWrite(ctx)
	if err != nil {
		return nil, fmt.Errorf("import users: %w", err)
	}
	defer tx.Rollback()
	t := s.users

	// Every stored user sharing a user_id, or an email or username within
	// the connection, with a row of the batch.
	args := []any{connectionID}
	list := func(vals []string) string {
		if len(vals) == 0 {
			return "NULL"
		}
		p := make([]string, len(vals))
		for i, v := range vals {
			args = append(args, v)
			p[i] = "$" + strconv.Itoa(len(args))
		}
		return strings.Join(p, ", ")
	}
	var userIDs, emails, names []string
	for _, in := range batch {
		userIDs = append(userIDs, in.UserID)
		if in.Email != "" {
			emails = append(emails, strings.ToLower(in.Email))
		}
		if in.Username != "" {
			names = append(names, strings.ToLower(in.Username))
		}
	}
	q := "SELECT seq, " + strings.Join(t.columns, ", ") + " FROM users WHERE user_id IN (" + list(userIDs) +
		") OR (connection_id = $1 AND (email_lower IN (" + list(emails) + ") OR username_lower IN (" + list(names) + ")))" + s.forUpdate()
	rows, err := tx.QueryContext(ctx, q, args...)
	if err != nil {
		return nil, fmt.Errorf("import users: find: %w", err)
	}
	byID := map[string]*importRec{}
	byEmail := map[string]*importRec{}
	byName := map[string]*importRec{}
	index := func(r *importRec) {
		byID[r.u.UserID] = r
		if r.u.ConnectionID != connectionID {
			return
		}
		if r.u.Email != "" {
			byEmail[strings.ToLower(r.u.Email)] = r
		}
		if r.u.Username != "" {
			byName[strings.ToLower(r.u.Username)] = r
		}
	}
	for rows.Next() {
		var seq int64
		u, err := t.decode(prefixScanner{rows, &seq})
		if err != nil {
			rows.Close()
			return nil, fmt.Errorf("import users: %w", err)
		}
		index(&importRec{seq: seq, u: u})
	}
	rows.Close()
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("import users: find: %w", err)
	}

	out := make([]store.ImportResult, len(batch))
	var inserts []*store.User
	conflict := func(format string) store.ImportResult {
		return store.ImportResult{Err: fmt.Errorf("import user: "+format+": %w", store.ErrConflict)}
	}
	for i, in := range batch {
		in.ConnectionID = connectionID
		var match *importRec
		if r := byID[in.UserID]; r != nil {
			if r.u.ConnectionID != connectionID {
				out[i] = conflict("the user_id belongs to a user of another connection")
				continue
			}
			match = r
		}
		if r := byEmail[strings.ToLower(in.Email)]; in.Email != "" && r != nil {
			if match != nil && match != r {
				out[i] = conflict("the user_id and the email belong to two users")
				continue
			}
			match = r
		}
		if match == nil {
			if r := byName[strings.ToLower(in.Username)]; in.Username != "" && r != nil {
				out[i] = conflict("the username belongs to another user")
				continue
			}
			r := &importRec{seq: -1, pending: len(inserts), u: in}
			inserts = append(inserts, in)
			index(r)
			out[i] = store.ImportResult{Outcome: store.ImportInserted, User: in}
			continue
		}
		v, err := merge(match.u, in)
		if err != nil {
			out[i] = store.ImportResult{Err: err}
			continue
		}
		if r := byName[strings.ToLower(v.Username)]; v.Username != "" && r != nil && r != match {
			out[i] = conflict("the username belongs to another user")
			continue
		}
		if r := byEmail[strings.ToLower(v.Email)]; v.Email != "" && r != nil && r != match {
			out[i] = conflict("the email belongs to another user")
			continue
		}
		v.ConnectionID = connectionID
		if match.seq < 0 {
			inserts[match.pending] = v // merged into a row inserted by this batch
		} else {
			enc, err := t.encode(v)
			if err != nil {
				out[i] = store.ImportResult{Err: err}
				continue
			}
			_, err = tx.ExecContext(ctx, t.updateSQL, append(enc, match.seq)...)
			if isUniqueViolation(err) {
				return nil, errRowConflict
			}
			if err != nil {
				return nil, fmt.Errorf("import users: update: %w", err)
			}
		}
		match.u = v
		index(match)
		out[i] = store.ImportResult{Outcome: store.ImportUpdated, User: v}
	}
	const perInsert = 200
	for len(inserts) > 0 {
		chunk := inserts[:min(perInsert, len(inserts))]
		inserts = inserts[len(chunk):]
		var vals []string
		var iargs []any
		for _, u := range chunk {
			enc, err := t.encode(u)
			if err != nil {
				return nil, fmt.Errorf("import users: %w", err)
			}
			vals = append(vals, "("+placeholders(len(iargs)+1, len(enc))+")")
			iargs = append(iargs, enc...)
		}
		_, err := tx.ExecContext(ctx, "INSERT INTO users ("+strings.Join(t.columns, ", ")+") VALUES "+strings.Join(vals, ", "), iargs...)
		if isUniqueViolation(err) {
			return nil, errRowConflict
		}
		if err != nil {
			return nil, fmt.Errorf("import users: insert: %w", err)
		}
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
