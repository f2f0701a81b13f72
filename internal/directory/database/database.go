// Package database is the "auth0" connection strategy: users whose profiles
// and password hashes live in gatehouse's own store. It owns the
// connection's options schema and their validation, the password policy
// applied when a password is set, password verification (bounded by the
// hash limiter), and the refresh-time check that the user still exists and
// is not blocked.
package database

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"time"

	"github.com/gatehouse/gatehouse/internal/directory"
	"github.com/gatehouse/gatehouse/internal/passwords"
	"github.com/gatehouse/gatehouse/internal/store"
)

// Name is the strategy value of database connections.
const Name = "auth0"

// Strategy serves "auth0" connections.
type Strategy struct {
	Users  store.Users
	Hasher *passwords.Hasher
	// Limit bounds concurrent hashes; nil means no bound.
	Limit *passwords.Limiter
	// Logger receives the error line of a malformed stored hash.
	Logger *slog.Logger

	costs costBook
}

var (
	_ directory.Strategy         = (*Strategy)(nil)
	_ directory.PasswordVerifier = (*Strategy)(nil)
	_ directory.UserChecker      = (*Strategy)(nil)
)

// Name implements directory.Strategy.
func (s *Strategy) Name() string { return Name }

// ValidateOptions implements directory.Strategy. The options are stored as
// given (unknown keys included, as Auth0 keeps them); empty or null options
// become {}.
func (s *Strategy) ValidateOptions(options json.RawMessage) (json.RawMessage, error) {
	options = bytes.TrimSpace(options)
	if len(options) == 0 || bytes.Equal(options, []byte("null")) {
		return json.RawMessage(`{}`), nil
	}
	if options[0] != '{' {
		return nil, &directory.OptionsError{Field: "options", Message: "Expected type object but found type " + jsonKind(options)}
	}
	if _, err := ParseOptions(options); err != nil {
		return nil, err
	}
	return options, nil
}

// jsonKind names the JSON type of a value that is not an object.
func jsonKind(v json.RawMessage) string {
	switch v[0] {
	case '[':
		return "array"
	case '"':
		return "string"
	case 't', 'f':
		return "boolean"
	}
	return "number"
}

// CheckPassword applies the connection's password policy to a password
// about to be set for u (nil for a user not yet created). A refusal is a
// *PolicyError carrying Auth0's text.
func (s *Strategy) CheckPassword(conn *store.Connection, password string, u *store.User) error {
	opts, err := ParseOptions(conn.Options)
	if err != nil {
		return fmt.Errorf("connection %s: %w", conn.ID, err)
	}
	return CheckPolicy(opts, password, u)
}

// hash runs fn under the limiter.
func (s *Strategy) hash(ctx context.Context, fn func()) error {
	if s.Limit == nil {
		fn()
		return nil
	}
	return s.Limit.Do(ctx, fn)
}

// Verify implements directory.PasswordVerifier: it looks the user up by
// email or username and checks the password. The three refusals (unknown
// user, wrong password, a stored hash in no known format) answer alike and
// take alike: each spends at least one real verification in a hash slot,
// then waits, outside the slot, until it has taken as long as a
// verification of the slowest hash class in use would have (see costBook). A hash in
// an older format or with weaker parameters is replaced by a native one
// after a successful check.
func (s *Strategy) Verify(ctx context.Context, conn *store.Connection, username, password string) (directory.Result, bool, error) {
	u, err := s.Users.UserByIdentifier(ctx, conn.ID, username)
	if errors.Is(err, store.ErrNotFound) {
		var spent time.Duration
		if err := s.hash(ctx, func() { spent = s.verifyDummy(password) }); err != nil {
			return directory.Result{}, false, err
		}
		s.costs.pad(ctx, spent)
		return directory.Result{}, false, nil
	}
	if err != nil {
		return directory.Result{}, false, fmt.Errorf("directory: find user: %w", err)
	}
	var ok, rehash bool
	var verr error
	var newHash string
	var spent time.Duration
	if err := s.hash(ctx, func() {
		start := time.Now()
		ok, rehash, verr = s.Hasher.Verify(u.PasswordHash, password)
		spent = time.Since(start)
		switch {
		case verr != nil:
			// Parsing failed before (most of) the work: spend what a wrong
			// password costs, in the same slot.
			spent += s.verifyDummy(password)
		case len(password) <= passwords.MaxVerifyBytes:
			// (An overlong password verified the native dummy instead,
			// which says nothing of this class.)
			class, known := passwords.Class(u.PasswordHash)
			if known {
				s.costs.observe(class, spent)
			}
			// An imported hash may cost microseconds (md5, sha1, ...). The
			// floor it is padded to must already hold the native class, or
			// the first unknown user after a start would be the slow one:
			// a refusal of another class spends one native verification
			// while the native class is not yet in the book.
			if !ok && class != s.Hasher.NativeClass() && !s.costs.knows(s.Hasher.NativeClass()) {
				spent += s.verifyDummy(password)
			}
		}
		if ok && rehash {
			newHash, _ = s.Hasher.Hash(password)
		}
	}); err != nil {
		return directory.Result{}, false, err
	}
	if verr != nil {
		// The operator must hear of it; the client must not. The hash and
		// the parser's detail (which may quote it) stay out of the log.
		s.logger().LogAttrs(ctx, slog.LevelError, "stored password hash is malformed; login refused as a wrong password",
			slog.String("user_id", u.UserID), slog.String("connection", conn.Name))
	}
	if !ok {
		s.costs.pad(ctx, spent)
		return directory.Result{User: u}, false, nil
	}
	return directory.Result{User: u, NewPasswordHash: newHash}, true, nil
}

// verifyDummy spends one native verification, learns its cost, and
// returns it.
func (s *Strategy) verifyDummy(password string) time.Duration {
	start := time.Now()
	s.Hasher.VerifyDummy(password)
	d := time.Since(start)
	s.costs.observe(s.Hasher.NativeClass(), d)
	return d
}

func (s *Strategy) logger() *slog.Logger {
	if s.Logger == nil {
		return slog.New(slog.DiscardHandler)
	}
	return s.Logger
}

// CheckUser implements directory.UserChecker: a user deleted from the
// store since the token was issued is gone, a blocked one is blocked.
func (s *Strategy) CheckUser(ctx context.Context, conn *store.Connection, user *store.User) error {
	u, err := s.Users.GetUser(ctx, user.UserID)
	if errors.Is(err, store.ErrNotFound) {
		return directory.ErrUserGone
	}
	if err != nil {
		return fmt.Errorf("directory: load user %s: %w", user.UserID, err)
	}
	if u.Blocked {
		return directory.ErrUserBlocked
	}
	return nil
}
